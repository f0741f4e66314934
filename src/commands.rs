//! The subcommands: each turns its parsed arguments into calls to the library
//! (answers → render → plan → write) and prints what happened. Messages go to
//! stderr, data (trees, diffs, listings, JSON) to stdout.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::answers::{self, Fallback, Layer};
use crate::cli::{AddArgs, ComponentsArgs, DiffArgs, NewArgs, ProjectArgs, RegenArgs, RemoveArgs};
use crate::error::{Error, Result};
use crate::regen::{AddPrompter, Outcome, Project, Report};
use crate::template::{KNOWN_COMPONENTS, TemplateSet};
use crate::tree::Tree;
use crate::{generate, project};

/// Whether colour may be used on stderr.
fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// The answer layers of `new`, highest precedence first.
fn layers(args: &NewArgs) -> Result<Vec<Layer>> {
    let mut layers = vec![Layer::from_set_args(&args.set)?];
    if let Some(name) = &args.name {
        layers.push(Layer {
            origin: "the NAME argument".into(),
            explicit: true,
            values: [("name".to_owned(), answers::Value::Str(name.clone()))].into(),
        });
    }
    if let Some(path) = &args.answers {
        layers.push(Layer::from_file(path)?);
    }
    if let Some(preset) = args.preset {
        layers.push(Layer::from_preset(preset));
    }
    Ok(layers)
}

pub(crate) fn new(args: &NewArgs) -> Result<()> {
    let layers = layers(args)?;
    let templates = TemplateSet::load(args.template_dir.as_deref())?;
    // Refuse a bad destination before asking anything, when it is already known.
    let known_name = layers.iter().find_map(|l| match l.values.get("name") {
        Some(answers::Value::Str(name)) => Some(name.clone()),
        _ => None,
    });
    let known_target = args.dir.clone().or_else(|| known_name.map(PathBuf::from));
    if let Some(dir) = &known_target {
        project::plan_write(dir, &Tree::new(), args.force)?;
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut terminal = answers::tty::TerminalPrompter::new(color());
    let mut checked = answers::OnlyAvailable {
        inner: &mut terminal,
        available: |c: &str| templates.components.contains_key(c),
    };
    let fallback = if args.yes {
        Fallback::Defaults
    } else if interactive {
        Fallback::Ask(&mut checked)
    } else {
        Fallback::Fail
    };
    let answers = answers::resolve(&layers, fallback)?;
    let mut tree = generate(&templates, &answers)?;
    if let Some(env) = development_env(&answers)? {
        tree.insert(".env", env);
    }
    let target = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(answers.name.as_str()));
    let plan = project::plan_write(&target, &tree, args.force)?;

    let mut err = std::io::stderr().lock();
    for warning in answers.warnings() {
        let _ = writeln!(err, "warning: {warning}");
    }
    if args.dry_run {
        print_tree(&tree)?;
        let _ = writeln!(
            err,
            "dry run: {} files ({} bytes) would be written to `{}`; nothing was written",
            tree.len(),
            tree.total_bytes(),
            target.display()
        );
        return Ok(());
    }
    if !plan.overwrites().is_empty() {
        let _ = writeln!(
            err,
            "--force: replacing {} existing files in `{}`:",
            plan.overwrites().len(),
            target.display()
        );
        for path in plan.overwrites() {
            let _ = writeln!(err, "  {path}");
        }
    }
    plan.execute()?;
    let components: Vec<String> = answers.components().into_iter().map(|(c, _)| c).collect();
    let _ = writeln!(
        err,
        "Created `{}` ({}) in `{}`\n\n{}",
        answers.name,
        components.join(", "),
        target.display(),
        next_steps(&answers, &target),
    );
    Ok(())
}

/// A `.env` with fresh development secrets, so `cargo run` works at once.
///
/// It is written beside the rendered files but is not part of the rendering (which
/// stays pure and deterministic) nor of the record: secrets are never hashed,
/// copied or regenerated. `.gitignore` keeps it out of version control, and
/// production sets its own values.
fn development_env(answers: &answers::Answers) -> Result<Option<String>> {
    if !answers.auth {
        return Ok(None);
    }
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "generate a secret for",
            ".env",
            std::io::Error::other(e.to_string()),
        )
    })?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(format!(
        "# Local development settings, made by `stanchion new`. Never commit this file;\n\
         # production sets its own values (see .env.example).\n\
         JWT_SECRET={secret}\n"
    )))
}

/// What to type next, including the services the project needs to run.
fn next_steps(answers: &answers::Answers, target: &Path) -> String {
    let mut steps = vec![format!("cd {}", shell_path(target))];
    let compose = answers.deploy.iter().any(|d| d == "docker");
    let mut services = Vec::new();
    if answers.database == answers::Database::Postgres {
        services.push(("db", "DATABASE_URL"));
    }
    let redis = answers.cache == answers::Backend::Redis
        || answers
            .rate_limit
            .is_some_and(|r| r.backend == answers::Backend::Redis);
    if redis {
        services.push(("redis", "REDIS_URL"));
    }
    if !services.is_empty() {
        let names: Vec<&str> = services.iter().map(|(s, _)| *s).collect();
        let vars: Vec<&str> = services.iter().map(|(_, v)| *v).collect();
        steps.push(if compose {
            format!(
                "docker compose up -d {:<6} # or point {} at your own",
                names.join(" "),
                vars.join(" and ")
            )
        } else {
            format!("cp .env.example .env   # then set {}", vars.join(" and "))
        });
    }
    steps.push("cargo run      # serves on http://127.0.0.1:8080 (set PORT to change)".into());
    steps.push("cargo test     # runs the project's own tests".into());
    format!(
        "Next steps:\n  {}\n\nLater: `stanchion add <component>` and `stanchion regen` keep it current.",
        steps.join("\n  ")
    )
}

/// `path` as it can be typed in a shell.
fn shell_path(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Prints paths and sizes to stdout; base copies are summarised in one line.
fn print_tree(tree: &Tree) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let base_prefix = format!("{}/", project::BASE_DIR);
    let (mut base_files, mut base_bytes) = (0, 0);
    let write = |out: &mut std::io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(|e| Error::io("write", "<stdout>", e))
    };
    for (path, contents) in tree.iter() {
        if path.starts_with(&base_prefix) {
            base_files += 1;
            base_bytes += contents.len();
        } else {
            write(&mut out, format!("{:>8}  {path}", contents.len()))?;
        }
    }
    write(
        &mut out,
        format!("{base_bytes:>8}  {base_prefix} ({base_files} base copies for regen)"),
    )
}

pub(crate) fn components(args: &ComponentsArgs) -> Result<()> {
    let set = TemplateSet::load(args.template_dir.as_deref())?;
    let mut out = std::io::stdout().lock();
    let names: Vec<&str> = KNOWN_COMPONENTS
        .iter()
        .copied()
        .chain(
            set.components
                .keys()
                .map(String::as_str)
                .filter(|n| !KNOWN_COMPONENTS.contains(n)),
        )
        .collect();
    let mut text = String::new();
    for name in names {
        let Some(component) = set.components.get(name) else {
            text.push_str(&format!("{name:<12} (not available yet)\n"));
            continue;
        };
        let m = &component.manifest;
        text.push_str(&format!("{name:<12} {}\n", m.summary));
        if !m.depends_on.is_empty() {
            text.push_str(&format!(
                "{:<12} depends on: {}\n",
                "",
                m.depends_on.join(", ")
            ));
        }
        let crates: Vec<&str> = m.dependencies.iter().map(|(k, _)| k).collect();
        if !crates.is_empty() {
            text.push_str(&format!("{:<12} crates: {}\n", "", crates.join(", ")));
        }
        let files: Vec<&str> = component.outputs().collect();
        text.push_str(&format!("{:<12} files: {}\n", "", files.join(", ")));
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "<stdout>", e))
}

/// Opens the project and the template set named by `args`.
fn open(args: &ProjectArgs) -> Result<(Project, TemplateSet)> {
    let start = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = Project::find(&start)?;
    let templates = TemplateSet::load(args.template_dir.as_deref())?;
    Ok((project, templates))
}

/// How a planned outcome is finished.
#[derive(Clone, Copy, Default)]
struct Finish {
    dry_run: bool,
    check: bool,
    json: bool,
}

/// Writes (or, for dry runs and checks, only shows) an outcome, and turns
/// conflicts into exit code 3.
fn finish(project: &Project, outcome: &Outcome, how: Finish) -> Result<()> {
    let report = Report { json: how.json };
    if how.check || how.dry_run {
        if how.dry_run && !how.json {
            crate::regen::print_diff(outcome)?;
        }
        crate::regen::report(outcome, report, false)?;
        if how.check && !outcome.is_noop() {
            return Err(Error::WouldChange {
                count: outcome.plan.file_changes().count() + usize::from(outcome.record_changed),
            });
        }
        return Ok(());
    }
    if !outcome.is_noop() {
        crate::regen::apply(project, outcome)?;
    }
    crate::regen::report(outcome, report, true)?;
    let conflicts: Vec<String> = outcome.plan.conflicts().map(|c| c.path.clone()).collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(Error::Conflicts { paths: conflicts })
    }
}

/// Regenerates every component with changed answers (`add`, `remove`): the
/// wiring files of other components change too. Says `done` once written.
fn rerender(
    project: &Project,
    templates: &TemplateSet,
    answers: answers::Answers,
    dry_run: bool,
    done: &str,
) -> Result<()> {
    let outcome = crate::regen::prepare(project, templates, answers, &|_| true, false)?;
    finish(
        project,
        &outcome,
        Finish {
            dry_run,
            ..Finish::default()
        },
    )?;
    if !dry_run {
        eprintln!("{done}");
    }
    Ok(())
}

/// The components the answers select, by name.
fn selected(answers: &answers::Answers) -> BTreeSet<String> {
    answers.components().into_iter().map(|(c, _)| c).collect()
}

/// Checks that each named component exists and belongs to the project.
fn check_in_project(
    templates: &TemplateSet,
    answers: &answers::Answers,
    names: &[String],
) -> Result<()> {
    crate::regen::check_component_names(templates, names)?;
    let selected = selected(answers);
    match names.iter().find(|n| !selected.contains(*n)) {
        Some(name) => Err(Error::NotInProject { name: name.clone() }),
        None => Ok(()),
    }
}

pub(crate) fn regen(args: &RegenArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let set = Layer::from_set_args(&args.set)?;
    let answers = project.answers(&[set])?;
    check_in_project(&templates, &answers, &args.components)?;
    for warning in answers.warnings().iter().filter(|_| !args.set.is_empty()) {
        eprintln!("warning: {warning}");
    }
    // A changed answer can touch any component's files (wiring, compose, CI).
    let everything = args.components.is_empty() || !args.set.is_empty();
    let scope = |c: &str| everything || args.components.iter().any(|n| n == c);
    let outcome = crate::regen::prepare(&project, &templates, answers, &scope, args.restore)?;
    finish(
        &project,
        &outcome,
        Finish {
            dry_run: args.dry_run,
            check: args.check,
            json: args.json,
        },
    )
}

pub(crate) fn diff(args: &DiffArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let answers = project.answers(&[])?;
    check_in_project(&templates, &answers, &args.components)?;
    let scope = |c: &str| args.components.is_empty() || args.components.iter().any(|n| n == c);
    let outcome = crate::regen::prepare(&project, &templates, answers, &scope, false)?;
    finish(
        &project,
        &outcome,
        Finish {
            dry_run: true,
            ..Finish::default()
        },
    )
}

pub(crate) fn add(args: &AddArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let name = args.component.as_str();
    crate::regen::check_component_names(&templates, &[name.to_owned()])?;
    let current = project.answers(&[])?;
    if selected(&current).contains(name) {
        eprintln!(
            "`{name}` is already part of the project; `stanchion regen {name}` brings it up to date"
        );
        return Ok(());
    }
    let enabling = crate::regen::enabling_answer(name, &current, None);
    let Some(component) = templates.components.get(name) else {
        return Err(Error::ComponentUnavailable {
            component: name.to_owned(),
            answer: enabling.map_or("-", |(k, _)| k).to_owned(),
        });
    };
    let have = selected(&current);
    if let Some(needs) = component
        .manifest
        .depends_on
        .iter()
        .find(|needs| !have.contains(*needs))
    {
        return Err(Error::NeedsComponent {
            name: name.to_owned(),
            needs: needs.clone(),
        });
    }
    let set = Layer::from_set_args(&args.set)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut terminal = answers::tty::TerminalPrompter::new(color());
    let mut checked = answers::OnlyAvailable {
        inner: &mut terminal,
        available: |c: &str| templates.components.contains_key(c),
    };
    let mut prompter = AddPrompter {
        inner: &mut checked,
        enabling,
    };
    let fallback = if args.yes {
        Fallback::Defaults
    } else if interactive {
        Fallback::Ask(&mut prompter)
    } else {
        Fallback::Fail
    };
    let answers = crate::regen::answers_for_add(&project, name, &set, fallback)?;
    if !selected(&answers).contains(name) {
        eprintln!("nothing added: the answers given do not select `{name}`");
        return Ok(());
    }
    for warning in answers.warnings() {
        eprintln!("warning: {warning}");
    }
    rerender(
        &project,
        &templates,
        answers,
        args.dry_run,
        &format!("added `{name}`"),
    )
}

pub(crate) fn remove(args: &RemoveArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let name = args.component.as_str();
    let current = project.answers(&[])?;
    check_in_project(&templates, &current, &[name.to_owned()])?;
    if name == "base" {
        return Err(Error::BaseRequired);
    }
    for other in selected(&current) {
        let needs = templates
            .components
            .get(&other)
            .is_some_and(|c| c.manifest.depends_on.iter().any(|d| d == name));
        if needs {
            return Err(Error::RequiredBy {
                name: name.to_owned(),
                needed_by: other,
            });
        }
    }
    let (key, value) = crate::regen::disabling_answer(name, &current).ok_or(Error::BaseRequired)?;
    let layer = Layer {
        origin: format!("`stanchion remove {name}`"),
        explicit: true,
        values: [(key.to_owned(), value)].into(),
    };
    let answers = project.answers(&[layer])?;
    rerender(
        &project,
        &templates,
        answers,
        args.dry_run,
        &format!("removed `{name}`"),
    )
}

//! `stanchion new`: resolve the answers, render, write atomically.
//!
//! Interactively, `new` first asks which preset to start from (the template
//! set's recommended one is the default), then which of the preset's answers to
//! change, and asks only those: Enter through every question makes the
//! recommended project.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::answers::{
    self, Catalog, Choice, Fallback, Kind, Layer, Preset, Prompter, Question, Value,
};
use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::template::{EnvVar, TemplateSet};
use crate::tree::Tree;
use crate::{project, template};

/// The answer layers given on the command line, highest precedence first.
fn layers(args: &NewArgs, templates: &TemplateSet) -> Result<Vec<Layer>> {
    let mut layers = vec![Layer::from_set_args(&args.set)?];
    if let Some(name) = &args.name {
        layers.push(Layer {
            origin: "the NAME argument".into(),
            explicit: true,
            values: [("name".to_owned(), Value::Str(name.clone()))].into(),
        });
    }
    if let Some(path) = &args.answers {
        layers.push(Layer::from_file(path)?);
    }
    if let Some(name) = &args.preset {
        layers.push(Layer::from_preset(preset(templates, name)?));
    }
    Ok(layers)
}

/// The preset called `name`.
pub(super) fn preset<'a>(templates: &'a TemplateSet, name: &str) -> Result<&'a Preset> {
    templates
        .presets
        .get(name)
        .ok_or_else(|| Error::UnknownPreset {
            name: name.to_owned(),
            available: templates.presets.keys().cloned().collect(),
        })
}

/// The template set's dependency graph, parsed on a thread of its own.
type GraphThread<'scope> = std::thread::ScopedJoinHandle<
    'scope,
    Option<std::result::Result<crate::lockfile::Graph, crate::lockfile::Unknown>>,
>;

pub(crate) fn new(args: &NewArgs) -> Result<()> {
    std::thread::scope(|scope| {
        // The tested dependency graph is parsed on another core while the set
        // loads, the answers are resolved and the templates rendered: the
        // embedded set's from the start, another set's once it is read.
        let embedded = args
            .template_dir
            .is_none()
            .then(|| scope.spawn(|| TemplateSet::embedded_lock().map(crate::lockfile::parse)));
        let templates = TemplateSet::load(args.template_dir.as_deref())?;
        let graph = embedded.unwrap_or_else(|| {
            let bytes = templates.lock.clone();
            scope.spawn(move || bytes.as_deref().map(crate::lockfile::parse))
        });
        create(args, &templates, graph)
    })
}

fn create(args: &NewArgs, templates: &TemplateSet, graph: GraphThread<'_>) -> Result<()> {
    let mut layers = layers(args, templates)?;
    let dry_run = args.dry_run || args.show.is_some();
    // Refuse a bad destination before asking anything, when it is already known.
    let known_name = layers.iter().find_map(|l| match l.values.get("name") {
        Some(Value::Str(name)) => Some(name.clone()),
        _ => None,
    });
    let known_target = args.dir.clone().or_else(|| known_name.map(PathBuf::from));
    if let Some(dir) = known_target.as_ref().filter(|_| !dry_run) {
        project::plan_write(dir, &Tree::new(), args.force)?;
    }
    let answers = if args.yes {
        answers::resolve(&templates.catalog, &layers, Fallback::Defaults)?
    } else if super::interactive() {
        let mut terminal = answers::tty::TerminalPrompter::new(super::color());
        if args.preset.is_none() && args.answers.is_none() {
            if let Some(chosen) = ask_preset(templates, &mut terminal)? {
                layers.push(Layer::from_preset(chosen));
            }
        }
        ask_changes(&templates.catalog, layers, &mut terminal)?
    } else {
        answers::resolve(&templates.catalog, &layers, Fallback::Fail)?
    };
    let rendered = template::render(templates, &answers)?;
    if let Some(path) = &args.show {
        let file = rendered
            .files
            .get(path)
            .ok_or_else(|| Error::NotGenerated {
                path: path.clone(),
                suggestion: crate::error::closest(path, rendered.files.keys().map(String::as_str)),
            })?;
        return super::stdout(&String::from_utf8_lossy(&file.contents));
    }
    let written = std::thread::scope(|scope| -> Result<Option<PathBuf>> {
        // The tested dependency set is cut on another core while this one
        // builds the tree and stages its files. It is no component's file, so
        // `regen` leaves it to the user and cargo.
        let lock = scope.spawn(|| {
            crate::lockfile::cut(graph.join().expect("the graph thread panicked")?, &rendered)
        });
        let lock = || lock_files(lock.join().expect("the lockfile thread panicked"));
        let mut tree = project::project_tree(&answers, &rendered);
        if let Some(env) = development_env(&rendered.env)? {
            tree.insert(".env", env);
        }
        let target = args
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(answers.name.as_str()));
        let mut err = std::io::stderr().lock();
        for warning in answers.warnings() {
            let _ = writeln!(err, "warning: {warning}");
        }
        let plan = (!dry_run)
            .then(|| project::plan_write(&target, &tree, args.force))
            .transpose()?;
        let note = match plan.filter(project::WritePlan::is_fresh) {
            // Nothing to list, so the lockfile can come last.
            Some(plan) => {
                let mut note = None;
                plan.execute_with(|| {
                    let (files, message) = lock();
                    note = message;
                    files
                })?;
                note
            }
            None => {
                let (files, note) = lock();
                for (path, contents) in files.iter() {
                    tree.insert(path, contents);
                }
                if dry_run {
                    print_tree(&mut std::io::stdout().lock(), &tree)?;
                    let _ = writeln!(
                        err,
                        "dry run: {} files ({} bytes) would be written to `{}`; nothing was written",
                        tree.len(),
                        tree.total_bytes(),
                        target.display()
                    );
                    return Ok(None);
                }
                let plan = project::plan_write(&target, &tree, args.force)?;
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
                note
            }
        };
        if let Some(note) = note {
            let _ = writeln!(err, "note: {note}");
        }
        Ok(Some(target))
    })?;
    match written {
        Some(target) => finish(templates, &answers, &rendered, &target),
        None => Ok(()),
    }
}

/// The lockfile to write, or why there is none.
fn lock_files(
    lock: Option<std::result::Result<String, crate::lockfile::Unknown>>,
) -> (Tree, Option<String>) {
    let mut files = Tree::new();
    let note = match lock {
        Some(Ok(text)) => {
            files.insert("Cargo.lock", text);
            None
        }
        Some(Err(crate::lockfile::Unknown(dependency))) => Some(format!(
            "no Cargo.lock written: `{dependency}` is not in the template set's tested dependency graph; cargo resolves the dependencies at the first build"
        )),
        None => None,
    };
    (files, note)
}

/// Says what was created and what to do next.
fn finish(
    templates: &TemplateSet,
    answers: &answers::Answers,
    rendered: &template::Rendered,
    target: &Path,
) -> Result<()> {
    let mut err = std::io::stderr().lock();
    let selected = template::select(templates, answers)?;
    let components: Vec<&str> = selected.iter().map(|c| c.manifest.name.as_str()).collect();
    let services_command = selected
        .iter()
        .find_map(|c| c.manifest.services_command.as_deref());
    let _ = writeln!(
        err,
        "Created `{}` ({}) in `{}`\n\n{}",
        answers.name,
        components.join(", "),
        target.display(),
        next_steps(&rendered.env, services_command, target),
    );
    Ok(())
}

/// Asks which preset to start from, the recommended one first.
fn ask_preset<'a>(
    templates: &'a TemplateSet,
    prompter: &mut dyn Prompter,
) -> Result<Option<&'a Preset>> {
    let mut presets: Vec<&Preset> = templates.presets.values().collect();
    if presets.is_empty() {
        return Ok(None);
    }
    presets.sort_by_key(|p| !p.recommended);
    let question = Question {
        key: "preset".into(),
        prompt: "Start from".into(),
        help: String::new(),
        kind: Kind::Choice(
            presets
                .iter()
                .map(|p| Choice {
                    value: p.name.clone(),
                    help: if p.recommended {
                        format!("(recommended) {}", p.summary)
                    } else {
                        p.summary.clone()
                    },
                    warning: None,
                })
                .collect(),
        ),
        default: Some(Value::Str(presets[0].name.clone())),
        asked_if: Vec::new(),
        component: "base".into(),
    };
    let chosen = prompter.ask(&question, question.default.clone())?;
    Ok(presets
        .into_iter()
        .find(|p| Value::Str(p.name.clone()) == chosen))
}

/// Resolves the answers on a terminal: what the layers do not say is asked;
/// then the user picks which of the preset's answers to change, and only those
/// are asked again, each offering the preset's value.
fn ask_changes(
    catalog: &Catalog,
    layers: Vec<Layer>,
    prompter: &mut dyn Prompter,
) -> Result<answers::Answers> {
    let first = answers::resolve(catalog, &layers, Fallback::Ask(prompter))?;
    let explicit: Vec<&str> = layers
        .iter()
        .filter(|l| l.explicit)
        .flat_map(|l| l.values.keys().map(String::as_str))
        .collect();
    let preset_keys: Vec<&str> = layers
        .iter()
        .filter(|l| !l.explicit)
        .flat_map(|l| l.values.keys().map(String::as_str))
        .collect();
    let changeable: Vec<(&str, &Value)> = first
        .values()
        .iter()
        .filter(|(k, _)| preset_keys.contains(k) && !explicit.contains(k))
        .collect();
    if changeable.is_empty() {
        return Ok(first);
    }
    let question = Question {
        key: "change".into(),
        prompt: "Change any of these answers? (none: keep them all)".into(),
        help: String::new(),
        kind: Kind::Multi(
            changeable
                .iter()
                .map(|(k, v)| Choice {
                    value: (*k).to_owned(),
                    help: format!("= {v}"),
                    warning: None,
                })
                .collect(),
        ),
        default: Some(Value::List(Vec::new())),
        asked_if: Vec::new(),
        component: "base".into(),
    };
    let picked = match prompter.ask(&question, question.default.clone())? {
        Value::List(keys) => keys,
        _ => Vec::new(),
    };
    if picked.is_empty() {
        return Ok(first);
    }
    // Keep everything answered so far except the picked keys, which are asked
    // again with the earlier value offered.
    let kept: Layer = Layer {
        origin: "the terminal".into(),
        explicit: false,
        values: first
            .values()
            .iter()
            .filter(|(k, _)| !picked.iter().any(|p| p == k))
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect(),
    };
    let offered: Vec<(String, Value)> = first
        .values()
        .iter()
        .filter(|(k, _)| picked.iter().any(|p| p == k))
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    let mut again = Offering {
        inner: prompter,
        offered,
    };
    let explicit_layers: Vec<Layer> = layers.into_iter().filter(|l| l.explicit).collect();
    let mut all = explicit_layers;
    all.push(kept);
    answers::resolve(catalog, &all, Fallback::Ask(&mut again))
}

/// A prompter that offers earlier answers as the defaults.
struct Offering<'a> {
    inner: &'a mut dyn Prompter,
    offered: Vec<(String, Value)>,
}

impl Prompter for Offering<'_> {
    fn ask(&mut self, q: &Question, default: Option<Value>) -> Result<Value> {
        let default = self
            .offered
            .iter()
            .find(|(k, _)| *k == q.key)
            .map(|(_, v)| v.clone())
            .or(default);
        self.inner.ask(q, default)
    }

    fn note(&mut self, message: &str) {
        self.inner.note(message);
    }
}

/// A `.env` with fresh development secrets, so `cargo run` works at once.
///
/// It is written beside the rendered files but is not part of the rendering (which
/// stays pure and deterministic) nor of the record: secrets are never hashed,
/// copied or regenerated. `.gitignore` keeps it out of version control, and
/// production sets its own values.
pub(super) fn development_env(env: &[EnvVar]) -> Result<Option<String>> {
    let mut lines = String::new();
    for var in env {
        let Some(bytes) = var.generate_bytes else {
            continue;
        };
        let mut random = vec![0u8; bytes];
        getrandom::fill(&mut random).map_err(|e| {
            Error::io(
                "generate a secret for",
                ".env",
                std::io::Error::other(e.to_string()),
            )
        })?;
        let secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
        lines.push_str(&format!("{}={secret}\n", var.name));
    }
    if lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "# Local development settings, made by `stanchion new`. Never commit this file;\n\
         # production sets its own values (see .env.example).\n{lines}"
    )))
}

/// What to type next, including the services the project needs to run.
fn next_steps(env: &[EnvVar], services_command: Option<&str>, target: &Path) -> String {
    let mut steps = vec![format!("cd {}", shell_path(target))];
    let mut services: Vec<&str> = Vec::new();
    let mut vars: Vec<&str> = Vec::new();
    for var in env {
        if let Some(service) = &var.service {
            if !services.contains(&service.as_str()) {
                services.push(service);
            }
            vars.push(&var.name);
        }
    }
    if !services.is_empty() {
        let vars = vars.join(" and ");
        steps.push(match services_command {
            Some(command) => format!(
                "{:<22} # or point {vars} at your own",
                format!("{command} {}", services.join(" "))
            ),
            None => format!("cp .env.example .env   # then set {vars}"),
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

/// Prints paths and sizes; base copies are summarised in one line.
fn print_tree(out: &mut impl Write, tree: &Tree) -> Result<()> {
    let base_prefix = format!("{}/", project::BASE_DIR);
    let (mut base_files, mut base_bytes) = (0, 0);
    let mut text = String::new();
    for (path, contents) in tree.iter() {
        if path.starts_with(&base_prefix) {
            base_files += 1;
            base_bytes += contents.len();
        } else {
            text.push_str(&format!("{:>8}  {path}\n", contents.len()));
        }
    }
    text.push_str(&format!(
        "{base_bytes:>8}  {base_prefix} ({base_files} base copies for regen)\n"
    ));
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "<stdout>", e))
}

//! stanchion scaffolds production-grade, horizontally scalable axum API projects.
//!
//! The pipeline is deliberately split so every stage can be used and tested on its
//! own, without a terminal or a disk:
//!
//! 1. [`answers`]: layered sources (flags, answers file, preset, terminal, defaults)
//!    resolve into typed [`answers::Answers`];
//! 2. [`template`]: answers + a [`template::TemplateSet`] render, purely and in
//!    memory, into [`template::Rendered`] files;
//! 3. [`project`]: the rendered files plus their record (`stanchion.toml`, base
//!    copies) form a [`tree::Tree`], which is written atomically.
//!
//! [`generate`] runs steps 1–2 for library users; [`run`] is the command line.

pub mod answers;
pub mod cli;
pub mod error;
pub mod project;
pub mod template;
pub mod tree;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::answers::{Answers, Fallback, Layer};
use crate::cli::{Cli, Command, ComponentsArgs, NewArgs};
pub use crate::error::{Error, Result};
use crate::template::{KNOWN_COMPONENTS, TemplateSet};
use crate::tree::Tree;

/// Renders the full tree of a new project (files, `stanchion.toml`, base copies)
/// for `answers` from `templates`. Pure: touches no disk.
pub fn generate(templates: &TemplateSet, answers: &Answers) -> Result<Tree> {
    let rendered = template::render(templates, answers)?;
    Ok(project::project_tree(answers, &rendered))
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::New(args) => new(&args),
        Command::Components(args) => components(&args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "stanchion",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

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

fn new(args: &NewArgs) -> Result<()> {
    let layers = layers(args)?;
    let templates = TemplateSet::load(args.template_dir.as_deref())?;
    // Refuse a bad destination before asking anything, when it is already known.
    if let Some(dir) = &args.dir {
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
    let tree = generate(&templates, &answers)?;
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
        "Created `{}` ({}) in `{}`\n\nNext steps:\n  cd {}\n  cargo run      # serves on http://127.0.0.1:8080 (set PORT to change)\n  cargo test     # runs the project's own tests\n\nLater: `stanchion add <component>` and `stanchion regen` keep it current.",
        answers.name,
        components.join(", "),
        target.display(),
        shell_path(&target),
    );
    Ok(())
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

fn components(args: &ComponentsArgs) -> Result<()> {
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

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
//! [`generate`] renders a new project's whole tree for library users without
//! writing it; [`regen`] plans and applies updates to an existing project; [`run`]
//! is the command line.

pub mod answers;
pub mod cli;
mod commands;
pub mod error;
pub mod lockfile;
mod parallel;
pub mod project;
pub mod regen;
pub mod template;
pub mod tree;

use clap::CommandFactory;

use crate::answers::Answers;
use crate::cli::{Cli, Command};
pub use crate::error::{Error, Result};
use crate::template::TemplateSet;
use crate::tree::Tree;

/// Renders the full tree of a new project (files, `stanchion.toml`, base copies,
/// and `Cargo.lock` where the template set's graph covers the dependencies)
/// for `answers` from `templates`. Pure: touches no disk.
pub fn generate(templates: &TemplateSet, answers: &Answers) -> Result<Tree> {
    let rendered = template::render(templates, answers)?;
    let mut tree = project::project_tree(answers, &rendered);
    if let Some(Ok(lock)) = lockfile::for_project(templates, &rendered) {
        tree.insert("Cargo.lock", lock);
    }
    Ok(tree)
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::New(args) => commands::new(&args),
        Command::Regen(args) => commands::regen(&args),
        Command::Add(args) => commands::add(&args),
        Command::Remove(args) => commands::remove(&args),
        Command::Diff(args) => commands::diff(&args),
        Command::Components(args) => commands::components(&args),
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

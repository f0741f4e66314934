//! Command-line types: plain data parsed by clap, validated later.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The exit codes, documented in `--help`.
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  success
  1  error: destination, templates, files
  2  usage: invalid arguments or answers, or answers missing without a terminal
  3  merge conflicts were left in files (regen, add)
  130  interrupted (Ctrl-C)"
    };
}

/// Scaffold production-grade, horizontally scalable axum API projects.
#[derive(Debug, Parser)]
#[command(name = "stanchion", version, after_help = exit_codes!(), propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a new API project.
    #[command(after_help = NEW_HELP)]
    New(NewArgs),
    /// Re-render components from the recorded answers and current templates,
    /// merging with your edits.
    #[command(after_help = REGEN_HELP)]
    Regen(RegenArgs),
    /// Add a component to a generated project.
    Add(AddArgs),
    /// Remove a component from a generated project.
    Remove(RemoveArgs),
    /// Show, as unified diffs, what `regen` would change; write nothing.
    Diff(DiffArgs),
    /// List the components, what each adds and what it depends on.
    Components(ComponentsArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

const NEW_HELP: &str = concat!(
    "\
Answers (for --set and answers files) are the questions the components declare;
`stanchion components` lists the components and presets. The built-in ones:
  name, description, database (postgres|sqlite|none), read_replica (bool, postgres only),
  cache (redis|memory|none), http_cache (bool), rate_limit (redis|memory|none),
  rate_limit_max (int), rate_limit_window_secs (int), auth (jwt|none), metrics (bool),
  tracing (bool), openapi (bool), deploy (list of docker, kubernetes, ci)

Precedence: --set > --answers > --preset > terminal prompt > default.
Without a terminal, every answer must come from those or from --yes.

",
    exit_codes!()
);

/// Arguments of `stanchion new`.
#[derive(Debug, Args, Default)]
pub struct NewArgs {
    /// The project name (a valid Cargo package name, lowercase).
    pub name: Option<String>,
    /// Where to create the project (default: ./NAME).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Use defaults for every answer not given; never prompt.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Set an answer, e.g. `--set database=postgres` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Read answers from a TOML file (`key = value`, or a `stanchion.toml`).
    #[arg(long, value_name = "FILE.toml")]
    pub answers: Option<PathBuf>,
    /// Start from a named set of answers (`stanchion components` lists them:
    /// full, local, minimal in the built-in templates).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Print the files that would be written, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one rendered file (e.g. `src/lib.rs`) of this combination of
    /// answers, and write nothing.
    #[arg(long, value_name = "PATH")]
    pub show: Option<String>,
    /// Write into a non-empty directory (the files replaced are listed first).
    #[arg(long)]
    pub force: bool,
    /// Render from this template directory instead of the built-in templates.
    #[arg(long, value_name = "DIR")]
    pub template_dir: Option<PathBuf>,
}

/// Arguments of `stanchion components`.
#[derive(Debug, Args)]
pub struct ComponentsArgs {
    /// List the components of this template directory instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub template_dir: Option<PathBuf>,
}

const REGEN_HELP: &str = "\
For each file the components own:
  not edited by you             replaced by the new template output
  edited, template unchanged    kept as is
  both changed                  three-way merged (the base copy in .stanchion/base/ is the ancestor)
  both changed the same lines   written with <<<<<<< yours / ======= / >>>>>>> stanchion markers; exit 3
  deleted by you                not recreated (unless --restore)
  no longer generated           removed if unedited, else kept and reported";

/// Where the project is and which templates render it.
#[derive(Debug, Args, Default, Clone)]
pub struct ProjectArgs {
    /// The project directory (default: the one containing the current directory).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Render from this template directory instead of the built-in templates.
    #[arg(long, value_name = "DIR")]
    pub template_dir: Option<PathBuf>,
}

/// Arguments of `stanchion regen`.
#[derive(Debug, Args, Default)]
pub struct RegenArgs {
    /// Components to regenerate (default: all of the project's).
    pub components: Vec<String>,
    /// Change an answer first, e.g. `--set deploy=docker` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Recreate generated files you deleted.
    #[arg(long)]
    pub restore: bool,
    /// Print what would change (as unified diffs); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write nothing; exit 1 if regeneration would change anything (for CI).
    #[arg(long)]
    pub check: bool,
    /// Print a machine-readable status to stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Arguments of `stanchion add`.
#[derive(Debug, Args, Default)]
pub struct AddArgs {
    /// The component to add (see `stanchion components`).
    pub component: String,
    /// Answer one of the component's questions, e.g. `--set database=sqlite`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Use defaults for the component's questions; never prompt.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Arguments of `stanchion remove`.
#[derive(Debug, Args, Default)]
pub struct RemoveArgs {
    /// The component to remove.
    pub component: String,
    /// Print what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Arguments of `stanchion diff`.
#[derive(Debug, Args, Default)]
pub struct DiffArgs {
    /// Components to compare (default: all of the project's).
    pub components: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

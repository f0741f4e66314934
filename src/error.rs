//! The one error type of stanchion.
//!
//! Every failure a user can meet is a variant here, carrying the data needed to say
//! what happened and what to do next. Messages are lowercase, name paths and keys in
//! backticks, and end with a `help:` line when there is a next step. Colour is the
//! binary's business, never the message's.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in stanchion.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A project name that cannot be a Cargo package (or a Kubernetes/Docker name).
    #[error("invalid project name `{name}`: {reason}{}", help_line(suggestion.as_deref().map(|s| format!("try `{s}` instead"))))]
    InvalidName {
        name: String,
        reason: String,
        suggestion: Option<String>,
    },

    /// A `--set` argument that is not of the form `key=value`.
    #[error(
        "invalid `--set {arg}`: expected `key=value`\n\nhelp: for example `--set database=postgres`"
    )]
    BadSetArgument { arg: String },

    /// An answer key that no question has.
    #[error("unknown answer `{key}` (from {origin}){}", help_line(suggestion.as_deref().map(|s| format!("did you mean `{s}`? `stanchion new --help` lists the answers"))))]
    UnknownAnswer {
        key: String,
        origin: String,
        suggestion: Option<String>,
    },

    /// An answer whose value is not acceptable for its question.
    #[error("invalid answer `{key} = {value}` (from {origin}): {expected}")]
    InvalidAnswer {
        key: String,
        value: String,
        origin: String,
        expected: String,
    },

    /// An answer given explicitly for a question that does not apply.
    #[error("answer `{key}` (from {origin}) does not apply: {reason}")]
    AnswerNotApplicable {
        key: String,
        origin: String,
        reason: String,
    },

    /// Answers are missing and there is no terminal to ask them on.
    #[error(
        "missing answers for {}: no terminal to ask on\n\nhelp: pass `--yes` to accept the defaults, or give them with `--answers FILE.toml` or `--set key=value`",
        keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingAnswers { keys: Vec<String> },

    /// A required answer (the project name) that has no default.
    #[error("a project name is required\n\nhelp: run `stanchion new NAME`, or `--set name=NAME`")]
    MissingName,

    /// An answers file that cannot be read or parsed.
    #[error("cannot use answers file `{}`: {message}", path.display())]
    AnswersFile { path: PathBuf, message: String },

    /// A component fills a slot that no generated file declares.
    #[error("component `{component}` fills slot `{slot}`, which no file of this project declares{}", help_line(Some(match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => "declare it with `{{slot \"NAME\"}}` in a file, or remove the fill".to_owned(),
    })))]
    UnknownSlot {
        component: String,
        slot: String,
        suggestion: Option<String>,
    },

    /// `--show PATH` names a file the answers do not generate.
    #[error("the project would not have `{path}`{}", help_line(suggestion.as_deref().map(|s| format!("did you mean `{s}`? `--dry-run` lists every file"))))]
    NotGenerated {
        path: String,
        suggestion: Option<String>,
    },

    /// An unknown `--preset`.
    #[error("no preset named `{name}`{}", help_line(Some(format!("the presets are {}", available.join(", ")))))]
    UnknownPreset {
        name: String,
        available: Vec<String>,
    },

    /// A component needs another one that the answers do not select.
    #[error("component `{component}` depends on `{needs}`, which the answers do not select{}", help_line(Some(format!("enable `{needs}` as well"))))]
    MissingDependency { component: String, needs: String },

    /// A template set (embedded or `--template-dir`) that is malformed.
    #[error("invalid template set at `{}`: {message}", path.display())]
    TemplateSet { path: PathBuf, message: String },

    /// A template that failed to render (syntax error, missing variable in strict mode).
    #[error("cannot render template `{component}/{path}`: {message}")]
    Render {
        component: String,
        path: String,
        message: String,
    },

    /// Two components emit the same file.
    #[error("components `{first}` and `{second}` both generate `{path}`")]
    FileCollision {
        path: String,
        first: String,
        second: String,
    },

    /// The target exists and is not empty, and `--force` was not given.
    #[error("destination `{}` already exists and is not empty\n\nhelp: choose another `--dir`, or pass `--force` to write into it (files it would replace are listed first)", path.display())]
    TargetNotEmpty { path: PathBuf },

    /// The target exists and is not a directory.
    #[error("destination `{}` exists and is not a directory", path.display())]
    TargetNotDirectory { path: PathBuf },

    /// The user pressed Ctrl-C at a prompt.
    #[error("interrupted; nothing was written")]
    Interrupted,

    /// A prompt could not be shown or answered.
    #[error("cannot ask `{key}`: {source}")]
    Prompt {
        key: String,
        #[source]
        source: io::Error,
    },

    /// No `stanchion.toml` here or above.
    #[error("`{}` is not inside a stanchion project (no `stanchion.toml` found)\n\nhelp: run this in a project made by `stanchion new`, or pass `--dir PATH`", path.display())]
    NotAProject { path: PathBuf },

    /// `stanchion.toml` cannot be parsed or has the wrong shape.
    #[error("invalid `{}{}`: {message}\n\nhelp: fix it by hand, or restore it from version control", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    MalformedRecord {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// A component name that does not exist.
    #[error("no component named `{name}`{}", help_line(Some(match suggestion {
        Some(s) => format!("did you mean `{s}`? `stanchion components` lists them"),
        None => "`stanchion components` lists them".to_owned(),
    })))]
    UnknownComponent {
        name: String,
        suggestion: Option<String>,
    },

    /// A component named for `regen` that the project does not have.
    #[error(
        "component `{name}` is not part of this project\n\nhelp: add it with `stanchion add {name}`"
    )]
    NotInProject { name: String },

    /// `remove base`: every project is built on it.
    #[error("cannot remove `base`: every generated project is built on it")]
    BaseRequired,

    /// `add` of a component that needs another one the project does not have.
    #[error(
        "cannot add `{name}`: it depends on `{needs}`, which this project does not have\n\nhelp: add `{needs}` first (`stanchion add {needs}`)"
    )]
    NeedsComponent { name: String, needs: String },

    /// `remove` of a component another one needs.
    #[error(
        "cannot remove `{name}`: `{needed_by}` depends on it\n\nhelp: remove `{needed_by}` first"
    )]
    RequiredBy { name: String, needed_by: String },

    /// Files still hold conflict markers from an earlier run.
    #[error(
        "unresolved conflict markers from an earlier run in {}\n\nhelp: resolve them (search for `<<<<<<<`), then run the command again",
        paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    )]
    UnresolvedConflicts { paths: Vec<String> },

    /// A file moved to a path where a file the record does not know already is.
    #[error(
        "cannot move `{from}` to `{to}`: the templates now generate it at `{to}`, where a file of yours already is\n\nhelp: nothing was written; rename your `{to}` (or merge it into `{from}` and delete it), then run the command again: your edits of `{from}` will follow it to `{to}`"
    )]
    MoveBlocked { from: String, to: String },

    /// A run left conflict markers in files (exit code 3).
    #[error(
        "merge conflicts in {} file(s): {}\n\nhelp: your version is between `<<<<<<< yours` and `=======`, the template's between `=======` and `>>>>>>> stanchion`; resolve them, then run `stanchion regen --check`",
        paths.len(),
        paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    )]
    Conflicts { paths: Vec<String> },

    /// A dry run found that the real run would leave merge conflicts.
    #[error(
        "the run would leave merge conflicts in {} file(s): {}\n\nhelp: nothing was written; the same lines changed on both sides",
        paths.len(),
        paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    )]
    WouldConflict { paths: Vec<String> },

    /// `remove` of a component that several answers select.
    #[error("`{name}` follows other answers (it is selected when {how}){}", help_line(Some("change those answers with `stanchion regen --set`".into())))]
    FollowsAnswers { name: String, how: String },

    /// `add` was given answers that do not select the component.
    #[error("the answers given do not select `{name}`{how}; nothing was added")]
    NotSelected { name: String, how: String },

    /// `regen --check` found that regeneration would change files.
    #[error(
        "regeneration would change {count} file(s)\n\nhelp: run `stanchion diff` to see how, `stanchion regen` to apply"
    )]
    WouldChange { count: usize },

    /// Reading or writing a file failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The process exit code for this error: 2 for usage and answer errors (the
    /// command line or answers must change), 130 for Ctrl-C (as shells report a
    /// SIGINT), 3 when merge conflicts were left in files, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidName { .. }
            | Error::BadSetArgument { .. }
            | Error::UnknownAnswer { .. }
            | Error::InvalidAnswer { .. }
            | Error::AnswerNotApplicable { .. }
            | Error::MissingAnswers { .. }
            | Error::MissingName
            | Error::UnknownPreset { .. }
            | Error::NotSelected { .. } => 2,
            Error::Interrupted => 130,
            Error::Conflicts { .. } | Error::WouldConflict { .. } => 3,
            _ => 1,
        }
    }

    /// Whether this is a write to a closed pipe (`stanchion diff | head`), which
    /// ends the command quietly, as a reader that has seen enough is no error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Formats an optional `help:` line, preceded by a blank line.
fn help_line(help: Option<String>) -> String {
    help.map(|h| format!("\n\nhelp: {h}")).unwrap_or_default()
}

/// The closest candidate to `input`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

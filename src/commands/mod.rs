//! The subcommands: each turns its parsed arguments into calls to the library
//! (answers → render → plan → write) and prints what happened. Messages go to
//! stderr, data (trees, diffs, listings, JSON) to stdout; the printing lives here,
//! not in the library, and writes to whatever `impl Write` it is given.

mod components;
mod new;
mod report;
mod update;

use std::io::IsTerminal;

pub(crate) use components::components;
pub(crate) use new::new;
pub(crate) use update::{add, diff, regen, remove};

use crate::error::{Error, Result};

/// Whether colour may be used on stderr.
fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Whether both ends of the terminal are there to ask questions on.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Writes `text` to stdout.
fn stdout(text: &str) -> Result<()> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "<stdout>", e))
}

//! The `stanchion` binary: parse the command line, run, turn the result into an
//! exit code. Everything else lives in the library.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stanchion::cli::Cli::parse();
    match stanchion::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`stanchion diff | head`): nothing left to say.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal();
            let label = if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            let _ = writeln!(std::io::stderr(), "{label}: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

//! `armorred`: the command line. Parses arguments, calls the library, prints, and maps outcomes
//! to exit codes: 0 success, 1 a check failed (policy violation, stale lock, findings over a
//! threshold), 2 an error (bad input, I/O, network).

mod cli;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// What a command concluded, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything passed.
    Success,
    /// A check failed: exit 1.
    CheckFailed,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        // A closed pipe (`armorred ... | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                // Error messages quote image, SBOM and feed data: escaped, newlines kept.
                eprintln!("error: {}", armorred::display::escape_lines(&format!("{err:#}")));
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

//! One module per command: each turns arguments into library calls and prints the result.

mod checksec;
mod pipeline;
mod sbom;

use crate::cli::{Cli, Command};
use crate::Outcome;

pub(crate) fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Checksec(args) => checksec::run(&args),
        Command::Pipeline(args) => pipeline::run(&args, cli.quiet),
        Command::Sbom(args) => sbom::run(&args, cli.quiet),
    }
}

//! One module per command: each turns arguments into library calls and prints the result.

mod build;
mod build_source;
mod checksec;
mod compare;
mod db;
mod lock;
mod pipeline;
mod sbom;
mod scan;

use crate::cli::{Cli, Command};
use crate::Outcome;

pub(crate) fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Lock(args) => lock::run(&args, cli.quiet),
        Command::Build(args) => build::run(&args, cli.quiet),
        Command::BuildSource(args) => build_source::run(&args, cli.quiet),
        Command::Checksec(args) => checksec::run(&args),
        Command::Sbom(args) => sbom::run(&args, cli.quiet),
        Command::Db(args) => db::run(&args, cli.quiet),
        Command::Scan(args) => scan::run(&args, cli.quiet),
        Command::Compare(args) => compare::run(&args),
        Command::Pipeline(args) => pipeline::run(&args, cli.quiet),
    }
}

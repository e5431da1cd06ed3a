//! `armorred checksec`.

use std::io::Write;

use anyhow::Context;
use armorred::elf::{self, policy, ScanOptions};

use crate::cli::{ChecksecArgs, ChecksecFormat, PolicyArg};
use crate::{output, Outcome};

pub(crate) fn run(args: &ChecksecArgs) -> anyhow::Result<Outcome> {
    let scan = elf::scan(&args.paths, &ScanOptions { root: Some(args.root.clone()) })?;
    let mut out = anstream::stdout().lock();
    match args.format {
        ChecksecFormat::Json => {
            let value = elf::checksec_json::scan_object(&scan, args.extended);
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        ChecksecFormat::Table => output::checksec_table(&mut out, &scan)?,
    }
    let Some(policy) = args.policy else {
        return Ok(Outcome::Success);
    };
    let policy = match policy {
        PolicyArg::Hardened => policy::Policy::Hardened,
        PolicyArg::Locked => policy::Policy::Locked,
    };
    let verdict = policy::evaluate(policy, &scan, &args.root);
    let mut err = anstream::stderr().lock();
    output::verdict(&mut err, policy, &verdict).context("cannot print the verdict")?;
    Ok(if verdict.passed() { Outcome::Success } else { Outcome::CheckFailed })
}

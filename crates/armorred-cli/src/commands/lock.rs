//! `armorred lock DIR [--check]`.

use std::io::Write;

use armorred::build::{self, debian::Mirror, LockStatus};
use armorred::display::escape;

use crate::cli::LockArgs;
use crate::Outcome;

pub(crate) fn run(args: &LockArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let mirror = Mirror::discover(args.mirror.as_deref())?;
    let report = build::lock(&args.dir, &mirror, args.check)?;
    let mut err = anstream::stderr().lock();
    if !quiet {
        for (tier, names) in &report.lock.tiers {
            writeln!(err, "{tier}: {} packages", names.len())?;
            for (excluded, by) in report.excluded.get(tier).into_iter().flatten() {
                writeln!(err, "  excluded {} (wanted by {})", escape(excluded), escape(by))?;
            }
        }
        for s in &report.lock.suites {
            writeln!(err, "{}: {} (signed by {})", s.name, s.date, s.signed_by)?;
        }
    }
    match report.status {
        LockStatus::Stale => {
            writeln!(err, "{} is stale: run `armorred lock {}`", report.path.display(), args.dir.display())?;
            Ok(Outcome::CheckFailed)
        }
        LockStatus::Unchanged => {
            if !quiet {
                writeln!(err, "{} is up to date", report.path.display())?;
            }
            Ok(Outcome::Success)
        }
        LockStatus::Written => {
            if !quiet {
                writeln!(err, "wrote {}", report.path.display())?;
            }
            Ok(Outcome::Success)
        }
    }
}

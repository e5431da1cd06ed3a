//! `armorred site [--from OUT] [--out DIR]`.

use std::io::Write;

use crate::cli::SiteArgs;
use crate::Outcome;

pub(crate) fn run(args: &SiteArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let out = args.out.clone().unwrap_or_else(|| args.from.join("site"));
    let report = armorred::site::render(&args.from, &out)?;
    if !quiet {
        let mut err = anstream::stderr().lock();
        writeln!(
            err,
            "wrote {} pages and {} files under {}",
            report.pages.len(),
            report.files.len(),
            report.out.display()
        )?;
    }
    writeln!(std::io::stdout().lock(), "{}", report.index.display())?;
    Ok(Outcome::Success)
}

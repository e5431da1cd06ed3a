//! `armorred pipeline`: the main job.

use std::io::Write;

use armorred::pipeline::{self, PipelineOptions};

use crate::cli::PipelineArgs;
use crate::{output, Outcome};

pub(crate) fn run(args: &PipelineArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let mut opts = PipelineOptions::new(&args.image, &args.out);
    opts.db.clone_from(&args.db);
    opts.mirror.clone_from(&args.mirror);
    if args.upstream.is_some() {
        opts.upstream.clone_from(&args.upstream);
    }
    let outcome = pipeline::run(&opts)?;
    if quiet {
        return Ok(Outcome::Success);
    }
    let mut err = anstream::stderr().lock();
    let b = &outcome.build;
    writeln!(err, "built {} ({} packages, {} files) {}", b.name, b.packages, b.files, b.manifest_digest)?;
    output::checksec_summary(&mut err, &outcome.checksec, &args.out.join("checksec.json"))?;
    writeln!(err, "checksec gate ({:?}): {}", b.gate.policy, if b.gate.passed() { "passed" } else { "failed" })?;
    if let Some(scan) = &outcome.scan {
        writeln!(err, "scan: {} findings in {} packages", scan.matches.len(), scan.packages)?;
    }
    if let Some(c) = &outcome.comparison {
        writeln!(err, "{}", armorred::report::render::table(c))?;
    }
    for note in &outcome.notes {
        writeln!(err, "note: {note}")?;
    }
    for path in &outcome.written {
        writeln!(err, "wrote {}", path.display())?;
    }
    Ok(Outcome::Success)
}

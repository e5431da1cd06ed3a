//! `armorred pipeline`: the main job.

use std::io::Write;

use armorred::clock::Clock;
use armorred::pipeline::{self, PipelineOptions};

use crate::cli::PipelineArgs;
use crate::{output, Outcome};

pub(crate) fn run(args: &PipelineArgs, clock: Clock, quiet: bool) -> anyhow::Result<Outcome> {
    let mut opts = PipelineOptions::new(&args.image, &args.out);
    opts.clock = clock;
    opts.db.clone_from(&args.db);
    opts.mirror.clone_from(&args.mirror);
    if args.upstream.is_some() {
        opts.upstream.clone_from(&args.upstream);
    }
    if !args.tier.is_empty() {
        opts.tiers.clone_from(&args.tier);
    }
    let outcome = pipeline::run(&opts)?;
    if quiet {
        return Ok(Outcome::Success);
    }
    let mut err = anstream::stderr().lock();
    for t in &outcome.tiers {
        let b = &t.build;
        writeln!(
            err,
            "built {}:{} ({} packages, {} files) {} in {:.1} s",
            b.name,
            b.tier,
            b.packages,
            b.files,
            b.manifest_digest,
            b.timings.get("total").copied().unwrap_or_default() as f64 / 1000.0
        )?;
        output::checksec_summary(&mut err, &t.checksec, &t.checksec_path)?;
        writeln!(err, "checksec gate: {}", output::gate_summary(&b.gate))?;
        if let Some(scan) = &t.scan {
            writeln!(err, "scan: {} findings in {} packages", scan.matches.len(), scan.packages)?;
        }
        if let Some(c) = &t.comparison {
            writeln!(err, "{}", armorred::report::render::table(c))?;
        }
    }
    for note in &outcome.notes {
        writeln!(err, "note: {}", armorred::display::escape(note))?;
    }
    for path in &outcome.written {
        writeln!(err, "wrote {}", path.display())?;
    }
    Ok(Outcome::Success)
}

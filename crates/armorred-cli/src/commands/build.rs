//! `armorred build DIR --tier T --output KIND:PATH`: calls the library, shows progress on a
//! terminal and prints the summary.

use std::io::Write;

use armorred::build::{self, debian::Mirror, BuildOptions, GateVerdict, Progress};
use armorred::cache::Cache;
use armorred::clock::Clock;
use armorred::display::escape;

use crate::cli::BuildArgs;
use crate::Outcome;

pub(crate) fn run(args: &BuildArgs, clock: &Clock, quiet: bool) -> anyhow::Result<Outcome> {
    let output: build::Output = args.output.parse().map_err(anyhow::Error::msg)?;
    let epoch = args.source_date_epoch.or(clock.source_date_epoch());
    let ui = crate::progress::Ui::new(quiet);
    let progress = |p: Progress<'_>| ui.build(p);
    let opts = BuildOptions {
        tier: args.tier,
        output,
        cache: Cache::new(args.cache_dir.clone().unwrap_or_else(Cache::default_dir)),
        mirror: args.mirror.as_deref().map(Mirror::from_base),
        source_date_epoch: epoch,
        revision: args.revision.clone(),
        progress: Some(&progress),
        reuse: !args.rebuild,
    };
    let result = build::build(&args.dir, &opts);
    ui.finish();
    let mut err = anstream::stderr().lock();
    let report = match result {
        Ok(r) => r,
        Err(e) => match e.gate_verdict() {
            Some(verdict) => {
                print_gate(&mut err, verdict)?;
                writeln!(err, "build failed: checksec gate; nothing written")?;
                return Ok(Outcome::CheckFailed);
            }
            None => return Err(e.into()),
        },
    };
    let mut out = anstream::stdout().lock();
    writeln!(out, "{}", report.manifest_digest)?;
    if quiet {
        return Ok(Outcome::Success);
    }
    let mb = |b: u64| b as f64 / 1e6;
    writeln!(
        err,
        "image     {}:{} -> {}:{}",
        report.name,
        report.tier,
        report.output.kind(),
        report.output.path().display()
    )?;
    writeln!(err, "digest    {}", report.manifest_digest)?;
    writeln!(
        err,
        "size      {:.1} MB compressed, {:.1} MB uncompressed",
        mb(report.compressed_size),
        mb(report.uncompressed_size)
    )?;
    writeln!(err, "packages  {}", report.packages)?;
    writeln!(err, "files     {}", report.files)?;
    let g = &report.gate;
    writeln!(err, "checksec  {}", crate::output::gate_summary(g))?;
    if let Some(sb) = &report.source_build {
        writeln!(
            err,
            "source    {} {} built ({}) on a {} root of {} packages{}",
            sb.package.name,
            sb.package.version,
            sb.tier,
            sb.build_root.kind,
            sb.build_root.packages.len(),
            if report.source_build_reused { ", reused from the cache (same inputs; --rebuild compiles)" } else { "" }
        )?;
    }
    if !g.passed() {
        print_gate(&mut err, g)?;
    }
    writeln!(err, "record    {}", report.record.display())?;
    let reused = if report.reused {
        " (unchanged inputs: the image already at the output, verified; --rebuild builds)"
    } else {
        ""
    };
    writeln!(err, "time      {} ms{reused}", report.timings.get("total").copied().unwrap_or(0))?;
    Ok(Outcome::Success)
}

fn print_gate(w: &mut impl Write, g: &GateVerdict) -> std::io::Result<()> {
    for v in &g.violations {
        writeln!(w, "  {} {}: {}", escape(&v.path), v.property, escape(&v.detail))?;
    }
    Ok(())
}

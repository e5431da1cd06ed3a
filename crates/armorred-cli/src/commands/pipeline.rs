//! `armorred pipeline`: the main job.

use std::io::Write;

use armorred::clock::Clock;
use armorred::display::escape;
use armorred::pipeline::{self, PipelineOptions, VariantOutcome};

use crate::cli::PipelineArgs;
use crate::{output, Outcome};

pub(crate) fn run(args: &PipelineArgs, clock: Clock, quiet: bool) -> anyhow::Result<Outcome> {
    let mut opts = PipelineOptions::new(&args.out);
    opts.clock = clock;
    opts.images.clone_from(&args.images);
    opts.db.clone_from(&args.db);
    opts.config.clone_from(&args.config);
    opts.mirror.clone_from(&args.mirror);
    opts.upstream.clone_from(&args.upstream);
    opts.tiers.clone_from(&args.tier);
    if args.plan {
        let plan = pipeline::plan::plan(&opts)?;
        writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&plan)?)?;
        return Ok(Outcome::Success);
    }
    if !args.no_sign {
        opts.signing = Some(signing(args, quiet)?);
    }
    let push = args.push.clone().or_else(|| std::env::var("ARMORRED_REGISTRY").ok().filter(|r| !r.is_empty()));
    if let Some(target) = push {
        opts.push = Some(pipeline::Push::parse(&target, &args.insecure_registry)?);
    }
    if let (false, Some(reason)) = (quiet, pipeline::db_update_reason(&opts)?) {
        writeln!(anstream::stderr(), "db: {}: updating it from the configured feeds", escape(&reason))?;
    }
    let ui = std::sync::Arc::new(crate::progress::Ui::new(quiet));
    if crate::progress::enabled(quiet) {
        let ui = ui.clone();
        opts.progress = Some(pipeline::ProgressFn::new(move |p| ui.pipeline(p)));
    }
    let result = pipeline::run(&opts);
    ui.finish();
    let outcome = result?;
    // The outputs are complete: a state that cannot be recorded is said, not fatal.
    let recorded = match record_monitor_state(args, clock) {
        Ok(r) => r,
        Err(e) => {
            writeln!(anstream::stderr(), "warning: the monitor state was not recorded: {}", escape(&format!("{e:#}")))?;
            None
        }
    };
    // A gate that failed after the outputs were written: always said, and exit 1.
    let result = if outcome.failures.is_empty() { Outcome::Success } else { Outcome::CheckFailed };
    let mut err = anstream::stderr().lock();
    if quiet {
        for f in &outcome.failures {
            writeln!(err, "error: {}", escape(f))?;
        }
        return Ok(result);
    }
    for image in &outcome.images {
        for v in image.upstream.iter().chain(&image.tiers) {
            variant(&mut err, &image.name, v)?;
        }
    }
    for note in &outcome.notes {
        writeln!(err, "note: {}", escape(note))?;
    }
    for image in &outcome.images {
        for v in image.upstream.iter().chain(&image.tiers) {
            writeln!(err, "wrote {}", v.summary_path.display())?;
        }
    }
    writeln!(err, "wrote {}", outcome.index.display())?;
    write!(err, "\n{}\n", pipeline::summary::catalog_table(&outcome.catalog))?;
    writeln!(err, "site: {}", outcome.site.display())?;
    if let Some((state, scans)) = &recorded {
        writeln!(
            err,
            "monitor: {scans} scans recorded in {} (`armorred monitor run` rescans from there)",
            escape(state)
        )?;
    }
    for f in &outcome.failures {
        writeln!(err, "error: {}", escape(f))?;
    }
    Ok(result)
}

/// The pipeline's key pair: `--key PREFIX`, else `$XDG_CONFIG_HOME/armorred/cosign`, made on
/// first use; its password is `$COSIGN_PASSWORD`, else empty (the pipeline never prompts).
fn signing(args: &PipelineArgs, quiet: bool) -> anyhow::Result<pipeline::Signing> {
    use std::os::unix::ffi::OsStringExt;
    let prefix = match &args.key {
        Some(p) => p.clone(),
        None => armorred::sign::key::default_key_prefix()
            .ok_or_else(|| anyhow::anyhow!("no configuration directory for the signing key: give --key PREFIX"))?,
    };
    let password = std::env::var_os("COSIGN_PASSWORD").map(OsStringExt::into_vec).unwrap_or_default();
    let (key, public_key, generated) = armorred::sign::key::load_or_generate(&prefix, &password)?;
    if generated && !quiet {
        writeln!(
            anstream::stderr().lock(),
            "generated the signing key {}.key (public key {}; password: $COSIGN_PASSWORD, else empty)",
            escape(&prefix.display().to_string()),
            escape(&public_key.display().to_string())
        )?;
    }
    Ok(pipeline::Signing { key, public_key })
}

fn variant(err: &mut impl Write, name: &str, v: &VariantOutcome) -> anyhow::Result<()> {
    let s = &v.summary;
    match &v.build {
        Some(b) => writeln!(
            err,
            "{name}:{} built ({} packages, {} files) {} in {:.1} s",
            v.variant,
            b.packages,
            b.files,
            b.manifest_digest,
            b.timings.get("total").copied().unwrap_or_default() as f64 / 1000.0
        )?,
        None => writeln!(err, "{name}:{} read from {}", v.variant, escape(&s.source))?,
    }
    output::checksec_summary(err, &v.checksec, &v.checksec_path)?;
    if let Some(b) = &v.build {
        writeln!(err, "checksec gate: {}", output::gate_summary(&b.gate))?;
    }
    if let Some(scan) = &s.scan {
        writeln!(
            err,
            "scan: {} findings ({} vulnerabilities) in {} components",
            scan.findings, scan.vulnerabilities, s.components
        )?;
    }
    if let Some(b) = &s.behind {
        writeln!(err, "behind: {}", b.line())?;
    }
    if let Some(c) = &v.comparison {
        writeln!(err, "{}", armorred::report::render::table_as(c, &v.variant))?;
    }
    if let Some(sig) = &s.signing {
        writeln!(err, "signed: {} ({} attestations)", sig.signed_digest, sig.attestations.len())?;
    }
    if let Some(p) = &s.push {
        writeln!(err, "push: {}@{} ({} attachments)", escape(&p.reference), p.digest, p.attachments.len())?;
    }
    Ok(())
}

/// The main job's first monitor record: every tier's scan with the DB it was scanned with, in
/// `OUT/monitor.db`, so that `armorred monitor run` later knows what is new and since when; then
/// the history for the site (`OUT/monitor.json`) and the site again, with it. Without a DB (the
/// scan was skipped) there is nothing to record.
fn record_monitor_state(args: &PipelineArgs, clock: Clock) -> anyhow::Result<Option<(String, usize)>> {
    use armorred::monitor::{self, RunOptions, State};
    let db = armorred::vuln::db::resolve_path(args.db.as_deref());
    if !db.is_file() || !args.out.join("index.json").is_file() {
        return Ok(None);
    }
    let spec = args.out.join("monitor.db").to_string_lossy().into_owned();
    let mut state = State::open(&spec)?;
    let opts = RunOptions {
        from: args.out.clone(),
        db,
        clock,
        checkpoint: None,
        rebuild: None,
        eol_warn_days: monitor::rebuild::Policy::default().eol_warn_days,
        shard: None,
        write_vex: false,
        registry: None,
    };
    let report = monitor::run(&mut state, &opts)?;
    monitor::write_history(&mut state, &args.out)?;
    armorred::site::render(&args.out, &args.out.join("site"))?;
    Ok(Some((state.origin(), report.images.iter().filter(|i| !i.already_scanned).count())))
}

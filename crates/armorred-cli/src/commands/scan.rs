//! `armorred scan SOURCE`.

use std::io::Write;

use anyhow::{bail, Context};
use armorred::clock::Clock;
use armorred::vuln::db::{self, Db};
use armorred::vuln::model::{FixState, Severity};
use armorred::vuln::report::{self, ReportMeta};
use armorred::vuln::{ignore, sbom, scan_packages, vex, Distro, ScanOptions};

use crate::cli::{ScanArgs, ScanFormat, SeverityArg};
use crate::Outcome;

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Negligible => Severity::Negligible,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

fn distro(arg: Option<&str>) -> anyhow::Result<Option<Distro>> {
    if let Some(d) = arg {
        let Some((id, ver)) = d.split_once(':') else {
            bail!("--distro {d:?}: expected ID:VERSION, e.g. debian:12");
        };
        return Ok(Some(Distro { id: id.to_string(), version_id: ver.to_string(), codename: None }));
    }
    Ok(std::fs::read_to_string("/etc/os-release").ok().and_then(|t| sbom::distro_from_os_release(&t)))
}

pub(crate) fn run(args: &ScanArgs, clock: &Clock, quiet: bool) -> anyhow::Result<Outcome> {
    let limits = crate::output::table_limits()?;
    let path = db::resolve_path(args.db.as_deref());
    let db = Db::open(&path)?;
    if !args.skip_db_age_check {
        db.check_age(args.max_db_age, clock)?;
    }
    let distro = distro(args.distro.as_deref())?;
    // A distro guessed from this machine applies only to files that name none (status files);
    // images and SBOMs name their own.
    let default_distro = if args.source.starts_with("dpkg-status:") || args.distro.is_some() { distro } else { None };
    let catalogue = sbom::catalogue(&args.source, default_distro.as_ref())?;
    let packages = catalogue.packages;
    let mut ignore_states = Vec::new();
    for s in &args.ignore_states {
        ignore_states.push(
            FixState::parse(s)
                .with_context(|| format!("--ignore-states {s:?}: expected fixed, not-fixed, wont-fix or unknown"))?,
        );
    }
    let mut statements = Vec::new();
    for v in &args.vex {
        statements.extend(vex::read(v)?);
    }
    let opts = ScanOptions {
        cpe_for_language_packages: args.cpe_for_language_packages,
        only_fixed: args.only_fixed,
        ignore_states,
        ignore_rules: match &args.config {
            Some(c) => ignore::read(c)?,
            None => Vec::new(),
        },
        vex: statements,
        fail_on: args.fail_on.map(severity),
    };
    let mut result = scan_packages(&db, &packages, &opts)?;
    result.notes.extend(catalogue.warnings.iter().map(|w| format!("warning: {w}")));
    let meta = ReportMeta {
        target: args.source.clone(),
        timestamp: clock.now_rfc3339(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        source: Some(catalogue.source),
        distro: catalogue.distro,
    };
    let format = match args.output {
        ScanFormat::Table => report::Format::Table,
        ScanFormat::Json => report::Format::Json,
        ScanFormat::Sarif => report::Format::Sarif,
        ScanFormat::CyclonedxJson => report::Format::CycloneDx,
        ScanFormat::Openvex => report::Format::OpenVex,
    };
    let text = match format {
        report::Format::Table => report::table::render_with(&result, &limits),
        other => report::render(&result, other, &meta),
    };
    match &args.file {
        Some(f) => armorred::fsutil::write_bytes_atomic(f, text.as_bytes())?,
        None => anstream::stdout().lock().write_all(text.as_bytes())?,
    }
    if !quiet && args.output != ScanFormat::Table {
        let mut err = anstream::stderr().lock();
        writeln!(err, "{}", result.summary_line())?;
        for n in &result.notes {
            writeln!(err, "note: {}", armorred::display::escape(n))?;
        }
    }
    if let Some(t) = opts.fail_on {
        if result.fails(t) {
            if !quiet {
                writeln!(
                    anstream::stderr().lock(),
                    "findings at or above {} severity: failing (--fail-on)",
                    t.as_str()
                )?;
            }
            return Ok(Outcome::CheckFailed);
        }
    }
    Ok(Outcome::Success)
}

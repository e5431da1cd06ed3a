//! Human output: tables and summaries. The only place that formats for a terminal; colors are
//! written as ANSI codes and stripped by `anstream` when the stream is not a terminal.

use std::io::{self, Write};
use std::path::Path;

use armorred::display::escape;
use armorred::elf::policy::Verdict;
use armorred::elf::{Pie, Relro, Report, ScanReport};
use armorred::tier::Tier;
use owo_colors::OwoColorize;

fn cell(ok: bool, text: &str, width: usize) -> String {
    let padded = format!("{text:<width$}");
    if ok {
        padded.green().to_string()
    } else {
        padded.red().to_string()
    }
}

fn row(r: &Report) -> Vec<String> {
    let relro = match r.relro {
        Relro::Full => cell(true, "Full RELRO", 13),
        Relro::Partial => padded_yellow("Partial RELRO", 13),
        Relro::No => cell(false, "No RELRO", 13),
    };
    let pie = match r.pie {
        Pie::Yes => cell(true, "PIE", 4),
        Pie::Dso => padded_yellow("DSO", 4),
        Pie::No => cell(false, "No", 4),
        Pie::Rel => padded_yellow("REL", 4),
    };
    let yn = |b: bool, w| cell(b, if b { "yes" } else { "no" }, w);
    let cet = match (r.cet.ibt, r.cet.shstk) {
        (true, true) => cell(true, "IBT+SHSTK", 9),
        (true, false) => padded_yellow("IBT", 9),
        (false, true) => padded_yellow("SHSTK", 9),
        (false, false) => cell(false, "no", 9),
    };
    let fortify = if r.fortify.fortified.is_empty() && r.fortify.fortifiable.is_empty() {
        format!("{:<7}", "n/a")
    } else {
        yn(r.fortify.enabled(), 7)
    };
    vec![
        relro,
        yn(r.canary, 6),
        yn(r.nx, 3),
        pie,
        cell(r.rpath.is_empty(), if r.rpath.is_empty() { "no" } else { "RPATH" }, 6),
        cell(r.runpath.is_empty(), if r.runpath.is_empty() { "no" } else { "RUNPATH" }, 7),
        format!("{:<7}", if r.stripped { "no" } else { "yes" }),
        fortify,
        format!("{:>4}/{:<4}", r.fortify.fortified_count, r.fortify.fortifiable_count),
        yn(r.safestack.present, 9),
        yn(r.cfi.present, 3),
        cet,
    ]
}

fn padded_yellow(text: &str, width: usize) -> String {
    format!("{text:<width$}").yellow().to_string()
}

/// The checksec table: one row per file, aligned.
pub(crate) fn checksec_table(out: &mut impl Write, scan: &ScanReport) -> io::Result<()> {
    writeln!(
        out,
        "{:<13} {:<6} {:<3} {:<4} {:<6} {:<7} {:<7} {:<7} {:<9} {:<9} {:<3} {:<9} FILE",
        "RELRO",
        "CANARY",
        "NX",
        "PIE",
        "RPATH",
        "RUNPATH",
        "SYMBOLS",
        "FORTIFY",
        "FORT/ABLE",
        "SAFESTACK",
        "CFI",
        "CET"
    )?;
    for (path, entry) in &scan.entries {
        match entry {
            Ok(r) => writeln!(out, "{} {}", row(r).join(" "), shown(path))?,
            Err(e) => writeln!(out, "{} {}", format!("error: {}", escape(&e.to_string())).red(), shown(path))?,
        }
    }
    Ok(())
}

/// The environment variable that sets the widest table cell shown (characters, at least 2;
/// default [`armorred::display::MAX_CELL_CHARS`]).
pub(crate) const CELL_ENV: &str = "ARMORRED_TABLE_CELL_CHARS";

/// The table limits: the defaults, or `$ARMORRED_TABLE_CELL_CHARS`.
pub(crate) fn table_limits() -> anyhow::Result<armorred::display::TableLimits> {
    let mut limits = armorred::display::TableLimits::default();
    if let Some(v) = std::env::var_os(CELL_ENV) {
        let v = v.to_string_lossy();
        match v.trim().parse::<usize>() {
            Ok(n) if n >= 2 => limits.max_cell_chars = n,
            _ => anyhow::bail!("${CELL_ENV} = {:?}: expected a number of characters, at least 2", escape(&v)),
        }
    }
    Ok(limits)
}

/// A path from an image or the command line, escaped for the terminal.
pub(crate) fn shown(path: &Path) -> String {
    escape(&path.display().to_string()).into_owned()
}

/// A one-paragraph summary of a scan.
pub(crate) fn checksec_summary(out: &mut impl Write, scan: &ScanReport, written: &Path) -> io::Result<()> {
    let total = scan.entries.len();
    let reports: Vec<&Report> = scan.reports().map(|(_, r)| r).collect();
    let count = |f: &dyn Fn(&Report) -> bool| reports.iter().filter(|r| f(r)).count();
    writeln!(out, "checksec: {total} ELF files ({} unreadable), report in {}", total - reports.len(), shown(written))?;
    writeln!(
        out,
        "  full RELRO {}  canary {}  NX {}  PIE/DSO {}  FORTIFY {}  CET IBT+SHSTK {}",
        count(&|r| r.relro == Relro::Full),
        count(&|r| r.canary),
        count(&|r| r.nx),
        count(&|r| r.pie != Pie::No),
        count(&|r| r.fortify.enabled()),
        count(&|r| r.cet.ibt && r.cet.shstk)
    )
}

/// A policy verdict: every violation on its own line, then one summary line.
pub(crate) fn verdict(out: &mut impl Write, policy: Tier, v: &Verdict) -> io::Result<()> {
    for w in &v.waivers {
        writeln!(out, "{} {}: {} not required: {}", "note:".dimmed(), shown(&w.path), w.property, escape(w.reason))?;
    }
    for x in &v.violations {
        writeln!(out, "{} {}: {}: {}", "violation:".red(), shown(&x.path), x.property, escape(&x.detail))?;
    }
    if v.passed() {
        writeln!(out, "policy {policy}: {} files pass", v.files.green())
    } else {
        writeln!(out, "policy {policy}: {} violations in {} files", v.violations.len().red(), v.files)
    }
}

/// One line on a build's checksec gate: verdict, policies, counts.
pub(crate) fn gate_summary(g: &armorred::build::GateVerdict) -> String {
    let built = match g.built_policy {
        Some(p) if g.built_files > 0 => format!(", {p} on the {} source-built", g.built_files),
        _ => String::new(),
    };
    format!(
        "{} ({}{built}): {} ELF files, {} violations, {} allowed by image.toml",
        if g.passed() { "pass" } else { "FAIL (not enforced)" },
        g.policy,
        g.files,
        g.violations.len(),
        g.allowed.len()
    )
}

//! Renderings of a [`Comparison`]: JSON (the stable schema), a terminal table, Markdown, one
//! self-contained HTML page with bar charts (inline SVG, no external assets), and an in-toto
//! Statement whose predicate is the JSON.

use std::fmt::Write as _;

use serde_json::json;

use super::compare::{Comparison, Metric, Severity, VulnOutcome, SCHEMA};
use super::ReportError;

/// The stable JSON document (pretty, trailing newline). Byte-identical for identical inputs.
pub fn json(c: &Comparison) -> Result<String, ReportError> {
    serde_json::to_string_pretty(c)
        .map(|s| s + "\n")
        .map_err(|source| ReportError::Serialize { what: "comparison", source })
}

/// An in-toto Statement v1 with the comparison as predicate; subjects are the images with digests.
pub fn in_toto(c: &Comparison) -> Result<String, ReportError> {
    let subject: Vec<_> =
        [(&c.images.upstream, &c.images.upstream_digest), (&c.images.hardened, &c.images.hardened_digest)]
            .into_iter()
            .filter_map(|(name, digest)| {
                let (algo, hex) = digest.as_deref()?.split_once(':')?;
                Some(json!({"name": name, "digest": {algo: hex}}))
            })
            .collect();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subject,
        "predicateType": SCHEMA,
        "predicate": c,
    });
    serde_json::to_string_pretty(&statement)
        .map(|s| s + "\n")
        .map_err(|source| ReportError::Serialize { what: "in-toto", source })
}

fn mb(bytes: u64) -> String {
    // Display only: decimal megabytes, as image sizes are usually quoted.
    #[allow(clippy::cast_precision_loss)]
    let v = bytes as f64 / 1e6;
    format!("{v:.1} MB")
}

/// The headline lines: "size 196.0 MB -> 121.0 MB (-38.3 %)".
fn headlines(c: &Comparison) -> Vec<(String, String, String, String)> {
    let mut rows = Vec::new();
    if let Some(size) = &c.size {
        let m = Metric::new(size.upstream_bytes, size.hardened_bytes);
        rows.push(("Size (uncompressed)".to_owned(), mb(m.upstream), mb(m.hardened), m.percent()));
        if let Some(m) = size.compressed {
            rows.push(("Size (compressed)".to_owned(), mb(m.upstream), mb(m.hardened), m.percent()));
        }
    }
    rows.push((
        "Components".to_owned(),
        c.components.upstream.to_string(),
        c.components.hardened.to_string(),
        c.components.percent(),
    ));
    let v = Metric::new(c.vulnerabilities.upstream, c.vulnerabilities.hardened);
    rows.push(("Vulnerabilities".to_owned(), v.upstream.to_string(), v.hardened.to_string(), v.percent()));
    if let Some(f) = &c.files {
        rows.push(("Files".to_owned(), f.files.upstream.to_string(), f.files.hardened.to_string(), f.files.percent()));
        rows.push((
            "ELF binaries".to_owned(),
            f.elf_binaries.upstream.to_string(),
            f.elf_binaries.hardened.to_string(),
            f.elf_binaries.percent(),
        ));
        rows.push((
            "setuid/setgid files".to_owned(),
            f.setuid.upstream.to_string(),
            f.setuid.hardened.to_string(),
            f.setuid.percent(),
        ));
        let shells = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(" ") };
        rows.push(("Shells".to_owned(), shells(&f.upstream_shells), shells(&f.hardened_shells), String::new()));
    }
    rows
}

fn outcome_words(o: &VulnOutcome) -> String {
    match o {
        VulnOutcome::PackageNotShipped { package } => format!("package not shipped ({package})"),
        VulnOutcome::FixedInNewerVersion { package, upstream, hardened } => {
            format!("fixed in a newer version ({package} {upstream} -> {hardened})")
        }
        VulnOutcome::NoLongerMatched { package, upstream, hardened } => {
            format!("no longer matched, review ({package} {upstream} -> {hardened}: no data for it in the DB)")
        }
        VulnOutcome::BinaryNotPresent { package } => format!("binary not present ({package})"),
        VulnOutcome::CompiledOut { package, options, .. } => {
            format!("compiled out of {package} ({})", options.join(", "))
        }
        VulnOutcome::Remains { package, version } => format!("remains ({package} {version})"),
    }
}

/// Plain-text table for a terminal.
pub fn table(c: &Comparison) -> String {
    let mut s = String::new();
    // Image names, components and evidence come from the images: escaped for the terminal.
    use crate::display::escape as e;
    let _ = writeln!(s, "{} -> {}", e(&c.images.upstream), e(&c.images.hardened));
    let _ = writeln!(s, "{:<22} {:>14} {:>14} {:>10}", "METRIC", "UPSTREAM", "HARDENED", "REDUCTION");
    for (name, u, h, p) in headlines(c) {
        let p = if p.is_empty() { p } else { format!("{p} %") };
        let _ = writeln!(s, "{name:<22} {:>14} {:>14} {p:>10}", e(&u), e(&h));
    }
    let _ = writeln!(s, "\n{:<22} {:>14} {:>14}", "SEVERITY", "UPSTREAM", "HARDENED");
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        let _ = writeln!(s, "{:<22} {:>14} {:>14}", sev.as_str(), row.upstream, row.hardened);
    }
    if let Some(h) = &c.hardening {
        let _ = writeln!(
            s,
            "\nhardening: upstream {} of {} ELF files without full RELRO, {} without canary; hardened {} of {} without full RELRO, {} without canary",
            h.upstream.without_full_relro,
            h.upstream.elf_files,
            h.upstream.without_canary,
            h.hardened.without_full_relro,
            h.hardened.elf_files,
            h.hardened.without_canary
        );
    }
    if !c.compiled_out.is_empty() {
        // Evidence for the features that took an upstream vulnerability with them; the others
        // in one line each (every detail is in the Markdown, HTML and JSON reports).
        let attributed: Vec<&str> = c
            .vulnerability_outcomes
            .iter()
            .filter(|v| matches!(v.outcome, VulnOutcome::CompiledOut { .. }))
            .map(|v| v.id.as_str())
            .collect();
        let _ = writeln!(s, "\ncompiled out of the hardened build ({} upstream vulnerabilities):", attributed.len());
        for o in &c.compiled_out {
            let _ = writeln!(
                s,
                "  {} {}: {} ({})",
                e(&o.component),
                e(&o.feature),
                e(&o.vulnerabilities.join(" ")),
                e(&o.option)
            );
            if o.vulnerabilities.iter().any(|v| attributed.contains(&v.as_str())) {
                for ev in &o.evidence {
                    let _ = writeln!(s, "    - {}", e(ev));
                }
            }
        }
    }
    s
}

/// Markdown: the headline table, the severity table, component changes and every outcome.
pub fn markdown(c: &Comparison) -> String {
    let mut s = format!(
        "# {} vs {}\n\n| Metric | Upstream | Hardened | Reduction |\n|---|---:|---:|---:|\n",
        c.images.upstream, c.images.hardened
    );
    for (name, u, h, p) in headlines(c) {
        let p = if p.is_empty() { p } else { format!("{p} %") };
        let _ = writeln!(s, "| {name} | {u} | {h} | {p} |");
    }
    s += "\n## Vulnerabilities by severity\n\n| Severity | Upstream | Hardened |\n|---|---:|---:|\n";
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        let _ = writeln!(s, "| {} | {} | {} |", sev.as_str(), row.upstream, row.hardened);
    }
    if let Some(h) = &c.hardening {
        s += "\n## Hardening (checksec)\n\n| | Upstream | Hardened |\n|---|---:|---:|\n";
        for (label, u, v) in [
            ("ELF files", h.upstream.elf_files, h.hardened.elf_files),
            ("without full RELRO", h.upstream.without_full_relro, h.hardened.without_full_relro),
            ("without canary", h.upstream.without_canary, h.hardened.without_canary),
            ("without NX", h.upstream.without_nx, h.hardened.without_nx),
            ("without PIE", h.upstream.without_pie, h.hardened.without_pie),
            ("without FORTIFY", h.upstream.without_fortify, h.hardened.without_fortify),
            ("with SafeStack", h.upstream.with_safestack, h.hardened.with_safestack),
            ("with CFI", h.upstream.with_cfi, h.hardened.with_cfi),
            ("with CET (IBT+SHSTK)", h.upstream.with_cet, h.hardened.with_cet),
        ] {
            let _ = writeln!(s, "| {label} | {u} | {v} |");
        }
    }
    s += "\n## Upstream vulnerabilities\n\n| ID | Severity | Outcome |\n|---|---|---|\n";
    for v in &c.vulnerability_outcomes {
        let _ = writeln!(s, "| {} | {} | {} |", v.id, v.severity.as_str(), outcome_words(&v.outcome));
    }
    if !c.compiled_out.is_empty() {
        s += "\n## Compiled out of the hardened build\n\n| Component | Feature | Option | Vulnerabilities | Evidence |\n|---|---|---|---|---|\n";
        for o in &c.compiled_out {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                o.component,
                o.feature,
                o.option,
                o.vulnerabilities.join(", "),
                o.evidence.iter().map(|e| e.replace('|', "\\|")).collect::<Vec<_>>().join("<br>")
            );
        }
    }
    s += "\n## Components\n\n| Component | Change |\n|---|---|\n";
    for ch in &c.component_changes {
        let (name, what) = match ch {
            super::compare::ComponentChange::Removed { name, version } => (name, format!("removed ({version})")),
            super::compare::ComponentChange::Added { name, version } => (name, format!("added ({version})")),
            super::compare::ComponentChange::Changed { name, upstream, hardened } => {
                (name, format!("{upstream} -> {hardened}"))
            }
            super::compare::ComponentChange::Same { name, version } => (name, format!("same ({version})")),
        };
        let _ = writeln!(s, "| {name} | {what} |");
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One bar chart (inline SVG): upstream and hardened bars for one metric.
fn bar_chart(title: &str, upstream: u64, hardened: u64, label: &dyn Fn(u64) -> String) -> String {
    let max = upstream.max(hardened).max(1);
    #[allow(clippy::cast_precision_loss)]
    let width = |v: u64| (v as f64 / max as f64 * 300.0).round();
    format!(
        r##"<figure class="chart" data-metric="{t}"><figcaption>{t}</figcaption><svg width="460" height="64" role="img" aria-label="{t}"><text x="0" y="20">upstream</text><rect x="80" y="6" width="{wu}" height="20" fill="#c0392b"/><text x="{xu}" y="20">{lu}</text><text x="0" y="52">hardened</text><rect x="80" y="38" width="{wh}" height="20" fill="#27ae60"/><text x="{xh}" y="52">{lh}</text></svg></figure>"##,
        t = escape(title),
        wu = width(upstream),
        wh = width(hardened),
        xu = width(upstream) + 86.0,
        xh = width(hardened) + 86.0,
        lu = escape(&label(upstream)),
        lh = escape(&label(hardened)),
    )
}

/// One self-contained HTML page: headline table, bar charts, severity table, outcomes.
pub fn html(c: &Comparison) -> String {
    let count = |v: u64| v.to_string();
    let mut charts: Vec<String> =
        c.size.iter().map(|s| bar_chart("Size (uncompressed)", s.upstream_bytes, s.hardened_bytes, &mb)).collect();
    charts.push(bar_chart("Components", c.components.upstream, c.components.hardened, &count));
    charts.push(bar_chart("Vulnerabilities", c.vulnerabilities.upstream, c.vulnerabilities.hardened, &count));
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        if row.upstream + row.hardened > 0 {
            charts.push(bar_chart(&format!("{} vulnerabilities", sev.as_str()), row.upstream, row.hardened, &count));
        }
    }
    let body = markdown_to_html_tables(c);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em}}td.n{{text-align:right}}.chart{{display:inline-block;margin:.5em 1em .5em 0}}svg text{{font-size:12px}}</style>
</head><body>
<h1>{title}</h1>
<p>Reduction is (upstream &minus; hardened) / upstream, from exact counts, rounded half away from zero to one decimal. Tool {tool}; vulnerability DB {db}.</p>
<section id="charts">{charts}</section>
{body}
</body></html>
"#,
        title = escape(&format!("{} vs {}", c.images.upstream, c.images.hardened)),
        tool = escape(c.tool_version),
        db = escape(c.db_digest.as_deref().unwrap_or("not recorded")),
        charts = charts.join("\n"),
    )
}

fn markdown_to_html_tables(c: &Comparison) -> String {
    let mut s = String::from(
        "<h2>Metrics</h2><table><tr><th>Metric</th><th>Upstream</th><th>Hardened</th><th>Reduction</th></tr>",
    );
    for (name, u, h, p) in headlines(c) {
        let p = if p.is_empty() { p } else { format!("{p} %") };
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            escape(&name),
            escape(&u),
            escape(&h),
            p
        );
    }
    s += "</table><h2>Vulnerabilities by severity</h2><table><tr><th>Severity</th><th>Upstream</th><th>Hardened</th></tr>";
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                sev.as_str(),
                row.upstream,
                row.hardened
            );
        }
    }
    s += "</table><h2>Upstream vulnerabilities</h2><table><tr><th>ID</th><th>Severity</th><th>Outcome</th></tr>";
    for v in &c.vulnerability_outcomes {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&v.id),
            v.severity.as_str(),
            escape(&outcome_words(&v.outcome))
        );
    }
    s += "</table>";
    if !c.compiled_out.is_empty() {
        s += "<h2>Compiled out of the hardened build</h2><table><tr><th>Component</th><th>Feature</th><th>Option</th><th>Vulnerabilities</th><th>Evidence</th></tr>";
        for o in &c.compiled_out {
            let evidence: Vec<String> = o.evidence.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>",
                escape(&o.component),
                escape(&o.feature),
                escape(&o.option),
                escape(&o.vulnerabilities.join(", ")),
                evidence.concat()
            );
        }
        s += "</table>";
    }
    s
}

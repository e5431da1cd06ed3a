//! Renderings of a [`Comparison`]: JSON (the stable schema), a terminal table, Markdown, one
//! self-contained HTML page with bar charts (inline SVG, no external assets), and an in-toto
//! Statement whose predicate is the JSON.

use std::fmt::Write as _;

use serde_json::json;

use super::compare::{
    Comparison, ComponentChange, FixState, HardenedVuln, HardeningComparison, Metric, Severity, VulnAttribution,
    VulnOutcome, SCHEMA,
};
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

/// The advisory page of a vulnerability ID: NVD for CVEs, Debian's security tracker for Debian's
/// IDs, GitHub's advisory database for GHSAs, OSV for the rest. None for an ID with characters no
/// advisory ID has (the ID comes from the scan data).
pub fn advisory_url(id: &str) -> Option<String> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) {
        return None;
    }
    let debian = ["DSA-", "DLA-", "DTSA-", "TEMP-"].iter().any(|p| id.starts_with(p));
    Some(if id.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else if debian {
        format!("https://security-tracker.debian.org/tracker/{id}")
    } else if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    })
}

fn fixed_words(fixed_in: &[String]) -> String {
    if fixed_in.is_empty() {
        "none known".to_owned()
    } else {
        fixed_in.join(", ")
    }
}

/// The fixed-in versions of a hardened finding, or why there are none.
fn hardened_fix(v: &HardenedVuln) -> String {
    match (v.fixed_in.is_empty(), v.fix_state) {
        (false, _) => v.fixed_in.join(", "),
        (true, FixState::NotFixed) => "not fixed yet".to_owned(),
        (true, FixState::WontFix) => "won't fix".to_owned(),
        (true, _) => "none known".to_owned(),
    }
}

/// A sort key that orders numbers inside IDs by value: CVE-2025-9230 before CVE-2025-15467.
fn id_key(id: &str) -> Vec<(bool, String)> {
    let mut key: Vec<(bool, String)> = Vec::new();
    for c in id.chars() {
        let digit = c.is_ascii_digit();
        match key.last_mut() {
            Some((d, run)) if *d == digit => run.push(c),
            _ => key.push((digit, c.to_string())),
        }
    }
    for (digit, run) in &mut key {
        if *digit {
            let trimmed = run.trim_start_matches('0');
            *run = format!("{:0>20}", if trimmed.is_empty() { "0" } else { trimmed });
        }
    }
    key
}

/// The hardened image's vulnerabilities, new ones first, then by severity (most severe first)
/// and ID.
fn hardened_rows(c: &Comparison) -> Vec<&HardenedVuln> {
    let mut rows: Vec<&HardenedVuln> = c.hardened_vulnerabilities.iter().collect();
    rows.sort_by(|a, b| {
        b.new.cmp(&a.new).then(b.severity.cmp(&a.severity)).then_with(|| id_key(&a.id).cmp(&id_key(&b.id)))
    });
    rows
}

/// Upstream vulnerabilities the hardened image does not have, most severe first.
fn gone_rows(c: &Comparison) -> Vec<&VulnAttribution> {
    let mut rows: Vec<&VulnAttribution> =
        c.vulnerability_outcomes.iter().filter(|v| !matches!(v.outcome, VulnOutcome::Remains { .. })).collect();
    rows.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| id_key(&a.id).cmp(&id_key(&b.id))));
    rows
}

fn hardened_heading(c: &Comparison) -> String {
    heading_for(c, "hardened")
}

fn heading_for(c: &Comparison, tier: &str) -> String {
    let new = c.hardened_vulnerabilities.iter().filter(|v| v.new).count();
    format!(
        "Vulnerabilities in the {tier} image ({}: {new} new, {} also upstream)",
        c.hardened_vulnerabilities.len(),
        c.hardened_vulnerabilities.len() - new
    )
}

fn gone_heading(n: usize) -> String {
    format!("Fixed or removed relative to upstream ({n})")
}

/// The checksec rows: label, upstream, hardened.
fn hardening_rows(h: &HardeningComparison) -> [(&'static str, u64, u64); 10] {
    let (u, v) = (&h.upstream, &h.hardened);
    [
        ("ELF files", u.elf_files, v.elf_files),
        ("unreadable", u.unreadable, v.unreadable),
        ("without full RELRO", u.without_full_relro, v.without_full_relro),
        ("without canary", u.without_canary, v.without_canary),
        ("without NX", u.without_nx, v.without_nx),
        ("without PIE", u.without_pie, v.without_pie),
        ("without FORTIFY", u.without_fortify, v.without_fortify),
        ("with SafeStack", u.with_safestack, v.with_safestack),
        ("with CFI", u.with_cfi, v.with_cfi),
        ("with CET (IBT+SHSTK)", u.with_cet, v.with_cet),
    ]
}

/// Component changes: added, removed and changed first (by name), unchanged last.
fn component_rows(c: &Comparison) -> Vec<(&str, &'static str, String)> {
    let mut rows: Vec<(u8, &str, &'static str, String)> = c
        .component_changes
        .iter()
        .map(|ch| match ch {
            ComponentChange::Added { name, version } => (0, name.as_str(), "added", version.clone()),
            ComponentChange::Removed { name, version } => (1, name.as_str(), "removed", version.clone()),
            ComponentChange::Changed { name, upstream, hardened } => {
                (2, name.as_str(), "changed", format!("{upstream} -> {hardened}"))
            }
            ComponentChange::Same { name, version } => (3, name.as_str(), "same", version.clone()),
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    rows.into_iter().map(|(_, n, k, v)| (n, k, v)).collect()
}

fn component_counts(c: &Comparison) -> String {
    let rows = component_rows(c);
    let n = |k: &str| rows.iter().filter(|r| r.1 == k).count();
    format!("{} added, {} removed, {} changed, {} unchanged", n("added"), n("removed"), n("changed"), n("same"))
}

/// Plain-text table for a terminal, the hardened side's column headed HARDENED.
pub fn table(c: &Comparison) -> String {
    table_as(c, "hardened")
}

/// Plain-text table for a terminal, the hardened side's column headed by `label` (the tier
/// compared: `hardened`, `locked`), upper-cased.
pub fn table_as(c: &Comparison, label: &str) -> String {
    let label = crate::display::escape(&label.to_uppercase()).into_owned();
    let mut s = String::new();
    // Image names, components and evidence come from the images: escaped for the terminal.
    use crate::display::escape as e;
    let _ = writeln!(s, "{} -> {}", e(&c.images.upstream), e(&c.images.hardened));
    let _ = writeln!(s, "{:<22} {:>14} {label:>14} {:>10}", "METRIC", "UPSTREAM", "REDUCTION");
    for (name, u, h, p) in headlines(c) {
        let p = if p.is_empty() { p } else { format!("{p} %") };
        let _ = writeln!(s, "{name:<22} {:>14} {:>14} {p:>10}", e(&u), e(&h));
    }
    let _ = writeln!(s, "\n{:<22} {:>14} {label:>14}", "SEVERITY", "UPSTREAM");
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        let _ = writeln!(s, "{:<22} {:>14} {:>14}", sev.as_str(), row.upstream, row.hardened);
    }
    let _ = writeln!(s, "\n{}:", heading_for(c, &label).to_lowercase());
    if c.hardened_vulnerabilities.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for v in hardened_rows(c) {
        let _ = writeln!(
            s,
            "  {:<4} {:<20} {:<10} {} {} (fixed in: {}) {}",
            if v.new { "NEW" } else { "ALSO" },
            e(&v.id),
            v.severity.as_str(),
            e(&v.package),
            e(&v.version),
            e(&hardened_fix(v)),
            advisory_url(&v.id).unwrap_or_default()
        );
    }
    let gone = gone_rows(c);
    let _ = writeln!(s, "\n{}:", gone_heading(gone.len()).to_lowercase());
    if gone.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for v in gone {
        let _ = writeln!(s, "  {:<20} {:<10} {}", e(&v.id), v.severity.as_str(), e(&outcome_words(&v.outcome)));
    }
    if let Some(h) = &c.hardening {
        let _ = writeln!(s, "\n{:<22} {:>14} {label:>14}", "CHECKSEC", "UPSTREAM");
        for (label, u, v) in hardening_rows(h) {
            let _ = writeln!(s, "{label:<22} {u:>14} {v:>14}");
        }
    }
    let _ = writeln!(s, "\ncomponents: {}", component_counts(c));
    for (name, kind, what) in component_rows(c) {
        if kind == "added" || kind == "changed" {
            let _ = writeln!(s, "  {kind:<8} {} {}", e(name), e(&what));
        }
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

/// One Markdown table cell: pipes escaped, line breaks as `<br>`, `<` as an entity so that no tag
/// opens (the text comes from the images).
fn md(s: &str) -> String {
    s.replace('<', "&lt;").replace('|', "\\|").replace('\r', "").replace('\n', "<br>")
}

fn md_id(id: &str) -> String {
    match advisory_url(id) {
        Some(url) => format!("[{id}]({url})"),
        None => md(id),
    }
}

/// Markdown: the headline table, the severity table, both sides' vulnerabilities (new ones
/// first), checksec, what was compiled out, and the component changes.
pub fn markdown(c: &Comparison) -> String {
    let mut s = format!(
        "# {} vs {}\n\n| Metric | Upstream | Hardened | Reduction |\n|---|---:|---:|---:|\n",
        md(&c.images.upstream),
        md(&c.images.hardened)
    );
    for (name, u, h, p) in headlines(c) {
        let p = if p.is_empty() { p } else { format!("{p} %") };
        let _ = writeln!(s, "| {name} | {} | {} | {p} |", md(&u), md(&h));
    }
    s += "\n## Vulnerabilities by severity\n\n| Severity | Upstream | Hardened |\n|---|---:|---:|\n";
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        let _ = writeln!(s, "| {} | {} | {} |", sev.as_str(), row.upstream, row.hardened);
    }
    let _ = write!(s, "\n## {}\n\n", hardened_heading(c));
    if c.hardened_vulnerabilities.is_empty() {
        s += "None.\n";
    } else {
        s += "| ID | Severity | Status | Package | Installed | Fixed in |\n|---|---|---|---|---|---|\n";
        for v in hardened_rows(c) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                md_id(&v.id),
                v.severity.as_str(),
                if v.new { "**new**" } else { "also upstream" },
                md(&v.package),
                md(&v.version),
                md(&hardened_fix(v))
            );
        }
    }
    let gone = gone_rows(c);
    let _ = write!(s, "\n## {}\n\n", gone_heading(gone.len()));
    if gone.is_empty() {
        s += "None.\n";
    } else {
        s += "| ID | Severity | Why it is gone | Fixed in (upstream data) |\n|---|---|---|---|\n";
        for v in gone {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md_id(&v.id),
                v.severity.as_str(),
                md(&outcome_words(&v.outcome)),
                md(&fixed_words(&v.fixed_in))
            );
        }
    }
    if let Some(h) = &c.hardening {
        s += "\n## Hardening (checksec)\n\n| Property | Upstream | Hardened |\n|---|---:|---:|\n";
        for (label, u, v) in hardening_rows(h) {
            let _ = writeln!(s, "| {label} | {u} | {v} |");
        }
    }
    if !c.compiled_out.is_empty() {
        s += "\n## Compiled out of the hardened build\n\n| Component | Feature | Option | Vulnerabilities | Evidence |\n|---|---|---|---|---|\n";
        for o in &c.compiled_out {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                md(&o.component),
                md(&o.feature),
                md(&o.option),
                o.vulnerabilities.iter().map(|v| md_id(v)).collect::<Vec<_>>().join(", "),
                o.evidence.iter().map(|e| md(e)).collect::<Vec<_>>().join("<br>")
            );
        }
    }
    let _ =
        write!(s, "\n## Components\n\n{}.\n\n| Component | Change | Version |\n|---|---|---|\n", component_counts(c));
    for (name, kind, what) in component_rows(c) {
        let _ = writeln!(s, "| {} | {kind} | {} |", md(name), md(&what));
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

/// One self-contained HTML page: headline bar charts, the headline and severity tables, both
/// sides' vulnerabilities (new ones first), checksec, what was compiled out, the component
/// changes, and per-severity bar charts.
pub fn html(c: &Comparison) -> String {
    let count = |v: u64| v.to_string();
    let mut charts: Vec<String> =
        c.size.iter().map(|s| bar_chart("Size (uncompressed)", s.upstream_bytes, s.hardened_bytes, &mb)).collect();
    charts.push(bar_chart("Components", c.components.upstream, c.components.hardened, &count));
    charts.push(bar_chart("Vulnerabilities", c.vulnerabilities.upstream, c.vulnerabilities.hardened, &count));
    // Per severity after the lists: what a reader looks for first is which vulnerabilities.
    let mut by_severity = Vec::new();
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        if row.upstream + row.hardened > 0 {
            by_severity.push(bar_chart(
                &format!("{} vulnerabilities", sev.as_str()),
                row.upstream,
                row.hardened,
                &count,
            ));
        }
    }
    let mut body = markdown_to_html_tables(c);
    if !by_severity.is_empty() {
        body += "\n<h2 id=\"severity-charts\">Vulnerabilities by severity, charts</h2><section id=\"severity-charts-list\">";
        body += &by_severity.join("\n");
        body += "</section>";
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}}table{{border-collapse:collapse;margin:1em 0;width:100%;table-layout:fixed}}table.num{{width:auto;table-layout:auto}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}}th{{background:#f3f3f3}}td.n{{text-align:right}}col.id{{width:12em}}col.sev{{width:6em}}col.st{{width:8em}}col.why{{width:50%}}col.comp,col.feat,col.opt{{width:14%}}col.vl{{width:14%}}tr.new td{{background:#fdecea}}td.sev.critical,td.sev.high{{color:#a4161a;font-weight:bold}}ul{{margin:0;padding-left:1.2em}}details summary{{cursor:pointer;color:#555}}code{{overflow-wrap:anywhere}}.chart{{display:inline-block;margin:.5em 1em .5em 0}}svg text{{font-size:12px}}</style>
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

fn html_id(id: &str) -> String {
    match advisory_url(id) {
        Some(url) => format!("<a href=\"{}\">{}</a>", escape(&url), escape(id)),
        None => escape(id),
    }
}

fn markdown_to_html_tables(c: &Comparison) -> String {
    let mut s = String::from(
        "<h2 id=\"metrics\">Metrics</h2><table class=\"num\"><tr><th>Metric</th><th>Upstream</th><th>Hardened</th><th>Reduction</th></tr>",
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
    s += "</table>\n<h2 id=\"severity\">Vulnerabilities by severity</h2><table class=\"num\"><tr><th>Severity</th><th>Upstream</th><th>Hardened</th></tr>";
    for sev in Severity::DESCENDING {
        let row = c.vulnerabilities.by_severity.get(sev);
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            sev.as_str(),
            row.upstream,
            row.hardened
        );
    }
    let _ = write!(s, "</table>\n<h2 id=\"hardened-vulnerabilities\">{}</h2>", escape(&hardened_heading(c)));
    if c.hardened_vulnerabilities.is_empty() {
        s += "<p>None.</p>";
    } else {
        s += "<table class=\"vulns\"><colgroup><col class=id><col class=sev><col class=st><col><col><col></colgroup><tr><th>ID</th><th>Severity</th><th>Status</th><th>Package</th><th>Installed</th><th>Fixed in</th></tr>";
        for v in hardened_rows(c) {
            let _ = write!(
                s,
                "<tr class=\"{}\"><td>{}</td><td class=\"sev {}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if v.new { "new" } else { "also" },
                html_id(&v.id),
                v.severity.as_str().to_lowercase(),
                v.severity.as_str(),
                if v.new { "<strong>new</strong>" } else { "also upstream" },
                escape(&v.package),
                escape(&v.version),
                escape(&hardened_fix(v))
            );
        }
        s += "</table>";
    }
    let gone = gone_rows(c);
    let _ = write!(s, "\n<h2 id=\"gone\">{}</h2>", escape(&gone_heading(gone.len())));
    if gone.is_empty() {
        s += "<p>None.</p>";
    } else {
        s += "<table class=\"vulns\"><colgroup><col class=id><col class=sev><col class=why><col></colgroup><tr><th>ID</th><th>Severity</th><th>Why it is gone</th><th>Fixed in (upstream data)</th></tr>";
        for v in gone {
            let evidence = match &v.outcome {
                VulnOutcome::CompiledOut { evidence, .. } if !evidence.is_empty() => format!(
                    "<details><summary>evidence</summary><ul>{}</ul></details>",
                    evidence.iter().map(|e| format!("<li>{}</li>", escape(e))).collect::<String>()
                ),
                _ => String::new(),
            };
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"sev {}\">{}</td><td>{}{evidence}</td><td>{}</td></tr>",
                html_id(&v.id),
                v.severity.as_str().to_lowercase(),
                v.severity.as_str(),
                escape(&outcome_words(&v.outcome)),
                escape(&fixed_words(&v.fixed_in))
            );
        }
        s += "</table>";
    }
    if let Some(h) = &c.hardening {
        s += "\n<h2 id=\"checksec\">Hardening (checksec)</h2><table class=\"num\"><tr><th>Property</th><th>Upstream</th><th>Hardened</th></tr>";
        for (label, u, v) in hardening_rows(h) {
            let _ = write!(s, "<tr><td>{label}</td><td class=n>{u}</td><td class=n>{v}</td></tr>");
        }
        s += "</table>";
    }
    if !c.compiled_out.is_empty() {
        s += "\n<h2 id=\"compiled-out\">Compiled out of the hardened build</h2><table><colgroup><col class=comp><col class=feat><col class=opt><col class=vl><col class=ev></colgroup><tr><th>Component</th><th>Feature</th><th>Option</th><th>Vulnerabilities</th><th>Evidence</th></tr>";
        for o in &c.compiled_out {
            let evidence: Vec<String> = o.evidence.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>",
                escape(&o.component),
                escape(&o.feature),
                escape(&o.option),
                o.vulnerabilities.iter().map(|v| html_id(v)).collect::<Vec<_>>().join(", "),
                evidence.concat()
            );
        }
        s += "</table>";
    }
    let rows = component_rows(c);
    let _ = write!(s, "\n<h2 id=\"components\">Components</h2><p>{}.</p>", escape(&component_counts(c)));
    let row = |(name, kind, what): &(&str, &str, String)| {
        format!("<tr class=\"{kind}\"><td>{}</td><td>{kind}</td><td>{}</td></tr>", escape(name), escape(what))
    };
    let head = "<table class=\"comps\"><tr><th>Component</th><th>Change</th><th>Version</th></tr>";
    let changed: String = rows.iter().filter(|r| r.1 != "same").map(row).collect();
    let same: String = rows.iter().filter(|r| r.1 == "same").map(row).collect();
    if !changed.is_empty() {
        let _ = write!(s, "{head}{changed}</table>");
    }
    if !same.is_empty() {
        let n = rows.iter().filter(|r| r.1 == "same").count();
        let _ = write!(s, "<details><summary>{n} unchanged components</summary>{head}{same}</table></details>");
    }
    s
}

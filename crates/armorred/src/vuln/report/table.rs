//! The human table: grype's columns, then the severity summary line and any notes. Values are
//! escaped and cut to [`TableLimits::max_cell_chars`] for display (JSON keeps them whole).

use crate::display::{self, TableLimits};
use crate::vuln::model::FixState;
use crate::vuln::scan::ScanResult;

/// Renders the table with the default limits.
pub fn render(r: &ScanResult) -> String {
    render_with(r, &TableLimits::default())
}

/// Renders the table with `limits`.
pub fn render_with(r: &ScanResult, limits: &TableLimits) -> String {
    let max = limits.max_cell_chars;
    let cell = |s: &str| display::cell(s, max).into_owned();
    let header = ["NAME", "INSTALLED", "FIXED-IN", "TYPE", "VULNERABILITY", "SEVERITY"];
    let mut rows: Vec<[String; 6]> = Vec::new();
    for m in &r.matches {
        let fixed = match m.vulnerability.fix_state {
            FixState::Fixed => m.vulnerability.fix_versions.join(", "),
            FixState::WontFix => "(won't fix)".into(),
            FixState::NotFixed => String::new(),
            FixState::Unknown => String::new(),
        };
        rows.push([
            cell(&m.artifact.name),
            cell(&m.artifact.version),
            cell(&fixed),
            cell(m.artifact.kind()),
            cell(&m.vulnerability.id),
            cell(m.vulnerability.severity.as_str()),
        ]);
    }
    let mut w = header.map(str::len);
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No vulnerabilities found\n");
    } else {
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(c);
                } else {
                    s.push_str(&display::pad(c, w[i]));
                    s.push_str("  ");
                }
            }
            s.push('\n');
            s
        };
        out.push_str(&line(header.to_vec()));
        for row in &rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
    }
    out.push_str(&format!("{} vulnerabilities in {} packages: {}\n", r.matches.len(), r.packages, r.summary_line()));
    if !r.ignored.is_empty() {
        out.push_str(&format!("{} matches ignored (VEX, rules, filters)\n", r.ignored.len()));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {}\n", display::escape(n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::model::Severity;
    use crate::vuln::scan::{Match, ScanPackage, VulnInfo};

    fn result(name: &str, version: &str, fixed: &str) -> ScanResult {
        ScanResult {
            matches: vec![Match {
                vulnerability: VulnInfo {
                    id: "CVE-2024-0001".into(),
                    namespace: "nvd:cpe".into(),
                    severity: Severity::High,
                    severity_source: "nvd".into(),
                    cvss_score: None,
                    cvss: vec![],
                    description: String::new(),
                    fix_state: FixState::Fixed,
                    fix_versions: vec![fixed.into()],
                    urls: vec![],
                }
                .into(),
                related: Vec::new().into(),
                artifact: ScanPackage { name: name.into(), version: version.into(), ..ScanPackage::default() }.into(),
                details: Vec::new().into(),
            }],
            ignored: vec![],
            db_sha256: String::new(),
            db_built: None,
            db_sources: vec![],
            notes: vec!["partial \x1b]0;pwned\x07".into()],
            packages: 1,
            stats: Default::default(),
        }
    }

    #[test]
    fn a_cell_over_65535_characters_is_cut_without_panicking() {
        // An NVD record with a 100,000-character versionEndExcluding, a 70,000-character version.
        let text = render(&result("openssl", &"1".repeat(70_000), &"9".repeat(100_000)));
        let row = text.lines().nth(1).expect("row");
        assert!(row.starts_with("openssl  "), "{row}");
        assert!(row.contains(&format!("{}…  ", "1".repeat(MAX - 1))), "version cut");
        assert!(row.contains(&format!("{}…  ", "9".repeat(MAX - 1))), "fixed-in cut");
        assert!(row.chars().count() < 1000, "{}", row.chars().count());
        let wide = render_with(&result("x", &"1".repeat(70_000), "2"), &TableLimits { max_cell_chars: 80_000 });
        assert!(wide.contains(&"1".repeat(70_000)), "a raised limit shows it whole, still without panic");
    }

    const MAX: usize = crate::display::MAX_CELL_CHARS;

    #[test]
    fn terminal_escapes_in_feed_and_image_data_are_shown_escaped() {
        let text = render(&result("evil\x1b[2J\x1b]0;pwned\x07", "1\u{202e}", "2\n3"));
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'), "{text:?}");
        assert!(text.contains("evil\\x1b[2J\\x1b]0;pwned\\x07  "), "{text}");
        assert!(text.contains("1\\u{202e}"), "{text}");
        assert!(text.contains("2\\x0a3"), "{text}");
        assert!(text.contains("note: partial \\x1b]0;pwned\\x07\n"), "{text}");
    }
}

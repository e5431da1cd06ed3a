//! The human table: grype's columns, then the severity summary line and any notes.

use crate::vuln::model::FixState;
use crate::vuln::scan::ScanResult;

/// Renders the table.
pub fn render(r: &ScanResult) -> String {
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
            m.artifact.name.clone(),
            m.artifact.version.clone(),
            fixed,
            m.artifact.kind().to_string(),
            m.vulnerability.id.clone(),
            m.vulnerability.severity.as_str().to_string(),
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
                    s.push_str(&format!("{c:<width$}  ", width = w[i]));
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
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

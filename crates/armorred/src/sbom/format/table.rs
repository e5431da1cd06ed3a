//! Aligned columns like syft's table: NAME, VERSION, TYPE. Values are escaped and cut to
//! [`TableLimits::max_cell_chars`] for display (the other formats keep them whole).

use crate::display::{self, TableLimits};
use crate::sbom::model::Sbom;

/// Writes the table (a header, then one row per package) with the default limits.
pub fn write(sbom: &Sbom, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    write_with(sbom, out, &TableLimits::default())
}

/// Writes the table with `limits`.
pub fn write_with(sbom: &Sbom, out: &mut dyn std::io::Write, limits: &TableLimits) -> std::io::Result<()> {
    if sbom.packages.is_empty() {
        return writeln!(out, "No packages discovered");
    }
    let max = limits.max_cell_chars;
    let rows: Vec<[String; 3]> = sbom
        .packages
        .iter()
        .map(|p| {
            [
                display::cell(&p.name, max).into_owned(),
                display::cell(&p.version, max).into_owned(),
                display::cell(p.kind.as_str(), max).into_owned(),
            ]
        })
        .collect();
    let header = ["NAME", "VERSION", "TYPE"].map(String::from);
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    for r in std::iter::once(&header).chain(&rows) {
        writeln!(out, "{}  {}  {}", display::pad(&r[0], w0), display::pad(&r[1], w1), r[2])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::MAX_CELL_CHARS;

    /// A CycloneDX SBOM with one component, read through our reader as `scan sbom:` does.
    fn sbom(name: &str, version: &str) -> Sbom {
        let bom = serde_json::json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "components": [{ "type": "library", "name": name, "version": version,
                             "purl": format!("pkg:generic/x@{version}") }],
        });
        crate::sbom::format::cyclonedx::read(&serde_json::to_vec(&bom).expect("json"), "bom.json").expect("read")
    }

    fn table(s: &Sbom) -> String {
        let mut out = Vec::new();
        write(s, &mut out).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_70000_character_version_is_cut_without_panicking() {
        let text = table(&sbom("libfoo", &"7".repeat(70_000)));
        let row = text.lines().nth(1).expect("row");
        assert!(row.starts_with("libfoo  "), "{row}");
        assert!(row.contains(&format!("{}…  ", "7".repeat(MAX_CELL_CHARS - 1))), "{}", &row[..80]);
        assert!(row.chars().count() < 2 * MAX_CELL_CHARS, "{}", row.chars().count());
        // The header is padded to the cut width.
        let header = text.lines().next().expect("header");
        assert_eq!(
            header.chars().position(|c| c == 'T'),
            row.chars().count().checked_sub(row.chars().rev().position(|c| c == ' ').unwrap_or(0))
        );
    }

    #[test]
    fn terminal_escapes_in_component_names_are_shown_escaped() {
        let text = table(&sbom("evil\x1b[2J\x1b]0;pwned\x07", "1.0"));
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("evil\\x1b[2J\\x1b]0;pwned\\x07  1.0"), "{text}");
        // Alignment counts the escaped form.
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("VERSION"), lines[1].find("1.0"));
    }
}

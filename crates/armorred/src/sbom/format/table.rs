//! Aligned columns like syft's table: NAME, VERSION, TYPE.

use crate::sbom::model::Sbom;

/// Writes the table (a header, then one row per package).
pub fn write(sbom: &Sbom, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let rows: Vec<[&str; 3]> =
        sbom.packages.iter().map(|p| [p.name.as_str(), p.version.as_str(), p.kind.as_str()]).collect();
    let header = ["NAME", "VERSION", "TYPE"];
    let w0 = rows.iter().map(|r| r[0].len()).chain([header[0].len()]).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].len()).chain([header[1].len()]).max().unwrap_or(0);
    if rows.is_empty() {
        return writeln!(out, "No packages discovered");
    }
    for r in std::iter::once(header).chain(rows) {
        writeln!(out, "{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2])?;
    }
    Ok(())
}

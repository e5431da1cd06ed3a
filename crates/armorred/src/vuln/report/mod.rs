//! Report writers: `table` (grype's columns and a severity summary line), grype-shaped `json`,
//! SARIF 2.1.0, CycloneDX 1.6 VDR and OpenVEX. Each is a pure function of the result and
//! [`ReportMeta`] (timestamps come in from outside so outputs are reproducible).

pub mod cyclonedx;
pub mod json;
pub mod openvex;
pub mod sarif;
pub mod table;

use sha2::{Digest, Sha256};

use super::model::Cvss;
use super::scan::ScanResult;

/// What the report says about its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMeta {
    /// What was scanned (`sbom:bom.json`).
    pub target: String,
    /// RFC 3339 timestamp of the scan.
    pub timestamp: String,
    /// armorred's version.
    pub tool_version: String,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human table.
    Table,
    /// grype JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities.
    CycloneDx,
    /// OpenVEX 0.2.0.
    OpenVex,
}

/// Renders a result.
pub fn render(result: &ScanResult, format: Format, meta: &ReportMeta) -> String {
    match format {
        Format::Table => table::render(result),
        Format::Json => pretty(&json::render(result, meta)),
        Format::Sarif => pretty(&sarif::render(result, meta)),
        Format::CycloneDx => pretty(&cyclonedx::render(result, meta)),
        Format::OpenVex => pretty(&openvex::render(result, meta)),
    }
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The CVSS version of a vector ("3.1", "4.0", "2.0").
pub(crate) fn cvss_version(c: &Cvss) -> String {
    if let Some(rest) = c.vector.strip_prefix("CVSS:") {
        return rest.split('/').next().unwrap_or("").to_string();
    }
    "2.0".into()
}

/// A deterministic UUID (v4 layout) from content.
pub(crate) fn uuid_from(content: &str) -> String {
    let h = Sha256::digest(content.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

//! The native model as JSON (`-o json`): what every other format is encoded from.

use crate::sbom::model::Sbom;
use crate::sbom::SbomError;

/// Writes pretty JSON with a final newline.
pub fn write(sbom: &Sbom, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, sbom)?;
    out.write_all(b"\n")
}

/// Reads the native JSON back.
pub fn read(bytes: &[u8], what: &str) -> Result<Sbom, SbomError> {
    serde_json::from_slice(bytes).map_err(|e| SbomError::Read { what: what.to_string(), reason: e.to_string() })
}

//! Encoders (CycloneDX 1.6 JSON, SPDX 2.3 JSON, table, native JSON) and the CycloneDX reader.
//! Every encoder is deterministic: stable order, serial number derived from the image digest
//! (or the package set of a directory), timestamp from the image's `created` unless asked for
//! the current time.

pub mod cyclonedx;
pub mod json;
pub mod spdx;
mod spdx_ids;
pub mod table;

use sha2::{Digest, Sha256};

use super::model::Sbom;

pub(crate) const TOOL_NAME: &str = "armorred";
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which time the documents carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Timestamp {
    /// The image's `created` time; none for directories (SPDX then uses the epoch).
    #[default]
    Image,
    /// The current time (`--timestamp now`), read from the real clock when encoding; see
    /// [`Timestamp::at`] for `SOURCE_DATE_EPOCH`.
    Now,
    /// A fixed RFC 3339 time.
    Fixed(String),
}

impl Timestamp {
    /// Parses `image`, `now`, or an RFC 3339 time (`2025-01-01T00:00:00Z`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(Self::Image),
            "now" => Some(Self::Now),
            fixed => normalize_rfc3339(fixed).map(|_| Self::Fixed(fixed.to_string())),
        }
    }

    /// This timestamp with `Now` read from `clock` once (`SOURCE_DATE_EPOCH`, when set).
    pub fn at(self, clock: &crate::clock::Clock) -> Self {
        match self {
            Self::Now => Self::Fixed(clock.now_rfc3339()),
            other => other,
        }
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    CycloneDxJson,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// Aligned columns.
    Table,
    /// The native model as JSON.
    Json,
}

impl Format {
    /// Parses a format name as syft spells it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cyclonedx-json" | "cyclonedx" | "cdx" => Some(Self::CycloneDxJson),
            "spdx-json" | "spdx" => Some(Self::SpdxJson),
            "table" => Some(Self::Table),
            "json" | "armorred-json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CycloneDxJson => "cyclonedx-json",
            Self::SpdxJson => "spdx-json",
            Self::Table => "table",
            Self::Json => "json",
        }
    }
}

/// Encodes `sbom` in `format`.
pub fn write(sbom: &Sbom, format: Format, timestamp: &Timestamp, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    match format {
        Format::CycloneDxJson => cyclonedx::write(sbom, timestamp, out),
        Format::SpdxJson => spdx::write(sbom, timestamp, out),
        Format::Table => table::write(sbom, out),
        Format::Json => json::write(sbom, out),
    }
}

/// A name-based UUID (version 5 layout) from the image digest, or from the package set.
pub(crate) fn serial_uuid(sbom: &Sbom) -> String {
    let mut h = Sha256::new();
    h.update(b"armorred-sbom\0");
    match &sbom.source.digest {
        Some(d) => h.update(d.as_bytes()),
        None => {
            h.update(sbom.source.name.as_bytes());
            for p in &sbom.packages {
                h.update(p.id.as_bytes());
                h.update([0]);
            }
        }
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The document time as RFC 3339 UTC without fractions, if any.
pub(crate) fn iso_timestamp(sbom: &Sbom, timestamp: &Timestamp) -> Option<String> {
    match timestamp {
        Timestamp::Image => sbom.source.created.as_deref().and_then(normalize_rfc3339),
        Timestamp::Fixed(s) => normalize_rfc3339(s),
        Timestamp::Now => Some(crate::clock::Clock::real().now_rfc3339()),
    }
}

/// `2024-01-02T03:04:05.123456789Z` → `2024-01-02T03:04:05Z`; offsets other than Z are kept.
fn normalize_rfc3339(s: &str) -> Option<String> {
    let ok = s.len() >= 20 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(10) == Some(&b'T');
    if !ok {
        return None;
    }
    let (head, tail) = s.split_at(19);
    let tz = match tail.find(['Z', '+', '-']) {
        Some(i) => &tail[i..],
        None => return None,
    };
    Some(format!("{head}{tz}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let fixed = crate::clock::Clock::fixed(1_700_000_000);
        assert_eq!(Timestamp::Now.at(&fixed), Timestamp::Fixed("2023-11-14T22:13:20Z".into()));
        assert_eq!(Timestamp::Image.at(&fixed), Timestamp::Image);
        assert_eq!(normalize_rfc3339("2024-01-02T03:04:05.123456789Z").as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(normalize_rfc3339("garbage"), None);
    }
}

//! The domain types of `vuln`: the normalised records every importer produces and every
//! matcher reads (here), the package a matcher looks up ([`package`]) and the finding a scan
//! reports ([`finding`]). It depends on nothing else in `vuln`.

pub mod finding;
pub mod package;

use serde::{Deserialize, Serialize};

pub use finding::{Match, MatchDetail, Related, VulnInfo};
pub use package::{Distro, FactLocation, PackageFacts, PackageType, ScanPackage};

/// Severity as grype reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// No severity known.
    Unknown,
    /// Debian "unimportant" and similar.
    Negligible,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, highest first (the order of the summary line).
    pub const DESCENDING: [Severity; 6] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Negligible, Severity::Unknown];

    /// grype's spelling ("High").
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Negligible => "Negligible",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Parses a vendor or user severity word (case-insensitive; "moderate" = Medium,
    /// "unimportant" = Negligible); `None` for an unknown word.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" => Severity::Low,
            "negligible" | "unimportant" | "none" => Severity::Negligible,
            "unknown" => Severity::Unknown,
            _ => return None,
        })
    }

    /// The CVSS qualitative rating of a base score.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Negligible
        }
    }
}

/// Fix state as grype reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FixState {
    /// A fixed version exists.
    Fixed,
    /// No fix yet.
    NotFixed,
    /// The vendor will not fix (Debian no-dsa, ignored, end-of-life).
    WontFix,
    /// Unknown.
    Unknown,
}

impl FixState {
    /// grype's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FixState::Fixed => "fixed",
            FixState::NotFixed => "not-fixed",
            FixState::WontFix => "wont-fix",
            FixState::Unknown => "unknown",
        }
    }

    /// Parses grype's spelling.
    pub fn parse(s: &str) -> Option<FixState> {
        Some(match s {
            "fixed" => FixState::Fixed,
            "not-fixed" => FixState::NotFixed,
            "wont-fix" => FixState::WontFix,
            "unknown" => FixState::Unknown,
            _ => return None,
        })
    }
}

/// One CVSS vector from a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `CVSS_V3`, `CVSS_V4`, ... as the feed names it.
    pub kind: String,
    /// The vector string.
    pub vector: String,
    /// Who scored it (NVD "Primary"/"Secondary" source), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A vulnerability record (one OSV record, one NVD CVE, one tracker CVE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Advisory {
    /// Its ID (CVE-..., GHSA-..., GO-..., RUSTSEC-..., PYSEC-...).
    pub id: String,
    /// Other IDs for the same flaw.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One-line summary.
    #[serde(default)]
    pub summary: String,
    /// The vendor's severity word, if the feed gives one.
    #[serde(default)]
    pub vendor_severity: Option<String>,
    /// CVSS vectors.
    #[serde(default)]
    pub cvss: Vec<Cvss>,
    /// Publication date (RFC 3339 or date).
    #[serde(default)]
    pub published: Option<String>,
    /// Last modification date.
    #[serde(default)]
    pub modified: Option<String>,
    /// Withdrawn date (OSV).
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Reference URLs.
    #[serde(default)]
    pub urls: Vec<String>,
}

/// One OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version.
    Introduced(String),
    /// Fixed in this version.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// Range limit.
    Limit(String),
}

/// An OSV range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` (GIT ranges are skipped on import).
    pub kind: String,
    /// The events.
    pub events: Vec<Event>,
}

/// The Debian security tracker's release statuses. Any other status (a hostile or future word)
/// is never read as fixed or not-affected: it is kept on import and matched with fix state
/// unknown.
pub const DEBIAN_STATUSES: [&str; 3] = ["resolved", "open", "undetermined"];

/// Canonical package name in an ecosystem (PEP 503 normalisation for PyPI): the name affected
/// rows are stored under and looked up by.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match ecosystem.split(':').next().unwrap_or("") {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        }
        _ => name.to_string(),
    }
}

/// What a record says about one package in one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum AffectedData {
    /// Debian security tracker semantics for one release.
    Debian {
        /// `resolved`, `open`, `undetermined`.
        status: String,
        /// Fixed version (`0` = not affected).
        fixed_version: Option<String>,
        /// `unimportant`, `low`, `medium`, `high`, `not yet assigned`, `end-of-life`.
        urgency: Option<String>,
        /// The tracker's `nodsa` text, when present (no-dsa, ignored, postponed).
        nodsa: Option<String>,
        /// `""` (no-dsa), `ignored`, `postponed`.
        nodsa_reason: Option<String>,
    },
    /// Alpine/Wolfi secfixes: fixed in `fixed_version` (`0` = never affected).
    Secfix {
        /// The fixing version.
        fixed_version: String,
    },
    /// OSV ranges and versions.
    Osv {
        /// Ranges (ECOSYSTEM, SEMVER).
        ranges: Vec<Range>,
        /// Explicit affected versions.
        versions: Vec<String>,
        /// `database_specific.severity` or `ecosystem_specific.severity`, if any.
        severity: Option<String>,
    },
    /// NVD configurations (kept whole; evaluated per component CPE).
    Cpe {
        /// NVD `configurations` array.
        configurations: serde_json::Value,
    },
}

/// One affected-package row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The advisory's ID.
    pub vuln_id: String,
    /// Namespace: `debian:bookworm`, `alpine:3.11`, `wolfi`, `PyPI`, `Go`, `crates.io`, `cpe`...
    pub namespace: String,
    /// Package name in that namespace (source package for Debian, `vendor:product` for CPE).
    pub package: String,
    /// The data.
    pub data: AffectedData,
}

/// What one importer produced from one input.
#[derive(Debug, Clone, Default)]
pub struct FeedBatch {
    /// Advisories.
    pub advisories: Vec<Advisory>,
    /// Affected rows.
    pub affected: Vec<Affected>,
    /// What was skipped, by reason, with counts.
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Namespaces whose data is known to be partial, with why.
    pub partial: std::collections::BTreeMap<String, String>,
}

impl FeedBatch {
    /// Counts one skipped item.
    pub fn skip(&mut self, why: impl Into<String>) {
        *self.skipped.entry(why.into()).or_default() += 1;
    }
}

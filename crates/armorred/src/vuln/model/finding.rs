//! One finding: the vulnerability, its related records, the package and how it matched.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::package::ScanPackage;
use super::{Cvss, FixState, Severity};

/// The vulnerability part of a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnInfo {
    /// ID.
    pub id: String,
    /// Namespace / data source.
    pub namespace: String,
    /// Severity.
    pub severity: Severity,
    /// Where the severity came from (`vendor`, `cvss`, `osv`, `none`).
    pub severity_source: String,
    /// CVSS base score used, if any.
    pub cvss_score: Option<f64>,
    /// CVSS vectors.
    pub cvss: Vec<Cvss>,
    /// Description.
    pub description: String,
    /// Fix state.
    pub fix_state: FixState,
    /// Fixed versions.
    pub fix_versions: Vec<String>,
    /// URLs.
    pub urls: Vec<String>,
}

/// A related vulnerability (an alias found through another record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    /// ID.
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Severity from its own data.
    pub severity: Severity,
    /// CVSS vectors.
    pub cvss: Vec<Cvss>,
    /// Description.
    pub description: String,
}

/// One match detail (grype's `matchDetails[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchDetail {
    /// Match type.
    pub kind: String,
    /// Matcher.
    pub matcher: String,
    /// What was searched.
    pub searched_by: serde_json::Value,
    /// What was found.
    pub found: serde_json::Value,
}

/// One finding. Its parts are shared: every package that matches a vulnerability the same way
/// (binary packages of one source) points at one [`VulnInfo`], and every finding of a package
/// at one [`ScanPackage`], so that 100,000 packages of one source cost pointers, not copies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The vulnerability.
    #[serde(with = "shared")]
    pub vulnerability: Arc<VulnInfo>,
    /// Aliases found through other records.
    #[serde(with = "shared")]
    pub related: Arc<Vec<Related>>,
    /// The package.
    #[serde(with = "shared")]
    pub artifact: Arc<ScanPackage>,
    /// How it matched.
    #[serde(with = "shared")]
    pub details: Arc<Vec<MatchDetail>>,
}

/// Serde for `Arc<T>` as `T` (serde's own needs its `rc` feature).
mod shared {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<T: Serialize, S: Serializer>(v: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        T::serialize(v, s)
    }

    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

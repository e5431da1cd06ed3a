//! Ignore rules from a config file (grype's `.grype.yaml` shape):
//!
//! ```yaml
//! ignore:
//!   - vulnerability: CVE-2023-1234
//!     fix-state: not-fixed
//!     package: {name: libssl3, version: 3.0.11-1~deb12u2, type: deb}
//!     reason: not reachable
//! ```

use std::path::Path;

use serde::Deserialize;

use super::error::{Result, VulnError};
use super::model::FixState;
use super::model::Match;

/// Package selector of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSelector {
    /// Name.
    pub name: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// grype artifact type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// purl prefix.
    pub purl: Option<String>,
}

/// One rule; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Vulnerability ID (also matched against related IDs).
    pub vulnerability: Option<String>,
    /// Fix state.
    #[serde(rename = "fix-state")]
    pub fix_state: Option<String>,
    /// Package selector.
    pub package: Option<PackageSelector>,
    /// Free text shown with the ignored match.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default)]
    ignore: Vec<IgnoreRule>,
}

impl IgnoreRule {
    /// The reason, when the rule matches.
    pub fn applies(&self, m: &Match) -> Option<String> {
        if let Some(v) = &self.vulnerability {
            if *v != m.vulnerability.id && !m.related.iter().any(|r| r.id == *v) {
                return None;
            }
        }
        if let Some(fs) = &self.fix_state {
            if FixState::parse(fs) != Some(m.vulnerability.fix_state) {
                return None;
            }
        }
        if let Some(p) = &self.package {
            if p.name.as_ref().is_some_and(|n| *n != m.artifact.name)
                || p.version.as_ref().is_some_and(|v| *v != m.artifact.version)
                || p.kind.as_ref().is_some_and(|k| k != m.artifact.kind())
                || p.purl.as_ref().is_some_and(|u| !m.artifact.purl.as_deref().unwrap_or("").starts_with(u.as_str()))
            {
                return None;
            }
        }
        Some(format!("ignore rule{}", self.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()))
    }
}

/// Reads the `ignore:` rules of a YAML (or JSON) config file.
pub fn read(path: &Path) -> Result<Vec<IgnoreRule>> {
    let bytes = super::import::read_file(path)?;
    let c: Config = serde_yaml_ng::from_slice(&bytes)
        .map_err(|e| VulnError::Input { path: path.to_path_buf(), what: format!("invalid ignore config: {e}") })?;
    Ok(c.ignore)
}

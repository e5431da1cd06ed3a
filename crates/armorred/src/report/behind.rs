//! The "never behind on security fixes" gate: a tier must not carry a fixable vulnerability that
//! the image's other tier or its upstream reference has already fixed.
//!
//! A finding of ours is *behind* another side when it has a fix (`fix_state` fixed), the other
//! side ships the same package (by name, or by source package) and the other side has no
//! finding with that ID (or one of its aliases) in that package: it runs a version with the fix.
//! A side that does not ship the package at all has not fixed anything, so it does not count.
//! Each behind finding is either accepted by name in the definition (`[[tiers.<t>.accept]]`, or
//! the recipe's `[[accept]]`), with its reason, or it fails the gate. Accepted IDs that are no
//! longer carried are listed as stale, so the list shrinks as fixes land. Pure: the pipeline
//! passes the sides of its scans.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::compare::{Finding, FixState, Severity, Side};
use crate::spec::Accept;

/// One vulnerability a tier carries while another side has it fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehindVuln {
    /// The ID (the CVE when the finding has one).
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// Our package it is found in.
    pub package: String,
    /// Our version.
    pub version: String,
    /// Versions that fix it.
    pub fixed_in: Vec<String>,
    /// The sides that have it fixed, each with the version of the package it runs.
    pub fixed_by: BTreeMap<String, String>,
    /// The definition's reason, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

/// The gate's verdict for one tier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behind {
    /// Every behind vulnerability, accepted or not, by ID.
    pub vulnerabilities: Vec<BehindVuln>,
    /// Accepted IDs that this tier does not carry (or that no other side has fixed).
    pub stale_accepts: Vec<String>,
}

impl Behind {
    /// The behind vulnerabilities that no accept entry covers: the gate fails when any.
    pub fn failing(&self) -> impl Iterator<Item = &BehindVuln> {
        self.vulnerabilities.iter().filter(|v| v.accepted.is_none())
    }

    /// True when nothing unaccepted is behind.
    pub fn passed(&self) -> bool {
        self.failing().next().is_none()
    }

    /// The accepted ones.
    pub fn accepted(&self) -> impl Iterator<Item = &BehindVuln> {
        self.vulnerabilities.iter().filter(|v| v.accepted.is_some())
    }

    /// The verdict in one line.
    pub fn line(&self) -> String {
        match (self.failing().count(), self.accepted().count()) {
            (0, 0) => "pass: carries no fix that another tier or upstream has".into(),
            (0, n) => format!("pass: {n} accepted by the definition (carried, fixed elsewhere)"),
            (f, n) => format!("FAIL: {f} vulnerabilities fixed elsewhere are carried ({n} accepted)"),
        }
    }
}

fn ids(f: &Finding) -> impl Iterator<Item = &str> {
    std::iter::once(f.id.as_str()).chain(f.aliases.iter().map(String::as_str))
}

/// Checks `ours` against each named other side.
pub fn check(ours: &Side, others: &[(&str, &Side)], accept: &[Accept]) -> Behind {
    let mut found: BTreeMap<String, BehindVuln> = BTreeMap::new();
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for f in ours.findings.iter().filter(|f| f.fix_state == FixState::Fixed) {
        let source = ours.components.iter().find(|c| c.name == f.package).and_then(|c| c.source.clone());
        for (name, other) in others {
            // The other side's copy of the package: same name, else same source package.
            let theirs = other.components.iter().find(|c| c.name == f.package).or_else(|| {
                source.as_ref().and_then(|s| other.components.iter().find(|c| c.source.as_ref() == Some(s)))
            });
            let Some(theirs) = theirs else { continue };
            let carried = other.findings.iter().any(|o| {
                (o.package == theirs.name || o.package == f.package) && ids(o).any(|i| ids(f).any(|j| i == j))
            });
            if carried {
                continue;
            }
            let entry = found.entry(f.id.clone()).or_insert_with(|| BehindVuln {
                id: f.id.clone(),
                severity: f.severity,
                package: f.package.clone(),
                version: f.version.clone(),
                fixed_in: f.fixed_in.clone(),
                fixed_by: BTreeMap::new(),
                accepted: None,
            });
            if let Some(a) = accept.iter().find(|a| ids(f).any(|i| i == a.id)) {
                entry.accepted = Some(a.reason.clone());
                matched.insert(a.id.as_str());
            }
            entry.severity = entry.severity.max(f.severity);
            entry.fixed_by.insert((*name).to_string(), theirs.version.clone());
        }
    }
    // An accept entry is stale when no behind finding matched it.
    let stale_accepts = accept.iter().filter(|a| !matched.contains(a.id.as_str())).map(|a| a.id.clone()).collect();
    let mut vulnerabilities: Vec<BehindVuln> = found.into_values().collect();
    vulnerabilities.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    Behind { vulnerabilities, stale_accepts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::Component;

    fn comp(name: &str, version: &str, source: &str) -> Component {
        Component {
            name: name.into(),
            version: version.into(),
            kind: "deb".into(),
            purl: None,
            source: Some(source.into()),
        }
    }

    fn finding(id: &str, alias: &str, package: &str, version: &str, fixed: bool) -> Finding {
        Finding {
            id: id.into(),
            aliases: if alias.is_empty() { vec![] } else { vec![alias.into()] },
            severity: Severity::High,
            package: package.into(),
            version: version.into(),
            fix_state: if fixed { FixState::Fixed } else { FixState::NotFixed },
            fixed_in: if fixed { vec!["9".into()] } else { vec![] },
        }
    }

    fn side(name: &str, components: Vec<Component>, findings: Vec<Finding>) -> Side {
        Side { name: name.into(), components, findings, ..Side::default() }
    }

    #[test]
    fn behind_accepted_stale_and_not_counted() {
        let ours = side(
            "locked",
            vec![comp("nginx", "1.26.3-3+deb13u9", "nginx"), comp("libfoo", "1", "foo"), comp("libbar", "1", "bar")],
            vec![
                // Fixed by hardened (same package, no such finding there): behind.
                finding("CVE-1", "", "nginx", "1.26.3-3+deb13u9", true),
                // Accepted with a reason.
                finding("CVE-2", "", "nginx", "1.26.3-3+deb13u9", true),
                // Hardened carries it too (under its alias): not behind.
                finding("CVE-3", "GHSA-3", "nginx", "1.26.3-3+deb13u9", true),
                // No fix exists: not behind, whoever else lacks it.
                finding("CVE-4", "", "nginx", "1.26.3-3+deb13u9", false),
                // Nobody else ships libfoo: nothing fixed it.
                finding("CVE-5", "", "libfoo", "1", true),
                // Upstream ships the same source under another binary name, without the finding.
                finding("CVE-6", "", "libbar", "1", true),
            ],
        );
        let hardened = side(
            "hardened",
            vec![comp("nginx", "1.26.3-3+deb13u11", "nginx")],
            vec![finding("GHSA-3", "", "nginx", "1.26.3-3+deb13u11", true)],
        );
        let upstream = side("upstream", vec![comp("libbar2", "2", "bar")], vec![]);
        let accept = [
            Accept { id: "CVE-2".into(), reason: "deb13u10 is not in the pool".into() },
            Accept { id: "CVE-9".into(), reason: "fixed long ago".into() },
        ];
        let b = check(&ours, &[("hardened", &hardened), ("upstream", &upstream)], &accept);
        let got: Vec<(&str, Option<&str>)> =
            b.vulnerabilities.iter().map(|v| (v.id.as_str(), v.accepted.as_deref())).collect();
        assert_eq!(got, [("CVE-1", None), ("CVE-2", Some("deb13u10 is not in the pool")), ("CVE-6", None)]);
        assert_eq!(b.vulnerabilities[0].fixed_by["hardened"], "1.26.3-3+deb13u11");
        assert_eq!(b.vulnerabilities[2].fixed_by["upstream"], "2");
        assert_eq!(b.stale_accepts, ["CVE-9"]);
        assert!(!b.passed());
        assert_eq!(b.failing().count(), 2);
        assert_eq!(b.accepted().count(), 1);

        let all = [
            Accept { id: "CVE-1".into(), reason: "r".into() },
            Accept { id: "CVE-2".into(), reason: "r".into() },
            Accept { id: "CVE-6".into(), reason: "r".into() },
        ];
        assert!(check(&ours, &[("hardened", &hardened), ("upstream", &upstream)], &all).passed());
        assert!(check(&ours, &[], &[]).vulnerabilities.is_empty());
    }
}

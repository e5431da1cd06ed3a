//! grype's JSON shape: `matches[].vulnerability{id,severity,fix{state,versions}}`,
//! `matches[].artifact{name,version,type,purl}`, `matches[].relatedVulnerabilities`,
//! `ignoredMatches`, and a `descriptor` recording the DB's sha256.
//!
//! [`render`] writes it; [`parse`]/[`read`] read it back leniently (ours or grype's own
//! `grype -o json`) into the findings a comparison needs ([`ReadFinding`]).

use std::path::Path;

use serde_json::{json, Value};

use super::{cvss_version, ReportMeta};
use crate::vuln::error::VulnError;
use crate::vuln::model::{Cvss, FixState, Match, Severity};
use crate::vuln::scan::ScanResult;
use crate::vuln::severity::base_score;

fn cvss(list: &[Cvss]) -> Value {
    Value::Array(
        list.iter()
            .map(|c| {
                json!({
                    "source": c.source,
                    "type": c.source.as_deref().unwrap_or(""),
                    "version": cvss_version(c),
                    "vector": c.vector,
                    "metrics": {"baseScore": base_score(&c.vector)},
                })
            })
            .collect(),
    )
}

fn artifact(m: &Match) -> Value {
    let a = &m.artifact;
    let mut upstreams = Vec::new();
    if let Some(src) = a.source_name.as_deref().filter(|s| *s != a.name) {
        upstreams.push(json!({"name": src, "version": a.source_version}));
    }
    json!({
        "name": a.name,
        "version": a.version,
        "type": a.kind(),
        "purl": a.purl,
        "cpes": a.cpes,
        "upstreams": upstreams,
    })
}

/// One match as grype writes it.
pub fn match_value(m: &Match) -> Value {
    let v = &m.vulnerability;
    json!({
        "vulnerability": {
            "id": v.id,
            "namespace": v.namespace,
            "severity": v.severity.as_str(),
            "severitySource": v.severity_source,
            "urls": v.urls,
            "description": v.description,
            "cvss": cvss(&v.cvss),
            "fix": {"versions": v.fix_versions, "state": v.fix_state.as_str()},
        },
        "relatedVulnerabilities": m.related.iter().map(|r| json!({
            "id": r.id,
            "namespace": r.namespace,
            "severity": r.severity.as_str(),
            "description": r.description,
            "cvss": cvss(&r.cvss),
        })).collect::<Vec<_>>(),
        "matchDetails": m.details.iter().map(|d| json!({
            "type": d.kind,
            "matcher": d.matcher,
            "searchedBy": d.searched_by,
            "found": d.found,
        })).collect::<Vec<_>>(),
        "artifact": artifact(m),
    })
}

/// Renders the document.
pub fn render(r: &ScanResult, meta: &ReportMeta) -> Value {
    json!({
        "matches": r.matches.iter().map(match_value).collect::<Vec<_>>(),
        "ignoredMatches": r.ignored.iter().map(|i| {
            let mut v = match_value(&i.finding);
            v["appliedIgnoreRules"] = json!([{"reason": i.reason}]);
            v
        }).collect::<Vec<_>>(),
        "source": {"type": meta.target.split(':').next().unwrap_or(""), "target": meta.target},
        "summary": r.counts().iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "notes": r.notes,
        "descriptor": {
            "name": "armorred",
            "version": meta.tool_version,
            "timestamp": meta.timestamp,
            "db": {
                "sha256": r.db_sha256,
                "built": r.db_built,
                "sources": r.db_sources.iter().map(|(n, d)| json!({"name": n, "newest": d})).collect::<Vec<_>>(),
            },
        },
    })
}

/// One finding read back from a grype-shaped JSON document: what a comparison needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFinding {
    /// The vulnerability ID (`vulnerability.id`).
    pub id: String,
    /// The IDs of `relatedVulnerabilities` (aliases), without `id` itself.
    pub related: Vec<String>,
    /// `vulnerability.severity`; Unknown for a missing or unknown word.
    pub severity: Severity,
    /// `artifact.name`.
    pub package: String,
    /// `artifact.version`.
    pub version: String,
    /// `artifact.type` (`deb`, `binary`, `python`, ...), empty when absent.
    pub kind: String,
    /// `artifact.purl`, when given and not empty.
    pub purl: Option<String>,
    /// `vulnerability.fix.state`; Unknown for a missing, empty or unknown state.
    pub fix_state: FixState,
    /// `vulnerability.fix.versions`.
    pub fix_versions: Vec<String>,
}

/// A grype-shaped JSON document read back: its findings and what it says about its DB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadScan {
    /// One entry per `matches[]` element (ignored matches are not findings), in document order.
    pub findings: Vec<ReadFinding>,
    /// `sha256:<hex>` of the DB, when the descriptor names one (ours: `descriptor.db.sha256`;
    /// grype 0.x with schema v5: `descriptor.db.checksum`).
    pub db_digest: Option<String>,
    /// `descriptor.name` and `descriptor.version` (`grype 0.87.0`, `armorred 0.1.0`), when given.
    pub tool: Option<String>,
    /// Matches skipped because they had no vulnerability ID or no artifact name.
    pub skipped: usize,
}

/// Reads a grype JSON document (`grype -o json`, `armorred scan -o json`) from `path`.
pub fn read(path: &Path) -> Result<ReadScan, VulnError> {
    let bytes = crate::vuln::import::read_file(path)?;
    parse(&bytes, path)
}

/// Parses a grype JSON document leniently: unknown fields are ignored, unknown severity words
/// and fix states become Unknown, matches without an ID or package are skipped and counted.
/// Only a document that is not JSON, or has no `matches` array, is an error. `origin` names the
/// input in errors.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<ReadScan, VulnError> {
    let bad = |what: String| VulnError::Input { path: origin.to_path_buf(), what };
    let doc: Value = crate::json::from_slice(bytes).map_err(|e| bad(format!("not a grype JSON scan result: {e}")))?;
    let matches = doc
        .get("matches")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("not a grype JSON scan result: no \"matches\" array".into()))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut findings = Vec::with_capacity(matches.len());
    let mut skipped = 0;
    for m in matches {
        let vuln = m.get("vulnerability");
        let artifact = m.get("artifact");
        let id = text(vuln.and_then(|v| v.get("id")));
        let package = text(artifact.and_then(|a| a.get("name")));
        if id.is_empty() || package.is_empty() {
            skipped += 1;
            continue;
        }
        let mut related: Vec<String> = Vec::new();
        for r in m.get("relatedVulnerabilities").and_then(Value::as_array).into_iter().flatten() {
            let r = text(r.get("id"));
            if !r.is_empty() && r != id && !related.contains(&r) {
                related.push(r);
            }
        }
        let fix = vuln.and_then(|v| v.get("fix"));
        findings.push(ReadFinding {
            severity: vuln
                .and_then(|v| v.get("severity"))
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .unwrap_or(Severity::Unknown),
            fix_state: fix
                .and_then(|f| f.get("state"))
                .and_then(Value::as_str)
                .and_then(FixState::parse)
                .unwrap_or(FixState::Unknown),
            fix_versions: strings(fix.and_then(|f| f.get("versions"))),
            version: text(artifact.and_then(|a| a.get("version"))),
            kind: text(artifact.and_then(|a| a.get("type"))),
            purl: Some(text(artifact.and_then(|a| a.get("purl")))).filter(|p| !p.is_empty()),
            id,
            related,
            package,
        });
    }
    let descriptor = doc.get("descriptor");
    let db = descriptor.and_then(|d| d.get("db"));
    let db_digest = [
        db.and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .map(|h| format!("sha256:{}", h.trim_start_matches("sha256:"))),
        db.and_then(|d| d.get("checksum"))
            .and_then(Value::as_str)
            .filter(|c| c.starts_with("sha256:"))
            .map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.len() > "sha256:".len());
    let tool = descriptor.and_then(|d| d.get("name")).and_then(Value::as_str).map(|name| {
        match descriptor.and_then(|d| d.get("version")).and_then(Value::as_str) {
            Some(v) => format!("{name} {v}"),
            None => name.to_owned(),
        }
    });
    Ok(ReadScan { findings, db_digest, tool, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::scan::{Distro, MatchDetail, Related, ScanPackage, VulnInfo};

    fn meta() -> ReportMeta {
        ReportMeta {
            target: "sbom:bom.json".into(),
            timestamp: "2025-01-01T00:00:00Z".into(),
            tool_version: "0.1.0".into(),
        }
    }

    fn found(
        id: &str,
        related: &[&str],
        severity: Severity,
        fix: FixState,
        versions: &[&str],
        pkg: ScanPackage,
    ) -> Match {
        Match {
            vulnerability: std::sync::Arc::new(VulnInfo {
                id: id.into(),
                namespace: "debian:distro:debian:13".into(),
                severity,
                severity_source: "vendor".into(),
                cvss_score: None,
                cvss: vec![Cvss {
                    kind: "CVSS_V3".into(),
                    vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N".into(),
                    source: None,
                }],
                description: "text".into(),
                fix_state: fix,
                fix_versions: versions.iter().map(|v| (*v).to_owned()).collect(),
                urls: vec![],
            }),
            related: std::sync::Arc::new(
                related
                    .iter()
                    .map(|r| Related {
                        id: (*r).into(),
                        namespace: "nvd:cpe".into(),
                        severity,
                        cvss: vec![],
                        description: String::new(),
                    })
                    .collect(),
            ),
            artifact: std::sync::Arc::new(pkg),
            details: std::sync::Arc::new(vec![MatchDetail {
                kind: "exact-indirect-match".into(),
                matcher: "dpkg-matcher".into(),
                searched_by: json!({}),
                found: json!({}),
            }]),
        }
    }

    fn deb(name: &str, version: &str) -> ScanPackage {
        ScanPackage {
            name: name.into(),
            version: version.into(),
            purl: Some(format!("pkg:deb/debian/{name}@{version}?distro=debian-13")),
            cpes: vec![],
            source_name: Some("nginx".into()),
            source_version: Some(version.into()),
            distro: Some(Distro { id: "debian".into(), version_id: "13".into(), codename: Some("trixie".into()) }),
        }
    }

    /// Our writer, then our reader: every finding comes back with the same fields.
    #[test]
    fn round_trip() {
        let binary = ScanPackage { name: "/usr/bin/curl".into(), version: "8.14.1".into(), ..ScanPackage::default() };
        let result = ScanResult {
            matches: vec![
                found(
                    "CVE-2025-53859",
                    &["CVE-2025-53859"],
                    Severity::Low,
                    FixState::Fixed,
                    &["1.26.3-3+deb13u1"],
                    deb("nginx", "1.26.3-3"),
                ),
                found(
                    "GHSA-xxxx-yyyy-zzzz",
                    &["CVE-2025-0001", "CVE-2025-0002"],
                    Severity::Critical,
                    FixState::NotFixed,
                    &[],
                    deb("libssl3t64", "3.5.1-1"),
                ),
                found("CVE-2025-0003", &[], Severity::Negligible, FixState::WontFix, &[], binary),
            ],
            ignored: vec![crate::vuln::scan::IgnoredMatch {
                finding: found("CVE-2025-9999", &[], Severity::High, FixState::Unknown, &[], deb("nginx", "1.26.3-3")),
                reason: "vex".into(),
            }],
            db_sha256: "ab".repeat(32),
            db_built: None,
            db_sources: vec![],
            notes: vec![],
            packages: 3,
            stats: Default::default(),
        };
        let text = serde_json::to_string_pretty(&render(&result, &meta())).expect("json");
        let back = parse(text.as_bytes(), Path::new("scan.json")).expect("parse");
        let want: Vec<ReadFinding> = result
            .matches
            .iter()
            .map(|m| ReadFinding {
                id: m.vulnerability.id.clone(),
                related: m.related.iter().map(|r| r.id.clone()).filter(|r| *r != m.vulnerability.id).collect(),
                severity: m.vulnerability.severity,
                package: m.artifact.name.clone(),
                version: m.artifact.version.clone(),
                kind: m.artifact.kind().to_owned(),
                purl: m.artifact.purl.clone(),
                fix_state: m.vulnerability.fix_state,
                fix_versions: m.vulnerability.fix_versions.clone(),
            })
            .collect();
        assert_eq!(back.findings, want, "ignored matches are not findings");
        assert_eq!(back.db_digest, Some(format!("sha256:{}", "ab".repeat(32))));
        assert_eq!(back.tool.as_deref(), Some("armorred 0.1.0"));
        assert_eq!(back.skipped, 0);
    }

    /// grype's own presenter golden (anchore/grype, Apache-2.0): rpm and deb matches, a CPE, an
    /// empty fix state, fields we do not know (epss, risk, knownExploited, metadata).
    #[test]
    fn real_grype_document() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vuln/grype-json/TestJsonImgsPresenter.golden");
        let scan = read(&path).expect("grype document");
        let got: Vec<(&str, &str, &str, &str, Severity, FixState, usize)> = scan
            .findings
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.package.as_str(),
                    f.version.as_str(),
                    f.kind.as_str(),
                    f.severity,
                    f.fix_state,
                    f.fix_versions.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("CVE-1999-0001", "package-1", "1.1.1", "rpm", Severity::Low, FixState::Fixed, 3),
                ("CVE-1999-0002", "package-2", "2.2.2", "deb", Severity::Critical, FixState::Unknown, 0),
            ]
        );
        assert_eq!(scan.findings[0].purl, None, "an empty purl is no purl");
        assert_eq!(scan.findings[1].purl.as_deref(), Some("pkg:deb/package-2@2.2.2"));
        assert_eq!(scan.db_digest, None, "grype's descriptor names no DB checksum here");
        assert_eq!(scan.tool.as_deref(), Some("grype [not provided]"));
    }

    /// (findings, skipped), or a fragment of the error.
    type Want = Result<(usize, usize), &'static str>;

    #[test]
    fn lenient_but_not_blind() {
        let cases: &[(&str, &str, Want)] = &[
            ("not json", "{", Err("scan.json: not a grype JSON scan result")),
            ("no matches", r#"{"bomFormat": "CycloneDX"}"#, Err("no \"matches\" array")),
            ("empty", r#"{"matches": []}"#, Ok((0, 0))),
            (
                "skips what it cannot name, keeps the rest",
                r#"{"matches": [{"vulnerability": {"id": ""}, "artifact": {"name": "x"}},
                                {"vulnerability": {"id": "CVE-1"}},
                                {"vulnerability": {"id": "CVE-2", "severity": "bogus", "fix": {"state": "?"}},
                                 "artifact": {"name": "y"}, "relatedVulnerabilities": [{"id": "CVE-2"}, {}, {"id": "GHSA-1"}]}]}"#,
                Ok((1, 2)),
            ),
        ];
        for (name, text, want) in cases {
            match (parse(text.as_bytes(), Path::new("scan.json")), want) {
                (Ok(scan), Ok((n, skipped))) => {
                    assert_eq!((scan.findings.len(), scan.skipped), (*n, *skipped), "{name}");
                    if let Some(f) = scan.findings.first() {
                        assert_eq!((f.severity, f.fix_state), (Severity::Unknown, FixState::Unknown), "{name}");
                        assert_eq!(f.related, ["GHSA-1"], "{name}");
                    }
                }
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}

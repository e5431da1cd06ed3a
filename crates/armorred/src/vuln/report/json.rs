//! grype's JSON shape: `matches[].vulnerability{id,severity,fix{state,versions}}`,
//! `matches[].artifact{name,version,type,purl}`, `matches[].relatedVulnerabilities`,
//! `ignoredMatches`, and a `descriptor` recording the DB's sha256.

use serde_json::{json, Value};

use super::{cvss_version, ReportMeta};
use crate::vuln::model::Cvss;
use crate::vuln::scan::{Match, ScanResult};
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

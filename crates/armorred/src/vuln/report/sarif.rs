//! SARIF 2.1.0 for code-scanning dashboards: one rule per (vulnerability, package), one result
//! per match, `security-severity` from the CVSS score (or the severity's midpoint).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::ReportMeta;
use crate::vuln::model::{Match, Severity};
use crate::vuln::scan::ScanResult;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

fn score(m: &Match) -> String {
    let s = m.vulnerability.cvss_score.unwrap_or(match m.vulnerability.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Negligible | Severity::Unknown => 0.0,
    });
    format!("{s:.1}")
}

fn rule_id(m: &Match) -> String {
    format!("{}-{}", m.vulnerability.id, m.artifact.name)
}

/// Renders the SARIF log.
pub fn render(r: &ScanResult, meta: &ReportMeta) -> Value {
    let mut seen = BTreeSet::new();
    let mut rules = Vec::new();
    for m in &r.matches {
        let id = rule_id(m);
        if !seen.insert(id.clone()) {
            continue;
        }
        let v = &m.vulnerability;
        let fix = if v.fix_versions.is_empty() {
            format!("fix state: {}", v.fix_state.as_str())
        } else {
            format!("fixed in {}", v.fix_versions.join(", "))
        };
        let text = format!("{} {} in {} {}; {fix}", v.severity.as_str(), v.id, m.artifact.name, m.artifact.version);
        rules.push(json!({
            "id": id,
            "name": "PackageVulnerability",
            "shortDescription": {"text": format!("{} {} in {}", v.id, v.severity.as_str(), m.artifact.name)},
            "fullDescription": {"text": if v.description.is_empty() { text.clone() } else { v.description.clone() }},
            "helpUri": v.urls.first().cloned().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", v.id)),
            "help": {"text": text, "markdown": format!("**{}** {}", v.id, text)},
            "properties": {
                "security-severity": score(m),
                "tags": ["security", v.severity.as_str(), m.artifact.kind()],
            },
        }));
    }
    let results: Vec<Value> = r
        .matches
        .iter()
        .map(|m| {
            json!({
                "ruleId": rule_id(m),
                "level": level(m.vulnerability.severity),
                "message": {"text": format!(
                    "{} {} {} is vulnerable to {} ({})",
                    m.artifact.kind(), m.artifact.name, m.artifact.version,
                    m.vulnerability.id, m.vulnerability.severity.as_str()
                )},
                "locations": [{"physicalLocation": {"artifactLocation": {
                    "uri": meta.target.split_once(':').map(|x| x.1).unwrap_or(&meta.target)
                }}}],
                "partialFingerprints": {"packagePurl": m.artifact.purl.clone().unwrap_or_default()},
            })
        })
        .collect();
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "armorred",
                "version": meta.tool_version,
                "informationUri": "https://github.com/armorred/armorred",
                "rules": rules,
            }},
            "results": results,
            "properties": {"dbSha256": r.db_sha256},
        }],
    })
}

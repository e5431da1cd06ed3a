//! CycloneDX 1.6 with `vulnerabilities` (a VDR): the scanned components and, per finding, the
//! rating (vendor severity, CVSS vectors), fix recommendation and affected component.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{cvss_version, uuid_from, ReportMeta};
use crate::vuln::model::Severity;
use crate::vuln::scan::ScanResult;
use crate::vuln::severity::base_score;

fn cdx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// Renders the BOM.
pub fn render(r: &ScanResult, meta: &ReportMeta) -> Value {
    let mut refs: BTreeMap<String, String> = BTreeMap::new();
    let mut components = Vec::new();
    for m in r.matches.iter() {
        let a = &m.artifact;
        let key = a.purl.clone().unwrap_or_else(|| format!("{}@{}", a.name, a.version));
        if refs.contains_key(&key) {
            continue;
        }
        let bom_ref = format!("pkg-{}", refs.len() + 1);
        refs.insert(key, bom_ref.clone());
        let mut c = json!({"type": "library", "bom-ref": bom_ref, "name": a.name, "version": a.version});
        if let Some(p) = &a.purl {
            c["purl"] = json!(p);
        }
        if let Some(cpe) = a.cpes.first() {
            c["cpe"] = json!(cpe);
        }
        components.push(c);
    }
    let mut vulns = Vec::new();
    for (i, m) in r.matches.iter().enumerate() {
        let v = &m.vulnerability;
        let a = &m.artifact;
        let key = a.purl.clone().unwrap_or_else(|| format!("{}@{}", a.name, a.version));
        let mut ratings = vec![json!({
            "source": {"name": v.namespace},
            "severity": cdx_severity(v.severity),
            "method": "other",
            "justification": format!("severity from {}", v.severity_source),
        })];
        for c in &v.cvss {
            let ver = cvss_version(c);
            let method = match ver.as_str() {
                "3.1" => "CVSSv31",
                "3.0" => "CVSSv3",
                "4.0" => "CVSSv4",
                _ => "CVSSv2",
            };
            let mut rt = json!({"source": {"name": c.source.clone().unwrap_or_else(|| v.namespace.clone())},
                "method": method, "vector": c.vector});
            if let Some(s) = base_score(&c.vector) {
                rt["score"] = json!(s);
                rt["severity"] = json!(cdx_severity(Severity::from_score(s)));
            }
            ratings.push(rt);
        }
        let mut e = json!({
            "bom-ref": format!("vuln-{}", i + 1),
            "id": v.id,
            "source": {"name": v.namespace},
            "ratings": ratings,
            "affects": [{"ref": refs[&key], "versions": [{"version": a.version, "status": "affected"}]}],
        });
        if !v.description.is_empty() {
            e["description"] = json!(v.description);
        }
        if !m.related.is_empty() {
            e["references"] =
                Value::Array(m.related.iter().map(|x| json!({"id": x.id, "source": {"name": x.namespace}})).collect());
        }
        if !v.fix_versions.is_empty() {
            e["recommendation"] = json!(format!("Upgrade {} to {}", a.name, v.fix_versions.join(" or ")));
        }
        if !v.urls.is_empty() {
            e["advisories"] = Value::Array(v.urls.iter().map(|u| json!({"url": u})).collect());
        }
        e["properties"] = json!([{"name": "armorred:fix-state", "value": v.fix_state.as_str()}]);
        vulns.push(e);
    }
    let ids: Vec<&str> = r.matches.iter().map(|m| m.vulnerability.id.as_str()).collect();
    let serial = uuid_from(&format!("{}{}{}", meta.target, meta.timestamp, ids.join(",")));
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": meta.timestamp,
            "tools": {"components": [{"type": "application", "name": "armorred", "version": meta.tool_version}]},
            "properties": [
                {"name": "armorred:scan-target", "value": meta.target},
                {"name": "armorred:db-sha256", "value": r.db_sha256},
            ],
        },
        "components": components,
        "vulnerabilities": vulns,
    })
}

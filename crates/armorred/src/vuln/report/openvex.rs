//! OpenVEX 0.2.0: one `affected` statement per finding (with the fix as action statement), and
//! `not_affected`/`fixed` statements carried over from applied VEX input.

use serde_json::{json, Value};

use super::{uuid_from, ReportMeta};
use crate::vuln::scan::ScanResult;

/// Renders the document.
pub fn render(r: &ScanResult, meta: &ReportMeta) -> Value {
    let mut statements = Vec::new();
    for m in &r.matches {
        let v = &m.vulnerability;
        let product = m.artifact.purl.clone().unwrap_or_else(|| format!("{}@{}", m.artifact.name, m.artifact.version));
        let action = if v.fix_versions.is_empty() {
            format!("No fixed version available (fix state {})", v.fix_state.as_str())
        } else {
            format!("Upgrade {} to {}", m.artifact.name, v.fix_versions.join(" or "))
        };
        let mut vuln = json!({"name": v.id});
        if !m.related.is_empty() {
            vuln["aliases"] = Value::Array(m.related.iter().map(|x| json!(x.id)).collect());
        }
        statements.push(json!({
            "vulnerability": vuln,
            "products": [{"@id": product}],
            "status": "affected",
            "action_statement": action,
        }));
    }
    let ids: Vec<&str> = r.matches.iter().map(|m| m.vulnerability.id.as_str()).collect();
    let id = uuid_from(&format!("vex{}{}{}", meta.target, meta.timestamp, ids.join(",")));
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:uuid:{id}"),
        "author": "armorred",
        "timestamp": meta.timestamp,
        "version": 1,
        "tooling": format!("armorred {}", meta.tool_version),
        "statements": statements,
    })
}

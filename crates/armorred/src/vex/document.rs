//! The OpenVEX v0.2.0 document of an image's decisions: one statement per decision, its product
//! the image (`pkg:oci/...` as grype and trivy match it, [`Product::purls`]) with the component's
//! purl as subcomponent; the evidence in `status_notes`. Read back by [`crate::vuln::vex`] (our
//! `scan --vex`), which suppresses `not_affected` findings with the justification as reason.

use serde_json::{json, Map, Value};

use super::decide::{Decision, Product, Status};

/// Renders the document; `timestamp` (RFC 3339) is passed in, so it is reproducible.
pub fn render(product: &Product, decisions: &[Decision], timestamp: &str, tool_version: &str) -> Value {
    let products = product.purls();
    let mut statements = Vec::new();
    for d in decisions {
        let mut vuln = json!({"name": d.vulnerability});
        if !d.aliases.is_empty() {
            vuln["aliases"] = json!(d.aliases);
        }
        let product_list: Vec<Value> = products
            .iter()
            .map(|p| {
                let mut o = json!({"@id": p, "identifiers": {"purl": p}});
                if let Some(sub) = &d.purl {
                    o["subcomponents"] = json!([{"@id": sub, "identifiers": {"purl": sub}}]);
                }
                o
            })
            .collect();
        let mut st = Map::new();
        st.insert("vulnerability".into(), vuln);
        st.insert("products".into(), Value::Array(product_list));
        st.insert("status".into(), d.status.as_str().into());
        if let Some(j) = d.justification {
            st.insert("justification".into(), j.as_str().into());
        }
        if let Some(i) = &d.impact {
            st.insert("impact_statement".into(), i.clone().into());
        }
        match (&d.action, d.status) {
            (Some(a), _) => {
                st.insert("action_statement".into(), a.clone().into());
            }
            // OpenVEX: an `affected` statement MUST have an action statement.
            (None, Status::Affected) => {
                st.insert("action_statement".into(), "Update the image when a fix is available".into());
            }
            _ => {}
        }
        if !d.evidence.is_empty() {
            st.insert("status_notes".into(), d.evidence.join("; ").into());
        }
        statements.push(Value::Object(st));
    }
    let key: Vec<String> =
        decisions.iter().map(|d| format!("{}|{}|{}", d.vulnerability, d.component, d.status.as_str())).collect();
    let id = crate::vuln::report::uuid_from(&format!("vex|{}|{}|{}", products[0], timestamp, key.join(",")));
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:uuid:{id}"),
        "author": "armorred",
        "role": "Document Creator",
        "timestamp": timestamp,
        "version": 1,
        "tooling": format!("armorred {tool_version}"),
        "statements": statements,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::vex::decide::{decide, Subject};

    fn decisions() -> (Product, Vec<Decision>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vex/nginx-locked.vex.facts.json");
        let facts = crate::vex::parse_facts(&std::fs::read(&path).expect("fixture"), "fixture").expect("facts");
        let s = |id: &str, package: &str, purl: &str| Subject {
            id: id.into(),
            aliases: vec![],
            package: package.into(),
            version: "1.26.3".into(),
            purl: Some(purl.into()),
            fixed_in: vec!["1.26.3-3+deb13u12".into()],
        };
        let list = [
            s("CVE-2025-53859", "nginx", "pkg:generic/nginx@1.26.3"),
            s("CVE-2026-0001", "nginx", "pkg:generic/nginx@1.26.3"),
            s("CVE-2024-0001", "libapt-pkg6.0", "pkg:deb/debian/libapt-pkg6.0@3.0.3?arch=amd64&distro=debian-13"),
        ];
        let mut product = facts.product.clone();
        product.registry = Some("127.0.0.1:5000".into());
        (product, list.iter().map(|x| decide(&facts, x)).collect())
    }

    #[test]
    fn snapshot_and_schema() {
        let (product, decisions) = decisions();
        let doc = render(&product, &decisions, "2026-12-02T00:00:00Z", "0.1.0");
        insta::assert_json_snapshot!(doc);
        // The official OpenVEX schema, when python's jsonschema is there.
        let schema =
            crate::version::conformance_tests_shared_data().join("attestation-specs/openvex/openvex_json_schema.json");
        let have =
            std::process::Command::new("python3").args(["-c", "import jsonschema"]).status().is_ok_and(|s| s.success());
        if !have || !schema.exists() {
            assert!(
                std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "python3 jsonschema or the schema missing"
            );
            eprintln!("skipped: python3 jsonschema or {} missing", schema.display());
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("vex.json");
        std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
        let out = std::process::Command::new("python3")
            .args(["-m", "jsonschema", "-i"])
            .arg(&file)
            .arg(&schema)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Our reader takes back what we write: `not_affected` suppresses with the justification,
    /// `affected` keeps the finding.
    #[test]
    fn read_back_by_scan_vex() {
        let (product, decisions) = decisions();
        let doc = render(&product, &decisions, "2026-12-02T00:00:00Z", "0.1.0");
        let statements = crate::vuln::vex::parse(&doc);
        assert_eq!(statements.len(), 3);
        let m = |id: &str| crate::vuln::Match {
            vulnerability: std::sync::Arc::new(crate::vuln::scan::VulnInfo {
                id: id.into(),
                namespace: "debian:13".into(),
                severity: crate::vuln::model::Severity::High,
                severity_source: String::new(),
                cvss_score: None,
                cvss: vec![],
                description: String::new(),
                fix_state: crate::vuln::model::FixState::Fixed,
                fix_versions: vec![],
                urls: vec![],
            }),
            related: Default::default(),
            artifact: std::sync::Arc::new(crate::vuln::ScanPackage {
                name: "nginx".into(),
                version: "1.26.3".into(),
                purl: Some("pkg:generic/nginx@1.26.3".into()),
                ..Default::default()
            }),
            details: Default::default(),
        };
        assert_eq!(
            crate::vuln::vex::suppresses(&statements, &m("CVE-2025-53859")).as_deref(),
            Some("vex not_affected (vulnerable_code_not_present)")
        );
        assert_eq!(crate::vuln::vex::suppresses(&statements, &m("CVE-2026-0001")), None);
    }
}

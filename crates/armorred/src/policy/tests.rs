#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn example() -> Policy {
    read(&repo("docs/examples/policy.toml")).expect("example policy")
}

fn provenance_statement() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/provenance/nginx-locked.build.json");
    let rec = crate::build::record::parse(&std::fs::read(&path).unwrap(), &path).unwrap();
    let opts = crate::provenance::Options { definition: "images/nginx".into(), builder_id: None };
    crate::provenance::statement(&rec, &opts).unwrap()
}

fn statement(predicate_type: &str, predicate: Value) -> Value {
    json!({"_type": crate::provenance::STATEMENT_TYPE, "subject": [], "predicateType": predicate_type, "predicate": predicate})
}

fn checksec(passed: bool) -> Value {
    statement(
        CHECKSEC_PREDICATE_TYPE,
        json!({"policy": "hardened", "enforced": true, "passed": passed, "files": 19,
               "violations": if passed { json!([]) } else { json!([{"file": "/usr/bin/x", "check": "relro"}]) }}),
    )
}

const NOW: i64 = 1_796_000_000; // 2026-11-30T...

fn scan(severity: &str, fix: &str, finished: i64) -> Value {
    statement(
        VULN_PREDICATE_TYPE,
        json!({
            "scanner": {"uri": "pkg:github/armorred/armorred", "version": "0.1.0", "result": {"matches": [
                {"vulnerability": {"id": "CVE-2026-1", "severity": severity, "fix": {"state": fix, "versions": ["2"]}},
                 "artifact": {"name": "libx", "version": "1"}}
            ]}},
            "metadata": {"scanStartedOn": crate::clock::rfc3339(finished - 5), "scanFinishedOn": crate::clock::rfc3339(finished)}
        }),
    )
}

fn cdx() -> Value {
    statement("https://cyclonedx.org/bom", json!({"bomFormat": "CycloneDX"}))
}

#[test]
fn the_examples_parse_alike_and_match_the_schema() {
    let toml = example();
    let yaml = read(&repo("docs/examples/policy.yaml")).expect("yaml policy");
    assert_eq!(toml, yaml);
    assert_eq!(toml.keys, vec![KeyRef { path: Some("cosign.pub".into()), url: None }]);
    // Round trip through JSON, then the schema.
    let as_json = serde_json::to_value(&toml).unwrap();
    assert_eq!(serde_json::from_value::<Policy>(as_json.clone()).unwrap(), toml);
    let have =
        std::process::Command::new("python3").args(["-c", "import jsonschema"]).status().is_ok_and(|s| s.success());
    if !have {
        assert!(std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"), "python3 jsonschema is required");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("policy.json");
    std::fs::write(&doc, serde_json::to_vec(&as_json).unwrap()).unwrap();
    let mut bad = as_json.clone();
    bad["vulnerabilities"]["max_fixable"]["severe"] = json!(0);
    let bad_doc = dir.path().join("bad.json");
    std::fs::write(&bad_doc, serde_json::to_vec(&bad).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate_schema.py");
    let schema = repo("docs/schema/policy.schema.json");
    let run = |d: &Path| std::process::Command::new("python3").arg(&script).arg(&schema).arg(d).status().unwrap();
    assert!(run(&doc).success(), "the example policy must match its schema");
    assert!(!run(&bad_doc).success(), "an unknown severity must fail the schema");
}

#[test]
fn bad_policies_are_named() {
    let cases: &[(&str, &str)] = &[
        ("version = 2\n[[keys]]\npath = \"k\"\n", "version 2 is not supported (1 is)"),
        ("version = 1\nkeys = []\n", "no keys: name at least one accepted public key"),
        ("version = 1\n[[keys]]\nurl = \"http://x/k.pub\"\n", "key url \"http://x/k.pub\" is not https"),
        ("version = 1\nkeyz = []\n", "unknown field `keyz`"),
        ("version = 1\n[[keys]]\npath = \"k\"\nurl = \"https://x/k\"\n", "keys[0]: give exactly one of path and url"),
    ];
    for (text, want) in cases {
        let err = parse(text.as_bytes(), false, Path::new("p.toml")).expect_err(text).to_string();
        assert!(err.starts_with("policy p.toml: ") && err.contains(want), "{err}");
    }
}

#[test]
fn a_fully_attested_image_passes() {
    let all = [provenance_statement(), checksec(true), scan("High", "not-fixed", NOW - 3600), cdx()];
    let v = evaluate(&example(), &all, NOW);
    assert!(v.passed(), "{:?}", v.failures());
    assert_eq!(v.rules.len(), 5);
    assert_eq!(
        v.rules[2].detail,
        format!("builder {}, definition images/nginx, tier locked", crate::provenance::LOCAL_BUILDER_ID)
    );
}

#[test]
fn each_missing_or_failing_condition_fails_with_its_reason() {
    let base = || vec![provenance_statement(), checksec(true), scan("High", "not-fixed", NOW), cdx()];
    let mut p = example();
    p.provenance.as_mut().unwrap().builder_ids = vec!["https://ci.example/builder".into()];
    let v = evaluate(&p, &base(), NOW);
    assert_eq!(
        v.failures(),
        vec![format!(
            "provenance: builder id {:?} is not one of [\"https://ci.example/builder\"]",
            crate::provenance::LOCAL_BUILDER_ID
        )]
    );
    let cases: Vec<(Vec<Value>, &str)> = vec![
        (
            vec![provenance_statement(), checksec(false), scan("Low", "fixed", NOW), cdx()],
            "checksec: the checksec gate (hardened) did not pass enforced: 1 violation(s)",
        ),
        (
            vec![provenance_statement(), checksec(true), scan("Critical", "fixed", NOW), cdx()],
            "vulnerabilities: 1 fixable Critical (at most 0): CVE-2026-1",
        ),
        (
            vec![
                provenance_statement(),
                checksec(true),
                scan("High", "fixed", NOW - 49 * 3600),
                scan("High", "fixed", NOW - 50 * 3600),
                cdx(),
            ],
            "vulnerabilities: the latest scan is 49 h old (at most 48 h allowed)",
        ),
        (
            vec![checksec(true), scan("High", "not-fixed", NOW), cdx()],
            "require slsaprovenance1: no verified attestation of type https://slsa.dev/provenance/v1",
        ),
        (
            vec![provenance_statement(), scan("High", "not-fixed", NOW), cdx()],
            "checksec: no verified checksec attestation",
        ),
        (
            vec![provenance_statement(), checksec(true), cdx()],
            "vulnerabilities: no verified vulnerability scan attestation",
        ),
    ];
    for (statements, want) in cases {
        let v = evaluate(&example(), &statements, NOW);
        assert!(!v.passed());
        assert!(v.failures().iter().any(|f| f == want), "{want}: {:?}", v.failures());
    }
    // The newest scan decides, whatever the order.
    let newer_clean = vec![
        provenance_statement(),
        checksec(true),
        scan("Critical", "fixed", NOW - 7200),
        scan("High", "not-fixed", NOW),
        cdx(),
    ];
    assert!(evaluate(&example(), &newer_clean, NOW).passed());
}

#[test]
fn short_names_map_to_cosigns_predicate_types() {
    assert_eq!(predicate_type("slsaprovenance1"), Some("https://slsa.dev/provenance/v1"));
    assert_eq!(predicate_type("cyclonedx"), Some("https://cyclonedx.org/bom"));
    assert_eq!(predicate_type("spdxjson"), Some("https://spdx.dev/Document"));
    assert_eq!(predicate_type("openvex"), Some("https://openvex.dev/ns"));
    assert_eq!(predicate_type("https://x.example/p/v1"), Some("https://x.example/p/v1"));
    assert_eq!(predicate_type("nonsense"), None);
}

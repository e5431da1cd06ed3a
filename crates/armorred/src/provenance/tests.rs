#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use super::*;
use crate::build::record;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

fn nginx_locked() -> ImageRecord {
    let path = testdata("provenance/nginx-locked.build.json");
    record::parse(&std::fs::read(&path).expect("fixture"), &path).expect("record")
}

fn options() -> Options {
    Options { definition: "images/nginx".into(), builder_id: None }
}

#[test]
fn provenance_of_a_real_locked_build_matches_its_golden() {
    let st = statement(&nginx_locked(), &options()).expect("statement");
    insta::assert_json_snapshot!("nginx-locked-provenance", st);
}

#[test]
fn every_pinned_input_is_a_resolved_dependency() {
    let rec = nginx_locked();
    let p = predicate(&rec, &options()).expect("predicate");
    let deps = &p.build_definition.resolved_dependencies;
    let role = |r: &str| deps.iter().filter(|d| d.annotations.get("role") == Some(&r.into())).count();
    assert_eq!(role("package"), rec.inputs.packages.len());
    assert_eq!(role("suite"), rec.inputs.suites.len());
    let sb = rec.source_build.as_ref().expect("a locked build has a source build");
    assert_eq!(role("source"), sb.sources.len());
    assert!(role("build-root") > 10, "the build root's packages are dependencies");
    assert_eq!(role("build-root"), sb.build_root.packages.iter().filter(|p| p.sha256.is_some()).count());
    assert!(deps.iter().all(|d| d.digest.get("sha256").is_some_and(|h| h.len() == 64)));
    // No mirror host anywhere: names are relative to the mirror base.
    let text = serde_json::to_string(&p).expect("json");
    assert!(!text.contains("http://") && !text.contains("://deb"), "{text}");
    let s = subject(&rec).expect("subject");
    assert_eq!(format!("sha256:{}", s.digest["sha256"]), rec.output.manifest_digest);
}

#[test]
fn predicate_round_trips() {
    let p = predicate(&nginx_locked(), &options()).expect("predicate");
    let bytes = serde_json::to_vec(&p).expect("json");
    let back: Provenance = serde_json::from_slice(&bytes).expect("parse");
    assert_eq!(back, p);
}

#[test]
fn a_bad_digest_in_the_record_is_named() {
    let mut rec = nginx_locked();
    rec.inputs.packages[0].digest = "sha256:XYZ".into();
    let err = predicate(&rec, &options()).expect_err("bad digest").to_string();
    let name = &rec.inputs.packages[0].name;
    assert_eq!(err, format!("build record: package {name}: digest \"sha256:XYZ\" is not sha256:<64 hex digits>"));
}

#[test]
fn the_official_proto_accepts_the_statement() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import grpc_tools, google.protobuf"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "python3 with grpcio-tools is required (ARMORRED_REQUIRE_TOOLS=1; pip install grpcio-tools)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_vec(&statement(&nginx_locked(), &options()).unwrap()).unwrap()).unwrap();
    let mut bad_doc = statement(&nginx_locked(), &options()).unwrap();
    bad_doc["predicate"]["runDetails"]["metadata"]["startedOn"] = "yesterday".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&bad_doc).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/slsa_proto_check.py");
    let protos =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/attestation-specs/in-toto-attestation/protos");
    let run = |doc: &Path| std::process::Command::new("python3").arg(&script).arg(&protos).arg(doc).output().unwrap();
    let out = run(&good);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&bad);
    assert!(!out.status.success(), "a bad timestamp must fail the proto check");
}

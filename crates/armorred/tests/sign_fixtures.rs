//! Signatures made by others, from `../shared/data`: grype's cosign-signed attestation
//! fixtures verify against their `cosign.pub` and their tampered twins fail.
#![allow(clippy::unwrap_used)]

mod support;

use armorred::sign::dsse::Envelope;
use armorred::sign::{intoto, PublicKey};

fn grype(file: &str) -> Vec<u8> {
    std::fs::read(support::shared_data().join("anchore-fixtures/grype/grype/pkg/testdata").join(file)).unwrap()
}

#[test]
fn grype_attestation_fixtures_verify_and_tampered_twins_fail() {
    let key = PublicKey::from_pem(&grype("cosign.pub"), "grype cosign.pub").unwrap();
    let other = PublicKey::from_pem(&grype("another_cosign.pub"), "another_cosign.pub").unwrap();
    for (good, tampered, predicate_type) in [
        ("alpine.att.json", "alpine-tampered.att.json", "https://syft.dev/bom"),
        ("alpine.cdx.att.json", "alpine-tampered.cdx.att.json", "https://cyclonedx.org/bom"),
    ] {
        let envelope = Envelope::parse(&grype(good)).unwrap();
        let payload = envelope.verify(&key).unwrap_or_else(|e| panic!("{good}: {e}"));
        let statement = intoto::parse_statement(&payload).unwrap();
        assert_eq!(statement.predicate_type, predicate_type, "{good}");
        assert_eq!(statement.kind, intoto::STATEMENT_V01);
        let err = Envelope::parse(&grype(tampered)).unwrap().verify(&key).unwrap_err();
        assert!(err.contains("does not verify with the key"), "{tampered}: {err}");
        assert!(envelope.verify(&other).is_err(), "{good} with another key");
    }
    let broken = PublicKey::from_pem(&grype("cosign_broken.pub"), "cosign_broken.pub");
    assert!(broken.is_err() || Envelope::parse(&grype("alpine.att.json")).unwrap().verify(&broken.unwrap()).is_err());
}

/// The Sigstore v0.3 bundles of sigstore-rs and cosign (keyless: a Fulcio certificate) read;
/// their DSSE signatures are checked in Python against the certificate's key.
#[test]
fn sigstore_bundles_read_and_python_checks_their_signatures() {
    use armorred::sign::bundle::Bundle;
    let data = support::shared_data().join("sigstore");
    for (file, predicate_type, digest) in [
        (
            "sigstore-rs/tests/data/bundle_v03.json",
            "https://sigstore.dev/cosign/sign/v1",
            "c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172",
        ),
        (
            "cosign/pkg/cosign/testdata/oci-attestation.sigstore.json",
            "https://cosign.sigstore.dev/attestation/v1",
            "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4",
        ),
    ] {
        let path = data.join(file);
        let bundle = Bundle::parse(&std::fs::read(&path).unwrap(), file).unwrap();
        assert!(bundle.verification_material.certificate.is_some(), "{file}");
        assert!(!bundle.verification_material.tlog_entries.is_empty(), "{file}");
        let statement = bundle.statement().unwrap();
        assert_eq!(statement.predicate_type, predicate_type, "{file}");
        assert_eq!(statement.subject[0].digest["sha256"], digest, "{file}");
        // Serialized again, the bundle keeps every field it read.
        let again: serde_json::Value = serde_json::from_slice(&bundle.to_bytes()).unwrap();
        let original: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(again, original, "{file}");
        if support::have_tool("python3", &["-c", "import cryptography"]) {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cosign_check.py");
            let o =
                std::process::Command::new("python3").arg(script).args(["bundle", "-"]).arg(&path).output().unwrap();
            assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

/// A bundle we write is checked by Python with our public key.
#[test]
fn our_bundle_is_checked_by_python() {
    use armorred::sign::bundle::Bundle;
    if !support::have_tool("python3", &["-c", "import cryptography, nacl"]) {
        return;
    }
    let key = armorred::sign::PrivateKey::generate();
    let statement = intoto::Statement {
        kind: intoto::STATEMENT_V1.into(),
        subject: vec![intoto::StatementSubject {
            name: "x".into(),
            digest: [("sha256".into(), "ab".repeat(32))].into(),
        }],
        predicate_type: "https://openvex.dev/ns".into(),
        predicate: serde_json::json!({"statements": []}),
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("b.json"), Bundle::sign_statement(&statement, &key).to_bytes()).unwrap();
    std::fs::write(tmp.path().join("k.pub"), key.public_key().to_pem()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cosign_check.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .args(["bundle", "k.pub", "b.json"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

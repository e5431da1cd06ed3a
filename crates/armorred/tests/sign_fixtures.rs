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

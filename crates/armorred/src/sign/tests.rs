//! Unit tests of `sign` over the vectors in `testdata/sign/`.

use std::path::PathBuf;

use super::key::{PrivateKey, PublicKey};
use super::SignError;

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sign").join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn decrypt(rel: &str, password: &str) -> Result<PrivateKey, SignError> {
    PrivateKey::from_encrypted_pem(&read(rel), password.as_bytes(), rel)
}

#[test]
fn key_vectors_decrypt_to_their_public_keys() {
    for (name, password) in [
        ("pemcosignkey", "hello"),
        ("pemsigstorekey", "hello"),
        ("ecdsa_encrypted_private", "123"),
        ("cosign_generated_encrypted_empty_private", ""),
    ] {
        let key = decrypt(&format!("keys/{name}.key"), password).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = String::from_utf8(read(&format!("keys/{name}.pub"))).unwrap();
        assert_eq!(key.public_key().to_pem(), expected, "{name}");
        assert_eq!(PublicKey::from_pem(expected.as_bytes(), name).unwrap(), key.public_key());
    }
    // An unencrypted PKCS#8 key (sigstore-rs) reads as the decrypted form does.
    let plain = String::from_utf8(read("keys/ecdsa_private.key")).unwrap();
    let (label, der) = super::key::pem_decode(plain.as_bytes()).unwrap();
    assert_eq!(label, "PRIVATE KEY");
    let plain = PrivateKey::from_pkcs8_der(&der, "ecdsa_private.key").unwrap();
    assert!(plain.public_key().verify(b"m", &plain.sign(b"m")));
}

#[test]
fn key_sec1_inside_is_rejected_as_cosign_rejects_it() {
    let err = decrypt("keys/pemcosigneckey.key", "hello").unwrap_err().to_string();
    assert!(err.contains("SEC1") && err.contains("not PKCS#8"), "{err}");
}

#[test]
fn key_wrong_password_is_a_clear_error() {
    let err = decrypt("keys/pemcosignkey.key", "hellO").unwrap_err();
    assert!(matches!(err, SignError::WrongPassword { .. }), "{err}");
    assert!(err.to_string().contains("wrong password"), "{err}");
    let err = decrypt("keys/cosign_generated_encrypted_empty_private.key", "x").unwrap_err();
    assert!(matches!(err, SignError::WrongPassword { .. }), "{err}");
}

#[test]
fn key_other_types_are_unsupported() {
    for (name, kind) in [("ed25519_encrypted_private", "Ed25519"), ("rsa_encrypted_private", "RSA")] {
        let err = decrypt(&format!("keys/{name}.key"), "123").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SignError::UnsupportedKey { .. }), "{name}: {msg}");
        assert!(msg.contains(name) && msg.contains(&format!("unsupported key type {kind}")), "{msg}");
    }
}

#[test]
fn key_hostile_files_are_refused() {
    let good = String::from_utf8(read("keys/cosign_generated_encrypted_empty_private.key")).unwrap();
    let (label, body) = super::key::pem_decode(good.as_bytes()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for (field, value, expect) in
        [("N", serde_json::json!(1u64 << 30), "out of bounds"), ("N", serde_json::json!(1000), "not a power of two")]
    {
        let mut d = doc.clone();
        d["kdf"]["params"][field] = value;
        let pem = super::key::pem_encode(&label, &serde_json::to_vec(&d).unwrap());
        let err = PrivateKey::from_encrypted_pem(pem.as_bytes(), b"", "k").unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }
    doc["cipher"]["nonce"] = serde_json::json!("AAAA");
    let pem = super::key::pem_encode(&label, &serde_json::to_vec(&doc).unwrap());
    let err = PrivateKey::from_encrypted_pem(pem.as_bytes(), b"", "k").unwrap_err().to_string();
    assert!(err.contains("nonce is 3 bytes"), "{err}");
    for (text, expect) in [
        ("garbage", "not a PEM file"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "unencrypted"),
        (
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\ne30=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            "malformed key JSON",
        ),
    ] {
        let err = PrivateKey::from_encrypted_pem(text.as_bytes(), b"", "k").unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn key_file_golden_and_round_trip() {
    let key = decrypt("keys/ecdsa_encrypted_private.key", "123").unwrap();
    let pem = key.to_encrypted_pem_with(b"pw", &[7; 32], &[9; 24]).unwrap();
    insta::assert_snapshot!("encrypted_key_file", pem);
    let (label, body) = super::key::pem_decode(pem.as_bytes()).unwrap();
    assert_eq!(label, "ENCRYPTED SIGSTORE PRIVATE KEY");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["kdf"]["params"], serde_json::json!({"N": 65536, "r": 8, "p": 1}));
    let back = PrivateKey::from_encrypted_pem(pem.as_bytes(), b"pw", "golden").unwrap();
    assert_eq!(back.public_key(), key.public_key());
    insta::assert_snapshot!("public_key_file", key.public_key().to_pem());
    // Random salt and nonce: two files of one key differ, both decrypt.
    let a = key.to_encrypted_pem(b"pw").unwrap();
    assert_ne!(a, key.to_encrypted_pem(b"pw").unwrap());
    assert_eq!(PrivateKey::from_encrypted_pem(a.as_bytes(), b"pw", "a").unwrap().public_key(), key.public_key());
}

#[test]
fn key_signatures_verify_and_tampering_fails() {
    let key = PrivateKey::generate();
    let sig = key.sign(b"payload");
    assert!(key.public_key().verify(b"payload", &sig));
    assert!(!key.public_key().verify(b"payloaD", &sig));
    assert!(!PrivateKey::generate().public_key().verify(b"payload", &sig));
    let mut bad = sig.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(!key.public_key().verify(b"payload", &bad));
}

#[test]
fn key_generate_writes_a_pair_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("cosign");
    let files = super::generate_key_pair(&prefix, b"pw").unwrap();
    assert_eq!(std::fs::metadata(&files.private_key).unwrap().permissions().mode() & 0o777, 0o600);
    let key = super::load_private_key(files.private_key.to_str().unwrap(), b"pw").unwrap();
    assert_eq!(super::load_public_key(files.public_key.to_str().unwrap()).unwrap(), key.public_key());
    let before = std::fs::read(&files.private_key).unwrap();
    let err = super::generate_key_pair(&prefix, b"pw").unwrap_err();
    assert!(matches!(err, SignError::KeyExists { .. }), "{err}");
    assert_eq!(std::fs::read(&files.private_key).unwrap(), before);
    // Only the public key exists: still refused, nothing written.
    let other = tmp.path().join("other");
    std::fs::write(tmp.path().join("other.pub"), "mine").unwrap();
    assert!(super::generate_key_pair(&other, b"pw").is_err());
    assert!(!tmp.path().join("other.key").exists());
}

// ---- simple signing over OCI layouts ----

use super::layout::{self, Attachment, OciDir, SigImage, Store as _};
use super::simple::{self, SignOptions, VerifyOptions};
use crate::oci::spec::Digest;

const COSIGN_IMAGE: &str = "sha256:4e5a894f859d030aaab16fd778aada1c0513579a6568965bdee9df51d5c8dfe4";

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A writable copy of the layout cosign signed and attested.
fn cosign_layout() -> (tempfile::TempDir, OciDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    copy_dir(&testdata("cosign-saved"), &dir);
    (tmp, OciDir::new(dir))
}

fn cosign_pub() -> PublicKey {
    PublicKey::from_pem(&read("cosign-key/cosign.pub"), "cosign.pub").unwrap()
}

fn cosign_key() -> PrivateKey {
    decrypt("cosign-key/cosign.key", "pw").unwrap()
}

#[test]
fn simple_verifies_what_cosign_signed() {
    let store = OciDir::new(testdata("cosign-saved"));
    let opts = VerifyOptions { reference: Some("127.0.0.1:5013/test/img".into()), ..Default::default() };
    let v = simple::verify(&store, &cosign_pub(), &opts).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].payload.critical.image.docker_manifest_digest, COSIGN_IMAGE);
    assert_eq!(v[0].payload.critical.identity.docker_reference, "127.0.0.1:5013/test/img");
    assert_eq!(v[0].payload.optional, None);
}

#[test]
fn simple_signature_image_is_byte_identical_to_cosigns() {
    let store = OciDir::new(testdata("cosign-saved"));
    let manifest = store.attached(Attachment::Signatures).unwrap().unwrap();
    let image = SigImage::parse(&manifest, "cosign").unwrap();
    let (config, ours) = image.serialize();
    assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(manifest).unwrap());
    let cosign_config =
        read("cosign-saved/blobs/sha256/e7585d18d34f77dbc93e09499fd43951836c3c4e6c86e059a2b9c15ece144e34");
    assert_eq!(String::from_utf8(config).unwrap(), String::from_utf8(cosign_config).unwrap());
    // The payload cosign signed is the one we write for the same image and name.
    let payload =
        simple::SimpleSigning::new("127.0.0.1:5013/test/img", &COSIGN_IMAGE.parse().unwrap(), &Default::default());
    assert_eq!(payload.to_bytes(), store.blob(&image.layers[0].digest, 1 << 20).unwrap());
}

#[test]
fn simple_sign_appends_and_round_trips() {
    let (_tmp, store) = cosign_layout();
    let key = PrivateKey::generate();
    let opts = SignOptions {
        reference: Some("127.0.0.1:5013/test/img:t".into()),
        annotations: [("env".to_string(), "test".to_string())].into(),
    };
    let signed = simple::sign(&store, &key, &opts).unwrap();
    assert_eq!(signed.subject.as_str(), COSIGN_IMAGE);
    assert_eq!(signed.reference, "127.0.0.1:5013/test/img");
    // Both signatures are there: cosign's verifies with cosign's key, ours with ours.
    let ours = simple::verify(&store, &key.public_key(), &VerifyOptions::default()).unwrap();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].layer, signed.payload);
    assert_eq!(ours[0].payload.optional.as_ref().unwrap()["env"], "test");
    let want =
        |k: &str, v: &str| VerifyOptions { annotations: [(k.to_string(), v.to_string())].into(), ..Default::default() };
    assert_eq!(simple::verify(&store, &key.public_key(), &want("env", "test")).unwrap().len(), 1);
    let err = simple::verify(&store, &key.public_key(), &want("env", "prod")).unwrap_err().to_string();
    assert!(err.contains("annotation \"env\" is \"test\", not \"prod\""), "{err}");
    let err = simple::verify(&store, &cosign_pub(), &want("env", "test")).unwrap_err().to_string();
    assert!(err.contains("annotation \"env\" is missing"), "{err}");
    assert_eq!(simple::verify(&store, &cosign_pub(), &VerifyOptions::default()).unwrap().len(), 1);
    // Golden of what we wrote, signatures redacted.
    let manifest = store.attached(Attachment::Signatures).unwrap().unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    for l in m["layers"].as_array_mut().unwrap() {
        l["annotations"][simple::SIGNATURE_ANNOTATION] = "[signature]".into();
    }
    insta::assert_json_snapshot!("signature_manifest", m);
    insta::assert_snapshot!(
        "simple_signing_payload",
        String::from_utf8(store.blob(&signed.payload, 4096).unwrap()).unwrap()
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.dir().join("index.json")).unwrap()).unwrap();
    insta::assert_json_snapshot!("signed_index", index, { ".manifests[1].digest" => "[manifest]", ".manifests[1].size" => "[size]" });
}

#[test]
fn simple_sign_marks_a_plain_layout_as_cosign_does() {
    let (_tmp, store) = cosign_layout();
    // A layout as `armorred build` writes it: one entry, named, no cosign kinds.
    let entry = serde_json::json!({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":COSIGN_IMAGE,"size":418,
         "annotations":{"org.opencontainers.image.ref.name":"armorred/test:hardened"}}]});
    std::fs::write(store.dir().join("index.json"), serde_json::to_vec(&entry).unwrap()).unwrap();
    let err = simple::verify(&store, &cosign_pub(), &VerifyOptions::default()).unwrap_err().to_string();
    assert!(err.contains("no signatures are stored"), "{err}");
    let key = cosign_key();
    let signed = simple::sign(&store, &key, &SignOptions::default()).unwrap();
    assert_eq!(signed.reference, "armorred/test");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.dir().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["annotations"]["kind"], layout::KIND_IMAGE);
    assert_eq!(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "armorred/test:hardened");
    assert_eq!(index["manifests"][1]["annotations"]["kind"], layout::KIND_SIGS);
    let opts = VerifyOptions { reference: Some("docker.io/armorred/test".into()), ..Default::default() };
    assert_eq!(simple::verify(&store, &key.public_key(), &opts).unwrap().len(), 1);
    // The image still reads as one image.
    let image = crate::source::Source::parse(&format!("oci-dir:{}", store.dir().display()))
        .unwrap()
        .open(&Default::default())
        .unwrap();
    assert_eq!(image.digest.as_deref(), Some(COSIGN_IMAGE));
}

fn sigs_manifest_path(store: &OciDir) -> std::path::PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.dir().join("index.json")).unwrap()).unwrap();
    let d =
        index["manifests"].as_array().unwrap().iter().find(|e| e["annotations"]["kind"] == layout::KIND_SIGS).unwrap()
            ["digest"]
            .as_str()
            .unwrap()
            .to_string();
    store.dir().join("blobs/sha256").join(d.trim_start_matches("sha256:"))
}

fn flip(path: &std::path::Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
}

#[test]
fn simple_tampering_fails_with_what_did_not_match() {
    let verify = |store: &OciDir, key: &PublicKey, reference: Option<&str>| {
        simple::verify(store, key, &VerifyOptions { reference: reference.map(str::to_string), ..Default::default() })
            .unwrap_err()
            .to_string()
    };
    // Wrong key.
    let (_t, store) = cosign_layout();
    let err = verify(&store, &PrivateKey::generate().public_key(), None);
    assert!(err.contains("does not verify with the key"), "{err}");
    // Wrong reference.
    let err = verify(&store, &cosign_pub(), Some("127.0.0.1:5013/other/img"));
    assert!(err.contains("names docker-reference \"127.0.0.1:5013/test/img\", not"), "{err}");
    // A flipped byte in the payload.
    let (_t, store) = cosign_layout();
    flip(&store.dir().join("blobs/sha256/1aca4514aaf16e1689f4636f82eaf6e1d6e014920fe62c1d922e3bb3112e2634"), 20);
    let err = verify(&store, &cosign_pub(), None);
    assert!(err.contains("does not match its digest") && err.contains("altered"), "{err}");
    // A flipped byte in the image manifest.
    let (_t, store) = cosign_layout();
    flip(&store.dir().join("blobs/sha256").join(&COSIGN_IMAGE[7..]), 30);
    let err = simple::verify(&store, &cosign_pub(), &VerifyOptions::default()).unwrap_err().to_string();
    assert!(err.contains(&format!("blob {COSIGN_IMAGE} does not match its digest")), "{err}");
    // A flipped bit in the signature (manifest rewritten consistently, index.json too).
    let (_t, store) = cosign_layout();
    let manifest = store.attached(Attachment::Signatures).unwrap().unwrap();
    let mut image = SigImage::parse(&manifest, "t").unwrap();
    let sig = image.layers[0].annotations.get_mut(simple::SIGNATURE_ANNOTATION).unwrap();
    *sig = sig.replacen("MEUCIEG9", "MEUCIEG8", 1);
    let (config, m) = image.serialize();
    store.put(Attachment::Signatures, &[config], &m).unwrap();
    let err = verify(&store, &cosign_pub(), None);
    assert!(err.contains("does not verify with the key"), "{err}");
    // A flipped byte in the signature manifest (index.json unchanged).
    let (_t, store) = cosign_layout();
    flip(&sigs_manifest_path(&store), 5);
    let err = verify(&store, &cosign_pub(), None);
    assert!(err.contains("does not match its digest"), "{err}");
    // A valid signature, but for another image.
    let (_t, store) = cosign_layout();
    let key = PrivateKey::generate();
    let other: Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
    let payload = simple::SimpleSigning::new("127.0.0.1:5013/test/img", &other, &Default::default()).to_bytes();
    let sig = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.sign(&payload));
    layout::append(
        &store,
        Attachment::Signatures,
        simple::SIMPLE_SIGNING_MEDIA_TYPE,
        payload,
        [(simple::SIGNATURE_ANNOTATION.to_string(), sig)].into(),
    )
    .unwrap();
    let err = verify(&store, &key.public_key(), None);
    assert!(err.contains(&format!("the signature is for {other}, not for this image ({COSIGN_IMAGE})")), "{err}");
    // The index moved to another image: the signatures no longer match it.
    let (_t, store) = cosign_layout();
    let cfg = "sha256:d9d8120457182873e54c4a70abb063f943d30bb047f840153fb386d83a86e2c3";
    let index = std::fs::read_to_string(store.dir().join("index.json")).unwrap().replace(COSIGN_IMAGE, cfg);
    std::fs::write(store.dir().join("index.json"), index).unwrap();
    let err = verify(&store, &cosign_pub(), None);
    assert!(err.contains(&format!("the signature is for {COSIGN_IMAGE}, not for this image ({cfg})")), "{err}");
}

#[test]
fn simple_repository_names_normalize_as_go_containerregistry() {
    for (given, want) in [
        ("nginx", "index.docker.io/library/nginx"),
        ("docker.io/library/nginx:1", "index.docker.io/library/nginx"),
        ("armorred/nginx:hardened", "index.docker.io/armorred/nginx"),
        ("127.0.0.1:5013/test/img@sha256:00", "127.0.0.1:5013/test/img"),
        ("localhost/x", "localhost/x"),
    ] {
        assert_eq!(layout::normalize_repository(given), want, "{given}");
    }
    assert_eq!(
        layout::attachment_tag(&COSIGN_IMAGE.parse().unwrap(), Attachment::Attestations),
        format!("sha256-{}.att", &COSIGN_IMAGE[7..])
    );
}

// ---- attestations ----

use super::dsse::{self, Envelope};
use super::intoto;

#[test]
fn intoto_verifies_what_cosign_attested() {
    let store = OciDir::new(testdata("cosign-saved"));
    let slsa = intoto::predicate_type("slsaprovenance1").unwrap();
    let v = intoto::verify_attestations(&store, &cosign_pub(), Some(&slsa)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].statement.kind, intoto::STATEMENT_V01);
    assert_eq!(v[0].statement.predicate["runDetails"]["builder"]["id"], "https://example.com/b");
    let err =
        intoto::verify_attestations(&store, &cosign_pub(), Some("https://cyclonedx.org/bom")).unwrap_err().to_string();
    assert!(err.contains("predicate type https://slsa.dev/provenance/v1 is not https://cyclonedx.org/bom"), "{err}");
    let err = intoto::verify_attestations(&store, &PrivateKey::generate().public_key(), None).unwrap_err().to_string();
    assert!(err.contains("envelope signature does not verify with the key"), "{err}");
}

#[test]
fn intoto_attest_round_trips_with_goldens() {
    let (_tmp, store) = cosign_layout();
    // A fixed key: ECDSA signatures are deterministic (RFC 6979), so the layer digest is stable.
    let key = cosign_key();
    let cdx = intoto::predicate_type("cyclonedx").unwrap();
    let predicate = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []});
    let a = intoto::attest(&store, &key, &cdx, predicate.clone(), Some("127.0.0.1:5013/test/img:t")).unwrap();
    assert_eq!(a.subject.as_str(), COSIGN_IMAGE);
    let v = intoto::verify_attestations(&store, &key.public_key(), Some(&cdx)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].statement.predicate, predicate);
    assert_eq!(v[0].layer, a.layer);
    // cosign's slsa attestation is still there, beside ours.
    assert_eq!(intoto::verify_attestations(&store, &cosign_pub(), None).unwrap().len(), 2);
    let manifest = store.attached(Attachment::Attestations).unwrap().unwrap();
    insta::assert_snapshot!(
        "attestation_manifest_layers",
        serde_json::to_string_pretty(&serde_json::from_slice::<serde_json::Value>(&manifest).unwrap()["layers"])
            .unwrap()
    );
    let mut envelope: serde_json::Value = serde_json::from_slice(&store.blob(&a.layer, 1 << 20).unwrap()).unwrap();
    let statement: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, envelope["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    insta::assert_json_snapshot!("intoto_statement", statement);
    envelope["signatures"][0]["sig"] = "[signature]".into();
    envelope["payload"] = "[statement]".into();
    insta::assert_json_snapshot!("dsse_envelope", envelope);
}

#[test]
fn intoto_wrong_subject_and_types_fail() {
    let key = PrivateKey::generate();
    let other = format!("sha256:{}", "cd".repeat(32));
    let statement = intoto::Statement {
        kind: intoto::STATEMENT_V1.into(),
        subject: vec![intoto::StatementSubject {
            name: "x".into(),
            digest: [("sha256".into(), other[7..].to_string())].into(),
        }],
        predicate_type: "https://openvex.dev/ns".into(),
        predicate: serde_json::json!({}),
    };
    let env = Envelope::sign(dsse::INTOTO_PAYLOAD_TYPE, &serde_json::to_vec(&statement).unwrap(), &key).to_bytes();
    let err = intoto::check(&env, &key.public_key(), &COSIGN_IMAGE.parse().unwrap(), None).unwrap_err();
    assert!(err.contains(&format!("the statement is about {other}, not this image")), "{err}");
    assert!(intoto::check(&env, &key.public_key(), &other.parse().unwrap(), Some("https://openvex.dev/ns")).is_ok());
    let err = intoto::predicate_type("sbom").unwrap_err().to_string();
    assert!(err.contains("unknown predicate type") && err.contains("slsaprovenance1"), "{err}");
    assert_eq!(intoto::predicate_type("https://example.com/p/v1").unwrap(), "https://example.com/p/v1");
    assert_eq!(intoto::predicate_type("vuln").unwrap(), "https://cosign.sigstore.dev/attestation/vuln/v1");
    // The PAE of the DSSE spec's example.
    assert_eq!(
        dsse::pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
}

// ---- Sigstore bundles ----

use super::bundle::{self, Bundle};

#[test]
fn bundle_round_trips_with_golden() {
    let key = cosign_key();
    let statement = intoto::Statement {
        kind: intoto::STATEMENT_V1.into(),
        subject: vec![intoto::StatementSubject {
            name: "127.0.0.1:5013/test/img".into(),
            digest: [("sha256".into(), COSIGN_IMAGE[7..].to_string())].into(),
        }],
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        predicate: serde_json::json!({"buildDefinition": {"buildType": "https://armorred.dev/build/v1"}}),
    };
    let b = Bundle::sign_statement(&statement, &key);
    let bytes = b.to_bytes();
    let back = Bundle::parse(&bytes, "ours").unwrap();
    assert_eq!(back, b);
    assert_eq!(back.verify(&key.public_key()).unwrap(), statement);
    assert!(back.verify(&PrivateKey::generate().public_key()).unwrap_err().contains("does not verify with the key"));
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["dsseEnvelope"]["signatures"][0]["sig"] = "[signature]".into();
    insta::assert_json_snapshot!("bundle_v03", v);
    // A flipped payload fails; another media type is refused.
    let mut tampered = back.clone();
    let env = tampered.dsse_envelope.as_mut().unwrap();
    env.payload = env.payload.replacen('e', "f", 1);
    assert!(tampered.verify(&key.public_key()).is_err());
    let other = String::from_utf8(bytes).unwrap().replace("bundle.v0.3", "bundle.v0.1");
    let err = Bundle::parse(other.as_bytes(), "v0.1").unwrap_err().to_string();
    assert!(err.contains("is not application/vnd.dev.sigstore.bundle.v0.3+json"), "{err}");
    assert_eq!(bundle::key_hint(&key.public_key()).len(), 44);
}

#[test]
fn layout_hostile_indexes_are_named() {
    let (_t, store) = cosign_layout();
    let index = store.dir().join("index.json");
    let cases: [(&str, &str); 4] = [
        ("{", "malformed index.json"),
        ("[]", "not an image index with a manifests list"),
        (r#"{"manifests":[]}"#, "lists no image"),
        (r#"{"manifests":[{"digest":"sha256:aa"},{"digest":"sha256:bb"}]}"#, "lists 2 images and none is marked kind"),
    ];
    for (text, expect) in cases {
        std::fs::write(&index, text).unwrap();
        let err = simple::verify(&store, &cosign_pub(), &VerifyOptions::default()).unwrap_err().to_string();
        assert!(err.contains(expect), "{text}: {err}");
    }
    std::fs::write(&index, format!(r#"{{"manifests":[{{"digest":"sha256:{}"}}]}}"#, "ab".repeat(32))).unwrap();
    let err = simple::verify(&store, &cosign_pub(), &VerifyOptions::default()).unwrap_err().to_string();
    assert!(err.contains("is missing"), "{err}");
    let err = simple::verify(&OciDir::new(store.dir().join("nope")), &cosign_pub(), &VerifyOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no index.json"), "{err}");
    let many = serde_json::json!({"schemaVersion": 2, "config": {"mediaType": "x", "size": 1, "digest": COSIGN_IMAGE},
        "layers": vec![serde_json::json!({"mediaType": "x", "size": 1, "digest": COSIGN_IMAGE}); layout::MAX_LAYERS + 1]});
    let err = SigImage::parse(&serde_json::to_vec(&many).unwrap(), "many").unwrap_err().to_string();
    assert!(err.contains("more than 1000"), "{err}");
}

#[test]
fn layout_writes_never_go_through_symlinks() {
    let (t, store) = cosign_layout();
    let outside = t.path().join("outside");
    std::fs::write(&outside, b"mine").unwrap();
    let index = store.dir().join("index.json");
    let real = t.path().join("index.json.real");
    std::fs::rename(&index, &real).unwrap();
    std::os::unix::fs::symlink(&real, &index).unwrap();
    let err = simple::sign(&store, &cosign_key(), &SignOptions { reference: Some("r/x".into()), ..Default::default() })
        .unwrap_err()
        .to_string();
    assert!(err.contains("index.json is a symbolic link, not a regular file; refusing to write it"), "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"mine");
}

/// Attaches `bundle` (whatever it holds) to the image of `store` as cosign 3 attaches one.
fn graft_bundle(store: &OciDir, bundle: &super::bundle::Bundle) {
    use super::layout::Store as _;
    let bytes = bundle.to_bytes();
    let manifest =
        super::bundle::referrer_manifest(&bytes, &store.subject().unwrap(), super::bundle::SIGN_PREDICATE_TYPE);
    store.put_referrer(super::bundle::BUNDLE_V03_MEDIA_TYPE, &[bytes, b"{}".to_vec()], &manifest).unwrap();
}

#[test]
fn bundle_sign_round_trips_and_tampering_fails_with_what_did_not_match() {
    use super::bundle::{self, Bundle, SIGN_PREDICATE_TYPE};
    use super::layout::Store as _;
    use super::simple::{self, VerifyOptions};
    let key = PrivateKey::generate();
    let verify = |store: &OciDir, key: &PublicKey| simple::verify(store, key, &VerifyOptions::default());

    // Beside cosign's legacy signatures: our key finds the bundle, cosign's key its signature.
    let (_tmp, store) = cosign_layout();
    let subject = store.subject().unwrap();
    let signed = bundle::sign_image(&store, &key, Some("127.0.0.1:5000/x:t")).unwrap();
    assert_eq!(signed.subject, subject.digest);
    assert_eq!(signed.reference, "127.0.0.1:5000/x");
    let v = verify(&store, &key.public_key()).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].payload.critical.kind, SIGN_PREDICATE_TYPE);
    assert_eq!(v[0].payload.critical.image.docker_manifest_digest, subject.digest.as_str());
    assert_eq!(v[0].layer, signed.bundle);
    assert!(verify(&store, &cosign_pub()).is_ok());
    let opts = VerifyOptions { reference: Some("127.0.0.1:5000/other".into()), ..Default::default() };
    let err = simple::verify(&store, &key.public_key(), &opts).unwrap_err().to_string();
    assert!(err.contains("the statement names \"127.0.0.1:5000/x\", not \"127.0.0.1:5000/other\""), "{err}");
    // The referrer is what cosign 3 attaches.
    let manifests = store.referrers(bundle::BUNDLE_V03_MEDIA_TYPE).unwrap();
    assert_eq!(manifests.len(), 1);
    let m: serde_json::Value = serde_json::from_slice(&manifests[0]).unwrap();
    assert_eq!(m["artifactType"], bundle::BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(m["config"]["mediaType"], bundle::EMPTY_MEDIA_TYPE);
    assert_eq!(m["subject"]["digest"], subject.digest.as_str());
    assert_eq!(m["subject"]["size"], subject.size);
    assert_eq!(m["annotations"][bundle::PREDICATE_TYPE_ANNOTATION], SIGN_PREDICATE_TYPE);
    // Goldens: the referrer manifest (the bundle layer's digest and size redacted: the
    // signature is random), the statement signed, the layout's index.json.
    let mut golden = m.clone();
    golden["layers"][0]["digest"] = "[bundle digest]".into();
    golden["layers"][0]["size"] = "[bundle size]".into();
    insta::assert_json_snapshot!("bundle_referrer_manifest", golden);
    let statement = Bundle::parse(&store.blob(&signed.bundle, 1 << 20).unwrap(), "b").unwrap().statement().unwrap();
    insta::assert_json_snapshot!("bundle_sign_statement", statement);
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.dir().join("index.json")).unwrap()).unwrap();
    for e in index["manifests"].as_array_mut().unwrap() {
        if e.get("artifactType").is_some() {
            e["digest"] = "[referrer digest]".into();
            e["size"] = "[referrer size]".into();
        }
    }
    insta::assert_json_snapshot!("bundle_signed_index", index);
    // Signing again adds a second referrer; the subject entry stays the one signed.
    bundle::sign_image(&store, &key, None).unwrap();
    assert_eq!(store.referrers(bundle::BUNDLE_V03_MEDIA_TYPE).unwrap().len(), 2);
    assert_eq!(store.subject().unwrap().digest, subject.digest);
    assert_eq!(verify(&store, &key.public_key()).unwrap().len(), 2);

    // Each tampered bundle, attached consistently (digests recomputed), fails with its reason.
    let good = {
        let (_t, s) = cosign_layout();
        let signed = bundle::sign_image(&s, &key, None).unwrap();
        Bundle::parse(&s.blob(&signed.bundle, 1 << 20).unwrap(), "b").unwrap()
    };
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let unb64 = |s: &str| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s).unwrap();
    let mut payload = good.clone();
    let env = payload.dsse_envelope.as_mut().unwrap();
    let mut bytes = unb64(&env.payload);
    let at = bytes.len() - 5;
    bytes[at] ^= 1;
    env.payload = b64(&bytes);
    let mut signature = good.clone();
    let env = signature.dsse_envelope.as_mut().unwrap();
    let mut sig = unb64(&env.signatures[0].sig);
    sig[10] ^= 1;
    env.signatures[0].sig = b64(&sig);
    let other = {
        let statement = intoto::Statement {
            kind: intoto::STATEMENT_V1.into(),
            subject: vec![intoto::StatementSubject {
                name: "x".into(),
                digest: [("sha256".into(), "ab".repeat(32))].into(),
            }],
            predicate_type: SIGN_PREDICATE_TYPE.into(),
            predicate: serde_json::json!({}),
        };
        Bundle::sign_statement(&statement, &key)
    };
    for (bad, expect) in [
        (&payload, "does not verify with the key"),
        (&signature, "does not verify with the key"),
        (&other, &format!("is about sha256:{}, not this image", "ab".repeat(32))),
    ] {
        let (_t, s) = cosign_layout();
        graft_bundle(&s, bad);
        let err = verify(&s, &key.public_key()).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
        let err = err.to_string();
        assert!(err.contains("bundle 1 (referrer sha256:") && err.contains(expect), "{expect}: {err}");
    }
    // The untampered one grafted the same way verifies (the test's grafting is sound).
    let (_t, s) = cosign_layout();
    graft_bundle(&s, &good);
    assert_eq!(verify(&s, &key.public_key()).unwrap().len(), 1);
    // Nothing stored at all: the message says where we looked.
    let (_t, s) = cosign_layout();
    let index = s.dir().join("index.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    v["manifests"].as_array_mut().unwrap().retain(|e| e["annotations"]["kind"] != layout::KIND_SIGS);
    std::fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = verify(&s, &key.public_key()).unwrap_err().to_string();
    assert!(err.contains("no signatures are stored") && err.contains("no signature bundle"), "{err}");
}

/// The pipeline signs and attests a layout it wrote, then a later run rebuilds it in place:
/// every append leaves the signature image it replaced, and the rebuild still knows the layout
/// as its own (`oci::write_layout`).
#[test]
fn a_layout_signed_and_attested_several_times_is_rebuilt_in_place() {
    use crate::oci::{layer_from_tree, write_layout, Image, RuntimeConfig};
    let image = |epoch: i64| {
        let mut t = crate::fstree::Tree::new();
        t.add_file("etc/motd", 0o644, (0, 0), format!("built at {epoch}\n").into_bytes()).unwrap();
        Image {
            layers: vec![layer_from_tree(&t, epoch).unwrap()],
            config: RuntimeConfig { user: "65534:65534".into(), ..Default::default() },
            architecture: "amd64".into(),
            created_epoch: epoch,
            created_by: "test".into(),
            annotations: Default::default(),
            ref_name: "armorred/test:hardened".into(),
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("image");
    write_layout(&dir, &image(1)).unwrap();
    let store = OciDir::new(dir.clone());
    let key = PrivateKey::generate();
    for _ in 0..2 {
        simple::sign(&store, &key, &SignOptions::default()).unwrap();
    }
    for t in ["https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom"] {
        super::intoto::attest(&store, &key, t, serde_json::json!({"n": 1}), None).unwrap();
    }
    super::bundle::sign_image(&store, &key, None).unwrap();
    let written = write_layout(&dir, &image(2)).expect("a signed layout of ours is rebuilt");
    let index = std::fs::read_to_string(dir.join("index.json")).unwrap();
    assert!(index.contains(&written.manifest.digest) && !index.contains("cosign"), "{index}");
}

/// `attest --format bundle`: a v0.3 bundle (DSSE over the in-toto statement) attached as a
/// referrer; `verify_attestations` reads it beside the `.att` image, and tampering fails.
#[test]
fn bundle_attest_round_trips_and_tampering_fails() {
    use super::bundle::{self, Bundle};
    let (_tmp, store) = cosign_layout();
    let key = cosign_key();
    let cdx = intoto::predicate_type("cyclonedx").unwrap();
    let predicate = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []});
    let a = bundle::attest_image(&store, &key, &cdx, predicate.clone(), Some("127.0.0.1:5013/test/img:t")).unwrap();
    assert_eq!(a.subject.as_str(), COSIGN_IMAGE);
    let v = intoto::verify_attestations(&store, &key.public_key(), Some(&cdx)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].statement.predicate, predicate);
    assert_eq!(v[0].layer, a.bundle);
    // cosign's `.att` attestation beside it, and a signature bundle is not an attestation.
    bundle::sign_image(&store, &key, None).unwrap();
    assert_eq!(intoto::verify_attestations(&store, &key.public_key(), None).unwrap().len(), 2);
    let slsa = intoto::predicate_type("slsaprovenance").unwrap();
    let err = intoto::verify_attestations(&store, &key.public_key(), Some(&slsa)).unwrap_err().to_string();
    assert!(err.contains(&format!("predicate type {cdx} is not {slsa}")), "{err}");
    // Goldens: the bundle (signature redacted) and its referrer manifest.
    let bytes = store.blob(&a.bundle, 1 << 20).unwrap();
    let mut golden: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    golden["dsseEnvelope"]["signatures"][0]["sig"] = "[signature]".into();
    insta::assert_json_snapshot!("bundle_attestation", golden);
    let manifest = store.blob(&a.manifest, 1 << 20).unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(m["annotations"][bundle::PREDICATE_TYPE_ANNOTATION], cdx.as_str());
    m["layers"][0]["digest"] = "[bundle digest]".into();
    m["layers"][0]["size"] = "[bundle size]".into();
    insta::assert_json_snapshot!("bundle_attestation_referrer_manifest", m);
    // An independent parse: the bundle is what Bundle::parse reads.
    let parsed = Bundle::parse(&bytes, "b").unwrap();
    assert_eq!(parsed.statement().unwrap().predicate_type, cdx);

    // Tampering, each attached consistently (digests recomputed), fails with its reason.
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let unb64 = |s: &str| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s).unwrap();
    let mut payload = parsed.clone();
    let env = payload.dsse_envelope.as_mut().unwrap();
    let mut p = unb64(&env.payload);
    let at = p.len() - 5;
    p[at] ^= 1;
    env.payload = b64(&p);
    let mut signature = parsed.clone();
    let env = signature.dsse_envelope.as_mut().unwrap();
    let mut sig = unb64(&env.signatures[0].sig);
    sig[10] ^= 1;
    env.signatures[0].sig = b64(&sig);
    let other = Bundle::sign_statement(
        &intoto::Statement {
            kind: intoto::STATEMENT_V1.into(),
            subject: vec![intoto::StatementSubject {
                name: "x".into(),
                digest: [("sha256".into(), "ab".repeat(32))].into(),
            }],
            predicate_type: cdx.clone(),
            predicate: serde_json::json!({}),
        },
        &key,
    );
    let wrong_key = PrivateKey::generate();
    for (bad, pubkey, expect) in [
        (&payload, key.public_key(), "does not verify with the key".to_string()),
        (&signature, key.public_key(), "does not verify with the key".to_string()),
        (&parsed, wrong_key.public_key(), "does not verify with the key".to_string()),
        (&other, key.public_key(), format!("is about sha256:{}, not this image", "ab".repeat(32))),
    ] {
        let (_t, s) = cosign_layout();
        let index = s.dir().join("index.json");
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
        v["manifests"].as_array_mut().unwrap().retain(|e| e["annotations"]["kind"] != layout::KIND_ATTS);
        std::fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
        let bytes = bad.to_bytes();
        let manifest = bundle::referrer_manifest(&bytes, &s.subject().unwrap(), &cdx);
        s.put_referrer(bundle::BUNDLE_V03_MEDIA_TYPE, &[bytes, b"{}".to_vec()], &manifest).unwrap();
        let err = intoto::verify_attestations(&s, &pubkey, Some(&cdx)).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
        let err = err.to_string();
        assert!(err.contains("attestation bundle 1 (referrer sha256:") && err.contains(&expect), "{expect}: {err}");
    }
    // No `.att` image and no bundle: the message names both places.
    let (_t, s) = cosign_layout();
    let index = s.dir().join("index.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    v["manifests"].as_array_mut().unwrap().retain(|e| e["annotations"]["kind"] != layout::KIND_ATTS);
    std::fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = intoto::verify_attestations(&s, &key.public_key(), None).unwrap_err().to_string();
    assert!(err.contains("no attestations are stored") && err.contains("no attestation bundle"), "{err}");
}

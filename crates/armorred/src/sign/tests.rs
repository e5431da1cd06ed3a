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
    for name in ["ed25519_encrypted_private", "rsa_encrypted_private"] {
        let err = decrypt(&format!("keys/{name}.key"), "123").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SignError::UnsupportedKey { .. }) || msg.contains("not PKCS#8"), "{name}: {msg}");
        assert!(msg.contains(name), "{msg}");
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

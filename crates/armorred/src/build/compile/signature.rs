//! Upstream OpenPGP signatures: a detached armored signature over a source file, made by a
//! pinned key from a keyring kept in the repository.

use std::path::Path;

use pgp::composed::{Deserializable, SignedPublicKey, StandaloneSignature};
use pgp::types::KeyDetails;

/// Checks that `signature` (armored) over `data` was made by the key (primary or subkey) with
/// fingerprint `signer` found in `keyring` (armored, one or more keys). Returns the signer's
/// fingerprint in lowercase hex. Errors are one-line reasons.
pub fn verify_detached(keyring: &[u8], signature: &[u8], data: &[u8], signer: &str) -> Result<String, String> {
    let signer = signer.to_ascii_lowercase();
    let (sig, _) =
        StandaloneSignature::from_armor_single(signature).map_err(|e| format!("unreadable signature: {e}"))?;
    let issuers: Vec<String> = sig.signature.issuer_fingerprint().iter().map(|f| f.to_string()).collect();
    if !issuers.is_empty() && !issuers.contains(&signer) {
        return Err(format!("signed by {}, not by the pinned signer {signer}", issuers.join(", ")));
    }
    for key in read_keyring(keyring)? {
        if key.primary_key.fingerprint().to_string() == signer {
            return sig
                .verify(&key.primary_key, data)
                .map(|()| signer.clone())
                .map_err(|e| format!("bad signature: {e}"));
        }
        for sub in &key.public_subkeys {
            if sub.key.fingerprint().to_string() == signer {
                return sig.verify(&sub.key, data).map(|()| signer.clone()).map_err(|e| format!("bad signature: {e}"));
            }
        }
    }
    Err(format!("the keyring has no key {signer}"))
}

/// Every key of an armored keyring, which may hold several armored blocks one after another
/// (as Debian's `debian/upstream/signing-key.asc` does).
pub fn read_keyring(keyring: &[u8]) -> Result<Vec<SignedPublicKey>, String> {
    const BEGIN: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let starts: Vec<usize> = memchr::memmem::find_iter(keyring, BEGIN).collect();
    if starts.is_empty() {
        return Err("the keyring has no armored public key block".into());
    }
    let mut keys = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(keyring.len());
        let (parsed, _) = SignedPublicKey::from_armor_many(&keyring[start..end])
            .map_err(|e| format!("unreadable keyring block {}: {e}", i + 1))?;
        for key in parsed {
            keys.push(key.map_err(|e| format!("unreadable key in block {}: {e}", i + 1))?);
        }
    }
    Ok(keys)
}

/// sha256 of the keyring file, for the record.
pub fn keyring_sha256(path: &Path) -> std::io::Result<String> {
    crate::fsutil::sha256_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/nginx/keys/nginx-signing-keys.asc");
        std::fs::read(p).expect("keyring")
    }

    #[test]
    fn reads_every_block_of_the_nginx_keyring() {
        let fps: Vec<String> =
            read_keyring(&keyring()).expect("keys").iter().map(|k| k.primary_key.fingerprint().to_string()).collect();
        assert_eq!(fps.len(), 4);
        assert!(fps.contains(&"d6786ce303d9a9022998dc6cc8464d549af75c0a".to_string()));
    }

    #[test]
    fn rejects_wrong_signer_and_garbage() {
        let sig = b"not a signature";
        let e =
            verify_detached(&keyring(), sig, b"x", "D6786CE303D9A9022998DC6CC8464D549AF75C0A").expect_err("garbage");
        assert!(e.contains("unreadable signature"), "{e}");
        let e = read_keyring(b"nothing").expect_err("no keys");
        assert!(e.contains("no armored public key block"), "{e}");
    }
}

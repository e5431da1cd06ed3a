//! cosign's key files: an ECDSA P-256 private key as PKCS#8 DER, encrypted with a key derived
//! by scrypt from a password and sealed with NaCl secretbox (XSalsa20-Poly1305), the JSON of
//! that written base64 in a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (older files:
//! `ENCRYPTED COSIGN PRIVATE KEY`, scrypt N=32768); the public key as a PEM `PUBLIC KEY`
//! (SubjectPublicKeyInfo). The JSON is go-securesystemslib's `encrypted` format, which cosign
//! writes and reads:
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes>"},"ciphertext":"<tag || sealed>"}
//! ```
//!
//! The library takes the password as bytes; asking for it is the caller's business.

use std::path::Path;

use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::SignError;

/// The PEM label cosign writes for private keys.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign versions wrote (still read).
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The PEM label of a public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
/// The largest key file read (cosign's are well under 1 KiB).
pub const MAX_KEY_BYTES: u64 = 64 * 1024;
/// scrypt N of new key files (go-securesystemslib's standard parameter set, as cosign).
pub const SCRYPT_N: u64 = 65536;
/// The most memory a key file's scrypt parameters may ask for (128·N·r bytes): N=65536 with
/// r=8 needs 64 MiB; a hostile file asking for more is refused before any work.
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;

const ECDSA_OID: &str = "1.2.840.10045.2.1";
const P256_OID: &str = "1.2.840.10045.3.1.7";

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// A private signing key (ECDSA P-256, SHA-256, ASN.1 DER signatures: cosign's default).
#[derive(Clone)]
pub struct PrivateKey(p256::ecdsa::SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(ecdsa-p256, ..)")
    }
}

/// A public verification key (ECDSA P-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(p256::ecdsa::VerifyingKey);

impl PrivateKey {
    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        Self(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// Signs `message` (SHA-256, then ECDSA): the ASN.1 DER signature cosign writes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    /// Reads an encrypted key file's text (`what` names it in errors), decrypting with
    /// `password`.
    pub fn from_encrypted_pem(pem: &[u8], password: &[u8], what: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Key { what: what.to_string(), reason };
        let (label, body) = pem_decode(pem).ok_or_else(|| bad("not a PEM file".into()))?;
        if label != SIGSTORE_PRIVATE_KEY_LABEL && label != COSIGN_PRIVATE_KEY_LABEL {
            return Err(match label.as_str() {
                "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => bad(format!(
                    "an unencrypted {label}: cosign key files are encrypted ({SIGSTORE_PRIVATE_KEY_LABEL})"
                )),
                _ => bad(format!("PEM block {label:?} is not {SIGSTORE_PRIVATE_KEY_LABEL:?}")),
            });
        }
        let doc: EncryptedKey = serde_json::from_slice(&body).map_err(|e| bad(format!("malformed key JSON: {e}")))?;
        if doc.kdf.name != "scrypt" {
            return Err(bad(format!("key derivation {:?} is not scrypt", doc.kdf.name)));
        }
        if doc.cipher.name != "nacl/secretbox" {
            return Err(bad(format!("cipher {:?} is not nacl/secretbox", doc.cipher.name)));
        }
        let b64 = |field: &str, v: &str| {
            base64::engine::general_purpose::STANDARD.decode(v).map_err(|e| bad(format!("{field} is not base64: {e}")))
        };
        let salt = b64("salt", &doc.kdf.salt)?;
        let nonce = b64("nonce", &doc.cipher.nonce)?;
        let sealed = b64("ciphertext", &doc.ciphertext)?;
        if nonce.len() != 24 {
            return Err(bad(format!("nonce is {} bytes, not 24", nonce.len())));
        }
        let key = derive(password, &salt, &doc.kdf.params).map_err(bad)?;
        let cipher = crypto_secretbox::XSalsa20Poly1305::new(&key.into());
        let der = cipher
            .decrypt(crypto_secretbox::Nonce::from_slice(&nonce), sealed.as_slice())
            .map_err(|_| SignError::WrongPassword { what: what.to_string() })?;
        Self::from_pkcs8_der(&der, what)
    }

    /// Reads a PKCS#8 DER private key (what the key file holds once decrypted). A SEC1
    /// `EC PRIVATE KEY` is refused, as cosign refuses it.
    pub fn from_pkcs8_der(der: &[u8], what: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Key { what: what.to_string(), reason };
        let info = match p256::pkcs8::PrivateKeyInfo::try_from(der) {
            Ok(info) => info,
            Err(e) => {
                return Err(if p256::SecretKey::from_sec1_der(der).is_ok() {
                    bad("the decrypted key is a SEC1 EC private key, not PKCS#8; cosign does not accept it either"
                        .into())
                } else {
                    bad(format!("the decrypted key is not PKCS#8 DER: {e}"))
                })
            }
        };
        let oid = info.algorithm.oid.to_string();
        let curve = info.algorithm.parameters_oid().ok().map(|o| o.to_string());
        if oid != ECDSA_OID || curve.as_deref() != Some(P256_OID) {
            return Err(SignError::UnsupportedKey { what: what.to_string(), kind: key_kind(&oid, curve.as_deref()) });
        }
        let secret =
            p256::SecretKey::from_pkcs8_der(der).map_err(|e| bad(format!("malformed ECDSA P-256 private key: {e}")))?;
        Ok(Self(secret.into()))
    }

    /// The encrypted key file as cosign writes it (`ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt
    /// N=65536 r=8 p=1, a fresh 32-byte salt and 24-byte nonce).
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String, SignError> {
        let mut salt = [0u8; 32];
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut nonce);
        self.to_encrypted_pem_with(password, &salt, &nonce)
    }

    /// [`Self::to_encrypted_pem`] with the given salt and nonce (tests pin them).
    pub fn to_encrypted_pem_with(
        &self,
        password: &[u8],
        salt: &[u8; 32],
        nonce: &[u8; 24],
    ) -> Result<String, SignError> {
        let der = self
            .0
            .to_pkcs8_der()
            .map_err(|e| SignError::Key { what: "the new key".into(), reason: format!("cannot encode PKCS#8: {e}") })?;
        let params = ScryptParams { n: SCRYPT_N, r: 8, p: 1 };
        let key =
            derive(password, salt, &params).map_err(|reason| SignError::Key { what: "the new key".into(), reason })?;
        let sealed = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
            .encrypt(crypto_secretbox::Nonce::from_slice(nonce), der.as_bytes())
            .map_err(|_| SignError::Key { what: "the new key".into(), reason: "encryption failed".into() })?;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let doc = EncryptedKey {
            kdf: Kdf { name: "scrypt".into(), params, salt: b64(salt) },
            cipher: Cipher { name: "nacl/secretbox".into(), nonce: b64(nonce) },
            ciphertext: b64(&sealed),
        };
        Ok(pem_encode(SIGSTORE_PRIVATE_KEY_LABEL, &serde_json::to_vec(&doc).unwrap_or_default()))
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &[u8], what: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Key { what: what.to_string(), reason };
        let (label, der) = pem_decode(pem).ok_or_else(|| bad("not a PEM file".into()))?;
        if label != PUBLIC_KEY_LABEL {
            return Err(bad(format!("PEM block {label:?} is not {PUBLIC_KEY_LABEL:?}")));
        }
        let spki = p256::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der.as_slice())
            .map_err(|e| bad(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let oid = spki.algorithm.oid.to_string();
        let curve = spki.algorithm.parameters_oid().ok().map(|o| o.to_string());
        if oid != ECDSA_OID || curve.as_deref() != Some(P256_OID) {
            return Err(SignError::UnsupportedKey { what: what.to_string(), kind: key_kind(&oid, curve.as_deref()) });
        }
        let key = p256::PublicKey::from_public_key_der(&der)
            .map_err(|e| bad(format!("malformed ECDSA P-256 public key: {e}")))?;
        Ok(Self(key.into()))
    }

    /// The PEM `PUBLIC KEY` as cosign writes it.
    pub fn to_pem(&self) -> String {
        let der = self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        pem_encode(PUBLIC_KEY_LABEL, &der)
    }

    /// Whether `signature` (ASN.1 DER ECDSA over SHA-256 of `message`) verifies.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        p256::ecdsa::Signature::from_der(signature).is_ok_and(|sig| self.0.verify(message, &sig).is_ok())
    }
}

/// What a key of algorithm `oid` (and curve) is, for "unsupported key type" errors.
fn key_kind(oid: &str, curve: Option<&str>) -> String {
    match (oid, curve) {
        (ECDSA_OID, Some("1.3.132.0.34")) => "ECDSA P-384".into(),
        (ECDSA_OID, Some("1.3.132.0.35")) => "ECDSA P-521".into(),
        (ECDSA_OID, c) => format!("ECDSA on curve {}", c.unwrap_or("?")),
        ("1.3.101.112", _) => "Ed25519".into(),
        ("1.2.840.113549.1.1.1", _) => "RSA".into(),
        (o, _) => format!("algorithm {o}"),
    }
}

/// The 32-byte secretbox key scrypt derives, refusing parameters that are not a power of two
/// or would need more than [`MAX_SCRYPT_MEMORY`].
fn derive(password: &[u8], salt: &[u8], p: &ScryptParams) -> Result<[u8; 32], String> {
    if p.n < 2 || !p.n.is_power_of_two() {
        return Err(format!("scrypt N={} is not a power of two", p.n));
    }
    let memory = 128u64.saturating_mul(p.n).saturating_mul(u64::from(p.r));
    if memory > MAX_SCRYPT_MEMORY || p.p > 16 || p.r == 0 || p.p == 0 {
        return Err(format!(
            "scrypt parameters N={} r={} p={} are out of bounds (at most {} MiB, p at most 16)",
            p.n,
            p.r,
            p.p,
            MAX_SCRYPT_MEMORY >> 20
        ));
    }
    let log_n = p.n.trailing_zeros() as u8;
    let params = scrypt::Params::new(log_n, p.r, p.p, 32).map_err(|e| format!("bad scrypt parameters: {e}"))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out).map_err(|e| format!("scrypt: {e}"))?;
    Ok(out)
}

/// The label and bytes of the first PEM block of `text` (text around it ignored, CRLF read).
pub(crate) fn pem_decode(text: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut lines = text.lines().map(str::trim);
    let label = lines.find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?.to_string();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for l in lines.by_ref() {
        if l == end {
            let bytes = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()).ok()?;
            return Some((label, bytes));
        }
        if l.contains(':') {
            return None; // RFC 1421 headers (Proc-Type): not a cosign file.
        }
        body.push_str(l);
    }
    None
}

/// A PEM block as Go's `pem.EncodeToMemory` writes it (64-column base64, trailing newline).
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Where a key comes from: a file, or an `https://` URL (fetched through [`crate::http`], at
/// most [`MAX_KEY_BYTES`]).
pub fn read_key_source(source: &str) -> Result<Vec<u8>, SignError> {
    if let Some(rest) = source.strip_prefix("https://").or_else(|| source.strip_prefix("http://")) {
        if source.starts_with("http://") && !is_loopback_url(rest) {
            return Err(SignError::Fetch {
                url: source.to_string(),
                reason: "plain http is only used for loopback hosts; use https".into(),
            });
        }
        let client = crate::http::Client::new(crate::http::Deadlines {
            connect: std::time::Duration::from_secs(10),
            stall: std::time::Duration::from_secs(20),
            total: Some(std::time::Duration::from_secs(60)),
        });
        let fetch = |reason: String| SignError::Fetch { url: source.to_string(), reason };
        let resp = client.get(source).call().map_err(|e| fetch(e.to_string()))?;
        return crate::http::read_at_most(resp.into_reader(), MAX_KEY_BYTES)
            .map_err(|e| fetch(e.to_string()))?
            .ok_or_else(|| fetch(format!("larger than {MAX_KEY_BYTES} bytes")));
    }
    Ok(crate::fsutil::read_regular_bounded(Path::new(source), MAX_KEY_BYTES)?)
}

fn is_loopback_url(rest: &str) -> bool {
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.")
}

/// Reads the private key at `source` (file or URL) with `password`.
pub fn load_private_key(source: &str, password: &[u8]) -> Result<PrivateKey, SignError> {
    PrivateKey::from_encrypted_pem(&read_key_source(source)?, password, source)
}

/// Reads the public key at `source` (file or URL).
pub fn load_public_key(source: &str) -> Result<PublicKey, SignError> {
    PublicKey::from_pem(&read_key_source(source)?, source)
}

/// The files [`generate_key_pair`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    /// `<prefix>.key` (mode 0600).
    pub private_key: std::path::PathBuf,
    /// `<prefix>.pub`.
    pub public_key: std::path::PathBuf,
}

/// `armorred key generate`: a new key pair written as `<prefix>.key` (encrypted with
/// `password`, mode 0600) and `<prefix>.pub`. An existing file at either path is never
/// replaced: the call fails before writing anything. Each file is created exclusively.
pub fn generate_key_pair(prefix: &Path, password: &[u8]) -> Result<KeyPairFiles, SignError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let with_ext = |ext: &str| {
        let mut s = prefix.as_os_str().to_os_string();
        s.push(ext);
        std::path::PathBuf::from(s)
    };
    let files = KeyPairFiles { private_key: with_ext(".key"), public_key: with_ext(".pub") };
    for p in [&files.private_key, &files.public_key] {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(SignError::KeyExists { path: p.clone() });
        }
    }
    let key = PrivateKey::generate();
    let private_pem = key.to_encrypted_pem(password)?;
    let public_pem = key.public_key().to_pem();
    let create = |path: &Path, mode: u32, data: &str| -> Result<(), SignError> {
        let io = |source| SignError::Io { path: path.to_path_buf(), source };
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                SignError::KeyExists { path: path.to_path_buf() }
            } else {
                io(e)
            }
        })?;
        f.write_all(data.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| {
            let _ = std::fs::remove_file(path);
            io(e)
        })
    };
    create(&files.private_key, 0o600, &private_pem)?;
    if let Err(e) = create(&files.public_key, 0o644, &public_pem) {
        let _ = std::fs::remove_file(&files.private_key);
        return Err(e);
    }
    Ok(files)
}

/// The pipeline's key pair under `prefix` (`<prefix>.key`, `<prefix>.pub`): read when both
/// are there, generated on first use (in a private directory of mode 0700) when neither is;
/// one without the other is an error, never replaced. Returns the key, the public key's path
/// and whether it was generated now.
pub fn load_or_generate(prefix: &Path, password: &[u8]) -> Result<(PrivateKey, std::path::PathBuf, bool), SignError> {
    use std::os::unix::fs::DirBuilderExt as _;
    let with_ext = |ext: &str| {
        let mut s = prefix.as_os_str().to_os_string();
        s.push(ext);
        std::path::PathBuf::from(s)
    };
    let (private, public) = (with_ext(".key"), with_ext(".pub"));
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let generated = match (exists(&private), exists(&public)) {
        (true, true) => false,
        (false, false) => {
            if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|source| SignError::Io { path: dir.to_path_buf(), source })?;
            }
            generate_key_pair(prefix, password)?;
            true
        }
        (true, false) => return Err(SignError::KeyExists { path: private }),
        (false, true) => return Err(SignError::KeyExists { path: public }),
    };
    let pem = crate::fsutil::read_regular_bounded(&private, 64 << 10)?;
    let key = PrivateKey::from_encrypted_pem(&pem, password, &private.display().to_string())?;
    Ok((key, public, generated))
}

/// Where the pipeline keeps its key pair by default: `$XDG_CONFIG_HOME/armorred/cosign`
/// (`~/.config/armorred/cosign`), outside any repository.
pub fn default_key_prefix() -> Option<std::path::PathBuf> {
    dirs::config_dir().map(|d| d.join("armorred/cosign"))
}

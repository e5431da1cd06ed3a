//! cosign-compatible keys, signatures and attestations.
//!
//! - [`key`]: cosign's encrypted key file and PEM public key (ECDSA P-256).
//! - [`simple`]: cosign 2's "simple signing" payload and signatures (`sign`, `verify`).
//! - [`layout`]: where they are stored: the [`layout::Store`] trait (the signed image's digest,
//!   the attached `sigs`/`atts` manifests, blobs) and its `oci-dir:` implementation, laid out
//!   as `cosign save` lays it out, so that `cosign verify --local-image` reads it.
//!
//! The cosign formats are written by hand: no maintained Rust crate writes them (sigstore-rs
//! verifies registry signatures but has no layout storage and no key-file writer), and they are
//! small, fixed JSON documents pinned here by goldens taken from real cosign output.

pub mod bundle;
pub mod dsse;
pub mod intoto;
pub mod key;
pub mod layout;
pub mod registry;
pub mod simple;

use std::path::PathBuf;

impl SignError {
    /// Whether this is a failed verification (the image or its signatures do not check out),
    /// as opposed to an unusable input.
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Self::Verify { .. } | Self::Altered { .. })
    }
}

pub use key::{generate_key_pair, load_private_key, load_public_key, PrivateKey, PublicKey};

/// The store of an image reference given on the command line: `oci-dir:DIR` (or a bare
/// directory path), or `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]` (cosign's `sha256-<hex>.sig`
/// and `.att` tags beside the image; plain HTTP for loopback and the `insecure` hosts only).
pub fn open_store(image: &str, insecure: &[String]) -> Result<Box<dyn layout::Store>, SignError> {
    use crate::source::Source;
    let unsupported = |reason: &str| SignError::Store { store: image.to_string(), reason: reason.to_string() };
    match Source::parse(image) {
        Ok(Source::OciDir(dir)) => Ok(Box::new(layout::OciDir::new(dir))),
        Ok(Source::Registry(reference)) => {
            let options = crate::registry::Options { insecure_hosts: insecure.to_vec(), ..Default::default() };
            Ok(Box::new(registry::RegistryStore::open(&reference, options)?))
        }
        Ok(_) => {
            Err(unsupported("signatures are stored in an OCI layout or a registry: give oci-dir:DIR or registry:REF"))
        }
        Err(e) => Err(unsupported(&e.to_string())),
    }
}

/// How many images [`verify_images`] checks at once: registry round trips dominate, so a few
/// more threads than cores.
pub const VERIFY_JOBS: usize = 8;

/// Verifies the simple-signing signatures of each image (`oci-dir:` or `registry:`), up to
/// [`VERIFY_JOBS`] at a time, results in the images' order: cosign's `verify IMAGE...`.
pub fn verify_images(
    images: &[String],
    insecure: &[String],
    key: &PublicKey,
    opts: &simple::VerifyOptions,
) -> Vec<Result<Vec<simple::VerifiedSignature>, SignError>> {
    // One client per registry host, shared by its images (connections and tokens reused).
    let mut clients: std::collections::BTreeMap<String, std::sync::Arc<crate::registry::Client>> = Default::default();
    let shared: Vec<Option<(&str, std::sync::Arc<crate::registry::Client>)>> = images
        .iter()
        .map(|image| {
            let r = image.strip_prefix("registry:")?;
            let host = crate::registry::Reference::parse(r).ok()?.host;
            let client = match clients.entry(host) {
                std::collections::btree_map::Entry::Occupied(e) => e.get().clone(),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    let options = crate::registry::Options { insecure_hosts: insecure.to_vec(), ..Default::default() };
                    let c = std::sync::Arc::new(crate::registry::Client::new(slot.key(), options).ok()?);
                    slot.insert(c).clone()
                }
            };
            Some((r, client))
        })
        .collect();
    let jobs: Vec<(&String, &Option<_>)> = images.iter().zip(&shared).collect();
    crate::par::map(&jobs, VERIFY_JOBS, |(image, shared)| {
        // Anything that is not a registry reference (or does not parse) opens as it would alone.
        let store: Box<dyn layout::Store> = match shared {
            Some((r, client)) => Box::new(registry::RegistryStore::open_with(r, client.clone())?),
            None => open_store(image, insecure)?,
        };
        simple::verify(store.as_ref(), key, opts)
    })
}

/// Errors of keys, signing and verification.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key file or key text is not what it must be.
    #[error("key {what}: {reason}")]
    Key {
        /// The key file or URL.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The key file does not decrypt with the password.
    #[error("cannot decrypt the private key {what}: wrong password (or the file was altered)")]
    WrongPassword {
        /// The key file or URL.
        what: String,
    },
    /// A key of a type this build does not sign or verify with.
    #[error(
        "key {what}: unsupported key type {kind} (armorred signs and verifies with ECDSA P-256 keys, cosign's default)"
    )]
    UnsupportedKey {
        /// The key file or URL.
        what: String,
        /// The key's type.
        kind: String,
    },
    /// `key generate` would replace a file.
    #[error("{path} already exists; refusing to overwrite it (remove it or choose another --output-key-prefix)")]
    KeyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file cannot be written or read.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file-system helper failed (bounded reads, atomic writes).
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// A key URL cannot be fetched.
    #[error("cannot fetch {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The image store (an OCI layout) is not what cosign's storage requires.
    #[error("{store}: {reason}")]
    Store {
        /// The layout or registry reference.
        store: String,
        /// What is wrong.
        reason: String,
    },
    /// A blob is not what its digest says: it was altered (a verification failure).
    #[error("{store}: blob {digest} does not match its digest (it hashes to {found}): it was altered")]
    Altered {
        /// The layout or registry reference.
        store: String,
        /// The digest it is stored under.
        digest: String,
        /// What its bytes hash to.
        found: String,
    },
    /// No signature (or attestation) of the image verified; each reason says why one failed.
    #[error("no valid {what} for {subject}: {}", reasons.join("; "))]
    Verify {
        /// `signature` or `attestation`.
        what: String,
        /// The image (`<store>@<digest>`).
        subject: String,
        /// One reason per candidate.
        reasons: Vec<String>,
    },
    /// A predicate or predicate type given to `attest` is unusable.
    #[error("predicate {what}: {reason}")]
    Predicate {
        /// The file or type.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests;

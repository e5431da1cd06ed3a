//! [`Store`] in a registry, as cosign stores signatures there: the signature image of an image
//! `REPO@sha256:<hex>` is the manifest tagged `sha256-<hex>.sig` (attestations `.att`) in the
//! same repository, through the one distribution client ([`crate::registry`]). A tag given for
//! the image is resolved once, when the store opens: everything after signs or verifies that
//! digest, so a tag moved meanwhile cannot swap the image. An image given by digest is not
//! fetched until its manifest is needed (signing names its size and media type; verifying
//! needs only the digest, as cosign's verify).

use super::layout::{attachment_tag, Attachment, Store, Subject};
use super::SignError;
use crate::oci::spec::{media, Digest};
use crate::registry::{Client, Options, Reference, RegistryError};

/// An image in a registry, by digest.
pub struct RegistryStore {
    client: std::sync::Arc<Client>,
    reference: Reference,
    /// The image's digest: the reference's, or its tag's when the store opened.
    digest: Digest,
    /// The image's manifest facts, fetched once when first needed.
    subject: std::sync::OnceLock<Subject>,
}

impl std::fmt::Debug for RegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStore").field("digest", &self.digest).finish_non_exhaustive()
    }
}

fn err(store: &str, e: RegistryError) -> SignError {
    SignError::Store { store: store.to_string(), reason: e.to_string() }
}

impl RegistryStore {
    /// Opens `HOST[:PORT]/REPO[:TAG|@DIGEST]` and resolves it to its manifest digest.
    pub fn open(reference: &str, options: Options) -> Result<Self, SignError> {
        let store = format!("registry:{reference}");
        let parsed = Reference::parse(reference).map_err(|e| err(&store, e))?;
        let client = Client::new(&parsed.host, options).map_err(|e| err(&store, e))?;
        Self::open_with(reference, std::sync::Arc::new(client))
    }

    /// [`RegistryStore::open`] with a client of the reference's host, shared with other stores
    /// (its connections and tokens are reused).
    pub fn open_with(reference: &str, client: std::sync::Arc<Client>) -> Result<Self, SignError> {
        let store = format!("registry:{reference}");
        let reference = Reference::parse(reference).map_err(|e| err(&store, e))?;
        let this = |digest: Digest| Self {
            client: client.clone(),
            reference: reference.clone(),
            digest,
            subject: Default::default(),
        };
        match reference.digest() {
            Some(digest) => Ok(this(digest.clone())),
            None => {
                let m = client.get_manifest(&reference.repo, &reference.reference).map_err(|e| err(&store, e))?;
                let opened = this(m.digest.clone());
                let _ = opened.subject.set(opened.subject_of(m));
                Ok(opened)
            }
        }
    }

    fn subject_of(&self, m: crate::registry::Manifest) -> Subject {
        let media_type = if m.media_type.is_empty() { media::MANIFEST.to_string() } else { m.media_type.clone() };
        let name = Some(format!("{}/{}", self.reference.host, self.reference.repo));
        Subject { size: m.bytes.len() as u64, digest: m.digest, media_type, name }
    }
}

impl Store for RegistryStore {
    fn describe(&self) -> String {
        format!("registry:{}/{}", self.reference.host, self.reference.repo)
    }

    fn attachment_place(&self, kind: Attachment) -> String {
        format!("tag {}", attachment_tag(&self.digest, kind))
    }

    fn digest(&self) -> Result<Digest, SignError> {
        Ok(self.digest.clone())
    }

    fn subject(&self) -> Result<Subject, SignError> {
        if let Some(s) = self.subject.get() {
            return Ok(s.clone());
        }
        let store = format!("registry:{}/{}@{}", self.reference.host, self.reference.repo, self.digest);
        // By digest: the client checks the bytes against it.
        let m = self.client.get_manifest(&self.reference.repo, self.digest.as_str()).map_err(|e| err(&store, e))?;
        if m.digest != self.digest {
            return Err(SignError::Altered { store, digest: self.digest.to_string(), found: m.digest.to_string() });
        }
        Ok(self.subject.get_or_init(|| self.subject_of(m)).clone())
    }

    fn attached(&self, kind: Attachment) -> Result<Option<Vec<u8>>, SignError> {
        let tag = attachment_tag(&self.digest, kind);
        match self.client.get_manifest(&self.reference.repo, &tag) {
            Ok(m) => Ok(Some(m.bytes)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(err(&self.describe(), e)),
        }
    }

    fn blob(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, SignError> {
        self.client.get_blob_bytes(&self.reference.repo, digest, max).map_err(|e| err(&self.describe(), e))
    }

    fn put(&self, kind: Attachment, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError> {
        let repo = &self.reference.repo;
        for blob in blobs {
            self.client
                .push_blob_bytes(repo, "application/octet-stream", blob)
                .map_err(|e| err(&self.describe(), e))?;
        }
        let tag = attachment_tag(&self.digest, kind);
        self.client.put_manifest(repo, &tag, manifest, media::MANIFEST).map_err(|e| err(&self.describe(), e))
    }

    fn referrers(&self, artifact_type: &str) -> Result<Vec<Vec<u8>>, SignError> {
        let repo = &self.reference.repo;
        let (list, _) = self
            .client
            .referrers_or_fallback(repo, &self.digest, Some(artifact_type))
            .map_err(|e| err(&self.describe(), e))?;
        let mut out = Vec::new();
        for r in list.iter().take(super::layout::MAX_LAYERS) {
            let Some(digest) = r.descriptor.digest() else { continue };
            // The manifest is fetched by digest (the client checks its bytes against it).
            let m = self.client.get_manifest(repo, digest.as_str()).map_err(|e| err(&self.describe(), e))?;
            if super::layout::referrer_subject(&m.bytes).as_ref() == Some(&self.digest) {
                out.push(m.bytes);
            }
        }
        Ok(out)
    }

    fn put_referrer(&self, artifact_type: &str, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError> {
        let repo = &self.reference.repo;
        for blob in blobs {
            self.client
                .push_blob_bytes(repo, "application/octet-stream", blob)
                .map_err(|e| err(&self.describe(), e))?;
        }
        let digest = Digest::of(manifest);
        self.client
            .put_manifest(repo, digest.as_str(), manifest, media::MANIFEST)
            .map_err(|e| err(&self.describe(), e))?;
        let stored = crate::registry::Manifest {
            bytes: manifest.to_vec(),
            media_type: media::MANIFEST.to_string(),
            digest: digest.clone(),
        };
        self.client
            .add_referrer(repo, &self.digest, &stored, Some(artifact_type))
            .map_err(|e| err(&self.describe(), e))?;
        Ok(digest)
    }

    fn referrers_place(&self) -> String {
        format!("referrer, through the referrers API or the tag {}", crate::registry::referrers_tag(&self.digest))
    }
}

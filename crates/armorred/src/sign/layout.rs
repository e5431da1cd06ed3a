//! Where signatures and attestations are stored, as cosign stores them.
//!
//! cosign keeps the signatures of an image in a separate "signature image": an OCI image
//! manifest whose layers are the signed payloads (each with its signature in an annotation)
//! and whose config is the empty config go-containerregistry writes. In a registry it is
//! tagged `sha256-<hex>.sig` (attestations `.att`); in an OCI layout (`cosign save`) it is an
//! `index.json` entry annotated `kind: dev.cosignproject.cosign/sigs` (`/atts`), beside the
//! image's own entry, annotated `kind: dev.cosignproject.cosign/image`.
//!
//! [`Store`] is what signing needs from either place: the signed image's digest, the attached
//! manifest, blobs, and storing a new attached manifest with its blobs. [`OciDir`] implements it
//! for layouts; a registry implements it with the tag scheme ([`attachment_tag`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SignError;
use crate::oci::spec::{media, Digest};

/// The `index.json` annotation key cosign marks its entries with, and its values.
pub use crate::oci::spec::cosign::{
    ATTS as KIND_ATTS, IMAGE as KIND_IMAGE, IMAGE_INDEX as KIND_IMAGE_INDEX, KIND as KIND_ANNOTATION, SIGS as KIND_SIGS,
};
/// The largest `index.json` or manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The most layers (signatures) a signature image may hold (cosign's bound).
pub const MAX_LAYERS: usize = 1000;

/// What is attached to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Signatures (`.sig`, `kind: dev.cosignproject.cosign/sigs`).
    Signatures,
    /// Attestations (`.att`, `kind: dev.cosignproject.cosign/atts`).
    Attestations,
}

impl Attachment {
    /// The layout's `kind` annotation.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Signatures => KIND_SIGS,
            Self::Attestations => KIND_ATTS,
        }
    }

    /// The registry tag suffix (`sig`, `att`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Signatures => "sig",
            Self::Attestations => "att",
        }
    }
}

/// cosign's tag for what is attached to `subject` in a registry: `sha256-<hex>.sig` / `.att`.
pub fn attachment_tag(subject: &Digest, attachment: Attachment) -> String {
    format!("sha256-{}.{}", subject.hex(), attachment.suffix())
}

/// The signed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Its manifest (or index) digest: what a signature names.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its manifest's size in bytes (a referrer's `subject` descriptor names it).
    pub size: u64,
    /// The repository name recorded with it, if any (an OCI layout's `ref.name` without tag).
    pub name: Option<String>,
}

/// Where an image's signatures and attestations live.
pub trait Store {
    /// The store, for messages (`oci-dir:DIR`, `registry:HOST/REPO`).
    fn describe(&self) -> String;
    /// The signed image (its manifest checked against its digest).
    fn subject(&self) -> Result<Subject, SignError>;
    /// The signed image's digest: all that verification needs (a store may know it without
    /// reading the manifest).
    fn digest(&self) -> Result<Digest, SignError> {
        Ok(self.subject()?.digest)
    }
    /// The manifest of the signature image of `kind`, if any, checked against its digest.
    fn attached(&self, kind: Attachment) -> Result<Option<Vec<u8>>, SignError>;
    /// Where that manifest is looked for, for messages (`the index.json entry of kind ...`).
    fn attachment_place(&self, kind: Attachment) -> String {
        format!("index.json entry of kind {}", kind.kind())
    }
    /// A blob, at most `max` bytes, checked against `digest`.
    fn blob(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, SignError>;
    /// Stores `blobs`, then `manifest` (an OCI image manifest) as the signature image of
    /// `kind`, replacing the previous one. The blobs are stored before the manifest names them.
    fn put(&self, kind: Attachment, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError>;
    /// The manifests (bytes, checked against their digests) of the OCI 1.1 referrers of the
    /// signed image whose `artifactType` is `artifact_type` (cosign 3's bundles).
    fn referrers(&self, artifact_type: &str) -> Result<Vec<Vec<u8>>, SignError>;
    /// Stores `blobs`, then `manifest` (an OCI image manifest whose `subject` is the signed
    /// image and whose `artifactType` is `artifact_type`) as a referrer of the signed image,
    /// beside the ones already there. Returns the manifest's digest.
    fn put_referrer(&self, artifact_type: &str, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError>;
    /// Where referrers are looked for, for messages.
    fn referrers_place(&self) -> String {
        "index.json entries with an artifactType".into()
    }
}

/// A descriptor as go-containerregistry writes it (field order `mediaType`, `size`, `digest`,
/// `annotations`), so that the manifests are byte-identical to cosign's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigDescriptor {
    /// `mediaType`.
    pub media_type: String,
    /// `size`.
    pub size: u64,
    /// `digest`.
    pub digest: Digest,
    /// `annotations` (sorted, as Go writes a map).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigManifest {
    schema_version: u32,
    #[serde(default)]
    media_type: Option<String>,
    config: SigDescriptor,
    layers: Vec<SigDescriptor>,
}

/// A signature image: its layers (payloads), bottom first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigImage {
    /// One layer per signature or attestation.
    pub layers: Vec<SigDescriptor>,
}

impl SigImage {
    /// Reads a signature image manifest (`what` names it in errors).
    pub fn parse(manifest: &[u8], what: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Store { store: what.to_string(), reason };
        let m: SigManifest = serde_json::from_slice(crate::json::strip_bom(manifest))
            .map_err(|e| bad(format!("malformed signature manifest: {e}")))?;
        if m.layers.len() > MAX_LAYERS {
            return Err(bad(format!("the signature manifest has {} layers, more than {MAX_LAYERS}", m.layers.len())));
        }
        Ok(Self { layers: m.layers })
    }

    /// The config cosign writes (go-containerregistry's empty image with these layers appended):
    /// every diff id is the layer digest (the payloads are stored uncompressed).
    pub fn config(&self) -> Vec<u8> {
        let history = vec![r#"{"created":"0001-01-01T00:00:00Z"}"#; self.layers.len()].join(",");
        let diff_ids: Vec<String> = self.layers.iter().map(|l| format!("\"{}\"", l.digest)).collect();
        format!(
            r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{history}],"os":"","rootfs":{{"type":"layers","diff_ids":[{}]}},"config":{{}}}}"#,
            diff_ids.join(",")
        )
        .into_bytes()
    }

    /// The config and the manifest, as cosign writes them.
    pub fn serialize(&self) -> (Vec<u8>, Vec<u8>) {
        let config = self.config();
        let manifest = SigManifest {
            schema_version: 2,
            media_type: Some(media::MANIFEST.into()),
            config: SigDescriptor {
                media_type: media::CONFIG.into(),
                size: config.len() as u64,
                digest: Digest::of(&config),
                annotations: BTreeMap::new(),
            },
            layers: self.layers.clone(),
        };
        let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        (config, bytes)
    }
}

/// Appends one layer (`payload` of `media_type`, with `annotations`) to the signature image of
/// `kind` in `store` (a new one when there is none) and stores it: payload and config first,
/// then the manifest. Returns the new manifest's digest.
pub fn append(
    store: &dyn Store,
    kind: Attachment,
    media_type: &str,
    payload: Vec<u8>,
    annotations: BTreeMap<String, String>,
) -> Result<Digest, SignError> {
    let mut image = match store.attached(kind)? {
        Some(m) => SigImage::parse(&m, &store.describe())?,
        None => SigImage::default(),
    };
    if image.layers.len() >= MAX_LAYERS {
        return Err(SignError::Store {
            store: store.describe(),
            reason: format!("the signature image already holds {MAX_LAYERS} layers"),
        });
    }
    image.layers.push(SigDescriptor {
        media_type: media_type.to_string(),
        size: payload.len() as u64,
        digest: Digest::of(&payload),
        annotations,
    });
    let (config, manifest) = image.serialize();
    store.put(kind, &[payload, config], &manifest)
}

/// An OCI image layout directory (`oci-dir:DIR`), read and written as `cosign save` writes it.
#[derive(Debug, Clone)]
pub struct OciDir {
    dir: PathBuf,
}

impl OciDir {
    /// The layout at `dir` (read when used).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn err(&self, reason: impl Into<String>) -> SignError {
        SignError::Store { store: self.describe(), reason: reason.into() }
    }

    fn index(&self) -> Result<serde_json::Map<String, Value>, SignError> {
        let path = self.dir.join("index.json");
        if !path.exists() {
            return Err(self.err("no index.json: not an OCI image layout"));
        }
        let bytes = crate::fsutil::read_regular_bounded(&path, MAX_MANIFEST_BYTES)?;
        match crate::json::from_slice(&bytes) {
            Ok(Value::Object(m)) if m.get("manifests").is_some_and(Value::is_array) => Ok(m),
            Ok(_) => Err(self.err("index.json is not an image index with a manifests list")),
            Err(e) => Err(self.err(format!("malformed index.json: {e}"))),
        }
    }

    fn entries(index: &serde_json::Map<String, Value>) -> &[Value] {
        index.get("manifests").and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    fn kind_of(entry: &Value) -> Option<&str> {
        entry.get("annotations")?.get(KIND_ANNOTATION)?.as_str()
    }

    fn is_attachment(entry: &Value) -> bool {
        matches!(Self::kind_of(entry), Some(k) if k == Attachment::Signatures.kind() || k == Attachment::Attestations.kind())
            || Self::kind_of(entry) == Some(crate::registry::copy::KIND_REFERRER)
            || entry.get("artifactType").is_some()
    }

    /// The `artifactType` of a referrer entry: the annotation `pull --with-attachments` writes,
    /// else the descriptor's own field.
    fn artifact_type_of(entry: &Value) -> Option<&str> {
        entry
            .get("annotations")
            .and_then(|a| a.get(crate::registry::copy::ARTIFACT_TYPE))
            .or_else(|| entry.get("artifactType"))
            .and_then(Value::as_str)
    }

    /// The index of the subject's entry: the one marked as cosign's image (or image index),
    /// else the only entry that is not a signature or attestation image.
    fn subject_entry(&self, entries: &[Value]) -> Result<usize, SignError> {
        if let Some(i) =
            entries.iter().position(|e| matches!(Self::kind_of(e), Some(KIND_IMAGE) | Some(KIND_IMAGE_INDEX)))
        {
            return Ok(i);
        }
        let candidates: Vec<usize> = (0..entries.len()).filter(|i| !Self::is_attachment(&entries[*i])).collect();
        match candidates.as_slice() {
            [i] => Ok(*i),
            [] => Err(self.err("index.json lists no image")),
            many => Err(self.err(format!(
                "index.json lists {} images and none is marked kind: {KIND_IMAGE}; cannot tell which one is signed",
                many.len()
            ))),
        }
    }

    fn entry_digest(&self, entry: &Value) -> Result<Digest, SignError> {
        entry
            .get("digest")
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| self.err("an index.json entry has no sha256 digest"))
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Store for OciDir {
    fn describe(&self) -> String {
        format!("oci-dir:{}", self.dir.display())
    }

    fn subject(&self) -> Result<Subject, SignError> {
        let index = self.index()?;
        let entries = Self::entries(&index);
        let entry = &entries[self.subject_entry(entries)?];
        let digest = self.entry_digest(entry)?;
        // The manifest must be there and be what index.json says it is.
        let size = self.blob(&digest, MAX_MANIFEST_BYTES)?.len() as u64;
        let media_type = entry.get("mediaType").and_then(Value::as_str).unwrap_or(media::MANIFEST).to_string();
        let name = entry
            .get("annotations")
            .and_then(|a| a.get(crate::oci::spec::REF_NAME))
            .and_then(Value::as_str)
            .map(|n| repository_of(n).to_string())
            .filter(|n| !n.is_empty());
        Ok(Subject { digest, media_type, size, name })
    }

    fn attached(&self, kind: Attachment) -> Result<Option<Vec<u8>>, SignError> {
        let index = self.index()?;
        let Some(entry) = Self::entries(&index).iter().find(|e| Self::kind_of(e) == Some(kind.kind())) else {
            return Ok(None);
        };
        let digest = self.entry_digest(entry)?;
        self.blob(&digest, MAX_MANIFEST_BYTES).map(Some)
    }

    fn blob(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, SignError> {
        let path = self.blob_path(digest);
        if !path.exists() {
            return Err(self.err(format!("blob {digest} is missing")));
        }
        let bytes = crate::fsutil::read_regular_bounded(&path, max)?;
        let found = Digest::of(&bytes);
        if &found != digest {
            return Err(SignError::Altered {
                store: self.describe(),
                digest: digest.to_string(),
                found: found.to_string(),
            });
        }
        Ok(bytes)
    }

    fn put(&self, kind: Attachment, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError> {
        let new_entry = serde_json::json!({
            "mediaType": media::MANIFEST,
            "size": manifest.len(),
            "digest": Digest::of(manifest).as_str(),
            "annotations": { KIND_ANNOTATION: kind.kind() },
        });
        self.store_entry(blobs, manifest, new_entry, |e| Self::kind_of(e) == Some(kind.kind()))
    }

    fn referrers(&self, artifact_type: &str) -> Result<Vec<Vec<u8>>, SignError> {
        let subject = self.subject()?;
        let index = self.index()?;
        let mut out = Vec::new();
        for entry in Self::entries(&index) {
            if !Self::is_attachment(entry) || Self::artifact_type_of(entry) != Some(artifact_type) {
                continue;
            }
            let digest = self.entry_digest(entry)?;
            let bytes = self.blob(&digest, MAX_MANIFEST_BYTES)?;
            // Only the referrers of this image: a manifest's `subject` says which one it is about.
            if referrer_subject(&bytes).as_ref() == Some(&subject.digest) {
                out.push(bytes);
            }
        }
        Ok(out)
    }

    fn put_referrer(&self, artifact_type: &str, blobs: &[Vec<u8>], manifest: &[u8]) -> Result<Digest, SignError> {
        let digest = Digest::of(manifest);
        let new_entry = serde_json::json!({
            "mediaType": media::MANIFEST,
            "size": manifest.len(),
            "digest": digest.as_str(),
            "artifactType": artifact_type,
            "annotations": {
                KIND_ANNOTATION: crate::registry::copy::KIND_REFERRER,
                crate::registry::copy::ARTIFACT_TYPE: artifact_type,
            },
        });
        self.store_entry(blobs, manifest, new_entry, |e| {
            e.get("digest").and_then(Value::as_str) == Some(digest.as_str())
        })
    }
}

impl OciDir {
    /// Writes `blobs` and `manifest`, marks the subject as cosign marks it, and puts
    /// `new_entry` in index.json in place of the entry `replaces` matches (else appended).
    fn store_entry(
        &self,
        blobs: &[Vec<u8>],
        manifest: &[u8],
        new_entry: Value,
        replaces: impl Fn(&Value) -> bool,
    ) -> Result<Digest, SignError> {
        let mut index = self.index()?;
        let subject = self.subject_entry(Self::entries(&index))?;
        let dir = self.dir.join("blobs/sha256");
        std::fs::create_dir_all(&dir).map_err(|source| SignError::Io { path: dir.clone(), source })?;
        // Nothing is written through a symbolic link (it could point anywhere).
        let refuse_link = |path: &Path| match std::fs::symlink_metadata(path) {
            Ok(m) if !m.is_file() => Err(self.err(format!(
                "{} is {}, not a regular file; refusing to write it",
                path.display(),
                crate::fsutil::FileKind::of(m.file_type())
            ))),
            _ => Ok(()),
        };
        refuse_link(&self.dir.join("index.json"))?;
        for blob in blobs.iter().map(Vec::as_slice).chain([manifest]) {
            let digest = Digest::of(blob);
            let path = self.blob_path(&digest);
            refuse_link(&path)?;
            // A blob already there is kept when it is the same bytes; an altered one is replaced.
            if self.blob(&digest, blob.len() as u64).is_err() {
                crate::fsutil::write_bytes_atomic(&path, blob)?;
            }
        }
        let digest = Digest::of(manifest);
        let Some(Value::Array(entries)) = index.get_mut("manifests") else {
            return Err(self.err("index.json is not an image index with a manifests list"));
        };
        // The signed image is marked as cosign marks it, its other annotations kept.
        if let Some(e) = entries.get_mut(subject).and_then(Value::as_object_mut) {
            let image_kind = match e.get("mediaType").and_then(Value::as_str) {
                Some(t) if media::INDEX_TYPES.contains(&t) => KIND_IMAGE_INDEX,
                _ => KIND_IMAGE,
            };
            let annotations = e.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(a) = annotations {
                a.entry(KIND_ANNOTATION).or_insert_with(|| Value::String(image_kind.into()));
            }
        }
        match entries.iter().position(replaces) {
            Some(i) => entries[i] = new_entry,
            None => entries.push(new_entry),
        }
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        crate::fsutil::write_bytes_atomic(&self.dir.join("index.json"), &bytes)?;
        Ok(digest)
    }
}

/// The `subject.digest` of a referrer manifest, if it has one.
pub fn referrer_subject(manifest: &[u8]) -> Option<Digest> {
    let v: Value = serde_json::from_slice(crate::json::strip_bom(manifest)).ok()?;
    v.get("subject")?.get("digest")?.as_str()?.parse().ok()
}

/// `host/repo` of `host/repo:tag` or `host/repo@sha256:…` (a port's colon kept).
pub fn repository_of(reference: &str) -> &str {
    let r = reference.split('@').next().unwrap_or(reference);
    match r.rfind(':') {
        Some(i) if !r[i..].contains('/') => &r[..i],
        _ => r,
    }
}

/// A repository name as go-containerregistry's `Context().Name()` spells it (what cosign
/// writes as `docker-reference`): Docker Hub names get `index.docker.io/` and `library/`.
pub fn normalize_repository(reference: &str) -> String {
    let repo = repository_of(reference.trim());
    let (first, rest) = repo.split_once('/').unwrap_or(("", repo));
    let has_domain = !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let (domain, path) = if has_domain { (first, rest) } else { ("index.docker.io", repo) };
    let domain = if domain == "docker.io" { "index.docker.io" } else { domain };
    if domain == "index.docker.io" && !path.contains('/') {
        format!("{domain}/library/{path}")
    } else {
        format!("{domain}/{path}")
    }
}

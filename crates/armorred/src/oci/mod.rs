//! OCI output: deterministic layer tars, the image configuration and manifest, and two
//! serializations of them: an OCI image layout directory ([`write_layout`]) and a
//! `docker load`-able archive ([`write_docker_archive`], which also holds the OCI layout).
//!
//! Invariants: the same [`Image`] gives the same bytes (entries sorted, mtime fixed, owners
//! normalized, gzip header without name or time, fixed level); outputs appear complete or not
//! at all.

pub mod layer;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use spec::{Descriptor, ImageConfig, ImageIndex, ImageManifest};

pub use layer::{layer_from_tree, Layer};

/// OCI media types used here (defined in [`spec::media`]).
pub use spec::media;

/// Errors while writing images.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Writing failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The output.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Building a layer failed.
    #[error("cannot build layer: {0}")]
    Layer(String),
    /// An output target is unusable.
    #[error("bad output {target}: {detail}")]
    Output {
        /// The target.
        target: String,
        /// Why.
        detail: String,
    },
}

/// The runtime configuration written into the image config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// `User`.
    pub user: String,
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `ExposedPorts`.
    pub ports: Vec<String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// `Env` (sorted by name).
    pub env: BTreeMap<String, String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `WorkingDir`.
    pub workdir: Option<String>,
    /// `Volumes`.
    pub volumes: Vec<String>,
}

/// An image ready to be serialized.
#[derive(Debug, Clone)]
pub struct Image {
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    /// Runtime configuration.
    pub config: RuntimeConfig,
    /// Architecture (`amd64`).
    pub architecture: String,
    /// SOURCE_DATE_EPOCH: `created` in config, history and annotations.
    pub created_epoch: i64,
    /// `created_by` of the history entry.
    pub created_by: String,
    /// Manifest annotations (`org.opencontainers.image.*`).
    pub annotations: BTreeMap<String, String>,
    /// Reference name in index.json and tag in the docker archive (`armorred/nginx:hardened`).
    pub ref_name: String,
}

/// One serialized blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub data: Vec<u8>,
}

impl Blob {
    fn new(data: Vec<u8>) -> Self {
        Self { digest: spec::Digest::of(&data).to_string(), data }
    }

    fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// What was (or would be) written.
#[derive(Debug, Clone)]
pub struct Serialized {
    /// The manifest.
    pub manifest: Blob,
    /// The config.
    pub config: Blob,
    /// index.json bytes.
    pub index: Vec<u8>,
    /// Compressed size of all layers.
    pub compressed_size: u64,
    /// Uncompressed size of all layers (tar bytes).
    pub uncompressed_size: u64,
}

const OCI_LAYOUT: &[u8] = b"{\"imageLayoutVersion\":\"1.0.0\"}";

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A descriptor of `blob` (digests of blobs are computed by [`Blob::new`], so well-formed).
fn descriptor(media_type: &str, blob: &Blob) -> Descriptor {
    Descriptor {
        media_type: Some(media_type.to_string()),
        digest: Some(blob.digest.clone()),
        size: Some(blob.data.len() as u64),
        annotations: None,
        platform: None,
    }
}

/// Builds config, manifest and index for `image` (no I/O).
pub fn serialize(image: &Image) -> Serialized {
    let created = crate::clock::rfc3339(image.created_epoch);
    let c = &image.config;
    let some = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    let runtime = spec::RuntimeConfig {
        user: Some(c.user.clone()),
        exposed_ports: (!c.ports.is_empty()).then(|| spec::KeySet(c.ports.clone())),
        volumes: (!c.volumes.is_empty()).then(|| spec::KeySet(c.volumes.clone())),
        env: (!c.env.is_empty()).then(|| c.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        entrypoint: some(&c.entrypoint),
        cmd: some(&c.cmd),
        working_dir: c.workdir.clone(),
        labels: (!c.labels.is_empty()).then(|| c.labels.clone()),
        stop_signal: c.stop_signal.clone(),
    };
    let config = Blob::new(to_json(&ImageConfig {
        created: Some(created.clone()),
        architecture: image.architecture.clone(),
        os: "linux".into(),
        config: Some(runtime),
        rootfs: spec::RootFs {
            kind: "layers".into(),
            diff_ids: image.layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        history: Some(vec![spec::History { created: Some(created), created_by: Some(image.created_by.clone()) }]),
    }));
    let manifest = Blob::new(to_json(&ImageManifest {
        schema_version: 2,
        media_type: Some(media::MANIFEST.into()),
        config: Some(descriptor(media::CONFIG, &config)),
        layers: Some(image.layers.iter().map(|l| descriptor(media::LAYER_GZIP, &l.blob)).collect()),
        annotations: (!image.annotations.is_empty()).then(|| image.annotations.clone()),
    }));
    let index = to_json(&ImageIndex {
        schema_version: 2,
        media_type: Some(media::INDEX.into()),
        manifests: Some(vec![Descriptor {
            annotations: Some([(spec::REF_NAME.to_string(), image.ref_name.clone())].into()),
            ..descriptor(media::MANIFEST, &manifest)
        }]),
        annotations: None,
    });
    Serialized {
        compressed_size: image.layers.iter().map(|l| l.blob.data.len() as u64).sum(),
        uncompressed_size: image.layers.iter().map(|l| l.uncompressed_size).sum(),
        manifest,
        config,
        index,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OciError + '_ {
    move |source| OciError::Io { path: path.to_path_buf(), source }
}

/// The largest `index.json` or manifest read when deciding whether an existing output
/// directory is a layout we wrote (ours are a few hundred bytes).
pub const MAX_LAYOUT_JSON: u64 = 1 << 20;

/// What is at an `oci-dir:` output path before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LayoutTarget {
    /// Nothing.
    Absent,
    /// An empty directory.
    Empty,
    /// A layout as [`write_layout`] writes it: the blob files it holds (hex names).
    Ours(Vec<String>),
}

/// Reads a small regular file (never through a symlink: the caller checked the type).
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    // A regular file only: a FIFO put in place of index.json is refused, not waited on.
    crate::fsutil::read_regular_bounded(path, MAX_LAYOUT_JSON).map_err(std::io::Error::other)
}

/// Whether an index entry is something attached to the image (a signature, attestation or
/// referrer: the entries `cosign save` and `armorred sign` add, annotated `kind`), not the image.
fn is_attached(d: &Descriptor) -> bool {
    d.annotation(spec::cosign::KIND)
        .is_some_and(|k| [spec::cosign::SIGS, spec::cosign::ATTS, spec::cosign::REFERRER].contains(&k))
}

/// Decides whether `dir` may be replaced. Ours means: a directory (not a symlink) holding only
/// `oci-layout` (our bytes), `index.json` naming exactly one manifest, and `blobs/sha256/`
/// with regular files named by their hex digest, each the manifest, its config or one of its
/// layers; nothing else, no symlink anywhere.
fn inspect_layout_target(dir: &Path) -> Result<LayoutTarget, OciError> {
    let refuse = |detail: String| OciError::Output { target: dir.display().to_string(), detail };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LayoutTarget::Absent),
        Err(source) => return Err(OciError::Io { path: dir.to_path_buf(), source }),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symlink; refusing to write through it (give the real path)".into()));
    }
    if !meta.is_dir() {
        return Err(refuse(format!(
            "exists and is {}, not a directory",
            crate::fsutil::FileKind::of(meta.file_type())
        )));
    }
    let list = |d: &Path| -> Result<Vec<(String, std::fs::FileType)>, OciError> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).map_err(io(d))? {
            let e = e.map_err(io(d))?;
            let ft = e.file_type().map_err(io(d))?;
            out.push((e.file_name().to_string_lossy().into_owned(), ft));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    };
    let top = list(dir)?;
    if top.is_empty() {
        return Ok(LayoutTarget::Empty);
    }
    let not_ours = |what: String| {
        refuse(format!(
            "exists and is not an OCI layout written by armorred ({what}); refusing to replace it: remove it or choose another path"
        ))
    };
    let mut blobs = Vec::new();
    let mut index = None;
    for (name, ft) in &top {
        match name.as_str() {
            "oci-layout" | "index.json" if ft.is_file() => {
                let p = dir.join(name);
                let data = read_small(&p).map_err(io(&p))?;
                if name == "oci-layout" {
                    if data != OCI_LAYOUT {
                        return Err(not_ours("oci-layout is not the one armorred writes".into()));
                    }
                } else {
                    index = Some(data);
                }
            }
            "blobs" if ft.is_dir() => {
                let b = dir.join("blobs");
                for (n, t) in list(&b)? {
                    if n != "sha256" || !t.is_dir() {
                        return Err(not_ours(format!("unexpected blobs/{n}")));
                    }
                }
                let b = b.join("sha256");
                if b.exists() {
                    for (n, t) in list(&b)? {
                        if !t.is_file() || !crate::fsutil::is_sha256_hex(&n) {
                            return Err(not_ours(format!("unexpected blobs/sha256/{n}")));
                        }
                        blobs.push(n);
                    }
                }
            }
            _ => {
                let kind = if ft.is_symlink() { " (a symlink)" } else { "" };
                return Err(not_ours(format!("unexpected {name}{kind}")));
            }
        }
    }
    let Some(index) = index else { return Err(not_ours("no index.json".into())) };
    let index: ImageIndex = serde_json::from_slice(&index).map_err(|e| not_ours(format!("index.json: {e}")))?;
    // One image, and what cosign attached to it in the layout (signatures, attestations: the
    // entries `cosign save` and `armorred sign` add, annotated `kind`); they go with the image.
    let entries = index.manifests.as_deref().unwrap_or_default();
    let images: Vec<_> = entries.iter().filter(|d| !is_attached(d)).collect();
    let manifest_hex = match images.as_slice() {
        [m] => m.digest(),
        _ => None,
    }
    .ok_or_else(|| not_ours("index.json does not name exactly one sha256 manifest".into()))?
    .hex()
    .to_string();
    let mut known = vec![manifest_hex.clone()];
    for hex in std::iter::once(manifest_hex.clone())
        .chain(entries.iter().filter(|d| is_attached(d)).filter_map(|d| d.digest().map(|g| g.hex().to_string())))
    {
        known.push(hex.clone());
        if !blobs.contains(&hex) {
            continue;
        }
        let p = dir.join("blobs/sha256").join(&hex);
        let m: ImageManifest =
            serde_json::from_slice(&read_small(&p).map_err(io(&p))?).map_err(|e| not_ours(format!("manifest: {e}")))?;
        let digests = m.config.iter().chain(m.layers.iter().flatten());
        known.extend(digests.filter_map(|d| d.digest.as_deref()?.strip_prefix("sha256:").map(str::to_string)));
    }
    // Each signature or attestation appended writes a new signature image and leaves the one it
    // replaced: a blob that is a manifest of cosign's signature layers (simple signing, DSSE)
    // is part of the signed image's history, with its config and layers.
    if entries.iter().any(is_attached) {
        for hex in blobs.clone() {
            if known.contains(&hex) {
                continue;
            }
            let p = dir.join("blobs/sha256").join(&hex);
            let Ok(m) = serde_json::from_slice::<ImageManifest>(&read_small(&p).map_err(io(&p))?) else { continue };
            let layers = m.layers.as_deref().unwrap_or_default();
            let signature_layer = |d: &Descriptor| {
                d.media_type.as_deref().is_some_and(|t| {
                    [media::COSIGN_SIMPLE_SIGNING, media::DSSE_ENVELOPE, media::SIGSTORE_BUNDLE].contains(&t)
                })
            };
            if !layers.is_empty() && layers.iter().all(signature_layer) {
                known.push(hex);
                let digests = m.config.iter().chain(layers);
                known.extend(digests.filter_map(|d| d.digest.as_deref()?.strip_prefix("sha256:").map(str::to_string)));
            }
        }
    }
    if let Some(extra) = blobs.iter().find(|b| !known.contains(b)) {
        return Err(not_ours(format!("blobs/sha256/{extra} is not part of its image")));
    }
    Ok(LayoutTarget::Ours(blobs))
}

/// Checks, before any work, that [`write_layout`] may write `dir` (absent, an empty directory
/// or a layout armorred wrote); the same check runs again when it writes.
pub fn check_layout_target(dir: &Path) -> Result<(), OciError> {
    inspect_layout_target(dir).map(|_| ())
}

/// Whether `dir` still holds the image [`write_layout`] wrote there with `index` (its
/// `index.json` bytes): a layout of ours whose one image entry is that index's, with the
/// manifest, config and every layer present as regular files of their recorded size and sha256
/// (each hashed in full). When it does and signatures or attestations were attached since, they
/// are dropped (`index` written back, their blobs removed: the files [`inspect_layout_target`]
/// listed as ours and nothing else), so the layout is again exactly what the build wrote.
pub fn restore_layout(dir: &Path, index: &[u8]) -> Result<bool, OciError> {
    let LayoutTarget::Ours(blobs) = inspect_layout_target(dir)? else { return Ok(false) };
    // The image's entry: the one not attached to it (signing marks it `kind: …/image`).
    let image_entry = |bytes: &[u8]| -> Option<Descriptor> {
        let index: ImageIndex = serde_json::from_slice(bytes).ok()?;
        let mut images = index.manifests?.into_iter().filter(|d| !is_attached(d));
        let image = images.next()?;
        images.next().is_none().then_some(image)
    };
    let same =
        |a: &Descriptor, b: &Descriptor| (&a.media_type, &a.digest, a.size) == (&b.media_type, &b.digest, b.size);
    let Some(built) = image_entry(index) else { return Ok(false) };
    let index_path = dir.join("index.json");
    let current = read_small(&index_path).map_err(io(&index_path))?;
    if current != index && !image_entry(&current).is_some_and(|d| same(&d, &built)) {
        return Ok(false);
    }
    let sha = dir.join("blobs/sha256");
    let holds = |d: &Descriptor| {
        let (Some(digest), Some(size)) = (d.digest(), d.size) else { return false };
        let p = sha.join(digest.hex());
        std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() == size)
            && crate::fsutil::sha256_file(&p).is_ok_and(|h| h == digest.hex())
    };
    if !holds(&built) {
        return Ok(false);
    }
    let Some(manifest_digest) = built.digest() else { return Ok(false) };
    let manifest_path = sha.join(manifest_digest.hex());
    let manifest: ImageManifest = match serde_json::from_slice(&read_small(&manifest_path).map_err(io(&manifest_path))?)
    {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    let parts: Vec<&Descriptor> = manifest.config.iter().chain(manifest.layers.iter().flatten()).collect();
    if manifest.config.is_none() || !parts.iter().all(|d| holds(d)) {
        return Ok(false);
    }
    if current != index {
        crate::fsutil::write_bytes_atomic(&index_path, index)
            .map_err(|e| OciError::Io { path: index_path.clone(), source: std::io::Error::other(e) })?;
        let keep: Vec<String> =
            std::iter::once(&built).chain(parts).filter_map(|d| Some(d.digest()?.hex().to_string())).collect();
        for b in blobs.iter().filter(|b| !keep.contains(b)) {
            let p = sha.join(b);
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                std::fs::remove_file(&p).map_err(io(&p))?;
            }
        }
    }
    Ok(true)
}

/// Removes a layout [`inspect_layout_target`] accepted (moved aside to `old`): only the files
/// it listed, then the directories if empty. Anything that appeared since is left in place.
fn remove_our_layout(old: &Path, blobs: &[String]) {
    let sha = old.join("blobs/sha256");
    for b in blobs {
        let p = sha.join(b);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&p);
        }
    }
    for f in ["oci-layout", "index.json"] {
        let p = old.join(f);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&p);
        }
    }
    for d in [sha, old.join("blobs"), old.to_path_buf()] {
        let _ = std::fs::remove_dir(d);
    }
}

/// Writes `image` as an OCI image layout at `dir`. The path must be absent, an empty
/// directory, or a layout armorred wrote (see [`inspect_layout_target`]); anything else,
/// including a symlink, is refused and left untouched. The layout is built in a private
/// temporary directory beside `dir`, then renamed into place; a previous layout of ours is
/// moved aside first and removed file by file. Returns the manifest digest and sizes.
pub fn write_layout(dir: &Path, image: &Image) -> Result<Serialized, OciError> {
    let s = serialize(image);
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .ok_or_else(|| OciError::Output { target: dir.display().to_string(), detail: "not a directory name".into() })?
        .to_string_lossy()
        .into_owned();
    let target = inspect_layout_target(dir)?;
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let tmp = tempfile::Builder::new().prefix(&format!(".{name}.tmp-")).tempdir_in(&parent).map_err(io(&parent))?;
    let blobs = tmp.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
    let put = |p: PathBuf, data: &[u8]| std::fs::write(&p, data).map_err(io(&p));
    for l in &image.layers {
        put(blobs.join(l.blob.hex()), &l.blob.data)?;
    }
    put(blobs.join(s.config.hex()), &s.config.data)?;
    put(blobs.join(s.manifest.hex()), &s.manifest.data)?;
    put(tmp.path().join("oci-layout"), OCI_LAYOUT)?;
    put(tmp.path().join("index.json"), &s.index)?;
    match target {
        LayoutTarget::Absent | LayoutTarget::Empty => {
            // rename(2) replaces an empty directory and fails on a non-empty one.
            std::fs::rename(tmp.path(), dir).map_err(io(dir))?;
            let _ = tmp.keep();
        }
        LayoutTarget::Ours(old_blobs) => {
            let old = tempfile::Builder::new()
                .prefix(&format!(".{name}.old-"))
                .tempdir_in(&parent)
                .map_err(io(&parent))?
                .keep();
            if let Err(source) = std::fs::rename(dir, &old) {
                let _ = std::fs::remove_dir(&old);
                return Err(OciError::Io { path: dir.to_path_buf(), source });
            }
            if let Err(source) = std::fs::rename(tmp.path(), dir) {
                let _ = std::fs::rename(&old, dir);
                return Err(OciError::Io { path: dir.to_path_buf(), source });
            }
            let _ = tmp.keep();
            remove_our_layout(&old, &old_blobs);
        }
    }
    Ok(s)
}

/// Writes `image` as a docker archive at `file` (atomically): `manifest.json` for `docker load`
/// plus the OCI layout (`index.json`, `oci-layout`, `blobs/sha256/*`), as Docker 25 writes it.
pub fn write_docker_archive(file: &Path, image: &Image) -> Result<Serialized, OciError> {
    let s = serialize(image);
    let hexes: Vec<String> = image.layers.iter().map(|l| format!("blobs/sha256/{}", l.blob.hex())).collect();
    let manifest_json = to_json(&[spec::DockerManifestEntry {
        config: Some(format!("blobs/sha256/{}", s.config.hex())),
        repo_tags: vec![image.ref_name.clone()],
        layers: Some(hexes.into_iter().map(Some).collect()),
    }]);
    let mut entries: Vec<(String, &[u8])> = vec![
        ("blobs".into(), &[]),
        ("blobs/sha256".into(), &[]),
        (format!("blobs/sha256/{}", s.config.hex()), &s.config.data),
        (format!("blobs/sha256/{}", s.manifest.hex()), &s.manifest.data),
        ("index.json".into(), &s.index),
        ("manifest.json".into(), &manifest_json),
        ("oci-layout".into(), OCI_LAYOUT),
    ];
    for l in &image.layers {
        entries.push((format!("blobs/sha256/{}", l.blob.hex()), &l.blob.data));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    let epoch = image.created_epoch.max(0) as u64;
    crate::fsutil::write_atomic(file, |w| {
        let mut b = tar::Builder::new(w);
        b.mode(tar::HeaderMode::Deterministic);
        for (name, data) in &entries {
            let mut h = tar::Header::new_ustar();
            h.set_mtime(epoch);
            h.set_uid(0);
            h.set_gid(0);
            if name == "blobs" || name == "blobs/sha256" {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, format!("{name}/"), &[][..])?;
            } else {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, name, *data)?;
            }
        }
        b.into_inner()?.flush()
    })
    .map_err(|e| OciError::Output {
        target: file.display().to_string(),
        detail: format!("{e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()),
    })?;
    Ok(s)
}

#[cfg(test)]
mod tests;

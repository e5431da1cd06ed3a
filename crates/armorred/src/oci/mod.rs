//! OCI output: deterministic layer tars, the image configuration and manifest, and two
//! serializations of them: an OCI image layout directory ([`write_layout`]) and a
//! `docker load`-able archive ([`write_docker_archive`], which also holds the OCI layout).
//!
//! Invariants: the same [`Image`] gives the same bytes (entries sorted, mtime fixed, owners
//! normalized, gzip header without name or time, fixed level); outputs appear complete or not
//! at all.

pub mod layer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use layer::{layer_from_tree, Layer};

/// OCI media types used here.
pub mod media {
    /// Image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// Image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Image config.
    pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// gzip layer.
    pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
}

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
        Self { digest: format!("sha256:{}", hex::encode(Sha256::digest(&data))), data }
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

fn to_json(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Builds config, manifest and index for `image` (no I/O).
pub fn serialize(image: &Image) -> Serialized {
    let created = crate::build::debian::release::rfc3339(image.created_epoch);
    let c = &image.config;
    let mut cfg = serde_json::Map::new();
    cfg.insert("User".into(), json!(c.user));
    if !c.ports.is_empty() {
        let ports: serde_json::Map<String, Value> = c.ports.iter().map(|p| (p.clone(), json!({}))).collect();
        cfg.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if !c.env.is_empty() {
        cfg.insert("Env".into(), json!(c.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()));
    }
    if !c.entrypoint.is_empty() {
        cfg.insert("Entrypoint".into(), json!(c.entrypoint));
    }
    if !c.cmd.is_empty() {
        cfg.insert("Cmd".into(), json!(c.cmd));
    }
    if let Some(w) = &c.workdir {
        cfg.insert("WorkingDir".into(), json!(w));
    }
    if !c.labels.is_empty() {
        cfg.insert("Labels".into(), json!(c.labels));
    }
    if let Some(s) = &c.stop_signal {
        cfg.insert("StopSignal".into(), json!(s));
    }
    let config = Blob::new(to_json(&json!({
        "created": created,
        "architecture": image.architecture,
        "os": "linux",
        "config": Value::Object(cfg),
        "rootfs": {
            "type": "layers",
            "diff_ids": image.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
        },
        "history": [{ "created": created, "created_by": image.created_by }],
    })));
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::MANIFEST,
        "config": { "mediaType": media::CONFIG, "digest": config.digest, "size": config.data.len() },
        "layers": image.layers.iter().map(|l| json!({
            "mediaType": media::LAYER_GZIP,
            "digest": l.blob.digest,
            "size": l.blob.data.len(),
        })).collect::<Vec<_>>(),
    });
    if !image.annotations.is_empty() {
        manifest["annotations"] = json!(image.annotations);
    }
    let manifest = Blob::new(to_json(&manifest));
    let index = to_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::INDEX,
        "manifests": [{
            "mediaType": media::MANIFEST,
            "digest": manifest.digest,
            "size": manifest.data.len(),
            "annotations": { "org.opencontainers.image.ref.name": image.ref_name },
        }],
    }));
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

/// Writes `image` as an OCI image layout at `dir` (replaced atomically: built next to it, then
/// renamed). Returns the manifest digest and sizes.
pub fn write_layout(dir: &Path, image: &Image) -> Result<Serialized, OciError> {
    let s = serialize(image);
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = dir
        .file_name()
        .ok_or_else(|| OciError::Output { target: dir.display().to_string(), detail: "not a directory name".into() })?
        .to_string_lossy()
        .into_owned();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| {
        let blobs = tmp.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let put = |hex: &str, data: &[u8]| {
            let p = blobs.join(hex);
            std::fs::write(&p, data).map_err(io(&p))
        };
        for l in &image.layers {
            put(l.blob.hex(), &l.blob.data)?;
        }
        put(s.config.hex(), &s.config.data)?;
        put(s.manifest.hex(), &s.manifest.data)?;
        let p = tmp.join("oci-layout");
        std::fs::write(&p, OCI_LAYOUT).map_err(io(&p))?;
        let p = tmp.join("index.json");
        std::fs::write(&p, &s.index).map_err(io(&p))?;
        if dir.exists() {
            let is_layout =
                dir.join("oci-layout").is_file() || dir.read_dir().map(|mut d| d.next().is_none()).unwrap_or(false);
            if !is_layout {
                return Err(OciError::Output {
                    target: dir.display().to_string(),
                    detail: "exists and is not an OCI layout; refusing to replace it".into(),
                });
            }
            std::fs::remove_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(io(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map(|()| s)
}

/// Writes `image` as a docker archive at `file` (atomically): `manifest.json` for `docker load`
/// plus the OCI layout (`index.json`, `oci-layout`, `blobs/sha256/*`), as Docker 25 writes it.
pub fn write_docker_archive(file: &Path, image: &Image) -> Result<Serialized, OciError> {
    let s = serialize(image);
    let hexes: Vec<String> = image.layers.iter().map(|l| format!("blobs/sha256/{}", l.blob.hex())).collect();
    let manifest_json = to_json(&json!([{
        "Config": format!("blobs/sha256/{}", s.config.hex()),
        "RepoTags": [image.ref_name],
        "Layers": hexes,
    }]));
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

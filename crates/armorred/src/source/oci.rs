//! OCI image layouts (directory or tar) and `docker save` archives: index → manifest →
//! config and layers, with platform selection in multi-architecture indexes.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::blobs::{blob_path, BlobStore};
use super::{Image, Layer, Platform, SourceError, Store};

const INDEX_TYPES: [&str; 2] =
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

fn parse(bytes: &[u8], what: &str, source_name: &str) -> Result<Value, SourceError> {
    serde_json::from_slice(bytes).map_err(|source| SourceError::Json {
        what: what.to_string(),
        source_name: source_name.to_string(),
        source,
    })
}

fn layout(source_name: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Layout { source_name: source_name.to_string(), reason: reason.into() }
}

/// Picks the manifest descriptor for `platform` among `manifests` (an index's list).
pub(crate) fn select<'a>(
    manifests: &'a [Value],
    platform: &Platform,
    explicit: bool,
    source_name: &str,
) -> Result<&'a Value, SourceError> {
    // Attestation manifests (buildkit) carry platform unknown/unknown: never pick those.
    let candidates: Vec<&Value> = manifests
        .iter()
        .filter(|m| {
            m.pointer("/platform/os").and_then(Value::as_str) != Some("unknown")
                && m.pointer("/annotations/vnd.docker.reference.type").is_none()
        })
        .collect();
    if candidates.len() == 1 && (!explicit || candidates[0].get("platform").is_none()) {
        return Ok(candidates[0]);
    }
    let matches = |m: &&&Value| {
        let os = m.pointer("/platform/os").and_then(Value::as_str);
        let arch = m.pointer("/platform/architecture").and_then(Value::as_str);
        let variant = m.pointer("/platform/variant").and_then(Value::as_str);
        os == Some(platform.os.as_str())
            && arch == Some(platform.architecture.as_str())
            && (platform.variant.is_none() || variant == platform.variant.as_deref())
    };
    if let Some(m) = candidates.iter().find(matches) {
        return Ok(m);
    }
    if candidates.is_empty() {
        return Err(layout(source_name, "the index lists no image manifest"));
    }
    let available: Vec<String> = candidates
        .iter()
        .map(|m| {
            let os = m.pointer("/platform/os").and_then(Value::as_str).unwrap_or("?");
            let arch = m.pointer("/platform/architecture").and_then(Value::as_str).unwrap_or("?");
            format!("{os}/{arch}")
        })
        .collect();
    Err(layout(source_name, format!("no manifest for platform {platform} (available: {})", available.join(", "))))
}

/// Reads an image from an OCI layout store.
pub(crate) fn open_oci(
    source_name: String,
    store: BlobStore,
    platform: &Platform,
    explicit: bool,
) -> Result<Image, SourceError> {
    if !store.has("index.json") {
        return Err(layout(&source_name, "no index.json: not an OCI image layout"));
    }
    let mut doc = parse(&store.read_small("index.json")?, "index.json", &source_name)?;
    let mut digest = None;
    // Follow nested indexes (at most a few levels) down to an image manifest.
    for _ in 0..4 {
        let is_index = doc.get("manifests").is_some()
            || doc.get("mediaType").and_then(Value::as_str).is_some_and(|t| INDEX_TYPES.contains(&t));
        if !is_index {
            break;
        }
        let manifests = doc
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| layout(&source_name, "index without manifests"))?;
        let chosen = select(manifests, platform, explicit, &source_name)?;
        let d = chosen
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| layout(&source_name, "manifest descriptor without digest"))?
            .to_string();
        let bytes = store.read_small(&blob_path(&d, &source_name)?)?;
        doc = parse(&bytes, "manifest", &source_name)?;
        digest = Some(d);
    }
    manifest_image(source_name, store, &doc, digest)
}

/// Builds the image from an image manifest.
pub(crate) fn manifest_image(
    source_name: String,
    store: BlobStore,
    manifest: &Value,
    digest: Option<String>,
) -> Result<Image, SourceError> {
    let config_digest = manifest
        .pointer("/config/digest")
        .and_then(Value::as_str)
        .ok_or_else(|| layout(&source_name, "manifest without config"))?;
    let config = parse(&store.read_small(&blob_path(config_digest, &source_name)?)?, "image config", &source_name)?;
    let mut layers = Vec::new();
    for l in manifest
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| layout(&source_name, "manifest without layers"))?
    {
        let d = l.get("digest").and_then(Value::as_str).ok_or_else(|| layout(&source_name, "layer without digest"))?;
        layers.push(Layer {
            digest: d.to_string(),
            media_type: l.get("mediaType").and_then(Value::as_str).map(str::to_string),
            size: l.get("size").and_then(Value::as_u64),
            member: blob_path(d, &source_name)?,
        });
    }
    let created = config.get("created").and_then(Value::as_str).map(str::to_string);
    Ok(Image {
        name: source_name,
        digest,
        config: Some(config),
        created,
        layers,
        store: Store::Blobs(store),
        cache: None,
    })
}

/// Reads a `docker save` archive (first image of `manifest.json`).
pub(crate) fn open_docker(source_name: String, store: BlobStore) -> Result<Image, SourceError> {
    let manifest = parse(&store.read_small("manifest.json")?, "manifest.json", &source_name)?;
    let first = manifest
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| layout(&source_name, "manifest.json lists no image"))?;
    let config_path = first
        .get("Config")
        .and_then(Value::as_str)
        .ok_or_else(|| layout(&source_name, "manifest.json entry without Config"))?;
    let config_bytes = store.read_small(config_path)?;
    let config = parse(&config_bytes, "image config", &source_name)?;
    let diff_ids: Vec<&str> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut layers = Vec::new();
    for (i, l) in first
        .get("Layers")
        .and_then(Value::as_array)
        .ok_or_else(|| layout(&source_name, "manifest.json entry without Layers"))?
        .iter()
        .enumerate()
    {
        let member = l.as_str().ok_or_else(|| layout(&source_name, "layer path is not a string"))?;
        let digest = diff_ids.get(i).map(|s| s.to_string()).unwrap_or_else(|| member.to_string());
        layers.push(Layer { digest, media_type: None, size: None, member: member.to_string() });
    }
    let created = config.get("created").and_then(Value::as_str).map(str::to_string);
    let digest = format!("sha256:{:x}", Sha256::digest(&config_bytes));
    Ok(Image {
        name: source_name,
        digest: Some(digest),
        config: Some(config),
        created,
        layers,
        store: Store::Blobs(store),
        cache: None,
    })
}

//! OCI image layouts (directory or tar) and `docker save` archives: index → manifest →
//! config and layers, with platform selection in multi-architecture indexes.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::blobs::{blob_path, BlobStore, Expect};
use super::{Image, ImageMetadata, Layer, Limits, Platform, SourceError, Store};
use crate::oci::spec::{self, media, Descriptor, DockerManifestEntry, ImageConfig, ImageIndex, ImageManifest};

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
    manifests: &'a [Descriptor],
    platform: &Platform,
    explicit: bool,
    source_name: &str,
) -> Result<&'a Descriptor, SourceError> {
    let field =
        |m: &Descriptor, f: fn(&spec::Platform) -> &Option<String>| m.platform.as_ref().and_then(|p| f(p).clone());
    let os = |m: &Descriptor| field(m, |p| &p.os);
    let arch = |m: &Descriptor| field(m, |p| &p.architecture);
    // Attestation manifests (buildkit) carry platform unknown/unknown: never pick those.
    let candidates: Vec<&Descriptor> = manifests
        .iter()
        .filter(|m| os(m).as_deref() != Some("unknown") && m.annotation("vnd.docker.reference.type").is_none())
        // cosign's signature and attestation images beside the image (`cosign save`, `armorred sign`).
        .filter(|m| !matches!(m.annotation(spec::cosign::KIND), Some(spec::cosign::SIGS | spec::cosign::ATTS)))
        .collect();
    if candidates.len() == 1 && (!explicit || candidates[0].platform.is_none()) {
        return Ok(candidates[0]);
    }
    let matches = |m: &&&Descriptor| {
        os(m).as_deref() == Some(platform.os.as_str())
            && arch(m).as_deref() == Some(platform.architecture.as_str())
            && (platform.variant.is_none() || field(m, |p| &p.variant) == platform.variant)
    };
    if let Some(m) = candidates.iter().find(matches) {
        return Ok(m);
    }
    if candidates.is_empty() {
        return Err(layout(source_name, "the index lists no image manifest"));
    }
    let available: Vec<String> = candidates
        .iter()
        .map(|m| format!("{}/{}", os(m).as_deref().unwrap_or("?"), arch(m).as_deref().unwrap_or("?")))
        .collect();
    Err(layout(source_name, format!("no manifest for platform {platform} (available: {})", available.join(", "))))
}

/// The descriptor fields a blob is checked against: digest (well-formed) and size.
fn descriptor(d: &Descriptor, what: &str, source_name: &str) -> Result<Expect, SourceError> {
    let digest = d.digest.as_deref().ok_or_else(|| layout(source_name, format!("{what} without digest")))?;
    Expect::blob(digest, d.size, source_name)
}

/// Reads an image from an OCI layout store.
pub(crate) fn open_oci(
    source_name: String,
    store: BlobStore,
    platform: &Platform,
    explicit: bool,
    limits: &Limits,
) -> Result<Image, SourceError> {
    if !store.exists("index.json") {
        return Err(layout(&source_name, "no index.json: not an OCI image layout"));
    }
    let max = limits.max_json_bytes;
    let mut raw = store.read_json("index.json", "index.json", None, max, &source_name)?;
    let mut doc = parse(&raw, "index.json", &source_name)?;
    let mut digest = None;
    // The media type the index gives the manifest (a manifest need not name its own).
    let mut media_type = None;
    // Follow nested indexes (at most a few levels) down to an image manifest.
    for _ in 0..4 {
        if !is_index(&doc) {
            break;
        }
        let index: ImageIndex = spec::from_value_or_default(doc);
        let manifests = index.manifests.as_deref().ok_or_else(|| layout(&source_name, "index without manifests"))?;
        let chosen = select(manifests, platform, explicit, &source_name)?;
        let expect = descriptor(chosen, "manifest descriptor", &source_name)?;
        media_type.clone_from(&chosen.media_type);
        raw =
            store.read_json(&blob_path(&expect.digest, &source_name)?, "manifest", Some(&expect), max, &source_name)?;
        doc = parse(&raw, "manifest", &source_name)?;
        digest = Some(expect.digest);
    }
    let mut image = manifest_image(source_name, store, spec::from_value_or_default(doc), digest, raw, limits)?;
    if image.metadata.media_type.is_none() {
        image.metadata.media_type = media_type;
    }
    Ok(image)
}

/// Whether a document is an index (it has `manifests`, or an index media type).
pub(crate) fn is_index(doc: &Value) -> bool {
    doc.get("manifests").is_some()
        || doc.get("mediaType").and_then(Value::as_str).is_some_and(|t| media::INDEX_TYPES.contains(&t))
}

/// The image config as typed structures (any JSON object reads; other fields ignored).
pub(crate) fn image_config(config: &Value) -> ImageConfig {
    spec::from_value_or_default(config.clone())
}

/// Builds the image from an image manifest (`raw_manifest`: its bytes as read): the config is
/// read and verified now, the layers as they are streamed.
pub(crate) fn manifest_image(
    source_name: String,
    store: BlobStore,
    manifest: ImageManifest,
    digest: Option<String>,
    raw_manifest: Vec<u8>,
    limits: &Limits,
) -> Result<Image, SourceError> {
    let config_desc = manifest.config.as_ref().ok_or_else(|| layout(&source_name, "manifest without config"))?;
    let expect = descriptor(config_desc, "config descriptor", &source_name)?;
    let bytes = store.read_json(
        &blob_path(&expect.digest, &source_name)?,
        "image config",
        Some(&expect),
        limits.max_json_bytes,
        &source_name,
    )?;
    let config = parse(&bytes, "image config", &source_name)?;
    let manifest_layers = manifest.layers.as_deref().ok_or_else(|| layout(&source_name, "manifest without layers"))?;
    // The diff IDs, when the config lists one per layer (else the layers have none).
    let diff_ids = image_config(&config).rootfs.diff_ids;
    let diff_ids = (diff_ids.len() == manifest_layers.len()).then_some(diff_ids);
    let mut layers = Vec::new();
    for (i, l) in manifest_layers.iter().enumerate() {
        let expect = descriptor(l, "layer", &source_name)?;
        layers.push(Layer {
            digest: expect.digest.clone(),
            diff_id: diff_ids.as_ref().map(|d| d[i].clone()),
            media_type: l.media_type.clone(),
            size: expect.size,
            member: blob_path(&expect.digest, &source_name)?,
            expect: Some(expect),
        });
    }
    let created = image_config(&config).created;
    let metadata = ImageMetadata {
        image_id: Some(expect.digest.clone()),
        media_type: manifest.media_type.clone(),
        raw_manifest: Some(raw_manifest),
        raw_config: Some(bytes),
        ..ImageMetadata::default()
    };
    Ok(Image {
        name: source_name,
        digest,
        manifest: Some(manifest),
        config: Some(config),
        created,
        layers,
        metadata,
        store: Store::Blobs(store),
        cache: None,
    })
}

/// Reads a `docker save` archive (first image of `manifest.json`). The config is verified
/// against its name when the name is its digest (`<hex>.json`, `blobs/sha256/<hex>`); each
/// layer's uncompressed tar against the config's `rootfs.diff_ids`, as it streams.
pub(crate) fn open_docker(source_name: String, store: BlobStore, limits: &Limits) -> Result<Image, SourceError> {
    let max = limits.max_json_bytes;
    let manifest = parse(
        &store.read_json("manifest.json", "manifest.json", None, max, &source_name)?,
        "manifest.json",
        &source_name,
    )?;
    let first: DockerManifestEntry = spec::from_value_or_default(
        manifest
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .ok_or_else(|| layout(&source_name, "manifest.json lists no image"))?,
    );
    let config_path =
        first.config.as_deref().ok_or_else(|| layout(&source_name, "manifest.json entry without Config"))?;
    let named = config_path.rsplit('/').next().unwrap_or_default().trim_end_matches(".json");
    let config_expect = if named.len() == 64 && named.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(Expect::blob(&format!("sha256:{named}"), None, &source_name)?)
    } else {
        None
    };
    let config_bytes = store.read_json(config_path, "image config", config_expect.as_ref(), max, &source_name)?;
    let config = parse(&config_bytes, "image config", &source_name)?;
    let typed = image_config(&config);
    let diff_ids = &typed.rootfs.diff_ids;
    let members = first.layers.as_deref().ok_or_else(|| layout(&source_name, "manifest.json entry without Layers"))?;
    if members.len() != diff_ids.len() {
        return Err(layout(
            &source_name,
            format!(
                "the config lists {} rootfs.diff_ids for {} layers: the layers cannot be verified",
                diff_ids.len(),
                members.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (l, diff_id) in members.iter().zip(diff_ids) {
        let member = l.as_deref().ok_or_else(|| layout(&source_name, "layer path is not a string"))?;
        let mut expect = Expect::blob(diff_id, None, &source_name)?;
        expect.uncompressed = true;
        layers.push(Layer {
            digest: diff_id.to_string(),
            diff_id: Some(diff_id.to_string()),
            media_type: None,
            size: None,
            member: member.to_string(),
            expect: Some(expect),
        });
    }
    let created = typed.created;
    let digest = format!("sha256:{:x}", Sha256::digest(&config_bytes));
    let raw_manifest = docker_manifest(&store, &digest, config_bytes.len(), &layers, &source_name)?;
    let metadata = ImageMetadata {
        image_id: Some(digest.clone()),
        media_type: Some(media::DOCKER_MANIFEST.to_string()),
        raw_manifest,
        raw_config: Some(config_bytes),
        tags: first.repo_tags.clone(),
        repo_digests: Vec::new(),
    };
    Ok(Image {
        name: source_name,
        digest: Some(digest),
        manifest: None,
        config: Some(config),
        created,
        layers,
        metadata,
        store: Store::Blobs(store),
        cache: None,
    })
}

/// The manifest that go-containerregistry synthesizes for a docker archive, which syft reports
/// (compact JSON: the docker manifest type, the config as a docker config, each layer as a
/// docker gzip layer whatever its compression, with the member's size and digest). Given only
/// when every layer member is a plain tar, whose digest is then its diff ID (a compressed
/// member's digest would need one more read of it): `None` otherwise.
fn docker_manifest(
    store: &BlobStore,
    config_digest: &str,
    config_size: usize,
    layers: &[Layer],
    source_name: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    let mut descriptors = Vec::new();
    for l in layers {
        // Its first bytes (all four, however short the reads): the compression magic.
        let mut magic = Vec::with_capacity(4);
        std::io::Read::read_to_end(&mut std::io::Read::take(store.open(&l.member)?, 4), &mut magic).map_err(
            |source| SourceError::Layer {
                source_name: source_name.to_string(),
                digest: l.digest.clone(),
                reason: "cannot read the layer".into(),
                source,
            },
        )?;
        let compressed = magic.starts_with(&[0x1f, 0x8b]) || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
        let (Some(size), false) = (store.size(&l.member), compressed) else {
            return Ok(None);
        };
        descriptors.push(serde_json::json!({"mediaType": media::DOCKER_LAYER_GZIP, "size": size, "digest": l.digest}));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::DOCKER_MANIFEST,
        "config": {"mediaType": media::DOCKER_CONFIG, "size": config_size, "digest": config_digest},
        "layers": descriptors,
    });
    Ok(Some(serde_json::to_vec(&manifest).unwrap_or_default()))
}

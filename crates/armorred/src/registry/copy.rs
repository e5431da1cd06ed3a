//! Copies between a registry and local images: `armorred push` of an OCI layout or a docker
//! archive, `armorred pull` into an OCI layout (with the cosign attachments, stored as
//! `cosign save` stores them).
//!
//! A push uploads every blob (each confirmed with a HEAD), then every child manifest by its
//! digest (each confirmed with a HEAD), then the attachments of a cosign layout under their
//! `sha256-<hex>.sig|.att|.sbom` tags, and only then writes the tag: a push that fails
//! anywhere leaves the tag where it was.
//!
//! In a pulled layout, `index.json` lists the image (annotated `kind:
//! dev.cosignproject.cosign/image`, or `.../imageIndex` for an index, and
//! `org.opencontainers.image.ref.name` with the tag), and with attachments the signatures
//! (`kind: dev.cosignproject.cosign/sigs`), attestations (`.../atts`), the SBOM attachment
//! (`.../sbom`, which `cosign save` does not write) and the OCI 1.1 referrers
//! (`.../referrer`, ours, with their `artifactType` as the annotation `artifactType`), found
//! through the referrers API or, where the registry has none, the referrers tag schema
//! (`sha256-<hex>`); pushing such a layout to a registry without the API keeps that tag.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::oci::spec::{self, media, Descriptor, Digest, ImageIndex, ImageManifest};

use super::{cosign_tag, BlobSource, Client, Manifest, Pushed, RegistryError};

/// The `index.json` annotation naming what an entry is, as `cosign save` writes it.
pub const KIND: &str = "kind";
/// `kind` of the signed image.
pub const KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
/// `kind` of the signed image index.
pub const KIND_IMAGE_INDEX: &str = "dev.cosignproject.cosign/imageIndex";
/// `kind` of the signatures (`sha256-<hex>.sig`).
pub const KIND_SIGS: &str = "dev.cosignproject.cosign/sigs";
/// `kind` of the attestations (`sha256-<hex>.att`).
pub const KIND_ATTS: &str = "dev.cosignproject.cosign/atts";
/// `kind` of the SBOM attachment (`sha256-<hex>.sbom`).
pub const KIND_SBOM: &str = "dev.cosignproject.cosign/sbom";
/// `kind` of an OCI 1.1 referrer (ours: `cosign save` has none).
pub const KIND_REFERRER: &str = crate::oci::spec::cosign::REFERRER;

/// The `index.json` annotation carrying a referrer's `artifactType` (ours).
pub const ARTIFACT_TYPE: &str = "artifactType";

/// The cosign tag suffix of each attachment kind.
pub const ATTACHMENTS: [(&str, &str); 3] = [("sig", KIND_SIGS), ("att", KIND_ATTS), ("sbom", KIND_SBOM)];

/// The bound of a layout's `index.json`, a manifest, a config and a docker archive's
/// `manifest.json`.
const MAX_JSON: u64 = 16 << 20;

/// The bound of one blob (a layer).
pub const MAX_BLOB_BYTES: u64 = 64 << 30;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The digest of the manifest (or index) the tag now names.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs the repository had already.
    pub existing: usize,
    /// Attachment tags written (`sha256-<hex>.sig`, ...).
    pub attachments: Vec<String>,
}

impl PushReport {
    fn new() -> Self {
        Self {
            digest: Digest::of(b""),
            media_type: String::new(),
            uploaded: 0,
            mounted: 0,
            existing: 0,
            attachments: Vec::new(),
        }
    }

    fn count(&mut self, p: Pushed) {
        match p {
            Pushed::Existed => self.existing += 1,
            Pushed::Mounted => self.mounted += 1,
            Pushed::Uploaded => self.uploaded += 1,
        }
    }
}

/// What a pull wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// The digest of the pulled manifest (or index).
    pub digest: Digest,
    /// The `index.json` entries besides the image: (kind, digest).
    pub attachments: Vec<(String, Digest)>,
    /// Whether the registry has the referrers API (`None`: not asked).
    pub referrers_api: Option<bool>,
}

fn input_err(input: &Path, reason: impl Into<String>) -> RegistryError {
    RegistryError::Input { input: input.display().to_string(), reason: reason.into() }
}

/// Reads a regular file (never through a symlink), at most `max` bytes.
fn read_regular(path: &Path, max: u64, input: &Path) -> Result<Vec<u8>, RegistryError> {
    let io = |source| RegistryError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(input_err(input, format!("{} is not a regular file", path.display())));
    }
    let mut data = Vec::new();
    std::fs::File::open(path).map_err(io)?.take(max + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > max {
        return Err(input_err(input, format!("{} is over the limit of {max} bytes", path.display())));
    }
    Ok(data)
}

/// An OCI layout being pushed.
struct Layout<'a> {
    dir: &'a Path,
}

impl Layout<'_> {
    fn blob(&self, d: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(d.hex())
    }

    /// A small blob, verified against its digest.
    fn small_blob(&self, d: &Digest) -> Result<Vec<u8>, RegistryError> {
        let data = read_regular(&self.blob(d), MAX_JSON, self.dir)?;
        let got = Digest::of(&data);
        if &got != d {
            return Err(input_err(self.dir, format!("blob {d} does not verify: its content hashes to {got}")));
        }
        Ok(data)
    }
}

/// The digest and size of a descriptor, or an error naming `what`.
fn digest_size(d: &Descriptor, what: &str, input: &Path) -> Result<(Digest, u64), RegistryError> {
    let digest = d.digest().ok_or_else(|| input_err(input, format!("{what} without a sha256 digest")))?;
    let size = d.size.ok_or_else(|| input_err(input, format!("{what} {digest} without size")))?;
    Ok((digest, size))
}

/// Pushes the manifest (or index, recursively) `desc` of a layout and everything it names,
/// by digest. Returns the manifest.
fn push_tree(
    client: &Client,
    layout: &Layout<'_>,
    repo: &str,
    desc: &Descriptor,
    mount_from: Option<&str>,
    report: &mut PushReport,
    depth: usize,
) -> Result<Manifest, RegistryError> {
    if depth > 4 {
        return Err(input_err(layout.dir, "indexes nested more than 4 deep"));
    }
    let (digest, size) = digest_size(desc, "manifest", layout.dir)?;
    let bytes = layout.small_blob(&digest)?;
    if bytes.len() as u64 != size {
        return Err(input_err(
            layout.dir,
            format!("manifest {digest} is {} bytes, its descriptor gives {size}", bytes.len()),
        ));
    }
    let parsed: ImageIndex = serde_json::from_slice(&bytes).map_err(|source| RegistryError::Json {
        input: layout.dir.display().to_string(),
        what: format!("manifest {digest}"),
        source,
    })?;
    let media_type = desc.media_type.clone().or(parsed.media_type.clone()).unwrap_or_else(|| media::MANIFEST.into());
    if media::INDEX_TYPES.contains(&media_type.as_str()) {
        for child in parsed.manifests.as_deref().unwrap_or_default() {
            push_tree(client, layout, repo, child, mount_from, report, depth + 1)?;
        }
    } else {
        let m: ImageManifest = spec::from_value_or_default(serde_json::from_slice(&bytes).unwrap_or_default());
        let config =
            m.config.as_ref().ok_or_else(|| input_err(layout.dir, format!("manifest {digest} without config")))?;
        let mut blobs = vec![digest_size(config, "config", layout.dir)?];
        for l in m.layers.as_deref().unwrap_or_default() {
            blobs.push(digest_size(l, "layer", layout.dir)?);
        }
        let mut done = HashSet::new();
        for (d, s) in blobs {
            if !done.insert(d.clone()) {
                continue;
            }
            let path = layout.blob(&d);
            if std::fs::symlink_metadata(&path).is_err() {
                // A blob the layout does not hold (a foreign layer): the registry must have it.
                if client.blob_exists(repo, &d)? == Some(s) {
                    report.count(Pushed::Existed);
                    continue;
                }
                return Err(input_err(layout.dir, format!("blob {d} of manifest {digest} is missing")));
            }
            report.count(client.push_blob(repo, &d, s, BlobSource::File(&path), mount_from)?);
        }
    }
    client.put_manifest(repo, digest.as_str(), &bytes, &media_type)?;
    confirm_manifest(client, repo, digest.as_str(), &digest)?;
    Ok(Manifest { bytes, media_type, digest })
}

/// Checks that `repo` has `reference` and that it names `digest`.
fn confirm_manifest(client: &Client, repo: &str, reference: &str, digest: &Digest) -> Result<(), RegistryError> {
    match client.head_manifest(repo, reference)? {
        Some(h) if &h.digest == digest => Ok(()),
        Some(h) => Err(client.protocol(
            format!("manifest {reference}"),
            format!("after the push the registry names {}, not {digest}", h.digest),
        )),
        None => Err(client
            .protocol(format!("manifest {reference}"), "the registry does not confirm it after the push (HEAD 404)")),
    }
}

/// Pushes the OCI layout `dir` to `repo:tag`. The image is the entry of `index.json` (its only
/// one, or the one annotated `kind: dev.cosignproject.cosign/image|imageIndex`, as `cosign
/// save` writes); several plain entries are pushed as one image index. Attachments of a
/// cosign layout (`sigs`, `atts`, `sbom`) are pushed under their cosign tags, referrers by
/// digest. Blobs are mounted from `mount_from` when given.
pub fn push_oci_layout(
    client: &Client,
    dir: &Path,
    repo: &str,
    tag: &str,
    mount_from: Option<&str>,
) -> Result<PushReport, RegistryError> {
    super::check_tag(tag).map_err(|reason| RegistryError::Reference { input: format!("{repo}:{tag}"), reason })?;
    let layout = Layout { dir };
    let index_bytes = read_regular(&dir.join("index.json"), MAX_JSON, dir)?;
    let index: ImageIndex = serde_json::from_slice(&index_bytes).map_err(|source| RegistryError::Json {
        input: dir.display().to_string(),
        what: "index.json".into(),
        source,
    })?;
    let entries = index.manifests.unwrap_or_default();
    if entries.is_empty() {
        return Err(input_err(dir, "index.json lists no manifest"));
    }
    let kind = |d: &Descriptor| d.annotation(KIND).map(str::to_string);
    let mut report = PushReport::new();
    let main: Vec<&Descriptor> =
        entries.iter().filter(|d| matches!(kind(d).as_deref(), Some(KIND_IMAGE | KIND_IMAGE_INDEX))).collect();
    let root = match main.as_slice() {
        [one] => push_tree(client, &layout, repo, one, mount_from, &mut report, 0)?,
        [] if entries.iter().all(|d| kind(d).is_none()) && entries.len() == 1 => {
            push_tree(client, &layout, repo, &entries[0], mount_from, &mut report, 0)?
        }
        [] if entries.iter().all(|d| kind(d).is_none()) => {
            // Several images: an index of them.
            let mut children = Vec::new();
            for e in &entries {
                push_tree(client, &layout, repo, e, mount_from, &mut report, 0)?;
                let mut child = e.clone();
                if let Some(a) = child.annotations.as_mut() {
                    a.remove(spec::REF_NAME);
                }
                if child.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
                    child.annotations = None;
                }
                children.push(child);
            }
            let bytes = serde_json::to_vec(&ImageIndex {
                schema_version: 2,
                media_type: Some(media::INDEX.into()),
                manifests: Some(children),
                annotations: None,
            })
            .map_err(|source| RegistryError::Json {
                input: dir.display().to_string(),
                what: "image index".into(),
                source,
            })?;
            let digest = client.put_manifest(repo, Digest::of(&bytes).as_str(), &bytes, media::INDEX)?;
            Manifest { bytes, media_type: media::INDEX.into(), digest }
        }
        _ => {
            return Err(input_err(
                dir,
                "index.json must name one image (kind dev.cosignproject.cosign/image or imageIndex)",
            ))
        }
    };
    for e in &entries {
        let k = kind(e);
        if let Some((suffix, _)) = ATTACHMENTS.iter().find(|(_, kd)| k.as_deref() == Some(*kd)) {
            let m = push_tree(client, &layout, repo, e, mount_from, &mut report, 0)?;
            let t = cosign_tag(&root.digest, suffix);
            client.put_manifest(repo, &t, &m.bytes, &m.media_type)?;
            report.attachments.push(t);
        } else if k.as_deref() == Some(KIND_REFERRER) {
            let m = push_tree(client, &layout, repo, e, mount_from, &mut report, 0)?;
            let t = super::referrers_tag(&root.digest);
            if client.add_referrer(repo, &root.digest, &m, e.annotation(ARTIFACT_TYPE))?
                && !report.attachments.contains(&t)
            {
                report.attachments.push(t);
            }
        }
    }
    client.put_manifest(repo, tag, &root.bytes, &root.media_type)?;
    confirm_manifest(client, repo, tag, &root.digest)?;
    report.digest = root.digest;
    report.media_type = root.media_type;
    Ok(report)
}

/// A member path of an archive, normalized (`./a/../b` is `b`); `None` when it leaves the root.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The media type of a layer by its first bytes.
fn layer_media_type(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1f, 0x8b]) {
        media::LAYER_GZIP
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    }
}

/// Pushes the first image of the docker archive `file` (`docker save`, `manifest.json`) to
/// `repo:tag` as an OCI image: the config as it is, each layer as it is (gzip, zstd or plain
/// tar, by its bytes), so that every digest is the digest of the archive's member. Links
/// between members (Docker 25 archives) are followed inside the archive; the members are
/// copied, hashed, into a private temporary directory first (the archive is read twice).
pub fn push_docker_archive(
    client: &Client,
    file: &Path,
    repo: &str,
    tag: &str,
    mount_from: Option<&str>,
) -> Result<PushReport, RegistryError> {
    super::check_tag(tag).map_err(|reason| RegistryError::Reference { input: format!("{repo}:{tag}"), reason })?;
    let io = |source| RegistryError::Io { path: file.to_path_buf(), source };
    let open = || -> Result<tar::Archive<std::fs::File>, RegistryError> {
        let meta = std::fs::symlink_metadata(file).map_err(io)?;
        if !meta.is_file() {
            return Err(input_err(file, "not a regular file"));
        }
        Ok(tar::Archive::new(std::fs::File::open(file).map_err(io)?))
    };
    // Pass 1: manifest.json and the links.
    let mut manifest_json = None;
    let mut links: HashMap<String, String> = HashMap::new();
    for entry in open()?.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let path = entry.path().map_err(io)?.into_owned();
        let Some(name) = normalize(&path) else { continue };
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            if let Some(target) = entry.link_name().map_err(io)? {
                let parent = Path::new(&name).parent().unwrap_or(Path::new(""));
                if let Some(t) = normalize(&parent.join(target)) {
                    links.insert(name, t);
                }
            }
        } else if name == "manifest.json" && kind.is_file() {
            let mut data = Vec::new();
            (&mut entry).take(MAX_JSON + 1).read_to_end(&mut data).map_err(io)?;
            if data.len() as u64 > MAX_JSON {
                return Err(input_err(file, format!("manifest.json is over the limit of {MAX_JSON} bytes")));
            }
            manifest_json = Some(data);
        }
    }
    let manifest_json = manifest_json.ok_or_else(|| input_err(file, "no manifest.json (not a docker archive)"))?;
    let entries: Vec<spec::DockerManifestEntry> = serde_json::from_slice(&manifest_json).map_err(|source| {
        RegistryError::Json { input: file.display().to_string(), what: "manifest.json".into(), source }
    })?;
    let first = entries.first().ok_or_else(|| input_err(file, "manifest.json lists no image"))?;
    let resolve = |name: &str| -> Result<String, RegistryError> {
        let mut n =
            normalize(Path::new(name)).ok_or_else(|| input_err(file, format!("member {name:?} leaves the archive")))?;
        for _ in 0..8 {
            match links.get(&n) {
                Some(t) => n = t.clone(),
                None => return Ok(n),
            }
        }
        Err(input_err(file, format!("member {name:?}: too many links")))
    };
    let config_name = resolve(first.config.as_deref().ok_or_else(|| input_err(file, "manifest.json without Config"))?)?;
    let mut layer_names = Vec::new();
    for l in first.layers.as_deref().ok_or_else(|| input_err(file, "manifest.json without Layers"))? {
        layer_names.push(resolve(l.as_deref().ok_or_else(|| input_err(file, "a Layers item is not a string"))?)?);
    }
    // Pass 2: the members, hashed into a private directory.
    let tmp = tempfile::Builder::new()
        .prefix("armorred-push-")
        .tempdir()
        .map_err(|source| RegistryError::Io { path: std::env::temp_dir(), source })?;
    let wanted: HashSet<&String> = layer_names.iter().chain([&config_name]).collect();
    let mut got: HashMap<String, (Digest, u64, PathBuf, &'static str)> = HashMap::new();
    for entry in open()?.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let path = entry.path().map_err(io)?.into_owned();
        let Some(name) = normalize(&path) else { continue };
        if !entry.header().entry_type().is_file() || !wanted.contains(&name) || got.contains_key(&name) {
            continue;
        }
        let out = tmp.path().join(format!("member-{}", got.len()));
        let mut w =
            std::fs::File::create_new(&out).map_err(|source| RegistryError::Io { path: out.clone(), source })?;
        let mut hashing = super::Hashing::new(&mut entry);
        let mut first_bytes = Vec::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = hashing.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            if first_bytes.len() < 4 {
                let want = (4 - first_bytes.len()).min(n);
                first_bytes.extend_from_slice(&buf[..want]);
            }
            std::io::Write::write_all(&mut w, &buf[..n])
                .map_err(|source| RegistryError::Io { path: out.clone(), source })?;
            if hashing.count > MAX_BLOB_BYTES {
                return Err(input_err(file, format!("member {name} is over the limit of {MAX_BLOB_BYTES} bytes")));
            }
        }
        let digest: Digest = hashing.digest().parse().map_err(|_| input_err(file, "digest"))?;
        got.insert(name, (digest, hashing.count, out, layer_media_type(&first_bytes)));
    }
    let member = |n: &String| got.get(n).ok_or_else(|| input_err(file, format!("member {n} is missing")));
    let (cfg_digest, cfg_size, cfg_path, _) = member(&config_name)?;
    if *cfg_size > MAX_JSON {
        return Err(input_err(file, format!("config {config_name} is over the limit of {MAX_JSON} bytes")));
    }
    let mut report = PushReport::new();
    report.count(client.push_blob(repo, cfg_digest, *cfg_size, BlobSource::File(cfg_path), mount_from)?);
    let mut layers = Vec::new();
    for n in &layer_names {
        let (d, s, p, mt) = member(n)?;
        report.count(client.push_blob(repo, d, *s, BlobSource::File(p), mount_from)?);
        layers.push(Descriptor::new(mt, d, *s));
    }
    let bytes = serde_json::to_vec(&ImageManifest {
        schema_version: 2,
        media_type: Some(media::MANIFEST.into()),
        config: Some(Descriptor::new(media::CONFIG, cfg_digest, *cfg_size)),
        layers: Some(layers),
        annotations: None,
    })
    .map_err(|source| RegistryError::Json {
        input: file.display().to_string(),
        what: "manifest".into(),
        source,
    })?;
    let digest = client.put_manifest(repo, Digest::of(&bytes).as_str(), &bytes, media::MANIFEST)?;
    confirm_manifest(client, repo, digest.as_str(), &digest)?;
    client.put_manifest(repo, tag, &bytes, media::MANIFEST)?;
    confirm_manifest(client, repo, tag, &digest)?;
    report.digest = digest;
    report.media_type = media::MANIFEST.into();
    Ok(report)
}

/// Downloads `m` (already fetched) and everything it names into the layout `tmp`.
fn fetch_tree(
    client: &Client,
    repo: &str,
    m: &Manifest,
    tmp: &Path,
    seen: &mut HashSet<Digest>,
    depth: usize,
) -> Result<(), RegistryError> {
    let blobs = tmp.join("blobs/sha256");
    let write = |d: &Digest, data: &[u8]| {
        let p = blobs.join(d.hex());
        std::fs::write(&p, data).map_err(|source| RegistryError::Io { path: p, source })
    };
    if !seen.insert(m.digest.clone()) {
        return Ok(());
    }
    write(&m.digest, &m.bytes)?;
    let bad = |reason: String| client.protocol(format!("manifest {}", m.digest), reason);
    if m.is_index() {
        if depth > 4 {
            return Err(bad("indexes nested more than 4 deep".into()));
        }
        let index: ImageIndex = serde_json::from_slice(&m.bytes).map_err(|e| bad(e.to_string()))?;
        for child in index.manifests.unwrap_or_default() {
            let d = child.digest().ok_or_else(|| bad("an entry without a sha256 digest".into()))?;
            let cm = client.get_manifest(repo, d.as_str())?;
            if child.size.is_some_and(|s| s != cm.bytes.len() as u64) {
                return Err(bad(format!("entry {d}: the manifest is {} bytes, not {:?}", cm.bytes.len(), child.size)));
            }
            fetch_tree(client, repo, &cm, tmp, seen, depth + 1)?;
        }
        return Ok(());
    }
    let manifest: ImageManifest = serde_json::from_slice(&m.bytes).map_err(|e| bad(e.to_string()))?;
    let descriptors = manifest.config.iter().chain(manifest.layers.iter().flatten());
    for d in descriptors {
        let digest = d.digest().ok_or_else(|| bad("a descriptor without a sha256 digest".into()))?;
        let size = d.size.ok_or_else(|| bad(format!("descriptor {digest} without size")))?;
        if !seen.insert(digest.clone()) {
            continue;
        }
        let p = blobs.join(digest.hex());
        let mut f = std::fs::File::create_new(&p).map_err(|source| RegistryError::Io { path: p.clone(), source })?;
        client.get_blob(repo, &digest, Some(size), MAX_BLOB_BYTES, &mut f)?;
    }
    Ok(())
}

/// Checks that `dir` may receive a pulled layout: absent, or an empty directory (not a link).
pub fn check_pull_target(dir: &Path) -> Result<(), RegistryError> {
    let refuse =
        |detail: &str| crate::oci::OciError::Output { target: dir.display().to_string(), detail: detail.into() };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RegistryError::Io { path: dir.to_path_buf(), source }),
        Ok(m) if m.file_type().is_symlink() => Err(refuse("is a symlink; refusing to write through it").into()),
        Ok(m) if !m.is_dir() => Err(refuse("exists and is not a directory").into()),
        Ok(_) => {
            match std::fs::read_dir(dir).map_err(|source| RegistryError::Io { path: dir.to_path_buf(), source })?.next()
            {
                None => Ok(()),
                Some(_) => {
                    Err(refuse("exists and is not empty; refusing to write into it: remove it or choose another path")
                        .into())
                }
            }
        }
    }
}

/// Pulls `repo` at `reference` (tag or digest) into a new OCI layout `dir` (absent or an
/// empty directory); with `with_attachments` also its cosign signatures, attestations and SBOM
/// (`sha256-<hex>.sig`, `.att`, `.sbom`) and its OCI 1.1 referrers, annotated as `cosign save`
/// annotates them. The layout is written in a private directory beside `dir` and renamed
/// into place: it appears complete or not at all.
pub fn pull_to_layout(
    client: &Client,
    repo: &str,
    reference: &str,
    dir: &Path,
    with_attachments: bool,
) -> Result<PullReport, RegistryError> {
    check_pull_target(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "layout".into());
    std::fs::create_dir_all(&parent).map_err(|source| RegistryError::Io { path: parent.clone(), source })?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(&parent)
        .map_err(|source| RegistryError::Io { path: parent.clone(), source })?;
    let blobs = tmp.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|source| RegistryError::Io { path: blobs.clone(), source })?;
    let root = client.get_manifest(repo, reference)?;
    let mut seen = HashSet::new();
    fetch_tree(client, repo, &root, tmp.path(), &mut seen, 0)?;
    let annotate = |m: &Manifest, pairs: Vec<(&str, String)>| {
        let mut d = m.descriptor();
        d.annotations = Some(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        d
    };
    let mut pairs = Vec::new();
    if !reference.contains(':') {
        pairs.push((spec::REF_NAME, reference.to_string()));
    }
    if with_attachments {
        pairs.push((KIND, if root.is_index() { KIND_IMAGE_INDEX } else { KIND_IMAGE }.to_string()));
    }
    let mut entries = vec![if pairs.is_empty() { root.descriptor() } else { annotate(&root, pairs) }];
    let mut report = PullReport { digest: root.digest.clone(), attachments: Vec::new(), referrers_api: None };
    if with_attachments {
        for (suffix, kind) in ATTACHMENTS {
            let m = match client.get_manifest(repo, &cosign_tag(&root.digest, suffix)) {
                Ok(m) => m,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            fetch_tree(client, repo, &m, tmp.path(), &mut seen, 0)?;
            entries.push(annotate(&m, vec![(KIND, kind.to_string())]));
            report.attachments.push((kind.to_string(), m.digest));
        }
        let (list, api) = client.referrers_or_fallback(repo, &root.digest, None)?;
        report.referrers_api = Some(api);
        for r in list {
            let Some(d) = r.descriptor.digest() else { continue };
            if entries.iter().any(|e| e.digest() == Some(d.clone())) {
                continue;
            }
            let m = client.get_manifest(repo, d.as_str())?;
            fetch_tree(client, repo, &m, tmp.path(), &mut seen, 0)?;
            let mut pairs = vec![(KIND, KIND_REFERRER.to_string())];
            if let Some(t) = r.artifact_type {
                pairs.push((ARTIFACT_TYPE, t));
            }
            entries.push(annotate(&m, pairs));
            report.attachments.push((KIND_REFERRER.to_string(), m.digest));
        }
    }
    let index = serde_json::to_vec(&ImageIndex {
        schema_version: 2,
        media_type: Some(media::INDEX.into()),
        manifests: Some(entries),
        annotations: None,
    })
    .map_err(|source| RegistryError::Json {
        input: dir.display().to_string(),
        what: "index.json".into(),
        source,
    })?;
    let put =
        |p: PathBuf, data: &[u8]| std::fs::write(&p, data).map_err(|source| RegistryError::Io { path: p, source });
    put(tmp.path().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    put(tmp.path().join("index.json"), &index)?;
    // The target is checked again: rename(2) replaces an empty directory, fails on any other.
    check_pull_target(dir)?;
    std::fs::rename(tmp.path(), dir).map_err(|source| RegistryError::Io { path: dir.to_path_buf(), source })?;
    let _ = tmp.keep();
    Ok(report)
}

//! Image sources, named as syft names them: `oci-dir:PATH`, `oci-archive:FILE`,
//! `docker-archive:FILE`, `registry:REF`, `dir:PATH`, or a bare path (auto-detected).
//!
//! [`Source::parse`] names a source, [`Source::open`] reads its manifest and config into an
//! [`Image`], [`Image::tree`] squashes the layers (OCI whiteouts: `.wh.NAME`, `.wh..wh..opq`)
//! into a [`crate::fstree::Index`] of metadata only, and [`Image::walk`] streams the layers once
//! more and hands the content of the files a caller wants to a visitor. Nothing is unpacked to disk;
//! every decompression is bounded by [`Limits`]; paths are cleaned as the runtimes clean
//! them and a path that climbs above the root never reaches the tree. Every blob is checked
//! against its digest as it streams (OCI: the stored blob; docker archives: the uncompressed
//! tar against the config's `diff_ids`); a layer that does not verify fails the operation.
//! What a hostile layer does that changes what is visible (a whiteout of `/`, a refused
//! path, a sparse format not read) is reported by [`crate::fstree::Index::warnings`].

mod blobs;
mod dir;
pub mod layer;
mod oci;
mod registry;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fstree::{Entry, EntryKind, Index};
pub use layer::Limits;

/// Errors of the image sources.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source string has an unknown scheme or an empty value.
    #[error("invalid source {input:?}: {reason}")]
    Invalid {
        /// What the user typed.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file of the source cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document of the image (index, manifest, config) is malformed.
    #[error("malformed {what} in {source_name}")]
    Json {
        /// Which document.
        what: String,
        /// The image source.
        source_name: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The image layout is not what its format requires.
    #[error("{source_name}: {reason}")]
    Layout {
        /// The image source.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer cannot be read (truncated, bad compression, over a limit).
    #[error("layer {digest} of {source_name}: {reason}")]
    Layer {
        /// The image source.
        source_name: String,
        /// The layer digest.
        digest: String,
        /// What went wrong.
        reason: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A registry request failed.
    #[error("registry {reference}: {reason}")]
    Registry {
        /// The image reference.
        reference: String,
        /// What went wrong.
        reason: String,
    },
    /// The registry client failed (its errors name the registry and the request).
    #[error(transparent)]
    RegistryClient(#[from] crate::registry::RegistryError),
    /// A blob does not match the digest (or size) its descriptor gives.
    #[error("{what} {digest} of {source_name} does not verify: {reason}")]
    Digest {
        /// The image source.
        source_name: String,
        /// Which blob (`layer`, `image config`, `manifest ...`).
        what: String,
        /// The digest it must have.
        digest: String,
        /// What was found instead.
        reason: String,
    },
    /// A path that must be a regular file is something else (never opened, never waited on).
    #[error("{path} is not a regular file: it is {kind}")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is (`a FIFO`, `a symbolic link`, ...).
        kind: crate::fsutil::FileKind,
    },
    /// A visitor of [`Image::walk`] failed.
    #[error("{0}")]
    Visit(String),
    /// The squashed tree is over a bound.
    #[error(transparent)]
    Index(#[from] crate::fstree::IndexError),
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    OciDir(PathBuf),
    /// A tar archive of an OCI image layout.
    OciArchive(PathBuf),
    /// A `docker save` archive (`manifest.json`).
    DockerArchive(PathBuf),
    /// An image in a registry (`host[:port]/repo[:tag|@digest]`).
    Registry(String),
    /// A directory tree, read as one layer.
    Dir(PathBuf),
}

/// The platform to pick from a multi-architecture index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v8`, ...
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]` (or `arch` alone, meaning linux).
    pub fn parse(s: &str) -> Result<Self, SourceError> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || SourceError::Invalid { input: s.to_string(), reason: "platform must be os/arch[/variant]".into() };
        match parts.as_slice() {
            [arch] if !arch.is_empty() => Ok(Self { os: "linux".into(), architecture: (*arch).into(), variant: None }),
            [os, arch] if !os.is_empty() && !arch.is_empty() => {
                Ok(Self { os: (*os).into(), architecture: (*arch).into(), variant: None })
            }
            [os, arch, v] if !os.is_empty() && !arch.is_empty() => {
                Ok(Self { os: (*os).into(), architecture: (*arch).into(), variant: Some((*v).into()) })
            }
            _ => Err(bad()),
        }
    }

    /// The platform of this machine.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            other => other,
        };
        Self { os: "linux".into(), architecture: architecture.into(), variant: None }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// How to open a source.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The platform to pick from an index; the host's when `None`.
    pub platform: Option<Platform>,
    /// Bounds on decompression and entry counts.
    pub limits: Limits,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// `sha256:...` of the (compressed) blob; for docker archives, the diff ID.
    pub digest: String,
    /// The layer's diff ID: `sha256:...` of its uncompressed tar, from the config's
    /// `rootfs.diff_ids` (what syft and stereoscope call the layer's ID). `None` when the config
    /// lists no diff ID for each layer.
    pub diff_id: Option<String>,
    /// The media type from the manifest, if any.
    pub media_type: Option<String>,
    /// The blob size from the manifest, if known.
    pub size: Option<u64>,
    /// Where the blob is in the store (`blobs/sha256/...` or a docker archive member).
    pub(crate) member: String,
    /// What the blob (or, for docker archives, its uncompressed tar) must hash to.
    pub(crate) expect: Option<blobs::Expect>,
}

impl Layer {
    /// The layer's ID as syft reports it (its diff ID), else its blob digest.
    pub fn id(&self) -> &str {
        self.diff_id.as_deref().unwrap_or(&self.digest)
    }
}

/// What an image reader knows of an image beyond its layers, as syft's `ImageMetadata` has it;
/// what a reader does not know stays empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMetadata {
    /// The image ID: the config's digest (`sha256:...`).
    pub image_id: Option<String>,
    /// The manifest's media type (for docker archives, the docker manifest type).
    pub media_type: Option<String>,
    /// The manifest's bytes as read. A docker archive has none: for one whose layers are plain
    /// tars, the manifest go-containerregistry synthesizes for it (what syft reports), else
    /// `None`.
    pub raw_manifest: Option<Vec<u8>>,
    /// The config's bytes as read.
    pub raw_config: Option<Vec<u8>>,
    /// Tags (a docker archive's `RepoTags`).
    pub tags: Vec<String>,
    /// `host/repository@digest` of a registry image (the digest the registry named it by).
    pub repo_digests: Vec<String>,
}

/// An opened image: its identity and its layers (or a directory).
#[derive(Debug)]
pub struct Image {
    /// The source as the user named it.
    pub name: String,
    /// The manifest digest (`sha256:...`) when known; for docker archives the config digest.
    pub digest: Option<String>,
    /// The image manifest (OCI layouts and registries; `None` for docker archives and `dir:`).
    pub manifest: Option<crate::oci::spec::ImageManifest>,
    /// The image config, as JSON ([`Image::image_config`] gives it typed).
    pub config: Option<serde_json::Value>,
    /// The `created` time of the config (RFC 3339), if any.
    pub created: Option<String>,
    /// Layers, lowest first. Empty for `dir:` sources.
    pub layers: Vec<Layer>,
    /// What else the reader learnt of the image (syft's image metadata).
    pub metadata: ImageMetadata,
    store: Store,
    /// A download cache removed with the image (registry sources).
    pub(crate) cache: Option<tempfile::TempDir>,
}

#[derive(Debug)]
pub(crate) enum Store {
    Blobs(blobs::BlobStore),
    Dir(PathBuf),
}

impl Source {
    /// Parses a source string such as `oci-dir:out/image` or a bare path.
    pub fn parse(input: &str) -> Result<Self, SourceError> {
        let invalid = |reason: &str| SourceError::Invalid { input: input.to_string(), reason: reason.to_string() };
        if let Some((scheme, rest)) = input.split_once(':') {
            let make: Option<fn(&str) -> Source> = match scheme {
                "oci-dir" => Some(|r| Source::OciDir(r.into())),
                "oci-archive" => Some(|r| Source::OciArchive(r.into())),
                "docker-archive" => Some(|r| Source::DockerArchive(r.into())),
                "registry" => Some(|r| Source::Registry(r.into())),
                "dir" => Some(|r| Source::Dir(r.into())),
                _ => None,
            };
            if let Some(make) = make {
                if rest.is_empty() {
                    return Err(invalid("nothing after the scheme"));
                }
                return Ok(make(rest));
            }
        }
        if input.is_empty() {
            return Err(invalid("empty source"));
        }
        if let Ok(meta) = std::fs::metadata(input) {
            if !meta.is_file() && !meta.is_dir() {
                return Err(invalid(&format!(
                    "not a directory or an image archive: it is {}",
                    crate::fsutil::FileKind::of(meta.file_type())
                )));
            }
        }
        Self::detect(Path::new(input)).ok_or_else(|| {
            invalid("not an existing directory, OCI layout or image archive; prefix it with oci-dir:, oci-archive:, docker-archive:, registry: or dir:")
        })
    }

    /// Guesses the kind of a bare path: OCI layout directory, plain directory, OCI or docker
    /// archive (by the members of the tar).
    fn detect(path: &Path) -> Option<Self> {
        if path.is_dir() {
            if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
                return Some(Self::OciDir(path.into()));
            }
            return Some(Self::Dir(path.into()));
        }
        if path.is_file() {
            let index = blobs::BlobStore::tar(path, Limits::default().max_header_bytes).ok()?;
            if index.has("manifest.json") {
                return Some(Self::DockerArchive(path.into()));
            }
            if index.has("index.json") {
                return Some(Self::OciArchive(path.into()));
            }
        }
        None
    }

    /// Opens the source: reads index, manifest and config (not the layers).
    pub fn open(&self, options: &OpenOptions) -> Result<Image, SourceError> {
        let platform = options.platform.clone().unwrap_or_else(Platform::host);
        match self {
            Self::OciDir(path) => {
                let meta = std::fs::metadata(path).map_err(|source| SourceError::Io { path: path.clone(), source })?;
                if !meta.is_dir() {
                    return Err(SourceError::Invalid {
                        input: self.to_string(),
                        reason: format!("not a directory: it is {}", crate::fsutil::FileKind::of(meta.file_type())),
                    });
                }
                let store = blobs::BlobStore::Dir(path.clone());
                oci::open_oci(self.to_string(), store, &platform, options.platform.is_some(), &options.limits)
            }
            Self::OciArchive(path) => {
                let store = blobs::BlobStore::tar(path, options.limits.max_header_bytes)?;
                oci::open_oci(self.to_string(), store, &platform, options.platform.is_some(), &options.limits)
            }
            Self::DockerArchive(path) => {
                let store = blobs::BlobStore::tar(path, options.limits.max_header_bytes)?;
                oci::open_docker(self.to_string(), store, &options.limits)
            }
            Self::Registry(reference) => registry::open(reference, &platform, options),
            Self::Dir(path) => {
                if !path.is_dir() {
                    return Err(SourceError::Invalid { input: self.to_string(), reason: "not a directory".into() });
                }
                Ok(Image {
                    name: self.to_string(),
                    digest: None,
                    manifest: None,
                    config: None,
                    created: None,
                    layers: Vec::new(),
                    metadata: ImageMetadata::default(),
                    store: Store::Dir(path.clone()),
                    cache: None,
                })
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OciDir(p) => write!(f, "oci-dir:{}", p.display()),
            Self::OciArchive(p) => write!(f, "oci-archive:{}", p.display()),
            Self::DockerArchive(p) => write!(f, "docker-archive:{}", p.display()),
            Self::Registry(r) => write!(f, "registry:{r}"),
            Self::Dir(p) => write!(f, "dir:{}", p.display()),
        }
    }
}

/// What a walk visitor is given for one file.
pub type Visitor<'a> = dyn FnMut(&Entry, &mut dyn Read) -> Result<(), SourceError> + 'a;

/// Who wants the files of the top layer as it is read: a filter and a visitor.
type TopVisit<'w, 'v> = (&'w dyn Fn(&Entry) -> bool, &'w mut Visitor<'v>);

/// Layers that share one blob: read once, applied at each of their positions.
fn distinct(layers: &[Layer]) -> Vec<(&Layer, Vec<usize>)> {
    let mut out: Vec<(&Layer, Vec<usize>)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, l) in layers.iter().enumerate() {
        match at.get(l.member.as_str()) {
            Some(&k) => {
                if let Some((_, v)) = out.get_mut(k) {
                    v.push(i);
                }
            }
            None => {
                at.insert(l.member.as_str(), out.len());
                out.push((l, vec![i]));
            }
        }
    }
    out
}

impl Image {
    /// The image config as typed structures (`None` for `dir:` sources).
    pub fn image_config(&self) -> Option<crate::oci::spec::ImageConfig> {
        self.config.as_ref().map(oci::image_config)
    }

    /// The root of a `dir:` source.
    pub fn dir_root(&self) -> Option<&Path> {
        match &self.store {
            Store::Dir(root) => Some(root),
            Store::Blobs(_) => None,
        }
    }

    /// Opens a layer's blob as it is stored (still compressed, if it is), for counting or hashing;
    /// an error for `dir:` sources, which have no layers. An OCI blob is checked against its
    /// digest and size as it is read: reading it to the end fails on a mismatch. (A docker
    /// archive's layer is checked against its `diff_id` when its tar is streamed.)
    pub fn open_layer_blob(&self, layer: &Layer) -> Result<Box<dyn Read + '_>, SourceError> {
        match &self.store {
            Store::Blobs(store) => {
                let raw = store.open(&layer.member)?;
                match &layer.expect {
                    Some(e) if !e.uncompressed => Ok(Box::new(blobs::Verified::new(raw, e.clone()))),
                    _ => Ok(raw),
                }
            }
            Store::Dir(root) => Err(SourceError::Layout {
                source_name: root.display().to_string(),
                reason: "a directory has no layer blobs".into(),
            }),
        }
    }

    /// The stored size of a layer's blob: the manifest's `size`, else the size of the file or
    /// archive member that holds it (a `docker save` manifest gives no sizes).
    pub fn layer_blob_size(&self, layer: &Layer) -> Option<u64> {
        match &self.store {
            Store::Blobs(store) => layer.size.or_else(|| store.size(&layer.member)),
            Store::Dir(_) => None,
        }
    }

    /// Whether this image is a plain directory (no layers).
    pub fn is_dir(&self) -> bool {
        matches!(self.store, Store::Dir(_))
    }

    /// Builds the squashed file tree (metadata only): layers are streamed in order and OCI
    /// whiteouts applied. A blob listed several times is read once.
    pub fn tree(&self, limits: &Limits) -> Result<Index, SourceError> {
        match &self.store {
            Store::Dir(root) => dir::from_dir(root, limits),
            Store::Blobs(store) => {
                let budget = layer::Budget::default();
                self.build(store, limits, &budget, None)
            }
        }
    }

    /// Streams the layers in order into a tree; entries of the top layer (when its blob is not
    /// also lower down) are offered to `top` as they come (nothing lies above them).
    fn build(
        &self,
        store: &blobs::BlobStore,
        limits: &Limits,
        budget: &layer::Budget,
        mut top: Option<TopVisit<'_, '_>>,
    ) -> Result<Index, SourceError> {
        let mut tree = Index::default();
        let mut warnings = Vec::new();
        let last = self.layers.len().saturating_sub(1);
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for l in &self.layers {
            *seen.entry(l.member.as_str()).or_default() += 1;
        }
        let mut replay: std::collections::HashMap<&str, Vec<Entry>> = std::collections::HashMap::new();
        for (index, layer) in self.layers.iter().enumerate() {
            if let Some(entries) = replay.get(layer.member.as_str()) {
                // The same blob again: applying it once more is what the runtime does; it is
                // not inflated again.
                for e in entries.clone() {
                    tree.apply(e, index, limits.index_bounds())?;
                }
                continue;
            }
            let keep = seen.get(layer.member.as_str()).copied().unwrap_or(0) > 1;
            let mut kept = Vec::new();
            let reader = store.open(&layer.member)?;
            let mut ctx = layer::LayerRead {
                source_name: &self.name,
                limits,
                budget: Some(budget),
                warnings: Some(&mut warnings),
            };
            let offer = index == last && !keep;
            layer::for_each_entry(reader, layer, &mut ctx, |mut entry, content| {
                if keep {
                    kept.push(entry.clone());
                }
                if let (true, Some((want, visit))) = (offer, top.as_mut()) {
                    if entry.kind == EntryKind::File {
                        entry.layer = Some(index);
                        if want(&entry) {
                            let mut bounded = content.take(limits.max_file_bytes);
                            visit(&entry, &mut bounded)?;
                        }
                    }
                }
                Ok(tree.apply(entry, index, limits.index_bounds())?)
            })?;
            if keep {
                replay.insert(layer.member.as_str(), kept);
            }
        }
        tree.add_warnings(warnings);
        Ok(tree)
    }

    /// Builds the tree and visits every wanted file, reading the top layer once only: its
    /// entries are final (nothing lies above them), so they are visited while the tree is
    /// built; the lower layers are read a second time for their surviving files.
    pub fn scan(
        &self,
        limits: &Limits,
        want: &dyn Fn(&Entry) -> bool,
        visit: &mut Visitor<'_>,
    ) -> Result<Index, SourceError> {
        let Store::Blobs(store) = &self.store else {
            let tree = self.tree(limits)?;
            self.walk(&tree, limits, want, visit)?;
            return Ok(tree);
        };
        let budget = layer::Budget::default();
        let tree = self.build(store, limits, &budget, Some((want, &mut *visit)))?;
        // The top layer was visited while building unless its blob is also lower down.
        let top = self.layers.len().saturating_sub(1);
        let top_unique = self.layers.last().is_some_and(|t| self.layers[..top].iter().all(|l| l.member != t.member));
        let upto = if top_unique { top } else { self.layers.len() };
        self.visit_surviving(store, &tree, upto, limits, &budget, want, visit)?;
        Ok(tree)
    }

    /// Streams the files of `tree` for which `want` holds, handing each one's content to
    /// `visit`. For images, each distinct layer blob is read once, lowest first.
    pub fn walk(
        &self,
        tree: &Index,
        limits: &Limits,
        want: &dyn Fn(&Entry) -> bool,
        visit: &mut Visitor<'_>,
    ) -> Result<(), SourceError> {
        match &self.store {
            Store::Dir(root) => {
                for entry in tree.entries() {
                    if entry.kind != EntryKind::File || !want(entry) {
                        continue;
                    }
                    // Resolved inside the root (a link swapped in never leads out), opened only
                    // as a regular file (a FIFO never blocks). Files may vanish or be
                    // unreadable on a live system: skip them.
                    let Ok(full) = crate::fsutil::resolve_in_root(root, Path::new(&entry.path)) else {
                        continue;
                    };
                    let Ok(file) = crate::fsutil::open_regular(&full) else {
                        continue;
                    };
                    let mut reader = std::io::BufReader::new(file).take(limits.max_file_bytes);
                    visit(entry, &mut reader)?;
                }
                Ok(())
            }
            Store::Blobs(store) => {
                let budget = layer::Budget::default();
                self.visit_surviving(store, tree, self.layers.len(), limits, &budget, want, visit)
            }
        }
    }

    /// Streams the distinct blobs of layers `0..upto` and visits each file whose content
    /// survives in `tree` from them: a file at the same path and ordinal (an entry
    /// overwritten or whited out above is skipped), or a hard link whose target's content
    /// survives only through it (the target path whited out or replaced above).
    #[allow(clippy::too_many_arguments)]
    fn visit_surviving(
        &self,
        store: &blobs::BlobStore,
        tree: &Index,
        upto: usize,
        limits: &Limits,
        budget: &layer::Budget,
        want: &dyn Fn(&Entry) -> bool,
        visit: &mut Visitor<'_>,
    ) -> Result<(), SourceError> {
        use std::collections::hash_map::Entry as Slot;
        // (layer, ordinal) of a content → the path that shows it (the file itself first).
        let mut wanted: std::collections::HashMap<(usize, u64), Entry> = std::collections::HashMap::new();
        for e in tree.entries() {
            let (key, shown) = match (e.kind, e.layer, e.content) {
                (EntryKind::File, Some(l), _) => ((l, e.ordinal), e.clone()),
                (EntryKind::Hardlink, Some(_), Some(c)) => (c, Entry { kind: EntryKind::File, ..e.clone() }),
                _ => continue,
            };
            if key.0 >= upto || !want(&shown) {
                continue;
            }
            match wanted.entry(key) {
                Slot::Vacant(v) => {
                    v.insert(shown);
                }
                Slot::Occupied(mut o) => {
                    if e.kind == EntryKind::File {
                        o.insert(shown);
                    }
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let layers = &self.layers[..upto.min(self.layers.len())];
        for (layer, indexes) in distinct(layers) {
            if !indexes.iter().any(|&i| tree.has_files_from(i)) {
                continue;
            }
            let reader = store.open(&layer.member)?;
            let mut ctx = layer::LayerRead { source_name: &self.name, limits, budget: Some(budget), warnings: None };
            layer::for_each_entry(reader, layer, &mut ctx, |raw, content| {
                if raw.kind != EntryKind::File {
                    return Ok(());
                }
                let Some(entry) = indexes.iter().find_map(|&i| wanted.get(&(i, raw.ordinal))) else {
                    return Ok(());
                };
                let mut bounded = content.take(limits.max_file_bytes);
                visit(entry, &mut bounded)
            })?;
        }
        Ok(())
    }
}

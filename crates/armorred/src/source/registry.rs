//! `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]` sources: an image opened through the one OCI
//! distribution client [`crate::registry`] (auth, plain HTTP only for loopback, bounds,
//! retries). Config and layers are downloaded (digest- and size-verified, each distinct blob once) into
//! a private cache laid out like an OCI layout (a fresh directory of mode 0700 with an
//! unpredictable name, created exclusively, under [`crate::cache`]'s `registry/`), removed
//! when the [`Image`] is dropped or the open fails, and read like `oci-dir:`. Every request has a deadline and a stall timeout
//! ([`super::Limits`]); a cache left by a killed run of ours is removed by the next run.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::oci::spec::{self, Descriptor, ImageIndex, ImageManifest};
use crate::registry::{self, RegistryError};

use super::blobs::{blob_path, check_digest, BlobStore};
use super::{oci, Image, Limits, OpenOptions, Platform, SourceError};

/// The prefix of a download cache in the cache's registry directory
/// (`<cache>/registry/armorred-registry-<pid>-<random>`).
const CACHE_PREFIX: &str = "armorred-registry-";

/// Creates a private download cache in `parent`: a new directory (mode 0700, unpredictable
/// name, created exclusively, so nothing planted under a guessable name is followed).
fn private_cache(parent: &Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&format!("{CACHE_PREFIX}{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
}

/// Who made a cache: written into it as `owner`, so that a later run can prove the maker is
/// gone (another boot, or the same pid namespace without that process) before removing it.
#[derive(Debug, PartialEq, Eq)]
struct Owner {
    boot: String,
    pidns: u64,
    pid: u32,
    start: String,
}

const OWNER_MAGIC: &str = "armorred registry cache v1";

impl Owner {
    /// This process.
    fn me() -> Option<Self> {
        let pid = std::process::id();
        Some(Self { boot: boot_id()?, pidns: pid_namespace("self")?, pid, start: start_time(&pid.to_string())? })
    }

    fn render(&self) -> String {
        format!("{OWNER_MAGIC}\nboot {}\npidns {}\npid {}\nstart {}\n", self.boot, self.pidns, self.pid, self.start)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != OWNER_MAGIC {
            return None;
        }
        let mut field = |key: &str| lines.next()?.strip_prefix(key)?.strip_prefix(' ').map(str::to_string);
        let boot = field("boot")?;
        let pidns = field("pidns")?.parse().ok()?;
        let pid = field("pid")?.parse().ok()?;
        let start = field("start")?;
        Some(Self { boot, pidns, pid, start })
    }

    /// Whether the process that wrote this is provably gone, seen from `me`.
    fn is_gone(&self, me: &Self) -> bool {
        if self.boot != me.boot {
            return true;
        }
        if self.pidns != me.pidns {
            // Another pid namespace of this boot: its processes cannot be checked from here.
            return false;
        }
        match start_time(&self.pid.to_string()) {
            None => true,
            Some(start) => start != self.start,
        }
    }
}

fn boot_id() -> Option<String> {
    Some(std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string())
}

fn pid_namespace(pid: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(Path::new("/proc").join(pid).join("ns/pid")).ok().map(|m| m.ino())
}

/// Field 22 of `/proc/<pid>/stat`: when the process started (tells a reused pid apart).
fn start_time(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Writes the `owner` file of a new cache.
fn claim(cache: &Path) -> std::io::Result<()> {
    let Some(me) = Owner::me() else { return Ok(()) };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(cache.join("owner"))?;
    f.write_all(me.render().as_bytes())
}

/// Removes the caches that runs of ours left when they were killed: directories (not links)
/// named `armorred-registry-*`, owned by our uid (the owner of `ours`), whose `owner` file
/// proves the process that made them is gone. Anything else is left alone.
fn remove_stale_caches(ours: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Some(me) = Owner::me() else { return };
    let Some(tmp) = ours.parent() else { return };
    let Ok(mine) = std::fs::symlink_metadata(ours) else { return };
    let Ok(dir) = std::fs::read_dir(tmp) else { return };
    for entry in dir.flatten() {
        if !entry.file_name().to_str().is_some_and(|n| n.starts_with(CACHE_PREFIX)) {
            continue;
        }
        let path = entry.path();
        if path == ours {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if !meta.is_dir() || meta.uid() != mine.uid() {
            continue;
        }
        let owner_file = path.join("owner");
        let Ok(file) = super::blobs::open_regular(&owner_file, false) else { continue };
        let mut text = String::new();
        if file.take(4096).read_to_string(&mut text).is_err() {
            continue;
        }
        if Owner::parse(&text).is_some_and(|o| o.is_gone(&me)) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The client of the registry of `parsed`, bounded by `limits`.
fn client(parsed: &registry::Reference, limits: &Limits) -> Result<registry::Client, RegistryError> {
    let options = registry::Options {
        deadlines: crate::http::Deadlines {
            connect: limits.registry_request_timeout.min(Duration::from_secs(30)),
            stall: limits.registry_stall_timeout,
            total: None,
        },
        request_timeout: limits.registry_request_timeout,
        blob_timeout: limits.registry_blob_timeout,
        max_manifest_bytes: limits.max_json_bytes,
        ..registry::Options::default()
    };
    registry::Client::new(&parsed.host, options)
}

/// The manifest `reference` as JSON, its digest and its bytes.
fn manifest(
    client: &registry::Client,
    parsed: &registry::Reference,
    reference: &str,
    name: &str,
) -> Result<(Value, String, Vec<u8>), SourceError> {
    if reference.contains(':') {
        check_digest(reference).map_err(|reason| SourceError::Registry { reference: name.into(), reason })?;
    }
    let m = client.get_manifest(&parsed.repo, reference)?;
    let v = serde_json::from_slice(&m.bytes).map_err(|source| SourceError::Json {
        what: "manifest".into(),
        source_name: name.into(),
        source,
    })?;
    Ok((v, m.digest.to_string(), m.bytes))
}

/// Downloads a blob into the cache: at most `size` bytes (its descriptor's; more or fewer is
/// an error), within the blob deadline, verified against its digest.
fn blob_to(
    client: &registry::Client,
    repo: &str,
    (digest, size): (&str, u64),
    cache: &Path,
    max: u64,
    name: &str,
) -> Result<(), SourceError> {
    let err = |reason: String| SourceError::Registry { reference: name.into(), reason };
    if size > max {
        return Err(err(format!("blob {digest} is {size} bytes, over the limit of {max}")));
    }
    if !digest.starts_with("sha256:") {
        check_digest(digest).map_err(err)?;
        return Err(err(format!("blob {digest}: only sha256 blobs are downloaded")));
    }
    let parsed: spec::Digest = digest.parse().map_err(|e: spec::DigestError| err(e.to_string()))?;
    let rel = blob_path(digest, name)?;
    let path = cache.join(&rel);
    let io = |source| SourceError::Io { path: path.clone(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(io)?;
    client.get_blob(repo, &parsed, Some(size), max, &mut file)?;
    Ok(())
}

pub(crate) fn open(reference: &str, platform: &Platform, options: &OpenOptions) -> Result<Image, SourceError> {
    let name = format!("registry:{reference}");
    let parsed = registry::Reference::parse(reference).map_err(|e| match e {
        RegistryError::Reference { reason, .. } => SourceError::Invalid { input: name.clone(), reason },
        other => SourceError::RegistryClient(other),
    })?;
    let limits = options.limits;
    let client = client(&parsed, &limits)?;
    let err = |reason: &str| SourceError::Registry { reference: name.clone(), reason: reason.into() };
    let (mut doc, mut digest, mut raw) = manifest(&client, &parsed, &parsed.reference, &name)?;
    // syft's repo digest: the repository and the digest of what the reference names.
    let repo_digest = format!("{}/{}@{digest}", parsed.host, parsed.repo);
    let mut media_type = None;
    for _ in 0..4 {
        let index: ImageIndex = spec::from_value_or_default(doc.clone());
        let Some(manifests) = index.manifests else {
            break;
        };
        let chosen = oci::select(&manifests, platform, options.platform.is_some(), &name)?;
        let d = chosen.digest.clone().ok_or_else(|| err("index entry without digest"))?;
        media_type.clone_from(&chosen.media_type);
        (doc, digest, raw) = manifest(&client, &parsed, &d, &name)?;
    }
    let root = crate::cache::Cache::from_env();
    let kind = crate::cache::Kind::Registry;
    let cache = root
        .create(kind)
        .and_then(|parent| private_cache(&parent))
        .map_err(|source| SourceError::Io { path: root.path(kind), source })?;
    claim(cache.path()).map_err(|source| SourceError::Io { path: cache.path().join("owner"), source })?;
    remove_stale_caches(cache.path());
    let descriptor = |d: &Descriptor, what: &str| -> Result<(String, u64), SourceError> {
        let digest = d.digest.as_deref().ok_or_else(|| err(&format!("{what} without digest")))?;
        let size = d.size.ok_or_else(|| err(&format!("{what} {digest} without size")))?;
        Ok((digest.to_string(), size))
    };
    let manifest: ImageManifest = spec::from_value_or_default(doc);
    let config = descriptor(manifest.config.as_ref().unwrap_or(&Descriptor::default()), "config")?;
    let mut blobs = vec![(config, limits.max_json_bytes)];
    for l in manifest.layers.as_deref().ok_or_else(|| err("manifest without layers"))? {
        blobs.push((descriptor(l, "layer")?, limits.max_layer_bytes));
    }
    // A layer listed several times is downloaded once (its size must agree).
    let mut done: HashSet<String> = HashSet::new();
    for ((d, size), max) in blobs {
        if done.insert(d.clone()) {
            blob_to(&client, &parsed.repo, (&d, size), cache.path(), max, &name)?;
        }
    }
    let mut image =
        oci::manifest_image(name, BlobStore::Dir(cache.path().to_path_buf()), manifest, Some(digest), raw, &limits)?;
    image.cache = Some(cache);
    image.metadata.repo_digests = vec![repo_digest];
    if image.metadata.media_type.is_none() {
        image.metadata.media_type = media_type;
    }
    Ok(image)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;

    #[test]
    fn owner_proves_a_dead_maker() {
        let me = Owner::me().unwrap();
        assert_eq!(Owner::parse(&me.render()).as_ref(), Some(&me));
        assert!(!me.is_gone(&me), "we are alive");
        let other_boot = Owner { boot: "other".into(), ..Owner::me().unwrap() };
        assert!(other_boot.is_gone(&me));
        let reused = Owner { start: "0".into(), ..Owner::me().unwrap() };
        assert!(reused.is_gone(&me), "a reused pid is told apart by its start time");
        let other_ns = Owner { boot: me.boot.clone(), pidns: me.pidns + 1, pid: 1, start: "0".into() };
        assert!(!other_ns.is_gone(&me), "another pid namespace cannot be proven gone");
        assert_eq!(Owner::parse("garbage"), None);
    }
}

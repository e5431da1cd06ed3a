//! `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]` sources: a small OCI distribution client on
//! [`crate::http`] (rustls with ring). Anonymous and bearer-token pulls, credentials from
//! `~/.docker/config.json` (`auths.<host>.auth`). Plain HTTP only for loopback hosts.
//! Config and layers are downloaded (digest- and size-verified, each distinct blob once) into
//! a private cache laid out like an OCI layout (a fresh directory of mode 0700 with an
//! unpredictable name, created exclusively, under [`crate::cache`]'s `registry/`), removed
//! when the [`Image`] is dropped or the open fails, and read like `oci-dir:`. Every request has a deadline and a stall timeout
//! ([`super::Limits`]); a cache left by a killed run of ours is removed by the next run.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::oci::spec::{self, Descriptor, ImageIndex, ImageManifest};
use sha2::{Digest, Sha256};

use super::blobs::{blob_path, check_digest, BlobStore};
use super::{oci, Image, Limits, OpenOptions, Platform, SourceError};

/// The manifest media types asked for (`Accept`, joined with ", "), in this order.
const ACCEPT: [&str; 4] =
    [spec::media::INDEX, spec::media::MANIFEST, spec::media::DOCKER_MANIFEST_LIST, spec::media::DOCKER_MANIFEST];

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) host: String,
    pub(crate) repo: String,
    /// Tag or digest.
    pub(crate) reference: String,
}

impl Reference {
    pub(crate) fn parse(s: &str) -> Result<Self, SourceError> {
        let bad = |reason: &str| SourceError::Invalid { input: format!("registry:{s}"), reason: reason.into() };
        let (host, rest) = s.split_once('/').ok_or_else(|| bad("expected HOST[:PORT]/REPO[:TAG|@DIGEST]"))?;
        let host_like = host.contains('.') || host.contains(':') || host == "localhost";
        if !host_like {
            return Err(bad("the reference needs an explicit registry host (HOST[:PORT]/REPO[:TAG])"));
        }
        let (repo, reference) = if let Some((r, d)) = rest.split_once('@') {
            (r, d.to_string())
        } else {
            match rest.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r, t.to_string()),
                _ => (rest, "latest".to_string()),
            }
        };
        let repo_ok = !repo.is_empty()
            && repo.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b));
        if !repo_ok || reference.is_empty() || reference.contains(['/', '?', '#']) {
            return Err(bad("invalid repository or tag"));
        }
        Ok(Self { host: host.to_string(), repo: repo.to_string(), reference })
    }

    fn is_loopback(&self) -> bool {
        let h = self.host.rsplit_once(':').map_or(self.host.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                self.host.as_str()
            }
        });
        matches!(h, "localhost" | "[::1]") || h.starts_with("127.")
    }

    fn base(&self) -> String {
        let scheme = if self.is_loopback() { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.host, self.repo)
    }
}

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

struct Client {
    http: crate::http::Client,
    reference: Reference,
    name: String,
    token: Option<String>,
    basic: Option<String>,
    limits: Limits,
}

impl Client {
    fn err(&self, reason: impl Into<String>) -> SourceError {
        SourceError::Registry { reference: self.name.clone(), reason: reason.into() }
    }

    fn get(&mut self, url: &str, accept: Option<&str>, deadline: Duration) -> Result<ureq::Response, SourceError> {
        for attempt in 0..2 {
            let mut req = self.http.get(url).timeout(deadline);
            if let Some(a) = accept {
                req = req.set("Accept", a);
            }
            if let Some(t) = &self.token {
                req = req.set("Authorization", &format!("Bearer {t}"));
            } else if let Some(b) = &self.basic {
                req = req.set("Authorization", &format!("Basic {b}"));
            }
            match req.call() {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if attempt == 0 => {
                    let challenge = r.header("www-authenticate").unwrap_or("").to_string();
                    self.authenticate(&challenge)?;
                }
                Err(ureq::Error::Status(code, r)) => {
                    let body = r.into_string().unwrap_or_default();
                    let body: String = body.chars().take(200).collect();
                    return Err(self.err(format!("GET {url}: HTTP {code} {body}")));
                }
                Err(e) => return Err(self.err(format!("GET {url}: {e}"))),
            }
        }
        Err(self.err(format!("GET {url}: unauthorized")))
    }

    fn authenticate(&mut self, challenge: &str) -> Result<(), SourceError> {
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            if challenge.starts_with("Basic") && self.basic.is_some() {
                return Ok(());
            }
            return Err(self.err("unauthorized (no credentials in ~/.docker/config.json)"));
        };
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_params(params) {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim_matches('"').to_string();
            match k.trim() {
                "realm" => realm = Some(v),
                "service" | "scope" => query.push((k.trim().to_string(), v)),
                _ => {}
            }
        }
        let realm = realm.ok_or_else(|| self.err("bearer challenge without realm"))?;
        if !query.iter().any(|(k, _)| k == "scope") {
            query.push(("scope".into(), format!("repository:{}:pull", self.reference.repo)));
        }
        let mut req = self.http.get(&realm).timeout(self.limits.registry_request_timeout);
        for (k, v) in &query {
            req = req.query(k, v);
        }
        if let Some(b) = &self.basic {
            req = req.set("Authorization", &format!("Basic {b}"));
        }
        let resp = req.call().map_err(|e| self.err(format!("token request to {realm}: {e}")))?;
        let mut body = Vec::new();
        resp.into_reader()
            .take(self.limits.max_json_bytes)
            .read_to_end(&mut body)
            .map_err(|e| self.err(format!("token response: {e}")))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| self.err(format!("token response: {e}")))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .ok_or_else(|| self.err("token response without token"))?;
        self.token = Some(token.to_string());
        Ok(())
    }

    /// The manifest (or index) `reference` names: parsed, its digest, its bytes.
    fn manifest(&mut self, reference: &str) -> Result<(Value, String, Vec<u8>), SourceError> {
        if reference.contains(':') {
            check_digest(reference).map_err(|e| self.err(e))?;
        }
        let url = format!("{}/manifests/{reference}", self.reference.base());
        let resp = self.get(&url, Some(&ACCEPT.join(", ")), self.limits.registry_request_timeout)?;
        let max = self.limits.max_json_bytes;
        let bytes = crate::http::read_at_most(resp.into_reader(), max)
            .map_err(|e| self.err(format!("reading manifest {reference}: {e}")))?
            .ok_or_else(|| self.err(format!("the manifest {reference} is over the limit of {max} bytes")))?;
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        if reference.starts_with("sha256:") && reference != digest {
            return Err(self.err(format!("manifest {reference} does not verify: the content hashes to {digest}")));
        }
        let v = serde_json::from_slice(&bytes).map_err(|source| SourceError::Json {
            what: "manifest".into(),
            source_name: self.name.clone(),
            source,
        })?;
        Ok((v, digest, bytes))
    }

    /// Downloads a blob into the cache: at most `size` bytes (its descriptor's; more or fewer
    /// is an error), within the blob deadline, verified against its digest.
    fn blob_to(&mut self, digest: &str, size: u64, cache: &Path, max: u64) -> Result<(), SourceError> {
        if size > max {
            return Err(self.err(format!("blob {digest} is {size} bytes, over the limit of {max}")));
        }
        if !digest.starts_with("sha256:") {
            check_digest(digest).map_err(|e| self.err(e))?;
            return Err(self.err(format!("blob {digest}: only sha256 blobs are downloaded")));
        }
        let rel = blob_path(digest, &self.name)?;
        let path = cache.join(&rel);
        let url = format!("{}/blobs/{digest}", self.reference.base());
        let resp = self.get(&url, None, self.limits.registry_blob_timeout)?;
        let io = |source| SourceError::Io { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(io)?;
        let max = size;
        let mut reader = resp.into_reader().take(max + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| self.err(format!("downloading {digest}: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max {
                return Err(self.err(format!("blob {digest} sends more than the {max} bytes its descriptor gives")));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io)?;
        }
        if total < max {
            return Err(self.err(format!("blob {digest} ends after {total} of the {max} bytes its descriptor gives")));
        }
        let got = format!("sha256:{:x}", hasher.finalize());
        if got != digest {
            return Err(self.err(format!("blob digest mismatch: expected {digest}, got {got}")));
        }
        Ok(())
    }
}

/// Splits `a="x,y",b=z` on commas outside quotes.
fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Basic credentials for `host` from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
fn docker_credentials(host: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    let auths = v.get("auths")?.as_object()?;
    for (key, entry) in auths {
        let key_host = key.trim_start_matches("https://").trim_start_matches("http://").split('/').next().unwrap_or("");
        if key_host != host {
            continue;
        }
        if let Some(a) = entry.get("auth").and_then(Value::as_str) {
            return Some(a.to_string());
        }
        if let (Some(u), Some(p)) =
            (entry.get("username").and_then(Value::as_str), entry.get("password").and_then(Value::as_str))
        {
            return Some(base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")));
        }
    }
    None
}

pub(crate) fn open(reference: &str, platform: &Platform, options: &OpenOptions) -> Result<Image, SourceError> {
    let parsed = Reference::parse(reference)?;
    let name = format!("registry:{reference}");
    let limits = options.limits;
    // Each request sets its own overall deadline (a manifest's or a blob's).
    let http = crate::http::Client::new(crate::http::Deadlines {
        connect: limits.registry_request_timeout.min(Duration::from_secs(30)),
        stall: limits.registry_stall_timeout,
        total: None,
    });
    let mut client = Client {
        http,
        basic: docker_credentials(&parsed.host),
        reference: parsed.clone(),
        name: name.clone(),
        token: None,
        limits,
    };
    let (mut doc, mut digest, mut raw) = client.manifest(&parsed.reference)?;
    // syft's repo digest: the repository and the digest of what the reference names.
    let repo_digest = format!("{}/{}@{digest}", parsed.host, parsed.repo);
    let mut media_type = None;
    for _ in 0..4 {
        let index: ImageIndex = spec::from_value_or_default(doc.clone());
        let Some(manifests) = index.manifests else {
            break;
        };
        let chosen = oci::select(&manifests, platform, options.platform.is_some(), &name)?;
        let d = chosen.digest.clone().ok_or_else(|| client.err("index entry without digest"))?;
        media_type.clone_from(&chosen.media_type);
        (doc, digest, raw) = client.manifest(&d)?;
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
        let digest = d.digest.as_deref().ok_or_else(|| client.err(format!("{what} without digest")))?;
        let size = d.size.ok_or_else(|| client.err(format!("{what} {digest} without size")))?;
        Ok((digest.to_string(), size))
    };
    let manifest: ImageManifest = spec::from_value_or_default(doc);
    let config = descriptor(manifest.config.as_ref().unwrap_or(&Descriptor::default()), "config")?;
    let mut blobs = vec![(config, limits.max_json_bytes)];
    for l in manifest.layers.as_deref().ok_or_else(|| client.err("manifest without layers"))? {
        blobs.push((descriptor(l, "layer")?, limits.max_layer_bytes));
    }
    // A layer listed several times is downloaded once (its size must agree).
    let mut done: HashSet<String> = HashSet::new();
    for ((d, size), max) in blobs {
        if done.insert(d.clone()) {
            client.blob_to(&d, size, cache.path(), max)?;
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
    fn accept_header_is_unchanged() {
        assert_eq!(
            ACCEPT.join(", "),
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
        );
    }

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/armorred/nginx:1.26").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repo.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "armorred/nginx", "1.26")
        );
        assert!(r.is_loopback());
        assert!(r.base().starts_with("http://"));
        let r = Reference::parse("registry.example/app@sha256:abcd").unwrap();
        assert_eq!(r.reference, "sha256:abcd");
        assert!(!r.is_loopback());
        assert!(r.base().starts_with("https://"));
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.reference, "latest");
        assert!(Reference::parse("nginx:latest").is_err());
        assert!(Reference::parse("library/nginx").is_err());
        assert!(Reference::parse("host.example/UPPER").is_err());
    }

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

    #[test]
    fn challenge_params() {
        assert_eq!(
            split_params(r#"realm="https://a/token",service="reg",scope="repository:x:pull,push""#),
            [r#"realm="https://a/token""#, r#"service="reg""#, r#"scope="repository:x:pull,push""#]
        );
    }
}

//! The one OCI distribution client: pull and push of manifests and blobs over
//! [`crate::http`], used by the `registry:` image source, `armorred push` / `armorred pull`
//! ([`copy`]) and the signing code (which stores cosign signatures and attestations).
//!
//! - References `HOST[:PORT]/REPO[:TAG|@DIGEST]` ([`Reference`]); the host is always explicit.
//! - Plain HTTP only for loopback hosts and the hosts given in [`Options::insecure_hosts`]
//!   (`--insecure-registry HOST`); HTTPS (rustls) everywhere else.
//! - Auth: Basic credentials from the docker config (`auths.<host>.auth`, or `username` and
//!   `password`), `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenges
//!   answered by a token request for the `pull` or `pull,push` scopes of the repositories
//!   involved (one token per scope set, kept for the client's life), and `Basic` challenges.
//!   Credential helpers (`credsStore`, `credHelpers`) are not run.
//! - Bounds: every request has a connect and a stall timeout and an overall deadline (a small
//!   request's or a blob's); manifests, token responses and tag lists are read up to
//!   [`Options::max_manifest_bytes`]; blobs up to their descriptor's size, hashed as they
//!   stream; a manifest fetched by digest, or announced by `Docker-Content-Digest`, must hash
//!   to it.
//! - Retries: every step that can be repeated (GET, HEAD, a manifest PUT, a whole blob upload
//!   from its POST) is retried with exponential backoff on HTTP 5xx, 429 and dropped
//!   connections (refused, reset, cut short), bounded in count and total time ([`Retry`]); a
//!   timeout, a TLS or a DNS failure is not retried. A
//!   blob upload that fails in its PATCH or PUT restarts from a new upload session.
//! - Uploads: monolithic (POST, PUT `?digest=`) up to [`Options::chunk_size`] bytes, chunked
//!   above it (POST, PATCH with `Content-Range`, PUT `?digest=`), cross-repository mount
//!   (`POST ?mount=&from=`) when a source repository is given; every pushed blob is confirmed
//!   with a HEAD. An upload `Location` on another host than the registry is refused (no blob,
//!   no credentials go there); redirects of GETs are followed without the `Authorization`
//!   header.
//! - OCI 1.1 referrers (`GET /v2/<name>/referrers/<digest>`): a registry that answers 404 has
//!   none ([`RegistryError::ReferrersUnsupported`]): callers fall back to cosign's tag scheme
//!   ([`cosign_tag`]).

mod auth;
pub mod copy;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::Sha256;

use crate::oci::spec::{self, Descriptor, Digest};

pub use auth::DockerConfig;

/// The manifest media types asked for (`Accept`, joined with ", "), in this order.
pub const ACCEPT: [&str; 4] =
    [spec::media::INDEX, spec::media::MANIFEST, spec::media::DOCKER_MANIFEST_LIST, spec::media::DOCKER_MANIFEST];

/// The default bound of a manifest, an index, a token response or a tag list (4 MiB, as the
/// distribution server's own manifest limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Errors of the registry client. Each names the registry (`HOST`) and the request or the
/// object concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A reference, repository, tag or digest that is not well-formed.
    #[error("invalid registry reference {input:?}: {reason}")]
    Reference {
        /// As given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("{registry}: {method} {url}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(" {body}") })]
    Status {
        /// The registry host.
        registry: String,
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body (control characters escaped).
        body: String,
    },
    /// The request did not get an answer (connection refused or dropped, TLS, timeout).
    #[error("{registry}: {method} {url} failed")]
    Transport {
        /// The registry host.
        registry: String,
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// Whether the connection was refused, reset or cut short (then it is retried; a
        /// timeout, a TLS or DNS failure is not).
        dropped: bool,
        /// The cause.
        #[source]
        source: Box<ureq::Transport>,
    },
    /// Reading a response body failed (the connection dropped or stalled).
    #[error("{registry}: {what}")]
    Body {
        /// The registry host.
        registry: String,
        /// What was read (`downloading sha256:...`).
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Authentication failed or is impossible.
    #[error("{registry}: {reason}")]
    Auth {
        /// The registry host.
        registry: String,
        /// What went wrong.
        reason: String,
    },
    /// A response is larger than its bound.
    #[error("{registry}: the {what} is over the limit of {max} bytes")]
    TooLarge {
        /// The registry host.
        registry: String,
        /// What (`manifest sha256:...`, `token response`).
        what: String,
        /// The bound.
        max: u64,
    },
    /// Content does not hash to the digest it must have.
    #[error("{registry}: {what} does not verify: expected {expected}, the content hashes to {actual}")]
    DigestMismatch {
        /// The registry host.
        registry: String,
        /// What (`manifest latest`, `blob sha256:...`).
        what: String,
        /// The digest it must have.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The registry broke the protocol (a missing header, an unexpected status, a `Location`
    /// on another host, a malformed document).
    #[error("{registry}: {what}: {reason}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// The step.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry has no OCI referrers API (it answered 404).
    #[error("{registry}: no OCI referrers API (HTTP 404 for {url}); use the cosign tag scheme (sha256-<hex>.sig, .att, .sbom)")]
    ReferrersUnsupported {
        /// The registry host.
        registry: String,
        /// The request URL.
        url: String,
    },
    /// A transient failure lasted through every retry.
    #[error("{registry}: {what}: gave up after {attempts} attempts")]
    GaveUp {
        /// The registry host.
        registry: String,
        /// The step.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: Box<RegistryError>,
    },
    /// A local file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A local image (an `oci-dir:` layout, a docker archive) is unusable.
    #[error("{input}: {reason}")]
    Input {
        /// The input as given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A JSON document is malformed.
    #[error("{what} of {input} is not valid JSON")]
    Json {
        /// Whose document (an input, or a registry reference).
        input: String,
        /// Which document.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An output layout cannot be written.
    #[error(transparent)]
    Output(#[from] crate::oci::OciError),
}

impl RegistryError {
    /// Whether repeating the step may succeed: HTTP 5xx or 429, a dropped connection (not a
    /// timeout), a body cut short.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Transport { dropped, .. } => *dropped,
            Self::Body { source, .. } => is_dropped(source),
            _ => false,
        }
    }

    /// Whether the registry answered 404 (after any retries).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }
}

/// A connection refused, reset, aborted or cut short (not a timeout, not bad data).
fn is_dropped(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::UnexpectedEof
    )
}

/// Whether a transport failure is a dropped connection (see [`is_dropped`]): a refused
/// connection, an answer cut off before its status line, or such an I/O error.
fn transport_is_dropped(t: &ureq::Transport) -> bool {
    match t.kind() {
        ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::BadStatus => true,
        ureq::ErrorKind::Io => {
            let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
            while let Some(e) = cur {
                if let Some(io) = e.downcast_ref::<std::io::Error>() {
                    return is_dropped(io);
                }
                cur = e.source();
            }
            false
        }
        _ => false,
    }
}

/// A parsed `HOST[:PORT]/REPO[:TAG|@DIGEST]` reference (without the `registry:` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `HOST[:PORT]`.
    pub host: String,
    /// The repository (`armorred/nginx`).
    pub repo: String,
    /// The tag or the digest (`latest` when none is given).
    pub reference: String,
}

impl Reference {
    /// Parses `s`. The host must look like one (a dot, a port, or `localhost`).
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let bad = |reason: &str| RegistryError::Reference { input: s.to_string(), reason: reason.into() };
        let (host, rest) = s.split_once('/').ok_or_else(|| bad("expected HOST[:PORT]/REPO[:TAG|@DIGEST]"))?;
        let host_like = host.contains('.') || host.contains(':') || host == "localhost";
        if !host_like || host.contains(['@', '?', '#', ' ']) {
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
        check_repo(repo).map_err(|r| bad(&r))?;
        if reference.contains(':') {
            if !reference.split_once(':').is_some_and(|(a, h)| {
                !a.is_empty() && !h.is_empty() && a.bytes().chain(h.bytes()).all(|b| b.is_ascii_alphanumeric())
            }) {
                return Err(bad("invalid digest (ALGORITHM:HEX)"));
            }
        } else {
            check_tag(&reference).map_err(|r| bad(&r))?;
        }
        Ok(Self { host: host.to_string(), repo: repo.to_string(), reference })
    }

    /// The digest, when the reference is one.
    pub fn digest(&self) -> Option<Digest> {
        self.reference.parse().ok()
    }

    /// The tag, when the reference is not a digest.
    pub fn tag(&self) -> Option<&str> {
        (!self.reference.contains(':')).then_some(self.reference.as_str())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.reference.contains(':') { '@' } else { ':' };
        write!(f, "{}/{}{sep}{}", self.host, self.repo, self.reference)
    }
}

/// Checks a repository name (lower-case path components of `[a-z0-9._-]`).
pub fn check_repo(repo: &str) -> Result<(), String> {
    let ok = !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        });
    if ok {
        Ok(())
    } else {
        Err(format!("invalid repository {repo:?} (lower-case [a-z0-9._-] components separated by /)"))
    }
}

/// Checks a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
pub fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !tag.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!("invalid tag {tag:?} ([A-Za-z0-9_][A-Za-z0-9._-], at most 128)"))
    }
}

/// The tag under which cosign stores what belongs to `digest` when the registry has no
/// referrers API: `sha256-<hex>.<suffix>` (`sig`, `att`, `sbom`).
pub fn cosign_tag(digest: &Digest, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", digest.hex())
}

/// Whether `host` (`HOST[:PORT]`) is a loopback host.
pub fn is_loopback(host: &str) -> bool {
    let h = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    matches!(h, "localhost" | "[::1]") || h.starts_with("127.")
}

/// Retry policy of repeatable steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first pause; each next one doubles, up to `max_delay`.
    pub initial_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
    /// No retry starts after this long since the first attempt.
    pub max_total: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(120),
        }
    }
}

/// How a [`Client`] connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hosts (`HOST[:PORT]`) reached over plain HTTP besides loopback (`--insecure-registry`).
    pub insecure_hosts: Vec<String>,
    /// Connect and stall timeouts (`total` is ignored: each request has its own deadline).
    pub deadlines: crate::http::Deadlines,
    /// Overall deadline of a small request (manifest, token, HEAD, upload session steps).
    pub request_timeout: Duration,
    /// Overall deadline of a blob download or of one blob upload request.
    pub blob_timeout: Duration,
    /// Bound of a manifest, token response or tag list.
    pub max_manifest_bytes: u64,
    /// Where credentials come from.
    pub docker_config: DockerConfig,
    /// Retries of repeatable steps.
    pub retry: Retry,
    /// Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks of this size.
    pub chunk_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure_hosts: Vec::new(),
            deadlines: crate::http::Deadlines {
                connect: Duration::from_secs(30),
                stall: Duration::from_secs(60),
                total: None,
            },
            request_timeout: Duration::from_secs(60),
            blob_timeout: Duration::from_secs(30 * 60),
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            docker_config: DockerConfig::FromEnv,
            retry: Retry::default(),
            chunk_size: 64 << 20,
        }
    }
}

/// A manifest (or index) as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Its bytes (the digest is over these).
    pub bytes: Vec<u8>,
    /// Its media type (`Content-Type`, else its `mediaType` field, else empty).
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
}

impl Manifest {
    /// Whether it is an index (OCI or docker manifest list).
    pub fn is_index(&self) -> bool {
        spec::media::INDEX_TYPES.contains(&self.media_type.as_str())
    }

    /// A descriptor of it.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(&self.media_type, &self.digest, self.bytes.len() as u64)
    }
}

/// What a HEAD of a manifest tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `Docker-Content-Digest`.
    pub digest: Digest,
    /// `Content-Type`.
    pub media_type: String,
    /// `Content-Length`.
    pub size: Option<u64>,
}

/// One entry of a referrers answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The manifest's descriptor.
    pub descriptor: Descriptor,
    /// Its `artifactType`.
    pub artifact_type: Option<String>,
}

/// Where a downloaded blob goes: written from the start again when a download is retried.
pub trait BlobSink: Write {
    /// Discards what was written.
    fn reset(&mut self) -> std::io::Result<()>;
}

impl BlobSink for Vec<u8> {
    fn reset(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
}

impl BlobSink for std::fs::File {
    fn reset(&mut self) -> std::io::Result<()> {
        self.set_len(0)?;
        self.rewind()
    }
}

/// The content of a blob to upload (read again from the start when an upload restarts).
#[derive(Debug, Clone, Copy)]
pub enum BlobSource<'a> {
    /// In memory.
    Bytes(&'a [u8]),
    /// A regular file (not followed through a symlink).
    File(&'a Path),
}

impl BlobSource<'_> {
    fn open(&self) -> Result<Box<dyn Read + '_>, RegistryError> {
        match self {
            Self::Bytes(b) => Ok(Box::new(*b)),
            Self::File(p) => {
                let io = |source| RegistryError::Io { path: p.to_path_buf(), source };
                let meta = std::fs::symlink_metadata(p).map_err(io)?;
                if !meta.is_file() {
                    return Err(io(std::io::Error::other("not a regular file")));
                }
                Ok(Box::new(std::fs::File::open(p).map_err(io)?))
            }
        }
    }
}

/// How a blob reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// It was there already.
    Existed,
    /// Mounted from another repository of the registry.
    Mounted,
    /// Uploaded.
    Uploaded,
}

/// A request body.
enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A stream of this many bytes (not repeatable: a 401 on it is an error).
    Stream(&'a mut dyn Read, u64),
}

/// One request.
struct Req<'a> {
    method: &'static str,
    url: String,
    scopes: &'a [String],
    headers: Vec<(&'static str, String)>,
    timeout: Duration,
}

/// A reader that hashes and counts what passes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        use sha2::Digest as _;
        Self { inner, hasher: Sha256::new(), count: 0 }
    }

    fn digest(&self) -> String {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }
}

/// A client of one registry host.
#[derive(Debug)]
pub struct Client {
    http: crate::http::Client,
    host: String,
    /// `http://HOST` or `https://HOST`.
    origin: String,
    basic: Option<String>,
    /// Bearer tokens by scope set (space-joined).
    tokens: Mutex<HashMap<String, String>>,
    options: Options,
}

/// The `pull` scope of `repo`.
fn pull_scope(repo: &str) -> Vec<String> {
    vec![format!("repository:{repo}:pull")]
}

/// The `pull,push` scope of `repo`.
fn push_scope(repo: &str) -> Vec<String> {
    vec![format!("repository:{repo}:pull,push")]
}

/// Appends `key=value` (percent-encoded) to the query of `url`.
fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let enc: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{url}{sep}{key}={enc}")
}

/// A response body's start as text for an error message (control characters escaped).
fn body_excerpt(resp: ureq::Response) -> String {
    let mut buf = Vec::new();
    let _ = resp.into_reader().take(512).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let cut: String = text.trim().chars().take(200).collect();
    crate::display::escape(&cut).into_owned()
}

/// The media type of a `Content-Type` header (parameters dropped).
fn media_type_of(header: Option<&str>) -> String {
    header.unwrap_or("").split(';').next().unwrap_or("").trim().to_string()
}

impl Client {
    /// A client of `host` (`HOST[:PORT]`): plain HTTP when it is loopback or among
    /// `options.insecure_hosts`, HTTPS otherwise; credentials from `options.docker_config`.
    pub fn new(host: &str, options: Options) -> Result<Self, RegistryError> {
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(RegistryError::Reference { input: host.to_string(), reason: "not a HOST[:PORT]".into() });
        }
        let scheme = if is_loopback(host) || options.insecure_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            "http"
        } else {
            "https"
        };
        let http = crate::http::Client::new(crate::http::Deadlines { total: None, ..options.deadlines });
        Ok(Self {
            http,
            host: host.to_string(),
            origin: format!("{scheme}://{host}"),
            basic: options.docker_config.credentials(host),
            tokens: Mutex::new(HashMap::new()),
            options,
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    fn url(&self, repo: &str, rest: &str) -> String {
        format!("{}/v2/{repo}/{rest}", self.origin)
    }

    fn protocol(&self, what: impl Into<String>, reason: impl Into<String>) -> RegistryError {
        RegistryError::Protocol { registry: self.host.clone(), what: what.into(), reason: reason.into() }
    }

    fn check_repo(&self, repo: &str) -> Result<(), RegistryError> {
        check_repo(repo).map_err(|reason| RegistryError::Reference { input: format!("{}/{repo}", self.host), reason })
    }

    /// A tag or a sha256 digest (`None` for a tag).
    fn check_reference(&self, repo: &str, reference: &str) -> Result<Option<Digest>, RegistryError> {
        self.check_repo(repo)?;
        let bad =
            |reason: String| RegistryError::Reference { input: format!("{}/{repo}:{reference}", self.host), reason };
        if reference.contains(':') {
            reference.parse::<Digest>().map(Some).map_err(|e| bad(e.to_string()))
        } else {
            check_tag(reference).map(|()| None).map_err(bad)
        }
    }

    fn authorization(&self, scopes: &[String]) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = tokens.get(&scopes.join(" ")) {
            return Some(format!("Bearer {t}"));
        }
        self.basic.as_ref().map(|b| format!("Basic {b}"))
    }

    /// One request, answering one 401 challenge (when the body can be sent again).
    fn call(&self, r: &Req<'_>, mut body: Body<'_>) -> Result<ureq::Response, RegistryError> {
        for attempt in 0..2 {
            let mut req = self.http.request(r.method, &r.url).timeout(r.timeout);
            for (k, v) in &r.headers {
                req = req.set(k, v);
            }
            if let Some(a) = self.authorization(r.scopes) {
                req = req.set("Authorization", &a);
            }
            let result = match &mut body {
                Body::Empty if matches!(r.method, "PUT" | "POST" | "PATCH") => req.send_bytes(&[]),
                Body::Empty => req.call(),
                Body::Bytes(b) => req.send_bytes(b),
                Body::Stream(reader, n) => req.set("Content-Length", &n.to_string()).send(&mut **reader),
            };
            match result {
                Ok(resp) => return Ok(resp),
                Err(ureq::Error::Status(401, resp)) if attempt == 0 && !matches!(body, Body::Stream(..)) => {
                    let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
                    self.authenticate(&challenge, r.scopes)?;
                }
                Err(ureq::Error::Status(401, resp)) => {
                    return Err(RegistryError::Auth {
                        registry: self.host.clone(),
                        reason: format!(
                            "{} {}: unauthorized (HTTP 401) with the credentials given: {}",
                            r.method,
                            r.url,
                            body_excerpt(resp)
                        ),
                    })
                }
                Err(ureq::Error::Status(status, resp)) => {
                    return Err(RegistryError::Status {
                        registry: self.host.clone(),
                        method: r.method.into(),
                        url: r.url.clone(),
                        status,
                        body: body_excerpt(resp),
                    })
                }
                Err(ureq::Error::Transport(t)) => {
                    let dropped = transport_is_dropped(&t);
                    return Err(RegistryError::Transport {
                        registry: self.host.clone(),
                        method: r.method.into(),
                        url: r.url.clone(),
                        dropped,
                        source: Box::new(t),
                    });
                }
            }
        }
        Err(RegistryError::Auth {
            registry: self.host.clone(),
            reason: format!("{} {}: unauthorized", r.method, r.url),
        })
    }

    /// Repeats `op` on transient failures, with backoff, within [`Options::retry`].
    fn retrying<T>(&self, what: &str, mut op: impl FnMut() -> Result<T, RegistryError>) -> Result<T, RegistryError> {
        let policy = self.options.retry;
        let start = Instant::now();
        let mut delay = policy.initial_delay;
        let mut attempt = 1;
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.is_transient() && attempt < policy.attempts && start.elapsed() + delay <= policy.max_total =>
                {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(policy.max_delay);
                    attempt += 1;
                }
                Err(e) if attempt > 1 => {
                    return Err(RegistryError::GaveUp {
                        registry: self.host.clone(),
                        what: what.to_string(),
                        attempts: attempt,
                        source: Box::new(e),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads a small response body, at most [`Options::max_manifest_bytes`].
    fn read_small(&self, resp: ureq::Response, what: &str) -> Result<Vec<u8>, RegistryError> {
        let max = self.options.max_manifest_bytes;
        crate::http::read_at_most(resp.into_reader(), max)
            .map_err(|source| RegistryError::Body {
                registry: self.host.clone(),
                what: format!("reading the {what}"),
                source,
            })?
            .ok_or_else(|| RegistryError::TooLarge { registry: self.host.clone(), what: what.into(), max })
    }

    /// Fetches the manifest (or index) `reference` (tag or digest) of `repo`: bounded, and
    /// verified against the digest when `reference` is one, and against the
    /// `Docker-Content-Digest` header when the registry sends one.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<Manifest, RegistryError> {
        let want = self.check_reference(repo, reference)?;
        let url = self.url(repo, &format!("manifests/{reference}"));
        let scopes = pull_scope(repo);
        let what = format!("manifest {reference}");
        self.retrying(&format!("GET {what}"), || {
            let req = Req {
                method: "GET",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![("Accept", ACCEPT.join(", "))],
                timeout: self.options.request_timeout,
            };
            let resp = self.call(&req, Body::Empty)?;
            let mut media_type = media_type_of(resp.header("content-type"));
            let announced = resp.header("docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
            let bytes = self.read_small(resp, &what)?;
            let digest = Digest::of(&bytes);
            for (expected, whose) in
                [(want.as_ref(), what.clone()), (announced.as_ref(), format!("{what} (Docker-Content-Digest)"))]
            {
                if let Some(e) = expected.filter(|e| **e != digest) {
                    return Err(RegistryError::DigestMismatch {
                        registry: self.host.clone(),
                        what: whose,
                        expected: e.to_string(),
                        actual: digest.to_string(),
                    });
                }
            }
            if !media_type.starts_with("application/vnd.") {
                let field: spec::ImageIndex = serde_json::from_slice(&bytes).unwrap_or_default();
                media_type = field.media_type.unwrap_or_default();
            }
            Ok(Manifest { bytes, media_type, digest })
        })
    }

    /// HEADs the manifest `reference` of `repo`: `None` when the registry has none (404).
    pub fn head_manifest(&self, repo: &str, reference: &str) -> Result<Option<ManifestHead>, RegistryError> {
        self.check_reference(repo, reference)?;
        let url = self.url(repo, &format!("manifests/{reference}"));
        let scopes = pull_scope(repo);
        let head = self.retrying(&format!("HEAD manifest {reference}"), || {
            let req = Req {
                method: "HEAD",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![("Accept", ACCEPT.join(", "))],
                timeout: self.options.request_timeout,
            };
            match self.call(&req, Body::Empty) {
                Ok(resp) => Ok(Some((
                    resp.header("docker-content-digest").map(str::to_string),
                    media_type_of(resp.header("content-type")),
                    resp.header("content-length").and_then(|l| l.parse().ok()),
                ))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        let Some((digest, media_type, size)) = head else { return Ok(None) };
        let digest = match digest.and_then(|d| d.parse::<Digest>().ok()) {
            Some(d) => d,
            // No usable Docker-Content-Digest: the manifest itself tells.
            None => {
                return self.get_manifest(repo, reference).map(|m| {
                    Some(ManifestHead { digest: m.digest, media_type: m.media_type, size: Some(m.bytes.len() as u64) })
                })
            }
        };
        Ok(Some(ManifestHead { digest, media_type, size }))
    }

    /// Downloads the blob `digest` of `repo` into `sink`: at most `size` bytes when the size is
    /// known (more or fewer is an error), else at most `max`; hashed as it streams; retried
    /// from the start (the sink reset) on transient failures. Returns the size.
    pub fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        max: u64,
        sink: &mut dyn BlobSink,
    ) -> Result<u64, RegistryError> {
        self.check_repo(repo)?;
        if let Some(s) = size.filter(|s| *s > max) {
            return Err(RegistryError::TooLarge {
                registry: self.host.clone(),
                what: format!("blob {digest} ({s} bytes)"),
                max,
            });
        }
        let limit = size.unwrap_or(max);
        let url = self.url(repo, &format!("blobs/{digest}"));
        let scopes = pull_scope(repo);
        self.retrying(&format!("GET blob {digest}"), || {
            sink.reset()
                .map_err(|source| RegistryError::Io { path: PathBuf::from(format!("<blob {digest}>")), source })?;
            let req = Req {
                method: "GET",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![],
                timeout: self.options.blob_timeout,
            };
            let resp = self.call(&req, Body::Empty)?;
            let mut reader = Hashing::new(resp.into_reader().take(limit.saturating_add(1)));
            let mut buf = vec![0u8; 256 << 10];
            loop {
                let n = reader.read(&mut buf).map_err(|source| RegistryError::Body {
                    registry: self.host.clone(),
                    what: format!("downloading {digest}"),
                    source,
                })?;
                if n == 0 {
                    break;
                }
                if reader.count > limit {
                    return Err(match size {
                        Some(s) => self.protocol(
                            format!("blob {digest}"),
                            format!("sends more than the {s} bytes its descriptor gives"),
                        ),
                        None => {
                            RegistryError::TooLarge { registry: self.host.clone(), what: format!("blob {digest}"), max }
                        }
                    });
                }
                sink.write_all(&buf[..n])
                    .map_err(|source| RegistryError::Io { path: PathBuf::from(format!("<blob {digest}>")), source })?;
            }
            if let Some(s) = size.filter(|s| reader.count < *s) {
                return Err(self.protocol(
                    format!("blob {digest}"),
                    format!("ends after {} of the {s} bytes its descriptor gives", reader.count),
                ));
            }
            let got = reader.digest();
            if got != digest.as_str() {
                return Err(RegistryError::DigestMismatch {
                    registry: self.host.clone(),
                    what: format!("blob {digest}"),
                    expected: digest.to_string(),
                    actual: got,
                });
            }
            sink.flush()
                .map_err(|source| RegistryError::Io { path: PathBuf::from(format!("<blob {digest}>")), source })?;
            Ok(reader.count)
        })
    }

    /// Downloads a small blob (at most `max` bytes) into memory.
    pub fn get_blob_bytes(&self, repo: &str, digest: &Digest, max: u64) -> Result<Vec<u8>, RegistryError> {
        let mut out = Vec::new();
        self.get_blob(repo, digest, None, max, &mut out)?;
        Ok(out)
    }

    /// Whether `repo` has the blob `digest`: its size, or `None` (404).
    pub fn blob_exists(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, RegistryError> {
        self.check_repo(repo)?;
        let url = self.url(repo, &format!("blobs/{digest}"));
        let scopes = pull_scope(repo);
        self.retrying(&format!("HEAD blob {digest}"), || {
            let req = Req {
                method: "HEAD",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![],
                timeout: self.options.request_timeout,
            };
            match self.call(&req, Body::Empty) {
                Ok(resp) => resp
                    .header("content-length")
                    .and_then(|l| l.trim().parse().ok())
                    .map(Some)
                    .ok_or_else(|| self.protocol(format!("HEAD blob {digest}"), "no Content-Length in the answer")),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// The absolute URL of an upload `Location`, which must be on this registry's origin.
    fn location(&self, resp: &ureq::Response, what: &str) -> Result<String, RegistryError> {
        let loc = resp.header("location").ok_or_else(|| self.protocol(what, "no Location header in the answer"))?;
        if loc.starts_with('/') && !loc.starts_with("//") {
            return Ok(format!("{}{loc}", self.origin));
        }
        let same_origin = loc.len() >= self.origin.len()
            && loc[..self.origin.len()].eq_ignore_ascii_case(&self.origin)
            && matches!(loc.as_bytes().get(self.origin.len()), None | Some(b'/' | b'?'));
        if !same_origin {
            return Err(self.protocol(
                what,
                format!(
                    "the upload Location {} is not on {}; refusing to send the blob (and credentials) to another host",
                    crate::display::escape(loc),
                    self.origin
                ),
            ));
        }
        Ok(loc.to_string())
    }

    /// Uploads the blob `digest` (`size` bytes from `source`) to `repo`, unless it is there:
    /// mounted from `mount_from` when given and the registry can, else uploaded monolithically
    /// or in chunks (see [`Options::chunk_size`]); restarted from a new session on transient
    /// failures; confirmed with a HEAD before returning.
    pub fn push_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        source: BlobSource<'_>,
        mount_from: Option<&str>,
    ) -> Result<Pushed, RegistryError> {
        self.check_repo(repo)?;
        if let Some(from) = mount_from {
            self.check_repo(from)?;
        }
        if self.blob_exists(repo, digest)? == Some(size) {
            return Ok(Pushed::Existed);
        }
        let how = self.retrying(&format!("uploading blob {digest}"), || {
            self.upload_once(repo, digest, size, source, mount_from)
        })?;
        match self.blob_exists(repo, digest)? {
            Some(s) if s == size => Ok(how),
            Some(s) => Err(self.protocol(
                format!("blob {digest}"),
                format!("after the upload the registry reports {s} bytes, not {size}"),
            )),
            None => Err(self.protocol(
                format!("blob {digest}"),
                "the registry does not confirm the blob after the upload (HEAD 404)",
            )),
        }
    }

    fn upload_once(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        source: BlobSource<'_>,
        mount_from: Option<&str>,
    ) -> Result<Pushed, RegistryError> {
        let mut scopes = push_scope(repo);
        let mut url = self.url(repo, "blobs/uploads/");
        if let Some(from) = mount_from {
            scopes.push(format!("repository:{from}:pull"));
            url = with_query(&with_query(&url, "mount", digest.as_str()), "from", from);
        }
        let step = |s: &str| format!("uploading blob {digest}: {s}");
        let small = |method, url: String| Req {
            method,
            url,
            scopes: &scopes,
            headers: vec![],
            timeout: self.options.request_timeout,
        };
        let resp = self.call(&small("POST", url), Body::Empty)?;
        if resp.status() == 201 && mount_from.is_some() {
            return Ok(Pushed::Mounted);
        }
        if resp.status() != 202 {
            return Err(self.protocol(step("POST"), format!("expected HTTP 202 Accepted, got {}", resp.status())));
        }
        let mut location = self.location(&resp, &step("POST"))?;
        if let BlobSource::File(p) = source {
            let len =
                std::fs::symlink_metadata(p).map_err(|e| RegistryError::Io { path: p.to_path_buf(), source: e })?.len();
            if len != size {
                return Err(RegistryError::Input {
                    input: p.display().to_string(),
                    reason: format!("is {len} bytes, its descriptor gives {size}"),
                });
            }
        }
        let mut reader = Hashing::new(source.open()?.take(size));
        let octets = ("Content-Type", "application/octet-stream".to_string());
        let check_local = |reader: &Hashing<_>| -> Result<(), RegistryError> {
            let got = reader.digest();
            if reader.count != size || got != digest.as_str() {
                return Err(RegistryError::Input {
                    input: match source {
                        BlobSource::File(p) => p.display().to_string(),
                        BlobSource::Bytes(_) => format!("blob {digest}"),
                    },
                    reason: format!("its {} bytes hash to {got}, not to {digest} ({size} bytes)", reader.count),
                });
            }
            Ok(())
        };
        if size <= self.options.chunk_size {
            let req = Req {
                method: "PUT",
                url: with_query(&location, "digest", digest.as_str()),
                scopes: &scopes,
                headers: vec![octets],
                timeout: self.options.blob_timeout,
            };
            let result = self.call(&req, Body::Stream(&mut reader, size));
            // All of it was read (or the registry answered): what was sent must be the blob.
            // A connection dropped half way is the transport's error, retried.
            if result.is_ok() || reader.count == size {
                check_local(&reader)?;
            }
            let resp = result?;
            if resp.status() != 201 {
                return Err(self.protocol(step("PUT"), format!("expected HTTP 201 Created, got {}", resp.status())));
            }
            return Ok(Pushed::Uploaded);
        }
        let mut offset = 0u64;
        while offset < size {
            let n = self.options.chunk_size.min(size - offset);
            let req = Req {
                method: "PATCH",
                url: location.clone(),
                scopes: &scopes,
                headers: vec![octets.clone(), ("Content-Range", format!("{offset}-{}", offset + n - 1))],
                timeout: self.options.blob_timeout,
            };
            let mut chunk = (&mut reader).take(n);
            let resp = self.call(&req, Body::Stream(&mut chunk, n))?;
            if resp.status() != 202 {
                return Err(self.protocol(step("PATCH"), format!("expected HTTP 202 Accepted, got {}", resp.status())));
            }
            location = self.location(&resp, &step("PATCH"))?;
            offset += n;
        }
        check_local(&reader)?;
        let resp = self.call(&small("PUT", with_query(&location, "digest", digest.as_str())), Body::Empty)?;
        if resp.status() != 201 {
            return Err(self.protocol(step("PUT"), format!("expected HTTP 201 Created, got {}", resp.status())));
        }
        Ok(Pushed::Uploaded)
    }

    /// Uploads a blob held in memory (monolithic or chunked as [`Client::push_blob`]) and
    /// returns its descriptor with `media_type`.
    pub fn push_blob_bytes(&self, repo: &str, media_type: &str, data: &[u8]) -> Result<Descriptor, RegistryError> {
        let digest = Digest::of(data);
        self.push_blob(repo, &digest, data.len() as u64, BlobSource::Bytes(data), None)?;
        Ok(Descriptor::new(media_type, &digest, data.len() as u64))
    }

    /// Stores the manifest (or index) `bytes` of `media_type` in `repo` under `reference` (a
    /// tag, or its own digest); returns its digest. The caller pushes (and so confirms) every
    /// blob and child manifest it names first: only then is a tag moved.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        if let Some(want) = self.check_reference(repo, reference)? {
            if want != digest {
                return Err(RegistryError::DigestMismatch {
                    registry: self.host.clone(),
                    what: format!("manifest to store as {reference}"),
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        if bytes.len() as u64 > self.options.max_manifest_bytes {
            return Err(RegistryError::TooLarge {
                registry: self.host.clone(),
                what: format!("manifest {digest}"),
                max: self.options.max_manifest_bytes,
            });
        }
        let url = self.url(repo, &format!("manifests/{reference}"));
        let scopes = push_scope(repo);
        self.retrying(&format!("PUT manifest {reference}"), || {
            let req = Req {
                method: "PUT",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![("Content-Type", media_type.to_string())],
                timeout: self.options.request_timeout,
            };
            let resp = self.call(&req, Body::Bytes(bytes))?;
            if resp.status() != 201 {
                return Err(self.protocol(
                    format!("PUT manifest {reference}"),
                    format!("expected HTTP 201 Created, got {}", resp.status()),
                ));
            }
            if let Some(d) = resp.header("docker-content-digest").and_then(|d| d.parse::<Digest>().ok()) {
                if d != digest {
                    return Err(RegistryError::DigestMismatch {
                        registry: self.host.clone(),
                        what: format!("manifest stored as {reference} (Docker-Content-Digest)"),
                        expected: digest.to_string(),
                        actual: d.to_string(),
                    });
                }
            }
            Ok(())
        })?;
        Ok(digest)
    }

    /// The tags of `repo` (every page, following `Link: <...>; rel="next"` on this origin).
    pub fn list_tags(&self, repo: &str) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        self.check_repo(repo)?;
        let pages = self.pages(&format!("tags of {repo}"), self.url(repo, "tags/list"), &pull_scope(repo), |body| {
            serde_json::from_slice::<Tags>(body).map(|t| t.tags.unwrap_or_default())
        })?;
        Ok(pages)
    }

    /// The repositories of the registry (`GET /v2/_catalog`, every page). Registries that do
    /// not offer the catalog answer 401/403/404: an error naming the registry.
    pub fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Option<Vec<String>>,
        }
        let scopes = vec!["registry:catalog:*".to_string()];
        let url = format!("{}/v2/_catalog?n=1000", self.origin);
        self.pages("the repository catalog", url, &scopes, |body| {
            serde_json::from_slice::<Catalog>(body).map(|c| c.repositories.unwrap_or_default())
        })
    }

    /// Every page of a paginated list (`Link: <...>; rel="next"` on this origin, at most 1000
    /// pages, each bounded as a small document).
    fn pages(
        &self,
        what: &str,
        mut url: String,
        scopes: &[String],
        parse: impl Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    ) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        for _ in 0..1000 {
            let (body, next) = self.retrying(&format!("GET {what}"), || {
                let req = Req {
                    method: "GET",
                    url: url.clone(),
                    scopes,
                    headers: vec![],
                    timeout: self.options.request_timeout,
                };
                let resp = self.call(&req, Body::Empty)?;
                let next = resp.header("link").and_then(next_link).map(str::to_string);
                Ok((self.read_small(resp, what)?, next))
            })?;
            let items = parse(&body).map_err(|source| RegistryError::Json {
                input: self.host.clone(),
                what: what.to_string(),
                source,
            })?;
            out.extend(items);
            match next {
                Some(n) if n.starts_with('/') && !n.starts_with("//") => url = format!("{}{n}", self.origin),
                _ => return Ok(out),
            }
        }
        Err(self.protocol(format!("GET {what}"), "more than 1000 pages"))
    }

    /// The OCI 1.1 referrers of `digest` in `repo`, filtered by the artifact type `wanted` when given
    /// (by the registry, or here when it did not). A registry without the API (404) gives
    /// [`RegistryError::ReferrersUnsupported`].
    pub fn referrers(&self, repo: &str, digest: &Digest, wanted: Option<&str>) -> Result<Vec<Referrer>, RegistryError> {
        self.check_repo(repo)?;
        let mut url = self.url(repo, &format!("referrers/{digest}"));
        if let Some(t) = wanted {
            url = with_query(&url, "artifactType", t);
        }
        let scopes = pull_scope(repo);
        let what = format!("referrers of {digest}");
        let (body, filtered) = self.retrying(&format!("GET {what}"), || {
            let req = Req {
                method: "GET",
                url: url.clone(),
                scopes: &scopes,
                headers: vec![("Accept", spec::media::INDEX.to_string())],
                timeout: self.options.request_timeout,
            };
            match self.call(&req, Body::Empty) {
                Ok(resp) => {
                    let filtered = resp
                        .header("oci-filters-applied")
                        .is_some_and(|h| h.split(',').any(|f| f.trim() == "artifactType"));
                    Ok((self.read_small(resp, &what)?, filtered))
                }
                Err(e) if e.is_not_found() => {
                    Err(RegistryError::ReferrersUnsupported { registry: self.host.clone(), url: url.clone() })
                }
                Err(e) => Err(e),
            }
        })?;
        let json = |source| RegistryError::Json { input: format!("{}/{repo}", self.host), what: what.clone(), source };
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(json)?;
        let Some(list) = v.get("manifests").and_then(serde_json::Value::as_array) else {
            return Err(self.protocol(format!("GET {what}"), "the answer is not an image index (no manifests list)"));
        };
        let mut out = Vec::new();
        for m in list {
            let descriptor: Descriptor = spec::from_value_or_default(m.clone());
            if descriptor.digest().is_none() {
                return Err(self.protocol(format!("GET {what}"), "an entry without a sha256 digest"));
            }
            let artifact_type = m.get("artifactType").and_then(serde_json::Value::as_str).map(str::to_string);
            if filtered || wanted.is_none() || artifact_type.as_deref() == wanted {
                out.push(Referrer { descriptor, artifact_type });
            }
        }
        Ok(out)
    }

    /// The referrers of `digest`: from the referrers API, or, where the registry has none,
    /// from the OCI referrers tag schema (the index tagged `sha256-<hex>`, see
    /// [`referrers_tag`]). The flag tells whether the API answered.
    pub fn referrers_or_fallback(
        &self,
        repo: &str,
        digest: &Digest,
        wanted: Option<&str>,
    ) -> Result<(Vec<Referrer>, bool), RegistryError> {
        match self.referrers(repo, digest, wanted) {
            Ok(list) => Ok((list, true)),
            Err(RegistryError::ReferrersUnsupported { .. }) => {
                let list = self.fallback_index(repo, digest)?.unwrap_or_default();
                let list = list
                    .iter()
                    .filter_map(|m| {
                        let descriptor: Descriptor = spec::from_value_or_default(m.clone());
                        descriptor.digest()?;
                        let artifact_type =
                            m.get("artifactType").and_then(serde_json::Value::as_str).map(str::to_string);
                        (wanted.is_none() || artifact_type.as_deref() == wanted)
                            .then_some(Referrer { descriptor, artifact_type })
                    })
                    .collect();
                Ok((list, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The entries of the referrers tag schema's index of `digest` (`None`: no such tag).
    fn fallback_index(&self, repo: &str, digest: &Digest) -> Result<Option<Vec<serde_json::Value>>, RegistryError> {
        let tag = referrers_tag(digest);
        let m = match self.get_manifest(repo, &tag) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let v: serde_json::Value = serde_json::from_slice(&m.bytes).map_err(|source| RegistryError::Json {
            input: format!("{}/{repo}:{tag}", self.host),
            what: "referrers index".into(),
            source,
        })?;
        match v.get("manifests").and_then(serde_json::Value::as_array) {
            Some(list) => Ok(Some(list.clone())),
            None => Err(self.protocol(format!("manifest {tag}"), "the referrers tag does not name an image index")),
        }
    }

    /// Makes the manifest `referrer` (already stored, with `subject` = `subject`) findable as
    /// a referrer of `subject`: nothing to do where the registry has the referrers API (it
    /// indexes the `subject` field itself); elsewhere the referrers tag schema's index
    /// (`sha256-<hex>`) gets the entry, with `artifact_type`, unless it has it. Returns whether
    /// the fallback tag was written.
    pub fn add_referrer(
        &self,
        repo: &str,
        subject: &Digest,
        referrer: &Manifest,
        artifact_type: Option<&str>,
    ) -> Result<bool, RegistryError> {
        match self.referrers(repo, subject, None) {
            Ok(_) => return Ok(false),
            Err(RegistryError::ReferrersUnsupported { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut list = self.fallback_index(repo, subject)?.unwrap_or_default();
        if list.iter().any(|m| m.get("digest").and_then(serde_json::Value::as_str) == Some(referrer.digest.as_str())) {
            return Ok(false);
        }
        let mut entry = serde_json::json!({
            "mediaType": referrer.media_type,
            "digest": referrer.digest.to_string(),
            "size": referrer.bytes.len(),
        });
        if let Some(t) = artifact_type {
            entry["artifactType"] = serde_json::Value::String(t.to_string());
        }
        list.push(entry);
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": spec::media::INDEX,
            "manifests": list,
        });
        let bytes = serde_json::to_vec(&index).map_err(|source| RegistryError::Json {
            input: format!("{}/{repo}", self.host),
            what: "referrers index".into(),
            source,
        })?;
        self.put_manifest(repo, &referrers_tag(subject), &bytes, spec::media::INDEX)?;
        Ok(true)
    }
}

/// The tag of the OCI referrers tag schema (distribution spec 1.1) for `digest`:
/// `sha256-<hex>`, an image index of the manifests whose `subject` is `digest`, kept by
/// clients where the registry has no referrers API.
pub fn referrers_tag(digest: &Digest) -> String {
    format!("sha256-{}", digest.hex())
}

/// The target of a `Link: <url>; rel="next"` header.
fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

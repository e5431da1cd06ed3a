//! `db update`: fetch feeds from their URLs (configurable), resuming partial downloads with
//! HTTP ranges, verifying sha256 where the feed publishes one, then import them atomically.
//!
//! [`update_from_config`] takes the feeds of `armorred.toml` ([`super::config`]): each from the
//! first of its locations that answers (a URL fetched with the short [`FALLBACK_DEADLINES`], so
//! that an offline machine falls through to the local mirror at once, or a local path), and
//! records in the DB which location each source came from.

use crate::error::chain;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::{Config, Feed as ConfigFeed, Location};
use super::db::{self, ImportReport};
use super::error::{Result, VulnError};
use super::import::Format;

/// One feed to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Feed {
    /// Name, used for the cached file and the DB source (`osv-Go-all.zip`).
    pub name: String,
    /// URL.
    pub url: String,
    /// Forced format (else auto-detected).
    #[serde(default)]
    pub format: Option<String>,
    /// Expected sha256 (hex).
    #[serde(default)]
    pub sha256: Option<String>,
    /// URL of a file whose first 64-hex-digit token is the sha256 (a `.sha256` file).
    #[serde(default)]
    pub sha256_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FeedsFile {
    feeds: Vec<Feed>,
}

/// Reads a feeds file (YAML or JSON: `feeds: [{name, url, format, sha256, sha256_url}]`).
pub fn read_feeds(path: &Path) -> Result<Vec<Feed>> {
    let bytes = super::import::read_file(path)?;
    let f: FeedsFile = serde_yaml_ng::from_slice(&bytes)
        .map_err(|e| VulnError::Input { path: path.to_path_buf(), what: format!("invalid feeds file: {e}") })?;
    Ok(f.feeds)
}

/// A feed from a bare URL (name = last path segment).
pub fn feed_from_url(url: &str) -> Feed {
    let name = url.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("feed").to_string();
    Feed { name, url: url.to_string(), format: None, sha256: None, sha256_url: None }
}

fn fetch_err(url: &str, what: impl std::fmt::Display) -> VulnError {
    VulnError::Fetch { url: url.to_string(), what: what.to_string() }
}

/// A request that got no HTTP answer (DNS, connect, TLS) is [`VulnError::Unreachable`]; one
/// that did is [`VulnError::Fetch`].
fn call_err(url: &str, e: ureq::Error) -> VulnError {
    match e {
        ureq::Error::Transport(t) => VulnError::Unreachable { url: url.to_string(), what: t.to_string() },
        e => fetch_err(url, e),
    }
}

/// The host (and port) of a URL, lower case.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_ascii_lowercase()
}

/// The bounds of every feed request: 30 s to connect, 2 minutes without a byte fails; no
/// overall deadline (a full feed is large, and a partial download resumes).
pub const DEADLINES: crate::http::Deadlines = crate::http::Deadlines {
    connect: std::time::Duration::from_secs(30),
    stall: std::time::Duration::from_secs(120),
    total: None,
};

/// The bounds of a feed request when another location follows (`armorred.toml`): 5 s to
/// connect (an unreachable official location falls through to the mirror quickly), 60 s
/// without a byte.
pub const FALLBACK_DEADLINES: crate::http::Deadlines = crate::http::Deadlines {
    connect: std::time::Duration::from_secs(5),
    stall: std::time::Duration::from_secs(60),
    total: None,
};

fn client() -> crate::http::Client {
    crate::http::Client::new(DEADLINES)
}

/// Downloads `url` into `dest`, resuming from `dest.part` when present. Returns the sha256.
pub fn download(url: &str, dest: &Path) -> Result<String> {
    download_with(&client(), url, dest)
}

/// [`download`] with `client`.
pub fn download_with(client: &crate::http::Client, url: &str, dest: &Path) -> Result<String> {
    let part = dest.with_extension(format!(
        "{}part",
        dest.extension().map(|e| format!("{}.", e.to_string_lossy())).unwrap_or_default()
    ));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = client.get(url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = match req.call() {
        // The partial file is not a prefix the server can continue: start over.
        Err(ureq::Error::Status(416, _)) if have > 0 => {
            have = 0;
            let _ = std::fs::remove_file(&part);
            client.get(url).call().map_err(|e| call_err(url, e))?
        }
        r => r.map_err(|e| call_err(url, e))?,
    };
    let append = have > 0 && resp.status() == 206;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&part)
        .map_err(|source| VulnError::Read { path: part.clone(), source })?;
    let mut reader = resp.into_reader().take(super::import::MAX_FILE);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fetch_err(url, e))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|source| VulnError::Read { path: part.clone(), source })?;
    }
    file.sync_all().map_err(|source| VulnError::Read { path: part.clone(), source })?;
    drop(file);
    let sha = db::file_sha256(&part)?;
    std::fs::rename(&part, dest).map_err(|source| VulnError::Read { path: dest.to_path_buf(), source })?;
    Ok(sha)
}

fn published_sha256(client: &crate::http::Client, url: &str) -> Result<String> {
    let text = client.get(url).call().map_err(|e| fetch_err(url, e))?.into_string().map_err(|e| fetch_err(url, e))?;
    text.split_whitespace()
        .find(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_lowercase)
        .ok_or_else(|| fetch_err(url, "no sha256 in the published hash file"))
}

/// Fetches every feed into `cache`, verifies hashes, and imports them into `db_path` (the
/// import time read from `clock`).
pub fn update(db_path: &Path, feeds: &[Feed], cache: &Path, clock: &crate::clock::Clock) -> Result<ImportReport> {
    std::fs::create_dir_all(cache).map_err(|source| VulnError::Read { path: cache.to_path_buf(), source })?;
    let mut inputs: Vec<(PathBuf, Option<Format>)> = Vec::new();
    for f in feeds {
        let dest = cache.join(&f.name);
        let got = download(&f.url, &dest)?;
        let want = match (&f.sha256, &f.sha256_url) {
            (Some(h), _) => Some(h.to_lowercase()),
            (None, Some(u)) => Some(published_sha256(&client(), u)?),
            _ => None,
        };
        if let Some(want) = want {
            if want != got {
                let _ = std::fs::remove_file(&dest);
                return Err(fetch_err(&f.url, format!("sha256 mismatch: published {want}, downloaded {got}")));
            }
        }
        let format = match f.format.as_deref() {
            Some(s) => {
                Some(s.parse::<Format>().map_err(|source| VulnError::FormatName { feed: f.name.clone(), source })?)
            }
            None => None,
        };
        inputs.push((dest, format));
    }
    db::import_at(db_path, &inputs, &super::import::Limits::default(), clock)
}

/// One feed of an [`update_from_config`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedOutcome {
    /// The feed's name.
    pub feed: String,
    /// The location it was taken from; None: no location answered (its previous data, if
    /// any, stays in the DB).
    pub location: Option<String>,
    /// The DB sources it made (`<format>:<feed>`).
    pub sources: Vec<String>,
    /// Each location that failed before, with why.
    pub failed: Vec<(String, String)>,
    /// Seconds it took.
    pub seconds: f64,
}

/// What an [`update_from_config`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateReport {
    /// The configuration used.
    pub config: String,
    /// The import.
    pub import: ImportReport,
    /// One per feed, in order.
    pub feeds: Vec<FeedOutcome>,
}

/// Fetches or reads one URL location of `feed` into the cache, verified, and parses it.
fn fetch_location(
    client: &crate::http::Client,
    feed: &ConfigFeed,
    url: &str,
    sha256: Option<&str>,
    sha256_url: Option<&str>,
    cache: &Path,
) -> Result<Vec<(Format, String, super::model::FeedBatch)>> {
    let dir = cache.join(&feed.name);
    std::fs::create_dir_all(&dir).map_err(|source| VulnError::Read { path: dir.clone(), source })?;
    let file = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && *s != ".." && *s != ".")
        .unwrap_or("feed");
    let dest = dir.join(file);
    let got = download_with(client, url, &dest)?;
    let want = match (sha256, sha256_url) {
        (Some(h), _) => Some(h.to_string()),
        (None, Some(u)) => Some(published_sha256(client, u)?),
        _ => None,
    };
    if let Some(want) = want {
        if want != got {
            let _ = std::fs::remove_file(&dest);
            return Err(fetch_err(url, format!("sha256 mismatch: published {want}, downloaded {got}")));
        }
    }
    super::import::load_with(&dest, feed.format, &super::import::Limits::default())
}

/// Updates the DB at `db_path` from the feeds of `config`: each feed from the first location
/// that answers with data (a URL is downloaded into `cache/<feed>/`, resumed and verified as
/// [`update`] does), all written in one atomic import that records each source's feed and
/// location. `progress` hears one line per feed. A feed no location answered is reported and
/// keeps what the DB had of it; when no feed at all could be read, nothing is written and the
/// error names every location tried.
pub fn update_from_config(
    db_path: &Path,
    config: &Config,
    cache: &Path,
    clock: &crate::clock::Clock,
    progress: &mut dyn FnMut(&str),
) -> Result<UpdateReport> {
    let client = crate::http::Client::new(FALLBACK_DEADLINES);
    let mut batches = Vec::new();
    let mut located = db::Locations::new();
    let mut outcomes = Vec::new();
    let mut unreachable = std::collections::BTreeSet::new();
    for feed in &config.feeds {
        let started = std::time::Instant::now();
        let mut failed = Vec::new();
        let mut taken = None;
        for loc in &feed.locations {
            let got = match loc {
                // A host that gave no HTTP answer earlier in this run is not tried again (five
                // OSV feeds share one host: offline, one connect timeout, not five).
                Location::Url { url, .. } if unreachable.contains(&host_of(url)) => Err(VulnError::Unreachable {
                    url: url.clone(),
                    what: format!("{} did not answer earlier in this update", host_of(url)),
                }),
                Location::Url { url, sha256, sha256_url } => {
                    let got = fetch_location(&client, feed, url, sha256.as_deref(), sha256_url.as_deref(), cache);
                    if let Err(VulnError::Unreachable { .. }) = &got {
                        unreachable.insert(host_of(url));
                    }
                    got
                }
                Location::Path(p) if !p.exists() => Err(VulnError::Input { path: p.clone(), what: "not found".into() }),
                Location::Path(p) => super::import::load_with(p, feed.format, &super::import::Limits::default()),
            };
            match got {
                Ok(b) => {
                    taken = Some((loc.describe(), b));
                    break;
                }
                Err(e) => failed.push((loc.describe(), chain(&e))),
            }
        }
        let mut sources = Vec::new();
        let location = match taken {
            Some((where_, got)) => {
                for (format, _, batch) in got {
                    let name = format!("{}:{}", format.name(), feed.name);
                    located.insert(name.clone(), (feed.name.clone(), where_.clone()));
                    sources.push(name.clone());
                    batches.push((format, name, batch));
                }
                Some(where_)
            }
            None => None,
        };
        let seconds = started.elapsed().as_secs_f64();
        match &location {
            Some(l) => progress(&format!("{}: {l} ({seconds:.1} s)", feed.name)),
            None => progress(&format!("{}: no location answered ({seconds:.1} s)", feed.name)),
        }
        outcomes.push(FeedOutcome { feed: feed.name.clone(), location, sources, failed, seconds });
    }
    if batches.is_empty() {
        let tried: Vec<String> =
            outcomes.iter().flat_map(|o| o.failed.iter().map(move |(_, e)| format!("{}: {e}", o.feed))).collect();
        return Err(VulnError::NoFeed { config: config.origin.clone(), tried: tried.join("; ") });
    }
    let import = db::write_located(db_path, batches, &located, clock)?;
    Ok(UpdateReport { config: config.origin.clone(), import, feeds: outcomes })
}

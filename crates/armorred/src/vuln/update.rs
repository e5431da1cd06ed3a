//! `db update`: fetch feeds from their URLs (configurable), resuming partial downloads with
//! HTTP ranges, verifying sha256 where the feed publishes one, then import them atomically.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

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

/// The official feeds fetched when no configuration is given.
pub fn default_feeds() -> Vec<Feed> {
    let osv = |eco: &str| Feed {
        name: format!("osv-{}-all.zip", eco.replace('.', "_")),
        url: format!("https://osv-vulnerabilities.storage.googleapis.com/{eco}/all.zip"),
        format: Some("osv".into()),
        sha256: None,
        sha256_url: None,
    };
    vec![
        Feed {
            name: "debian-tracker.json".into(),
            url: "https://security-tracker.debian.org/tracker/data/json".into(),
            format: Some("debian".into()),
            sha256: None,
            sha256_url: None,
        },
        osv("Go"),
        osv("PyPI"),
        osv("crates.io"),
        osv("npm"),
        osv("Maven"),
    ]
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

/// The bounds of every feed request: 30 s to connect, 2 minutes without a byte fails; no
/// overall deadline (a full feed is large, and a partial download resumes).
pub const DEADLINES: crate::http::Deadlines = crate::http::Deadlines {
    connect: std::time::Duration::from_secs(30),
    stall: std::time::Duration::from_secs(120),
    total: None,
};

fn client() -> crate::http::Client {
    crate::http::Client::new(DEADLINES)
}

/// Downloads `url` into `dest`, resuming from `dest.part` when present. Returns the sha256.
pub fn download(url: &str, dest: &Path) -> Result<String> {
    let part = dest.with_extension(format!(
        "{}part",
        dest.extension().map(|e| format!("{}.", e.to_string_lossy())).unwrap_or_default()
    ));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let client = client();
    let mut req = client.get(url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = match req.call() {
        // The partial file is not a prefix the server can continue: start over.
        Err(ureq::Error::Status(416, _)) if have > 0 => {
            have = 0;
            let _ = std::fs::remove_file(&part);
            client.get(url).call().map_err(|e| fetch_err(url, e))?
        }
        r => r.map_err(|e| fetch_err(url, e))?,
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

fn published_sha256(url: &str) -> Result<String> {
    let text = client().get(url).call().map_err(|e| fetch_err(url, e))?.into_string().map_err(|e| fetch_err(url, e))?;
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
            (None, Some(u)) => Some(published_sha256(u)?),
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

//! Where Debian comes from: the mirror in the host's apt configuration (deb822 `.sources` files
//! and one-line `sources.list`), or an explicit base URL. No host name is built in.

use std::path::Path;
use std::time::Duration;

use super::{deb822, DebianError};

/// Base URLs of the main archive and of the security archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Base of `dists/` and `pool/` for the main suites (e.g. `http://HOST/debian`).
    pub debian: String,
    /// Base for `*-security` suites (e.g. `http://HOST/debian-security`).
    pub security: String,
}

/// Largest download accepted (bytes): index files and packages are far below it.
pub const MAX_DOWNLOAD: u64 = 512 << 20;

impl Mirror {
    /// A mirror from an explicit base URL; the security archive is its `-security` sibling.
    pub fn from_base(base: &str) -> Self {
        let debian = base.trim_end_matches('/').to_string();
        let security = format!("{debian}-security");
        Self { debian, security }
    }

    /// Reads the host's apt configuration under `etc_apt` (normally `/etc/apt`): the first `URIs`
    /// not ending in `-security` is the main archive, the first ending in `-security` the
    /// security archive (derived from the main one when absent).
    pub fn from_apt_config(etc_apt: &Path) -> Result<Self, DebianError> {
        let mut uris = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(etc_apt.join("sources.list.d"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            if f.extension().is_some_and(|e| e == "sources") {
                uris.extend(sources_uris(&text));
            } else if f.extension().is_some_and(|e| e == "list") {
                uris.extend(list_uris(&text));
            }
        }
        if let Ok(text) = std::fs::read_to_string(etc_apt.join("sources.list")) {
            uris.extend(list_uris(&text));
        }
        let main = uris
            .iter()
            .find(|u| !u.trim_end_matches('/').ends_with("-security") && u.contains("debian"))
            .or_else(|| uris.iter().find(|u| !u.ends_with("-security")))
            .ok_or_else(|| {
                DebianError::NoMirror(format!(
                    "no URIs in {}/sources.list.d/*.sources or sources.list; pass --mirror",
                    etc_apt.display()
                ))
            })?;
        let mut m = Self::from_base(main);
        if let Some(sec) = uris.iter().find(|u| u.trim_end_matches('/').ends_with("-security")) {
            m.security = sec.trim_end_matches('/').to_string();
        }
        Ok(m)
    }

    /// The mirror to use: `explicit`, else `$ARMORRED_MIRROR`, else `/etc/apt`.
    pub fn discover(explicit: Option<&str>) -> Result<Self, DebianError> {
        if let Some(base) = explicit {
            return Ok(Self::from_base(base));
        }
        if let Ok(base) = std::env::var("ARMORRED_MIRROR") {
            if !base.is_empty() {
                return Ok(Self::from_base(&base));
            }
        }
        Self::from_apt_config(Path::new("/etc/apt"))
    }

    /// Base URL for `suite`.
    pub fn base_for(&self, suite: &str) -> &str {
        if suite.ends_with("-security") {
            &self.security
        } else {
            &self.debian
        }
    }
}

fn sources_uris(text: &str) -> Vec<String> {
    let Ok(paras) = deb822::parse(text.as_bytes()) else {
        return Vec::new();
    };
    paras
        .iter()
        .filter(|p| p.get("Enabled").is_none_or(|v| v != "no"))
        .filter(|p| p.get("Types").is_none_or(|t| t.split_whitespace().any(|t| t == "deb")))
        .filter_map(|p| p.get("URIs"))
        .flat_map(|u| u.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn list_uris(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            if it.next()? != "deb" {
                return None;
            }
            let mut uri = it.next()?;
            if uri.starts_with('[') {
                if !uri.ends_with(']') {
                    it.find(|w| w.ends_with(']'))?;
                }
                uri = it.next()?;
            }
            Some(uri.to_string())
        })
        .collect()
}

/// GETs `url` into memory, at most [`MAX_DOWNLOAD`] bytes.
pub fn http_get(url: &str) -> Result<Vec<u8>, DebianError> {
    let mut out = Vec::new();
    http_get_to(url, &mut out)?;
    Ok(out)
}

/// Connecting to the mirror gives up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A mirror response that sends nothing for this long fails.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// One mirror request (index or package), body included, fails after this long, however
/// slowly the server trickles bytes.
pub const DOWNLOAD_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The bounds of every mirror request.
pub const DEADLINES: crate::http::Deadlines =
    crate::http::Deadlines { connect: CONNECT_TIMEOUT, stall: STALL_TIMEOUT, total: Some(DOWNLOAD_DEADLINE) };

/// The HTTP client of every mirror request, with the bounds above.
pub fn client() -> crate::http::Client {
    crate::http::Client::new(DEADLINES)
}

/// GETs `url`, streaming the body to `sink`, at most [`MAX_DOWNLOAD`] bytes.
pub fn http_get_to(url: &str, sink: &mut dyn std::io::Write) -> Result<u64, DebianError> {
    let fail = |detail: String| DebianError::Http { url: url.to_string(), detail };
    let resp = client().get(url).call().map_err(|e| fail(e.to_string()))?;
    crate::http::copy_at_most(resp.into_reader(), MAX_DOWNLOAD, sink)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail(format!("larger than {MAX_DOWNLOAD} bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_config_table() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("sources.list.d");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(
            d.join("debian.sources"),
            "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\nSuites: trixie-security\n",
        )
        .expect("write");
        let m = Mirror::from_apt_config(dir.path()).expect("mirror");
        assert_eq!(m.debian, "http://mirror.invalid/debian");
        assert_eq!(m.security, "http://mirror.invalid/debian-security");
        assert_eq!(m.base_for("trixie-security"), m.security);
        assert_eq!(m.base_for("trixie-updates"), m.debian);

        let empty = tempfile::tempdir().expect("tempdir");
        let err = Mirror::from_apt_config(empty.path()).expect_err("must fail");
        assert!(err.to_string().contains("pass --mirror"), "{err}");

        assert_eq!(
            list_uris("deb [signed-by=/k.gpg] http://m.invalid/debian trixie main\n# x\n"),
            vec!["http://m.invalid/debian"]
        );
        assert_eq!(Mirror::from_base("http://m.invalid/debian/").security, "http://m.invalid/debian-security");
    }
}

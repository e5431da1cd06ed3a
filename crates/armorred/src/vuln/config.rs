//! `armorred.toml`: the vulnerability feeds and where each is fetched from, in order (the
//! official location first, then local mirrors), and how old the DB may get. The committed file
//! at the repository root is compiled in ([`EMBEDDED`]) as the defaults; a file given or found in
//! the current directory replaces them. Format: `docs/vulnerability-scanning.md`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{Result, VulnError};
use super::import::Format;

/// The configuration's file name, looked for in the current directory.
pub const FILE_NAME: &str = "armorred.toml";

/// The committed `armorred.toml`, compiled in: the defaults.
pub const EMBEDDED: &str = include_str!("../../../../armorred.toml");

/// How the embedded defaults are named in messages and records.
pub const EMBEDDED_NAME: &str = "<embedded armorred.toml>";

/// Default of [`DbConfig::max_age_hours`].
pub const DEFAULT_MAX_AGE_HOURS: u64 = 24;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[db]`.
    pub db: DbConfig,
}

/// `[db]`: the vulnerability DB.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    /// A DB older than this many hours is updated first by the pipeline, and is a warning.
    #[serde(default = "default_max_age")]
    pub max_age_hours: u64,
    /// `[[db.feed]]`, in import order.
    #[serde(rename = "feed")]
    pub feeds: Vec<FeedConfig>,
}

fn default_max_age() -> u64 {
    DEFAULT_MAX_AGE_HOURS
}

/// `[[db.feed]]`: one feed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Its name: the DB's source names are `<format>:<name>`, and downloads are cached under it.
    pub name: String,
    /// The feed format (a name of the `feeds!` table); else detected.
    #[serde(default)]
    pub format: Option<String>,
    /// Where it is, tried in order.
    pub locations: Vec<LocationConfig>,
}

/// One location of a feed: a `url` or a local `path` (relative to the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    /// An http(s) URL of the feed file.
    #[serde(default)]
    pub url: Option<String>,
    /// A local file or folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The expected sha256 (hex) of the file at `url`.
    #[serde(default)]
    pub sha256: Option<String>,
    /// A URL whose first 64-hex-digit token is the sha256 of the file at `url`.
    #[serde(default)]
    pub sha256_url: Option<String>,
}

/// A checked configuration, local paths resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from, or [`EMBEDDED_NAME`].
    pub origin: String,
    /// [`DbConfig::max_age_hours`].
    pub max_age_hours: u64,
    /// The feeds, in order.
    pub feeds: Vec<Feed>,
}

/// One checked feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// [`FeedConfig::name`].
    pub name: String,
    /// The format, when forced.
    pub format: Option<Format>,
    /// Its locations, in order.
    pub locations: Vec<Location>,
}

/// One checked location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A URL, with its sha256 check.
    Url {
        /// The URL.
        url: String,
        /// Expected sha256 (lower-case hex).
        sha256: Option<String>,
        /// Where the sha256 is published.
        sha256_url: Option<String>,
    },
    /// A local file or folder, resolved against the configuration's folder.
    Path(PathBuf),
}

impl Location {
    /// How the DB records it: the URL, or the resolved path.
    pub fn describe(&self) -> String {
        match self {
            Location::Url { url, .. } => url.clone(),
            Location::Path(p) => p.display().to_string(),
        }
    }
}

/// Reads the configuration: `explicit`, else `armorred.toml` in `cwd` when there is one, else
/// the embedded defaults (whose paths are relative to `cwd`).
pub fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Config> {
    if let Some(p) = explicit {
        return read(p);
    }
    let found = cwd.join(FILE_NAME);
    if found.is_file() {
        return read(&found);
    }
    parse(EMBEDDED, EMBEDDED_NAME, cwd)
}

/// Reads one configuration file (at most 1 MiB); its paths are relative to its folder.
pub fn read(path: &Path) -> Result<Config> {
    let bytes = super::import::read_file_max(path, 1 << 20)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| VulnError::Input { path: path.to_path_buf(), what: "not UTF-8".into() })?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&text, &path.display().to_string(), &base)
}

/// Parses and checks `text` (named `origin` in errors); relative paths are resolved against
/// `base`.
pub fn parse(text: &str, origin: &str, base: &Path) -> Result<Config> {
    let bad = |what: String| VulnError::Input { path: PathBuf::from(origin), what };
    let file: ConfigFile = toml::from_str(text).map_err(|e| bad(format!("invalid configuration: {e}")))?;
    if file.db.feeds.is_empty() {
        return Err(bad("[db] lists no feed ([[db.feed]])".into()));
    }
    let mut feeds = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for f in file.db.feeds {
        let plain = !f.name.is_empty()
            && f.name.len() <= 64
            && f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && !f.name.starts_with('.');
        if !plain {
            return Err(bad(format!(
                "feed name {:?}: use letters, digits, '-', '_' and '.' (at most 64, not starting with '.')",
                f.name
            )));
        }
        if !names.insert(f.name.clone()) {
            return Err(bad(format!("feed {:?} is listed twice", f.name)));
        }
        let format = match f.format.as_deref() {
            Some(s) => Some(s.parse::<Format>().map_err(|e| bad(format!("feed {:?}: {e}", f.name)))?),
            None => None,
        };
        if f.locations.is_empty() {
            return Err(bad(format!("feed {:?} has no location", f.name)));
        }
        let mut locations = Vec::new();
        for (i, l) in f.locations.into_iter().enumerate() {
            let at = format!("feed {:?}, location {}", f.name, i + 1);
            let loc = match (l.url, l.path) {
                (Some(url), None) => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(bad(format!("{at}: url {url:?} is not http(s)")));
                    }
                    if let Some(u) = &l.sha256_url {
                        if !(u.starts_with("https://") || u.starts_with("http://")) {
                            return Err(bad(format!("{at}: sha256_url {u:?} is not http(s)")));
                        }
                    }
                    let sha256 = match l.sha256 {
                        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                            Some(h.to_ascii_lowercase())
                        }
                        Some(h) => return Err(bad(format!("{at}: sha256 {h:?} is not 64 hex digits"))),
                        None => None,
                    };
                    Location::Url { url, sha256, sha256_url: l.sha256_url }
                }
                (None, Some(path)) => {
                    if l.sha256.is_some() || l.sha256_url.is_some() {
                        return Err(bad(format!("{at}: sha256 and sha256_url go with a url, not a path")));
                    }
                    if path.as_os_str().is_empty() {
                        return Err(bad(format!("{at}: empty path")));
                    }
                    Location::Path(if path.is_absolute() { path } else { base.join(path) })
                }
                (Some(_), Some(_)) => return Err(bad(format!("{at}: give a url or a path, not both"))),
                (None, None) => return Err(bad(format!("{at}: give a url or a path"))),
            };
            locations.push(loc);
        }
        feeds.push(Feed { name: f.name, format, locations });
    }
    Ok(Config { origin: origin.to_string(), max_age_hours: file.db.max_age_hours, feeds })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The committed file parses; its shape (feeds, formats, official location first, the local
    /// mirrors relative to the file) is pinned.
    #[test]
    fn the_committed_configuration() {
        let cfg = parse(EMBEDDED, EMBEDDED_NAME, Path::new("/repo")).unwrap();
        let lines: Vec<String> = cfg
            .feeds
            .iter()
            .map(|f| {
                let locs: Vec<String> = f.locations.iter().map(Location::describe).collect();
                format!("{} [{}] {}", f.name, f.format.map_or("detect", |x| x.name()), locs.join(" | "))
            })
            .collect();
        insta::assert_snapshot!(format!("max_age_hours = {}\n{}", cfg.max_age_hours, lines.join("\n")));
        // Never a Debian mirror: only the security tracker. The mirror is the host's own, read
        // from its apt configuration.
        if let Ok(m) = crate::build::debian::Mirror::from_apt_config(std::path::Path::new("/etc/apt")) {
            for base in [&m.debian, &m.security] {
                let host = base.split("://").nth(1).unwrap_or(base).split('/').next().unwrap_or_default();
                assert!(host.is_empty() || !EMBEDDED.contains(host), "armorred.toml names the mirror host");
            }
        }
        assert!(!EMBEDDED.contains("ftp."), "a mirror host");
    }

    /// Every local mirror of the committed file exists in ../shared/data and imports.
    #[test]
    fn the_committed_mirrors_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cfg = parse(EMBEDDED, EMBEDDED_NAME, &root).unwrap();
        for f in &cfg.feeds {
            for l in &f.locations {
                if let Location::Path(p) = l {
                    assert!(p.exists(), "{}: {} is missing", f.name, p.display());
                }
            }
        }
    }

    #[test]
    fn bad_configurations_are_named_errors() {
        let feed = |loc: &str| format!("[db]\n[[db.feed]]\nname = \"x\"\nlocations = [{loc}]\n");
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "missing field `db`"),
            ("[db]\nfeed = []\n".into(), "[db] lists no feed"),
            ("[db]\nmax_age = 3\nfeed = []\n".into(), "unknown field `max_age`"),
            ("[db]\n[[db.feed]]\nname = \"x\"\nlocations = []\n".into(), "feed \"x\" has no location"),
            (feed("{ url = \"ftp://x/y\" }"), "location 1: url \"ftp://x/y\" is not http(s)"),
            (feed("{ url = \"http://a/b\", path = \"p\" }"), "give a url or a path, not both"),
            (feed("{ }"), "give a url or a path"),
            (feed("{ path = \"p\", sha256 = \"00\" }"), "go with a url, not a path"),
            (feed("{ url = \"http://a/b\", sha256 = \"zz\" }"), "sha256 \"zz\" is not 64 hex digits"),
            (feed("{ url = \"http://a/b\", mirror = 1 }"), "unknown field `mirror`"),
            (
                "[db]\n[[db.feed]]\nname = \"x\"\nformat = \"rpm\"\nlocations = [{ path = \"p\" }]\n".into(),
                "feed \"x\": unknown feed format \"rpm\"",
            ),
            (
                "[db]\n[[db.feed]]\nname = \"../x\"\nlocations = [{ path = \"p\" }]\n".into(),
                "feed name \"../x\": use letters",
            ),
            (
                format!("{}[[db.feed]]\nname = \"x\"\nlocations = [{{ path = \"q\" }}]\n", feed("{ path = \"p\" }")),
                "feed \"x\" is listed twice",
            ),
            ("[db\n".into(), "invalid configuration"),
        ];
        for (text, want) in cases {
            let err = parse(&text, "conf/armorred.toml", Path::new("conf")).unwrap_err().to_string();
            assert!(err.starts_with("conf/armorred.toml: "), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_file_in_the_directory_replaces_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(None, dir.path()).unwrap().origin, EMBEDDED_NAME);
        let text = "[db]\nmax_age_hours = 2\n[[db.feed]]\nname = \"a\"\nlocations = [{ path = \"data\" }]\n";
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
        let cfg = load(None, dir.path()).unwrap();
        assert_eq!(cfg.max_age_hours, 2);
        assert_eq!(cfg.feeds[0].locations, [Location::Path(dir.path().join("data"))]);
        let other = dir.path().join("sub/other.toml");
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, text.replace("2", "5")).unwrap();
        let cfg = load(Some(&other), dir.path()).unwrap();
        assert_eq!((cfg.max_age_hours, cfg.origin), (5, other.display().to_string()));
        assert_eq!(cfg.feeds[0].locations, [Location::Path(dir.path().join("sub/data"))]);
        let err = load(Some(&dir.path().join("nope.toml")), dir.path()).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
    }
}

//! The vulnerability module's error type. It depends on nothing else in `vuln`, so that every
//! module can use it without a cycle.

use std::path::PathBuf;

/// Errors of the vulnerability module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VulnError {
    /// Reading a file failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A feed file could not be parsed at all.
    #[error("{path}: {what}")]
    Feed {
        /// The feed file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The DB's writer lock could not be taken or the import's temporary file not written.
    #[error("cannot {what} {path}")]
    Write {
        /// What failed: `take the writer lock`, `rename the import over`, ...
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An input is over its size limit (see [`crate::vuln::import::Limits`]).
    #[error("{path} is over {} (limit {limit} bytes)", human_size(*limit))]
    TooLarge {
        /// The input (for a zip entry: `ZIP:ENTRY`).
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The feed format could not be detected.
    #[error("{path}: cannot detect the feed format (name one with --format: {known})")]
    UnknownFormat {
        /// The input.
        path: PathBuf,
        /// The known formats (`Format::known`).
        known: String,
    },
    /// A feed names a format that is no feed format's.
    #[error("feed {feed}: {source}")]
    FormatName {
        /// The feed (its name in the feeds file).
        feed: String,
        /// The unknown name, and the known ones.
        #[source]
        source: UnknownFormatName,
    },
    /// The database failed.
    #[error("vulnerability database {path}: {what}")]
    Db {
        /// The DB file.
        path: PathBuf,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<rusqlite::Error>,
    },
    /// The database is missing.
    #[error("no vulnerability database at {path} (run `armorred db import` or `armorred db update`)")]
    NoDb {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The database is too old for a scan.
    #[error("vulnerability database {path} was built {age_hours} h ago, over the {max_hours} h limit (update it, or pass --skip-db-age-check)")]
    Stale {
        /// The DB file.
        path: PathBuf,
        /// Its age.
        age_hours: u64,
        /// The limit.
        max_hours: u64,
    },
    /// An SBOM, VEX, status file or config is malformed.
    #[error("{path}: {what}")]
    Input {
        /// The input.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// `db update` could read no feed of its configuration from any location.
    #[error("{config}: no feed could be read from any of its locations ({tried})")]
    NoFeed {
        /// The configuration (file, or the embedded defaults).
        config: String,
        /// Every location tried, with why it failed.
        tried: String,
    },
    /// A download got no HTTP answer (DNS, connect or TLS failed, or timed out).
    #[error("cannot fetch {url}: {what}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What failed.
        what: String,
    },
    /// A download failed.
    #[error("cannot fetch {url}: {what}")]
    Fetch {
        /// The URL.
        url: String,
        /// What failed.
        what: String,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
}

/// A name that is no feed format's (`Format::from_str`, in `vuln::import`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feed format {input:?} (known: {known})")]
pub struct UnknownFormatName {
    /// The name given.
    pub input: String,
    /// The known names (`Format::known`).
    pub known: String,
}

/// Result with [`VulnError`].
pub type Result<T, E = VulnError> = std::result::Result<T, E>;

/// `512 MiB`, `16 KiB`, `100 bytes`.
pub fn human_size(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

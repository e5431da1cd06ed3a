//! Vulnerability database and scanning: feeds imported into one SQLite file ([`db`]), matchers
//! per ecosystem ([`matcher`]), [`scan::scan_packages`] and the report writers ([`report`]).
//!
//! Invariants: importers are lenient (unknown fields, ecosystems and severity types are skipped
//! and counted, never fatal); the DB file is replaced atomically, so a failed or killed import
//! leaves the previous DB intact; every scan result carries the DB's sha256.

pub mod db;
pub mod ignore;
pub mod import;
pub mod matcher;
pub mod model;
pub mod report;
pub mod sbom;
pub mod scan;
pub mod severity;
pub mod update;
pub mod vex;

use std::path::PathBuf;

pub use model::{FixState, Severity};
pub use scan::{scan_packages, Distro, Match, ScanOptions, ScanPackage, ScanResult};

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
    /// An input is over its size limit (see [`import::Limits`]).
    #[error("{path} is over {} (limit {limit} bytes)", import::human_size(*limit))]
    TooLarge {
        /// The input (for a zip entry: `ZIP:ENTRY`).
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The feed format could not be detected.
    #[error("{path}: cannot detect the feed format (use --format osv|debian|nvd|secdb)")]
    UnknownFormat {
        /// The input.
        path: PathBuf,
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

/// Result with [`VulnError`].
pub type Result<T, E = VulnError> = std::result::Result<T, E>;

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// `../shared/data` next to the repository root.
    pub(crate) fn shared_data() -> PathBuf {
        crate::version::conformance_tests_shared_data()
    }
}

#[cfg(test)]
mod tests;

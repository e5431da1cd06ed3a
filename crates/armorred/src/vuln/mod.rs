//! Vulnerability database and scanning: feeds imported into one SQLite file ([`db`]), matchers
//! per ecosystem ([`matcher`]), [`scan::scan_packages`] and the report writers ([`report`]).
//!
//! Invariants: importers are lenient (unknown fields, ecosystems and severity types are skipped
//! and counted, never fatal); the DB file is replaced atomically, so a failed or killed import
//! leaves the previous DB intact; every scan result carries the DB's sha256.

pub mod config;
pub mod cpe;
pub mod db;
pub mod error;
pub mod ignore;
pub mod import;
pub mod matcher;
pub mod model;
pub mod provider;
pub mod report;
pub mod sbom;
pub mod scan;
pub mod severity;
pub mod update;
pub mod vex;

pub use error::{Result, VulnError};
pub use model::{FixState, Severity};
pub use scan::{scan_packages, Distro, Match, ScanOptions, ScanPackage, ScanResult};

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// `../shared/data` next to the repository root.
    pub(crate) fn shared_data() -> PathBuf {
        crate::version::conformance_tests_shared_data()
    }
}

#[cfg(test)]
mod module_graph;
#[cfg(test)]
mod tests;

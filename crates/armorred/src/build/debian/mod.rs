//! Debian packages as build inputs: mirror configuration, signed indices, dependency resolution,
//! the lock file, the verified `.deb` cache and streaming `.deb` extraction.
//!
//! The three entry points other builders reuse:
//! - [`resolve`]: signed indices + wanted packages → a closure of pinned packages ([`Resolution`]);
//! - [`fetch`]: a pinned package → a verified `.deb` path in the content-addressed cache;
//! - [`unpack`]: a `.deb` → entries added to an in-memory [`crate::fstree::Tree`], with path safety.

pub mod deb;
pub mod deb822;
pub mod fetch;
pub mod index;
pub mod lock;
pub mod mirror;
pub mod release;
pub mod resolve;
pub mod rootfs;

use std::path::PathBuf;

pub use deb::unpack;
pub use fetch::{fetch, Cache};
pub use index::{Candidate, Indices};
pub use lock::{Lock, LockedPackage, Newer};
pub use mirror::Mirror;
pub use resolve::{resolve, Resolution, ResolveRequest};

/// Errors of the Debian input stage. Each names the input (suite, file, package) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DebianError {
    /// I/O on a local file.
    #[error("cannot read {what}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP request failed.
    #[error("cannot download {url}: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// No mirror configured.
    #[error("no Debian mirror configured: {0}")]
    NoMirror(String),
    /// A keyring could not be loaded.
    #[error("bad keyring {}: {detail}", path.display())]
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An `InRelease` signature did not verify.
    #[error("{what}: OpenPGP signature verification failed: {detail}")]
    Signature {
        /// The InRelease (suite and URL).
        what: String,
        /// Why.
        detail: String,
    },
    /// A signed Release is malformed or lacks an entry.
    #[error("{what}: bad Release: {detail}")]
    Release {
        /// The InRelease.
        what: String,
        /// Why.
        detail: String,
    },
    /// A download does not match its pinned digest.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    Digest {
        /// The file.
        what: String,
        /// The pinned digest.
        expected: String,
        /// The computed digest.
        actual: String,
    },
    /// A Packages index is malformed.
    #[error("{what}: bad package index: {detail}")]
    Index {
        /// The index (suite/component).
        what: String,
        /// Why.
        detail: String,
    },
    /// Dependency resolution failed.
    #[error("cannot resolve {chain}: {detail}")]
    Resolve {
        /// The chain from a wanted package down to the failing dependency.
        chain: String,
        /// Why.
        detail: String,
    },
    /// A lock file is malformed.
    #[error("bad lock file {}: {detail}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A `.deb` is malformed or unsafe.
    #[error("{deb}: {detail}")]
    Deb {
        /// The package file.
        deb: String,
        /// Why.
        detail: String,
    },
}

impl From<deb822::Deb822Error> for DebianError {
    fn from(e: deb822::Deb822Error) -> Self {
        DebianError::Index { what: "control data".into(), detail: e.to_string() }
    }
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DebianError {
    let what = what.into();
    move |source| DebianError::Io { what, source }
}

//! Version schemes: one file per scheme, each a parsed newtype with `Ord`, and [`Scheme`] to pick
//! one at run time (by OSV ecosystem or distro).
//!
//! Invariant: comparison never panics; a version a scheme cannot parse is an error the caller
//! sees (matchers skip such a record and count it).

pub mod apk;
pub mod cratesio;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod npm;
pub mod pep440;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;

pub use apk::ApkVersion;
pub use cratesio::CratesIoVersion;
pub use dpkg::DpkgVersion;
pub use go::GoVersion;
pub use maven::MavenVersion;
pub use npm::NpmVersion;
pub use pep440::Pep440Version;
pub use rpm::RpmVersion;
pub use semver::SemVersion;

/// Errors of the version schemes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// `version` is not valid in `scheme`.
    #[error("invalid {scheme} version {version:?}: {reason}")]
    Invalid {
        /// The scheme's name.
        scheme: &'static str,
        /// The offending text.
        version: String,
        /// What is wrong.
        reason: String,
    },
}

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian (`dpkg --compare-versions`).
    Dpkg,
    /// RPM (`rpmvercmp`).
    Rpm,
    /// Alpine apk-tools.
    Apk,
    /// Semantic Versioning 2.0.0.
    Semver,
    /// Python PEP 440.
    Pep440,
    /// Go modules.
    Go,
    /// Maven `ComparableVersion`.
    Maven,
    /// npm (node-semver).
    Npm,
    /// crates.io (Cargo semver).
    CratesIo,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 9] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Semver,
        Scheme::Pep440,
        Scheme::Go,
        Scheme::Maven,
        Scheme::Npm,
        Scheme::CratesIo,
    ];

    /// The scheme's short name.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Semver => "semver",
            Scheme::Pep440 => "pep440",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Npm => "npm",
            Scheme::CratesIo => "crates.io",
        }
    }

    /// The scheme of an OSV ecosystem name (`Debian:12`, `PyPI`, `Go`, ...), if known.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or("").to_ascii_lowercase();
        Some(match base.as_str() {
            "debian" | "ubuntu" | "dpkg" => Scheme::Dpkg,
            "alpine" | "wolfi" | "chainguard" | "apk" => Scheme::Apk,
            "red hat" | "redhat" | "rocky linux" | "almalinux" | "opensuse" | "suse" | "rpm" => Scheme::Rpm,
            "pypi" => Scheme::Pep440,
            "go" | "golang" => Scheme::Go,
            "maven" => Scheme::Maven,
            "npm" => Scheme::Npm,
            "crates.io" | "cargo" => Scheme::CratesIo,
            "semver" => Scheme::Semver,
            _ => return None,
        })
    }

    /// Compares two versions in this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        fn cmp<T: std::str::FromStr<Err = VersionError> + Ord>(a: &str, b: &str) -> Result<Ordering, VersionError> {
            Ok(a.parse::<T>()?.cmp(&b.parse::<T>()?))
        }
        match self {
            Scheme::Dpkg => cmp::<DpkgVersion>(a, b),
            Scheme::Rpm => cmp::<RpmVersion>(a, b),
            Scheme::Apk => cmp::<ApkVersion>(a, b),
            Scheme::Semver => cmp::<SemVersion>(a, b),
            Scheme::Pep440 => cmp::<Pep440Version>(a, b),
            Scheme::Go => cmp::<GoVersion>(a, b),
            Scheme::Maven => cmp::<MavenVersion>(a, b),
            Scheme::Npm => cmp::<NpmVersion>(a, b),
            Scheme::CratesIo => cmp::<CratesIoVersion>(a, b),
        }
    }

    /// Whether `v` parses in this scheme.
    pub fn validate(self, v: &str) -> Result<(), VersionError> {
        self.compare(v, v).map(|_| ())
    }
}

/// Compares `a` and `b` in `scheme` (shorthand for [`Scheme::compare`]).
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    scheme.compare(a, b)
}

#[cfg(test)]
mod conformance_tests;

/// `../shared/data` beside the repository root (tests only).
#[cfg(test)]
pub(crate) fn conformance_tests_shared_data() -> std::path::PathBuf {
    conformance_tests::shared_data()
}

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

/// Declares [`Scheme`] from one line per scheme: the variant and its version type, its short
/// name, and the ecosystem names and distribution ids that use it (see
/// [`Scheme::for_ecosystem`]). The enum, [`Scheme::ALL`], `name`, `for_ecosystem` and
/// `compare` all come from that line.
macro_rules! schemes {
    ($($(#[$doc:meta])* $variant:ident($version:ident), $name:literal, [$($eco:literal),+];)+) => {
        /// A version ordering scheme.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scheme {
            $($(#[$doc])* $variant,)+
        }

        impl Scheme {
            /// Every scheme.
            pub const ALL: [Scheme; [$($name),+].len()] = [$(Scheme::$variant),+];

            /// The scheme's short name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Scheme::$variant => $name,)+
                }
            }

            /// The scheme of an OSV ecosystem name (`Debian:12`, `PyPI`, `Go`, ...), if known.
            pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
                let base = ecosystem.split(':').next().unwrap_or("").to_ascii_lowercase();
                match base.as_str() {
                    $($($eco)|+ => Some(Scheme::$variant),)+
                    _ => None,
                }
            }

            /// Compares two versions in this scheme.
            pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
                fn cmp<T: std::str::FromStr<Err = VersionError> + Ord>(
                    a: &str,
                    b: &str,
                ) -> Result<Ordering, VersionError> {
                    Ok(a.parse::<T>()?.cmp(&b.parse::<T>()?))
                }
                match self {
                    $(Scheme::$variant => cmp::<$version>(a, b),)+
                }
            }
        }
    };
}

// The registry: one line per scheme (its file is declared above).
schemes! {
    /// Debian (`dpkg --compare-versions`).
    Dpkg(DpkgVersion), "dpkg", ["debian", "ubuntu", "dpkg"];
    /// RPM (`rpmvercmp`).
    Rpm(RpmVersion), "rpm", ["red hat", "redhat", "rocky linux", "almalinux", "opensuse", "suse", "rpm"];
    /// Alpine apk-tools.
    Apk(ApkVersion), "apk", ["alpine", "wolfi", "chainguard", "apk"];
    /// Semantic Versioning 2.0.0.
    Semver(SemVersion), "semver", ["semver"];
    /// Python PEP 440.
    Pep440(Pep440Version), "pep440", ["pypi"];
    /// Go modules.
    Go(GoVersion), "go", ["go", "golang"];
    /// Maven `ComparableVersion`.
    Maven(MavenVersion), "maven", ["maven"];
    /// npm (node-semver).
    Npm(NpmVersion), "npm", ["npm"];
    /// crates.io (Cargo semver).
    CratesIo(CratesIoVersion), "crates.io", ["crates.io", "cargo"];
}

impl Scheme {
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

//! crates.io versions: Cargo's SemVer 2.0.0 precedence (build metadata ignored).

super::semver::semver_newtype!(
    /// A crates.io package version.
    CratesIoVersion,
    "crates.io"
);

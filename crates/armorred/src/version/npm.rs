//! npm versions: node-semver's loose parse (`v`/`=` prefix) and SemVer 2.0.0 precedence.

super::semver::semver_newtype!(
    /// An npm package version.
    NpmVersion,
    "npm"
);

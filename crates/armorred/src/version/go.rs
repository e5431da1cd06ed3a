//! Go module versions: semantic versions with a `v` prefix; `+incompatible` is build metadata and
//! pseudo-versions (`v0.0.0-20210101000000-abcdef123456`) order as their prerelease part.

super::semver::semver_newtype!(
    /// A Go module version.
    GoVersion,
    "go"
);

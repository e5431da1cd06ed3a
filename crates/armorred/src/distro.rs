//! Debian's releases: the one table of codenames and versions, used by the builder (the
//! os-release it writes), the scanner (the release an advisory is looked up in) and the SBOM
//! readers (a purl's `distro=bookworm`). Depends on nothing else in the crate.

/// Debian's releases, (codename, `VERSION_ID`): the one table of them, for the os-release a
/// builder writes, the release an advisory is looked up in, and a purl's `distro=bookworm`.
pub const DEBIAN_RELEASES: &[(&str, &str)] = &[
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The `VERSION_ID` of a Debian codename (`bookworm` is `12`).
pub fn debian_version(codename: &str) -> Option<&'static str> {
    DEBIAN_RELEASES.iter().find(|(c, _)| *c == codename).map(|(_, v)| *v)
}

/// The codename of a Debian release, by its major version (`12` and `12.5` are `bookworm`).
pub fn debian_codename(version_id: &str) -> Option<&'static str> {
    let major = version_id.split('.').next()?;
    DEBIAN_RELEASES.iter().find(|(_, v)| *v == major).map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_releases_both_ways() {
        for (codename, version) in DEBIAN_RELEASES {
            assert_eq!(debian_version(codename), Some(*version));
            assert_eq!(debian_codename(version), Some(*codename));
        }
        assert_eq!(debian_codename("12.5"), Some("bookworm"));
        assert_eq!((debian_version("sid"), debian_codename("8")), (None, None));
    }
}

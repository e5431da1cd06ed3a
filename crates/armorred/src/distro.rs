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

/// The end of life of a Debian release: the end of the Debian security team's regular support,
/// then the end of Debian LTS (the community's two more years, a subset of architectures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DebianEol {
    /// The codename.
    pub codename: &'static str,
    /// The release date (`YYYY-MM-DD`).
    pub released: &'static str,
    /// The end of regular security support (`YYYY-MM-DD`).
    pub security_end: &'static str,
    /// The end of LTS (`YYYY-MM-DD`).
    pub lts_end: &'static str,
    /// Whether the dates are Debian's plan rather than past events.
    pub planned: bool,
}

/// The end-of-life dates of Debian's releases. Source: Debian's release pages
/// (<https://wiki.debian.org/DebianReleases>, <https://wiki.debian.org/LTS>, the release
/// announcements on <https://www.debian.org/News/>), as of 2026-12. bookworm's regular
/// support is given as Debian's LTS page plans it (LTS from 2026-06-11); some summaries report
/// 2026-07-11 after the last point release. trixie's dates are Debian's plan (three years of
/// regular support, LTS to 2030-06-30). forky and duke have none yet.
pub const DEBIAN_EOL: &[DebianEol] = &[
    DebianEol {
        codename: "stretch",
        released: "2017-06-17",
        security_end: "2020-07-06",
        lts_end: "2022-06-30",
        planned: false,
    },
    DebianEol {
        codename: "buster",
        released: "2019-07-06",
        security_end: "2022-09-10",
        lts_end: "2024-06-30",
        planned: false,
    },
    DebianEol {
        codename: "bullseye",
        released: "2021-08-14",
        security_end: "2024-08-14",
        lts_end: "2026-08-31",
        planned: false,
    },
    DebianEol {
        codename: "bookworm",
        released: "2023-06-10",
        security_end: "2026-06-10",
        lts_end: "2028-06-30",
        planned: false,
    },
    DebianEol {
        codename: "trixie",
        released: "2025-08-09",
        security_end: "2028-08-09",
        lts_end: "2030-06-30",
        planned: true,
    },
];

/// The end-of-life dates of a Debian codename (a suite such as `trixie-security` counts as its
/// release), when known.
pub fn debian_eol(suite: &str) -> Option<&'static DebianEol> {
    let codename = suite.split('-').next().unwrap_or(suite);
    DEBIAN_EOL.iter().find(|e| e.codename == codename)
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

    #[test]
    fn eol_dates_are_ordered_and_named() {
        for e in DEBIAN_EOL {
            assert!(debian_version(e.codename).is_some(), "{}", e.codename);
            assert!(e.released < e.security_end && e.security_end < e.lts_end, "{e:?}");
        }
        assert_eq!(debian_eol("trixie-security").map(|e| e.lts_end), Some("2030-06-30"));
        assert_eq!(debian_eol("sid"), None);
    }
}

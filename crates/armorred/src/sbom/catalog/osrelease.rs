//! The operating system, from `/etc/os-release` (or `/usr/lib/os-release`).

use super::{CatalogError, Cataloger, Parsed};
use crate::sbom::model::{Distro, Location};
use crate::source::{EntryKind, FileEntry};

/// Reads os-release files.
#[derive(Debug, Clone, Copy)]
pub struct OsRelease;

impl Cataloger for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn wants(&self, entry: &FileEntry) -> bool {
        entry.kind == EntryKind::File && matches!(entry.path.as_str(), "/etc/os-release" | "/usr/lib/os-release")
    }

    fn parse(&self, _location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        Ok(Parsed { distro: parse(&String::from_utf8_lossy(content)), ..Parsed::default() })
    }
}

/// Parses os-release text; `None` without an `ID`.
pub fn parse(text: &str) -> Option<Distro> {
    let mut d = Distro::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches(['"', '\'']).to_string();
        match k.trim() {
            "ID" => d.id = v,
            "VERSION_ID" => d.version_id = Some(v).filter(|s| !s.is_empty()),
            "VERSION_CODENAME" => d.codename = Some(v).filter(|s| !s.is_empty()),
            "PRETTY_NAME" => d.pretty_name = Some(v).filter(|s| !s.is_empty()),
            "BUILD_ID" => d.build_id = Some(v).filter(|s| !s.is_empty()),
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    (!d.id.is_empty()).then_some(d)
}

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
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::shared_data;
    use super::*;

    #[test]
    fn table() {
        let dir = shared_data().join("anchore-fixtures/syft/syft/linux/testdata/os");
        let cases = [
            ("debian/from-os-release/usr/lib/os-release", Some(("debian", Some("8")))),
            ("ubuntu/etc/os-release", Some(("ubuntu", Some("20.04")))),
            ("alpine/etc/os-release", Some(("alpine", Some("3.11.6")))),
            ("wolfi/etc/os-release", Some(("wolfi", Some("20220914")))),
            ("empty/etc/os-release", None),
        ];
        for (rel, want) in cases {
            let text = std::fs::read_to_string(dir.join(rel)).unwrap();
            let got = parse(&text);
            assert_eq!(got.as_ref().map(|d| (d.id.as_str(), d.version_id.as_deref())), want, "{rel}");
        }
    }

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

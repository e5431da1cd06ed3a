//! The operating system, from `/etc/os-release` (or `/usr/lib/os-release`).

use super::{CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Distro, Location};
use crate::fstree::{Entry, EntryKind};

/// Reads os-release files.
#[derive(Debug, Clone, Copy)]
pub struct OsRelease;

impl Cataloger for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[]
    }

    fn wants(&self, entry: &Entry) -> bool {
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

pub use crate::distro::{debian_codename, debian_version, DEBIAN_RELEASES};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::testdata;
    use super::*;

    #[test]
    fn table() {
        // syft's os-release fixtures (see testdata/sbom/os-release-syft/README.md).
        let dir = testdata().join("os-release-syft");
        let cases = [
            ("debian/usr/lib/os-release", Some(("debian", Some("8")))),
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
}

//! Alpine (and Wolfi) packages: `lib/apk/db/installed`.

use super::{make_purl, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Distro, Location, Package, SourcePackage};
use crate::fstree::{Entry, EntryKind};

/// The apk database cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Apk;

const NAME: &str = "apk-db-cataloger";

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Apk]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("apk-db-entry")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File && entry.path.ends_with("/lib/apk/db/installed")
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        parse(location, &String::from_utf8_lossy(content))
    }

    fn finish(&self, p: &mut Package, distro: Option<&Distro>) {
        p.purl = purl(p, distro);
    }
}

/// Parses an apk `installed` database: packages and the files they own.
pub fn parse(location: &Location, text: &str) -> Result<Parsed, CatalogError> {
    let mut out = Parsed::default();
    let mut cur: Option<Package> = None;
    let mut dir = String::new();
    let flush = |cur: &mut Option<Package>, out: &mut Parsed| {
        if let Some(p) = cur.take() {
            if !p.name.is_empty() && !p.version.is_empty() {
                out.packages.push(p);
            }
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            dir.clear();
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.len() != 1 {
            continue;
        }
        let p = cur.get_or_insert_with(|| Package::new(PackageType::Apk, "", "", NAME, location.clone()));
        match key {
            "P" => p.name = value.to_string(),
            "V" => p.version = value.to_string(),
            "A" => {
                p.metadata.insert("architecture".into(), value.into());
            }
            "m" => {
                p.metadata.insert("maintainer".into(), value.into());
            }
            "o" => p.source_package = Some(SourcePackage { name: value.to_string(), version: None }),
            "L" => {
                p.licenses = value.split_whitespace().map(str::to_string).collect();
                if value.contains(" AND ") || value.contains(" OR ") || value.contains(" WITH ") {
                    p.licenses = vec![value.to_string()];
                }
            }
            "D" => p.depends_on.extend(value.split_whitespace().filter_map(|d| {
                if d.contains(':') || d.starts_with('/') || d.starts_with('!') {
                    return None;
                }
                let name = d.split(['<', '>', '=', '~']).next()?;
                (!name.is_empty()).then(|| name.to_string())
            })),
            "F" => dir = value.to_string(),
            "R" => out.owned_files.push(format!("/{dir}/{value}").replace("//", "/")),
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    if out.packages.is_empty() && !text.trim().is_empty() {
        return Err(CatalogError("no package record with P: and V:".into()));
    }
    Ok(out)
}

/// `pkg:apk/<distro id>/NAME@VERSION?arch=A&distro=ID-VERSION_ID&upstream=ORIGIN` (as syft).
pub fn purl(p: &Package, distro: Option<&Distro>) -> Option<String> {
    let distro = distro?;
    let arch = p.metadata.get("architecture").map(String::as_str).unwrap_or("");
    let origin = p.source_package.as_ref().map(|s| s.name.as_str()).unwrap_or("");
    let q = distro.purl_qualifier();
    make_purl(
        "apk",
        Some(&distro.id.to_lowercase()),
        &p.name,
        &p.version,
        &[("arch", arch), ("upstream", origin), ("distro", &q)],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::{loc, testdata};
    use super::*;

    #[test]
    fn table() {
        // Root file systems under testdata/sbom/apk (syft's and scalibr's fixtures, see its README).
        let db = "lib/apk/db/installed";
        // (fixture, package count or None for an error, first name@version)
        let cases: &[(String, Option<usize>, &str)] = &[
            (format!("syft-single/{db}"), Some(1), "musl-utils@1.1.24-r2"),
            (format!("syft-multiple-1/{db}"), Some(4), "bash@5.2.21-r0"),
            (format!("scalibr-single/{db}"), Some(1), "alpine-baselayout-data@3.4.3-r1"),
            (format!("scalibr-installed/{db}"), Some(15), "alpine-baselayout@3.4.3-r1"),
            (format!("scalibr-empty/{db}"), Some(0), ""),
        ];
        for (rel, count, first) in cases {
            let text = String::from_utf8_lossy(&std::fs::read(testdata().join("apk").join(rel)).unwrap()).into_owned();
            let got = parse(&loc("/lib/apk/db/installed"), &text);
            match count {
                None => assert!(got.is_err(), "{rel}"),
                Some(n) => {
                    let got = got.unwrap_or_else(|e| panic!("{rel}: {e}"));
                    assert_eq!(got.packages.len(), *n, "{rel}");
                    if let Some(p) = got.packages.first() {
                        assert_eq!(&format!("{}@{}", p.name, p.version), first, "{rel}");
                    }
                }
            }
        }
    }

    #[test]
    fn purl_like_syft() {
        let text = "P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nL:MIT\n";
        let got = parse(&loc("/lib/apk/db/installed"), text).unwrap();
        let d = Distro { id: "alpine".into(), version_id: Some("3.18.4".into()), ..Distro::default() };
        assert_eq!(
            purl(&got.packages[0], Some(&d)).unwrap(),
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4&upstream=musl"
        );
    }
}

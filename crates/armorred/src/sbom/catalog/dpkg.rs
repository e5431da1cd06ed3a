//! Debian packages: `var/lib/dpkg/status`, distroless `status.d/<pkg>` files, and the file
//! lists (`info/*.list`, `*.md5sums`) that say which files a package owns.

use super::{field, make_purl, paragraphs, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Distro, Location, Package, SourcePackage};
use crate::fstree::{Entry, EntryKind};

/// The dpkg database cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Dpkg;

const NAME: &str = "dpkg-db-cataloger";

enum Kind {
    Status,
    FileList,
    Md5sums,
    Copyright,
}

fn classify(path: &str) -> Option<Kind> {
    if path.ends_with("/var/lib/dpkg/status") || path.ends_with("/usr/lib/dpkg/status") {
        return Some(Kind::Status);
    }
    let (dir, name) = path.rsplit_once('/')?;
    if dir.ends_with("/var/lib/dpkg/status.d") || dir.ends_with("/usr/lib/dpkg/status.d") {
        if name.ends_with(".md5sums") {
            return Some(Kind::Md5sums);
        }
        if name.starts_with('.') {
            return None;
        }
        return Some(Kind::Status);
    }
    if dir.ends_with("/var/lib/dpkg/info") {
        if name.ends_with(".list") {
            return Some(Kind::FileList);
        }
        if name.ends_with(".md5sums") {
            return Some(Kind::Md5sums);
        }
    }
    if name == "copyright" && dir.starts_with("/usr/share/doc/") && dir.matches('/').count() == 4 {
        return Some(Kind::Copyright);
    }
    None
}

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Deb]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("dpkg-db-entry")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File && classify(&entry.path).is_some()
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        let text = String::from_utf8_lossy(content);
        Ok(match classify(&location.path) {
            Some(Kind::Status) => parse_status(location, &text)?.into(),
            Some(Kind::FileList) => Parsed {
                owned_files: text.lines().filter(|l| l.starts_with('/') && *l != "/.").map(str::to_string).collect(),
                ..Parsed::default()
            },
            Some(Kind::Md5sums) => Parsed {
                owned_files: text
                    .lines()
                    .filter_map(|l| l.split_once(char::is_whitespace))
                    .map(|(_, p)| format!("/{}", p.trim().trim_start_matches('/')))
                    .collect(),
                ..Parsed::default()
            },
            Some(Kind::Copyright) => {
                let pkg = location.path.trim_start_matches("/usr/share/doc/").trim_end_matches("/copyright");
                let licenses = copyright_licenses(&text);
                Parsed { licenses: vec![("deb".into(), pkg.to_string(), licenses)], ..Parsed::default() }
            }
            None => Parsed::default(),
        })
    }

    fn finish(&self, p: &mut Package, distro: Option<&Distro>) {
        p.purl = purl(p, distro);
        if p.cpes.is_empty() {
            p.cpes = super::cpe::debian(&p.name, &p.version);
        }
    }
}

/// Parses a status file (or one distroless `status.d` entry). Paragraphs without `Package`
/// or `Version`, and packages not installed (`deinstall ... config-files`), are skipped.
/// A file with text but no valid paragraph is an error.
pub fn parse_status(location: &Location, text: &str) -> Result<Vec<Package>, CatalogError> {
    let mut out = Vec::new();
    let paras = paragraphs(text);
    for para in &paras {
        let (Some(name), Some(version)) = (field(para, "Package"), field(para, "Version")) else {
            continue;
        };
        if name.is_empty() || version.is_empty() || name.contains(char::is_whitespace) {
            continue;
        }
        if let Some(status) = field(para, "Status") {
            let state = status.split_whitespace().nth(2).unwrap_or("installed");
            if matches!(state, "config-files" | "not-installed") {
                continue;
            }
        }
        let mut p = Package::new(PackageType::Deb, name, version, NAME, location.clone());
        if let Some(src) = field(para, "Source").filter(|s| !s.is_empty()) {
            let (sname, sver) = match src.split_once('(') {
                Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim().to_string())),
                None => (src.trim(), None),
            };
            p.source_package = Some(SourcePackage { name: sname.to_string(), version: sver });
        }
        for (key, meta) in
            [("Architecture", "architecture"), ("Maintainer", "maintainer"), ("Installed-Size", "installedSize")]
        {
            if let Some(v) = field(para, key) {
                p.metadata.insert(meta.to_string(), v.to_string());
            }
        }
        for key in ["Pre-Depends", "Depends"] {
            if let Some(deps) = field(para, key) {
                p.depends_on.extend(dependency_names(deps));
            }
        }
        p.depends_on.sort();
        p.depends_on.dedup();
        out.push(p);
    }
    if out.is_empty() && !text.trim().is_empty() && paras.iter().all(|p| field(p, "Package").is_none()) {
        return Err(CatalogError("no package paragraph (is this a dpkg status file?)".into()));
    }
    Ok(out)
}

/// License names of a Debian copyright file, as syft 1.18 reads them: the first word after
/// `License: ` on a line (DEP-5), and the first `/usr/share/common-licenses/NAME` of a line;
/// a trailing `.` dropped, `none` and empty values skipped; deduplicated and sorted bytewise.
/// The names are kept as written (`GPL-2`); [`crate::sbom::format`] maps them to SPDX ids.
pub fn copyright_licenses(text: &str) -> Vec<String> {
    const COMMON: &str = "/usr/share/common-licenses/";
    let mut out: Vec<String> = Vec::new();
    let mut push = |l: &str| {
        let l = l.trim();
        if l.is_empty() || l.eq_ignore_ascii_case("none") {
            return;
        }
        let l = l.strip_suffix('.').unwrap_or(l);
        if !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    };
    for line in text.split('\n') {
        if let Some(rest) = line.strip_prefix("License: ") {
            push(rest.split(|c: char| c.is_ascii_whitespace()).next().unwrap_or(""));
        }
        let names = line.match_indices(COMMON).map(|(at, _)| {
            line[at + COMMON.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c)).collect::<String>()
        });
        if let Some(name) = names.into_iter().find(|n| !n.is_empty()) {
            push(&name);
        }
    }
    out.sort();
    out
}

/// Package names of a `Depends` field: every alternative, without versions or `:arch`.
fn dependency_names(field: &str) -> Vec<String> {
    field
        .split([',', '|'])
        .filter_map(|d| {
            let name = d.split_whitespace().next()?;
            let name = name.split(':').next()?.split('(').next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// The purl as syft writes it for Debian and its derivatives:
/// `pkg:deb/<distro id>/NAME@VERSION?arch=A&distro=ID-VERSION_ID&upstream=SRC[@SRCVER]`.
/// Without a Debian-like distribution, no purl (as syft).
pub fn purl(p: &Package, distro: Option<&Distro>) -> Option<String> {
    let distro = distro.filter(|d| d.is_like("debian"))?;
    let arch = p.metadata.get("architecture").map(String::as_str).unwrap_or("");
    let upstream = p.source_package.as_ref().map(|s| match &s.version {
        Some(v) if !v.is_empty() => format!("{}@{v}", s.name),
        _ => s.name.clone(),
    });
    let distro_q = distro.purl_qualifier();
    make_purl(
        "deb",
        Some(&distro.id),
        &p.name,
        &p.version,
        &[("arch", arch), ("upstream", upstream.as_deref().unwrap_or("")), ("distro", &distro_q)],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::{loc, shared_data, testdata};
    use super::*;

    fn read(rel: &str) -> String {
        let path = shared_data().join(rel);
        String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .into_owned()
    }

    #[test]
    fn table() {
        let syft = "anchore-fixtures/syft/syft/pkg/cataloger/debian/testdata";
        let scalibr = "osv-scalibr-fixtures/extractor/filesystem/os/dpkg/testdata/dpkg";
        // (fixture, packages expected, first name@version)
        let cases: &[(&str, usize, Option<&str>)] = &[
            ("debian-bookworm-packages/dpkg-status.this-machine", 747, Some("adduser@3.134")),
            (&format!("{syft}/var/lib/dpkg/status.d/single"), 1, Some("apt@1.8.2")),
            (&format!("{syft}/var/lib/dpkg/status.d/multiple"), 3, Some("no-version@")),
            (
                &format!("{syft}/var/lib/dpkg/status.d/deinstall"),
                1,
                Some("linux-image-6.14.0-1012-aws@6.14.0-1012.12~24.04.1"),
            ),
            (
                &format!("{syft}/image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0"),
                1,
                Some("libsqlite3-0@3.34.1-3"),
            ),
            (&format!("{scalibr}/valid"), 0, None),
            (&format!("{scalibr}/empty"), 0, None),
            (&format!("{scalibr}/status.d/foo"), 1, Some("foo@1.2.3")),
            (&format!("{scalibr}/noversion"), 2, Some("foo@1.0")),
            (&format!("{scalibr}/trailingnewlines"), 0, None),
        ];
        for (rel, count, first) in cases {
            let got = parse_status(&loc("/var/lib/dpkg/status"), &read(rel));
            let got = match got {
                Ok(g) => g,
                Err(e) => {
                    assert_eq!(*count, 0, "{rel}: {e}");
                    continue;
                }
            };
            if *rel == format!("{scalibr}/valid") || rel.ends_with("trailingnewlines") {
                assert!(!got.is_empty(), "{rel}");
                continue;
            }
            if rel.ends_with("multiple") {
                // syft's fixture: one paragraph lacks a version and is skipped.
                assert_eq!(got.len(), 2, "{rel}");
                continue;
            }
            assert_eq!(got.len(), *count, "{rel}");
            if let Some(first) = first {
                let p = &got[0];
                assert_eq!(&format!("{}@{}", p.name, p.version), first, "{rel}");
            }
        }
    }

    #[test]
    fn corrupt_status_gives_what_is_valid() {
        let path = testdata().join("dpkg/syft-corrupt/var/lib/dpkg/status.d/corrupt");
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let got = parse_status(&loc("/s"), &text);
        // Whatever it yields, every package has a name and a version.
        for p in got.unwrap_or_default() {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
        assert!(parse_status(&loc("/s"), "\u{0}\u{1}garbage\n\nmore garbage").is_err());
    }

    #[test]
    fn purl_like_syft() {
        let text = "Package: bash\nVersion: 5.2.15-2+b8\nArchitecture: amd64\nSource: bash (5.2.15-2)\n\nPackage: adduser\nVersion: 3.134\nArchitecture: all\n";
        let pkgs = parse_status(&loc("/var/lib/dpkg/status"), text).unwrap();
        let d = Distro { id: "debian".into(), version_id: Some("13".into()), ..Distro::default() };
        assert_eq!(
            purl(&pkgs[0], Some(&d)).unwrap(),
            "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-13&upstream=bash%405.2.15-2"
        );
        assert_eq!(purl(&pkgs[1], Some(&d)).unwrap(), "pkg:deb/debian/adduser@3.134?arch=all&distro=debian-13");
        assert_eq!(purl(&pkgs[1], None), None);
    }

    /// syft's copyright fixtures: the names syft 1.18 reads from each (before it maps them to
    /// SPDX ids; `tests/sbom.rs` compares the written licences with syft's own output).
    #[test]
    fn copyright_table() {
        let dir = testdata().join("dpkg/syft-copyright/usr/share/doc");
        let cases: &[(&str, &[&str])] = &[
            ("libc6", &["GPL-2", "LGPL-2.1"]),
            ("trilicense", &["GPL-2", "LGPL-2.1", "MPL-1.1"]),
            ("libaudit-common", &["GPL-1", "GPL-2", "LGPL-2.1"]),
            (
                "liblzma5",
                &[
                    "Autoconf",
                    "GPL-2",
                    "GPL-2+",
                    "GPL-3",
                    "LGPL-2",
                    "LGPL-2.1",
                    "LGPL-2.1+",
                    "PD",
                    "PD-debian",
                    "config-h",
                    "noderivs",
                    "permissive-fsf",
                    "permissive-nowarranty",
                    "probably-PD",
                ],
            ),
            // Not machine-readable, and syft 1.18 has no heading heuristics: nothing.
            ("cuda", &[]),
            ("dev-kit", &[]),
            ("microsoft", &[]),
        ];
        for (file, want) in cases {
            let text = String::from_utf8_lossy(&std::fs::read(dir.join(file).join("copyright")).unwrap()).into_owned();
            assert_eq!(copyright_licenses(&text), *want, "{file}");
        }
        // python's file is not DEP-5: syft 1.18 still takes every `License: WORD` line.
        let text = String::from_utf8_lossy(&std::fs::read(dir.join("python/copyright")).unwrap()).into_owned();
        let got = copyright_licenses(&text);
        assert!(got.iter().any(|l| l == "PSF-2") && got.iter().any(|l| l == "#"), "{got:?}");
        // Edge cases of syft's patterns.
        for (text, want) in [
            ("License: none\nLicense: None.\nLicense:  GPL-2\nLicense:\tMIT\n", &["None"][..]),
            ("License: GPL-2+.\r\nLicense: GPL-2+\n", &["GPL-2+"][..]),
            ("see /usr/share/common-licenses/ and /usr/share/common-licenses/GPL-3, /usr/share/common-licenses/X\n", &["GPL-3"][..]),
            ("", &[][..]),
        ] {
            assert_eq!(copyright_licenses(text), want, "{text:?}");
        }
    }

    #[test]
    fn dependencies_are_names() {
        assert_eq!(
            dependency_names("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any"),
            ["libc6", "debconf", "debconf-2.0", "python3"]
        );
    }
}

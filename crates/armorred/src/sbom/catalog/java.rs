//! Java archives (`.jar`, `.war`, `.ear`, `.jpi`, `.hpi`): `META-INF/maven/**/pom.properties`,
//! `META-INF/MANIFEST.MF`, and nested archives (bounded depth and sizes).

use std::io::{Cursor, Read};

use super::{make_purl, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::{Entry, EntryKind};

/// The Java archive cataloger.
#[derive(Debug, Clone, Copy)]
pub struct JavaArchive;

const NAME: &str = "java-archive-cataloger";
const EXTENSIONS: [&str; 5] = [".jar", ".war", ".ear", ".jpi", ".hpi"];
const MAX_DEPTH: usize = 3;
const MAX_NESTED: u64 = 128 << 20;
const MAX_ENTRIES: usize = 200_000;

impl Cataloger for JavaArchive {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::JavaArchive]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("java-archive")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File && EXTENSIONS.iter().any(|e| entry.path.ends_with(e))
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        let mut out = Vec::new();
        parse_archive(location, &location.path, content, 0, &mut out)?;
        Ok(out.into())
    }
}

fn read_entry(file: &mut zip::read::ZipFile<'_, Cursor<&[u8]>>, max: u64) -> Result<Vec<u8>, CatalogError> {
    let mut buf = Vec::new();
    file.take(max + 1).read_to_end(&mut buf).map_err(|e| CatalogError(format!("cannot read {}: {e}", file.name())))?;
    if buf.len() as u64 > max {
        return Err(CatalogError(format!("{} is larger than {max} bytes", file.name())));
    }
    Ok(buf)
}

/// `name-1.2.3.jar` → (`name`, `1.2.3`).
fn name_version_from_file(file: &str) -> (String, Option<String>) {
    let stem = EXTENSIONS.iter().find_map(|e| file.strip_suffix(e)).unwrap_or(file);
    let mut split = None;
    for (i, _) in stem.match_indices('-') {
        if stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            split = Some(i);
            break;
        }
    }
    match split {
        Some(i) => (stem[..i].to_string(), Some(stem[i + 1..].to_string())),
        None => (stem.to_string(), None),
    }
}

fn properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn get<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn maven(location: &Location, group: &str, artifact: &str, version: &str) -> Package {
    let mut p = Package::new(PackageType::JavaArchive, artifact, version, NAME, location.clone());
    p.purl = make_purl("maven", Some(group), artifact, version, &[]);
    p.metadata.insert("groupId".into(), group.to_string());
    p
}

/// Parses one archive (and, recursively, the archives inside it).
pub fn parse_archive(
    location: &Location,
    virtual_path: &str,
    content: &[u8],
    depth: usize,
    out: &mut Vec<Package>,
) -> Result<(), CatalogError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(content))
        .map_err(|e| CatalogError(format!("{virtual_path}: not a valid archive: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(CatalogError(format!("{virtual_path}: more than {MAX_ENTRIES} entries")));
    }
    let mut manifest = Vec::new();
    let mut poms = Vec::new();
    let mut nested = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut f) = zip.by_index(i) else { continue };
        let name = f.name().to_string();
        if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            manifest = properties(&String::from_utf8_lossy(&read_entry(&mut f, 1 << 20)?));
        } else if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            poms.push(properties(&String::from_utf8_lossy(&read_entry(&mut f, 1 << 16)?)));
        } else if depth < MAX_DEPTH && EXTENSIONS.iter().any(|e| name.ends_with(e)) && f.size() <= MAX_NESTED {
            nested.push((name, read_entry(&mut f, MAX_NESTED)?));
        }
    }
    let loc = Location { path: virtual_path.to_string(), layer: location.layer.clone() };
    let file = virtual_path.rsplit(['/', ':']).next().unwrap_or(virtual_path);
    let (file_name, file_version) = name_version_from_file(file);
    let mut main_found = false;
    for pom in &poms {
        let (Some(g), Some(a), Some(v)) = (get(pom, "groupId"), get(pom, "artifactId"), get(pom, "version")) else {
            continue;
        };
        main_found |= a == file_name;
        out.push(maven(&loc, g, a, v));
    }
    if !main_found {
        let version = get(&manifest, "Implementation-Version")
            .or_else(|| get(&manifest, "Bundle-Version"))
            .map(str::to_string)
            .or(file_version);
        if let Some(version) = version {
            let group = get(&manifest, "Implementation-Vendor-Id")
                .or_else(|| get(&manifest, "Bundle-SymbolicName").and_then(|s| s.rsplit_once('.').map(|(g, _)| g)))
                .unwrap_or(&file_name)
                .to_string();
            let mut p = maven(&loc, &group, &file_name, &version);
            if let Some(l) = get(&manifest, "Bundle-License") {
                p.licenses.push(l.to_string());
            }
            out.push(p);
        }
    }
    for (name, bytes) in nested {
        let inner = format!("{virtual_path}:{name}");
        // A broken nested archive does not hide the outer one's findings.
        let _ = parse_archive(location, &inner, &bytes, depth + 1, out);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use std::io::Write;

    use super::super::testutil::loc;
    use super::*;

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn table() {
        let inner = jar(&[(
            "META-INF/maven/org.slf4j/slf4j-api/pom.properties",
            b"groupId=org.slf4j\nartifactId=slf4j-api\nversion=2.0.9\n",
        )]);
        let outer = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 1.4.0\n",
            ),
            ("BOOT-INF/lib/slf4j-api-2.0.9.jar", &inner),
            ("BOOT-INF/lib/broken.jar", b"not a zip"),
        ]);
        let mut out = Vec::new();
        parse_archive(&loc("/app/app-1.4.0.jar"), "/app/app-1.4.0.jar", &outer, 0, &mut out).unwrap();
        let purls: Vec<_> = out.iter().map(|p| p.purl.clone().unwrap()).collect();
        assert_eq!(purls, ["pkg:maven/app/app@1.4.0", "pkg:maven/org.slf4j/slf4j-api@2.0.9"]);
        assert_eq!(out[1].locations[0].path, "/app/app-1.4.0.jar:BOOT-INF/lib/slf4j-api-2.0.9.jar");
        assert!(parse_archive(&loc("/x.jar"), "/x.jar", b"garbage", 0, &mut out).is_err());
        assert_eq!(name_version_from_file("commons-io-2.15.1.jar"), ("commons-io".into(), Some("2.15.1".into())));
    }
}

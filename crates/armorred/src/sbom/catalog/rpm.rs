//! RPM packages from the sqlite rpmdb (`rpmdb.sqlite`: table `Packages`, one header blob per
//! package). Berkeley DB and ndb databases are not read.

use std::io::Write;

use super::{make_purl, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Distro, Location, Package, SourcePackage};
use crate::fstree::{Entry, EntryKind};

/// The rpmdb cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Rpm;

const NAME: &str = "rpm-db-cataloger";

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Rpm]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("rpm-db-entry")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File
            && (entry.path.ends_with("/var/lib/rpm/rpmdb.sqlite")
                || entry.path.ends_with("/usr/lib/sysimage/rpm/rpmdb.sqlite")
                || entry.path.ends_with("/usr/share/rpm/rpmdb.sqlite"))
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        if !content.starts_with(b"SQLite format 3\0") {
            return Err(CatalogError("not an sqlite rpmdb (Berkeley DB/ndb are not supported)".into()));
        }
        // sqlite reads files: copy the (bounded) content to a private temporary file.
        let path = std::env::temp_dir().join(format!(
            "armorred-rpmdb-{}-{:x}.sqlite",
            std::process::id(),
            content.len() ^ (location.path.len() << 32)
        ));
        let result = (|| {
            let mut f = std::fs::File::create(&path).map_err(|e| CatalogError(format!("temporary copy: {e}")))?;
            f.write_all(content).map_err(|e| CatalogError(format!("temporary copy: {e}")))?;
            drop(f);
            read_db(location, &path)
        })();
        let _ = std::fs::remove_file(&path);
        Ok(result?.into())
    }

    fn finish(&self, p: &mut Package, distro: Option<&Distro>) {
        p.purl = purl(p, distro);
    }
}

/// Reads every header blob of an sqlite rpmdb file.
pub fn read_db(location: &Location, path: &std::path::Path) -> Result<Vec<Package>, CatalogError> {
    let err = |e: rusqlite::Error| CatalogError(format!("rpmdb: {e}"));
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
    let mut stmt = conn.prepare("SELECT blob FROM Packages").map_err(err)?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).map_err(err)?;
    let mut out = Vec::new();
    for blob in rows {
        let blob = blob.map_err(err)?;
        if let Some(p) = parse_header(location, &blob)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Parses one header blob (index count, data size, 16-byte index entries, data store).
pub fn parse_header(location: &Location, blob: &[u8]) -> Result<Option<Package>, CatalogError> {
    let bad = |why: &str| CatalogError(format!("bad rpm header: {why}"));
    let be = |at: usize| -> Option<u32> { Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?)) };
    let il = be(0).ok_or_else(|| bad("too short"))? as usize;
    let dl = be(4).ok_or_else(|| bad("too short"))? as usize;
    let store_at = il.checked_mul(16).and_then(|n| n.checked_add(8)).ok_or_else(|| bad("index too large"))?;
    let store = blob
        .get(store_at..store_at.checked_add(dl).ok_or_else(|| bad("data too large"))?)
        .ok_or_else(|| bad("truncated"))?;
    let mut strings = std::collections::HashMap::new();
    let mut epoch = None;
    for i in 0..il {
        let e = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off), Some(count)) = (be(e), be(e + 4), be(e + 8), be(e + 12)) else {
            return Err(bad("truncated index"));
        };
        let off = off as usize;
        match ty {
            6 | 8 | 9 => {
                let Some(rest) = store.get(off..) else {
                    continue;
                };
                let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                strings.insert(tag, String::from_utf8_lossy(&rest[..end]).into_owned());
            }
            4 if tag == TAG_EPOCH && count >= 1 => {
                if let Some(b) = store.get(off..off + 4) {
                    epoch = Some(u32::from_be_bytes(b.try_into().unwrap_or([0; 4])));
                }
            }
            _ => {}
        }
    }
    let (Some(name), Some(version), Some(release)) =
        (strings.get(&TAG_NAME), strings.get(&TAG_VERSION), strings.get(&TAG_RELEASE))
    else {
        return Ok(None);
    };
    // gpg-pubkey entries are keys, not packages (syft skips them too).
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let v = match epoch {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    let mut p = Package::new(PackageType::Rpm, name, &v, NAME, location.clone());
    if let Some(a) = strings.get(&TAG_ARCH) {
        p.metadata.insert("architecture".into(), a.clone());
    }
    if let Some(l) = strings.get(&TAG_LICENSE) {
        p.licenses.push(l.clone());
    }
    if let Some(vd) = strings.get(&TAG_VENDOR) {
        p.metadata.insert("vendor".into(), vd.clone());
    }
    if let Some(e) = epoch {
        p.metadata.insert("epoch".into(), e.to_string());
    }
    p.metadata.insert("versionRelease".into(), format!("{version}-{release}"));
    if let Some(s) = strings.get(&TAG_SOURCERPM) {
        p.source_package = Some(SourcePackage { name: s.clone(), version: None });
    }
    Ok(Some(p))
}

/// `pkg:rpm/<distro id>/NAME@VERSION-RELEASE?arch=A&epoch=E&upstream=SRPM&distro=ID-VER` (as syft).
pub fn purl(p: &Package, distro: Option<&Distro>) -> Option<String> {
    let arch = p.metadata.get("architecture").map(String::as_str).unwrap_or("");
    let epoch = p.metadata.get("epoch").map(String::as_str).unwrap_or("");
    let vr = p.metadata.get("versionRelease").map(String::as_str).unwrap_or(&p.version);
    let upstream = p.source_package.as_ref().map(|s| s.name.as_str()).unwrap_or("");
    let q = distro.map(Distro::purl_qualifier).unwrap_or_default();
    make_purl(
        "rpm",
        distro.map(|d| d.id.as_str()),
        &p.name,
        vr,
        &[("arch", arch), ("epoch", epoch), ("upstream", upstream), ("distro", &q)],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::loc;
    use super::*;

    /// Writes a header blob as rpm does (strings and one INT32).
    fn header(strings: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        if let Some(e) = epoch {
            index.push((TAG_EPOCH, 4u32, 0u32, 1u32));
            store.extend_from_slice(&e.to_be_bytes());
        }
        for (tag, s) in strings {
            index.push((*tag, 6, u32::try_from(store.len()).unwrap(), 1));
            store.extend_from_slice(s.as_bytes());
            store.push(0);
        }
        let mut b = Vec::new();
        b.extend_from_slice(&u32::try_from(index.len()).unwrap().to_be_bytes());
        b.extend_from_slice(&u32::try_from(store.len()).unwrap().to_be_bytes());
        for (t, ty, o, c) in index {
            for x in [t, ty, o, c] {
                b.extend_from_slice(&x.to_be_bytes());
            }
        }
        b.extend_from_slice(&store);
        b
    }

    #[test]
    fn table() {
        let dir = std::env::temp_dir().join(format!("armorred-rpm-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("rpmdb.sqlite");
        let _ = std::fs::remove_file(&db);
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)", []).unwrap();
        let rows = [
            header(
                &[
                    (TAG_NAME, "bash"),
                    (TAG_VERSION, "5.1.8"),
                    (TAG_RELEASE, "9.el9"),
                    (TAG_ARCH, "x86_64"),
                    (TAG_LICENSE, "GPLv3+"),
                    (TAG_SOURCERPM, "bash-5.1.8-9.el9.src.rpm"),
                ],
                None,
            ),
            header(
                &[(TAG_NAME, "openssl-libs"), (TAG_VERSION, "3.0.7"), (TAG_RELEASE, "27.el9"), (TAG_ARCH, "x86_64")],
                Some(1),
            ),
            header(&[(TAG_NAME, "gpg-pubkey"), (TAG_VERSION, "fd431d51"), (TAG_RELEASE, "4ae0493b")], None),
            b"\xff\xff\xff\xff garbage".to_vec(),
        ];
        for r in &rows[..3] {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [r]).unwrap();
        }
        drop(conn);
        let got = Rpm.parse(&loc("/var/lib/rpm/rpmdb.sqlite"), &std::fs::read(&db).unwrap()).unwrap();
        let d = Distro { id: "rhel".into(), version_id: Some("9.3".into()), ..Distro::default() };
        let purls: Vec<_> = got.packages.iter().map(|p| purl(p, Some(&d)).unwrap()).collect();
        assert_eq!(
            purls,
            [
                "pkg:rpm/rhel/bash@5.1.8-9.el9?arch=x86_64&distro=rhel-9.3&upstream=bash-5.1.8-9.el9.src.rpm",
                "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.3&epoch=1",
            ]
        );
        assert_eq!(got.packages[1].version, "1:3.0.7-27.el9");
        assert!(parse_header(&loc("/x"), &rows[3]).is_err());
        // Berkeley DB databases are refused with a clear message.
        let bdb = crate::sbom::catalog::testutil::testdata().join("rpm/syft-bdb/var/lib/rpm/Packages");
        let e = Rpm.parse(&loc("/var/lib/rpm/rpmdb.sqlite"), &std::fs::read(bdb).unwrap()).unwrap_err();
        assert!(e.to_string().contains("Berkeley DB"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! ELF package notes (`.note.package`, owner `FDO`, type `0xcafe1a7e`, JSON description), as
//! systemd specifies them and as ARMORRED's builder writes them into source-built binaries.

use super::{make_purl, maybe_binary, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::Entry;

/// The ELF package note cataloger.
#[derive(Debug, Clone, Copy)]
pub struct ElfNote;

const NAME: &str = "elf-binary-package-cataloger";

impl Cataloger for ElfNote {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Binary, PackageType::Deb, PackageType::Rpm, PackageType::Apk]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("elf-binary-package-note-json-payload")
    }

    fn yields_to_owner(&self) -> bool {
        true
    }

    fn wants(&self, entry: &Entry) -> bool {
        maybe_binary(entry)
    }

    fn elf_only(&self) -> bool {
        true
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        // Cheap pre-check: the owner name must be somewhere in the file.
        if memchr::memmem::find(content, b"FDO\0").is_none() {
            return Ok(Parsed::default());
        }
        let json = crate::elf::package_note(content);
        match json {
            Some(j) => {
                let mut found = parse_note(location, &j)?;
                // The binary's own digest (the CRA's "hash of the executable"): this cataloger
                // gets whole files only (never windows).
                if let Some(p) = &mut found {
                    use sha2::Digest;
                    p.hashes.insert("SHA-256".into(), format!("{:x}", sha2::Sha256::digest(content)));
                }
                Ok(found.into_iter().collect::<Vec<_>>().into())
            }
            None => Ok(Parsed::default()),
        }
    }
}

/// Parses the JSON description of a package note.
pub fn parse_note(location: &Location, json: &[u8]) -> Result<Option<Package>, CatalogError> {
    let v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| CatalogError(format!("package note is not JSON: {e}")))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let (name, version) = (s("name"), s("version"));
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let ty = s("type");
    let kind = match PackageType::parse(&ty) {
        Some(t @ (PackageType::Deb | PackageType::Rpm | PackageType::Apk)) => t,
        _ => PackageType::Binary,
    };
    let mut p = Package::new(kind, &name, &version, NAME, location.clone());
    let os = s("os");
    let distro = match (os.as_str(), s("osVersion")) {
        ("", _) => String::new(),
        (o, v) if v.is_empty() => o.to_string(),
        (o, v) => format!("{o}-{v}"),
    };
    let arch = s("architecture");
    let purl_type = match ty.as_str() {
        "deb" | "rpm" | "apk" | "alpm" => ty.as_str(),
        _ => "generic",
    };
    let ns = (purl_type != "generic").then_some(os.as_str());
    // As syft: the distribution qualifier only (the architecture goes to metadata).
    p.purl = make_purl(purl_type, ns, &name, &version, &[("distro", &distro)]);
    if !arch.is_empty() {
        p.metadata.insert("architecture".into(), arch.clone());
    }
    if !s("license").is_empty() {
        p.licenses.push(s("license"));
    }
    for key in ["appCpe", "cpe"] {
        if !s(key).is_empty() {
            p.cpes.push(s(key));
        }
    }
    for (k, val) in v.as_object().into_iter().flatten() {
        if let Some(val) = val.as_str() {
            if !matches!(k.as_str(), "name" | "version" | "license") {
                p.metadata.insert(k.clone(), val.to_string());
            }
        }
    }
    Ok(Some(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::loc;
    use super::*;

    #[test]
    fn table() {
        let cases: [(&[u8], Option<&str>); 4] = [
            (br#"{"type":"deb","os":"debian","osVersion":"13","name":"nginx","version":"1.26.3-3+deb13u1","architecture":"amd64"}"#,
             Some("pkg:deb/debian/nginx@1.26.3-3%2Bdeb13u1?distro=debian-13")),
            (br#"{"type":"armorred","name":"nginx","version":"1.26.3","license":"BSD-2-Clause","appCpe":"cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*"}"#,
             Some("pkg:generic/nginx@1.26.3")),
            (br#"{"type":"deb"}"#, None),
            (b"not json", None),
        ];
        for (json, want) in cases {
            let got = parse_note(&loc("/usr/sbin/nginx"), json);
            assert_eq!(
                got.ok().flatten().and_then(|p| p.purl),
                want.map(str::to_string),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }
}

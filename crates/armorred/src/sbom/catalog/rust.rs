//! Rust binaries built with cargo-auditable: the `.dep-v0` section holds zlib-compressed JSON
//! with every crate of the build.

use std::io::Read;

use goblin::elf::Elf;

use super::{make_purl, maybe_binary, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::Entry;

/// The cargo-auditable cataloger.
#[derive(Debug, Clone, Copy)]
pub struct RustAudit;

const NAME: &str = "cargo-auditable-binary-cataloger";
/// Decompressed audit data above this is refused (cargo-auditable itself caps at 8 MiB).
const MAX_JSON: u64 = 8 << 20;

impl Cataloger for RustAudit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::RustCrate]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("rust-cargo-audit-entry")
    }

    fn wants(&self, entry: &Entry) -> bool {
        maybe_binary(entry)
    }

    fn elf_only(&self) -> bool {
        true
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        if memchr::memmem::find(content, b".dep-v0").is_none() {
            return Ok(Parsed::default());
        }
        let Ok(elf) = Elf::parse(content) else {
            return Ok(Parsed::default());
        };
        let Some(section) = elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".dep-v0"))
        else {
            return Ok(Parsed::default());
        };
        let start = usize::try_from(section.sh_offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(section.sh_size).unwrap_or(usize::MAX));
        let data = content.get(start..end).ok_or_else(|| CatalogError(".dep-v0 section outside the file".into()))?;
        Ok(parse_dep_v0(location, data)?.into())
    }
}

/// Parses the compressed section content.
pub fn parse_dep_v0(location: &Location, compressed: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| CatalogError(format!("bad zlib data in .dep-v0: {e}")))?;
    if json.len() as u64 > MAX_JSON {
        return Err(CatalogError(".dep-v0 audit data larger than 8 MiB".into()));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| CatalogError(format!("bad JSON in .dep-v0: {e}")))?;
    let packages =
        v.get("packages").and_then(|p| p.as_array()).ok_or_else(|| CatalogError(".dep-v0 without packages".into()))?;
    let names: Vec<&str> = packages.iter().map(|p| p.get("name").and_then(|n| n.as_str()).unwrap_or("")).collect();
    let mut out = Vec::new();
    for p in packages {
        let (Some(name), Some(version)) =
            (p.get("name").and_then(|n| n.as_str()), p.get("version").and_then(|n| n.as_str()))
        else {
            continue;
        };
        if p.get("kind").and_then(|k| k.as_str()) == Some("build") {
            continue;
        }
        let mut pkg = Package::new(PackageType::RustCrate, name, version, NAME, location.clone());
        pkg.purl = make_purl("cargo", None, name, version, &[]);
        if let Some(src) = p.get("source").and_then(|s| s.as_str()) {
            pkg.metadata.insert("source".into(), src.to_string());
        }
        if let Some(deps) = p.get("dependencies").and_then(|d| d.as_array()) {
            pkg.depends_on = deps
                .iter()
                .filter_map(|d| d.as_u64())
                .filter_map(|i| names.get(usize::try_from(i).ok()?))
                .map(|s| s.to_string())
                .collect();
        }
        out.push(pkg);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use std::io::Write;

    use super::super::testutil::loc;
    use super::*;

    fn zlib(b: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn table() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1],"root":true},{"name":"serde","version":"1.0.200","source":"crates.io"},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
        let got = parse_dep_v0(&loc("/app"), &zlib(json)).unwrap();
        let purls: Vec<_> = got.iter().map(|p| p.purl.clone().unwrap()).collect();
        assert_eq!(purls, ["pkg:cargo/app@0.1.0", "pkg:cargo/serde@1.0.200"]);
        assert_eq!(got[0].depends_on, ["serde"]);
        assert!(parse_dep_v0(&loc("/x"), b"not zlib").is_err());
        // A zlib bomb (64 MiB of spaces) is refused.
        let bomb = zlib(&vec![b' '; 64 << 20]);
        assert!(parse_dep_v0(&loc("/x"), &bomb).is_err());
    }
}

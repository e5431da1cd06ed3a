//! Catalogers: one file per ecosystem, each a pure parser of one file's content.

pub mod apk;
pub mod binary;
pub mod cpe;
pub mod dpkg;
pub mod elfnote;
pub mod golang;
pub mod java;
pub mod npm;
pub mod osrelease;
pub mod python;
pub mod rpm;
pub mod rust;

use super::model::{Distro, Location, Package};
use crate::source::FileEntry;

/// A cataloger's parse error (the scan goes on; the error becomes a warning).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CatalogError(pub String);

/// What one file told a cataloger.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    /// Packages found.
    pub packages: Vec<Package>,
    /// Paths owned by some package (file lists), to suppress classifier findings on them.
    pub owned_files: Vec<String>,
    /// The operating system, if the file describes it.
    pub distro: Option<Distro>,
    /// Licenses found apart from the package record: (type, package name, licenses).
    pub licenses: Vec<(String, String, Vec<String>)>,
}

impl From<Vec<Package>> for Parsed {
    fn from(packages: Vec<Package>) -> Self {
        Self { packages, ..Self::default() }
    }
}

/// One ecosystem's reader.
pub trait Cataloger: Send + Sync {
    /// Name as syft names its catalogers (`dpkg-db-cataloger`).
    fn name(&self) -> &'static str;
    /// Whether the file at this entry is one this cataloger reads (path and mode only).
    fn wants(&self, entry: &FileEntry) -> bool;
    /// Whether only ELF files interest it (the walker then skips other content unread).
    fn elf_only(&self) -> bool {
        false
    }
    /// Whether it can work on overlapping windows of a big binary (pattern searches only).
    fn windowed(&self) -> bool {
        false
    }
    /// Parses one file's content (bounded by the walker).
    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError>;
}

/// Every cataloger, in a fixed order.
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(osrelease::OsRelease),
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(rpm::Rpm),
        Box::new(python::Python),
        Box::new(npm::Npm),
        Box::new(java::JavaArchive),
        Box::new(golang::GoBinary),
        Box::new(rust::RustAudit),
        Box::new(elfnote::ElfNote),
        Box::new(binary::Classifier),
    ]
}

/// The name syft gives the metadata of what a cataloger finds (`syft:package:metadataType`,
/// grype's `metadataType`), by the cataloger's name; `None` for a cataloger syft does not have.
pub fn metadata_type(found_by: &str) -> Option<&'static str> {
    Some(match found_by {
        "dpkg-db-cataloger" => "dpkg-db-entry",
        "apk-db-cataloger" => "apk-db-entry",
        "rpm-db-cataloger" => "rpm-db-entry",
        "python-installed-package-cataloger" => "python-package",
        "javascript-package-cataloger" => "javascript-npm-package",
        "java-archive-cataloger" => "java-archive",
        "go-module-binary-cataloger" => "go-module-buildinfo-entry",
        "cargo-auditable-binary-cataloger" => "rust-cargo-audit-entry",
        "elf-binary-package-cataloger" => "elf-binary-package-note-json-payload",
        "binary-classifier-cataloger" => "binary-signature",
        _ => return None,
    })
}

/// syft's language of a package type (`python`, `go`, `java`, ...); empty for OS packages and
/// binaries.
pub fn language(kind: &str) -> &'static str {
    match kind {
        "python" => "python",
        "npm" => "javascript",
        "java-archive" => "java",
        "go-module" => "go",
        "rust-crate" => "rust",
        "gem" => "ruby",
        "dotnet" => "dotnet",
        "php-composer" => "php",
        _ => "",
    }
}

/// Whether a file looks like an executable or shared library worth opening.
pub(crate) fn maybe_binary(entry: &FileEntry) -> bool {
    entry.kind == crate::source::EntryKind::File
        && entry.size >= 64
        && (entry.is_executable() || entry.file_name().contains(".so"))
}

/// Sets the purl of OS packages, which needs the distribution (read after them, maybe), and
/// the CPEs syft generates for Debian packages.
pub(crate) fn finish_purl(p: &mut Package, distro: Option<&Distro>) {
    match p.found_by.as_str() {
        "dpkg-db-cataloger" => {
            p.purl = dpkg::purl(p, distro);
            if p.cpes.is_empty() {
                p.cpes = cpe::debian(&p.name, &p.version);
            }
        }
        "apk-db-cataloger" => p.purl = apk::purl(p, distro),
        "rpm-db-cataloger" => p.purl = rpm::purl(p, distro),
        _ => {}
    }
}

/// Builds a purl; `None` when the type or a part is invalid.
pub(crate) fn make_purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    let mut purl = packageurl::PackageUrl::new(ty.to_string(), name.to_string()).ok()?;
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        purl.with_namespace(ns.to_string());
    }
    if !version.is_empty() {
        purl.with_version(version.to_string());
    }
    for (k, v) in qualifiers {
        if !v.is_empty() {
            purl.add_qualifier(k.to_string(), v.to_string()).ok()?;
        }
    }
    Some(purl.to_string())
}

/// Key/value paragraphs (`Key: value`, continuation lines start with a space), as in dpkg
/// status files and Python METADATA headers. Returns one map per blank-line separated block.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The first value of `key` in a paragraph.
pub(crate) fn field<'a>(para: &'a [(String, String)], key: &str) -> Option<&'a str> {
    para.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

/// Finds `needle` in `hay` and returns the version-like token right after it
/// (digits, dots, letters, `+`, `-`, `_`, `~`), if it starts with a digit.
pub(crate) fn version_after(hay: &[u8], needle: &[u8]) -> Option<String> {
    for at in memchr::memmem::find_iter(hay, needle) {
        let rest = &hay[at + needle.len()..];
        // The token must end inside the buffer: a window may cut a version short.
        let Some(end) = rest.iter().position(|b| !(b.is_ascii_alphanumeric() || b"._+-~".contains(b))) else {
            continue;
        };
        let end = end.min(64);
        let token = &rest[..end];
        if token.first().is_some_and(u8::is_ascii_digit) && token.contains(&b'.') {
            let s = String::from_utf8_lossy(token);
            let s = s.trim_end_matches(['.', '-', '_', '+']);
            return Some(s.to_string());
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// `shared/data` beside the repository root (`<repo>/../shared/data`).
    pub(crate) fn shared_data() -> PathBuf {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.join("../shared/data")
    }

    /// Our own small fixtures.
    pub(crate) fn testdata() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sbom")
    }

    pub(crate) fn loc(path: &str) -> super::Location {
        super::Location { path: path.into(), layer: None }
    }
}

//! Catalogers: one file per ecosystem, each a pure parser of one file's content.
//!
//! The registry below is the one place a cataloger is named: adding one is its own file and
//! one line in `catalogers!`. Everything else asked of a cataloger (its syft name, the package
//! types it finds, syft's `metadataType` for them, what it finishes once the distribution is
//! known) is a method of [`Cataloger`], read through [`all`] and [`by_name`].

pub mod cpe;
mod package_type;

pub use package_type::PackageType;

/// Declares each cataloger's module and collects its unit into [`CATALOGERS`]. Each line is
/// plain Rust (`pub mod m; use m::Unit;`), so that readers of the module tree (rustdoc, the
/// import-graph test in `crate::module_graph`) see the module as any other.
macro_rules! catalogers {
    ($(pub mod $module:ident; use $path:ident :: $unit:ident;)+) => {
        $(pub mod $module; use $path::$unit;)+

        /// Every cataloger, in the order they run.
        pub static CATALOGERS: &[&dyn Cataloger] = &[$(&$unit),+];

        /// The module of each of [`CATALOGERS`], in the same order.
        #[cfg(test)]
        const MODULES: &[&str] = &[$(stringify!($module)),+];
    };
}

// The registry: one line per cataloger, in the order they run.
catalogers! {
    pub mod osrelease; use osrelease::OsRelease;
    pub mod dpkg; use dpkg::Dpkg;
    pub mod apk; use apk::Apk;
    pub mod rpm; use rpm::Rpm;
    pub mod python; use python::Python;
    pub mod npm; use npm::Npm;
    pub mod java; use java::JavaArchive;
    pub mod golang; use golang::GoBinary;
    pub mod rust; use rust::RustAudit;
    pub mod elfnote; use elfnote::ElfNote;
    pub mod binary; use binary::Classifier;
}

use super::model::{Distro, Location, Package};
use crate::fstree::Entry;

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
    /// Name as syft names its catalogers (`dpkg-db-cataloger`); what `foundBy` says.
    fn name(&self) -> &'static str;
    /// The package types it finds, the main one first (none for a reader of distribution facts).
    fn package_types(&self) -> &'static [PackageType];
    /// The name syft gives the metadata of what it finds (`syft:package:metadataType`, grype's
    /// `metadataType`); `None` when syft has no such cataloger.
    fn metadata_type(&self) -> Option<&'static str> {
        None
    }
    /// Whether the file at this entry is one this cataloger reads (path and mode only).
    fn wants(&self, entry: &Entry) -> bool;
    /// Whether only ELF files interest it (the walker then skips other content unread).
    fn elf_only(&self) -> bool {
        false
    }
    /// Whether it can work on overlapping windows of a big binary (pattern searches only).
    fn windowed(&self) -> bool {
        false
    }
    /// Whether what it finds in a file describes that file only, so that it gives way to the
    /// OS package that owns the file (as syft keeps only the owner).
    fn yields_to_owner(&self) -> bool {
        false
    }
    /// Parses one file's content (bounded by the walker).
    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError>;
    /// Finishes a package it found once every file is read and the distribution is known
    /// (OS packages' purls need it).
    fn finish(&self, _package: &mut Package, _distro: Option<&Distro>) {}
}

/// Every cataloger, in the order they run.
pub fn all() -> &'static [&'static dyn Cataloger] {
    CATALOGERS
}

/// The cataloger of this name (a package's `found_by`).
pub fn by_name(name: &str) -> Option<&'static dyn Cataloger> {
    CATALOGERS.iter().copied().find(|c| c.name() == name)
}

/// The name syft gives the metadata of what a cataloger finds (`syft:package:metadataType`,
/// grype's `metadataType`), by the cataloger's name; `None` for a cataloger syft does not have.
pub fn metadata_type(found_by: &str) -> Option<&'static str> {
    by_name(found_by)?.metadata_type()
}

/// syft's language of a package type (`python`, `go`, `java`, ...); empty for OS packages,
/// binaries and types we do not know.
pub fn language(kind: &str) -> &'static str {
    PackageType::parse(kind).map_or("", PackageType::language)
}

/// Whether a file looks like an executable or shared library worth opening.
pub(crate) fn maybe_binary(entry: &Entry) -> bool {
    entry.kind == crate::fstree::EntryKind::File
        && entry.size >= 64
        && (entry.is_executable() || entry.file_name().contains(".so"))
}

/// Lets the cataloger that found a package finish it (OS purls need the distribution, read
/// after them maybe; Debian packages get the CPEs syft generates).
pub(crate) fn finish(p: &mut Package, distro: Option<&Distro>) {
    if let Some(c) = by_name(&p.found_by) {
        c.finish(p, distro);
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
mod registry_tests;

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

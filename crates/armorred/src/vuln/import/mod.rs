//! Feed importers, one file per format, and format auto-detection.
//!
//! Every importer is a pure parser over bytes into a [`FeedBatch`]; unknown fields, ecosystems
//! and severity types are skipped and counted in `FeedBatch::skipped`, never fatal.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use super::error::UnknownFormatName;
use super::error::{Result, VulnError};
use super::model::FeedBatch;

/// Declares each feed format's module and generates [`Format`] from the table: one line per
/// format, `pub mod m; Variant, "name", ["alias", ...], m::detect, m::parse_value;`. The
/// module's `detect` says whether a parsed document (an object; for an array, its first item)
/// is of this format, and `parse_value(&Value, &Path, &mut FeedBatch)` parses it (leniently:
/// what it does not know is counted in `FeedBatch::skipped`). Each line is plain Rust tokens
/// (`pub mod m;`, `m::f` paths), so that the import-graph test (`vuln/module_graph.rs`) reads
/// the module as any other.
macro_rules! feeds {
    ($(
        #[doc = $doc:literal]
        pub mod $module:ident; $variant:ident, $name:literal, [$($alias:literal),*], $detect:path, $parse:path;
    )+) => {
        $(pub mod $module;)+

        /// A feed format: one line of the `feeds!` table in `vuln/import/mod.rs`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Format {
            $(#[doc = $doc] $variant,)+
        }

        impl Format {
            /// Every format, in the order detection tries them.
            pub const ALL: &'static [Format] = &[$(Format::$variant),+];

            /// Short name (what `--format` and a feeds file's `format` take).
            pub fn name(self) -> &'static str {
                match self {
                    $(Format::$variant => $name,)+
                }
            }

            /// Other names [`Format::parse`] accepts for it.
            pub fn aliases(self) -> &'static [&'static str] {
                match self {
                    $(Format::$variant => &[$($alias),*],)+
                }
            }

            /// One line on what it is (its line's doc comment).
            pub fn about(self) -> &'static str {
                match self {
                    $(Format::$variant => $doc.trim(),)+
                }
            }

            /// Parses a short name or an alias.
            pub fn parse(s: &str) -> Option<Format> {
                match s {
                    $($name $(| $alias)* => Some(Format::$variant),)+
                    _ => None,
                }
            }

            /// Whether `doc` (one object of a document) is of this format.
            fn detects(self, doc: &Map<String, Value>) -> bool {
                match self {
                    $(Format::$variant => $detect(doc),)+
                }
            }

            /// Parses one document of this format into `batch`.
            fn parse_doc(self, v: &Value, path: &Path, batch: &mut FeedBatch) {
                match self {
                    $(Format::$variant => $parse(v, path, batch),)+
                }
            }
        }
    };
}

// The registry: one line per feed format, in the order detection tries them (the more
// specific first; Debian's shape is the loosest, so it is last).
feeds! {
    /// NVD CVE JSON 2.0 (API pages or single records).
    pub mod nvd; Nvd, "nvd", [], nvd::detect, nvd::parse_value;
    /// Alpine / Wolfi / Chainguard secdb JSON (or YAML).
    pub mod secdb; Secdb, "secdb", ["alpine", "wolfi", "chainguard"], secdb::detect, secdb::parse_value;
    /// OSV JSON/YAML records (GHSA, Go, RustSec, PyPA, ...), a directory or an `all.zip`.
    pub mod osv; Osv, "osv", ["ghsa"], osv::detect, osv::parse_value;
    /// The Debian security tracker JSON export.
    pub mod debian; Debian, "debian", ["debian-tracker"], debian::detect, debian::parse_value;
}

impl Format {
    /// The known names, aliases in parentheses: `nvd, secdb (alpine, wolfi, chainguard), ...`.
    pub fn known() -> String {
        Format::ALL
            .iter()
            .map(|f| match f.aliases() {
                [] => f.name().to_string(),
                a => format!("{} ({})", f.name(), a.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::str::FromStr for Format {
    type Err = UnknownFormatName;

    fn from_str(s: &str) -> std::result::Result<Format, UnknownFormatName> {
        Format::parse(s).ok_or_else(|| UnknownFormatName { input: s.to_string(), known: Format::known() })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Largest single feed file or zip entry read (bounded decompression); also the bound of the
/// SBOM, VEX, ignore-rule and scan-result files the vulnerability module reads. Default of
/// [`Limits::max_file_bytes`].
pub const MAX_FILE: u64 = 512 << 20;

/// Longest version string kept from a feed (fixed versions, range events, NVD version bounds):
/// an affected row with a longer one is skipped and counted as malformed in the import summary,
/// so that no matcher compares 100,000-character versions. Default of
/// [`Limits::max_version_len`].
pub const MAX_VERSION_LEN: usize = 1024;

/// The import's bounds, each with its default ([`MAX_FILE`], [`MAX_VERSION_LEN`]); pass others
/// through [`load_with`] or [`crate::vuln::db::import_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest feed file or zip entry, in bytes.
    pub max_file_bytes: u64,
    /// Longest version string, in bytes.
    pub max_version_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_bytes: MAX_FILE, max_version_len: MAX_VERSION_LEN }
    }
}

pub use super::error::human_size;

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    read_file_max(path, MAX_FILE)
}

/// Reads a whole file of at most `max` bytes; a larger one is [`VulnError::TooLarge`] (never a
/// truncated read that a parser would report as an early end of input).
pub(crate) fn read_file_max(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = crate::fsutil::open_regular(path)?;
    read_max(f, max, path)
}

/// Reads at most `max` bytes of `r`; more is [`VulnError::TooLarge`] naming `path`.
pub(crate) fn read_max(r: impl Read, max: u64, path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| VulnError::Read { path: path.to_path_buf(), source })?;
    if buf.len() as u64 > max {
        return Err(VulnError::TooLarge { path: path.to_path_buf(), limit: max });
    }
    Ok(buf)
}

/// Skips (and counts) affected rows with a version string over `max` bytes.
fn drop_overlong_versions(batch: &mut FeedBatch, max: usize) {
    use super::model::{AffectedData, Event};
    fn any_long(v: &serde_json::Value, max: usize) -> bool {
        match v {
            serde_json::Value::String(s) => s.len() > max,
            serde_json::Value::Array(a) => a.iter().any(|x| any_long(x, max)),
            serde_json::Value::Object(m) => m.values().any(|x| any_long(x, max)),
            _ => false,
        }
    }
    let long = |s: &str| s.len() > max;
    let before = batch.affected.len();
    batch.affected.retain(|a| match &a.data {
        AffectedData::Debian { fixed_version, .. } => !fixed_version.as_deref().is_some_and(long),
        AffectedData::Secfix { fixed_version } => !long(fixed_version),
        AffectedData::Osv { ranges, versions, .. } => {
            !versions.iter().any(|v| long(v))
                && !ranges.iter().flat_map(|r| &r.events).any(|e| match e {
                    Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => long(v),
                })
        }
        AffectedData::Cpe { configurations } => !any_long(configurations, max),
    });
    let dropped = (before - batch.affected.len()) as u64;
    if dropped > 0 {
        *batch.skipped.entry(format!("malformed: affected rows with a version over {max} bytes")).or_default() +=
            dropped;
    }
}

/// Parses JSON or YAML into a JSON value.
pub(crate) fn parse_value(path: &Path, bytes: &[u8]) -> Result<serde_json::Value> {
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if yaml {
        serde_yaml_ng::from_slice::<crate::json::Strict>(bytes)
            .map(|v| v.0)
            .map_err(|e| VulnError::Feed { path: path.to_path_buf(), what: format!("invalid YAML: {e}") })
    } else {
        crate::json::from_slice(bytes)
            .map_err(|e| VulnError::Feed { path: path.to_path_buf(), what: format!("invalid JSON: {e}") })
    }
}

/// Detects the format of one parsed document (for an array, of its first item): the first
/// format of the `feeds!` table whose detector says yes.
pub fn detect_value(v: &Value) -> Option<Format> {
    match v {
        Value::Array(items) => items.first().and_then(detect_value),
        Value::Object(m) => Format::ALL.iter().copied().find(|f| f.detects(m)),
        _ => None,
    }
}

/// `format:name`, where name is the input's file name, prefixed by its parent directories while
/// those are generic (`osv-golang-vulndb/data/osv`, not `osv`). Re-importing the same input
/// replaces the same source.
fn source_name(format: Format, path: &Path) -> String {
    const GENERIC: &[&str] = &["osv", "data", "vulns", "osv-export", "crates", "json", "input"];
    let comps: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let mut start = comps.len().saturating_sub(1);
    while start > 0 && GENERIC.contains(&comps[start].as_str()) {
        start -= 1;
    }
    let name = if comps.is_empty() { path.display().to_string() } else { comps[start..].join("/") };
    format!("{}:{name}", format.name())
}

/// Loads one input (a file, an OSV `all.zip` or a directory) into one batch per format found,
/// with the default [`Limits`].
pub fn load(path: &Path, forced: Option<Format>) -> Result<Vec<(Format, String, FeedBatch)>> {
    load_with(path, forced, &Limits::default())
}

/// [`load`] with explicit [`Limits`].
pub fn load_with(path: &Path, forced: Option<Format>, limits: &Limits) -> Result<Vec<(Format, String, FeedBatch)>> {
    let mut out = load_unchecked(path, forced, limits)?;
    for (_, _, batch) in &mut out {
        drop_overlong_versions(batch, limits.max_version_len);
    }
    Ok(out)
}

fn load_unchecked(path: &Path, forced: Option<Format>, limits: &Limits) -> Result<Vec<(Format, String, FeedBatch)>> {
    let mut out: Vec<(Format, String, FeedBatch)> = Vec::new();
    let mut add = |format: Format, f: &mut dyn FnMut(&mut FeedBatch)| {
        let name = source_name(format, path);
        if let Some(slot) = out.iter_mut().find(|(fm, _, _)| *fm == format) {
            f(&mut slot.2);
        } else {
            let mut b = FeedBatch::default();
            f(&mut b);
            out.push((format, name, b));
        }
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml" | "zip")))
            .collect();
        files.sort();
        let mut undetected = 0u64;
        for f in files {
            if f.extension().and_then(|e| e.to_str()) == Some("zip") {
                let mut b = FeedBatch::default();
                osv::load_zip(&f, &mut b, limits.max_file_bytes)?;
                add(Format::Osv, &mut |t| merge(t, &b));
                continue;
            }
            let bytes = read_file_max(&f, limits.max_file_bytes)?;
            let Ok(v) = parse_value(&f, &bytes) else {
                undetected += 1;
                continue;
            };
            match forced.or_else(|| detect_value(&v)) {
                Some(fmt) => add(fmt, &mut |b| fmt.parse_doc(&v, &f, b)),
                None => undetected += 1,
            }
        }
        if out.is_empty() {
            return Err(VulnError::UnknownFormat { path: path.to_path_buf(), known: Format::known() });
        }
        if undetected > 0 {
            out[0].2.skipped.insert("files of no known feed format".into(), undetected);
        }
        return Ok(out);
    }
    if path.extension().and_then(|e| e.to_str()) == Some("zip") {
        let mut b = FeedBatch::default();
        osv::load_zip(path, &mut b, limits.max_file_bytes)?;
        return Ok(vec![(Format::Osv, source_name(Format::Osv, path), b)]);
    }
    let bytes = read_file_max(path, limits.max_file_bytes)?;
    let v = parse_value(path, &bytes)?;
    let fmt = forced
        .or_else(|| detect_value(&v))
        .ok_or_else(|| VulnError::UnknownFormat { path: path.to_path_buf(), known: Format::known() })?;
    let mut b = FeedBatch::default();
    fmt.parse_doc(&v, path, &mut b);
    Ok(vec![(fmt, source_name(fmt, path), b)])
}

fn merge(into: &mut FeedBatch, from: &FeedBatch) {
    into.advisories.extend(from.advisories.iter().cloned());
    into.affected.extend(from.affected.iter().cloned());
    for (k, v) in &from.skipped {
        *into.skipped.entry(k.clone()).or_default() += v;
    }
    into.partial.extend(from.partial.iter().map(|(k, v)| (k.clone(), v.clone())));
}

pub(crate) fn s(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::Format;

    /// Every name and alias of the `feeds!` table parses back to its format, no name is two
    /// formats', and an unknown name's error names it and lists the known ones.
    #[test]
    fn the_table_names_each_format_once() {
        let mut seen = std::collections::BTreeSet::new();
        for &f in Format::ALL {
            for n in std::iter::once(f.name()).chain(f.aliases().iter().copied()) {
                assert_eq!(Format::parse(n), Some(f), "{n}");
                assert_eq!(n.parse::<Format>(), Ok(f), "{n}");
                assert!(seen.insert(n), "{n} names two formats");
            }
            assert!(!f.about().is_empty() && !f.about().starts_with(' '), "{f}");
            assert_eq!(f.to_string(), f.name());
        }
        let err = "nope".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown feed format \"nope\" (known: nvd, secdb (alpine, wolfi, chainguard), osv (ghsa), debian (debian-tracker))"
        );
    }
}

//! Feed importers, one file per format, and format auto-detection.
//!
//! Every importer is a pure parser over bytes into a [`FeedBatch`]; unknown fields, ecosystems
//! and severity types are skipped and counted in `FeedBatch::skipped`, never fatal.

pub mod debian;
pub mod nvd;
pub mod osv;
pub mod secdb;

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{Result, VulnError};
use super::model::FeedBatch;

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// OSV JSON/YAML records (GHSA, Go, RustSec, PyPA, ...), a directory or an `all.zip`.
    Osv,
    /// The Debian security tracker JSON export.
    Debian,
    /// NVD CVE JSON 2.0 (API pages or single records).
    Nvd,
    /// Alpine / Wolfi / Chainguard secdb JSON (or YAML).
    Secdb,
}

impl Format {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::Debian => "debian",
            Format::Nvd => "nvd",
            Format::Secdb => "secdb",
        }
    }

    /// Parses a short name.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "osv" | "ghsa" => Format::Osv,
            "debian" | "debian-tracker" => Format::Debian,
            "nvd" => Format::Nvd,
            "secdb" | "alpine" | "wolfi" | "chainguard" => Format::Secdb,
            _ => return None,
        })
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

/// Detects the format of one parsed document.
pub fn detect_value(v: &serde_json::Value) -> Option<Format> {
    use serde_json::Value;
    match v {
        Value::Array(items) => items.first().and_then(detect_value),
        Value::Object(m) => {
            if m.contains_key("vulnerabilities") && m.contains_key("resultsPerPage")
                || m.get("format").and_then(Value::as_str) == Some("NVD_CVE")
                || m.get("cve").is_some_and(Value::is_object)
                || (m.contains_key("sourceIdentifier") && m.contains_key("id"))
            {
                return Some(Format::Nvd);
            }
            if m.contains_key("packages")
                && (m.contains_key("apkurl") || m.contains_key("distroversion") || m.contains_key("reponame"))
            {
                return Some(Format::Secdb);
            }
            if m.contains_key("id")
                && (m.contains_key("affected") || m.contains_key("modified") || m.contains_key("schema_version"))
            {
                return Some(Format::Osv);
            }
            let looks_debian = m.values().take(5).any(|pkg| {
                pkg.as_object()
                    .is_some_and(|cves| cves.values().take(3).any(|c| c.get("releases").is_some_and(Value::is_object)))
            });
            if looks_debian {
                return Some(Format::Debian);
            }
            None
        }
        _ => None,
    }
}

fn parse_doc(path: &Path, format: Format, v: &serde_json::Value, batch: &mut FeedBatch) {
    match format {
        Format::Osv => osv::parse_value(v, batch),
        Format::Debian => debian::parse_value(v, batch),
        Format::Nvd => nvd::parse_value(v, batch),
        Format::Secdb => secdb::parse_value(v, path, batch),
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
                Some(fmt) => add(fmt, &mut |b| parse_doc(&f, fmt, &v, b)),
                None => undetected += 1,
            }
        }
        if out.is_empty() {
            return Err(VulnError::UnknownFormat { path: path.to_path_buf() });
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
    let fmt =
        forced.or_else(|| detect_value(&v)).ok_or_else(|| VulnError::UnknownFormat { path: path.to_path_buf() })?;
    let mut b = FeedBatch::default();
    parse_doc(path, fmt, &v, &mut b);
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

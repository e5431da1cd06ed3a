//! OSV records (schema 1.x; JSON or YAML; GHSA, Go, RustSec, PyPA, Chainguard ...), single,
//! as an array, or as osv.dev's per-ecosystem `all.zip`.

use std::path::Path;

use serde_json::{Map, Value};

use super::s;
use crate::vuln::error::{Result, VulnError};
pub use crate::vuln::model::normalize_name;
use crate::vuln::model::{Advisory, Affected, AffectedData, Cvss, Event, FeedBatch, Range};

/// Whether `m` is an OSV record: an `id` with `affected`, `modified` or `schema_version`.
pub fn detect(m: &Map<String, Value>) -> bool {
    m.contains_key("id") && (m.contains_key("affected") || m.contains_key("modified") || m.contains_key("schema_version"))
}

/// Parses one OSV document (a record or an array of records; `path`: unused).
pub fn parse_value(v: &Value, _path: &Path, batch: &mut FeedBatch) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| parse_record(i, batch)),
        _ => parse_record(v, batch),
    }
}

fn severity_word(v: &Value) -> Option<String> {
    v.get("severity").and_then(Value::as_str).map(str::to_string)
}

/// Parses one OSV record.
pub fn parse_record(v: &Value, batch: &mut FeedBatch) {
    let Some(id) = s(v, "id") else {
        batch.skip("OSV record without id");
        return;
    };
    let aliases: Vec<String> = v
        .get("aliases")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut cvss = Vec::new();
    for sev in v.get("severity").and_then(Value::as_array).into_iter().flatten() {
        match (s(sev, "type"), s(sev, "score")) {
            (Some(kind), Some(score)) if kind.starts_with("CVSS_V") => {
                cvss.push(Cvss { kind, vector: score, source: None })
            }
            (Some(kind), _) => batch.skip(format!("OSV severity type {kind}")),
            _ => batch.skip("OSV severity without type"),
        }
    }
    let summary = s(v, "summary")
        .or_else(|| s(v, "details").map(|d| d.lines().next().unwrap_or("").to_string()))
        .unwrap_or_default();
    let vendor = v.get("database_specific").and_then(severity_word);
    let adv = Advisory {
        id: id.clone(),
        aliases,
        summary,
        vendor_severity: vendor.clone(),
        cvss,
        published: s(v, "published"),
        modified: s(v, "modified"),
        withdrawn: s(v, "withdrawn"),
        urls: v
            .get("references")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|x| s(x, "url")).take(10).collect())
            .unwrap_or_default(),
    };
    for aff in v.get("affected").and_then(Value::as_array).into_iter().flatten() {
        let pkg = aff.get("package");
        let (Some(eco), Some(name)) = (pkg.and_then(|p| s(p, "ecosystem")), pkg.and_then(|p| s(p, "name"))) else {
            batch.skip("OSV affected entry without package");
            continue;
        };
        if crate::version::Scheme::for_ecosystem(&eco).is_none() {
            batch.skip(format!("OSV ecosystem {}", eco.split(':').next().unwrap_or("")));
        }
        let mut ranges = Vec::new();
        for r in aff.get("ranges").and_then(Value::as_array).into_iter().flatten() {
            let kind = s(r, "type").unwrap_or_default();
            if kind != "ECOSYSTEM" && kind != "SEMVER" {
                batch.skip(format!("OSV range type {kind}"));
                continue;
            }
            let mut events = Vec::new();
            for e in r.get("events").and_then(Value::as_array).into_iter().flatten() {
                if let Some(x) = s(e, "introduced") {
                    events.push(Event::Introduced(x));
                } else if let Some(x) = s(e, "fixed") {
                    events.push(Event::Fixed(x));
                } else if let Some(x) = s(e, "last_affected") {
                    events.push(Event::LastAffected(x));
                } else if let Some(x) = s(e, "limit") {
                    events.push(Event::Limit(x));
                } else {
                    batch.skip("OSV event of unknown kind");
                }
            }
            ranges.push(Range { kind, events });
        }
        let versions: Vec<String> = aff
            .get("versions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if ranges.is_empty() && versions.is_empty() {
            batch.skip("OSV affected entry without ECOSYSTEM/SEMVER ranges or versions");
            continue;
        }
        let severity = aff
            .get("ecosystem_specific")
            .and_then(severity_word)
            .or_else(|| aff.get("database_specific").and_then(severity_word))
            .or_else(|| vendor.clone());
        batch.affected.push(Affected {
            vuln_id: id.clone(),
            namespace: eco.clone(),
            package: normalize_name(&eco, &name),
            data: AffectedData::Osv { ranges, versions, severity },
        });
    }
    batch.advisories.push(adv);
}

/// Loads osv.dev's `all.zip` (every entry an OSV JSON record). Entry sizes are bounded.
pub fn load_zip(path: &Path, batch: &mut FeedBatch, max_entry: u64) -> Result<()> {
    let f = crate::fsutil::open_regular(path)?;
    let mut zip = zip::ZipArchive::new(f)
        .map_err(|e| VulnError::Feed { path: path.to_path_buf(), what: format!("invalid zip: {e}") })?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| VulnError::Feed { path: path.to_path_buf(), what: format!("invalid zip entry {i}: {e}") })?;
        if !entry.is_file() || !entry.name().ends_with(".json") {
            continue;
        }
        let what = std::path::PathBuf::from(format!("{}:{}", path.display(), entry.name()));
        let buf = super::read_max(&mut entry, max_entry, &what)?;
        match crate::json::from_slice(&buf) {
            Ok(v) => parse_value(&v, &what, batch),
            Err(_) => batch.skip("zip entry that is not JSON"),
        }
    }
    Ok(())
}

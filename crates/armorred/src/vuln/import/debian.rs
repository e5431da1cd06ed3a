//! The Debian security tracker JSON export:
//! `{source package: {CVE: {description, releases: {release: {status, repositories,
//! fixed_version, urgency, nodsa, nodsa_reason}}}}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use super::s;
use crate::vuln::model::{Advisory, Affected, AffectedData, FeedBatch, DEBIAN_STATUSES};

/// The import summary's count of releases whose status is not one of the tracker's.
pub const UNKNOWN_STATUS: &str =
    "Debian tracker releases with an unknown status (kept, matched with fix state unknown)";

/// Whether `m` has the export's shape: among its first values, a package whose first CVEs
/// have a `releases` object.
pub fn detect(m: &Map<String, Value>) -> bool {
    m.values().take(5).any(|pkg| {
        pkg.as_object().is_some_and(|cves| cves.values().take(3).any(|c| c.get("releases").is_some_and(Value::is_object)))
    })
}

/// Parses the export (or an excerpt in its shape; `path`: unused).
pub fn parse_value(v: &Value, _path: &Path, batch: &mut FeedBatch) {
    let Some(pkgs) = v.as_object() else {
        batch.skip("Debian tracker document that is not an object");
        return;
    };
    let mut seen: BTreeMap<String, Advisory> = BTreeMap::new();
    // Per release: whether any entry is open (a full tracker has unfixed/no-dsa entries).
    let mut open_by_release: BTreeMap<String, bool> = BTreeMap::new();
    for (pkg, cves) in pkgs {
        let Some(cves) = cves.as_object() else {
            batch.skip("Debian tracker package entry that is not an object");
            continue;
        };
        for (cve, entry) in cves {
            let Some(releases) = entry.get("releases").and_then(Value::as_object) else {
                batch.skip("Debian tracker CVE without releases");
                continue;
            };
            seen.entry(cve.clone()).or_insert_with(|| Advisory {
                id: cve.clone(),
                summary: s(entry, "description").unwrap_or_default(),
                ..Advisory::default()
            });
            for (rel, r) in releases {
                let Some(status) = s(r, "status") else {
                    batch.skip("Debian tracker release without status");
                    continue;
                };
                if !DEBIAN_STATUSES.contains(&status.as_str()) {
                    // Kept, and matched with fix state unknown: never read as fixed.
                    batch.skip(UNKNOWN_STATUS);
                }
                let open = open_by_release.entry(rel.clone()).or_default();
                *open |= status == "open";
                batch.affected.push(Affected {
                    vuln_id: cve.clone(),
                    namespace: format!("debian:{rel}"),
                    package: pkg.clone(),
                    data: AffectedData::Debian {
                        status,
                        fixed_version: s(r, "fixed_version"),
                        urgency: s(r, "urgency"),
                        nodsa: s(r, "nodsa"),
                        nodsa_reason: s(r, "nodsa_reason"),
                    },
                });
            }
        }
    }
    let partial: BTreeSet<_> = open_by_release.iter().filter(|(_, open)| !**open).map(|(r, _)| r.clone()).collect();
    for rel in partial {
        batch.partial.insert(
            format!("debian:{rel}"),
            "fixed versions only: no unfixed, no-dsa, ignored or postponed entries (not the full tracker)".into(),
        );
    }
    batch.advisories.extend(seen.into_values());
}

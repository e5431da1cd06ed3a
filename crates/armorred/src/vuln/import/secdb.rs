//! Alpine secdb (`main.json`/`community.json`, or the YAML source) and the Wolfi/Chainguard
//! `security.json` of the same schema: `packages[].pkg.{name, secfixes{version: [ids]}}`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use super::s;
use crate::vuln::model::{Advisory, Affected, AffectedData, FeedBatch};

/// The namespace of a secdb document: `alpine:3.11`, `wolfi` or `chainguard`.
pub fn namespace(v: &Value, path: &Path) -> String {
    let url =
        format!("{} {} {}", s(v, "urlprefix").unwrap_or_default(), s(v, "apkurl").unwrap_or_default(), path.display());
    if url.contains("wolfi") {
        return "wolfi".into();
    }
    if url.contains("chainguard") {
        return "chainguard".into();
    }
    let ver = s(v, "distroversion").unwrap_or_default();
    format!("alpine:{}", ver.trim_start_matches('v'))
}

/// Whether `m` is a secdb document: `packages` with the repository's `apkurl`,
/// `distroversion` or `reponame`.
pub fn detect(m: &Map<String, Value>) -> bool {
    m.contains_key("packages")
        && (m.contains_key("apkurl") || m.contains_key("distroversion") || m.contains_key("reponame"))
}

/// Parses one secdb document (`path` goes into the namespace, see [`namespace`]).
pub fn parse_value(v: &Value, path: &Path, batch: &mut FeedBatch) {
    let ns = namespace(v, path);
    let Some(pkgs) = v.get("packages").and_then(Value::as_array) else {
        batch.skip("secdb document without packages");
        return;
    };
    let mut ids = BTreeSet::new();
    for p in pkgs {
        let pkg = p.get("pkg").unwrap_or(p);
        let Some(name) = s(pkg, "name") else {
            batch.skip("secdb package without name");
            continue;
        };
        let Some(fixes) = pkg.get("secfixes").and_then(Value::as_object) else {
            continue;
        };
        for (ver, list) in fixes {
            for item in list.as_array().into_iter().flatten() {
                let Some(text) = item.as_str() else { continue };
                // Entries look like "CVE-2019-1234", sometimes "CVE-1 CVE-2" or "XSA-1 CVE-2".
                for id in text.split_whitespace() {
                    if !id.contains('-') {
                        batch.skip("secdb id that is not an advisory id");
                        continue;
                    }
                    ids.insert(id.to_string());
                    batch.affected.push(Affected {
                        vuln_id: id.to_string(),
                        namespace: ns.clone(),
                        package: name.clone(),
                        data: AffectedData::Secfix { fixed_version: ver.clone() },
                    });
                }
            }
        }
    }
    batch.advisories.extend(ids.into_iter().map(|id| Advisory { id, ..Advisory::default() }));
}

//! NVD CVE JSON 2.0: API pages (`vulnerabilities[].cve`) or single records, with CPE
//! configurations kept whole for the CPE matcher.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use super::s;
use crate::vuln::cpe::vendor_product;
use crate::vuln::model::{Advisory, Affected, AffectedData, Cvss, FeedBatch};

/// Whether `m` is an NVD 2.0 API page, a `{cve: ...}` wrapper or a bare CVE record.
pub fn detect(m: &Map<String, Value>) -> bool {
    m.contains_key("vulnerabilities") && m.contains_key("resultsPerPage")
        || m.get("format").and_then(Value::as_str) == Some("NVD_CVE")
        || m.get("cve").is_some_and(Value::is_object)
        || (m.contains_key("sourceIdentifier") && m.contains_key("id"))
}

/// Parses a page, a `{cve: ...}` wrapper, a bare CVE object or an array of these (`path`:
/// unused).
pub fn parse_value(v: &Value, _path: &Path, batch: &mut FeedBatch) {
    parse_doc(v, batch)
}

fn parse_doc(v: &Value, batch: &mut FeedBatch) {
    if let Some(items) = v.get("vulnerabilities").and_then(Value::as_array) {
        for item in items {
            match item.get("cve") {
                Some(cve) => parse_cve(cve, batch),
                None => batch.skip("NVD vulnerability without cve"),
            }
        }
    } else if let Some(cve) = v.get("cve").filter(|c| c.is_object()) {
        parse_cve(cve, batch);
    } else if let Some(items) = v.as_array() {
        items.iter().for_each(|i| parse_doc(i, batch));
    } else {
        parse_cve(v, batch);
    }
}

fn parse_cve(cve: &Value, batch: &mut FeedBatch) {
    let Some(id) = s(cve, "id") else {
        batch.skip("NVD CVE without id");
        return;
    };
    if s(cve, "vulnStatus").as_deref() == Some("Rejected") {
        batch.skip("NVD rejected CVE");
        return;
    }
    let summary = cve
        .get("descriptions")
        .and_then(Value::as_array)
        .and_then(|d| d.iter().find(|x| s(x, "lang").as_deref() == Some("en")))
        .and_then(|x| s(x, "value"))
        .unwrap_or_default();
    let mut cvss = Vec::new();
    if let Some(metrics) = cve.get("metrics").and_then(Value::as_object) {
        for (kind, list) in metrics {
            let k = match kind.as_str() {
                "cvssMetricV40" => "CVSS_V4",
                "cvssMetricV31" | "cvssMetricV30" => "CVSS_V3",
                "cvssMetricV2" => "CVSS_V2",
                other => {
                    batch.skip(format!("NVD metric type {other}"));
                    continue;
                }
            };
            for m in list.as_array().into_iter().flatten() {
                if let Some(vec) = m.get("cvssData").and_then(|d| s(d, "vectorString")) {
                    cvss.push(Cvss { kind: k.into(), vector: vec, source: s(m, "type") });
                }
            }
        }
    }
    let adv = Advisory {
        id: id.clone(),
        aliases: Vec::new(),
        summary,
        vendor_severity: None,
        cvss,
        published: s(cve, "published"),
        modified: s(cve, "lastModified"),
        withdrawn: None,
        urls: cve
            .get("references")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|x| s(x, "url")).take(10).collect())
            .unwrap_or_default(),
    };
    if let Some(configs) = cve.get("configurations").filter(|c| c.is_array()) {
        let mut products = BTreeSet::new();
        let mut walk = vec![configs];
        while let Some(node) = walk.pop() {
            match node {
                Value::Array(a) => walk.extend(a.iter()),
                Value::Object(m) => {
                    if let Some(crit) = m.get("criteria").and_then(Value::as_str) {
                        if m.get("vulnerable").and_then(Value::as_bool) == Some(true) {
                            match vendor_product(crit) {
                                Some(vp) => {
                                    products.insert(vp);
                                }
                                None => batch.skip("NVD criteria that is not a CPE 2.3 name"),
                            }
                        }
                    }
                    walk.extend(m.values());
                }
                _ => {}
            }
        }
        for vp in products {
            batch.affected.push(Affected {
                vuln_id: id.clone(),
                namespace: "cpe".into(),
                package: vp,
                data: AffectedData::Cpe { configurations: configs.clone() },
            });
        }
    }
    batch.advisories.push(adv);
}

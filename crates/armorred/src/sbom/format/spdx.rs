//! SPDX 2.3 JSON: one package for the image (or directory), one per catalogued package,
//! `DESCRIBES`, `CONTAINS` and `DEPENDS_ON` relationships, purls and CPEs as external refs.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{iso_timestamp, serial_uuid, Timestamp, TOOL_NAME, TOOL_VERSION};
use crate::sbom::catalog::PackageType;
use crate::sbom::dependency_graph;
use crate::sbom::model::{Package, Sbom};

/// An SPDX id made of allowed characters (`[A-Za-z0-9.-]`), unique through a hash suffix.
fn spdx_id(prefix: &str, p: &Package) -> String {
    let clean: String = format!("{}-{}", p.kind, p.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect();
    let hash = format!("{:x}", Sha256::digest(p.id.as_bytes()));
    format!("SPDXRef-{prefix}-{clean}-{}", &hash[..16])
}

/// A license name as an SPDX license reference, as syft writes it: the SPDX id syft knows for
/// it, an SPDX expression in parentheses when there are others, else `LicenseRef-NAME` (the
/// characters SPDX does not allow in an id replaced by `-`).
fn license_ref(l: &str, alone: bool) -> (String, bool) {
    if let Some(id) = super::spdx_ids::syft_id(l) {
        return (id.to_string(), false);
    }
    if super::cyclonedx::license_value(l).get("expression").is_some() {
        return (if alone { l.to_string() } else { format!("({l})") }, false);
    }
    let clean: String =
        l.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    (format!("LicenseRef-{clean}"), true)
}

/// `licenseDeclared` as syft writes it: every license, in sorted order, joined with `AND`
/// (`NOASSERTION` without any); and the `LicenseRef-`s it made, with their names.
fn license_field(p: &Package) -> (String, Vec<(String, String)>) {
    if p.licenses.is_empty() {
        return ("NOASSERTION".into(), Vec::new());
    }
    let mut names = p.licenses.clone();
    names.sort();
    let mut refs = Vec::new();
    let parts: Vec<String> = names
        .iter()
        .map(|l| {
            let (r, is_ref) = license_ref(l, names.len() == 1);
            if is_ref {
                refs.push((r.clone(), l.clone()));
            }
            r
        })
        .collect();
    (parts.join(" AND "), refs)
}

/// Encodes an SBOM as an SPDX 2.3 JSON value.
pub fn to_value(sbom: &Sbom, timestamp: &Timestamp) -> Value {
    let uuid = serial_uuid(sbom);
    let name = sbom.source.name.clone();
    let created = iso_timestamp(sbom, timestamp).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let root_id = "SPDXRef-DocumentRoot".to_string();
    let mut root = Map::new();
    root.insert("name".into(), json!(name));
    root.insert("SPDXID".into(), json!(root_id));
    if let Some(d) = &sbom.source.digest {
        root.insert("versionInfo".into(), json!(d));
    }
    root.insert("supplier".into(), json!("NOASSERTION"));
    root.insert("downloadLocation".into(), json!("NOASSERTION"));
    root.insert("filesAnalyzed".into(), json!(false));
    root.insert("licenseConcluded".into(), json!("NOASSERTION"));
    root.insert("licenseDeclared".into(), json!("NOASSERTION"));
    root.insert("copyrightText".into(), json!("NOASSERTION"));
    root.insert("primaryPackagePurpose".into(), json!(if sbom.source.kind == "image" { "CONTAINER" } else { "FILE" }));
    let mut packages = vec![Value::Object(root)];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relatedSpdxElement": root_id,
        "relationshipType": "DESCRIBES"
    })];
    let mut ids = std::collections::BTreeMap::new();
    let mut extracted = std::collections::BTreeMap::new();
    for p in &sbom.packages {
        let id = spdx_id("Package", p);
        ids.insert(p.id.clone(), id.clone());
        let mut o = Map::new();
        o.insert("name".into(), json!(p.name));
        o.insert("SPDXID".into(), json!(id));
        o.insert("versionInfo".into(), json!(p.version));
        o.insert(
            "supplier".into(),
            json!(match p.metadata.get("maintainer") {
                Some(m) => format!("Person: {}", m.replace('\n', " ")),
                None => "NOASSERTION".into(),
            }),
        );
        o.insert("downloadLocation".into(), json!("NOASSERTION"));
        o.insert("filesAnalyzed".into(), json!(false));
        if !p.hashes.is_empty() {
            let sums: Vec<Value> = p
                .hashes
                .iter()
                .map(|(alg, h)| json!({"algorithm": alg.replace('-', ""), "checksumValue": h}))
                .collect();
            o.insert("checksums".into(), Value::Array(sums));
        }
        if let Some(s) = &p.source_package {
            o.insert(
                "sourceInfo".into(),
                json!(format!(
                    "built from source package {}{}",
                    s.name,
                    s.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default()
                )),
            );
        } else if let Some(l) = p.locations.first() {
            o.insert("sourceInfo".into(), json!(format!("found by {} in {}", p.found_by, l.path)));
        }
        o.insert("licenseConcluded".into(), json!("NOASSERTION"));
        let (declared, refs) = license_field(p);
        o.insert("licenseDeclared".into(), json!(declared));
        extracted.extend(refs);
        o.insert("copyrightText".into(), json!("NOASSERTION"));
        let mut refs = Vec::new();
        for cpe in &p.cpes {
            refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe}));
        }
        if let Some(purl) = &p.purl {
            refs.push(
                json!({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}),
            );
        }
        if !refs.is_empty() {
            o.insert("externalRefs".into(), Value::Array(refs));
        }
        o.insert(
            "primaryPackagePurpose".into(),
            json!(if p.kind == PackageType::Binary.as_str() { "APPLICATION" } else { "LIBRARY" }),
        );
        packages.push(Value::Object(o));
        relationships.push(json!({
            "spdxElementId": root_id,
            "relatedSpdxElement": id,
            "relationshipType": "CONTAINS"
        }));
    }
    for (from, deps) in dependency_graph(sbom) {
        let Some(from) = ids.get(&from) else { continue };
        for d in deps {
            if let Some(to) = ids.get(&d) {
                relationships.push(json!({
                    "spdxElementId": from,
                    "relatedSpdxElement": to,
                    "relationshipType": "DEPENDS_ON"
                }));
            }
        }
    }
    let safe_name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '-' }).collect();
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://github.com/armorred/armorred/spdx/{safe_name}-{uuid}"),
        "creationInfo": {
            "licenseListVersion": "3.25",
            "creators": [format!("Organization: ARMORRED"), format!("Tool: {TOOL_NAME}-{TOOL_VERSION}")],
            "created": created
        },
        "packages": packages,
        "relationships": relationships
    });
    if !extracted.is_empty() {
        let infos: Vec<Value> =
            extracted.iter().map(|(id, name)| json!({"licenseId": id, "extractedText": name})).collect();
        doc["hasExtractedLicensingInfos"] = Value::Array(infos);
    }
    doc
}

/// Writes pretty JSON with a final newline.
pub fn write(sbom: &Sbom, timestamp: &Timestamp, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(sbom, timestamp))?;
    out.write_all(b"\n")
}

//! grype's JSON document, shaped as grype's presenter models define it (`anchore/grype`,
//! `grype/presenter/models`: `Document`, `Match`, `Package`, `Vulnerability`,
//! `VulnerabilityMetadata`, `source`, `distribution`, `descriptor`): top-level `matches`,
//! `ignoredMatches` (when any), `source`, `distro` and `descriptor`; each match's
//! `vulnerability`, `relatedVulnerabilities`, `matchDetails` and `artifact`.
//!
//! What grype has no field for is kept under names it does not use: top-level `summary`
//! (counts per severity) and `notes`, `vulnerability.severitySource`, and in the descriptor's
//! `db` (grype's is free-form) the DB's `sha256`, `built` time and `sources`.
//!
//! [`render`] writes it; [`parse`]/[`read`] read it back leniently (ours or grype's own
//! `grype -o json`) into the findings a comparison needs ([`ReadFinding`]).

use std::path::Path;

use serde_json::{json, Map, Value};

use super::{cvss_version, ReportMeta, ScanSource};
use crate::sbom::catalog::{language, metadata_type};
use crate::vuln::error::VulnError;
use crate::vuln::model::{Cvss, FixState, Match, Severity};
use crate::vuln::scan::{ScanPackage, ScanResult};
use crate::vuln::severity::base_score;

/// grype's `Cvss`: `version`, `vector`, `metrics.baseScore` (0 for a vector we cannot score),
/// `vendorMetadata`; `source` and `type` (who scored it) when known, as grype writes them too.
fn cvss(list: &[Cvss]) -> Value {
    Value::Array(
        list.iter()
            .map(|c| {
                let mut o = Map::new();
                if let Some(s) = &c.source {
                    o.insert("source".into(), json!(s));
                    o.insert("type".into(), json!(s));
                }
                o.insert("version".into(), json!(cvss_version(c)));
                o.insert("vector".into(), json!(c.vector));
                let score = base_score(&c.vector).or_else(|| cvss2_base_score(&c.vector)).unwrap_or(0.0);
                o.insert("metrics".into(), json!({"baseScore": score}));
                o.insert("vendorMetadata".into(), json!({}));
                Value::Object(o)
            })
            .collect(),
    )
}

/// The base score of a CVSS v2 vector (`AV:N/AC:M/Au:N/C:P/I:P/A:P` is 6.8), which grype
/// reports too; `None` for anything else.
fn cvss2_base_score(vector: &str) -> Option<f64> {
    let mut m = std::collections::BTreeMap::new();
    for part in vector.split('/') {
        let (k, v) = part.split_once(':')?;
        m.insert(k, v);
    }
    let pick = |k: &str, table: &[(&str, f64)]| table.iter().find(|(n, _)| Some(n) == m.get(k)).map(|(_, w)| *w);
    let cia = [("N", 0.0), ("P", 0.275), ("C", 0.660)];
    let av = pick("AV", &[("L", 0.395), ("A", 0.646), ("N", 1.0)])?;
    let ac = pick("AC", &[("H", 0.35), ("M", 0.61), ("L", 0.71)])?;
    let au = pick("Au", &[("M", 0.45), ("S", 0.56), ("N", 0.704)])?;
    let (c, i, a) = (pick("C", &cia)?, pick("I", &cia)?, pick("A", &cia)?);
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    Some((((0.6 * impact) + (0.4 * exploitability) - 1.5) * f * 10.0).round() / 10.0)
}

/// Where a vulnerability record comes from, as grype's `dataSource` names it: the record's page
/// at its source (Debian's tracker, NVD, GitHub's advisories, OSV), else its first URL.
pub(crate) fn data_source(id: &str, namespace: &str, urls: &[String]) -> String {
    let ns = namespace.to_ascii_lowercase();
    if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else if ns.starts_with("debian") {
        format!("https://security-tracker.debian.org/tracker/{id}")
    } else if id.starts_with("CVE-") && (ns.starts_with("nvd") || ns == "cpe") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else if let Some(u) = urls.first() {
        u.clone()
    } else if matches!(
        namespace,
        "PyPI" | "Go" | "crates.io" | "npm" | "Maven" | "RubyGems" | "NuGet" | "Packagist" | "osv"
    ) {
        format!("https://osv.dev/vulnerability/{id}")
    } else if id.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else {
        String::new()
    }
}

/// dpkg and apk metadata fields that syft's models hold as numbers.
const NUMERIC_METADATA: [&str; 2] = ["installedSize", "size"];

/// grype's `Package`: the package as the SBOM describes it.
fn artifact(a: &ScanPackage) -> Value {
    let mut upstreams = Vec::new();
    if let Some(src) = a.source_name.as_deref().filter(|s| *s != a.name) {
        let mut u = Map::new();
        u.insert("name".into(), json!(src));
        if let Some(v) = a.source_version.as_deref().filter(|v| !v.is_empty()) {
            u.insert("version".into(), json!(v));
        }
        upstreams.push(Value::Object(u));
    }
    let locations: Vec<Value> = a
        .facts
        .locations
        .iter()
        .map(|l| {
            let mut o = Map::new();
            o.insert("path".into(), json!(l.path));
            if let Some(layer) = &l.layer_id {
                o.insert("layerID".into(), json!(layer));
            }
            o.insert("accessPath".into(), json!(l.path));
            Value::Object(o)
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("id".into(), json!(a.facts.id));
    doc.insert("name".into(), json!(a.name));
    doc.insert("version".into(), json!(a.version));
    doc.insert("type".into(), json!(a.kind()));
    doc.insert("locations".into(), Value::Array(locations));
    doc.insert("language".into(), json!(language(a.kind())));
    doc.insert("licenses".into(), json!(a.facts.licenses));
    doc.insert("cpes".into(), json!(a.cpes));
    doc.insert("purl".into(), json!(a.purl.as_deref().unwrap_or("")));
    doc.insert("upstreams".into(), Value::Array(upstreams));
    if let Some(t) = metadata_type(&a.facts.found_by) {
        doc.insert("metadataType".into(), json!(t));
    }
    if !a.facts.metadata.is_empty() {
        let metadata: Map<String, Value> = a
            .facts
            .metadata
            .iter()
            .map(|(k, v)| {
                let number = NUMERIC_METADATA.contains(&k.as_str()).then(|| v.parse::<u64>().ok()).flatten();
                (k.clone(), number.map_or_else(|| json!(v), |n| json!(n)))
            })
            .collect();
        doc.insert("metadata".into(), Value::Object(metadata));
    }
    Value::Object(doc)
}

/// One match as grype writes it.
pub fn match_value(m: &Match) -> Value {
    let v = &m.vulnerability;
    json!({
        "vulnerability": {
            "id": v.id,
            "dataSource": data_source(&v.id, &v.namespace, &v.urls),
            "namespace": v.namespace,
            "severity": v.severity.as_str(),
            "urls": v.urls,
            "description": v.description,
            "cvss": cvss(&v.cvss),
            "fix": {"versions": v.fix_versions, "state": v.fix_state.as_str()},
            "advisories": [],
            "severitySource": v.severity_source,
        },
        "relatedVulnerabilities": m.related.iter().map(|r| json!({
            "id": r.id,
            "dataSource": data_source(&r.id, &r.namespace, &[]),
            "namespace": r.namespace,
            "severity": r.severity.as_str(),
            "urls": [],
            "description": r.description,
            "cvss": cvss(&r.cvss),
        })).collect::<Vec<_>>(),
        "matchDetails": m.details.iter().map(|d| json!({
            "type": d.kind,
            "matcher": d.matcher,
            "searchedBy": d.searched_by,
            "found": d.found,
        })).collect::<Vec<_>>(),
        "artifact": artifact(&m.artifact),
    })
}

/// Bytes as Go's `encoding/json` writes a `[]byte`: standard base64, padded.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// grype's `source`: `{type, target}`, the target an image's metadata or a path.
fn source(meta: &ReportMeta) -> Value {
    let derived;
    let src = match &meta.source {
        Some(s) => s,
        None => {
            derived = ScanSource::of_reference(&meta.target);
            &derived
        }
    };
    match src {
        ScanSource::Image(i) => json!({
            "type": "image",
            "target": {
                "userInput": i.user_input,
                "imageID": i.image_id,
                "manifestDigest": i.manifest_digest,
                "mediaType": i.media_type,
                "tags": i.tags,
                "imageSize": i.layers.iter().map(|l| l.size).sum::<u64>(),
                "layers": i.layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
                "manifest": i.manifest.as_deref().map(base64),
                "config": i.config.as_deref().map(base64),
                "repoDigests": i.repo_digests,
                "architecture": i.architecture,
                "os": i.os,
            },
        }),
        ScanSource::Directory(p) => json!({"type": "directory", "target": p}),
        ScanSource::SbomFile(p) => json!({"type": "sbom-file", "target": p}),
        ScanSource::File(p) => json!({"type": "file", "target": p}),
        ScanSource::Unknown => json!({"type": "unknown", "target": "unknown"}),
    }
}

/// grype's `distribution`: `{name, version, idLike}` (empty when unknown).
fn distro(meta: &ReportMeta) -> Value {
    match &meta.distro {
        Some(d) => json!({"name": d.id, "version": d.version_id.as_deref().unwrap_or(""), "idLike": d.id_like}),
        None => json!({"name": "", "version": "", "idLike": []}),
    }
}

/// Renders the document.
pub fn render(r: &ScanResult, meta: &ReportMeta) -> Value {
    let mut doc = Map::new();
    doc.insert("matches".into(), r.matches.iter().map(match_value).collect());
    if !r.ignored.is_empty() {
        let ignored = r
            .ignored
            .iter()
            .map(|i| {
                let mut v = match_value(&i.finding);
                v["appliedIgnoreRules"] = json!([{"reason": i.reason}]);
                v
            })
            .collect();
        doc.insert("ignoredMatches".into(), ignored);
    }
    doc.insert("source".into(), source(meta));
    doc.insert("distro".into(), distro(meta));
    doc.insert(
        "descriptor".into(),
        json!({
            "name": "armorred",
            "version": meta.tool_version,
            "db": {
                "sha256": r.db_sha256,
                "built": r.db_built,
                "sources": r.db_sources.iter().map(|(n, d)| json!({"name": n, "newest": d})).collect::<Vec<_>>(),
            },
            "timestamp": meta.timestamp,
        }),
    );
    doc.insert(
        "summary".into(),
        Value::Object(r.counts().iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect()),
    );
    doc.insert("notes".into(), json!(r.notes));
    Value::Object(doc)
}

/// One finding read back from a grype-shaped JSON document: what a comparison needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFinding {
    /// The vulnerability ID (`vulnerability.id`).
    pub id: String,
    /// The IDs of `relatedVulnerabilities` (aliases), without `id` itself.
    pub related: Vec<String>,
    /// `vulnerability.severity`; Unknown for a missing or unknown word.
    pub severity: Severity,
    /// `artifact.name`.
    pub package: String,
    /// `artifact.version`.
    pub version: String,
    /// `artifact.type` (`deb`, `binary`, `python`, ...), empty when absent.
    pub kind: String,
    /// `artifact.purl`, when given and not empty.
    pub purl: Option<String>,
    /// `vulnerability.fix.state`; Unknown for a missing, empty or unknown state.
    pub fix_state: FixState,
    /// `vulnerability.fix.versions`.
    pub fix_versions: Vec<String>,
}

/// A grype-shaped JSON document read back: its findings and what it says about its DB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadScan {
    /// One entry per `matches[]` element (ignored matches are not findings), in document order.
    pub findings: Vec<ReadFinding>,
    /// `sha256:<hex>` of the DB, when the descriptor names one (ours: `descriptor.db.sha256`;
    /// grype 0.x with schema v5: `descriptor.db.checksum`).
    pub db_digest: Option<String>,
    /// `descriptor.name` and `descriptor.version` (`grype 0.87.0`, `armorred 0.1.0`), when given.
    pub tool: Option<String>,
    /// Matches skipped because they had no vulnerability ID or no artifact name.
    pub skipped: usize,
}

/// Reads a grype JSON document (`grype -o json`, `armorred scan -o json`) from `path`.
pub fn read(path: &Path) -> Result<ReadScan, VulnError> {
    let bytes = crate::vuln::import::read_file(path)?;
    parse(&bytes, path)
}

/// Parses a grype JSON document leniently: unknown fields are ignored, unknown severity words
/// and fix states become Unknown, matches without an ID or package are skipped and counted.
/// Only a document that is not JSON, or has no `matches` array, is an error. `origin` names the
/// input in errors.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<ReadScan, VulnError> {
    let bad = |what: String| VulnError::Input { path: origin.to_path_buf(), what };
    let doc: Value = crate::json::from_slice(bytes).map_err(|e| bad(format!("not a grype JSON scan result: {e}")))?;
    let matches = doc
        .get("matches")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("not a grype JSON scan result: no \"matches\" array".into()))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut findings = Vec::with_capacity(matches.len());
    let mut skipped = 0;
    for m in matches {
        let vuln = m.get("vulnerability");
        let artifact = m.get("artifact");
        let id = text(vuln.and_then(|v| v.get("id")));
        let package = text(artifact.and_then(|a| a.get("name")));
        if id.is_empty() || package.is_empty() {
            skipped += 1;
            continue;
        }
        let mut related: Vec<String> = Vec::new();
        for r in m.get("relatedVulnerabilities").and_then(Value::as_array).into_iter().flatten() {
            let r = text(r.get("id"));
            if !r.is_empty() && r != id && !related.contains(&r) {
                related.push(r);
            }
        }
        let fix = vuln.and_then(|v| v.get("fix"));
        findings.push(ReadFinding {
            severity: vuln
                .and_then(|v| v.get("severity"))
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .unwrap_or(Severity::Unknown),
            fix_state: fix
                .and_then(|f| f.get("state"))
                .and_then(Value::as_str)
                .and_then(FixState::parse)
                .unwrap_or(FixState::Unknown),
            fix_versions: strings(fix.and_then(|f| f.get("versions"))),
            version: text(artifact.and_then(|a| a.get("version"))),
            kind: text(artifact.and_then(|a| a.get("type"))),
            purl: Some(text(artifact.and_then(|a| a.get("purl")))).filter(|p| !p.is_empty()),
            id,
            related,
            package,
        });
    }
    let descriptor = doc.get("descriptor");
    let db = descriptor.and_then(|d| d.get("db"));
    let db_digest = [
        db.and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .map(|h| format!("sha256:{}", h.trim_start_matches("sha256:"))),
        db.and_then(|d| d.get("checksum"))
            .and_then(Value::as_str)
            .filter(|c| c.starts_with("sha256:"))
            .map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.len() > "sha256:".len());
    let tool = descriptor.and_then(|d| d.get("name")).and_then(Value::as_str).map(|name| {
        match descriptor.and_then(|d| d.get("version")).and_then(Value::as_str) {
            Some(v) => format!("{name} {v}"),
            None => name.to_owned(),
        }
    });
    Ok(ReadScan { findings, db_digest, tool, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::model::{FactLocation, PackageFacts};
    use crate::vuln::scan::{Distro, MatchDetail, Related, VulnInfo};

    fn meta() -> ReportMeta {
        ReportMeta {
            target: "sbom:bom.json".into(),
            timestamp: "2025-01-01T00:00:00Z".into(),
            tool_version: "0.1.0".into(),
            ..ReportMeta::default()
        }
    }

    fn found(
        id: &str,
        related: &[&str],
        severity: Severity,
        fix: FixState,
        versions: &[&str],
        pkg: ScanPackage,
    ) -> Match {
        Match {
            vulnerability: std::sync::Arc::new(VulnInfo {
                id: id.into(),
                namespace: "debian:distro:debian:13".into(),
                severity,
                severity_source: "vendor".into(),
                cvss_score: None,
                cvss: vec![Cvss {
                    kind: "CVSS_V3".into(),
                    vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N".into(),
                    source: None,
                }],
                description: "text".into(),
                fix_state: fix,
                fix_versions: versions.iter().map(|v| (*v).to_owned()).collect(),
                urls: vec![],
            }),
            related: std::sync::Arc::new(
                related
                    .iter()
                    .map(|r| Related {
                        id: (*r).into(),
                        namespace: "nvd:cpe".into(),
                        severity,
                        cvss: vec![],
                        description: String::new(),
                    })
                    .collect(),
            ),
            artifact: std::sync::Arc::new(pkg),
            details: std::sync::Arc::new(vec![MatchDetail {
                kind: "exact-indirect-match".into(),
                matcher: "dpkg-matcher".into(),
                searched_by: json!({}),
                found: json!({}),
            }]),
        }
    }

    fn deb(name: &str, version: &str) -> ScanPackage {
        ScanPackage {
            name: name.into(),
            version: version.into(),
            purl: Some(format!("pkg:deb/debian/{name}@{version}?distro=debian-13")),
            cpes: vec![],
            source_name: Some("nginx".into()),
            source_version: Some(version.into()),
            distro: Some(Distro { id: "debian".into(), version_id: "13".into(), codename: Some("trixie".into()) }),
            ..ScanPackage::default()
        }
    }

    /// A small scan result: two Debian packages (one with what an SBOM says of it), a binary,
    /// an ignored match.
    fn fixture() -> ScanResult {
        let binary = ScanPackage { name: "/usr/bin/curl".into(), version: "8.14.1".into(), ..ScanPackage::default() };
        let mut nginx = deb("nginx", "1.26.3-3");
        nginx.facts = PackageFacts {
            id: "pkg:deb/debian/nginx@1.26.3-3?distro=debian-13&package-id=0123456789abcdef".into(),
            found_by: "dpkg-db-cataloger".into(),
            locations: vec![FactLocation {
                path: "/var/lib/dpkg/status.d/nginx".into(),
                layer_id: Some(format!("sha256:{}", "cd".repeat(32))),
            }],
            licenses: vec!["BSD-2-Clause".into()],
            metadata: [("architecture", "amd64"), ("installedSize", "1556")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        nginx.source_name = Some("nginx-src".into());
        ScanResult {
            matches: vec![
                found(
                    "CVE-2025-53859",
                    &["CVE-2025-53859"],
                    Severity::Low,
                    FixState::Fixed,
                    &["1.26.3-3+deb13u1"],
                    nginx.clone(),
                ),
                found(
                    "GHSA-xxxx-yyyy-zzzz",
                    &["CVE-2025-0001", "CVE-2025-0002"],
                    Severity::Critical,
                    FixState::NotFixed,
                    &[],
                    deb("libssl3t64", "3.5.1-1"),
                ),
                found("CVE-2025-0003", &[], Severity::Negligible, FixState::WontFix, &[], binary),
            ],
            ignored: vec![crate::vuln::scan::IgnoredMatch {
                finding: found("CVE-2025-9999", &[], Severity::High, FixState::Unknown, &[], nginx),
                reason: "vex".into(),
            }],
            db_sha256: "ab".repeat(32),
            db_built: Some("2025-01-01T00:00:00Z".into()),
            db_sources: vec![("debian-security-tracker".into(), Some("2025-01-01".into()))],
            notes: vec!["a note".into()],
            packages: 3,
            stats: Default::default(),
        }
    }

    /// A manifest and a config, as bytes, and their digests.
    fn image_bytes() -> ((Vec<u8>, String), (Vec<u8>, String)) {
        use sha2::{Digest, Sha256};
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"]}}"#.to_vec();
        let config_digest = format!("sha256:{:x}", Sha256::digest(&config));
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
            config.len()
        )
        .into_bytes();
        let manifest_digest = format!("sha256:{:x}", Sha256::digest(&manifest));
        ((manifest, manifest_digest), (config, config_digest))
    }

    /// What an image scan's report says of its source and distribution.
    fn image_meta() -> ReportMeta {
        let ((manifest, manifest_digest), (config, config_digest)) = image_bytes();
        ReportMeta {
            target: "registry:127.0.0.1:5000/nginx:1".into(),
            source: Some(ScanSource::Image(Box::new(super::super::ImageSource {
                user_input: "127.0.0.1:5000/nginx:1".into(),
                image_id: config_digest,
                manifest_digest: manifest_digest.clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                tags: vec![],
                layers: vec![super::super::ImageLayer {
                    media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    digest: format!("sha256:{}", "cd".repeat(32)),
                    size: 4096,
                }],
                manifest: Some(manifest),
                config: Some(config),
                repo_digests: vec![format!("127.0.0.1:5000/nginx@{manifest_digest}")],
                architecture: "amd64".into(),
                os: "linux".into(),
            }))),
            distro: Some(crate::sbom::Distro {
                id: "debian".into(),
                version_id: Some("13".into()),
                codename: Some("trixie".into()),
                ..Default::default()
            }),
            ..meta()
        }
    }

    #[test]
    fn cvss2_scores() {
        assert_eq!(cvss2_base_score("AV:N/AC:M/Au:N/C:P/I:P/A:P"), Some(6.8));
        assert_eq!(cvss2_base_score("AV:N/AC:L/Au:N/C:C/I:C/A:C"), Some(10.0));
        assert_eq!(cvss2_base_score("AV:N/AC:L/Au:N/C:N/I:N/A:N"), Some(0.0));
        assert_eq!(cvss2_base_score("CVSS:3.1/AV:N"), None);
    }

    /// Our document, byte for byte.
    #[test]
    fn golden() {
        insta::assert_snapshot!(
            "scan-json",
            super::super::render(&fixture(), super::super::Format::Json, &image_meta())
        );
    }

    /// A JSON type, as a Go struct field's type maps to one.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum T {
        Str,
        Num,
        Arr,
        Obj,
        /// `interface{}` / `any`: any JSON value.
        Any,
    }

    /// (JSON name from the struct tag, type, whether `omitempty` lets it be absent).
    type Keys = &'static [(&'static str, T, bool)];

    // grype/presenter/models, the JSON names of the struct tags as the source defines them.
    /// `Document`.
    const DOCUMENT: Keys = &[
        ("matches", T::Arr, false),
        ("ignoredMatches", T::Arr, true),
        ("source", T::Obj, false),
        ("distro", T::Obj, false),
        ("descriptor", T::Obj, false),
    ];
    /// `Match`.
    const MATCH: Keys = &[
        ("vulnerability", T::Obj, false),
        ("relatedVulnerabilities", T::Arr, false),
        ("matchDetails", T::Arr, false),
        ("artifact", T::Obj, false),
    ];
    /// `IgnoredMatch` (a `Match` and its rules).
    const IGNORED: Keys = &[("appliedIgnoreRules", T::Arr, false)];
    /// `MatchDetails`.
    const MATCH_DETAILS: Keys =
        &[("type", T::Str, false), ("matcher", T::Str, false), ("searchedBy", T::Any, false), ("found", T::Any, false)];
    /// `VulnerabilityMetadata`.
    const VULNERABILITY_METADATA: Keys = &[
        ("id", T::Str, false),
        ("dataSource", T::Str, false),
        ("namespace", T::Str, true),
        ("severity", T::Str, true),
        ("urls", T::Arr, true),
        ("description", T::Str, true),
        ("cvss", T::Arr, true),
    ];
    /// `Vulnerability` (beside its `VulnerabilityMetadata`). `risk` (a score from EPSS and
    /// known-exploited data, which the DB does not hold) is the one field we leave out.
    const VULNERABILITY: Keys = &[("fix", T::Obj, false), ("advisories", T::Arr, false), ("risk", T::Num, false)];
    const LEFT_OUT: [&str; 1] = ["risk"];
    /// `Fix`.
    const FIX: Keys = &[("versions", T::Arr, false), ("state", T::Str, false)];
    /// `Cvss`.
    const CVSS: Keys = &[
        ("version", T::Str, false),
        ("vector", T::Str, false),
        ("metrics", T::Obj, false),
        ("vendorMetadata", T::Any, false),
    ];
    /// `CvssMetrics`.
    const CVSS_METRICS: Keys =
        &[("baseScore", T::Num, false), ("exploitabilityScore", T::Num, true), ("impactScore", T::Num, true)];
    /// `Package`.
    const PACKAGE: Keys = &[
        ("id", T::Str, false),
        ("name", T::Str, false),
        ("version", T::Str, false),
        ("type", T::Str, false),
        ("locations", T::Arr, false),
        ("language", T::Str, false),
        ("licenses", T::Arr, false),
        ("cpes", T::Arr, false),
        ("purl", T::Str, false),
        ("upstreams", T::Arr, false),
        ("metadataType", T::Str, true),
        ("metadata", T::Any, true),
        ("annotations", T::Obj, true),
    ];
    /// `UpstreamPackage`.
    const UPSTREAM: Keys = &[("name", T::Str, false), ("version", T::Str, true)];
    /// syft's `file.Location` (`Coordinates` inlined).
    const LOCATION: Keys = &[
        ("path", T::Str, false),
        ("layerID", T::Str, true),
        ("accessPath", T::Str, false),
        ("annotations", T::Obj, true),
    ];
    /// `source`.
    const SOURCE: Keys = &[("type", T::Str, false), ("target", T::Any, false)];
    /// syft's `source.ImageMetadata` (the target of an image source).
    const IMAGE: Keys = &[
        ("userInput", T::Str, false),
        ("imageID", T::Str, false),
        ("manifestDigest", T::Str, false),
        ("mediaType", T::Str, false),
        ("tags", T::Arr, false),
        ("imageSize", T::Num, false),
        ("layers", T::Arr, false),
        ("manifest", T::Any, false),
        ("config", T::Any, false),
        ("repoDigests", T::Arr, false),
        ("architecture", T::Str, false),
        ("architectureVariant", T::Str, true),
        ("os", T::Str, false),
        ("labels", T::Obj, true),
    ];
    /// The keys of [`IMAGE`] that are Go `[]byte`: base64 text, or `null` when nil.
    const IMAGE_BYTES: [&str; 2] = ["manifest", "config"];
    /// syft's `source.LayerMetadata`.
    const LAYER: Keys = &[("mediaType", T::Str, false), ("digest", T::Str, false), ("size", T::Num, false)];
    /// `distribution`.
    const DISTRIBUTION: Keys = &[("name", T::Str, false), ("version", T::Str, false), ("idLike", T::Arr, false)];
    /// `descriptor`.
    const DESCRIPTOR: Keys = &[
        ("name", T::Str, false),
        ("version", T::Str, false),
        ("configuration", T::Any, true),
        ("db", T::Any, true),
        ("timestamp", T::Str, false),
    ];

    /// The problems of `v` against `keys` (`at` names it), keys of `skip` left out.
    fn check(v: &Value, keys: Keys, at: &str, skip: &[&str], out: &mut Vec<String>) {
        let Some(obj) = v.as_object() else {
            out.push(format!("{at}: not an object"));
            return;
        };
        for (name, ty, optional) in keys {
            if skip.contains(name) {
                continue;
            }
            let Some(value) = obj.get(*name) else {
                if !optional {
                    out.push(format!("{at}.{name}: missing"));
                }
                continue;
            };
            let ok = match ty {
                T::Str => value.is_string(),
                T::Num => value.is_number(),
                T::Arr => value.is_array(),
                T::Obj => value.is_object(),
                T::Any => true,
            };
            if !ok {
                out.push(format!("{at}.{name}: {value} is not {ty:?}"));
            }
        }
    }

    fn each<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
        v.get(key).and_then(Value::as_array).into_iter().flatten()
    }

    /// Every key of grype's models for the structs of a document, with its JSON type.
    fn check_document(doc: &Value, skip: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        check(doc, DOCUMENT, "document", skip, &mut out);
        let ignored: Vec<&Value> = each(doc, "ignoredMatches").collect();
        for m in each(doc, "matches").chain(ignored.iter().copied()) {
            check(m, MATCH, "match", skip, &mut out);
            let v = &m["vulnerability"];
            check(v, VULNERABILITY_METADATA, "vulnerability", skip, &mut out);
            check(v, VULNERABILITY, "vulnerability", skip, &mut out);
            check(&v["fix"], FIX, "fix", skip, &mut out);
            for r in each(m, "relatedVulnerabilities") {
                check(r, VULNERABILITY_METADATA, "relatedVulnerability", skip, &mut out);
            }
            for c in each(v, "cvss").chain(each(m, "relatedVulnerabilities").flat_map(|r| each(r, "cvss"))) {
                check(c, CVSS, "cvss", skip, &mut out);
                check(&c["metrics"], CVSS_METRICS, "cvss.metrics", skip, &mut out);
            }
            for d in each(m, "matchDetails") {
                check(d, MATCH_DETAILS, "matchDetails", skip, &mut out);
            }
            let a = &m["artifact"];
            check(a, PACKAGE, "artifact", skip, &mut out);
            for l in each(a, "locations") {
                check(l, LOCATION, "artifact.locations", skip, &mut out);
            }
            for u in each(a, "upstreams") {
                check(u, UPSTREAM, "artifact.upstreams", skip, &mut out);
            }
        }
        for m in ignored {
            check(m, IGNORED, "ignoredMatch", skip, &mut out);
        }
        let src = &doc["source"];
        check(src, SOURCE, "source", skip, &mut out);
        if src["type"] == "image" {
            check(&src["target"], IMAGE, "source.target", skip, &mut out);
            for key in IMAGE_BYTES {
                let v = &src["target"][key];
                let base64 = v.as_str().is_some_and(|s| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                });
                if !v.is_null() && !base64 {
                    out.push(format!("source.target.{key}: {v} is neither base64 nor null"));
                }
            }
            for l in each(&src["target"], "layers") {
                check(l, LAYER, "source.target.layers", skip, &mut out);
            }
        } else if !src["target"].is_string() {
            out.push(format!("source.target: {} is not a path", src["target"]));
        }
        check(&doc["distro"], DISTRIBUTION, "distro", skip, &mut out);
        check(&doc["descriptor"], DESCRIPTOR, "descriptor", skip, &mut out);
        out
    }

    /// Our documents (an image's, an SBOM file's, a status file's, a directory's) have every
    /// key grype's models define, with the JSON type of its Go field; so has grype's own
    /// presenter golden (which proves the lists).
    #[test]
    fn every_key_of_grypes_models() {
        let grype = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vuln/grype-json/TestJsonImgsPresenter.golden");
        let grype: Value = serde_json::from_slice(&std::fs::read(grype).expect("golden")).expect("json");
        assert_eq!(check_document(&grype, &[]), Vec::<String>::new(), "grype's golden");
        let sources = [
            image_meta(),
            ReportMeta { source: Some(ScanSource::SbomFile("bom.json".into())), ..meta() },
            ReportMeta { source: Some(ScanSource::File("/var/lib/dpkg/status".into())), ..meta() },
            ReportMeta { target: "dir:/srv".into(), ..meta() },
        ];
        for m in &sources {
            let ours = render(&fixture(), m);
            assert_eq!(check_document(&ours, &LEFT_OUT), Vec::<String>::new(), "{:?}", m.source);
            assert!(ours["ignoredMatches"].is_array());
        }
        // The image's manifest and config are the bytes its digests name; its layers are named
        // by diff ID.
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        let target = &render(&fixture(), &image_meta())["source"]["target"];
        for (bytes, digest) in [("manifest", "manifestDigest"), ("config", "imageID")] {
            let raw =
                base64::engine::general_purpose::STANDARD.decode(target[bytes].as_str().expect(bytes)).expect(bytes);
            assert_eq!(format!("sha256:{:x}", Sha256::digest(&raw)), target[digest], "{bytes}");
        }
        let config: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD.decode(target["config"].as_str().expect("config")).expect("b64"),
        )
        .expect("config json");
        let layer_ids: Vec<&Value> = each(target, "layers").map(|l| &l["digest"]).collect();
        assert_eq!(layer_ids, each(&config["rootfs"], "diff_ids").collect::<Vec<_>>());
        let types: Vec<Value> = sources.iter().map(|m| render(&fixture(), m)["source"]["type"].clone()).collect();
        assert_eq!(types, ["image", "sbom-file", "file", "directory"]);
        let empty = ScanResult { matches: vec![], ignored: vec![], ..fixture() };
        let doc = render(&empty, &meta());
        assert!(doc.get("ignoredMatches").is_none(), "omitted when there is none, as grype does");
        assert_eq!(doc["matches"], json!([]));
        assert_eq!(doc["distro"], json!({"name": "", "version": "", "idLike": []}));
    }

    /// Our writer, then our reader: every finding comes back with the same fields.
    #[test]
    fn round_trip() {
        let result = fixture();
        let text = serde_json::to_string_pretty(&render(&result, &meta())).expect("json");
        let back = parse(text.as_bytes(), Path::new("scan.json")).expect("parse");
        let want: Vec<ReadFinding> = result
            .matches
            .iter()
            .map(|m| ReadFinding {
                id: m.vulnerability.id.clone(),
                related: m.related.iter().map(|r| r.id.clone()).filter(|r| *r != m.vulnerability.id).collect(),
                severity: m.vulnerability.severity,
                package: m.artifact.name.clone(),
                version: m.artifact.version.clone(),
                kind: m.artifact.kind().to_owned(),
                purl: m.artifact.purl.clone(),
                fix_state: m.vulnerability.fix_state,
                fix_versions: m.vulnerability.fix_versions.clone(),
            })
            .collect();
        assert_eq!(back.findings, want, "ignored matches are not findings");
        assert_eq!(back.db_digest, Some(format!("sha256:{}", "ab".repeat(32))));
        assert_eq!(back.tool.as_deref(), Some("armorred 0.1.0"));
        assert_eq!(back.skipped, 0);
    }

    /// grype's own presenter golden (anchore/grype, Apache-2.0): rpm and deb matches, a CPE, an
    /// empty fix state, fields we do not know (epss, risk, knownExploited, metadata).
    #[test]
    fn real_grype_document() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vuln/grype-json/TestJsonImgsPresenter.golden");
        let scan = read(&path).expect("grype document");
        let got: Vec<(&str, &str, &str, &str, Severity, FixState, usize)> = scan
            .findings
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.package.as_str(),
                    f.version.as_str(),
                    f.kind.as_str(),
                    f.severity,
                    f.fix_state,
                    f.fix_versions.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("CVE-1999-0001", "package-1", "1.1.1", "rpm", Severity::Low, FixState::Fixed, 3),
                ("CVE-1999-0002", "package-2", "2.2.2", "deb", Severity::Critical, FixState::Unknown, 0),
            ]
        );
        assert_eq!(scan.findings[0].purl, None, "an empty purl is no purl");
        assert_eq!(scan.findings[1].purl.as_deref(), Some("pkg:deb/package-2@2.2.2"));
        assert_eq!(scan.db_digest, None, "grype's descriptor names no DB checksum here");
        assert_eq!(scan.tool.as_deref(), Some("grype [not provided]"));
    }

    /// (findings, skipped), or a fragment of the error.
    type Want = Result<(usize, usize), &'static str>;

    #[test]
    fn lenient_but_not_blind() {
        let cases: &[(&str, &str, Want)] = &[
            ("not json", "{", Err("scan.json: not a grype JSON scan result")),
            ("no matches", r#"{"bomFormat": "CycloneDX"}"#, Err("no \"matches\" array")),
            ("empty", r#"{"matches": []}"#, Ok((0, 0))),
            (
                "skips what it cannot name, keeps the rest",
                r#"{"matches": [{"vulnerability": {"id": ""}, "artifact": {"name": "x"}},
                                {"vulnerability": {"id": "CVE-1"}},
                                {"vulnerability": {"id": "CVE-2", "severity": "bogus", "fix": {"state": "?"}},
                                 "artifact": {"name": "y"}, "relatedVulnerabilities": [{"id": "CVE-2"}, {}, {"id": "GHSA-1"}]}]}"#,
                Ok((1, 2)),
            ),
        ];
        for (name, text, want) in cases {
            match (parse(text.as_bytes(), Path::new("scan.json")), want) {
                (Ok(scan), Ok((n, skipped))) => {
                    assert_eq!((scan.findings.len(), scan.skipped), (*n, *skipped), "{name}");
                    if let Some(f) = scan.findings.first() {
                        assert_eq!((f.severity, f.fix_state), (Severity::Unknown, FixState::Unknown), "{name}");
                        assert_eq!(f.related, ["GHSA-1"], "{name}");
                    }
                }
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}

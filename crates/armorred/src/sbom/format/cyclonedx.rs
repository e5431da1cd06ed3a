//! CycloneDX 1.6 JSON: a hand-written encoder (the `cyclonedx-bom` crate stops at 1.5) and a
//! tolerant reader.
//!
//! Standard fields carry the facts (purl, cpe, licenses, publisher, evidence.occurrences for
//! the path and layer, dependencies); the rest goes to `properties` under syft's names where
//! syft has them (`syft:package:foundBy`, `syft:package:language`, `syft:package:type`,
//! `syft:package:metadataType`, `syft:cpe23`, `syft:location:N:path`,
//! `syft:location:N:layerID`, `syft:metadata:*`, `syft:distro:*`), so that syft reads our
//! documents back as its own; what syft has no name for is `armorred:...` (the image's layers
//! and time, warnings, dependency names, the source package of a non-Debian package).
//! The reader takes both prefixes, and the names our older documents used.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{iso_timestamp, serial_uuid, Timestamp, TOOL_NAME, TOOL_VERSION};
use crate::sbom::catalog::{self, PackageType};
use crate::sbom::model::{Distro, Location, Package, Sbom, SourceInfo, SourcePackage};
use crate::sbom::{dependency_graph, SbomError};

const LIB: &str = "armorred:";
const SYFT: &str = "syft:";

/// The dpkg metadata fields that name a Debian package's source, as syft names them.
const DEB_SOURCE: &str = "source";
const DEB_SOURCE_VERSION: &str = "sourceVersion";

/// Encodes an SBOM as a CycloneDX 1.6 JSON value.
pub fn to_value(sbom: &Sbom, timestamp: &Timestamp) -> Value {
    let mut doc = Map::new();
    doc.insert("$schema".into(), json!("http://cyclonedx.org/schema/bom-1.6.schema.json"));
    doc.insert("bomFormat".into(), json!("CycloneDX"));
    doc.insert("specVersion".into(), json!("1.6"));
    doc.insert("serialNumber".into(), json!(format!("urn:uuid:{}", serial_uuid(sbom))));
    doc.insert("version".into(), json!(1));

    let mut metadata = Map::new();
    if let Some(ts) = iso_timestamp(sbom, timestamp) {
        metadata.insert("timestamp".into(), json!(ts));
    }
    // The author of the SBOM data (NTIA's "author", BSI TR-03183-2's "creator").
    metadata.insert("authors".into(), json!([{"name": TOOL_NAME}]));
    metadata.insert(
        "tools".into(),
        json!({"components": [{"type": "application", "author": "armorred", "name": TOOL_NAME, "version": TOOL_VERSION}]}),
    );
    metadata.insert("component".into(), subject(&sbom.source));
    // What reading the image refused or read as a runtime would (hostile constructs), so that
    // a later `scan sbom:` shows it too.
    if !sbom.warnings.is_empty() {
        metadata.insert("properties".into(), Value::Array(sbom.warnings.iter().map(|w| prop("warning", w)).collect()));
    }
    doc.insert("metadata".into(), Value::Object(metadata));

    let mut components = Vec::new();
    for p in &sbom.packages {
        components.push(component(p, sbom.distro.as_ref()));
    }
    if let Some(d) = &sbom.distro {
        components.push(os_component(d));
    }
    doc.insert("components".into(), Value::Array(components));

    let graph = dependency_graph(sbom);
    let deps: Vec<Value> = graph
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(r, d)| json!({"ref": r, "dependsOn": d.iter().collect::<Vec<_>>()}))
        .collect();
    if !deps.is_empty() {
        doc.insert("dependencies".into(), Value::Array(deps));
    }
    Value::Object(doc)
}

/// Writes pretty JSON with a final newline.
pub fn write(sbom: &Sbom, timestamp: &Timestamp, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(sbom, timestamp))?;
    out.write_all(b"\n")
}

fn subject(source: &SourceInfo) -> Value {
    let mut c = Map::new();
    c.insert("bom-ref".into(), json!("subject"));
    let is_image = source.kind == "image";
    c.insert("type".into(), json!(if is_image { "container" } else { "file" }));
    c.insert("name".into(), json!(source.name));
    if let Some(d) = &source.digest {
        c.insert("version".into(), json!(d));
    }
    let mut props = Vec::new();
    for (i, l) in source.layers.iter().enumerate() {
        props.push(prop(&format!("image:layer:{i}"), l));
    }
    if let Some(created) = &source.created {
        props.push(prop("image:created", created));
    }
    if !props.is_empty() {
        c.insert("properties".into(), Value::Array(props));
    }
    Value::Object(c)
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": format!("{LIB}{name}"), "value": value})
}

/// A property under syft's name for it.
fn syft_prop(name: &str, value: &str) -> Value {
    json!({"name": format!("{SYFT}{name}"), "value": value})
}

fn os_component(d: &Distro) -> Value {
    let mut c = Map::new();
    let version = d.version_id.clone().unwrap_or_default();
    c.insert("bom-ref".into(), json!(format!("os:{}@{}", d.id, version)));
    c.insert("type".into(), json!("operating-system"));
    c.insert("name".into(), json!(d.id));
    if !version.is_empty() {
        c.insert("version".into(), json!(version));
    }
    if let Some(p) = &d.pretty_name {
        c.insert("description".into(), json!(p));
    }
    // As syft writes a `linux.Release`: its fields in name order, `idLike` as a list.
    let mut props = Vec::new();
    if let Some(v) = &d.build_id {
        props.push(syft_prop("distro:buildID", v));
    }
    props.push(syft_prop("distro:id", &d.id));
    for (i, l) in d.id_like.iter().enumerate() {
        props.push(syft_prop(&format!("distro:idLike:{i}"), l));
    }
    if let Some(v) = &d.pretty_name {
        props.push(syft_prop("distro:prettyName", v));
    }
    if let Some(v) = &d.codename {
        props.push(syft_prop("distro:versionCodename", v));
    }
    if !version.is_empty() {
        props.push(syft_prop("distro:versionID", &version));
    }
    c.insert("properties".into(), Value::Array(props));
    Value::Object(c)
}

/// A license entry: SPDX id when we know it is one, an expression when made of known ids,
/// else a name (the schema rejects unknown ids).
pub(crate) fn license_value(l: &str) -> Value {
    if super::spdx_ids::is_id(l) {
        return json!({"license": {"id": l}});
    }
    let tokens: Vec<&str> =
        l.split(|c: char| c.is_whitespace() || c == '(' || c == ')').filter(|t| !t.is_empty()).collect();
    let is_expr = tokens.len() >= 3
        && tokens.iter().all(|t| {
            matches!(*t, "AND" | "OR" | "WITH") || super::spdx_ids::is_id(t) || super::spdx_ids::is_exception(t)
        });
    if is_expr {
        json!({"expression": l})
    } else {
        json!({"license": {"name": l}})
    }
}

/// A package's `licenses` as syft writes them: the names syft knows as SPDX ids as
/// `license.id` (in the order of the names, once each), then the others as `license.name`
/// (sorted), then an SPDX expression. The schema allows either licenses or one expression, not both mixed: with
/// an expression among others, all are names.
fn licenses(names: &[String]) -> Vec<Value> {
    let (mut ids, mut others, mut exprs) = (Vec::new(), Vec::new(), Vec::new());
    let mut sorted = names.to_vec();
    sorted.sort();
    for l in &sorted {
        if let Some(id) = super::spdx_ids::syft_id(l) {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        } else if license_value(l).get("expression").is_some() {
            exprs.push(l.clone());
        } else {
            others.push(l.clone());
        }
    }
    if !exprs.is_empty() && names.len() > 1 {
        return names.iter().map(|l| json!({"license": {"name": l}})).collect();
    }
    others.dedup();
    let mut out: Vec<Value> = ids.iter().map(|l| json!({"license": {"id": l}})).collect();
    out.extend(others.iter().map(|l| json!({"license": {"name": l}})));
    out.extend(exprs.iter().map(|l| json!({"expression": l})));
    out
}

/// The supplier of a package of the distribution's database: the distribution that ships it
/// (`Debian` for a `deb` of a Debian image), the first word of its `PRETTY_NAME`, else its id
/// capitalized. A source-built binary (known by its package note) has none: the distribution
/// did not build it.
fn os_supplier(p: &Package, distro: Option<&Distro>) -> Option<String> {
    let d = distro?;
    let os = [PackageType::Deb, PackageType::Apk, PackageType::Rpm].iter().any(|t| t.as_str() == p.kind)
        && p.found_by.ends_with("-db-cataloger");
    if !os {
        return None;
    }
    let pretty = d.pretty_name.as_deref().and_then(|n| n.split_whitespace().next()).filter(|n| !n.is_empty());
    Some(pretty.map_or_else(
        || d.id.get(..1).map_or_else(String::new, |f| format!("{}{}", f.to_uppercase(), &d.id[1..])),
        str::to_string,
    ))
}

fn component(p: &Package, distro: Option<&Distro>) -> Value {
    let mut c = Map::new();
    c.insert("bom-ref".into(), json!(p.id));
    let ty = if p.kind == PackageType::Binary.as_str() { "application" } else { "library" };
    c.insert("type".into(), json!(ty));
    if let Some(s) = os_supplier(p, distro) {
        c.insert("supplier".into(), json!({"name": s}));
    }
    if let Some(m) = p.metadata.get("maintainer") {
        c.insert("publisher".into(), json!(m));
    }
    c.insert("name".into(), json!(p.name));
    c.insert("version".into(), json!(p.version));
    if !p.hashes.is_empty() {
        let hashes: Vec<Value> = p.hashes.iter().map(|(alg, h)| json!({"alg": alg, "content": h})).collect();
        c.insert("hashes".into(), Value::Array(hashes));
    }
    if !p.licenses.is_empty() {
        c.insert("licenses".into(), Value::Array(licenses(&p.licenses)));
    }
    if let Some(cpe) = p.cpes.first() {
        c.insert("cpe".into(), json!(cpe));
    }
    if let Some(purl) = &p.purl {
        c.insert("purl".into(), json!(purl));
    }
    // In syft's order: foundBy, language, type, metadataType, the other CPEs, locations,
    // metadata.
    let mut props = vec![syft_prop("package:foundBy", &p.found_by)];
    let language = catalog::language(&p.kind);
    if !language.is_empty() {
        props.push(syft_prop("package:language", language));
    }
    props.push(syft_prop("package:type", &p.kind));
    if let Some(t) = catalog::metadata_type(&p.found_by) {
        props.push(syft_prop("package:metadataType", t));
    }
    for cpe in p.cpes.iter().skip(1) {
        props.push(syft_prop("cpe23", cpe));
    }
    for (i, l) in p.locations.iter().enumerate() {
        if let Some(layer) = &l.layer {
            props.push(syft_prop(&format!("location:{i}:layerID"), layer));
        }
        props.push(syft_prop(&format!("location:{i}:path"), &l.path));
    }
    // A Debian package's source is dpkg metadata to syft (`source`, `sourceVersion`).
    let mut metadata: BTreeMap<&str, &str> = p.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let debian_source = p.source_package.as_ref().filter(|_| p.kind == PackageType::Deb.as_str());
    if let Some(s) = debian_source {
        metadata.insert(DEB_SOURCE, &s.name);
        if let Some(v) = &s.version {
            metadata.insert(DEB_SOURCE_VERSION, v);
        }
    }
    for (k, v) in metadata {
        props.push(syft_prop(&format!("metadata:{k}"), v));
    }
    if let Some(s) = p.source_package.as_ref().filter(|_| debian_source.is_none()) {
        props.push(prop("package:sourceName", &s.name));
        if let Some(v) = &s.version {
            props.push(prop("package:sourceVersion", v));
        }
    }
    for d in &p.depends_on {
        props.push(prop("package:dependsOn", d));
    }
    let occurrences: Vec<Value> = p
        .locations
        .iter()
        .map(|l| {
            let mut o = Map::new();
            o.insert("location".into(), json!(l.path));
            if let Some(layer) = &l.layer {
                o.insert("additionalContext".into(), json!(format!("layer {layer}")));
            }
            Value::Object(o)
        })
        .collect();
    if !occurrences.is_empty() {
        c.insert("evidence".into(), json!({"occurrences": occurrences}));
    }
    c.insert("properties".into(), Value::Array(props));
    Value::Object(c)
}

/// Reads a CycloneDX JSON document (any 1.x version) into the model: the one CycloneDX reader
/// (`sbom:FILE` scans and compares read through it too). Unknown fields are ignored; nested
/// components are flattened; never panics on any input. A leading UTF-8 BOM is skipped; a key
/// repeated in one object is an error naming it ([`crate::json`]). A document without
/// `specVersion` is read leniently as 1.x; another major version is an error.
pub fn read(bytes: &[u8], what: &str) -> Result<Sbom, SbomError> {
    let err = |reason: String| SbomError::Read { what: what.to_string(), reason };
    let doc: Value = crate::json::from_slice(bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    let obj = doc.as_object().ok_or_else(|| err("not a JSON object".into()))?;
    if obj.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(err("bomFormat is not \"CycloneDX\"".into()));
    }
    if let Some(spec) = obj.get("specVersion") {
        let spec = spec.as_str().ok_or_else(|| err("specVersion is not a string".into()))?;
        if !spec.starts_with("1.") {
            return Err(err(format!("unsupported specVersion {spec}")));
        }
    }
    Ok(from_document(&doc))
}

/// The model of an already parsed CycloneDX document, without [`read`]'s checks of its header.
pub fn from_document(doc: &Value) -> Sbom {
    let mut sbom = Sbom { warnings: document_warnings(doc), ..Sbom::default() };
    if let Some(m) = doc.pointer("/metadata/component") {
        sbom.source.name = str_at(m, "name").unwrap_or_default();
        sbom.source.digest = str_at(m, "version");
        sbom.source.kind = match str_at(m, "type").as_deref() {
            Some("container") => "image".into(),
            _ => "directory".into(),
        };
        let props = properties(m);
        sbom.source.created = props.get("image:created").and_then(|v| v.first().cloned());
        let mut layers: Vec<(usize, String)> = props
            .iter()
            .filter_map(|(k, v)| {
                let i = k.strip_prefix("image:layer:")?.parse().ok()?;
                Some((i, v.first()?.clone()))
            })
            .collect();
        layers.sort();
        sbom.source.layers = layers.into_iter().map(|(_, l)| l).collect();
    }
    let mut flat = Vec::new();
    if let Some(cs) = doc.get("components").and_then(Value::as_array) {
        flatten(cs, &mut flat, 0);
    }
    for c in flat {
        if str_at(c, "type").as_deref() == Some("operating-system") {
            let props = properties(c);
            sbom.distro = Some(Distro {
                id: str_at(c, "name").unwrap_or_default(),
                version_id: str_at(c, "version"),
                codename: first(&props, "distro:versionCodename"),
                pretty_name: str_at(c, "description").or_else(|| first(&props, "distro:prettyName")),
                id_like: id_like(&props),
                build_id: first(&props, "distro:buildID"),
            });
            continue;
        }
        if let Some(p) = package(c) {
            sbom.packages.push(p);
        }
    }
    sbom
}

/// `ID_LIKE` as syft lists it (`distro:idLike:0`, `:1`, ...) or as our older documents
/// joined it (`distro:idLike`, space-separated).
fn id_like(props: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut listed: Vec<(usize, String)> = props
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("distro:idLike:")?.parse().ok()?, v.first()?.clone())))
        .collect();
    if listed.is_empty() {
        return first(props, "distro:idLike")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
    }
    listed.sort();
    listed.into_iter().map(|(_, l)| l).collect()
}

fn flatten<'a>(cs: &'a [Value], out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 64 {
        return;
    }
    for c in cs {
        out.push(c);
        if let Some(nested) = c.get("components").and_then(Value::as_array) {
            flatten(nested, out, depth + 1);
        }
    }
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The `armorred:warning` properties of a CycloneDX document's metadata.
pub fn document_warnings(doc: &Value) -> Vec<String> {
    let mut all = doc
        .pointer("/metadata/properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some("armorred:warning"))
        .filter_map(|p| p.get("value").and_then(Value::as_str));
    let mut out: Vec<String> = all.by_ref().take(MAX_DOCUMENT_WARNINGS).map(str::to_string).collect();
    let more = all.count();
    if more > 0 {
        out.push(format!("({more} more warnings of the SBOM left out)"));
    }
    out
}

/// At most this many warnings are read back from a document (a hostile SBOM could hold
/// millions, and each is printed with the scan).
pub const MAX_DOCUMENT_WARNINGS: usize = 1000;

/// Properties by name, with our `armorred:` and syft's `syft:` prefixes removed.
fn properties(v: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in v.get("properties").and_then(Value::as_array).into_iter().flatten() {
        let (Some(name), Some(value)) = (str_at(p, "name"), str_at(p, "value")) else {
            continue;
        };
        let name = name.strip_prefix(LIB).or_else(|| name.strip_prefix("syft:")).unwrap_or(&name).to_string();
        out.entry(name).or_default().push(value);
    }
    out
}

/// The first property with exactly this name (prefix included).
fn raw_property(v: &Value, name: &str) -> Option<String> {
    v.get("properties")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| str_at(p, "value"))
}

fn first(props: &BTreeMap<String, Vec<String>>, key: &str) -> Option<String> {
    props.get(key).and_then(|v| v.first().cloned())
}

fn package(c: &Value) -> Option<Package> {
    let name = str_at(c, "name")?;
    let version = str_at(c, "version").unwrap_or_default();
    let props = properties(c);
    let purl = str_at(c, "purl");
    // Without syft's property (another tool's SBOM), the purl's type names it: `pkg:pypi` is a
    // `python` package, as syft would have typed it; a purl type we do not know stays as it is.
    let kind = first(&props, "package:type")
        .or_else(|| {
            let purl_type = purl.as_deref().and_then(|p| p.strip_prefix("pkg:")).and_then(|p| p.split('/').next())?;
            Some(
                PackageType::from_purl_type(purl_type)
                    .map_or_else(|| purl_type.to_string(), |t| t.as_str().to_string()),
            )
        })
        .unwrap_or_else(|| "unknown".into());
    let mut p = Package::new(&kind, &name, &version, "", Location { path: String::new(), layer: None });
    p.locations.clear();
    p.id = str_at(c, "bom-ref").unwrap_or_default();
    p.purl = purl;
    p.found_by = first(&props, "package:foundBy").unwrap_or_default();
    p.cpes.extend(str_at(c, "cpe"));
    for h in c.get("hashes").and_then(Value::as_array).into_iter().flatten() {
        if let (Some(alg), Some(content)) = (str_at(h, "alg"), str_at(h, "content")) {
            p.hashes.insert(alg, content);
        }
    }
    p.cpes.extend(props.get("cpe23").cloned().unwrap_or_default());
    for l in c.get("licenses").and_then(Value::as_array).into_iter().flatten() {
        if let Some(e) = str_at(l, "expression") {
            p.licenses.push(e);
        } else if let Some(lic) = l.get("license") {
            if let Some(s) = str_at(lic, "id").or_else(|| str_at(lic, "name")) {
                p.licenses.push(s);
            }
        }
    }
    // The source package as the writer states it: syft's dpkg metadata (ours for Debian
    // packages too), ours for the others, our older spellings.
    let source_name = first(&props, "package:sourceName")
        .or_else(|| raw_property(c, "armorred:source-name"))
        .or_else(|| raw_property(c, "syft:metadata:source"));
    if let Some(name) = source_name {
        let version = first(&props, "package:sourceVersion")
            .or_else(|| raw_property(c, "armorred:source-version"))
            .or_else(|| raw_property(c, "syft:metadata:sourceVersion"));
        p.source_package = Some(SourcePackage { name, version });
    }
    let mut locs: BTreeMap<usize, Location> = BTreeMap::new();
    for (k, v) in &props {
        let Some(rest) = k.strip_prefix("location:") else {
            if let Some(m) = k.strip_prefix("metadata:") {
                // A Debian package's source (and source version) is its source package.
                let is_source = kind == PackageType::Deb.as_str() && matches!(m, DEB_SOURCE | DEB_SOURCE_VERSION);
                if let Some(v) = v.first().filter(|_| !is_source) {
                    p.metadata.insert(m.to_string(), v.clone());
                }
            }
            continue;
        };
        let Some((i, field)) = rest.split_once(':') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        let Some(v) = v.first() else { continue };
        let l = locs.entry(i).or_insert_with(|| Location { path: String::new(), layer: None });
        match field {
            "path" => l.path = v.clone(),
            "layerID" => l.layer = Some(v.clone()),
            _ => {}
        }
    }
    p.locations = locs.into_values().filter(|l| !l.path.is_empty()).collect();
    if p.locations.is_empty() {
        for o in c.pointer("/evidence/occurrences").and_then(Value::as_array).into_iter().flatten() {
            if let Some(path) = str_at(o, "location") {
                p.locations.push(Location { path, layer: None });
            }
        }
    }
    p.depends_on = props.get("package:dependsOn").cloned().unwrap_or_default();
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document of our older writer (`armorred:` properties, the source package of a Debian
    /// package as `armorred:package:sourceName`, `idLike` joined) reads as the new one does.
    #[test]
    fn older_documents_read_the_same() {
        let mut p = Package::new(
            "deb",
            "bsdutils",
            "1:2.38.1-5+deb12u3",
            "dpkg-db-cataloger",
            Location { path: "/var/lib/dpkg/status".into(), layer: Some("sha256:ab".into()) },
        );
        p.id = "bsdutils-id".into();
        p.purl = Some("pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?distro=debian-12".into());
        p.cpes = crate::sbom::catalog::cpe::debian(&p.name, &p.version);
        p.source_package = Some(SourcePackage { name: "util-linux".into(), version: Some("2.38.1-5+deb12u3".into()) });
        p.metadata.insert("architecture".into(), "amd64".into());
        let sbom = Sbom {
            distro: Some(Distro {
                id: "ubuntu".into(),
                version_id: Some("24.04".into()),
                id_like: vec!["debian".into(), "linux".into()],
                ..Distro::default()
            }),
            packages: vec![p],
            ..Sbom::default()
        };
        let new = to_value(&sbom, &Timestamp::Image);
        let mut text = serde_json::to_string(&new).unwrap_or_default();
        for (from, to) in [
            ("syft:metadata:source\"", "armorred:package:sourceName\""),
            ("syft:metadata:sourceVersion", "armorred:package:sourceVersion"),
            ("syft:distro:idLike:0\",\"value\":\"debian", "armorred:distro:idLike\",\"value\":\"debian linux"),
            ("syft:distro:idLike:1", "ignored:idLike"),
            ("syft:", "armorred:"),
        ] {
            assert!(text.contains(from), "{from} in {text}");
            text = text.replace(from, to);
        }
        assert!(!text.contains("syft:"));
        let old = read(text.as_bytes(), "old").unwrap_or_default();
        assert_eq!(old.packages, sbom.packages);
        assert_eq!(old.distro, sbom.distro);
        assert_eq!(from_document(&new).packages, sbom.packages);
    }

    /// A component without syft's type property is typed by its purl as syft types packages.
    #[test]
    fn a_component_without_a_type_property_is_typed_by_its_purl() {
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"type": "library", "name": "requests", "version": "2.31.0", "purl": "pkg:pypi/requests@2.31.0"},
            {"type": "library", "name": "x", "version": "1", "purl": "pkg:generic/x@1"},
            {"type": "library", "name": "serde", "version": "1.0.0", "purl": "pkg:cargo/serde@1.0.0"}
        ]});
        let kinds: Vec<String> = from_document(&doc).packages.into_iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["python", "generic", "rust-crate"]);
    }

    #[test]
    fn warnings_read_back_are_bounded() {
        let props: Vec<Value> = (0..MAX_DOCUMENT_WARNINGS + 5)
            .map(|i| json!({"name": "armorred:warning", "value": format!("w{i}")}))
            .collect();
        let doc = json!({"metadata": {"properties": props}});
        let w = document_warnings(&doc);
        assert_eq!(w.len(), MAX_DOCUMENT_WARNINGS + 1);
        assert_eq!(w.last().map(String::as_str), Some("(5 more warnings of the SBOM left out)"));
    }
}

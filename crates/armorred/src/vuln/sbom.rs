//! A small, lenient CycloneDX 1.x JSON reader for `scan sbom:FILE`: components (nested too)
//! with purl, cpe and properties. Distro comes from an `operating-system` component, or from
//! the purl's `distro=` qualifier.

use std::path::Path;

use serde_json::Value;

use super::scan::{Distro, ScanPackage};
use super::{Result, VulnError};

/// One qualifier of a purl, percent-decoded (`upstream=util-linux%402.38.1-5%2Bdeb12u3` is
/// `util-linux@2.38.1-5+deb12u3`). Read with the packageurl parser; a purl it refuses is read
/// leniently (split on `?`, `&`, `=`, then decoded) so that a slightly odd SBOM still scans.
pub(crate) fn purl_qualifier(purl: &str, key: &str) -> Option<String> {
    if let Ok(p) = purl.parse::<packageurl::PackageUrl>() {
        return p.qualifiers().get(key).map(|v| v.to_string());
    }
    let q = purl.split_once('?')?.1.split('#').next()?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.eq_ignore_ascii_case(key).then(|| percent_decode(v))
    })
}

/// `%XX` decoding; invalid escapes and non-UTF-8 results are kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn distro_from_purl(purl: &str) -> Option<Distro> {
    let d = purl_qualifier(purl, "distro")?;
    let d = d.as_str();
    // debian-12, alpine-3.18.4, or just "bookworm".
    if let Some((id, ver)) = d.split_once('-') {
        return Some(Distro { id: id.to_string(), version_id: ver.to_string(), codename: None });
    }
    let version = match d {
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        _ => return None,
    };
    Some(Distro { id: "debian".into(), version_id: version.into(), codename: Some(d.into()) })
}

fn prop<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c.get("properties")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
}

/// Parses an SBOM document; `default_distro` applies to OS packages without one.
pub fn parse(doc: &Value, default_distro: Option<&Distro>) -> Vec<ScanPackage> {
    let mut os: Option<Distro> = None;
    let mut comps = Vec::new();
    let mut stack: Vec<&Value> =
        doc.get("components").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    if let Some(m) = doc.get("metadata").and_then(|m| m.get("component")) {
        stack.push(m);
    }
    while let Some(c) = stack.pop() {
        if let Some(sub) = c.get("components").and_then(Value::as_array) {
            stack.extend(sub.iter());
        }
        if c.get("type").and_then(Value::as_str) == Some("operating-system") {
            let id = c.get("name").and_then(Value::as_str).unwrap_or("").to_lowercase();
            let ver = c.get("version").and_then(Value::as_str).unwrap_or("").to_string();
            if !id.is_empty() && !ver.is_empty() {
                os = Some(Distro { id, version_id: ver, codename: None });
            }
            continue;
        }
        comps.push(c);
    }
    let mut out = Vec::new();
    for c in comps {
        let Some(name) = c.get("name").and_then(Value::as_str) else {
            continue;
        };
        let version = c.get("version").and_then(Value::as_str).unwrap_or("").to_string();
        let purl = c.get("purl").and_then(Value::as_str).map(str::to_string);
        let mut cpes: Vec<String> =
            c.get("cpe").and_then(Value::as_str).map(|s| vec![s.to_string()]).unwrap_or_default();
        // syft puts extra CPEs in properties "syft:cpe23".
        if let Some(props) = c.get("properties").and_then(Value::as_array) {
            for p in props {
                if p.get("name").and_then(Value::as_str) == Some("syft:cpe23") {
                    if let Some(v) = p.get("value").and_then(Value::as_str) {
                        cpes.push(v.to_string());
                    }
                }
            }
        }
        let is_os_pkg = purl
            .as_deref()
            .is_some_and(|p| p.starts_with("pkg:deb/") || p.starts_with("pkg:apk/") || p.starts_with("pkg:rpm/"));
        let image_distro = || os.clone().or_else(|| default_distro.cloned());
        let mut distro =
            if is_os_pkg { purl.as_deref().and_then(distro_from_purl).or_else(image_distro) } else { None };
        let upstream = purl.as_deref().and_then(|p| purl_qualifier(p, "upstream"));
        let (mut source_name, mut source_version) = (None, None);
        if let Some(u) = upstream {
            // "openssl" or "openssl@3.0.11-1" (syft) or "openssl 3.0.11-1", decoded.
            match u.split_once(['@', ' ']) {
                Some((n, v)) => {
                    source_name = Some(n.to_string());
                    source_version = Some(v.to_string());
                }
                None => source_name = Some(u),
            }
        }
        // The source package as the SBOM writer states it (ours, an older spelling, syft's).
        let src_name = prop(c, "armorred:package:sourceName")
            .or_else(|| prop(c, "armorred:source-name"))
            .or_else(|| prop(c, "syft:metadata:source"));
        if let Some(s) = src_name.filter(|s| !s.is_empty()) {
            source_name = Some(s.to_string());
        }
        let src_version = prop(c, "armorred:package:sourceVersion")
            .or_else(|| prop(c, "armorred:source-version"))
            .or_else(|| prop(c, "syft:metadata:sourceVersion"));
        if let Some(v) = src_version {
            if !v.is_empty() {
                source_version = Some(v.to_string());
            }
        }
        // A source build of a Debian source package, as its package note names it: matched by
        // that source package and version in the release of the image's Debian.
        let rebuilt = (prop(c, "armorred:metadata:debianSource"), prop(c, "armorred:metadata:debianSourceVersion"));
        if let (false, Some(src), Some(ver)) = (is_os_pkg, rebuilt.0, rebuilt.1) {
            let debian = image_distro().filter(|d| d.id == "debian");
            if debian.is_some() && !src.is_empty() && !ver.is_empty() {
                (source_name, source_version, distro) = (Some(src.to_string()), Some(ver.to_string()), debian);
            }
        }
        out.push(ScanPackage { name: name.to_string(), version, purl, cpes, source_name, source_version, distro });
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out
}

/// Reads a CycloneDX JSON SBOM file.
pub fn read(path: &Path, default_distro: Option<&Distro>) -> Result<Vec<ScanPackage>> {
    Ok(read_with_warnings(path, default_distro)?.0)
}

/// [`read`], with the warnings the SBOM's writer recorded.
pub fn read_with_warnings(path: &Path, default_distro: Option<&Distro>) -> Result<(Vec<ScanPackage>, Vec<String>)> {
    let bytes = super::import::read_file(path)?;
    let doc: Value = crate::json::from_slice(&bytes).map_err(|e| VulnError::Input {
        path: path.to_path_buf(),
        what: format!("not a CycloneDX JSON document: {e}"),
    })?;
    if doc.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(VulnError::Input {
            path: path.to_path_buf(),
            what: "not a CycloneDX JSON document (bomFormat is not \"CycloneDX\")".into(),
        });
    }
    Ok((parse(&doc, default_distro), crate::sbom::format::cyclonedx::document_warnings(&doc)))
}

/// The packages of a generated SBOM, read exactly as `scan sbom:FILE` reads its CycloneDX form
/// (so an image and its SBOM file scan the same).
pub fn from_sbom(sbom: &crate::sbom::Sbom) -> Vec<ScanPackage> {
    let doc = crate::sbom::format::cyclonedx::to_value(sbom, &crate::sbom::format::Timestamp::Image);
    parse(&doc, None)
}

/// What a scan source holds: its packages, and the warnings of reading it (constructs of a
/// hostile image that were refused or read as a runtime reads them, catalogers that failed; for
/// an SBOM file, the warnings its writer recorded as `armorred:warning` metadata properties).
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// The packages.
    pub packages: Vec<ScanPackage>,
    /// The warnings, to be shown with the scan's result.
    pub warnings: Vec<String>,
}

/// The packages of any scan source: `sbom:FILE` (CycloneDX), `dpkg-status:FILE`, or an image
/// source (`oci-dir:`, `docker-archive:`, `oci-archive:`, `registry:`, `dir:`, a bare path),
/// catalogued on the fly. `default_distro` applies to OS packages that name none (SBOM files and
/// status files); an image names its own in `/etc/os-release`.
pub fn packages_from_source(reference: &str, default_distro: Option<&Distro>) -> crate::Result<Vec<ScanPackage>> {
    Ok(catalogue(reference, default_distro)?.packages)
}

/// [`packages_from_source`] with the warnings of reading the source.
pub fn catalogue(reference: &str, default_distro: Option<&Distro>) -> crate::Result<Catalogue> {
    if let Some(file) = reference.strip_prefix("sbom:") {
        let (packages, warnings) = read_with_warnings(Path::new(file), default_distro)?;
        return Ok(Catalogue { packages, warnings });
    }
    if let Some(file) = reference.strip_prefix("dpkg-status:") {
        let packages = super::dpkg_status::read(Path::new(file), default_distro)?;
        return Ok(Catalogue { packages, warnings: Vec::new() });
    }
    let image = crate::source::Source::parse(reference)?.open(&crate::source::OpenOptions::default())?;
    let sbom = crate::sbom::generate(&image, &crate::sbom::GenerateOptions::default())?;
    Ok(Catalogue { packages: from_sbom(&sbom), warnings: sbom.warnings.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(os: bool) -> Value {
        let mut components = vec![serde_json::json!({
            "type": "application", "name": "nginx", "version": "1.26.3",
            "purl": "pkg:generic/nginx@1.26.3", "cpe": "cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*",
            "properties": [
                {"name": "armorred:metadata:debianSource", "value": "nginx"},
                {"name": "armorred:metadata:debianSourceVersion", "value": "1.26.3-3+deb13u7"}
            ]
        })];
        if os {
            components.push(serde_json::json!({"type": "operating-system", "name": "debian", "version": "13"}));
        }
        serde_json::json!({"bomFormat": "CycloneDX", "components": components})
    }

    #[test]
    fn a_debian_rebuild_keeps_its_source_and_takes_the_image_release() {
        let p = &parse(&doc(true), None)[0];
        assert_eq!(
            (p.source_name.as_deref(), p.source_version.as_deref(), p.distro.as_ref().map(|d| d.version_id.as_str())),
            (Some("nginx"), Some("1.26.3-3+deb13u7"), Some("13"))
        );
        assert!(p.is_debian_rebuild() && p.kind() == "binary");
        // Without a Debian release to match in, it stays a plain binary (CPE matching).
        let p = &parse(&doc(false), None)[0];
        assert!(p.distro.is_none() && p.source_name.is_none() && !p.is_debian_rebuild());
        let alpine = Distro { id: "alpine".into(), version_id: "3.22".into(), codename: None };
        assert!(!parse(&doc(false), Some(&alpine))[0].is_debian_rebuild());
    }

    #[test]
    fn purl_qualifiers_are_decoded() {
        let purl = "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?arch=amd64&upstream=util-linux%402.38.1-5%2Bdeb12u3&distro=debian-12";
        assert_eq!(purl_qualifier(purl, "upstream").as_deref(), Some("util-linux@2.38.1-5+deb12u3"));
        assert_eq!(purl_qualifier(purl, "distro").as_deref(), Some("debian-12"));
        // A purl the parser refuses (no name) is still read, leniently.
        assert_eq!(purl_qualifier("pkg:deb/?upstream=a%2Bb%zz", "upstream").as_deref(), Some("a+b%zz"));
        let doc = serde_json::json!({"bomFormat": "CycloneDX", "components": [{
            "type": "library", "name": "bsdutils", "version": "1:2.38.1-5+deb12u3", "purl": purl}]});
        let p = &parse(&doc, None)[0];
        assert_eq!(
            (p.source_name.as_deref(), p.source_version.as_deref()),
            (Some("util-linux"), Some("2.38.1-5+deb12u3"))
        );
    }
}

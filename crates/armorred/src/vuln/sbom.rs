//! The packages a scan matches, from every scan source through one way: an image is
//! catalogued into the SBOM model, an `sbom:FILE` is read into it by the one CycloneDX reader
//! ([`crate::sbom::format::cyclonedx::read`]), a `dpkg-status:FILE` by the dpkg cataloger's
//! parser; [`packages`] then converts the model into [`ScanPackage`]s. Distro comes from the
//! purl's `distro=` qualifier, else the SBOM's operating system, else the default one.

use std::path::Path;

use serde_json::Value;

use super::model::{FactLocation, PackageFacts};
use super::report::ScanSource;
use super::scan::{Distro, ScanPackage};
use super::{Result, VulnError};
use crate::sbom::catalog::{dpkg, osrelease, Cataloger, Parsed};
use crate::sbom::format::cyclonedx;
use crate::sbom::{Distro as SbomDistro, Location, Package, Sbom, SbomError, SourceInfo};

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

/// A purl's `distro=` qualifier: `debian-12`, `alpine-3.18.4`, or just a Debian codename.
fn distro_from_purl(purl: &str) -> Option<Distro> {
    let d = purl_qualifier(purl, "distro")?;
    if let Some((id, ver)) = d.split_once('-') {
        return Some(Distro { id: id.to_string(), version_id: ver.to_string(), codename: None });
    }
    let version = osrelease::debian_version(&d)?;
    Some(Distro { id: "debian".into(), version_id: version.into(), codename: Some(d) })
}

/// The scan's distribution of the SBOM model's one (from `/etc/os-release` or the SBOM's
/// operating-system component): `None` without both an ID and a version.
pub fn scan_distro(d: &SbomDistro) -> Option<Distro> {
    let version_id = d.version_id.clone().filter(|v| !v.is_empty())?;
    (!d.id.is_empty()).then(|| Distro { id: d.id.to_lowercase(), version_id, codename: d.codename.clone() })
}

/// The distribution that `os-release` text names (this machine's `/etc/os-release`, for
/// `dpkg-status:` files), read by the os-release cataloger.
pub fn distro_from_os_release(text: &str) -> Option<Distro> {
    osrelease::parse(text).as_ref().and_then(scan_distro)
}

/// The packages to scan of an SBOM (generated from an image, or read from a CycloneDX file):
/// the one conversion from the SBOM model. `default_distro` applies to OS packages when the SBOM
/// names no distribution. Purl qualifiers are decoded here (`upstream=`, `distro=`); the source
/// package the SBOM states overrides the purl's `upstream=`.
pub fn packages(sbom: &Sbom, default_distro: Option<&Distro>) -> Vec<ScanPackage> {
    let image_distro = sbom.distro.as_ref().and_then(scan_distro).or_else(|| default_distro.cloned());
    // The subject first, then the last component first, so that packages of the same name and
    // version keep the order that scans have always given them (a stable sort follows).
    let mut out: Vec<ScanPackage> = subject_package(&sbom.source).into_iter().collect();
    out.extend(sbom.packages.iter().rev().map(|p| scan_package(p, image_distro.as_ref())));
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out
}

/// The SBOM's subject (the CycloneDX `metadata.component`: the image, by its name and digest)
/// as a package, as scans have always counted it: it has no purl or CPE, so no matcher finds
/// anything for it, but it is one of the packages a scan reports and a comparison lists.
fn subject_package(source: &SourceInfo) -> Option<ScanPackage> {
    (!source.name.is_empty()).then(|| ScanPackage {
        name: source.name.clone(),
        version: source.digest.clone().unwrap_or_default(),
        ..ScanPackage::default()
    })
}

fn scan_package(p: &Package, image_distro: Option<&Distro>) -> ScanPackage {
    let purl = p.purl.clone();
    let is_os_pkg = purl
        .as_deref()
        .is_some_and(|p| p.starts_with("pkg:deb/") || p.starts_with("pkg:apk/") || p.starts_with("pkg:rpm/"));
    let mut distro =
        if is_os_pkg { purl.as_deref().and_then(distro_from_purl).or_else(|| image_distro.cloned()) } else { None };
    let (mut source_name, mut source_version) = (None, None);
    if let Some(u) = purl.as_deref().and_then(|p| purl_qualifier(p, "upstream")) {
        // "openssl" or "openssl@3.0.11-1" (syft) or "openssl 3.0.11-1", decoded.
        match u.split_once(['@', ' ']) {
            Some((n, v)) => {
                source_name = Some(n.to_string());
                source_version = Some(v.to_string());
            }
            None => source_name = Some(u),
        }
    }
    if let Some(s) = &p.source_package {
        if !s.name.is_empty() {
            source_name = Some(s.name.clone());
        }
        if let Some(v) = s.version.as_ref().filter(|v| !v.is_empty()) {
            source_version = Some(v.clone());
        }
    }
    // A source build of a Debian source package, as its package note names it: matched by
    // that source package and version in the release of the image's Debian.
    let rebuilt = (p.metadata.get("debianSource"), p.metadata.get("debianSourceVersion"));
    if let (false, Some(src), Some(ver)) = (is_os_pkg, rebuilt.0, rebuilt.1) {
        let debian = image_distro.filter(|d| d.id == "debian");
        if debian.is_some() && !src.is_empty() && !ver.is_empty() {
            (source_name, source_version, distro) = (Some(src.clone()), Some(ver.clone()), debian.cloned());
        }
    }
    // A Debian package is matched by its release's data, never by CPE (grype's dpkg matcher
    // leaves CPEs off): without a release to match in, its CPEs (syft's, generated from the
    // name) are not used either.
    let cpes = if p.kind == "deb" && distro.is_none() { Vec::new() } else { p.cpes.clone() };
    let facts = PackageFacts {
        id: p.id.clone(),
        found_by: p.found_by.clone(),
        locations: p
            .locations
            .iter()
            .map(|l| FactLocation { path: l.path.clone(), layer_id: l.layer.clone() })
            .collect(),
        licenses: p.licenses.clone(),
        metadata: p.metadata.clone(),
    };
    ScanPackage {
        name: p.name.clone(),
        version: p.version.clone(),
        purl,
        cpes,
        source_name,
        source_version,
        distro,
        facts,
    }
}

/// Parses an SBOM document (no header checks); `default_distro` applies to OS packages
/// without one.
pub fn parse(doc: &Value, default_distro: Option<&Distro>) -> Vec<ScanPackage> {
    packages(&cyclonedx::from_document(doc), default_distro)
}

/// Reads a CycloneDX JSON SBOM file.
pub fn read(path: &Path, default_distro: Option<&Distro>) -> Result<Vec<ScanPackage>> {
    Ok(read_with_warnings(path, default_distro)?.0)
}

/// [`read`], with the warnings the SBOM's writer recorded.
pub fn read_with_warnings(path: &Path, default_distro: Option<&Distro>) -> Result<(Vec<ScanPackage>, Vec<String>)> {
    let sbom = read_sbom(path)?;
    Ok((packages(&sbom, default_distro), sbom.warnings))
}

/// A CycloneDX JSON file read into the SBOM model.
fn read_sbom(path: &Path) -> Result<Sbom> {
    let bytes = super::import::read_file(path)?;
    cyclonedx::read(&bytes, &path.display().to_string()).map_err(|e| VulnError::Input {
        path: path.to_path_buf(),
        what: match e {
            SbomError::Read { reason, .. } => format!("not a CycloneDX JSON document: {reason}"),
            other => other.to_string(),
        },
    })
}

/// The SBOM model's distribution of a scan's one (a default given for files that name none).
fn model_distro(d: &Distro) -> SbomDistro {
    SbomDistro {
        id: d.id.clone(),
        version_id: Some(d.version_id.clone()),
        codename: d.codename.clone(),
        id_like: if d.id == "debian" { Vec::new() } else { vec!["debian".into()] },
        ..SbomDistro::default()
    }
}

/// The packages of a generated SBOM, converted exactly as `scan sbom:FILE` converts the SBOM
/// it reads (so an image and its SBOM file scan the same).
pub fn from_sbom(sbom: &Sbom) -> Vec<ScanPackage> {
    packages(sbom, None)
}

/// A dpkg status file (`/var/lib/dpkg/status`) read by the dpkg cataloger, as an image's is,
/// then converted as an image's packages are. `distro` is the release the packages come from
/// (a status file names none). A file the cataloger cannot read is a warning, as in an image.
pub fn read_dpkg_status(path: &Path, distro: Option<&Distro>) -> Result<Catalogue> {
    let bytes = super::import::read_file(path)?;
    Ok(dpkg_status(&path.display().to_string(), &bytes, distro))
}

/// [`read_dpkg_status`] of a status file's content, named `name`.
fn dpkg_status(name: &str, bytes: &[u8], distro: Option<&Distro>) -> Catalogue {
    let name = name.to_string();
    let location = Location { path: name.clone(), layer: None };
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    match dpkg::parse_status(&location, &String::from_utf8_lossy(bytes)) {
        Ok(p) => found.push(Parsed::from(p)),
        Err(e) => warnings.push(format!("{}: {name}: {e}", dpkg::Dpkg.name())),
    }
    // A dpkg database's packages are Debian's or a derivative's (they get `pkg:deb/` purls).
    found.push(Parsed { distro: distro.map(model_distro), ..Parsed::default() });
    // No subject: a status file is not an image (and was never counted as a package).
    let source = SourceInfo { kind: "directory".into(), ..SourceInfo::default() };
    let sbom = crate::sbom::finish(source, found, warnings);
    let mut packages = packages(&sbom, distro);
    // Debian's rule, stated as a status file's packages have always been scanned: without
    // `Source:` the source is the package itself, without a source version it is the binary's.
    for p in packages.iter_mut().filter(|p| p.purl_type() == Some("deb")) {
        p.source_name.get_or_insert_with(|| p.name.clone());
        p.source_version.get_or_insert_with(|| p.version.clone());
    }
    Catalogue { packages, warnings: sbom.warnings, source: ScanSource::File(name), distro: sbom.distro }
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
    /// What was scanned, for the report (grype's `source`).
    pub source: ScanSource,
    /// The distribution of the scanned system, for the report (grype's `distro`): the image's,
    /// the SBOM's, or the default one given for a file that names none.
    pub distro: Option<SbomDistro>,
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
        let sbom = read_sbom(Path::new(file))?;
        let distro = sbom.distro.clone().or_else(|| default_distro.map(model_distro));
        let packages = packages(&sbom, default_distro);
        return Ok(Catalogue { packages, warnings: sbom.warnings, source: ScanSource::SbomFile(file.into()), distro });
    }
    if let Some(file) = reference.strip_prefix("dpkg-status:") {
        return Ok(read_dpkg_status(Path::new(file), default_distro)?);
    }
    let image = crate::source::Source::parse(reference)?.open(&crate::source::OpenOptions::default())?;
    let sbom = crate::sbom::generate(&image, &crate::sbom::GenerateOptions::default())?;
    Ok(Catalogue {
        packages: from_sbom(&sbom),
        warnings: sbom.warnings.clone(),
        source: ScanSource::of_image(reference, &image),
        distro: sbom.distro.clone(),
    })
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

    #[test]
    fn a_status_file_goes_through_the_dpkg_cataloger() {
        let text = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1\n";
        let d = distro_from_os_release("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        assert_eq!(d.as_ref().and_then(|d| d.codename.as_deref()), Some("bookworm"));
        let c = dpkg_status("status", text.as_bytes(), d.as_ref());
        let p = &c.packages;
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(
            (p[0].source_name.as_deref(), p[0].source_version.as_deref()),
            (Some("openssl"), Some("3.0.11-1~deb12u2"))
        );
        assert_eq!(p[1].source_version.as_deref(), Some("1:1.2.13.dfsg-1"));
        assert_eq!(
            p[0].purl.as_deref(),
            Some("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl")
        );
        assert!(p.iter().all(|p| p.kind() == "deb" && p.distro.as_ref().is_some_and(|d| d.version_id == "12")));
        // A derivative's status file: its packages are still Debian packages, of that release.
        let ubuntu = Distro { id: "ubuntu".into(), version_id: "24.04".into(), codename: None };
        let p = &dpkg_status("status", text.as_bytes(), Some(&ubuntu)).packages[0];
        assert_eq!(p.purl_type(), Some("deb"));
        assert_eq!(p.distro.as_ref().map(|d| (d.id.as_str(), d.version_id.as_str())), Some(("ubuntu", "24.04")));
    }

    #[test]
    fn scalibr_fixtures() {
        // scalibr's status files, one root file system each (testdata/sbom/dpkg/README.md).
        let status = |name: &str| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/sbom/dpkg")
                .join(format!("scalibr-{name}"))
                .join("var/lib/dpkg/status")
        };
        // (file, packages kept, warnings): entries with Package and Version, not removed
        // (`config-files`, `not-installed`), as the dpkg cataloger reads an image's.
        for (name, want, warned) in [
            ("empty", 0, false),
            ("invalid", 0, true),
            ("single", 1, false),
            ("trailingnewlines", 1, false),
            // all but wantdeinstall_configfiles
            ("statusfield", 6, false),
            ("valid", 7, false),
        ] {
            let c = read_dpkg_status(&status(name), None).expect(name);
            assert_eq!((c.packages.len(), !c.warnings.is_empty()), (want, warned), "{name}: {c:?}");
        }
        for name in ["nopackage", "noversion"] {
            let c = read_dpkg_status(&status(name), None).expect(name);
            assert!(c.packages.iter().all(|p| !p.name.is_empty() && !p.version.is_empty()));
        }
    }

    /// What other writers (and our older spelling) put in properties reaches the scan through
    /// the model, as does every CPE of our own documents.
    #[test]
    fn facts_of_every_writer_reach_the_scan() {
        let doc = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"type": "library", "name": "libssl3", "version": "3.0.11-1~deb12u2",
             "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=bookworm",
             "properties": [{"name": "syft:metadata:source", "value": "openssl"},
                            {"name": "syft:metadata:sourceVersion", "value": "3.0.11-1~deb12u2"}]},
            {"type": "library", "name": "old", "version": "1", "purl": "pkg:deb/debian/old@1",
             "properties": [{"name": "armorred:source-name", "value": "older"},
                            {"name": "armorred:source-version", "value": "0.9"}]},
            {"type": "application", "name": "nginx", "version": "1.26.3",
             "cpe": "cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*",
             "properties": [{"name": "armorred:cpe23", "value": "cpe:2.3:a:nginx:nginx:1.26.3:*:*:*:*:*:*:*"},
                            {"name": "syft:cpe23", "value": "cpe:2.3:a:nginx_inc:nginx:1.26.3:*:*:*:*:*:*:*"}]},
            {"type": "operating-system", "name": "Debian", "version": "12"}]});
        let p = parse(&doc, None);
        let by = |n: &str| p.iter().find(|p| p.name == n).unwrap_or_else(|| panic!("{n}: {p:?}"));
        let ssl = by("libssl3");
        assert_eq!(
            (ssl.source_name.as_deref(), ssl.source_version.as_deref()),
            (Some("openssl"), Some("3.0.11-1~deb12u2"))
        );
        // A codename in the purl's distro= is looked up in the one table.
        assert_eq!(
            ssl.distro.as_ref().map(|d| (d.id.as_str(), d.version_id.as_str(), d.codename.as_deref())),
            Some(("debian", "12", Some("bookworm")))
        );
        let old = by("old");
        assert_eq!((old.source_name.as_deref(), old.source_version.as_deref()), (Some("older"), Some("0.9")));
        // No distro= qualifier: the operating-system component's, its name lowercased.
        assert_eq!(old.distro.as_ref().map(|d| (d.id.as_str(), d.version_id.as_str())), Some(("debian", "12")));
        assert_eq!(by("nginx").cpes.len(), 3, "{:?}", by("nginx").cpes);
        // An SBOM without a distribution takes the default one for its OS packages only.
        let bare = serde_json::json!({"bomFormat": "CycloneDX", "components": [
            {"type": "library", "name": "a", "version": "1", "purl": "pkg:deb/debian/a@1"},
            {"type": "library", "name": "b", "version": "1", "purl": "pkg:pypi/b@1"}]});
        let d12 = Distro { id: "debian".into(), version_id: "12".into(), codename: None };
        let p = parse(&bare, Some(&d12));
        assert!(p[0].distro.is_some() && p[1].distro.is_none(), "{p:?}");
    }
}

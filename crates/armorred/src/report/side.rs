//! Building a comparison [`Side`] from what the other modules produce: the packages of an SBOM
//! and the matches of a scan.

use std::path::Path;

use super::compare::{Component, Finding, Side};
use super::image::image_facts;
use super::ReportError;
use crate::sbom::GenerateOptions;
use crate::source::{Limits, OpenOptions, Source};
use crate::vuln::db::Db;
use crate::vuln::{scan_packages, ScanOptions, ScanPackage, ScanResult};

/// Reads one side of a comparison and scans it with `db`: `sbom:FILE` (CycloneDX), or an image
/// source (`oci-dir:`, `docker-archive:`, `registry:`, `dir:`, ...), which also gives sizes,
/// file facts and checksec.
pub fn side_from_source(reference: &str, db: &Db) -> Result<Side, ReportError> {
    let err = |source| ReportError::Side { reference: reference.to_owned(), source: Box::new(source) };
    if let Some(file) = reference.strip_prefix("sbom:") {
        let packages = crate::vuln::sbom::read(Path::new(file), None).map_err(err)?;
        let result = scan_packages(db, &packages, &ScanOptions::default()).map_err(err)?;
        return Ok(Side::from_scan(reference, None, &packages, &result));
    }
    let image_err =
        |source: crate::Error| ReportError::Image { reference: reference.to_owned(), source: Box::new(source) };
    let image =
        Source::parse(reference).and_then(|s| s.open(&OpenOptions::default())).map_err(|e| image_err(e.into()))?;
    let sbom = crate::sbom::generate(&image, &GenerateOptions::default()).map_err(|e| image_err(e.into()))?;
    let packages = crate::vuln::sbom::from_sbom(&sbom);
    let result = scan_packages(db, &packages, &ScanOptions::default()).map_err(err)?;
    let facts = image_facts(&image, &Limits::default()).map_err(|e| image_err(e.into()))?;
    Ok(Side::from_scan(reference, image.digest.as_deref(), &packages, &result).with_image_facts(&facts))
}

impl Side {
    /// A side from scanned packages and their scan result. Sizes, file facts and checksec are
    /// left empty: they need the image itself.
    pub fn from_scan(name: &str, digest: Option<&str>, packages: &[ScanPackage], result: &ScanResult) -> Self {
        let components = packages
            .iter()
            .map(|p| Component {
                name: p.name.clone(),
                version: p.version.clone(),
                kind: p.purl_type().unwrap_or("unknown").to_owned(),
                purl: p.purl.clone(),
                source: p.source_name.clone(),
            })
            .collect();
        let findings = result
            .matches
            .iter()
            .map(|m| Finding {
                id: m.vulnerability.id.clone(),
                aliases: m.related.iter().map(|r| r.id.clone()).filter(|id| *id != m.vulnerability.id).collect(),
                severity: m.vulnerability.severity,
                package: m.artifact.name.clone(),
                version: m.artifact.version.clone(),
                fix_state: m.vulnerability.fix_state,
                fixed_in: m.vulnerability.fix_versions.clone(),
            })
            .collect();
        Self { name: name.to_owned(), digest: digest.map(str::to_owned), components, findings, ..Self::default() }
    }
}

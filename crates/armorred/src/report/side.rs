//! Building a comparison [`Side`] from what the other modules produce: the packages of an SBOM,
//! the matches of a scan (on the fly with the DB, or read from a grype-shaped JSON result), the
//! image's own facts, and what a source build record says the build left out.

use std::path::Path;

use super::build_record::SourceBuild;
use super::compare::{Component, Finding, Side};
use super::image::{image_facts_probing, BinaryProbe};
use super::ReportError;
use crate::sbom::GenerateOptions;
use crate::source::{Limits, OpenOptions, Source};
use crate::vuln::db::Db;
use crate::vuln::report::json::ReadScan;
use crate::vuln::{scan_packages, ScanOptions, ScanPackage, ScanResult};

/// What else goes into a side besides its reference.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideOptions<'a> {
    /// A grype-shaped JSON scan result (`grype -o json`, `armorred scan -o json`) of an
    /// `sbom:FILE` side: its findings are taken as they are and the DB is not used for the side.
    /// An image side with a scan result is an error: an image is catalogued here, and findings
    /// made from another catalogue would not match its components.
    pub scan: Option<&'a Path>,
    /// The source build record of the side's source-built component: fills
    /// [`Side::compiled_out`], with the image's binaries checked when the side is an image.
    pub build_record: Option<&'a SourceBuild>,
}

/// Reads one side of a comparison and scans it with `db`: `sbom:FILE` (CycloneDX), or an image
/// source (`oci-dir:`, `docker-archive:`, `registry:`, `dir:`, ...), which also gives sizes,
/// file facts and checksec.
pub fn side_from_source(reference: &str, db: &Db) -> Result<Side, ReportError> {
    read_side(reference, Some(db), &SideOptions::default())
}

/// Reads one side of a comparison: `sbom:FILE` with its findings from `options.scan` or from a
/// scan with `db`, or an image source scanned with `db`. `db` may be `None` only for an SBOM side
/// with a scan result.
pub fn read_side(reference: &str, db: Option<&Db>, options: &SideOptions<'_>) -> Result<Side, ReportError> {
    let err = |source| ReportError::Side { reference: reference.to_owned(), source: Box::new(source) };
    let need_db = || db.ok_or_else(|| ReportError::NoDb { reference: reference.to_owned() });
    if let Some(file) = reference.strip_prefix("sbom:") {
        let packages = crate::vuln::sbom::read(Path::new(file), None).map_err(err)?;
        let mut side = match options.scan {
            Some(scan) => {
                let scan = crate::vuln::report::json::read(scan).map_err(err)?;
                Side::from_read_scan(reference, &packages, &scan)
            }
            None => {
                let result = scan_packages(need_db()?, &packages, &ScanOptions::default()).map_err(err)?;
                Side::from_scan(reference, None, &packages, &result)
            }
        };
        if let Some(record) = options.build_record {
            side.compiled_out = record.compiled_out(None);
        }
        return Ok(side);
    }
    if options.scan.is_some() {
        return Err(ReportError::ScanNeedsSbom { reference: reference.to_owned() });
    }
    let db = need_db()?;
    let image_err =
        |source: crate::Error| ReportError::Image { reference: reference.to_owned(), source: Box::new(source) };
    let image =
        Source::parse(reference).and_then(|s| s.open(&OpenOptions::default())).map_err(|e| image_err(e.into()))?;
    let sbom = crate::sbom::generate(&image, &GenerateOptions::default()).map_err(|e| image_err(e.into()))?;
    let packages = crate::vuln::sbom::from_sbom(&sbom);
    let result = scan_packages(db, &packages, &ScanOptions::default()).map_err(err)?;
    let probe = options.build_record.map(|r| BinaryProbe { component: r.component.clone(), names: r.feature_names() });
    let (facts, checks) =
        image_facts_probing(&image, &Limits::default(), probe.as_ref()).map_err(|e| image_err(e.into()))?;
    let mut side = Side::from_scan(reference, image.digest.as_deref(), &packages, &result).with_image_facts(&facts);
    if let Some(record) = options.build_record {
        side.compiled_out = record.compiled_out(Some(&checks));
    }
    Ok(side)
}

/// The SBOM components of scanned packages.
fn components(packages: &[ScanPackage]) -> Vec<Component> {
    packages
        .iter()
        .map(|p| Component {
            name: p.name.clone(),
            version: p.version.clone(),
            kind: p.purl_type().unwrap_or("unknown").to_owned(),
            purl: p.purl.clone(),
            source: p.source_name.clone(),
        })
        .collect()
}

impl Side {
    /// A side from scanned packages and their scan result. Sizes, file facts and checksec are
    /// left empty: they need the image itself.
    pub fn from_scan(name: &str, digest: Option<&str>, packages: &[ScanPackage], result: &ScanResult) -> Self {
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
        let db_digest = Some(&result.db_sha256).filter(|d| !d.is_empty()).map(|d| format!("sha256:{d}"));
        Self {
            name: name.to_owned(),
            digest: digest.map(str::to_owned),
            components: components(packages),
            findings,
            db_digest,
            ..Self::default()
        }
    }

    /// A side from an SBOM's packages and a scan result read from a file (grype's JSON shape).
    pub fn from_read_scan(name: &str, packages: &[ScanPackage], scan: &ReadScan) -> Self {
        let findings = scan
            .findings
            .iter()
            .map(|f| Finding {
                id: f.id.clone(),
                aliases: f.related.clone(),
                severity: f.severity,
                package: f.package.clone(),
                version: f.version.clone(),
                fix_state: f.fix_state,
                fixed_in: f.fix_versions.clone(),
            })
            .collect();
        Self {
            name: name.to_owned(),
            components: components(packages),
            findings,
            db_digest: scan.db_digest.clone(),
            ..Self::default()
        }
    }
}

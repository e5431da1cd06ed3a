//! The build record (`<output>.build.json`): inputs with digests, tier, SOURCE_DATE_EPOCH, the
//! checksec verdict, the result and timings, for the SBOM, provenance and reports.

use std::path::Path;

use serde_json::json;
use sha2::Digest;

use super::debian::Lock;
use super::{BuildError, BuildReport};
use crate::spec::ImageSpec;
use crate::tier::Tier;

/// Format version of the record.
pub const RECORD_VERSION: u32 = 1;

fn file_digest(dir: &Path, rel: &Path) -> Result<String, BuildError> {
    let data = crate::spec::read_definition_file(dir, rel).map_err(|e| BuildError::Io {
        what: format!("read {}", dir.join(rel).display()),
        source: std::io::Error::other(e),
    })?;
    Ok(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data))))
}

/// Serializes the record (pretty JSON, stable key order).
pub fn record(
    dir: &Path,
    spec: &ImageSpec,
    lock: &Lock,
    tier: Tier,
    report: &BuildReport,
) -> Result<Vec<u8>, BuildError> {
    let mut files = Vec::new();
    let tier_files = spec.tiers.get(&tier).map(|t| t.files.as_slice()).unwrap_or_default();
    for f in spec.files.iter().chain(tier_files) {
        if let Some(src) = &f.source {
            files.push(json!({
                "path": src.display().to_string(),
                "destination": f.path,
                "digest": file_digest(dir, src)?,
            }));
        }
    }
    let packages: Vec<_> = lock
        .tier_packages(tier)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "version": p.version,
                "architecture": p.architecture,
                "source": p.source,
                "source_version": p.source_version,
                "suite": p.suite,
                "filename": p.filename,
                "digest": format!("sha256:{}", p.sha256),
            })
        })
        .collect();
    let value = json!({
        "record_version": RECORD_VERSION,
        "builder": { "name": "armorred", "version": env!("CARGO_PKG_VERSION") },
        "image": spec.name,
        "tier": tier,
        "source_date_epoch": report.source_date_epoch,
        "inputs": {
            "definition": { "path": "image.toml", "digest": file_digest(dir, Path::new("image.toml"))? },
            "lock": { "path": "image.lock", "digest": file_digest(dir, Path::new("image.lock"))? },
            "files": files,
            "suites": lock.suites.iter().map(|s| json!({
                "name": s.name,
                "date": s.date,
                "inrelease_digest": format!("sha256:{}", s.inrelease_sha256),
                "signed_by": s.signed_by,
            })).collect::<Vec<_>>(),
            "packages": packages,
        },
        "output": {
            "kind": report.output.kind(),
            "manifest_digest": report.manifest_digest,
            "config_digest": report.config_digest,
            "compressed_size": report.compressed_size,
            "uncompressed_size": report.uncompressed_size,
            "packages": report.packages,
            "files": report.files,
        },
        "checksec": report.gate,
        "timings_ms": report.timings,
    });
    let mut value = value;
    if let Some(sb) = &report.source_build {
        value["source_build"] = serde_json::to_value(sb).map_err(|e| BuildError::Io {
            what: "serialize the source build record".into(),
            source: std::io::Error::other(e),
        })?;
    }
    let mut out = serde_json::to_vec_pretty(&value).unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

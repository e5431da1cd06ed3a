//! The build record (`<output>.build.json`): inputs with digests, tier, SOURCE_DATE_EPOCH, the
//! checksec verdict, the result, the start and finish times and the timings, for the SBOM,
//! provenance ([`crate::provenance`]) and reports. [`ImageRecord`] is the one model: written
//! here, read back by [`parse`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::compile::BuildRecord;
use super::debian::Lock;
use super::{BuildError, BuildReport};
use crate::spec::ImageSpec;
use crate::tier::Tier;

/// Format version of the record.
pub const RECORD_VERSION: u32 = 1;

/// A whole image build record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// [`RECORD_VERSION`].
    pub record_version: u32,
    /// The program that built the image.
    pub builder: Builder,
    /// Image name (the definition's `name`).
    pub image: String,
    /// Tier built.
    pub tier: Tier,
    /// SOURCE_DATE_EPOCH used.
    pub source_date_epoch: i64,
    /// Every input, with its digest.
    pub inputs: Inputs,
    /// What was written.
    pub output: RecordOutput,
    /// The checksec gate's verdict.
    pub checksec: serde_json::Value,
    /// When the build started (RFC 3339 UTC, real time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// When the build finished (RFC 3339 UTC, real time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
    /// Wall time of each stage in milliseconds.
    pub timings_ms: BTreeMap<String, u128>,
    /// The source build, for a source-built tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_build: Option<BuildRecord>,
}

/// Name and version of the builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// `armorred`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The build's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// `image.toml`.
    pub definition: InputFile,
    /// `image.lock`.
    pub lock: InputFile,
    /// The definition's `[[files]]` with a source.
    pub files: Vec<InputCopy>,
    /// The suites, as verified at lock time.
    pub suites: Vec<InputSuite>,
    /// The tier's packages.
    pub packages: Vec<InputPackage>,
}

/// A file of the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path relative to the definition's directory.
    pub path: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

/// A `[[files]]` entry copied from the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputCopy {
    /// Source path relative to the definition's directory.
    pub path: String,
    /// Path in the image.
    pub destination: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

/// A suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSuite {
    /// Suite name.
    pub name: String,
    /// Release `Date`.
    pub date: String,
    /// `sha256:<hex>` of the verified InRelease.
    pub inrelease_digest: String,
    /// Fingerprint of the key that signed it.
    pub signed_by: String,
}

/// A pinned Debian package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputPackage {
    /// Binary package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Source package name.
    pub source: String,
    /// Source version.
    pub source_version: String,
    /// Suite.
    pub suite: String,
    /// Pool path relative to the mirror base.
    pub filename: String,
    /// `sha256:<hex>` of the `.deb`.
    pub digest: String,
}

/// What the build wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordOutput {
    /// `oci-dir` or `docker-archive`.
    pub kind: String,
    /// Manifest digest.
    pub manifest_digest: String,
    /// Config digest.
    pub config_digest: String,
    /// Compressed layer bytes.
    pub compressed_size: u64,
    /// Uncompressed layer bytes.
    pub uncompressed_size: u64,
    /// Packages installed.
    pub packages: usize,
    /// Entries in the layer.
    pub files: usize,
}

impl RecordOutput {
    /// What `report`'s build wrote.
    pub(crate) fn of(report: &BuildReport) -> Self {
        Self {
            kind: report.output.kind().into(),
            manifest_digest: report.manifest_digest.clone(),
            config_digest: report.config_digest.clone(),
            compressed_size: report.compressed_size,
            uncompressed_size: report.uncompressed_size,
            packages: report.packages,
            files: report.files,
        }
    }
}

fn file_digest(dir: &Path, rel: &Path) -> Result<String, BuildError> {
    let data = crate::spec::read_definition_file(dir, rel).map_err(|e| BuildError::Io {
        what: format!("read {}", dir.join(rel).display()),
        source: std::io::Error::other(e),
    })?;
    Ok(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data))))
}

fn io(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> BuildError {
    BuildError::Io { what: what.into(), source: std::io::Error::other(e) }
}

/// The record of a build.
pub fn image_record(
    dir: &Path,
    spec: &ImageSpec,
    lock: &Lock,
    tier: Tier,
    report: &BuildReport,
) -> Result<ImageRecord, BuildError> {
    let mut files = Vec::new();
    let tier_files = spec.tiers.get(&tier).map(|t| t.files.as_slice()).unwrap_or_default();
    for f in spec.files.iter().chain(tier_files) {
        if let Some(src) = &f.source {
            files.push(InputCopy {
                path: src.display().to_string(),
                destination: f.path.clone(),
                digest: file_digest(dir, src)?,
            });
        }
    }
    let packages = lock
        .tier_packages(tier)
        .unwrap_or_default()
        .iter()
        .map(|p| InputPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            architecture: p.architecture.clone(),
            source: p.source.clone(),
            source_version: p.source_version.clone(),
            suite: p.suite.clone(),
            filename: p.filename.clone(),
            digest: format!("sha256:{}", p.sha256),
        })
        .collect();
    let suites = lock
        .suites
        .iter()
        .map(|s| InputSuite {
            name: s.name.clone(),
            date: s.date.clone(),
            inrelease_digest: format!("sha256:{}", s.inrelease_sha256),
            signed_by: s.signed_by.clone(),
        })
        .collect();
    Ok(ImageRecord {
        record_version: RECORD_VERSION,
        builder: Builder { name: "armorred".into(), version: env!("CARGO_PKG_VERSION").into() },
        image: spec.name.clone(),
        tier,
        source_date_epoch: report.source_date_epoch,
        inputs: Inputs {
            definition: InputFile { path: "image.toml".into(), digest: file_digest(dir, Path::new("image.toml"))? },
            lock: InputFile { path: "image.lock".into(), digest: file_digest(dir, Path::new("image.lock"))? },
            files,
            suites,
            packages,
        },
        output: RecordOutput::of(report),
        checksec: serde_json::to_value(&report.gate).map_err(|e| io("serialize the checksec verdict", e))?,
        started_on: Some(report.started_on.clone()),
        finished_on: Some(report.finished_on.clone()),
        timings_ms: report.timings.clone(),
        source_build: report.source_build.clone(),
    })
}

/// Serializes the record (pretty JSON, stable key order).
pub fn record(
    dir: &Path,
    spec: &ImageSpec,
    lock: &Lock,
    tier: Tier,
    report: &BuildReport,
) -> Result<Vec<u8>, BuildError> {
    let rec = image_record(dir, spec, lock, tier, report)?;
    let mut out = serde_json::to_vec_pretty(&rec).map_err(|e| io("serialize the build record", e))?;
    out.push(b'\n');
    Ok(out)
}

/// Reads a record as [`record`] writes it; `origin` names it in errors.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<ImageRecord, BuildError> {
    serde_json::from_slice(bytes).map_err(|e| BuildError::Io {
        what: format!("read the build record {}", origin.display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

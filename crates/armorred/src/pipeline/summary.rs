//! The pipeline's machine-readable result: `summary.json` in each `out/<image>/<variant>/` and
//! `out/index.json` over every image, the files the site and the monitor read. Their schemas are
//! in `docs/schema/` and documented in `docs/outputs.md`; a test validates what the pipeline
//! writes against them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `schema` of a summary.
pub const SUMMARY_SCHEMA: &str = "armorred-summary/1";
/// `schema` of the index.
pub const INDEX_SCHEMA: &str = "armorred-index/1";

/// One built (or read) image: `out/<image>/<variant>/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA`].
    pub schema: String,
    /// armorred's version.
    pub tool_version: String,
    /// The image (definition) name: `nginx`.
    pub image: String,
    /// `hardened`, `locked`, or `upstream` for the image compared with.
    pub variant: String,
    /// Where the image came from: `oci-dir:out/nginx/hardened/image`, or the upstream source.
    pub source: String,
    /// The manifest digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The image's creation time (RFC 3339), as its config says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Layer bytes.
    pub size: SizeSummary,
    /// SBOM components.
    pub components: usize,
    /// What is in the file system.
    pub files: FilesSummary,
    /// checksec over every ELF file.
    pub checksec: ChecksecSummary,
    /// The build, when armorred built this image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    /// The scan, when a vulnerability DB was there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanSummary>,
    /// The comparison with upstream, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparisonSummary>,
    /// The signature and attestations stored in the image layout, when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningSummary>,
    /// The vulnerability DB scanned with: its age and where each source came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<DbSummary>,
    /// The other files of this directory, relative to it.
    pub paths: BTreeMap<String, String>,
}

/// What the pipeline signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSummary {
    /// The public key that verifies them (`cosign verify --key`).
    pub public_key: String,
    /// The manifest digest signed.
    pub signed_digest: String,
    /// The docker-reference the signature names.
    pub reference: String,
    /// The predicate types attested, in order.
    pub attestations: Vec<String>,
}

/// Layer bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeSummary {
    /// The layers as transferred (compressed), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed: Option<u64>,
    /// Every regular file's bytes.
    pub uncompressed: u64,
}

/// What is in the file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSummary {
    /// Regular files.
    pub files: u64,
    /// ELF files among them.
    pub elf_binaries: u64,
    /// Shells present (`/bin/sh`, ...).
    pub shells: Vec<String>,
    /// Files with the setuid or setgid bit.
    pub setuid: Vec<String>,
}

/// checksec over every ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksecSummary {
    /// ELF files analysed.
    pub files: usize,
    /// ELF files that could not be analysed.
    pub errors: usize,
    /// Files with each protection, by checksec's property name (`relro` counts full RELRO).
    pub with: BTreeMap<String, usize>,
}

/// The build of an image armorred built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSummary {
    /// The tier it was built as.
    pub tier: String,
    /// Debian packages installed.
    pub packages: usize,
    /// SOURCE_DATE_EPOCH.
    pub source_date_epoch: i64,
    /// The checksec gate: whether every ELF file passed the tier's policy.
    pub gate_passed: bool,
    /// Whether a failing gate fails the build.
    pub gate_enforced: bool,
    /// Whether a cached source build of the same inputs was reused.
    pub source_build_reused: bool,
}

/// The scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSummary {
    /// sha256 of the DB.
    pub db: String,
    /// When the DB was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_built: Option<String>,
    /// Findings (package, vulnerability pairs).
    pub findings: usize,
    /// Distinct vulnerabilities.
    pub vulnerabilities: usize,
    /// Findings by severity (`critical`, `high`, `medium`, `low`, `negligible`, `unknown`).
    pub by_severity: BTreeMap<String, usize>,
}

/// The vulnerability DB the scan used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSummary {
    /// `sha256:` of the DB file.
    pub digest: String,
    /// When it was last written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built: Option<String>,
    /// Its age in hours when the pipeline ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_hours: Option<u64>,
    /// The age over which it is stale (`armorred.toml`'s `[db] max_age_hours`).
    pub max_age_hours: u64,
    /// Whether it was older than that (a warning in the index's notes).
    pub stale: bool,
    /// Whether the pipeline updated it before the scan.
    pub updated: bool,
    /// Every source, by name.
    pub sources: Vec<DbSourceSummary>,
}

/// One source of the DB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSourceSummary {
    /// `<format>:<name>`.
    pub name: String,
    /// The configuration's feed it came from, when `db update` imported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// The location it was taken from (URL or local path), when `db update` imported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Advisory records.
    pub records: u64,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
}

/// The comparison with upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSummary {
    /// The upstream image compared with (its source).
    pub upstream: String,
    /// What it stands for, as the definition's `[upstream]` describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_description: Option<String>,
    /// Distinct vulnerabilities upstream.
    pub upstream_vulnerabilities: u64,
    /// Distinct vulnerabilities here.
    pub vulnerabilities: u64,
    /// `(upstream - here) / upstream`.
    pub reduction: f64,
    /// Components upstream.
    pub upstream_components: u64,
}

/// `out/index.json`: every image the pipeline ran, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// [`INDEX_SCHEMA`].
    pub schema: String,
    /// armorred's version.
    pub tool_version: String,
    /// One entry per image definition.
    pub images: Vec<IndexImage>,
    /// Stages skipped, with the reason.
    pub notes: Vec<String>,
}

/// One image of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexImage {
    /// The image name.
    pub name: String,
    /// The definition's directory, as given.
    pub definition: String,
    /// The image compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<IndexEntry>,
    /// One per tier built, in order.
    pub tiers: Vec<IndexEntry>,
}

/// One summary of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// `hardened`, `locked` or `upstream`.
    pub variant: String,
    /// The manifest digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Its `summary.json`, relative to the index.
    pub summary: String,
    /// Distinct vulnerabilities, when scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<usize>,
}

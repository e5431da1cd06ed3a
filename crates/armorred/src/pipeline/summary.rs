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
    /// The "never behind" gate: vulnerabilities this tier carries that another tier or upstream
    /// has fixed, each accepted by the definition with its reason or failing the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<crate::report::behind::Behind>,
    /// Where the signed tier was pushed, when a registry is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
    /// The vulnerability DB scanned with: its age and where each source came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<DbSummary>,
    /// The other files of this directory, relative to it.
    pub paths: BTreeMap<String, String>,
}

/// Where the pipeline pushed a tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSummary {
    /// `HOST[:PORT]/PREFIX/<image>:<tier>`.
    pub reference: String,
    /// `HOST[:PORT]/PREFIX/<image>`, the repository the signature names.
    pub repository: String,
    /// The manifest digest the tag names.
    pub digest: String,
    /// The attachments pushed beside it (cosign's tags: signatures, attestations).
    pub attachments: Vec<String>,
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
    /// When the scan finished (RFC 3339; `SOURCE_DATE_EPOCH` when set). The scan report's own
    /// `descriptor.timestamp` is the image's creation time, so that the report is reproducible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned_at: Option<String>,
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
    /// Layer bytes, as in the summary.
    pub size: SizeSummary,
    /// SBOM components.
    pub components: usize,
    /// Findings by severity, when scanned (as the summary's `scan.by_severity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_severity: Option<BTreeMap<String, usize>>,
    /// checksec over every ELF file, as in the summary.
    pub checksec: ChecksecSummary,
    /// Against the upstream reference, for a tier compared with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduction: Option<Reduction>,
}

/// How much smaller a tier is than its upstream reference, each as `(upstream - here) /
/// upstream` (negative when larger).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    /// Every regular file's bytes.
    pub size: f64,
    /// SBOM components.
    pub components: f64,
    /// Distinct vulnerabilities, when both sides were scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<f64>,
}

impl Reduction {
    /// `here` against `upstream`.
    pub fn of(here: &Summary, upstream: &Summary) -> Self {
        let frac = |up: f64, here: f64| if up > 0.0 { (up - here) / up } else { 0.0 };
        Reduction {
            size: frac(upstream.size.uncompressed as f64, here.size.uncompressed as f64),
            components: frac(upstream.components as f64, here.components as f64),
            vulnerabilities: match (&here.scan, &upstream.scan) {
                (Some(h), Some(u)) => Some(frac(u.vulnerabilities as f64, h.vulnerabilities as f64)),
                _ => None,
            },
        }
    }
}

/// The severities of the catalog table, in its column order.
const SEVERITIES: [(&str, &str); 5] =
    [("critical", "CRIT"), ("high", "HIGH"), ("medium", "MED"), ("low", "LOW"), ("negligible", "NEGL")];

/// The catalog table over every image and variant of an index: image, tier, size, components,
/// findings by severity, the checksec summary and the reduction against upstream; the same
/// figures `out/index.json` holds. Plain text, one row per variant, aligned columns.
pub fn catalog_table(index: &Index) -> String {
    let mut header: Vec<String> = ["IMAGE", "TIER", "SIZE", "COMPONENTS"].iter().map(|s| (*s).to_owned()).collect();
    header.extend(SEVERITIES.iter().map(|(_, h)| (*h).to_owned()));
    header.extend(
        ["UNKNOWN", "ELF", "FULL RELRO", "CANARY", "PIE", "SAFESTACK", "CFI", "CET", "VS UPSTREAM"].map(String::from),
    );
    let mut rows = vec![header];
    for image in &index.images {
        for e in image.upstream.iter().chain(&image.tiers) {
            let with = |k: &str| e.checksec.with.get(k).copied().unwrap_or(0).to_string();
            let mut row = vec![
                image.name.clone(),
                e.variant.clone(),
                crate::display::bytes(e.size.uncompressed),
                e.components.to_string(),
            ];
            for (k, _) in SEVERITIES.iter().map(|(k, h)| (*k, *h)).chain([("unknown", "")]) {
                row.push(e.by_severity.as_ref().map_or("-".into(), |s| s.get(k).copied().unwrap_or(0).to_string()));
            }
            row.extend([
                e.checksec.files.to_string(),
                with("relro"),
                with("canary"),
                with("pie"),
                with("safestack"),
                with("clangcfi"),
                e.checksec
                    .with
                    .get("cet_ibt")
                    .copied()
                    .unwrap_or(0)
                    .min(e.checksec.with.get("cet_shstk").copied().unwrap_or(0))
                    .to_string(),
            ]);
            row.push(match &e.reduction {
                None => "-".into(),
                Some(r) => {
                    // A reduction of 0.88 reads "-88%" (smaller), a growth "+5%".
                    let pct = |f: f64| if f.abs() < 0.005 { "0%".to_owned() } else { format!("{:+.0}%", -f * 100.0) };
                    let mut s = format!("size {} components {}", pct(r.size), pct(r.components));
                    if let Some(v) = r.vulnerabilities {
                        s.push_str(&format!(" CVEs {}", pct(v)));
                    }
                    s
                }
            });
            rows.push(row);
        }
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| if i == row.len() - 1 { cell.clone() } else { format!("{cell:<w$}") })
            .collect();
        out.push_str(crate::display::escape(line.join("  ").trim_end()).as_ref());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog table of a real (trimmed) pipeline output: every variant a row, the figures
    /// out/index.json holds.
    #[test]
    fn catalog_table_of_a_real_index() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/site/index.json");
        let index: Index = serde_json::from_slice(&std::fs::read(path).expect("index")).expect("parse");
        let table = catalog_table(&index);
        assert_eq!(table.lines().count(), 4, "{table}");
        insta::assert_snapshot!(table);
    }

    /// Reduction is `(upstream - here) / upstream`, negative when larger, zero over an empty
    /// upstream; vulnerabilities only when both were scanned.
    #[test]
    fn reduction_against_upstream() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/site/nginx/hardened/summary.json");
        let here: Summary = serde_json::from_slice(&std::fs::read(path).expect("summary")).expect("parse");
        let mut up = here.clone();
        up.size.uncompressed = here.size.uncompressed * 4;
        up.components = here.components * 2;
        let r = Reduction::of(&here, &up);
        assert!((r.size - 0.75).abs() < 1e-9 && (r.components - 0.5).abs() < 1e-9, "{r:?}");
        assert_eq!(r.vulnerabilities.is_some(), here.scan.is_some());
        up.scan = None;
        assert_eq!(Reduction::of(&here, &up).vulnerabilities, None);
        up.size.uncompressed = 0;
        assert_eq!(Reduction::of(&here, &up).size, 0.0);
        assert!(Reduction::of(&up, &here).components < 0.0, "a larger tier is a negative reduction");
    }
}

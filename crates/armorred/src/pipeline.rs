//! The main job: the nginx pipeline as a list of named stages, each wrapping its error as
//! "failed to <stage>".
//!
//! For each tier (hardened, then locked): build (from the committed lock; the locked tier
//! compiles nginx in the sandbox) → sbom → checksec → scan (when a vulnerability DB exists) →
//! compare (when an upstream image is given; the upstream side is read once). A stage that cannot run
//! for want of an input (no DB, no upstream image) is skipped with the reason in
//! [`PipelineOutcome::notes`], never silently.

use std::path::PathBuf;

use crate::build::debian::fetch::Cache;
use crate::build::debian::mirror::Mirror;
use crate::build::{self, BuildOptions, BuildReport, Output};
use crate::elf::ScanReport;
use crate::report::{self, Comparison, ImageFacts};
use crate::sbom::format::{Format as SbomFormat, Timestamp};
use crate::source::{Limits, OpenOptions, Source};
use crate::tier::Tier;
use crate::vuln::db::{self, Db};
use crate::vuln::report::{Format, ReportMeta, ScanSource};
use crate::vuln::{scan_packages, ScanOptions, ScanResult};

/// Errors of the pipeline, one variant per stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A stage failed.
    #[error("failed to {stage}")]
    Stage {
        /// The stage (`build the hardened image`, `generate the SBOM`, ...).
        stage: &'static str,
        /// The cause.
        #[source]
        source: Box<crate::Error>,
    },
}

fn stage<T, E: Into<crate::Error>>(stage: &'static str, r: Result<T, E>) -> Result<T, PipelineError> {
    r.map_err(|e| PipelineError::Stage { stage, source: Box::new(e.into()) })
}

/// Where `bench/upstream-reference.sh` writes the upstream reference image by default.
pub const UPSTREAM_REFERENCE: &str = "target/bench-upstream/upstream.tar";

/// What the pipeline runs on; [`PipelineOptions::new`] gives the embedded defaults.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// The image definition (image.toml + image.lock).
    pub image_dir: PathBuf,
    /// Where every output goes.
    pub out: PathBuf,
    /// The vulnerability DB; None: `$ARMORRED_DB`, else the user data dir.
    pub db: Option<PathBuf>,
    /// The upstream image to compare with (any image source).
    pub upstream: Option<String>,
    /// An explicit Debian mirror; else the host's apt configuration.
    pub mirror: Option<String>,
    /// The `.deb` cache; None: `$XDG_CACHE_HOME/armorred`.
    pub cache: Option<PathBuf>,
    /// The tiers to build, in order (default: hardened, then locked).
    pub tiers: Vec<Tier>,
}

impl PipelineOptions {
    /// The embedded defaults for `image_dir` and `out`: the DB at its default place, and the
    /// upstream reference where `bench/upstream-reference.sh` writes it by default
    /// (`target/bench-upstream/upstream.tar`), when it exists.
    pub fn new(image_dir: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        let out = out.into();
        let reference = PathBuf::from(UPSTREAM_REFERENCE);
        Self {
            image_dir: image_dir.into(),
            upstream: reference.exists().then(|| format!("docker-archive:{}", reference.display())),
            out,
            db: None,
            mirror: None,
            cache: None,
            tiers: Tier::ALL.to_vec(),
        }
    }
}

/// What the pipeline produced.
#[derive(Debug)]
pub struct PipelineOutcome {
    /// One result per tier, in the order asked for.
    pub tiers: Vec<TierOutcome>,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
    /// Stages skipped, with the reason.
    pub notes: Vec<String>,
}

/// What the pipeline produced for one tier.
#[derive(Debug)]
pub struct TierOutcome {
    /// The image build.
    pub build: BuildReport,
    /// checksec of every ELF file in the image.
    pub checksec: ScanReport,
    /// Where that report was written.
    pub checksec_path: PathBuf,
    /// The scan, when a DB was there.
    pub scan: Option<ScanResult>,
    /// The comparison, when an upstream image was given.
    pub comparison: Option<Comparison>,
}

fn write(path: PathBuf, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<(), PipelineError> {
    stage("write the reports", crate::fsutil::write_bytes_atomic(&path, bytes))?;
    written.push(path);
    Ok(())
}

/// Runs every stage in order, for each tier.
pub fn run(opts: &PipelineOptions) -> Result<PipelineOutcome, PipelineError> {
    let mut written = Vec::new();
    let mut notes = Vec::new();
    let cache = Cache::new(opts.cache.clone().unwrap_or_else(Cache::default_dir));

    let db_path = db::resolve_path(opts.db.as_deref());
    let db = if db_path.exists() {
        Some(stage("open the vulnerability DB", Db::open(&db_path))?)
    } else {
        notes.push(format!(
            "scan and compare skipped: no vulnerability DB at {} (run `armorred db import` or `armorred db update`)",
            db_path.display()
        ));
        None
    };
    // The upstream side is read and scanned once, for every tier's comparison.
    let upstream = match (&opts.upstream, &db) {
        (Some(upstream), Some(db)) => Some(stage("read the upstream image", report::side_from_source(upstream, db))?),
        (None, _) => {
            notes.push(format!(
                "compare skipped: no upstream image (--upstream SOURCE, or bench/upstream-reference.sh, which writes {UPSTREAM_REFERENCE})"
            ));
            None
        }
        _ => None,
    };

    let mut tiers = Vec::new();
    for &tier in &opts.tiers {
        let t = run_tier(tier, opts, &cache, db.as_ref(), upstream.as_ref(), &mut written)?;
        tiers.push(t);
    }
    Ok(PipelineOutcome { tiers, written, notes })
}

/// build → SBOM → checksec → scan → compare for one tier.
fn run_tier(
    tier: Tier,
    opts: &PipelineOptions,
    cache: &Cache,
    db: Option<&Db>,
    upstream: Option<&report::Side>,
    written: &mut Vec<PathBuf>,
) -> Result<TierOutcome, PipelineError> {
    let out = &opts.out;
    let name = format!("nginx-{tier}");
    // Stage 1: the image, from the committed lock (a source-built tier compiles in the sandbox).
    let image_dir = out.join(&name);
    let build_opts = BuildOptions {
        tier,
        output: Output::OciDir(image_dir.clone()),
        cache: cache.clone(),
        mirror: opts.mirror.as_deref().map(Mirror::from_base),
        source_date_epoch: None,
        revision: None,
        progress: None,
        reuse_source_build: true,
    };
    let build = stage("build the image", build::build(&opts.image_dir, &build_opts))?;
    written.push(image_dir.clone());
    let reference = format!("oci-dir:{}", image_dir.display());

    // Stage 2: its SBOM, CycloneDX and SPDX.
    let image = stage("open the image", Source::parse(&reference).and_then(|s| s.open(&OpenOptions::default())))?;
    let sbom = stage("generate the SBOM", crate::sbom::generate(&image, &crate::sbom::GenerateOptions::default()))?;
    for (format, ext) in [(SbomFormat::CycloneDxJson, "cdx.json"), (SbomFormat::SpdxJson, "spdx.json")] {
        let path = out.join(format!("{name}.{ext}"));
        let result =
            crate::fsutil::write_atomic(&path, |w| crate::sbom::format::write(&sbom, format, &Timestamp::Image, w));
        stage("write the SBOM", result)?;
        written.push(path);
    }

    // Stage 3: checksec of every ELF file in the image (and, for a source-built tier, which of
    // the recipe's features its binaries hold: the evidence for "compiled out").
    let record = build.source_build.as_ref().map(report::SourceBuild::from);
    let probe =
        record.as_ref().map(|r| report::BinaryProbe { component: r.component.clone(), names: r.feature_names() });
    let (facts, binaries): (ImageFacts, _) =
        stage("analyse the image's files", report::image_facts_probing(&image, &Limits::default(), probe.as_ref()))?;
    let checksec_json = crate::elf::checksec_json::scan_object(&facts.checksec, true);
    let checksec_path = out.join(format!("{name}.checksec.json"));
    write(checksec_path.clone(), &json_bytes(&checksec_json), written)?;

    // Stage 4: the scan, when a DB exists.
    let packages = crate::vuln::sbom::from_sbom(&sbom);
    let scan = match db {
        Some(db) => {
            let result = stage("scan the image", scan_packages(db, &packages, &ScanOptions::default()))?;
            let meta = ReportMeta {
                target: reference.clone(),
                timestamp: image.created.clone().unwrap_or_default(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                source: Some(ScanSource::of_image(&reference, &image)),
                distro: sbom.distro.clone(),
            };
            write(
                out.join(format!("{name}.scan.json")),
                crate::vuln::report::render(&result, Format::Json, &meta).as_bytes(),
                written,
            )?;
            Some(result)
        }
        None => None,
    };

    // Stage 5: the comparison with upstream, when both an upstream image and a DB are there.
    let comparison = match (upstream, db, &scan) {
        (Some(up), Some(db), Some(result)) => {
            let mut ours = report::Side::from_scan(&reference, image.digest.as_deref(), &packages, result)
                .with_image_facts(&facts);
            if let Some(r) = &record {
                ours.compiled_out = r.compiled_out(Some(&binaries));
            }
            let c = report::compare(up, &ours, Some(&format!("sha256:{}", db.sha256())));
            let base = format!("compare-{tier}");
            write(
                out.join(format!("{base}.json")),
                stage("render the comparison", report::render::json(&c))?.as_bytes(),
                written,
            )?;
            write(out.join(format!("{base}.md")), report::render::markdown(&c).as_bytes(), written)?;
            write(out.join(format!("{base}.html")), report::render::html(&c).as_bytes(), written)?;
            Some(c)
        }
        _ => None,
    };
    Ok(TierOutcome { build, checksec: facts.checksec, checksec_path, scan, comparison })
}

fn json_bytes(v: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The DB the pipeline would use, for messages.
pub fn db_path(opts: &PipelineOptions) -> PathBuf {
    db::resolve_path(opts.db.as_deref())
}

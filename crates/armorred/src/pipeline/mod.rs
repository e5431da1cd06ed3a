//! The main job, for every image definition: its upstream reference, then each tier, as a list
//! of named stages, each wrapping its error as "failed to <stage>".
//!
//! For each definition (by default every folder under `images/` holding an `image.toml`): the
//! upstream image (`[upstream]`: a reference definition armorred builds itself, or an image
//! source) → for each tier: build (from the committed lock; a source-built tier compiles in the
//! sandbox) → SBOMs → checksec → scan (when a vulnerability DB exists) → compare with upstream
//! (when both were scanned). Everything lands in `out/<image>/<variant>/` with a `summary.json`
//! there and `out/index.json` over all ([`summary`]; the layout is documented in
//! `docs/outputs.md`). A stage that cannot run for want of an input (no DB, no upstream) is
//! skipped with the reason in [`PipelineOutcome::notes`], never silently.

pub mod attest;
pub mod plan;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::debian::mirror::Mirror;
use crate::build::{self, BuildOptions, BuildReport, Output};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::elf::ScanReport;
use crate::report::{self, BinaryCheck, Comparison, ImageFacts};
use crate::sbom::format::{Format as SbomFormat, Timestamp};
use crate::source::{Limits, OpenOptions, Source};
use crate::spec::ImageSpec;
use crate::tier::Tier;
use crate::vuln::db::{self, Db};
use crate::vuln::report::{Format, ReportMeta, ScanSource};
use crate::vuln::{scan_packages, ScanOptions, ScanPackage, ScanResult};

use summary::{Index, IndexEntry, IndexImage, Summary};

/// Errors of the pipeline, one variant per stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The folder of image definitions could not be listed.
    #[error("cannot list the image definitions in {}", dir.display())]
    List {
        /// The folder.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output directory could not be created.
    #[error("cannot create the output directory {}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No image definition to run.
    #[error("no image definition (a folder holding image.toml) in {}", dir.display())]
    NoImages {
        /// The folder searched.
        dir: PathBuf,
    },
    /// A definition given is a reference definition.
    #[error("{} is a reference definition: the pipeline builds it as the upstream of the definition that names it in [upstream]", dir.display())]
    Reference {
        /// The definition.
        dir: PathBuf,
    },
    /// A definition's name cannot name a folder of the output (`a/b`, `..`).
    #[error("{}: name {name:?} cannot be the output folder out/<name>: use one plain folder name", dir.display())]
    BadName {
        /// The definition.
        dir: PathBuf,
        /// Its name.
        name: String,
    },
    /// Two definitions have the same name (their outputs would overwrite each other).
    #[error("{} and {} both define the image {name:?}", first.display(), second.display())]
    DuplicateName {
        /// The name.
        name: String,
        /// The first definition.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// A definition folder could not be read into the plan's job key.
    #[error("cannot plan {}: {detail}", path.display())]
    Plan {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
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

/// What the pipeline runs on; [`PipelineOptions::new`] gives the embedded defaults.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// The image definitions (folders holding image.toml); empty: every one under `images_root`.
    pub images: Vec<PathBuf>,
    /// Where definitions are looked for when `images` is empty.
    pub images_root: PathBuf,
    /// Where every output goes.
    pub out: PathBuf,
    /// The vulnerability DB; None: `$ARMORRED_DB`, else the user data dir, updated first from
    /// `config` when missing or older than its `max_age_hours` ([`prepare_db`]).
    pub db: Option<PathBuf>,
    /// `armorred.toml` (the feeds and the DB's age limit); None: `armorred.toml` in the current
    /// directory, else the embedded defaults.
    pub config: Option<PathBuf>,
    /// An image source to compare every image with, instead of its definition's `[upstream]`.
    pub upstream: Option<String>,
    /// An explicit Debian mirror; else the host's apt configuration.
    pub mirror: Option<String>,
    /// The cache root ([`crate::cache`]); None: `Cache::default_dir()`.
    pub cache: Option<PathBuf>,
    /// The tiers to build, in order; empty: every tier each definition declares.
    pub tiers: Vec<Tier>,
    /// The clock: `SOURCE_DATE_EPOCH`, when it fixes one, is the images' time (default: the
    /// real time, so each image's newest Release date in its lock).
    pub clock: Clock,
    /// The key every built tier is signed and attested with, in its image layout (`None`: not
    /// signed).
    pub signing: Option<Signing>,
    /// Where the stages report as they start and finish ([`Progress`]); `None`: nowhere.
    pub progress: Option<ProgressFn>,
    /// The registry every signed tier is pushed to (`None`: nothing is pushed).
    pub push: Option<Push>,
}

/// Where the pipeline pushes: `HOST[:PORT]/PREFIX`, each tier as `PREFIX/<image>:<tier>` with
/// its signature and attestations (as `armorred push oci-dir:` pushes a signed layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `HOST[:PORT]`.
    pub host: String,
    /// The repository prefix (`armorred`), without a trailing `/`.
    pub prefix: String,
    /// Hosts reached over plain HTTP besides loopback.
    pub insecure: Vec<String>,
}

impl Push {
    /// Parses `registry:HOST[:PORT]/PREFIX` (the `registry:` is optional).
    pub fn parse(target: &str, insecure: &[String]) -> Result<Self, PipelineError> {
        let bad = |reason: String| PipelineError::Stage {
            stage: "read the push target",
            source: Box::new(crate::registry::RegistryError::Reference { input: target.to_string(), reason }.into()),
        };
        let t = target.strip_prefix("registry:").unwrap_or(target).trim_end_matches('/');
        let Some((host, prefix)) = t.split_once('/').filter(|(_, p)| !p.is_empty() && !p.contains([':', '@'])) else {
            return Err(bad("expected registry:HOST[:PORT]/PREFIX (a repository prefix, no tag or digest)".into()));
        };
        // The host and the repositories under the prefix are checked as a reference would be.
        crate::registry::Reference::parse(&format!("{host}/{prefix}/image:tier")).map_err(|e| bad(e.to_string()))?;
        Ok(Self { host: host.to_string(), prefix: prefix.to_string(), insecure: insecure.to_vec() })
    }

    /// The repository of one image.
    pub fn repository(&self, image: &str) -> String {
        format!("{}/{image}", self.prefix)
    }
}

/// Progress events of [`run`], in order: for each image and variant a [`Progress::Variant`],
/// then for each of its stages a [`Progress::Stage`], the build's own events while it builds,
/// and a [`Progress::Done`] with the stage's result as soon as it is known. The library never
/// prints; the CLI renders these.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// The stages that follow are of this image's variant (`upstream`, or a tier).
    Variant {
        /// The image name.
        image: &'a str,
        /// `upstream`, `hardened`, `locked`.
        variant: &'a str,
    },
    /// A stage starts (`db`, `build`, `sbom`, `checksec`, `scan`, `compare`, `sign`, `site`).
    Stage(&'a str),
    /// A stage finished, with a short result line.
    Done {
        /// The stage, as its [`Progress::Stage`] named it.
        stage: &'a str,
        /// What it gave: the digest built, SBOM components, checksec files, scan findings, ...
        result: String,
    },
    /// An event of the image build (within the stage `build`).
    Build(build::Progress<'a>),
}

/// The callback of [`PipelineOptions::progress`].
#[derive(Clone)]
pub struct ProgressFn(pub std::sync::Arc<dyn Fn(Progress<'_>) + Send + Sync>);

impl ProgressFn {
    /// Wraps a callback.
    pub fn new(f: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressFn")
    }
}

fn emit(opts: &PipelineOptions, p: Progress<'_>) {
    if let Some(cb) = &opts.progress {
        (cb.0)(p);
    }
}

fn done(opts: &PipelineOptions, stage: &str, result: impl FnOnce() -> String) {
    if let Some(cb) = &opts.progress {
        (cb.0)(Progress::Done { stage, result: result() });
    }
}

/// How the pipeline signs.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The private key.
    pub key: crate::sign::PrivateKey,
    /// Where its public key is (for the summaries and the verify commands they print).
    pub public_key: PathBuf,
}

impl PipelineOptions {
    /// The embedded defaults: every definition under `images/`, outputs under `out`, the DB at
    /// its default place, each image compared with its definition's `[upstream]`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            images: Vec::new(),
            images_root: PathBuf::from("images"),
            out: out.into(),
            db: None,
            config: None,
            upstream: None,
            mirror: None,
            cache: None,
            tiers: Vec::new(),
            clock: Clock::real(),
            signing: None,
            progress: None,
            push: None,
        }
    }
}

/// What the pipeline produced.
#[derive(Debug)]
pub struct PipelineOutcome {
    /// One result per image definition, in order.
    pub images: Vec<ImageOutcome>,
    /// `out/index.json`.
    pub index: PathBuf,
    /// What it holds: the catalog ([`summary::catalog_table`] renders it).
    pub catalog: Index,
    /// The site's index page (`out/site/index.html`).
    pub site: PathBuf,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
    /// Stages skipped, with the reason.
    pub notes: Vec<String>,
    /// Gates that failed after the outputs were written (a tier behind on security fixes): the
    /// run's result is a failure when any, each named with what failed.
    pub failures: Vec<String>,
}

/// What the pipeline produced for one image definition.
#[derive(Debug)]
pub struct ImageOutcome {
    /// The image name.
    pub name: String,
    /// The image compared with, when there was one.
    pub upstream: Option<VariantOutcome>,
    /// One result per tier, in order.
    pub tiers: Vec<VariantOutcome>,
}

/// What the pipeline produced for one image: a tier, or the upstream image.
#[derive(Debug)]
pub struct VariantOutcome {
    /// `hardened`, `locked` or `upstream`.
    pub variant: String,
    /// The image build, when armorred built it.
    pub build: Option<BuildReport>,
    /// checksec of every ELF file in the image.
    pub checksec: ScanReport,
    /// Where that report was written.
    pub checksec_path: PathBuf,
    /// The scan, when a DB was there.
    pub scan: Option<ScanResult>,
    /// The comparison, when an upstream image was scanned too.
    pub comparison: Option<Comparison>,
    /// Its `summary.json`.
    pub summary_path: PathBuf,
    /// What that file holds.
    pub summary: Summary,
}

/// The definitions under `root`: every folder holding `image.toml`, sorted by name.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let list = |source| PipelineError::List { dir: root.to_path_buf(), source };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).map_err(list)? {
        let path = entry.map_err(list)?.path();
        if std::fs::metadata(path.join("image.toml")).is_ok_and(|m| m.is_file()) {
            dirs.push(path);
        }
    }
    dirs.sort();
    if dirs.is_empty() {
        return Err(PipelineError::NoImages { dir: root.to_path_buf() });
    }
    Ok(dirs)
}

/// The shared inputs of every image's run.
struct Context<'a> {
    opts: &'a PipelineOptions,
    cache: Cache,
    db: Option<Db>,
    db_summary: Option<summary::DbSummary>,
}

/// Why [`prepare_db`] will update the DB before the scan, if it will: no `--db` was given and
/// the default DB is missing or older than the configuration's `max_age_hours` (the CLI prints
/// it as the stage's progress line).
pub fn db_update_reason(opts: &PipelineOptions) -> Result<Option<String>, PipelineError> {
    if opts.db.is_some() {
        return Ok(None);
    }
    let config = pipeline_config(opts)?;
    let path = db::resolve_path(None);
    if !path.exists() {
        return Ok(Some(format!("no vulnerability DB at {}", path.display())));
    }
    let db = stage("open the vulnerability DB", Db::open(&path))?;
    Ok(match db.age_hours(&opts.clock) {
        Some(age) if age > config.max_age_hours => {
            Some(format!("the vulnerability DB is {age} h old (over {} h)", config.max_age_hours))
        }
        None => Some("the vulnerability DB has no build time".into()),
        _ => None,
    })
}

fn pipeline_config(opts: &PipelineOptions) -> Result<crate::vuln::config::Config, PipelineError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    stage("read the configuration", crate::vuln::config::load(opts.config.as_deref(), &cwd))
}

/// The DB stage: opens the DB, first updating the default one from the configuration's feeds
/// when [`db_update_reason`] says so (an explicit `--db` is used as it is). Its age and sources
/// go into every summary; a DB over the age limit is a warning note, no DB a skip note.
fn prepare_db(
    opts: &PipelineOptions,
    notes: &mut Vec<String>,
) -> Result<(Option<Db>, Option<summary::DbSummary>), PipelineError> {
    let config = pipeline_config(opts)?;
    let db_path = db::resolve_path(opts.db.as_deref());
    let mut updated = false;
    if let Some(reason) = db_update_reason(opts)? {
        let cache = db_path.parent().map(|p| p.join("feeds")).unwrap_or_else(|| PathBuf::from("feeds"));
        let started = std::time::Instant::now();
        match crate::vuln::update::update_from_config(&db_path, &config, &cache, &opts.clock, &mut |_| {}) {
            Ok(report) => {
                updated = true;
                let from: Vec<String> = report
                    .feeds
                    .iter()
                    .map(|f| {
                        format!("{} from {}", f.feed, f.location.as_deref().unwrap_or("nowhere (no location answered)"))
                    })
                    .collect();
                notes.push(format!(
                    "vulnerability DB updated ({reason}) from {} in {:.1} s: {}",
                    report.config,
                    started.elapsed().as_secs_f64(),
                    from.join(", ")
                ));
            }
            // Nothing answered (offline, no mirror): the main job goes on with the DB it has,
            // or skips the scan, and says why.
            Err(e) => notes.push(format!("warning: the vulnerability DB was not updated ({reason}): {e}")),
        }
    }
    if !db_path.exists() {
        notes.push(format!(
            "scan and compare skipped: no vulnerability DB at {} (run `armorred db import` or `armorred db update`)",
            db_path.display()
        ));
        return Ok((None, None));
    }
    let db = stage("open the vulnerability DB", Db::open(&db_path))?;
    let age_hours = db.age_hours(&opts.clock);
    let stale = age_hours.is_some_and(|a| a > config.max_age_hours);
    if stale {
        notes.push(format!(
            "warning: the vulnerability DB {} is {} h old, over the {} h of {} (run `armorred db update`)",
            db_path.display(),
            age_hours.unwrap_or_default(),
            config.max_age_hours,
            config.origin
        ));
    }
    let summary = summary::DbSummary {
        digest: format!("sha256:{}", db.sha256()),
        built: db.built().map(str::to_owned),
        age_hours,
        max_age_hours: config.max_age_hours,
        stale,
        updated,
        sources: db
            .sources()
            .iter()
            .map(|s| summary::DbSourceSummary {
                name: s.name.clone(),
                feed: s.feed.clone(),
                location: s.location.clone(),
                records: s.records,
                imported_at: s.imported_at.clone(),
            })
            .collect(),
    };
    Ok((Some(db), Some(summary)))
}

/// The definitions `opts` names (else every one under `images_root`), each read and checked
/// before any is built: no reference definition, a plain output folder, no two of one name.
fn definitions(opts: &PipelineOptions) -> Result<Vec<(PathBuf, ImageSpec)>, PipelineError> {
    let dirs = if opts.images.is_empty() { discover(&opts.images_root)? } else { opts.images.clone() };
    let mut specs = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in &dirs {
        let spec = stage("read the image definition", ImageSpec::load(dir))?;
        if spec.reference {
            return Err(PipelineError::Reference { dir: dir.clone() });
        }
        // Checked for every definition before any is built.
        output_folder(dir, &spec.name)?;
        if let Some(first) = names.insert(spec.name.clone(), dir.clone()) {
            return Err(PipelineError::DuplicateName { name: spec.name, first, second: dir.clone() });
        }
        specs.push((dir.clone(), spec));
    }
    Ok(specs)
}

/// Runs every stage in order, for each image definition, then writes `out/index.json`.
pub fn run(opts: &PipelineOptions) -> Result<PipelineOutcome, PipelineError> {
    let specs = definitions(opts)?;
    let mut written = Vec::new();
    let mut notes = Vec::new();
    emit(opts, Progress::Stage("db"));
    let (db, db_summary) = prepare_db(opts, &mut notes)?;
    done(opts, "db", || match &db_summary {
        Some(d) => format!(
            "{} ({} sources{})",
            d.digest,
            d.sources.len(),
            d.age_hours.map(|h| format!(", {h} h old")).unwrap_or_default()
        ),
        None => "none: scan and compare skipped".into(),
    });
    let cx = Context { opts, cache: Cache::new(opts.cache.clone().unwrap_or_else(Cache::default_dir)), db, db_summary };
    let mut images = Vec::new();
    let mut failures = Vec::new();
    let mut indices = build::IndexCache::default();
    for (dir, spec) in &specs {
        // Stale locks are named before anything is built from them (the reference's too).
        emit(opts, Progress::Variant { image: &spec.name, variant: "definition" });
        for (def, name) in std::iter::once((dir.clone(), spec.name.clone()))
            .chain(spec.upstream_definition(dir).map(|d| (d, format!("{} upstream reference", spec.name))))
        {
            emit(opts, Progress::Stage("lock"));
            let line = check_lock(opts, &def, &name, &mut indices, &mut notes);
            done(opts, "lock", || line);
        }
        images.push(run_image(&cx, dir, spec, &mut written, &mut notes, &mut failures)?);
    }
    let index = index_of(opts, &specs, &images, &notes);
    let index_path = opts.out.join("index.json");
    write(index_path.clone(), &json_bytes(&index), &mut written)?;
    // The site, from the outputs just written.
    emit(opts, Progress::Stage("site"));
    let site = stage("render the site", crate::site::render(&opts.out, &opts.out.join("site")))?;
    done(opts, "site", || site.index.display().to_string());
    written.push(site.out.clone());
    Ok(PipelineOutcome { images, index: index_path, catalog: index, site: site.index, written, notes, failures })
}

/// Before a definition is built from its lock: the same definition resolved against today's
/// indices, and every pinned package with a newer version there named in a note (the build
/// still uses the lock). A failure to check (offline, no mirror) is a note too, never an error.
fn check_lock(
    opts: &PipelineOptions,
    dir: &Path,
    name: &str,
    indices: &mut build::IndexCache,
    notes: &mut Vec<String>,
) -> String {
    let fresh = Mirror::discover(opts.mirror.as_deref())
        .map_err(build::BuildError::from)
        .and_then(|mirror| build::resolve_lock_in(dir, &mirror, indices));
    let committed = crate::build::debian::Lock::read(&build::lock_path(dir)).map_err(build::BuildError::from);
    match (committed, fresh) {
        (Ok(lock), Ok((fresh, _))) => {
            let newer = lock.newer_in(&fresh);
            if newer.is_empty() {
                return "every pinned package is the newest its suites offer".into();
            }
            let list: Vec<String> =
                newer.iter().map(|n| format!("{} {} -> {} ({})", n.name, n.pinned, n.available, n.suite)).collect();
            notes.push(format!(
                "{name}: image.lock pins {} packages older than its suites offer now: {}; run `armorred lock {}` to take them",
                newer.len(),
                list.join(", "),
                dir.display()
            ));
            format!("{} pinned packages have newer versions (see the notes)", newer.len())
        }
        (Err(e), _) | (_, Err(e)) => {
            notes.push(format!("{name}: could not check image.lock for newer packages: {e}"));
            "not checked (see the notes)".into()
        }
    }
}

/// What a tier of a definition accepts carrying behind another side: its `[[tiers.<t>.accept]]`
/// and, when it is built from source, its recipe's `[[accept]]`.
fn accepted(dir: &Path, spec: &ImageSpec, tier: Tier) -> Result<Vec<crate::spec::Accept>, PipelineError> {
    let Some(t) = spec.tiers.get(&tier) else { return Ok(Vec::new()) };
    let mut list = t.accept.clone();
    if t.source_build.is_some() {
        let recipe = stage("read the recipe", crate::build::compile::recipe::load(&t.recipe_dir(dir)))?;
        for a in recipe.accepts {
            if !list.iter().any(|b| b.id == a.id) {
                list.push(a);
            }
        }
    }
    Ok(list)
}

/// Pushes a tier's signed layout to `<prefix>/<image>:<tier>`, its attachments under cosign's tags.
fn push_tier(push: &Push, image: &str, tier: Tier, layout: &Path) -> Result<summary::PushSummary, crate::Error> {
    let options = crate::registry::Options { insecure_hosts: push.insecure.clone(), ..Default::default() };
    let client = crate::registry::Client::new(&push.host, options)?;
    let repo = push.repository(image);
    let report = crate::registry::copy::push_oci_layout(&client, layout, &repo, tier.as_str(), None)?;
    Ok(summary::PushSummary {
        reference: format!("{}/{repo}:{tier}", push.host),
        repository: format!("{}/{repo}", push.host),
        digest: report.digest.to_string(),
        attachments: report.attachments,
    })
}

/// The upstream side of one image, and every tier compared with it.
fn run_image(
    cx: &Context<'_>,
    dir: &Path,
    spec: &ImageSpec,
    written: &mut Vec<PathBuf>,
    notes: &mut Vec<String>,
    failures: &mut Vec<String>,
) -> Result<ImageOutcome, PipelineError> {
    let out = cx.opts.out.join(output_folder(dir, &spec.name)?);
    let upstream_description = spec.upstream.as_ref().map(|u| u.description.clone()).unwrap_or_default();
    // The upstream side: an image source given on the command line, else the definition's.
    let upstream = match (&cx.opts.upstream, spec.upstream.as_ref()) {
        (Some(source), _) => Some(Upstream::Image(source.clone())),
        (None, Some(up)) => match (spec.upstream_definition(dir), &up.image) {
            (Some(def), _) => Some(Upstream::Definition(def)),
            (None, Some(image)) => Some(Upstream::Image(image.clone())),
            (None, None) => None,
        },
        (None, None) => None,
    };
    let upstream = match upstream {
        Some(up) => Some(run_upstream(cx, spec, &up, &out.join("upstream"), written)?),
        None => {
            notes.push(format!("{}: compare skipped: no [upstream] in its definition and no --upstream", spec.name));
            None
        }
    };
    let up_side = upstream.as_ref().and_then(|(side, _)| side.as_ref());
    let tiers: Vec<Tier> =
        if cx.opts.tiers.is_empty() { spec.tiers.keys().copied().collect() } else { cx.opts.tiers.clone() };
    // Every tier is built and scanned first: the "never behind" gate of each compares it with
    // the others and upstream before it is signed.
    let mut built = Vec::new();
    for tier in tiers {
        let variant_dir = out.join(tier.as_str());
        emit(cx.opts, Progress::Variant { image: &spec.name, variant: tier.as_str() });
        let (analysis, build) = build_and_analyse(cx, "build the image", dir, tier, &variant_dir, written)?;
        built.push((tier, variant_dir, analysis, build));
    }
    let behinds: Vec<Option<report::behind::Behind>> = built
        .iter()
        .map(|(tier, _, analysis, _)| {
            let ours = analysis.side.as_ref()?;
            let mut others: Vec<(&str, &report::Side)> = up_side.map(|u| ("upstream", u)).into_iter().collect();
            others.extend(
                built
                    .iter()
                    .filter(|(t, ..)| t != tier)
                    .filter_map(|(t, _, a, _)| Some((t.as_str(), a.side.as_ref()?))),
            );
            Some(accepted(dir, spec, *tier).map(|accept| report::behind::check(ours, &others, &accept)))
        })
        .map(Option::transpose)
        .collect::<Result<_, _>>()?;
    let mut outcomes = Vec::new();
    for ((tier, variant_dir, mut analysis, build), behind) in built.into_iter().zip(behinds) {
        emit(cx.opts, Progress::Variant { image: &spec.name, variant: tier.as_str() });
        if let Some(b) = &behind {
            emit(cx.opts, Progress::Stage("behind"));
            done(cx.opts, "behind", || b.line());
            for id in &b.stale_accepts {
                notes.push(format!(
                    "{}:{tier}: accepts {id}, which it does not carry behind another side: drop it from the definition",
                    spec.name
                ));
            }
            if !b.passed() {
                let list: Vec<String> = b
                    .failing()
                    .map(|v| {
                        let by: Vec<String> = v.fixed_by.iter().map(|(s, ver)| format!("{s} {ver}")).collect();
                        format!("{} ({} {}; fixed in {})", v.id, v.package, v.version, by.join(", "))
                    })
                    .collect();
                failures.push(format!(
                    "{}:{tier}: behind on security fixes, not signed: {} (fix them, or accept each by name with a reason in the definition)",
                    spec.name,
                    list.join("; ")
                ));
            }
        }
        let mut comparison_json = None;
        let comparison = match (up_side, &cx.db, &analysis.side) {
            (Some(up), Some(db), Some(ours)) => {
                emit(cx.opts, Progress::Stage("compare"));
                let c = report::compare(up, ours, Some(&format!("sha256:{}", db.sha256())));
                let statement = stage("render the comparison", report::render::json(&c))?;
                comparison_json = serde_json::from_str::<serde_json::Value>(&statement).ok();
                for (name, bytes) in [
                    ("compare.json", statement.into_bytes()),
                    ("compare.md", report::render::markdown(&c).into_bytes()),
                    ("compare.html", report::render::html(&c).into_bytes()),
                ] {
                    write(variant_dir.join(name), &bytes, written)?;
                    analysis.paths.insert(name.trim_end_matches(".json").replace('.', "_"), name.into());
                }
                done(cx.opts, "compare", || {
                    let v = &c.vulnerabilities;
                    format!(
                        "{} vulnerabilities upstream, {} here ({:.0}% fewer)",
                        v.upstream,
                        v.hardened,
                        v.reduction * 100.0
                    )
                });
                Some(c)
            }
            _ => None,
        };
        let inputs = attest::Inputs {
            definition: dir,
            build: &build,
            checksec_json: &analysis.checksec_json,
            scan: analysis.scan_json.as_ref().map(|(v, a, b)| (v, a.as_str(), b.as_str())),
            comparison: comparison_json.as_ref(),
            vex_facts: analysis.paths.get("vex_facts").map(String::as_str),
        };
        let predicates = stage("make the attestations", attest::predicates(&inputs))?;
        create_dir(&variant_dir.join("attestations"))?;
        for p in &predicates {
            if let Some(bytes) = &p.bytes {
                write(variant_dir.join(&p.path), bytes, written)?;
            }
            analysis.paths.insert(format!("attestation_{}", p.name), p.path.clone());
        }
        let gate_passed = behind.as_ref().is_none_or(report::behind::Behind::passed);
        let signed = match &cx.opts.signing {
            Some(_) if !gate_passed => None,
            Some(signing) => {
                emit(cx.opts, Progress::Stage("sign"));
                // A pushed image's signature names the repository it is pushed to.
                let reference = cx.opts.push.as_ref().map(|p| format!("{}/{}", p.host, p.repository(&spec.name)));
                let signed = stage("sign the image", attest::sign(&variant_dir, &predicates, signing, reference))?;
                done(cx.opts, "sign", || {
                    format!("{} signed, {} attestations", signed.signed_digest, signed.attestations.len())
                });
                Some(signed)
            }
            None => {
                notes.push(format!("{}:{tier}: not signed (no key)", spec.name));
                None
            }
        };
        // Only a signed tier is pushed (a tier behind on fixes, or built without a key, is not).
        let pushed = match (&cx.opts.push, &signed) {
            (Some(push), Some(_)) => {
                emit(cx.opts, Progress::Stage("push"));
                let p = stage("push the image", push_tier(push, &spec.name, tier, &variant_dir.join("image")))?;
                done(cx.opts, "push", || format!("{}@{} ({} attachments)", p.reference, p.digest, p.attachments.len()));
                Some(p)
            }
            (Some(_), None) => {
                notes.push(format!("{}:{tier}: not pushed (not signed)", spec.name));
                None
            }
            (None, _) => None,
        };
        let mut summary = analysis.summary(&spec.name, tier.as_str(), Some(&build));
        summary.signing = signed;
        summary.push = pushed;
        summary.behind = behind;
        summary.comparison = comparison.as_ref().map(|c| summary::ComparisonSummary {
            upstream: c.images.upstream.clone(),
            upstream_description: Some(upstream_description.clone()).filter(|d| !d.is_empty()),
            upstream_vulnerabilities: c.vulnerabilities.upstream,
            vulnerabilities: c.vulnerabilities.hardened,
            reduction: c.vulnerabilities.reduction,
            upstream_components: c.components.upstream,
        });
        let summary_path = variant_dir.join("summary.json");
        write(summary_path.clone(), &json_bytes(&summary), written)?;
        outcomes.push(VariantOutcome {
            variant: tier.as_str().into(),
            build: Some(build),
            checksec: analysis.facts.checksec,
            checksec_path: variant_dir.join("checksec.json"),
            scan: analysis.scan,
            comparison,
            summary_path,
            summary,
        });
    }
    Ok(ImageOutcome { name: spec.name.clone(), upstream: upstream.map(|(_, o)| o), tiers: outcomes })
}

/// Where the upstream image comes from.
enum Upstream {
    /// A reference definition, built here.
    Definition(PathBuf),
    /// An image source, read.
    Image(String),
}

/// Builds (or reads) and analyses the upstream image into `dir`.
fn run_upstream(
    cx: &Context<'_>,
    spec: &ImageSpec,
    up: &Upstream,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(Option<report::Side>, VariantOutcome), PipelineError> {
    emit(cx.opts, Progress::Variant { image: &spec.name, variant: "upstream" });
    let (analysis, build) = match up {
        Upstream::Definition(def) => {
            let (analysis, build) =
                build_and_analyse(cx, "build the upstream reference", def, ImageSpec::REFERENCE_TIER, dir, written)?;
            (analysis, Some(build))
        }
        Upstream::Image(source) => {
            (create_dir(dir).and_then(|()| analyse_source(cx, source, None, None, dir, written))?, None)
        }
    };
    let summary = analysis.summary(&spec.name, "upstream", build.as_ref());
    let summary_path = dir.join("summary.json");
    write(summary_path.clone(), &json_bytes(&summary), written)?;
    let outcome = VariantOutcome {
        variant: "upstream".into(),
        build,
        checksec: analysis.facts.checksec,
        checksec_path: dir.join("checksec.json"),
        scan: analysis.scan,
        comparison: None,
        summary_path,
        summary,
    };
    Ok((analysis.side, outcome))
}

fn build_options<'a>(cx: &Context<'_>, tier: Tier, image_dir: &Path) -> BuildOptions<'a> {
    BuildOptions {
        tier,
        output: Output::OciDir(image_dir.to_path_buf()),
        cache: cx.cache.clone(),
        mirror: cx.opts.mirror.as_deref().map(Mirror::from_base),
        source_date_epoch: cx.opts.clock.source_date_epoch(),
        revision: None,
        progress: None,
        reuse: true,
    }
}

/// One image, read once for its SBOM and once for its file facts and checksec; scanned.
struct Analysis {
    source: String,
    digest: Option<String>,
    created: Option<String>,
    components: usize,
    facts: ImageFacts,
    checksec_json: serde_json::Value,
    scan: Option<ScanResult>,
    /// The scan's grype JSON, with its start and finish times.
    scan_json: Option<(serde_json::Value, String, String)>,
    side: Option<report::Side>,
    paths: BTreeMap<String, String>,
    /// The DB scanned with (its age and sources), when scanned.
    db: Option<summary::DbSummary>,
}

/// Builds the definition in `def` as `tier` into `<dir>/image`, then [`analyse_source`] of it
/// with the checksec its build's gate made.
fn build_and_analyse(
    cx: &Context<'_>,
    what: &'static str,
    def: &Path,
    tier: Tier,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(Analysis, BuildReport), PipelineError> {
    create_dir(dir)?;
    let image_dir = dir.join("image");
    let progress = cx.opts.progress.as_ref();
    let forward = |p: build::Progress<'_>| {
        if let Some(cb) = progress {
            (cb.0)(Progress::Build(p));
        }
    };
    let mut opts = build_options(cx, tier, &image_dir);
    if progress.is_some() {
        opts.progress = Some(&forward);
    }
    emit(cx.opts, Progress::Stage("build"));
    let mut build = stage(what, build::build(def, &opts))?;
    done(cx.opts, "build", || {
        format!(
            "{} ({} packages, {} files) {} {:.1} s",
            build.manifest_digest,
            build.packages,
            build.files,
            if build.reused { "unchanged, verified in" } else { "in" },
            build.timings.get("total").copied().unwrap_or_default() as f64 / 1000.0
        )
    });
    written.push(image_dir.clone());
    let checksec = std::mem::take(&mut build.checksec);
    let source = format!("oci-dir:{}", image_dir.display());
    let mut a = analyse_source(cx, &source, Some(&build), Some(checksec), dir, written)?;
    a.paths.insert("image".into(), "image".into());
    if let Some(rel) = build.record.file_name() {
        a.paths.insert("build_record".into(), rel.to_string_lossy().into_owned());
    }
    Ok((a, build))
}

/// SBOMs, checksec and scan of the image at `source`, written into `dir`; `checksec`, when the
/// build's gate already made it, is not made again.
fn analyse_source(
    cx: &Context<'_>,
    source: &str,
    build: Option<&BuildReport>,
    checksec: Option<ScanReport>,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<Analysis, PipelineError> {
    let mut paths = BTreeMap::new();
    let image = stage("open the image", Source::parse(source).and_then(|s| s.open(&OpenOptions::default())))?;
    // One pass over the image for the SBOM and the file tree; the build's gate made the
    // checksec; only a source build's probe reads its binaries again.
    emit(cx.opts, Progress::Stage("sbom"));
    let (sbom, tree) =
        stage("generate the SBOM", crate::sbom::generate_with_tree(&image, &crate::sbom::GenerateOptions::default()))?;
    for (format, file, key) in [
        (SbomFormat::CycloneDxJson, "sbom.cdx.json", "sbom_cyclonedx"),
        (SbomFormat::SpdxJson, "sbom.spdx.json", "sbom_spdx"),
    ] {
        let path = dir.join(file);
        let result =
            crate::fsutil::write_atomic(&path, |w| crate::sbom::format::write(&sbom, format, &Timestamp::Image, w));
        stage("write the SBOM", result)?;
        written.push(path);
        paths.insert(key.into(), file.into());
    }
    done(cx.opts, "sbom", || format!("{} components (CycloneDX, SPDX)", sbom.packages.len()));
    emit(cx.opts, Progress::Stage("checksec"));
    // checksec of every ELF file in the image (and, for a source-built tier, which of the
    // recipe's features its binaries hold: the evidence for "compiled out").
    let record = build.and_then(|b| b.source_build.as_ref()).map(report::SourceBuild::from);
    let probe =
        record.as_ref().map(|r| report::BinaryProbe { component: r.component.clone(), names: r.feature_names() });
    // The few files the image's own VEX needs (package file lists, nginx's configuration): for
    // the tiers only; the upstream side is scanned as its users' scanners see it, without VEX.
    let upstream_side = dir.file_name().is_some_and(|n| n == "upstream");
    let vex_files = match build {
        Some(_) if !upstream_side => Some(stage(
            "read the image's files for its VEX",
            crate::vex::facts::ImageFiles::read(&image, &tree, &Limits::default()),
        )?),
        _ => None,
    };
    let (facts, binaries): (ImageFacts, Vec<BinaryCheck>) = stage(
        "analyse the image's files",
        report::image_facts_known(
            &image,
            &Limits::default(),
            probe.as_ref(),
            report::Known { checksec, tree: Some(tree) },
        ),
    )?;
    let checksec_json = crate::elf::checksec_json::scan_object(&facts.checksec, true);
    write(dir.join("checksec.json"), &json_bytes(&checksec_json), written)?;
    paths.insert("checksec".into(), "checksec.json".into());
    done(cx.opts, "checksec", || format!("{} files, {} ELF", facts.files.files, facts.checksec.entries.len()));

    let packages: Vec<ScanPackage> = crate::vuln::sbom::from_sbom(&sbom);
    let vex_facts = vex_files.as_ref().map(|files| {
        let product = crate::vex::Product {
            name: dir.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            digest: build.map(|b| b.manifest_digest.clone()).or_else(|| image.digest.clone()).unwrap_or_default(),
            registry: None,
        };
        let config = image.image_config().and_then(|c| c.config);
        let compiled_out = record.as_ref().map(|r| r.compiled_out(Some(&binaries))).unwrap_or_default();
        crate::vex::facts::gather(product, &sbom, files, &facts.checksec, config.as_ref(), compiled_out)
    });
    if let Some(f) = &vex_facts {
        write(dir.join("vex.facts.json"), &json_bytes(f), written)?;
        paths.insert("vex_facts".into(), "vex.facts.json".into());
    }
    let mut scan_json = None;
    let (scan, side) = match &cx.db {
        Some(db) => {
            emit(cx.opts, Progress::Stage("scan"));
            let started = cx.opts.clock.now_rfc3339();
            let mut result = stage("scan the image", scan_packages(db, &packages, &ScanOptions::default()))?;
            // The image's own VEX: each finding decided from the image's facts, the document
            // written, and the scan made again with it (as `armorred scan --vex` would).
            // (An OpenVEX document has at least one statement: none without findings.)
            if let Some(f) = vex_facts.as_ref().filter(|_| !result.matches.is_empty()) {
                let doc = crate::vex::document::render(
                    &f.product,
                    &crate::vex::decide::decide_all(f, &result),
                    &image.created.clone().unwrap_or_default(),
                    env!("CARGO_PKG_VERSION"),
                );
                write(dir.join("vex.openvex.json"), &json_bytes(&doc), written)?;
                paths.insert("vex".into(), "vex.openvex.json".into());
                let opts = ScanOptions { vex: crate::vuln::vex::parse(&doc), ..ScanOptions::default() };
                result = stage("scan the image", scan_packages(db, &packages, &opts))?;
            }
            let finished = cx.opts.clock.now_rfc3339();
            let meta = ReportMeta {
                target: source.to_owned(),
                timestamp: image.created.clone().unwrap_or_default(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                source: Some(ScanSource::of_image(source, &image)),
                distro: sbom.distro.clone(),
            };
            let rendered = crate::vuln::report::render(&result, Format::Json, &meta);
            write(dir.join("scan.json"), rendered.as_bytes(), written)?;
            scan_json = serde_json::from_str(&rendered).ok().map(|v| (v, started, finished));
            paths.insert("scan".into(), "scan.json".into());
            done(cx.opts, "scan", || {
                let s = scan_summary(&result);
                format!("{} findings ({} vulnerabilities)", s.findings, s.vulnerabilities)
            });
            let mut side =
                report::Side::from_scan(source, image.digest.as_deref(), &packages, &result).with_image_facts(&facts);
            if let Some(r) = &record {
                side.compiled_out = r.compiled_out(Some(&binaries));
            }
            (Some(result), Some(side))
        }
        None => (None, None),
    };
    Ok(Analysis {
        source: source.to_owned(),
        digest: image.digest.clone(),
        created: image.created.clone(),
        components: sbom.packages.len(),
        facts,
        checksec_json,
        scan,
        scan_json,
        side,
        paths,
        db: cx.db_summary.clone().filter(|_| cx.db.is_some()),
    })
}

impl Analysis {
    fn summary(&self, name: &str, variant: &str, build: Option<&BuildReport>) -> Summary {
        Summary {
            schema: summary::SUMMARY_SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            image: name.into(),
            variant: variant.into(),
            source: self.source.clone(),
            digest: build.map(|b| b.manifest_digest.clone()).or_else(|| self.digest.clone()),
            created: self.created.clone(),
            size: summary::SizeSummary {
                compressed: self.facts.size.compressed,
                uncompressed: self.facts.size.uncompressed,
            },
            components: self.components,
            files: summary::FilesSummary {
                files: self.facts.files.files,
                elf_binaries: self.facts.files.elf_binaries,
                shells: self.facts.files.shells.clone(),
                setuid: self.facts.files.setuid.clone(),
            },
            checksec: checksec_summary(&self.facts.checksec, &self.checksec_json),
            build: build.map(|b| summary::BuildSummary {
                tier: b.tier.as_str().into(),
                packages: b.packages,
                source_date_epoch: b.source_date_epoch,
                gate_passed: b.gate.passed(),
                gate_enforced: b.gate.enforced,
                source_build_reused: b.source_build_reused,
            }),
            scan: self.scan.as_ref().map(|r| summary::ScanSummary {
                scanned_at: self.scan_json.as_ref().map(|(_, _, finished)| finished.clone()),
                ..scan_summary(r)
            }),
            comparison: None,
            signing: None,
            push: None,
            behind: None,
            db: self.db.clone(),
            paths: self.paths.clone(),
        }
    }
}

/// Counts of files with each protection, from the checksec JSON we write.
fn checksec_summary(scan: &ScanReport, json: &serde_json::Value) -> summary::ChecksecSummary {
    let mut with = BTreeMap::new();
    let yes = |k: &str, v: &str| match k {
        "relro" => v == "full",
        "pie" => v == "yes" || v == "dso",
        _ => v == "yes",
    };
    let keys = ["relro", "canary", "nx", "pie", "fortify_source", "safestack", "clangcfi", "cet_ibt", "cet_shstk"];
    for k in keys {
        with.insert(k.to_owned(), 0);
    }
    for file in json.as_object().into_iter().flat_map(|o| o.values()) {
        for k in keys {
            if file.get(k).and_then(|v| v.as_str()).is_some_and(|v| yes(k, v)) {
                *with.entry(k.to_owned()).or_default() += 1;
            }
        }
    }
    let errors = scan.entries.values().filter(|e| e.is_err()).count();
    summary::ChecksecSummary { files: scan.entries.len() - errors, errors, with }
}

fn scan_summary(r: &ScanResult) -> summary::ScanSummary {
    let mut by_severity: BTreeMap<String, usize> =
        ["critical", "high", "medium", "low", "negligible", "unknown"].iter().map(|s| ((*s).to_owned(), 0)).collect();
    let mut ids = std::collections::BTreeSet::new();
    for m in &r.matches {
        let sev = serde_json::to_value(m.vulnerability.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_lowercase))
            .unwrap_or_else(|| "unknown".into());
        *by_severity.entry(sev).or_default() += 1;
        ids.insert(m.vulnerability.id.clone());
    }
    summary::ScanSummary {
        db: format!("sha256:{}", r.db_sha256),
        db_built: r.db_built.clone(),
        findings: r.matches.len(),
        vulnerabilities: ids.len(),
        by_severity,
        scanned_at: None,
    }
}

fn index_of(
    opts: &PipelineOptions,
    specs: &[(PathBuf, ImageSpec)],
    images: &[ImageOutcome],
    notes: &[String],
) -> Index {
    let entry = |v: &VariantOutcome, upstream: Option<&VariantOutcome>| IndexEntry {
        variant: v.variant.clone(),
        digest: v.summary.digest.clone(),
        summary: v.summary_path.strip_prefix(&opts.out).unwrap_or(&v.summary_path).to_string_lossy().into_owned(),
        vulnerabilities: v.summary.scan.as_ref().map(|s| s.vulnerabilities),
        size: v.summary.size,
        components: v.summary.components,
        by_severity: v.summary.scan.as_ref().map(|s| s.by_severity.clone()),
        checksec: v.summary.checksec.clone(),
        reduction: upstream.map(|u| summary::Reduction::of(&v.summary, &u.summary)),
    };
    Index {
        schema: summary::INDEX_SCHEMA.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        images: specs
            .iter()
            .zip(images)
            .map(|((dir, _), img)| IndexImage {
                name: img.name.clone(),
                definition: dir.to_string_lossy().into_owned(),
                upstream: img.upstream.as_ref().map(|u| entry(u, None)),
                tiers: img.tiers.iter().map(|t| entry(t, img.upstream.as_ref())).collect(),
            })
            .collect(),
        notes: notes.to_vec(),
    }
}

/// The image's folder under the output: its name, which must be one plain path component (a
/// definition naming itself `../x` or `a/b` would write outside `out/` or into another image's).
fn output_folder<'a>(dir: &Path, name: &'a str) -> Result<&'a str, PipelineError> {
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(_)), None) if !name.contains('/') => Ok(name),
        _ => Err(PipelineError::BadName { dir: dir.to_path_buf(), name: name.to_owned() }),
    }
}

fn create_dir(dir: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(dir).map_err(|source| PipelineError::CreateDir { dir: dir.to_path_buf(), source })
}

fn write(path: PathBuf, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<(), PipelineError> {
    stage("write the reports", crate::fsutil::write_bytes_atomic(&path, bytes))?;
    written.push(path);
    Ok(())
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The DB the pipeline would use, for messages.
pub fn db_path(opts: &PipelineOptions) -> PathBuf {
    db::resolve_path(opts.db.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_name_is_one_folder_of_the_output() {
        let dir = Path::new("images/x");
        assert_eq!(output_folder(dir, "nginx").ok(), Some("nginx"));
        for bad in ["..", "../etc", "a/b", "/abs", ".", "a/", ""] {
            let err = output_folder(dir, bad).expect_err(bad).to_string();
            assert!(err.starts_with("images/x: name "), "{err}");
        }
    }

    /// An explicit `--db` is used as it is (no update); older than the configuration's
    /// `max_age_hours` it is a warning note and `stale` in the summaries' `db`.
    #[test]
    fn an_old_db_is_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vuln.db");
        let feed = crate::version::conformance_tests_shared_data().join("osv-ghsa-samples");
        let built = 1_790_000_000;
        db::import_at(&path, &[(feed, None)], &crate::vuln::import::Limits::default(), &Clock::fixed(built))
            .expect("import");
        let config = dir.path().join("armorred.toml");
        std::fs::write(
            &config,
            "[db]\nmax_age_hours = 24\n[[db.feed]]\nname = \"x\"\nlocations = [{ path = \"x\" }]\n",
        )
        .expect("config");
        let mut opts = PipelineOptions::new(dir.path().join("out"));
        opts.db = Some(path.clone());
        opts.config = Some(config);
        opts.clock = Clock::fixed(built + 48 * 3600);
        assert_eq!(db_update_reason(&opts).expect("reason"), None, "an explicit DB is not updated");
        let mut notes = Vec::new();
        let (db, summary) = prepare_db(&opts, &mut notes).expect("db");
        assert!(db.is_some());
        let summary = summary.expect("summary");
        assert_eq!((summary.age_hours, summary.stale, summary.updated), (Some(48), true, false));
        assert_eq!(summary.sources.len(), 1);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("warning: the vulnerability DB ") && notes[0].contains("is 48 h old, over the 24 h"),
            "{notes:?}"
        );
        opts.clock = Clock::fixed(built + 3600);
        let mut notes = Vec::new();
        let (_, summary) = prepare_db(&opts, &mut notes).expect("db");
        assert!(notes.is_empty() && !summary.expect("summary").stale, "{notes:?}");
    }
}

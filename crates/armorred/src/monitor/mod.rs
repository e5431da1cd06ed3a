//! `armorred monitor`: the watch over published images. `run` reads the images the main job
//! published (`out/index.json` and each tier's `summary.json`), or a registry holds, verified
//! with the catalog's key ([`source`]), rescans each one's SBOM against
//! the current vulnerability DB, diffs the findings with those the state already knows, decides
//! every finding with the one decision engine ([`crate::vex::decide`], from the `vex.facts.json`
//! the main job gathered), writes the image's OpenVEX document, and records the scan, the new
//! findings (with their first-seen time) and their decisions in the state ([`state`]: SQLite or
//! PostgreSQL), all of one image in one transaction.
//!
//! Crash safety: the document is written atomically before the transaction; a scan is keyed by
//! (image, DB digest), so a run killed anywhere and run again rescans only what was not
//! recorded, rewrites the same document, and records each scan once.

mod imagetest;
pub mod newer_source;
pub mod notes;
pub mod postgres;
pub mod rebuild;
pub mod source;
pub mod sqlite;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::pipeline::summary::{Index, Summary};
use crate::vex::{decide, Decision, ImageFacts, Product, Subject};
use crate::vuln::db::Db;
use crate::vuln::{scan_packages, ScanOptions};
pub use state::{PublishedImage, ScanRecord, ScanRow, State, StateError};

/// Bound on a JSON document the monitor reads (index, summary, facts).
const MAX_DOCUMENT: u64 = 64 << 20;

/// Errors of the monitor.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The state.
    #[error(transparent)]
    State(#[from] StateError),
    /// A published file could not be read or is not what it should be.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The webhook did not take the notification.
    #[error("webhook {url}: {reason}")]
    Webhook {
        /// Where it was posted.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A stage failed.
    #[error("failed to {stage} for {image}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// The image key.
        image: String,
        /// The cause.
        #[source]
        source: Box<crate::Error>,
    },
}

/// The callback of [`RunOptions::checkpoint`]: the point and the image key.
pub type Checkpoint<'a> = &'a dyn Fn(&str, &str);

/// What `monitor run` runs on.
pub struct RunOptions<'a> {
    /// The main job's output folder (`out`, holding `index.json`).
    pub from: PathBuf,
    /// The vulnerability DB.
    pub db: PathBuf,
    /// The clock (scan and first-seen times).
    pub clock: Clock,
    /// Called at each point a run may be killed at (`scanned`, `vex-written`, `recorded`; in a
    /// rebuild `rebuild-started`, `relocked`, `rebuilt`, `pushed`, `published`), with the image
    /// key: the CLI's crash tests stop the process there.
    pub checkpoint: Option<Checkpoint<'a>>,
    /// Rebuild what a newer Debian package fixes ([`rebuild`]); `None`: decide only.
    pub rebuild: Option<rebuild::RebuildOptions>,
    /// Days before a Debian release's end of support that its images are warned about.
    pub eol_warn_days: i64,
    /// Only this part of the catalog ([`Shard`]); `None`: all of it.
    pub shard: Option<Shard>,
    /// Write each rescanned tier's `vex.openvex.json`. The main job's first record keeps the
    /// documents it wrote and attested (the same DB decides the same; rewriting would only change
    /// their timestamp and break the attestation's match): `false` there.
    pub write_vex: bool,
    /// Watch the images of this registry ([`source`]) instead of `<from>/index.json`; `from`
    /// then holds what the monitor writes (the attested files under `registry/`, the VEX).
    pub registry: Option<source::RegistrySource>,
}

/// One of `count` parts of a catalog (`--shard INDEX/COUNT`, INDEX from 1): the images whose
/// name hashes to it (sha256 of the name, its first 8 bytes modulo `count`). Every tier of an
/// image is in the same shard, so one monitor resolves and rebuilds a definition; a name's
/// shard depends only on the name and the count, so monitors on other machines agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1..=count.
    pub index: u64,
    /// At least 1.
    pub count: u64,
}

impl Shard {
    /// Whether image `name` is in this shard.
    pub fn holds(&self, name: &str) -> bool {
        use sha2::Digest;
        let h = sha2::Sha256::digest(name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        u64::from_be_bytes(first) % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("shard {:?}: give INDEX/COUNT with 1 <= INDEX <= COUNT, as 2/8", crate::display::escape(s));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What one image's rescan gave.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageRun {
    /// The image key.
    pub key: String,
    /// Findings of the scan.
    pub findings: usize,
    /// Decisions of the findings new since the previous scan.
    pub new: Vec<Decision>,
    /// The OpenVEX document written (none without findings or decisions).
    pub vex: Option<PathBuf>,
    /// Whether this DB had already scanned the image (nothing recorded again).
    pub already_scanned: bool,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// The DB's digest.
    pub db_digest: String,
    /// One per image, in the index's order.
    pub images: Vec<ImageRun>,
    /// The rebuilds of this run (made, resumed, failed or deferred by the policy).
    pub rebuilds: Vec<rebuild::RebuildReport>,
    /// Debian releases near or past their end of life, per image.
    pub eol: Vec<notes::EolWarning>,
    /// The registry's images that are not watched (`--from-registry`), with the reason.
    pub skipped: Vec<source::Skipped>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, MonitorError> {
    let bad = |reason: String| MonitorError::Input { path: path.to_path_buf(), reason };
    let bytes = crate::fsutil::read_regular_bounded(path, MAX_DOCUMENT).map_err(|e| bad(e.to_string()))?;
    let value = crate::json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// A path a summary names, which must stay inside its folder.
fn inside(dir: &Path, rel: &str, summary: &Path) -> Result<PathBuf, MonitorError> {
    let p = Path::new(rel);
    if p.is_absolute() || p.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(MonitorError::Input {
            path: summary.to_path_buf(),
            reason: format!("path {rel:?} is not a plain relative path"),
        });
    }
    Ok(dir.join(p))
}

/// One published tier, read from the main job's outputs.
pub(crate) struct Published {
    pub(crate) image: PublishedImage,
    pub(crate) dir: PathBuf,
    upstream_sbom: Option<PathBuf>,
    upstream_source: Option<String>,
}

/// One published tier from its `summary.json`.
pub(crate) fn published_tier(path: &Path, definition: &str) -> Result<Published, MonitorError> {
    let s: Summary = read_json(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = |key: &str| -> Result<Option<String>, MonitorError> {
        s.paths.get(key).map(|r| inside(&dir, r, path).map(|p| p.to_string_lossy().into_owned())).transpose()
    };
    let Some(sbom) = file("sbom_cyclonedx")? else {
        return Err(MonitorError::Input { path: path.to_path_buf(), reason: "no sbom_cyclonedx in paths".into() });
    };
    let digest = s.digest.clone().unwrap_or_default();
    Ok(Published {
        image: PublishedImage {
            key: format!("{}:{}@{digest}", s.image, s.variant),
            name: s.image.clone(),
            tier: s.variant.clone(),
            reference: s.source.clone(),
            digest,
            definition: definition.to_owned(),
            sbom,
            build_record: file("build_record")?,
            vex_facts: file("vex_facts")?,
            superseded_by: None,
        },
        dir,
        upstream_sbom: None,
        upstream_source: None,
    })
}

/// The images `out/index.json` lists (every tier with an SBOM).
fn published(from: &Path) -> Result<Vec<Published>, MonitorError> {
    let index_path = from.join("index.json");
    let index: Index = read_json(&index_path)?;
    let mut out = Vec::new();
    for img in &index.images {
        let (upstream_sbom, upstream_source) = match &img.upstream {
            Some(u) => {
                let path = inside(from, &u.summary, &index_path)?;
                let s: Summary = read_json(&path)?;
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (s.paths.get("sbom_cyclonedx").map(|r| inside(&dir, r, &path)).transpose()?, Some(s.source.clone()))
            }
            None => (None, None),
        };
        for t in &img.tiers {
            let path = inside(from, &t.summary, &index_path)?;
            let mut p = published_tier(&path, &img.definition)?;
            p.upstream_sbom = upstream_sbom.clone();
            p.upstream_source = upstream_source.clone();
            out.push(p);
        }
    }
    Ok(out)
}

/// What the index lists, with each superseded image replaced by the one that replaced it (the
/// state knows; the index is rewritten after a rebuild, but a run killed between the two must
/// not rescan the old image as current).
fn current(state: &mut State, from: &Path) -> Result<Vec<Published>, MonitorError> {
    let listed = published(from)?;
    let known: BTreeMap<String, PublishedImage> = state.images()?.into_iter().map(|i| (i.key.clone(), i)).collect();
    let mut out = Vec::new();
    for mut p in listed {
        let mut hops = 0;
        while let Some(next) = known.get(&p.image.key).and_then(|i| i.superseded_by.clone()) {
            let Some(n) = known.get(&next) else { break };
            let summary = Path::new(&n.sbom).parent().map(|d| d.join("summary.json")).unwrap_or_default();
            let mut q = published_tier(&summary, &n.definition)?;
            q.image.reference = n.reference.clone();
            q.upstream_sbom = p.upstream_sbom.clone();
            q.upstream_source = p.upstream_source.clone();
            p = q;
            hops += 1;
            if hops > 1000 {
                break;
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// Points the index's tier entries at the images that replaced them (atomically).
fn rewrite_index(from: &Path, rebuilt: &[(String, String, PathBuf, Option<String>)]) -> Result<(), MonitorError> {
    if rebuilt.is_empty() {
        return Ok(());
    }
    let index_path = from.join("index.json");
    // Monitors of other shards may rewrite it at the same time: one read-modify-write at once.
    let lock = from.join("index.json.lock");
    let _lock = crate::fsutil::FileLock::acquire(&lock)
        .map_err(|e| MonitorError::Input { path: lock.clone(), reason: format!("cannot lock: {e}") })?;
    let mut index: Index = read_json(&index_path)?;
    for img in &mut index.images {
        for t in &mut img.tiers {
            for (name, tier, summary, digest) in rebuilt {
                if &img.name == name && &t.variant == tier {
                    let rel = summary.strip_prefix(from).unwrap_or(summary);
                    t.summary = rel.to_string_lossy().into_owned();
                    t.digest = digest.clone();
                }
            }
        }
    }
    let mut bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
    bytes.push(b'\n');
    crate::fsutil::write_bytes_atomic(&index_path, &bytes)
        .map_err(|e| MonitorError::Input { path: index_path.clone(), reason: e.to_string() })
}

fn stage<T, E: Into<crate::Error>>(stage: &'static str, image: &str, r: Result<T, E>) -> Result<T, MonitorError> {
    r.map_err(|e| MonitorError::Stage { stage, image: image.to_owned(), source: Box::new(e.into()) })
}

/// Rescans every published image (see the module documentation).
pub fn run(state: &mut State, opts: &RunOptions<'_>) -> Result<RunReport, MonitorError> {
    let (mut images, skipped) = match &opts.registry {
        Some(src) => source::discover(src, &opts.from)?,
        None => (current(state, &opts.from)?, Vec::new()),
    };
    if let Some(shard) = opts.shard {
        images.retain(|p| shard.holds(&p.image.name));
    }
    let db = stage("open the vulnerability DB", "the catalog", Db::open(&opts.db))?;
    let db_digest = format!("sha256:{}", db.sha256());
    let now = opts.clock.now_rfc3339();
    let checkpoint = |point: &str, key: &str| {
        if let Some(cb) = opts.checkpoint {
            cb(point, key);
        }
    };
    // The upstream SBOMs, scanned once each: their findings on packages an image does not ship
    // are decided too (component_not_present), so users comparing with upstream see why.
    let mut upstream_scans: BTreeMap<PathBuf, Vec<Subject>> = BTreeMap::new();
    // Every SBOM to scan (the images this DB has not scanned yet and their upstreams), each
    // read once, and their packages scanned together: a package many images share (libc6,
    // zlib1g, ...) is looked up once for the whole catalog.
    let mut sboms: BTreeMap<PathBuf, Vec<crate::vuln::ScanPackage>> = BTreeMap::new();
    for p in &images {
        if state.scan_with(&p.image.key, &db_digest)?.is_some() {
            continue;
        }
        for (path, what) in
            [(Some(PathBuf::from(&p.image.sbom)), "read the SBOM"), (p.upstream_sbom.clone(), "read the upstream SBOM")]
        {
            let Some(path) = path else { continue };
            if let std::collections::btree_map::Entry::Vacant(e) = sboms.entry(path) {
                let pk = stage(what, &p.image.key, crate::vuln::sbom::read(e.key(), None))?;
                e.insert(pk);
            }
        }
    }
    let union = scan_catalog(&db, &sboms)?;
    let mut report =
        RunReport { db_digest: db_digest.clone(), images: Vec::new(), rebuilds: Vec::new(), eol: Vec::new(), skipped };
    for p in &images {
        let key = p.image.key.clone();
        state.upsert_image(&p.image, &now)?;
        let vex_path = p.dir.join("vex.openvex.json");
        if let Some(done) = state.scan_with(&key, &db_digest)? {
            report.images.push(ImageRun {
                key,
                findings: usize::try_from(done.findings).unwrap_or_default(),
                new: Vec::new(),
                vex: Some(PathBuf::from(&done.vex)).filter(|_| !done.vex.is_empty()),
                already_scanned: true,
            });
            continue;
        }
        let packages = sboms.get(Path::new(&p.image.sbom)).map(Vec::as_slice).unwrap_or_default();
        let scan = result_for(&union, packages);
        checkpoint("scanned", &key);
        // Facts of another image (another digest) do not apply: decided without them.
        let facts: Option<ImageFacts> = match &p.image.vex_facts {
            Some(f) => Some(read_json::<ImageFacts>(Path::new(f))?).filter(|f| f.product.digest == p.image.digest),
            None => None,
        };
        let facts = match facts {
            Some(f) => f,
            None => ImageFacts {
                schema: crate::vex::decide::FACTS_SCHEMA.into(),
                product: Product { name: p.image.name.clone(), digest: p.image.digest.clone(), registry: None },
                components: Vec::new(),
                compiled_out: Vec::new(),
                elf: None,
                entrypoint: Vec::new(),
                modules: Vec::new(),
                modules_unknown: None,
            },
        };
        let mut decisions = crate::vex::decide::decide_all(&facts, &scan);
        if let Some(up) = &p.upstream_sbom {
            if !upstream_scans.contains_key(up) {
                let r = result_for(&union, sboms.get(up).map(Vec::as_slice).unwrap_or_default());
                upstream_scans.insert(up.clone(), r.matches.iter().map(Subject::from).collect());
            }
            let mut seen: BTreeSet<(String, String)> =
                decisions.iter().map(|d| (d.vulnerability.clone(), d.component.clone())).collect();
            for s in upstream_scans.get(up).into_iter().flatten() {
                let d = decide(&facts, s);
                if d.justification == Some(crate::vex::Justification::ComponentNotPresent)
                    && seen.insert((d.vulnerability.clone(), d.component.clone()))
                {
                    decisions.push(d);
                }
            }
        }
        let known = state.findings(&key)?;
        let scan_id = {
            use sha2::Digest;
            hex::encode(&sha2::Sha256::digest(format!("{key}|{db_digest}").as_bytes())[..16])
        };
        let mut findings = Vec::new();
        let mut seen = BTreeSet::new();
        for m in &scan.matches {
            let k = (m.vulnerability.id.clone(), m.artifact.name.clone());
            if !seen.insert(k.clone()) {
                continue;
            }
            let first = known.get(&k);
            findings.push(state::FindingRow {
                vulnerability: k.0,
                package: k.1,
                version: m.artifact.version.clone(),
                severity: m.vulnerability.severity.as_str().to_owned(),
                fixed_in: m.vulnerability.fix_versions.join(","),
                first_seen: first.map_or_else(|| now.clone(), |f| f.first_seen.clone()),
                first_scan: first.map_or_else(|| scan_id.clone(), |f| f.first_scan.clone()),
            });
        }
        // New: neither a known finding nor decided before (an upstream finding decided
        // component_not_present is a decision without a finding of this image).
        let decided: BTreeSet<(String, String)> =
            state.decisions(&key)?.into_iter().map(|d| (d.vulnerability, d.package)).collect();
        let new: Vec<Decision> = decisions
            .iter()
            .filter(|d| {
                let k = (d.vulnerability.clone(), d.component.clone());
                !known.contains_key(&k) && !decided.contains(&k)
            })
            .cloned()
            .collect();
        // An OpenVEX document has at least one statement: without decisions none is written
        // (and the scan records no document).
        let vex_written = if decisions.is_empty() {
            String::new()
        } else if !opts.write_vex {
            if vex_path.is_file() {
                vex_path.to_string_lossy().into_owned()
            } else {
                String::new()
            }
        } else {
            let doc = crate::vex::document::render(&facts.product, &decisions, &now, env!("CARGO_PKG_VERSION"));
            let mut bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            bytes.push(b'\n');
            stage("write the OpenVEX document", &key, crate::fsutil::write_bytes_atomic(&vex_path, &bytes))?;
            vex_path.to_string_lossy().into_owned()
        };
        checkpoint("vex-written", &key);
        let record = ScanRecord {
            scan: ScanRow {
                id: scan_id,
                image_key: key.clone(),
                db_digest: db_digest.clone(),
                scanned_at: now.clone(),
                findings: i64::try_from(findings.len()).unwrap_or(i64::MAX),
                new_findings: i64::try_from(new.len()).unwrap_or(i64::MAX),
                vex: vex_written.clone(),
            },
            findings,
            decisions: new.clone(),
        };
        state.record_scan(&record)?;
        checkpoint("recorded", &key);
        let vex = Some(vex_path).filter(|_| !vex_written.is_empty());
        report.images.push(ImageRun { key, findings: seen.len(), new, vex, already_scanned: false });
    }
    // The Debian releases each image is built from, against their end of life.
    let now_epoch = opts.clock.now();
    for p in &images {
        if let Ok(spec) = crate::spec::ImageSpec::load(Path::new(&p.image.definition)) {
            report.eol.extend(notes::eol_warnings(&p.image.key, &spec.debian.suites, now_epoch, opts.eol_warn_days));
        }
    }
    if let Some(ro) = &opts.rebuild {
        let candidates: Vec<rebuild::Candidate<'_>> = images
            .iter()
            .map(|p| rebuild::Candidate { image: &p.image, dir: &p.dir, upstream_source: p.upstream_source.clone() })
            .collect();
        // Rebuilds of a registry's images go back to it, unless told otherwise.
        let mut ro = ro.clone();
        if let (Some(src), None) = (&opts.registry, &ro.registry) {
            ro.registry = Some(src.describe());
            ro.insecure.extend(src.insecure.iter().cloned());
        }
        report.rebuilds = rebuild::run(state, &opts.from, &opts.db, opts, &ro, &candidates)?;
        let rebuilt: Vec<(String, String, PathBuf, Option<String>)> = state
            .rebuilds()?
            .into_iter()
            .filter(|r| r.state == "published")
            .filter_map(|r| {
                let p = images.iter().find(|p| p.image.key == r.image_key)?;
                Some((p.image.name.clone(), p.image.tier.clone(), PathBuf::from(r.summary?), r.new_digest))
            })
            .collect();
        // The index, when the images came from it (a registry's tag moved with the push).
        if opts.registry.is_none() {
            rewrite_index(&opts.from, &rebuilt)?;
        }
    }
    Ok(report)
}

/// What matching reads of a package (its SBOM facts left out): packages equal in it match the same.
fn match_key(p: &crate::vuln::ScanPackage) -> String {
    let mut q = p.clone();
    q.facts = crate::vuln::model::PackageFacts::default();
    serde_json::to_string(&q).unwrap_or_default()
}

/// Scans the distinct packages of every SBOM once.
fn scan_catalog(
    db: &Db,
    sboms: &BTreeMap<PathBuf, Vec<crate::vuln::ScanPackage>>,
) -> Result<crate::vuln::ScanResult, MonitorError> {
    let mut seen = BTreeSet::new();
    let mut distinct = Vec::new();
    for p in sboms.values().flatten() {
        if seen.insert(match_key(p)) {
            distinct.push(p.clone());
        }
    }
    stage("scan the catalog", "the catalog", scan_packages(db, &distinct, &ScanOptions::default()))
}

/// One SBOM's share of the catalog's scan, each finding naming the SBOM's own package.
fn result_for(union: &crate::vuln::ScanResult, packages: &[crate::vuln::ScanPackage]) -> crate::vuln::ScanResult {
    let own: BTreeMap<String, &crate::vuln::ScanPackage> = packages.iter().map(|p| (match_key(p), p)).collect();
    let matches = union
        .matches
        .iter()
        .filter_map(|m| {
            own.get(&match_key(&m.artifact))
                .map(|p| crate::vuln::Match { artifact: std::sync::Arc::new((*p).clone()), ..m.clone() })
        })
        .collect();
    crate::vuln::ScanResult {
        matches,
        ignored: Vec::new(),
        db_sha256: union.db_sha256.clone(),
        db_built: union.db_built.clone(),
        db_sources: union.db_sources.clone(),
        notes: union.notes.clone(),
        packages: packages.len(),
        stats: crate::vuln::scan::ScanStats::default(),
    }
}

/// Posts the run's new decisions to a webhook (JSON: `{"db", "images": [{"key", "findings",
/// "new": [decision...], "vex"}]}`, only images with something new), when there are any;
/// bounded (10 s to connect, 60 s in all), a status other than 2xx an error. Returns whether
/// it posted.
pub fn notify(url: &str, report: &RunReport) -> Result<bool, MonitorError> {
    let images: Vec<&ImageRun> = report.images.iter().filter(|i| !i.new.is_empty()).collect();
    if images.is_empty() {
        return Ok(false);
    }
    let body = serde_json::json!({"tool": concat!("armorred ", env!("CARGO_PKG_VERSION")), "db": report.db_digest, "images": images});
    let client = crate::http::Client::new(crate::http::Deadlines {
        connect: std::time::Duration::from_secs(10),
        stall: std::time::Duration::from_secs(30),
        total: Some(std::time::Duration::from_secs(60)),
    });
    let bad = |reason: String| MonitorError::Webhook { url: url.to_owned(), reason };
    match client.request("POST", url).set("Content-Type", "application/json").send_string(&body.to_string()) {
        Ok(_) => Ok(true),
        Err(ureq::Error::Status(code, _)) => Err(bad(format!("answered HTTP {code}"))),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// The file beside `index.json` that holds [`status`] for the site (`<from>/monitor.json`).
pub const HISTORY_FILE: &str = "monitor.json";

/// Writes [`status`] into `<from>/monitor.json` (atomically), where the site reads each tier's
/// scans, decisions and rebuilds from.
pub fn write_history(state: &mut State, from: &Path) -> Result<PathBuf, MonitorError> {
    let path = from.join(HISTORY_FILE);
    let mut bytes = serde_json::to_vec_pretty(&status(state)?).unwrap_or_default();
    bytes.push(b'\n');
    stage("write the monitor history", "the catalog", crate::fsutil::write_bytes_atomic(&path, &bytes))?;
    Ok(path)
}

/// The whole state, for `monitor status`: every image with its scans, findings and decisions.
pub fn status(state: &mut State) -> Result<serde_json::Value, MonitorError> {
    let scans = state.scans()?;
    let mut images = Vec::new();
    for img in state.images()? {
        let findings: Vec<state::FindingRow> = state.findings(&img.key)?.into_values().collect();
        let decisions = state.decisions(&img.key)?;
        let own: Vec<&ScanRow> = scans.iter().filter(|s| s.image_key == img.key).collect();
        let rebuilds = state.rebuilds_of(&img.key)?;
        images.push(serde_json::json!({
            "image": img,
            "scans": own,
            "findings": findings,
            "decisions": decisions,
            "rebuilds": rebuilds,
        }));
    }
    Ok(serde_json::json!({"state": state.origin(), "schema_version": state.version()?, "images": images}))
}

/// Parses `--every` (`24h`, `30m`, `90s`, `1d`).
pub fn parse_interval(s: &str) -> Option<std::time::Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;

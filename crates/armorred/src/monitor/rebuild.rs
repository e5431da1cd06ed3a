//! Rebuilds: for each published, not superseded image with `affected` decisions whose package a
//! newer Debian version in the definition's suites fixes (the definition resolved again the way
//! `armorred lock` resolves it, [`crate::build::resolve_lock`], against the signed
//! indices), within the policy (severity threshold, a maximum per run): re-lock (the
//! definition's `image.lock` written), rebuild with the main job ([`crate::pipeline::run`], the
//! one tier, into `<from>/rebuilds/<id>/`: build, checksec gate, SBOM, scan, VEX, sign and
//! attest), push when the old image is in the registry, write the release notes and the OSV
//! record, then publish in one transaction (the new image recorded, the old one superseded,
//! time-to-fix from the first finding's first-seen time).
//!
//! Crash safety: a rebuild's id is a hash of the old image and the new lock, its row is
//! written before any work (`started`), and each step that finishes moves it on (`built`,
//! `pushed`, `published`); a run killed anywhere resumes the row at its step, and a
//! `published` rebuild is never made again. The build is reproducible (the lock's dates), so
//! a build redone after a kill gives the same digest; a push is confirmed by the registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::notes::Fix;
use super::state::{PublishedImage, RebuildRow, State};
use super::MonitorError;
use crate::build::debian::{Lock, Mirror};
use crate::error::chain;
use crate::tier::Tier;
use crate::vuln::Severity;

/// The catalog's rebuild policy (`monitor.toml`: `[rebuild]` and `[eol]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Rebuild for findings of at least this severity (`critical`, `high`, `medium`, `low`,
    /// `negligible`, `unknown`).
    #[serde(default = "default_severity")]
    pub min_severity: String,
    /// At most this many rebuilds start in one run (the others wait for the next run).
    #[serde(default = "default_max")]
    pub max_per_run: usize,
    /// Rebuild only for vulnerabilities in CISA's KEV catalog. The vulnerability DB holds no
    /// KEV data: `true` is refused.
    #[serde(default)]
    pub kev_only: bool,
    /// Rebuild only above this EPSS score. The DB holds no EPSS data: any value is refused.
    #[serde(default)]
    pub epss_at_least: Option<f64>,
    /// Warn this many days before a Debian release's regular support or LTS ends.
    #[serde(default = "default_eol_days")]
    pub eol_warn_days: i64,
    /// The catalog's test of a rebuilt image, run after its checksec gate and before it is
    /// pushed: a program and its arguments ([`super::imagetest`]); a failure leaves the rebuild
    /// `failed`. None: no test beyond the gate.
    #[serde(default)]
    pub test: Option<Vec<String>>,
    /// The test's time limit; past it, the test and everything it started is killed.
    #[serde(default = "default_test_minutes")]
    pub test_timeout_minutes: u64,
}

fn default_severity() -> String {
    "high".into()
}
fn default_max() -> usize {
    5
}
fn default_eol_days() -> i64 {
    180
}
fn default_test_minutes() -> u64 {
    60
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_severity: default_severity(),
            max_per_run: default_max(),
            kev_only: false,
            epss_at_least: None,
            eol_warn_days: default_eol_days(),
            test: None,
            test_timeout_minutes: default_test_minutes(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rebuild: Option<Policy>,
}

impl Policy {
    /// Reads a policy file (`[rebuild]` table; missing keys take the defaults).
    pub fn load(path: &Path) -> Result<Self, MonitorError> {
        let bad = |reason: String| MonitorError::Input { path: path.to_path_buf(), reason };
        let bytes = crate::fsutil::read_regular_bounded(path, 1 << 20).map_err(|e| bad(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        let file: PolicyFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let p = file.rebuild.unwrap_or_default();
        p.check().map_err(bad)?;
        Ok(p)
    }

    /// The threshold, checked; KEV and EPSS refused (the DB has neither).
    pub fn check(&self) -> Result<Severity, String> {
        if self.kev_only {
            return Err("[rebuild] kev_only: the vulnerability DB holds no KEV data (no feed of it is imported)".into());
        }
        if self.epss_at_least.is_some() {
            return Err(
                "[rebuild] epss_at_least: the vulnerability DB holds no EPSS scores (no feed of them is imported)"
                    .into(),
            );
        }
        if self.test.as_ref().is_some_and(|t| t.first().is_none_or(String::is_empty)) {
            return Err("[rebuild] test: give the program and its arguments, as [\"PROGRAM\", \"ARG\", ...]".into());
        }
        if self.test_timeout_minutes == 0 {
            return Err("[rebuild] test_timeout_minutes: must be at least 1".into());
        }
        Severity::parse(&self.min_severity)
            .ok_or_else(|| format!("[rebuild] min_severity {:?}: not a severity", self.min_severity))
    }
}

/// How rebuilds are made.
#[derive(Debug, Clone, Default)]
pub struct RebuildOptions {
    /// The policy.
    pub policy: Policy,
    /// An explicit Debian mirror; else the host's apt configuration.
    pub mirror: Option<String>,
    /// The cache root.
    pub cache: Option<PathBuf>,
    /// The signing key (`None`: not signed; the notes say so).
    pub signing: Option<crate::pipeline::Signing>,
    /// The registry images are published to: `HOST[:PORT][/PREFIX]` (each image at
    /// `<PREFIX>/<name>:<tier>`). A rebuild is pushed when the old image's digest is there.
    pub registry: Option<String>,
    /// Registries reached over plain HTTP besides loopback.
    pub insecure: Vec<String>,
}

/// What the rebuild pass did for one image.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    /// The old image's key.
    pub image: String,
    /// The rebuild's id.
    pub id: String,
    /// Our advisory.
    pub advisory: Option<String>,
    /// Its state at the end of the run.
    pub state: String,
    /// The new image's key, once published.
    pub new_key: Option<String>,
    /// What it fixes.
    pub fixes: Vec<Fix>,
    /// Time-to-fix.
    pub time_to_fix_seconds: Option<i64>,
    /// Where it was pushed.
    pub reference: Option<String>,
    /// The release notes.
    pub release_notes: Option<String>,
    /// The OSV record.
    pub osv: Option<String>,
    /// Why it failed, or why it was not pushed.
    pub detail: Option<String>,
}

/// What the rebuild pass passes over for one image.
pub(crate) struct Candidate<'a> {
    pub(crate) image: &'a PublishedImage,
    /// The tier's output folder.
    pub(crate) dir: &'a Path,
    /// The upstream image's source (compared with again, not rebuilt).
    pub(crate) upstream_source: Option<String>,
}

fn stage<T, E: Into<crate::Error>>(stage: &'static str, image: &str, r: Result<T, E>) -> Result<T, MonitorError> {
    super::stage(stage, image, r)
}

fn newer_or_equal(a: &str, b: &str) -> bool {
    crate::version::compare(crate::version::Scheme::Dpkg, a, b).is_ok_and(|o| o != std::cmp::Ordering::Less)
}

/// The image's findings decided `affected` (their latest decision) of at least `min`.
fn affected(
    state: &mut State,
    image: &PublishedImage,
    min: Severity,
) -> Result<Vec<super::state::FindingRow>, MonitorError> {
    let findings = state.findings(&image.key)?;
    let mut decided: BTreeMap<(String, String), String> = BTreeMap::new();
    for d in state.decisions(&image.key)? {
        decided.insert((d.vulnerability, d.package), d.status);
    }
    Ok(findings
        .into_iter()
        .filter(|(k, f)| {
            decided.get(k).map(String::as_str) == Some("affected")
                && Severity::parse(&f.severity).unwrap_or(Severity::Unknown) >= min
        })
        .map(|(_, f)| f)
        .collect())
}

/// The fixes a new lock brings to `image`: its `affected` findings of at least `min` whose
/// package the lock pins at a newer version that is at least a fixed version (when the
/// advisory names one).
pub(crate) fn fixes_in(
    state: &mut State,
    image: &PublishedImage,
    lock: &Lock,
    min: Severity,
) -> Result<Vec<Fix>, MonitorError> {
    let Ok(tier) = image.tier.parse::<Tier>() else { return Ok(Vec::new()) };
    let Some(pinned) = lock.tier_packages(tier) else { return Ok(Vec::new()) };
    let pinned: BTreeMap<&str, &str> = pinned.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
    let mut out = Vec::new();
    for f in affected(state, image, min)? {
        let Some(candidate) = pinned.get(f.package.as_str()) else { continue };
        if newer_or_equal(&f.version, candidate) {
            continue;
        }
        let fixed = f.fixed_in.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>();
        if !fixed.is_empty() && !fixed.iter().any(|v| newer_or_equal(candidate, v)) {
            continue;
        }
        out.push(Fix {
            vulnerability: f.vulnerability.clone(),
            package: f.package.clone(),
            severity: f.severity.clone(),
            installed: f.version.clone(),
            fixed_in: f.fixed_in.clone(),
            candidate: (*candidate).to_owned(),
            first_seen: f.first_seen.clone(),
        });
    }
    Ok(out)
}

/// The re-pinned recipe of a rebuild, beside its `image.lock`.
const KEPT_RECIPE: &str = "recipe.toml";

/// The rebuild of image `key` from `lock`, after `failed` failed attempts of it.
fn rebuild_id(key: &str, lock: &Lock, recipe: Option<&str>, failed: usize) -> String {
    use sha2::Digest;
    let retry = if failed == 0 { String::new() } else { format!("|retry {failed}") };
    let recipe = recipe.map(|r| format!("|recipe {r}")).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(format!("{key}|{}{recipe}{retry}", lock.to_toml()).as_bytes())[..12])
}

/// The registry and the repository an image is published at.
fn repository(registry: &str, name: &str) -> (String, String) {
    match registry.split_once('/') {
        Some((host, prefix)) => (host.to_owned(), format!("{}/{name}", prefix.trim_matches('/'))),
        None => (registry.to_owned(), name.to_owned()),
    }
}

/// The rebuild pass (see the module documentation).
pub(crate) fn run(
    state: &mut State,
    from: &Path,
    db: &Path,
    opts: &super::RunOptions<'_>,
    ro: &RebuildOptions,
    candidates: &[Candidate<'_>],
) -> Result<Vec<RebuildReport>, MonitorError> {
    let min =
        ro.policy.check().map_err(|reason| MonitorError::Input { path: PathBuf::from("monitor.toml"), reason })?;
    let checkpoint = |point: &str, key: &str| {
        if let Some(cb) = opts.checkpoint {
            cb(point, key);
        }
    };
    let mut reports = Vec::new();
    let mut started = 0usize;
    let mut locks: BTreeMap<String, Lock> = BTreeMap::new();
    let mut mirror: Option<Mirror> = None;
    let mut listed = super::newer_source::Listed::new();
    let me = super::state::Claimant::this_process();
    // One candidate: Ok(None) when there is nothing to do for it, else what was done.
    let mut consider = |state: &mut State, c: &Candidate<'_>| -> Result<Option<RebuildReport>, MonitorError> {
        let img = c.image;
        // A rebuild already recorded for this image: resumed where it stopped, or done.
        let existing = state.rebuilds_of(&img.key)?;
        if existing.iter().any(|r| r.state == "published") {
            return Ok(None);
        }
        // A failed rebuild is tried again, as a new rebuild (its own id and folder).
        let attempt = existing.iter().filter(|r| r.state == "failed").count();
        // Its advisory number was never published: the retry keeps it.
        let retried_advisory = existing.iter().rev().find(|r| r.state == "failed").and_then(|r| r.advisory.clone());
        let resume = existing.into_iter().find(|r| r.state != "failed");
        let (row, fixes, lock) = match resume {
            Some(row) => {
                let fixes: Vec<Fix> =
                    row.fixes.as_deref().and_then(|f| serde_json::from_str(f).ok()).unwrap_or_default();
                // The lock the rebuild started from, kept beside its outputs.
                let lock = stage(
                    "read the rebuild's image lock",
                    &img.key,
                    Lock::read(&from.join("rebuilds").join(&row.id).join("image.lock"))
                        .map_err(crate::build::BuildError::from),
                )?;
                (row, fixes, lock)
            }
            None => {
                // Any affected finding at all? (No mirror query for a clean image.)
                let any = state.decisions(&img.key)?.iter().any(|d| d.status == "affected");
                if !any {
                    return Ok(None);
                }
                // An image watched from a registry names its definition in its provenance: it
                // must be checked out here.
                if !Path::new(&img.definition).join("image.toml").is_file() {
                    return Ok(Some(RebuildReport::only(
                        &img.key,
                        "unavailable",
                        Vec::new(),
                        format!(
                            "not rebuilt: its definition {:?} (from its provenance) is not here",
                            crate::display::escape(&img.definition)
                        ),
                    )));
                }
                if mirror.is_none() {
                    mirror = Some(stage(
                        "find the Debian mirror",
                        &img.key,
                        Mirror::discover(ro.mirror.as_deref()).map_err(crate::build::BuildError::from),
                    )?);
                }
                let Some(mirror) = mirror.as_ref() else { return Ok(None) };
                let lock = match locks.get(&img.definition) {
                    Some(l) => l.clone(),
                    None => {
                        let (l, _) = stage(
                            "resolve the definition again",
                            &img.key,
                            crate::build::resolve_lock(Path::new(&img.definition), mirror),
                        )?;
                        locks.insert(img.definition.clone(), l.clone());
                        l
                    }
                };
                let mut fixes = fixes_in(state, img, &lock, min)?;
                // A tier compiled from source: a newer revision of its Debian source package.
                let found = match img.tier.parse::<Tier>() {
                    Ok(tier) => {
                        let affected = affected(state, img, min)?;
                        super::newer_source::look(Path::new(&img.definition), tier, mirror, &affected, &mut listed)
                            .unwrap_or_else(|why| super::newer_source::Found {
                                unavailable: Some(format!("the newer source was not looked up: {why}")),
                                ..Default::default()
                            })
                    }
                    Err(_) => super::newer_source::Found::default(),
                };
                fixes.extend(found.fixes);
                if fixes.is_empty() {
                    return Ok(found
                        .unavailable
                        .map(|detail| RebuildReport::only(&img.key, "unavailable", Vec::new(), detail)));
                }
                let repinned = found.repinned;
                if started >= ro.policy.max_per_run {
                    return Ok(Some(RebuildReport::only(
                        &img.key,
                        "deferred",
                        fixes,
                        format!("over the policy's max_per_run = {}", ro.policy.max_per_run),
                    )));
                }
                let first_seen = fixes.iter().map(|f| f.first_seen.clone()).min();
                let now = opts.clock.now_rfc3339();
                let id = rebuild_id(&img.key, &lock, repinned.as_ref().map(|r| r.text.as_str()), attempt);
                // The new lock first, beside the rebuild's outputs: a resumed rebuild builds
                // from it, whatever the mirror serves by then.
                let kept = from.join("rebuilds").join(&id).join("image.lock");
                mkdir(&from.join("rebuilds").join(&id))?;
                stage(
                    "keep the new image lock",
                    &img.key,
                    crate::fsutil::write_bytes_atomic(&kept, lock.to_toml().as_bytes()),
                )?;
                if let Some(r) = &repinned {
                    stage(
                        "keep the re-pinned recipe",
                        &img.key,
                        crate::fsutil::write_bytes_atomic(&kept.with_file_name(KEPT_RECIPE), r.text.as_bytes()),
                    )?;
                }
                let row = RebuildRow {
                    id,
                    image_key: img.key.clone(),
                    old_digest: img.digest.clone(),
                    new_digest: None,
                    state: "started".into(),
                    started_at: now.clone(),
                    finished_at: None,
                    first_seen,
                    time_to_fix_seconds: None,
                    advisory: None,
                    fixes: serde_json::to_string(&fixes).ok(),
                    new_key: None,
                    summary: None,
                    reference: None,
                    release_notes: None,
                    osv: None,
                    detail: None,
                };
                let row = RebuildRow { advisory: retried_advisory, ..row };
                let year = now.get(..4).unwrap_or("0000").to_owned();
                (state.begin_rebuild(&row, &year)?, fixes, lock)
            }
        };
        started += 1;
        checkpoint("rebuild-started", &img.key);
        rebuild_one(state, from, db, opts, ro, c, row, &fixes, &lock, &checkpoint, &me).map(Some)
    };
    for c in candidates {
        let img = c.image;
        // Work to do? (Read without a claim: a rebuild to resume, or an affected finding.)
        let existing = state.rebuilds_of(&img.key)?;
        let pending = existing.iter().any(|r| r.state != "failed" && r.state != "published");
        if existing.iter().any(|r| r.state == "published")
            || !(pending || state.decisions(&img.key)?.iter().any(|d| d.status == "affected"))
        {
            continue;
        }
        // Another monitor on the same state may be at it: one rebuilds an image at a time.
        if let Some(holder) = state.claim(&img.key, &me, opts.clock.now())? {
            reports.push(RebuildReport::only(
                &img.key,
                "claimed",
                Vec::new(),
                format!("another monitor ({}) is rebuilding it", crate::display::escape(&holder)),
            ));
            continue;
        }
        let done = consider(state, c);
        // Released whatever happened (a kill leaves it to expire, or to be taken over here).
        let released = state.release(&img.key, &me);
        if let Some(r) = done? {
            reports.push(r);
        }
        released?;
    }
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
fn rebuild_one(
    state: &mut State,
    from: &Path,
    db: &Path,
    opts: &super::RunOptions<'_>,
    ro: &RebuildOptions,
    c: &Candidate<'_>,
    mut row: RebuildRow,
    fixes: &[Fix],
    lock: &Lock,
    checkpoint: &dyn Fn(&str, &str),
    me: &super::state::Claimant,
) -> Result<RebuildReport, MonitorError> {
    let img = c.image;
    let key = img.key.as_str();
    // Before each step, the claim renewed: a monitor whose claim expired and was taken over
    // stops here, leaving the rebuild to the monitor that holds it now.
    let lost = |state: &mut State, row: &RebuildRow| -> Result<Option<RebuildReport>, MonitorError> {
        if state.renew_claim(key, me, opts.clock.now())? {
            return Ok(None);
        }
        let mut r = report_of(row, fixes);
        r.state = "claimed".into();
        r.detail = Some("the claim expired and another monitor took it over: stopped before the next step".into());
        Ok(Some(r))
    };
    let definition = PathBuf::from(&img.definition);
    let work = from.join("rebuilds").join(&row.id);
    let failed = |state: &mut State, mut row: RebuildRow, detail: String| -> Result<RebuildReport, MonitorError> {
        row.state = "failed".into();
        row.detail = Some(detail);
        row.finished_at = Some(opts.clock.now_rfc3339());
        state.rebuild_step(&row)?;
        Ok(report_of(&row, fixes))
    };
    // 1. Re-lock: the definition's image.lock now pins the fixed versions (unchanged when a
    //    resumed run wrote it already).
    stage(
        "write the new image lock",
        key,
        crate::build::write_lock(&crate::build::lock_path(&definition), lock, false),
    )?;
    // A re-pinned recipe, kept beside the rebuild's outputs, over the tier's recipe.
    let kept = work.join(KEPT_RECIPE);
    if std::fs::symlink_metadata(&kept).is_ok_and(|m| m.is_file()) {
        let text = stage("read the re-pinned recipe", key, crate::fsutil::read_regular_bounded(&kept, 1 << 20))?;
        if let Some(dest) = img.tier.parse::<Tier>().ok().and_then(|t| super::newer_source::recipe_path(&definition, t))
        {
            stage("write the re-pinned recipe", key, crate::fsutil::write_bytes_atomic(&dest, &text))?;
        }
    }
    checkpoint("relocked", key);
    // 2. Rebuild, gate, sign and attest: the main job, for this tier.
    if let Some(r) = lost(state, &row)? {
        return Ok(r);
    }
    if row.state == "started" {
        let Ok(tier) = img.tier.parse::<Tier>() else {
            return failed(state, row, format!("tier {:?} is not a tier", img.tier));
        };
        let mut p = crate::pipeline::PipelineOptions::new(&work);
        p.images = vec![definition.clone()];
        p.db = Some(db.to_path_buf());
        p.mirror = ro.mirror.clone();
        p.cache = ro.cache.clone();
        p.tiers = vec![tier];
        p.signing = ro.signing.clone();
        p.upstream = c.upstream_source.clone();
        p.clock = opts.clock;
        let outcome = match crate::pipeline::run(&p) {
            Ok(o) => o,
            Err(e) => return failed(state, row, chain(&e)),
        };
        let Some(t) = outcome.images.first().and_then(|i| i.tiers.first()) else {
            return failed(state, row, "the pipeline built no tier".into());
        };
        if !t.summary.build.as_ref().is_some_and(|b| b.gate_passed) {
            return failed(state, row, "the new image did not pass its checksec gate".into());
        }
        // The catalog's test, before the rebuild counts as built (a kill during it builds and
        // tests again).
        if let Some(test) = &ro.policy.test {
            let log = work.join("test.log");
            // The log of a killed attempt (the rebuild's folder is ours).
            if std::fs::symlink_metadata(&log).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(&log);
            }
            let layout = t.summary.source.strip_prefix("oci-dir:").unwrap_or(&t.summary.source);
            let subject = super::imagetest::Subject {
                layout,
                image: &img.name,
                tier: &img.tier,
                digest: t.summary.digest.as_deref().unwrap_or(""),
                definition: &img.definition,
            };
            let limit = std::time::Duration::from_secs(ro.policy.test_timeout_minutes.saturating_mul(60));
            if let Err(why) = super::imagetest::run(test, &subject, &log, limit) {
                return failed(state, row, why);
            }
        }
        row.new_digest = t.summary.digest.clone();
        row.summary = Some(t.summary_path.to_string_lossy().into_owned());
        row.state = "built".into();
        state.rebuild_step(&row)?;
    }
    checkpoint("rebuilt", key);
    let summary_path = PathBuf::from(row.summary.clone().unwrap_or_default());
    let mut new = super::published_tier(&summary_path, &img.definition)?;
    // The new image goes by the old one's name (a registry's repository may name an image
    // otherwise than its definition does).
    new.image.name.clone_from(&img.name);
    new.image.key = format!("{}:{}@{}", img.name, new.image.tier, new.image.digest);
    // 3. Push, when the old image is in the registry.
    if let Some(r) = lost(state, &row)? {
        return Ok(r);
    }
    if row.state == "built" {
        if let Some(registry) = &ro.registry {
            let (host, repo) = repository(registry, &img.name);
            let options = crate::registry::Options { insecure_hosts: ro.insecure.clone(), ..Default::default() };
            let client = stage("reach the registry", key, crate::registry::Client::new(&host, options))?;
            let there = stage("look the image up in the registry", key, client.head_manifest(&repo, &img.digest))?;
            if there.is_some() {
                let layout = new.image.reference.strip_prefix("oci-dir:").unwrap_or(&new.image.reference).to_owned();
                let pushed = stage(
                    "push the new image",
                    key,
                    crate::registry::copy::push_oci_layout(&client, Path::new(&layout), &repo, &img.tier, None),
                )?;
                row.reference = Some(format!("registry:{host}/{repo}@{}", pushed.digest));
            } else {
                row.detail = Some(format!("not pushed: {} is not in {host}/{repo}", img.digest));
            }
        } else {
            row.detail = Some("not pushed: no registry given".into());
        }
        row.state = "pushed".into();
        state.rebuild_step(&row)?;
    }
    checkpoint("pushed", key);
    // 4. The notes and the OSV record (same bytes when written again after a kill), then
    //    published in one transaction.
    if let Some(r) = lost(state, &row)? {
        return Ok(r);
    }
    let now = opts.clock.now_rfc3339();
    let ttf = row
        .first_seen
        .as_deref()
        .and_then(crate::clock::parse_rfc3339)
        .zip(crate::clock::parse_rfc3339(&now))
        .map(|(a, b)| (b - a).max(0));
    row.finished_at = Some(now.clone());
    row.time_to_fix_seconds = ttf;
    let old_summary = c.dir.join("summary.json");
    let old_side = if old_summary.is_file() {
        side_of(key, &old_summary, Path::new(&img.sbom))?
    } else {
        side_from_registry(key, img, c.dir)?
    };
    let new_side = side_of(key, &summary_path, Path::new(&new.image.sbom))?;
    let advisory = row.advisory.clone().unwrap_or_default();
    let public_key = ro.signing.as_ref().map(|s| s.public_key.to_string_lossy().into_owned());
    let n = super::notes::RebuildNotes {
        advisory: &advisory,
        image: &img.name,
        tier: &img.tier,
        old: &old_side,
        new: &new_side,
        fixes,
        reference: row.reference.as_deref(),
        public_key: public_key.as_deref(),
        published: &now,
        time_to_fix_seconds: ttf,
    };
    let notes_path = work.join("release-notes.md");
    stage(
        "write the release notes",
        key,
        crate::fsutil::write_bytes_atomic(&notes_path, super::notes::release_notes(&n).as_bytes()),
    )?;
    let osv_path = from.join("advisories").join(format!("{advisory}.json"));
    let mut osv = serde_json::to_vec_pretty(&super::notes::osv_record(&n)).unwrap_or_default();
    osv.push(b'\n');
    mkdir(&from.join("advisories"))?;
    stage("write the OSV record", key, crate::fsutil::write_bytes_atomic(&osv_path, &osv))?;
    row.release_notes = Some(notes_path.to_string_lossy().into_owned());
    row.osv = Some(osv_path.to_string_lossy().into_owned());
    let mut published = new.image.clone();
    if let Some(r) = &row.reference {
        published.reference = r.clone();
    }
    state.publish_rebuild(&row, &published)?;
    row.state = "published".into();
    row.new_key = Some(published.key.clone());
    checkpoint("published", key);
    Ok(report_of(&row, fixes))
}

impl RebuildReport {
    /// A report of an image that was not rebuilt in this run (`deferred`, `unavailable`,
    /// `claimed`): nothing recorded, only why.
    fn only(image: &str, state: &str, fixes: Vec<Fix>, detail: String) -> Self {
        Self {
            image: image.to_owned(),
            id: String::new(),
            advisory: None,
            state: state.to_owned(),
            new_key: None,
            fixes,
            time_to_fix_seconds: None,
            reference: None,
            release_notes: None,
            osv: None,
            detail: Some(detail),
        }
    }
}

fn report_of(row: &RebuildRow, fixes: &[Fix]) -> RebuildReport {
    RebuildReport {
        image: row.image_key.clone(),
        id: row.id.clone(),
        advisory: row.advisory.clone(),
        state: row.state.clone(),
        new_key: row.new_key.clone(),
        fixes: fixes.to_vec(),
        time_to_fix_seconds: row.time_to_fix_seconds,
        reference: row.reference.clone(),
        release_notes: row.release_notes.clone(),
        osv: row.osv.clone(),
        detail: row.detail.clone(),
    }
}

fn side_of(key: &str, summary: &Path, sbom: &Path) -> Result<super::notes::Side, MonitorError> {
    let s: crate::pipeline::summary::Summary = super::read_json(summary)?;
    let packages = stage("read the SBOM", key, crate::vuln::sbom::read(sbom, None))?;
    Ok(super::notes::Side {
        digest: s.digest.unwrap_or_default(),
        size: s.size,
        packages: packages.into_iter().map(|p| (p.name, p.version)).collect(),
    })
}

/// The old side of an image watched from a registry (no summary): its digest, its SBOM, and its
/// size from its comparison attestation.
fn side_from_registry(key: &str, img: &PublishedImage, dir: &Path) -> Result<super::notes::Side, MonitorError> {
    let comparison = dir.join(super::source::COMPARISON);
    let c: serde_json::Value = super::read_json(&comparison)?;
    let uncompressed = c.pointer("/size/hardened_bytes").and_then(serde_json::Value::as_u64).ok_or_else(|| {
        MonitorError::Input { path: comparison.clone(), reason: "no size.hardened_bytes in the comparison".into() }
    })?;
    let compressed = c.pointer("/size/compressed/hardened").and_then(serde_json::Value::as_u64);
    let packages = stage("read the SBOM", key, crate::vuln::sbom::read(Path::new(&img.sbom), None))?;
    Ok(super::notes::Side {
        digest: img.digest.clone(),
        size: crate::pipeline::summary::SizeSummary { compressed, uncompressed },
        packages: packages.into_iter().map(|p| (p.name, p.version)).collect(),
    })
}

fn mkdir(dir: &Path) -> Result<(), MonitorError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| MonitorError::Input { path: dir.to_path_buf(), reason: format!("cannot create the folder: {e}") })
}

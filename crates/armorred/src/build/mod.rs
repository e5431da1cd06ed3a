//! `armorred lock` and `armorred build`: from an image definition to a locked package set, then
//! to a reproducible OCI image. The pipeline is a list of named stages, each wrapping its error:
//! load definition → read lock → fetch → unpack → assemble → checksec gate → layer → write →
//! record.

pub mod buildroot;
pub mod debian;
pub mod record;
pub mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use debian::release::{default_keyring_paths, Keyring};
use debian::tree::Tree;
use debian::{Cache, DebianError, Indices, Lock, Mirror, ResolveRequest};

use crate::elf::policy;
use crate::oci::{self, Image, OciError, RuntimeConfig};
use crate::spec::{ImageSpec, SpecError};
use crate::tier::Tier;

/// Errors of `lock` and `build`, each naming the stage.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The definition is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A Debian input failed (download, signature, digest, resolution, lock, package).
    #[error(transparent)]
    Debian(#[from] DebianError),
    /// Writing the image failed.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// The lock file is missing or does not match the definition.
    #[error("{}: {detail}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Root file system assembly failed.
    #[error("cannot assemble the root file system: {0}")]
    Assemble(String),
    /// The checksec gate failed.
    #[error("checksec gate ({policy}): {count} violation(s) not allowed by [checksec] in image.toml, first: {first}")]
    Gate {
        /// The policy (the tier whose policy every file is judged by).
        policy: Tier,
        /// How many violations.
        count: usize,
        /// The first one.
        first: String,
        /// The full verdict (for the caller to print).
        verdict: Box<GateVerdict>,
    },
    /// The source build of a source-built tier failed.
    #[error("source build of tier {tier}")]
    SourceBuild {
        /// The image tier.
        tier: Tier,
        /// The cause.
        #[source]
        source: Box<source::SourceBuildError>,
    },
    /// The recipe that the source-built tiers build (`recipe.toml`) could not be loaded.
    #[error("source build of tier (recipe)")]
    Recipe(#[source] Box<source::SourceBuildError>),
    /// Scanning the root file system failed.
    #[error("checksec scan failed")]
    Scan(#[source] crate::elf::ElfError),
    /// Local I/O.
    #[error("cannot {what}")]
    Io {
        /// What was attempted.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where the image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An OCI image layout directory.
    OciDir(PathBuf),
    /// A `docker load`-able tar.
    DockerArchive(PathBuf),
}

impl std::str::FromStr for Output {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("oci-dir", p)) if !p.is_empty() => Ok(Self::OciDir(p.into())),
            Some(("docker-archive", p)) if !p.is_empty() => Ok(Self::DockerArchive(p.into())),
            _ => Err(format!("bad output {s:?}: expected oci-dir:DIR or docker-archive:FILE")),
        }
    }
}

impl Output {
    /// The path written.
    pub fn path(&self) -> &Path {
        match self {
            Self::OciDir(p) | Self::DockerArchive(p) => p,
        }
    }

    /// `oci-dir` or `docker-archive`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OciDir(_) => "oci-dir",
            Self::DockerArchive(_) => "docker-archive",
        }
    }

    /// The build record written next to the image: `<path>.build.json`.
    pub fn record_path(&self) -> PathBuf {
        let p = self.path();
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(".build.json");
        p.with_file_name(name)
    }
}

/// What `lock` concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    /// The lock was written (new or changed).
    Written,
    /// The lock on disk already matches.
    Unchanged,
    /// `--check`: the lock on disk differs (or is missing); nothing written.
    Stale,
}

/// The result of `lock`.
#[derive(Debug, Clone)]
pub struct LockReport {
    /// The lock file path.
    pub path: PathBuf,
    /// The resolved lock.
    pub lock: Lock,
    /// What happened.
    pub status: LockStatus,
    /// Excluded packages that some dependency named, per tier (name → first dependent).
    pub excluded: ExcludedHits,
}

/// The lock file of a definition directory.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join("image.lock")
}

/// Resolves the definition in `dir` against the signed indices and writes `image.lock` (or,
/// with `check`, only compares it).
pub fn lock(dir: &Path, mirror: &Mirror, check: bool) -> Result<LockReport, BuildError> {
    let (lock, excluded) = resolve_lock(dir, mirror)?;
    let path = lock_path(dir);
    let status = write_lock(&path, &lock, check)?;
    Ok(LockReport { path, lock, status, excluded })
}

/// Excluded packages some dependency named, per tier (name → first dependent).
pub type ExcludedHits = BTreeMap<Tier, BTreeMap<String, String>>;

/// Fetches and verifies the indices and resolves every tier of the definition in `dir`.
pub fn resolve_lock(dir: &Path, mirror: &Mirror) -> Result<(Lock, ExcludedHits), BuildError> {
    let spec = ImageSpec::load(dir)?;
    let keyring = load_keyring(&spec, dir)?;
    let indices =
        Indices::fetch(mirror, &spec.debian.suites, &spec.debian.components, &spec.debian.architecture, &keyring)?;
    let mut tiers = BTreeMap::new();
    let mut excluded = BTreeMap::new();
    for (&name, tier) in &spec.tiers {
        let req = ResolveRequest {
            wanted: spec.tier_packages(tier).to_vec(),
            exclude: tier.exclude_packages.iter().cloned().collect::<BTreeSet<_>>(),
        };
        let res = debian::resolve(&indices, &req)?;
        excluded.insert(name, res.excluded_hits.clone());
        tiers.insert(name, res);
    }
    let wanted_roots = build_root_inputs(dir, &spec)?;
    let mut roots = BTreeMap::new();
    for (&name, wanted) in &wanted_roots {
        let req = ResolveRequest { wanted: wanted.clone(), exclude: BTreeSet::new() };
        roots.insert(name, debian::resolve(&indices, &req)?);
    }
    let digest = spec.lock_inputs_digest(&wanted_roots);
    let lock = Lock::new(&spec.debian.architecture, digest, &indices.suites, &tiers, &roots);
    Ok((lock, excluded))
}

/// The build-root packages (`recipe.toml`'s `[build-root].packages`) of each tier built from
/// source, keyed by image tier.
pub fn build_root_inputs(dir: &Path, spec: &ImageSpec) -> Result<BTreeMap<Tier, Vec<String>>, BuildError> {
    let mut out = BTreeMap::new();
    if spec.tiers.values().all(|t| t.source_build.is_none()) {
        return Ok(out);
    }
    let recipe = source::load_checked(dir).map_err(|e| BuildError::Recipe(Box::new(e)))?;
    for (&name, tier) in &spec.tiers {
        if tier.source_build.is_some() {
            out.insert(name, recipe.build_root.packages.clone());
        }
    }
    Ok(out)
}

/// Compares `lock` with the file at `path`; writes it (atomically) unless `check` or equal.
pub fn write_lock(path: &Path, lock: &Lock, check: bool) -> Result<LockStatus, BuildError> {
    let text = lock.to_toml();
    let current = match std::fs::symlink_metadata(path) {
        Err(_) => None,
        Ok(_) => {
            // The lock is a file of the definition: inside it, regular (a FIFO would hang).
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = Path::new(path.file_name().unwrap_or_default());
            let bytes = crate::spec::read_definition_file(dir, name)
                .map_err(|e| BuildError::Lock { path: path.to_path_buf(), detail: e.to_string() })?;
            String::from_utf8(bytes).ok()
        }
    };
    Ok(if current.as_deref() == Some(text.as_str()) {
        LockStatus::Unchanged
    } else if check {
        LockStatus::Stale
    } else {
        crate::fsutil::write_bytes_atomic(path, text.as_bytes()).map_err(|e| BuildError::Io {
            what: format!("write {}", path.display()),
            source: std::io::Error::other(e),
        })?;
        LockStatus::Written
    })
}

fn load_keyring(spec: &ImageSpec, dir: &Path) -> Result<Keyring, BuildError> {
    let paths: Vec<PathBuf> = if spec.debian.keyrings.is_empty() {
        default_keyring_paths()
    } else {
        let mut paths = Vec::new();
        for k in &spec.debian.keyrings {
            // A relative keyring must resolve inside the definition (checked again here: the
            // definition may have changed since it was parsed).
            paths.push(if k.is_absolute() {
                k.clone()
            } else {
                crate::spec::definition_file(dir, k)
                    .map_err(|e| DebianError::Keyring { path: dir.join(k), detail: e.to_string() })?
            });
        }
        paths
    };
    if paths.is_empty() {
        return Err(DebianError::Keyring {
            path: "/usr/share/keyrings/debian-archive-*.gpg".into(),
            detail: "no keyring found (install debian-archive-keyring or set debian.keyrings)".into(),
        }
        .into());
    }
    Ok(Keyring::load(&paths)?)
}

/// Progress events for the CLI's bars.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// A stage starts.
    Stage(&'a str),
    /// A package is available (fetched or cached): `done` of `total`.
    Package {
        /// Package name.
        name: &'a str,
        /// Packages done.
        done: usize,
        /// Packages in all.
        total: usize,
    },
}

/// Options of [`build`].
pub struct BuildOptions<'a> {
    /// Tier to build.
    pub tier: Tier,
    /// Where the image goes.
    pub output: Output,
    /// The `.deb` cache.
    pub cache: Cache,
    /// Explicit mirror; else discovered when a download is needed.
    pub mirror: Option<Mirror>,
    /// SOURCE_DATE_EPOCH; default the newest Release date in the lock.
    pub source_date_epoch: Option<i64>,
    /// `org.opencontainers.image.revision`, when known.
    pub revision: Option<String>,
    /// Progress callback.
    pub progress: Option<&'a (dyn Fn(Progress<'_>) + Sync)>,
    /// Reuse a verified cached source build of exactly the same inputs (recipe, sources,
    /// build-root lock, flags, tier) instead of compiling again; `false` always compiles.
    pub reuse_source_build: bool,
}

/// The checksec gate's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateVerdict {
    /// The tier whose policy every ELF file is judged by.
    pub policy: Tier,
    /// The tier whose policy the files the source build installed are judged by as well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_policy: Option<Tier>,
    /// ELF files the source build installed, judged by `built_policy`.
    #[serde(skip_serializing_if = "is_zero")]
    pub built_files: usize,
    /// Whether violations fail the build.
    pub enforced: bool,
    /// ELF files checked.
    pub files: usize,
    /// Violations not covered by an allow entry.
    pub violations: Vec<GateViolation>,
    /// Violations accepted by an allow entry (with its reason).
    pub allowed: Vec<GateViolation>,
    /// Rules not applicable to a file.
    pub waivers: usize,
}

impl GateVerdict {
    /// True when no uncovered violation remains.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One failing property of one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateViolation {
    /// Path in the image.
    pub path: String,
    /// Property.
    pub property: String,
    /// Detail.
    pub detail: String,
    /// The allow entry's reason, when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What `build` produced.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Image name.
    pub name: String,
    /// Tier.
    pub tier: Tier,
    /// Output written.
    pub output: Output,
    /// Build record path.
    pub record: PathBuf,
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
    /// The source build's record, for a source-built tier.
    pub source_build: Option<source::BuildRecord>,
    /// Whether the source build was a verified cached build of the same inputs.
    pub source_build_reused: bool,
    /// Entries in the layer.
    pub files: usize,
    /// SOURCE_DATE_EPOCH used.
    pub source_date_epoch: i64,
    /// checksec gate.
    pub gate: GateVerdict,
    /// Stage timings in milliseconds.
    pub timings: BTreeMap<String, u128>,
}

/// Builds the image of the definition in `dir` from its lock. Nothing is written unless every
/// input verified and the gate passed.
pub fn build(dir: &Path, opts: &BuildOptions<'_>) -> Result<BuildReport, BuildError> {
    let start = Instant::now();
    let mut timings = BTreeMap::new();
    let mut lap = {
        let mut last = Instant::now();
        move |name: &str, timings: &mut BTreeMap<String, u128>| {
            timings.insert(name.to_string(), last.elapsed().as_millis());
            last = Instant::now();
        }
    };
    let stage = |s: &str| {
        if let Some(p) = opts.progress {
            p(Progress::Stage(s));
        }
    };

    stage("load definition and lock");
    let spec = ImageSpec::load(dir)?;
    let tier = spec.tier(opts.tier)?.clone();
    let lock_file = lock_path(dir);
    if !lock_file.exists() {
        return Err(BuildError::Lock { path: lock_file, detail: "no lock file: run `armorred lock` first".into() });
    }
    crate::spec::definition_file(dir, Path::new("image.lock"))
        .map_err(|e| BuildError::Lock { path: lock_file.clone(), detail: e.to_string() })?;
    let lock = Lock::read(&lock_file)?;
    if lock.inputs_digest != spec.lock_inputs_digest(&build_root_inputs(dir, &spec)?) {
        return Err(BuildError::Lock {
            path: lock_file,
            detail: "stale: image.toml changed since it was locked; run `armorred lock`".into(),
        });
    }
    let pkgs = lock.tier_packages(opts.tier).ok_or_else(|| BuildError::Lock {
        path: lock_file.clone(),
        detail: format!("tier {} is not locked; run `armorred lock`", opts.tier),
    })?;
    let epoch = opts.source_date_epoch.unwrap_or_else(|| lock.newest_release_epoch());
    // Outputs that may not be replaced are refused before any download, not after the build.
    if let Output::OciDir(p) = &opts.output {
        oci::check_layout_target(p)?;
    }
    if tier.source_build.is_some() {
        previous_source_build(&source_build_dir(&opts.output))?;
    }
    lap("load", &mut timings);

    stage("fetch packages");
    let mut mirror = opts.mirror.clone();
    let debs = fetch_all(&pkgs, &mut mirror, opts)?;
    lap("fetch", &mut timings);

    let built = match tier.source_build {
        None => None,
        Some(recipe_tier) => {
            stage("build from source");
            let b = build_from_source(dir, opts.tier, recipe_tier, &lock, &mut mirror, opts)?;
            lap("source-build", &mut timings);
            Some(b)
        }
    };

    stage("unpack and assemble");
    let mut tree = Tree::new();
    debian::rootfs::base(&mut tree).map_err(BuildError::Assemble)?;
    let installed = debian::rootfs::install(&mut tree, &debs)?;
    let built_paths = match &built {
        Some(b) => {
            debian::rootfs::add_built(&mut tree, &b.destdir, &tier.exclude_built).map_err(BuildError::Assemble)?
        }
        None => Vec::new(),
    };
    debian::rootfs::finish(&mut tree, &spec, &tier, dir, &installed).map_err(BuildError::Assemble)?;
    lap("assemble", &mut timings);

    stage("checksec gate");
    let built_policy = built.as_ref().map(|b| b.record.tier);
    let gate = gate(&spec, &tree, &built_paths, built_policy, &scratch_dir(opts.cache.dir())?)?;
    lap("checksec", &mut timings);
    if spec.checksec.enforce && !gate.passed() {
        let v = &gate.violations[0];
        return Err(BuildError::Gate {
            policy: gate.policy,
            count: gate.violations.len(),
            first: format!("{} {}: {}", v.path, v.property, v.detail),
            verdict: Box::new(gate),
        });
    }

    stage("write image");
    let layer = oci::layer_from_tree(&tree, epoch)?;
    let files = layer.entries;
    let image = Image {
        layers: vec![layer],
        config: runtime_config(&spec),
        architecture: spec.debian.architecture.clone(),
        created_epoch: epoch,
        created_by: format!("armorred build --tier {}", opts.tier),
        annotations: annotations(&spec, epoch, opts.revision.as_deref()),
        ref_name: format!("armorred/{}:{}", spec.name, opts.tier),
    };
    let written = match &opts.output {
        Output::OciDir(p) => oci::write_layout(p, &image)?,
        Output::DockerArchive(p) => oci::write_docker_archive(p, &image)?,
    };
    lap("write", &mut timings);
    timings.insert("total".into(), start.elapsed().as_millis());

    let report = BuildReport {
        name: spec.name.clone(),
        tier: opts.tier,
        output: opts.output.clone(),
        record: opts.output.record_path(),
        manifest_digest: written.manifest.digest.clone(),
        config_digest: written.config.digest.clone(),
        compressed_size: written.compressed_size,
        uncompressed_size: written.uncompressed_size,
        packages: pkgs.len(),
        source_build_reused: built.as_ref().is_some_and(|b| b.reused),
        source_build: built.map(|b| b.record),
        files,
        source_date_epoch: epoch,
        gate,
        timings,
    };
    let rec = record::record(dir, &spec, &lock, opts.tier, &report)?;
    crate::fsutil::write_bytes_atomic(&report.record, &rec).map_err(|e| BuildError::Io {
        what: format!("write {}", report.record.display()),
        source: std::io::Error::other(e),
    })?;
    Ok(report)
}

/// Every package of `pkgs` from the cache, else from the mirror, in order.
fn fetch_all(
    pkgs: &[&debian::LockedPackage],
    mirror: &mut Option<Mirror>,
    opts: &BuildOptions<'_>,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let mut debs = Vec::new();
    for (i, p) in pkgs.iter().enumerate() {
        let cached = opts.cache.path_of(&p.sha256);
        let path = if cached.exists() {
            debian::fetch::fetch_url(&opts.cache, "(cache only)", &p.sha256, Some(p.size), &p.name)
                .or_else(|_| fetch_one(mirror, &opts.cache, p))?
        } else {
            fetch_one(mirror, &opts.cache, p)?
        };
        debs.push((p.name.clone(), path));
        if let Some(cb) = opts.progress {
            cb(Progress::Package { name: &p.name, done: i + 1, total: pkgs.len() });
        }
    }
    Ok(debs)
}

/// Where the source build of an image output goes: `<output>.source-build/` (installed tree,
/// logs, record), next to the image.
pub fn source_build_dir(output: &Output) -> PathBuf {
    let p = output.path();
    let mut name = p.file_name().unwrap_or_default().to_os_string();
    name.push(".source-build");
    p.with_file_name(name)
}

/// Whether `out` holds a previous source build to replace (false: nothing there). Anything
/// else at that path (a symlink, a file, a directory with other entries than a source build
/// writes: `build-record.json`, `destdir/`, `logs/`, `work/`) is refused, never deleted.
fn previous_source_build(out: &Path) -> Result<bool, BuildError> {
    let refuse = |detail: String| OciError::Output { target: out.display().to_string(), detail };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(BuildError::Io { what: format!("inspect {}", out.display()), source }),
    };
    if !meta.is_dir() {
        return Err(refuse(format!(
            "is {}, not a previous source build; refusing to replace it",
            crate::fsutil::FileKind::of(meta.file_type())
        ))
        .into());
    }
    let io = |source| BuildError::Io { what: format!("list {}", out.display()), source };
    let mut has_record = false;
    for e in std::fs::read_dir(out).map_err(io)? {
        let e = e.map_err(io)?;
        let ft = e.file_type().map_err(io)?;
        let name = e.file_name();
        match name.to_str() {
            Some("build-record.json") if ft.is_file() => has_record = true,
            Some("destdir" | "logs" | "work") if ft.is_dir() => {}
            _ => {
                return Err(refuse(format!(
                    "holds {:?}, which a source build does not write; refusing to replace it",
                    name.to_string_lossy()
                ))
                .into())
            }
        }
    }
    if !has_record {
        return Err(refuse(
            "has no build-record.json, so it is not a previous source build; refusing to replace it".into(),
        )
        .into());
    }
    Ok(true)
}

/// Fetches and unpacks the tier's locked build root, then builds `recipe.toml`'s
/// `recipe_tier` in the sandbox over it.
fn build_from_source(
    dir: &Path,
    tier: Tier,
    recipe_tier: Tier,
    lock: &Lock,
    mirror: &mut Option<Mirror>,
    opts: &BuildOptions<'_>,
) -> Result<source::BuildOutcome, BuildError> {
    let fail = |e: source::SourceBuildError| BuildError::SourceBuild { tier, source: Box::new(e) };
    let lock_file = lock_path(dir);
    let pkgs = lock.build_root_packages(tier).ok_or_else(|| BuildError::Lock {
        path: lock_file,
        detail: format!("tier {tier} has no locked build root; run `armorred lock`"),
    })?;
    let debs = fetch_all(&pkgs, mirror, opts)?;
    let root = buildroot::materialize(opts.cache.dir(), &pkgs, &debs)?;
    let sandbox = source::Namespaces::new().map_err(fail)?;
    let out = source_build_dir(&opts.output);
    if previous_source_build(&out)? {
        std::fs::remove_dir_all(&out).map_err(|source| BuildError::Io {
            what: format!("remove the previous source build {}", out.display()),
            source,
        })?;
    }
    let build_opts = source::BuildOptions {
        recipe_dir: dir.to_path_buf(),
        tier: recipe_tier,
        out,
        cache: opts.cache.dir().to_path_buf(),
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        keep_work: false,
        reuse: opts.reuse_source_build,
    };
    source::build(&build_opts, &sandbox, &root).map_err(fail)
}

fn fetch_one(mirror: &mut Option<Mirror>, cache: &Cache, p: &debian::LockedPackage) -> Result<PathBuf, BuildError> {
    if mirror.is_none() {
        *mirror = Some(Mirror::discover(None)?);
    }
    let m = mirror.as_ref().ok_or_else(|| DebianError::NoMirror("unset".into()))?;
    Ok(debian::fetch(m, cache, p)?)
}

/// The private directory for the build's scratch trees: `<cache>/tmp` (mode 0700, in the
/// user's cache rather than the shared `/tmp`). Trees a killed build left (`rootfs-<pid>-*`
/// of a process that no longer runs) are removed first.
pub fn scratch_dir(cache: &Path) -> Result<PathBuf, BuildError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = cache.join("tmp");
    let io = |source| BuildError::Io { what: format!("create the scratch directory {}", dir.display()), source };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io)?;
    let meta = std::fs::symlink_metadata(&dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(io(std::io::Error::other("not a directory (a symlink?)")));
    }
    // Best effort (a shared cache may belong to another user): the trees themselves are
    // created exclusively under unpredictable names, and tempfile makes them 0700.
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    for entry in crate::fsutil::leftovers_of_dead_processes(&dir, "rootfs-") {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(dir)
}

/// Runs the hardened checksec policy on a materialized copy of `tree` (in a private temporary
/// directory under `scratch`, removed on return); files the source build installed (`built`,
/// `/`-rooted) are judged by `built_policy` as well.
fn gate(
    spec: &ImageSpec,
    tree: &Tree,
    built: &[String],
    built_policy: Option<Tier>,
    scratch: &Path,
) -> Result<GateVerdict, BuildError> {
    let tmp = tempfile::Builder::new().prefix(&format!("rootfs-{}-", std::process::id())).tempdir_in(scratch).map_err(
        |source| BuildError::Io { what: format!("create a temporary directory in {}", scratch.display()), source },
    )?;
    let root = tmp.path().join("rootfs");
    tree.materialize(&root).map_err(|source| BuildError::Io {
        what: format!("materialize the root file system in {}", root.display()),
        source,
    })?;
    let scan = crate::elf::scan_root(&root).map_err(BuildError::Scan)?;
    let verdict = policy::evaluate(Tier::Hardened, &scan, &root);
    let mut out = GateVerdict {
        policy: Tier::Hardened,
        built_policy,
        built_files: 0,
        enforced: spec.checksec.enforce,
        files: verdict.files,
        violations: Vec::new(),
        allowed: Vec::new(),
        waivers: verdict.waivers.len(),
    };
    let rel = |p: &Path| format!("/{}", p.strip_prefix(&root).unwrap_or(p).display());
    let mut violations = verdict.violations;
    if let Some(bp) = built_policy.filter(|p| *p != Tier::Hardened) {
        out.built_files = scan.entries.keys().filter(|p| built.contains(&rel(p))).count();
        let extra: Vec<_> = policy::evaluate(bp, &scan, &root)
            .violations
            .into_iter()
            .filter(|v| built.contains(&rel(&v.path)))
            .filter(|v| !violations.iter().any(|h| h.path == v.path && h.property == v.property))
            .collect();
        violations.extend(extra);
    }
    for v in violations {
        let path = rel(&v.path);
        let allow = spec.checksec.allow.iter().find(|a| a.covers(&path, v.property));
        let gv = GateViolation {
            path,
            property: v.property.to_string(),
            detail: v.detail,
            reason: allow.map(|a| a.reason.clone()),
        };
        if gv.reason.is_some() {
            out.allowed.push(gv);
        } else {
            out.violations.push(gv);
        }
    }
    Ok(out)
}

fn runtime_config(spec: &ImageSpec) -> RuntimeConfig {
    let i = &spec.image;
    RuntimeConfig {
        user: i.user.clone(),
        entrypoint: i.entrypoint.clone(),
        cmd: i.cmd.clone(),
        ports: i.ports.clone(),
        stop_signal: i.stop_signal.clone(),
        env: i.env.clone(),
        labels: i.labels.clone(),
        workdir: i.workdir.clone(),
    }
}

fn annotations(spec: &ImageSpec, epoch: i64, revision: Option<&str>) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = spec
        .image
        .labels
        .iter()
        .filter(|(k, _)| k.starts_with("org.opencontainers.image."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    a.insert("org.opencontainers.image.created".into(), debian::release::rfc3339(epoch));
    // FROM scratch: there is no base image, so no `base.name`/`base.digest`.
    if !spec.description.is_empty() {
        a.insert("org.opencontainers.image.description".into(), spec.description.clone());
    }
    if let Some(s) = &spec.source {
        a.insert("org.opencontainers.image.source".into(), s.clone());
    }
    if let Some(r) = revision {
        a.insert("org.opencontainers.image.revision".into(), r.to_string());
    }
    a
}

#[cfg(test)]
mod tests;

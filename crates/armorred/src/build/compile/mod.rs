//! Hardened from-source builds in a hermetic sandbox (issue 4): a [`recipe`] names pinned
//! sources, the build root and per-tier configure options; [`build`] fetches and verifies the
//! sources, runs the steps in a [`sandbox::Sandbox`] over a [`root::BuildRoot`] with the tier's
//! [`flags`] injected through `CC`/`CFLAGS`/`LDFLAGS`, then proves each promised property in
//! every built ELF file ([`verify`]) and writes a [`record::BuildRecord`].
//!
//! Invariants: nothing is built from a source whose sha256 (and signature, when declared) did
//! not verify; the output directory appears only complete (staged, then renamed); a build whose
//! binaries lack a promised property fails and leaves no output.

mod cache;
pub mod fetch;
pub mod flags;
pub mod note;
pub mod progress;
pub mod recipe;
pub mod record;
pub mod root;
pub mod sandbox;
pub mod signature;
pub mod unpack;
pub mod verify;

use crate::build::debian::fetch::{fetch_url, Cache};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use progress::{Progress, ProgressFn};
pub use recipe::Recipe;
pub use record::BuildRecord;
pub use root::{BuildRoot, HostToolchain, LockedRoot};
pub use sandbox::{Namespaces, Sandbox};

use crate::tier::Tier;

use flags::SANDBOX_BUILD_DIR;
use recipe::Origin;
use record::{OutputRecord, SignatureRecord, SourceRecord, StepRecord};

/// Errors of a source build.
#[derive(Debug, thiserror::Error)]
pub enum SourceBuildError {
    /// The recipe is unreadable or invalid.
    #[error("recipe {path}: {reason}")]
    Recipe {
        /// The recipe file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The recipe has no settings for the tier asked for.
    #[error("recipe {recipe} has no [tiers.{tier}]")]
    NoTier {
        /// The recipe directory.
        recipe: PathBuf,
        /// The tier.
        tier: Tier,
    },
    /// A file operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A download or index lookup failed.
    #[error("cannot fetch {what}: {reason}")]
    Fetch {
        /// What was fetched.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A file does not have its pinned hash.
    #[error("{what}: sha256 is {actual}, the recipe pins {expected}")]
    HashMismatch {
        /// The file.
        what: String,
        /// Pinned.
        expected: String,
        /// Found.
        actual: String,
    },
    /// An upstream signature did not verify.
    #[error("signature of {file}: {reason}")]
    Signature {
        /// The signed file.
        file: String,
        /// Why it failed.
        reason: String,
    },
    /// A source archive could not be unpacked.
    #[error("cannot unpack {file}: {reason}")]
    Unpack {
        /// The archive.
        file: String,
        /// Why.
        reason: String,
    },
    /// The sandbox cannot run here.
    #[error("sandbox unavailable: {reason}")]
    SandboxUnavailable {
        /// Why.
        reason: String,
    },
    /// The sandbox failed to start.
    #[error("cannot {what}")]
    Sandbox {
        /// What was attempted.
        what: String,
        /// The cause.
        #[source]
        source: hakoniwa::Error,
    },
    /// A build step failed.
    #[error("step {step} failed with exit code {code}; last lines of {log}:\n{tail}")]
    StepFailed {
        /// The step's name.
        step: String,
        /// Its exit code (128+n for signal n).
        code: i32,
        /// Its log file.
        log: PathBuf,
        /// The end of the log.
        tail: String,
    },
    /// The output directory exists already.
    #[error("output directory {0} exists; remove it or choose another")]
    OutputExists(PathBuf),
    /// Built files lack promised properties.
    #[error("the build does not show what tier {tier} promises: {failures}")]
    Verification {
        /// The tier.
        tier: Tier,
        /// `path: property (detail)`, joined by `; `.
        failures: String,
        /// Every failed check.
        checks: Vec<verify::Check>,
    },
    /// The build installed no ELF file to check.
    #[error("the build installed no ELF file into DESTDIR")]
    NoElf,
    /// ELF analysis failed.
    #[error(transparent)]
    Elf(#[from] crate::elf::ElfError),
    /// A download into the shared content-addressed cache failed (network, size, digest).
    #[error(transparent)]
    Download(#[from] crate::build::debian::DebianError),
    /// Writing the record failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The directory holding `recipe.toml` (and the keyrings and local sources it names).
    pub recipe_dir: PathBuf,
    /// The tier.
    pub tier: Tier,
    /// The output directory (must not exist): `destdir/`, `build-record.json`, `logs/`.
    pub out: PathBuf,
    /// The source cache directory.
    pub cache: PathBuf,
    /// Parallel make jobs (`$JOBS`).
    pub jobs: usize,
    /// Keep the build directory (`work/`) in the output.
    pub keep_work: bool,
    /// Reuse a verified cached build of exactly the same inputs (and keep this one for later),
    /// under `<cache>/source-builds/`. Only for a build root pinned by hash: a host toolchain
    /// can change under the same description. See `cache.rs`.
    pub reuse: bool,
}

/// A finished build.
#[derive(Debug)]
pub struct BuildOutcome {
    /// The record (also written to `out/build-record.json`).
    pub record: BuildRecord,
    /// The installed tree.
    pub destdir: PathBuf,
    /// The record file.
    pub record_path: PathBuf,
    /// Wall time of the whole build, in seconds (of the copy, when reused).
    pub seconds: f64,
    /// The cache key of the inputs, when the build was cacheable.
    pub cache_key: Option<String>,
    /// Whether the result is a cached build of the same inputs rather than a new compile.
    pub reused: bool,
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SourceBuildError {
    let what = what.into();
    move |source| SourceBuildError::Io { what, source }
}

/// Builds `opts.recipe_dir` for `opts.tier` with `sandbox` over `root`.
pub fn build(
    opts: &BuildOptions,
    sandbox: &dyn Sandbox,
    root: &dyn BuildRoot,
) -> Result<BuildOutcome, SourceBuildError> {
    build_with_progress(opts, sandbox, root, None)
}

/// [`build`], reporting each step, a heartbeat while a step runs, and the checks to
/// `progress` ([`Progress`]).
pub fn build_with_progress(
    opts: &BuildOptions,
    sandbox: &dyn Sandbox,
    root: &dyn BuildRoot,
    progress: Option<ProgressFn<'_>>,
) -> Result<BuildOutcome, SourceBuildError> {
    let emit = |p: Progress<'_>| {
        if let Some(cb) = progress {
            cb(p);
        }
    };
    let started = Instant::now();
    let recipe = load_checked(&opts.recipe_dir)?;
    let tier_spec = recipe
        .tiers
        .get(&opts.tier)
        .ok_or_else(|| SourceBuildError::NoTier { recipe: opts.recipe_dir.clone(), tier: opts.tier })?;
    if opts.out.exists() {
        return Err(SourceBuildError::OutputExists(opts.out.clone()));
    }
    // The output's folder may be new (a build into `out/<image>/<tier>/`): the cached and the
    // fresh build alike are staged beside the output.
    if let Some(parent) = opts.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(format!("cannot create {}", parent.display())))?;
    }
    let out_name = opts.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let stage = opts.out.with_file_name(format!(".{out_name}.partial-{}", std::process::id()));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(io_err(format!("cannot clear {}", stage.display())))?;
    }
    let flags = flags::for_tier(
        opts.tier,
        &recipe.build_root.cc,
        &recipe.package.name,
        &recipe.package.version,
        tier_spec,
        &format!("{SANDBOX_BUILD_DIR}/.armorred/package-note.o"),
    );
    let env = environment(&recipe, &flags, tier_spec, opts.jobs);
    let cache_key = if opts.reuse {
        cache::key(&cache::KeyInputs {
            recipe_dir: &opts.recipe_dir,
            recipe: &recipe,
            tier: opts.tier,
            flags: &flags,
            environment: &env,
            root_packages: &root.describe(&recipe.build_root.packages).packages,
            sandbox: &sandbox.describe(),
        })
    } else {
        None
    };
    if let Some((record, cached)) = cache_key.as_deref().and_then(|k| cache::lookup(&opts.cache, k)) {
        let copied = cache::copy_tree(&cached, &stage).and_then(|()| std::fs::rename(&stage, &opts.out));
        if let Err(e) = copied {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(
                io_err(format!("cannot copy the cached build {} to {}", cached.display(), opts.out.display()))(e),
            );
        }
        emit(Progress::Reused);
        return Ok(BuildOutcome {
            record,
            destdir: opts.out.join("destdir"),
            record_path: opts.out.join("build-record.json"),
            seconds: started.elapsed().as_secs_f64(),
            cache_key,
            reused: true,
        });
    }
    let plan = Plan { recipe: &recipe, tier_spec, flags: &flags, env };
    let result = build_into(&stage, opts, &plan, sandbox, root, progress);
    match result {
        Ok(mut record) => {
            let record_path = stage.join("build-record.json");
            write_record(&record_path, &record)?;
            std::fs::rename(&stage, &opts.out)
                .map_err(io_err(format!("cannot move the build to {}", opts.out.display())))?;
            record.steps.shrink_to_fit();
            if let Some(key) = &cache_key {
                cache::store(&opts.cache, key, &opts.out)
                    .map_err(io_err(format!("cannot keep the build in {}", cache::dir(&opts.cache).display())))?;
            }
            Ok(BuildOutcome {
                record,
                destdir: opts.out.join("destdir"),
                record_path: opts.out.join("build-record.json"),
                seconds: started.elapsed().as_secs_f64(),
                cache_key,
                reused: false,
            })
        }
        Err(e) => {
            // Logs of a failed build stay next to the output for inspection.
            let failed = opts.out.with_file_name(format!(".{out_name}.failed"));
            let _ = std::fs::remove_dir_all(&failed);
            let _ = std::fs::rename(&stage, &failed);
            Err(e)
        }
    }
}

/// Serializes a record as pretty JSON, atomically.
pub fn write_record(path: &Path, record: &BuildRecord) -> Result<(), SourceBuildError> {
    Ok(crate::fsutil::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, record).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?)
}

/// What one build runs: the recipe, its tier, and the flags and environment derived from them.
struct Plan<'a> {
    recipe: &'a Recipe,
    tier_spec: &'a recipe::TierSpec,
    flags: &'a flags::Flags,
    env: BTreeMap<String, String>,
}

fn build_into(
    stage: &Path,
    opts: &BuildOptions,
    plan: &Plan<'_>,
    sandbox: &dyn Sandbox,
    root: &dyn BuildRoot,
    progress: Option<ProgressFn<'_>>,
) -> Result<BuildRecord, SourceBuildError> {
    let emit = |p: Progress<'_>| {
        if let Some(cb) = progress {
            cb(p);
        }
    };
    let Plan { recipe, tier_spec, flags, env } = plan;
    let (recipe, tier_spec) = (*recipe, *tier_spec);
    let work = stage.join("work");
    let logs = stage.join("logs");
    for d in ["src", "dest", "tmp", "home", ".armorred"] {
        std::fs::create_dir_all(work.join(d)).map_err(io_err(format!("cannot create {}", work.join(d).display())))?;
    }
    std::fs::create_dir_all(&logs).map_err(io_err(format!("cannot create {}", logs.display())))?;

    let cache = Cache::new(&opts.cache);
    let mut sources = Vec::new();
    for src in &recipe.sources {
        sources.push(prepare_source(src, &opts.recipe_dir, &cache, &work.join("src"))?);
    }

    let package_note = note::PackageNote::for_package(&recipe.package);
    let note_src = work.join(".armorred/package-note.S");
    crate::fsutil::write_bytes_atomic(&note_src, package_note.assembly().as_bytes())?;
    let note_obj = format!("{SANDBOX_BUILD_DIR}/.armorred/package-note.o");

    let mut steps = Vec::new();
    let note_step = recipe::Step {
        name: "package-note".into(),
        run: format!("\"$CC\" -c {SANDBOX_BUILD_DIR}/.armorred/package-note.S -o {note_obj}"),
    };
    let total = recipe.steps.len() + 1;
    for (i, step) in std::iter::once(&note_step).chain(&recipe.steps).enumerate() {
        let log = logs.join(format!("{}.log", step.name));
        let t = Instant::now();
        emit(Progress::Step { name: &step.name, index: i + 1, total });
        let root_dir = stage.join(format!("sandbox-root-{}", i + 1));
        std::fs::create_dir(&root_dir).map_err(io_err(format!("cannot create {}", root_dir.display())))?;
        let code = progress::with_heartbeat(progress, &step.name, &log, || {
            sandbox.run(&sandbox::RunSpec {
                root,
                build_dir: &work,
                cwd: &format!("{SANDBOX_BUILD_DIR}/src"),
                env,
                script: &step.run,
                log: &log,
                root_dir: &root_dir,
            })
        })?;
        // Only the mount points the sandbox made (its mounts ended with it).
        crate::fsutil::remove_dir_one_fs(&root_dir).map_err(io_err(format!("cannot remove {}", root_dir.display())))?;
        if code != 0 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            return Err(SourceBuildError::StepFailed { step: step.name.clone(), code, log, tail });
        }
        emit(Progress::StepDone { name: &step.name, elapsed: t.elapsed() });
        steps.push(StepRecord {
            name: step.name.clone(),
            run: step.run.clone(),
            duration_ms: t.elapsed().as_millis() as u64,
        });
    }

    emit(Progress::Checks);
    let dest = work.join("dest");
    let scan = crate::elf::scan(
        std::slice::from_ref(&dest),
        &crate::elf::ScanOptions { root: Some(root.path().to_path_buf()) },
    )?;
    if scan.entries.is_empty() {
        return Err(SourceBuildError::NoElf);
    }
    let checks =
        verify::check(&scan, &dest, opts.tier, &recipe.package, tier_spec.without_cfi.as_deref(), &recipe.allows);
    let failed: Vec<verify::Check> = checks.iter().filter(|c| !c.ok).cloned().collect();
    if !failed.is_empty() {
        let failures = failed
            .iter()
            .map(|c| format!("{}: {} ({})", c.path.display(), c.property, c.detail))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SourceBuildError::Verification { tier: opts.tier, failures, checks: failed });
    }
    let checksec = scan
        .reports()
        .map(|(p, r)| {
            (p.strip_prefix(&dest).unwrap_or(p).to_path_buf(), crate::elf::checksec_json::file_object(r, true))
        })
        .collect();
    let outputs = list_outputs(&dest)?;
    let destdir = stage.join("destdir");
    std::fs::rename(&dest, &destdir).map_err(io_err(format!("cannot move {}", dest.display())))?;
    if !opts.keep_work {
        std::fs::remove_dir_all(&work).map_err(io_err(format!("cannot remove {}", work.display())))?;
    }
    Ok(BuildRecord {
        schema: record::SCHEMA.into(),
        package: package_note,
        tier: opts.tier,
        sources,
        build_root: root.describe(&recipe.build_root.packages),
        sandbox: sandbox.describe(),
        environment: env.clone(),
        flags: (*flags).clone(),
        configure_options: tier_spec.configure.clone(),
        steps,
        outputs,
        checks,
        checksec,
        features: record::features(&recipe.features, &tier_spec.configure),
    })
}

/// The fixed environment of every step.
fn environment(
    recipe: &Recipe,
    flags: &flags::Flags,
    tier: &recipe::TierSpec,
    jobs: usize,
) -> BTreeMap<String, String> {
    let b = SANDBOX_BUILD_DIR;
    [
        ("PATH", "/usr/bin:/bin".to_string()),
        ("LC_ALL", "C".into()),
        ("LANG", "C".into()),
        ("TZ", "UTC".into()),
        ("SOURCE_DATE_EPOCH", recipe.package.source_date_epoch.to_string()),
        ("HOME", format!("{b}/home")),
        ("TMPDIR", format!("{b}/tmp")),
        ("DESTDIR", format!("{b}/dest")),
        ("CC", flags.cc.clone()),
        ("CFLAGS", flags.cflags_string()),
        ("LDFLAGS", flags.ldflags_string()),
        ("CONFIGURE_OPTIONS", tier.configure.join(" ")),
        ("JOBS", jobs.max(1).to_string()),
        ("PACKAGE_NAME", recipe.package.name.clone()),
        ("PACKAGE_VERSION", recipe.package.version.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Reads `dir/recipe.toml` after checking that it, and every file it names in `dir` (path
/// sources, their signatures, keyrings), resolves inside `dir` and is a regular file.
pub fn load_checked(dir: &Path) -> Result<recipe::Recipe, SourceBuildError> {
    let bad = |what: String, e: crate::spec::DefinitionFileError| SourceBuildError::Recipe {
        path: dir.join("recipe.toml"),
        reason: format!("{what}: {e}"),
    };
    crate::spec::definition_file(dir, Path::new("recipe.toml")).map_err(|e| bad("recipe.toml".into(), e))?;
    let recipe = recipe::load(dir)?;
    for src in &recipe.sources {
        let inside = |what: &str, rel: &Path| {
            crate::spec::definition_file(dir, rel)
                .map(|_| ())
                .map_err(|e| bad(format!("source {} {what}", src.file), e))
        };
        if let Origin::Path { path } = &src.from {
            inside("path", path)?;
            if let Some(sig) = &src.signature {
                inside("signature", &path.with_file_name(&sig.file))?;
            }
        }
        if let Some(sig) = &src.signature {
            inside("keyring", &sig.keyring)?;
        }
    }
    Ok(recipe)
}

fn prepare_source(
    src: &recipe::Source,
    recipe_dir: &Path,
    cache: &Cache,
    src_dir: &Path,
) -> Result<SourceRecord, SourceBuildError> {
    let (path, origin) = match &src.from {
        Origin::Path { path } => {
            let p = recipe_dir.join(path);
            let actual =
                crate::fsutil::sha256_file(&p).map_err(io_err(format!("cannot read source {}", p.display())))?;
            if actual != src.sha256 {
                return Err(SourceBuildError::HashMismatch {
                    what: p.display().to_string(),
                    expected: src.sha256.clone(),
                    actual,
                });
            }
            (p, format!("path:{}", path.display()))
        }
        Origin::Debian { suite, component, package } => {
            let (p, pool) = fetch_debian(cache, suite, component, package, &src.file, &src.sha256)?;
            (p, format!("debian:{suite}/{component} {pool}"))
        }
    };
    let signature = match &src.signature {
        None => None,
        Some(sig) => {
            let sig_path = match &src.from {
                Origin::Path { path } => {
                    let p = recipe_dir.join(path).with_file_name(&sig.file);
                    let actual =
                        crate::fsutil::sha256_file(&p).map_err(io_err(format!("cannot read {}", p.display())))?;
                    if actual != sig.sha256 {
                        return Err(SourceBuildError::HashMismatch {
                            what: p.display().to_string(),
                            expected: sig.sha256.clone(),
                            actual,
                        });
                    }
                    p
                }
                Origin::Debian { suite, component, package } => {
                    fetch_debian(cache, suite, component, package, &sig.file, &sig.sha256)?.0
                }
            };
            let keyring_path = recipe_dir.join(&sig.keyring);
            let read = |p: &Path| std::fs::read(p).map_err(io_err(format!("cannot read {}", p.display())));
            let signer =
                signature::verify_detached(&read(&keyring_path)?, &read(&sig_path)?, &read(&path)?, &sig.signer)
                    .map_err(|reason| SourceBuildError::Signature { file: src.file.clone(), reason })?;
            Some(SignatureRecord {
                file: sig.file.clone(),
                sha256: sig.sha256.clone(),
                signer,
                keyring: sig.keyring.clone(),
                keyring_sha256: signature::keyring_sha256(&keyring_path)
                    .map_err(io_err(format!("cannot read {}", keyring_path.display())))?,
            })
        }
    };
    match src.strip_components {
        Some(strip) => {
            unpack::unpack_archive(&path, &src.file, src_dir, strip)
                .map_err(|reason| SourceBuildError::Unpack { file: src.file.clone(), reason })?;
        }
        None => {
            std::fs::copy(&path, src_dir.join(&src.file)).map_err(io_err(format!("cannot copy {}", path.display())))?;
        }
    }
    Ok(SourceRecord { file: src.file.clone(), sha256: src.sha256.clone(), origin, signature })
}

/// A Debian pool file from the cache, or resolved through `Sources.xz` and downloaded. The
/// pool path of a cached file is kept beside it (`<hash>.origin`) for the record.
fn fetch_debian(
    cache: &Cache,
    suite: &str,
    component: &str,
    package: &str,
    file: &str,
    sha256: &str,
) -> Result<(PathBuf, String), SourceBuildError> {
    if let Some(p) = cache.verified(sha256, None) {
        let pool = std::fs::read_to_string(p.with_extension("origin")).unwrap_or_else(|_| format!("(cached) {file}"));
        return Ok((p, pool.trim().to_string()));
    }
    // The same mirror rule as package builds: $ARMORRED_MIRROR, else the host's apt configuration.
    let mirror = crate::build::debian::mirror::Mirror::discover(None)
        .map_err(|e| SourceBuildError::Fetch { what: format!("a mirror for {suite}"), reason: e.to_string() })?;
    let mirror = mirror.base_for(suite).to_owned();
    // A file that a newer revision replaced in the suite's index stays in the pool while any
    // suite or the archive's retention keeps it: fetched from the package's pool directory then
    // (the sha256 pin, not the index, is what is trusted).
    let listed = fetch::resolve_pool_path(&mirror, suite, component, package, file, sha256)?;
    let pool = listed.clone().unwrap_or_else(|| format!("{}/{file}", fetch::pool_dir(component, package)));
    let p = fetch_url(cache, &format!("{mirror}/{pool}"), sha256, None, file).map_err(|e| match listed {
        Some(_) => e.into(),
        None => SourceBuildError::Fetch {
            what: file.to_string(),
            reason: format!(
                "source package {package} in dists/{suite}/{component}/source/Sources.xz does not list it \
                 (a newer revision replaced it), and {pool} could not be fetched: {e}"
            ),
        },
    })?;
    crate::fsutil::write_bytes_atomic(&p.with_extension("origin"), pool.as_bytes())?;
    Ok((p, pool))
}

fn list_outputs(dest: &Path) -> Result<Vec<OutputRecord>, SourceBuildError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dest).sort_by_file_name() {
        let entry = entry
            .map_err(|e| SourceBuildError::Io { what: format!("cannot list {}", dest.display()), source: e.into() })?;
        if entry.file_type().is_file() {
            let p = entry.path();
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(OutputRecord {
                path: p.strip_prefix(dest).unwrap_or(p).to_path_buf(),
                size,
                sha256: crate::fsutil::sha256_file(p).map_err(io_err(format!("cannot hash {}", p.display())))?,
            });
        }
    }
    Ok(out)
}

//! Stage `assemble`: fetches and verifies every locked package (from the cache, else the
//! mirror), builds the tier's recipe from source over its locked build root when the tier is
//! source-built, and assembles the root file system: the base, the packages unpacked without
//! maintainer scripts, the source build's files, then the definition's files and settings.

use std::path::{Path, PathBuf};

use super::super::debian::{self, Cache, DebianError, Lock, Mirror};
use super::super::output::{previous_source_build, source_build_dir};
use super::super::{buildroot, compile, lock_path, BuildError, BuildOptions, Progress};
use super::lock::Locked;
use super::Timings;
use crate::fstree::Tree;
use crate::tier::Tier;

/// The assembled root file system and what the source build gave.
pub(crate) struct Assembled {
    /// The root file system.
    pub(crate) tree: Tree,
    /// The source build, for a source-built tier.
    pub(crate) built: Option<compile::BuildOutcome>,
    /// The `/`-rooted paths the source build installed in the tree.
    pub(crate) built_paths: Vec<String>,
}

/// Runs the stage.
pub(crate) fn run(
    dir: &Path,
    locked: &Locked,
    opts: &BuildOptions<'_>,
    timings: &mut Timings,
) -> Result<Assembled, BuildError> {
    let (spec, tier, lock) = (&locked.spec, &locked.tier_spec, &locked.lock);
    super::announce(opts, "fetch packages");
    let mut mirror = opts.mirror.clone();
    let debs = fetch_all(&locked.packages(), &mut mirror, opts)?;
    timings.lap("fetch");
    super::done(opts, "fetch packages", || format!("{} packages verified", debs.len()));

    let built = match tier.source_build {
        None => None,
        Some(recipe_tier) => {
            super::announce(opts, "build from source");
            let b = build_from_source(dir, &tier.recipe_dir(dir), opts.tier, recipe_tier, lock, &mut mirror, opts)?;
            timings.lap("source-build");
            super::done(opts, "build from source", || {
                let what = format!("{} {}", b.record.package.name, b.record.package.version);
                if b.reused {
                    format!("{what} reused from the cache (same inputs)")
                } else {
                    format!("{what} compiled in {:.1} s, {} checks passed", b.seconds, b.record.checks.len())
                }
            });
            Some(b)
        }
    };

    super::announce(opts, "unpack and assemble");
    let mut tree = Tree::new();
    debian::rootfs::base(&mut tree).map_err(BuildError::Assemble)?;
    let installed = debian::rootfs::install(&mut tree, &debs)?;
    let built_paths = match &built {
        Some(b) => {
            debian::rootfs::add_built(&mut tree, &b.destdir, &tier.exclude_built).map_err(BuildError::Assemble)?
        }
        None => Vec::new(),
    };
    debian::rootfs::finish(&mut tree, spec, tier, dir, &installed).map_err(BuildError::Assemble)?;
    timings.lap("assemble");
    super::done(opts, "unpack and assemble", || format!("{} files", tree.len()));
    Ok(Assembled { tree, built, built_paths })
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

/// Fetches and unpacks the tier's locked build root, then builds `recipe.toml`'s
/// `recipe_tier` (the one in `recipe_dir`) in the sandbox over it.
fn build_from_source(
    dir: &Path,
    recipe_dir: &Path,
    tier: Tier,
    recipe_tier: Tier,
    lock: &Lock,
    mirror: &mut Option<Mirror>,
    opts: &BuildOptions<'_>,
) -> Result<compile::BuildOutcome, BuildError> {
    let fail = |e: compile::SourceBuildError| BuildError::SourceBuild { tier, source: Box::new(e) };
    let lock_file = lock_path(dir);
    let pkgs = lock.build_root_packages(tier).ok_or_else(|| BuildError::Lock {
        path: lock_file,
        detail: format!("tier {tier} has no locked build root; run `armorred lock`"),
    })?;
    let debs = fetch_all(&pkgs, mirror, opts)?;
    let root = buildroot::materialize(opts.cache.dir(), &pkgs, &debs)?;
    let sandbox = compile::Namespaces::new().map_err(fail)?;
    let out = source_build_dir(&opts.output);
    if previous_source_build(&out)? {
        std::fs::remove_dir_all(&out).map_err(|source| BuildError::Io {
            what: format!("remove the previous source build {}", out.display()),
            source,
        })?;
    }
    let build_opts = compile::BuildOptions {
        recipe_dir: recipe_dir.to_path_buf(),
        tier: recipe_tier,
        out,
        cache: opts.cache.dir().to_path_buf(),
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        keep_work: false,
        reuse: opts.reuse,
    };
    let forward = |p: compile::Progress<'_>| {
        if let Some(cb) = opts.progress {
            cb(Progress::Source(p));
        }
    };
    compile::build_with_progress(
        &build_opts,
        &sandbox,
        &root,
        opts.progress.map(|_| &forward as compile::ProgressFn<'_>),
    )
    .map_err(fail)
}

pub(crate) fn fetch_one(
    mirror: &mut Option<Mirror>,
    cache: &Cache,
    p: &debian::LockedPackage,
) -> Result<PathBuf, BuildError> {
    if mirror.is_none() {
        *mirror = Some(Mirror::discover(None)?);
    }
    let m = mirror.as_ref().ok_or_else(|| DebianError::NoMirror("unset".into()))?;
    Ok(debian::fetch(m, cache, p)?)
}

//! `armorred lock`: resolves every tier of a definition (and the build roots of the tiers built
//! from source) against the signed indices and writes `image.lock`, or only compares it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::debian::release::{default_keyring_paths, Keyring};
use super::debian::{self, DebianError, Indices, Lock, Mirror, ResolveRequest};
use super::{compile, BuildError};
use crate::spec::ImageSpec;
use crate::tier::Tier;

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
    resolve_lock_in(dir, mirror, &mut IndexCache::default())
}

/// Verified indices, fetched once per (suites, components, architecture, keyrings) and shared
/// by the definitions of one run that name the same (an image and its upstream reference).
#[derive(Default)]
pub struct IndexCache(BTreeMap<Vec<String>, Indices>);

/// [`resolve_lock`] with indices taken from `cache` when an earlier definition fetched them.
pub fn resolve_lock_in(
    dir: &Path,
    mirror: &Mirror,
    cache: &mut IndexCache,
) -> Result<(Lock, ExcludedHits), BuildError> {
    let spec = ImageSpec::load(dir)?;
    let d = &spec.debian;
    let mut key: Vec<String> = d.suites.iter().chain(&d.components).cloned().collect();
    key.push(format!("arch={}", d.architecture));
    key.extend(d.keyrings.iter().map(|k| format!("keyring={}", dir.join(k).display())));
    if !cache.0.contains_key(&key) {
        let keyring = load_keyring(&spec, dir)?;
        let fetched = Indices::fetch(mirror, &d.suites, &d.components, &d.architecture, &keyring)?;
        cache.0.insert(key.clone(), fetched);
    }
    let indices = &cache.0[&key];
    let mut tiers = BTreeMap::new();
    let mut excluded = BTreeMap::new();
    // `minbase = true`: every package a suite marks Essential or required, as mmdebstrap installs.
    let minbase = if spec.minbase { indices.minbase() } else { Vec::new() };
    for (&name, tier) in &spec.tiers {
        let req = ResolveRequest {
            wanted: spec.tier_packages(tier).iter().chain(&minbase).cloned().collect(),
            exclude: tier.exclude_packages.iter().cloned().collect::<BTreeSet<_>>(),
        };
        let res = debian::resolve(indices, &req)?;
        excluded.insert(name, res.excluded_hits.clone());
        tiers.insert(name, res);
    }
    let wanted_roots = build_root_inputs(dir, &spec)?;
    let mut roots = BTreeMap::new();
    for (&name, wanted) in &wanted_roots {
        let req = ResolveRequest { wanted: wanted.clone(), exclude: BTreeSet::new() };
        roots.insert(name, debian::resolve(indices, &req)?);
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
    for (&name, tier) in &spec.tiers {
        if tier.source_build.is_some() {
            let recipe = compile::load_checked(&tier.recipe_dir(dir)).map_err(|e| BuildError::Recipe(Box::new(e)))?;
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

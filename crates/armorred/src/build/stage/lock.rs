//! Stage `lock`: loads the definition and its lock and verifies that the lock is there, inside
//! the definition, current (its inputs digest matches `image.toml` and the recipe's build root)
//! and holds the tier. Outputs that may not be replaced are refused here, before any download.

use std::path::Path;

use super::super::debian::{Lock, LockedPackage};
use super::super::output::{previous_source_build, source_build_dir};
use super::super::{build_root_inputs, lock_path, BuildError, BuildOptions, Output};
use crate::oci;
use crate::spec::{ImageSpec, TierSpec};
use crate::tier::Tier;

/// The definition, the tier's part of it, and the verified lock.
pub(crate) struct Locked {
    /// The definition.
    pub(crate) spec: ImageSpec,
    /// The tier built.
    pub(crate) tier: Tier,
    /// Its definition.
    pub(crate) tier_spec: TierSpec,
    /// The lock, checked against the definition.
    pub(crate) lock: Lock,
    /// SOURCE_DATE_EPOCH: the option, else the newest Release date in the lock.
    pub(crate) epoch: i64,
}

impl Locked {
    /// The tier's locked packages (the stage checked that the tier is locked).
    pub(crate) fn packages(&self) -> Vec<&LockedPackage> {
        self.lock.tier_packages(self.tier).unwrap_or_default()
    }
}

/// Runs the stage.
pub(crate) fn run(dir: &Path, opts: &BuildOptions<'_>) -> Result<Locked, BuildError> {
    super::announce(opts, "load definition and lock");
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
    if lock.tier_packages(opts.tier).is_none() {
        return Err(BuildError::Lock {
            path: lock_file.clone(),
            detail: format!("tier {} is not locked; run `armorred lock`", opts.tier),
        });
    }
    let epoch = opts.source_date_epoch.unwrap_or_else(|| lock.newest_release_epoch());
    // Outputs that may not be replaced are refused before any download, not after the build.
    if let Output::OciDir(p) = &opts.output {
        oci::check_layout_target(p)?;
    }
    if tier.source_build.is_some() {
        previous_source_build(&source_build_dir(&opts.output))?;
    }
    super::done(opts, "load definition and lock", || {
        format!("{}:{} locked, {} packages", spec.name, opts.tier, lock.tier_packages(opts.tier).map_or(0, |p| p.len()))
    });
    Ok(Locked { spec, tier: opts.tier, tier_spec: tier, lock, epoch })
}

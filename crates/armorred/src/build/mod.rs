//! `armorred lock` and `armorred build`: from an image definition to a locked package set, then
//! to a reproducible OCI image.
//!
//! [`build`] is a straight list of named stages, as apko's `buildImage` is, each in its own file
//! under `stage/` and each error wrapped with its [`Stage`]: `lock` (the definition and its
//! verified lock) → `assemble` (fetch and verify the packages, the source build, the root file
//! system) → `gate` (checksec) → `config` (runtime configuration, annotations) → `write` (the
//! image and its build record). Nothing is written unless every input verified and the gate
//! passed. [`lock`] (in `lockfile.rs`) resolves a definition into `image.lock`.

pub mod buildroot;
/// Compiling a program from its pinned sources in the sandbox (`crate::source` is where
/// images are read).
pub mod compile;
pub mod debian;
mod lockfile;
mod output;
pub mod record;
mod stage;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use debian::{Cache, DebianError, Mirror};

pub use lockfile::{
    build_root_inputs, lock, lock_path, resolve_lock, resolve_lock_in, write_lock, ExcludedHits, IndexCache,
    LockReport, LockStatus,
};
pub use output::{source_build_dir, Output};
pub use stage::gate::{scratch_dir, GateVerdict, GateViolation};

use crate::elf::ScanReport;
use crate::oci::OciError;
use crate::spec::SpecError;
use crate::tier::Tier;

/// Builds the image of the definition in `dir` from its lock. Nothing is written unless every
/// input verified and the gate passed.
pub fn build(dir: &Path, opts: &BuildOptions<'_>) -> Result<BuildReport, BuildError> {
    let mut timings = stage::Timings::start();
    let locked = stage::lock::run(dir, opts).map_err(Stage::Lock.wrap())?;
    timings.lap("load");
    let entry = stage::reuse::entry_path(dir, &locked, opts);
    if let Some(report) = entry.as_deref().and_then(|e| stage::reuse::run(e, opts, timings.clone())) {
        return Ok(report);
    }
    let assembled = stage::assemble::run(dir, &locked, opts, &mut timings).map_err(Stage::Assemble.wrap())?;
    let gate = stage::gate::run(&locked.spec, &assembled, opts).map_err(Stage::Gate.wrap())?;
    timings.lap("checksec");
    let image = stage::config::run(&locked.spec, opts.tier, locked.epoch, opts.revision.as_deref());
    let inputs = stage::write::Inputs { locked, assembled, gate, image };
    let (report, written) = stage::write::run(dir, inputs, opts, timings).map_err(Stage::Write.wrap())?;
    if let Some(entry) = &entry {
        stage::reuse::store(opts, entry, &report, &written.index, &written.record);
    }
    Ok(report)
}

/// The stages of [`build`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Load the definition and its lock; verify the lock; refuse outputs that may not be
    /// replaced.
    Lock,
    /// Fetch and verify the packages, build from source, assemble the root file system.
    Assemble,
    /// checksec of every ELF file, judged by the policy.
    Gate,
    /// The runtime configuration and the annotations.
    Config,
    /// Write the image and its build record.
    Write,
}

impl Stage {
    /// Every stage, in the order [`build`] runs them.
    pub const ALL: [Stage; 5] = [Stage::Lock, Stage::Assemble, Stage::Gate, Stage::Config, Stage::Write];

    /// The stage's name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Lock => "lock",
            Stage::Assemble => "assemble",
            Stage::Gate => "gate",
            Stage::Config => "config",
            Stage::Write => "write",
        }
    }

    /// Wraps an error of this stage.
    fn wrap(self) -> impl FnOnce(BuildError) -> BuildError {
        move |error| BuildError::Stage(Box::new(StageError { stage: self, error }))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of `lock` and `build`, each naming the stage.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A stage of [`build`] failed: which one, and its error.
    #[error(transparent)]
    Stage(Box<StageError>),
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
        source: Box<compile::SourceBuildError>,
    },
    /// The recipe that the source-built tiers build (`recipe.toml`) could not be loaded.
    #[error("source build of tier (recipe)")]
    Recipe(#[source] Box<compile::SourceBuildError>),
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

impl BuildError {
    /// The stage of [`build`] that failed, if it was one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            BuildError::Stage(s) => Some(s.stage),
            _ => None,
        }
    }

    /// The error itself, without the stage that wraps it.
    pub fn cause(&self) -> &BuildError {
        match self {
            BuildError::Stage(s) => s.error.cause(),
            e => e,
        }
    }

    /// The gate's full verdict, when the checksec gate stopped the build.
    pub fn gate_verdict(&self) -> Option<&GateVerdict> {
        match self.cause() {
            BuildError::Gate { verdict, .. } => Some(verdict),
            _ => None,
        }
    }
}

/// The error of one stage of [`build`]. It reads as its cause does (whose message already
/// names the file, package or policy at fault, which the CLI's messages and tests rely on);
/// the stage is data, for callers that report or react to it.
#[derive(Debug)]
pub struct StageError {
    /// The stage that failed.
    pub stage: Stage,
    /// Its error.
    pub error: BuildError,
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The cause's own source: this level shows the cause's message, so the chain lists
        // each message once.
        std::error::Error::source(&self.error)
    }
}

/// Progress events, in the order [`build`] makes them: for each step a [`Progress::Stage`],
/// the events within it, then a [`Progress::Done`] with its result. The library never prints;
/// the CLI renders these as spinners and lines.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// A step starts.
    Stage(&'a str),
    /// A step finished: its name (as its [`Progress::Stage`] gave it) and a short result line.
    Done {
        /// The step.
        step: &'a str,
        /// What it gave (`12 packages`, `passed: 3 ELF files`, ...).
        result: String,
    },
    /// An event of the source build (within the step `build from source`).
    Source(compile::Progress<'a>),
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
    /// The cache ([`crate::cache`]): packages, build roots, source builds, scratch trees.
    pub cache: Cache,
    /// Explicit mirror; else discovered when a download is needed.
    pub mirror: Option<Mirror>,
    /// SOURCE_DATE_EPOCH; default the newest Release date in the lock.
    pub source_date_epoch: Option<i64>,
    /// `org.opencontainers.image.revision`, when known.
    pub revision: Option<String>,
    /// Progress callback.
    pub progress: Option<&'a (dyn Fn(Progress<'_>) + Sync)>,
    /// Reuse a verified earlier build of exactly the same inputs instead of building again:
    /// the image already at the output (`stage::reuse`: same definition, lock, tier, epoch and
    /// builder), else a cached source build (same recipe, sources, build-root lock, flags,
    /// tier). `false` always builds and compiles.
    pub reuse: bool,
}

/// What `build` produced.
#[derive(Debug)]
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
    pub source_build: Option<compile::BuildRecord>,
    /// Whether the source build was a verified cached build of the same inputs.
    pub source_build_reused: bool,
    /// Whether nothing was built: the output already held the image of exactly these inputs
    /// (verified). The times, checksec and records are then the earlier build's; `timings`
    /// this run's.
    pub reused: bool,
    /// Entries in the layer.
    pub files: usize,
    /// SOURCE_DATE_EPOCH used.
    pub source_date_epoch: i64,
    /// checksec gate.
    pub gate: GateVerdict,
    /// The gate's scan: checksec of every ELF file in the image, keyed by its path in the image
    /// (`/usr/bin/x`), as `armorred checksec` reports it for the written image, so that callers
    /// need not read the image again.
    pub checksec: ScanReport,
    /// Stage timings in milliseconds.
    pub timings: BTreeMap<String, u128>,
    /// When the build started (RFC 3339 UTC, real time, not SOURCE_DATE_EPOCH).
    pub started_on: String,
    /// When the build finished (RFC 3339 UTC, real time).
    pub finished_on: String,
}

#[cfg(test)]
mod tests;

//! The main job: every stage of the nginx pipeline that exists, in order, as named stages.
//!
//! Today: checksec of the machine's own binaries. Later stages (lock, build, sbom, scan,
//! compare, sign) are added here as they land, each wrapping its error as "failed to <stage>".

use std::path::PathBuf;

use crate::elf::{self, ScanOptions, ScanReport};

/// Errors of the pipeline, one variant per stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The checksec stage failed.
    #[error("failed to checksec {path}")]
    Checksec {
        /// What was being analysed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: elf::ElfError,
    },
}

/// What the pipeline runs on.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Directories whose ELF files the checksec stage analyses.
    pub checksec_paths: Vec<PathBuf>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self { checksec_paths: vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")] }
    }
}

/// What the pipeline produced.
#[derive(Debug)]
pub struct PipelineOutcome {
    /// The checksec stage's report.
    pub checksec: ScanReport,
}

/// Runs every stage in order.
pub fn run(opts: &PipelineOptions) -> Result<PipelineOutcome, PipelineError> {
    let checksec = elf::scan(&opts.checksec_paths, &ScanOptions::default()).map_err(|source| {
        PipelineError::Checksec { path: opts.checksec_paths.first().cloned().unwrap_or_default(), source }
    })?;
    Ok(PipelineOutcome { checksec })
}

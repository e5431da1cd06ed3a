//! Stage `write`: the layer from the root file system (deterministic: sorted, mtime =
//! SOURCE_DATE_EPOCH), the image written atomically as an OCI layout or a docker archive, then
//! the build record next to it.

use std::path::Path;

use super::super::{record, BuildError, BuildOptions, BuildReport, GateVerdict, Output};
use super::assemble::Assembled;
use super::lock::Locked;
use super::Timings;
use crate::elf::ScanReport;
use crate::oci::{self, Image};

/// What the earlier stages produced.
pub(crate) struct Inputs {
    /// Stage `lock`.
    pub(crate) locked: Locked,
    /// Stage `assemble`.
    pub(crate) assembled: Assembled,
    /// Stage `gate`: the verdict and the scan.
    pub(crate) gate: (GateVerdict, ScanReport),
    /// Stage `config`: the image without its layer.
    pub(crate) image: Image,
}

/// Runs the stage.
pub(crate) fn run(
    dir: &Path,
    inputs: Inputs,
    opts: &BuildOptions<'_>,
    mut timings: Timings,
) -> Result<(BuildReport, Written), BuildError> {
    let Inputs { locked, assembled, gate: (gate, checksec), mut image } = inputs;
    super::announce(opts, "write image");
    let layer = oci::layer_from_tree(&assembled.tree, locked.epoch)?;
    let files = layer.entries;
    image.layers.push(layer);
    let written = match &opts.output {
        Output::OciDir(p) => oci::write_layout(p, &image)?,
        Output::DockerArchive(p) => oci::write_docker_archive(p, &image)?,
    };
    timings.lap("write");
    let finished = timings.finish();

    let built = assembled.built;
    let report = BuildReport {
        name: locked.spec.name.clone(),
        tier: opts.tier,
        output: opts.output.clone(),
        record: opts.output.record_path(),
        manifest_digest: written.manifest.digest.clone(),
        config_digest: written.config.digest.clone(),
        compressed_size: written.compressed_size,
        uncompressed_size: written.uncompressed_size,
        packages: locked.packages().len(),
        source_build_reused: built.as_ref().is_some_and(|b| b.reused),
        source_build: built.map(|b| b.record),
        reused: false,
        files,
        source_date_epoch: locked.epoch,
        gate,
        checksec,
        timings: finished.laps,
        started_on: finished.started_on,
        finished_on: finished.finished_on,
    };
    let rec = record::record(dir, &locked.spec, &locked.lock, opts.tier, &report)?;
    crate::fsutil::write_bytes_atomic(&report.record, &rec).map_err(|e| BuildError::Io {
        what: format!("write {}", report.record.display()),
        source: std::io::Error::other(e),
    })?;
    super::done(opts, "write image", || {
        format!("{} ({:.1} MB compressed)", report.manifest_digest, report.compressed_size as f64 / 1e6)
    });
    Ok((report, Written { index: written.index, record: rec }))
}

/// The exact bytes of what the stage wrote beside the layers: `index.json` and the record.
pub(crate) struct Written {
    pub(crate) index: Vec<u8>,
    pub(crate) record: Vec<u8>,
}

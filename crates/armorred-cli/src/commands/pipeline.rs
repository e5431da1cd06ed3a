//! `armorred pipeline`: the main job.

use anyhow::Context;
use armorred::elf::checksec_json;
use armorred::pipeline::{self, PipelineOptions};

use crate::cli::PipelineArgs;
use crate::{output, Outcome};

pub(crate) fn run(args: &PipelineArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let opts = PipelineOptions::default();
    let outcome = pipeline::run(&opts)?;
    let path = args.out.join("checksec.json");
    let json = serde_json::to_vec_pretty(&checksec_json::scan_object(&outcome.checksec, true))?;
    armorred::fsutil::write_bytes_atomic(&path, &json).context("cannot write the checksec report")?;
    if !quiet {
        output::checksec_summary(&mut anstream::stderr().lock(), &outcome.checksec, &path)?;
    }
    Ok(Outcome::Success)
}

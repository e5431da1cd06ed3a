//! `armorred checksec`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use armorred::elf::{self, policy, ScanOptions, ScanReport};
use armorred::source::{Limits, OpenOptions, Source};

use crate::cli::{ChecksecArgs, ChecksecFormat, PolicyArg};
use crate::{output, Outcome};

/// Image sources, named as syft names them; `dir:PATH` and bare paths are files on disk.
const IMAGE_SCHEMES: [&str; 4] = ["oci-dir:", "oci-archive:", "docker-archive:", "registry:"];

pub(crate) fn run(args: &ChecksecArgs) -> anyhow::Result<Outcome> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut scan = ScanReport::default();
    for path in &args.paths {
        let text = path.to_string_lossy();
        if IMAGE_SCHEMES.iter().any(|s| text.starts_with(s)) {
            let image = Source::parse(&text)?.open(&OpenOptions::default())?;
            let report = armorred::report::image_checksec(&image, &Limits::default())?;
            scan.entries.extend(report.entries);
        } else {
            files.push(text.strip_prefix("dir:").map_or_else(|| path.clone(), PathBuf::from));
        }
    }
    if !files.is_empty() {
        scan.entries.extend(elf::scan(&files, &ScanOptions { root: Some(args.root.clone()) })?.entries);
    }
    let mut out = anstream::stdout().lock();
    match args.format {
        ChecksecFormat::Json => {
            let value = elf::checksec_json::scan_object(&scan, args.extended);
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        ChecksecFormat::Table => output::checksec_table(&mut out, &scan)?,
    }
    let Some(policy) = args.policy else { return Ok(Outcome::Success) };
    let policy = match policy {
        PolicyArg::Hardened => policy::Policy::Hardened,
        PolicyArg::Locked => policy::Policy::Locked,
    };
    let verdict = policy::evaluate(policy, &scan, &args.root);
    let mut err = anstream::stderr().lock();
    output::verdict(&mut err, policy, &verdict).context("cannot print the verdict")?;
    Ok(if verdict.passed() { Outcome::Success } else { Outcome::CheckFailed })
}

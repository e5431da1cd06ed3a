//! `armorred checksec`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use armorred::elf::{self, policy, ScanOptions, ScanReport};
use armorred::source::{Limits, OpenOptions, Source};

use crate::cli::{ChecksecArgs, ChecksecFormat};
use crate::{output, Outcome};

pub(crate) fn run(args: &ChecksecArgs) -> anyhow::Result<Outcome> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut scan = ScanReport::default();
    for path in &args.paths {
        // Images as syft names them (and bare archives or OCI layouts, detected); directories
        // and files are read from disk, with libraries resolved below --root.
        match Source::parse(&path.to_string_lossy()) {
            Ok(Source::Dir(dir)) => files.push(dir),
            Ok(source) => {
                let image = source.open(&OpenOptions::default())?;
                scan.entries.extend(armorred::report::image_checksec(&image, &Limits::default())?.entries);
            }
            Err(_) => files.push(path.clone()),
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
    let verdict = policy::evaluate(policy, &scan, &args.root);
    let mut err = anstream::stderr().lock();
    output::verdict(&mut err, policy, &verdict).context("cannot print the verdict")?;
    Ok(if verdict.passed() { Outcome::Success } else { Outcome::CheckFailed })
}

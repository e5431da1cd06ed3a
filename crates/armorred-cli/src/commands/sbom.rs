//! `armorred sbom`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use armorred::clock::Clock;
use armorred::sbom::format::{self, Format, Timestamp};
use armorred::sbom::{self, GenerateOptions};
use armorred::source::{OpenOptions, Platform, Source};

use crate::cli::SbomArgs;
use crate::Outcome;

pub(crate) fn run(args: &SbomArgs, clock: &Clock, quiet: bool) -> anyhow::Result<Outcome> {
    let outputs = outputs(args)?;
    let limits = crate::output::table_limits()?;
    let Some(timestamp) = Timestamp::parse(&args.timestamp) else {
        bail!("invalid --timestamp {:?}: use image, now or an RFC 3339 time", args.timestamp);
    };
    let timestamp = timestamp.at(clock);
    let source = Source::parse(&args.source)?;
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    let options = OpenOptions { platform, ..OpenOptions::default() };
    let image = source.open(&options)?;
    let sbom = sbom::generate(&image, &GenerateOptions { limits: options.limits })
        .with_context(|| format!("cannot catalog {source}"))?;
    for (fmt, file) in &outputs {
        match file {
            Some(path) => armorred::fsutil::write_atomic(path, |w| encode(&sbom, *fmt, &timestamp, &limits, w))?,
            None => {
                let mut out = anstream::stdout().lock();
                encode(&sbom, *fmt, &timestamp, &limits, &mut out)?;
                out.flush()?;
            }
        }
    }
    if !quiet {
        let mut err = anstream::stderr().lock();
        for w in &sbom.warnings {
            writeln!(err, "warning: {}", armorred::display::escape(w))?;
        }
        writeln!(
            err,
            "{}: {} packages{}",
            armorred::display::escape(&source.to_string()),
            sbom.packages.len(),
            sbom.distro
                .as_ref()
                .map(|d| armorred::display::escape(&format!(", {} {}", d.id, d.version_id.as_deref().unwrap_or("")))
                    .into_owned())
                .unwrap_or_default()
        )?;
    }
    Ok(Outcome::Success)
}

/// Encodes `sbom`; the table with `limits`.
fn encode(
    sbom: &sbom::Sbom,
    fmt: Format,
    timestamp: &Timestamp,
    limits: &armorred::display::TableLimits,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match fmt {
        Format::Table => format::table::write_with(sbom, out, limits),
        other => format::write(sbom, other, timestamp, out),
    }
}

/// `-o FORMAT[=FILE]` list (default cyclonedx-json), with `--file` for the one without a file.
fn outputs(args: &SbomArgs) -> anyhow::Result<Vec<(Format, Option<PathBuf>)>> {
    let specs = if args.output.is_empty() { vec!["cyclonedx-json".to_string()] } else { args.output.clone() };
    let mut out = Vec::new();
    for spec in &specs {
        let (name, file) = match spec.split_once('=') {
            Some((n, f)) if !f.is_empty() => (n, Some(PathBuf::from(f))),
            Some((n, _)) => (n, None),
            None => (spec.as_str(), None),
        };
        let Some(fmt) = Format::parse(name) else {
            bail!("unknown output format {name:?} (cyclonedx-json, spdx-json, table, json)");
        };
        out.push((fmt, file));
    }
    let to_stdout = out.iter().filter(|(_, f)| f.is_none()).count();
    if let Some(file) = &args.file {
        if to_stdout != 1 {
            bail!("--file needs exactly one output without =FILE");
        }
        for o in &mut out {
            if o.1.is_none() {
                o.1 = Some(file.clone());
            }
        }
    } else if to_stdout > 1 {
        bail!("only one output can go to stdout: give the others a file (-o FORMAT=FILE)");
    }
    super::distinct_files(
        out.iter().filter_map(|(fmt, f)| f.as_deref().map(|f| (format!("-o {}={}", fmt.name(), f.display()), f))),
    )?;
    Ok(out)
}

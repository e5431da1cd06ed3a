//! `armorred pull`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use armorred::registry::copy;

use super::push::{client, registry_ref};
use crate::cli::PullArgs;
use crate::Outcome;

pub(crate) fn run(args: &PullArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let source = registry_ref(&args.source, "the source")?;
    let Some(dir) = args.target.strip_prefix("oci-dir:") else {
        bail!("the target {:?} must be oci-dir:DIR", args.target);
    };
    let dir = Path::new(dir);
    copy::check_pull_target(dir)?;
    let client = client(&source.host, &args.insecure_registry)?;
    let report = copy::pull_to_layout(&client, &source.repo, &source.reference, dir, args.with_attachments)
        .with_context(|| format!("cannot pull {source}"))?;
    let mut out = anstream::stdout().lock();
    writeln!(out, "{}/{}@{}", source.host, source.repo, report.digest)?;
    if !quiet {
        let mut err = anstream::stderr().lock();
        for (kind, digest) in &report.attachments {
            writeln!(err, "attachment {kind} {digest}")?;
        }
        if report.referrers_api == Some(false) {
            writeln!(err, "the registry has no referrers API: attachments were looked up by their cosign tags")?;
        }
    }
    Ok(Outcome::Success)
}

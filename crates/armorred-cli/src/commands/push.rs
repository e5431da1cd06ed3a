//! `armorred push`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use armorred::registry::{self, copy, Reference};

use crate::cli::PushArgs;
use crate::Outcome;

/// The client of `host` with the `--insecure-registry` hosts.
pub(crate) fn client(host: &str, insecure: &[String]) -> anyhow::Result<registry::Client> {
    let options = registry::Options { insecure_hosts: insecure.to_vec(), ..registry::Options::default() };
    Ok(registry::Client::new(host, options)?)
}

/// A `registry:REF` argument.
pub(crate) fn registry_ref(arg: &str, what: &str) -> anyhow::Result<Reference> {
    let Some(r) = arg.strip_prefix("registry:") else {
        bail!("{what} {arg:?} must be registry:HOST[:PORT]/REPO[:TAG]");
    };
    Ok(Reference::parse(r)?)
}

pub(crate) fn run(args: &PushArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let target = registry_ref(&args.target, "the target")?;
    let Some(tag) = target.tag() else {
        bail!("the target {} names a digest: push to a tag (registry:HOST/REPO:TAG)", args.target);
    };
    let client = client(&target.host, &args.insecure_registry)?;
    let mount = args.mount_from.as_deref();
    let report = if let Some(dir) = args.source.strip_prefix("oci-dir:") {
        copy::push_oci_layout(&client, Path::new(dir), &target.repo, tag, mount)
    } else if let Some(file) = args.source.strip_prefix("docker-archive:") {
        copy::push_docker_archive(&client, Path::new(file), &target.repo, tag, mount)
    } else {
        bail!("the source {:?} must be oci-dir:DIR or docker-archive:FILE", args.source);
    }
    .with_context(|| format!("cannot push {} to {target}", args.source))?;
    let mut out = anstream::stdout().lock();
    writeln!(out, "{target}@{}", report.digest)?;
    if !quiet {
        writeln!(
            anstream::stderr().lock(),
            "pushed {target}: {} blobs uploaded, {} mounted, {} already there{}",
            report.uploaded,
            report.mounted,
            report.existing,
            if report.attachments.is_empty() {
                String::new()
            } else {
                format!("; attachments {}", report.attachments.join(", "))
            }
        )?;
    }
    Ok(Outcome::Success)
}

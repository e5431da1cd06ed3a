//! `armorred verify --key PUB [--reference R] [--output text|json] IMAGE...`: exit 1 when an
//! image has no signature that verifies, with the reasons for each.

use std::io::Write;

use armorred::display::escape;
use armorred::sign::simple::{self, VerifyOptions};
use armorred::sign::SignError;

use crate::cli::{VerifyArgs, VerifyFormat};
use crate::Outcome;

pub(crate) fn run(args: &VerifyArgs, quiet: bool) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.policy {
        let mut outcome = Outcome::Success;
        for image in &args.images {
            let store = armorred::sign::open_store(image, &args.insecure_registry)?;
            if policy(args, image, path, store.as_ref())? != Outcome::Success {
                outcome = Outcome::CheckFailed;
            }
        }
        return Ok(outcome);
    }
    let Some(key) = &args.key else { anyhow::bail!("give --key or --policy") };
    let key = armorred::sign::load_public_key(key)?;
    let opts =
        VerifyOptions { reference: args.reference.clone(), annotations: args.annotations.iter().cloned().collect() };
    let results = armorred::sign::verify_images(&args.images, &args.insecure_registry, &key, &opts);
    let mut outcome = Outcome::Success;
    for (image, result) in args.images.iter().zip(results) {
        let verified = match result {
            Ok(v) => v,
            Err(e) if e.is_verification_failure() => {
                outcome = check_failed(&e)?;
                continue;
            }
            // Not a verdict on the signatures (the image cannot be read): the whole command fails.
            Err(e) => return Err(e.into()),
        };
        print_claims(args, image, &verified, quiet)?;
    }
    Ok(outcome)
}

/// The verified claims of one image, as cosign prints them.
fn print_claims(
    args: &VerifyArgs,
    image: &str,
    verified: &[simple::VerifiedSignature],
    quiet: bool,
) -> anyhow::Result<()> {
    let claims: Vec<&simple::SimpleSigning> = verified.iter().map(|v| &v.payload).collect();
    let mut out = std::io::stdout().lock();
    match args.output {
        VerifyFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&claims)?)?,
        VerifyFormat::Text => {
            if !quiet {
                let mut err = anstream::stderr().lock();
                writeln!(err, "\nVerification for {} --", escape(image))?;
                writeln!(err, "The following checks were performed on each of these signatures:")?;
                writeln!(err, "  - The cosign claims were validated")?;
                if args.reference.is_some() {
                    writeln!(err, "  - The signed docker-reference matched the expected one")?;
                }
                if !args.annotations.is_empty() {
                    writeln!(err, "  - Any certificate or payload annotations were verified")?;
                }
                writeln!(err, "  - The signatures were verified against the specified public key")?;
            }
            writeln!(out, "{}", serde_json::to_string(&claims)?)?;
        }
    }
    Ok(())
}

/// `verify --policy`: every rule with its verdict; exit 1 when one fails.
fn policy(
    args: &VerifyArgs,
    image: &str,
    path: &std::path::Path,
    store: &dyn armorred::sign::layout::Store,
) -> anyhow::Result<Outcome> {
    let policy = armorred::policy::read(path)?;
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let now = armorred::clock::Clock::real().now();
    let verdict = armorred::policy::verify(&policy, base, store, now)?;
    let mut out = std::io::stdout().lock();
    match args.output {
        VerifyFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&verdict)?)?,
        VerifyFormat::Text => {
            for r in &verdict.rules {
                let mark = if r.passed { "pass" } else { "FAIL" };
                writeln!(out, "{mark}  {}: {}", escape(&r.rule), escape(&r.detail))?;
            }
        }
    }
    if verdict.passed() {
        Ok(Outcome::Success)
    } else {
        writeln!(
            anstream::stderr().lock(),
            "error: {} does not meet the policy {}",
            escape(image),
            escape(&path.display().to_string())
        )?;
        Ok(Outcome::CheckFailed)
    }
}

/// A verification that failed: its reasons on stderr, exit 1.
pub(crate) fn check_failed(e: &SignError) -> anyhow::Result<Outcome> {
    writeln!(anstream::stderr().lock(), "error: {}", armorred::display::escape(&e.to_string()))?;
    Ok(Outcome::CheckFailed)
}

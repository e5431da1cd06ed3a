//! `armorred attest --key K --type T --predicate FILE [--reference R] [--format legacy|bundle] IMAGE`.

use std::io::Write;

use anyhow::Context;
use armorred::display::escape;
use armorred::sign::intoto;

use crate::cli::{AttestArgs, SignFormat};
use crate::Outcome;

/// The largest predicate file read.
const MAX_PREDICATE_BYTES: u64 = 128 << 20;

pub(crate) fn run(args: &AttestArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let store = armorred::sign::open_store(&args.image, &args.insecure_registry)?;
    let predicate_type = intoto::predicate_type(&args.predicate_type)?;
    let bytes = armorred::fsutil::read_regular_bounded(&args.predicate, MAX_PREDICATE_BYTES)?;
    let predicate = armorred::json::from_slice(&bytes)
        .with_context(|| format!("predicate {} is not JSON", escape(&args.predicate.display().to_string())))?;
    let key = armorred::sign::load_private_key(&args.key, &super::key::password(false)?)?;
    if args.format == SignFormat::Bundle {
        let b = armorred::sign::bundle::attest_image(
            store.as_ref(),
            &key,
            &predicate_type,
            predicate,
            args.reference.as_deref(),
        )?;
        if !quiet {
            writeln!(
                anstream::stderr().lock(),
                "attested {} about {}@{} (bundle {}, referrer manifest {})",
                escape(&predicate_type),
                escape(&args.image),
                b.subject,
                b.bundle,
                b.manifest
            )?;
        }
        return Ok(Outcome::Success);
    }
    let a = intoto::attest(store.as_ref(), &key, &predicate_type, predicate, args.reference.as_deref())?;
    if !quiet {
        writeln!(
            anstream::stderr().lock(),
            "attested {} about {}@{} (attestation manifest {})",
            escape(&a.predicate_type),
            escape(&args.image),
            a.subject,
            a.manifest
        )?;
    }
    Ok(Outcome::Success)
}

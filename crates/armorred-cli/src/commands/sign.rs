//! `armorred sign --key K [--reference R] [-a K=V] [--format legacy|bundle] IMAGE`.

use std::io::Write;

use armorred::display::escape;
use armorred::sign::simple::{self, SignOptions};

use crate::cli::{SignArgs, SignFormat};
use crate::Outcome;

pub(crate) fn run(args: &SignArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let store = armorred::sign::open_store(&args.image, &args.insecure_registry)?;
    if args.format == SignFormat::Bundle && !args.annotations.is_empty() {
        anyhow::bail!("-a/--annotation is signed in the legacy format only; drop it or use --format legacy");
    }
    let key = armorred::sign::load_private_key(&args.key, &super::key::password(false)?)?;
    if args.format == SignFormat::Bundle {
        let signed = armorred::sign::bundle::sign_image(store.as_ref(), &key, args.reference.as_deref())?;
        if !quiet {
            writeln!(
                anstream::stderr().lock(),
                "signed {}@{} as {} (bundle {}, referrer manifest {})",
                escape(&args.image),
                signed.subject,
                escape(&signed.reference),
                signed.bundle,
                signed.manifest
            )?;
        }
        return Ok(Outcome::Success);
    }
    let opts =
        SignOptions { reference: args.reference.clone(), annotations: args.annotations.iter().cloned().collect() };
    let signed = simple::sign(store.as_ref(), &key, &opts)?;
    if !quiet {
        writeln!(
            anstream::stderr().lock(),
            "signed {}@{} as {} (signature manifest {})",
            escape(&args.image),
            signed.subject,
            escape(&signed.reference),
            signed.manifest
        )?;
    }
    Ok(Outcome::Success)
}

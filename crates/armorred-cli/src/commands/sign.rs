//! `armorred sign --key K [--reference R] [-a K=V] IMAGE`.

use std::io::Write;

use armorred::display::escape;
use armorred::sign::simple::{self, SignOptions};

use crate::cli::SignArgs;
use crate::Outcome;

pub(crate) fn run(args: &SignArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let store = armorred::sign::open_store(&args.image, &args.insecure_registry)?;
    let key = armorred::sign::load_private_key(&args.key, &super::key::password(false)?)?;
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

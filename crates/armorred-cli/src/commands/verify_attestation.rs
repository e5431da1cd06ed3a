//! `armorred verify-attestation --key PUB [--type T] [--output text|json] IMAGE`: exit 1 when
//! no attestation verifies, with the reason for each.

use std::io::Write;

use armorred::display::escape;
use armorred::sign::intoto;

use crate::cli::{VerifyAttestationArgs, VerifyFormat};
use crate::Outcome;

pub(crate) fn run(args: &VerifyAttestationArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let store = armorred::sign::open_store(&args.image, &args.insecure_registry)?;
    let predicate_type = args.predicate_type.as_deref().map(intoto::predicate_type).transpose()?;
    let key = armorred::sign::load_public_key(&args.key)?;
    let verified = match intoto::verify_attestations(store.as_ref(), &key, predicate_type.as_deref()) {
        Ok(v) => v,
        Err(e) if e.is_verification_failure() => return super::verify::check_failed(&e),
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        VerifyFormat::Json => {
            let statements: Vec<&intoto::Statement> = verified.iter().map(|v| &v.statement).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&statements)?)?;
        }
        VerifyFormat::Text => {
            if !quiet {
                let mut err = anstream::stderr().lock();
                writeln!(err, "\nVerification for {} --", escape(&args.image))?;
                writeln!(err, "The following checks were performed on each of these signatures:")?;
                writeln!(err, "  - The cosign claims were validated")?;
                writeln!(err, "  - The signatures were verified against the specified public key")?;
            }
            for v in &verified {
                writeln!(out, "{}", serde_json::to_string(&v.envelope)?)?;
            }
        }
    }
    Ok(Outcome::Success)
}

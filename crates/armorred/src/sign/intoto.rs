//! Attestations: an in-toto Statement v1 about the image, in a DSSE envelope ([`super::dsse`]),
//! stored as cosign stores them: one layer per attestation in the image's `.att` signature
//! image, media type `application/vnd.dsse.envelope.v1+json`, annotated
//! `dev.cosignproject.cosign/signature: ""` and `predicateType: <uri>`; or, as cosign 3 stores
//! them, in a Sigstore bundle attached as an OCI 1.1 referrer ([`super::bundle::attest_image`]).
//! [`verify_attestations`] reads both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dsse::{Envelope, DSSE_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE};
use super::layout::{self, Attachment, Store};
use super::simple::SIGNATURE_ANNOTATION;
use super::{PrivateKey, PublicKey, SignError};
use crate::oci::spec::Digest;

/// `_type` of the statements we write.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of the statements cosign 2 writes (read too).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The layer annotation naming an attestation's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The largest attestation envelope read (an SBOM predicate can be large).
pub const MAX_ENVELOPE_BYTES: u64 = 128 << 20;

/// cosign's `--type` names and the predicate type URIs it maps them to (cosign
/// `pkg/cosign/attestation`, `cmd/cosign/cli/options/predicate.go`).
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
];

/// The predicate type URI of a `--type` value: one of cosign's names, or a URI as it is.
pub fn predicate_type(name: &str) -> Result<String, SignError> {
    if let Some((_, uri)) = PREDICATE_TYPES.iter().find(|(n, _)| *n == name) {
        return Ok((*uri).to_string());
    }
    if name.contains("://") {
        return Ok(name.to_string());
    }
    let names: Vec<&str> = PREDICATE_TYPES.iter().map(|(n, _)| *n).collect();
    Err(SignError::Predicate {
        what: name.to_string(),
        reason: format!("unknown predicate type: give one of {} or a URI", names.join(", ")),
    })
}

/// An in-toto statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `_type`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// `subject`.
    pub subject: Vec<StatementSubject>,
    /// `predicateType`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// `predicate`.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// A statement's subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementSubject {
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `digest` (`sha256` → hex).
    pub digest: BTreeMap<String, String>,
}

/// What [`attest`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// The attested image's digest.
    pub subject: Digest,
    /// The predicate type URI.
    pub predicate_type: String,
    /// The envelope layer's digest.
    pub layer: Digest,
    /// The new attestation manifest's digest.
    pub manifest: Digest,
}

/// Attests `predicate` (of type URI `predicate_type`) about the image of `store`: an in-toto
/// Statement v1 naming it (`reference`, else the store's name, else empty) and its digest,
/// signed in a DSSE envelope, appended to the image's attestations.
pub fn attest(
    store: &dyn Store,
    key: &PrivateKey,
    predicate_type: &str,
    predicate: serde_json::Value,
    reference: Option<&str>,
) -> Result<Attested, SignError> {
    let subject = store.subject()?;
    let name = reference.map(str::to_string).or(subject.name.clone()).unwrap_or_default();
    let statement = Statement {
        kind: STATEMENT_V1.into(),
        subject: vec![StatementSubject {
            name: layout::repository_of(&name).to_string(),
            digest: [("sha256".to_string(), subject.digest.hex().to_string())].into(),
        }],
        predicate_type: predicate_type.to_string(),
        predicate,
    };
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let envelope = Envelope::sign(INTOTO_PAYLOAD_TYPE, &payload, key).to_bytes();
    let layer = Digest::of(&envelope);
    let annotations = [
        (SIGNATURE_ANNOTATION.to_string(), String::new()),
        (PREDICATE_TYPE_ANNOTATION.to_string(), predicate_type.to_string()),
    ]
    .into();
    let manifest = layout::append(store, Attachment::Attestations, DSSE_MEDIA_TYPE, envelope, annotations)?;
    Ok(Attested { subject: subject.digest, predicate_type: predicate_type.to_string(), layer, manifest })
}

/// One attestation that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    /// The envelope (what cosign prints).
    pub envelope: Envelope,
    /// Its statement.
    pub statement: Statement,
    /// The envelope layer's digest.
    pub layer: Digest,
}

/// Verifies the attestations of the image of `store` with `key`: the envelope's signature,
/// the statement naming this image's digest among its subjects, and, when `predicate_type`
/// is given, that type. At least one must verify; when none does, [`SignError::Verify`] says
/// for each why.
pub fn verify_attestations(
    store: &dyn Store,
    key: &PublicKey,
    predicate_type: Option<&str>,
) -> Result<Vec<VerifiedAttestation>, SignError> {
    let digest = store.digest()?;
    let name = format!("{}@{}", store.describe(), digest);
    let what = match predicate_type {
        Some(t) => format!("attestation of type {t}"),
        None => "attestation".into(),
    };
    let fail = |reasons: Vec<String>| SignError::Verify { what: what.clone(), subject: name.clone(), reasons };
    let manifest = store.attached(Attachment::Attestations)?;
    // cosign 3's attestations: Sigstore bundles attached as referrers.
    let bundles = super::bundle::verify_attestation_referrers(store, key, predicate_type, &digest)?;
    let Some(manifest) = manifest else {
        if bundles.found == 0 {
            return Err(fail(vec![format!(
                "no attestations are stored (no {}, no attestation bundle {})",
                store.attachment_place(Attachment::Attestations),
                store.referrers_place()
            )]));
        }
        if bundles.verified.is_empty() {
            return Err(fail(bundles.reasons));
        }
        return Ok(bundles.verified);
    };
    let image = layout::SigImage::parse(&manifest, &store.describe())?;
    let mut verified = Vec::new();
    let mut reasons = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        let result = if layer.media_type != DSSE_MEDIA_TYPE {
            Err(format!("media type {:?} is not {DSSE_MEDIA_TYPE}", layer.media_type))
        } else {
            match store.blob(&layer.digest, MAX_ENVELOPE_BYTES) {
                Ok(bytes) => check(&bytes, key, &digest, predicate_type),
                Err(e) => Err(e.to_string()),
            }
        };
        match result {
            Ok((envelope, statement)) => {
                verified.push(VerifiedAttestation { envelope, statement, layer: layer.digest.clone() })
            }
            Err(reason) => reasons.push(format!("attestation {} ({}): {reason}", i + 1, layer.digest)),
        }
    }
    if image.layers.is_empty() {
        reasons.push("the attestation image holds no attestation".into());
    }
    verified.extend(bundles.verified);
    reasons.extend(bundles.reasons);
    if verified.is_empty() {
        return Err(fail(reasons));
    }
    Ok(verified)
}

/// Checks one envelope: signature, statement, subject digest, predicate type.
pub fn check(
    envelope: &[u8],
    key: &PublicKey,
    subject: &Digest,
    predicate_type: Option<&str>,
) -> Result<(Envelope, Statement), String> {
    check_envelope(Envelope::parse(envelope)?, key, subject, predicate_type)
}

/// Checks one parsed envelope (from a `.att` layer or a bundle): signature, statement,
/// subject digest, predicate type.
pub fn check_envelope(
    envelope: Envelope,
    key: &PublicKey,
    subject: &Digest,
    predicate_type: Option<&str>,
) -> Result<(Envelope, Statement), String> {
    let payload = envelope.verify(key)?;
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(format!("payload type {:?} is not {INTOTO_PAYLOAD_TYPE}", envelope.payload_type));
    }
    let statement = parse_statement(&payload)?;
    if !statement.subject.iter().any(|s| s.digest.get("sha256").map(String::as_str) == Some(subject.hex())) {
        let named: Vec<String> =
            statement.subject.iter().filter_map(|s| s.digest.get("sha256")).map(|h| format!("sha256:{h}")).collect();
        return Err(format!("the statement is about {}, not this image ({subject})", named.join(", ")));
    }
    if let Some(want) = predicate_type {
        if statement.predicate_type != want {
            return Err(format!("predicate type {} is not {want}", statement.predicate_type));
        }
    }
    Ok((envelope, statement))
}

/// Reads an in-toto statement (v1 or v0.1).
pub fn parse_statement(payload: &[u8]) -> Result<Statement, String> {
    let statement: Statement =
        serde_json::from_slice(payload).map_err(|e| format!("the payload is not an in-toto statement: {e}"))?;
    if statement.kind != STATEMENT_V1 && statement.kind != STATEMENT_V01 {
        return Err(format!("statement type {:?} is not in-toto's", statement.kind));
    }
    Ok(statement)
}

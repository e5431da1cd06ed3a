//! cosign 2's signatures ("simple signing", the format `cosign verify --key` checks offline):
//! a JSON payload naming the image's manifest digest and repository,
//!
//! ```json
//! {"critical":{"identity":{"docker-reference":"host/repo"},
//!              "image":{"docker-manifest-digest":"sha256:…"},
//!              "type":"cosign container image signature"},"optional":null}
//! ```
//!
//! signed with ECDSA P-256 over SHA-256 (ASN.1 DER, base64 in the layer annotation
//! `dev.cosignproject.cosign/signature`), one layer of media type
//! `application/vnd.dev.cosign.simplesigning.v1+json` per signature, appended to the image's
//! signature image ([`super::layout`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::layout::{self, Attachment, Store};
use super::{PrivateKey, PublicKey, SignError};
use crate::oci::spec::Digest;

/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = crate::oci::spec::media::COSIGN_SIMPLE_SIGNING;
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of a cosign image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The largest payload read (cosign's are a few hundred bytes).
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

/// The simple-signing payload (fields in cosign's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What the signature is about.
    pub critical: Critical,
    /// Annotations (`-a key=value`), `null` when none.
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// `critical`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// `identity`.
    pub identity: Identity,
    /// `image`.
    pub image: ImageClaim,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `docker-reference`: the repository the image was signed as.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageClaim {
    /// `docker-manifest-digest`.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl SimpleSigning {
    /// The payload for `digest` signed as `reference`, with `annotations` (none: `null`).
    pub fn new(reference: &str, digest: &Digest, annotations: &BTreeMap<String, String>) -> Self {
        Self {
            critical: Critical {
                identity: Identity { docker_reference: reference.to_string() },
                image: ImageClaim { docker_manifest_digest: digest.to_string() },
                kind: SIGNATURE_TYPE.into(),
            },
            optional: (!annotations.is_empty())
                .then(|| annotations.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect()),
        }
    }

    /// The payload bytes, as cosign writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What to sign.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `docker-reference` (a repository name); `None`: the one the store records.
    pub reference: Option<String>,
    /// `optional` annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What [`sign`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signed image's digest.
    pub subject: Digest,
    /// The repository named in the payload.
    pub reference: String,
    /// The payload's digest (its layer).
    pub payload: Digest,
    /// The new signature manifest's digest.
    pub manifest: Digest,
}

/// Signs the image of `store` with `key` and appends the signature to its signature image.
pub fn sign(store: &dyn Store, key: &PrivateKey, opts: &SignOptions) -> Result<Signed, SignError> {
    let subject = store.subject()?;
    let reference = opts.reference.clone().or(subject.name).ok_or_else(|| SignError::Store {
        store: store.describe(),
        reason: "no repository name recorded for the image: give the reference to sign it as (--reference HOST/REPO)"
            .into(),
    })?;
    let reference = layout::repository_of(&reference).to_string();
    let payload = SimpleSigning::new(&reference, &subject.digest, &opts.annotations).to_bytes();
    let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(&payload));
    let digest = Digest::of(&payload);
    let annotations = [(SIGNATURE_ANNOTATION.to_string(), signature)].into();
    let manifest = layout::append(store, Attachment::Signatures, SIMPLE_SIGNING_MEDIA_TYPE, payload, annotations)?;
    Ok(Signed { subject: subject.digest, reference, payload: digest, manifest })
}

/// What [`verify`] checks beyond the signature and the digest.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The repository the payload must name (`docker-reference`, compared as
    /// go-containerregistry normalizes names); `None`: not checked, only reported.
    pub reference: Option<String>,
    /// Annotations the payload's `optional` must hold with these values (cosign's `-a`).
    pub annotations: BTreeMap<String, String>,
}

/// One signature that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSignature {
    /// Its payload (the claims cosign prints).
    pub payload: SimpleSigning,
    /// The payload layer's digest.
    pub layer: Digest,
}

/// Verifies the signatures of the image of `store` with `key`, cosign 2's (the signature image)
/// first, then cosign 3's (Sigstore bundles attached as referrers, [`super::bundle`]) when none
/// of those verifies: at least one must verify (its signature over the payload with the key, the
/// payload naming this image's digest, the reference when asked, cosign's payload type). Those
/// of the first format that has any are returned, so that an image cosign 2 signed costs the
/// round trips cosign 2 makes and no referrer look-ups; when none verifies, [`SignError::Verify`]
/// says for each signature of either format why.
pub fn verify(store: &dyn Store, key: &PublicKey, opts: &VerifyOptions) -> Result<Vec<VerifiedSignature>, SignError> {
    let digest = store.digest()?;
    let name = format!("{}@{}", store.describe(), digest);
    let fail = |reasons: Vec<String>| SignError::Verify { what: "signature".into(), subject: name.clone(), reasons };
    let mut verified = Vec::new();
    let mut reasons = Vec::new();
    let manifest = store.attached(Attachment::Signatures)?;
    if let Some(manifest) = &manifest {
        let image = layout::SigImage::parse(manifest, &store.describe())?;
        for (i, layer) in image.layers.iter().enumerate() {
            match check(store, key, opts, &digest, layer) {
                Ok(payload) => verified.push(VerifiedSignature { payload, layer: layer.digest.clone() }),
                Err(reason) => reasons.push(format!("signature {} ({}): {reason}", i + 1, layer.digest)),
            }
        }
        if image.layers.is_empty() {
            reasons.push("the signature image holds no signature".into());
        }
    }
    if !verified.is_empty() {
        return Ok(verified);
    }
    // cosign 3's signatures: Sigstore bundles attached as referrers.
    let bundles = super::bundle::verify_referrers(store, key, opts, &digest)?;
    verified.extend(bundles.verified);
    reasons.extend(bundles.reasons);
    if manifest.is_none() && bundles.found == 0 {
        return Err(fail(vec![format!(
            "no signatures are stored (no {}, no signature bundle {})",
            store.attachment_place(Attachment::Signatures),
            store.referrers_place()
        )]));
    }
    if verified.is_empty() {
        return Err(fail(reasons));
    }
    Ok(verified)
}

fn check(
    store: &dyn Store,
    key: &PublicKey,
    opts: &VerifyOptions,
    subject: &Digest,
    layer: &layout::SigDescriptor,
) -> Result<SimpleSigning, String> {
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        return Err(format!("media type {:?} is not {SIMPLE_SIGNING_MEDIA_TYPE}", layer.media_type));
    }
    let b64 = layer.annotations.get(SIGNATURE_ANNOTATION).ok_or("no signature annotation")?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    let payload = store.blob(&layer.digest, MAX_PAYLOAD_BYTES).map_err(|e| e.to_string())?;
    if !key.verify(&payload, &signature) {
        return Err(
            "the signature does not verify with the key (another key, or the payload or signature was altered)".into(),
        );
    }
    let claims: SimpleSigning = serde_json::from_slice(&payload)
        .map_err(|e| format!("the payload is not a cosign simple-signing document: {e}"))?;
    if claims.critical.kind != SIGNATURE_TYPE {
        return Err(format!("payload type {:?} is not {SIGNATURE_TYPE:?}", claims.critical.kind));
    }
    if claims.critical.image.docker_manifest_digest != subject.as_str() {
        return Err(format!(
            "the signature is for {}, not for this image ({subject})",
            claims.critical.image.docker_manifest_digest
        ));
    }
    if let Some(want) = &opts.reference {
        let got = &claims.critical.identity.docker_reference;
        if layout::normalize_repository(got) != layout::normalize_repository(want) {
            return Err(format!("the signature names docker-reference {got:?}, not {want:?}"));
        }
    }
    for (k, want) in &opts.annotations {
        match claims.optional.as_ref().and_then(|o| o.get(k)) {
            Some(serde_json::Value::String(got)) if got == want => {}
            Some(got) => return Err(format!("annotation {k:?} is {got}, not {want:?}")),
            None => return Err(format!("annotation {k:?} is missing (wanted {want:?})")),
        }
    }
    Ok(claims)
}

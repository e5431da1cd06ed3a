//! Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`, cosign 3's format)
//! holding a DSSE envelope over an in-toto statement. Written with a public-key hint as
//! verification material (key-based signing: no certificate, no transparency log entry); read
//! with any verification material (certificates and log entries are kept as they are: checking
//! them needs a trust root, which offline key-based verification does not use).
//!
//! The JSON is protobuf-specs' JSON mapping: camelCase names, empty fields omitted, bytes in
//! base64, the envelope's fields in the order `payload`, `payloadType`, `signatures`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::dsse::{self, Envelope, EnvelopeSignature};
use super::intoto::{self, Statement};
use super::{PrivateKey, PublicKey, SignError};

/// The media type of a v0.3 bundle.
pub const BUNDLE_V03_MEDIA_TYPE: &str = crate::oci::spec::media::SIGSTORE_BUNDLE;

/// A Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// `mediaType`.
    pub media_type: String,
    /// `verificationMaterial`.
    pub verification_material: VerificationMaterial,
    /// `dsseEnvelope` (what armorred writes and verifies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<BundleEnvelope>,
    /// `messageSignature` (a blob signature; read, not verified here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

/// `verificationMaterial`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// `publicKey` (key-based signing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyHint>,
    /// `certificate` (`{"rawBytes": base64 DER}`, keyless signing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<serde_json::Value>,
    /// `x509CertificateChain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<serde_json::Value>,
    /// `tlogEntries`, as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<serde_json::Value>,
    /// `timestampVerificationData`, as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// `publicKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyHint {
    /// `hint`: which key; armorred writes base64(sha256(SubjectPublicKeyInfo DER)).
    pub hint: String,
}

/// `dsseEnvelope`, in protobuf-specs' field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEnvelope {
    /// `payload`, base64.
    pub payload: String,
    /// `payloadType`.
    pub payload_type: String,
    /// `signatures`.
    pub signatures: Vec<BundleSignature>,
}

/// One signature of a bundle's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSignature {
    /// `sig`, base64.
    pub sig: String,
    /// `keyid` (omitted when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
}

impl From<&BundleEnvelope> for Envelope {
    fn from(e: &BundleEnvelope) -> Self {
        Envelope {
            payload_type: e.payload_type.clone(),
            payload: e.payload.clone(),
            signatures: e
                .signatures
                .iter()
                .map(|s| EnvelopeSignature { keyid: s.keyid.clone(), sig: s.sig.clone() })
                .collect(),
        }
    }
}

impl From<&Envelope> for BundleEnvelope {
    fn from(e: &Envelope) -> Self {
        BundleEnvelope {
            payload: e.payload.clone(),
            payload_type: e.payload_type.clone(),
            signatures: e
                .signatures
                .iter()
                .map(|s| BundleSignature { sig: s.sig.clone(), keyid: s.keyid.clone() })
                .collect(),
        }
    }
}

/// The public-key hint armorred writes: base64 of the sha256 of the key's SubjectPublicKeyInfo.
pub fn key_hint(key: &PublicKey) -> String {
    let der = super::key::pem_decode(key.to_pem().as_bytes()).map(|(_, d)| d).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(sha256(&der))
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).to_vec()
}

impl Bundle {
    /// A v0.3 bundle of `statement`, signed with `key` in a DSSE envelope.
    pub fn sign_statement(statement: &Statement, key: &PrivateKey) -> Self {
        let payload = serde_json::to_vec(statement).unwrap_or_default();
        let envelope = Envelope::sign(dsse::INTOTO_PAYLOAD_TYPE, &payload, key);
        Self {
            media_type: BUNDLE_V03_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyHint { hint: key_hint(&key.public_key()) }),
                ..Default::default()
            },
            dsse_envelope: Some((&envelope).into()),
            message_signature: None,
        }
    }

    /// Reads a bundle (`what` names it in errors); only v0.3 is accepted.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Predicate { what: what.to_string(), reason };
        let bundle: Self = serde_json::from_slice(crate::json::strip_bom(bytes))
            .map_err(|e| bad(format!("not a Sigstore bundle: {e}")))?;
        if bundle.media_type != BUNDLE_V03_MEDIA_TYPE {
            return Err(bad(format!("media type {:?} is not {BUNDLE_V03_MEDIA_TYPE}", bundle.media_type)));
        }
        Ok(bundle)
    }

    /// The bundle as JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The in-toto statement of the bundle's envelope, without verifying it.
    pub fn statement(&self) -> Result<Statement, String> {
        let e = self.dsse_envelope.as_ref().ok_or("the bundle holds no DSSE envelope")?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&e.payload)
            .map_err(|e| format!("the envelope payload is not base64: {e}"))?;
        intoto::parse_statement(&payload)
    }

    /// The statement, when the envelope's signature verifies with `key`; else why not.
    pub fn verify(&self, key: &PublicKey) -> Result<Statement, String> {
        let e = self.dsse_envelope.as_ref().ok_or("the bundle holds no DSSE envelope")?;
        let envelope: Envelope = e.into();
        let payload = envelope.verify(key)?;
        if envelope.payload_type != dsse::INTOTO_PAYLOAD_TYPE {
            return Err(format!("payload type {:?} is not {}", envelope.payload_type, dsse::INTOTO_PAYLOAD_TYPE));
        }
        intoto::parse_statement(&payload)
    }
}

/// The predicate type of cosign 3's image signatures (`cosign sign`, new bundle format): an
/// in-toto statement about the image digest with an empty predicate.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The media type of the empty config of an OCI 1.1 artifact manifest (`{}`).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The manifest annotation saying what a bundle holds (`dsse-envelope`).
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The manifest annotation naming the bundle's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The largest bundle read.
pub const MAX_BUNDLE_BYTES: u64 = intoto::MAX_ENVELOPE_BYTES;

/// The OCI 1.1 artifact manifest cosign 3 attaches a bundle with: `artifactType` the bundle
/// media type, the empty config, the bundle as its one layer, `subject` the signed image.
pub fn referrer_manifest(bundle: &[u8], subject: &super::layout::Subject, predicate_type: &str) -> Vec<u8> {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": crate::oci::spec::media::MANIFEST,
        "artifactType": BUNDLE_V03_MEDIA_TYPE,
        "config": { "mediaType": EMPTY_MEDIA_TYPE, "digest": crate::oci::spec::Digest::of(b"{}").as_str(), "size": 2 },
        "layers": [{
            "mediaType": BUNDLE_V03_MEDIA_TYPE,
            "digest": crate::oci::spec::Digest::of(bundle).as_str(),
            "size": bundle.len(),
        }],
        "subject": { "mediaType": subject.media_type, "digest": subject.digest.as_str(), "size": subject.size },
        "annotations": {
            CONTENT_ANNOTATION: "dsse-envelope",
            PREDICATE_TYPE_ANNOTATION: predicate_type,
        },
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// What [`sign_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBundle {
    /// The signed image's digest.
    pub subject: crate::oci::spec::Digest,
    /// The repository named in the statement's subject.
    pub reference: String,
    /// The bundle's digest (the referrer's layer).
    pub bundle: crate::oci::spec::Digest,
    /// The referrer manifest's digest.
    pub manifest: crate::oci::spec::Digest,
}

/// Signs the image of `store` as cosign 3 does: an in-toto statement (subject: the image's
/// repository and digest; predicate type [`SIGN_PREDICATE_TYPE`], empty predicate) in a DSSE
/// envelope in a v0.3 bundle, attached as an OCI 1.1 referrer of the image.
pub fn sign_image(
    store: &dyn super::layout::Store,
    key: &PrivateKey,
    reference: Option<&str>,
) -> Result<SignedBundle, SignError> {
    attest_image(store, key, SIGN_PREDICATE_TYPE, serde_json::json!({}), reference)
}

/// The outcome of checking each bundle referrer of an image: the ones that verified (as the
/// claims cosign prints, `critical.type` = [`SIGN_PREDICATE_TYPE`]) and why each other failed.
#[derive(Debug, Default)]
pub struct BundleChecks {
    /// How many bundle referrers there were.
    pub found: usize,
    /// The verified ones.
    pub verified: Vec<super::simple::VerifiedSignature>,
    /// One reason per failed one.
    pub reasons: Vec<String>,
}

/// Checks every signature bundle attached to the image of `store` with `key`: the manifest's
/// one bundle layer, the envelope's signature, the statement's predicate type, its subject
/// digest (this image), and the reference when asked.
pub fn verify_referrers(
    store: &dyn super::layout::Store,
    key: &PublicKey,
    opts: &super::simple::VerifyOptions,
    subject: &crate::oci::spec::Digest,
) -> Result<BundleChecks, SignError> {
    let mut out = BundleChecks::default();
    for manifest in store.referrers(BUNDLE_V03_MEDIA_TYPE)? {
        let digest = crate::oci::spec::Digest::of(&manifest);
        match check_referrer(store, key, opts, subject, &manifest) {
            Ok(Some((payload, layer))) => {
                out.found += 1;
                out.verified.push(super::simple::VerifiedSignature { payload, layer });
            }
            // A bundle of another predicate type (an attestation) is not a signature.
            Ok(None) => {}
            Err(reason) => {
                out.found += 1;
                out.reasons.push(format!("bundle {} (referrer {digest}): {reason}", out.found));
            }
        }
    }
    Ok(out)
}

type Checked = Option<(super::simple::SimpleSigning, crate::oci::spec::Digest)>;

fn check_referrer(
    store: &dyn super::layout::Store,
    key: &PublicKey,
    opts: &super::simple::VerifyOptions,
    subject: &crate::oci::spec::Digest,
    manifest: &[u8],
) -> Result<Checked, String> {
    let m: serde_json::Value =
        serde_json::from_slice(crate::json::strip_bom(manifest)).map_err(|e| format!("malformed manifest: {e}"))?;
    let annotated = m.get("annotations").and_then(|a| a.get(PREDICATE_TYPE_ANNOTATION)).and_then(|t| t.as_str());
    if annotated.is_some_and(|t| t != SIGN_PREDICATE_TYPE) {
        return Ok(None);
    }
    let layers = m.get("layers").and_then(|l| l.as_array()).map_or(&[][..], Vec::as_slice);
    let [layer] = layers else { return Err(format!("the manifest has {} layers, not one bundle", layers.len())) };
    let media_type = layer.get("mediaType").and_then(|t| t.as_str()).unwrap_or_default();
    if media_type != BUNDLE_V03_MEDIA_TYPE {
        return Err(format!("layer media type {media_type:?} is not {BUNDLE_V03_MEDIA_TYPE}"));
    }
    let layer: crate::oci::spec::Digest = layer
        .get("digest")
        .and_then(|d| d.as_str())
        .and_then(|d| d.parse().ok())
        .ok_or("the bundle layer has no sha256 digest")?;
    let bytes = store.blob(&layer, MAX_BUNDLE_BYTES).map_err(|e| e.to_string())?;
    let bundle = Bundle::parse(&bytes, &layer.to_string()).map_err(|e| e.to_string())?;
    let statement = bundle.verify(key)?;
    if statement.predicate_type != SIGN_PREDICATE_TYPE {
        if annotated.is_none() {
            return Ok(None);
        }
        return Err(format!("predicate type {} is not {SIGN_PREDICATE_TYPE}", statement.predicate_type));
    }
    let Some(named) =
        statement.subject.iter().find(|s| s.digest.get("sha256").map(String::as_str) == Some(subject.hex()))
    else {
        let named: Vec<String> =
            statement.subject.iter().filter_map(|s| s.digest.get("sha256")).map(|h| format!("sha256:{h}")).collect();
        return Err(format!("the signed statement is about {}, not this image ({subject})", named.join(", ")));
    };
    if let Some(want) = &opts.reference {
        if super::layout::normalize_repository(&named.name) != super::layout::normalize_repository(want) {
            return Err(format!("the statement names {:?}, not {want:?}", named.name));
        }
    }
    if !opts.annotations.is_empty() {
        return Err("annotations (-a) are signed in legacy signatures only, not in bundles".into());
    }
    let claims = super::simple::SimpleSigning {
        critical: super::simple::Critical {
            identity: super::simple::Identity { docker_reference: named.name.clone() },
            image: super::simple::ImageClaim { docker_manifest_digest: subject.to_string() },
            kind: SIGN_PREDICATE_TYPE.into(),
        },
        optional: Some(Default::default()),
    };
    Ok(Some((claims, layer)))
}

/// Attests `predicate` (of type URI `predicate_type`) about the image of `store` as cosign 3
/// does: an in-toto Statement v1 (subject: the image's repository and digest) in a DSSE
/// envelope in a v0.3 bundle, attached as an OCI 1.1 referrer of the image annotated with the
/// predicate type.
pub fn attest_image(
    store: &dyn super::layout::Store,
    key: &PrivateKey,
    predicate_type: &str,
    predicate: serde_json::Value,
    reference: Option<&str>,
) -> Result<SignedBundle, SignError> {
    let subject = store.subject()?;
    let name = reference.map(str::to_string).or(subject.name.clone()).unwrap_or_default();
    let name = super::layout::repository_of(&name).to_string();
    let statement = Statement {
        kind: intoto::STATEMENT_V1.into(),
        subject: vec![intoto::StatementSubject {
            name: name.clone(),
            digest: [("sha256".to_string(), subject.digest.hex().to_string())].into(),
        }],
        predicate_type: predicate_type.to_string(),
        predicate,
    };
    let bundle = Bundle::sign_statement(&statement, key).to_bytes();
    let manifest = referrer_manifest(&bundle, &subject, predicate_type);
    let bundle_digest = crate::oci::spec::Digest::of(&bundle);
    let digest = store.put_referrer(BUNDLE_V03_MEDIA_TYPE, &[bundle, b"{}".to_vec()], &manifest)?;
    Ok(SignedBundle { subject: subject.digest, reference: name, bundle: bundle_digest, manifest: digest })
}

/// The outcome of checking each attestation bundle referrer of an image.
#[derive(Debug, Default)]
pub struct AttestationChecks {
    /// How many attestation bundles there were (signature bundles are not counted).
    pub found: usize,
    /// The verified ones.
    pub verified: Vec<intoto::VerifiedAttestation>,
    /// One reason per failed one.
    pub reasons: Vec<String>,
}

/// Checks every attestation bundle attached to the image of `store` with `key` (the bundles of
/// cosign's image signatures, predicate type [`SIGN_PREDICATE_TYPE`], are skipped): the
/// manifest's one bundle layer, the envelope's signature, the statement's subject digest (this
/// image) and, when given, its predicate type.
pub fn verify_attestation_referrers(
    store: &dyn super::layout::Store,
    key: &PublicKey,
    predicate_type: Option<&str>,
    subject: &crate::oci::spec::Digest,
) -> Result<AttestationChecks, SignError> {
    let mut out = AttestationChecks::default();
    for manifest in store.referrers(BUNDLE_V03_MEDIA_TYPE)? {
        let digest = crate::oci::spec::Digest::of(&manifest);
        match check_attestation_referrer(store, key, predicate_type, subject, &manifest) {
            Ok(None) => {}
            Ok(Some(v)) => {
                out.found += 1;
                out.verified.push(v);
            }
            Err(reason) => {
                out.found += 1;
                out.reasons.push(format!("attestation bundle {} (referrer {digest}): {reason}", out.found));
            }
        }
    }
    Ok(out)
}

/// The one bundle layer of a referrer manifest and the predicate type it is annotated with.
fn bundle_layer(manifest: &[u8]) -> Result<(crate::oci::spec::Digest, Option<String>), String> {
    let m: serde_json::Value =
        serde_json::from_slice(crate::json::strip_bom(manifest)).map_err(|e| format!("malformed manifest: {e}"))?;
    let annotated = m
        .get("annotations")
        .and_then(|a| a.get(PREDICATE_TYPE_ANNOTATION))
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let layers = m.get("layers").and_then(|l| l.as_array()).map_or(&[][..], Vec::as_slice);
    let [layer] = layers else { return Err(format!("the manifest has {} layers, not one bundle", layers.len())) };
    let media_type = layer.get("mediaType").and_then(|t| t.as_str()).unwrap_or_default();
    if media_type != BUNDLE_V03_MEDIA_TYPE {
        return Err(format!("layer media type {media_type:?} is not {BUNDLE_V03_MEDIA_TYPE}"));
    }
    let digest = layer
        .get("digest")
        .and_then(|d| d.as_str())
        .and_then(|d| d.parse().ok())
        .ok_or("the bundle layer has no sha256 digest")?;
    Ok((digest, annotated))
}

fn check_attestation_referrer(
    store: &dyn super::layout::Store,
    key: &PublicKey,
    predicate_type: Option<&str>,
    subject: &crate::oci::spec::Digest,
    manifest: &[u8],
) -> Result<Option<intoto::VerifiedAttestation>, String> {
    let (layer, annotated) = bundle_layer(manifest)?;
    if annotated.as_deref() == Some(SIGN_PREDICATE_TYPE) {
        return Ok(None);
    }
    let bytes = store.blob(&layer, MAX_BUNDLE_BYTES).map_err(|e| e.to_string())?;
    let bundle = Bundle::parse(&bytes, &layer.to_string()).map_err(|e| e.to_string())?;
    let e = bundle.dsse_envelope.as_ref().ok_or("the bundle holds no DSSE envelope")?;
    let (envelope, statement) = intoto::check_envelope(e.into(), key, subject, predicate_type)?;
    if statement.predicate_type == SIGN_PREDICATE_TYPE {
        return Ok(None);
    }
    if annotated.as_ref().is_some_and(|t| *t != statement.predicate_type) {
        return Err(format!(
            "the manifest is annotated predicate type {}, the signed statement has {}",
            annotated.unwrap_or_default(),
            statement.predicate_type
        ));
    }
    Ok(Some(intoto::VerifiedAttestation { envelope, statement, layer }))
}

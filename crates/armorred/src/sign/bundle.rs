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
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

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

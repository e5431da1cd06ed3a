//! DSSE envelopes (Dead Simple Signing Envelope v1), as cosign writes attestations:
//! `{"payloadType":"application/vnd.in-toto+json","payload":"<base64>","signatures":[{"keyid":"","sig":"<base64>"}]}`,
//! each signature over the pre-authentication encoding
//! `DSSEv1 <len(type)> <type> <len(payload)> <payload>` (ECDSA P-256, SHA-256, ASN.1 DER).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{PrivateKey, PublicKey};

/// The payload type of an in-toto statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The media type of a layer holding a DSSE envelope (cosign's attestation layers).
pub const DSSE_MEDIA_TYPE: &str = crate::oci::spec::media::DSSE_ENVELOPE;

/// A DSSE envelope (fields in cosign's order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `payloadType`.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// `payload`, base64.
    pub payload: String,
    /// `signatures`.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// `keyid` (cosign writes `""`).
    #[serde(default)]
    pub keyid: String,
    /// `sig`, base64.
    pub sig: String,
}

/// The pre-authentication encoding DSSE signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    STANDARD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

impl Envelope {
    /// `payload` of `payload_type`, signed with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &PrivateKey) -> Self {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        Self {
            payload_type: payload_type.to_string(),
            payload: b64(payload),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig: b64(&key.sign(&pae(payload_type, payload))),
            }],
        }
    }

    /// Reads an envelope.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(crate::json::strip_bom(bytes)).map_err(|e| format!("not a DSSE envelope: {e}"))
    }

    /// The envelope as cosign writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The payload, when one of the signatures verifies with `key`; else why not.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, String> {
        let payload = b64_decode(&self.payload).ok_or("the envelope payload is not base64")?;
        if self.signatures.is_empty() {
            return Err("the envelope has no signature".into());
        }
        let message = pae(&self.payload_type, &payload);
        let verifies = self.signatures.iter().any(|s| b64_decode(&s.sig).is_some_and(|sig| key.verify(&message, &sig)));
        if !verifies {
            return Err(
                "the envelope signature does not verify with the key (another key, or the statement or signature was altered)"
                    .into(),
            );
        }
        Ok(payload)
    }
}

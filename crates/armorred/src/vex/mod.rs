//! The image's own VEX: the decision engine ([`decide`]), the facts it reads ([`facts`]) and the
//! OpenVEX v0.2.0 document of its decisions ([`document`]). The pipeline writes one per scanned
//! tier (`out/<image>/<tier>/vex.openvex.json`) and applies it to that tier's scan; the monitor
//! writes one per published image after each rescan.

pub mod decide;
pub mod document;
pub mod facts;

pub use decide::{decide, Decision, ImageFacts, Justification, Product, Status, Subject};

/// Errors of reading VEX facts.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// A facts document is not what [`ImageFacts`] reads.
    #[error("{path}: not armorred VEX facts ({}): {reason}", decide::FACTS_SCHEMA)]
    Facts {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Parses [`ImageFacts`] (JSON), naming `origin` in errors.
pub fn parse_facts(bytes: &[u8], origin: &str) -> Result<ImageFacts, VexError> {
    let bad = |reason: String| VexError::Facts { path: origin.to_owned(), reason };
    let value = crate::json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let facts: ImageFacts = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    if facts.schema != decide::FACTS_SCHEMA {
        return Err(bad(format!("schema {:?}", facts.schema)));
    }
    Ok(facts)
}

//! Reports over images: the upstream-versus-hardened comparison (`armorred compare`) and its
//! renderings (JSON, Markdown, self-contained HTML, in-toto predicate).

pub mod compare;
mod image;
pub mod render;
mod side;

pub use compare::{compare, Comparison, Component, Finding, FixState, Severity, Side, Size};
pub use image::{gzip_size, image_checksec, image_facts, transfer_size, ImageFacts, GZIP_CHUNK};
pub use side::side_from_source;

/// Errors of the report module.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A side of the comparison could not be read or scanned.
    #[error("cannot read {reference}")]
    Side {
        /// The source reference as given (`sbom:FILE`, `oci-dir:DIR`, ...).
        reference: String,
        /// The cause.
        #[source]
        source: Box<crate::vuln::VulnError>,
    },
    /// An image side could not be opened, catalogued or read.
    #[error("cannot read the image {reference}")]
    Image {
        /// The source reference as given.
        reference: String,
        /// The cause.
        #[source]
        source: Box<crate::Error>,
    },
    /// Serializing a report failed.
    #[error("cannot serialize the {what} report")]
    Serialize {
        /// Which report.
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

//! Reports over images: the upstream-versus-hardened comparison (`armorred compare`), its
//! inputs (image facts, scan results, source build records) and its renderings (JSON, Markdown,
//! self-contained HTML, in-toto predicate).

pub mod behind;
mod build_record;
pub mod compare;
mod image;
pub mod render;
mod side;

pub use build_record::{parse_build_record, read_build_record, SourceBuild};
pub use compare::{
    common_db_digest, compare, Comparison, CompiledOut, Component, Finding, FixState, Severity, Side, Size,
};
pub use image::{
    gzip_size, image_checksec, image_facts, image_facts_known, image_facts_probing, transfer_size, BinaryCheck,
    BinaryProbe, ImageFacts, Known, GZIP_CHUNK,
};
pub use side::{read_side, side_from_source, SideOptions};

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
    /// A scan result was given for a side that is not an SBOM.
    #[error(
        "a scan result goes with an sbom:FILE side, not {reference} (an image is catalogued and scanned with the DB)"
    )]
    ScanNeedsSbom {
        /// The side as given.
        reference: String,
    },
    /// A side needs a scan and no vulnerability DB was given.
    #[error("{reference} needs a vulnerability DB to be scanned (or, for an sbom: side, a scan result)")]
    NoDb {
        /// The side as given.
        reference: String,
    },
    /// A source build record is unreadable or not one.
    #[error("{path}: {reason}")]
    BuildRecord {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
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

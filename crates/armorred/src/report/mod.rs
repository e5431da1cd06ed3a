//! Reports over images: the upstream-versus-hardened comparison (`armorred compare`) and its
//! renderings (JSON, Markdown, self-contained HTML, in-toto predicate).

pub mod compare;
pub mod render;

pub use compare::{compare, Comparison, Component, Finding, FixState, Severity, Side, Size};

/// Errors of the report module.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
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

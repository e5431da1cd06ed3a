//! ARMORRED: hardened container images built from pinned inputs, with proof attached.
//!
//! This crate holds all domain logic. It never prints, never parses command lines and never
//! exits the process: the `armorred` binary (crate `armorred-cli`) does that. Each domain module
//! has its own typed error; [`Error`] gathers them with their sources kept.
//!
//! See `ARCHITECTURE.md` at the repository root for the code map and the invariants.

pub mod build;
pub mod cache;
pub mod clock;
pub mod display;
pub mod distro;
pub mod elf;
pub mod error;
pub mod fstree;
pub mod fsutil;
pub mod http;
pub mod json;
#[cfg(test)]
mod module_graph;
pub mod monitor;
pub mod oci;
pub mod par;
pub mod pipeline;
pub mod policy;
pub mod provenance;
pub mod registry;
pub mod report;
pub mod sbom;
pub mod sign;
pub mod site;
pub mod source;
pub mod spec;
pub mod tier;
pub mod version;
pub mod vex;
pub mod vuln;

pub use error::{Error, Result};

//! The build record: what went in (sources and their hashes, signature, build root, sandbox,
//! environment, flags, configure options), what came out (files and hashes) and the proof
//! (every check and the checksec report of every ELF file). Later stages turn it into SBOM
//! components and SLSA provenance.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::flags::Flags;
use super::note::PackageNote;
use super::recipe::Tier;
use super::root::RootDescription;
use super::sandbox::SandboxDescription;
use super::verify::Check;

/// The record's schema name.
pub const SCHEMA: &str = "armorred.dev/build-record/v1";

/// Everything about one source build.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildRecord {
    /// [`SCHEMA`].
    pub schema: String,
    /// The package note every ELF file carries (name, version, CPE, purl).
    pub package: PackageNote,
    /// The tier.
    pub tier: Tier,
    /// The sources.
    pub sources: Vec<SourceRecord>,
    /// The build root.
    pub build_root: RootDescription,
    /// The sandbox.
    pub sandbox: SandboxDescription,
    /// The full environment of every step.
    pub environment: BTreeMap<String, String>,
    /// Compiler and flags.
    pub flags: Flags,
    /// Options passed to configure.
    pub configure_options: Vec<String>,
    /// The steps run, in order.
    pub steps: Vec<StepRecord>,
    /// Every regular file installed, by path relative to the installed tree.
    pub outputs: Vec<OutputRecord>,
    /// Every property checked; all `ok` for a record that was written.
    pub checks: Vec<Check>,
    /// checksec.sh-style JSON (with `--extended` keys) of every ELF file.
    pub checksec: BTreeMap<PathBuf, serde_json::Value>,
}

/// One source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    /// File name.
    pub file: String,
    /// sha256, verified.
    pub sha256: String,
    /// Where it came from: `debian:<suite>/<component> <pool path>` or `path:<relative path>`.
    pub origin: String,
    /// The verified upstream signature, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureRecord>,
}

/// A verified signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureRecord {
    /// Signature file.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
    /// Signer fingerprint.
    pub signer: String,
    /// Keyring path relative to the recipe.
    pub keyring: PathBuf,
    /// Keyring sha256.
    pub keyring_sha256: String,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// Name.
    pub name: String,
    /// The script.
    pub run: String,
    /// Wall time in milliseconds (not reproducible).
    pub duration_ms: u64,
}

/// One installed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputRecord {
    /// Path relative to the installed tree.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// sha256.
    pub sha256: String,
}

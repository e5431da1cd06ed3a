//! The build record: what went in (sources and their hashes, signature, build root, sandbox,
//! environment, flags, configure options), what came out (files and hashes) and the proof
//! (every check and the checksec report of every ELF file). Later stages turn it into SBOM
//! components and SLSA provenance.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::flags::Flags;
use super::note::PackageNote;
use super::recipe::Feature;
use super::root::RootDescription;
use super::sandbox::SandboxDescription;
use super::verify::Check;
use crate::tier::Tier;

/// The record's schema name.
pub const SCHEMA: &str = "armorred.dev/build-record/v1";

/// Everything about one source build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The recipe's features, each with whether this tier's configure options build it.
    pub features: Vec<FeatureRecord>,
}

/// A recipe feature ([`Feature`]) as built, or not, by one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRecord {
    /// The feature's name, as a string in the binary (`ngx_mail_smtp_module`).
    pub name: String,
    /// The option that builds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_by: Option<String>,
    /// The option that leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_by: Option<String>,
    /// Vulnerability IDs whose code is only in this feature.
    pub vulnerabilities: Vec<String>,
    /// Where that is stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Whether the tier's configure options build it ([`Feature::built`]).
    pub built: bool,
}

/// The recipe's features as built by `configure` options.
pub fn features(features: &[Feature], configure: &[String]) -> Vec<FeatureRecord> {
    features
        .iter()
        .map(|f| FeatureRecord {
            name: f.name.clone(),
            enabled_by: f.enabled_by.clone(),
            disabled_by: f.disabled_by.clone(),
            vulnerabilities: f.vulnerabilities.clone(),
            reference: f.reference.clone(),
            built: f.built(configure),
        })
        .collect()
}

/// One source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Name.
    pub name: String,
    /// The script.
    pub run: String,
    /// Wall time in milliseconds (not reproducible).
    pub duration_ms: u64,
}

/// One installed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// Path relative to the installed tree.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// sha256.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::compile::root::RootPackage;

    fn sample() -> BuildRecord {
        BuildRecord {
            schema: SCHEMA.into(),
            package: PackageNote {
                kind: "source".into(),
                name: "hello".into(),
                version: "1.0".into(),
                architecture: "amd64".into(),
                cpe: "cpe:2.3:a:example:hello:1.0:*:*:*:*:*:*:*".into(),
                purl: "pkg:generic/hello@1.0".into(),
                license: Some("MIT".into()),
                debian_source: Some("hello".into()),
                debian_source_version: Some("1.0-1".into()),
            },
            tier: Tier::Locked,
            sources: vec![SourceRecord {
                file: "hello-1.0.tar.gz".into(),
                sha256: "a".repeat(64),
                origin: "debian:trixie/main pool/main/h/hello/hello-1.0.tar.gz".into(),
                signature: Some(SignatureRecord {
                    file: "hello-1.0.tar.gz.asc".into(),
                    sha256: "b".repeat(64),
                    signer: "c".repeat(40),
                    keyring: "keys/hello.asc".into(),
                    keyring_sha256: "d".repeat(64),
                }),
            }],
            build_root: RootDescription {
                kind: "host".into(),
                path: "/".into(),
                packages: vec![RootPackage {
                    name: "clang-14".into(),
                    version: Some("1:14.0.6-12".into()),
                    architecture: Some("amd64".into()),
                    sha256: None,
                }],
            },
            sandbox: SandboxDescription {
                kind: "namespaces".into(),
                version: "armorred 0.1.0 (hakoniwa 1.8.0)".into(),
                namespaces: vec!["user".into(), "network".into()],
                network: false,
            },
            environment: [("LC_ALL".to_string(), "C".to_string())].into(),
            flags: Flags { cc: "clang-14".into(), cflags: vec!["-O2".into()], ldflags: vec!["-pie".into()] },
            configure_options: vec!["--with-x".into()],
            steps: vec![StepRecord { name: "make".into(), run: "make".into(), duration_ms: 1234 }],
            outputs: vec![OutputRecord { path: "usr/bin/hello".into(), size: 42, sha256: "e".repeat(64) }],
            checks: vec![Check { path: "usr/bin/hello".into(), property: "relro", ok: true, detail: "full".into() }],
            checksec: [(PathBuf::from("usr/bin/hello"), serde_json::json!({"relro": "full"}))].into(),
            features: features(
                &[
                    Feature {
                        name: "hello_mail_module".into(),
                        enabled_by: Some("--with-mail".into()),
                        disabled_by: None,
                        vulnerabilities: vec!["CVE-2025-0001".into()],
                        reference: Some("https://example.org/advisories".into()),
                    },
                    Feature {
                        name: "hello_x_module".into(),
                        enabled_by: None,
                        disabled_by: Some("--without-x".into()),
                        vulnerabilities: vec!["CVE-2025-0002".into()],
                        reference: None,
                    },
                ],
                &["--with-x".into()],
            ),
        }
    }

    /// What the build writes, the comparison reads (`armorred compare --hardened-build-record`).
    #[test]
    fn round_trip_through_the_comparison_reader() {
        let written = sample();
        let json = serde_json::to_vec_pretty(&written).expect("json");
        let read = crate::report::parse_build_record(&json, std::path::Path::new("build-record.json")).expect("read");
        assert_eq!(read.features, written.features);
        assert_eq!((read.component.as_str(), read.version.as_str(), read.tier.as_str()), ("hello", "1.0", "locked"));
        assert_eq!(read.configure_options, written.configure_options);
        assert_eq!(read, crate::report::SourceBuild::from(&written), "the in-process conversion agrees");
    }

    /// The record's JSON shape is pinned by a golden file (`UPDATE_GOLDEN=1` rewrites it).
    #[test]
    fn golden() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/source_build/build-record.golden.json");
        let got = serde_json::to_string_pretty(&sample()).expect("json") + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &got).expect("write golden");
        }
        let want = std::fs::read_to_string(&golden).expect("golden file");
        assert_eq!(got, want);
    }
}

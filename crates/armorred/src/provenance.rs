//! SLSA provenance v1 (`https://slsa.dev/provenance/v1`) of an image build, made from its build
//! record ([`crate::build::record::ImageRecord`]): the predicate that `armorred attest --type
//! slsaprovenance1` signs and that `cosign verify-attestation --type slsaprovenance1` reads.
//!
//! Written by hand: the in-toto and SLSA projects publish `.proto`/`.cue` schemas and Go
//! bindings, and no maintained Rust crate models provenance v1. The build type is documented in
//! `docs/slsa/build-type-v1.md`; what each field holds is stated there and checked in the tests
//! against the official `.proto` (through Python's protobuf, strict about unknown fields).
//!
//! Honest about the level: a build on a workstation is SLSA Build L1 (provenance exists), also
//! when signed. L2 and L3 need a hosted builder whose signing key the build steps cannot reach,
//! on ephemeral, isolated machines; the docs say what that takes, and nothing here claims more.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::build::record::ImageRecord;

/// The predicate type.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The build type: what `externalParameters`, `internalParameters` and `resolvedDependencies`
/// mean for an ARMORRED image build. Documented in the repository.
pub const BUILD_TYPE: &str = "https://github.com/armorred/armorred/blob/main/docs/slsa/build-type-v1.md";

/// The default builder id: ARMORRED run by hand on a workstation (Build L1). A hosted builder
/// passes its own ([`Options::builder_id`]).
pub const LOCAL_BUILDER_ID: &str = "https://github.com/armorred/armorred/blob/main/docs/slsa/builder-local-v1.md";

/// A SLSA provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built, from what.
    pub build_definition: BuildDefinition,
    /// Who built it, when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// [`BUILD_TYPE`].
    pub build_type: String,
    /// The inputs the user chose: the definition and the tier.
    pub external_parameters: serde_json::Value,
    /// What the builder set: SOURCE_DATE_EPOCH, the checksec policy.
    pub internal_parameters: serde_json::Value,
    /// Every pinned input with its digest: definition, lock, copied files, signed suites,
    /// Debian packages, upstream sources and their signatures, the build root's packages.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The builder.
    pub builder: BuilderId,
    /// Times and invocation.
    pub metadata: Metadata,
    /// The build record and the source build's outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderId {
    /// The builder's id (a URI).
    pub id: String,
    /// Versions of the builder's components.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// An id of this build: `<image>/<tier>@<manifest digest>`.
    pub invocation_id: String,
    /// RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// An in-toto ResourceDescriptor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A URI (a purl for packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm -> lowercase hex.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// A name (a file name, a path relative to the definition or the mirror base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free-form facts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, serde_json::Value>,
}

/// A statement subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The image's name.
    pub name: String,
    /// `sha256` -> hex.
    pub digest: BTreeMap<String, String>,
}

/// What the record does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// The definition as the user named it (`images/nginx`).
    pub definition: String,
    /// The builder id; [`LOCAL_BUILDER_ID`] when `None`.
    pub builder_id: Option<String>,
}

/// A bad record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    /// A digest is not `sha256:<64 hex>`.
    #[error("build record: {what}: digest {digest:?} is not sha256:<64 hex digits>")]
    BadDigest {
        /// Which input.
        what: String,
        /// The digest as found.
        digest: String,
    },
}

fn sha256(what: &str, digest: &str) -> Result<BTreeMap<String, String>, ProvenanceError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ProvenanceError::BadDigest { what: what.into(), digest: digest.into() });
    }
    Ok(BTreeMap::from([("sha256".to_string(), hex.to_string())]))
}

fn annotations<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> BTreeMap<String, serde_json::Value> {
    pairs.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.to_string(), v)).collect()
}

/// The provenance predicate of a build.
pub fn predicate(record: &ImageRecord, options: &Options) -> Result<Provenance, ProvenanceError> {
    let inputs = &record.inputs;
    let mut deps = Vec::new();
    for (what, f) in [("definition", &inputs.definition), ("lock", &inputs.lock)] {
        deps.push(ResourceDescriptor {
            name: Some(f.path.clone()),
            digest: sha256(what, &f.digest)?,
            annotations: annotations([("role", what.into())]),
            ..Default::default()
        });
    }
    for f in &inputs.files {
        deps.push(ResourceDescriptor {
            name: Some(f.path.clone()),
            digest: sha256(&format!("file {}", f.path), &f.digest)?,
            annotations: annotations([("role", "file".into()), ("destination", f.destination.clone().into())]),
            ..Default::default()
        });
    }
    for s in &inputs.suites {
        deps.push(ResourceDescriptor {
            name: Some(format!("dists/{}/InRelease", s.name)),
            digest: sha256(&format!("suite {}", s.name), &s.inrelease_digest)?,
            annotations: annotations([
                ("role", "suite".into()),
                ("date", s.date.clone().into()),
                ("signedBy", s.signed_by.clone().into()),
            ]),
            ..Default::default()
        });
    }
    for p in &inputs.packages {
        deps.push(ResourceDescriptor {
            uri: deb_purl(&p.name, &p.version, &p.architecture),
            name: Some(p.filename.clone()),
            digest: sha256(&format!("package {}", p.name), &p.digest)?,
            annotations: annotations([("role", "package".into()), ("suite", p.suite.clone().into())]),
        });
    }
    let mut byproducts = Vec::new();
    if let Some(sb) = &record.source_build {
        for s in &sb.sources {
            deps.push(ResourceDescriptor {
                name: Some(s.file.clone()),
                digest: sha256(&format!("source {}", s.file), &s.sha256)?,
                annotations: annotations([
                    ("role", "source".into()),
                    ("origin", s.origin.clone().into()),
                    ("signer", s.signature.as_ref().map(|g| g.signer.clone()).into()),
                ]),
                ..Default::default()
            });
            if let Some(sig) = &s.signature {
                deps.push(ResourceDescriptor {
                    name: Some(sig.file.clone()),
                    digest: sha256(&format!("signature {}", sig.file), &sig.sha256)?,
                    annotations: annotations([("role", "source-signature".into())]),
                    ..Default::default()
                });
                deps.push(ResourceDescriptor {
                    name: Some(sig.keyring.display().to_string()),
                    digest: sha256(&format!("keyring {}", sig.keyring.display()), &sig.keyring_sha256)?,
                    annotations: annotations([("role", "keyring".into())]),
                    ..Default::default()
                });
            }
        }
        for p in &sb.build_root.packages {
            let (Some(version), Some(digest)) = (&p.version, &p.sha256) else { continue };
            let arch = p.architecture.as_deref().unwrap_or_default();
            deps.push(ResourceDescriptor {
                uri: deb_purl(&p.name, version, arch),
                digest: sha256(&format!("build root package {}", p.name), digest)?,
                annotations: annotations([("role", "build-root".into())]),
                ..Default::default()
            });
        }
        for o in &sb.outputs {
            byproducts.push(ResourceDescriptor {
                name: Some(o.path.display().to_string()),
                digest: sha256(&format!("output {}", o.path.display()), &o.sha256)?,
                ..Default::default()
            });
        }
    }
    let gate = &record.checksec;
    Ok(Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.into(),
            external_parameters: serde_json::json!({
                "definition": options.definition,
                "image": record.image,
                "tier": record.tier,
            }),
            internal_parameters: serde_json::json!({
                "sourceDateEpoch": record.source_date_epoch,
                "outputKind": record.output.kind,
                "checksecPolicy": gate.get("policy"),
                "checksecEnforced": gate.get("enforced"),
                "checksecBuiltPolicy": gate.get("built_policy"),
            }),
            resolved_dependencies: deps,
        },
        run_details: RunDetails {
            builder: BuilderId {
                id: options.builder_id.clone().unwrap_or_else(|| LOCAL_BUILDER_ID.into()),
                version: BTreeMap::from([(record.builder.name.clone(), record.builder.version.clone())]),
            },
            metadata: Metadata {
                invocation_id: format!("{}/{}@{}", record.image, record.tier, record.output.manifest_digest),
                started_on: record.started_on.clone(),
                finished_on: record.finished_on.clone(),
            },
            byproducts,
        },
    })
}

/// The statement's subject: the image by its manifest digest.
pub fn subject(record: &ImageRecord) -> Result<Subject, ProvenanceError> {
    Ok(Subject { name: record.image.clone(), digest: sha256("output manifest", &record.output.manifest_digest)? })
}

/// A whole in-toto statement around [`predicate`] (what `attest` signs).
pub fn statement(record: &ImageRecord, options: &Options) -> Result<serde_json::Value, ProvenanceError> {
    Ok(serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [subject(record)?],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate(record, options)?,
    }))
}

fn deb_purl(name: &str, version: &str, arch: &str) -> Option<String> {
    crate::sbom::catalog::make_purl("deb", Some("debian"), name, version, &[("arch", arch)])
}

#[cfg(test)]
mod tests;

//! The predicates the pipeline attests for every image it builds, each written as
//! `out/<image>/<tier>/attestations/<name>.json` (the predicate alone, as `cosign attest
//! --predicate` and `armorred attest --predicate` take it) and named in `summary.json`'s `paths`
//! as `attestation_<name>`:
//!
//! | name | predicate type | from |
//! |---|---|---|
//! | `slsaprovenance1` | `https://slsa.dev/provenance/v1` | the build record ([`crate::provenance`]) |
//! | `cyclonedx` | `https://cyclonedx.org/bom` | `sbom.cdx.json` (the file itself, not copied) |
//! | `checksec` | [`crate::policy::CHECKSEC_PREDICATE_TYPE`] | the gate's verdict and the checksec report |
//! | `vuln` | cosign's `https://cosign.sigstore.dev/attestation/vuln/v1` | the scan (grype JSON in `scanner.result`) |
//! | `comparison` | `https://armorred.dev/comparison/v1` | the comparison with upstream |
//! | `vexfacts` | [`crate::vex::decide::FACTS_PREDICATE_TYPE`] | `vex.facts.json` (the facts the image's VEX is decided from; the monitor reads them from a registry) |

use std::path::Path;

use serde_json::{json, Value};

use crate::build::BuildReport;

/// One predicate to attest.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// cosign's short type name (`slsaprovenance1`, `cyclonedx`, ...) or ours.
    pub name: &'static str,
    /// The predicate type URI.
    pub predicate_type: &'static str,
    /// The file holding it, relative to the tier's output directory.
    pub path: String,
    /// Its bytes, when the pipeline writes the file for attesting (`None`: an output that is
    /// already a predicate, such as the SBOM).
    pub bytes: Option<Vec<u8>>,
}

/// What the predicates are made from.
pub(crate) struct Inputs<'a> {
    /// The definition as named (`images/nginx`).
    pub(crate) definition: &'a Path,
    pub(crate) build: &'a BuildReport,
    pub(crate) checksec_json: &'a Value,
    /// The grype JSON of the scan, with its start and finish times.
    pub(crate) scan: Option<(&'a Value, &'a str, &'a str)>,
    /// The comparison (compare.json: the document itself, which is the predicate).
    pub(crate) comparison: Option<&'a Value>,
    /// The VEX facts file, relative to the tier's output directory, when written.
    pub(crate) vex_facts: Option<&'a str>,
}

fn pretty(v: &impl serde::Serialize) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// Every predicate of one tier.
pub(crate) fn predicates(i: &Inputs<'_>) -> Result<Vec<Predicate>, crate::Error> {
    let record_bytes = crate::fsutil::read_regular_bounded(&i.build.record, 64 << 20)?;
    let record = crate::build::record::parse(&record_bytes, &i.build.record)?;
    let options = crate::provenance::Options { definition: i.definition.display().to_string(), builder_id: None };
    let provenance = crate::provenance::predicate(&record, &options)?;
    let file = |name: &str| format!("attestations/{name}.json");
    let mut out = vec![
        Predicate {
            name: "slsaprovenance1",
            predicate_type: crate::provenance::PREDICATE_TYPE,
            path: file("slsaprovenance1"),
            bytes: Some(pretty(&provenance)),
        },
        Predicate {
            name: "cyclonedx",
            predicate_type: "https://cyclonedx.org/bom",
            path: "sbom.cdx.json".into(),
            bytes: None,
        },
    ];
    let mut verdict = serde_json::to_value(&i.build.gate).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut verdict {
        m.insert("passed".into(), i.build.gate.passed().into());
        m.insert("report".into(), i.checksec_json.clone());
    }
    out.push(Predicate {
        name: "checksec",
        predicate_type: crate::policy::CHECKSEC_PREDICATE_TYPE,
        path: file("checksec"),
        bytes: Some(pretty(&verdict)),
    });
    if let Some((scan, started, finished)) = i.scan {
        let version = env!("CARGO_PKG_VERSION");
        let db = scan.pointer("/descriptor/db").cloned().unwrap_or(Value::Null);
        let predicate = json!({
            "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
            "scanner": {
                "uri": "pkg:github/armorred/armorred",
                "version": version,
                "db": {"uri": "", "version": db.get("sha256").and_then(Value::as_str).unwrap_or_default()},
                "result": scan,
            },
            "metadata": {"scanStartedOn": started, "scanFinishedOn": finished},
        });
        out.push(Predicate {
            name: "vuln",
            predicate_type: crate::policy::VULN_PREDICATE_TYPE,
            path: file("vuln"),
            bytes: Some(pretty(&predicate)),
        });
    }
    if let Some(comparison) = i.comparison {
        out.push(Predicate {
            name: "comparison",
            predicate_type: crate::report::compare::SCHEMA,
            path: file("comparison"),
            bytes: Some(pretty(comparison)),
        });
    }
    if let Some(path) = i.vex_facts {
        out.push(Predicate {
            name: "vexfacts",
            predicate_type: crate::vex::decide::FACTS_PREDICATE_TYPE,
            path: path.to_string(),
            bytes: None,
        });
    }
    Ok(out)
}

/// Signs the image in `<dir>/image` (cosign 2's simple signing; the payload names `reference`,
/// else the layout's name) and attests every predicate about it, in its layout as `cosign save`
/// stores them.
pub(crate) fn sign(
    dir: &Path,
    predicates: &[Predicate],
    signing: &super::Signing,
    reference: Option<String>,
) -> Result<super::summary::SigningSummary, crate::Error> {
    let store = crate::sign::layout::OciDir::new(dir.join("image"));
    let options = crate::sign::simple::SignOptions { reference, ..Default::default() };
    let signed = crate::sign::simple::sign(&store, &signing.key, &options)?;
    let mut attestations = Vec::new();
    for p in predicates {
        let bytes = match &p.bytes {
            Some(b) => b.clone(),
            None => crate::fsutil::read_regular_bounded(&dir.join(&p.path), 256 << 20)?,
        };
        let predicate: Value = crate::json::from_slice(&bytes).map_err(|e| crate::sign::SignError::Store {
            store: dir.join(&p.path).display().to_string(),
            reason: format!("not JSON: {e}"),
        })?;
        crate::sign::intoto::attest(&store, &signing.key, p.predicate_type, predicate, None)?;
        attestations.push(p.predicate_type.to_string());
    }
    Ok(super::summary::SigningSummary {
        public_key: signing.public_key.display().to_string(),
        signed_digest: signed.subject.to_string(),
        reference: signed.reference,
        attestations,
    })
}

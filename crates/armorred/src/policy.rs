//! Verification policy (`armorred verify --policy POLICY REF`): one TOML or YAML file that names
//! the accepted public keys and the attestations an image must carry, with conditions on each.
//! Its JSON schema is `docs/schema/policy.schema.json`; `docs/verification.md` explains it.
//!
//! The policy is judged over what verification proved: the statements whose DSSE signature
//! checked out against one of the accepted keys and whose subject is the image's digest. This
//! module only reads the policy and judges those statements; it never fetches or verifies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tier::Tier;
use crate::vuln::model::{FixState, Severity};

/// The predicate type of the checksec attestation the pipeline makes: the gate's verdict and
/// the checksec report of every ELF file of the image.
pub const CHECKSEC_PREDICATE_TYPE: &str = "https://armorred.dev/checksec/v1";

/// cosign's vulnerability-scan predicate type (`--type vuln`).
pub const VULN_PREDICATE_TYPE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

/// Largest policy file read.
const MAX_POLICY: u64 = 1 << 20;

/// A verification policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Format version: 1.
    pub version: u32,
    /// Accepted signing keys: a signature or attestation by any one of them counts.
    pub keys: Vec<KeyRef>,
    /// Predicate types (or cosign's short names) that must be present, beyond the rules below.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    /// Conditions on the SLSA provenance (required when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceRule>,
    /// Conditions on the checksec attestation (required when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksec: Option<ChecksecRule>,
    /// Conditions on the latest vulnerability scan attestation (required when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<VulnRule>,
}

/// An accepted key: a PEM file (relative to the policy file) or an https URL; exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// A file, relative to the policy's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// An https URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Provenance conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceRule {
    /// Accepted `runDetails.builder.id` values (any, when empty).
    #[serde(default)]
    pub builder_ids: Vec<String>,
    /// Accepted `buildDefinition.buildType` values (any, when empty).
    #[serde(default)]
    pub build_types: Vec<String>,
    /// Accepted `externalParameters.definition` values (the source of the image; any, when empty).
    #[serde(default)]
    pub definitions: Vec<String>,
    /// Accepted `externalParameters.tier` values (any, when empty).
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

/// checksec conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksecRule {
    /// The gate must have passed with its policy enforced.
    #[serde(default = "yes")]
    pub require_passed: bool,
}

fn yes() -> bool {
    true
}

/// Vulnerability conditions, over the newest scan attestation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnRule {
    /// Most findings with a fix available allowed per severity (`critical = 0, high = 0`);
    /// severities not named are not limited.
    #[serde(default)]
    pub max_fixable: BTreeMap<SeverityName, usize>,
    /// The scan must have finished at most this many hours before now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_hours: Option<u64>,
}

/// A severity as the policy spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityName {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

impl SeverityName {
    fn severity(self) -> Severity {
        match self {
            Self::Critical => Severity::Critical,
            Self::High => Severity::High,
            Self::Medium => Severity::Medium,
            Self::Low => Severity::Low,
        }
    }
}

/// A policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Unreadable.
    #[error("policy {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a policy.
    #[error("policy {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads a policy file: YAML for `.yaml`/`.yml`, else TOML.
pub fn read(path: &Path) -> Result<Policy, PolicyError> {
    let bytes = crate::fsutil::read_regular_bounded(path, MAX_POLICY)
        .map_err(|e| PolicyError::Read { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    parse(&bytes, yaml, path)
}

/// Parses a policy; `origin` names it in errors.
pub fn parse(bytes: &[u8], yaml: bool, origin: &Path) -> Result<Policy, PolicyError> {
    let bad = |reason: String| PolicyError::Invalid { path: origin.to_path_buf(), reason };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let policy: Policy = if yaml {
        serde_yaml_ng::from_str(text).map_err(|e| bad(e.to_string()))?
    } else {
        toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?
    };
    if policy.version != 1 {
        return Err(bad(format!("version {} is not supported (1 is)", policy.version)));
    }
    if policy.keys.is_empty() {
        return Err(bad("no keys: name at least one accepted public key".into()));
    }
    for (i, k) in policy.keys.iter().enumerate() {
        match (&k.path, &k.url) {
            (Some(_), None) => {}
            (None, Some(u)) if u.starts_with("https://") => {}
            (None, Some(u)) => return Err(bad(format!("key url {u:?} is not https"))),
            _ => return Err(bad(format!("keys[{i}]: give exactly one of path and url"))),
        }
    }
    Ok(policy)
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    /// `provenance`, `checksec`, `vulnerabilities` or `require <type>`.
    pub rule: String,
    /// Whether it holds.
    pub passed: bool,
    /// What was found (or missing).
    pub detail: String,
}

/// Every rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// In policy order.
    pub rules: Vec<RuleResult>,
}

impl Verdict {
    /// True when every rule holds.
    pub fn passed(&self) -> bool {
        self.rules.iter().all(|r| r.passed)
    }

    /// The rules that failed, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.rules.iter().filter(|r| !r.passed).map(|r| format!("{}: {}", r.rule, r.detail)).collect()
    }
}

/// cosign's short attestation type names and their predicate type URIs
/// (`cosign attest --type`), plus ours.
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("link", "https://in-toto.io/attestation/link/v0.3"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("vuln", VULN_PREDICATE_TYPE),
    ("openvex", "https://openvex.dev/ns"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
    ("checksec", CHECKSEC_PREDICATE_TYPE),
    ("comparison", crate::report::compare::SCHEMA),
    ("vexfacts", crate::vex::decide::FACTS_PREDICATE_TYPE),
];

/// The predicate type URI of a short name, or the argument itself when it is a URI.
pub fn predicate_type(name: &str) -> Option<&str> {
    PREDICATE_TYPES.iter().find(|(n, _)| *n == name).map(|(_, u)| *u).or(name.contains("://").then_some(name))
}

/// Judges verified in-toto statements (already checked: signature by an accepted key, subject =
/// the image digest) by `policy`, at `now` (seconds since 1970).
pub fn evaluate(policy: &Policy, statements: &[Value], now: i64) -> Verdict {
    let of_type = |t: &str| -> Vec<&Value> {
        statements.iter().filter(|s| s.get("predicateType").and_then(Value::as_str) == Some(t)).collect()
    };
    let mut rules = Vec::new();
    for r in &policy.require {
        let (passed, detail) = match predicate_type(r) {
            None => (false, format!("{r:?} is neither a known type nor a URI")),
            Some(t) => match of_type(t).len() {
                0 => (false, format!("no verified attestation of type {t}")),
                n => (true, format!("{n} verified attestation(s) of type {t}")),
            },
        };
        rules.push(RuleResult { rule: format!("require {r}"), passed, detail });
    }
    if let Some(rule) = &policy.provenance {
        rules.push(provenance(rule, &of_type(crate::provenance::PREDICATE_TYPE)));
    }
    if let Some(rule) = &policy.checksec {
        rules.push(checksec(rule, &of_type(CHECKSEC_PREDICATE_TYPE)));
    }
    if let Some(rule) = &policy.vulnerabilities {
        rules.push(vulnerabilities(rule, &of_type(VULN_PREDICATE_TYPE), now));
    }
    Verdict { rules }
}

fn result(rule: &str, outcome: Result<String, String>) -> RuleResult {
    match outcome {
        Ok(detail) => RuleResult { rule: rule.into(), passed: true, detail },
        Err(detail) => RuleResult { rule: rule.into(), passed: false, detail },
    }
}

fn one_of(what: &str, value: Option<&str>, allowed: &[String]) -> Result<(), String> {
    match value {
        _ if allowed.is_empty() => Ok(()),
        Some(v) if allowed.iter().any(|a| a == v) => Ok(()),
        Some(v) => Err(format!("{what} {v:?} is not one of {allowed:?}")),
        None => Err(format!("{what} is missing")),
    }
}

fn provenance(rule: &ProvenanceRule, found: &[&Value]) -> RuleResult {
    let check = |s: &Value| -> Result<String, String> {
        let p = &s["predicate"];
        let builder = p.pointer("/runDetails/builder/id").and_then(Value::as_str);
        one_of("builder id", builder, &rule.builder_ids)?;
        one_of("build type", p.pointer("/buildDefinition/buildType").and_then(Value::as_str), &rule.build_types)?;
        let ext = |k: &str| p.pointer(&format!("/buildDefinition/externalParameters/{k}")).and_then(Value::as_str);
        one_of("definition", ext("definition"), &rule.definitions)?;
        let tiers: Vec<String> = rule.tiers.iter().map(|t| t.as_str().to_string()).collect();
        one_of("tier", ext("tier"), &tiers)?;
        Ok(format!(
            "builder {}, definition {}, tier {}",
            builder.unwrap_or("?"),
            ext("definition").unwrap_or("?"),
            ext("tier").unwrap_or("?")
        ))
    };
    result("provenance", first_passing(found, "no verified SLSA provenance v1 attestation", check))
}

/// The first statement that passes `check`, else the last reason.
fn first_passing(
    found: &[&Value],
    none: &str,
    check: impl Fn(&Value) -> Result<String, String>,
) -> Result<String, String> {
    let mut last = none.to_string();
    for s in found {
        match check(s) {
            Ok(d) => return Ok(d),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn checksec(rule: &ChecksecRule, found: &[&Value]) -> RuleResult {
    let check = |s: &Value| -> Result<String, String> {
        let p = &s["predicate"];
        let passed = p.get("passed").and_then(Value::as_bool);
        let enforced = p.get("enforced").and_then(Value::as_bool);
        let files = p.get("files").and_then(Value::as_u64).unwrap_or_default();
        let policy = p.get("policy").and_then(Value::as_str).unwrap_or("?");
        if rule.require_passed && (passed != Some(true) || enforced != Some(true)) {
            let n = p.get("violations").and_then(Value::as_array).map_or(0, Vec::len);
            return Err(format!("the checksec gate ({policy}) did not pass enforced: {n} violation(s)"));
        }
        Ok(format!("{policy} policy passed on {files} ELF files"))
    };
    result("checksec", first_passing(found, "no verified checksec attestation", check))
}

fn vulnerabilities(rule: &VulnRule, found: &[&Value], now: i64) -> RuleResult {
    let finished = |s: &Value| {
        s.pointer("/predicate/metadata/scanFinishedOn").and_then(Value::as_str).and_then(crate::clock::parse_rfc3339)
    };
    // The newest scan decides.
    let Some(latest) = found.iter().max_by_key(|s| finished(s).unwrap_or(i64::MIN)) else {
        return result("vulnerabilities", Err("no verified vulnerability scan attestation".into()));
    };
    let outcome = (|| {
        let when = finished(latest).ok_or("the scan attestation has no scanFinishedOn time")?;
        if let Some(hours) = rule.max_age_hours {
            let age = (now - when) / 3600;
            if age > i64::try_from(hours).unwrap_or(i64::MAX) {
                return Err(format!("the latest scan is {age} h old (at most {hours} h allowed)"));
            }
        }
        let doc = latest.pointer("/predicate/scanner/result").ok_or("the scan attestation has no scanner.result")?;
        let bytes = serde_json::to_vec(doc).map_err(|e| e.to_string())?;
        let scan = crate::vuln::report::json::parse(&bytes, Path::new("scanner.result")).map_err(|e| e.to_string())?;
        let mut over = Vec::new();
        let mut counts = Vec::new();
        for (name, max) in &rule.max_fixable {
            let sev = name.severity();
            let ids: Vec<&str> = scan
                .findings
                .iter()
                .filter(|f| f.severity == sev && f.fix_state == FixState::Fixed)
                .map(|f| f.id.as_str())
                .collect();
            counts.push(format!("{} fixable {}", ids.len(), sev.as_str()));
            if ids.len() > *max {
                over.push(format!("{} fixable {} (at most {max}): {}", ids.len(), sev.as_str(), ids.join(", ")));
            }
        }
        if over.is_empty() {
            Ok(counts.join(", "))
        } else {
            Err(over.join("; "))
        }
    })();
    result("vulnerabilities", outcome)
}

/// Verifies the image of `store` against `policy` (whose relative key paths are relative to
/// `base`), offline: a signature by one of its keys is the first rule; the attestations that
/// verify with one of its keys (signature, and this image's digest among their subjects) are
/// what the other rules judge, at `now` (seconds since 1970).
pub fn verify(
    policy: &Policy,
    base: &Path,
    store: &dyn crate::sign::layout::Store,
    now: i64,
) -> Result<Verdict, crate::Error> {
    let mut keys = Vec::new();
    for k in &policy.keys {
        let source = match (&k.path, &k.url) {
            (Some(p), _) => base.join(p).display().to_string(),
            (None, Some(u)) => u.clone(),
            (None, None) => continue,
        };
        keys.push((source.clone(), crate::sign::load_public_key(&source)?));
    }
    let mut signature = Err("no accepted key verifies a signature".to_string());
    let mut statements = Vec::new();
    for (source, key) in &keys {
        match crate::sign::simple::verify(store, key, &Default::default()) {
            Ok(v) if signature.is_err() => signature = Ok(format!("{} signature(s) verify with {source}", v.len())),
            Ok(_) => {}
            Err(e) if e.is_verification_failure() => {
                if signature.is_err() {
                    signature = Err(e.to_string());
                }
            }
            Err(e) => return Err(e.into()),
        }
        match crate::sign::intoto::verify_attestations(store, key, None) {
            Ok(verified) => {
                statements.extend(verified.into_iter().filter_map(|a| serde_json::to_value(a.statement).ok()))
            }
            Err(e) if e.is_verification_failure() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut verdict = evaluate(policy, &statements, now);
    verdict.rules.insert(0, result("signature", signature));
    Ok(verdict)
}

#[cfg(test)]
mod tests;

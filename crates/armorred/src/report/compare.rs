//! The dual-SBOM comparison: metrics, per-component changes, and why each upstream
//! vulnerability is gone or remains.
//!
//! Reduction is defined as `(upstream - hardened) / upstream`, computed from exact counts (bytes,
//! components, findings) and kept as a fraction; renderings show it as a percentage rounded to
//! one decimal, half away from zero (196 MB -> 121 MB is 0.38265..., shown as 38.3 %).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::elf::{Linking, Pie, Relro, ScanReport};
pub use crate::vuln::model::{FixState, Severity};

/// Image size in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Bytes of the regular files of the final file system (the headline).
    pub uncompressed: u64,
    /// What a registry would transfer: compressed layer blobs as stored, plain-tar layers gzipped
    /// ([`crate::report::transfer_size`]); None when the side is not an image.
    pub compressed: Option<u64>,
}

/// One SBOM component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Component {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Package type (`deb`, `binary`, `python`, ...).
    pub kind: String,
    /// Package URL.
    pub purl: Option<String>,
    /// Source package (Debian), when known.
    pub source: Option<String>,
}

/// One vulnerability finding on one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The vulnerability ID (CVE-..., GHSA-..., DSA-...).
    pub id: String,
    /// Other IDs of the same vulnerability.
    pub aliases: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// The affected component's name.
    pub package: String,
    /// The affected component's version.
    pub version: String,
    /// Fix state.
    pub fix_state: FixState,
    /// Versions that fix it.
    pub fixed_in: Vec<String>,
}

/// Facts about the files of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStats {
    /// Regular files.
    pub files: u64,
    /// ELF files among them.
    pub elf_binaries: u64,
    /// Files with the setuid or setgid bit.
    pub setuid: Vec<String>,
    /// Shells present (`/bin/sh`, `/bin/bash`, ...).
    pub shells: Vec<String>,
}

/// Everything compared about one image.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// How the image was named (`oci-dir:out/nginx`, `sbom:upstream.cdx.json`).
    pub name: String,
    /// Image digest, when known.
    pub digest: Option<String>,
    /// Size, when the image itself was read (an SBOM does not tell).
    pub size: Option<Size>,
    /// SBOM components.
    pub components: Vec<Component>,
    /// Scan findings.
    pub findings: Vec<Finding>,
    /// File facts, when the image itself was read.
    pub files: Option<FileStats>,
    /// checksec counts of the image's ELF files ([`HardeningCounts::of`]), when it was read.
    pub hardening: Option<HardeningCounts>,
    /// Features of source-built components that the build leaves out, with the evidence
    /// ([`crate::report::SourceBuild::compiled_out`]).
    pub compiled_out: Vec<CompiledOut>,
    /// `sha256:<hex>` of the vulnerability DB the findings came from, when known.
    pub db_digest: Option<String>,
}

/// A feature the hardened build leaves out, the vulnerabilities that live only in it, and the
/// evidence that it is not there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledOut {
    /// The component built without it (`nginx`).
    pub component: String,
    /// The feature, as named in the binary (`ngx_mail_smtp_module`).
    pub feature: String,
    /// The configure option that leaves it out (`--without-http_ssi_module`), or the enabling
    /// option not given (`no --with-mail`).
    pub option: String,
    /// Vulnerability IDs that live only in the left-out code.
    pub vulnerabilities: Vec<String>,
    /// Why we say so, one statement each: the configure options, the binaries checked, the
    /// advisory.
    pub evidence: Vec<String>,
}

/// Upstream and hardened values of a metric, and the reduction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metric {
    /// Upstream value.
    pub upstream: u64,
    /// Hardened value.
    pub hardened: u64,
    /// `(upstream - hardened) / upstream`; 0 when upstream is 0.
    pub reduction: f64,
}

impl Metric {
    /// Builds a metric from two counts.
    pub fn new(upstream: u64, hardened: u64) -> Self {
        // Counts below 2^53 convert to f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let reduction = if upstream == 0 { 0.0 } else { (upstream as f64 - hardened as f64) / upstream as f64 };
        Self { upstream, hardened, reduction }
    }

    /// The reduction as a percentage with one decimal, rounded half away from zero.
    pub fn percent(&self) -> String {
        format!("{:.1}", (self.reduction * 1000.0).round() / 10.0)
    }
}

/// Size metrics: uncompressed is the headline, compressed beside it when both sides know it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeMetrics {
    /// Uncompressed bytes.
    pub upstream_bytes: u64,
    /// Uncompressed bytes.
    pub hardened_bytes: u64,
    /// Reduction of uncompressed bytes (the headline).
    pub reduction: f64,
    /// Compressed sizes, when both are known.
    pub compressed: Option<Metric>,
}

/// What happened to one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ComponentChange {
    /// Upstream only.
    Removed {
        /// Name.
        name: String,
        /// Upstream version.
        version: String,
    },
    /// Hardened only.
    Added {
        /// Name.
        name: String,
        /// Hardened version.
        version: String,
    },
    /// In both, different versions.
    Changed {
        /// Name.
        name: String,
        /// Upstream version.
        upstream: String,
        /// Hardened version.
        hardened: String,
    },
    /// In both, same version.
    Same {
        /// Name.
        name: String,
        /// Version.
        version: String,
    },
}

/// Why an upstream vulnerability is gone from the hardened image, or that it remains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum VulnOutcome {
    /// The affected package is not in the hardened image.
    PackageNotShipped {
        /// The upstream package.
        package: String,
    },
    /// The hardened image ships a version the finding does not affect.
    FixedInNewerVersion {
        /// The package.
        package: String,
        /// Upstream version.
        upstream: String,
        /// Hardened version.
        hardened: String,
    },
    /// The hardened image has the component under another identity (a source build where
    /// upstream had a Debian package) or at the same version, and the scan no longer matches it:
    /// not a proven fix, only that the DB has no data for the hardened identity. Review by hand.
    NoLongerMatched {
        /// The package.
        package: String,
        /// Upstream type and version (`deb 1.26.3-3+deb13u1`).
        upstream: String,
        /// Hardened type and version (`binary 1.26.3`).
        hardened: String,
    },
    /// The affected binary is not in the hardened image.
    BinaryNotPresent {
        /// The binary component.
        package: String,
    },
    /// The hardened build leaves out the code the vulnerability is in.
    CompiledOut {
        /// The component.
        package: String,
        /// The features left out that hold the vulnerability (`ngx_mail_smtp_module`).
        features: Vec<String>,
        /// The configure options that leave them out.
        options: Vec<String>,
        /// The evidence, from every feature.
        evidence: Vec<String>,
    },
    /// Still present in the hardened image.
    Remains {
        /// The hardened package it is found in.
        package: String,
        /// Its version.
        version: String,
    },
}

/// One upstream vulnerability and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnAttribution {
    /// The ID.
    pub id: String,
    /// Upstream severity.
    pub severity: Severity,
    /// Versions that fix it, as the upstream finding says (empty when the DB names none).
    pub fixed_in: Vec<String>,
    /// What happened to it.
    #[serde(flatten)]
    pub outcome: VulnOutcome,
}

/// One vulnerability of the hardened image, as counted (one per ID, highest severity): the finding
/// under its chosen ID (the CVE when it has one among its aliases), flagged when it is new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardenedVuln {
    /// The finding; its fields serialize inline.
    #[serde(flatten)]
    pub finding: Finding,
    /// Only the hardened image has it (it is in `new_vulnerabilities`).
    pub new: bool,
}

impl std::ops::Deref for HardenedVuln {
    type Target = Finding;
    fn deref(&self) -> &Finding {
        &self.finding
    }
}

/// checksec verdicts of one image, as counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HardeningCounts {
    /// ELF files analysed.
    pub elf_files: u64,
    /// Files that could not be analysed.
    pub unreadable: u64,
    /// Without full RELRO (static executables excluded).
    pub without_full_relro: u64,
    /// Without a stack canary.
    pub without_canary: u64,
    /// With an executable stack.
    pub without_nx: u64,
    /// Fixed-address executables.
    pub without_pie: u64,
    /// With fortifiable calls but no fortified ones.
    pub without_fortify: u64,
    /// With SafeStack.
    pub with_safestack: u64,
    /// With clang CFI.
    pub with_cfi: u64,
    /// With CET IBT and SHSTK.
    pub with_cet: u64,
}

impl HardeningCounts {
    /// Counts a checksec scan.
    pub fn of(scan: &ScanReport) -> Self {
        let mut c = Self::default();
        for entry in scan.entries.values() {
            let Ok(r) = entry else {
                c.unreadable += 1;
                continue;
            };
            c.elf_files += 1;
            let dynamic = !matches!(r.linking, Linking::Static | Linking::Unlinked);
            c.without_full_relro += u64::from(dynamic && r.relro != Relro::Full);
            c.without_canary += u64::from(!r.canary);
            c.without_nx += u64::from(!r.nx);
            c.without_pie += u64::from(r.pie == Pie::No);
            c.without_fortify += u64::from(!r.fortify.enabled() && !r.fortify.fortifiable.is_empty());
            c.with_safestack += u64::from(r.safestack.present);
            c.with_cfi += u64::from(r.cfi.present);
            c.with_cet += u64::from(r.cet.ibt && r.cet.shstk);
        }
        c
    }
}

/// Upstream and hardened values of a severity row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityRow {
    /// Upstream findings of this severity.
    pub upstream: u64,
    /// Hardened findings of this severity.
    pub hardened: u64,
}

/// Vulnerability metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnMetrics {
    /// Distinct vulnerabilities upstream.
    pub upstream: u64,
    /// Distinct vulnerabilities in the hardened image.
    pub hardened: u64,
    /// Reduction.
    pub reduction: f64,
    /// Per severity.
    pub by_severity: BySeverity,
}

/// One row per severity, most severe first; the JSON keys are lowercase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BySeverity {
    /// Critical.
    pub critical: SeverityRow,
    /// High.
    pub high: SeverityRow,
    /// Medium.
    pub medium: SeverityRow,
    /// Low.
    pub low: SeverityRow,
    /// Negligible.
    pub negligible: SeverityRow,
    /// Unknown.
    pub unknown: SeverityRow,
}

impl BySeverity {
    /// The row of one severity.
    pub fn get(&self, s: Severity) -> SeverityRow {
        *self.row(s)
    }

    fn row(&self, s: Severity) -> &SeverityRow {
        match s {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low => &self.low,
            Severity::Negligible => &self.negligible,
            Severity::Unknown => &self.unknown,
        }
    }

    fn row_mut(&mut self, s: Severity) -> &mut SeverityRow {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Negligible => &mut self.negligible,
            Severity::Unknown => &mut self.unknown,
        }
    }
}

/// The whole comparison. Serialized, it is the stable JSON schema of `armorred compare -o json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Schema identifier of this document.
    pub schema: &'static str,
    /// armorred version that made it.
    pub tool_version: &'static str,
    /// sha256 of the vulnerability DB the scans used, when known.
    pub db_digest: Option<String>,
    /// The two images.
    pub images: Images,
    /// Size metrics.
    pub size: Option<SizeMetrics>,
    /// Component counts.
    pub components: Metric,
    /// Vulnerability counts.
    pub vulnerabilities: VulnMetrics,
    /// File facts, when both images were read.
    pub files: Option<FilesComparison>,
    /// checksec counts, when both images were read.
    pub hardening: Option<HardeningComparison>,
    /// Every component change, by name.
    pub component_changes: Vec<ComponentChange>,
    /// Every upstream vulnerability and what happened to it, by ID.
    pub vulnerability_outcomes: Vec<VulnAttribution>,
    /// Vulnerabilities only the hardened image has.
    pub new_vulnerabilities: Vec<String>,
    /// Every vulnerability of the hardened image (new ones and those upstream has too), by ID.
    pub hardened_vulnerabilities: Vec<HardenedVuln>,
    /// Features the hardened build leaves out, with the evidence (empty without a build record).
    pub compiled_out: Vec<CompiledOut>,
}

/// Names and digests of the two images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Images {
    /// Upstream name.
    pub upstream: String,
    /// Upstream digest.
    pub upstream_digest: Option<String>,
    /// Hardened name.
    pub hardened: String,
    /// Hardened digest.
    pub hardened_digest: Option<String>,
}

/// File facts side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilesComparison {
    /// Regular files.
    pub files: Metric,
    /// ELF files.
    pub elf_binaries: Metric,
    /// setuid/setgid files.
    pub setuid: Metric,
    /// Shells upstream.
    pub upstream_shells: Vec<String>,
    /// Shells in the hardened image.
    pub hardened_shells: Vec<String>,
}

/// checksec counts side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HardeningComparison {
    /// Upstream.
    pub upstream: HardeningCounts,
    /// Hardened.
    pub hardened: HardeningCounts,
}

/// The schema identifier of the comparison JSON (also the in-toto predicate type).
pub const SCHEMA: &str = "https://armorred.dev/comparison/v1";

/// Compares two images. Deterministic: the same inputs give the same value.
pub fn compare(upstream: &Side, hardened: &Side, db_digest: Option<&str>) -> Comparison {
    let size = upstream.size.zip(hardened.size).map(|(u, h)| SizeMetrics {
        upstream_bytes: u.uncompressed,
        hardened_bytes: h.uncompressed,
        reduction: Metric::new(u.uncompressed, h.uncompressed).reduction,
        compressed: u.compressed.zip(h.compressed).map(|(u, h)| Metric::new(u, h)),
    });
    let up_vulns = distinct_vulns(&upstream.findings);
    // A hardened finding of a vulnerability compiled out of the very component it is found on is
    // a scanner matching by version alone (the VEX status `not_affected`,
    // `vulnerable_code_not_present`): it is not counted.
    let present: Vec<Finding> =
        hardened.findings.iter().filter(|f| !compiled_out_of(f, &hardened.compiled_out)).cloned().collect();
    let hard_vulns = distinct_vulns(&present);
    let mut by_severity = BySeverity::default();
    for f in up_vulns.values() {
        by_severity.row_mut(f.severity).upstream += 1;
    }
    for f in hard_vulns.values() {
        by_severity.row_mut(f.severity).hardened += 1;
    }
    let vm = Metric::new(up_vulns.len() as u64, hard_vulns.len() as u64);
    let files = upstream.files.as_ref().zip(hardened.files.as_ref()).map(|(u, h)| FilesComparison {
        files: Metric::new(u.files, h.files),
        elf_binaries: Metric::new(u.elf_binaries, h.elf_binaries),
        setuid: Metric::new(u.setuid.len() as u64, h.setuid.len() as u64),
        upstream_shells: u.shells.clone(),
        hardened_shells: h.shells.clone(),
    });
    let hardening = upstream
        .hardening
        .clone()
        .zip(hardened.hardening.clone())
        .map(|(upstream, hardened)| HardeningComparison { upstream, hardened });
    let is_new = |k: &String| !up_vulns.contains_key(k) && !aliased(k, &up_vulns);
    let new_vulnerabilities = hard_vulns.keys().filter(|k| is_new(k)).cloned().collect();
    let hardened_vulnerabilities = hard_vulns
        .iter()
        .map(|(k, f)| HardenedVuln {
            finding: Finding {
                id: k.clone(),
                aliases: ids(f).filter(|id| id != k).map(str::to_owned).collect(),
                ..(*f).clone()
            },
            new: is_new(k),
        })
        .collect();
    Comparison {
        schema: SCHEMA,
        tool_version: env!("CARGO_PKG_VERSION"),
        db_digest: db_digest.map(str::to_owned),
        images: Images {
            upstream: upstream.name.clone(),
            upstream_digest: upstream.digest.clone(),
            hardened: hardened.name.clone(),
            hardened_digest: hardened.digest.clone(),
        },
        size,
        components: Metric::new(distinct_components(upstream), distinct_components(hardened)),
        vulnerabilities: VulnMetrics {
            upstream: vm.upstream,
            hardened: vm.hardened,
            reduction: vm.reduction,
            by_severity,
        },
        files,
        hardening,
        component_changes: component_changes(upstream, hardened),
        vulnerability_outcomes: up_vulns
            .iter()
            .map(|(id, f)| VulnAttribution {
                id: id.clone(),
                severity: f.severity,
                fixed_in: f.fixed_in.clone(),
                outcome: attribute(f, upstream, hardened, &hard_vulns),
            })
            .collect(),
        new_vulnerabilities,
        hardened_vulnerabilities,
        compiled_out: hardened.compiled_out.clone(),
    }
}

/// The DB digest that every side names, if they all name the same one: the comparison's
/// `db_digest` when the findings came from scan results rather than one opened DB.
pub fn common_db_digest(sides: &[&Side]) -> Option<String> {
    let first = sides.first()?.db_digest.as_ref()?;
    sides.iter().all(|s| s.db_digest.as_ref() == Some(first)).then(|| first.clone())
}

/// The IDs of a finding: its own and its aliases.
fn ids(f: &Finding) -> impl Iterator<Item = &str> {
    std::iter::once(f.id.as_str()).chain(f.aliases.iter().map(String::as_str))
}

/// Whether `f` is a vulnerability compiled out of the component it is found on.
fn compiled_out_of(f: &Finding, compiled_out: &[CompiledOut]) -> bool {
    compiled_out.iter().any(|c| c.component == f.package && ids(f).any(|id| c.vulnerabilities.iter().any(|v| v == id)))
}

/// Findings keyed by vulnerability ID, one per ID: the same CVE on several packages counts once,
/// with its highest severity. A finding whose alias is already a key merges into it.
fn distinct_vulns(findings: &[Finding]) -> BTreeMap<String, Finding> {
    let mut out: BTreeMap<String, Finding> = BTreeMap::new();
    for f in findings {
        let key = std::iter::once(&f.id)
            .chain(&f.aliases)
            .find(|id| out.contains_key(*id))
            .cloned()
            .unwrap_or_else(|| preferred_id(f));
        match out.get_mut(&key) {
            Some(existing) if f.severity > existing.severity => existing.severity = f.severity,
            Some(_) => {}
            None => {
                out.insert(key, f.clone());
            }
        }
    }
    out
}

/// The CVE among a finding's IDs when there is one, so that two feeds meet on the same key.
fn preferred_id(f: &Finding) -> String {
    std::iter::once(&f.id).chain(&f.aliases).find(|id| id.starts_with("CVE-")).unwrap_or(&f.id).clone()
}

fn aliased(id: &str, set: &BTreeMap<String, Finding>) -> bool {
    set.values().any(|f| f.id == id || f.aliases.iter().any(|a| a == id))
}

fn distinct_components(side: &Side) -> u64 {
    side.components.iter().map(|c| (&c.name, &c.version, &c.kind)).collect::<BTreeSet<_>>().len() as u64
}

fn component_changes(upstream: &Side, hardened: &Side) -> Vec<ComponentChange> {
    let index = |s: &Side| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in &s.components {
            m.entry(c.name.clone()).or_default().insert(c.version.clone());
        }
        m
    };
    let (u, h) = (index(upstream), index(hardened));
    let names: BTreeSet<&String> = u.keys().chain(h.keys()).collect();
    let join = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(", ");
    names
        .into_iter()
        .map(|name| match (u.get(name), h.get(name)) {
            (Some(a), Some(b)) if a == b => ComponentChange::Same { name: name.clone(), version: join(a) },
            (Some(a), Some(b)) => ComponentChange::Changed { name: name.clone(), upstream: join(a), hardened: join(b) },
            (Some(a), None) => ComponentChange::Removed { name: name.clone(), version: join(a) },
            (None, Some(b)) => ComponentChange::Added { name: name.clone(), version: join(b) },
            (None, None) => unreachable!("name comes from one of the maps"),
        })
        .collect()
}

/// Why `f` (an upstream finding) is not in the hardened image, or where it remains.
fn attribute(f: &Finding, upstream: &Side, hardened: &Side, hard_vulns: &BTreeMap<String, Finding>) -> VulnOutcome {
    let ids: Vec<&str> = ids(f).collect();
    let same = |h: &Finding| ids.iter().any(|id| h.id == *id || h.aliases.iter().any(|a| a == id));
    if let Some(h) = hard_vulns.values().find(|h| same(h)) {
        return VulnOutcome::Remains { package: h.package.clone(), version: h.version.clone() };
    }
    let out: Vec<&CompiledOut> =
        hardened.compiled_out.iter().filter(|c| c.vulnerabilities.iter().any(|v| ids.contains(&v.as_str()))).collect();
    if let Some(first) = out.first() {
        return VulnOutcome::CompiledOut {
            package: first.component.clone(),
            features: out.iter().map(|c| c.feature.clone()).collect(),
            options: out.iter().map(|c| c.option.clone()).collect(),
            evidence: out.iter().flat_map(|c| c.evidence.iter().cloned()).collect(),
        };
    }
    let was_binary = upstream.components.iter().any(|c| c.name == f.package && c.kind == "binary");
    let upstream_kind =
        upstream.components.iter().find(|c| c.name == f.package && c.version == f.version).map(|c| c.kind.as_str());
    let same_kind = |c: &&Component| upstream_kind.is_none_or(|k| k == c.kind);
    let named: Vec<&Component> = hardened.components.iter().filter(|c| c.name == f.package).collect();
    match (named.iter().find(|c| same_kind(c) && c.version != f.version), named.first()) {
        (Some(c), _) => VulnOutcome::FixedInNewerVersion {
            package: f.package.clone(),
            upstream: f.version.clone(),
            hardened: c.version.clone(),
        },
        (None, Some(c)) => VulnOutcome::NoLongerMatched {
            package: f.package.clone(),
            upstream: format!("{} {}", upstream_kind.unwrap_or("?"), f.version),
            hardened: format!("{} {}", c.kind, c.version),
        },
        (None, None) if was_binary => VulnOutcome::BinaryNotPresent { package: f.package.clone() },
        (None, None) => VulnOutcome::PackageNotShipped { package: f.package.clone() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::render;

    fn finding(id: &str, aliases: &[&str], severity: Severity, package: &str, version: &str) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
            severity,
            package: package.into(),
            version: version.into(),
            fix_state: FixState::Fixed,
            fixed_in: vec![],
        }
    }

    fn component(name: &str, version: &str, kind: &str) -> Component {
        Component { name: name.into(), version: version.into(), kind: kind.into(), purl: None, source: None }
    }

    /// A small upstream/hardened pair covering every outcome.
    fn pair() -> (Side, Side) {
        let upstream = Side {
            name: "oci-dir:upstream".into(),
            digest: Some("sha256:aaaa".into()),
            size: Some(Size { uncompressed: 196_000_000, compressed: Some(70_000_000) }),
            components: vec![
                component("nginx", "1.26.3-3", "deb"),
                component("libssl3t64", "3.5.0-1", "deb"),
                component("perl-base", "5.40.1-6", "deb"),
                component("bash", "5.2.37-2", "deb"),
                component("/usr/bin/curl", "8.14.1", "binary"),
            ],
            findings: vec![
                Finding {
                    fixed_in: vec!["3.5.1-1".into()],
                    ..finding("CVE-2025-0001", &[], Severity::Critical, "libssl3t64", "3.5.0-1")
                },
                finding("GHSA-xxxx-yyyy-zzzz", &["CVE-2025-0001"], Severity::High, "libssl3t64", "3.5.0-1"),
                finding("CVE-2025-0002", &[], Severity::High, "perl-base", "5.40.1-6"),
                finding("CVE-2025-0003", &[], Severity::Medium, "nginx", "1.26.3-3"),
                finding("CVE-2025-0004", &[], Severity::Low, "/usr/bin/curl", "8.14.1"),
                finding("CVE-2025-0005", &[], Severity::Negligible, "bash", "5.2.37-2"),
                finding("CVE-2025-0006", &[], Severity::Unknown, "nginx", "1.26.3-3"),
                // Debian's data only: the source-built nginx is not matched by it.
                finding("CVE-2025-0007", &[], Severity::Low, "nginx", "1.26.3-3"),
            ],
            files: Some(FileStats {
                files: 7714,
                elf_binaries: 400,
                setuid: vec!["/usr/bin/su".into()],
                shells: vec!["/bin/bash".into(), "/bin/sh".into()],
            }),
            hardening: Some(HardeningCounts { elf_files: 400, without_full_relro: 3, ..HardeningCounts::default() }),
            compiled_out: vec![],
            db_digest: Some("sha256:db".into()),
        };
        let hardened = Side {
            name: "oci-dir:hardened".into(),
            digest: Some("sha256:bbbb".into()),
            size: Some(Size { uncompressed: 121_000_000, compressed: Some(40_000_000) }),
            components: vec![
                component("nginx", "1.26.3", "source"),
                component("libssl3t64", "3.5.1-1", "deb"),
                component("ca-certificates", "20250419", "deb"),
            ],
            findings: vec![
                finding("CVE-2025-0006", &[], Severity::Unknown, "nginx", "1.26.3"),
                // Matched by version alone (CPE), in code the build left out: not counted.
                finding("CVE-2025-0003", &[], Severity::Medium, "nginx", "1.26.3"),
                // Only in ours: listed first in every rendering.
                Finding {
                    fixed_in: vec!["20250419+deb13u1".into()],
                    ..finding("DSA-9999-1", &[], Severity::High, "ca-certificates", "20250419")
                },
            ],
            files: Some(FileStats { files: 120, elf_binaries: 19, setuid: vec![], shells: vec![] }),
            hardening: Some(HardeningCounts {
                elf_files: 19,
                with_safestack: 1,
                with_cfi: 1,
                ..HardeningCounts::default()
            }),
            compiled_out: vec![CompiledOut {
                component: "nginx".into(),
                feature: "ngx_http_ssi_filter_module".into(),
                option: "--without-http_ssi_module".into(),
                vulnerabilities: vec!["CVE-2025-0003".into()],
                evidence: vec![
                    "configure options of nginx 1.26.3 (locked tier) include --without-http_ssi_module".into(),
                    "\"ngx_http_ssi_filter_module\" is not in /usr/sbin/nginx (sha256:cccc)".into(),
                    "advisory: https://nginx.org/en/security_advisories.html".into(),
                ],
            }],
            db_digest: Some("sha256:db".into()),
        };
        (upstream, hardened)
    }

    #[test]
    fn seed_examples_round_half_away_from_zero_to_one_decimal() {
        // "nginx 1.26: 196 MB -> 121 MB, 150 -> 19 packages, 117 -> 1 CVE"
        assert_eq!(Metric::new(196_000_000, 121_000_000).percent(), "38.3");
        assert!((Metric::new(196, 121).reduction - 75.0 / 196.0).abs() < 1e-15);
        assert_eq!(Metric::new(150, 19).percent(), "87.3");
        assert_eq!(Metric::new(117, 1).percent(), "99.1");
        assert_eq!(Metric::new(8, 7).percent(), "12.5", "half rounds away from zero");
        assert_eq!(Metric::new(0, 0).reduction, 0.0);
        assert_eq!(Metric::new(10, 12).percent(), "-20.0", "growth is a negative reduction");
    }

    #[test]
    fn every_outcome_is_attributed() {
        let (u, h) = pair();
        let c = compare(&u, &h, Some("sha256:db"));
        let outcomes: Vec<(&str, &VulnOutcome)> =
            c.vulnerability_outcomes.iter().map(|v| (v.id.as_str(), &v.outcome)).collect();
        assert_eq!(outcomes.len(), 7, "CVE-2025-0001 reached through GHSA and NVD is one vulnerability");
        assert!(matches!(outcomes[0], ("CVE-2025-0001", VulnOutcome::FixedInNewerVersion { .. })));
        assert!(matches!(outcomes[1], ("CVE-2025-0002", VulnOutcome::PackageNotShipped { .. })));
        assert!(matches!(outcomes[2], ("CVE-2025-0003", VulnOutcome::CompiledOut { .. })));
        assert!(matches!(outcomes[3], ("CVE-2025-0004", VulnOutcome::BinaryNotPresent { .. })));
        assert!(matches!(outcomes[4], ("CVE-2025-0005", VulnOutcome::PackageNotShipped { .. })));
        assert!(matches!(outcomes[5], ("CVE-2025-0006", VulnOutcome::Remains { .. })));
        assert_eq!(
            outcomes[6],
            (
                "CVE-2025-0007",
                &VulnOutcome::NoLongerMatched {
                    package: "nginx".into(),
                    upstream: "deb 1.26.3-3".into(),
                    hardened: "source 1.26.3".into()
                }
            ),
            "a source build is not a newer version of the Debian package"
        );
        assert_eq!(c.vulnerabilities.by_severity.get(Severity::Critical), SeverityRow { upstream: 1, hardened: 0 });
        assert_eq!(
            (c.vulnerabilities.upstream, c.vulnerabilities.hardened),
            (7, 2),
            "the compiled-out match is not counted"
        );
        assert_eq!(c.new_vulnerabilities, ["DSA-9999-1"]);
        let hardened: Vec<(&str, bool)> = c.hardened_vulnerabilities.iter().map(|v| (v.id.as_str(), v.new)).collect();
        assert_eq!(hardened, [("CVE-2025-0006", false), ("DSA-9999-1", true)]);
        assert_eq!(c.hardened_vulnerabilities[1].fixed_in, ["20250419+deb13u1"]);
        assert_eq!(c.vulnerability_outcomes[0].fixed_in, ["3.5.1-1"]);
        assert_eq!(c.components.upstream, 5);
        let VulnOutcome::CompiledOut { features, options, evidence, .. } = outcomes[2].1 else { unreachable!() };
        assert_eq!(
            (features.as_slice(), options.as_slice()),
            (&["ngx_http_ssi_filter_module".to_string()][..], &["--without-http_ssi_module".to_string()][..])
        );
        assert_eq!(evidence.len(), 3);
        assert_eq!(c.compiled_out, h.compiled_out);
    }

    #[test]
    fn the_table_escapes_terminal_controls_from_image_data() {
        let (mut u, mut h) = pair();
        u.name = "oci-dir:up\x1b]0;pwned\x07".into();
        h.compiled_out[0].option = "--without-x\x1b[2J".into();
        h.compiled_out[0].evidence[0] = "evidence \u{202e}txt".into();
        let table = render::table(&compare(&u, &h, None));
        assert!(!table.contains('\x1b') && !table.contains('\x07') && !table.contains('\u{202e}'), "{table:?}");
        assert!(table.starts_with("oci-dir:up\\x1b]0;pwned\\x07 -> "), "{table}");
        assert!(table.contains(" (--without-x\\x1b[2J)\n"), "{table}");
        assert!(table.contains("    - evidence \\u{202e}txt\n"), "{table}");
    }

    /// The position of `needle` in `hay`, or a failure naming the rendering.
    fn at(hay: &str, needle: &str, what: &str) -> usize {
        hay.find(needle).unwrap_or_else(|| panic!("{what}: no {needle:?} in\n{hay}"))
    }

    #[test]
    fn a_vulnerability_only_in_ours_comes_first_in_every_rendering() {
        let (u, h) = pair();
        let c = compare(&u, &h, None);
        for (what, text) in
            [("table", render::table(&c)), ("markdown", render::markdown(&c)), ("html", render::html(&c))]
        {
            // The HTML says "->" as "-&gt;".
            let text = text.replace("&gt;", ">");
            let new = at(&text, "DSA-9999-1", what);
            for other in ["CVE-2025-0001", "CVE-2025-0002", "CVE-2025-0003", "CVE-2025-0006"] {
                assert!(new < at(&text, other, what), "{what}: DSA-9999-1 after {other}\n{text}");
            }
            assert!(at(&text, "20250419+deb13u1", what) > new, "{what}: fixed-in version shown");
            // Both sides: the one still present, and every one gone with its attribution.
            assert!(at(&text, "package not shipped (perl-base)", what) > new, "{what}");
            assert!(at(&text, "compiled out of nginx (--without-http_ssi_module)", what) > new, "{what}");
            assert!(at(&text, "fixed in a newer version (libssl3t64 3.5.0-1 -> 3.5.1-1)", what) > new, "{what}");
            assert!(text.contains("ca-certificates"), "{what}: component changes");
        }
        let md = render::markdown(&c);
        assert!(md.contains("[DSA-9999-1](https://security-tracker.debian.org/tracker/DSA-9999-1)"), "{md}");
        assert!(md.contains("[CVE-2025-0001](https://nvd.nist.gov/vuln/detail/CVE-2025-0001)"), "{md}");
        let html = render::html(&c);
        for section in [
            "id=\"checksec\"",
            "id=\"components\"",
            "id=\"compiled-out\"",
            "id=\"hardened-vulnerabilities\"",
            "id=\"gone\"",
        ] {
            assert!(html.contains(section), "html has {section}");
        }
        assert!(at(&html, "with CET (IBT+SHSTK)", "html") > at(&html, "id=\"checksec\"", "html"));
        assert!(html.contains("<td>ca-certificates</td><td>added</td>"), "{html}");
        assert!(html.contains("<td>perl-base</td><td>removed</td>"), "{html}");
        assert!(html.contains("overflow-wrap:anywhere") && html.contains("table-layout:fixed"), "long cells wrap");
        assert!(html.contains("<a href=\"https://github.com/advisories/GHSA-") || !html.contains(">GHSA-"));
    }

    #[test]
    fn advisory_links_by_id_kind_and_none_for_odd_ids() {
        assert_eq!(render::advisory_url("CVE-2025-1").as_deref(), Some("https://nvd.nist.gov/vuln/detail/CVE-2025-1"));
        assert_eq!(
            render::advisory_url("TEMP-0000000-ABCDEF").as_deref(),
            Some("https://security-tracker.debian.org/tracker/TEMP-0000000-ABCDEF")
        );
        assert_eq!(
            render::advisory_url("GHSA-xxxx-yyyy-zzzz").as_deref(),
            Some("https://github.com/advisories/GHSA-xxxx-yyyy-zzzz")
        );
        assert_eq!(render::advisory_url("PYSEC-2024-1").as_deref(), Some("https://osv.dev/vulnerability/PYSEC-2024-1"));
        assert_eq!(render::advisory_url("CVE-1\"><script>"), None);
        assert_eq!(render::advisory_url(""), None);
    }

    #[test]
    fn ids_of_one_severity_in_numeric_order() {
        let (u, mut h) = pair();
        h.findings.push(finding("CVE-2025-15467", &[], Severity::High, "ca-certificates", "20250419"));
        h.findings.push(finding("CVE-2025-9230", &[], Severity::High, "ca-certificates", "20250419"));
        let table = render::table(&compare(&u, &h, None));
        assert!(at(&table, "CVE-2025-9230", "table") < at(&table, "CVE-2025-15467", "table"), "{table}");
        assert!(at(&table, "CVE-2025-15467", "table") < at(&table, "DSA-9999-1", "table"), "{table}");
    }

    #[test]
    fn markdown_and_html_escape_image_data() {
        let (u, mut h) = pair();
        h.findings[2].package = "evil|<script>x</script>".into();
        let c = compare(&u, &h, None);
        let md = render::markdown(&c);
        assert!(!md.contains("<script>") && md.contains("evil\\|&lt;script>"), "{md}");
        let html = render::html(&c);
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn db_digest_only_when_every_side_agrees() {
        let (u, h) = pair();
        assert_eq!(common_db_digest(&[&u, &h]).as_deref(), Some("sha256:db"));
        let other = Side { db_digest: Some("sha256:other".into()), ..h.clone() };
        assert_eq!(common_db_digest(&[&u, &other]), None);
        let unknown = Side { db_digest: None, ..h };
        assert_eq!(common_db_digest(&[&u, &unknown]), None);
        assert_eq!(common_db_digest(&[]), None);
    }

    #[test]
    fn golden_outputs() {
        let (u, h) = pair();
        let c = compare(&u, &h, Some("sha256:db"));
        let json = render::json(&c).expect("json");
        assert_eq!(json, render::json(&compare(&u, &h, Some("sha256:db"))).expect("json"), "reproducible");
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        for key in ["size", "components", "vulnerabilities"] {
            assert!(value[key]["reduction"].is_f64(), "{key}.reduction");
        }
        assert_eq!(value["size"]["upstream_bytes"], 196_000_000);
        assert_eq!(value["vulnerabilities"]["by_severity"]["critical"]["upstream"], 1);
        let mut settings = insta::Settings::clone_current();
        settings.add_redaction(".tool_version", "[version]");
        settings.bind(|| insta::assert_json_snapshot!("comparison", value));
        insta::assert_snapshot!("comparison-md", render::markdown(&c));
        insta::assert_snapshot!("comparison-table", render::table(&c));
        let html = render::html(&c);
        insta::assert_snapshot!("comparison-html", html);
        assert!(html.contains("<svg") && html.matches("class=\"chart\"").count() >= 3);
        assert!(!html.contains("http://") && !html.contains("src="), "self-contained");
        let statement: serde_json::Value = serde_json::from_str(&render::in_toto(&c).expect("in-toto")).expect("json");
        assert_eq!(statement["predicateType"], SCHEMA);
        assert_eq!(statement["subject"][1]["digest"]["sha256"], "bbbb");
    }
}

//! The one decision engine: for a finding (a vulnerability on a component) and the facts of one
//! image ([`ImageFacts`]: its SBOM's components with the files each owns, the build record's
//! compiled-out features, every ELF file's dependencies and mitigations, the entrypoint and the
//! modules it loads), the OpenVEX v0.2.0 status and justification, with the evidence.
//!
//! Pure: nothing here reads a file. In order:
//!
//! 1. no component of that name in the image: `not_affected` / `component_not_present`;
//! 2. a feature the build compiles out holds it: `not_affected` / `vulnerable_code_not_present`
//!    (the configure options and the binary that lacks the module, from
//!    [`crate::report::SourceBuild::compiled_out`]);
//! 3. every ELF file of the component is a library outside the load closure of the entrypoint
//!    ([`closure`]: DT_NEEDED transitively, plus what the closure may `dlopen`: libc's own
//!    NSS/gconv/libgcc_s/libidn2, OpenSSL's providers and engines, nginx's `load_module`
//!    modules; any other file importing `dlopen` makes the closure undecidable, and then no
//!    claim is made): `not_affected` / `vulnerable_code_not_in_execute_path`;
//! 4. else `affected`, the impact statement naming the SafeStack/CFI/CET of the binaries it
//!    runs in (mitigations, never a claim of `not_affected`); `under_investigation` when the
//!    image's SBOM is missing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::report::CompiledOut;
use crate::vuln::Match;

/// `schema` of [`ImageFacts`].
pub const FACTS_SCHEMA: &str = "armorred.dev/vex-facts/v1";

/// The in-toto predicate type the pipeline attests an image's facts with (the monitor reads
/// them from a registry).
pub const FACTS_PREDICATE_TYPE: &str = "https://armorred.dev/vex-facts/v1";

/// The image a statement is about, as grype and trivy name it (`pkg:oci`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The repository's last path component (`nginx`).
    pub name: String,
    /// The manifest digest (`sha256:<hex>`).
    pub digest: String,
    /// The repository without its last component (`127.0.0.1:5000`, `index.docker.io/library`),
    /// when the image is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

impl Product {
    /// The product identifiers: `pkg:oci/<name>@sha256%3A<hex>` with `repository_url` as grype
    /// builds it from a repo digest (the repository without the name), then as trivy does (the
    /// whole repository). One identifier when the image is not published.
    pub fn purls(&self) -> Vec<String> {
        let base = format!("pkg:oci/{}@{}", self.name, self.digest.replacen(':', "%3A", 1));
        match &self.registry {
            None => vec![base],
            Some(r) => vec![format!("{base}?repository_url={r}"), format!("{base}?repository_url={r}/{}", self.name)],
        }
    }
}

/// One component of the image's SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The files it owns (dpkg's `md5sums`; a source build's binaries); None when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

/// One ELF file of the image, as the checksec stage read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElfFile {
    /// Path in the image.
    pub path: String,
    /// DT_SONAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soname: Option<String>,
    /// DT_NEEDED.
    pub needed: Vec<String>,
    /// Imports `dlopen`/`dlmopen`.
    pub dlopen: bool,
    /// SafeStack.
    pub safestack: bool,
    /// clang CFI.
    pub cfi: bool,
    /// CET indirect branch tracking.
    pub cet_ibt: bool,
    /// CET shadow stack.
    pub cet_shstk: bool,
}

/// A module the entrypoint loads at run time, and how we know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadedModule {
    /// Its path in the image.
    pub path: String,
    /// Where it is named (`load_module in /etc/nginx/nginx.conf line 3`).
    pub by: String,
}

/// Everything the engine knows of one image; [`super::facts`] gathers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFacts {
    /// [`FACTS_SCHEMA`].
    pub schema: String,
    /// The image.
    pub product: Product,
    /// The SBOM's components; empty when there is no SBOM.
    pub components: Vec<Component>,
    /// What the build compiles out, with evidence.
    pub compiled_out: Vec<CompiledOut>,
    /// Every ELF file, when checksec ran; None when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf: Option<Vec<ElfFile>>,
    /// The executables the image runs (its config's entrypoint, else the command's first word),
    /// resolved to paths in the image.
    pub entrypoint: Vec<String>,
    /// Modules the entrypoint's configuration loads (nginx's `load_module`).
    pub modules: Vec<LoadedModule>,
    /// Why the modules could not be listed (a configuration we cannot read), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules_unknown: Option<String>,
}

/// A vulnerability found on a component (of this image, or of the image compared with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The vulnerability ID.
    pub id: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The component's name.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Its purl, when known.
    pub purl: Option<String>,
    /// Versions that fix it.
    pub fixed_in: Vec<String>,
}

impl From<&Match> for Subject {
    fn from(m: &Match) -> Self {
        Self {
            id: m.vulnerability.id.clone(),
            aliases: m.related.iter().map(|r| r.id.clone()).filter(|r| *r != m.vulnerability.id).collect(),
            package: m.artifact.name.clone(),
            version: m.artifact.version.clone(),
            purl: m.artifact.purl.clone(),
            fixed_in: m.vulnerability.fix_versions.clone(),
        }
    }
}

/// OpenVEX status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not affected (with a justification).
    NotAffected,
    /// Affected.
    Affected,
    /// Fixed.
    Fixed,
    /// Not decided yet.
    UnderInvestigation,
}

impl Status {
    /// OpenVEX's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Affected => "affected",
            Self::Fixed => "fixed",
            Self::UnderInvestigation => "under_investigation",
        }
    }
}

/// OpenVEX justification of `not_affected` (the ones this engine proves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    /// The component is not in the image.
    ComponentNotPresent,
    /// The vulnerable code is compiled out.
    VulnerableCodeNotPresent,
    /// The component is there but nothing the image runs loads it.
    VulnerableCodeNotInExecutePath,
}

impl Justification {
    /// OpenVEX's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ComponentNotPresent => "component_not_present",
            Self::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Self::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
        }
    }
}

/// One decision, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The vulnerability ID.
    pub vulnerability: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The component's name.
    pub component: String,
    /// The component's purl (the statement's subcomponent), when known.
    pub purl: Option<String>,
    /// The status.
    pub status: Status,
    /// The justification (`not_affected` only).
    pub justification: Option<Justification>,
    /// What it means for the image (`affected`: the mitigations; `not_affected`: why).
    pub impact: Option<String>,
    /// What to do (`affected`: the fix).
    pub action: Option<String>,
    /// The facts that prove it, one statement each.
    pub evidence: Vec<String>,
}

/// The load closure of the image's entrypoint: every ELF file that runs, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// Path -> how it is reached (`entrypoint`, `DT_NEEDED libssl.so.3 of /usr/sbin/nginx`, ...).
    pub files: BTreeMap<String, String>,
    /// Why the closure is not the whole truth, when it is not (then nothing is claimed from it).
    pub undecidable: Option<String>,
}

/// What libc (glibc) loads by itself, whatever the program: NSS modules (nsswitch.conf),
/// libgcc_s (unwinding, pthread_cancel), libidn2 (getaddrinfo AI_IDN), gconv modules (iconv).
fn libc_loads(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("libnss_")
        || name.starts_with("libgcc_s.so")
        || name.starts_with("libidn2.so")
        || (path.contains("/gconv/") && name.ends_with(".so"))
}

/// What OpenSSL's libcrypto loads: providers and engines from its module directories.
fn libcrypto_loads(path: &str) -> bool {
    (path.contains("/ossl-modules/") || path.contains("/engines-3/")) && path.ends_with(".so")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The load closure of `facts.entrypoint` (see the module documentation).
pub fn closure(facts: &ImageFacts) -> Closure {
    let mut files = BTreeMap::new();
    let Some(elf) = &facts.elf else {
        return Closure { files, undecidable: Some("the image's ELF files were not analysed".into()) };
    };
    let by_path: BTreeMap<&str, &ElfFile> = elf.iter().map(|f| (f.path.as_str(), f)).collect();
    // A DT_NEEDED name finds a library by its DT_SONAME, else by its file name.
    let mut by_soname: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in elf {
        by_soname.entry(f.soname.as_deref().unwrap_or_else(|| file_name(&f.path))).or_default().push(&f.path);
    }
    if facts.entrypoint.is_empty() {
        return Closure { files, undecidable: Some("the image's config names no entrypoint or command".into()) };
    }
    let mut undecidable = None;
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    for e in &facts.entrypoint {
        if !by_path.contains_key(e.as_str()) {
            return Closure {
                files,
                undecidable: Some(format!(
                    "the entrypoint {e} is not an ELF file of the image (a script runs anything)"
                )),
            };
        }
        queue.push_back((e.clone(), "the image's entrypoint".into()));
    }
    while let Some((path, why)) = queue.pop_front() {
        if files.contains_key(&path) {
            continue;
        }
        files.insert(path.clone(), why);
        let Some(f) = by_path.get(path.as_str()) else { continue };
        for n in &f.needed {
            match by_soname.get(n.as_str()) {
                Some(targets) => {
                    for t in targets {
                        queue.push_back(((*t).to_owned(), format!("DT_NEEDED {n} of {path}")));
                    }
                }
                None => {
                    undecidable.get_or_insert_with(|| format!("{path} needs {n}, which is not in the image"));
                }
            }
        }
        let name = file_name(&path);
        let soname = f.soname.as_deref().unwrap_or(name);
        let mut loads: Vec<(&str, String)> = Vec::new();
        if soname.starts_with("libc.so") {
            for g in elf.iter().filter(|g| libc_loads(&g.path)) {
                loads.push((&g.path, format!("loaded by {path} itself (NSS, unwinding, IDN or iconv modules)")));
            }
        } else if soname.starts_with("libcrypto.so") {
            for g in elf.iter().filter(|g| libcrypto_loads(&g.path)) {
                loads.push((&g.path, format!("an OpenSSL provider or engine {path} may load")));
            }
        } else if f.dlopen && facts.entrypoint.contains(&path) && name == "nginx" {
            match &facts.modules_unknown {
                Some(why) => {
                    undecidable.get_or_insert_with(|| format!("{path} loads modules and {why}"));
                }
                None => {
                    for m in &facts.modules {
                        loads.push((&m.path, format!("dlopen'ed by {path}: {}", m.by)));
                    }
                }
            }
        } else if f.dlopen {
            undecidable.get_or_insert_with(|| {
                format!("{path} imports dlopen and what it loads is not known (no claim is made from the closure)")
            });
        }
        for (p, why) in loads {
            if by_path.contains_key(p) {
                queue.push_back((p.to_owned(), why));
            } else {
                undecidable.get_or_insert_with(|| format!("{p} ({why}) is not an ELF file of the image"));
            }
        }
    }
    Closure { files, undecidable }
}

fn is_library(path: &str) -> bool {
    let name = file_name(path);
    let in_bin = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"]
        .iter()
        .any(|d| path.starts_with(d));
    !in_bin && (name.contains(".so") || path.contains("/lib"))
}

fn mitigations(f: &ElfFile) -> String {
    let mut m = Vec::new();
    if f.safestack {
        m.push("SafeStack");
    }
    if f.cfi {
        m.push("clang CFI");
    }
    match (f.cet_ibt, f.cet_shstk) {
        (true, true) => m.push("CET (IBT and shadow stack)"),
        (true, false) => m.push("CET IBT"),
        (false, true) => m.push("CET shadow stack"),
        (false, false) => {}
    }
    if m.is_empty() {
        format!("{} has no SafeStack, CFI or CET", f.path)
    } else {
        format!("{} has {}", f.path, m.join(", "))
    }
}

fn ids(s: &Subject) -> Vec<&str> {
    std::iter::once(s.id.as_str()).chain(s.aliases.iter().map(String::as_str)).collect()
}

/// Decides one finding against the image's facts (see the module documentation).
pub fn decide(facts: &ImageFacts, s: &Subject) -> Decision {
    let mut d = Decision {
        vulnerability: s.id.clone(),
        aliases: s.aliases.clone(),
        component: s.package.clone(),
        purl: s.purl.clone(),
        status: Status::UnderInvestigation,
        justification: None,
        impact: None,
        action: None,
        evidence: Vec::new(),
    };
    let image = format!("{}@{}", facts.product.name, facts.product.digest);
    if facts.components.is_empty() {
        d.evidence.push(format!("no SBOM of {image}: whether it ships {} is not known", s.package));
        return d;
    }
    let Some(component) = facts.components.iter().find(|c| c.name == s.package) else {
        d.status = Status::NotAffected;
        d.justification = Some(Justification::ComponentNotPresent);
        d.impact = Some(format!("{image} does not contain {}", s.package));
        d.evidence.push(format!(
            "no component named {} among the {} components of the SBOM of {image}",
            s.package,
            facts.components.len()
        ));
        return d;
    };
    if d.purl.is_none() {
        d.purl = component.purl.clone();
    }
    let wanted = ids(s);
    let out: Vec<&CompiledOut> = facts
        .compiled_out
        .iter()
        .filter(|c| c.component == component.name && c.vulnerabilities.iter().any(|v| wanted.contains(&v.as_str())))
        .collect();
    if !out.is_empty() {
        d.status = Status::NotAffected;
        d.justification = Some(Justification::VulnerableCodeNotPresent);
        let features: Vec<&str> = out.iter().map(|c| c.feature.as_str()).collect();
        d.impact = Some(format!(
            "{} {} in {image} is built without {}, the code {} is in",
            component.name,
            component.version,
            features.join(", "),
            s.id
        ));
        d.evidence = out.iter().flat_map(|c| c.evidence.iter().cloned()).collect();
        return d;
    }
    let reach = closure(facts);
    let elf_paths: BTreeSet<&str> = facts.elf.iter().flatten().map(|f| f.path.as_str()).collect();
    let owned: Option<Vec<&str>> = component
        .files
        .as_ref()
        .map(|files| files.iter().map(String::as_str).filter(|p| elf_paths.contains(p)).collect());
    let reached: Vec<&str> = owned.iter().flatten().copied().filter(|p| reach.files.contains_key(*p)).collect();
    if let (Some(owned), None, true) = (&owned, &reach.undecidable, reached.is_empty()) {
        if !owned.is_empty() && owned.iter().all(|p| is_library(p)) {
            d.status = Status::NotAffected;
            d.justification = Some(Justification::VulnerableCodeNotInExecutePath);
            d.impact =
                Some(format!("{} is in {image}, but nothing the image runs loads its libraries", component.name));
            d.evidence.push(format!("entrypoint: {}", facts.entrypoint.join(", ")));
            d.evidence.push(format!(
                "load closure (DT_NEEDED transitively, libc's and OpenSSL's own modules, load_module lines): {}",
                reach.files.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            d.evidence.push(format!("the ELF files of {} ({}) are in none of it", component.name, owned.join(", ")));
            if facts.modules.is_empty() {
                d.evidence.push("the entrypoint's configuration loads no module (no load_module line)".into());
            }
            return d;
        }
    }
    d.status = Status::Affected;
    let runs_in: Vec<&ElfFile> = facts
        .elf
        .iter()
        .flatten()
        .filter(|f| reached.contains(&f.path.as_str()) || facts.entrypoint.contains(&f.path))
        .collect();
    let mut impact = format!("{} {} in {image} is affected", component.name, component.version);
    if !runs_in.is_empty() {
        impact.push_str(&format!(
            "; mitigations that make exploiting it harder (not a claim that it is not exploitable): {}",
            runs_in.iter().map(|f| mitigations(f)).collect::<Vec<_>>().join("; ")
        ));
    }
    d.impact = Some(impact);
    d.action = Some(if s.fixed_in.is_empty() {
        format!("No fixed version of {} yet: watch for one (armorred monitor rebuilds when it appears)", s.package)
    } else {
        format!("Update {} to {} (a rebuild of the image)", s.package, s.fixed_in.join(" or "))
    });
    if !reached.is_empty() {
        for p in &reached {
            d.evidence.push(format!("{p} of {} runs: {}", component.name, reach.files[*p]));
        }
    } else {
        d.evidence.push(match (&owned, &reach.undecidable) {
            (None, _) => format!("the files of {} are not known: its reachability was not analysed", component.name),
            (Some(o), _) if o.is_empty() => {
                format!("{} has no ELF file: its reachability was not analysed", component.name)
            }
            (_, Some(why)) => format!("reachability not claimed: {why}"),
            (Some(_), None) => format!("{} ships executables, which the image could run", component.name),
        });
    }
    d
}

/// One decision per distinct (vulnerability, component) of a scan, in the scan's order.
pub fn decide_all(facts: &ImageFacts, scan: &crate::vuln::ScanResult) -> Vec<Decision> {
    let mut seen = BTreeSet::new();
    scan.matches
        .iter()
        .filter(|m| seen.insert((m.vulnerability.id.clone(), m.artifact.name.clone())))
        .map(|m| decide(facts, &Subject::from(m)))
        .collect()
}

#[cfg(test)]
mod tests;

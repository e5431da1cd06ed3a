//! `scan_packages`: every matcher over every package, alias merging (one flaw found through two
//! feeds is one finding), severity, then VEX, ignore rules and filters.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::db::Db;
use super::error::Result;
use super::ignore::IgnoreRule;
use super::matcher::{self, MatchOptions, RawMatch};
use super::model::{Cvss, FixState, Severity};
pub use super::model::{Distro, Match, MatchDetail, Related, ScanPackage, VulnInfo};
use super::severity;
use super::vex::VexStatement;

/// Scan options.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Also run CPE matching for language packages.
    pub cpe_for_language_packages: bool,
    /// Drop matches without a fix.
    pub only_fixed: bool,
    /// Drop matches in these fix states.
    pub ignore_states: Vec<FixState>,
    /// Ignore rules (config file).
    pub ignore_rules: Vec<IgnoreRule>,
    /// OpenVEX statements, applied before `fail_on`.
    pub vex: Vec<VexStatement>,
    /// Exit-1 threshold.
    pub fail_on: Option<Severity>,
}

/// What a scan did, for tests and benchmarks: how often each matcher looked a key up (the
/// number of distinct keys when memoised) and how many queries reached the DB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Lookups by matcher name (calls of [`matcher::Matcher::find`]).
    pub lookups: std::collections::BTreeMap<&'static str, u64>,
    /// SQL queries made by this scan (the DB handle memoises rows across scans too).
    pub db_queries: u64,
}

/// A match dropped by VEX, an ignore rule or a filter, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredMatch {
    /// The match.
    #[serde(flatten)]
    pub finding: Match,
    /// Why it was dropped.
    pub reason: String,
}

/// The scan's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// Findings, sorted by severity (highest first), then package, then ID.
    pub matches: Vec<Match>,
    /// Dropped findings.
    pub ignored: Vec<IgnoredMatch>,
    /// The DB's sha256.
    pub db_sha256: String,
    /// When the DB was built.
    pub db_built: Option<String>,
    /// Sources in the DB (`name` and newest record date).
    pub db_sources: Vec<(String, Option<String>)>,
    /// Notes for the reader (partial distro data, ...).
    pub notes: Vec<String>,
    /// Packages scanned.
    pub packages: usize,
    /// What the scan did (not serialized).
    #[serde(skip)]
    pub stats: ScanStats,
}

impl ScanResult {
    /// Counts per severity, highest first.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::DESCENDING
            .iter()
            .map(|s| (*s, self.matches.iter().filter(|m| m.vulnerability.severity == *s).count()))
            .collect()
    }

    /// "Critical (0), High (1), Medium (3), Low (0), Negligible (2), Unknown (0)".
    pub fn summary_line(&self) -> String {
        self.counts().iter().map(|(s, n)| format!("{} ({n})", s.as_str())).collect::<Vec<_>>().join(", ")
    }

    /// Whether a finding reaches the `fail_on` threshold.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.matches
            .iter()
            .any(|m| m.vulnerability.severity >= threshold && m.vulnerability.severity != Severity::Unknown)
    }
}

struct Merged {
    ids: BTreeSet<String>,
    raws: Vec<Rc<RawMatch>>,
}

/// The shared parts of one finding, before it is given its package.
type Built = (Arc<VulnInfo>, Arc<Vec<Related>>, Arc<Vec<MatchDetail>>);

/// Scans packages against the DB.
///
/// Each matcher's lookups are memoised for the scan by [`matcher::Matcher::memo_key`], and so
/// are the findings built from them: packages that share a lookup (binary packages of one
/// source at one version) share their findings' data, whatever their number.
pub fn scan_packages(db: &Db, packages: &[ScanPackage], opts: &ScanOptions) -> Result<ScanResult> {
    let matchers = matcher::all();
    let match_opts = MatchOptions { cpe_for_language_packages: opts.cpe_for_language_packages };
    let queries_before = db.query_count();
    let mut stats = ScanStats::default();
    let mut raw_memo: HashMap<(&'static str, String), Rc<Vec<Rc<RawMatch>>>> = HashMap::new();
    // Keyed by the addresses of memoised raw matches (kept alive by `raw_memo`).
    let mut built_memo: HashMap<Vec<usize>, Rc<Vec<Built>>> = HashMap::new();
    let mut matches = Vec::new();
    let mut namespaces_used = BTreeSet::new();
    for pkg in packages {
        let mut raws: Vec<Rc<RawMatch>> = Vec::new();
        let mut all_memoised = true;
        let kind = pkg.package_type();
        for m in matchers.iter().filter(|m| m.package_types().contains(&kind)) {
            let key = m.memo_key(pkg);
            if let Some(hit) = key.as_ref().and_then(|k| raw_memo.get(&(m.name(), k.clone()))) {
                raws.extend(hit.iter().cloned());
                continue;
            }
            let mut out = Vec::new();
            m.find(db, pkg, &match_opts, &mut out)?;
            *stats.lookups.entry(m.name()).or_default() += 1;
            let found: Vec<Rc<RawMatch>> = out.into_iter().map(Rc::new).collect();
            raws.extend(found.iter().cloned());
            match key {
                Some(k) => {
                    raw_memo.insert((m.name(), k), Rc::new(found));
                }
                None => all_memoised &= found.is_empty(),
            }
        }
        if let Some(d) = &pkg.distro {
            if d.id == "debian" {
                if let Some(c) = d.debian_codename() {
                    namespaces_used.insert(format!("debian:{c}"));
                }
            }
        }
        if raws.is_empty() {
            continue;
        }
        let built = if all_memoised {
            let key: Vec<usize> = raws.iter().map(|r| Rc::as_ptr(r) as usize).collect();
            match built_memo.get(&key) {
                Some(b) => b.clone(),
                None => {
                    let b = Rc::new(build_all(db, raws)?);
                    built_memo.insert(key, b.clone());
                    b
                }
            }
        } else {
            Rc::new(build_all(db, raws)?)
        };
        let artifact = Arc::new(pkg.clone());
        for (vulnerability, related, details) in built.iter() {
            matches.push(Match {
                vulnerability: vulnerability.clone(),
                related: related.clone(),
                artifact: artifact.clone(),
                details: details.clone(),
            });
        }
    }
    stats.db_queries = db.query_count() - queries_before;
    // Filters: VEX first, then ignore rules, then fix-state filters.
    let mut kept = Vec::new();
    let mut ignored = Vec::new();
    for m in matches {
        if let Some(reason) = super::vex::suppresses(&opts.vex, &m) {
            ignored.push(IgnoredMatch { finding: m, reason });
        } else if let Some(reason) = opts.ignore_rules.iter().find_map(|r| r.applies(&m)) {
            ignored.push(IgnoredMatch { finding: m, reason });
        } else if opts.only_fixed && m.vulnerability.fix_state != FixState::Fixed {
            ignored.push(IgnoredMatch { finding: m, reason: "--only-fixed".into() });
        } else if opts.ignore_states.contains(&m.vulnerability.fix_state) {
            let reason = format!("--ignore-states {}", m.vulnerability.fix_state.as_str());
            ignored.push(IgnoredMatch { finding: m, reason });
        } else {
            kept.push(m);
        }
    }
    // Compared in place: no key is built (and allocated) per comparison.
    fn key(m: &Match) -> (std::cmp::Reverse<Severity>, &str, &str, &str) {
        (std::cmp::Reverse(m.vulnerability.severity), &m.artifact.name, &m.artifact.version, &m.vulnerability.id)
    }
    let order = |a: &Match, b: &Match| key(a).cmp(&key(b));
    kept.sort_by(order);
    ignored.sort_by(|a, b| order(&a.finding, &b.finding));
    let mut notes = Vec::new();
    let partial = db.partial_namespaces();
    for ns in &namespaces_used {
        if let Some(why) = partial.get(ns) {
            let full =
                db.sources().iter().any(|s| s.format == "debian" && !s.partial.contains_key(ns) && s.records > 1000);
            if !full {
                notes.push(format!(
                    "{ns}: distro data is partial ({}); unfixed/no-dsa/ignored/postponed statuses are missing, so findings are a lower bound",
                    why.join("; ")
                ));
            }
        }
        if !db.sources().iter().any(|s| s.format == "debian") {
            notes.push(format!("{ns}: no Debian tracker data in the DB"));
        }
    }
    Ok(ScanResult {
        matches: kept,
        ignored,
        db_sha256: db.sha256().to_string(),
        db_built: db.built().map(str::to_string),
        db_sources: db.sources().iter().map(|s| (s.name.clone(), s.newest.clone())).collect(),
        notes,
        packages: packages.len(),
        stats,
    })
}

/// Merges raw matches whose ID sets (ID + aliases) overlap, and builds one finding per group.
fn build_all(db: &Db, raws: Vec<Rc<RawMatch>>) -> Result<Vec<Built>> {
    let mut groups: Vec<Merged> = Vec::new();
    for r in raws {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        ids.insert(r.vuln_id.clone());
        for (_, a) in db.advisories(&r.vuln_id)?.iter() {
            ids.extend(a.aliases.iter().cloned());
        }
        let mut hit: Vec<usize> =
            groups.iter().enumerate().filter(|(_, g)| !g.ids.is_disjoint(&ids)).map(|(i, _)| i).collect();
        if hit.is_empty() {
            groups.push(Merged { ids, raws: vec![r] });
        } else {
            let first = hit.remove(0);
            for i in hit.into_iter().rev() {
                let g = groups.remove(i);
                groups[first].ids.extend(g.ids);
                groups[first].raws.extend(g.raws);
            }
            groups[first].ids.extend(ids);
            groups[first].raws.push(r);
        }
    }
    groups.into_iter().map(|g| build_match(db, g)).collect()
}

fn pick_primary(g: &Merged) -> usize {
    // Distro matchers first (their IDs and severities are the vendor's), then CVE IDs.
    let rank = |r: &RawMatch| {
        let distro = matches!(r.matcher, "dpkg-matcher" | "apk-matcher");
        (!distro, !r.vuln_id.starts_with("CVE-"), r.matcher == "cpe-matcher", r.vuln_id.clone())
    };
    (0..g.raws.len()).min_by_key(|i| rank(&g.raws[*i])).unwrap_or(0)
}

fn build_match(db: &Db, g: Merged) -> Result<Built> {
    let p = pick_primary(&g);
    let primary = &g.raws[p];
    let id = primary.vuln_id.clone();
    // Fix: the primary's; if it has none, any other record's fix.
    let mut fix_state = primary.fix_state;
    let mut fix_versions = primary.fix_versions.clone();
    if fix_state != FixState::Fixed {
        if let Some(r) = g
            .raws
            .iter()
            .find(|r| r.fix_state == FixState::Fixed && !matches!(primary.matcher, "dpkg-matcher" | "apk-matcher"))
        {
            fix_state = r.fix_state;
            fix_versions = r.fix_versions.clone();
        }
    }
    let own = db.advisories(&id)?;
    let mut all_cvss: Vec<Cvss> = own.iter().flat_map(|(_, a)| a.cvss.clone()).collect();
    let mut description = own.iter().map(|(_, a)| a.summary.clone()).find(|s| !s.is_empty()).unwrap_or_default();
    let urls: Vec<String> = own.iter().flat_map(|(_, a)| a.urls.clone()).take(10).collect();
    let mut related = Vec::new();
    for rid in g.ids.iter().filter(|x| **x != id) {
        let advs = db.advisories(rid)?;
        if advs.is_empty() {
            // An alias with no record of its own is still named (VEX and ignore rules use it).
            related.push(Related {
                id: rid.clone(),
                namespace: "alias".into(),
                severity: Severity::Unknown,
                cvss: Vec::new(),
                description: String::new(),
            });
            continue;
        }
        let cv: Vec<Cvss> = advs.iter().flat_map(|(_, a)| a.cvss.clone()).collect();
        let sev = severity::from_cvss(&cv)
            .map(|x| x.0)
            .or_else(|| advs.iter().find_map(|(_, a)| a.vendor_severity.as_deref().and_then(Severity::parse)))
            .unwrap_or(Severity::Unknown);
        let d = advs.iter().map(|(_, a)| a.summary.clone()).find(|s| !s.is_empty()).unwrap_or_default();
        if description.is_empty() {
            description = d.clone();
        }
        all_cvss.extend(cv.iter().cloned());
        related.push(Related {
            id: rid.clone(),
            namespace: advs[0].0.clone(),
            severity: sev,
            cvss: cv,
            description: d,
        });
    }
    // Severity: vendor (distro) first; else CVSS v4/v3 from the vectors; else OSV's word.
    let distro_vendor =
        g.raws.iter().filter(|r| matches!(r.matcher, "dpkg-matcher" | "apk-matcher")).find_map(|r| r.vendor_severity);
    let (sev, source, score) = if let Some(s) = distro_vendor {
        (s, "vendor", None)
    } else if let Some((s, score)) = severity::from_cvss(&all_cvss) {
        (s, "cvss", Some(score))
    } else if let Some(s) = g.raws.iter().find_map(|r| r.vendor_severity) {
        (s, "osv", None)
    } else {
        (Severity::Unknown, "none", None)
    };
    let details = g
        .raws
        .iter()
        .map(|r| MatchDetail {
            kind: r.match_type.to_string(),
            matcher: r.matcher.to_string(),
            searched_by: r.searched_by.clone(),
            found: r.found.clone(),
        })
        .collect();
    Ok((
        Arc::new(VulnInfo {
            id,
            namespace: primary.namespace.clone(),
            severity: sev,
            severity_source: source.to_string(),
            cvss_score: score,
            cvss: own.iter().flat_map(|(_, a)| a.cvss.clone()).collect(),
            description,
            fix_state,
            fix_versions,
            urls,
        }),
        Arc::new(related),
        Arc::new(details),
    ))
}

//! OSV records for language ecosystems (and any OSV ecosystem a package maps to): ECOSYSTEM and
//! SEMVER ranges, explicit `versions` lists; withdrawn records are skipped.

use std::cmp::Ordering;

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::version::Scheme;
use crate::vuln::error::Result;
use crate::vuln::model::{normalize_name, AffectedData, Event, FixState, PackageType, Range, ScanPackage, Severity};
use crate::vuln::provider::Provider;

/// The OSV matcher.
#[derive(Debug, Clone, Copy)]
pub struct OsvMatcher;

/// Whether `version` is inside `range` (OSV's event algorithm), and the fix versions above it.
pub fn in_range(scheme: Scheme, version: &str, range: &Range) -> Option<(bool, Vec<String>)> {
    let cmp = |a: &str, b: &str| -> Option<Ordering> {
        if range.kind == "SEMVER" {
            Scheme::Semver.compare(a, b).ok()
        } else {
            scheme.compare(a, b).ok()
        }
    };
    let mut affected = false;
    let mut fixes = Vec::new();
    // Events in version order ("0" first), as the OSV schema's evaluation requires.
    let key = |e: &Event| match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v.clone(),
    };
    let mut events = range.events.clone();
    let mut bad = false;
    events.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        match (ka.as_str(), kb.as_str()) {
            ("0", "0") => Ordering::Equal,
            ("0", _) => Ordering::Less,
            (_, "0") => Ordering::Greater,
            _ => cmp(&ka, &kb).unwrap_or_else(|| {
                bad = true;
                Ordering::Equal
            }),
        }
    });
    if bad {
        return None;
    }
    for e in &events {
        match e {
            Event::Introduced(v) => {
                if v == "0" || cmp(version, v)? != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(v) => {
                if cmp(version, v)? != Ordering::Less {
                    affected = false;
                } else if affected {
                    fixes.push(v.clone());
                }
            }
            Event::LastAffected(v) => {
                if cmp(version, v)? == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(v) => {
                if cmp(version, v)? != Ordering::Less {
                    affected = false;
                }
            }
        }
    }
    if !affected {
        fixes.clear();
    }
    fixes.truncate(1);
    Some((affected, fixes))
}

/// The OSV ecosystem and package name of a scanned package, if any.
pub fn ecosystem_of(pkg: &ScanPackage) -> Option<(String, String)> {
    if let Some(purl) = pkg.purl.as_deref() {
        if let Ok(p) = purl.parse::<packageurl::PackageUrl>() {
            let name = p.name().to_string();
            let ns = p.namespace().map(str::to_string);
            let eco = match p.ty() {
                "pypi" => "PyPI",
                "golang" => "Go",
                "cargo" => "crates.io",
                "npm" => "npm",
                "maven" => "Maven",
                "gem" => "RubyGems",
                "nuget" => "NuGet",
                "composer" => "Packagist",
                "pub" => "Pub",
                "hex" => "Hex",
                _ => "",
            };
            if !eco.is_empty() {
                let full = match (eco, ns) {
                    ("Go", Some(ns)) => format!("{ns}/{name}"),
                    ("Maven", Some(ns)) => format!("{ns}:{name}"),
                    ("npm", Some(ns)) => format!("{ns}/{name}"),
                    ("Packagist", Some(ns)) => format!("{ns}/{name}"),
                    _ => name,
                };
                return Some((eco.to_string(), normalize_name(eco, &full)));
            }
        }
    }
    let d = pkg.distro.as_ref()?;
    let src = pkg.source_name.clone().unwrap_or_else(|| pkg.name.clone());
    match d.id.as_str() {
        "debian" => Some((format!("Debian:{}", d.version_id.split('.').next().unwrap_or("")), src)),
        "alpine" => {
            let mut it = d.version_id.split('.');
            Some((format!("Alpine:v{}.{}", it.next().unwrap_or(""), it.next().unwrap_or("")), src))
        }
        "ubuntu" => Some((format!("Ubuntu:{}", d.version_id), src)),
        _ => None,
    }
}

/// The version an OSV record is compared with: the source version for distro packages.
fn lookup_version(pkg: &ScanPackage) -> &str {
    if pkg.distro.is_some() && pkg.purl_type() != Some("pypi") {
        pkg.source_version.as_deref().unwrap_or(&pkg.version)
    } else {
        pkg.version.as_str()
    }
}

impl Matcher for OsvMatcher {
    fn name(&self) -> &'static str {
        "osv-matcher"
    }

    fn package_types(&self) -> &'static [PackageType] {
        // Language packages by their purl's ecosystem, distro packages by their distro's.
        &PackageType::ALL
    }

    fn memo_key(&self, pkg: &ScanPackage) -> Option<String> {
        let (eco, name) = ecosystem_of(pkg)?;
        Some(format!("{eco}\0{name}\0{}", lookup_version(pkg)))
    }

    fn find(
        &self,
        provider: &dyn Provider,
        pkg: &ScanPackage,
        _opts: &MatchOptions,
        out: &mut Vec<RawMatch>,
    ) -> Result<()> {
        let Some((eco, name)) = ecosystem_of(pkg) else {
            return Ok(());
        };
        let Some(scheme) = Scheme::for_ecosystem(&eco) else {
            return Ok(());
        };
        let version = lookup_version(pkg);
        let rows = provider.affected(&eco, &name)?;
        // One raw match per advisory, over all its rows and ranges.
        let mut by_id: Vec<(String, Vec<String>, Option<String>)> = Vec::new();
        for a in rows.iter() {
            let AffectedData::Osv { ranges, versions, severity } = &a.data else {
                continue;
            };
            let mut hit =
                versions.iter().any(|v| v == version || scheme.compare(v, version).ok() == Some(Ordering::Equal));
            let mut fixes = Vec::new();
            for r in ranges {
                if let Some((aff, f)) = in_range(scheme, version, r) {
                    if aff {
                        hit = true;
                        fixes.extend(f);
                    }
                }
            }
            if !hit {
                continue;
            }
            match by_id.iter_mut().find(|(id, _, _)| *id == a.vuln_id) {
                Some(slot) => slot.1.extend(fixes),
                None => by_id.push((a.vuln_id.clone(), fixes, severity.clone())),
            }
        }
        for (id, mut fixes, severity) in by_id {
            let withdrawn = provider.advisories(&id)?.iter().any(|(_, adv)| adv.withdrawn.is_some());
            if withdrawn {
                continue;
            }
            fixes.sort();
            fixes.dedup();
            out.push(RawMatch {
                vuln_id: id.clone(),
                namespace: eco.clone(),
                matcher: self.name(),
                match_type: "exact-direct-match",
                fix_state: if fixes.is_empty() { FixState::NotFixed } else { FixState::Fixed },
                fix_versions: fixes,
                vendor_severity: severity.as_deref().and_then(Severity::parse),
                searched_by: json!({"ecosystem": eco, "package": {"name": name, "version": version}}),
                found: json!({"vulnerabilityID": id}),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::matcher::table::{distro, expect, lang, mini_db, run, Case};
    use FixState::*;

    #[test]
    fn table() {
        let db = mini_db("osv");
        let opts = MatchOptions::default();
        let cases: Vec<Case> = vec![
            (
                "Go: SEMVER range, below the fix",
                lang("pkg:golang/golang.org/x/text@v0.3.2"),
                expect(&[("GO-2020-0015", Fixed, &["0.3.3"])]),
            ),
            ("Go: at the fix", lang("pkg:golang/golang.org/x/text@v0.3.3"), expect(&[])),
            ("Go: a withdrawn record", lang("pkg:golang/github.com/gorilla/sessions@v1.2.1"), expect(&[])),
            (
                "PyPI: two records, the name normalised (PEP 503)",
                lang("pkg:pypi/Jinja2@2.10"),
                expect(&[("PYSEC-2019-217", Fixed, &["2.10.1"]), ("PYSEC-2021-66", Fixed, &["2.11.3"])]),
            ),
            ("PyPI: at the newest fix", lang("pkg:pypi/jinja2@2.11.3"), expect(&[])),
            (
                "crates.io: inside introduced..fixed",
                lang("pkg:cargo/smallvec@0.6.9"),
                expect(&[("RUSTSEC-2019-0009", Fixed, &["0.6.10"])]),
            ),
            ("crates.io: before introduced", lang("pkg:cargo/smallvec@0.6.4"), expect(&[])),
            ("npm: no records in this DB", lang("pkg:npm/smallvec@0.6.9"), expect(&[])),
            (
                "a Debian package: looked up in Debian:12, which has no records here",
                ScanPackage {
                    name: "golang-golang-x-text-dev".into(),
                    version: "0.3.2-1".into(),
                    purl: Some("pkg:deb/debian/golang-golang-x-text-dev@0.3.2-1".into()),
                    distro: Some(distro("debian", "12", Some("bookworm"))),
                    ..ScanPackage::default()
                },
                expect(&[]),
            ),
        ];
        for (what, pkg, want) in cases {
            assert_eq!(run(&OsvMatcher, &db, &pkg, &opts), want, "{what}: {pkg:?}");
        }
    }

    fn r(events: Vec<Event>) -> Range {
        Range { kind: "ECOSYSTEM".into(), events }
    }

    #[test]
    fn ranges() {
        use Event::*;
        let range = r(vec![Introduced("0".into()), Fixed("1.2.3".into())]);
        assert_eq!(in_range(Scheme::Pep440, "1.2.2", &range), Some((true, vec!["1.2.3".into()])));
        assert_eq!(in_range(Scheme::Pep440, "1.2.3", &range), Some((false, vec![])));
        let two = r(vec![
            Introduced("1.0".into()),
            Fixed("1.5".into()),
            Introduced("2.0".into()),
            LastAffected("2.3".into()),
        ]);
        assert_eq!(in_range(Scheme::Pep440, "0.9", &two), Some((false, vec![])));
        assert_eq!(in_range(Scheme::Pep440, "1.7", &two), Some((false, vec![])));
        assert_eq!(in_range(Scheme::Pep440, "2.3", &two), Some((true, vec![])));
        assert_eq!(in_range(Scheme::Pep440, "2.4", &two), Some((false, vec![])));
    }
}

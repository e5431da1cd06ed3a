//! Dependency resolution: the closure of Depends and Pre-Depends of the wanted packages, picking
//! the highest candidate across suites (a later suite, e.g. security, wins a tie), following
//! alternatives in order and virtual packages through Provides. Excluded packages satisfy any
//! dependency on them without being installed. No backtracking: a conflict is an error that names
//! the chain from the wanted package.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::index::{compare_versions, Candidate, Indices, Relation};
use super::DebianError;

/// What to resolve.
#[derive(Debug, Clone, Default)]
pub struct ResolveRequest {
    /// Packages wanted explicitly.
    pub wanted: Vec<String>,
    /// Packages never installed; dependencies on them count as satisfied.
    pub exclude: BTreeSet<String>,
}

/// The resolved closure.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// Chosen packages by name.
    pub packages: BTreeMap<String, Candidate>,
    /// For each chosen package, who pulled it in (`None` for wanted ones).
    pub required_by: BTreeMap<String, Option<String>>,
    /// Excluded packages some dependency named, with the first package that named them.
    pub excluded_hits: BTreeMap<String, String>,
}

/// Resolves `req` over `indices`.
pub fn resolve(indices: &Indices, req: &ResolveRequest) -> Result<Resolution, DebianError> {
    let mut res = Resolution::default();
    let mut queue = VecDeque::new();
    let mut wanted = req.wanted.clone();
    wanted.sort();
    wanted.dedup();
    for name in &wanted {
        if req.exclude.contains(name) {
            return Err(DebianError::Resolve {
                chain: name.clone(),
                detail: "the package is both wanted and excluded".into(),
            });
        }
        let rel = Relation { name: name.clone(), constraint: None };
        let c = best_real(indices, &rel).ok_or_else(|| DebianError::Resolve {
            chain: name.clone(),
            detail: format!("no package {name} in {}", suite_list(indices)),
        })?;
        if !res.packages.contains_key(name) {
            res.packages.insert(name.clone(), c.clone());
            res.required_by.insert(name.clone(), None);
            queue.push_back(name.clone());
        }
    }
    while let Some(name) = queue.pop_front() {
        let pkg = res.packages[&name].clone();
        for group in pkg.pre_depends.iter().chain(&pkg.depends) {
            if let Some(ex) = group.iter().find(|r| req.exclude.contains(&r.name)) {
                res.excluded_hits.entry(ex.name.clone()).or_insert_with(|| name.clone());
                continue;
            }
            if group.iter().any(|r| satisfied(&res, r)) {
                continue;
            }
            let mut chosen = None;
            let mut why = Vec::new();
            for rel in group {
                if let Some(c) = best_real(indices, rel) {
                    if let Some(have) = res.packages.get(&c.name) {
                        why.push(format!("{rel} conflicts with the chosen {} {}", have.name, have.version));
                        continue;
                    }
                    chosen = Some(c.clone());
                    break;
                }
                if let Some(c) = best_provider(indices, rel, &req.exclude) {
                    if res.packages.contains_key(&c.name) {
                        continue;
                    }
                    chosen = Some(c.clone());
                    break;
                }
                why.push(match indices.packages.get(&rel.name) {
                    Some(cands) => format!(
                        "{rel}: only {} available",
                        cands.iter().map(|c| format!("{} ({})", c.version, c.suite)).collect::<Vec<_>>().join(", ")
                    ),
                    None => format!("{rel}: no such package or provider"),
                });
            }
            let Some(c) = chosen else {
                let alts: Vec<String> = group.iter().map(Relation::to_string).collect();
                return Err(DebianError::Resolve {
                    chain: format!("{} -> {}", chain(&res, &name), alts.join(" | ")),
                    detail: why.join("; "),
                });
            };
            res.required_by.insert(c.name.clone(), Some(name.clone()));
            queue.push_back(c.name.clone());
            res.packages.insert(c.name.clone(), c);
        }
    }
    Ok(res)
}

fn suite_list(indices: &Indices) -> String {
    let names: Vec<&str> = indices.suites.iter().map(|s| s.name.as_str()).collect();
    if names.is_empty() {
        "the indices".into()
    } else {
        names.join(", ")
    }
}

/// `a -> b -> c` from the wanted package down to `name`.
fn chain(res: &Resolution, name: &str) -> String {
    let mut parts = vec![name.to_string()];
    let mut cur = name.to_string();
    while let Some(Some(parent)) = res.required_by.get(&cur) {
        if parts.contains(parent) {
            break;
        }
        parts.push(parent.clone());
        cur = parent.clone();
    }
    parts.reverse();
    parts.join(" -> ")
}

fn satisfied(res: &Resolution, rel: &Relation) -> bool {
    if let Some(p) = res.packages.get(&rel.name) {
        if rel.accepts(&p.version) {
            return true;
        }
    }
    res.packages.values().any(|p| {
        p.provides.iter().any(|(virt, ver)| {
            virt == &rel.name
                && match (&rel.constraint, ver) {
                    (None, _) => true,
                    (Some(_), Some(v)) => rel.accepts(v),
                    (Some(_), None) => false,
                }
        })
    })
}

/// The highest real candidate named `rel.name` that satisfies `rel`; ties go to the later suite.
fn best_real<'a>(indices: &'a Indices, rel: &Relation) -> Option<&'a Candidate> {
    indices
        .packages
        .get(&rel.name)?
        .iter()
        .filter(|c| rel.accepts(&c.version))
        .max_by(|a, b| compare_versions(&a.version, &b.version).then(a.suite_rank.cmp(&b.suite_rank)))
}

/// A real package providing `rel.name`: the first by name whose best candidate qualifies.
fn best_provider<'a>(indices: &'a Indices, rel: &Relation, exclude: &BTreeSet<String>) -> Option<&'a Candidate> {
    let mut names: Vec<&String> =
        indices.providers.get(&rel.name)?.iter().map(|(n, _)| n).filter(|n| !exclude.contains(*n)).collect();
    names.sort();
    names.dedup();
    names.into_iter().find_map(|n| {
        indices.packages.get(n)?.iter().find(|c| {
            c.provides.iter().any(|(v, ver)| {
                v == &rel.name
                    && match (&rel.constraint, ver) {
                        (None, _) => true,
                        (Some(_), Some(pv)) => rel.accepts(pv),
                        _ => false,
                    }
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::index::parse_relations;
    use super::*;

    fn cand(name: &str, version: &str, suite: usize, deps: &str, provides: &str) -> Candidate {
        Candidate {
            name: name.into(),
            version: version.into(),
            architecture: "amd64".into(),
            source: name.into(),
            source_version: version.into(),
            filename: format!("pool/{name}_{version}.deb"),
            size: 1,
            sha256: "00".into(),
            minbase: false,
            depends: parse_relations(deps).expect("deps"),
            pre_depends: vec![],
            provides: parse_relations(provides)
                .expect("provides")
                .into_iter()
                .flatten()
                .map(|r| (r.name, r.constraint.map(|(_, v)| v)))
                .collect(),
            suite: ["trixie", "trixie-security"][suite].into(),
            suite_rank: suite,
        }
    }

    fn indices() -> Indices {
        let mut idx = Indices::default();
        for c in [
            cand("nginx", "1.26.3-3", 0, "libc6 (>= 2.34), nginx-common (= 1.26.3-3), iproute2", ""),
            cand(
                "nginx",
                "1.26.3-3+deb13u7",
                1,
                "libc6 (>= 2.34), nginx-common (= 1.26.3-3+deb13u7), iproute2",
                "httpd",
            ),
            cand("nginx-common", "1.26.3-3", 0, "debconf (>= 0.5) | debconf-2.0", ""),
            cand("nginx-common", "1.26.3-3+deb13u7", 1, "debconf (>= 0.5) | debconf-2.0", ""),
            cand("libc6", "2.41-12", 0, "libgcc-s1", ""),
            cand("libc6", "2.41-12", 1, "libgcc-s1", ""),
            cand("libgcc-s1", "14.2.0-19", 0, "", ""),
            cand("iproute2", "6.15.0-1", 0, "libbpf1 (>= 2:0)", ""),
            cand("libbpf1", "1:1.5.0-3", 0, "", ""),
            cand("debconf", "1.5.91", 0, "", "debconf-2.0"),
            cand("web", "1", 0, "httpd", ""),
            cand("broken", "1", 0, "libc6 (>= 3.0)", ""),
            cand("deep", "1", 0, "broken", ""),
        ] {
            idx.add(c);
        }
        idx
    }

    fn names(r: &Resolution) -> Vec<String> {
        r.packages.values().map(|c| format!("{}={}@{}", c.name, c.version, c.suite)).collect()
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn closure_table() {
        let idx = indices();
        let ex = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let cases: Vec<(&[&str], BTreeSet<String>, &[&str])> = vec![
            (
                &["nginx"],
                ex(&["debconf", "iproute2"]),
                &[
                    "libc6=2.41-12@trixie-security",
                    "libgcc-s1=14.2.0-19@trixie",
                    "nginx=1.26.3-3+deb13u7@trixie-security",
                    "nginx-common=1.26.3-3+deb13u7@trixie-security",
                ],
            ),
            (&["nginx-common"], ex(&[]), &["debconf=1.5.91@trixie", "nginx-common=1.26.3-3+deb13u7@trixie-security"]),
            (
                &["web"],
                ex(&["iproute2", "debconf"]),
                &[
                    "libc6=2.41-12@trixie-security",
                    "libgcc-s1=14.2.0-19@trixie",
                    "nginx=1.26.3-3+deb13u7@trixie-security",
                    "nginx-common=1.26.3-3+deb13u7@trixie-security",
                    "web=1@trixie",
                ],
            ),
        ];
        for (wanted, exclude, want) in cases {
            let req = ResolveRequest { wanted: wanted.iter().map(|s| s.to_string()).collect(), exclude };
            let got = resolve(&idx, &req).expect("resolves");
            assert_eq!(names(&got), want, "{wanted:?}");
        }
    }

    #[test]
    fn errors_name_the_chain() {
        let idx = indices();
        let req = |w: &str, ex: &[&str]| ResolveRequest {
            wanted: vec![w.into()],
            exclude: ex.iter().map(|s| s.to_string()).collect(),
        };
        let err = resolve(&idx, &req("deep", &[])).expect_err("must fail").to_string();
        assert_eq!(
            err,
            "cannot resolve deep -> broken -> libc6 (>= 3.0): libc6 (>= 3.0): only 2.41-12 (trixie), 2.41-12 (trixie-security) available"
        );
        let err = resolve(&idx, &req("nginx", &["debconf"])).expect_err("must fail").to_string();
        assert!(err.starts_with("cannot resolve nginx -> iproute2 -> libbpf1 (>= 2:0)"), "{err}");
        let err = resolve(&idx, &req("nope", &[])).expect_err("must fail").to_string();
        assert_eq!(err, "cannot resolve nope: no package nope in the indices");
        let err = resolve(&idx, &req("nginx", &["nginx"])).expect_err("must fail").to_string();
        assert_eq!(err, "cannot resolve nginx: the package is both wanted and excluded");
    }
}

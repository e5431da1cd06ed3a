//! Package indices: `Packages.xz` of each suite, checked against the signed Release, parsed into
//! [`Candidate`]s; and dependency relations (`a (>= 1) | b, c`).

use std::collections::BTreeMap;
use std::io::Read;

use sha2::Digest;

use super::mirror::{http_get, Mirror};
use super::release::{check_index, verify_inrelease, Keyring, Release};
use super::{deb822, DebianError};

/// One binary package offered by a suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `Package`.
    pub name: String,
    /// `Version`.
    pub version: String,
    /// `Architecture`.
    pub architecture: String,
    /// Source package name.
    pub source: String,
    /// Source version (the binary version unless `Source: name (version)`).
    pub source_version: String,
    /// Pool path relative to the mirror base.
    pub filename: String,
    /// `.deb` size.
    pub size: u64,
    /// `.deb` SHA256 (hex).
    pub sha256: String,
    /// `Depends`.
    pub depends: Vec<Vec<Relation>>,
    /// `Pre-Depends`.
    pub pre_depends: Vec<Vec<Relation>>,
    /// `Provides` (name, optional exact version).
    pub provides: Vec<(String, Option<String>)>,
    /// The suite offering it.
    pub suite: String,
    /// Position of that suite in the definition (later suites win ties: security, updates).
    pub suite_rank: usize,
    /// `Essential: yes` or `Priority: required`: what mmdebstrap's `minbase` installs (the base
    /// of Debian's slim images).
    pub minbase: bool,
}

/// A version operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `>=`
    Ge,
    /// `>>`
    Gt,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
}

/// One alternative of a dependency: `name (op version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Package (or virtual package) name, arch qualifier removed.
    pub name: String,
    /// Version constraint.
    pub constraint: Option<(Op, String)>,
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.constraint {
            Some((op, v)) => write!(f, "{} ({} {v})", self.name, op.as_str()),
            None => f.write_str(&self.name),
        }
    }
}

/// Compares Debian versions; unparsable versions compare as strings (never panics).
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<debversion::Version>(), b.parse::<debversion::Version>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

impl Relation {
    /// True when `version` satisfies the constraint.
    pub fn accepts(&self, version: &str) -> bool {
        use std::cmp::Ordering::*;
        let Some((op, want)) = &self.constraint else {
            return true;
        };
        let ord = compare_versions(version, want);
        match op {
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
            Op::Eq => ord == Equal,
            Op::Ge => ord != Less,
            Op::Gt => ord == Greater,
        }
    }
}

/// Parses a relation field (`Depends`): groups separated by `,`, alternatives by `|`.
pub fn parse_relations(field: &str) -> Result<Vec<Vec<Relation>>, String> {
    let mut out = Vec::new();
    for group in field.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        let mut alts = Vec::new();
        for alt in group.split('|').map(str::trim) {
            // Drop architecture restrictions `[...]` and build profiles `<...>` after the name
            // and constraint.
            let (name, constraint) = match alt.split_once('(') {
                Some((name, rest)) => {
                    let inner =
                        rest.split_once(')').ok_or_else(|| format!("unclosed parenthesis in {alt:?}"))?.0.trim();
                    let (op, ver) = [
                        ("<<", Op::Lt),
                        ("<=", Op::Le),
                        (">=", Op::Ge),
                        (">>", Op::Gt),
                        ("=", Op::Eq),
                        ("<", Op::Le),
                        (">", Op::Ge),
                    ]
                    .iter()
                    .find_map(|(s, op)| inner.strip_prefix(s).map(|v| (*op, v.trim())))
                    .ok_or_else(|| format!("bad version constraint in {alt:?}"))?;
                    if ver.is_empty() {
                        return Err(format!("empty version in {alt:?}"));
                    }
                    (name.trim(), Some((op, ver.to_string())))
                }
                None => (alt.split(['[', '<']).next().unwrap_or("").trim(), None),
            };
            let name = name.split(':').next().unwrap_or(name);
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("bad package name in {group:?}"));
            }
            alts.push(Relation { name: name.to_string(), constraint });
        }
        out.push(alts);
    }
    Ok(out)
}

/// Parses a Packages index of `suite` (uncompressed), keeping packages of `arch` and `all`.
pub fn parse_packages<R: std::io::BufRead>(
    reader: R,
    suite: &str,
    suite_rank: usize,
    arch: &str,
) -> Result<Vec<Candidate>, DebianError> {
    let bad = |detail: String| DebianError::Index { what: suite.to_string(), detail };
    let mut out = Vec::new();
    deb822::for_each_paragraph(reader, |p| -> Result<(), DebianError> {
        let name = p.get("Package").ok_or_else(|| bad("paragraph without Package".into()))?;
        let get = |k: &str| p.get(k).ok_or_else(|| bad(format!("package {name} has no {k} field")));
        let architecture = get("Architecture")?;
        if architecture != arch && architecture != "all" {
            return Ok(());
        }
        let version = get("Version")?;
        let rel = |k: &str| parse_relations(p.get(k).unwrap_or("")).map_err(|e| bad(format!("{name} {k}: {e}")));
        let (source, source_version) = match p.get("Source") {
            Some(s) => match s.split_once('(') {
                Some((n, v)) => (n.trim(), v.trim_end_matches(')').trim()),
                None => (s.trim(), version),
            },
            None => (name, version),
        };
        let provides = rel("Provides")?.into_iter().flatten().map(|r| (r.name, r.constraint.map(|(_, v)| v))).collect();
        out.push(Candidate {
            name: name.to_string(),
            version: version.to_string(),
            architecture: architecture.to_string(),
            source: source.to_string(),
            source_version: source_version.to_string(),
            filename: get("Filename")?.to_string(),
            size: get("Size")?.parse().map_err(|_| bad(format!("{name}: bad Size")))?,
            sha256: get("SHA256")?.to_ascii_lowercase(),
            depends: rel("Depends")?,
            pre_depends: rel("Pre-Depends")?,
            provides,
            suite: suite.to_string(),
            suite_rank,
            minbase: p.get("Essential").is_some_and(|v| v.trim() == "yes")
                || p.get("Priority").is_some_and(|v| v.trim() == "required"),
        });
        Ok(())
    })
    .map_err(|e| match e {
        DebianError::Index { .. } => e,
        other => bad(other.to_string()),
    })?;
    Ok(out)
}

/// A suite's verified metadata, as recorded in the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteInfo {
    /// Suite name as requested (`trixie-security`).
    pub name: String,
    /// Release `Date`.
    pub date: String,
    /// Release `Date` in seconds.
    pub date_epoch: i64,
    /// SHA256 of the InRelease file.
    pub inrelease_sha256: String,
    /// Fingerprint of the verifying key.
    pub signed_by: String,
}

/// All candidates of the requested suites, by package name.
#[derive(Debug, Clone, Default)]
pub struct Indices {
    /// Candidates by name.
    pub packages: BTreeMap<String, Vec<Candidate>>,
    /// Virtual name → providing candidates (name, version).
    pub providers: BTreeMap<String, Vec<(String, String)>>,
    /// Each suite's verified metadata, in the order given.
    pub suites: Vec<SuiteInfo>,
}

/// Largest uncompressed Packages index accepted.
const MAX_INDEX: u64 = 1 << 30;

impl Indices {
    /// The names of the packages some suite marks `Essential: yes` or `Priority: required`,
    /// sorted: mmdebstrap's `minbase` (which is how it gets `apt`, a required package).
    pub fn minbase(&self) -> Vec<String> {
        self.packages.iter().filter(|(_, cs)| cs.iter().any(|c| c.minbase)).map(|(n, _)| n.clone()).collect()
    }

    /// Downloads and verifies `InRelease`, then `Packages.xz` of each suite and component.
    pub fn fetch(
        mirror: &Mirror,
        suites: &[String],
        components: &[String],
        arch: &str,
        keyring: &Keyring,
    ) -> Result<Self, DebianError> {
        let mut idx = Self::default();
        for (rank, suite) in suites.iter().enumerate() {
            let base = mirror.base_for(suite);
            let url = format!("{base}/dists/{suite}/InRelease");
            let raw = http_get(&url)?;
            let release = verify_inrelease(&format!("{suite} InRelease ({url})"), &raw, keyring)?;
            for comp in components {
                let rel = format!("{comp}/binary-{arch}/Packages.xz");
                let data = Self::fetch_index(base, suite, &rel, &release)?;
                idx.add_packages_xz(&data, suite, rank, arch)?;
            }
            idx.suites.push(SuiteInfo {
                name: suite.clone(),
                date: release.date.clone(),
                date_epoch: release.date_epoch,
                inrelease_sha256: hex::encode(sha2::Sha256::digest(&raw)),
                signed_by: release.signed_by,
            });
        }
        Ok(idx)
    }

    fn fetch_index(base: &str, suite: &str, rel: &str, release: &Release) -> Result<Vec<u8>, DebianError> {
        let entry = release.sha256.get(rel).ok_or_else(|| DebianError::Release {
            what: format!("{suite} InRelease"),
            detail: format!("no SHA256 entry for {rel}"),
        })?;
        let url = format!("{base}/dists/{suite}/{rel}");
        let data = http_get(&url)?;
        check_index(&url, &data, entry)?;
        Ok(data)
    }

    /// Adds the candidates of a verified `Packages.xz`.
    pub fn add_packages_xz(&mut self, xz: &[u8], suite: &str, rank: usize, arch: &str) -> Result<(), DebianError> {
        let reader = std::io::BufReader::new(xz2::read::XzDecoder::new(xz).take(MAX_INDEX));
        for c in parse_packages(reader, suite, rank, arch)? {
            self.add(c);
        }
        Ok(())
    }

    /// Adds one candidate.
    pub fn add(&mut self, c: Candidate) {
        for (virt, _) in &c.provides {
            self.providers.entry(virt.clone()).or_default().push((c.name.clone(), c.version.clone()));
        }
        self.packages.entry(c.name.clone()).or_default().push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_table() {
        let r = |n: &str, c: Option<(Op, &str)>| Relation { name: n.into(), constraint: c.map(|(o, v)| (o, v.into())) };
        let cases: Vec<(&str, Vec<Vec<Relation>>)> = vec![
            ("", vec![]),
            ("libc6 (>= 2.34)", vec![vec![r("libc6", Some((Op::Ge, "2.34")))]]),
            (
                "debconf (>= 0.5) | debconf-2.0, zlib1g",
                vec![vec![r("debconf", Some((Op::Ge, "0.5"))), r("debconf-2.0", None)], vec![r("zlib1g", None)]],
            ),
            ("python3:any (<< 3.14)", vec![vec![r("python3", Some((Op::Lt, "3.14")))]]),
            ("foo [amd64] <!nocheck>", vec![vec![r("foo", None)]]),
            ("nginx-common (= 1.26.3-3+deb13u7)", vec![vec![r("nginx-common", Some((Op::Eq, "1.26.3-3+deb13u7")))]]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_relations(input).expect(input), want, "{input}");
        }
        for bad in ["a (>= 1", "a (~ 1)", "a (>=)", "a b"] {
            assert!(parse_relations(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constraints_follow_dpkg_order() {
        // Rows checked with `dpkg --compare-versions`.
        let rel = |op, v: &str| Relation { name: "x".into(), constraint: Some((op, v.into())) };
        assert!(rel(Op::Ge, "1:4.1.0").accepts("1:4.4.38-1"));
        assert!(!rel(Op::Ge, "1:4.1.0").accepts("4.4.38-1"));
        assert!(rel(Op::Lt, "1.0").accepts("1.0~rc1"));
        assert!(rel(Op::Eq, "1.26.3-3+deb13u7").accepts("1.26.3-3+deb13u7"));
        assert!(rel(Op::Gt, "3.5.0").accepts("3.5.7-1~deb13u2"));
        assert!(rel(Op::Le, "2.41-12").accepts("2.41-12~bpo1"));
    }

    #[test]
    fn packages_paragraphs() {
        let text = "Package: zlib1g\nSource: zlib (1:1.3-1)\nVersion: 1:1.3-1+b1\nArchitecture: amd64\nProvides: libz1\nDepends: libc6 (>= 2.14)\nFilename: pool/main/z/zlib/zlib1g.deb\nSize: 10\nSHA256: AB\n\nPackage: other\nVersion: 1\nArchitecture: arm64\n";
        let got = parse_packages(text.as_bytes(), "trixie", 0, "amd64").expect("parses");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].source, "zlib");
        assert_eq!(got[0].source_version, "1:1.3-1");
        assert_eq!(got[0].sha256, "ab");
        assert_eq!(got[0].provides, vec![("libz1".to_string(), None)]);
        let err =
            parse_packages("Package: x\nArchitecture: all\n".as_bytes(), "trixie", 0, "amd64").expect_err("must fail");
        assert_eq!(err.to_string(), "trixie: bad package index: package x has no Version field");
    }

    #[test]
    fn minbase_is_essential_and_required_packages() {
        let para = |name: &str, essential: &str| {
            format!("Package: {name}\nVersion: 1\nArchitecture: amd64\n{essential}Filename: pool/{name}.deb\nSize: 1\nSHA256: 00\n\n")
        };
        let text = [
            para("dash", "Essential: yes\n"),
            para("nginx", ""),
            para("base-files", "Essential: yes\n"),
            para("x", "Essential: no\n"),
            para("apt", "Priority: required\n"),
            para("y", "Priority: important\n"),
        ]
        .concat();
        let mut idx = Indices::default();
        for c in parse_packages(text.as_bytes(), "trixie", 0, "amd64").expect("parses") {
            idx.packages.entry(c.name.clone()).or_default().push(c);
        }
        assert_eq!(idx.minbase(), ["apt", "base-files", "dash"]);
    }
}

//! Conformance over every vector for the schemes we implement, and 100,000 generated Debian
//! version pairs checked against `dpkg --compare-versions`. Small vector files are in
//! `testdata/version` (see its README); the large generated ones are read from ../shared/data.
#![allow(clippy::print_stderr, clippy::type_complexity)]

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::Scheme;

pub(crate) fn shared_data() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if root.is_dir() {
        return root;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// Our copies of the small vector files: `testdata/version`.
fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/version")
}

fn op(s: &str) -> Option<Ordering> {
    match s {
        "<" => Some(Ordering::Less),
        "=" | "==" => Some(Ordering::Equal),
        ">" => Some(Ordering::Greater),
        _ => None,
    }
}

/// Runs an `A <op> B` vector file; returns (checked, failures).
fn run_file(scheme: Scheme, path: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut n = 0;
    let mut bad = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 {
            continue;
        }
        let Some(want) = op(f[1]) else { continue };
        n += 1;
        match scheme.compare(f[0], f[2]) {
            Ok(got) if got == want => {}
            other => bad.push(format!("{line}: got {other:?}")),
        }
    }
    (n, bad)
}

/// [`check_file`] of `rel` in ../shared/data.
fn check(scheme: Scheme, rel: &str, allowed: &[&str]) {
    check_file(scheme, &shared_data().join(rel), allowed);
}

/// Runs the vector file at `path`; every failure not listed in `allowed` fails the test.
fn check_file(scheme: Scheme, path: &Path, allowed: &[&str]) {
    let rel = path.display();
    let (n, bad) = run_file(scheme, path);
    assert!(n > 0, "no vectors in {rel}");
    let unexpected: Vec<_> = bad.iter().filter(|b| !allowed.iter().any(|a| b.starts_with(a))).collect();
    assert!(
        unexpected.is_empty(),
        "{rel}: {} of {n} vectors fail:\n{}",
        unexpected.len(),
        unexpected.iter().take(30).map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}

const T: &str = "osv-scalibr-fixtures/semantic/testdata";

#[test]
fn debian_vectors() {
    check(Scheme::Dpkg, &format!("{T}/debian-versions.txt"), &[]);
    check(Scheme::Dpkg, &format!("{T}/debian-versions-generated.txt"), &[]);
}

#[test]
fn dpkg_own_vectors() {
    let path = testdata().join("dpkg/Dpkg_Version.t.DATA.txt");
    let text = std::fs::read_to_string(path).expect("dpkg vectors");
    let mut n = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 {
            continue;
        }
        let want = match f[2] {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            _ => continue,
        };
        n += 1;
        assert_eq!(Scheme::Dpkg.compare(f[0], f[1]), Ok(want), "{line}");
    }
    assert!(n >= 40);
}

#[test]
fn dpkg_parse_cases() {
    let path = testdata().join("dpkg/t-version.c.parse-cases.tsv");
    let text = std::fs::read_to_string(path).expect("parse cases");
    for line in text.lines().skip(1) {
        let mut f = line.rsplitn(3, '\t').collect::<Vec<_>>();
        f.reverse();
        if f.len() < 2 {
            continue;
        }
        // Fields: input, expected, note; the input may be quoted and hold tabs.
        let (input, expected) = (f[0], f[1]);
        let input = input.trim_matches('"');
        let got = input.parse::<super::DpkgVersion>();
        match expected {
            "ok" => assert!(got.is_ok(), "{line}: {got:?}"),
            "error" => assert!(got.is_err(), "{line}: {got:?}"),
            _ => {} // "warn": dpkg parses with a warning; either outcome is accepted
        }
    }
}

#[test]
fn alpine_vectors() {
    // The scalibr file records both apk 2.x and 3.x answers for `1-r-0`-style revisions
    // (comment in the file); apk-tools' own data below is authoritative.
    // Known differences with apk-tools 3 (2026), whose rules we do not implement yet: `_pre`
    // after a trailing `.0`, Gentoo-style string comparison of components with a leading
    // zero, and the `~` separator. apk-tools 2.x (Alpine <= 3.x secdb era) answers as we do.
    check(
        Scheme::Apk,
        "version-comparison-vectors/apk-tools/test/unit/version.data",
        &[
            "6.0_pre1 < 6.0",
            "8.2.0 < 8.2.001",
            "8.2.0015 < 8.2.002",
            "1.0~1234 < 1.0~2345",
            "1.0~1234-r1 < 1.0~2345-r0",
            "1.0~1234-r1 > 1.0~1234-r0",
        ],
    );
    check(Scheme::Apk, &format!("{T}/alpine-versions-generated.txt"), &[]);
    // Known differences, all on versions apk-tools rejects as invalid (uppercase letters, a
    // letter after `.`, `-` not followed by `r`N): we compare them token by token up to the
    // first invalid token, as apk-tools 2.x; scalibr follows newer apk-tools there.
    check(
        Scheme::Apk,
        &format!("{T}/alpine-versions.txt"),
        &[
            "1-r-0 <",
            "1-r-1 <",
            "0.r1 < 0r2",
            "0.8.21.r2 < 0.8.21r2",
            "1.2.0A < 1.2.0d",
            "1.2.0D < 1.2.0d",
            "1 > 1-ruff",
            "1-ruff2 = 1--ruff1",
        ],
    );
}

#[test]
fn redhat_vectors() {
    check_file(Scheme::Rpm, &testdata().join("osv-scalibr/redhat-versions.txt"), &[]);
}

#[test]
fn pypi_vectors() {
    check(Scheme::Pep440, &format!("{T}/pypi-versions.txt"), &[]);
    check(Scheme::Pep440, &format!("{T}/pypi-versions-generated.txt"), &[]);
}

#[test]
fn maven_vectors() {
    // Known difference: Maven 3.9 drops a release qualifier (`ga`) before a sub-list; we
    // implement the classic ComparableVersion normalisation.
    check(Scheme::Maven, &format!("{T}/maven-versions.txt"), &["1-1 = 1-ga-1"]);
    check(Scheme::Maven, &format!("{T}/maven-versions-generated.txt"), &[]);
}

#[test]
fn semver_vectors() {
    for s in [Scheme::Semver, Scheme::Npm, Scheme::CratesIo, Scheme::Go] {
        check_file(s, &testdata().join("osv-scalibr/semver-versions.txt"), &[]);
    }
}

#[test]
fn every_scheme_compares() {
    for s in Scheme::ALL {
        let v = if s == Scheme::Go { "v1.2.3" } else { "1.2.3" };
        assert_eq!(s.compare(v, v), Ok(Ordering::Equal), "{}", s.name());
    }
}

/// 100,000 generated Debian version pairs against `dpkg --compare-versions`: dpkg confirms the
/// order of a 3,000-version pool link by link (plus 3,000 random pairs directly), and every one of
/// the 100,000 pairs is compared with the order dpkg confirmed.
#[test]
fn dpkg_agrees_with_dpkg_binary() {
    if std::process::Command::new("dpkg").arg("--version").output().is_err() {
        assert!(
            std::env::var("ARMORRED_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "dpkg is required (ARMORRED_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("skipping: dpkg not installed");
        return;
    }
    // Deterministic xorshift generator over version-ish alphabets.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "0", "1", "2", "9", "10", "01", "00", ".", ".", "~", "+", "a", "b", "z", "A", "rc", "deb", "u", "~deb12u",
        "+b", "dfsg", "really", "~~", "-",
    ];
    let gen = |next: &mut dyn FnMut() -> u64| {
        let mut s = String::new();
        if next() % 5 == 0 {
            s.push_str(&format!("{}:", next() % 3));
        }
        s.push_str(&(next() % 12).to_string());
        let n = next() % 6;
        for _ in 0..n {
            s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
        }
        if next() % 2 == 0 {
            s.push('-');
            s.push_str(&(next() % 5).to_string());
            for _ in 0..(next() % 3) {
                let p = pieces[(next() % pieces.len() as u64) as usize];
                if p != "-" {
                    s.push_str(p);
                }
            }
        }
        s
    };
    // A pool of distinct versions, a quarter of them near-equal variants of another.
    let ok = |v: &str| v.parse::<super::DpkgVersion>().is_ok() && !v.ends_with('-');
    let mut pool: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while pool.len() < 3_000 {
        let v = if next() % 4 == 0 && !pool.is_empty() {
            let mut b = pool[(next() % pool.len() as u64) as usize].clone();
            b.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            b
        } else {
            gen(&mut next)
        };
        if ok(&v) && seen.insert(v.clone()) {
            pool.push(v);
        }
    }
    // dpkg's order on the pool: sort with our comparator, then have dpkg confirm every adjacent
    // link (`lt` or `eq`, our answer). dpkg's comparison is a total preorder, so the confirmed
    // chain gives dpkg's answer for every pair of pool versions.
    let mut sorted = pool.clone();
    sorted.sort_by(|a, b| Scheme::Dpkg.compare(a, b).expect("parsed"));
    let mut checks: Vec<(String, &'static str, String)> = Vec::new();
    for w in sorted.windows(2) {
        let op = match Scheme::Dpkg.compare(&w[0], &w[1]).expect("parsed") {
            Ordering::Less => "lt",
            Ordering::Equal => "eq",
            Ordering::Greater => "gt", // would be a sort bug; dpkg will reject it
        };
        checks.push((w[0].clone(), op, w[1].clone()));
    }
    // Plus 3,000 random pairs checked directly, independent of the chain argument.
    for _ in 0..3_000 {
        let a = &pool[(next() % pool.len() as u64) as usize];
        let b = &pool[(next() % pool.len() as u64) as usize];
        let op = match Scheme::Dpkg.compare(a, b).expect("parsed") {
            Ordering::Less => "lt",
            Ordering::Equal => "eq",
            Ordering::Greater => "gt",
        };
        checks.push((a.clone(), op, b.clone()));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let chunk = checks.len().div_ceil(threads);
    let failures: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = checks
            .chunks(chunk)
            .map(|chunk| {
                sc.spawn(move || {
                    let mut bad = Vec::new();
                    for (a, op, b) in chunk {
                        let st = std::process::Command::new("dpkg")
                            .args(["--compare-versions", a, op, b])
                            .stdin(std::process::Stdio::null())
                            .stdout(std::process::Stdio::null())
                            .stderr(std::process::Stdio::null())
                            .status()
                            .expect("spawn dpkg");
                        if !st.success() {
                            bad.push(format!("dpkg --compare-versions {a} {op} {b} is false"));
                        }
                    }
                    bad
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().expect("thread")).collect()
    });
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
    // 100,000 generated pairs over the pool: our direct comparison must equal dpkg's answer,
    // read off the confirmed chain (rank = number of strict links before the version).
    let mut rank = std::collections::HashMap::new();
    let mut r = 0usize;
    for (i, v) in sorted.iter().enumerate() {
        if i > 0 && checks[i - 1].1 == "lt" {
            r += 1;
        }
        rank.insert(v.as_str(), r);
    }
    let mut disagreements = Vec::new();
    for _ in 0..100_000 {
        let a = &pool[(next() % pool.len() as u64) as usize];
        let b = &pool[(next() % pool.len() as u64) as usize];
        let dpkg = rank[a.as_str()].cmp(&rank[b.as_str()]);
        let ours = Scheme::Dpkg.compare(a, b).expect("parsed");
        if dpkg != ours {
            disagreements.push(format!("{a} vs {b}: dpkg {dpkg:?}, ours {ours:?}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements[..disagreements.len().min(20)].join("\n"));
}

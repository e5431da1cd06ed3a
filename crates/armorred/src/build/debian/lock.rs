//! The lock file (`image.lock`, TOML): every package of every tier pinned by version, pool path,
//! size and SHA256, plus each suite's signed Release date. Written in a stable order so that
//! `armorred lock --check` can compare bytes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::index::SuiteInfo;
use super::resolve::Resolution;
use super::DebianError;
use crate::tier::Tier;

/// Format version written in `lock_version`.
pub const LOCK_VERSION: u32 = 1;

/// A whole lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format version.
    pub lock_version: u32,
    /// Debian architecture.
    pub architecture: String,
    /// SHA256 of the definition's resolution inputs (suites, packages, excludes): a changed
    /// definition makes the lock stale.
    pub inputs_digest: String,
    /// Package names of each tier, sorted.
    pub tiers: BTreeMap<Tier, Vec<String>>,
    /// Package names of the build root of each source-built tier, sorted.
    #[serde(default, rename = "build-roots", skip_serializing_if = "BTreeMap::is_empty")]
    pub build_roots: BTreeMap<Tier, Vec<String>>,
    /// Suites in definition order.
    #[serde(rename = "suite")]
    pub suites: Vec<LockedSuite>,
    /// Every package of any tier, sorted by name.
    #[serde(rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// A suite as verified at lock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedSuite {
    /// Suite name.
    pub name: String,
    /// Release `Date`.
    pub date: String,
    /// Release `Date` as seconds since the epoch.
    pub date_epoch: i64,
    /// SHA256 of the verified InRelease.
    pub inrelease_sha256: String,
    /// Fingerprint of the key that signed it.
    pub signed_by: String,
}

/// One pinned package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Binary package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Architecture (`amd64` or `all`).
    pub architecture: String,
    /// Source package name.
    pub source: String,
    /// Source version.
    pub source_version: String,
    /// Suite it comes from.
    pub suite: String,
    /// Pool path relative to the suite's mirror base.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA256 (hex).
    pub sha256: String,
}

/// A package the lock pins at an older version than the suites now offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newer {
    /// Binary package name.
    pub name: String,
    /// The version the lock pins.
    pub pinned: String,
    /// The version a fresh resolution picks.
    pub available: String,
    /// The suite it comes from now.
    pub suite: String,
}

impl Lock {
    /// Packages pinned here that `fresh` (the same definition resolved against today's indices)
    /// resolves to a newer version, by Debian version order; sorted by name.
    pub fn newer_in(&self, fresh: &Lock) -> Vec<Newer> {
        let pinned: BTreeMap<&str, &LockedPackage> = self.packages.iter().map(|p| (p.name.as_str(), p)).collect();
        fresh
            .packages
            .iter()
            .filter_map(|f| {
                let p = pinned.get(f.name.as_str())?;
                let newer = super::index::compare_versions(&f.version, &p.version) == std::cmp::Ordering::Greater;
                newer.then(|| Newer {
                    name: f.name.clone(),
                    pinned: p.version.clone(),
                    available: f.version.clone(),
                    suite: f.suite.clone(),
                })
            })
            .collect()
    }

    /// Builds a lock from per-tier resolutions.
    pub fn new(
        architecture: &str,
        inputs_digest: String,
        suites: &[SuiteInfo],
        tiers: &BTreeMap<Tier, Resolution>,
        build_roots: &BTreeMap<Tier, Resolution>,
    ) -> Self {
        let mut packages: BTreeMap<(String, String), LockedPackage> = BTreeMap::new();
        let names = |m: &BTreeMap<Tier, Resolution>| -> BTreeMap<Tier, Vec<String>> {
            m.iter().map(|(k, r)| (*k, r.packages.keys().cloned().collect())).collect()
        };
        for res in tiers.values().chain(build_roots.values()) {
            for c in res.packages.values() {
                packages.entry((c.name.clone(), c.version.clone())).or_insert_with(|| LockedPackage {
                    name: c.name.clone(),
                    version: c.version.clone(),
                    architecture: c.architecture.clone(),
                    source: c.source.clone(),
                    source_version: c.source_version.clone(),
                    suite: c.suite.clone(),
                    filename: c.filename.clone(),
                    size: c.size,
                    sha256: c.sha256.clone(),
                });
            }
        }
        Self {
            lock_version: LOCK_VERSION,
            architecture: architecture.to_string(),
            inputs_digest,
            tiers: names(tiers),
            build_roots: names(build_roots),
            suites: suites
                .iter()
                .map(|s| LockedSuite {
                    name: s.name.clone(),
                    date: s.date.clone(),
                    date_epoch: s.date_epoch,
                    inrelease_sha256: s.inrelease_sha256.clone(),
                    signed_by: s.signed_by.clone(),
                })
                .collect(),
            packages: packages.into_values().collect(),
        }
    }

    /// The packages of `tier`, in name order.
    pub fn tier_packages(&self, tier: Tier) -> Option<Vec<&LockedPackage>> {
        Some(self.packages_named(self.tiers.get(&tier)?))
    }

    /// The build-root packages of the source-built `tier`, in name order.
    pub fn build_root_packages(&self, tier: Tier) -> Option<Vec<&LockedPackage>> {
        Some(self.packages_named(self.build_roots.get(&tier)?))
    }

    fn packages_named(&self, names: &[String]) -> Vec<&LockedPackage> {
        names.iter().filter_map(|n| self.packages.iter().find(|p| &p.name == n)).collect()
    }

    /// The newest Release date of the locked suites: the default SOURCE_DATE_EPOCH.
    pub fn newest_release_epoch(&self) -> i64 {
        self.suites.iter().map(|s| s.date_epoch).max().unwrap_or(0)
    }

    /// Serializes in the stable on-disk form.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("# Written by `armorred lock`. Do not edit: run `armorred lock` again.\n{body}")
    }

    /// Parses a lock file's text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, DebianError> {
        let lock: Self = toml::from_str(text)
            .map_err(|e| DebianError::Lock { path: path.to_path_buf(), detail: e.to_string().trim().to_string() })?;
        let bad = |detail: String| DebianError::Lock { path: path.to_path_buf(), detail };
        if lock.lock_version != LOCK_VERSION {
            return Err(bad(format!("lock_version {} is not supported (expected {LOCK_VERSION})", lock.lock_version)));
        }
        for p in &lock.packages {
            if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("package {}: sha256 is not 64 hex digits", p.name)));
            }
            // Digests are compared as written; say so instead of reporting a mismatch later.
            if p.sha256.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(bad(format!("package {}: sha256 must be lowercase hex (as sha256sum prints it)", p.name)));
            }
            if p.filename.starts_with('/') || p.filename.split('/').any(|c| c == "..") {
                return Err(bad(format!("package {}: unsafe filename {:?}", p.name, p.filename)));
            }
        }
        let lists = lock.tiers.iter().map(|(t, n)| (format!("tier {t}"), n));
        let lists = lists.chain(lock.build_roots.iter().map(|(t, n)| (format!("build root of tier {t}"), n)));
        for (what, names) in lists {
            if let Some(n) = names.iter().find(|n| !lock.packages.iter().any(|p| &p.name == *n)) {
                return Err(bad(format!("{what} names {n}, which has no [[package]] entry")));
            }
        }
        Ok(lock)
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self, DebianError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| DebianError::Io { what: format!("lock file {}", path.display()), source })?;
        Self::parse(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Lock {
        Lock {
            lock_version: 1,
            architecture: "amd64".into(),
            inputs_digest: "sha256:00".into(),
            tiers: [(Tier::Hardened, vec!["libc6".to_string()])].into(),
            build_roots: BTreeMap::new(),
            suites: vec![LockedSuite {
                name: "trixie".into(),
                date: "Sat, 09 Aug 2025 09:25:47 UTC".into(),
                date_epoch: 1754731547,
                inrelease_sha256: "ab".into(),
                signed_by: "cd".into(),
            }],
            packages: vec![LockedPackage {
                name: "libc6".into(),
                version: "2.41-12".into(),
                architecture: "amd64".into(),
                source: "glibc".into(),
                source_version: "2.41-12".into(),
                suite: "trixie".into(),
                filename: "pool/main/g/glibc/libc6_2.41-12_amd64.deb".into(),
                size: 3,
                sha256: "a".repeat(64),
            }],
        }
    }

    #[test]
    fn newer_versions_in_a_fresh_resolution_are_named() {
        let old = sample();
        let mut fresh = sample();
        assert!(old.newer_in(&fresh).is_empty(), "the same lock");
        fresh.packages[0].version = "2.41-12+deb13u4".into();
        fresh.packages[0].suite = "trixie-security".into();
        let mut gone = fresh.packages[0].clone();
        gone.name = "libnew".into();
        fresh.packages.push(gone);
        let newer = old.newer_in(&fresh);
        assert_eq!(
            newer,
            [Newer {
                name: "libc6".into(),
                pinned: "2.41-12".into(),
                available: "2.41-12+deb13u4".into(),
                suite: "trixie-security".into()
            }],
            "a package the lock does not pin is not newer"
        );
        // Epochs and tildes order as dpkg orders them; an older fresh version is not newer.
        fresh.packages[0].version = "2.41-12~bpo1".into();
        assert!(old.newer_in(&fresh).is_empty());
        fresh.packages[0].version = "1:2.0".into();
        assert_eq!(old.newer_in(&fresh).len(), 1);
    }

    #[test]
    fn golden_and_round_trip() {
        let lock = sample();
        let text = lock.to_toml();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/build/lock/sample.lock");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).expect("write golden");
        }
        assert_eq!(text, std::fs::read_to_string(&path).unwrap_or_default());
        let back = Lock::parse(Path::new("x.lock"), &text).expect("parses");
        assert_eq!(back, lock);
        assert_eq!(back.to_toml(), text);
        assert_eq!(lock.newest_release_epoch(), 1754731547);
    }

    #[test]
    fn bad_locks() {
        let text = sample().to_toml();
        let cases = [
            (text.replace(&"a".repeat(64), "zz"), "package libc6: sha256 is not 64 hex digits"),
            (text.replace(&"a".repeat(64), &"A".repeat(64)), "package libc6: sha256 must be lowercase hex"),
            (text.replace("pool/main", "../pool/main"), "unsafe filename"),
            (text.replace("lock_version = 1", "lock_version = 9"), "lock_version 9 is not supported"),
            (text.replace("hardened = [\"libc6\"]", "hardened = [\"nope\"]"), "tier hardened names nope"),
            ("garbage = ".to_string(), "bad lock file x.lock"),
            (text.replace("hardened = [", "gold = ["), "unknown variant `gold`"),
        ];
        for (input, want) in cases {
            let err = Lock::parse(Path::new("x.lock"), &input).expect_err("must fail").to_string();
            assert!(err.contains(want), "{err} does not contain {want}");
        }
    }
}

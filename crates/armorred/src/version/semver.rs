//! Semantic Versioning 2.0.0 precedence (build metadata ignored), with the leniency real feeds
//! need: a leading `v` or `=`, missing minor/patch (`1.2` = `1.2.0`), leading zeros.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::VersionError;

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemVersion {
    /// Numeric components without leading zeros (MAJOR.MINOR.PATCH, more kept if present).
    nums: Vec<String>,
    pre: semver::Prerelease,
    original: String,
}

impl SemVersion {
    pub(crate) fn parse_named(s: &str, scheme: &'static str) -> Result<Self, VersionError> {
        let err = |why: &str| VersionError::Invalid { scheme, version: s.to_string(), reason: why.to_string() };
        let t = s.trim().trim_start_matches('=').trim();
        let t = t.strip_prefix('v').or_else(|| t.strip_prefix('V')).unwrap_or(t);
        let core_end = t.find(['-', '+']).unwrap_or(t.len());
        let (core, rest) = t.split_at(core_end);
        let pre_str = match rest.strip_prefix('-') {
            Some(r) => r.split('+').next().unwrap_or(""),
            None => "",
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(err("expected MAJOR[.MINOR[.PATCH]]"));
        }
        let mut nums = Vec::with_capacity(parts.len().max(3));
        for p in &parts {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("version component is not a number"));
            }
            nums.push(p.trim_start_matches('0').to_string());
        }
        while nums.len() < 3 {
            nums.push(String::new());
        }
        let pre = if pre_str.is_empty() {
            semver::Prerelease::EMPTY
        } else {
            semver::Prerelease::new(pre_str).map_err(|e| err(&e.to_string()))?
        };
        Ok(Self { nums, pre, original: s.to_string() })
    }
}

impl FromStr for SemVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_named(s, "semver")
    }
}

impl fmt::Display for SemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.nums.len().max(other.nums.len());
        for k in 0..n {
            let a = self.nums.get(k).map_or("", String::as_str);
            let b = other.nums.get(k).map_or("", String::as_str);
            match a.len().cmp(&b.len()).then_with(|| a.cmp(b)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        self.pre.cmp(&other.pre)
    }
}

impl PartialOrd for SemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! semver_newtype {
    ($(#[$m:meta])* $name:ident, $scheme:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub super::semver::SemVersion);

        impl std::str::FromStr for $name {
            type Err = super::VersionError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                super::semver::SemVersion::parse_named(s, $scheme).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use semver_newtype;

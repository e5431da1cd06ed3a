//! Debian package versions (`[epoch:]upstream[-revision]`), ordered as `dpkg --compare-versions`.
//!
//! Written by hand after dpkg's `lib/dpkg/version.c` (`verrevcmp`): `~` sorts before everything,
//! even the end of the string; letters sort before non-letters; digit runs compare numerically.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::VersionError;

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DpkgVersion {
    epoch: u64,
    upstream: String,
    revision: String,
    original: String,
}

impl DpkgVersion {
    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The upstream part.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }
    /// The Debian revision ("" when absent).
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

impl FromStr for DpkgVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| VersionError::Invalid { scheme: "dpkg", version: s.to_string(), reason: why.to_string() };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty version"));
        }
        if t.chars().any(char::is_whitespace) {
            return Err(err("embedded whitespace"));
        }
        let (epoch, rest) = match t.split_once(':') {
            Some((e, r)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("epoch is not a number"));
                }
                let n: u64 = e.parse().map_err(|_| err("epoch out of range"))?;
                if n > i32::MAX as u64 {
                    return Err(err("epoch out of range"));
                }
                (n, r)
            }
            None => (0, t),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("empty upstream version"));
        }
        if rest.ends_with('-') {
            return Err(err("empty revision"));
        }
        // dpkg only warns about a non-digit first character or stray characters (it still
        // compares such versions), so they are accepted here too.
        Ok(Self { epoch, upstream: upstream.to_string(), revision: revision.to_string(), original: s.to_string() })
    }
}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp` over one part (upstream or revision).
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = a[i] as i32 - b[j] as i32;
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("1.0-1", "2.0-2", Ordering::Less),
            ("2.2~rc-4", "2.2-1", Ordering::Less),
            ("1.0000-1", "1.0-1", Ordering::Equal),
            ("1", "0:1", Ordering::Equal),
            ("2:2.5", "1:7.5", Ordering::Greater),
            ("1.0~", "1.0", Ordering::Less),
            ("1.0a", "1.0+", Ordering::Less),
            ("3.0.13-1~deb12u1", "3.0.11-1~deb12u2", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            let (va, vb): (DpkgVersion, DpkgVersion) = (a.parse().expect("a"), b.parse().expect("b"));
            assert_eq!(va.cmp(&vb), want, "{a} vs {b}");
        }
        assert!("".parse::<DpkgVersion>().is_err());
        assert!("x:1".parse::<DpkgVersion>().is_err());
    }
}

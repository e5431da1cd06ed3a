//! Python package versions (PEP 440), through `pep440_rs`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::VersionError;

/// A parsed PEP 440 version; a non-PEP 440 ("legacy") version is kept and sorts before every
/// valid version, with setuptools' legacy key among legacy versions (as `packaging` < 22 and
/// OSV do).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pep440Version {
    /// A PEP 440 version.
    Valid(pep440_rs::Version),
    /// A legacy version and its comparison key.
    Legacy(String, Vec<String>),
}

fn legacy_key(v: &str) -> Vec<String> {
    let lower = v.to_lowercase();
    // Split into digit runs, letter runs, '.', '-' and the other text between them.
    let mut raw: Vec<String> = Vec::new();
    let b = lower.as_bytes();
    let mut i = 0;
    let mut other = String::new();
    while i < b.len() {
        let c = b[i];
        let st = i;
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if c.is_ascii_lowercase() {
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
        } else if c == b'.' || c == b'-' {
            i += 1;
        } else {
            other.push(c as char);
            i += 1;
            continue;
        }
        if !other.is_empty() {
            raw.push(std::mem::take(&mut other));
        }
        raw.push(lower[st..i].to_string());
    }
    if !other.is_empty() {
        raw.push(other);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut push = |part: String| {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().map(String::as_str) == Some("*final-") {
                    parts.pop();
                }
            }
            while parts.last().map(String::as_str) == Some("00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    for p in raw {
        let p = match p.as_str() {
            "pre" | "preview" | "rc" => "c".to_string(),
            "-" => "final-".to_string(),
            "dev" => "@".to_string(),
            _ => p,
        };
        if p.is_empty() || p == "." {
            continue;
        }
        if p.as_bytes()[0].is_ascii_digit() {
            push(format!("{p:0>8}"));
        } else {
            push(format!("*{p}"));
        }
    }
    push("*final".to_string());
    parts
}

impl FromStr for Pep440Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(VersionError::Invalid {
                scheme: "pep440",
                version: s.to_string(),
                reason: "empty version".into(),
            });
        }
        Ok(match pep440_rs::Version::from_str(t) {
            Ok(v) => Self::Valid(v),
            Err(_) => Self::Legacy(t.to_string(), legacy_key(t)),
        })
    }
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid(v) => v.fmt(f),
            Self::Legacy(s, _) => f.write_str(s),
        }
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Valid(a), Self::Valid(b)) => a.cmp(b),
            (Self::Legacy(..), Self::Valid(_)) => Ordering::Less,
            (Self::Valid(_), Self::Legacy(..)) => Ordering::Greater,
            (Self::Legacy(_, a), Self::Legacy(_, b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

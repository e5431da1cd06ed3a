//! Alpine package versions, ordered as apk-tools' `apk_version_compare` (token grammar: digits,
//! one letter, `_suffix[N]`, `-rN`). Versions apk-tools deems invalid are compared token by token
//! as apk-tools 2.x does
//! (token comparison up to the first invalid token).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::VersionError;

/// A parsed apk version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApkVersion {
    raw: String,
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(VersionError::Invalid {
                scheme: "apk",
                version: s.to_string(),
                reason: "empty version".into(),
            });
        }
        Ok(Self { raw: t.to_string() })
    }
}

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid = -1,
    DigitOrZero = 0,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

fn next_token(t: &mut Tok, s: &[u8], p: &mut usize) {
    let mut n = Tok::Invalid;
    if *p >= s.len() {
        n = Tok::End;
    } else if matches!(*t, Tok::Digit | Tok::DigitOrZero) && s[*p].is_ascii_lowercase() {
        n = Tok::Letter;
    } else if *t == Tok::Letter && s[*p].is_ascii_digit() {
        n = Tok::Digit;
    } else if *t == Tok::Suffix && s[*p].is_ascii_digit() {
        n = Tok::SuffixNo;
    } else {
        match s[*p] {
            b'.' => n = Tok::DigitOrZero,
            b'_' => n = Tok::Suffix,
            b'-' if s.get(*p + 1) == Some(&b'r') => {
                n = Tok::RevisionNo;
                *p += 1;
            }
            _ => {}
        }
        *p += 1;
    }
    if n < *t
        && !((n == Tok::DigitOrZero && *t == Tok::Digit)
            || (n == Tok::Suffix && *t == Tok::SuffixNo)
            || (n == Tok::Digit && *t == Tok::Letter))
    {
        n = Tok::Invalid;
    }
    *t = n;
}

fn get_token(t: &mut Tok, s: &[u8], p: &mut usize) -> i64 {
    if *p >= s.len() {
        *t = Tok::End;
        return 0;
    }
    let rest = &s[*p..];
    let mut i = 0usize;
    let mut v: i64 = 0;
    let mut nt = Tok::Invalid;
    match *t {
        Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => {
            if *t == Tok::DigitOrZero && rest[0] == b'0' {
                while i < rest.len() && rest[i] == b'0' {
                    i += 1;
                }
                nt = Tok::Digit;
                v = -(i as i64);
            } else {
                while i < rest.len() && rest[i].is_ascii_digit() {
                    v = v.saturating_mul(10).saturating_add((rest[i] - b'0') as i64);
                    i += 1;
                }
            }
        }
        Tok::Letter => {
            v = rest[0] as i64;
            i = 1;
        }
        Tok::Suffix => {
            if let Some(k) = PRE.iter().position(|x| rest.starts_with(x.as_bytes())) {
                i = PRE[k].len();
                v = k as i64 - PRE.len() as i64;
            } else if let Some(k) = POST.iter().position(|x| rest.starts_with(x.as_bytes())) {
                i = POST[k].len();
                v = k as i64;
            } else {
                *t = Tok::Invalid;
                return -1;
            }
        }
        _ => {
            *t = Tok::Invalid;
            return -1;
        }
    }
    *p += i;
    if *p >= s.len() {
        *t = Tok::End;
    } else if nt != Tok::Invalid {
        *t = nt;
    } else {
        next_token(t, s, p);
    }
    v
}

/// Whether apk-tools accepts `v` as a version.
pub fn is_valid(v: &str) -> bool {
    let s = v.as_bytes();
    let mut p = 0;
    let mut t = Tok::Digit;
    if s.is_empty() {
        return false;
    }
    while t != Tok::End && t != Tok::Invalid {
        get_token(&mut t, s, &mut p);
    }
    t == Tok::End
}

fn compare(a: &str, b: &str) -> Ordering {
    let (sa, sb) = (a.as_bytes(), b.as_bytes());
    let (mut pa, mut pb) = (0, 0);
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        av = get_token(&mut at, sa, &mut pa);
        bv = get_token(&mut bt, sb, &mut pb);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    let mut tt = at;
    let mut pp = pa;
    if at == Tok::Suffix && get_token(&mut tt, sa, &mut pp) < 0 {
        return Ordering::Less;
    }
    let mut tt = bt;
    let mut pp = pb;
    if bt == Tok::Suffix && get_token(&mut tt, sb, &mut pp) < 0 {
        return Ordering::Greater;
    }
    if at > bt {
        return Ordering::Less;
    }
    if bt > at {
        return Ordering::Greater;
    }
    Ordering::Equal
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.raw, &other.raw)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

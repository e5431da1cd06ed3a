//! Maven versions, ordered as Maven's `ComparableVersion` (items, sub-lists after `-` and at
//! digit/letter transitions, qualifiers alpha < beta < milestone < rc < snapshot < "" < sp).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn comparable(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn release_index() -> String {
    "5".to_string()
}

impl Item {
    fn string(v: &str, followed_by_digit: bool) -> Item {
        let mut v = v.to_string();
        if followed_by_digit && v.len() == 1 {
            v = match v.as_str() {
                "a" => "alpha".into(),
                "b" => "beta".into(),
                "m" => "milestone".into(),
                _ => v,
            };
        }
        let v = match v.as_str() {
            "ga" | "final" | "release" => String::new(),
            "cr" => "rc".into(),
            _ => v,
        };
        Item::Str(v)
    }

    fn int(v: &str) -> Item {
        let t = v.trim_start_matches('0');
        Item::Int(t.to_string())
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Int(v) => v.is_empty(),
            Item::Str(v) => comparable(v) == release_index(),
            Item::List(l) => l.is_empty(),
        }
    }

    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(v), None) => {
                if v.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(v), None) => comparable(v).cmp(&release_index()),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => comparable(a).cmp(&comparable(b)),
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => match l.first() {
                None => Ordering::Equal,
                Some(f) => f.cmp_opt(None),
            },
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => {
                let n = a.len().max(b.len());
                for k in 0..n {
                    let r = match (a.get(k), b.get(k)) {
                        (None, None) => Ordering::Equal,
                        (None, Some(r)) => r.cmp_opt(None).reverse(),
                        (Some(l), r) => l.cmp_opt(r),
                    };
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MavenVersion {
    items: Vec<Item>,
    original: String,
}

fn parse(version: &str) -> Vec<Item> {
    let v = version.to_lowercase();
    let chars: Vec<char> = v.chars().collect();
    // A stack of lists; each new list is appended to its parent when closed.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0usize;
    let sub = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let item = |d: bool, s: &str| {
        if d {
            Item::int(s)
        } else {
            Item::string(s, false)
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        let top = stack.len() - 1;
        if c == '.' {
            if i == start {
                stack[top].push(Item::Int(String::new()));
            } else {
                stack[top].push(item(is_digit, &sub(start, i)));
            }
            start = i + 1;
        } else if c == '-' {
            if i == start {
                stack[top].push(Item::Int(String::new()));
            } else {
                stack[top].push(item(is_digit, &sub(start, i)));
            }
            start = i + 1;
            stack.push(Vec::new());
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                stack[top].push(Item::string(&sub(start, i), true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                stack[top].push(item(true, &sub(start, i)));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if chars.len() > start {
        let top = stack.len() - 1;
        stack[top].push(item(is_digit, &sub(start, chars.len())));
    }
    while stack.len() > 1 {
        let mut l = stack.pop().unwrap_or_default();
        normalize(&mut l);
        let top = stack.len() - 1;
        stack[top].push(Item::List(l));
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

impl FromStr for MavenVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(VersionError::Invalid {
                scheme: "maven",
                version: s.to_string(),
                reason: "empty version".into(),
            });
        }
        Ok(Self { items: parse(s.trim()), original: s.to_string() })
    }
}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        Item::List(self.items.clone()).cmp_opt(Some(&Item::List(other.items.clone())))
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

//! CPE 2.3 names: splitting a formatted string into its fields, the `vendor:product` key the
//! NVD rows are stored under, version order, and evaluating NVD `configurations` (version
//! ranges, AND/OR nodes, `negate`, `vulnerable` flags) for one component CPE. Depends on nothing
//! else in `vuln`.

use std::cmp::Ordering;

use serde_json::Value;

use crate::version::dpkg::verrevcmp;

/// Splits a CPE 2.3 formatted string into its 13 fields (`cpe`, `2.3`, part, vendor, product,
/// version, update, edition, language, sw_edition, target_sw, target_hw, other), honouring
/// backslash escapes.
pub fn split_cpe(cpe: &str) -> Option<Vec<String>> {
    let mut parts = Vec::with_capacity(13);
    let mut cur = String::new();
    let mut esc = false;
    for c in cpe.chars() {
        if esc {
            cur.push('\\');
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == ':' {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    if parts.len() != 13 || parts[0] != "cpe" || parts[1] != "2.3" {
        return None;
    }
    Some(parts.into_iter().map(|p| p.to_lowercase()).collect())
}

/// Whether a CPE field is a wildcard (`*`), not applicable (`-`) or empty.
pub fn any(v: &str) -> bool {
    v == "*" || v == "-" || v.is_empty()
}

/// Version order for CPE ranges: dpkg's character order, which handles OpenSSL letter suffixes
/// (`1.1.1n` < `1.1.1o`, `1.0.2zd`) and dotted numbers.
pub fn cmp_version(a: &str, b: &str) -> Ordering {
    verrevcmp(&a.replace('\\', ""), &b.replace('\\', ""))
}

/// Whether one `cpeMatch` entry matches a component CPE; on a match, the range's fix version.
pub fn match_entry(component: &[String], m: &Value) -> Option<Option<String>> {
    let crit = split_cpe(m.get("criteria")?.as_str()?)?;
    for i in 2..13 {
        if i == 5 {
            continue;
        }
        if !any(&crit[i]) && !any(&component[i]) && crit[i] != component[i] {
            return None;
        }
        if i <= 4 && crit[i] != component[i] {
            return None;
        }
    }
    let ver = &component[5];
    if !any(&crit[5]) {
        return (cmp_version(ver, &crit[5]) == Ordering::Equal).then_some(None);
    }
    if any(ver) {
        return None;
    }
    let g = |k: &str| m.get(k).and_then(Value::as_str);
    if let Some(s) = g("versionStartIncluding") {
        if cmp_version(ver, s) == Ordering::Less {
            return None;
        }
    }
    if let Some(s) = g("versionStartExcluding") {
        if cmp_version(ver, s) != Ordering::Greater {
            return None;
        }
    }
    if let Some(e) = g("versionEndIncluding") {
        if cmp_version(ver, e) == Ordering::Greater {
            return None;
        }
    }
    if let Some(e) = g("versionEndExcluding") {
        if cmp_version(ver, e) != Ordering::Less {
            return None;
        }
        return Some(Some(e.to_string()));
    }
    Some(None)
}

/// Evaluates one node: `Some(result)` when it has vulnerable entries, `None` for a platform-only
/// node (whose truth the scan cannot know). Collects fix versions of matching entries.
fn eval_node(component: &[String], node: &Value, fixes: &mut Vec<String>) -> Option<bool> {
    let entries = node.get("cpeMatch").and_then(Value::as_array)?;
    let and = node.get("operator").and_then(Value::as_str) == Some("AND");
    let mut results = Vec::new();
    for m in entries {
        if m.get("vulnerable").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        match match_entry(component, m) {
            Some(fix) => {
                fixes.extend(fix);
                results.push(true);
            }
            None => results.push(false),
        }
    }
    if results.is_empty() {
        return None;
    }
    let r = if and { results.iter().all(|x| *x) } else { results.iter().any(|x| *x) };
    let negate = node.get("negate").and_then(Value::as_bool) == Some(true);
    Some(r != negate)
}

/// Evaluates NVD `configurations` for one component CPE; the fix versions on a match.
pub fn eval_configurations(component: &[String], configs: &Value) -> Option<Vec<String>> {
    let mut matched = false;
    let mut fixes = Vec::new();
    for conf in configs.as_array()? {
        let and = conf.get("operator").and_then(Value::as_str) == Some("AND");
        let mut local = Vec::new();
        let results: Vec<bool> = conf
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|n| eval_node(component, n, &mut local))
            .collect();
        let ok = if results.is_empty() {
            false
        } else if and {
            results.iter().all(|x| *x)
        } else {
            results.iter().any(|x| *x)
        };
        if ok {
            matched = true;
            fixes.extend(local);
        }
    }
    matched.then(|| {
        fixes.sort();
        fixes.dedup();
        fixes
    })
}

/// `vendor:product` of a CPE 2.3 formatted string (the key NVD rows are stored under).
pub fn vendor_product(cpe: &str) -> Option<String> {
    let parts = split_cpe(cpe)?;
    Some(format!("{}:{}", parts[3], parts[4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_versions() {
        assert_eq!(vendor_product("cpe:2.3:a:f5:nginx:1.20.0:*:*:*:*:*:*:*").as_deref(), Some("f5:nginx"));
        let c = split_cpe("cpe:2.3:a:f5:nginx:1.20.0:*:*:*:*:*:*:*").expect("cpe");
        assert_eq!(c[3], "f5");
        assert_eq!(c[5], "1.20.0");
        assert!(split_cpe("cpe:/a:f5:nginx").is_none());
        assert_eq!(cmp_version("1.1.1n", "1.1.1o"), Ordering::Less);
        assert_eq!(cmp_version("1.0.2zd", "1.0.2z"), Ordering::Greater);
        assert_eq!(cmp_version("1.20.1", "1.9.0"), Ordering::Greater);
    }
}

//! CPEs generated from a package's name, as syft generates them for packages whose metadata
//! names no vendor (Debian's: `syft/pkg/cataloger/internal/cpegenerate`, `FromPackageAttributes`).
//!
//! Products: the name and its delimiter variation (`-` for `_` and back). Vendors: the products,
//! then every prefix that ends before a `-` or `_` (`gcc-14-base`: `gcc-14`, `gcc`), plus the
//! few additions syft knows for the type; a known vendor (`apache`) replaces all others. Every
//! vendor × product pair with the version and `*` elsewhere, escaped as syft escapes it, CPEs
//! that do not validate dropped, sorted most specific first (longer vendor and product first,
//! then by text).

use std::collections::BTreeSet;

/// Punctuation that CPE 2.3 formatted strings carry escaped (syft's `allowedCPEPunctuation`);
/// `-` and `.` stay as they are in the formatted string.
const PUNCTUATION: &str = "-!\"#$%&'()+,./:;<=>@[]^`{|}~";

/// Vendors that replace every other candidate when one of them comes up (syft's `knownVendors`).
const KNOWN_VENDORS: [&str; 1] = ["apache"];

/// The CPEs syft generates for a Debian package of this name and version, most specific first.
pub fn debian(name: &str, version: &str) -> Vec<String> {
    let products = with_delimiter_variations(vec![name.to_string()]);
    let mut vendors = with_delimiter_variations(products.clone());
    for v in vendors.clone() {
        for s in sub_selections(&v) {
            push_unique(&mut vendors, s);
        }
    }
    // The one addition syft has for Debian packages (keyed by name and vendor).
    if name == "dnsmasq" && vendors.iter().any(|v| v == "dnsmasq") {
        push_unique(&mut vendors, "thekelleys".to_string());
    }
    vendors.retain(|v| !v.is_empty() && v != "*");
    if let Some(known) = vendors.iter().find(|v| KNOWN_VENDORS.contains(&v.as_str())).cloned() {
        vendors = vec![known];
    }
    let mut seen = BTreeSet::new();
    let mut out: Vec<(usize, String, String)> = Vec::new();
    for product in products.iter().filter(|p| !p.is_empty() && *p != "*") {
        for vendor in &vendors {
            if !seen.insert((product.clone(), vendor.clone())) || filtered(name, vendor, product) {
                continue;
            }
            let Some(cpe) = format_cpe(vendor, product, version) else { continue };
            // syft's BySpecificity: every candidate sets the same fields, so longer fields
            // first, then the unescaped text.
            let raw = format!("cpe:2.3:a:{vendor}:{product}:{}", if version.is_empty() { "*" } else { version });
            out.push((vendor.len() + product.len(), raw, cpe));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out.into_iter().map(|(_, _, cpe)| cpe).collect()
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// Adds `_` for `-` and `-` for `_` variations of every candidate.
fn with_delimiter_variations(mut list: Vec<String>) -> Vec<String> {
    for c in list.clone() {
        if c.contains('-') {
            push_unique(&mut list, c.replace('-', "_"));
        }
        if c.contains('_') {
            push_unique(&mut list, c.replace('_', "-"));
        }
    }
    list
}

/// `jenkins-ci-tools` → `jenkins`, `jenkins-ci`, `jenkins-ci-tools` (syft's
/// `generateSubSelections`: split after each `-` or `_`, separators trimmed off each part and
/// the previous part's trailing separator put back between).
fn sub_selections(field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last_sep = None;
    let mut rest = field;
    while !rest.is_empty() {
        let end = rest.find(['-', '_']).map_or(rest.len(), |i| i + 1);
        let (raw, tail) = rest.split_at(end);
        rest = tail;
        let part = raw.trim_matches(['-', '_']);
        if !part.is_empty() {
            let next = match (out.last(), last_sep) {
                (Some(prev), Some(sep)) => format!("{prev}{sep}{part}"),
                (Some(prev), None) => format!("{prev}{part}"),
                (None, _) => part.to_string(),
            };
            out.push(next);
        }
        last_sep = raw.chars().last();
    }
    out
}

/// syft's CPE filters that can apply to a Debian package: no jira server CPE for a client, no
/// jenkins server CPE for what is not jenkins.
fn filtered(name: &str, vendor: &str, product: &str) -> bool {
    let name = name.to_lowercase();
    (product == "jira" && name.contains("client") && matches!(vendor, "jira" | "atlassian"))
        || (product == "jenkins" && !name.contains("jenkins") && matches!(vendor, "jenkins" | "cloudbees"))
}

/// One field as syft writes it: spaces as `_`, punctuation escaped with `\` except `-` and
/// `.`; `None` for a character a CPE cannot carry (the CPE would not validate).
fn escape(field: &str) -> Option<String> {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            ' ' | '_' => out.push('_'),
            '-' | '.' => out.push(c),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c if PUNCTUATION.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn format_cpe(vendor: &str, product: &str, version: &str) -> Option<String> {
    let field = |s: &str| if s.is_empty() { Some("*".to_string()) } else { escape(s) };
    Some(format!("cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*", field(vendor)?, field(product)?, field(version)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_syft_writes_them() {
        assert_eq!(debian("libc6", "2.41-12+deb13u4"), ["cpe:2.3:a:libc6:libc6:2.41-12\\+deb13u4:*:*:*:*:*:*:*"]);
        let v = |list: Vec<String>| -> Vec<String> {
            list.iter().map(|c| c.split(':').skip(3).take(2).collect::<Vec<_>>().join(":")).collect()
        };
        assert_eq!(
            v(debian("gcc-14-base", "14.2.0-19")),
            [
                "gcc-14-base:gcc-14-base",
                "gcc-14-base:gcc_14_base",
                "gcc_14_base:gcc-14-base",
                "gcc_14_base:gcc_14_base",
                "gcc-14:gcc-14-base",
                "gcc-14:gcc_14_base",
                "gcc_14:gcc-14-base",
                "gcc_14:gcc_14_base",
                "gcc:gcc-14-base",
                "gcc:gcc_14_base",
            ]
        );
        assert_eq!(
            v(debian("apache2-bin", "2.4")),
            [
                "apache2-bin:apache2-bin",
                "apache2-bin:apache2_bin",
                "apache2_bin:apache2-bin",
                "apache2_bin:apache2_bin",
                "apache2:apache2-bin",
                "apache2:apache2_bin"
            ]
        );
        assert_eq!(v(debian("apache-x", "1")), ["apache:apache-x", "apache:apache_x"]);
        assert_eq!(
            debian("bsdutils", "1:2.38.1-5+deb12u3"),
            ["cpe:2.3:a:bsdutils:bsdutils:1\\:2.38.1-5\\+deb12u3:*:*:*:*:*:*:*"]
        );
        assert_eq!(sub_selections("a--b_c"), ["a", "a-b", "a-b_c"]);
        assert!(debian("n\u{e9}", "1").is_empty(), "a character no CPE carries");
    }

    /// syft 1.18.1's own CPEs for ten real Debian packages (`testdata/sbom/dpkg-cpe`).
    #[test]
    fn same_as_syft_on_a_real_status_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sbom/dpkg-cpe");
        let status = std::fs::read_to_string(dir.join("var/lib/dpkg/status")).expect("status");
        let location = crate::sbom::Location { path: "/var/lib/dpkg/status".into(), layer: None };
        let packages = super::super::dpkg::parse_status(&location, &status).expect("parse");
        let want: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(dir.join("syft-1.18.1-cpes.json")).expect("expected")).expect("json");
        assert_eq!(packages.len(), want.len());
        for w in &want {
            let (name, version) = (w["name"].as_str().unwrap_or(""), w["version"].as_str().unwrap_or(""));
            let p = packages.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(p.version, version);
            let syft: Vec<&str> = w["cpes"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
            assert_eq!(debian(name, version), syft, "{name}");
        }
    }
}

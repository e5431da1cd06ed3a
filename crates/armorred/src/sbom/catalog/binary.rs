//! Binary classifiers for files no package owns: the version comes from the binary's strings.
//! Which file names are looked at, and the purls and CPEs, follow syft's classifiers.

use super::{make_purl, maybe_binary, version_after, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::Entry;

/// The binary classifier cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Classifier;

const NAME: &str = "binary-classifier-cataloger";

/// One classifier: which files, which string precedes the version, what to call it.
struct Rule {
    matches: fn(&str) -> bool,
    needles: &'static [&'static [u8]],
    name: &'static str,
    cpes: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        matches: |f| f == "nginx",
        needles: &[b"\0nginx/", b"?nginx/", b"nginx version: nginx/", b"nginx/"],
        name: "nginx",
        cpes: &["f5:nginx", "nginx:nginx"],
    },
    Rule {
        matches: |f| f == "openssl" || f.starts_with("libcrypto.so") || f.starts_with("libssl.so"),
        needles: &[b"OpenSSL "],
        name: "openssl",
        cpes: &["openssl:openssl"],
    },
    Rule { matches: |f| f == "busybox", needles: &[b"BusyBox v"], name: "busybox", cpes: &["busybox:busybox"] },
    Rule {
        matches: |f| f == "node" || f == "nodejs",
        needles: &[b"node.js/v", b"/node/v"],
        name: "node",
        cpes: &["nodejs:node.js"],
    },
    Rule {
        matches: |f| f == "postgres",
        needles: &[b"(PostgreSQL) "],
        name: "postgresql",
        cpes: &["postgresql:postgresql"],
    },
    Rule {
        matches: |f| f == "httpd" || f == "apache2",
        needles: &[b"Apache/"],
        name: "httpd",
        cpes: &["apache:http_server"],
    },
    Rule {
        matches: |f| f == "curl" || f.starts_with("libcurl.so"),
        needles: &[b"curl/", b"libcurl/"],
        name: "curl",
        cpes: &["haxx:curl"],
    },
    Rule {
        matches: |f| f == "redis-server",
        needles: &[b"redis_version:", b"Redis version="],
        name: "redis",
        cpes: &["redislabs:redis", "redis:redis"],
    },
];

impl Cataloger for Classifier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Binary]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("binary-signature")
    }

    fn yields_to_owner(&self) -> bool {
        true
    }

    fn wants(&self, entry: &Entry) -> bool {
        let f = entry.file_name();
        maybe_binary(entry) && (RULES.iter().any(|r| (r.matches)(f)) || python_minor(f).is_some())
    }

    fn elf_only(&self) -> bool {
        true
    }

    fn windowed(&self) -> bool {
        true
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        Ok(classify(location, content).into_iter().collect::<Vec<_>>().into())
    }
}

/// `python3.11` / `libpython3.11.so.1.0` → `3.11`.
fn python_minor(file: &str) -> Option<&str> {
    let rest = file.strip_prefix("libpython").or_else(|| file.strip_prefix("python"))?;
    let rest = rest.split(".so").next()?;
    let ok = rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.contains('.')
        && rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then_some(rest)
}

/// Classifies one binary by its file name and strings.
pub fn classify(location: &Location, content: &[u8]) -> Option<Package> {
    let file = location.path.rsplit('/').next().unwrap_or_default();
    let (name, version, cpes): (&str, String, &[&str]) = if let Some(minor) = python_minor(file) {
        let needle = format!("{minor}.");
        let v = memchr::memmem::find_iter(content, needle.as_bytes()).find_map(|at| {
            let rest = &content[at + needle.len()..];
            let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            // `3.11.2` then a non-digit, non-dot: a release number (not `3.11.2.1`).
            (n > 0 && n < 4 && rest.get(n) != Some(&b'.')).then(|| String::from_utf8_lossy(&rest[..n]).into_owned())
        })?;
        ("python", format!("{minor}.{v}"), &["python_software_foundation:python", "python:python"])
    } else {
        let rule = RULES.iter().find(|r| (r.matches)(file))?;
        let v = rule.needles.iter().find_map(|n| version_after(content, n))?;
        (rule.name, v, rule.cpes)
    };
    let mut p = Package::new(PackageType::Binary, name, &version, NAME, location.clone());
    p.purl = make_purl("generic", None, name, &version, &[]);
    p.cpes = cpes.iter().map(|vp| format!("cpe:2.3:a:{vp}:{version}:*:*:*:*:*:*:*")).collect();
    Some(p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::loc;
    use super::*;

    #[test]
    fn table() {
        let cases: [(&str, &[u8], Option<(&str, &str)>); 8] = [
            ("/usr/sbin/nginx", b"\x7fELF..\0nginx/1.26.3\0", Some(("nginx", "1.26.3"))),
            (
                "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
                b"\x7fELF\0OpenSSL 3.0.15 3 Sep 2024\0",
                Some(("openssl", "3.0.15")),
            ),
            ("/bin/busybox", b"\x7fELF\0BusyBox v1.36.1 (2023-11-07) multi-call binary", Some(("busybox", "1.36.1"))),
            ("/usr/bin/python3.11", b"\x7fELF\0 3.11.2 (main, Mar 13 2023)", Some(("python", "3.11.2"))),
            (
                "/usr/local/bin/node",
                b"\x7fELF\0https://nodejs.org/download/release/v20.1.0/ node.js/v20.1.0\0",
                Some(("node", "20.1.0")),
            ),
            (
                "/usr/lib/postgresql/15/bin/postgres",
                b"\x7fELF\0postgres (PostgreSQL) 15.4\0",
                Some(("postgresql", "15.4")),
            ),
            ("/usr/bin/curl", b"\x7fELF\0curl/8.5.0\0", Some(("curl", "8.5.0"))),
            ("/usr/bin/nginx-lookalike", b"\x7fELF\0nginx/1.2.3\0", None),
        ];
        for (path, bytes, want) in cases {
            let got = classify(&loc(path), bytes);
            assert_eq!(got.as_ref().map(|p| (p.name.as_str(), p.version.as_str())), want, "{path}");
        }
        let p = classify(&loc("/usr/sbin/nginx"), b"\0nginx/1.26.3\0").unwrap();
        assert_eq!(p.purl.as_deref(), Some("pkg:generic/nginx@1.26.3"));
        assert_eq!(p.cpes[0], "cpe:2.3:a:f5:nginx:1.26.3:*:*:*:*:*:*:*");
    }
}

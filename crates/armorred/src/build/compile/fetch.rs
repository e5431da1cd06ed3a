//! Fetching pinned sources: the Debian mirror from the host's apt configuration, pool paths
//! resolved from `Sources.xz`, downloads hashed while written, and a content-addressed cache.
//!
//! Invariant: a file enters the cache only when its sha256 matches the pin; a cached file is
//! re-hashed before use. With every source cached, no network is touched.

use std::io::{BufRead, Read};

use super::SourceBuildError;

/// Largest file we download (a source tarball or an index).
const MAX_DOWNLOAD: u64 = 1 << 30;
/// Largest decompressed `Sources` index.
const MAX_SOURCES: u64 = 512 << 20;

/// Finds `file` of source package `package` in a `Sources` index and checks its sha256
/// against `sha256`. Returns the pool path (`pool/main/n/nginx/<file>`), or `None` when the
/// index does not list the file (a newer revision of the package replaced it in the suite).
pub fn resolve_in_sources(
    reader: impl BufRead,
    package: &str,
    file: &str,
    sha256: &str,
) -> Result<Option<String>, String> {
    let mut stanza = String::new();
    let mut seen_other_hash = None;
    let mut lines = reader.lines();
    loop {
        let line = lines.next().transpose().map_err(|e| e.to_string())?;
        let end = line.as_deref().is_none_or(|l| l.is_empty());
        if let Some(l) = &line {
            if !l.is_empty() {
                stanza.push_str(l);
                stanza.push('\n');
            }
        }
        if end && !stanza.is_empty() {
            if stanza_field(&stanza, "Package").as_deref() == Some(package) {
                let dir = stanza_field(&stanza, "Directory");
                let mut in_sha = false;
                for l in stanza.lines() {
                    if l.starts_with("Checksums-Sha256:") {
                        in_sha = true;
                        continue;
                    }
                    if !l.starts_with(' ') {
                        in_sha = false;
                        continue;
                    }
                    let parts: Vec<&str> = l.split_whitespace().collect();
                    if in_sha && parts.len() == 3 && parts[2] == file {
                        if parts[0] == sha256 {
                            let dir = dir.ok_or("stanza without Directory")?;
                            return Ok(Some(format!("{dir}/{file}")));
                        }
                        seen_other_hash = Some(parts[0].to_string());
                    }
                }
            }
            stanza.clear();
        }
        if line.is_none() {
            break;
        }
    }
    match seen_other_hash {
        Some(h) => Err(format!("{file} is listed with sha256 {h}, not the pinned {sha256}")),
        None => Ok(None),
    }
}

/// Debian's pool directory of a source package: `pool/<component>/<prefix>/<package>`, the
/// prefix being `lib` and the next letter for `lib*` packages, else the first letter (the
/// archive's layout, which `Sources` lists as `Directory`).
pub fn pool_dir(component: &str, package: &str) -> String {
    let prefix = match package.strip_prefix("lib") {
        Some(rest) if !rest.is_empty() => &package[..4],
        _ => &package[..package.chars().next().map_or(0, char::len_utf8)],
    };
    format!("pool/{component}/{prefix}/{package}")
}

fn stanza_field(stanza: &str, key: &str) -> Option<String> {
    stanza.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string()))
}

/// Downloads and decompresses `dists/<suite>/<component>/source/Sources.xz`, then resolves
/// `file` of `package` in it. Returns the pool path, or `None` when the index does not list it.
pub fn resolve_pool_path(
    mirror: &str,
    suite: &str,
    component: &str,
    package: &str,
    file: &str,
    sha256: &str,
) -> Result<Option<String>, SourceBuildError> {
    let url = format!("{mirror}/dists/{suite}/{component}/source/Sources.xz");
    let what = format!("dists/{suite}/{component}/source/Sources.xz");
    let resp = crate::build::debian::mirror::client()
        .get(&url)
        .call()
        .map_err(|e| SourceBuildError::Fetch { what: what.clone(), reason: format!("GET failed: {e}") })?;
    let body = resp.into_reader().take(MAX_DOWNLOAD);
    let xz = xz2::read::XzDecoder::new(body).take(MAX_SOURCES);
    resolve_in_sources(std::io::BufReader::new(xz), package, file, sha256)
        .map_err(|reason| SourceBuildError::Fetch { what: format!("{file} in {what}"), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "Package: nginx\nVersion: 1.26.3-3\nChecksums-Sha256:\n aaaa 10 nginx_1.26.3-3.dsc\n 69ee 12 nginx_1.26.3.orig.tar.gz\nDirectory: pool/main/n/nginx\n\nPackage: other\nDirectory: pool/main/o/other\nChecksums-Sha256:\n bbbb 1 other.tar.gz\n";

    #[test]
    fn resolve_table() {
        let cases = [
            ("nginx", "nginx_1.26.3.orig.tar.gz", "69ee", Ok(Some("pool/main/n/nginx/nginx_1.26.3.orig.tar.gz"))),
            ("nginx", "nginx_1.26.3.orig.tar.gz", "ffff", Err("listed with sha256 69ee")),
            ("nginx", "missing.tar.gz", "69ee", Ok(None)),
            ("other", "other.tar.gz", "bbbb", Ok(Some("pool/main/o/other/other.tar.gz"))),
        ];
        for (pkg, file, sha, want) in cases {
            let got = resolve_in_sources(SOURCES.as_bytes(), pkg, file, sha);
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(g.as_deref(), w),
                (Err(w), Err(g)) => assert!(g.contains(w), "{g}"),
                (w, g) => panic!("{pkg} {file}: want {w:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn pool_dir_table() {
        for (package, want) in [
            ("nginx", "pool/main/n/nginx"),
            ("libxml2", "pool/main/libx/libxml2"),
            ("lib", "pool/main/l/lib"),
            ("0ad", "pool/main/0/0ad"),
        ] {
            assert_eq!(pool_dir("main", package), want);
        }
    }
}

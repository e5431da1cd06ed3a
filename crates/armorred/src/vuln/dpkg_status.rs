//! A dpkg status file (`/var/lib/dpkg/status`) into [`ScanPackage`]s: installed packages only,
//! `Source: name (version)` kept for source-package matching.

use std::path::Path;

use super::scan::{Distro, ScanPackage};
use super::{Result, VulnError};

/// Parses a status file's text. Entries without Package or Version are skipped.
pub fn parse(text: &str, distro: Option<&Distro>) -> Vec<ScanPackage> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut source = None;
        let mut status = None;
        let mut arch = None;
        for line in para.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "Package" => name = Some(v.to_string()),
                "Version" => version = Some(v.to_string()),
                "Source" => source = Some(v.to_string()),
                "Status" => status = Some(v.to_string()),
                "Architecture" => arch = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        if let Some(st) = &status {
            if !st.ends_with(" installed") {
                continue;
            }
        }
        let (source_name, source_version) = match source {
            Some(s) => match s.split_once(' ') {
                Some((n, v)) => (n.to_string(), v.trim().trim_start_matches('(').trim_end_matches(')').to_string()),
                None => (s, version.clone()),
            },
            None => (name.clone(), version.clone()),
        };
        let mut purl = format!("pkg:deb/debian/{name}@{}", purl_escape(&version));
        let mut q = Vec::new();
        if let Some(a) = &arch {
            q.push(format!("arch={a}"));
        }
        if let Some(d) = distro {
            q.push(format!("distro=debian-{}", d.version_id));
        }
        if source_name != name {
            q.push(format!("upstream={source_name}"));
        }
        if !q.is_empty() {
            purl.push('?');
            purl.push_str(&q.join("&"));
        }
        out.push(ScanPackage {
            name,
            version,
            purl: Some(purl),
            cpes: Vec::new(),
            source_name: Some(source_name),
            source_version: Some(source_version),
            distro: distro.cloned(),
        });
    }
    out
}

fn purl_escape(v: &str) -> String {
    v.replace('%', "%25").replace(':', "%3A").replace('+', "%2B")
}

/// Reads a status file.
pub fn read(path: &Path, distro: Option<&Distro>) -> Result<Vec<ScanPackage>> {
    let text = std::fs::read_to_string(path).map_err(|source| VulnError::Read { path: path.to_path_buf(), source })?;
    Ok(parse(&text, distro))
}

/// Reads `os-release` text into a [`Distro`].
pub fn parse_os_release(text: &str) -> Option<Distro> {
    let mut id = None;
    let mut ver = None;
    let mut code = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "ID" => id = Some(v),
            "VERSION_ID" => ver = Some(v),
            "VERSION_CODENAME" => code = Some(v).filter(|c| !c.is_empty()),
            _ => {}
        }
    }
    Some(Distro { id: id?, version_id: ver?, codename: code })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_source() {
        let text = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1\n";
        let d = parse_os_release("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        let p = parse(text, d.as_ref());
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(p[0].source_version.as_deref(), Some("3.0.11-1~deb12u2"));
        assert_eq!(p[1].source_version.as_deref(), Some("1:1.2.13.dfsg-1"));
        assert_eq!(
            p[0].purl.as_deref(),
            Some("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl")
        );
    }

    #[test]
    fn scalibr_fixtures() {
        let dir = crate::vuln::testutil::shared_data()
            .join("osv-scalibr-fixtures/extractor/filesystem/os/dpkg/testdata/dpkg");
        // (file, packages kept): installed entries with Package and Version only.
        for (name, want) in [
            ("empty", 0),
            ("invalid", 0),
            ("single", 1),
            ("trailingnewlines", 1),
            // wantinstall_installed, wantdeinstall_installed, wantpurge_installed, wantnostatus
            ("statusfield", 4),
            ("valid", 7),
        ] {
            let pkgs = read(&dir.join(name), None).expect(name);
            assert_eq!(pkgs.len(), want, "{name}: {pkgs:?}");
        }
        for name in ["nopackage", "noversion"] {
            let pkgs = read(&dir.join(name), None).expect(name);
            assert!(pkgs.iter().all(|p| !p.name.is_empty() && !p.version.is_empty()));
        }
    }
}

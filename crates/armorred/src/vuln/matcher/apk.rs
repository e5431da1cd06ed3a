//! Alpine / Wolfi / Chainguard packages against secdb `secfixes`: vulnerable when the installed
//! version is below the version that fixed the advisory (`0` = never affected).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::version::ApkVersion;
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, FixState, PackageType, ScanPackage};
use crate::vuln::provider::Provider;

/// The apk matcher.
#[derive(Debug, Clone, Copy)]
pub struct ApkMatcher;

impl Matcher for ApkMatcher {
    fn name(&self) -> &'static str {
        "apk-matcher"
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Apk]
    }

    fn memo_key(&self, pkg: &ScanPackage) -> Option<String> {
        let d = pkg.distro.as_ref()?;
        let src = pkg.source_name.as_deref().unwrap_or("");
        Some(format!("{}\0{}\0{}\0{src}\0{}", d.id, d.version_id, pkg.name, pkg.version))
    }

    fn find(
        &self,
        provider: &dyn Provider,
        pkg: &ScanPackage,
        _opts: &MatchOptions,
        out: &mut Vec<RawMatch>,
    ) -> Result<()> {
        let Some(distro) = pkg.distro.as_ref() else {
            return Ok(());
        };
        let ns = match distro.id.as_str() {
            "alpine" => {
                let mut it = distro.version_id.split('.');
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => format!("alpine:{a}.{b}"),
                    _ => return Ok(()),
                }
            }
            "wolfi" => "wolfi".to_string(),
            "chainguard" => "chainguard".to_string(),
            _ => return Ok(()),
        };
        let Ok(installed) = pkg.version.parse::<ApkVersion>() else {
            return Ok(());
        };
        let mut names = vec![pkg.name.as_str()];
        if let Some(src) = pkg.source_name.as_deref().filter(|s| *s != pkg.name) {
            names.push(src);
        }
        for name in names {
            for a in provider.affected(&ns, name)?.iter() {
                let AffectedData::Secfix { fixed_version } = &a.data else {
                    continue;
                };
                if fixed_version == "0" {
                    continue;
                }
                let Ok(fixed) = fixed_version.parse::<ApkVersion>() else {
                    continue;
                };
                if installed >= fixed {
                    continue;
                }
                out.push(RawMatch {
                    vuln_id: a.vuln_id.clone(),
                    namespace: ns.clone(),
                    matcher: self.name(),
                    match_type: if name == pkg.name { "exact-direct-match" } else { "exact-indirect-match" },
                    fix_state: FixState::Fixed,
                    fix_versions: vec![fixed_version.clone()],
                    vendor_severity: None,
                    searched_by: json!({"distro": {"type": distro.id, "version": distro.version_id},
                        "namespace": ns, "package": {"name": name, "version": pkg.version}}),
                    found: json!({"vulnerabilityID": a.vuln_id, "fixedVersion": fixed_version}),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::matcher::table::{distro, expect, lang, mini_db, run, Case};
    use FixState::*;

    fn apk(name: &str, version: &str, origin: Option<&str>, alpine: &str) -> ScanPackage {
        ScanPackage {
            name: name.into(),
            version: version.into(),
            purl: Some(format!("pkg:apk/alpine/{name}@{version}?distro=alpine-{alpine}")),
            source_name: origin.map(str::to_string),
            distro: Some(distro("alpine", alpine, None)),
            ..ScanPackage::default()
        }
    }

    #[test]
    fn table() {
        let db = mini_db("apk");
        let opts = MatchOptions::default();
        let cases: Vec<Case> = vec![
            (
                "below two secfixes versions",
                apk("openssl", "1.1.1d-r0", None, "3.11.6"),
                expect(&[
                    ("CVE-2019-1547", Fixed, &["1.1.1d-r1"]),
                    ("CVE-2019-1549", Fixed, &["1.1.1d-r1"]),
                    ("CVE-2019-1551", Fixed, &["1.1.1d-r3"]),
                    ("CVE-2019-1563", Fixed, &["1.1.1d-r1"]),
                ]),
            ),
            ("at the newest fix", apk("openssl", "1.1.1d-r3", None, "3.11.6"), expect(&[])),
            (
                "a subpackage by its origin",
                apk("libssl1.1", "1.1.1d-r2", Some("openssl"), "3.11.6"),
                expect(&[("CVE-2019-1551", Fixed, &["1.1.1d-r3"])]),
            ),
            ("musl fixed", apk("musl", "1.1.24-r0", None, "3.11.6"), expect(&[])),
            (
                "musl below its fix",
                apk("musl", "1.1.22-r3", None, "3.11.6"),
                expect(&[("CVE-2019-14697", Fixed, &["1.1.23-r2"])]),
            ),
            ("another release: another namespace", apk("openssl", "1.1.1d-r0", None, "3.12.0"), expect(&[])),
            (
                "a Debian package of the same name",
                ScanPackage {
                    name: "openssl".into(),
                    version: "1.1.1d-1".into(),
                    purl: Some("pkg:deb/debian/openssl@1.1.1d-1".into()),
                    distro: Some(distro("debian", "10", Some("buster"))),
                    ..ScanPackage::default()
                },
                expect(&[]),
            ),
            ("a language package", lang("pkg:pypi/openssl@1.0"), expect(&[])),
        ];
        for (what, pkg, want) in cases {
            assert_eq!(run(&ApkMatcher, &db, &pkg, &opts), want, "{what}: {pkg:?}");
        }
    }
}

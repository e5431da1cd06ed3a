//! CPE 2.3 matching over NVD configurations ([`crate::vuln::cpe`]), for components with CPEs
//! and no distro data. Off for language packages unless asked (a known false-positive source).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::vuln::cpe::{any, eval_configurations, split_cpe};
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, FixState, PackageType, ScanPackage};
use crate::vuln::provider::Provider;

/// The CPE matcher.
#[derive(Debug, Clone, Copy)]
pub struct CpeMatcher;

impl Matcher for CpeMatcher {
    fn name(&self) -> &'static str {
        "cpe-matcher"
    }

    fn package_types(&self) -> &'static [PackageType] {
        // Any package with CPEs; distro packages and language packages are left out in `find`.
        &PackageType::ALL
    }

    fn find(
        &self,
        provider: &dyn Provider,
        pkg: &ScanPackage,
        opts: &MatchOptions,
        out: &mut Vec<RawMatch>,
    ) -> Result<()> {
        if pkg.cpes.is_empty() {
            return Ok(());
        }
        // Packages with distro data are matched by their distro's feed, not by CPE; so are
        // rebuilds of a Debian source package (the CPE's version misses Debian's backports).
        if (matches!(pkg.package_type(), PackageType::Deb | PackageType::Apk | PackageType::Rpm)
            && pkg.distro.is_some())
            || pkg.is_debian_rebuild()
        {
            return Ok(());
        }
        if pkg.is_language_package() && !opts.cpe_for_language_packages {
            return Ok(());
        }
        let mut seen = std::collections::BTreeSet::new();
        for cpe in &pkg.cpes {
            let Some(mut comp) = split_cpe(cpe) else {
                continue;
            };
            if any(&comp[5]) {
                comp[5] = pkg.version.to_lowercase();
            }
            let vp = format!("{}:{}", comp[3], comp[4]);
            for a in provider.affected("cpe", &vp)?.iter() {
                let AffectedData::Cpe { configurations } = &a.data else {
                    continue;
                };
                if seen.contains(&a.vuln_id) {
                    continue;
                }
                let Some(fixes) = eval_configurations(&comp, configurations) else {
                    continue;
                };
                seen.insert(a.vuln_id.clone());
                out.push(RawMatch {
                    vuln_id: a.vuln_id.clone(),
                    namespace: "nvd:cpe".into(),
                    matcher: self.name(),
                    match_type: "cpe-match",
                    fix_state: if fixes.is_empty() { FixState::Unknown } else { FixState::Fixed },
                    fix_versions: fixes,
                    vendor_severity: None,
                    searched_by: json!({"cpes": [cpe], "namespace": "nvd:cpe",
                        "package": {"name": pkg.name, "version": pkg.version}}),
                    found: json!({"vulnerabilityID": a.vuln_id}),
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

    /// A source-built binary identified by one CPE.
    fn built(name: &str, version: &str, cpe: &str) -> ScanPackage {
        ScanPackage { name: name.into(), version: version.into(), cpes: vec![cpe.into()], ..ScanPackage::default() }
    }

    #[test]
    fn table() {
        let db = mini_db("cpe");
        let opts = MatchOptions::default();
        let nginx = |v: &str| built("nginx", v, &format!("cpe:2.3:a:f5:nginx:{v}:*:*:*:*:*:*:*"));
        let openssl = |v: &str| built("openssl", v, &format!("cpe:2.3:a:openssl:openssl:{v}:*:*:*:*:*:*:*"));
        let cases: Vec<Case> = vec![
            ("inside 0.6.18 <= v < 1.20.1", nginx("1.20.0"), expect(&[("CVE-2021-23017", Fixed, &["1.20.1"])])),
            ("at versionEndExcluding", nginx("1.20.1"), expect(&[])),
            ("below versionStartIncluding", nginx("0.6.17"), expect(&[])),
            (
                "a CPE without a version: the package's",
                built("nginx", "1.19.0", "cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*"),
                expect(&[("CVE-2021-23017", Fixed, &["1.20.1"])]),
            ),
            (
                "another product of the same CVE",
                built("openresty", "1.19.3.1", "cpe:2.3:a:openresty:openresty:1.19.3.1:*:*:*:*:*:*:*"),
                expect(&[("CVE-2021-23017", Fixed, &["1.19.3.2"])]),
            ),
            ("openssl 3.0 range", openssl("3.0.1"), expect(&[("CVE-2022-0778", Fixed, &["3.0.2"])])),
            ("openssl 1.1.1 letter versions", openssl("1.1.1m"), expect(&[("CVE-2022-0778", Fixed, &["1.1.1n"])])),
            ("openssl at the fix", openssl("1.1.1n"), expect(&[])),
            (
                "a Debian package: matched by its distro's data, not by CPE",
                ScanPackage {
                    purl: Some("pkg:deb/debian/openssl@3.0.1-1".into()),
                    distro: Some(distro("debian", "12", Some("bookworm"))),
                    ..openssl("3.0.1")
                },
                expect(&[]),
            ),
            (
                "a language package: off by default",
                ScanPackage {
                    cpes: vec!["cpe:2.3:a:openssl:openssl:3.0.1:*:*:*:*:*:*:*".into()],
                    ..lang("pkg:npm/openssl@3.0.1")
                },
                expect(&[]),
            ),
        ];
        for (what, pkg, want) in cases {
            assert_eq!(run(&CpeMatcher, &db, &pkg, &opts), want, "{what}: {pkg:?}");
        }
        // Asked for: language packages are matched by CPE too.
        let on = MatchOptions { cpe_for_language_packages: true };
        let npm = ScanPackage {
            cpes: vec!["cpe:2.3:a:openssl:openssl:3.0.1:*:*:*:*:*:*:*".into()],
            ..lang("pkg:npm/openssl@3.0.1")
        };
        assert_eq!(run(&CpeMatcher, &db, &npm, &on), expect(&[("CVE-2022-0778", Fixed, &["3.0.2"])]));
    }
}

//! CPE 2.3 matching over NVD configurations ([`crate::vuln::cpe`]), for components with CPEs
//! and no distro data. Off for language packages unless asked (a known false-positive source).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::vuln::cpe::{any, eval_configurations, split_cpe};
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, FixState, ScanPackage};
use crate::vuln::provider::Provider;

/// The CPE matcher.
#[derive(Debug, Clone, Copy)]
pub struct CpeMatcher;

impl Matcher for CpeMatcher {
    fn name(&self) -> &'static str {
        "cpe-matcher"
    }

    fn package_types(&self) -> &'static [&'static str] {
        // Any package with CPEs; distro packages and language packages are left out in `find`.
        &ScanPackage::KINDS
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
        if (matches!(pkg.kind(), "deb" | "apk" | "rpm") && pkg.distro.is_some()) || pkg.is_debian_rebuild() {
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

//! Alpine / Wolfi / Chainguard packages against secdb `secfixes`: vulnerable when the installed
//! version is below the version that fixed the advisory (`0` = never affected).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::version::ApkVersion;
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, FixState, ScanPackage};
use crate::vuln::provider::Provider;

/// The apk matcher.
#[derive(Debug, Clone, Copy)]
pub struct ApkMatcher;

impl Matcher for ApkMatcher {
    fn name(&self) -> &'static str {
        "apk-matcher"
    }

    fn package_types(&self) -> &'static [&'static str] {
        &["apk"]
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

//! Debian packages against the security tracker, by source package and release, with the
//! tracker's semantics: fixed version, open/unfixed, no-dsa, ignored, postponed, end-of-life,
//! not-affected (`fixed_version` "0"), unimportant (severity Negligible).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::version::DpkgVersion;
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, Distro, FixState, ScanPackage, Severity, DEBIAN_STATUSES};
use crate::vuln::provider::Provider;

/// The dpkg matcher.
#[derive(Debug, Clone, Copy)]
pub struct DpkgMatcher;

/// The tracker's urgency word as a severity (`None` for "not yet assigned").
pub fn urgency_severity(urgency: Option<&str>) -> Option<Severity> {
    let u = urgency?.trim_end_matches('*').trim();
    match u {
        "unimportant" => Some(Severity::Negligible),
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    }
}

/// The tracker's release statuses (see [`DEBIAN_STATUSES`]).
pub const KNOWN_STATUSES: [&str; 3] = DEBIAN_STATUSES;

/// What one tracker entry says about an installed source version: `None` = not vulnerable.
pub fn evaluate(
    installed: &DpkgVersion,
    status: &str,
    fixed_version: Option<&str>,
    urgency: Option<&str>,
    nodsa: Option<&str>,
    nodsa_reason: Option<&str>,
) -> Option<(FixState, Vec<String>)> {
    if !KNOWN_STATUSES.contains(&status) {
        return Some((FixState::Unknown, Vec::new()));
    }
    if let Some(fixed) = fixed_version.filter(|f| !f.is_empty()) {
        if fixed == "0" {
            return None; // not-affected
        }
        let fv: DpkgVersion = fixed.parse().ok()?;
        return (installed < &fv).then(|| (FixState::Fixed, vec![fixed.to_string()]));
    }
    match status {
        "resolved" => None,
        "open" => {
            let state = match nodsa_reason {
                Some("ignored") => FixState::WontFix,
                Some("postponed") => FixState::NotFixed,
                _ if nodsa.is_some() => FixState::WontFix,
                _ if urgency == Some("end-of-life") => FixState::WontFix,
                _ => FixState::NotFixed,
            };
            Some((state, Vec::new()))
        }
        _ => Some((FixState::Unknown, Vec::new())),
    }
}

/// What a Debian package is looked up by: its distribution, release codename, source package
/// and source version (`None`: not a Debian package).
fn target(pkg: &ScanPackage) -> Option<(&Distro, String, &str, &str)> {
    let distro = pkg.distro.as_ref().filter(|d| d.id == "debian")?;
    if pkg.kind() != "deb" && !pkg.is_debian_rebuild() {
        return None;
    }
    let codename = distro.debian_codename()?;
    let src = pkg.source_name.as_deref().unwrap_or(&pkg.name);
    let ver = pkg.source_version.as_deref().unwrap_or(&pkg.version);
    Some((distro, codename, src, ver))
}

impl Matcher for DpkgMatcher {
    fn name(&self) -> &'static str {
        "dpkg-matcher"
    }

    fn package_types(&self) -> &'static [&'static str] {
        // `binary`: source builds of a Debian source package ([`ScanPackage::is_debian_rebuild`]).
        &["deb", "binary"]
    }

    fn memo_key(&self, pkg: &ScanPackage) -> Option<String> {
        let (distro, codename, src, ver) = target(pkg)?;
        Some(format!("{codename}\0{}\0{src}\0{ver}\0{}", distro.version_id, src == pkg.name))
    }

    fn find(
        &self,
        provider: &dyn Provider,
        pkg: &ScanPackage,
        _opts: &MatchOptions,
        out: &mut Vec<RawMatch>,
    ) -> Result<()> {
        let Some((distro, codename, src, ver)) = target(pkg) else {
            return Ok(());
        };
        let Ok(installed) = ver.parse::<DpkgVersion>() else {
            return Ok(());
        };
        let ns = format!("debian:{codename}");
        for a in provider.affected(&ns, src)?.iter() {
            let AffectedData::Debian { status, fixed_version, urgency, nodsa, nodsa_reason } = &a.data else {
                continue;
            };
            let Some((state, versions)) = evaluate(
                &installed,
                status,
                fixed_version.as_deref(),
                urgency.as_deref(),
                nodsa.as_deref(),
                nodsa_reason.as_deref(),
            ) else {
                continue;
            };
            let direct = src == pkg.name;
            out.push(RawMatch {
                vuln_id: a.vuln_id.clone(),
                namespace: ns.clone(),
                matcher: self.name(),
                match_type: if direct { "exact-direct-match" } else { "exact-indirect-match" },
                fix_state: state,
                fix_versions: versions,
                vendor_severity: urgency_severity(urgency.as_deref()),
                searched_by: json!({"distro": {"type": "debian", "version": distro.version_id},
                    "namespace": ns, "package": {"name": src, "version": ver}}),
                found: json!({"vulnerabilityID": a.vuln_id, "status": status,
                    "fixedVersion": fixed_version, "urgency": urgency,
                    "nodsa": nodsa, "nodsaReason": nodsa_reason}),
            });
        }
        Ok(())
    }
}

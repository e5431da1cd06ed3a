//! Debian packages against the security tracker, by source package and release, with the
//! tracker's semantics: fixed version, open/unfixed, no-dsa, ignored, postponed, end-of-life,
//! not-affected (`fixed_version` "0"), unimportant (severity Negligible).

use serde_json::json;

use super::{MatchOptions, Matcher, RawMatch};
use crate::version::DpkgVersion;
use crate::vuln::error::Result;
use crate::vuln::model::{AffectedData, Distro, FixState, PackageType, ScanPackage, Severity, DEBIAN_STATUSES};
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
    if pkg.package_type() != PackageType::Deb && !pkg.is_debian_rebuild() {
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

    fn package_types(&self) -> &'static [PackageType] {
        // `binary`: source builds of a Debian source package ([`ScanPackage::is_debian_rebuild`]).
        &[PackageType::Deb, PackageType::Binary]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::matcher::table::{distro, expect, lang, mini_db, run, Case};
    use FixState::*;

    /// A Debian binary package of a source package, in bookworm (or `release`).
    fn deb(name: &str, version: &str, src: &str, src_version: &str, release: (&str, &str)) -> ScanPackage {
        ScanPackage {
            name: name.into(),
            version: version.into(),
            purl: Some(format!("pkg:deb/debian/{name}@{version}?distro=debian-{}", release.0)),
            source_name: Some(src.into()),
            source_version: Some(src_version.into()),
            distro: Some(distro("debian", release.0, Some(release.1))),
            ..ScanPackage::default()
        }
    }

    const BOOKWORM: (&str, &str) = ("12", "bookworm");
    const TRIXIE: (&str, &str) = ("13", "trixie");

    #[test]
    fn table() {
        let db = mini_db("dpkg");
        let opts = MatchOptions::default();
        let cases: Vec<Case> = vec![
            (
                "open entries: unfixed, unimportant and no-dsa (wont-fix)",
                deb("nginx", "1.22.1-9", "nginx", "1.22.1-9", BOOKWORM),
                expect(&[
                    ("CVE-2009-4487", NotFixed, &[]),
                    ("CVE-2023-44487", NotFixed, &[]),
                    ("CVE-2024-7347", WontFix, &[]),
                    ("CVE-2025-23419", NotFixed, &[]),
                ]),
            ),
            (
                "the same source in trixie: its own release's entries",
                deb("nginx", "1.26.3-2", "nginx", "1.26.3-2", TRIXIE),
                expect(&[("CVE-2009-4487", NotFixed, &[]), ("CVE-2024-7347", NotFixed, &[])]),
            ),
            (
                "a binary package by its source: fixed versions above it, postponed (not-fixed)",
                deb("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2", BOOKWORM),
                expect(&[
                    ("CVE-2023-5678", Fixed, &["3.0.13-1~deb12u1"]),
                    ("CVE-2024-0727", Fixed, &["3.0.13-1~deb12u1"]),
                    ("CVE-2024-5535", NotFixed, &[]),
                ]),
            ),
            (
                "at the fixed version",
                deb("openssl", "3.0.13-1~deb12u1", "openssl", "3.0.13-1~deb12u1", BOOKWORM),
                expect(&[("CVE-2024-5535", NotFixed, &[])]),
            ),
            (
                "ignored (wont-fix)",
                deb("varnish", "7.1.1-1.1", "varnish", "7.1.1-1.1", BOOKWORM),
                expect(&[("CVE-2023-44487", WontFix, &[])]),
            ),
            (
                "an unimportant open entry of a source with another binary name",
                deb("libc6", "2.36-9+deb12u10", "glibc", "2.36-9+deb12u10", BOOKWORM),
                expect(&[("CVE-2010-4756", NotFixed, &[])]),
            ),
            (
                "a binary version with an epoch, its source's without: compared by the source's (fixed)",
                deb("bsdutils", "1:2.38.1-5+deb12u3", "util-linux", "2.38.1-5+deb12u3", BOOKWORM),
                expect(&[]),
            ),
            (
                "below the DSA's fixed version",
                deb("bsdutils", "1:2.38.1-5", "util-linux", "2.38.1-5", BOOKWORM),
                expect(&[("CVE-2024-28085", Fixed, &["2.38.1-5+deb12u1"])]),
            ),
            ("a source the tracker has nothing for", deb("zsh", "5.9-4", "zsh", "5.9-4", BOOKWORM), expect(&[])),
            (
                "a Debian source built by hand (package note): matched by its source version",
                ScanPackage {
                    name: "nginx".into(),
                    version: "1.22.1".into(),
                    purl: Some("pkg:generic/nginx@1.22.1".into()),
                    source_name: Some("nginx".into()),
                    source_version: Some("1.22.1-9".into()),
                    distro: Some(distro("debian", "12", Some("bookworm"))),
                    ..ScanPackage::default()
                },
                expect(&[
                    ("CVE-2009-4487", NotFixed, &[]),
                    ("CVE-2023-44487", NotFixed, &[]),
                    ("CVE-2024-7347", WontFix, &[]),
                    ("CVE-2025-23419", NotFixed, &[]),
                ]),
            ),
            ("a language package: not this matcher's type", lang("pkg:pypi/nginx@1.0"), expect(&[])),
            (
                "an Alpine package of the same name",
                ScanPackage {
                    name: "nginx".into(),
                    version: "1.22.1-r0".into(),
                    purl: Some("pkg:apk/alpine/nginx@1.22.1-r0".into()),
                    distro: Some(distro("alpine", "3.17.0", None)),
                    ..ScanPackage::default()
                },
                expect(&[]),
            ),
        ];
        for (what, pkg, want) in cases {
            assert_eq!(run(&DpkgMatcher, &db, &pkg, &opts), want, "{what}: {pkg:?}");
        }
    }
}

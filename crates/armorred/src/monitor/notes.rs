//! What a rebuild tells its users, all pure over what the rebuild knew (golden tests in
//! `notes/tests.rs`):
//!
//! - release notes in Markdown, as the body of a GitHub release: the two digests, the CVEs
//!   fixed, the packages up and down (and added, removed), the size, how to verify;
//! - one OSV record per fix (`ARMORRED-<year>-<n>`, OSV schema 1.6: the image as the package
//!   with its purl, the affected digest in `versions`, the fixed digest in
//!   `database_specific.fixed_digest`, the CVEs as `aliases`);
//! - the warning when a Debian release an image is built from nears its end of life.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::pipeline::summary::SizeSummary;

/// One fix a rebuild brings: an `affected` finding whose package a newer Debian version fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// The vulnerability (CVE).
    pub vulnerability: String,
    /// The package.
    pub package: String,
    /// Its severity.
    pub severity: String,
    /// The version in the old image.
    pub installed: String,
    /// The versions the advisory names as fixed (comma-separated; may be empty).
    pub fixed_in: String,
    /// The version the new lock pins.
    pub candidate: String,
    /// When the finding was first seen (RFC 3339).
    pub first_seen: String,
}

/// One side of a rebuild, for its notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// The manifest digest.
    pub digest: String,
    /// Layer bytes.
    pub size: SizeSummary,
    /// Components of its SBOM, name → version.
    pub packages: BTreeMap<String, String>,
}

/// What a rebuild's notifications are made from.
#[derive(Debug, Clone)]
pub struct RebuildNotes<'a> {
    /// Our advisory id.
    pub advisory: &'a str,
    /// The image name.
    pub image: &'a str,
    /// The tier.
    pub tier: &'a str,
    /// The image before.
    pub old: &'a Side,
    /// The image after.
    pub new: &'a Side,
    /// What it fixes.
    pub fixes: &'a [Fix],
    /// Where the new image is (`registry:HOST/REPO@DIGEST`), when it was pushed.
    pub reference: Option<&'a str>,
    /// The public key verifying its signature, when signed.
    pub public_key: Option<&'a str>,
    /// When it was published (RFC 3339).
    pub published: &'a str,
    /// From first seen to published.
    pub time_to_fix_seconds: Option<i64>,
}

fn dpkg_order(a: &str, b: &str) -> Ordering {
    crate::version::compare(crate::version::Scheme::Dpkg, a, b).unwrap_or_else(|_| a.cmp(b))
}

/// A duration as `2 h 5 min` (`45 s` under a minute, days above 48 h).
pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn signed_bytes(old: u64, new: u64) -> String {
    let d = i128::from(new) - i128::from(old);
    let pct = if old == 0 { 0.0 } else { d as f64 * 100.0 / old as f64 };
    format!("{d:+} ({pct:+.1}%)")
}

/// The release notes (Markdown, a GitHub release body).
pub fn release_notes(n: &RebuildNotes<'_>) -> String {
    let mut md = String::new();
    let cves: Vec<&str> = {
        let mut v: Vec<&str> = n.fixes.iter().map(|f| f.vulnerability.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let _ = writeln!(md, "# {}:{} — security rebuild ({})\n", n.image, n.tier, n.advisory);
    let _ = writeln!(md, "| | digest |\n|---|---|\n| before | `{}` |\n| after | `{}` |\n", n.old.digest, n.new.digest);
    let _ = write!(md, "Published {}", n.published);
    if let Some(t) = n.time_to_fix_seconds {
        let _ = write!(md, ", {} after the first finding was seen", human_duration(t));
    }
    md.push_str(".\n\n");
    let _ = writeln!(md, "## CVEs fixed ({})\n", cves.len());
    md.push_str("| CVE | package | severity | before | after | fixed in |\n|---|---|---|---|---|---|\n");
    let mut fixes: Vec<&Fix> = n.fixes.iter().collect();
    fixes.sort_by(|a, b| (&a.vulnerability, &a.package).cmp(&(&b.vulnerability, &b.package)));
    for f in fixes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            f.vulnerability,
            f.package,
            f.severity,
            f.installed,
            f.candidate,
            if f.fixed_in.is_empty() { "—" } else { &f.fixed_in }
        );
    }
    let (mut up, mut down, mut added, mut removed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, old) in &n.old.packages {
        match n.new.packages.get(name) {
            None => removed.push((name, old)),
            Some(new) => match dpkg_order(new, old) {
                Ordering::Greater => up.push((name, old, new)),
                Ordering::Less => down.push((name, old, new)),
                Ordering::Equal => {}
            },
        }
    }
    for (name, new) in &n.new.packages {
        if !n.old.packages.contains_key(name) {
            added.push((name, new));
        }
    }
    let _ = writeln!(md, "\n## Packages\n");
    if up.is_empty() && down.is_empty() && added.is_empty() && removed.is_empty() {
        md.push_str("No package changed.\n");
    } else {
        md.push_str("| package | before | after | |\n|---|---|---|---|\n");
        for (name, old, new) in &up {
            let _ = writeln!(md, "| {name} | {old} | {new} | up |");
        }
        for (name, old, new) in &down {
            let _ = writeln!(md, "| {name} | {old} | {new} | down |");
        }
        for (name, new) in &added {
            let _ = writeln!(md, "| {name} | — | {new} | added |");
        }
        for (name, old) in &removed {
            let _ = writeln!(md, "| {name} | {old} | — | removed |");
        }
    }
    let _ = writeln!(
        md,
        "\n{} up, {} down, {} added, {} removed; {} unchanged.\n",
        up.len(),
        down.len(),
        added.len(),
        removed.len(),
        n.new.packages.len() - up.len() - down.len() - added.len()
    );
    md.push_str("## Size\n\n| | before | after | change |\n|---|---|---|---|\n");
    if let (Some(a), Some(b)) = (n.old.size.compressed, n.new.size.compressed) {
        let _ = writeln!(md, "| compressed | {a} | {b} | {} |", signed_bytes(a, b));
    }
    let _ = writeln!(
        md,
        "| uncompressed | {} | {} | {} |",
        n.old.size.uncompressed,
        n.new.size.uncompressed,
        signed_bytes(n.old.size.uncompressed, n.new.size.uncompressed)
    );
    md.push_str("\n## Verify\n\n");
    match (n.reference, n.public_key) {
        (Some(r), Some(k)) => {
            let r = r.strip_prefix("registry:").unwrap_or(r);
            let _ = writeln!(md, "```\narmorred verify --key {k} registry:{r}\ncosign verify --key {k} {r}\n```");
        }
        (Some(r), None) => {
            let _ = writeln!(md, "Pushed as `{}`; not signed.", r.strip_prefix("registry:").unwrap_or(r));
        }
        (None, Some(k)) => {
            let _ = writeln!(md, "Signed with the key `{k}` in its image layout; not pushed to a registry.");
        }
        (None, None) => md.push_str("Not signed and not pushed.\n"),
    }
    let _ = writeln!(md, "\nAdvisory: `{}` (OSV).", n.advisory);
    md
}

/// The OSV record of a rebuild (schema 1.6.0).
pub fn osv_record(n: &RebuildNotes<'_>) -> serde_json::Value {
    let mut aliases: Vec<&str> = n.fixes.iter().map(|f| f.vulnerability.as_str()).collect();
    aliases.sort_unstable();
    aliases.dedup();
    let packages: Vec<String> = {
        let mut v: Vec<String> = n.fixes.iter().map(|f| f.package.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let hex = |d: &str| d.strip_prefix("sha256:").unwrap_or(d).to_owned();
    let purl = format!("pkg:oci/{}", n.image);
    let details = format!(
        "{}:{} {} was rebuilt as {} with fixed Debian packages ({}). Fixed: {}.",
        n.image,
        n.tier,
        n.old.digest,
        n.new.digest,
        packages.join(", "),
        aliases.join(", ")
    );
    let mut db = serde_json::json!({
        "tier": n.tier,
        "affected_digest": n.old.digest,
        "fixed_digest": n.new.digest,
        "fixes": n.fixes,
    });
    if let Some(r) = n.reference {
        db["fixed_reference"] = r.strip_prefix("registry:").unwrap_or(r).into();
    }
    if let Some(t) = n.time_to_fix_seconds {
        db["time_to_fix_seconds"] = t.into();
    }
    serde_json::json!({
        "schema_version": "1.6.0",
        "id": n.advisory,
        "modified": n.published,
        "published": n.published,
        "aliases": aliases,
        "summary": format!("{}:{}: {} fixed by a rebuild", n.image, n.tier, aliases.join(", ")),
        "details": details,
        "affected": [{
            "package": {
                "ecosystem": "OCI",
                "name": n.image,
                "purl": purl,
            },
            "versions": [n.old.digest],
            "ecosystem_specific": {
                "affected_purl": format!("pkg:oci/{}@sha256%3A{}", n.image, hex(&n.old.digest)),
                "fixed_purl": format!("pkg:oci/{}@sha256%3A{}", n.image, hex(&n.new.digest)),
            },
            "database_specific": db,
        }],
        "references": aliases.iter().map(|a| serde_json::json!({
            "type": "ADVISORY",
            "url": format!("https://security-tracker.debian.org/tracker/{a}"),
        })).collect::<Vec<_>>(),
    })
}

/// A Debian release nearing (or past) its end of life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EolWarning {
    /// The image key.
    pub image: String,
    /// The release.
    pub codename: &'static str,
    /// `security` (the security team's regular support) or `lts`.
    pub phase: &'static str,
    /// The date it ends (`YYYY-MM-DD`).
    pub ends: &'static str,
    /// Days from now (negative: already ended).
    pub days: i64,
    /// The warning as a sentence.
    pub message: String,
}

fn day_epoch(date: &str) -> Option<i64> {
    crate::clock::parse_rfc3339(&format!("{date}T00:00:00Z"))
}

/// The warnings for an image built from `suites`: for each release, its regular security
/// support or its LTS ending within `warn_days` of `now` (or ended), the nearest first. A
/// release past its LTS is one warning; one in LTS warns about the LTS end only when that is
/// near, and says regular support has ended.
pub fn eol_warnings(image: &str, suites: &[String], now: i64, warn_days: i64) -> Vec<EolWarning> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in suites {
        let Some(e) = crate::distro::debian_eol(s) else { continue };
        if !seen.insert(e.codename) {
            continue;
        }
        let days = |d: &str| day_epoch(d).map(|t| (t - now).div_euclid(86_400));
        let (Some(sec), Some(lts)) = (days(e.security_end), days(e.lts_end)) else { continue };
        let plan = if e.planned { " (Debian's plan)" } else { "" };
        let w = if lts < 0 {
            Some((
                "lts",
                e.lts_end,
                lts,
                format!(
                    "Debian {} reached its end of life on {} (LTS ended): no more security updates",
                    e.codename, e.lts_end
                ),
            ))
        } else if sec < 0 {
            Some((
                "lts",
                e.lts_end,
                lts,
                format!(
                    "Debian {}'s regular security support ended on {}; it is in LTS until {} ({lts} days)",
                    e.codename, e.security_end, e.lts_end
                ),
            ))
        } else if sec <= warn_days {
            Some((
                "security",
                e.security_end,
                sec,
                format!(
                    "Debian {}'s regular security support ends on {}{plan}, in {sec} days (LTS until {})",
                    e.codename, e.security_end, e.lts_end
                ),
            ))
        } else {
            None
        };
        if let Some((phase, ends, days, message)) = w {
            out.push(EolWarning { image: image.to_owned(), codename: e.codename, phase, ends, days, message });
        }
    }
    out.sort_by_key(|w| w.days);
    out
}

#[cfg(test)]
mod tests;

//! The gate after a build: every ELF file must show each property its tier promises, found by
//! [`crate::elf::analyze`] in the binary itself, never assumed from the flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::recipe::Package;
use crate::elf::{Pie, Relro, Report, ScanReport};
use crate::tier::Tier;

/// One property checked on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The file, relative to the installed tree.
    pub path: PathBuf,
    /// `relro`, `canary`, `nx`, `pie`, `fortify`, `safestack`, `cfi`, `cet-ibt`, `cet-shstk`,
    /// `package-note`, `analysable`.
    pub property: &'static str,
    /// Whether the file passes.
    pub ok: bool,
    /// What was found, or why the rule does not apply.
    pub detail: String,
}

/// Every property the gate checks, as written in `Check::property`.
pub const PROPERTIES: &[&str] = &[
    "relro",
    "canary",
    "nx",
    "pie",
    "fortify",
    "safestack",
    "cfi",
    "cet-ibt",
    "cet-shstk",
    "package-note",
    "analysable",
];

/// A check as read back (a cached build record): only the property names the gate writes.
#[derive(Deserialize)]
struct CheckRepr {
    path: PathBuf,
    property: String,
    ok: bool,
    detail: String,
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = CheckRepr::deserialize(d)?;
        let property = PROPERTIES
            .iter()
            .copied()
            .find(|p| *p == c.property)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown checked property {:?}", c.property)))?;
        Ok(Check { path: c.path, property, ok: c.ok, detail: c.detail })
    }
}

/// Checks every entry of `scan` (paths below `dest`) against `tier`; `without_cfi`: the
/// recipe's reason for a locked build without CFI (its `cfi` checks pass as waived); `allows`:
/// the recipe's `[[allow]]` entries (a failing check they cover passes, with the reason).
pub fn check(
    scan: &ScanReport,
    dest: &Path,
    tier: Tier,
    package: &Package,
    without_cfi: Option<&str>,
    allows: &[crate::spec::AllowSpec],
) -> Vec<Check> {
    let mut out = Vec::new();
    for (path, entry) in &scan.entries {
        let rel = path.strip_prefix(dest).unwrap_or(path).to_path_buf();
        match entry {
            Ok(r) => check_one(&rel, r, tier, package, without_cfi, &mut out),
            Err(e) => out.push(Check { path: rel, property: "analysable", ok: false, detail: e.to_string() }),
        }
    }
    for c in out.iter_mut().filter(|c| !c.ok) {
        let rooted = format!("/{}", c.path.display());
        if let Some(a) = allows.iter().find(|a| a.covers(&rooted, c.property)) {
            c.ok = true;
            c.detail = format!("allowed: {} ({})", a.reason, c.detail);
        }
    }
    out
}

fn check_one(path: &Path, r: &Report, tier: Tier, package: &Package, without_cfi: Option<&str>, out: &mut Vec<Check>) {
    // Executables: PIE or fixed-address (a non-PIE executable must still show SafeStack/CFI).
    let exec = matches!(r.pie, Pie::Yes | Pie::No);
    let mut push = |property: &'static str, ok: bool, detail: String| {
        out.push(Check { path: path.to_path_buf(), property, ok, detail })
    };
    push("relro", r.relro == Relro::Full, format!("{:?}", r.relro).to_lowercase());
    push("canary", r.canary, format!("canary {}", r.canary));
    push("nx", r.nx, format!("nx {}", r.nx));
    push("pie", matches!(r.pie, Pie::Yes | Pie::Dso), format!("{:?}", r.pie).to_lowercase());
    if r.fortify.fortifiable_count == 0 && r.fortify.fortified.is_empty() {
        push("fortify", true, "waived: no fortifiable calls".into());
    } else {
        push(
            "fortify",
            r.fortify.enabled(),
            format!("{} fortified, {} fortifiable", r.fortify.fortified_count, r.fortify.fortifiable_count),
        );
    }
    if exec {
        push("safestack", r.safestack.present, format!("{:?}", r.safestack.detection));
        match (tier, without_cfi) {
            (Tier::Locked, None) => push("cfi", r.cfi.present, format!("{:?}", r.cfi.detection)),
            (Tier::Locked, Some(why)) => push("cfi", true, format!("waived: {why}")),
            _ => {}
        }
    } else {
        push("safestack", true, "waived: not an executable".into());
    }
    push("cet-ibt", r.cet.ibt, format!("ibt {}", r.cet.ibt));
    push("cet-shstk", r.cet.shstk, format!("shstk {}", r.cet.shstk));
    let note_ok = r.package_note.as_ref().is_some_and(|n| {
        n.get("name").and_then(|v| v.as_str()) == Some(&package.name)
            && n.get("version").and_then(|v| v.as_str()) == Some(&package.version)
    });
    push("package-note", note_ok, r.package_note.as_ref().map_or_else(|| "none".into(), |n| n.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's /bin/true (Debian's coreutils: no SafeStack, no CFI, no package note of ours),
    /// checked as a locked build: the failures a recipe can waive or allow, and the one it cannot.
    #[test]
    fn waived_cfi_and_allowed_properties_pass_with_their_reasons() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("usr/bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::copy("/bin/true", bin.join("true")).expect("copy /bin/true");
        let scan = crate::elf::scan(&[dir.path().to_path_buf()], &crate::elf::ScanOptions::default()).expect("scan");
        let package = Package {
            name: "t".into(),
            version: "1".into(),
            cpe: "cpe:2.3:a:t:t:1:*:*:*:*:*:*:*".into(),
            purl: None,
            license: None,
            source_date_epoch: 0,
            debian_source: None,
        };
        let failing = |checks: &[Check]| -> Vec<&'static str> {
            let mut f: Vec<_> = checks.iter().filter(|c| !c.ok).map(|c| c.property).collect();
            f.sort_unstable();
            f
        };
        let plain = check(&scan, dir.path(), Tier::Locked, &package, None, &[]);
        for p in ["cfi", "package-note", "safestack"] {
            assert!(failing(&plain).contains(&p), "{p}: {plain:?}");
        }
        // Every property but the package note allowed (whatever else this host's binary lacks).
        let props = ["relro", "canary", "nx", "pie", "fortify", "safestack", "cet-ibt", "cet-shstk"];
        let allow = crate::spec::AllowSpec {
            path: "/usr/bin/*".into(),
            properties: props.iter().map(|p| (*p).to_owned()).collect(),
            reason: "a test".into(),
        };
        let waived = check(&scan, dir.path(), Tier::Locked, &package, Some("it dlopens"), std::slice::from_ref(&allow));
        assert_eq!(failing(&waived), ["package-note"], "{waived:?}");
        let detail = |p: &str| waived.iter().find(|c| c.property == p).map(|c| (c.ok, c.detail.clone()));
        assert_eq!(detail("cfi"), Some((true, "waived: it dlopens".into())));
        assert!(detail("safestack").is_some_and(|(ok, d)| ok && d.starts_with("allowed: a test (")), "{waived:?}");
        // An allow of another path changes nothing.
        let other = crate::spec::AllowSpec { path: "/usr/sbin/*".into(), ..allow };
        let elsewhere = check(&scan, dir.path(), Tier::Locked, &package, None, &[other]);
        assert_eq!(failing(&elsewhere), failing(&plain), "an allow of another path");
    }
}

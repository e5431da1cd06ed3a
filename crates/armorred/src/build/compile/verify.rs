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

/// Checks every entry of `scan` (paths below `dest`) against `tier`.
pub fn check(scan: &ScanReport, dest: &Path, tier: Tier, package: &Package) -> Vec<Check> {
    let mut out = Vec::new();
    for (path, entry) in &scan.entries {
        let rel = path.strip_prefix(dest).unwrap_or(path).to_path_buf();
        match entry {
            Ok(r) => check_one(&rel, r, tier, package, &mut out),
            Err(e) => out.push(Check { path: rel, property: "analysable", ok: false, detail: e.to_string() }),
        }
    }
    out
}

fn check_one(path: &Path, r: &Report, tier: Tier, package: &Package, out: &mut Vec<Check>) {
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
        if tier == Tier::Locked {
            push("cfi", r.cfi.present, format!("{:?}", r.cfi.detection));
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

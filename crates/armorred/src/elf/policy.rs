//! Tier policies over checksec reports: what every ELF file of a `hardened` or `locked` image
//! must show. A policy is named by its [`Tier`]: `hardened` requires full RELRO, canary, NX, PIE
//! or DSO, no RPATH/RUNPATH outside the image, FORTIFY where fortifiable functions exist;
//! `locked` adds SafeStack and clang CFI on executables. Rules that do not apply to a file
//! (static linking, Go, Rust) are skipped with the reason recorded, never silently.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Language, Linking, Pie, Relro, Report, ScanReport};
use crate::tier::Tier;

/// A file that breaks the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The file.
    pub path: PathBuf,
    /// The property (`relro`, `canary`, ...).
    pub property: &'static str,
    /// What was found instead of what is required.
    pub detail: String,
}

/// A rule that was not applied to a file, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    /// The file.
    pub path: PathBuf,
    /// The property.
    pub property: &'static str,
    /// Why it does not apply.
    pub reason: &'static str,
}

/// The verdict over a whole scan.
#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    /// Files checked.
    pub files: usize,
    /// Every violation, in path order.
    pub violations: Vec<Violation>,
    /// Every rule not applied, in path order.
    pub waivers: Vec<Waiver>,
}

impl Verdict {
    /// No violations.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Judges every entry of `scan`. `root` is the image root that absolute RPATH/RUNPATH entries
/// must exist in. Files that could not be analysed are violations: nothing unproven passes.
pub fn evaluate(policy: Tier, scan: &ScanReport, root: &Path) -> Verdict {
    let mut verdict = Verdict::default();
    for (path, entry) in &scan.entries {
        verdict.files += 1;
        match entry {
            Ok(report) => check(policy, path, report, root, &mut verdict),
            Err(e) => verdict.violations.push(Violation { path: path.clone(), property: "elf", detail: e.to_string() }),
        }
    }
    verdict
}

fn check(policy: Tier, path: &Path, r: &Report, root: &Path, v: &mut Verdict) {
    let mut fail =
        |property, detail: String| v.violations.push(Violation { path: path.to_path_buf(), property, detail });
    let mut waive = Vec::new();
    let is_static = matches!(r.linking, Linking::Static | Linking::StaticPie);
    let is_c = r.language == Language::C;

    if r.linking == Linking::Unlinked {
        waive.push(("all", "relocatable object: properties are decided at link time"));
    } else {
        if is_static && r.relro != Relro::Full {
            waive.push(("relro", "statically linked: no dynamic linker resolves symbols lazily"));
        } else if r.relro != Relro::Full {
            fail("relro", format!("{} RELRO, full required", relro_word(r.relro)));
        }
        if !r.nx {
            fail("nx", "executable stack".into());
        }
        if r.pie == Pie::No {
            fail("pie", "fixed-address executable, PIE required".into());
        }
        if is_c {
            if !r.canary {
                fail("canary", "no stack canary".into());
            }
            if r.fortify.fortified.is_empty() && !r.fortify.fortifiable.is_empty() {
                fail("fortify", format!("unfortified calls to {}", r.fortify.fortifiable.join(", ")));
            }
        } else {
            waive.push(("canary", "Go and Rust code does not use stack canaries"));
            waive.push(("fortify", "Go and Rust code does not call fortifiable libc functions directly"));
        }
        for (what, entries) in [("rpath", &r.rpath), ("runpath", &r.runpath)] {
            for entry in entries.iter().filter(|e| !search_path_inside(e, root)) {
                fail(what, format!("{entry:?} points outside the image"));
            }
        }
        if policy == Tier::Locked && r.pie == Pie::Yes {
            if !is_c {
                waive.push(("safestack", "SafeStack and CFI are clang C/C++ instrumentation"));
            } else {
                if !r.safestack.present {
                    fail("safestack", "no SafeStack".into());
                }
                if !r.cfi.present {
                    fail("cfi", "no clang CFI".into());
                }
            }
        }
    }
    v.waivers.extend(waive.into_iter().map(|(property, reason)| Waiver { path: path.to_path_buf(), property, reason }));
}

/// An RPATH entry is inside the image when it is `$ORIGIN`-relative or an existing directory
/// below `root` (symbolic links resolved inside `root`).
fn search_path_inside(entry: &str, root: &Path) -> bool {
    if entry.starts_with("$ORIGIN") || entry.starts_with("${ORIGIN}") {
        return !entry.contains("/../..");
    }
    match entry.strip_prefix('/') {
        // Resolved as the image would resolve it: a symlinked directory must stay in the root.
        Some(rel) if !rel.split('/').any(|c| c == "..") => {
            crate::fsutil::resolve_in_root(root, Path::new(rel)).is_ok_and(|p| p.is_dir())
        }
        _ => false,
    }
}

pub(crate) fn relro_word(r: Relro) -> &'static str {
    match r {
        Relro::Full => "full",
        Relro::Partial => "partial",
        Relro::No => "no",
    }
}

//! Stage `gate`: checksec of every ELF file of the assembled root file system (scanned on a
//! materialized copy in the user's cache), judged by the hardened policy, the files the source
//! build installed by their own tier's policy as well, and `[checksec].allow` applied. With
//! `[checksec].enforce`, an uncovered violation stops the build before anything is written.
//! The scan is kept, keyed by path in the image, for the build report.

use std::path::{Path, PathBuf};

use super::super::{BuildError, BuildOptions};
use super::assemble::Assembled;
use crate::elf::{policy, ScanReport};
use crate::fstree::Tree;
use crate::spec::ImageSpec;
use crate::tier::Tier;

/// The checksec gate's outcome.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GateVerdict {
    /// The tier whose policy every ELF file is judged by.
    pub policy: Tier,
    /// The tier whose policy the files the source build installed are judged by as well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_policy: Option<Tier>,
    /// ELF files the source build installed, judged by `built_policy`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub built_files: usize,
    /// Whether violations fail the build.
    pub enforced: bool,
    /// ELF files checked.
    pub files: usize,
    /// Violations not covered by an allow entry.
    pub violations: Vec<GateViolation>,
    /// Violations accepted by an allow entry (with its reason).
    pub allowed: Vec<GateViolation>,
    /// Rules not applicable to a file.
    pub waivers: usize,
}

impl GateVerdict {
    /// True when no uncovered violation remains.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One failing property of one file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GateViolation {
    /// Path in the image.
    pub path: String,
    /// Property.
    pub property: String,
    /// Detail.
    pub detail: String,
    /// The allow entry's reason, when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Runs the stage: the verdict, and the scan keyed by path in the image (`/usr/bin/x`).
pub(crate) fn run(
    spec: &ImageSpec,
    assembled: &Assembled,
    opts: &BuildOptions<'_>,
) -> Result<(GateVerdict, ScanReport), BuildError> {
    super::announce(opts, "checksec gate");
    let built_policy = assembled.built.as_ref().map(|b| b.record.tier);
    let (verdict, scan) =
        gate(spec, &assembled.tree, &assembled.built_paths, built_policy, &scratch_dir(opts.cache.dir())?)?;
    if spec.checksec.enforce && !verdict.passed() {
        let v = &verdict.violations[0];
        return Err(BuildError::Gate {
            policy: verdict.policy,
            count: verdict.violations.len(),
            first: format!("{} {}: {}", v.path, v.property, v.detail),
            verdict: Box::new(verdict),
        });
    }
    super::done(opts, "checksec gate", || {
        format!(
            "{} ({}): {} ELF files, {} violations, {} allowed",
            if verdict.passed() { "pass" } else { "FAIL (not enforced)" },
            verdict.policy,
            verdict.files,
            verdict.violations.len(),
            verdict.allowed.len()
        )
    });
    Ok((verdict, scan))
}

/// The private directory for the build's scratch trees: `<cache>/tmp` (mode 0700, in the
/// user's cache rather than the shared `/tmp`). Trees a killed build left (`rootfs-<pid>-*`
/// of a process that no longer runs) are removed first.
pub fn scratch_dir(cache: &Path) -> Result<PathBuf, BuildError> {
    let cache = crate::cache::Cache::new(cache);
    let kind = crate::cache::Kind::Scratch;
    // The trees themselves are created exclusively under unpredictable names, and tempfile
    // makes them 0700.
    let dir = cache.create(kind).map_err(|source| BuildError::Io {
        what: format!("create the scratch directory {}", cache.path(kind).display()),
        source,
    })?;
    for entry in crate::fsutil::leftovers_of_dead_processes(&dir, "rootfs-") {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(dir)
}

/// Runs the hardened checksec policy on a materialized copy of `tree` (in a private temporary
/// directory under `scratch`, removed on return); files the source build installed (`built`,
/// `/`-rooted) are judged by `built_policy` as well.
fn gate(
    spec: &ImageSpec,
    tree: &Tree,
    built: &[String],
    built_policy: Option<Tier>,
    scratch: &Path,
) -> Result<(GateVerdict, ScanReport), BuildError> {
    let tmp = tempfile::Builder::new().prefix(&format!("rootfs-{}-", std::process::id())).tempdir_in(scratch).map_err(
        |source| BuildError::Io { what: format!("create a temporary directory in {}", scratch.display()), source },
    )?;
    let root = tmp.path().join("rootfs");
    tree.materialize(&root).map_err(|source| BuildError::Io {
        what: format!("materialize the root file system in {}", root.display()),
        source,
    })?;
    let scan = crate::elf::scan_root(&root).map_err(BuildError::Scan)?;
    let verdict = policy::evaluate(Tier::Hardened, &scan, &root);
    let mut out = GateVerdict {
        policy: Tier::Hardened,
        built_policy,
        built_files: 0,
        enforced: spec.checksec.enforce,
        files: verdict.files,
        violations: Vec::new(),
        allowed: Vec::new(),
        waivers: verdict.waivers.len(),
    };
    let rel = |p: &Path| format!("/{}", p.strip_prefix(&root).unwrap_or(p).display());
    let mut violations = verdict.violations;
    if let Some(bp) = built_policy.filter(|p| *p != Tier::Hardened) {
        out.built_files = scan.entries.keys().filter(|p| built.contains(&rel(p))).count();
        let extra: Vec<_> = policy::evaluate(bp, &scan, &root)
            .violations
            .into_iter()
            .filter(|v| built.contains(&rel(&v.path)))
            .filter(|v| !violations.iter().any(|h| h.path == v.path && h.property == v.property))
            .collect();
        violations.extend(extra);
    }
    for v in violations {
        let path = rel(&v.path);
        let allow = spec.checksec.allow.iter().find(|a| a.covers(&path, v.property));
        let gv = GateViolation {
            path,
            property: v.property.to_string(),
            detail: v.detail,
            reason: allow.map(|a| a.reason.clone()),
        };
        if gv.reason.is_some() {
            out.allowed.push(gv);
        } else {
            out.violations.push(gv);
        }
    }
    // Paths in the image, as a scan of the written image has them: the keys, and the C
    // library each FORTIFY verdict was judged against.
    let entries = scan
        .entries
        .into_iter()
        .map(|(p, mut e)| {
            if let Ok(r) = &mut e {
                if Path::new(&r.fortify.reference).starts_with(&root) {
                    r.fortify.reference = rel(Path::new(&r.fortify.reference));
                }
            }
            (PathBuf::from(rel(&p)), e)
        })
        .collect();
    Ok((out, ScanReport { entries }))
}

//! Conformance with the oracle: Debian's checksec.sh (`checksec --output=json --extended`) on
//! every ELF file under /usr/bin, /usr/sbin and /usr/lib of this machine. RELRO, canary, NX, PIE,
//! RPATH, RUNPATH and the fortified count must agree on every file, except the documented cases
//! where checksec.sh is wrong (docs/checksec.md), each recognised here by its rule.
//!
//! Runs checksec.sh once per file, in parallel: a few minutes on 2 cores. The summary goes to
//! `target/checksec-oracle.txt`.

#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use armorred::elf::{checksec_json, scan, Report, ScanOptions};
use serde_json::Value;

const DIRS: [&str; 3] = ["/usr/bin", "/usr/sbin", "/usr/lib"];
const FIELDS: [&str; 12] = [
    "relro",
    "canary",
    "nx",
    "pie",
    "rpath",
    "runpath",
    "symbols",
    "fortify_source",
    "fortified",
    "fortify-able",
    "clangcfi",
    "safestack",
];

fn oracle(path: &Path) -> Result<Value, String> {
    let p = path.to_str().ok_or("non-UTF-8 path")?;
    let out = Command::new("checksec")
        .args(["--output=json", "--extended", &format!("--file={p}")])
        .output()
        .map_err(|e| e.to_string())?;
    let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("unparsable output: {e}"))?;
    json.get(p).cloned().ok_or_else(|| "no entry for the file".into())
}

/// Runs checksec.sh on every file with one worker per core.
fn oracle_all(files: &[PathBuf]) -> BTreeMap<PathBuf, Result<Value, String>> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let answer = oracle(file);
                results.lock().expect("lock").insert(file.clone(), answer);
            });
        }
    });
    results.into_inner().expect("lock")
}

/// The documented cases where checksec.sh is wrong: Some(rule) when the difference is one.
/// Each rule re-checks the file independently of the code under test.
fn known_difference(path: &Path, field: &str, ours: &str, theirs: &str, r: &Report) -> Option<&'static str> {
    match (field, ours, theirs) {
        // checksec.sh greps `readelf -d` for BIND_NOW; DF_1_NOW alone (FLAGS_1 "NOW") means the
        // same to ld.so but prints as "Flags: NOW".
        ("relro", "full", "partial")
            if r.linking != armorred::elf::Linking::Static && !readelf_d(path).contains("BIND_NOW") =>
        {
            Some("df-1-now")
        }
        // checksec.sh greps symbol names for the regex `.cfi` ("any character, then cfi") and
        // then for the name without it: `runtime.funcfile` or gcc's `dw_cfi_row` pass. clang
        // names CFI function bodies `f.cfi`; no such symbol exists in these files.
        ("clangcfi", "no", "yes")
            if !symbol_names(path).iter().any(|s| s.ends_with(".cfi") || s.ends_with(".cfi_jt")) =>
        {
            Some("cfi-regex")
        }
        _ => None,
    }
}

fn readelf_d(path: &Path) -> String {
    let out = Command::new("readelf").args(["-W", "-d"]).arg(path).output().expect("run readelf");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn symbol_names(path: &Path) -> Vec<String> {
    let out = Command::new("readelf").args(["-W", "-s"]).arg(path).output().expect("run readelf");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        .collect()
}

#[test]
fn agrees_with_checksec_sh_on_this_machine() {
    if !support::tool("checksec") {
        return;
    }
    let dirs: Vec<PathBuf> = DIRS.iter().map(PathBuf::from).filter(|d| d.is_dir()).collect();
    let ours = scan(&dirs, &ScanOptions::default()).expect("scan");
    let files: Vec<PathBuf> = ours.entries.keys().cloned().collect();
    assert!(files.len() > 100, "too few ELF files found: {}", files.len());
    let theirs = oracle_all(&files);

    let mut unexplained = Vec::new();
    let mut explained: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut oracle_failed = Vec::new();
    for (path, entry) in &ours.entries {
        let Ok(report) = entry else {
            unexplained.push(format!(
                "{}: we could not analyse it: {}",
                path.display(),
                entry.as_ref().err().map(ToString::to_string).unwrap_or_default()
            ));
            continue;
        };
        let theirs = match &theirs[path] {
            Ok(v) => v,
            Err(e) => {
                oracle_failed.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let ours = checksec_json::file_object(report, true);
        for field in FIELDS {
            let (o, t) = (ours[field].as_str().unwrap_or("?"), theirs[field].as_str().unwrap_or("?"));
            if o == t {
                continue;
            }
            match known_difference(path, field, o, t, report) {
                Some(rule) => explained
                    .entry(rule)
                    .or_default()
                    .push(format!("{}: {field} ours={o} checksec={t}", path.display())),
                None => unexplained.push(format!("{}: {field} ours={o} checksec={t}", path.display())),
            }
        }
    }

    let mut summary = format!("{} ELF files compared with checksec.sh\n", files.len());
    for (rule, cases) in &explained {
        summary += &format!("documented difference {rule}: {} files\n", cases.len());
        for c in cases.iter().take(5) {
            summary += &format!("  e.g. {c}\n");
        }
    }
    summary += &format!("checksec.sh gave no answer for {} files\n", oracle_failed.len());
    for c in &oracle_failed {
        summary += &format!("  {c}\n");
    }
    summary += &format!("unexplained differences: {}\n", unexplained.len());
    for c in &unexplained {
        summary += &format!("  {c}\n");
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::write(target.join("checksec-oracle.txt"), &summary).expect("write summary");
    eprintln!("{summary}");
    assert!(unexplained.is_empty(), "{} unexplained differences (see above)", unexplained.len());
    assert!(oracle_failed.len() * 100 <= files.len(), "checksec.sh failed on too many files");
}

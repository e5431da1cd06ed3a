//! Stage `reuse`, between `lock` and `assemble`: when exactly the same inputs were built into
//! the same output before and the output still holds what that build wrote, nothing is built
//! again. The build is reproducible, so this changes no byte of the result; it only skips the
//! work (unpacking, checksec, the layer's tar, gzip and sha256).
//!
//! The key is the sha256 of everything the result depends on: this program's own executable
//! (its sha256, so a changed builder never reuses an older one's output), the tier,
//! SOURCE_DATE_EPOCH, the revision, the output's kind, and every file of the definition's
//! directory by path and content (`image.toml`, `image.lock`, recipes, local sources and
//! `[[files]]`; every package and source is pinned by digest in those). An entry
//! (`<cache>/builds/<sha256 of key and output path>.json`) keeps what the build reported: the
//! digests and sizes, the checksec gate's verdict and scan, the source build's record, the
//! start and finish times, and the exact bytes of `index.json` and the build record.
//!
//! A hit is checked before use ([`crate::oci::restore_layout`]): the layout must be one of
//! ours whose image entry is the recorded one, with every blob of that image present and
//! hashed in full, and the build record next to it must be the recorded bytes. Signatures and
//! attestations attached to the image since are dropped, as a rebuild would drop them. Anything
//! that does not match, or cannot be read, means a full build; reuse never fails a build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::super::compile::BuildRecord;
use super::super::{BuildOptions, BuildReport, GateVerdict, Output};
use super::lock::Locked;
use super::Timings;
use crate::build::record::RecordOutput;
use crate::elf::{ElfError, Report, ScanReport};

/// Bump when an entry's meaning changes.
const FORMAT: u32 = 1;

/// Most files and bytes of a definition's directory hashed for the key (else no reuse).
const MAX_FILES: usize = 4096;
const MAX_BYTES: u64 = 1 << 30;

/// Largest entry read back (a checksec scan of a thousand ELF files is a few MB).
const MAX_ENTRY: u64 = 256 << 20;

/// What a build reported, kept for reuse.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    name: String,
    output: RecordOutput,
    source_date_epoch: i64,
    gate: GateVerdict,
    checksec: BTreeMap<PathBuf, Checked>,
    source_build: Option<BuildRecord>,
    source_build_reused: bool,
    started_on: String,
    finished_on: String,
    index: String,
    record: String,
}

/// One file of the checksec scan: its report, or the message of the error it gave.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Checked {
    Report(Box<Report>),
    Error(String),
}

/// The sha256 of the running executable, once per process (`None` when it cannot be read:
/// then nothing is reused).
fn builder_sha256() -> Option<&'static str> {
    static DIGEST: OnceLock<Option<String>> = OnceLock::new();
    DIGEST.get_or_init(|| std::env::current_exe().ok().and_then(|p| crate::fsutil::sha256_file(&p).ok())).as_deref()
}

/// Every file of `dir` (not following links; a link by its target), by relative path:
/// `None` when something is neither a file, a directory nor a link, or the bounds are passed.
fn tree_digests(dir: &Path) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut bytes = 0u64;
    for e in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let e = e.ok()?;
        let rel = e.path().strip_prefix(dir).ok()?.to_string_lossy().into_owned();
        let ft = e.file_type();
        let value = if ft.is_dir() {
            continue;
        } else if ft.is_symlink() {
            format!("link:{}", std::fs::read_link(e.path()).ok()?.display())
        } else if ft.is_file() {
            bytes += e.metadata().ok()?.len();
            if bytes > MAX_BYTES {
                return None; // before hashing it, not after
            }
            crate::fsutil::sha256_file(e.path()).ok()?
        } else {
            return None;
        };
        out.insert(rel, value);
        if out.len() > MAX_FILES || bytes > MAX_BYTES {
            return None;
        }
    }
    Some(out)
}

#[derive(Serialize)]
struct KeyDocument<'a> {
    format: u32,
    builder_sha256: &'a str,
    tier: crate::tier::Tier,
    source_date_epoch: i64,
    revision: Option<&'a str>,
    output: &'a str,
    output_path: PathBuf,
    definition: BTreeMap<String, String>,
}

/// Where the entry for a build of the definition in `dir` into `opts.output` is kept, or
/// `None` when this build cannot be reused (not asked for, a docker archive, an input that
/// cannot be read).
pub(crate) fn entry_path(dir: &Path, locked: &Locked, opts: &BuildOptions<'_>) -> Option<PathBuf> {
    if !opts.reuse || !matches!(opts.output, Output::OciDir(_)) {
        return None;
    }
    let doc = KeyDocument {
        format: FORMAT,
        builder_sha256: builder_sha256()?,
        tier: opts.tier,
        source_date_epoch: locked.epoch,
        revision: opts.revision.as_deref(),
        output: opts.output.kind(),
        output_path: std::path::absolute(opts.output.path()).ok()?,
        definition: tree_digests(dir)?,
    };
    let key = crate::fsutil::sha256_reader(serde_json::to_vec(&doc).ok()?.as_slice()).ok()?.0;
    Some(opts.cache.path(crate::cache::Kind::Builds).join(format!("{key}.json")))
}

/// The report of the earlier build kept at `entry`, when the output still holds what it wrote
/// (made so again where only attachments were added); `None` means: build.
pub(crate) fn run(entry: &Path, opts: &BuildOptions<'_>, mut timings: Timings) -> Option<BuildReport> {
    let meta = std::fs::symlink_metadata(entry).ok()?;
    if !meta.is_file() {
        return None;
    }
    super::announce(opts, "reuse the unchanged image");
    let bytes = crate::fsutil::read_regular_bounded(entry, MAX_ENTRY).ok()?;
    let e: Entry = serde_json::from_slice(&bytes).ok().filter(|e: &Entry| e.format == FORMAT)?;
    let record_path = opts.output.record_path();
    let record = crate::fsutil::read_regular_bounded(&record_path, e.record.len() as u64 + 1).ok()?;
    if record != e.record.as_bytes() || !crate::oci::restore_layout(opts.output.path(), e.index.as_bytes()).ok()? {
        super::done(opts, "reuse the unchanged image", || "the output changed since: building".into());
        return None;
    }
    timings.lap("reuse");
    let finished = timings.finish();
    let checksec = ScanReport {
        entries: e
            .checksec
            .into_iter()
            .map(|(p, c)| {
                let entry = match c {
                    Checked::Report(r) => Ok(*r),
                    Checked::Error(message) => Err(ElfError::Recorded { message }),
                };
                (p, entry)
            })
            .collect(),
    };
    let report = BuildReport {
        name: e.name,
        tier: opts.tier,
        output: opts.output.clone(),
        record: record_path,
        manifest_digest: e.output.manifest_digest,
        config_digest: e.output.config_digest,
        compressed_size: e.output.compressed_size,
        uncompressed_size: e.output.uncompressed_size,
        packages: e.output.packages,
        source_build: e.source_build,
        source_build_reused: e.source_build_reused,
        reused: true,
        files: e.output.files,
        source_date_epoch: e.source_date_epoch,
        gate: e.gate,
        checksec,
        timings: finished.laps,
        started_on: e.started_on,
        finished_on: e.finished_on,
    };
    super::done(opts, "reuse the unchanged image", || {
        format!("{} (inputs unchanged, output verified)", report.manifest_digest)
    });
    Some(report)
}

/// Keeps what the build that just wrote `report` reported at `entry` (replacing an older
/// entry: the newest build is what the output holds). Best effort: a failure only means the
/// next build of these inputs builds.
pub(crate) fn store(opts: &BuildOptions<'_>, entry: &Path, report: &BuildReport, index: &[u8], record: &[u8]) {
    let (Ok(index), Ok(record)) = (std::str::from_utf8(index), std::str::from_utf8(record)) else { return };
    let e = Entry {
        format: FORMAT,
        name: report.name.clone(),
        output: RecordOutput::of(report),
        source_date_epoch: report.source_date_epoch,
        gate: report.gate.clone(),
        checksec: report
            .checksec
            .entries
            .iter()
            .map(|(p, r)| {
                let c = match r {
                    Ok(r) => Checked::Report(Box::new(r.clone())),
                    Err(err) => Checked::Error(err.to_string()),
                };
                (p.clone(), c)
            })
            .collect(),
        source_build: report.source_build.clone(),
        source_build_reused: report.source_build_reused,
        started_on: report.started_on.clone(),
        finished_on: report.finished_on.clone(),
        index: index.to_string(),
        record: record.to_string(),
    };
    let Ok(bytes) = serde_json::to_vec(&e) else { return };
    if opts.cache.create(crate::cache::Kind::Builds).is_ok() {
        let _ = crate::fsutil::write_bytes_atomic(entry, &bytes);
    }
}

//! Walks files and directories and analyses every ELF file in parallel (files on disk are
//! memory-mapped: only the pages the analysis touches are read); or analyses an image's ELF
//! files as its layers stream ([`StreamScan`]), with a bound on the bytes held at once.

use std::collections::BTreeMap;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use super::analyze::{examine, judge};
use super::{
    analyze_with, is_elf, ElfError, ElfLimits, Entry, Fortify, FortifyReference, LibcResolver, Report, ScanReport,
};
use crate::fsutil::{FileKind, FsError};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The root that DT_NEEDED libraries (the libc, for FORTIFY) are looked up in: `/` for the
    /// running system, an unpacked image otherwise. Paths are resolved inside it as a chroot
    /// would (symbolic links never lead out of it). None: the built-in glibc list.
    pub root: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { root: Some(PathBuf::from("/")) }
    }
}

/// [`scan_with`] within the default [`ElfLimits`].
pub fn scan(paths: &[PathBuf], opts: &ScanOptions) -> Result<ScanReport, ElfError> {
    scan_with(paths, opts, &ElfLimits::default())
}

/// Analyses every ELF file in `paths`. A path is a regular file or a directory walked
/// recursively without following symbolic links below it (FIFOs, sockets and devices below it
/// are skipped). Non-ELF files are skipped; broken ELF files get an error entry. A path that
/// does not exist, or is not a regular file or directory (a FIFO, a device), is an error for
/// the whole scan that says what it is. Files are only opened if regular, never blocking.
pub fn scan_with(paths: &[PathBuf], opts: &ScanOptions, limits: &ElfLimits) -> Result<ScanReport, ElfError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ElfError::Read { path: path.clone(), source })?;
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(path).follow_links(false).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                    Ok(_) => {}
                    Err(e) => {
                        let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| path.clone());
                        files.push(p);
                    }
                }
            }
        } else if meta.is_file() {
            files.push(path.clone());
        } else {
            return Err(FsError::NotRegular { path: path.clone(), kind: FileKind::of(meta.file_type()) }.into());
        }
    }
    let libs = opts.root.as_ref().map_or_else(LibcResolver::builtin, LibcResolver::new);
    let entries = files
        .into_par_iter()
        .filter_map(|path| analyze_file(&path, &libs, limits).map(|entry| (path, entry)))
        .collect();
    Ok(ScanReport { entries })
}

/// Analyses files held in memory (an image's contents), keyed by their path in the image, as
/// [`StreamScan`] does. Non-ELF files are skipped.
pub fn scan_files(files: Vec<(PathBuf, Vec<u8>)>) -> ScanReport {
    StreamScan::run(&ElfLimits::default(), &|_, _| {}, |scan| {
        for (path, bytes) in files {
            scan.add(path, bytes);
        }
    })
    .0
}

/// Analyses every ELF file of an unpacked root file system, resolving libraries inside it.
pub fn scan_root(root: &Path) -> Result<ScanReport, ElfError> {
    scan(&[root.to_path_buf()], &ScanOptions { root: Some(root.to_path_buf()) })
}

/// One file: None when it is not an ELF file (or is empty), else its entry.
fn analyze_file(path: &Path, libs: &LibcResolver, limits: &ElfLimits) -> Option<Entry> {
    let file = match crate::fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) => return Some(Err(e.into())),
    };
    let mut magic = [0u8; 4];
    if std::io::Read::read_exact(&mut &file, &mut magic).is_err() || !is_elf(&magic) {
        return None;
    }
    let map = match map_file(&file) {
        Ok(m) => m,
        Err(source) => return Some(Err(ElfError::Read { path: path.to_path_buf(), source })),
    };
    Some(analyze_with(&map, libs, limits))
}

/// Maps a file read-only.
#[allow(unsafe_code)]
pub(crate) fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this scan. If another process truncates the
    // file meanwhile, reads past the new end raise SIGBUS; checksec tools accept the same risk,
    // and files under analysis are not expected to change.
    unsafe { memmap2::Mmap::map(file) }
}

/// A hook that sees each ELF file's bytes once it is analysed (in a worker thread).
pub type PerFile<'a> = dyn Fn(&Path, &[u8]) + Sync + 'a;

/// Analyses ELF files handed over one at a time (an image's files as its layers stream), in
/// parallel, holding at most [`ElfLimits::max_in_flight_bytes`] of them at once (plus the one
/// being handed over: a file that does not fit is analysed on the caller's thread). FORTIFY is
/// judged against the first `libc.so.6` among the files in path order, else glibc's built-in
/// list; since the libc may come after the binaries, each report keeps only its symbol names
/// until the end, never the file.
pub struct StreamScan<'a, 'scope> {
    scope: &'a rayon::Scope<'scope>,
    shared: &'scope Shared,
    limits: ElfLimits,
    per_file: &'scope PerFile<'scope>,
}

/// What one file's analysis leaves until the reference libc is known.
struct Pending {
    report: Result<Report, ElfError>,
    names: Option<OwnedNames>,
}

struct OwnedNames {
    dynsym: Vec<Box<str>>,
    lists: Option<Vec<Box<str>>>,
}

#[derive(Default)]
struct Shared {
    results: Mutex<Vec<(PathBuf, Pending)>>,
    libcs: Mutex<BTreeMap<PathBuf, FortifyReference>>,
    /// Bytes of files handed to workers and not yet analysed, and the most there ever were.
    in_flight: Mutex<InFlight>,
}

#[derive(Default)]
struct InFlight {
    now: u64,
    peak: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'scope> StreamScan<'_, 'scope> {
    /// Runs `feed`, which hands files over with [`StreamScan::add`], and returns the report
    /// once every file is analysed, with what `feed` returned. `per_file` sees each ELF file's
    /// bytes after its analysis.
    pub fn run<T: Send>(
        limits: &ElfLimits,
        per_file: &PerFile<'_>,
        feed: impl FnOnce(&mut StreamScan<'_, '_>) -> T + Send,
    ) -> (ScanReport, T) {
        let shared = Shared::default();
        let out = rayon::scope(|scope| {
            let mut scan = StreamScan { scope, shared: &shared, limits: *limits, per_file };
            feed(&mut scan)
        });
        (shared.finish(), out)
    }

    /// The limits this scan runs with.
    pub fn limits(&self) -> &ElfLimits {
        &self.limits
    }

    /// Hands one file over; it is skipped unless it starts with the ELF magic.
    pub fn add(&mut self, path: PathBuf, bytes: Vec<u8>) {
        if !is_elf(&bytes) {
            return;
        }
        let n = bytes.len() as u64;
        let admitted = {
            let mut in_flight = lock(&self.shared.in_flight);
            let fits = in_flight.now == 0 || in_flight.now.saturating_add(n) <= self.limits.max_in_flight_bytes;
            if fits {
                in_flight.now += n;
                in_flight.peak = in_flight.peak.max(in_flight.now);
            }
            fits
        };
        let (shared, limits, per_file) = (self.shared, self.limits, self.per_file);
        if admitted {
            self.scope.spawn(move |_| {
                shared.analyze(path, &bytes, &limits, per_file);
                drop(bytes);
                lock(&shared.in_flight).now -= n;
            });
        } else {
            shared.analyze(path, &bytes, &limits, per_file);
        }
    }

    /// The most bytes handed to workers at once so far.
    pub fn peak_in_flight_bytes(&self) -> u64 {
        lock(&self.shared.in_flight).peak
    }

    /// Records an ELF file that was not analysed (too large to be read), with why.
    pub fn add_error(&mut self, path: PathBuf, error: ElfError) {
        lock(&self.shared.results).push((path, Pending { report: Err(error), names: None }));
    }
}

impl Shared {
    fn analyze(&self, path: PathBuf, bytes: &[u8], limits: &ElfLimits, per_file: &PerFile<'_>) {
        if path.file_name().is_some_and(|n| n == "libc.so.6") {
            if let Some(reference) = FortifyReference::from_libc_bytes(bytes, &path.to_string_lossy()) {
                lock(&self.libcs).insert(path.clone(), reference);
            }
        }
        let mut names = None;
        let report = std::panic::catch_unwind(AssertUnwindSafe(|| {
            examine(bytes, limits, |n| {
                names = Some(OwnedNames {
                    dynsym: n.dynsym.iter().map(|s| Box::from(*s)).collect(),
                    lists: n.lists.map(|l| l.iter().map(|s| Box::from(*s)).collect()),
                });
                Fortify {
                    fortified: Vec::new(),
                    fortifiable: Vec::new(),
                    fortified_count: 0,
                    fortifiable_count: 0,
                    reference: String::new(),
                }
            })
        }))
        .unwrap_or_else(|_| Err(ElfError::Malformed { reason: "the ELF parser failed on this file".into() }));
        per_file(&path, bytes);
        lock(&self.results).push((path, Pending { report, names }));
    }

    fn finish(self) -> ScanReport {
        let libc = self.libcs.into_inner().unwrap_or_else(PoisonError::into_inner).into_values().next();
        let reference = Arc::new(libc.unwrap_or_else(FortifyReference::builtin));
        let results = self.results.into_inner().unwrap_or_else(PoisonError::into_inner);
        let entries = results
            .into_iter()
            .map(|(path, pending)| {
                let entry = pending.report.map(|mut report| {
                    if let Some(names) = &pending.names {
                        report.fortify = judge(&reference, &names.dynsym, names.lists.as_deref());
                    }
                    report
                });
                (path, entry)
            })
            .collect();
        ScanReport { entries }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    use super::*;

    /// A real dynamically linked, stripped ELF executable of the host.
    fn host_elf() -> Vec<u8> {
        std::fs::read("/bin/true").expect("read /bin/true")
    }

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo").arg(path).status().expect("run mkfifo").success();
        assert!(ok, "mkfifo {}", path.display());
    }

    /// Runs `f` on a thread and fails the test if it takes longer than `secs` (a hang).
    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(secs)).expect("did not finish in time (a hang or an unbounded read)")
    }

    /// `bytes` followed by a hole up to 50 GiB: nothing past the first page is on disk.
    fn sparse_50_gib(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("sparse.elf");
        let mut f = File::create(&path).expect("create");
        f.write_all(bytes).expect("write");
        f.set_len(50 << 30).expect("set_len 50 GiB");
        path
    }

    #[test]
    fn a_sparse_50_gib_elf_file_is_not_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sparse_50_gib(dir.path(), &host_elf());
        let started = Instant::now();
        let report = within(30, move || scan(&[path], &ScanOptions { root: None }).expect("scan"));
        let elapsed = started.elapsed();
        let (_, entry) = report.entries.iter().next().expect("one entry");
        let r = entry.as_ref().expect("analysed");
        assert!(r.stripped && r.nx && !r.safestack.present, "{r:?}");
        assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}: the hole was read");
    }

    /// Section 30 of `/bin/true` is `.shstrtab`: pointed at 40 GiB of the hole.
    fn with_huge_shstrtab(mut elf: Vec<u8>, offset: u64, size: u64) -> Vec<u8> {
        let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let shoff = usize::try_from(u64_at(&elf, 0x28)).expect("shoff");
        let shentsize = usize::from(u16::from_le_bytes([elf[0x3a], elf[0x3b]]));
        let shstrndx = usize::from(u16::from_le_bytes([elf[0x3e], elf[0x3f]]));
        let at = shoff + shstrndx * shentsize;
        assert_eq!(u32::from_le_bytes(elf[at + 4..at + 8].try_into().expect("4")), 3, "SHT_STRTAB");
        elf[at + 24..at + 32].copy_from_slice(&offset.to_le_bytes());
        elf[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        elf
    }

    #[test]
    fn declared_tables_over_the_limits_are_refused_before_they_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A 40 GiB string table of zeros: goblin would index 40 Gi empty strings (24 bytes each).
        let path = sparse_50_gib(dir.path(), &with_huge_shstrtab(host_elf(), 1 << 30, 40 << 30));
        let report = within(30, move || scan(&[path], &ScanOptions { root: None }).expect("scan"));
        let e = report.entries.values().next().expect("entry").as_ref().expect_err("refused");
        assert_eq!(e.to_string(), "section 30 (type 0x3) (42949672960 bytes) is over the limit of 268435456 bytes");
        // Within the size bound, but 200 Mi strings of nothing.
        let path = sparse_50_gib(dir.path(), &with_huge_shstrtab(host_elf(), 1 << 30, 200 << 20));
        let report = within(30, move || scan(&[path], &ScanOptions { root: None }).expect("scan"));
        let e = report.entries.values().next().expect("entry").as_ref().expect_err("refused");
        assert_eq!(e.to_string(), "string table section 30 (209715200 strings) is over the limit of 8388608 strings");
    }

    #[test]
    fn a_fifo_argument_is_named_not_waited_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("bin.fifo");
        mkfifo(&fifo);
        let arg = fifo.clone();
        let e = within(10, move || scan(&[arg], &ScanOptions::default())).expect_err("a FIFO is no file to scan");
        assert_eq!(e.to_string(), format!("{} is a FIFO, not a regular file", fifo.display()));
        let e = scan(&[PathBuf::from("/dev/zero")], &ScanOptions::default()).expect_err("a device");
        assert_eq!(e.to_string(), "/dev/zero is a character device, not a regular file");
        // Below a directory, FIFOs are skipped like other non-files.
        let walked = within(10, {
            let d = dir.path().to_path_buf();
            move || scan(&[d], &ScanOptions::default()).expect("walk")
        });
        assert!(walked.entries.is_empty());
    }

    #[test]
    fn library_symlinks_are_resolved_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host_libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if !host_libc.exists() {
            eprintln!("skipped: no x86_64 glibc on this host");
            return;
        }
        // A libc outside the root, that a symlink in the root points at absolutely.
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::copy(host_libc, outside.join("libc.so.6")).expect("copy libc");
        let binary = dir.path().join("true");
        std::fs::write(&binary, host_elf()).expect("write binary");
        for case in ["outside", "dev-zero", "up-and-out", "fifo"] {
            let root = dir.path().join(format!("root-{case}"));
            let lib = root.join("lib/x86_64-linux-gnu");
            std::fs::create_dir_all(&lib).expect("mkdir");
            let libc = lib.join("libc.so.6");
            match case {
                "outside" => symlink(outside.join("libc.so.6"), &libc).expect("symlink"),
                "dev-zero" => symlink("/dev/zero", &libc).expect("symlink"),
                "up-and-out" => symlink("../../../../../../../../dev/zero", &libc).expect("symlink"),
                _ => mkfifo(&libc),
            }
            let (bin, root2) = (binary.clone(), root.clone());
            let report = within(20, move || scan(&[bin], &ScanOptions { root: Some(root2) }).expect("scan"));
            let r = report.entries.values().next().expect("entry").as_ref().expect("analysed");
            assert_eq!(r.fortify.reference, "builtin-glibc", "{case}: a libc outside the root was read");
        }
        // A real libc inside the root, reached through an absolute symlink, is used.
        let root = dir.path().join("root-inside");
        let lib = root.join("lib/x86_64-linux-gnu");
        std::fs::create_dir_all(root.join("usr/lib")).expect("mkdir");
        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::copy(host_libc, root.join("usr/lib/libc-real.so")).expect("copy libc");
        symlink("/usr/lib/libc-real.so", lib.join("libc.so.6")).expect("symlink");
        let report = scan(&[binary], &ScanOptions { root: Some(root.clone()) }).expect("scan");
        let r = report.entries.values().next().expect("entry").as_ref().expect("analysed");
        assert_eq!(r.fortify.reference, root.join("usr/lib/libc-real.so").display().to_string());
    }

    #[test]
    fn streamed_files_are_judged_against_a_libc_that_comes_after_them() {
        let host_libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if !host_libc.exists() {
            eprintln!("skipped: no x86_64 glibc on this host");
            return;
        }
        let libc = std::fs::read(host_libc).expect("read libc");
        let limits = ElfLimits { max_in_flight_bytes: 1, ..ElfLimits::default() };
        let seen = Mutex::new(0usize);
        let per_file = |_: &Path, _: &[u8]| *lock(&seen) += 1;
        let (report, ()) = StreamScan::run(&limits, &per_file, |scan| {
            for i in 0..8 {
                scan.add(PathBuf::from(format!("/usr/bin/true{i}")), host_elf());
            }
            scan.add(PathBuf::from("/etc/not-elf"), b"#!/bin/sh\n".to_vec());
            scan.add_error(
                PathBuf::from("/usr/bin/huge"),
                ElfError::TooLarge { what: "the file (600000000 bytes)".into(), max: 1, unit: "bytes" },
            );
            scan.add(PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"), libc);
        });
        assert_eq!(*lock(&seen), 9, "every ELF file goes through the hook");
        assert_eq!(report.entries.len(), 10);
        let r = report.entries[Path::new("/usr/bin/true3")].as_ref().expect("analysed");
        assert_eq!(r.fortify.reference, "/lib/x86_64-linux-gnu/libc.so.6");
        let direct = super::super::analyze(&host_elf(), &LibcResolver::new("/")).expect("analyse");
        assert_eq!(r.fortify.fortified, direct.fortify.fortified);
        assert_eq!(r.fortify.fortifiable_count, direct.fortify.fortifiable_count);
        let e = report.entries[Path::new("/usr/bin/huge")].as_ref().expect_err("too large");
        assert_eq!(e.to_string(), "the file (600000000 bytes) is over the limit of 1 bytes");
    }

    #[test]
    fn in_flight_bytes_stay_within_the_bound() {
        // 40 ELF files of 1 MiB each (a real header, then padding) with room for 3 at a time;
        // the hook keeps each one in flight a little while.
        let mut file = host_elf();
        file.resize(1 << 20, 0);
        let limits = ElfLimits { max_in_flight_bytes: 3 << 20, ..ElfLimits::default() };
        let per_file = |_: &Path, _: &[u8]| std::thread::sleep(Duration::from_millis(5));
        let (report, peak) = StreamScan::run(&limits, &per_file, |scan| {
            for i in 0..40 {
                scan.add(PathBuf::from(format!("/bin/f{i:02}")), file.clone());
            }
            scan.peak_in_flight_bytes()
        });
        assert_eq!(report.entries.len(), 40);
        assert!(report.entries.values().all(Result::is_ok));
        assert!(peak <= 3 << 20, "{peak} bytes in flight");
        assert!(peak >= 1 << 20);
    }

    #[test]
    fn an_image_file_over_the_read_bound_gets_an_error_entry_not_a_truncated_analysis() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("usr/bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::write(bin.join("true"), host_elf()).expect("write");
        // 600 MiB, nearly all a hole: over the 512 MiB that an image's ELF file may take in memory.
        let big = File::create(bin.join("big")).expect("create");
        (&big).write_all(&host_elf()).expect("write");
        big.set_len(600 << 20).expect("set_len");
        let source = crate::source::Source::parse(&format!("dir:{}", dir.path().display())).expect("source");
        let image = source.open(&crate::source::OpenOptions::default()).expect("open");
        let started = Instant::now();
        let report = crate::report::image_checksec(&image, &crate::source::Limits::default()).expect("checksec");
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        assert!(report.entries[Path::new("/usr/bin/true")].is_ok());
        let e = report.entries[Path::new("/usr/bin/big")].as_ref().expect_err("too large");
        assert_eq!(e.to_string(), "the file (629145600 bytes) is over the limit of 536870912 bytes");
    }
}

//! Walks files and directories and analyses every ELF file in parallel.

use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{analyze, is_elf, ElfError, Entry, FortifyReference, LibcResolver, ScanReport};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The root that DT_NEEDED libraries (the libc, for FORTIFY) are looked up in: `/` for the
    /// running system, an unpacked image otherwise. None: the built-in glibc list.
    pub root: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { root: Some(PathBuf::from("/")) }
    }
}

/// Analyses every ELF file in `paths`. A path is a file or a directory walked recursively
/// without following symbolic links below it. Non-ELF files are skipped; broken ELF files get an
/// error entry. A path that does not exist is an error for the whole scan.
pub fn scan(paths: &[PathBuf], opts: &ScanOptions) -> Result<ScanReport, ElfError> {
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
        } else {
            files.push(path.clone());
        }
    }
    let libs = opts.root.as_ref().map_or_else(LibcResolver::builtin, LibcResolver::new);
    let entries =
        files.into_par_iter().filter_map(|path| analyze_file(&path, &libs).map(|entry| (path, entry))).collect();
    Ok(ScanReport { entries })
}

/// Analyses files held in memory (an image's contents), keyed by their path in the image. The
/// libc that FORTIFY is judged against is looked up among the files themselves (the first
/// `libc.so.6` in a library directory), else glibc's built-in list. Non-ELF files are skipped.
pub fn scan_files(files: Vec<(PathBuf, Vec<u8>)>) -> ScanReport {
    let libc = files
        .iter()
        .filter(|(p, _)| p.file_name().is_some_and(|n| n == "libc.so.6"))
        .find_map(|(p, bytes)| FortifyReference::from_libc_bytes(bytes, &p.to_string_lossy()));
    let libs = libc.map_or_else(LibcResolver::builtin, LibcResolver::with_reference);
    let entries = files
        .into_par_iter()
        .filter(|(_, bytes)| is_elf(bytes))
        .map(|(path, bytes)| {
            let entry = analyze(&bytes, &libs);
            (path, entry)
        })
        .collect();
    ScanReport { entries }
}

/// Analyses every ELF file of an unpacked root file system, resolving libraries inside it.
pub fn scan_root(root: &Path) -> Result<ScanReport, ElfError> {
    scan(&[root.to_path_buf()], &ScanOptions { root: Some(root.to_path_buf()) })
}

/// One file: None when it is not an ELF file (or is empty), else its entry.
fn analyze_file(path: &Path, libs: &LibcResolver) -> Option<Entry> {
    let read_err = |source| Some(Err(ElfError::Read { path: path.to_path_buf(), source }));
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return read_err(e),
    };
    let mut magic = [0u8; 4];
    if std::io::Read::read_exact(&mut &file, &mut magic).is_err() || !is_elf(&magic) {
        return None;
    }
    let map = match map_file(&file) {
        Ok(m) => m,
        Err(e) => return read_err(e),
    };
    Some(analyze(&map, libs))
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this scan. If another process truncates the
    // file meanwhile, reads past the new end raise SIGBUS; checksec tools accept the same risk,
    // and files under analysis are not expected to change.
    unsafe { memmap2::Mmap::map(file) }
}

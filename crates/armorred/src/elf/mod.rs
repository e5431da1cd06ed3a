//! ELF hardening analysis: what `checksec.sh` reports, plus SafeStack, clang CFI (also in
//! stripped binaries), x86 CET, package notes and static/dynamic linking.
//!
//! [`analyze`] reads one ELF image from bytes; [`scan`] walks files and directories in parallel.
//! [`policy`] judges reports against a tier; [`checksec_json`] renders checksec.sh's JSON shape.

mod analyze;
mod cfi;
pub mod checksec_json;
mod fortify;
mod notes;
pub mod policy;
mod scan;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use analyze::{analyze, analyze_with, is_elf, LibcResolver};
pub use fortify::{FortifyReference, GLIBC_CHK_FUNCTIONS};
pub use notes::package_note;
pub use scan::{scan, scan_files, scan_root, scan_with, PerFile, ScanOptions, StreamScan};

/// Bounds of the ELF analysis, in one place. Files on disk are memory-mapped, so only the pages
/// the analysis touches are read; these bounds keep what it touches (and what the parser
/// allocates for it) small whatever a hostile file's headers declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfLimits {
    /// Largest ELF file of an image read into memory (image contents come from layers, not
    /// from a file that could be mapped). A larger one gets an error entry. Default 512 MiB.
    pub max_file_bytes: u64,
    /// ELF bytes of an image handed to worker threads at once while its files are analysed in
    /// parallel; a file that does not fit is analysed on the reading thread, so the peak is this
    /// plus one file (at most `max_file_bytes`). Default 256 MiB.
    pub max_in_flight_bytes: u64,
    /// Largest table a file's headers may declare where the parser reads the table whole:
    /// string, symbol, relocation, hash and note sections, `PT_DYNAMIC`, `PT_NOTE`,
    /// `PT_INTERP`, and the dynamic string and relocation tables. Default 256 MiB.
    pub max_table_bytes: u64,
    /// Most strings in one string table (the parser indexes every one). Default 8 Mi.
    pub max_strings: u64,
    /// Most entries in one symbol table or GNU hash chain. Default 10 M.
    pub max_symbols: u64,
    /// Most section headers (the count in section 0 when `e_shnum` is 0). Default 1 Mi.
    pub max_sections: u64,
    /// Bytes searched in all for machine-code patterns, runtime strings and notes in one file
    /// (stripped binaries). Default 256 MiB.
    pub max_search_bytes: u64,
}

impl Default for ElfLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 512 << 20,
            max_in_flight_bytes: 256 << 20,
            max_table_bytes: 256 << 20,
            max_strings: 8 << 20,
            max_symbols: 10_000_000,
            max_sections: 1 << 20,
            max_search_bytes: 256 << 20,
        }
    }
}

/// Errors of the ELF analysis.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// A path could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file starts like an ELF file but is broken.
    #[error("malformed ELF file: {reason}")]
    Malformed {
        /// What is wrong, in one line.
        reason: String,
    },
    /// The file is not an ELF file at all.
    #[error("not an ELF file")]
    NotElf,
    /// The file or a table its headers declare is over an [`ElfLimits`] bound.
    #[error("{what} is over the limit of {max} {unit}")]
    TooLarge {
        /// What is too large (`the file (600000000 bytes)`, `string table section 29`).
        what: String,
        /// The bound.
        max: u64,
        /// `bytes`, `strings`, `entries`, `sections`.
        unit: &'static str,
    },
    /// A path is not a regular file, or cannot be opened.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// The error an earlier analysis of the same file gave, read back from a kept report (a
    /// reused build's checksec): its message as that analysis printed it.
    #[error("{message}")]
    Recorded {
        /// The message.
        message: String,
    },
}

/// RELRO state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relro {
    /// PT_GNU_RELRO and immediate binding.
    Full,
    /// PT_GNU_RELRO with lazy binding.
    Partial,
    /// No PT_GNU_RELRO.
    No,
}

/// Position independence, with checksec.sh's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pie {
    /// A position-independent executable (static-pie included).
    Yes,
    /// A shared object.
    Dso,
    /// A fixed-address executable.
    No,
    /// A relocatable object file.
    Rel,
}

/// How linking happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linking {
    /// Has a program interpreter or is a shared object.
    Dynamic,
    /// Statically linked, fixed address.
    Static,
    /// Statically linked and self-relocating (`-static-pie`).
    StaticPie,
    /// A relocatable object, not linked yet.
    Unlinked,
}

/// The language a binary was most likely written in, where it changes which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// C, C++ or anything else linked against a C runtime.
    C,
    /// A Go binary (build info present).
    Go,
    /// A Rust binary (Rust runtime symbols or rustc in `.comment`).
    Rust,
}

/// How a property was detected, from strongest to weakest evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    /// Found in the static symbol table.
    Symbol,
    /// Found in the dynamic symbol table (survives stripping).
    DynamicSymbol,
    /// Found by the machine-code pattern or runtime strings (heuristic).
    Pattern,
}

/// A hardening property that was found, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Whether the property is present.
    pub present: bool,
    /// How it was found (None when absent).
    pub detection: Option<Detection>,
}

impl Found {
    pub(crate) fn absent() -> Self {
        Self { present: false, detection: None }
    }
    pub(crate) fn by(detection: Detection) -> Self {
        Self { present: true, detection: Some(detection) }
    }
}

/// FORTIFY_SOURCE facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fortify {
    /// Fortified functions used (`__memcpy_chk` reported as `memcpy`), sorted, distinct.
    pub fortified: Vec<String>,
    /// Functions used that have a fortified variant in the reference libc but are called
    /// unfortified, sorted, distinct.
    pub fortifiable: Vec<String>,
    /// checksec.sh's `fortified`: dynamic symbol entries that are fortified calls.
    pub fortified_count: usize,
    /// checksec.sh's `fortify-able`: dynamic symbol entries that are fortified or fortifiable calls.
    pub fortifiable_count: usize,
    /// Where the list of fortifiable functions came from (a libc path, or `builtin-glibc`).
    pub reference: String,
}

impl Fortify {
    /// checksec.sh's verdict: fortified functions are present.
    pub fn enabled(&self) -> bool {
        !self.fortified.is_empty()
    }
}

/// x86 CET properties from `.note.gnu.property`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cet {
    /// Indirect branch tracking (`GNU_PROPERTY_X86_FEATURE_1_IBT`).
    pub ibt: bool,
    /// Shadow stack (`GNU_PROPERTY_X86_FEATURE_1_SHSTK`).
    pub shstk: bool,
}

/// The full hardening report of one ELF file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// 32 or 64.
    pub class: u8,
    /// `exec`, `dyn`, `rel`, `core`.
    pub elf_type: String,
    /// RELRO.
    pub relro: Relro,
    /// Stack canary symbols present.
    pub canary: bool,
    /// Non-executable stack.
    pub nx: bool,
    /// Position independence.
    pub pie: Pie,
    /// Static or dynamic linking.
    pub linking: Linking,
    /// DT_RPATH entries, split at `:`.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, split at `:`.
    pub runpath: Vec<String>,
    /// DT_NEEDED entries.
    pub needed: Vec<String>,
    /// DT_SONAME, for a shared library that names itself (how DT_NEEDED entries find it).
    pub soname: Option<String>,
    /// Whether it imports `dlopen` or `dlmopen` (an undefined dynamic symbol): it may load
    /// libraries that no DT_NEEDED names (libc itself defines them and is not counted).
    pub dlopen: bool,
    /// Entries in `.symtab` (0 when stripped).
    pub symbols: usize,
    /// Entries in `.dynsym`.
    pub dynamic_symbols: usize,
    /// No `.symtab`.
    pub stripped: bool,
    /// FORTIFY_SOURCE.
    pub fortify: Fortify,
    /// SafeStack.
    pub safestack: Found,
    /// clang CFI.
    pub cfi: Found,
    /// x86 CET.
    pub cet: Cet,
    /// The `.note.package` JSON (systemd package notes), when present and valid JSON.
    pub package_note: Option<serde_json::Value>,
    /// The most likely source language.
    pub language: Language,
}

/// The outcome for one path of a scan: a report, or why there is none.
pub type Entry = Result<Report, ElfError>;

/// Reports of a scan, keyed by path, in path order.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// One entry per ELF file (or broken ELF file) found.
    pub entries: BTreeMap<PathBuf, Entry>,
}

impl ScanReport {
    /// The reports that succeeded.
    pub fn reports(&self) -> impl Iterator<Item = (&PathBuf, &Report)> {
        self.entries.iter().filter_map(|(p, e)| e.as_ref().ok().map(|r| (p, r)))
    }
}

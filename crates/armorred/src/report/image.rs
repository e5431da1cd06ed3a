//! Facts about an image that need its files, not only its SBOM: size, file counts, setuid
//! files, shells, and checksec of every ELF file. One streaming pass over the layers.

use std::io::Read;
use std::path::PathBuf;

use super::compare::{FileStats, HardeningCounts, Side, Size};
use crate::elf::{scan_files, ScanReport};
use crate::source::{EntryKind, FileEntry, FileTree, Image, Limits, SourceError};

/// Shells whose presence the comparison reports.
const SHELLS: [&str; 10] = [
    "/bin/sh",
    "/bin/bash",
    "/bin/dash",
    "/bin/ash",
    "/bin/zsh",
    "/usr/bin/sh",
    "/usr/bin/bash",
    "/usr/bin/dash",
    "/bin/busybox",
    "/usr/bin/busybox",
];

/// What [`image_facts`] learns.
#[derive(Debug)]
pub struct ImageFacts {
    /// Uncompressed: bytes of regular files in the final file system; compressed: layer blobs.
    pub size: Size,
    /// File counts, setuid files, shells.
    pub files: FileStats,
    /// checksec of every ELF file, keyed by its path in the image.
    pub checksec: ScanReport,
}

/// Reads an opened image once: the squashed tree for counts, and every ELF file for checksec.
pub fn image_facts(image: &Image, limits: &Limits) -> Result<ImageFacts, SourceError> {
    let (tree, elves) = read_elves(image, limits)?;
    let mut files = FileStats::default();
    let mut uncompressed = 0u64;
    for e in tree.entries().filter(|e| e.kind == EntryKind::File) {
        files.files += 1;
        uncompressed += e.size;
        if e.mode & 0o6000 != 0 {
            files.setuid.push(e.path.clone());
        }
    }
    files.shells = SHELLS.iter().filter(|s| tree.get(s).is_some()).map(|s| (*s).to_owned()).collect();
    files.elf_binaries = elves.len() as u64;
    let compressed =
        if image.layers.is_empty() { None } else { image.layers.iter().map(|l| l.size).sum::<Option<u64>>() };
    Ok(ImageFacts { size: Size { uncompressed, compressed }, files, checksec: scan_files(elves) })
}

/// checksec of every ELF file of an opened image, keyed by its path in the image (what
/// `armorred checksec oci-dir:...` reports).
pub fn image_checksec(image: &Image, limits: &Limits) -> Result<ScanReport, SourceError> {
    Ok(scan_files(read_elves(image, limits)?.1))
}

/// ELF files of an image: path in the image, and content.
type ElfFiles = Vec<(PathBuf, Vec<u8>)>;

/// The squashed tree, and the bytes of every ELF file in it.
fn read_elves(image: &Image, limits: &Limits) -> Result<(FileTree, ElfFiles), SourceError> {
    let mut elves: ElfFiles = Vec::new();
    // An ELF header is 52 bytes at least; smaller files are not worth opening.
    let want = |e: &FileEntry| e.kind == EntryKind::File && e.size >= 52;
    let mut visit = |entry: &FileEntry, reader: &mut dyn Read| -> Result<(), SourceError> {
        let mut magic = [0u8; 4];
        if reader.read_exact(&mut magic).is_err() || !crate::elf::is_elf(&magic) {
            return Ok(());
        }
        let mut bytes = magic.to_vec();
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| SourceError::Io { path: PathBuf::from(&entry.path), source })?;
        elves.push((PathBuf::from(&entry.path), bytes));
        Ok(())
    };
    let tree = image.scan(limits, &want, &mut visit)?;
    Ok((tree, elves))
}

impl Side {
    /// Adds what only the image itself tells: size, file facts, checksec counts.
    pub fn with_image_facts(mut self, facts: &ImageFacts) -> Self {
        self.size = Some(facts.size);
        self.files = Some(facts.files.clone());
        self.hardening = Some(HardeningCounts::of(&facts.checksec));
        self
    }
}

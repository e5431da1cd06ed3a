//! Facts about an image that need its files, not only its SBOM: size, file counts, setuid
//! files, shells, and checksec of every ELF file. One streaming pass over the layers, and one
//! more over the layers stored uncompressed to learn their compressed size.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::compare::{FileStats, HardeningCounts, Side, Size};
use crate::elf::{ElfError, ElfLimits, ScanReport, StreamScan};
use crate::fstree::{Entry, EntryKind, Index};
use crate::source::{Image, Limits, SourceError};

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
    /// Uncompressed: bytes of regular files in the final file system; compressed: what a registry
    /// would transfer ([`transfer_size`]).
    pub size: Size,
    /// File counts, setuid files, shells.
    pub files: FileStats,
    /// checksec of every ELF file, keyed by its path in the image.
    pub checksec: ScanReport,
}

/// Names to look for in the binaries of one component (the features of a source build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryProbe {
    /// The component (`nginx`): its binaries are the ELF files whose package note names it, else
    /// `/usr/sbin/<component>` and `/usr/bin/<component>`.
    pub component: String,
    /// Names to look for, each as a NUL-terminated string (how C keeps `ngx_module_names[]`).
    pub names: Vec<String>,
}

/// One binary of a component, and which of the probe's names it contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinaryCheck {
    /// Its path in the image.
    pub path: String,
    /// `sha256:<hex>` of its content.
    pub sha256: String,
    /// The names found in it as strings of their own (NUL before and after).
    pub found: BTreeSet<String>,
    /// The names found only as the end of a longer string (nginx's message "the \"quic\"
    /// parameter requires ngx_http_v3_module" ends with a module name that is not built).
    pub suffix_only: BTreeSet<String>,
}

/// Reads an opened image once: the squashed tree for counts, and every ELF file for checksec.
pub fn image_facts(image: &Image, limits: &Limits) -> Result<ImageFacts, SourceError> {
    Ok(image_facts_probing(image, limits, None)?.0)
}

/// [`image_facts`], and, for a `probe`, which of its names each binary of its component holds
/// (in the same pass over the image).
pub fn image_facts_probing(
    image: &Image,
    limits: &Limits,
    probe: Option<&BinaryProbe>,
) -> Result<(ImageFacts, Vec<BinaryCheck>), SourceError> {
    image_facts_known(image, limits, probe, Known::default())
}

/// What a caller already knows of an image, so that [`image_facts_known`] need not read it
/// again.
#[derive(Debug, Default)]
pub struct Known {
    /// checksec of its ELF files (the build's gate scanned them:
    /// [`crate::build::BuildReport::checksec`]).
    pub checksec: Option<ScanReport>,
    /// Its file tree (another pass built it: [`crate::sbom::generate_with_tree`]).
    pub tree: Option<Index>,
}

/// [`image_facts_probing`], from what is [`Known`]: with the checksec known, no ELF file is
/// analysed again; with the tree known too and no probe, the image is not read at all (only a
/// plain-tar layer is compressed to count its transfer size); a probe still reads its binaries.
pub fn image_facts_known(
    image: &Image,
    limits: &Limits,
    probe: Option<&BinaryProbe>,
    known: Known,
) -> Result<(ImageFacts, Vec<BinaryCheck>), SourceError> {
    let (tree, checksec, checks) = match (known.checksec, known.tree, probe) {
        (Some(checksec), Some(tree), None) => (tree, checksec, Vec::new()),
        (Some(checksec), _, _) => {
            let (tree, checks) = read_probed(image, limits, probe)?;
            (tree, checksec, checks)
        }
        (None, _, _) => read_elves(image, limits, probe)?,
    };
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
    files.elf_binaries = checksec.entries.len() as u64;
    let compressed = Some(transfer_size(image, &tree, limits)?);
    Ok((ImageFacts { size: Size { uncompressed, compressed }, files, checksec }, checks))
}

/// Whether one ELF file is a binary of the probe's component, and how it was told: by package
/// note (a source build gives every ELF file one), else by the usual paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Picked {
    ByNote,
    ByPath,
}

fn pick(probe: &BinaryProbe, path: &Path, bytes: &[u8]) -> Option<Picked> {
    let noted = crate::elf::package_note(bytes)
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .is_some_and(|note| note.get("name").and_then(serde_json::Value::as_str) == Some(probe.component.as_str()));
    let paths = [format!("/usr/sbin/{}", probe.component), format!("/usr/bin/{}", probe.component)];
    if noted {
        Some(Picked::ByNote)
    } else if paths.iter().any(|p| path == Path::new(p)) {
        Some(Picked::ByPath)
    } else {
        None
    }
}

/// The component's binaries among the checked files: those picked by package note when there
/// are any, else those picked by path.
fn check_binaries(mut picked: Vec<(Picked, BinaryCheck)>) -> Vec<BinaryCheck> {
    let by = if picked.iter().any(|(p, _)| *p == Picked::ByNote) { Picked::ByNote } else { Picked::ByPath };
    picked.retain(|(p, _)| *p == by);
    let mut checks: Vec<BinaryCheck> = picked.into_iter().map(|(_, check)| check).collect();
    checks.sort_by(|a, b| a.path.cmp(&b.path));
    checks
}

/// The probe's names in one binary.
fn check_binary(probe: &BinaryProbe, path: &Path, bytes: &[u8]) -> BinaryCheck {
    let mut check = BinaryCheck {
        path: path.display().to_string(),
        // Reading a slice cannot fail.
        sha256: format!("sha256:{}", crate::fsutil::sha256_reader(bytes).map(|(h, _)| h).unwrap_or_default()),
        ..BinaryCheck::default()
    };
    for name in &probe.names {
        let needle = [name.as_bytes(), b"\0"].concat();
        let mut hits = memchr::memmem::find_iter(bytes, &needle).peekable();
        if hits.peek().is_none() {
            continue;
        }
        if hits.any(|at| at == 0 || bytes[at - 1] == 0) {
            check.found.insert(name.clone());
        } else {
            check.suffix_only.insert(name.clone());
        }
    }
    check
}

/// gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd magic bytes.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// What a registry would transfer for the image, in bytes: for each layer, the blob's size when
/// the blob is compressed (gzip or zstd, told by its magic bytes, not its media type); for a
/// layer stored as a plain tar (`docker save`, uncompressed OCI layers), the size of that tar
/// gzipped at flate2's default level (6), counted as it streams, never written ([`gzip_size`]).
/// A `dir:` source is counted as one such layer: a tar of its tree.
pub fn transfer_size(image: &Image, tree: &Index, limits: &Limits) -> Result<u64, SourceError> {
    if let Some(root) = image.dir_root() {
        return dir_gzip_size(root, tree).map_err(|source| SourceError::Io { path: root.to_path_buf(), source });
    }
    let sizes: Vec<u64> = image
        .layers
        .par_iter()
        .map(|layer| {
            let err = |reason: &str, source| SourceError::Layer {
                source_name: image.name.clone(),
                digest: layer.digest.clone(),
                reason: reason.to_owned(),
                source,
            };
            let mut blob = BufReader::with_capacity(256 << 10, image.open_layer_blob(layer)?);
            let head = blob.fill_buf().map_err(|e| err("cannot read", e))?;
            if head.starts_with(&GZIP_MAGIC) || head.starts_with(&ZSTD_MAGIC) {
                if let Some(size) = image.layer_blob_size(layer) {
                    return Ok(size);
                }
                return std::io::copy(&mut blob, &mut std::io::sink()).map_err(|e| err("cannot read", e));
            }
            gzip_size(blob, limits.max_layer_bytes).map_err(|e| err("cannot compress", e))
        })
        .collect::<Result<_, SourceError>>()?;
    Ok(sizes.iter().sum())
}

/// Input is compressed in chunks of this size, so that the count does not depend on how the
/// source happens to return its bytes (deflate output varies slightly with the write pattern).
pub const GZIP_CHUNK: usize = 64 << 10;

/// The size of `data` gzipped at flate2's default level, fed in [`GZIP_CHUNK`] chunks and
/// counted, not stored; an error past `max` input bytes.
pub fn gzip_size(mut data: impl Read, max: u64) -> std::io::Result<u64> {
    let mut gz = flate2::write::GzEncoder::new(ByteCount(0), flate2::Compression::default());
    let mut buf = vec![0u8; GZIP_CHUNK];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < GZIP_CHUNK {
            match data.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        total += filled as u64;
        if total > max {
            return Err(std::io::Error::other(format!("more than {max} bytes")));
        }
        gz.write_all(&buf[..filled])?;
        if filled < GZIP_CHUNK {
            return Ok(gz.finish()?.0);
        }
    }
}

/// A writer that only counts what it is given.
struct ByteCount(u64);

impl Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The gzipped size of a tar of the tree of `root` (directories, files, symlinks, in path order).
/// Files that vanish or cannot be read on a live system are left out, as the walk leaves them.
fn dir_gzip_size(root: &Path, tree: &Index) -> std::io::Result<u64> {
    let gz = flate2::write::GzEncoder::new(ByteCount(0), flate2::Compression::default());
    let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(GZIP_CHUNK, gz));
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Deterministic);
    for e in tree.entries() {
        if !matches!(e.kind, EntryKind::Dir | EntryKind::File | EntryKind::Symlink) {
            continue;
        }
        let rel = e.path.trim_start_matches('/');
        match tar.append_path_with_name(root.join(rel), rel) {
            Ok(()) => {}
            Err(err) if matches!(err.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) => {}
            Err(err) => return Err(err),
        }
    }
    let gz = tar.into_inner()?.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    Ok(gz.finish()?.0)
}

/// checksec of every ELF file of an opened image, keyed by its path in the image (what
/// `armorred checksec oci-dir:...` reports).
pub fn image_checksec(image: &Image, limits: &Limits) -> Result<ScanReport, SourceError> {
    Ok(read_elves(image, limits, None)?.1)
}

/// The squashed tree, checksec of every ELF file in it, and the probe's checks. Each ELF file
/// is read into memory (at most [`ElfLimits::max_file_bytes`], and the layer reader's
/// `max_file_bytes`; a larger one gets an error entry rather than a truncated analysis) and
/// analysed as the layers stream, with at most [`ElfLimits::max_in_flight_bytes`] held at once.
/// What [`read_elf`] found in one file.
enum ElfRead {
    NotElf,
    TooLarge,
    Bytes(Vec<u8>),
}

/// The bytes of `entry` when it is an ELF file no larger than `max_file` (only its magic is
/// read otherwise).
fn read_elf(entry: &Entry, reader: &mut dyn Read, max_file: u64) -> Result<ElfRead, SourceError> {
    let mut magic = [0u8; 4];
    if reader.read_exact(&mut magic).is_err() || !crate::elf::is_elf(&magic) {
        return Ok(ElfRead::NotElf);
    }
    if entry.size > max_file {
        return Ok(ElfRead::TooLarge);
    }
    let mut bytes = magic.to_vec();
    reader
        .take(max_file)
        .read_to_end(&mut bytes)
        .map_err(|source| SourceError::Io { path: PathBuf::from(&entry.path), source })?;
    Ok(ElfRead::Bytes(bytes))
}

/// The image's tree, and the probe's binaries among its ELF files (no checksec).
fn read_probed(
    image: &Image,
    limits: &Limits,
    probe: Option<&BinaryProbe>,
) -> Result<(Index, Vec<BinaryCheck>), SourceError> {
    let max_file = ElfLimits::default().max_file_bytes.min(limits.max_file_bytes);
    let mut picked = Vec::new();
    let want = |e: &Entry| probe.is_some() && e.kind == EntryKind::File && e.size >= 52 && e.size <= max_file;
    let mut visit = |entry: &Entry, reader: &mut dyn Read| -> Result<(), SourceError> {
        let (Some(probe), ElfRead::Bytes(bytes)) = (probe, read_elf(entry, reader, max_file)?) else { return Ok(()) };
        let path = PathBuf::from(&entry.path);
        if let Some(how) = pick(probe, &path, &bytes) {
            picked.push((how, check_binary(probe, &path, &bytes)));
        }
        Ok(())
    };
    let tree = image.scan(limits, &want, &mut visit)?;
    Ok((tree, check_binaries(picked)))
}

fn read_elves(
    image: &Image,
    limits: &Limits,
    probe: Option<&BinaryProbe>,
) -> Result<(Index, ScanReport, Vec<BinaryCheck>), SourceError> {
    let elf_limits = ElfLimits::default();
    let max_file = elf_limits.max_file_bytes.min(limits.max_file_bytes);
    let picked = Mutex::new(Vec::new());
    let per_file = |path: &Path, bytes: &[u8]| {
        if let Some(probe) = probe {
            if let Some(how) = pick(probe, path, bytes) {
                let check = check_binary(probe, path, bytes);
                picked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((how, check));
            }
        }
    };
    let (checksec, tree) = StreamScan::run(&elf_limits, &per_file, |scan| {
        // An ELF header is 52 bytes at least; smaller files are not worth opening.
        let want = |e: &Entry| e.kind == EntryKind::File && e.size >= 52;
        let mut visit = |entry: &Entry, reader: &mut dyn Read| -> Result<(), SourceError> {
            let path = PathBuf::from(&entry.path);
            match read_elf(entry, reader, max_file)? {
                ElfRead::NotElf => {}
                ElfRead::TooLarge => {
                    let what = format!("the file ({} bytes)", entry.size);
                    scan.add_error(path, ElfError::TooLarge { what, max: max_file, unit: "bytes" });
                }
                ElfRead::Bytes(bytes) => scan.add(path, bytes),
            }
            Ok(())
        };
        image.scan(limits, &want, &mut visit)
    });
    let checks = check_binaries(picked.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
    Ok((tree?, checksec, checks))
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

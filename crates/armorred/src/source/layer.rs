//! One layer as a stream: compression detected by magic bytes (gzip, zstd, none), bounded
//! decompression, tar entries with normalized paths and whiteouts recognized.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use super::tree::{EntryKind, FileEntry};
use super::{Layer, SourceError};

/// Bounds that keep hostile images from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per layer.
    pub max_layer_bytes: u64,
    /// Decompressed / compressed ratio allowed once past 1 MiB of output.
    pub max_ratio: u64,
    /// Bytes of one file's content handed to a visitor.
    pub max_file_bytes: u64,
    /// Entries in the squashed tree.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_layer_bytes: 64 << 30, max_ratio: 1000, max_file_bytes: 512 << 20, max_entries: 10_000_000 }
    }
}

/// Counts bytes read through it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Fails once the decompressed output passes the limits.
struct Bounded<R> {
    inner: R,
    out: u64,
    compressed: Rc<Cell<u64>>,
    limits: Limits,
    check_ratio: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if self.out > self.limits.max_layer_bytes {
            return Err(std::io::Error::other(format!(
                "decompressed size exceeds the limit of {} bytes",
                self.limits.max_layer_bytes
            )));
        }
        let compressed = self.compressed.get().max(1);
        if self.check_ratio && self.out > (1 << 20) && self.out / compressed > self.limits.max_ratio {
            return Err(std::io::Error::other(format!(
                "decompression ratio exceeds {}:1 (a decompression bomb?)",
                self.limits.max_ratio
            )));
        }
        Ok(n)
    }
}

/// Wraps a raw blob in the right decompressor, bounded by `limits`.
pub fn decompress<'a>(raw: Box<dyn Read + 'a>, limits: &Limits) -> std::io::Result<Box<dyn Read + 'a>> {
    let compressed = Rc::new(Cell::new(0));
    let mut buffered = BufReader::with_capacity(256 << 10, Counting { inner: raw, count: compressed.clone() });
    let magic = buffered.fill_buf()?.to_vec();
    let (inner, check_ratio): (Box<dyn Read + 'a>, bool) = if magic.starts_with(&[0x1f, 0x8b]) {
        (Box::new(flate2::bufread::MultiGzDecoder::new(buffered)), true)
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let dec = ruzstd::decoding::StreamingDecoder::new(buffered)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        (Box::new(dec), true)
    } else {
        (Box::new(buffered), false)
    };
    Ok(Box::new(Bounded { inner, out: 0, compressed, limits: *limits, check_ratio }))
}

/// Normalizes a tar path to `/a/b`; `None` when it escapes the root (`..`) or is the root.
pub fn normalize(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 1);
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Streams the entries of one layer blob, calling `f` with each entry (whiteouts as
/// [`EntryKind::Whiteout`]/[`EntryKind::Opaque`]) and a reader of its content.
pub(crate) fn for_each_entry(
    blob: Box<dyn Read + '_>,
    layer: &Layer,
    source_name: &str,
    limits: &Limits,
    mut f: impl FnMut(FileEntry, &mut dyn Read) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let err = |reason: &str, source: std::io::Error| SourceError::Layer {
        source_name: source_name.to_string(),
        digest: layer.digest.clone(),
        reason: reason.to_string(),
        source,
    };
    let reader = decompress(blob, limits).map_err(|e| err("cannot decompress", e))?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| err("not a tar stream", e))?;
    for (ordinal, item) in entries.enumerate() {
        let mut entry = item.map_err(|e| err("truncated or corrupt tar", e))?;
        let header = entry.header();
        let tar_kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let size = header.size().unwrap_or(0);
        let raw_path = entry.path().map_err(|e| err("bad entry path", e))?.to_string_lossy().into_owned();
        let Some(path) = normalize(&raw_path) else {
            continue;
        };
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let (path, kind) = if name == ".wh..wh..opq" {
            (if dir.is_empty() { "/".to_string() } else { dir.to_string() }, EntryKind::Opaque)
        } else if let Some(hidden) = name.strip_prefix(".wh.") {
            (format!("{dir}/{hidden}"), EntryKind::Whiteout)
        } else {
            let kind = match tar_kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::Hardlink,
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
                _ => EntryKind::Other,
            };
            (path, kind)
        };
        let link = match kind {
            EntryKind::Symlink => entry.link_name().ok().flatten().map(|p| p.to_string_lossy().into_owned()),
            EntryKind::Hardlink => entry.link_name().ok().flatten().and_then(|p| normalize(&p.to_string_lossy())),
            _ => None,
        };
        let fe = FileEntry {
            path,
            kind,
            size: if kind == EntryKind::File { size } else { 0 },
            mode,
            link,
            layer: None,
            ordinal: ordinal as u64,
        };
        f(fe, &mut entry)?;
    }
    Ok(())
}

/// Lists the entries of one layer blob (compressed or not), whiteouts included. For tests,
/// fuzzing and diagnostics; bounded by `limits` like every layer read.
pub fn list_entries(blob: &[u8], limits: &Limits) -> Result<Vec<FileEntry>, SourceError> {
    let layer =
        Layer { digest: "sha256:-".into(), media_type: None, size: Some(blob.len() as u64), member: String::new() };
    let mut out = Vec::new();
    for_each_entry(Box::new(blob), &layer, "bytes", limits, |e, _| {
        if out.len() as u64 >= limits.max_entries {
            return Err(SourceError::Visit(format!("more than {} entries (limit)", limits.max_entries)));
        }
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./usr/bin/x").as_deref(), Some("/usr/bin/x"));
        assert_eq!(normalize("/etc//passwd").as_deref(), Some("/etc/passwd"));
        assert_eq!(normalize("a/../../etc"), None);
        assert_eq!(normalize("./"), None);
    }

    #[test]
    fn entries_whiteouts_and_escapes() {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("./etc/passwd", &b"root"[..]),
            ("etc/.wh.shadow", b""),
            ("usr/.wh..wh..opq", b""),
            (".wh..wh..opq", b""),
            ("a/b/.wh.", b""),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data).unwrap();
        }
        // A `..` path is refused by the tar builder: write the raw header name.
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..13].copy_from_slice(b"../etc/escape");
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
        let tar = b.into_inner().unwrap();
        let got: Vec<(String, EntryKind)> =
            list_entries(&tar, &Limits::default()).unwrap().into_iter().map(|e| (e.path, e.kind)).collect();
        assert_eq!(
            got,
            [
                ("/etc/passwd".to_string(), EntryKind::File),
                ("/etc/shadow".to_string(), EntryKind::Whiteout),
                ("/usr".to_string(), EntryKind::Opaque),
                ("/".to_string(), EntryKind::Opaque),
                ("/a/b/".to_string(), EntryKind::Whiteout),
            ]
        );
        // Garbage is an error, not a panic.
        assert!(list_entries(&[0x1f, 0x8b, 1, 2, 3], &Limits::default()).is_err());
    }

    #[test]
    fn bomb_is_refused() {
        // 64 MiB of zeros compress to ~64 KiB: ratio ~1000:1.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![0u8; 64 << 20]).unwrap();
        let bytes = gz.finish().unwrap();
        let limits = Limits { max_ratio: 100, ..Limits::default() };
        let mut r = decompress(Box::new(&bytes[..]), &limits).unwrap();
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("ratio"), "{err}");
    }
}

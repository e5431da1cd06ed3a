//! One layer as a stream: compression detected by magic bytes (gzip, zstd, none), bounded
//! decompression, digest verification as the bytes stream through, tar entries with
//! normalized paths and whiteouts recognized, and tar metadata (GNU long names, PAX headers,
//! sparse maps) bounded before the tar reader allocates it.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;
use std::time::Duration;

use super::blobs::Verified;
use super::{Layer, SourceError};
use crate::fstree::{clean, Bounds, Clean, Entry, EntryKind, MAX_WARNINGS};

/// Bounds that keep hostile images from exhausting memory or time. Every bound of the image
/// reader lives here; each field's doc gives its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per layer (default 64 GiB).
    pub max_layer_bytes: u64,
    /// Decompressed / compressed ratio allowed once past 1 MiB of output (default 1000).
    pub max_ratio: u64,
    /// Bytes of one file's content handed to a visitor (default 512 MiB).
    pub max_file_bytes: u64,
    /// Entries in the squashed tree (default 10,000,000).
    pub max_entries: u64,
    /// Decompressed bytes over all the layers one operation ([`super::Image::tree`],
    /// [`super::Image::scan`], [`super::Image::walk`]) reads, re-reads included
    /// (default 128 GiB: the largest real images, some 20 GiB unpacked, read twice by a scan,
    /// with room to spare; a few minutes of gunzip at most).
    pub max_image_bytes: u64,
    /// Bytes of tar metadata in front of one entry: GNU long name and long link (`L`, `K`),
    /// PAX extended headers (`x`, and `g` entries), GNU sparse maps and the header blocks
    /// themselves (default 1 MiB; a path is at most 4 KiB on Linux).
    pub max_header_bytes: u64,
    /// The JSON documents of an image (index, manifest, config) (default 16 MiB).
    pub max_json_bytes: u64,
    /// A registry request for a manifest or a token, from connect to the last byte (default 30 s).
    pub registry_request_timeout: Duration,
    /// A registry blob download, from connect to the last byte (default 30 min).
    pub registry_blob_timeout: Duration,
    /// A registry connection that sends nothing for this long fails (default 60 s).
    pub registry_stall_timeout: Duration,
}

impl Limits {
    /// The bounds of the squashed [`crate::fstree::Index`] an image read builds.
    pub(crate) fn index_bounds(&self) -> Bounds {
        Bounds { max_entries: self.max_entries, max_file_bytes: self.max_file_bytes }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_layer_bytes: 64 << 30,
            max_ratio: 1000,
            max_file_bytes: 512 << 20,
            max_entries: 10_000_000,
            max_image_bytes: 128 << 30,
            max_header_bytes: 1 << 20,
            max_json_bytes: 16 << 20,
            registry_request_timeout: Duration::from_secs(30),
            registry_blob_timeout: Duration::from_secs(30 * 60),
            registry_stall_timeout: Duration::from_secs(60),
        }
    }
}

/// The decompressed bytes one operation on an image has used, against
/// [`Limits::max_image_bytes`].
#[derive(Debug, Default)]
pub(crate) struct Budget(Cell<u64>);

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

type Raw<'a> = BufReader<Counting<Box<dyn Read + 'a>>>;

/// Every zstd frame of a stream, one after the other (`zstd` concatenates frames, and the
/// runtimes decode them all).
struct ZstdFrames<R: BufRead> {
    dec: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
    rest: Option<R>,
}

fn zstd_frame<R: BufRead>(
    inner: R,
) -> std::io::Result<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>> {
    ruzstd::decoding::StreamingDecoder::new(inner)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(dec) = self.dec.take() else {
                return Ok(0);
            };
            let mut inner = dec.into_inner();
            if inner.fill_buf()?.is_empty() {
                self.rest = Some(inner);
                return Ok(0);
            }
            self.dec = Some(zstd_frame(inner)?);
        }
    }
}

enum Dec<'a> {
    Gzip(Box<flate2::bufread::MultiGzDecoder<Raw<'a>>>),
    Zstd(Box<ZstdFrames<Raw<'a>>>),
    Plain(Raw<'a>),
}

impl Read for Dec<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Gzip(d) => d.read(buf),
            Self::Zstd(d) => d.read(buf),
            Self::Plain(d) => d.read(buf),
        }
    }
}

impl<'a> Dec<'a> {
    fn into_raw(self) -> Option<Raw<'a>> {
        match self {
            Self::Gzip(d) => Some((*d).into_inner()),
            Self::Zstd(d) => {
                let d = *d;
                d.dec.map(|d| d.into_inner()).or(d.rest)
            }
            Self::Plain(d) => Some(d),
        }
    }
}

/// A decompressed layer: fails once the output passes the limits; hashes the output when the
/// digest to check is the uncompressed one (docker `diff_id`).
pub(crate) struct Stream<'a> {
    dec: Dec<'a>,
    out: u64,
    compressed: Rc<Cell<u64>>,
    limits: Limits,
    check_ratio: bool,
    budget: Option<&'a Budget>,
}

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.dec.read(buf)?;
        self.out += n as u64;
        if self.out > self.limits.max_layer_bytes {
            return Err(std::io::Error::other(format!(
                "decompressed size exceeds the limit of {} bytes",
                self.limits.max_layer_bytes
            )));
        }
        if let Some(budget) = self.budget {
            budget.0.set(budget.0.get() + n as u64);
            if budget.0.get() > self.limits.max_image_bytes {
                return Err(std::io::Error::other(format!(
                    "the image's layers decompress to more than the limit of {} bytes",
                    self.limits.max_image_bytes
                )));
            }
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

impl Stream<'_> {
    /// Reads what is left of the stream (decompressed, then any compressed bytes past the end
    /// of the compressed data), so that every digest over it is complete.
    fn finish(mut self) -> std::io::Result<()> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        if let Some(mut raw) = self.dec.into_raw() {
            std::io::copy(&mut raw, &mut std::io::sink())?;
        }
        Ok(())
    }
}

fn open_stream<'a>(
    raw: Box<dyn Read + 'a>,
    limits: &Limits,
    budget: Option<&'a Budget>,
) -> std::io::Result<Stream<'a>> {
    let compressed = Rc::new(Cell::new(0));
    let mut buffered = BufReader::with_capacity(256 << 10, Counting { inner: raw, count: compressed.clone() });
    let magic = buffered.fill_buf()?.to_vec();
    let (dec, check_ratio) = if magic.starts_with(&[0x1f, 0x8b]) {
        (Dec::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered))), true)
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        (Dec::Zstd(Box::new(ZstdFrames { dec: Some(zstd_frame(buffered)?), rest: None })), true)
    } else {
        (Dec::Plain(buffered), false)
    };
    Ok(Stream { dec, out: 0, compressed, limits: *limits, check_ratio, budget })
}

/// Wraps a raw blob in the right decompressor, bounded by `limits`.
pub fn decompress<'a>(raw: Box<dyn Read + 'a>, limits: &Limits) -> std::io::Result<Box<dyn Read + 'a>> {
    Ok(Box::new(open_stream(raw, limits, None)?))
}

/// The shared state of a [`Guard`]: the position in the tar stream and how far the tar reader
/// may read before the next entry is handed out.
#[derive(Debug)]
pub(crate) struct GuardState {
    pos: Cell<u64>,
    limit: Cell<u64>,
    tripped: Cell<bool>,
}

impl Default for GuardState {
    fn default() -> Self {
        Self { pos: Cell::new(0), limit: Cell::new(u64::MAX), tripped: Cell::new(false) }
    }
}

/// Sits under the `tar` reader and fails a read past the allowed position: while the reader
/// looks for the next entry, it may only skip what is left of the previous one and read
/// [`Limits::max_header_bytes`] of headers (the `tar` crate reads GNU long names and PAX
/// headers into memory whole; this stops it before it allocates a hostile size).
pub(crate) struct Guard<R> {
    pub(crate) inner: R,
    pub(crate) state: Rc<GuardState>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.state.pos.get();
        let room = self.state.limit.get().saturating_sub(pos);
        if room == 0 && !buf.is_empty() {
            self.state.tripped.set(true);
            return Err(std::io::Error::other("tar headers over the limit"));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.state.pos.set(pos + n as u64);
        Ok(n)
    }
}

/// One entry of a guarded tar stream: what the tar crate saw plus the end of its data.
pub(crate) struct GuardedEntry<'e, 'a, R: Read> {
    pub(crate) entry: &'e mut tar::Entry<'a, Guard<R>>,
    pub(crate) ordinal: u64,
}

/// Why a guarded tar walk stopped.
pub(crate) enum TarStop<E> {
    /// The tar stream is broken (or a read below failed).
    Io(std::io::Error),
    /// The metadata in front of entry `ordinal` is over the limit.
    Headers { ordinal: u64 },
    /// The callback failed.
    Callback(E),
}

/// Walks the entries of a tar stream with bounded metadata, then hands the reader back.
pub(crate) fn guarded_entries<R: Read, E>(
    reader: R,
    max_header_bytes: u64,
    mut f: impl FnMut(GuardedEntry<'_, '_, R>) -> Result<(), E>,
) -> Result<R, TarStop<E>> {
    let state = Rc::new(GuardState::default());
    let mut archive = tar::Archive::new(Guard { inner: reader, state: state.clone() });
    {
        let mut entries = archive.entries().map_err(TarStop::Io)?;
        let mut end = 0u64;
        let mut ordinal = 0u64;
        loop {
            let pos = state.pos.get();
            // What is left of the previous entry, its padding, then the headers.
            let allowed = end.max(pos).saturating_add(512).saturating_add(max_header_bytes);
            state.limit.set(allowed);
            let item = entries.next();
            state.limit.set(u64::MAX);
            let mut entry = match item {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(e)) if state.tripped.get() => {
                    drop(e);
                    return Err(TarStop::Headers { ordinal });
                }
                Some(Err(e)) => return Err(TarStop::Io(e)),
            };
            let sparse = entry.header().entry_type().is_gnu_sparse();
            let stored = if sparse {
                let pax_size = entry
                    .pax_extensions()
                    .ok()
                    .flatten()
                    .and_then(|mut p| p.find(|x| x.as_ref().is_ok_and(|x| x.key_bytes() == b"size")))
                    .and_then(|x| x.ok())
                    .and_then(|x| x.value().ok().and_then(|v| v.parse::<u64>().ok()));
                match pax_size {
                    Some(s) => s,
                    None => entry.header().entry_size().map_err(TarStop::Io)?,
                }
            } else {
                entry.size()
            };
            end = state.pos.get().saturating_add(stored.saturating_add(511) & !511);
            f(GuardedEntry { entry: &mut entry, ordinal }).map_err(TarStop::Callback)?;
            ordinal += 1;
        }
    }
    Ok(archive.into_inner().inner)
}

/// How one layer is read: the source it belongs to, its bounds, the image budget, and where
/// refused constructs are reported.
pub(crate) struct LayerRead<'r> {
    pub(crate) source_name: &'r str,
    pub(crate) limits: &'r Limits,
    pub(crate) budget: Option<&'r Budget>,
    /// Warnings about what the layer holds that a reader could not show as is.
    pub(crate) warnings: Option<&'r mut Vec<String>>,
}

impl LayerRead<'_> {
    fn warn(&mut self, layer: &Layer, msg: String) {
        if let Some(w) = self.warnings.as_deref_mut() {
            if w.len() < MAX_WARNINGS {
                w.push(format!("layer {}: {msg}", layer.digest));
            } else if w.len() == MAX_WARNINGS {
                w.push("more warnings left out".to_string());
            }
        }
    }
}

/// Streams the entries of one layer blob, calling `f` with each entry (whiteouts as
/// [`EntryKind::Whiteout`]/[`EntryKind::Opaque`]) and a reader of its content. The blob is
/// verified against its digest as it streams: on a mismatch the call fails at the end, after
/// `f` has seen the entries (the caller must throw away what it gathered, and does: the
/// error ends the operation).
pub(crate) fn for_each_entry(
    blob: Box<dyn Read + '_>,
    layer: &Layer,
    ctx: &mut LayerRead<'_>,
    mut f: impl FnMut(Entry, &mut dyn Read) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let source_name = ctx.source_name.to_string();
    let limits = *ctx.limits;
    let err = |reason: &str, source: std::io::Error| SourceError::Layer {
        source_name: source_name.clone(),
        digest: layer.digest.clone(),
        reason: reason.to_string(),
        source,
    };
    // The stored blob is checked against the manifest's digest, or (docker archives) the
    // uncompressed tar against the config's diff_id.
    let (blob, blob_check): (Box<dyn Read + '_>, _) = match &layer.expect {
        Some(e) if !e.uncompressed => {
            let v = Verified::new(blob, e.clone());
            let state = v.state();
            (Box::new(v), Some(state))
        }
        _ => (blob, None),
    };
    let stream = match open_stream(blob, &limits, ctx.budget) {
        Ok(s) => s,
        Err(e) => {
            let failure = blob_check.as_ref().and_then(|s| s.failure());
            return Err(match failure {
                Some(reason) => SourceError::Digest {
                    source_name: source_name.clone(),
                    what: "layer".into(),
                    digest: layer.digest.clone(),
                    reason,
                },
                None => err("cannot decompress", e),
            });
        }
    };
    let (stream, diff_check): (Box<dyn StreamFinish + '_>, _) = match &layer.expect {
        Some(e) if e.uncompressed => {
            let v = Verified::new(stream, e.clone());
            let state = v.state();
            (Box::new(v), Some(state))
        }
        _ => (Box::new(stream), None),
    };
    let mismatch = || {
        blob_check.iter().chain(diff_check.iter()).find_map(|s| s.failure()).map(|reason| SourceError::Digest {
            source_name: source_name.clone(),
            what: "layer".into(),
            digest: layer.digest.clone(),
            reason,
        })
    };
    let walked = guarded_entries(stream, limits.max_header_bytes, |g| {
        let ordinal = g.ordinal;
        let entry = g.entry;
        let header = entry.header();
        let tar_kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let id = |n: std::io::Result<u64>| n.ok().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        let owner = (id(header.uid()), id(header.gid()));
        let size = entry.size();
        if matches!(tar_kind, tar::EntryType::XGlobalHeader | tar::EntryType::XHeader) {
            if size > limits.max_header_bytes {
                return Err(SourceError::Layer {
                    source_name: source_name.clone(),
                    digest: layer.digest.clone(),
                    reason: format!(
                        "a PAX global header of {size} bytes at entry {ordinal}: over the limit of {} bytes",
                        limits.max_header_bytes
                    ),
                    source: std::io::Error::other("tar header over the limit"),
                });
            }
            return Ok(());
        }
        let raw_path = entry.path().map_err(|e| err("bad entry path", e))?.to_string_lossy().into_owned();
        let path = match clean(&raw_path) {
            Clean::Path(p) => p,
            Clean::Root => return Ok(()),
            Clean::Escapes => {
                ctx.warn(
                    layer,
                    format!("entry {raw_path:?} climbs above the root: left out, as the runtimes refuse it"),
                );
                return Ok(());
            }
        };
        if raw_path.split('/').any(|p| p == "..") {
            ctx.warn(layer, format!("entry {raw_path:?} read as {path}, as the runtimes clean it"));
        }
        let pax_sparse = entry
            .pax_extensions()
            .ok()
            .flatten()
            .is_some_and(|mut p| p.any(|x| x.is_ok_and(|x| x.key_bytes().starts_with(b"GNU.sparse."))));
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let (path, kind) = if name == ".wh..wh..opq" {
            (if dir.is_empty() { "/".to_string() } else { dir.to_string() }, EntryKind::Opaque)
        } else if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden.is_empty() {
                // `dir/.wh.` names `dir` itself (Go's filepath.Join(dir, "")).
                ctx.warn(
                    layer,
                    format!(
                        "whiteout {raw_path:?} with an empty name hides {}",
                        if dir.is_empty() { "/" } else { dir }
                    ),
                );
                (if dir.is_empty() { "/".to_string() } else { dir.to_string() }, EntryKind::Whiteout)
            } else {
                (format!("{dir}/{hidden}"), EntryKind::Whiteout)
            }
        } else {
            let kind = match tar_kind {
                _ if pax_sparse => {
                    ctx.warn(layer, format!("{path} is a PAX-format sparse file: its content is not analysed"));
                    EntryKind::Other
                }
                tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::Hardlink,
                _ => EntryKind::Other,
            };
            (path, kind)
        };
        if path == "/" {
            ctx.warn(layer, format!("{raw_path:?} hides every file of the layers below, as the runtimes read it"));
        }
        let link = match kind {
            EntryKind::Symlink => entry.link_name().ok().flatten().map(|p| p.to_string_lossy().into_owned()),
            EntryKind::Hardlink => {
                let target = entry.link_name().ok().flatten().map(|p| p.to_string_lossy().into_owned());
                match target.as_deref().map(clean) {
                    Some(Clean::Path(p)) => Some(p),
                    _ => {
                        ctx.warn(layer, format!("hard link {path} to {target:?} points outside the image: left out"));
                        return Ok(());
                    }
                }
            }
            _ => None,
        };
        let fe = Entry {
            path,
            kind,
            size: if kind == EntryKind::File { size } else { 0 },
            mode,
            owner,
            link,
            layer: None,
            ordinal,
            content: None,
        };
        f(fe, entry)
    });
    let stream = match walked {
        Ok(stream) => stream,
        Err(TarStop::Callback(e)) => return Err(mismatch().unwrap_or(e)),
        Err(TarStop::Io(e)) => return Err(mismatch().unwrap_or_else(|| err("truncated or corrupt tar", e))),
        Err(TarStop::Headers { ordinal }) => {
            return Err(mismatch().unwrap_or_else(|| {
                err(
                    &format!(
                        "the tar headers of entry {ordinal} (GNU long name or link, PAX header, sparse map) are over the limit of {} bytes",
                        limits.max_header_bytes
                    ),
                    std::io::Error::other("tar header over the limit"),
                )
            }))
        }
    };
    let finished = stream.finish_box();
    if let Some(e) = mismatch() {
        return Err(e);
    }
    finished.map_err(|e| err("cannot read to the end", e))
}

/// A layer stream that can be read to its end, digests included.
pub(crate) trait StreamFinish: Read {
    fn finish_box(self: Box<Self>) -> std::io::Result<()>;
}

impl StreamFinish for Stream<'_> {
    fn finish_box(self: Box<Self>) -> std::io::Result<()> {
        (*self).finish()
    }
}

impl StreamFinish for Verified<Stream<'_>> {
    fn finish_box(mut self: Box<Self>) -> std::io::Result<()> {
        std::io::copy(&mut *self, &mut std::io::sink())?;
        self.into_inner().finish()
    }
}

/// Lists the entries of one layer blob (compressed or not), whiteouts included. For tests,
/// fuzzing and diagnostics; bounded by `limits` like every layer read.
pub fn list_entries(blob: &[u8], limits: &Limits) -> Result<Vec<Entry>, SourceError> {
    let layer = Layer {
        digest: "sha256:-".into(),
        media_type: None,
        size: Some(blob.len() as u64),
        member: String::new(),
        expect: None,
    };
    let mut out = Vec::new();
    let mut ctx = LayerRead { source_name: "bytes", limits, budget: None, warnings: None };
    for_each_entry(Box::new(blob), &layer, &mut ctx, |e, _| {
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
                ("/a/b".to_string(), EntryKind::Whiteout),
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

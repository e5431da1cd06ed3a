//! Random access to the files of an image: an OCI layout directory, or a tar archive indexed
//! once (member name → offset, size) and read in place without extraction. Only regular
//! files are opened (a symlink, FIFO or device in a layout is refused, never followed or
//! waited on), and a blob read through [`Verified`] is checked against its digest and size as
//! its bytes stream through.

use crate::fsutil::FileKind;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::Digest as _;

use super::layer::{guarded_entries, TarStop};
use super::SourceError;
use crate::fstree::{clean, resolve_link};

/// Opens `path` for reading only if it is a regular file: checked before opening (a FIFO is
/// never opened, so never waited on) and again on the open file. `follow` tells whether the
/// last component may be a symbolic link (a path the user typed) or not (a blob in a layout).
pub(crate) fn open_regular(path: &Path, follow: bool) -> Result<File, SourceError> {
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    if !follow {
        let meta = std::fs::symlink_metadata(path).map_err(io)?;
        if meta.file_type().is_symlink() {
            return Err(SourceError::NotRegular { path: path.to_path_buf(), kind: FileKind::Symlink });
        }
    }
    crate::fsutil::open_regular(path).map_err(|e| match e {
        crate::fsutil::FsError::NotRegular { kind, .. } => SourceError::NotRegular { path: path.to_path_buf(), kind },
        crate::fsutil::FsError::Open { source, .. } => io(source),
        other => io(std::io::Error::other(other)),
    })
}

/// The digest a blob must have: `algorithm:hex` as the OCI image spec writes it (sha256 or
/// sha512, lowercase hex of the full length), and its size when a descriptor gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expect {
    /// `sha256:...`.
    pub(crate) digest: String,
    /// Bytes, from the descriptor.
    pub(crate) size: Option<u64>,
    /// The digest is of the uncompressed tar (a docker `diff_id`), not of the stored blob.
    pub(crate) uncompressed: bool,
}

/// Checks a digest string: `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
pub(crate) fn check_digest(digest: &str) -> Result<(&str, &str), String> {
    let Some((alg, hex)) = digest.split_once(':') else {
        return Err(format!("invalid digest {digest:?}: expected algorithm:hex"));
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(format!("unsupported digest algorithm in {digest:?} (sha256 and sha512 are)")),
    };
    if hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit()) && hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("digest {digest:?} must be lowercase hex (OCI image spec)"));
    }
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("invalid digest {digest:?}: {alg} needs {len} lowercase hex digits"));
    }
    Ok((alg, hex))
}

impl Expect {
    /// A stored blob's digest and size (checked for form).
    pub(crate) fn blob(digest: &str, size: Option<u64>, source_name: &str) -> Result<Self, SourceError> {
        check_digest(digest).map_err(|reason| SourceError::Layout { source_name: source_name.to_string(), reason })?;
        Ok(Self { digest: digest.to_string(), size, uncompressed: false })
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

/// The outcome of a verified read: the reason it failed, if it did.
#[derive(Debug, Default)]
pub(crate) struct VerifyState(RefCell<Option<String>>);

impl VerifyState {
    /// Why the blob did not verify (wrong digest, size), if it did not.
    pub(crate) fn failure(&self) -> Option<String> {
        self.0.borrow().clone()
    }
}

/// Hashes what is read through it and, at the end of the stream, fails unless the digest and
/// the size are the expected ones; fails as soon as more bytes than the size come.
pub(crate) struct Verified<R> {
    inner: R,
    hasher: Option<Hasher>,
    expect: Expect,
    count: u64,
    state: Rc<VerifyState>,
}

impl<R: Read> Verified<R> {
    /// Wraps `inner`; the digest must have passed [`check_digest`] (else the read fails).
    pub(crate) fn new(inner: R, expect: Expect) -> Self {
        let hasher = if expect.digest.starts_with("sha512:") {
            Hasher::Sha512(sha2::Sha512::new())
        } else {
            Hasher::Sha256(sha2::Sha256::new())
        };
        Self { inner, hasher: Some(hasher), expect, count: 0, state: Rc::default() }
    }

    /// The outcome, readable after the reader is gone.
    pub(crate) fn state(&self) -> Rc<VerifyState> {
        self.state.clone()
    }

    /// The wrapped reader.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn fail(&self, reason: String) -> std::io::Error {
        *self.state.0.borrow_mut() = Some(reason.clone());
        std::io::Error::new(std::io::ErrorKind::InvalidData, reason)
    }
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(reason) = self.state.failure() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, reason));
        }
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(size) = self.expect.size {
            if self.count > size {
                return Err(self.fail(format!("more than the {size} bytes its descriptor gives")));
            }
        }
        match &mut self.hasher {
            Some(Hasher::Sha256(h)) => h.update(&buf[..n]),
            Some(Hasher::Sha512(h)) => h.update(&buf[..n]),
            None => {}
        }
        if n == 0 && !buf.is_empty() {
            if let Some(hasher) = self.hasher.take() {
                if let Some(size) = self.expect.size {
                    if self.count < size {
                        return Err(
                            self.fail(format!("{} bytes, short of the {size} bytes its descriptor gives", self.count))
                        );
                    }
                }
                let got = match hasher {
                    Hasher::Sha256(h) => format!("sha256:{:x}", h.finalize()),
                    Hasher::Sha512(h) => format!("sha512:{:x}", h.finalize()),
                };
                if got != self.expect.digest {
                    return Err(self.fail(format!("the content hashes to {got}: tampered or corrupt")));
                }
            }
        }
        Ok(n)
    }
}

/// A member of a tar archive, read in place with positional reads (no shared file offset, so
/// several members can be read at once).
struct Member<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Member<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the archive is truncated"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where blobs and layout files are read from.
#[derive(Debug)]
pub(crate) enum BlobStore {
    /// A directory (OCI layout, or a registry download cache laid out like one).
    Dir(PathBuf),
    /// A tar archive (kept open) with the offsets of its regular members.
    Tar { path: PathBuf, file: File, index: HashMap<String, (u64, u64)> },
}

impl BlobStore {
    /// Indexes a tar archive (a regular file; its tar metadata bounded by `max_header_bytes`).
    pub(crate) fn tar(path: &Path, max_header_bytes: u64) -> Result<Self, SourceError> {
        let io = |source| SourceError::Io { path: path.to_path_buf(), source };
        let file = open_regular(path, true)?;
        let reader = BufReader::new(Member { file: &file, pos: 0, end: u64::MAX });
        let mut index = HashMap::new();
        let mut links = Vec::new();
        let walked = guarded_entries(reader, max_header_bytes, |g| {
            let entry = g.entry;
            let name = entry.path()?.to_string_lossy().into_owned();
            let Some(name) = clean(&name).into_path() else {
                return Ok(());
            };
            let name = name.trim_start_matches('/').to_string();
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    index.insert(name, (entry.raw_file_position(), entry.size()));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    // docker save links identical layers: resolved within the archive only
                    // (never to a file outside it), and the content is digest-checked.
                    if let Ok(Some(target)) = entry.link_name() {
                        let target = target.to_string_lossy().into_owned();
                        // A hard link names a path from the archive's root, a symlink from
                        // its own directory.
                        let from = if entry.header().entry_type() == tar::EntryType::Link { "" } else { &name };
                        if let Some(t) = resolve_link(from, &target).filter(|t| !t.is_empty()) {
                            links.push((name, t));
                        }
                    }
                }
                _ => {}
            }
            Ok::<(), std::io::Error>(())
        });
        match walked {
            Ok(reader) => drop(reader),
            Err(TarStop::Io(e) | TarStop::Callback(e)) => return Err(io(e)),
            Err(TarStop::Headers { ordinal }) => {
                return Err(SourceError::Layout {
                    source_name: path.display().to_string(),
                    reason: format!(
                        "the tar headers of member {ordinal} (GNU long name or link, PAX header) are over the limit of {max_header_bytes} bytes"
                    ),
                })
            }
        }
        for (name, target) in links {
            if let Some(v) = index.get(&target).copied() {
                index.insert(name, v);
            }
        }
        Ok(Self::Tar { path: path.to_path_buf(), file, index })
    }

    /// Whether something (of any kind) is at `name`.
    pub(crate) fn exists(&self, name: &str) -> bool {
        match self {
            Self::Dir(root) => std::fs::symlink_metadata(root.join(name)).is_ok(),
            Self::Tar { index, .. } => index.contains_key(name),
        }
    }

    /// Whether the store has a member at `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Self::Dir(root) => std::fs::symlink_metadata(root.join(name)).is_ok_and(|m| m.is_file()),
            Self::Tar { index, .. } => index.contains_key(name),
        }
    }

    /// Opens a member by its path in the layout: a regular file, reached through no symbolic
    /// link below the layout's root.
    pub(crate) fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, SourceError> {
        match self {
            Self::Dir(root) => {
                if clean(name).into_path().is_none() || name.starts_with('/') {
                    return Err(SourceError::Layout {
                        source_name: root.display().to_string(),
                        reason: format!("path {name:?} escapes the layout"),
                    });
                }
                // Directories on the way (blobs/, blobs/sha256/) must not be symlinks either.
                let mut dir = root.clone();
                let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
                for part in parts.iter().take(parts.len().saturating_sub(1)) {
                    dir.push(part);
                    let meta = std::fs::symlink_metadata(&dir)
                        .map_err(|source| SourceError::Io { path: dir.clone(), source })?;
                    if !meta.is_dir() {
                        return Err(SourceError::NotRegular { path: dir, kind: FileKind::of(meta.file_type()) });
                    }
                }
                let file = open_regular(&root.join(name), false)?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, file)))
            }
            Self::Tar { path, file, index } => {
                let Some(&(offset, size)) = index.get(name.trim_start_matches('/')) else {
                    return Err(SourceError::Layout {
                        source_name: path.display().to_string(),
                        reason: format!("no member {name} in the archive"),
                    });
                };
                let end = offset.saturating_add(size);
                Ok(Box::new(BufReader::with_capacity(256 << 10, Member { file, pos: offset, end })))
            }
        }
    }

    /// The stored size of a member, when the store knows it without reading it.
    pub(crate) fn size(&self, name: &str) -> Option<u64> {
        match self {
            Self::Dir(root) => clean(name)
                .into_path()
                .and_then(|_| std::fs::symlink_metadata(root.join(name)).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            Self::Tar { index, .. } => index.get(name.trim_start_matches('/')).map(|&(_, size)| size),
        }
    }

    /// Reads a JSON document of the image (index, manifest, config) whole: at most `max`
    /// bytes, verified against `expect` when a descriptor pins it.
    pub(crate) fn read_json(
        &self,
        name: &str,
        what: &str,
        expect: Option<&Expect>,
        max: u64,
        source_name: &str,
    ) -> Result<Vec<u8>, SourceError> {
        let over = || SourceError::Layout {
            source_name: source_name.to_string(),
            reason: match expect {
                Some(e) => format!("the {what} {} is over the limit of {max} bytes", e.digest),
                None => format!("{name} is over the limit of {max} bytes"),
            },
        };
        if expect.and_then(|e| e.size).is_some_and(|s| s > max) || self.size(name).is_some_and(|s| s > max) {
            return Err(over());
        }
        let raw = self.open(name)?;
        let mut buf = Vec::new();
        let io = |source| SourceError::Io { path: name.into(), source };
        match expect {
            Some(e) => {
                let mut v = Verified::new(raw, e.clone());
                let state = v.state();
                let res = (&mut v).take(max.saturating_add(1)).read_to_end(&mut buf);
                if let Some(reason) = state.failure() {
                    return Err(SourceError::Digest {
                        source_name: source_name.to_string(),
                        what: what.to_string(),
                        digest: e.digest.clone(),
                        reason,
                    });
                }
                res.map_err(io)?;
            }
            None => {
                raw.take(max.saturating_add(1)).read_to_end(&mut buf).map_err(io)?;
            }
        }
        if buf.len() as u64 > max {
            return Err(over());
        }
        Ok(buf)
    }
}

/// `blobs/<alg>/<hex>` for a digest, refusing anything but a well-formed lowercase digest.
pub(crate) fn blob_path(digest: &str, source_name: &str) -> Result<String, SourceError> {
    let (alg, hex) =
        check_digest(digest).map_err(|reason| SourceError::Layout { source_name: source_name.to_string(), reason })?;
    Ok(format!("blobs/{alg}/{hex}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `docker save` links members that hold the same layer: symlinks resolve from their own
    /// directory, hard links from the archive's root, and a link that climbs out names nothing.
    #[test]
    fn archive_member_links_resolve_inside_the_archive() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "a/layer.tar", &b"data"[..]).unwrap();
        for (name, kind, target) in [
            ("b/layer.tar", tar::EntryType::Symlink, "../a/layer.tar"),
            ("c/layer.tar", tar::EntryType::Link, "a/layer.tar"),
            ("d/layer.tar", tar::EntryType::Symlink, "/a/layer.tar"),
            ("e/layer.tar", tar::EntryType::Symlink, "../../a/layer.tar"),
            ("f/layer.tar", tar::EntryType::Symlink, "layer.tar"),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o777);
            h.set_entry_type(kind);
            b.append_link(&mut h, name, target).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("image.tar");
        std::fs::write(&file, b.into_inner().unwrap()).unwrap();
        let store = BlobStore::tar(&file, 1 << 20).unwrap();
        let got: Vec<bool> =
            ["a", "b", "c", "d", "e", "f"].iter().map(|m| store.has(&format!("{m}/layer.tar"))).collect();
        assert_eq!(got, [true, true, true, true, false, false]);
        let mut data = String::new();
        store.open("b/layer.tar").unwrap().read_to_string(&mut data).unwrap();
        assert_eq!(data, "data");
    }
}

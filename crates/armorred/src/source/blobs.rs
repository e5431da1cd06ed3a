//! Random access to the files of an image: an OCI layout directory, or a tar archive indexed
//! once (member name → offset, size) and read in place without extraction.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::layer::normalize;
use super::SourceError;

/// Where blobs and layout files are read from.
#[derive(Debug)]
pub(crate) enum BlobStore {
    /// A directory (OCI layout, or a registry download cache laid out like one).
    Dir(PathBuf),
    /// A tar archive with the offsets of its regular members.
    Tar { path: PathBuf, index: HashMap<String, (u64, u64)> },
}

impl BlobStore {
    /// Indexes a tar archive.
    pub(crate) fn tar(path: &Path) -> Result<Self, SourceError> {
        let io = |source| SourceError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut index = HashMap::new();
        let mut links = Vec::new();
        for entry in archive.entries().map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
            let Some(name) = normalize(&name) else {
                continue;
            };
            let name = name.trim_start_matches('/').to_string();
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    index.insert(name, (entry.raw_file_position(), entry.size()));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    // docker save links identical layers: resolve within the archive.
                    if let Ok(Some(target)) = entry.link_name() {
                        let target = target.to_string_lossy().into_owned();
                        let base = Path::new(&name).parent().unwrap_or(Path::new(""));
                        let joined = if entry.header().entry_type() == tar::EntryType::Link {
                            target
                        } else {
                            base.join(target).to_string_lossy().into_owned()
                        };
                        if let Some(t) = normalize(&joined) {
                            links.push((name, t.trim_start_matches('/').to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
        for (name, target) in links {
            if let Some(v) = index.get(&target).copied() {
                index.insert(name, v);
            }
        }
        Ok(Self::Tar { path: path.to_path_buf(), index })
    }

    /// Whether the store has a member at `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Self::Dir(root) => root.join(name).is_file(),
            Self::Tar { index, .. } => index.contains_key(name),
        }
    }

    /// Opens a member by its path in the layout.
    pub(crate) fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, SourceError> {
        match self {
            Self::Dir(root) => {
                if normalize(name).is_none() {
                    return Err(SourceError::Layout {
                        source_name: root.display().to_string(),
                        reason: format!("path {name:?} escapes the layout"),
                    });
                }
                let path = root.join(name);
                let file = File::open(&path).map_err(|source| SourceError::Io { path, source })?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, file)))
            }
            Self::Tar { path, index } => {
                let Some(&(offset, size)) = index.get(name.trim_start_matches('/')) else {
                    return Err(SourceError::Layout {
                        source_name: path.display().to_string(),
                        reason: format!("no member {name} in the archive"),
                    });
                };
                let io = |source| SourceError::Io { path: path.clone(), source };
                let mut file = File::open(path).map_err(io)?;
                file.seek(SeekFrom::Start(offset)).map_err(io)?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, file.take(size))))
            }
        }
    }

    /// The stored size of a member, when the store knows it without reading it.
    pub(crate) fn size(&self, name: &str) -> Option<u64> {
        match self {
            Self::Dir(root) => normalize(name).and_then(|_| std::fs::metadata(root.join(name)).ok()).map(|m| m.len()),
            Self::Tar { index, .. } => index.get(name.trim_start_matches('/')).map(|&(_, size)| size),
        }
    }

    /// Reads a small member (JSON) fully, at most 16 MiB.
    pub(crate) fn read_small(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(16 << 20)
            .read_to_end(&mut buf)
            .map_err(|source| SourceError::Io { path: name.into(), source })?;
        Ok(buf)
    }
}

/// `blobs/<alg>/<hex>` for a digest, refusing anything but `alg:hex`.
pub(crate) fn blob_path(digest: &str, source_name: &str) -> Result<String, SourceError> {
    let bad =
        || SourceError::Layout { source_name: source_name.to_string(), reason: format!("invalid digest {digest:?}") };
    let (alg, hex) = digest.split_once(':').ok_or_else(bad)?;
    let ok = !alg.is_empty()
        && alg.bytes().all(|b| b.is_ascii_alphanumeric())
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(bad());
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

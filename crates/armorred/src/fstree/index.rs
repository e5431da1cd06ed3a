//! The metadata view of a squashed image: one [`Entry`] per visible path, with the layer it
//! comes from. An image reader (`source`) applies the entries of each layer in order (OCI
//! whiteouts hide what lies below, hard links keep their target's content); a built
//! [`super::Tree`] gives the same view through [`super::Tree::index`].

use std::collections::BTreeMap;

/// The kind of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (target in [`Entry::link`]).
    Symlink,
    /// A hard link to another path (in [`Entry::link`]); its content is the target's as
    /// the link was made, and stays readable when the target is whited out later.
    Hardlink,
    /// A device, fifo or socket.
    Other,
    /// `.wh.NAME` in a layer: hides `NAME` of the layers below. Never in a squashed tree.
    Whiteout,
    /// `.wh..wh..opq` in a layer: hides the directory's content below. Never in a tree.
    Opaque,
}

/// One path of the squashed tree, metadata only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Absolute path in the image (`/usr/bin/x`); for whiteouts, the path they hide.
    pub path: String,
    /// The kind of entry.
    pub kind: EntryKind,
    /// Size in bytes (regular files).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid and gid.
    #[serde(skip)]
    pub owner: (u32, u32),
    /// Link target (symlinks and hard links).
    pub link: Option<String>,
    /// Index of the layer the entry comes from (`None` for directories on disk).
    pub layer: Option<usize>,
    /// Position of the entry in its layer's tar (to tell apart repeated paths).
    #[serde(skip)]
    pub ordinal: u64,
    /// For a hard link: the (layer, ordinal) of the file whose content it shares.
    #[serde(skip)]
    pub(crate) content: Option<(usize, u64)>,
}

impl Entry {
    /// Whether any execute bit is set.
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }

    /// The last path component.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

/// At most this many warnings are kept on a tree (a hostile layer could make millions).
pub(crate) const MAX_WARNINGS: usize = 100;

/// The bounds an [`Index`] is built under (the image reader's come from its `Limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Entries in the index.
    pub max_entries: u64,
    /// Bytes of one file that readers look at (a larger file is a warning).
    pub max_file_bytes: u64,
}

impl Bounds {
    /// No bound.
    pub const NONE: Bounds = Bounds { max_entries: u64::MAX, max_file_bytes: u64::MAX };
}

/// Errors of building an [`Index`].
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The image has more visible paths than [`Bounds::max_entries`].
    #[error("more than {limit} files in the image (limit)")]
    TooManyEntries {
        /// The bound.
        limit: u64,
    },
}

/// The squashed view of an image: every visible path once.
#[derive(Debug, Default)]
pub struct Index {
    map: BTreeMap<String, Entry>,
    files_per_layer: Vec<u64>,
    warnings: Vec<String>,
}

impl Index {
    /// The entry at `path`, if visible.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.map.get(path)
    }

    /// Every visible entry, in path order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.map.values()
    }

    /// Number of visible entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// What the layers hold that changes what is visible or could not be read as is: a
    /// whiteout of `/`, a path climbing above the root (left out), a `..` path cleaned, a
    /// sparse format not read. Each starts with `layer <digest>:`; at most 100, then a note.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(crate) fn add_warnings(&mut self, warnings: Vec<String>) {
        self.warnings.extend(warnings);
    }

    /// Whether some visible regular file comes from layer `index`.
    pub(crate) fn has_files_from(&self, index: usize) -> bool {
        self.files_per_layer.get(index).copied().unwrap_or(0) > 0
    }

    /// Removes `path` and everything under it that comes from a layer below `layer`.
    fn hide(&mut self, path: &str, layer: usize, keep_self: bool) {
        if !keep_self {
            if let Some(e) = self.map.get(path) {
                if e.layer.is_some_and(|l| l < layer) {
                    self.remove(path);
                }
            }
        }
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        let doomed: Vec<String> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, e)| e.layer.is_some_and(|l| l < layer))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.remove(&k);
        }
    }

    fn remove(&mut self, path: &str) {
        if let Some(old) = self.map.remove(path) {
            self.uncount(&old);
        }
    }

    /// The layer that holds an entry's content (a file's own, a hard link's target's).
    fn content_layer(e: &Entry) -> Option<usize> {
        match e.kind {
            EntryKind::File => e.layer,
            EntryKind::Hardlink => e.content.map(|(l, _)| l),
            _ => None,
        }
    }

    fn uncount(&mut self, e: &Entry) {
        if let Some(l) = Self::content_layer(e) {
            if let Some(n) = self.files_per_layer.get_mut(l) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Applies one entry of layer `layer` (entries come in layer order).
    pub(crate) fn apply(&mut self, mut entry: Entry, layer: usize, bounds: Bounds) -> Result<(), IndexError> {
        entry.layer = Some(layer);
        match entry.kind {
            EntryKind::Whiteout => self.hide(&entry.path, layer, false),
            EntryKind::Opaque => self.hide(&entry.path, layer, true),
            kind => {
                if kind == EntryKind::Hardlink {
                    // The link shares its target's content as it is now.
                    let target = entry.link.as_deref().and_then(|t| self.map.get(t));
                    if let Some(t) = target {
                        let content = match t.kind {
                            EntryKind::File => t.layer.map(|l| (l, t.ordinal)),
                            EntryKind::Hardlink => t.content,
                            _ => None,
                        };
                        if content.is_some() {
                            entry.content = content;
                            entry.size = t.size;
                        }
                    }
                }
                if kind != EntryKind::Dir {
                    // A non-directory replaces a lower directory and its content.
                    self.hide(&entry.path, layer, true);
                }
                if self.map.len() as u64 >= bounds.max_entries && !self.map.contains_key(&entry.path) {
                    return Err(IndexError::TooManyEntries { limit: bounds.max_entries });
                }
                if kind == EntryKind::File && entry.size > bounds.max_file_bytes && self.warnings.len() < MAX_WARNINGS {
                    self.warnings.push(format!(
                        "{} is {} bytes: only its first {} bytes (the file limit) are read by the catalogers",
                        entry.path, entry.size, bounds.max_file_bytes
                    ));
                }
                self.insert_counted(entry);
            }
        }
        Ok(())
    }

    /// Inserts an entry that hides nothing, counting the layer its content comes from.
    pub(crate) fn insert_counted(&mut self, entry: Entry) {
        if let Some(l) = Self::content_layer(&entry) {
            if self.files_per_layer.len() <= l {
                self.files_per_layer.resize(l + 1, 0);
            }
            self.files_per_layer[l] += 1;
        }
        if let Some(old) = self.map.insert(entry.path.clone(), entry) {
            self.uncount(&old);
        }
    }

    /// Inserts an entry of a directory source.
    pub(crate) fn insert_plain(&mut self, entry: Entry) {
        self.map.insert(entry.path.clone(), entry);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn e(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: 1,
            mode: 0o644,
            owner: (0, 0),
            link: None,
            layer: None,
            ordinal: 0,
            content: None,
        }
    }

    fn paths(t: &Index) -> Vec<&str> {
        t.entries().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn whiteouts_hide_lower_layers_only() {
        let l = Bounds::NONE;
        let mut t = Index::default();
        for p in ["/a", "/a/x", "/a/y", "/b", "/c"] {
            let kind = if p == "/a" { EntryKind::Dir } else { EntryKind::File };
            t.apply(e(p, kind), 0, l).unwrap();
        }
        // Layer 1: new /a/z first, then an opaque marker for /a: z survives, x and y go.
        t.apply(e("/a/z", EntryKind::File), 1, l).unwrap();
        t.apply(e("/a", EntryKind::Opaque), 1, l).unwrap();
        t.apply(e("/b", EntryKind::Whiteout), 1, l).unwrap();
        assert_eq!(paths(&t), ["/a", "/a/z", "/c"]);
        // Layer 2: a file replaces directory /a.
        t.apply(e("/a", EntryKind::File), 2, l).unwrap();
        assert_eq!(paths(&t), ["/a", "/c"]);
        assert!(!t.has_files_from(0) || t.get("/c").is_some());
        assert!(!t.has_files_from(1));
    }

    #[test]
    fn entry_limit_is_an_error() {
        let l = Bounds { max_entries: 2, ..Bounds::NONE };
        let mut t = Index::default();
        t.apply(e("/a", EntryKind::File), 0, l).unwrap();
        t.apply(e("/b", EntryKind::File), 0, l).unwrap();
        assert!(t.apply(e("/c", EntryKind::File), 0, l).is_err());
    }
}

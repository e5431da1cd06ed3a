//! A `dir:` source read into the one file-tree model: every path under the root once, as an
//! [`Index`] without layers.

use std::path::Path;

use super::{Limits, SourceError};
use crate::fstree::{Entry, EntryKind, Index};

/// Builds the tree of a directory on disk (symlinks not followed; `/proc`, `/sys` and `/dev`
/// skipped when the root is `/`).
pub(crate) fn from_dir(root: &Path, limits: &Limits) -> Result<Index, SourceError> {
    use std::os::unix::fs::MetadataExt;
    let mut tree = Index::default();
    let is_root = root == Path::new("/");
    let walker =
        walkdir::WalkDir::new(root).follow_links(false).same_file_system(false).into_iter().filter_entry(|e| {
            !(is_root && e.depth() == 1 && matches!(e.file_name().to_str(), Some("proc" | "sys" | "dev")))
        });
    for item in walker {
        // Unreadable directories on a live system are skipped, like syft does.
        let Ok(item) = item else { continue };
        if item.depth() == 0 {
            continue;
        }
        let Ok(rel) = item.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        let Ok(meta) = item.metadata() else { continue };
        let ft = meta.file_type();
        let kind = if ft.is_file() {
            EntryKind::File
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        };
        let link = if kind == EntryKind::Symlink {
            std::fs::read_link(item.path()).ok().and_then(|p| p.to_str().map(str::to_string))
        } else {
            None
        };
        if tree.len() as u64 >= limits.max_entries {
            return Err(SourceError::Visit(format!(
                "more than {} files under {} (limit)",
                limits.max_entries,
                root.display()
            )));
        }
        tree.insert_plain(Entry {
            path: format!("/{rel}"),
            kind,
            size: if kind == EntryKind::File { meta.len() } else { 0 },
            mode: meta.mode() & 0o7777,
            owner: (meta.uid(), meta.gid()),
            link,
            layer: None,
            ordinal: 0,
            content: None,
        });
    }
    Ok(tree)
}

//! The content-bearing tree: the root file system the builder assembles (`build::debian`), the
//! layer writer serializes in path order (`oci`) and the checksec gate materializes.
//!
//! Every insertion is checked: paths are relative and normalized (no `..`), no entry lives below
//! a symlink, and relative symlink targets stay inside the root.

use std::collections::BTreeMap;
use std::path::Path;

use super::index::{Entry, EntryKind, Index};
use super::{abs, glob_match, normalize, resolve_link};

/// One file-system object. Owners default to root (0:0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
        /// Owner uid and gid.
        owner: (u32, u32),
    },
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Owner uid and gid.
        owner: (u32, u32),
        /// Content.
        data: Vec<u8>,
    },
    /// A symbolic link.
    Symlink {
        /// Target as written.
        target: String,
    },
}

/// Mode of a symlink as the layer writer stores it (`lrwxrwxrwx`).
pub const SYMLINK_MODE: u32 = 0o777;

impl Node {
    /// The kind of entry this node is.
    pub fn kind(&self) -> EntryKind {
        match self {
            Node::Dir { .. } => EntryKind::Dir,
            Node::File { .. } => EntryKind::File,
            Node::Symlink { .. } => EntryKind::Symlink,
        }
    }

    /// Permission bits ([`SYMLINK_MODE`] for a symlink).
    pub fn mode(&self) -> u32 {
        match self {
            Node::Dir { mode, .. } | Node::File { mode, .. } => *mode,
            Node::Symlink { .. } => SYMLINK_MODE,
        }
    }

    /// Owner uid and gid (root for a symlink).
    pub fn owner(&self) -> (u32, u32) {
        match self {
            Node::Dir { owner, .. } | Node::File { owner, .. } => *owner,
            Node::Symlink { .. } => (0, 0),
        }
    }
}

/// Path-keyed file system (keys have no leading `/`).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry in path order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The entry at `path` (normalized key).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.entries.get(path)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn check_parents(&mut self, path: &str) -> Result<(), String> {
        let mut prefix = String::new();
        let comps: Vec<&str> = path.split('/').collect();
        for comp in &comps[..comps.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            match self.entries.get(&prefix) {
                Some(Node::Dir { .. }) => {}
                Some(Node::Symlink { .. }) => {
                    return Err(format!("{path:?} would be written through the symlink {prefix:?}"))
                }
                Some(Node::File { .. }) => return Err(format!("{path:?} is below the regular file {prefix:?}")),
                None => {
                    self.entries.insert(prefix.clone(), Node::Dir { mode: 0o755, owner: (0, 0) });
                }
            }
        }
        Ok(())
    }

    /// Adds or updates a directory.
    pub fn add_dir(&mut self, path: &str, mode: u32, owner: (u32, u32)) -> Result<(), String> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Ok(());
        }
        self.check_parents(&path)?;
        match self.entries.get(&path) {
            Some(Node::File { .. }) => Err(format!("{path:?} is a file, not a directory")),
            Some(Node::Symlink { .. }) => Err(format!("{path:?} is a symlink, not a directory")),
            _ => {
                self.entries.insert(path, Node::Dir { mode, owner });
                Ok(())
            }
        }
    }

    /// Adds or replaces a regular file.
    pub fn add_file(&mut self, path: &str, mode: u32, owner: (u32, u32), data: Vec<u8>) -> Result<(), String> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err("a file cannot be the root".into());
        }
        self.check_parents(&path)?;
        if let Some(Node::Dir { .. }) = self.entries.get(&path) {
            return Err(format!("{path:?} is a directory, not a file"));
        }
        self.entries.insert(path, Node::File { mode, owner, data });
        Ok(())
    }

    /// Adds or replaces a symlink; a relative target must not climb above the root.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), String> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err("a symlink cannot be the root".into());
        }
        if target.is_empty() || target.contains('\0') {
            return Err(format!("symlink {path:?} has an empty or NUL target"));
        }
        if resolve_link(&path, target).is_none() {
            return Err(format!("symlink {path:?} -> {target:?} escapes the root"));
        }
        self.check_parents(&path)?;
        if let Some(Node::Dir { .. }) = self.entries.get(&path) {
            let child = format!("{path}/");
            if self.entries.range(child.clone()..).next().is_some_and(|(k, _)| k.starts_with(&child)) {
                return Err(format!("symlink {path:?} would replace a non-empty directory"));
            }
        }
        self.entries.insert(path, Node::Symlink { target: target.to_string() });
        Ok(())
    }

    /// Copies the regular file at `from` to `to` (a hard link becomes a copy).
    pub fn copy_file(&mut self, from: &str, to: &str) -> Result<(), String> {
        let from = normalize(from)?;
        match self.entries.get(&from) {
            Some(Node::File { mode, owner, data }) => {
                let (mode, owner, data) = (*mode, *owner, data.clone());
                self.add_file(to, mode, owner, data)
            }
            _ => Err(format!("{from:?} is not a regular file in the image")),
        }
    }

    /// Removes entries whose `/`-rooted path matches any of `exclude` unless it matches `keep`;
    /// returns how many were removed. Directories left empty by it are kept (harmless, small).
    pub fn remove_matching(&mut self, exclude: &[String], keep: &[String]) -> usize {
        let before = self.entries.len();
        self.entries.retain(|k, node| {
            let abs = format!("/{k}");
            if matches!(node, Node::Dir { .. }) {
                // Remove directories only when their whole subtree is excluded.
                let probe = format!("{abs}/x");
                let gone = exclude.iter().any(|g| glob_match(g, &abs) && glob_match(g, &probe));
                return !gone;
            }
            !exclude.iter().any(|g| glob_match(g, &abs)) || keep.iter().any(|g| glob_match(g, &abs))
        });
        // Directories of kept entries come back (mode 0755, root).
        let keys: Vec<String> = self.entries.keys().cloned().collect();
        for k in keys {
            let _ = self.check_parents(&k);
        }
        before.saturating_sub(self.entries.len())
    }

    /// Writes the tree under `dir` (which must be empty or absent), for scanners.
    pub fn materialize(&self, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir)?;
        for (k, node) in &self.entries {
            let p = dir.join(k);
            match node {
                Node::Dir { .. } => std::fs::create_dir_all(&p)?,
                Node::File { mode, data, .. } => {
                    if let Some(parent) = p.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&p, data)?;
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode & 0o777 | 0o600))?;
                }
                Node::Symlink { target } => std::os::unix::fs::symlink(target, &p)?,
            }
        }
        Ok(())
    }

    /// The metadata view of the tree: the [`Index`] an image reader makes of the one layer the
    /// layer writer makes of it (layer 0, ordinals in path order), so that code that needs only
    /// metadata (the catalogers' `wants`, the checksec filters) takes a built tree or a read image.
    pub fn index(&self) -> Index {
        let mut index = Index::default();
        for (ordinal, (k, node)) in self.entries.iter().enumerate() {
            let (size, link) = match node {
                Node::File { data, .. } => (data.len() as u64, None),
                Node::Symlink { target } => (0, Some(target.clone())),
                Node::Dir { .. } => (0, None),
            };
            // One layer, every path once: nothing hides anything.
            index.insert_counted(Entry {
                path: abs(k),
                kind: node.kind(),
                size,
                mode: node.mode(),
                owner: node.owner(),
                link,
                layer: Some(0),
                ordinal: ordinal as u64,
                content: None,
            });
        }
        index
    }

    /// Total bytes of regular files.
    pub fn content_size(&self) -> u64 {
        self.entries
            .values()
            .map(|n| match n {
                Node::File { data, .. } => data.len() as u64,
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_insertions() {
        let mut t = Tree::new();
        t.add_symlink("lib", "usr/lib").expect("link");
        let err = t.add_file("lib/x.so", 0o644, (0, 0), vec![]).expect_err("must fail");
        assert_eq!(err, "\"lib/x.so\" would be written through the symlink \"lib\"");
        let err = t.add_symlink("etc/evil", "../../../etc/shadow").expect_err("must fail");
        assert_eq!(err, "symlink \"etc/evil\" -> \"../../../etc/shadow\" escapes the root");
        assert!(t.add_file("../x", 0o644, (0, 0), vec![]).expect_err("must fail").contains("`..`"));
        t.add_file("etc/f", 0o644, (0, 0), b"x".to_vec()).expect("file");
        assert!(t.add_dir("etc/f", 0o755, (0, 0)).is_err());
        t.copy_file("etc/f", "etc/g").expect("copy");
        assert!(t.copy_file("etc/nope", "etc/h").is_err());
    }

    #[test]
    fn index_view() {
        let mut t = Tree::new();
        t.add_file("usr/bin/x", 0o755, (0, 0), b"abc".to_vec()).expect("file");
        t.add_symlink("bin", "usr/bin").expect("link");
        let index = t.index();
        type Row<'a> = (&'a str, EntryKind, u64, u32, Option<&'a str>, Option<usize>, u64);
        let got: Vec<Row<'_>> = index
            .entries()
            .map(|e| (e.path.as_str(), e.kind, e.size, e.mode, e.link.as_deref(), e.layer, e.ordinal))
            .collect();
        assert_eq!(
            got,
            [
                ("/bin", EntryKind::Symlink, 0, 0o777, Some("usr/bin"), Some(0), 0),
                ("/usr", EntryKind::Dir, 0, 0o755, None, Some(0), 1),
                ("/usr/bin", EntryKind::Dir, 0, 0o755, None, Some(0), 2),
                ("/usr/bin/x", EntryKind::File, 3, 0o755, None, Some(0), 3),
            ]
        );
        assert!(index.get("/usr/bin/x").is_some_and(Entry::is_executable));
        assert_eq!(t.get("bin").map(Node::kind), Some(EntryKind::Symlink));
    }

    #[test]
    fn globs_and_excludes() {
        assert!(glob_match("/usr/share/doc/**", "/usr/share/doc/a/copyright"));
        assert!(glob_match("/usr/share/doc/*/copyright", "/usr/share/doc/a/copyright"));
        assert!(!glob_match("/usr/share/doc/*/copyright", "/usr/share/doc/a/b/copyright"));
        assert!(glob_match("/usr/share/man/**", "/usr/share/man/x"));
        assert!(!glob_match("/usr/share/man/**", "/usr/share/many"));
        assert!(glob_match("/l/lib{dl,rt}.so.?", "/l/librt.so.1"));
        assert!(!glob_match("/l/lib{dl,rt}.so.?", "/l/libc.so.1"));
        let mut t = Tree::new();
        t.add_file("usr/share/doc/a/copyright", 0o644, (0, 0), vec![]).expect("f");
        t.add_file("usr/share/doc/a/changelog.gz", 0o644, (0, 0), vec![]).expect("f");
        t.add_file("usr/share/man/man8/x.8.gz", 0o644, (0, 0), vec![]).expect("f");
        let removed = t.remove_matching(
            &["/usr/share/doc/**".into(), "/usr/share/man/**".into()],
            &["/usr/share/doc/*/copyright".into()],
        );
        let left: Vec<&str> = t.entries().map(|(k, _)| k).collect();
        assert_eq!(
            left,
            ["usr", "usr/share", "usr/share/doc", "usr/share/doc/a", "usr/share/doc/a/copyright", "usr/share/man"]
        );
        assert_eq!(removed, 3);
    }
}

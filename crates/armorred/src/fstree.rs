//! An in-memory root file system, the one the image writer side shares: the builder assembles
//! it (`build::debian`), the layer writer serializes it in path order (`oci`), the checksec gate
//! scans a materialized copy, and [`glob_match`] is the glob of `image.toml` (`spec`). It lives
//! at the top level so that `oci` and `spec` do not import `build`.
//!
//! Every insertion is checked: paths are relative and normalized (no `..`), no entry lives below
//! a symlink, and relative symlink targets stay inside the root.

use std::collections::BTreeMap;
use std::path::Path;

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

/// Path-keyed file system (keys have no leading `/`).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

/// Normalizes a path from an archive or a definition: strips `./` and leading `/`, collapses
/// `//` and `.`, rejects `..`. Returns `""` for the root.
pub fn normalize(path: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => return Err(format!("path {path:?} contains `..`")),
            c if c.contains('\0') => return Err(format!("path {path:?} contains NUL")),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Resolves `target` of a symlink at `link` lexically; `None` when it climbs above the root.
pub fn resolve_link(link: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = link.split('/').collect();
        p.pop();
        p
    };
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
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

/// Shell-style glob over `/`-separated paths: `**` matches across `/`, `*` and `?` do not,
/// `{a,b}` matches either alternative.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    if let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) {
        if open < close {
            let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
            return pattern[open + 1..close].split(',').any(|alt| glob_match(&format!("{head}{alt}{tail}"), path));
        }
    }
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = &p[2..];
                (0..=s.len()).any(|i| go(rest, &s[i..]))
            }
            Some(b'*') => {
                let rest = &p[1..];
                let mut i = 0;
                loop {
                    if go(rest, &s[i..]) {
                        return true;
                    }
                    if i == s.len() || s[i] == b'/' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(b'?') => !s.is_empty() && s[0] != b'/' && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        for (input, want) in [
            ("./usr/bin/x", Ok("usr/bin/x")),
            ("/etc//passwd", Ok("etc/passwd")),
            ("./", Ok("")),
            ("a/./b/", Ok("a/b")),
            ("../etc/passwd", Err(())),
            ("usr/../../x", Err(())),
        ] {
            assert_eq!(normalize(input).map_err(|_| ()), want.map(str::to_string), "{input}");
        }
    }

    #[test]
    fn links_table() {
        for (link, target, want) in [
            ("usr/share/nginx/modules", "../../lib/nginx/modules", Some("usr/lib/nginx/modules")),
            ("lib64", "usr/lib64", Some("usr/lib64")),
            ("var/log/nginx/access.log", "/dev/stdout", Some("dev/stdout")),
            ("etc/x", "../../etc/shadow", None),
            ("a", "..", None),
        ] {
            assert_eq!(resolve_link(link, target).as_deref(), want, "{link} -> {target}");
        }
    }

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

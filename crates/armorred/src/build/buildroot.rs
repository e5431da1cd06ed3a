//! Locked build roots: the Debian packages a source build runs on (compiler, linker, make,
//! shell, -dev libraries), resolved with the image by the same resolver, pinned by sha256 in
//! `image.lock` (`[build-roots]`), unpacked without maintainer scripts into a directory that the
//! sandbox mounts read-only as `/`.
//!
//! The directory is content-addressed: `<cache>/roots/<key>`, where the key hashes every
//! package's name and `.deb` sha256, so the same lock reuses it and another lock never sees it.
//! It appears only complete (staged, then renamed).

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::debian::{rootfs, LockedPackage};
use super::source::root::{LockedRoot, RootPackage};
use super::BuildError;
use crate::cache::{Cache, Kind};
use crate::fstree::Tree;

/// Format of the directory's layout; part of the key, so a change unpacks again.
const LAYOUT_VERSION: &str = "armorred-build-root-1";

/// The key of a root made of `packages`: sha256 over the layout version and each package's
/// name and `.deb` sha256, in name order.
pub fn key(packages: &[&LockedPackage]) -> String {
    let mut lines: Vec<String> = packages.iter().map(|p| format!("{} {}\n", p.name, p.sha256)).collect();
    lines.sort();
    let mut h = sha2::Sha256::new();
    h.update(LAYOUT_VERSION.as_bytes());
    h.update(b"\n");
    for l in &lines {
        h.update(l.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Where the root of `packages` lives under the cache directory `cache_dir`.
pub fn path(cache_dir: &Path, packages: &[&LockedPackage]) -> PathBuf {
    Cache::new(cache_dir).path(Kind::BuildRoots).join(key(packages))
}

/// The root of `packages`, unpacked from `debs` (name, verified `.deb` path, same order) into
/// `<cache_dir>/roots/<key>` unless it is there already.
pub fn materialize(
    cache_dir: &Path,
    packages: &[&LockedPackage],
    debs: &[(String, PathBuf)],
) -> Result<LockedRoot, BuildError> {
    let dir = path(cache_dir, packages);
    let described = packages
        .iter()
        .map(|p| RootPackage {
            name: p.name.clone(),
            version: Some(p.version.clone()),
            architecture: Some(p.architecture.clone()),
            sha256: Some(p.sha256.clone()),
        })
        .collect();
    if dir.join("usr").is_dir() {
        return Ok(LockedRoot::new(dir, described));
    }
    let io = |what: String| move |source| BuildError::Io { what, source };
    let cache = Cache::new(cache_dir);
    let parent =
        cache.create(Kind::BuildRoots).map_err(io(format!("create {}", cache.path(Kind::BuildRoots).display())))?;
    let stage = tempfile::Builder::new()
        .prefix(".partial-")
        .tempdir_in(&parent)
        .map_err(io(format!("create a directory in {}", parent.display())))?;
    let mut tree = Tree::new();
    rootfs::base(&mut tree).map_err(BuildError::Assemble)?;
    rootfs::install(&mut tree, debs)?;
    // The sandbox's /etc is empty but for the loader's configuration; the toolchain needs no
    // more (no accounts: the build runs as uid 1000 without a name).
    let root = stage.path().join("root");
    tree.materialize(&root).map_err(io(format!("unpack the build root into {}", root.display())))?;
    drop(tree);
    if let Err(e) = std::fs::rename(&root, &dir) {
        // Another build unpacked the same root meanwhile: its copy is as good as ours.
        if !dir.join("usr").is_dir() {
            return Err(BuildError::Io { what: format!("move the build root to {}", dir.display()), source: e });
        }
    }
    Ok(LockedRoot::new(dir, described))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, sha: char) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: "1".into(),
            architecture: "amd64".into(),
            source: name.into(),
            source_version: "1".into(),
            suite: "trixie".into(),
            filename: format!("pool/main/{name}.deb"),
            size: 1,
            sha256: sha.to_string().repeat(64),
        }
    }

    #[test]
    fn key_depends_on_every_hash_not_on_order() {
        let (a, b, c) = (pkg("a", '1'), pkg("b", '2'), pkg("b", '3'));
        assert_eq!(key(&[&a, &b]), key(&[&b, &a]));
        assert_ne!(key(&[&a, &b]), key(&[&a, &c]));
        assert_ne!(key(&[&a]), key(&[&a, &b]));
    }
}

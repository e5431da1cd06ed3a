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

use super::compile::root::{LockedRoot, RootPackage};
use super::debian::{rootfs, Lock, LockedPackage, Mirror};
use super::BuildError;
use crate::cache::{Cache, Kind};
use crate::fstree::Tree;
use crate::tier::Tier;

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

/// The build root that `<dir>/image.lock` pins for the recipe in `dir`, as `armorred
/// build-source` uses it: the `[build-roots]` entry of `tier`, else the first one locked (every
/// entry holds the same packages, the recipe's `[build-root]` with their dependencies). The
/// `.deb`s come from `cache`, else from `mirror` (discovered from the host's apt sources when
/// `None` and a download is needed); the root is unpacked under `cache` unless it is there.
pub fn locked(dir: &Path, tier: Tier, cache: &Cache, mirror: Option<Mirror>) -> Result<LockedRoot, BuildError> {
    let recipe = super::compile::load_checked(dir).map_err(|e| BuildError::Recipe(Box::new(e)))?;
    let lock_file = super::lock_path(dir);
    let bad = |detail: String| BuildError::Lock { path: lock_file.clone(), detail };
    if !lock_file.exists() {
        return Err(bad("no lock file, so no locked build root: run `armorred lock` on the image definition \
                        (or build on the host's toolchain with --host-toolchain)"
            .into()));
    }
    crate::spec::definition_file(dir, Path::new("image.lock")).map_err(|e| bad(e.to_string()))?;
    let lock = Lock::read(&lock_file)?;
    let pkgs = lock
        .build_root_packages(tier)
        .or_else(|| lock.build_roots.keys().next().and_then(|t| lock.build_root_packages(*t)))
        .ok_or_else(|| bad("no locked build root ([build-roots]): run `armorred lock`".into()))?;
    let missing: Vec<&str> =
        recipe.build_root.packages.iter().filter(|w| !pkgs.iter().any(|p| &&p.name == w)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "the locked build root lacks {} that recipe.toml's [build-root] asks for: run `armorred lock`",
            missing.join(", ")
        )));
    }
    let mut mirror = mirror;
    let mut debs = Vec::with_capacity(pkgs.len());
    for p in &pkgs {
        let path = match cache.verified(&p.sha256, Some(p.size)) {
            Some(path) => path,
            None => super::stage::assemble::fetch_one(&mut mirror, cache, p)?,
        };
        debs.push((p.name.clone(), path));
    }
    materialize(cache.dir(), &pkgs, &debs)
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

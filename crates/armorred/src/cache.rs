//! The one cache: a root directory resolved here (`$XDG_CACHE_HOME/armorred`, else
//! `$HOME/.cache/armorred`, or one given explicitly) with one named subdirectory per kind of
//! content ([`Kind`]), each created private (mode 0700) on first use:
//!
//! | kind | directory | what |
//! |------|-----------|------|
//! | [`Kind::Debs`] | `sha256/<hex>` | downloads by sha256: `.deb` packages, upstream sources |
//! | [`Kind::BuildRoots`] | `roots/<key>` | unpacked locked build roots (`build::buildroot`) |
//! | [`Kind::SourceBuilds`] | `source-builds/<key>` | verified source builds (`build::compile`) |
//! | [`Kind::Builds`] | `builds/<key>.json` | what an image build reported, for reusing its output (`build::stage::reuse`) |
//! | [`Kind::Scratch`] | `tmp/` | scratch trees of a build (`rootfs-<pid>-*`) |
//! | [`Kind::Registry`] | `registry/` | blobs of a registry pull, one private directory per open |
//!
//! A file enters [`Kind::Debs`] only after its SHA256 and size matched; cached files are
//! verified again on use ([`Cache::verified`]).

use std::path::{Path, PathBuf};

use crate::fsutil::sha256_reader;

/// A kind of cached content: one subdirectory of the cache root each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Content-addressed downloads (`sha256/<hex>`).
    Debs,
    /// Unpacked build roots (`roots/<key>`).
    BuildRoots,
    /// Cached source builds (`source-builds/<key>`).
    SourceBuilds,
    /// What image builds reported (`builds/<key>.json`).
    Builds,
    /// Scratch trees (`tmp/`).
    Scratch,
    /// Registry pulls (`registry/`).
    Registry,
}

impl Kind {
    /// The subdirectory's name.
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Debs => "sha256",
            Self::BuildRoots => "roots",
            Self::SourceBuilds => "source-builds",
            Self::Builds => "builds",
            Self::Scratch => "tmp",
            Self::Registry => "registry",
        }
    }
}

/// The cache root.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache at [`Cache::default_dir`].
    pub fn from_env() -> Self {
        Self::new(Self::default_dir())
    }

    /// `$XDG_CACHE_HOME/armorred`, else `$HOME/.cache/armorred` (the temp directory's
    /// `.cache/armorred` without a home).
    pub fn default_dir() -> PathBuf {
        match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x).join("armorred"),
            None => {
                std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache/armorred")
            }
        }
    }

    /// The cache root.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of `kind` (present or not).
    pub fn path(&self, kind: Kind) -> PathBuf {
        self.dir.join(kind.dir_name())
    }

    /// The directory of `kind`, created when absent (mode 0700, with any missing parent);
    /// refused when it is not a directory (a symlink, say). An existing directory is made
    /// 0700 where we may (a shared cache may belong to another user).
    pub fn create(&self, kind: Kind) -> std::io::Result<PathBuf> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = self.path(kind);
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        if !std::fs::symlink_metadata(&dir)?.is_dir() {
            return Err(std::io::Error::other("not a directory (a symlink?)"));
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        Ok(dir)
    }

    /// Where the blob with `sha256` lives (present or not).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.path(Kind::Debs).join(sha256)
    }

    /// The cached blob with `sha256` (and `size`, when pinned), re-hashed on every use; a
    /// corrupt entry is removed and None returned, so it is fetched again.
    pub fn verified(&self, sha256: &str, size: Option<u64>) -> Option<PathBuf> {
        let path = self.path_of(sha256);
        let (got, n) = sha256_reader(std::fs::File::open(&path).ok()?).ok()?;
        if got == sha256 && size.is_none_or(|s| s == n) {
            return Some(path);
        }
        let _ = std::fs::remove_file(&path);
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let c = Cache::new("/c");
        assert_eq!(c.path_of("ab"), PathBuf::from("/c/sha256/ab"));
        let dirs = [Kind::Debs, Kind::BuildRoots, Kind::SourceBuilds, Kind::Builds, Kind::Scratch, Kind::Registry]
            .map(|k| c.path(k).display().to_string());
        assert_eq!(dirs, ["/c/sha256", "/c/roots", "/c/source-builds", "/c/builds", "/c/tmp", "/c/registry"]);
    }

    #[test]
    fn created_private_and_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let c = Cache::new(tmp.path().join("root"));
        let dir = c.create(Kind::Scratch).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(c.dir()).unwrap().permissions().mode() & 0o777, 0o700, "the root too");
        std::os::unix::fs::symlink(tmp.path(), c.path(Kind::Registry)).unwrap();
        assert!(c.create(Kind::Registry).is_err(), "a link is not the cache");
    }

    #[test]
    fn corrupt_entries_are_removed() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let sha = hex::encode(sha2::Sha256::digest(b"hello"));
        std::fs::create_dir_all(dir.path().join("sha256")).unwrap();
        std::fs::write(dir.path().join("sha256").join(&sha), b"hello").unwrap();
        assert!(cache.verified(&sha, None).is_some());
        assert!(cache.verified(&sha, Some(6)).is_none(), "a size pin is checked too");
        std::fs::write(dir.path().join("sha256").join(&sha), b"tampered").unwrap();
        assert!(cache.verified(&sha, None).is_none());
        assert!(!dir.path().join("sha256").join(&sha).exists());
    }
}

//! The build root: a directory holding a toolchain, mounted read-only as `/` of the sandbox.
//!
//! [`LockedRoot`] is made of Debian packages resolved and locked by hash in image.lock
//! (`build::buildroot`): what image builds and `armorred build-source` use. [`HostToolchain`]
//! uses the host's `/` (the recipe's compiler and -dev packages installed by apt), only for
//! `armorred build-source --host-toolchain`; it differs only in [`BuildRoot::describe`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One Debian package found in a build root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootPackage {
    /// Package name.
    pub name: String,
    /// Installed version (None: not installed).
    pub version: Option<String>,
    /// Architecture.
    pub architecture: Option<String>,
    /// sha256 of the `.deb` it was unpacked from, when the root is locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What a build root is, for the build record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootDescription {
    /// `host` or `debian-locked`.
    pub kind: String,
    /// The directory.
    pub path: PathBuf,
    /// The packages the recipe asked for, with what the root holds.
    pub packages: Vec<RootPackage>,
}

/// A directory with a toolchain in it.
pub trait BuildRoot: std::fmt::Debug {
    /// The directory mounted read-only as the sandbox's `/usr`, `/lib*`, `/bin`, `/etc/ld.so.*`.
    fn path(&self) -> &Path;
    /// What the root is and which of `packages` it holds at which version.
    fn describe(&self, packages: &[String]) -> RootDescription;
}

/// The host's own `/` as build root.
#[derive(Debug, Clone)]
pub struct HostToolchain {
    path: PathBuf,
}

impl Default for HostToolchain {
    fn default() -> Self {
        Self { path: PathBuf::from("/") }
    }
}

impl HostToolchain {
    /// The host root.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BuildRoot for HostToolchain {
    fn path(&self) -> &Path {
        &self.path
    }
    fn describe(&self, packages: &[String]) -> RootDescription {
        let status = std::fs::read_to_string(self.path.join("var/lib/dpkg/status")).unwrap_or_default();
        RootDescription { kind: "host".into(), path: self.path.clone(), packages: installed(&status, packages) }
    }
}

/// A root unpacked from Debian packages that a resolver locked by hash (issue 3): the seam the
/// lead connects to the Debian builder. `packages` comes from the lock (name, version,
/// architecture, `.deb` sha256). The directory must be runnable as `/`: merged-/usr symlinks
/// or directories, and `etc/ld.so.cache` (run `ldconfig -r <dir>` after unpacking) so that the
/// toolchain finds its shared libraries.
#[derive(Debug, Clone)]
pub struct LockedRoot {
    path: PathBuf,
    packages: Vec<RootPackage>,
}

impl LockedRoot {
    /// A root at `path` holding the locked `packages`.
    pub fn new(path: impl Into<PathBuf>, packages: Vec<RootPackage>) -> Self {
        Self { path: path.into(), packages }
    }
}

impl BuildRoot for LockedRoot {
    fn path(&self) -> &Path {
        &self.path
    }
    fn describe(&self, packages: &[String]) -> RootDescription {
        // Every locked package is recorded (the whole closure, not only what the recipe names);
        // a package the recipe asks for but the lock lacks appears without a version.
        let mut all = self.packages.clone();
        for name in packages {
            if !all.iter().any(|p| &p.name == name) {
                all.push(RootPackage { name: name.clone(), version: None, architecture: None, sha256: None });
            }
        }
        RootDescription { kind: "debian-locked".into(), path: self.path.clone(), packages: all }
    }
}

/// Looks `wanted` up in a dpkg status file's text. A package appears once per architecture;
/// the first installed stanza wins.
pub fn installed(status: &str, wanted: &[String]) -> Vec<RootPackage> {
    let mut found: Vec<RootPackage> = wanted
        .iter()
        .map(|name| RootPackage { name: name.clone(), version: None, architecture: None, sha256: None })
        .collect();
    for stanza in status.split("\n\n") {
        let field = |key: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string()))
        };
        let (Some(name), Some(state)) = (field("Package"), field("Status")) else {
            continue;
        };
        if !state.ends_with(" installed") {
            continue;
        }
        if let Some(p) = found.iter_mut().find(|p| p.name == name && p.version.is_none()) {
            p.version = field("Version");
            p.architecture = field("Architecture");
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_reads_status() {
        let status = "Package: clang-14\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:14.0.6-12\n\nPackage: make\nStatus: deinstall ok config-files\nVersion: 4\n";
        let got = installed(status, &["clang-14".into(), "make".into()]);
        assert_eq!(got[0].version.as_deref(), Some("1:14.0.6-12"));
        assert_eq!(got[0].architecture.as_deref(), Some("amd64"));
        assert_eq!(got[1].version, None);
    }

    #[test]
    fn locked_root_records_the_lock_and_missing_wants() {
        let root = LockedRoot::new(
            "/r",
            vec![RootPackage {
                name: "clang-19".into(),
                version: Some("1:19.1.7-3".into()),
                architecture: Some("amd64".into()),
                sha256: Some("a".repeat(64)),
            }],
        );
        let d = root.describe(&["clang-19".into(), "make".into()]);
        assert_eq!(d.kind, "debian-locked");
        assert_eq!(d.packages.len(), 2);
        assert_eq!(d.packages[1].name, "make");
        assert_eq!(d.packages[1].version, None);
    }
}

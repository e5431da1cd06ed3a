//! The build sandbox: new user, mount, pid, network, IPC and UTS namespaces through Debian's
//! bubblewrap. The build root is mounted read-only, the build directory is the only writable
//! bind mount (plus an ephemeral tmpfs `/tmp`), there is no network (a fresh network namespace
//! holds only its own loopback: the host's 127.0.0.1 is unreachable), the
//! environment is cleared and fixed, and the shell sets `umask 022` before each step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::flags::SANDBOX_BUILD_DIR;
use super::root::BuildRoot;
use super::SourceBuildError;

/// One command to run in the sandbox.
#[derive(Debug)]
pub struct RunSpec<'a> {
    /// The build root, mounted read-only.
    pub root: &'a dyn BuildRoot,
    /// The host directory mounted read-write at `/build`.
    pub build_dir: &'a Path,
    /// The working directory inside the sandbox.
    pub cwd: &'a str,
    /// The complete environment.
    pub env: &'a BTreeMap<String, String>,
    /// The `sh` script.
    pub script: &'a str,
    /// Where stdout and stderr go (a host path).
    pub log: &'a Path,
}

/// What a sandbox is, for the build record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxDescription {
    /// `bubblewrap`.
    pub kind: String,
    /// The tool's version line.
    pub version: String,
    /// Namespaces unshared.
    pub namespaces: Vec<String>,
    /// Whether a network is reachable (always false for real builds).
    pub network: bool,
}

/// Runs build steps isolated from the host.
pub trait Sandbox: std::fmt::Debug {
    /// What it is.
    fn describe(&self) -> SandboxDescription;
    /// Runs `spec.script`; Ok(exit status code) when it ran, a signal as 128+n.
    fn run(&self, spec: &RunSpec<'_>) -> Result<i32, SourceBuildError>;
}

/// bubblewrap (`bwrap`), as an unprivileged or root user.
#[derive(Debug, Clone)]
pub struct Bubblewrap {
    program: PathBuf,
}

const NAMESPACES: [&str; 6] = ["user", "mount", "pid", "network", "ipc", "uts"];

impl Bubblewrap {
    /// Finds `bwrap` on `PATH` and checks that it runs.
    pub fn find() -> Result<Self, SourceBuildError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let program = std::env::split_paths(&path).map(|d| d.join("bwrap")).find(|p| p.is_file()).ok_or_else(|| {
            SourceBuildError::SandboxUnavailable {
                reason: "bwrap not found on PATH (apt-get install bubblewrap)".into(),
            }
        })?;
        Ok(Self { program })
    }

    /// The arguments that build the sandbox for `spec`, up to and including `--`.
    pub fn args(&self, spec: &RunSpec<'_>) -> Vec<String> {
        let root = spec.root.path();
        let mut a: Vec<String> = [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "armorred-build",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut add = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        let usr = root.join("usr");
        add(&["--ro-bind", &usr.to_string_lossy(), "/usr"]);
        for d in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
            let p = root.join(d);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(&p) {
                        add(&["--symlink", &target.to_string_lossy(), &format!("/{d}")]);
                    }
                }
                Ok(m) if m.is_dir() => add(&["--ro-bind", &p.to_string_lossy(), &format!("/{d}")]),
                _ => {}
            }
        }
        for f in ["etc/ld.so.cache", "etc/ld.so.conf", "etc/ld.so.conf.d", "etc/alternatives"] {
            let p = root.join(f);
            if p.exists() {
                add(&["--ro-bind", &p.to_string_lossy(), &format!("/{f}")]);
            }
        }
        add(&["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        add(&["--bind", &spec.build_dir.to_string_lossy(), SANDBOX_BUILD_DIR, "--chdir", spec.cwd]);
        // The sandbox's own root (a tmpfs holding the mount points) becomes read-only: the
        // build directory and the ephemeral /tmp are the only writable places.
        add(&["--remount-ro", "/"]);
        for (k, v) in spec.env {
            add(&["--setenv", k, v]);
        }
        add(&["--"]);
        a
    }
}

impl Sandbox for Bubblewrap {
    fn describe(&self) -> SandboxDescription {
        let version = Command::new(&self.program)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        SandboxDescription {
            kind: "bubblewrap".into(),
            version,
            namespaces: NAMESPACES.iter().map(|s| s.to_string()).collect(),
            network: false,
        }
    }

    fn run(&self, spec: &RunSpec<'_>) -> Result<i32, SourceBuildError> {
        let io = |what: String| move |source| SourceBuildError::Io { what, source };
        let log = std::fs::File::create(spec.log).map_err(io(format!("cannot create log {}", spec.log.display())))?;
        let err = log.try_clone().map_err(io(format!("cannot create log {}", spec.log.display())))?;
        let script = format!("umask 022\nset -e\n{}", spec.script);
        let status = Command::new(&self.program)
            .args(self.args(spec))
            .args(["/bin/sh", "-c", &script])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|source| SourceBuildError::Io {
                what: format!("cannot start {}", self.program.display()),
                source,
            })?;
        use std::os::unix::process::ExitStatusExt;
        Ok(status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1))
    }
}

//! The build sandbox, part of the binary: new user, mount, PID, network, IPC and UTS
//! namespaces set up by the `hakoniwa` crate (which keeps the `unsafe` fork, `unshare`, mounts
//! and `pivot_root` inside it), so that a build needs nothing on the host but a kernel that
//! lets unprivileged users create user namespaces.
//!
//! Inside: the build root's `usr`, `bin`, `lib*` and loader configuration bound read-only on an
//! empty root that is itself read-only; the build directory at `/build` is the only writable
//! bind mount (plus an ephemeral tmpfs `/tmp`); a fresh `/proc` of the sandbox's own PID
//! namespace; a `/dev` holding only null, zero, full, random and urandom; no network (a fresh
//! network namespace whose loopback is down: neither the host's 127.0.0.1 nor any other address
//! is reachable); uid and gid 1000, no capabilities, `no_new_privs`; the environment is exactly
//! the step's; the sandbox is killed when the build dies; the shell sets `umask 022` before
//! each step.

use std::collections::BTreeMap;
use std::path::Path;

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
    /// An empty directory of the build's own for the sandbox's root mount point (its mount
    /// points are made there). Inside the build's partial directory, so that a killed build
    /// leaves it with the rest of its work, never in the host's /tmp.
    pub root_dir: &'a Path,
}

/// What a sandbox is, for the build record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxDescription {
    /// `namespaces` (the sandbox built into armorred).
    pub kind: String,
    /// What implements it, with versions.
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

/// The namespaces sandbox built into armorred, for unprivileged and root users alike.
#[derive(Debug, Clone)]
pub struct Namespaces {
    _checked: (),
}

/// The sandbox's kind in the build record.
pub const KIND: &str = "namespaces";

/// The version of the `hakoniwa` crate that sets the sandbox up (a test compares it with
/// Cargo.lock).
pub const HAKONIWA_VERSION: &str = "1.8.0";

const NAMESPACES: [&str; 6] = ["user", "mount", "pid", "network", "ipc", "uts"];

/// The devices of the sandbox's `/dev`.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// The uid and gid the steps run as.
const BUILD_ID: u32 = 1000;

/// What a step's last log line starts with when the sandbox, not the step, failed.
const SETUP_FAILURE_PREFIX: &str = "hakoniwa: ";
/// The exit code of a sandbox that could not be set up.
const SETUP_FAILURE_CODE: i32 = 125;

/// The kernel settings that can refuse user namespaces, for the error message.
const USERNS_KNOBS: &str = "the kernel must allow unprivileged user namespaces: \
    `sysctl kernel.unprivileged_userns_clone=1` (Debian before 11), `sysctl user.max_user_namespaces=15000` \
    (when 0), and on Ubuntu 23.10+ `sysctl kernel.apparmor_restrict_unprivileged_userns=0`; inside a \
    container, its seccomp profile must allow unshare and mount";

impl Namespaces {
    /// The sandbox, after checking that the kernel lets this user create user namespaces.
    pub fn new() -> Result<Self, SourceBuildError> {
        let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
        // `/proc/self` belongs to the process's effective uid.
        let root =
            std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
        let refuse = |cause: String| SourceBuildError::SandboxUnavailable {
            reason: format!("user namespaces are disabled ({cause}); {USERNS_KNOBS}"),
        };
        if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
            return Err(refuse("user.max_user_namespaces = 0".into()));
        }
        if !root {
            if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
                return Err(refuse("kernel.unprivileged_userns_clone = 0".into()));
            }
            if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
                return Err(refuse("kernel.apparmor_restrict_unprivileged_userns = 1".into()));
            }
        }
        Ok(Self { _checked: () })
    }

    /// The container for `spec`: namespaces, mounts, identity.
    fn container(spec: &RunSpec<'_>) -> hakoniwa::Container {
        use hakoniwa::Namespace;
        let mut c = hakoniwa::Container::empty();
        for ns in
            [Namespace::User, Namespace::Mount, Namespace::Pid, Namespace::Network, Namespace::Ipc, Namespace::Uts]
        {
            c.unshare(ns);
        }
        c.uidmap(BUILD_ID).gidmap(BUILD_ID).hostname("armorred-build");
        // Else hakoniwa makes a /tmp/hakoniwa-* directory, which a kill leaves behind.
        c.rootdir(std::path::absolute(spec.root_dir).unwrap_or_else(|_| spec.root_dir.to_path_buf()));
        // Bind mounts keep the flags the kernel locks for an unprivileged user (nodev, noexec
        // of the host mount they come from) instead of failing on them.
        c.runctl(hakoniwa::Runctl::MountFallback);
        // Mount sources must be absolute: a build into `out/...` names its directory relative
        // to the working directory.
        let root = std::path::absolute(spec.root.path()).unwrap_or_else(|_| spec.root.path().to_path_buf());
        let s = |p: &Path| p.to_string_lossy().into_owned();
        c.bindmount_ro(&s(&root.join("usr")), "/usr");
        for d in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
            let p = root.join(d);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(&p) {
                        c.symlink(&s(&target), &format!("/{d}"));
                    }
                }
                Ok(m) if m.is_dir() => {
                    c.bindmount_ro(&s(&p), &format!("/{d}"));
                }
                _ => {}
            }
        }
        for f in ["etc/ld.so.cache", "etc/ld.so.conf", "etc/ld.so.conf.d", "etc/alternatives"] {
            let p = root.join(f);
            if p.exists() {
                c.bindmount_ro(&s(&p), &format!("/{f}"));
            }
        }
        c.procfsmount("/proc");
        c.tmpfsmount("/tmp");
        // The devices are bound onto files of the read-only root: /dev itself is not writable.
        for d in DEVICES {
            c.bindmount_rw(&format!("/dev/{d}"), &format!("/dev/{d}"));
        }
        c.symlink("/proc/self/fd", "/dev/fd");
        for (i, name) in ["stdin", "stdout", "stderr"].iter().enumerate() {
            c.symlink(&format!("/proc/self/fd/{i}"), &format!("/dev/{name}"));
        }
        let build_dir = std::path::absolute(spec.build_dir).unwrap_or_else(|_| spec.build_dir.to_path_buf());
        c.bindmount_rw(&s(&build_dir), SANDBOX_BUILD_DIR);
        // The root (an empty directory holding the mount points) is remounted read-only by
        // default: the build directory and the ephemeral /tmp are the only writable places.
        c
    }
}

impl Sandbox for Namespaces {
    fn describe(&self) -> SandboxDescription {
        SandboxDescription {
            kind: KIND.into(),
            version: format!("armorred {} (hakoniwa {HAKONIWA_VERSION})", env!("CARGO_PKG_VERSION")),
            namespaces: NAMESPACES.iter().map(|s| s.to_string()).collect(),
            network: false,
        }
    }

    fn run(&self, spec: &RunSpec<'_>) -> Result<i32, SourceBuildError> {
        let io = |what: String| move |source| SourceBuildError::Io { what, source };
        let log = std::fs::File::create(spec.log).map_err(io(format!("cannot create log {}", spec.log.display())))?;
        let err = log.try_clone().map_err(io(format!("cannot create log {}", spec.log.display())))?;
        let null = std::fs::File::open("/dev/null").map_err(io("cannot open /dev/null".into()))?;
        let script = format!("umask 022\nset -e\n{}", spec.script);
        let status = Self::container(spec)
            .command("/bin/sh")
            .args(["-c", &script])
            .current_dir(spec.cwd)
            .envs(spec.env)
            .stdin(null)
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|source| SourceBuildError::Sandbox { what: "start the sandbox".into(), source })?;
        if let Some(code) = status.exit_code {
            if code == SETUP_FAILURE_CODE {
                // The sandbox's last steps (the new /proc, the read-only root, the uid, exec)
                // run in its first process and report on its stderr, the step's log.
                let text = std::fs::read_to_string(spec.log).unwrap_or_default();
                if let Some(line) = text.lines().last().filter(|l| l.starts_with(SETUP_FAILURE_PREFIX)) {
                    return Err(setup_failed(line));
                }
            }
            return Ok(code);
        }
        if status.reason.starts_with("process(") && status.reason.contains("received signal") {
            // Killed by a signal: 128+n, as a shell reports it.
            return Ok(status.code);
        }
        Err(setup_failed(&status.reason))
    }
}

/// The error for a sandbox that could not be set up, naming the kernel settings when it is
/// user namespaces that were refused.
fn setup_failed(reason: &str) -> SourceBuildError {
    let reason = reason.strip_prefix(SETUP_FAILURE_PREFIX).unwrap_or(reason);
    let userns = ["unshare(", "uid_map", "gid_map", "setgroups"].iter().any(|k| reason.contains(k));
    SourceBuildError::SandboxUnavailable {
        reason: if userns {
            format!("the kernel refused a user namespace ({reason}); {USERNS_KNOBS}")
        } else {
            format!("cannot set the sandbox up: {reason}")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_hakoniwa_version_is_the_locked_one() {
        let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .expect("Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"hakoniwa\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'));
        assert_eq!(locked, Some(HAKONIWA_VERSION));
    }

    #[test]
    fn refused_user_namespaces_name_the_knobs() {
        let e = setup_failed("unshare(CLONE_NEWUSER) => EPERM: Operation not permitted").to_string();
        assert!(e.starts_with("sandbox unavailable: the kernel refused a user namespace (unshare("), "{e}");
        for knob in ["kernel.unprivileged_userns_clone", "user.max_user_namespaces"] {
            assert!(e.contains(knob), "{e}");
        }
        let e = setup_failed("hakoniwa: mount(\"/x\") => ENOENT").to_string();
        assert_eq!(e, "sandbox unavailable: cannot set the sandbox up: mount(\"/x\") => ENOENT");
    }
}

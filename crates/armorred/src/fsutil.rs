//! Small file-system helpers shared by every module that reads hostile paths or writes output.
//!
//! Invariants:
//! - Outputs are never half-written. A regular file (or a new path) is written to an
//!   unpredictably named temporary file created exclusively in the target's directory, which is
//!   renamed over the target only once complete. A target that is not a regular file (a device
//!   such as `/dev/null`, a FIFO, `/dev/stdout`) is written directly and never replaced.
//! - Inputs are opened with [`open_regular`]: a FIFO, socket or device is refused with a message
//!   that says what it is, and opening never blocks.
//! - Paths inside an unpacked root file system are resolved with [`resolve_in_root`], as a
//!   chroot would resolve them: a symbolic link never leads out of the root.

use std::fs::{File, FileType, Metadata};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Symbolic links followed while resolving one path inside a root, as Linux's `MAXSYMLINKS`.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// `O_NONBLOCK` for `open(2)`: opening a FIFO without a writer returns at once instead of
/// waiting. The value is Linux's on every architecture the project builds for except MIPS.
#[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(target_arch = "mips", target_arch = "mips64"))]
const O_NONBLOCK: i32 = 0x80;

/// What a path is, for errors that say why it is not what was wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device (`/dev/null`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A symbolic link.
    Symlink,
    /// Anything else.
    Other,
}

impl FileKind {
    /// The kind of a file type.
    pub fn of(t: FileType) -> Self {
        if t.is_file() {
            Self::Regular
        } else if t.is_dir() {
            Self::Directory
        } else if t.is_fifo() {
            Self::Fifo
        } else if t.is_socket() {
            Self::Socket
        } else if t.is_char_device() {
            Self::CharDevice
        } else if t.is_block_device() {
            Self::BlockDevice
        } else if t.is_symlink() {
            Self::Symlink
        } else {
            Self::Other
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Regular => "a regular file",
            Self::Directory => "a directory",
            Self::Fifo => "a FIFO",
            Self::Socket => "a socket",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Symlink => "a symbolic link",
            Self::Other => "a special file",
        })
    }
}

/// Errors of the file-system helpers.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// Writing `path` failed.
    #[error("cannot write {path}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Opening `path` for reading failed.
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading `path` failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `path` is not a regular file.
    #[error("{path} is {kind}, not a regular file")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: FileKind,
    },
    /// `path` holds more than `max` bytes.
    #[error("{path} is over {max} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bound.
        max: u64,
    },
    /// An output path is a symbolic link to nothing: creating its target could create a file
    /// anywhere, so it is refused.
    #[error("{path} is a symbolic link to a missing file; refusing to create its target")]
    DanglingSymlink {
        /// The output path.
        path: PathBuf,
    },
    /// Resolving a path inside a root followed too many symbolic links.
    #[error("{path}: more than {max} symbolic links while resolving it inside {root}", max = MAX_SYMLINK_HOPS)]
    SymlinkLoop {
        /// The path, relative to the root.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
}

/// Writes `path` without ever leaving it half-written or replacing what is not a regular file:
/// - a new path or an existing regular file: the content goes to a temporary sibling with an
///   unpredictable name, created exclusively, which is renamed over `path` once complete;
/// - a FIFO, a character device (`/dev/null`) or anything else that is not a regular file:
///   written directly, never replaced (a write to a FIFO waits for its reader, as a shell's `>`
///   does); a directory or a block device (a disk) is refused;
/// - a symbolic link: opened through the kernel (so `fs.protected_symlinks` applies), and its
///   final target is written as above (directly when it is not a regular file, else replaced
///   atomically in its own directory); the link itself stays. A link to a missing file is
///   refused rather than creating a file wherever it points. `/dev/stdout` and other names of
///   a descriptor that lead to a regular file are appended to, as the descriptor would be.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), FsError> {
    let err = |source| FsError::Write { path: path.to_path_buf(), source };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => write_through_symlink(path, write),
        // A report is never meant to overwrite a disk.
        Ok(meta) if meta.is_dir() || meta.file_type().is_block_device() => {
            Err(FsError::NotRegular { path: path.to_path_buf(), kind: FileKind::of(meta.file_type()) })
        }
        Ok(meta) if !meta.is_file() => {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(err)?;
            write_direct(file, write).map_err(err)
        }
        Ok(_) => replace_atomically(path, write),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => replace_atomically(path, write),
        Err(e) => Err(err(e)),
    }
}

/// Writes `bytes` to `path` as [`write_atomic`] does.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    write_atomic(path, |w| w.write_all(bytes))
}

fn write_direct(file: File, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(file);
    write(&mut w)?;
    w.flush()
}

fn write_through_symlink(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), FsError> {
    let err = |source| FsError::Write { path: path.to_path_buf(), source };
    let file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FsError::DanglingSymlink { path: path.to_path_buf() })
        }
        Err(e) => return Err(err(e)),
    };
    let meta = file.metadata().map_err(err)?;
    if meta.file_type().is_block_device() {
        return Err(FsError::NotRegular { path: path.to_path_buf(), kind: FileKind::BlockDevice });
    }
    if !meta.is_file() {
        return write_direct(file, write).map_err(err);
    }
    if names_a_descriptor(path) {
        // `/dev/stdout` redirected to a file: append to what the process has written there, as
        // the descriptor itself would; replacing the file would lose it (and `>>` appends).
        drop(file);
        let file = std::fs::OpenOptions::new().append(true).open(path).map_err(err)?;
        return write_direct(file, write).map_err(err);
    }
    // The file the kernel opened, by its real path; checked to be the same inode.
    let real = real_path(&file, path).map_err(err)?;
    match std::fs::metadata(&real) {
        Ok(m) if m.dev() == meta.dev() && m.ino() == meta.ino() => {}
        _ => return Err(err(std::io::Error::other(format!("its target {} changed while writing", real.display())))),
    }
    drop(file);
    replace_atomically(&real, write).map_err(|e| match e {
        FsError::Write { source, .. } => err(source),
        other => other,
    })
}

/// Whether `path` names an open file descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`)
/// rather than a file, itself or through its first link.
fn names_a_descriptor(path: &Path) -> bool {
    let is_descriptor = |p: &Path| {
        ["/dev/stdout", "/dev/stderr", "/dev/stdin"].iter().any(|d| p == Path::new(d))
            || p.starts_with("/dev/fd")
            || p.starts_with("/proc")
    };
    is_descriptor(path) || std::fs::read_link(path).is_ok_and(|t| is_descriptor(&t))
}

/// The real path of an open file: `/proc/self/fd/N`, else the canonical form of `path`.
fn real_path(file: &File, path: &Path) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
        .filter(|p| p.is_absolute())
        .map_or_else(|| std::fs::canonicalize(path), Ok)
}

fn replace_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), FsError> {
    let err = |source| FsError::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    // 0o666 before the umask, as File::create gives.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(err)?;
    if let Ok(meta) = tmp.as_file().metadata() {
        remove_stale_temporaries(dir, &name, meta.uid());
    }
    let result = (|| {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
        drop(w);
        tmp.as_file().sync_all()
    })();
    // On error the temporary file is removed when `tmp` drops.
    result.map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Removes `.NAME.tmp-PID` files that earlier versions left beside `NAME` when killed: only
/// regular files owned by `uid` whose process no longer runs. Errors are ignored: this is
/// housekeeping.
fn remove_stale_temporaries(dir: &Path, name: &str, uid: u32) {
    for entry in leftovers_of_dead_processes(dir, &format!(".{name}.tmp-")) {
        let path = entry.path();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// An exclusive advisory lock (flock(2)) on a lock file, created when missing (never
/// truncated, and not through a symbolic link), held until dropped or until the process dies
/// (the kernel releases it).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until this process holds the lock on `path`.
    pub fn acquire(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)?;
        // std's File::lock is newer than the MSRV.
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(Self { _file: file }),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Removes the directory tree at `path` (never following symbolic links), refusing to enter a
/// directory on another file system than `path`'s: a mount point still mounted (a sandbox's
/// root whose bind mounts leaked to this mount namespace) stops it with an error instead of
/// removing what is mounted there.
pub fn remove_dir_one_fs(path: &Path) -> std::io::Result<()> {
    fn walk(dir: &Path, dev: u64) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let p = entry.path();
            let m = std::fs::symlink_metadata(&p)?;
            if m.is_dir() {
                if m.dev() != dev {
                    return Err(std::io::Error::other(format!(
                        "{} is another file system (still mounted?)",
                        p.display()
                    )));
                }
                walk(&p, dev)?;
                std::fs::remove_dir(&p)?;
            } else {
                std::fs::remove_file(&p)?;
            }
        }
        Ok(())
    }
    let m = std::fs::symlink_metadata(path)?;
    if !m.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a directory", path.display())));
    }
    walk(path, m.dev())?;
    std::fs::remove_dir(path)
}

/// Whether process `pid` runs (Linux `/proc`; where there is none, every process is assumed to
/// run, so that nothing is removed on a guess).
pub fn process_alive(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new("/proc").join(pid.to_string()).exists()
}

/// The entries of `dir` named `PREFIX<pid>` or `PREFIX<pid>-...` whose process no longer runs
/// (never this process's own): what a killed run of ours left. The caller checks the entry's
/// type and owner before removing it.
pub fn leftovers_of_dead_processes(dir: &Path, prefix: &str) -> Vec<std::fs::DirEntry> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|r| r.split('-').next());
            pid.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| p != std::process::id() && !process_alive(p))
        })
        .collect()
}

/// Opens `path` for reading only if it is a regular file. The open never blocks (a FIFO
/// without a writer is opened non-blocking, then refused); a FIFO, socket, device or directory
/// is [`FsError::NotRegular`], naming what it is.
pub fn open_regular(path: &Path) -> Result<File, FsError> {
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path) {
        Ok(f) => f,
        Err(source) => {
            // A socket cannot be opened at all: say what it is rather than "no such device".
            if let Some(kind) = std::fs::metadata(path).ok().as_ref().and_then(non_regular) {
                return Err(FsError::NotRegular { path: path.to_path_buf(), kind });
            }
            return Err(FsError::Open { path: path.to_path_buf(), source });
        }
    };
    let meta = file.metadata().map_err(|source| FsError::Open { path: path.to_path_buf(), source })?;
    if let Some(kind) = non_regular(&meta) {
        return Err(FsError::NotRegular { path: path.to_path_buf(), kind });
    }
    Ok(file)
}

fn non_regular(meta: &Metadata) -> Option<FileKind> {
    (!meta.is_file()).then(|| FileKind::of(meta.file_type()))
}

/// Reads a regular file ([`open_regular`]) of at most `max` bytes; a larger one is
/// [`FsError::TooLarge`], found without reading past `max + 1` bytes.
pub fn read_regular_bounded(path: &Path, max: u64) -> Result<Vec<u8>, FsError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FsError::Read { path: path.to_path_buf(), source })?;
    if bytes.len() as u64 > max {
        return Err(FsError::TooLarge { path: path.to_path_buf(), max });
    }
    Ok(bytes)
}

/// Resolves `path` inside `root` as a chroot to `root` would: `path` is taken relative to the
/// root (a leading `/` is dropped), symbolic links are followed component by component, an
/// absolute link target starts again at the root, and `..` never climbs above the root. At most
/// [`MAX_SYMLINK_HOPS`] links are followed. Components that do not exist are appended as they
/// are (opening the result then fails with "not found"). The result lies inside `root` unless
/// the tree changes between this call and its use.
pub fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf, FsError> {
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut pending, path);
    pending.reverse(); // a stack: the next component is last
    let mut resolved = PathBuf::new();
    let mut hops = 0;
    let mut missing = false;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        if missing {
            resolved = candidate;
            continue;
        }
        match std::fs::symlink_metadata(root.join(&candidate)) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(FsError::SymlinkLoop { path: path.to_path_buf(), root: root.to_path_buf() });
                }
                let target = std::fs::read_link(root.join(&candidate))
                    .map_err(|source| FsError::Open { path: root.join(&candidate), source })?;
                if target.has_root() {
                    resolved = PathBuf::new();
                }
                let mut parts = Vec::new();
                push_components(&mut parts, &target);
                pending.extend(parts.into_iter().rev());
            }
            Ok(_) => resolved = candidate,
            Err(_) => {
                missing = true;
                resolved = candidate;
            }
        }
    }
    Ok(root.join(resolved))
}

/// The normal and `..` components of `path`, in order (roots and `.` dropped).
fn push_components(out: &mut Vec<std::ffi::OsString>, path: &Path) {
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::ParentDir => out.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// sha256 (lowercase hex) and length of everything `r` yields, streamed.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<(String, u64)> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// Whether `s` is a sha256 as this crate writes and compares them: 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// sha256 (lowercase hex) of a regular file ([`open_regular`]: a FIFO is refused, not waited on).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let file = open_regular(path).map_err(std::io::Error::other)?;
    Ok(sha256_reader(file)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo").arg(path).status().expect("run mkfifo").success();
        assert!(ok, "mkfifo {}", path.display());
    }

    #[test]
    fn a_tree_is_removed_without_following_its_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), b"x").unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("usr/lib")).unwrap();
        std::fs::write(tree.join("usr/lib/f"), b"y").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("link")).unwrap();
        remove_dir_one_fs(&tree).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").exists(), "a link's target is not removed");
        assert!(remove_dir_one_fs(&outside.join("keep")).is_err(), "not a directory");
    }

    #[test]
    fn write_to_a_fifo_writes_through_it_and_keeps_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("out.fifo");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).expect("read fifo"))
        };
        write_bytes_atomic(&fifo, b"report\n").expect("write to fifo");
        assert_eq!(reader.join().expect("reader"), b"report\n");
        let meta = std::fs::symlink_metadata(&fifo).expect("fifo stays");
        assert!(meta.file_type().is_fifo(), "the FIFO was replaced by {:?}", meta.file_type());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("out.fifo")]);
    }

    #[test]
    fn write_to_dev_null_keeps_the_device() {
        write_bytes_atomic(Path::new("/dev/null"), b"discarded").expect("write /dev/null");
        let meta = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
        assert!(meta.file_type().is_char_device(), "/dev/null is no longer a character device");
    }

    #[test]
    fn write_through_a_symlink_keeps_the_link_and_replaces_its_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real_dir = dir.path().join("real");
        std::fs::create_dir(&real_dir).expect("mkdir");
        let target = real_dir.join("report.json");
        std::fs::write(&target, b"old").expect("write target");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_bytes_atomic(&link, b"new").expect("write through link");
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link was replaced");
        assert_eq!(std::fs::read(&target).expect("target"), b"new");
        // The temporary file lived beside the target, and is gone.
        assert_eq!(std::fs::read_dir(&real_dir).expect("list").count(), 1);
    }

    #[test]
    fn a_dangling_symlink_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("missing/elsewhere"), &link).expect("symlink");
        let e = write_bytes_atomic(&link, b"x").expect_err("dangling link");
        assert!(e.to_string().contains("is a symbolic link to a missing file"), "{e}");
        assert!(!dir.path().join("missing").exists());
    }

    #[test]
    fn regular_files_are_replaced_atomically_and_old_temporaries_cleaned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("report.json");
        std::fs::write(&out, b"old").expect("write");
        // What a killed run of an earlier version left: its PID no longer runs.
        let stale = dir.path().join(".report.json.tmp-4194999");
        std::fs::write(&stale, b"half").expect("write stale");
        let other = dir.path().join(".other.json.tmp-4194999");
        std::fs::write(&other, b"not ours to judge").expect("write other");
        write_bytes_atomic(&out, b"new").expect("write");
        assert_eq!(std::fs::read(&out).expect("read"), b"new");
        assert!(!stale.exists(), "stale temporary left");
        assert!(other.exists(), "another file's temporary removed");
        let mut names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        names.sort();
        assert_eq!(names, [std::ffi::OsString::from(".other.json.tmp-4194999"), "report.json".into()]);
    }

    #[test]
    fn open_regular_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("feed.json");
        mkfifo(&fifo);
        let e = open_regular(&fifo).expect_err("fifo");
        assert_eq!(e.to_string(), format!("{} is a FIFO, not a regular file", fifo.display()));
        let e = open_regular(Path::new("/dev/zero")).expect_err("device");
        assert_eq!(e.to_string(), "/dev/zero is a character device, not a regular file");
        let e = open_regular(dir.path()).expect_err("dir");
        assert!(e.to_string().ends_with("is a directory, not a regular file"), "{e}");
        let sock_path = dir.path().join("s.sock");
        let _sock = std::os::unix::net::UnixListener::bind(&sock_path).expect("bind");
        let e = open_regular(&sock_path).expect_err("socket");
        assert!(e.to_string().ends_with("is a socket, not a regular file"), "{e}");
    }

    #[test]
    fn read_regular_bounded_stops_past_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("big");
        let file = File::create(&f).expect("create");
        file.set_len(1 << 40).expect("sparse 1 TiB");
        let e = read_regular_bounded(&f, 1024).expect_err("too large");
        assert_eq!(e.to_string(), format!("{} is over 1024 bytes", f.display()));
        std::fs::write(&f, b"small").expect("write");
        assert_eq!(read_regular_bounded(&f, 1024).expect("read"), b"small");
    }

    #[test]
    fn resolve_in_root_never_leaves_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let lib = root.join("lib");
        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::write(lib.join("libc.so.6.real"), b"in root").expect("write");
        std::os::unix::fs::symlink("/dev/zero", lib.join("zero")).expect("symlink");
        std::os::unix::fs::symlink("../../../../../lib/libc.so.6.real", lib.join("up")).expect("symlink");
        std::os::unix::fs::symlink("/lib/libc.so.6.real", lib.join("abs")).expect("symlink");
        std::os::unix::fs::symlink("loop2", lib.join("loop1")).expect("symlink");
        std::os::unix::fs::symlink("loop1", lib.join("loop2")).expect("symlink");
        assert_eq!(resolve_in_root(&root, Path::new("/lib/zero")).expect("zero"), root.join("dev/zero"));
        assert_eq!(resolve_in_root(&root, Path::new("lib/up")).expect("up"), lib.join("libc.so.6.real"));
        assert_eq!(resolve_in_root(&root, Path::new("/lib/abs")).expect("abs"), lib.join("libc.so.6.real"));
        assert_eq!(resolve_in_root(&root, Path::new("/../../lib/abs")).expect("abs"), lib.join("libc.so.6.real"));
        let e = resolve_in_root(&root, Path::new("/lib/loop1")).expect_err("loop");
        assert!(e.to_string().contains("more than 40 symbolic links"), "{e}");
    }
}

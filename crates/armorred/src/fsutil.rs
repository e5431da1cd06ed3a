//! Small file-system helpers shared by every module that writes output.
//!
//! Invariant: outputs are never half-written. Writers go to a temporary file in the target's
//! directory, which is renamed over the target only once complete.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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
}

/// Writes `path` atomically: the content goes to a temporary sibling first, then is renamed.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), FsError> {
    let err = |source| FsError::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut file)?;
        let file = file.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    write_atomic(path, |w| w.write_all(bytes))
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

/// sha256 (lowercase hex) of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    Ok(sha256_reader(std::fs::File::open(path)?)?.0)
}

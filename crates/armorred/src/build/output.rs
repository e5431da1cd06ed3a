//! Where a build writes: the image (an OCI layout or a docker archive), the build record next
//! to it, and, for a source-built tier, the source build's directory; and what of it may be
//! replaced.

use std::path::{Path, PathBuf};

use super::BuildError;
use crate::oci::OciError;

/// Where the image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An OCI image layout directory.
    OciDir(PathBuf),
    /// A `docker load`-able tar.
    DockerArchive(PathBuf),
}

impl std::str::FromStr for Output {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("oci-dir", p)) if !p.is_empty() => Ok(Self::OciDir(p.into())),
            Some(("docker-archive", p)) if !p.is_empty() => Ok(Self::DockerArchive(p.into())),
            _ => Err(format!("bad output {s:?}: expected oci-dir:DIR or docker-archive:FILE")),
        }
    }
}

impl Output {
    /// The path written.
    pub fn path(&self) -> &Path {
        match self {
            Self::OciDir(p) | Self::DockerArchive(p) => p,
        }
    }

    /// `oci-dir` or `docker-archive`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OciDir(_) => "oci-dir",
            Self::DockerArchive(_) => "docker-archive",
        }
    }

    /// The build record written next to the image: `<path>.build.json`.
    pub fn record_path(&self) -> PathBuf {
        let p = self.path();
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(".build.json");
        p.with_file_name(name)
    }
}

/// Where the source build of an image output goes: `<output>.source-build/` (installed tree,
/// logs, record), next to the image.
pub fn source_build_dir(output: &Output) -> PathBuf {
    let p = output.path();
    let mut name = p.file_name().unwrap_or_default().to_os_string();
    name.push(".source-build");
    p.with_file_name(name)
}

/// Whether `out` holds a previous source build to replace (false: nothing there). Anything
/// else at that path (a symlink, a file, a directory with other entries than a source build
/// writes: `build-record.json`, `destdir/`, `logs/`, `work/`) is refused, never deleted.
pub(crate) fn previous_source_build(out: &Path) -> Result<bool, BuildError> {
    let refuse = |detail: String| OciError::Output { target: out.display().to_string(), detail };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(BuildError::Io { what: format!("inspect {}", out.display()), source }),
    };
    if !meta.is_dir() {
        return Err(refuse(format!(
            "is {}, not a previous source build; refusing to replace it",
            crate::fsutil::FileKind::of(meta.file_type())
        ))
        .into());
    }
    let io = |source| BuildError::Io { what: format!("list {}", out.display()), source };
    let mut has_record = false;
    for e in std::fs::read_dir(out).map_err(io)? {
        let e = e.map_err(io)?;
        let ft = e.file_type().map_err(io)?;
        let name = e.file_name();
        match name.to_str() {
            Some("build-record.json") if ft.is_file() => has_record = true,
            Some("destdir" | "logs" | "work") if ft.is_dir() => {}
            _ => {
                return Err(refuse(format!(
                    "holds {:?}, which a source build does not write; refusing to replace it",
                    name.to_string_lossy()
                ))
                .into())
            }
        }
    }
    if !has_record {
        return Err(refuse(
            "has no build-record.json, so it is not a previous source build; refusing to replace it".into(),
        )
        .into());
    }
    Ok(true)
}

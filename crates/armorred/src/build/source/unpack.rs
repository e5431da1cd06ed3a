//! Unpacking a source tarball (`.tar.gz`) into the source directory, safely: only regular
//! files and directories, every path relative and inside the target after stripping leading
//! components, and the decompressed size bounded.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest decompressed source archive.
pub const MAX_UNPACKED: u64 = 2 << 30;

/// Unpacks `archive` (gzip-compressed tar) into `dest`, dropping `strip` leading components.
/// Returns the number of files written. Errors are one-line reasons naming the entry.
pub fn unpack_tar_gz(archive: &Path, dest: &Path, strip: usize) -> Result<usize, String> {
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot open: {e}"))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    unpack_tar(gz.take(MAX_UNPACKED), dest, strip)
}

/// Unpacks an uncompressed tar stream; see [`unpack_tar_gz`].
pub fn unpack_tar(reader: impl Read, dest: &Path, strip: usize) -> Result<usize, String> {
    let mut ar = tar::Archive::new(reader);
    let mut files = 0;
    for entry in ar.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("broken tar entry: {e}"))?;
        let raw = entry.path().map_err(|e| format!("bad entry name: {e}"))?.into_owned();
        let mut rel = PathBuf::new();
        for c in raw.components().skip(strip) {
            match c {
                Component::Normal(n) => rel.push(n),
                Component::CurDir => {}
                _ => return Err(format!("entry {} escapes the target", raw.display())),
            }
        }
        if raw.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(format!("entry {} escapes the target", raw.display()));
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let kind = entry.header().entry_type();
        let target = dest.join(&rel);
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", rel.display()))?;
        } else if kind.is_file() {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", rel.display()))?;
            }
            entry.unpack(&target).map_err(|e| format!("{}: {e}", rel.display()))?;
            files += 1;
        } else {
            return Err(format!("entry {} is a {:?}, only files and directories are accepted", raw.display(), kind));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("/etc/passwd").expect("link");
            }
            // Write the name raw so that `..` survives the builder's own checks.
            let gnu = h.as_gnu_mut().expect("gnu");
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    type Case<'a> = (&'a str, Vec<(&'a str, tar::EntryType, &'a [u8])>, Result<usize, &'a str>);

    #[test]
    fn table() {
        use tar::EntryType::{Directory, Regular, Symlink};
        let cases: &[Case<'_>] = &[
            ("plain", vec![("p-1/", Directory, b""), ("p-1/a.c", Regular, b"x")], Ok(1)),
            ("dotdot", vec![("p-1/../../x", Regular, b"x")], Err("escapes")),
            ("absolute", vec![("/tmp/x", Regular, b"x")], Err("escapes")),
            ("symlink", vec![("p-1/l", Symlink, b"")], Err("only files and directories")),
        ];
        for (name, entries, want) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let got = unpack_tar(&tar_with(entries)[..], dir.path(), 1);
            match (want, &got) {
                (Ok(n), Ok(g)) => assert_eq!(g, n, "{name}"),
                (Err(w), Err(g)) => assert!(g.contains(w), "{name}: {g}"),
                _ => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }
}

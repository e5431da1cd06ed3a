//! Unpacking a source tarball (`.tar.gz`, `.tar.xz`, `.tar.bz2`, `.tar`) into the source directory, safely: only regular
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

/// Unpacks `archive`, choosing the decompressor by its file `name` (the cache names files by
/// hash): `.tar.gz`/`.tgz` (gzip), `.tar.xz`/`.txz` (xz), `.tar.bz2`/`.tbz2` (bzip2), `.tar`
/// (none); any other name is refused. See [`unpack_tar_gz`].
pub fn unpack_archive(archive: &Path, name: &str, dest: &Path, strip: usize) -> Result<usize, String> {
    let open = || std::fs::File::open(archive).map(std::io::BufReader::new).map_err(|e| format!("cannot open: {e}"));
    if name.ends_with(".tar.xz") || name.ends_with(".txz") {
        unpack_tar(xz2::read::XzDecoder::new(open()?).take(MAX_UNPACKED), dest, strip)
    } else if name.ends_with(".tar.bz2") || name.ends_with(".tbz2") {
        unpack_tar(bzip2::read::MultiBzDecoder::new(open()?).take(MAX_UNPACKED), dest, strip)
    } else if name.ends_with(".tar") {
        unpack_tar(open()?.take(MAX_UNPACKED), dest, strip)
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        unpack_tar_gz(archive, dest, strip)
    } else {
        Err("not a tar archive this builder reads (.tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2)".into())
    }
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
        } else if kind.is_symlink() {
            // Relative links that stay inside the tree (Debian packaging has a few); nothing else.
            let link = entry.link_name().map_err(|e| format!("bad link in {}: {e}", raw.display()))?;
            let link = link.ok_or_else(|| format!("symlink {} has no target", raw.display()))?.into_owned();
            // The one in-root link resolver (lossy names keep their `/` and `..`).
            if link.has_root() || crate::fstree::resolve_link(&rel.to_string_lossy(), &link.to_string_lossy()).is_none()
            {
                return Err(format!("symlink {} -> {} escapes the target", raw.display(), link.display()));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", rel.display()))?;
            }
            std::os::unix::fs::symlink(&link, &target).map_err(|e| format!("{}: {e}", rel.display()))?;
        } else {
            return Err(format!(
                "entry {} is a {:?}, only files, directories and inner symlinks are accepted",
                raw.display(),
                kind
            ));
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
                h.set_link_name(std::str::from_utf8(data).expect("utf-8")).expect("link");
                h.set_size(0);
            }
            // Write the name raw so that `..` survives the builder's own checks.
            let gnu = h.as_gnu_mut().expect("gnu");
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            let body: &[u8] = if *kind == tar::EntryType::Symlink { b"" } else { data };
            b.append(&h, body).expect("append");
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
            ("absolute symlink", vec![("p-1/l", Symlink, b"/etc/passwd")], Err("escapes")),
            ("climbing symlink", vec![("p-1/d/l", Symlink, b"../../x")], Err("escapes")),
            ("inner symlink", vec![("p-1/d/l", Symlink, b"../a.c"), ("p-1/a.c", Regular, b"x")], Ok(1)),
            ("fifo", vec![("p-1/f", tar::EntryType::Fifo, b"")], Err("only files")),
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

    #[test]
    fn each_compression_by_name_and_others_refused() {
        use std::io::Write;
        let tar = tar_with(&[("p-1/", tar::EntryType::Directory, b""), ("p-1/a.c", tar::EntryType::Regular, b"x")]);
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&tar).expect("gz");
            e.finish().expect("gz")
        };
        let xz = {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(&tar).expect("xz");
            e.finish().expect("xz")
        };
        let bz2 = {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(&tar).expect("bz2");
            e.finish().expect("bz2")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in
            [("s.tar.gz", &gz), ("s.tgz", &gz), ("s.tar.xz", &xz), ("s.tar.bz2", &bz2), ("s.tar", &tar)]
        {
            let archive = dir.path().join(name);
            std::fs::write(&archive, bytes).expect("write");
            let out = dir.path().join(format!("{name}.d"));
            assert_eq!(unpack_archive(&archive, name, &out, 1), Ok(1), "{name}");
            assert_eq!(std::fs::read(out.join("a.c")).expect("a.c"), b"x", "{name}");
        }
        // A bzip2 stream named .tar.gz is a clear error, and so is a name of no known kind.
        let archive = dir.path().join("wrong");
        std::fs::write(&archive, &bz2).expect("write");
        assert!(unpack_archive(&archive, "s.tar.gz", &dir.path().join("w"), 1).is_err());
        let e = unpack_archive(&archive, "s.tar.lz", &dir.path().join("l"), 1).expect_err("lzip");
        assert!(e.contains("not a tar archive this builder reads"), "{e}");
    }
}

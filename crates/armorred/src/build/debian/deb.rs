//! Streaming `.deb` extraction: the `ar` container, `control.tar.*` (control paragraph and
//! md5sums) and `data.tar.{xz,zst,gz}` into a [`Tree`]. Paths are normalized and checked (no `..`,
//! no writes through symlinks, no symlink or hard link leaving the root); decompression is
//! bounded; device nodes and FIFOs are refused. Merged-/usr: `/bin`, `/sbin`, `/lib*` entries
//! land under `/usr` as dpkg would through the base-files symlinks.

use std::io::Read;
use std::path::Path;

use super::DebianError;
use crate::fstree::{normalize, resolve_link, Tree};

/// Largest uncompressed member accepted (bytes).
pub const MAX_UNCOMPRESSED: u64 = 2 << 30;

/// What a package contributed.
#[derive(Debug, Clone, Default)]
pub struct DebContents {
    /// The `control` file text.
    pub control: String,
    /// The `md5sums` file text (may be empty).
    pub md5sums: String,
    /// Paths of the regular files and symlinks it installed (`/`-rooted, archive order).
    pub files: Vec<String>,
}

/// A reader that fails (instead of truncating) after `limit` bytes.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!("decompressed data exceeds {MAX_UNCOMPRESSED} bytes")));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn decompressor<'a, R: Read + 'a>(name: &str, r: R) -> Result<Box<dyn Read + 'a>, String> {
    let inner: Box<dyn Read + 'a> = if name.ends_with(".xz") {
        Box::new(xz2::read::XzDecoder::new(r))
    } else if name.ends_with(".zst") {
        Box::new(ruzstd::decoding::StreamingDecoder::new(r).map_err(|e| format!("{name}: bad zstd stream: {e}"))?)
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(r))
    } else if name.ends_with(".tar") {
        Box::new(r)
    } else {
        return Err(format!("unsupported member {name:?}"));
    };
    Ok(Box::new(Bounded { inner, left: MAX_UNCOMPRESSED }))
}

/// The top-level directories that merged-/usr makes links into `/usr`.
const MERGED_USR: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Maps merged-/usr directories to their `/usr` home.
fn merged_usr(path: String) -> String {
    for d in MERGED_USR {
        if path == d || path.starts_with(&format!("{d}/")) {
            return format!("usr/{path}");
        }
    }
    path
}

/// Unpacks the `.deb` at `deb` into `tree`. `label` (usually the package name) names errors.
pub fn unpack(deb: &Path, label: &str, tree: &mut Tree) -> Result<DebContents, DebianError> {
    let file = std::fs::File::open(deb)
        .map_err(|source| DebianError::Io { what: format!("{label} ({})", deb.display()), source })?;
    unpack_reader(std::io::BufReader::new(file), label, tree)
}

/// [`unpack`] over any reader of `.deb` bytes. On error `tree` may hold part of the package:
/// callers discard the tree (nothing is written to disk here).
pub fn unpack_reader<R: Read>(mut r: R, label: &str, tree: &mut Tree) -> Result<DebContents, DebianError> {
    let bad = |detail: String| DebianError::Deb { deb: label.to_string(), detail };
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|_| bad("not a Debian package (too short)".into()))?;
    if &magic != b"!<arch>\n" {
        return Err(bad("not a Debian package (no ar magic)".into()));
    }
    let mut out = DebContents::default();
    let (mut saw_control, mut saw_data) = (false, false);
    loop {
        let mut hdr = [0u8; 60];
        match read_full(&mut r, &mut hdr) {
            Ok(0) => break,
            Ok(60) => {}
            Ok(_) => return Err(bad("truncated ar header".into())),
            Err(e) => return Err(bad(format!("cannot read: {e}"))),
        }
        if &hdr[58..60] != b"`\n" {
            return Err(bad("corrupt ar member header".into()));
        }
        let name = String::from_utf8_lossy(&hdr[0..16]).trim_end().trim_end_matches('/').to_string();
        let size: u64 = String::from_utf8_lossy(&hdr[48..58])
            .trim()
            .parse()
            .map_err(|_| bad(format!("bad size of ar member {name:?}")))?;
        let mut member = (&mut r).take(size);
        if name.starts_with("control.tar") {
            read_control(decompressor(&name, &mut member).map_err(&bad)?, &mut out)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            saw_control = true;
        } else if name.starts_with("data.tar") {
            read_data(decompressor(&name, &mut member).map_err(&bad)?, tree, &mut out)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            saw_data = true;
        }
        // Skip what the member reader left, then the padding byte.
        std::io::copy(&mut member, &mut std::io::sink()).map_err(|e| bad(e.to_string()))?;
        if member.limit() != 0 {
            return Err(bad(format!("truncated ar member {name:?}")));
        }
        if size % 2 == 1 {
            let mut pad = [0u8; 1];
            let _ = read_full(&mut r, &mut pad);
        }
    }
    if !saw_control || !saw_data {
        return Err(bad("missing control.tar or data.tar member".into()));
    }
    Ok(out)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = r.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

fn read_control(r: impl Read, out: &mut DebContents) -> Result<(), String> {
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = normalize(&path)?;
        let mut text = String::new();
        match path.as_str() {
            "control" | "md5sums" => {
                entry.by_ref().take(16 << 20).read_to_string(&mut text).map_err(|e| format!("{path}: {e}"))?;
            }
            _ => continue,
        }
        if path == "control" {
            out.control = text;
        } else {
            out.md5sums = text;
        }
    }
    if out.control.is_empty() {
        return Err("no control file".into());
    }
    Ok(())
}

fn read_data(r: impl Read, tree: &mut Tree, out: &mut DebContents) -> Result<(), String> {
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if raw.starts_with('/') {
            return Err(format!("absolute path {raw:?}"));
        }
        let normalized = normalize(&raw)?;
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        // The merged-/usr links themselves (trixie's base-files ships `bin -> usr/bin`, ...):
        // the layout has them already.
        if kind == T::Symlink && MERGED_USR.contains(&normalized.as_str()) {
            let target = entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
            if target.trim_start_matches('/').trim_start_matches("./") == format!("usr/{normalized}") {
                continue;
            }
        }
        let path = merged_usr(normalized);
        if path.is_empty() {
            continue;
        }
        let mode = entry.header().mode().map_err(|e| e.to_string())? & 0o7777;
        match kind {
            T::Directory => tree.add_dir(&path, mode, (0, 0))?,
            T::Regular | T::Continuous | T::GNUSparse => {
                let mut data = Vec::with_capacity(entry.size().min(64 << 20) as usize);
                entry.read_to_end(&mut data).map_err(|e| format!("{raw}: {e}"))?;
                tree.add_file(&path, mode, (0, 0), data)?;
                out.files.push(format!("/{path}"));
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .ok_or_else(|| format!("symlink {raw:?} without a target"))?;
                tree.add_symlink(&path, &target)?;
                out.files.push(format!("/{path}"));
            }
            T::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .ok_or_else(|| format!("hard link {raw:?} without a target"))?;
                let target = normalize(&target).map_err(|e| format!("hard link {raw:?} escapes the root: {e}"))?;
                let target = merged_usr(resolve_link("", &target).unwrap_or_default());
                tree.copy_file(&target, &path).map_err(|e| format!("hard link {raw:?}: {e}"))?;
                out.files.push(format!("/{path}"));
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => {}
            other => return Err(format!("{raw:?}: unsupported entry type {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a `.deb` in memory from data-tar entries: (path, kind, content-or-target).
    pub(crate) fn make_deb(entries: &[(&str, char, &str)], compression: &str) -> Vec<u8> {
        let tar_of = |items: &[(&str, char, &str)]| {
            let mut b = tar::Builder::new(Vec::new());
            for (path, kind, body) in items {
                let mut h = tar::Header::new_gnu();
                h.set_mode(0o644);
                h.set_mtime(0);
                match kind {
                    'd' => {
                        h.set_entry_type(tar::EntryType::Directory);
                        h.set_size(0);
                        h.set_mode(0o755);
                        b.append_data(&mut h, path, &[][..]).expect("dir");
                    }
                    'l' | 'h' => {
                        h.set_entry_type(if *kind == 'l' { tar::EntryType::Symlink } else { tar::EntryType::Link });
                        h.set_size(0);
                        // Bypass the builder's own path checks to craft hostile archives.
                        set_raw_name(&mut h, path);
                        set_raw_link(&mut h, body);
                        h.set_cksum();
                        b.append(&h, &[][..]).expect("link");
                    }
                    _ => {
                        h.set_entry_type(tar::EntryType::Regular);
                        h.set_size(body.len() as u64);
                        set_raw_name(&mut h, path);
                        h.set_cksum();
                        b.append(&h, body.as_bytes()).expect("file");
                    }
                }
            }
            b.into_inner().expect("tar")
        };
        let control =
            tar_of(&[("./control", 'f', "Package: t\nVersion: 1\nArchitecture: all\n"), ("./md5sums", 'f', "")]);
        let data = tar_of(entries);
        let (data_name, data) = match compression {
            "gz" => {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&data).expect("gz");
                ("data.tar.gz", e.finish().expect("gz"))
            }
            "xz" => {
                use std::io::Write;
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(&data).expect("xz");
                ("data.tar.xz", e.finish().expect("xz"))
            }
            _ => ("data.tar", data),
        };
        let mut out = b"!<arch>\n".to_vec();
        for (name, body) in [("debian-binary", b"2.0\n".to_vec()), ("control.tar", control), (data_name, data)] {
            out.extend(format!("{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", name, 0, 0, 0, 100644, body.len()).as_bytes());
            out.extend(&body);
            if body.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    fn set_raw_name(h: &mut tar::Header, path: &str) {
        let gnu = h.as_gnu_mut().expect("gnu");
        gnu.name = [0; 100];
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
    }

    fn set_raw_link(h: &mut tar::Header, target: &str) {
        let gnu = h.as_gnu_mut().expect("gnu");
        gnu.linkname = [0; 100];
        gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
    }

    #[test]
    fn unpack_table() {
        for comp in ["", "gz", "xz"] {
            let deb = make_deb(
                &[
                    ("./", 'd', ""),
                    ("./usr/bin/", 'd', ""),
                    ("./usr/bin/tool", 'f', "#!x"),
                    ("./lib/x86_64-linux-gnu/libz.so.1", 'f', "elf"),
                    ("./usr/bin/alias", 'l', "tool"),
                    ("./usr/bin/hard", 'h', "./usr/bin/tool"),
                ],
                comp,
            );
            let mut tree = Tree::new();
            let got = unpack_reader(&deb[..], "t", &mut tree).expect(comp);
            assert!(got.control.starts_with("Package: t"));
            assert_eq!(
                got.files,
                ["/usr/bin/tool", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/bin/alias", "/usr/bin/hard"]
            );
            assert!(tree.get("usr/bin/hard").is_some());
        }
    }

    /// trixie's base-files ships the merged-/usr links itself; the layout has them already, and
    /// a link elsewhere at those names is still refused.
    #[test]
    fn merged_usr_links_shipped_by_a_package() {
        let deb = make_deb(
            &[
                ("./usr/bin/", 'd', ""),
                ("./usr/bin/sh", 'f', "x"),
                ("./bin", 'l', "usr/bin"),
                ("./lib64", 'l', "usr/lib64"),
            ],
            "",
        );
        let mut tree = Tree::new();
        crate::build::debian::rootfs::base(&mut tree).expect("layout");
        unpack_reader(&deb[..], "base-files", &mut tree).expect("unpacks");
        assert!(tree.get("usr/bin/sh").is_some());
        assert_eq!(tree.get("bin"), Some(&crate::fstree::Node::Symlink { target: "usr/bin".into() }));
        let deb = make_deb(&[("./usr/bin/", 'd', ""), ("./usr/bin/sh", 'f', "x"), ("./bin", 'l', "/tmp")], "");
        let mut tree = Tree::new();
        crate::build::debian::rootfs::base(&mut tree).expect("layout");
        unpack_reader(&deb[..], "evil", &mut tree).expect_err("a /bin link elsewhere is refused");
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn hostile_debs() {
        let cases: &[(&[(&str, char, &str)], &str)] = &[
            (&[("../../etc/passwd", 'f', "x")], "t: data.tar: path \"../../etc/passwd\" contains `..`"),
            (
                &[("./etc/evil", 'l', "../../../etc/shadow")],
                "t: data.tar: symlink \"etc/evil\" -> \"../../../etc/shadow\" escapes the root",
            ),
            (
                &[("./etc", 'l', "/tmp"), ("./etc/passwd", 'f', "x")],
                "t: data.tar: \"etc/passwd\" would be written through the symlink \"etc\"",
            ),
            (&[("/etc/passwd", 'f', "x")], "t: data.tar: absolute path \"/etc/passwd\""),
            (
                &[("./x", 'h', "../../etc/shadow")],
                "t: data.tar: hard link \"./x\" escapes the root: path \"../../etc/shadow\" contains `..`",
            ),
        ];
        for (entries, want) in cases {
            let deb = make_deb(entries, "");
            let err = unpack_reader(&deb[..], "t", &mut Tree::new()).expect_err("must fail");
            assert_eq!(err.to_string(), *want);
        }
        let err = unpack_reader(&b"garbage!"[..], "t", &mut Tree::new()).expect_err("must fail");
        assert_eq!(err.to_string(), "t: not a Debian package (no ar magic)");
    }
}

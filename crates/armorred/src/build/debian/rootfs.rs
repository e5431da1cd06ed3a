//! Root file system assembly from unpacked packages, without maintainer scripts: merged-/usr
//! links, the accounts files, `/tmp` 1777, tier path excludes, the definition's files, links and
//! directories, an optional CA bundle, and distroless-style `/var/lib/dpkg/status.d/<pkg>` plus
//! `<pkg>.md5sums` so that scanners (syft, grype, trivy) see every package shipped.

use std::path::Path;

use super::deb::{unpack, DebContents};
use crate::fstree::{glob_match, Node, Tree};
use crate::spec::{parse_mode, ImageSpec, TierSpec};

/// A package as installed in the image.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Package name.
    pub name: String,
    /// What its `.deb` held.
    pub contents: DebContents,
}

/// `/etc/passwd`: root and nobody (65534), with no login shell (there is none).
pub const PASSWD: &str =
    "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
/// `/etc/group`.
pub const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";
/// `/etc/nsswitch.conf`: files only, plus DNS for hosts.
pub const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n";

/// `/etc/passwd` and `/etc/group`: root, nobody, and the image's own user when `user`
/// (`UID:GID`) is neither; that account is named after the image.
pub fn accounts(image: &str, user: &str) -> (String, String) {
    let (mut passwd, mut group) = (PASSWD.to_string(), GROUP.to_string());
    let name: String = image
        .rsplit('/')
        .next()
        .unwrap_or("app")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if let Some((uid, gid)) = user.split_once(':') {
        if uid != "0" && uid != "65534" {
            passwd.push_str(&format!("{name}:x:{uid}:{gid}:{name}:/nonexistent:/usr/sbin/nologin\n"));
        }
        if gid != "0" && gid != "65534" {
            group.push_str(&format!("{name}:x:{gid}:\n"));
        }
    }
    (passwd, group)
}

/// Lays out the base directories and merged-/usr links before packages are unpacked.
pub fn base(tree: &mut Tree) -> Result<(), String> {
    for d in ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "var/lib", "run", "root"] {
        tree.add_dir(d, 0o755, (0, 0))?;
    }
    tree.add_dir("root", 0o700, (0, 0))?;
    tree.add_dir("tmp", 0o1777, (0, 0))?;
    for (link, target) in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")] {
        tree.add_symlink(link, target)?;
    }
    Ok(())
}

/// Unpacks each `(name, .deb path)` in the given order into `tree`.
pub fn install(tree: &mut Tree, debs: &[(String, std::path::PathBuf)]) -> Result<Vec<Installed>, super::DebianError> {
    debs.iter().map(|(name, path)| Ok(Installed { name: name.clone(), contents: unpack(path, name, tree)? })).collect()
}

/// Adds the installed tree of a source build (`destdir`) to `tree`, except paths matching
/// `exclude` (`/`-rooted globs). Owners become root; symlinks must stay inside the root.
/// Returns the `/`-rooted paths of the regular files added.
pub fn add_built(tree: &mut Tree, destdir: &Path, exclude: &[String]) -> Result<Vec<String>, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(destdir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", destdir.display()))?;
        let rel = entry.path().strip_prefix(destdir).map_err(|e| e.to_string())?;
        let rel = rel.to_str().ok_or_else(|| format!("{} is not UTF-8", rel.display()))?;
        let abs = format!("/{rel}");
        if exclude.iter().any(|g| glob_match(g, &abs)) {
            continue;
        }
        let meta = entry.path().symlink_metadata().map_err(|e| format!("cannot stat {abs}: {e}"))?;
        let mode = meta.permissions().mode() & 0o7777;
        let ft = meta.file_type();
        if ft.is_dir() {
            tree.add_dir(rel, mode, (0, 0))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(|e| format!("cannot read link {abs}: {e}"))?;
            tree.add_symlink(rel, &target.to_string_lossy())?;
        } else if ft.is_file() {
            let data = std::fs::read(entry.path()).map_err(|e| format!("cannot read {abs}: {e}"))?;
            tree.add_file(rel, mode, (0, 0), data)?;
            files.push(abs);
        } else {
            return Err(format!("{abs}: the build installed a special file"));
        }
    }
    Ok(files)
}

/// Applies the tier's path excludes, then the definition's directories, files and symlinks,
/// the CA bundle, the accounts files and the package database. `dir` is the definition's
/// directory (for `[[files]].source`).
pub fn finish(
    tree: &mut Tree,
    spec: &ImageSpec,
    tier: &TierSpec,
    dir: &Path,
    installed: &[Installed],
) -> Result<(), String> {
    tree.remove_matching(&tier.exclude_paths, &tier.keep_paths);
    for d in &spec.directories {
        let mode = d.mode.as_deref().and_then(parse_mode).unwrap_or(0o755);
        tree.add_dir(&d.path, mode, (d.uid, d.gid))?;
    }
    for f in spec.files.iter().chain(&tier.files) {
        let mode = f.mode.as_deref().and_then(parse_mode).unwrap_or(0o644);
        match (&f.source, &f.copy_from) {
            (Some(src), _) => {
                let data = crate::spec::read_definition_file(dir, src)
                    .map_err(|e| format!("[[files]] {}: source {}: {e}", f.path, src.display()))?;
                tree.add_file(&f.path, mode, (0, 0), data)?;
            }
            (None, Some(from)) => tree.copy_file(from, &f.path)?,
            (None, None) => return Err(format!("files entry {} has no source", f.path)),
        }
    }
    for l in spec.symlinks.iter().chain(&tier.symlinks) {
        tree.add_symlink(&l.path, &l.target)?;
    }
    if spec.image.ca_certificates {
        ca_bundle(tree)?;
    }
    let (passwd, group) = accounts(&spec.name, &spec.image.user);
    tree.add_file("etc/passwd", 0o644, (0, 0), passwd.into_bytes())?;
    tree.add_file("etc/group", 0o644, (0, 0), group.into_bytes())?;
    tree.add_file("etc/nsswitch.conf", 0o644, (0, 0), NSSWITCH.into())?;
    tree.add_dir("tmp", 0o1777, (0, 0))?;
    if tree.get("etc/os-release").is_none() && tree.get("usr/lib/os-release").is_none() {
        let suite = spec.debian.suites.first().map(String::as_str).unwrap_or_default();
        if let Some(text) = os_release(suite) {
            tree.add_file("etc/os-release", 0o644, (0, 0), text.into_bytes())?;
        }
    }
    status_d(tree, installed)
}

/// `/etc/os-release` for a Debian release, as base-files writes it (without the URLs), so that
/// scanners (ours, syft, grype, trivy) know which release the packages come from: without it,
/// Debian packages get no distro, no purl namespace, and no release to match advisories for.
/// Written only when no package installed one; None for an unknown suite.
pub(crate) fn os_release(suite: &str) -> Option<String> {
    let codename = suite.split('-').next()?;
    let version = crate::distro::debian_version(codename)?;
    Some(format!(
        "PRETTY_NAME=\"Debian GNU/Linux {version} ({codename})\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"{version}\"\nVERSION=\"{version} ({codename})\"\nVERSION_CODENAME={codename}\nID=debian\n"
    ))
}

/// `/etc/ssl/certs/ca-certificates.crt`: every `/usr/share/ca-certificates/**.crt` in path
/// order, as `update-ca-certificates` builds it with the default configuration.
fn ca_bundle(tree: &mut Tree) -> Result<(), String> {
    let mut bundle = Vec::new();
    for (path, node) in tree.entries() {
        if let Node::File { data, .. } = node {
            if glob_match("usr/share/ca-certificates/**.crt", path) {
                bundle.extend_from_slice(data);
                if !bundle.ends_with(b"\n") {
                    bundle.push(b'\n');
                }
            }
        }
    }
    if bundle.is_empty() {
        return Err("ca_certificates = true but no /usr/share/ca-certificates/**.crt is installed (add the ca-certificates package)".into());
    }
    tree.add_file("etc/ssl/certs/ca-certificates.crt", 0o644, (0, 0), bundle)
}

/// Writes the distroless package database.
fn status_d(tree: &mut Tree, installed: &[Installed]) -> Result<(), String> {
    tree.add_dir("var/lib/dpkg/status.d", 0o755, (0, 0))?;
    for pkg in installed {
        let mut control = pkg.contents.control.trim_end().to_string();
        control.push('\n');
        tree.add_file(&format!("var/lib/dpkg/status.d/{}", pkg.name), 0o644, (0, 0), control.into_bytes())?;
        let md5: String = pkg
            .contents
            .md5sums
            .lines()
            .filter(|l| l.split_once("  ").is_some_and(|(_, p)| tree.get(&merged(p.trim_start_matches('/'))).is_some()))
            .map(|l| {
                let (h, p) = l.split_once("  ").unwrap_or((l, ""));
                format!("{h}  {}\n", merged(p.trim_start_matches('/')))
            })
            .collect();
        tree.add_file(&format!("var/lib/dpkg/status.d/{}.md5sums", pkg.name), 0o644, (0, 0), md5.into_bytes())?;
    }
    Ok(())
}

fn merged(p: &str) -> String {
    for d in ["bin/", "sbin/", "lib/", "lib32/", "lib64/", "libx32/"] {
        if p.starts_with(d) {
            return format!("usr/{p}");
        }
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_layout() {
        let mut t = Tree::new();
        base(&mut t).expect("base");
        assert_eq!(t.get("tmp"), Some(&Node::Dir { mode: 0o1777, owner: (0, 0) }));
        assert_eq!(t.get("lib64"), Some(&Node::Symlink { target: "usr/lib64".into() }));
        assert_eq!(merged("lib/x86_64-linux-gnu/libc.so.6"), "usr/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(merged("usr/sbin/nginx"), "usr/sbin/nginx");
    }

    #[test]
    fn accounts_table() {
        assert_eq!(accounts("nginx", "65534:65534"), (PASSWD.to_string(), GROUP.to_string()));
        let (p, g) = accounts("web/App", "1000:1001");
        assert!(p.ends_with("app:x:1000:1001:app:/nonexistent:/usr/sbin/nologin\n"), "{p}");
        assert!(g.ends_with("app:x:1001:\n"), "{g}");
    }

    #[test]
    fn status_d_lists_only_shipped_files() {
        let mut t = Tree::new();
        t.add_file("usr/sbin/nginx", 0o755, (0, 0), b"x".to_vec()).expect("f");
        let pkg = Installed {
            name: "nginx".into(),
            contents: DebContents {
                control: "Package: nginx\nVersion: 1\n\n".into(),
                md5sums: "aa  usr/sbin/nginx\nbb  usr/share/doc/nginx/changelog.gz\n".into(),
                files: vec![],
            },
        };
        status_d(&mut t, &[pkg]).expect("status.d");
        let Some(Node::File { data, .. }) = t.get("var/lib/dpkg/status.d/nginx.md5sums") else { panic!("no md5sums") };
        assert_eq!(String::from_utf8_lossy(data), "aa  usr/sbin/nginx\n");
        let Some(Node::File { data, .. }) = t.get("var/lib/dpkg/status.d/nginx") else { panic!("no status") };
        assert_eq!(String::from_utf8_lossy(data), "Package: nginx\nVersion: 1\n");
    }
}

#[cfg(test)]
mod os_release_tests {
    use super::os_release;

    #[test]
    fn os_release_names_the_release_scanners_match_against() {
        let text = os_release("trixie").expect("trixie is known");
        for line in ["ID=debian", "VERSION_ID=\"13\"", "VERSION_CODENAME=trixie"] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        assert_eq!(os_release("bookworm-security").as_deref().map(|t| t.contains("VERSION_ID=\"12\"")), Some(true));
        assert_eq!(os_release("sid"), None, "no release number to claim");
    }
}

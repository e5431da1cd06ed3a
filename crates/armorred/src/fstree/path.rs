//! The one path normalizer and the one lexical in-root symlink resolver, for both sides: the
//! builder's checked insertions ([`normalize`], strict: `..` is refused) and the image reader's
//! tar paths ([`clean`], as the runtimes read them: `a/../b` is `/b`), and [`resolve_link`]
//! for the target of a link inside the root.
//!
//! Two spellings of one path: a [`super::Tree`] key has no leading `/` (`usr/bin/x`, `""` for
//! the root), an [`super::Entry`] path has one (`/usr/bin/x`); [`abs`] and [`key`] convert.

/// What [`clean`] makes of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clean {
    /// The root itself (`./`, `/`).
    Root,
    /// `/a/b`.
    Path(String),
    /// The path climbs above the root (`../x`, `a/../../x`).
    Escapes,
}

impl Clean {
    /// The cleaned `/a/b` path; `None` for the root or a path that climbs above it.
    pub fn into_path(self) -> Option<String> {
        match self {
            Clean::Path(p) => Some(p),
            Clean::Root | Clean::Escapes => None,
        }
    }
}

/// How `..` is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DotDot {
    /// Refused: a definition or a package must not say it.
    Refuse,
    /// Removes the component before it, as the runtimes clean a tar path.
    Pop,
}

/// Why a path could not be normalized.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    DotDot,
    Nul,
    Escapes,
}

/// The components of `parts` (already split pieces, read in order) after `""` and `.` are
/// dropped and `..` is taken as `dotdot` says. The one normalizer behind [`normalize`],
/// [`clean`] and [`resolve_link`].
fn components<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
    dotdot: DotDot,
    refuse_nul: bool,
) -> Result<Vec<&'a str>, Refused> {
    let mut parts = Vec::new();
    for comp in pieces {
        match comp {
            "" | "." => {}
            ".." if dotdot == DotDot::Refuse => return Err(Refused::DotDot),
            ".." => {
                if parts.pop().is_none() {
                    return Err(Refused::Escapes);
                }
            }
            c if refuse_nul && c.contains('\0') => return Err(Refused::Nul),
            c => parts.push(c),
        }
    }
    Ok(parts)
}

/// Normalizes a path from a definition or a package for the builder: strips `./` and leading
/// `/`, collapses `//` and `.`, rejects `..` and NUL. Returns a [`super::Tree`] key (`""` for
/// the root).
pub fn normalize(path: &str) -> Result<String, String> {
    match components(path.split('/'), DotDot::Refuse, true) {
        Ok(parts) => Ok(parts.join("/")),
        Err(Refused::Nul) => Err(format!("path {path:?} contains NUL")),
        Err(Refused::DotDot | Refused::Escapes) => Err(format!("path {path:?} contains `..`")),
    }
}

/// Cleans a tar path lexically as the runtimes do (`a/./b//c/../d` is `/a/b/d`).
pub fn clean(raw: &str) -> Clean {
    match components(raw.split('/'), DotDot::Pop, false) {
        Err(_) => Clean::Escapes,
        Ok(parts) if parts.is_empty() => Clean::Root,
        Ok(parts) => {
            let mut out = String::with_capacity(raw.len() + 1);
            for p in parts {
                out.push('/');
                out.push_str(p);
            }
            Clean::Path(out)
        }
    }
}

/// Resolves `target` of a symlink at `link` (a key, or an absolute path) lexically: a relative
/// target from the link's directory, an absolute one from the root. Returns the key of what it
/// names (`""` for the root); `None` when it climbs above the root.
pub fn resolve_link(link: &str, target: &str) -> Option<String> {
    let mut from: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        from.extend(link.split('/'));
        from.pop();
    }
    components(from.into_iter().chain(target.split('/')), DotDot::Pop, false).ok().map(|p| p.join("/"))
}

/// The entry path (`/a/b`, `/` for the root) of a tree key.
pub fn abs(key: &str) -> String {
    format!("/{key}")
}

/// The tree key (`a/b`, `""` for the root) of an entry path.
pub fn key(abs: &str) -> &str {
    abs.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        for (input, want) in [
            ("./usr/bin/x", Ok("usr/bin/x")),
            ("/etc//passwd", Ok("etc/passwd")),
            ("./", Ok("")),
            ("a/./b/", Ok("a/b")),
            ("../etc/passwd", Err(())),
            ("usr/../../x", Err(())),
            ("a\0b", Err(())),
        ] {
            assert_eq!(normalize(input).map_err(|_| ()), want.map(str::to_string), "{input}");
        }
        assert_eq!(normalize("a/../b"), Err("path \"a/../b\" contains `..`".to_string()));
    }

    #[test]
    fn clean_table() {
        for (input, want) in [
            ("./usr/bin/x", Clean::Path("/usr/bin/x".into())),
            ("/etc//passwd", Clean::Path("/etc/passwd".into())),
            // Runtimes clean `a/../b` to `b`: so do we.
            ("usr/../var/lib/dpkg/status", Clean::Path("/var/lib/dpkg/status".into())),
            ("./", Clean::Root),
            ("a/..", Clean::Root),
            ("../x", Clean::Escapes),
            ("a/../../etc", Clean::Escapes),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
        assert_eq!(clean("./").into_path(), None);
        assert_eq!(clean("x/").into_path().as_deref(), Some("/x"));
    }

    #[test]
    fn links_table() {
        for (link, target, want) in [
            ("usr/share/nginx/modules", "../../lib/nginx/modules", Some("usr/lib/nginx/modules")),
            ("lib64", "usr/lib64", Some("usr/lib64")),
            ("var/log/nginx/access.log", "/dev/stdout", Some("dev/stdout")),
            ("/usr/bin/sh", "dash", Some("usr/bin/dash")),
            ("", "usr/bin", Some("usr/bin")),
            ("a/b", "..", Some("")),
            ("etc/x", "../../etc/shadow", None),
            ("a", "..", None),
        ] {
            assert_eq!(resolve_link(link, target).as_deref(), want, "{link} -> {target}");
        }
        assert_eq!(key(&abs("usr/bin")), "usr/bin");
        assert_eq!(abs(key("/")), "/");
    }
}

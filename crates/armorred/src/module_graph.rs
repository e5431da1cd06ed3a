//! The import graph of a module tree, read from the source: every module reachable through
//! `mod` lines from an entry file (test modules left out), the paths its code names (`use
//! super::x`, `use crate::a::x::Y`, `super::super::x::f()`, `child::Y`, grouped `use` trees),
//! and the graph of the tree's top-level modules that these paths make. `vuln`'s own test
//! (`vuln/module_graph.rs`) checks vuln's graph; the test here checks the crate's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Rust tokens, without comments, string, byte-string and char literals (lifetimes kept as
/// plain identifiers, which name no module).
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_start = |ch: char| ch.is_alphabetic() || ch == '_';
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(&c, i + 1);
        } else if (ch == 'r' || ch == 'b') && raw_string_at(&c, i).is_some() {
            let (start, hashes) = raw_string_at(&c, i).unwrap_or((i, 0));
            i = start;
            // Up to `"` followed by `hashes` `#`.
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if ch == 'b' && next == Some('"') {
            i = skip_string(&c, i + 2);
        } else if ch == 'b' && next == Some('\'') {
            i = skip_char(&c, i + 1);
        } else if ch == '\'' {
            i = skip_char(&c, i);
        } else if ident_start(ch) {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::PathSep);
            i += 2;
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Punct('0'));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// Past the closing `"` of a string whose body starts at `i`.
fn skip_string(c: &[char], mut i: usize) -> usize {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// At a `'`: past a char literal, or past the `'` of a lifetime.
fn skip_char(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        j + 1
    } else if c.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        i + 1
    }
}

/// `r"`, `r#"`, `br"`, ... at `i`: where the body starts and how many `#`.
fn raw_string_at(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if c[j] == 'b' {
        j += 1;
    }
    if c.get(j) != Some(&'r') || (i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')) {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some((j + 1, hashes))
}

/// The tokens without the items under `#[cfg(test)]`.
fn strip_tests(toks: Vec<Tok>) -> Vec<Tok> {
    let cfg_test: Vec<Tok> = lex("#[cfg(test)]");
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i..].starts_with(&cfg_test) {
            i += cfg_test.len();
            // Further attributes, then the item up to its `;` or its matching `}`.
            let mut depth = 0i32;
            while i < toks.len() {
                match &toks[i] {
                    Tok::Punct('(' | '[') => depth += 1,
                    Tok::Punct(')' | ']') => depth -= 1,
                    Tok::Punct(';') if depth == 0 => {
                        i += 1;
                        break;
                    }
                    Tok::Punct('{') if depth == 0 => {
                        let mut braces = 0;
                        while i < toks.len() {
                            match toks[i] {
                                Tok::Punct('{') => braces += 1,
                                Tok::Punct('}') => {
                                    braces -= 1;
                                    if braces == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                            i += 1;
                        }
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// The leaf paths of the `use` tree starting at `toks[i]` (after `use`), and where it ends.
fn use_paths(toks: &[Tok], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(id)) if id == "as" => {
                i += 2; // `as name`
            }
            Some(Tok::Ident(id)) => {
                if id != "self" || path.is_empty() {
                    path.push(id.clone());
                }
                i += 1;
            }
            Some(Tok::PathSep) => i += 1,
            Some(Tok::Punct('*')) => i += 1,
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    i = use_paths(toks, i, path.clone(), out);
                    match toks.get(i) {
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Punct('}')) => {
                            i += 1;
                            break;
                        }
                        _ => return i,
                    }
                    if toks.get(i) == Some(&Tok::Punct('}')) {
                        i += 1;
                        break;
                    }
                }
                return i;
            }
            _ => {
                out.push(path);
                return i;
            }
        }
    }
}

/// One module's file and what its code names.
pub(crate) struct ModFile {
    path: Vec<String>,
    pub(crate) children: BTreeSet<String>,
    pub(crate) paths: Vec<Vec<String>>,
}

pub(crate) fn read_module(file: &Path, path: Vec<String>) -> ModFile {
    let src = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let toks = strip_tests(lex(&src));
    let mut children = BTreeSet::new();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let prev_sep = i > 0 && toks[i - 1] == Tok::PathSep;
        match &toks[i] {
            Tok::Ident(id) if id == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct(';'))) = (toks.get(i + 1), toks.get(i + 2)) {
                    children.insert(name.clone());
                }
                i += 1;
            }
            Tok::Ident(id) if id == "use" && !prev_sep => {
                i = use_paths(&toks, i + 1, Vec::new(), &mut paths);
            }
            Tok::Ident(id) if !prev_sep && toks.get(i + 1) == Some(&Tok::PathSep) => {
                let mut p = vec![id.clone()];
                i += 1;
                while let (Some(Tok::PathSep), Some(Tok::Ident(next))) = (toks.get(i), toks.get(i + 1)) {
                    p.push(next.clone());
                    i += 2;
                }
                paths.push(p);
            }
            _ => i += 1,
        }
    }
    ModFile { path, children, paths }
}

/// Every module reachable through `mod` lines from `entry` (a `mod.rs` or `lib.rs` whose
/// children live in `dir`).
fn modules(entry: &Path, dir: &Path) -> Vec<ModFile> {
    let mut out = Vec::new();
    let mut todo = vec![(entry.to_path_buf(), dir.to_path_buf(), Vec::<String>::new())];
    while let Some((file, dir, path)) = todo.pop() {
        let m = read_module(&file, path.clone());
        for child in &m.children {
            let (flat, nested) = (dir.join(format!("{child}.rs")), dir.join(child).join("mod.rs"));
            let mut p = path.clone();
            p.push(child.clone());
            if flat.is_file() {
                todo.push((flat, dir.join(child), p));
            } else if nested.is_file() {
                todo.push((nested, dir.join(child), p));
            } else {
                panic!("{}: no file for `mod {child}`", file.display());
            }
        }
        out.push(m);
    }
    out
}

/// The module of the tree a path names, if any; the tree is `crate::<prefix>`.
fn resolve(from: &ModFile, path: &[String], prefix: &[&str], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let (mut base, rest): (Vec<String>, &[String]) = match path.first().map(String::as_str)? {
        "crate" => {
            let inside = path.len() > prefix.len() && path[1..=prefix.len()].iter().zip(prefix).all(|(a, b)| a == b);
            (inside.then(Vec::new)?, &path[1 + prefix.len()..])
        }
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let keep = from.path.len().checked_sub(ups)?;
            (from.path[..keep].to_vec(), &path[ups..])
        }
        "self" => (from.path.clone(), &path[1..]),
        first if from.children.contains(first) => (from.path.clone(), path),
        _ => return None,
    };
    for seg in rest {
        let mut next = base.clone();
        next.push(seg.clone());
        if !known.contains(&next) {
            break;
        }
        base = next;
    }
    Some(base)
}

/// Every module of the tree whose entry file is `entry` (relative to `src/`).
fn read_tree(entry: &str) -> Vec<ModFile> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let entry = src.join(entry);
    let dir = entry.parent().map(Path::to_path_buf).unwrap_or(src);
    modules(&entry, &dir)
}

/// The edges of a graph: module → module it names → an example of a path that makes the edge.
pub(crate) type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Edges between the top-level modules of the tree `crate::<prefix>` (its entry file `entry`,
/// relative to `src/`; the entry itself is the node `root_name`), each with an example path.
/// Paths in `ignored` (`(module, path)`) make no edge.
pub(crate) fn graph(entry: &str, prefix: &[&str], root_name: &str, ignored: &[(&str, &str)]) -> Graph {
    let mods = read_tree(entry);
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let top = |path: &[String]| path.first().cloned().unwrap_or_else(|| root_name.to_string());
    let mut g = Graph::new();
    for m in &mods {
        let from = top(&m.path);
        g.entry(from.clone()).or_default();
        for p in &m.paths {
            if ignored.iter().any(|(module, path)| *module == from && *path == p.join("::")) {
                continue;
            }
            if let Some(target) = resolve(m, p, prefix, &known) {
                let to = top(&target);
                if to != from {
                    let name: Vec<&str> = prefix.iter().copied().chain(m.path.iter().map(String::as_str)).collect();
                    g.entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_insert_with(|| format!("{} names {}", name.join("::"), p.join("::")));
                }
            }
        }
    }
    g
}

/// A cycle of the graph, if it has one.
pub(crate) fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(n: &str, g: &Graph, state: &mut BTreeMap<String, u8>, stack: &mut Vec<String>) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for next in g.get(n).into_iter().flat_map(|e| e.keys()) {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == next).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Every module `from` reaches.
pub(crate) fn reachable(g: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(n) = todo.pop() {
        for next in g.get(&n).into_iter().flat_map(|e| e.keys()) {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// The modules that lie on a cycle, grouped: each group is a strongly connected component of
/// more than one module (every module of it reaches every other).
pub(crate) fn cycles(g: &Graph) -> Vec<BTreeSet<String>> {
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for n in g.keys() {
        if groups.iter().any(|c| c.contains(n)) {
            continue;
        }
        let from_n = reachable(g, n);
        if !from_n.contains(n) {
            continue;
        }
        let group: BTreeSet<String> = from_n.into_iter().filter(|m| reachable(g, m).contains(n)).collect();
        groups.push(group);
    }
    groups
}

/// One shortest path of edges from `from` to `to`, each with the source path that makes it.
fn why(g: &Graph, from: &str, to: &str) -> Vec<String> {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut todo = std::collections::VecDeque::from([from.to_string()]);
    while let Some(n) = todo.pop_front() {
        for next in g.get(&n).into_iter().flat_map(|e| e.keys()) {
            if !prev.contains_key(next) {
                prev.insert(next.clone(), n.clone());
                todo.push_back(next.clone());
            }
        }
        if prev.contains_key(to) {
            break;
        }
    }
    let mut out = Vec::new();
    let mut at = to.to_string();
    while let Some(p) = prev.get(&at) {
        out.push(g[p][&at].clone());
        if p == from {
            break;
        }
        at = p.clone();
    }
    out.reverse();
    out
}

/// Paths that make an edge only until a change on another branch lands: `(module, path)`
/// (none now).
const PENDING: &[(&str, &str)] = &[];

/// `oci`, `build` and `spec` lie on no import cycle among the crate's top-level modules. Other
/// cycles may remain (`cycles(&g)` lists them): when this was written, one, `crate`, `error`,
/// `pipeline`, `report`, `vuln`: the crate error gathers every module's error, and `pipeline`,
/// `report` (`ReportError` boxes a `crate::Error`) and `vuln::sbom` (returns `crate::Result`)
/// name it back.
#[test]
fn oci_build_and_spec_lie_on_no_import_cycle() {
    let g = graph("lib.rs", &[], "crate", PENDING);
    // The reader sees the edges that must be there (else the test would pass on nothing).
    for (from, to) in [
        ("build", "oci"),
        ("build", "spec"),
        ("oci", "fstree"),
        ("spec", "fstree"),
        ("source", "fstree"),
        ("crate", "error"),
    ] {
        assert!(g.get(from).is_some_and(|e| e.contains_key(to)), "expected {from} -> {to} in {g:#?}");
    }
    // Each pending exception still names something; when it no longer does, delete it.
    let mods = read_tree("lib.rs");
    for (module, path) in PENDING {
        let seen = mods
            .iter()
            .any(|m| m.path.first().is_some_and(|t| t == module) && m.paths.iter().any(|p| p.join("::") == *path));
        assert!(seen, "{module} no longer names {path}: remove it from PENDING");
    }
    for group in cycles(&g) {
        for m in ["oci", "build", "spec"] {
            if group.contains(m) {
                let other = group.iter().find(|o| *o != m).map(String::as_str).unwrap_or(m);
                let mut how = why(&g, m, other);
                how.extend(why(&g, other, m));
                panic!("{m} is on an import cycle with {group:?}:\n{}", how.join("\n"));
            }
        }
    }
    // The file-tree model (imported by both the writer side and the reader, `source`), the tier
    // and the Debian release table depend on no other module.
    for leaf in ["fstree", "tier", "distro"] {
        assert!(g[leaf].is_empty(), "{leaf} depends on {:#?}", g[leaf]);
    }
}

#[test]
fn the_reader_sees_grouped_nested_and_inline_paths() {
    let src = r##"
        use super::{a, b::{C, d::E}, self};
        use crate::vuln::model::Match as M; // use super::commented
        fn f() { let s = "super::in_a_string"; let r = r#"crate::vuln::raw"#; super::super::x::f(); child::g(); }
        mod child;
        #[cfg(test)]
        mod tests { use crate::vuln::scan::X; }
        #[cfg(test)]
        mod t2;
    "##;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("m.rs");
    std::fs::write(&file, src).expect("write");
    let m = read_module(&file, vec!["matcher".into(), "m".into()]);
    assert_eq!(m.children, ["child".to_string()].into());
    let got: Vec<String> = m.paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        got,
        [
            "super::a",
            "super::b::C",
            "super::b::d::E",
            "super",
            "crate::vuln::model::Match",
            "super::super::x::f",
            "child::g"
        ]
    );
}

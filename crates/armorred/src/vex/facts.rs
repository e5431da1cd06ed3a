//! Gathers [`ImageFacts`] for the decision engine from what the pipeline has of one image: its
//! SBOM, its checksec, its config, its build record's compiled-out features, and a few files
//! read from the image ([`ImageFiles::read`]): dpkg's `status.d/<pkg>.md5sums` (which files each
//! package owns), nginx's configuration (`load_module` lines) and modules directories, and every
//! symlink (to resolve the entrypoint).

use std::collections::BTreeMap;
use std::io::Read;

use super::decide::{Component, ElfFile, ImageFacts, LoadedModule, Product, FACTS_SCHEMA};
use crate::elf::ScanReport;
use crate::fstree::{EntryKind, Index};
use crate::oci::spec::RuntimeConfig;
use crate::report::CompiledOut;
use crate::sbom::Sbom;
use crate::source::{Image, Limits, SourceError};

/// Where nginx looks for dynamic modules (Debian's `--modules-path`, and its prefix's).
pub const NGINX_MODULE_DIRS: [&str; 2] = ["/usr/lib/nginx/modules/", "/usr/share/nginx/modules/"];
/// nginx's prefix on Debian (a relative `load_module` path is read from it).
const NGINX_PREFIX: &str = "/usr/share/nginx/";
/// Bound on one file read for the facts (an md5sums list, a configuration file).
const MAX_FACT_FILE: u64 = 4 << 20;

/// The files of an image the facts need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFiles {
    /// Package -> the files its `status.d/<pkg>.md5sums` lists.
    pub owned: BTreeMap<String, Vec<String>>,
    /// `/etc/nginx/**.conf` -> its text.
    pub nginx_conf: BTreeMap<String, String>,
    /// Every shared object in nginx's module directories.
    pub nginx_modules: Vec<String>,
    /// Every symlink -> its target.
    pub links: BTreeMap<String, String>,
}

fn md5sums_package(path: &str) -> Option<&str> {
    let name = path
        .strip_prefix("/var/lib/dpkg/status.d/")
        .or_else(|| path.strip_prefix("/usr/lib/dpkg/status.d/"))?
        .strip_suffix(".md5sums")?;
    (!name.contains('/')).then_some(name)
}

impl ImageFiles {
    /// Reads them from the image (one pass over the layers, only those files).
    pub fn read(image: &Image, tree: &Index, limits: &Limits) -> Result<Self, SourceError> {
        let mut out = Self::default();
        for e in tree.entries() {
            match e.kind {
                EntryKind::Symlink => {
                    if let Some(t) = &e.link {
                        out.links.insert(e.path.clone(), t.clone());
                    }
                }
                EntryKind::File
                    if e.path.ends_with(".so") && NGINX_MODULE_DIRS.iter().any(|d| e.path.starts_with(d)) =>
                {
                    out.nginx_modules.push(e.path.clone());
                }
                _ => {}
            }
        }
        let want = |e: &crate::fstree::Entry| {
            e.kind == EntryKind::File
                && e.size <= MAX_FACT_FILE
                && (md5sums_package(&e.path).is_some()
                    || (e.path.starts_with("/etc/nginx/") && e.path.ends_with(".conf")))
        };
        let mut visit = |e: &crate::fstree::Entry, r: &mut dyn Read| -> Result<(), SourceError> {
            let mut bytes = Vec::new();
            r.take(MAX_FACT_FILE)
                .read_to_end(&mut bytes)
                .map_err(|source| SourceError::Io { path: e.path.clone().into(), source })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(pkg) = md5sums_package(&e.path) {
                let files = text
                    .lines()
                    .filter_map(|l| l.split_once(char::is_whitespace))
                    .map(|(_, p)| format!("/{}", p.trim().trim_start_matches('/')))
                    .collect();
                // `libfoo:amd64.md5sums` names the package `libfoo`.
                let name = pkg.split(':').next().unwrap_or(pkg);
                out.owned.insert(name.to_owned(), files);
            } else {
                out.nginx_conf.insert(e.path.clone(), text);
            }
            Ok(())
        };
        image.walk(tree, limits, &want, &mut visit)?;
        Ok(out)
    }
}

/// Follows symlinks (lexically, at most 40) to the path a program is at.
fn resolve(links: &BTreeMap<String, String>, path: &str) -> String {
    let mut p = path.to_owned();
    for _ in 0..40 {
        // Resolve every directory component too (`/sbin` -> `usr/sbin`).
        let mut changed = false;
        let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
        for i in 1..=parts.len() {
            let prefix = format!("/{}", parts[..i].join("/"));
            if let Some(t) = links.get(&prefix) {
                let Some(key) = crate::fstree::resolve_link(&prefix, t) else { return p };
                let rest = parts[i..].join("/");
                p = if rest.is_empty() { format!("/{key}") } else { format!("/{key}/{rest}") };
                p = p.replace("//", "/");
                changed = true;
                break;
            }
        }
        if !changed {
            break;
        }
    }
    p
}

/// The program the image runs: the entrypoint's first word, else the command's, looked up in
/// the config's `PATH` when it has no slash, symlinks followed.
pub fn entrypoint(config: Option<&RuntimeConfig>, files: &ImageFiles, elf: &[ElfFile]) -> Vec<String> {
    let Some(c) = config else { return Vec::new() };
    let first = c.entrypoint.as_ref().and_then(|e| e.first()).or_else(|| c.cmd.as_ref().and_then(|e| e.first()));
    let Some(program) = first else { return Vec::new() };
    let path_var = c
        .env
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_owned();
    let candidates: Vec<String> = if program.contains('/') {
        vec![program.clone()]
    } else {
        path_var
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| format!("{}/{program}", d.trim_end_matches('/')))
            .collect()
    };
    for cand in &candidates {
        let real = resolve(&files.links, cand);
        if elf.iter().any(|f| f.path == real) {
            return vec![real];
        }
    }
    // Not an ELF file (a script, or missing): name it as given, the engine says it cannot decide.
    vec![candidates.first().cloned().unwrap_or_else(|| program.clone())]
}

/// `load_module` lines of nginx's configuration (every `.conf` under `/etc/nginx`, whether
/// included or not: a superset), each resolved against nginx's prefix; with every module in
/// nginx's module directories (present modules can be enabled by a configuration change, so
/// they count as loaded).
pub fn nginx_modules(files: &ImageFiles) -> Vec<LoadedModule> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (conf, text) in &files.nginx_conf {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some(rest) = line.strip_prefix("load_module") else { continue };
            if !rest.starts_with(char::is_whitespace) {
                continue;
            }
            let arg = rest.trim().trim_end_matches(';').trim().trim_matches(['"', '\'']);
            let path = if arg.starts_with('/') { arg.to_owned() } else { format!("{NGINX_PREFIX}{arg}") };
            out.entry(resolve(&files.links, &path)).or_insert_with(|| format!("load_module in {conf} line {}", n + 1));
        }
    }
    for m in &files.nginx_modules {
        out.entry(m.clone()).or_insert_with(|| "a module in nginx's modules directory".into());
    }
    out.into_iter().map(|(path, by)| LoadedModule { path, by }).collect()
}

/// The ELF facts of a checksec scan.
pub fn elf_files(checksec: &ScanReport) -> Vec<ElfFile> {
    checksec
        .reports()
        .map(|(p, r)| ElfFile {
            path: p.to_string_lossy().into_owned(),
            soname: r.soname.clone(),
            needed: r.needed.clone(),
            dlopen: r.dlopen,
            safestack: r.safestack.present,
            cfi: r.cfi.present,
            cet_ibt: r.cet.ibt,
            cet_shstk: r.cet.shstk,
        })
        .collect()
}

/// Everything the engine needs, from the pipeline's analysis of one image.
pub fn gather(
    product: Product,
    sbom: &Sbom,
    files: &ImageFiles,
    checksec: &ScanReport,
    config: Option<&RuntimeConfig>,
    compiled_out: Vec<CompiledOut>,
) -> ImageFacts {
    let elf = elf_files(checksec);
    let components = sbom
        .packages
        .iter()
        .filter(|p| p.kind != "os")
        .map(|p| Component {
            name: p.name.clone(),
            version: p.version.clone(),
            purl: p.purl.clone(),
            files: match files.owned.get(&p.name) {
                Some(f) if p.kind == "deb" => Some(f.clone()),
                // A source-built binary is known by the file it was read from (its package note).
                _ if p.kind != "deb" => Some(p.locations.iter().map(|l| l.path.clone()).collect()),
                _ => None,
            },
        })
        .collect();
    let entrypoint = entrypoint(config, files, &elf);
    let modules = nginx_modules(files);
    ImageFacts {
        schema: FACTS_SCHEMA.into(),
        product,
        components,
        compiled_out,
        elf: Some(elf),
        entrypoint,
        modules,
        modules_unknown: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrypoints_and_modules() {
        let files = ImageFiles {
            links: BTreeMap::from([
                ("/sbin".to_string(), "usr/sbin".to_string()),
                ("/usr/bin/web".to_string(), "../sbin/nginx".to_string()),
            ]),
            nginx_conf: BTreeMap::from([(
                "/etc/nginx/nginx.conf".to_string(),
                "# load_module modules/commented.so;\nload_module modules/ngx_stream_module.so;\nload_modules x;\n"
                    .to_string(),
            )]),
            nginx_modules: vec!["/usr/lib/nginx/modules/ngx_mail_module.so".into()],
            ..ImageFiles::default()
        };
        let elf = vec![ElfFile {
            path: "/usr/sbin/nginx".into(),
            soname: None,
            needed: vec![],
            dlopen: true,
            safestack: false,
            cfi: false,
            cet_ibt: false,
            cet_shstk: false,
        }];
        let config = |e: Option<&str>, cmd: &str| RuntimeConfig {
            entrypoint: e.map(|e| vec![e.to_string()]),
            cmd: Some(vec![cmd.to_string(), "-g".into()]),
            env: Some(vec!["PATH=/usr/bin:/sbin".into()]),
            ..RuntimeConfig::default()
        };
        assert_eq!(entrypoint(Some(&config(None, "nginx")), &files, &elf), ["/usr/sbin/nginx"]);
        assert_eq!(entrypoint(Some(&config(None, "web")), &files, &elf), ["/usr/sbin/nginx"]);
        assert_eq!(entrypoint(Some(&config(Some("/entry.sh"), "nginx")), &files, &elf), ["/entry.sh"]);
        assert!(entrypoint(None, &files, &elf).is_empty());
        let m = nginx_modules(&files);
        assert_eq!(
            m,
            [
                LoadedModule {
                    path: "/usr/lib/nginx/modules/ngx_mail_module.so".into(),
                    by: "a module in nginx's modules directory".into()
                },
                LoadedModule {
                    path: "/usr/share/nginx/modules/ngx_stream_module.so".into(),
                    by: "load_module in /etc/nginx/nginx.conf line 2".into()
                },
            ]
        );
        assert_eq!(md5sums_package("/var/lib/dpkg/status.d/libc6.md5sums"), Some("libc6"));
        assert_eq!(md5sums_package("/var/lib/dpkg/status.d/a/b.md5sums"), None);
    }
}

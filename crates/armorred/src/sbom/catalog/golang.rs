//! Go binaries: the build info blob (`\xff Go buildinf:`) that Go 1.18+ embeds inline:
//! main module, dependencies (with `=>` replacements) and the toolchain as `stdlib`.

use super::{maybe_binary, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::Entry;

/// The Go binary cataloger.
#[derive(Debug, Clone, Copy)]
pub struct GoBinary;

const NAME: &str = "go-module-binary-cataloger";
const MAGIC: &[u8] = b"\xff Go buildinf:";

impl Cataloger for GoBinary {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::GoModule]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("go-module-buildinfo-entry")
    }

    fn wants(&self, entry: &Entry) -> bool {
        maybe_binary(entry)
    }

    fn elf_only(&self) -> bool {
        true
    }

    fn windowed(&self) -> bool {
        true
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        Ok(parse(location, content)?.into())
    }
}

fn varint(data: &[u8]) -> Option<(usize, usize)> {
    let mut value: u64 = 0;
    for (i, b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((usize::try_from(value).ok()?, i + 1));
        }
    }
    None
}

fn inline_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = varint(data)?;
    let s = data.get(n..n.checked_add(len)?)?;
    Some((s, &data[n + len..]))
}

/// The purl as syft splits module paths: two segments of namespace, one of name, the rest as
/// subpath (`github.com/a/b/v2` → `pkg:golang/github.com/a/b@V#v2`).
pub fn purl(module: &str, version: &str) -> Option<String> {
    let fields: Vec<&str> = module.split('/').collect();
    let (ns, name, sub) = match fields.as_slice() {
        [] => return None,
        [name] => (None, *name, None),
        [ns, name] => (Some(ns.to_string()), *name, None),
        [a, b, name, rest @ ..] => (Some(format!("{a}/{b}")), *name, (!rest.is_empty()).then(|| rest.join("/"))),
    };
    let mut p = packageurl::PackageUrl::new("golang", name.to_string()).ok()?;
    if let Some(ns) = ns.filter(|n| !n.is_empty()) {
        p.with_namespace(ns);
    }
    if !version.is_empty() {
        p.with_version(version.to_string());
    }
    match sub {
        // A trailing slash (an empty last segment) is refused by the purl crate; syft keeps it.
        Some(sub) if p.with_subpath(sub.clone()).is_err() => Some(format!("{p}#{sub}")),
        _ => Some(p.to_string()),
    }
}

/// Finds and reads the build info; no packages when the file is not a Go binary or uses the
/// pre-1.18 pointer format (not supported).
pub fn parse(location: &Location, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let Some(at) = memchr::memmem::find(content, MAGIC) else {
        return Ok(Vec::new());
    };
    let header = content.get(at..at + 32).ok_or_else(|| CatalogError("truncated Go build info".into()))?;
    if header[15] & 2 == 0 {
        return Err(CatalogError("Go build info in the pre-1.18 format (not supported)".into()));
    }
    let bad = || CatalogError("malformed Go build info".into());
    let (version, rest) = inline_string(&content[at + 32..]).ok_or_else(bad)?;
    let (modinfo, _) = inline_string(rest).ok_or_else(bad)?;
    let version = String::from_utf8_lossy(version).into_owned();
    let modinfo = if modinfo.len() >= 33 { &modinfo[16..modinfo.len() - 16] } else { modinfo };
    let modinfo = String::from_utf8_lossy(modinfo);
    let mut out = Vec::new();
    let mut settings = Vec::new();
    let push = |path: &str, ver: &str, sum: Option<&str>, out: &mut Vec<Package>| {
        let mut p = Package::new(PackageType::GoModule, path, ver, NAME, location.clone());
        p.purl = purl(path, ver);
        if let Some(sum) = sum {
            p.metadata.insert("h1Digest".into(), sum.to_string());
        }
        p.metadata.insert("goCompiledVersion".into(), version.clone());
        out.push(p);
    };
    for line in modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", path, ver, rest @ ..] => push(path, ver, rest.first().copied(), &mut out),
            ["dep", path, ver, rest @ ..] => push(path, ver, rest.first().copied(), &mut out),
            ["=>", path, ver, rest @ ..] => {
                // Replaces the previous dep.
                if let Some(last) = out.pop() {
                    let _ = last;
                }
                push(path, ver, rest.first().copied(), &mut out);
            }
            ["build", kv] => settings.push(kv.to_string()),
            _ => {}
        }
    }
    if let Some(v) = version.strip_prefix("go") {
        let v = v.split([' ', '-']).next().unwrap_or(v);
        let mut p = Package::new(PackageType::GoModule, "stdlib", &format!("go{v}"), NAME, location.clone());
        p.purl = purl("stdlib", &format!("go{v}"));
        p.cpes.push(format!("cpe:2.3:a:golang:go:{v}:-:*:*:*:*:*:*"));
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::loc;
    use super::*;

    /// A build info blob as the Go linker writes it (inline strings, Go 1.18+).
    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = b"\x7fELF padding ".to_vec();
        b.extend_from_slice(MAGIC);
        b.push(8);
        b.push(2);
        b.resize(b.len() + 16, 0);
        let mut s = |x: &[u8]| {
            let mut n = x.len();
            while n >= 0x80 {
                b.push(u8::try_from(n & 0x7f).unwrap() | 0x80);
                n >>= 7;
            }
            b.push(u8::try_from(n).unwrap());
            b.extend_from_slice(x);
        };
        s(version.as_bytes());
        let mut m = vec![0u8; 16];
        m.extend_from_slice(modinfo.as_bytes());
        m.extend_from_slice(&[0u8; 16]);
        s(&m);
        b
    }

    #[test]
    fn table() {
        let info = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/sys\tv0.15.0\th1:abc=\ndep\tgithub.com/a/b\tv1.0.0\th1:x=\n=>\tgithub.com/fork/b\tv1.0.1\th1:y=\nbuild\tGOOS=linux\n";
        let got = parse(&loc("/app"), &blob("go1.22.1", info)).unwrap();
        let names: Vec<String> = got.iter().map(|p| p.purl.clone().unwrap()).collect();
        assert_eq!(
            names,
            [
                "pkg:golang/example.com/app@(devel)",
                "pkg:golang/golang.org/x/sys@v0.15.0",
                "pkg:golang/github.com/fork/b@v1.0.1",
                "pkg:golang/stdlib@go1.22.1",
            ]
        );
        assert!(parse(&loc("/x"), b"\x7fELF not go").unwrap().is_empty());
        assert_eq!(purl("github.com/go-chi/chi/v5", "v5.0.0").unwrap(), "pkg:golang/github.com/go-chi/chi@v5.0.0#v5");
        assert_eq!(
            purl("./internal/backend/remote-state/s3", "(devel)").unwrap(),
            "pkg:golang/./internal/backend@(devel)#remote-state/s3"
        );
        assert_eq!(
            purl("./private_repos/example.com/cnrm/", "(devel)").unwrap(),
            "pkg:golang/./private_repos/example.com@(devel)#cnrm/"
        );
        let mut truncated = blob("go1.22.1", info);
        truncated.truncate(60);
        assert!(parse(&loc("/x"), &truncated).is_err());
    }
}

//! JavaScript packages: `package.json` of installed modules (`node_modules/**/package.json`,
//! and Debian's `/usr/share/nodejs`, `/usr/lib/nodejs`).

use super::{make_purl, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::{Entry, EntryKind};

/// The installed-npm-package cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Npm;

const NAME: &str = "javascript-package-cataloger";

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Npm]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("javascript-npm-package")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File && entry.path.ends_with("/package.json") && entry.size < (8 << 20)
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        Ok(parse(location, content)?.into_iter().collect::<Vec<_>>().into())
    }
}

/// Parses one `package.json`; `None` when it has no name or version (a project manifest).
pub fn parse(location: &Location, content: &[u8]) -> Result<Option<Package>, CatalogError> {
    let v: serde_json::Value =
        serde_json::from_slice(content).map_err(|e| CatalogError(format!("invalid JSON: {e}")))?;
    let (Some(name), Some(version)) =
        (v.get("name").and_then(|n| n.as_str()), v.get("version").and_then(|n| n.as_str()))
    else {
        return Ok(None);
    };
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let mut p = Package::new(PackageType::Npm, name, version, NAME, location.clone());
    let (ns, short) = match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
        Some((scope, short)) => (Some(format!("@{scope}")), short),
        None => (None, name),
    };
    p.purl = make_purl("npm", ns.as_deref(), short, version, &[]);
    match v.get("license") {
        Some(serde_json::Value::String(l)) => p.licenses.push(l.clone()),
        Some(serde_json::Value::Object(o)) => {
            if let Some(t) = o.get("type").and_then(|t| t.as_str()) {
                p.licenses.push(t.to_string());
            }
        }
        _ => {}
    }
    if let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) {
        p.depends_on = deps.keys().cloned().collect();
    }
    Ok(Some(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::loc;
    use super::*;

    #[test]
    fn table() {
        let cases: [(&[u8], Option<(&str, &str)>); 4] = [
            (
                br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
                Some(("left-pad", "pkg:npm/left-pad@1.3.0")),
            ),
            (
                br#"{"name":"@babel/core","version":"7.24.0","license":{"type":"MIT"}}"#,
                Some(("@babel/core", "pkg:npm/%40babel/core@7.24.0")),
            ),
            (br#"{"private":true}"#, None),
            (br#"{"name":"x""#, None),
        ];
        for (json, want) in cases {
            let got = parse(&loc("/app/node_modules/x/package.json"), json);
            match want {
                Some((name, purl)) => {
                    let p = got.unwrap().unwrap();
                    assert_eq!(p.name, name);
                    assert_eq!(p.purl.as_deref(), Some(purl));
                    assert_eq!(p.licenses.len(), 1);
                }
                None => assert!(!matches!(got, Ok(Some(_)))),
            }
        }
    }
}

//! Python packages: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and `*.egg-info` files.

use super::{field, make_purl, paragraphs, CatalogError, Cataloger, PackageType, Parsed};
use crate::sbom::model::{Location, Package};
use crate::fstree::{Entry, EntryKind};

/// The installed-Python-package cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Python;

const NAME: &str = "python-installed-package-cataloger";

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        NAME
    }

    fn package_types(&self) -> &'static [PackageType] {
        &[PackageType::Python]
    }

    fn metadata_type(&self) -> Option<&'static str> {
        Some("python-package")
    }

    fn wants(&self, entry: &Entry) -> bool {
        entry.kind == EntryKind::File
            && (entry.path.ends_with(".dist-info/METADATA")
                || entry.path.ends_with(".egg-info/PKG-INFO")
                || entry.path.ends_with(".egg-info"))
    }

    fn parse(&self, location: &Location, content: &[u8]) -> Result<Parsed, CatalogError> {
        Ok(parse(location, &String::from_utf8_lossy(content))?.into_iter().collect::<Vec<_>>().into())
    }
}

/// Parses core metadata headers (the part before the first blank line).
pub fn parse(location: &Location, text: &str) -> Result<Option<Package>, CatalogError> {
    let head = text.split("\n\n").next().unwrap_or_default();
    let paras = paragraphs(head);
    let Some(para) = paras.first() else {
        return Err(CatalogError("empty metadata".into()));
    };
    let (Some(name), Some(version)) = (field(para, "Name"), field(para, "Version")) else {
        return Err(CatalogError("metadata without Name or Version".into()));
    };
    let mut p = Package::new(PackageType::Python, name, version, NAME, location.clone());
    p.purl = make_purl("pypi", None, name, version, &[]);
    let license = field(para, "License-Expression")
        .or_else(|| field(para, "License").filter(|l| !l.contains('\n') && l.len() < 80 && *l != "UNKNOWN"));
    if let Some(l) = license {
        p.licenses.push(l.to_string());
    } else {
        for (k, v) in para {
            if k == "Classifier" {
                if let Some(l) = v.strip_prefix("License :: ") {
                    p.licenses.push(l.rsplit(" :: ").next().unwrap_or(l).to_string());
                }
            }
        }
    }
    for (k, v) in para {
        if k == "Requires-Dist" && !v.contains("extra ==") {
            let dep: String = v.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
            if !dep.is_empty() {
                p.depends_on.push(dep);
            }
        }
    }
    Ok(Some(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::super::testutil::{loc, testdata};
    use super::*;

    #[test]
    fn table() {
        let cases = [
            (
                "python/requests-2.34.2.dist-info/METADATA",
                "requests",
                "2.34.2",
                "pkg:pypi/requests@2.34.2",
                "Apache-2.0",
            ),
            ("python/oauthlib-3.2.2.egg-info/PKG-INFO", "oauthlib", "3.2.2", "pkg:pypi/oauthlib@3.2.2", "BSD"),
        ];
        for (rel, name, version, purl, license) in cases {
            let text = std::fs::read_to_string(testdata().join(rel)).unwrap();
            let p = parse(&loc(rel), &text).unwrap().unwrap();
            assert_eq!((p.name.as_str(), p.version.as_str()), (name, version), "{rel}");
            assert_eq!(p.purl.as_deref(), Some(purl), "{rel}");
            assert_eq!(p.licenses, [license], "{rel}");
        }
        assert!(parse(&loc("x"), "garbage without headers").is_err());
    }
}

//! OpenVEX input: `not_affected` and `fixed` statements suppress matching findings (before
//! `--fail-on`); `affected` and `under_investigation` keep them.

use std::path::Path;

use serde_json::Value;

use super::error::{Result, VulnError};
use super::model::Match;

/// One OpenVEX statement, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    /// Vulnerability name and aliases.
    pub vulnerabilities: Vec<String>,
    /// Product identifiers (purls, `@id`s) and subcomponents.
    pub products: Vec<String>,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    /// Justification, if any.
    pub justification: Option<String>,
}

fn ids(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => {
            let mut out = Vec::new();
            for k in ["@id", "name"] {
                if let Some(s) = m.get(k).and_then(Value::as_str) {
                    out.push(s.to_string());
                }
            }
            if let Some(a) = m.get("aliases").and_then(Value::as_array) {
                out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
            if let Some(idents) = m.get("identifiers").and_then(Value::as_object) {
                out.extend(idents.values().filter_map(|x| x.as_str().map(str::to_string)));
            }
            for sub in m.get("subcomponents").and_then(Value::as_array).into_iter().flatten() {
                out.extend(ids(sub));
            }
            out
        }
        Value::Array(a) => a.iter().flat_map(ids).collect(),
        _ => Vec::new(),
    }
}

/// Parses an OpenVEX document.
pub fn parse(doc: &Value) -> Vec<VexStatement> {
    let mut out = Vec::new();
    for st in doc.get("statements").and_then(Value::as_array).into_iter().flatten() {
        let Some(status) = st.get("status").and_then(Value::as_str) else {
            continue;
        };
        out.push(VexStatement {
            vulnerabilities: st.get("vulnerability").map(ids).unwrap_or_default(),
            products: st.get("products").map(ids).unwrap_or_default(),
            status: status.to_string(),
            justification: st.get("justification").and_then(Value::as_str).map(str::to_string),
        });
    }
    out
}

/// Reads an OpenVEX file.
pub fn read(path: &Path) -> Result<Vec<VexStatement>> {
    let bytes = super::import::read_file(path)?;
    let doc: Value = crate::json::from_slice(&bytes).map_err(|e| VulnError::Input {
        path: path.to_path_buf(),
        what: format!("not an OpenVEX JSON document: {e}"),
    })?;
    if doc.get("statements").is_none() {
        return Err(VulnError::Input {
            path: path.to_path_buf(),
            what: "not an OpenVEX document (no statements)".into(),
        });
    }
    Ok(parse(&doc))
}

fn strip_purl(p: &str) -> &str {
    p.split(['?', '#']).next().unwrap_or(p)
}

fn product_matches(product: &str, m: &Match) -> bool {
    let Some(purl) = m.artifact.purl.as_deref() else {
        return product == m.artifact.name;
    };
    if product == purl || strip_purl(product) == strip_purl(purl) {
        return true;
    }
    // A versionless product purl covers every version.
    !product.contains('@') && strip_purl(purl).split('@').next() == Some(strip_purl(product))
}

/// The reason a finding is suppressed, if a statement applies.
pub fn suppresses(statements: &[VexStatement], m: &Match) -> Option<String> {
    let mut ids: Vec<&str> = vec![m.vulnerability.id.as_str()];
    ids.extend(m.related.iter().map(|r| r.id.as_str()));
    // The last applicable statement wins (OpenVEX documents are ordered by time).
    let st = statements.iter().rev().find(|s| {
        s.vulnerabilities.iter().any(|v| ids.contains(&v.as_str())) && s.products.iter().any(|p| product_matches(p, m))
    })?;
    match st.status.as_str() {
        "not_affected" | "fixed" => Some(format!(
            "vex {}{}",
            st.status,
            st.justification.as_deref().map(|j| format!(" ({j})")).unwrap_or_default()
        )),
        _ => None,
    }
}

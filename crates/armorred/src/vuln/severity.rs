//! Severity: the vendor's word for distro packages, else the highest CVSS v4/v3 base score
//! computed from the vectors (cvss crate), else Unknown.

use std::str::FromStr;

use super::model::{Cvss, Severity};

thread_local! {
    static SCORES: std::cell::RefCell<std::collections::HashMap<String, Option<f64>>> =
        std::cell::RefCell::default();
}

/// The base score of a CVSS vector (v3.x or v4.0), if it parses (memoised per thread).
pub fn base_score(vector: &str) -> Option<f64> {
    if let Some(s) = SCORES.with(|c| c.borrow().get(vector).copied()) {
        return s;
    }
    let s = compute_base_score(vector);
    SCORES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() < 100_000 {
            c.insert(vector.to_string(), s);
        }
    });
    s
}

fn compute_base_score(vector: &str) -> Option<f64> {
    let v = vector.trim();
    if v.starts_with("CVSS:4") {
        return cvss::v4::Vector::from_str(v).ok().map(|x| x.score().value());
    }
    if v.starts_with("CVSS:3") {
        return cvss::v3::Base::from_str(v).ok().map(|x| x.score().value());
    }
    None
}

/// The severity from CVSS vectors: v4 first, then v3; the highest score of the chosen version.
pub fn from_cvss(vectors: &[Cvss]) -> Option<(Severity, f64)> {
    for prefix in ["CVSS:4", "CVSS:3"] {
        let best = vectors
            .iter()
            .filter(|c| c.vector.starts_with(prefix))
            .filter_map(|c| base_score(&c.vector))
            .fold(None::<f64>, |m, s| Some(m.map_or(s, |m| m.max(s))));
        if let Some(s) = best {
            return Some((Severity::from_score(s), s));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        // CVE-2021-23017 (nginx resolver), NVD v3.1 vector: 7.7 High.
        let v = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:L";
        assert_eq!(base_score(v), Some(7.7));
        let c = vec![Cvss { kind: "CVSS_V3".into(), vector: v.into(), source: None }];
        assert_eq!(from_cvss(&c), Some((Severity::High, 7.7)));
        assert_eq!(base_score("garbage"), None);
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(base_score(v4), Some(9.3));
    }
}

//! Matchers: one file per ecosystem family, each a [`Matcher`] that turns one package into raw
//! matches against the DB. [`crate::vuln::scan`] merges them (aliases) and sets severities.

pub mod apk;
pub mod cpe;
pub mod dpkg;
pub mod osv;

use serde_json::Value;

use super::db::Db;
use super::model::{FixState, Severity};
use super::scan::{ScanOptions, ScanPackage};
use super::Result;

/// One raw match, before alias merging.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMatch {
    /// The advisory ID in the DB.
    pub vuln_id: String,
    /// The namespace it was found in.
    pub namespace: String,
    /// Which matcher found it (`dpkg-matcher`, ...).
    pub matcher: &'static str,
    /// grype's match type (`exact-direct-match`, `exact-indirect-match`, `cpe-match`).
    pub match_type: &'static str,
    /// Fix state.
    pub fix_state: FixState,
    /// Fixed versions.
    pub fix_versions: Vec<String>,
    /// The vendor's severity, when the feed gives one for this package.
    pub vendor_severity: Option<Severity>,
    /// What was searched (grype's `searchedBy`).
    pub searched_by: Value,
    /// What was found (grype's `found`).
    pub found: Value,
}

/// A matcher for one family of packages.
pub trait Matcher: Sync {
    /// Its name (`dpkg-matcher`, ...).
    fn name(&self) -> &'static str;
    /// Appends the matches for `pkg`.
    fn find(&self, db: &Db, pkg: &ScanPackage, opts: &ScanOptions, out: &mut Vec<RawMatch>) -> Result<()>;
    /// Everything of `pkg` that [`Matcher::find`] reads, as a key: packages with equal keys get
    /// equal matches, so a scan looks each key up once (many binary packages of one source
    /// share one lookup). `None`: not memoised (`find` runs for every package).
    fn memo_key(&self, _pkg: &ScanPackage) -> Option<String> {
        None
    }
}

/// Every matcher, in the order they run.
pub fn all() -> Vec<Box<dyn Matcher>> {
    vec![Box::new(dpkg::DpkgMatcher), Box::new(apk::ApkMatcher), Box::new(osv::OsvMatcher), Box::new(cpe::CpeMatcher)]
}

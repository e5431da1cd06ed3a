//! Matchers: one file per ecosystem family, each a [`Matcher`] that turns one package into raw
//! matches against a [`Provider`] (the DB, or a mini DB in memory in the tables tests).
//! [`crate::vuln::scan`] selects them by [`Matcher::package_types`], merges their matches
//! (aliases) and sets severities. A matcher depends only on [`crate::vuln::model`],
//! [`crate::vuln::provider`] and [`crate::vuln::cpe`], never on `scan` or `db`.

pub mod apk;
pub mod cpe;
pub mod dpkg;
pub mod osv;

use serde_json::Value;

use super::error::Result;
use super::model::{FixState, ScanPackage, Severity};
use super::provider::Provider;

/// What a scan's options say to the matchers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Also run CPE matching for language packages.
    pub cpe_for_language_packages: bool,
}

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
    /// The package types ([`ScanPackage::kind`]) it handles: a scan runs it only for those.
    fn package_types(&self) -> &'static [&'static str];
    /// Appends the matches for `pkg`.
    fn find(
        &self,
        provider: &dyn Provider,
        pkg: &ScanPackage,
        opts: &MatchOptions,
        out: &mut Vec<RawMatch>,
    ) -> Result<()>;
    /// Everything of `pkg` that [`Matcher::find`] reads, as a key: packages with equal keys get
    /// equal matches, so a scan looks each key up once (many binary packages of one source
    /// share one lookup). `None`: not memoised (`find` runs for every package).
    fn memo_key(&self, _pkg: &ScanPackage) -> Option<String> {
        None
    }
}

/// Every matcher, in the order they run (a new matcher is one line here).
pub fn all() -> Vec<Box<dyn Matcher>> {
    vec![Box::new(dpkg::DpkgMatcher), Box::new(apk::ApkMatcher), Box::new(osv::OsvMatcher), Box::new(cpe::CpeMatcher)]
}

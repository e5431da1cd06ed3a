//! Matchers: one file per ecosystem family, each a [`Matcher`] that turns one package into raw
//! matches against a [`Provider`] (the DB, or a mini DB in memory in the table tests).
//! [`crate::vuln::scan`] selects them by [`Matcher::package_types`], merges their matches
//! (aliases) and sets severities. A matcher depends only on [`crate::vuln::model`],
//! [`crate::vuln::provider`] and [`crate::vuln::cpe`], never on `scan` or `db`.

/// Declares each matcher's module and collects its unit into [`MATCHERS`]. Each line is plain
/// Rust (`pub mod m; use m::Unit;`), so that the import-graph test (`vuln/module_graph.rs`)
/// reads the module as any other.
macro_rules! matchers {
    ($(pub mod $module:ident; use $path:ident :: $unit:ident;)+) => {
        $(pub mod $module; use $path::$unit;)+

        /// Every matcher, in the order they run.
        pub static MATCHERS: &[&dyn Matcher] = &[$(&$unit),+];
    };
}

// The registry: one line per matcher, in the order they run (distro matchers first).
matchers! {
    pub mod dpkg; use dpkg::DpkgMatcher;
    pub mod apk; use apk::ApkMatcher;
    pub mod osv; use osv::OsvMatcher;
    pub mod cpe; use cpe::CpeMatcher;
}

use serde_json::Value;

use super::error::Result;
use super::model::{FixState, PackageType, ScanPackage, Severity};
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
    /// The package types ([`ScanPackage::package_type`]) it handles: a scan runs it only for
    /// those.
    fn package_types(&self) -> &'static [PackageType];
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

/// Every matcher, in the order they run (a new matcher is one line in `matchers!`).
pub fn all() -> &'static [&'static dyn Matcher] {
    MATCHERS
}

/// Every registered matcher has its mini DB, with a README, and a table test in its file.
#[cfg(test)]
#[test]
fn every_matcher_has_a_mini_db_and_a_table_test() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for m in all() {
        let short = m.name().strip_suffix("-matcher").unwrap_or_else(|| panic!("{}: not <eco>-matcher", m.name()));
        for file in ["rows.json", "README.md"] {
            let path = root.join("testdata/vuln/matcher").join(short).join(file);
            assert!(path.is_file(), "{}: missing {}", m.name(), path.display());
        }
        let src = root.join("src/vuln/matcher").join(format!("{short}.rs"));
        let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(text.contains(&format!("mini_db(\"{short}\")")), "{}: no table test over its mini DB", src.display());
    }
}

/// The matchers' table tests: each matcher's mini DB (real rows, see the README next to each)
/// and a runner that selects by package type as a scan does.
#[cfg(test)]
pub(crate) mod table {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::{MatchOptions, Matcher};
    use crate::vuln::model::{Advisory, Affected, Distro, FeedBatch, FixState, ScanPackage};
    use crate::vuln::provider::MemoryProvider;

    /// What a matcher found: (vulnerability ID, fix state, fix versions), sorted.
    pub(crate) type Found = Vec<(String, FixState, Vec<String>)>;

    /// One row of a table: what it shows, the package in, what is found.
    pub(crate) type Case = (&'static str, ScanPackage, Found);

    #[derive(Deserialize)]
    struct AdvisoryRow {
        source: String,
        advisory: Advisory,
    }

    /// `rows.json`: the rows of the `advisories` and `affected` tables, in the model's form.
    #[derive(Deserialize)]
    struct MiniDb {
        advisories: Vec<AdvisoryRow>,
        affected: Vec<Affected>,
    }

    /// The mini DB of one matcher: `testdata/vuln/matcher/<name>/rows.json`.
    pub(crate) fn mini_db(name: &str) -> MemoryProvider {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/vuln/matcher").join(name).join("rows.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let db: MiniDb = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut by_source: BTreeMap<String, FeedBatch> = BTreeMap::new();
        for row in db.advisories {
            by_source.entry(row.source).or_default().advisories.push(row.advisory);
        }
        let mut p = MemoryProvider::default();
        for (source, batch) in &by_source {
            p.add(source, batch);
        }
        p.add("", &FeedBatch { affected: db.affected, ..FeedBatch::default() });
        p
    }

    /// What one matcher finds for one package (nothing when it does not handle the package's
    /// type): (vulnerability ID, fix state, fix versions), sorted.
    pub(crate) fn run(m: &dyn Matcher, db: &MemoryProvider, pkg: &ScanPackage, opts: &MatchOptions) -> Found {
        if !m.package_types().contains(&pkg.package_type()) {
            return Vec::new();
        }
        let mut out = Vec::new();
        m.find(db, pkg, opts, &mut out).expect("find");
        let mut v: Vec<_> = out.into_iter().map(|r| (r.vuln_id, r.fix_state, r.fix_versions)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// A distro.
    pub(crate) fn distro(id: &str, version_id: &str, codename: Option<&str>) -> Distro {
        Distro { id: id.into(), version_id: version_id.into(), codename: codename.map(str::to_string) }
    }

    /// A language package from its purl (name and version from the purl, no distro).
    pub(crate) fn lang(purl: &str) -> ScanPackage {
        let p: packageurl::PackageUrl = purl.parse().expect("purl");
        ScanPackage {
            name: p.name().to_string(),
            version: p.version().unwrap_or("").to_string(),
            purl: Some(purl.into()),
            ..ScanPackage::default()
        }
    }

    /// `(id, state, fixes)` rows of an expected table.
    pub(crate) fn expect(rows: &[(&str, FixState, &[&str])]) -> Found {
        rows.iter().map(|(id, s, f)| (id.to_string(), *s, f.iter().map(|x| x.to_string()).collect())).collect()
    }
}

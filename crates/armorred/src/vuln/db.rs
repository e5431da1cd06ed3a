//! The vulnerability database: one SQLite file (bundled SQLite), replaced atomically.
//!
//! Location: `--db FILE`, else `$ARMORRED_DB`, else `<user data dir>/armorred/vuln.db`.
//! An import takes the writer lock `<db>.lock`, copies the current DB (if any) into a private
//! temporary sibling, writes there, and renames it over the DB only when complete: a failed or
//! killed import leaves the previous DB intact, and concurrent imports are serialized.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::error::{Result, VulnError};
use super::import::{self, Format};
use super::model::{Advisory, Affected, FeedBatch};
use super::provider::Provider;
use crate::clock::Clock;

/// Schema version stored in `meta`.
pub const SCHEMA_VERSION: &str = "1";

/// Where the DB lives: the explicit path, else `$ARMORRED_DB`, else the user data dir.
pub fn resolve_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("ARMORRED_DB").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("armorred").join("vuln.db")
}

/// One source's row in `db status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `<format>:<input name>`.
    pub name: String,
    /// The feed format.
    pub format: String,
    /// Advisory records.
    pub records: u64,
    /// Affected-package rows.
    pub affected: u64,
    /// Newest record date (modified or published), if any record has one.
    pub newest: Option<String>,
    /// When it was imported (RFC 3339, UTC).
    pub imported_at: String,
    /// Skipped items by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Namespaces whose data from this source is partial, with why.
    pub partial: BTreeMap<String, String>,
    /// The feed of the configuration it came from (`db update`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// The location it was taken from (a URL or a local path), when `db update` imported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl SourceStatus {
    /// Hours from its import to `now` (seconds since the epoch), if its time parses.
    pub fn age_hours(&self, now: i64) -> Option<u64> {
        let t = chrono::DateTime::parse_from_rfc3339(&self.imported_at).ok()?;
        Some(((now - t.timestamp()).max(0) / 3600) as u64)
    }
}

/// Where `db update` took a source from: source name → (feed, location).
pub type Locations = BTreeMap<String, (String, String)>;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The DB written.
    pub db: PathBuf,
    /// One row per source imported.
    pub sources: Vec<SourceStatus>,
}

fn db_err(path: &Path, what: &str) -> impl FnOnce(rusqlite::Error) -> VulnError {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| VulnError::Db { path, what, source: Some(e) }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
  name TEXT PRIMARY KEY, format TEXT NOT NULL, records INTEGER NOT NULL, affected INTEGER NOT NULL,
  newest TEXT, imported_at TEXT NOT NULL, skipped TEXT NOT NULL, partial TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (source TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (source, id));
CREATE INDEX IF NOT EXISTS advisories_id ON advisories(id);
CREATE TABLE IF NOT EXISTS affected (source TEXT NOT NULL, vuln_id TEXT NOT NULL,
  namespace TEXT NOT NULL, package TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS affected_pkg ON affected(namespace, package);
CREATE INDEX IF NOT EXISTS affected_source ON affected(source);
CREATE TABLE IF NOT EXISTS source_locations (source TEXT PRIMARY KEY, feed TEXT NOT NULL,
  location TEXT NOT NULL);
";

/// Imports `inputs` (path, forced format) into the DB at `db_path`, atomically, with the
/// default [`import::Limits`].
pub fn import(db_path: &Path, inputs: &[(PathBuf, Option<Format>)]) -> Result<ImportReport> {
    import_with(db_path, inputs, &import::Limits::default())
}

/// [`import`] with explicit [`import::Limits`].
pub fn import_with(
    db_path: &Path,
    inputs: &[(PathBuf, Option<Format>)],
    limits: &import::Limits,
) -> Result<ImportReport> {
    import_at(db_path, inputs, limits, &Clock::real())
}

/// [`import_with`], the import time (each source's `imported_at`, the DB's `built`) read
/// from `clock`.
pub fn import_at(
    db_path: &Path,
    inputs: &[(PathBuf, Option<Format>)],
    limits: &import::Limits,
    clock: &Clock,
) -> Result<ImportReport> {
    let mut batches = Vec::new();
    for (path, format) in inputs {
        for (format, name, batch) in import::load_with(path, *format, limits)? {
            batches.push((format, name, batch));
        }
    }
    write_batches_at(db_path, batches, clock)
}

/// Writes already-parsed batches (format, source name, batch) into the DB, atomically.
///
/// Writers are serialized by an exclusive lock on `<db>.lock` beside the DB, held across the
/// copy, the import and the rename: two concurrent imports both end up in the DB (the second
/// one copies what the first renamed into place). Readers take no lock: they open the DB file
/// as it is and see the old or the new one, never a half-written one. The work is done in a
/// private temporary file (created exclusively, random name `.DBNAME.import-XXXXXX`) that is
/// removed on every failure; leftovers of killed runs are removed by the next import.
pub fn write_batches(db_path: &Path, batches: Vec<(Format, String, FeedBatch)>) -> Result<ImportReport> {
    write_batches_at(db_path, batches, &Clock::real())
}

/// [`write_batches`], the import time read from `clock`.
pub fn write_batches_at(
    db_path: &Path,
    batches: Vec<(Format, String, FeedBatch)>,
    clock: &Clock,
) -> Result<ImportReport> {
    write_located(db_path, batches, &Locations::new(), clock)
}

/// [`write_batches_at`], recording for each source named in `located` the feed and location it
/// came from (`db status` shows them); a source imported without one forgets any it had.
pub fn write_located(
    db_path: &Path,
    batches: Vec<(Format, String, FeedBatch)>,
    located: &Locations,
    clock: &Clock,
) -> Result<ImportReport> {
    let dir = match db_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| VulnError::Write {
        what: "create the DB directory",
        path: dir.clone(),
        source,
    })?;
    let name = db_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "vuln.db".into());
    let lock = dir.join(format!("{name}.lock"));
    let _lock = crate::fsutil::FileLock::acquire(&lock).map_err(|source| VulnError::Write {
        what: "take the writer lock",
        path: lock.clone(),
        source,
    })?;
    remove_stale_leftovers(&dir, &name);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.import-"))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(&dir)
        .map_err(|source| VulnError::Write { what: "create the temporary DB in", path: dir.clone(), source })?;
    let tmp_path = tmp.path().to_path_buf();
    if db_path.exists() {
        std::fs::copy(db_path, &tmp_path).map_err(|source| VulnError::Read { path: db_path.to_path_buf(), source })?;
    }
    // On any error below, dropping `tmp` removes the temporary file.
    let report = write_into(&tmp_path, db_path, batches, located, clock)?;
    tmp.as_file().sync_all().map_err(|source| VulnError::Write { what: "write", path: tmp_path.clone(), source })?;
    tmp.persist(db_path).map_err(|e| VulnError::Write {
        what: "rename the import over",
        path: db_path.to_path_buf(),
        source: e.error,
    })?;
    Ok(report)
}

/// Removes what killed imports of `name` left in `dir` (called with the writer lock held):
/// `.NAME.import-XXXXXX` (our random temporary names: no other writer can be using one while we
/// hold the lock) and the older `.NAME.import-PID` whose process is no longer alive.
fn remove_stale_leftovers(dir: &Path, name: &str) {
    let prefix = format!(".{name}.import-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let stale = match rest.parse::<u32>() {
            Ok(pid) => pid == std::process::id() || !crate::fsutil::process_alive(pid),
            Err(_) => true,
        };
        if stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn write_into(
    tmp: &Path,
    final_path: &Path,
    batches: Vec<(Format, String, FeedBatch)>,
    located: &Locations,
    clock: &Clock,
) -> Result<ImportReport> {
    let mut conn = Connection::open(tmp).map_err(db_err(final_path, "cannot create"))?;
    conn.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        .map_err(db_err(final_path, "cannot configure"))?;
    conn.execute_batch(SCHEMA).map_err(db_err(final_path, "cannot create the schema"))?;
    let mut sources = Vec::new();
    let imported_at = clock.now_rfc3339();
    for (format, source, batch) in batches {
        let tx = conn.transaction().map_err(db_err(final_path, "cannot begin"))?;
        tx.execute("DELETE FROM advisories WHERE source = ?1", [&source])
            .map_err(db_err(final_path, "cannot delete"))?;
        tx.execute("DELETE FROM affected WHERE source = ?1", [&source]).map_err(db_err(final_path, "cannot delete"))?;
        let mut newest: Option<String> = None;
        let mut records = 0u64;
        {
            let mut ins = tx
                .prepare("INSERT OR REPLACE INTO advisories (source, id, data) VALUES (?1, ?2, ?3)")
                .map_err(db_err(final_path, "cannot prepare"))?;
            for a in &batch.advisories {
                // Some feeds (Go vulndb copies) zero their dates: 0001-01-01 means unknown.
                let date = [&a.modified, &a.published].into_iter().flatten().find(|d| !d.starts_with("0001-")).cloned();
                if let Some(d) = date {
                    if newest.as_deref().is_none_or(|n| d.as_str() > n) {
                        newest = Some(d);
                    }
                }
                let data = serde_json::to_string(a).unwrap_or_default();
                records +=
                    ins.execute(params![source, a.id, data]).map_err(db_err(final_path, "cannot insert"))? as u64;
            }
            let mut ins = tx
                .prepare(
                    "INSERT INTO affected (source, vuln_id, namespace, package, data)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db_err(final_path, "cannot prepare"))?;
            for a in &batch.affected {
                let data = serde_json::to_string(&a.data).unwrap_or_default();
                ins.execute(params![source, a.vuln_id, a.namespace, a.package, data])
                    .map_err(db_err(final_path, "cannot insert"))?;
            }
        }
        let status = SourceStatus {
            name: source.clone(),
            format: format.name().to_string(),
            records: batch.advisories.len() as u64,
            affected: batch.affected.len() as u64,
            newest,
            imported_at: imported_at.clone(),
            skipped: batch.skipped.clone(),
            partial: batch.partial.clone(),
            feed: located.get(&source).map(|l| l.0.clone()),
            location: located.get(&source).map(|l| l.1.clone()),
        };
        let _ = records;
        tx.execute("DELETE FROM source_locations WHERE source = ?1", [&source])
            .map_err(db_err(final_path, "cannot delete"))?;
        if let (Some(feed), Some(location)) = (&status.feed, &status.location) {
            tx.execute(
                "INSERT INTO source_locations (source, feed, location) VALUES (?1, ?2, ?3)",
                params![source, feed, location],
            )
            .map_err(db_err(final_path, "cannot record the source's location"))?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO sources
             (name, format, records, affected, newest, imported_at, skipped, partial)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                status.name,
                status.format,
                status.records as i64,
                status.affected as i64,
                status.newest,
                status.imported_at,
                serde_json::to_string(&status.skipped).unwrap_or_default(),
                serde_json::to_string(&status.partial).unwrap_or_default(),
            ],
        )
        .map_err(db_err(final_path, "cannot record the source"))?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1), ('built', ?2)",
            params![SCHEMA_VERSION, imported_at],
        )
        .map_err(db_err(final_path, "cannot write meta"))?;
        tx.commit().map_err(db_err(final_path, "cannot commit"))?;
        sources.push(status);
    }
    conn.execute_batch("ANALYZE;").map_err(db_err(final_path, "cannot analyze"))?;
    drop(conn);
    Ok(ImportReport { db: final_path.to_path_buf(), sources })
}

type AffectedCache = RefCell<HashMap<(String, String), Rc<Vec<Affected>>>>;
type AdvisoryCache = RefCell<HashMap<String, Rc<Vec<(String, Advisory)>>>>;

/// An open, read-only DB. Lookups are memoised for the life of the handle, so rescanning many
/// SBOMs with one handle parses each DB row once.
pub struct Db {
    path: PathBuf,
    conn: Connection,
    sha256: String,
    built: Option<String>,
    sources: Vec<SourceStatus>,
    affected_cache: AffectedCache,
    advisory_cache: AdvisoryCache,
    queries: std::cell::Cell<u64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).field("sha256", &self.sha256).finish()
    }
}

/// How often [`Db::open`] tries to hash and open the same file while imports replace it.
const OPEN_ATTEMPTS: u32 = 5;

/// Hex sha256 of a file.
pub fn file_sha256(path: &Path) -> Result<String> {
    crate::fsutil::sha256_file(path).map_err(|source| VulnError::Read { path: path.to_path_buf(), source })
}

impl Db {
    /// Opens the DB read-only and computes its sha256.
    pub fn open(path: &Path) -> Result<Db> {
        if !path.is_file() {
            return Err(VulnError::NoDb { path: path.to_path_buf() });
        }
        // An import may rename a new DB into place at any moment: the sha256 must be that of
        // the file the connection reads. The file hashed is held open (so its inode cannot be
        // reused); if the path still names it after the connection has read the DB, both are
        // the same file. Else an import replaced it meanwhile: try again.
        let mut attempt = 0;
        let (sha256, conn, built) = loop {
            attempt += 1;
            let read_err = |source| VulnError::Read { path: path.to_path_buf(), source };
            let hashed = std::fs::File::open(path).map_err(read_err)?;
            let inode = |m: std::fs::Metadata| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            };
            let before = inode(hashed.metadata().map_err(read_err)?);
            let sha256 = crate::fsutil::sha256_reader(&hashed).map_err(read_err)?.0;
            let conn =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(db_err(path, "cannot open"))?;
            let built: Option<String> = conn
                .query_row("SELECT value FROM meta WHERE key = 'built'", [], |r| r.get(0))
                .optional()
                .map_err(db_err(path, "not an armorred vulnerability database"))?;
            let after = inode(std::fs::metadata(path).map_err(read_err)?);
            if before == after || attempt >= OPEN_ATTEMPTS {
                break (sha256, conn, built);
            }
        };
        let mut db = Db {
            path: path.to_path_buf(),
            conn,
            sha256,
            built,
            sources: Vec::new(),
            affected_cache: RefCell::default(),
            advisory_cache: RefCell::default(),
            queries: std::cell::Cell::new(0),
        };
        db.sources = db.load_sources()?;
        Ok(db)
    }

    fn load_sources(&self) -> Result<Vec<SourceStatus>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT name, format, records, affected, newest, imported_at, skipped, partial
                 FROM sources ORDER BY name",
            )
            .map_err(db_err(&self.path, "cannot read sources"))?;
        let rows = st
            .query_map([], |r| {
                Ok(SourceStatus {
                    name: r.get(0)?,
                    format: r.get(1)?,
                    records: r.get::<_, i64>(2)? as u64,
                    affected: r.get::<_, i64>(3)? as u64,
                    newest: r.get(4)?,
                    imported_at: r.get(5)?,
                    skipped: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                    partial: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                    feed: None,
                    location: None,
                })
            })
            .map_err(db_err(&self.path, "cannot read sources"))?;
        let mut sources =
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err(&self.path, "cannot read sources"))?;
        // DBs written before `db update` recorded locations have no such table.
        let has_locations: bool = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'source_locations'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db_err(&self.path, "cannot read sources"))?
            > 0;
        if has_locations {
            let mut st = self
                .conn
                .prepare("SELECT source, feed, location FROM source_locations")
                .map_err(db_err(&self.path, "cannot read source locations"))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .map_err(db_err(&self.path, "cannot read source locations"))?;
            let mut map = BTreeMap::new();
            for row in rows {
                let (source, feed, location) = row.map_err(db_err(&self.path, "cannot read source locations"))?;
                map.insert(source, (feed, location));
            }
            for s in &mut sources {
                if let Some((feed, location)) = map.remove(&s.name) {
                    s.feed = Some(feed);
                    s.location = Some(location);
                }
            }
        }
        Ok(sources)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hex sha256 of the file, as opened.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// When the DB was last written (RFC 3339).
    pub fn built(&self) -> Option<&str> {
        self.built.as_deref()
    }

    /// Every source.
    pub fn sources(&self) -> &[SourceStatus] {
        &self.sources
    }

    /// Age of the DB in hours (from `built` to `clock`'s now), if known.
    pub fn age_hours(&self, clock: &Clock) -> Option<u64> {
        let built = chrono::DateTime::parse_from_rfc3339(self.built.as_deref()?).ok()?;
        let now = chrono::DateTime::from_timestamp(clock.now(), 0)?;
        let age = now.signed_duration_since(built);
        Some(age.num_hours().max(0) as u64)
    }

    /// Refuses a DB older than `max_hours` at `clock`'s now.
    pub fn check_age(&self, max_hours: u64, clock: &Clock) -> Result<()> {
        match self.age_hours(clock) {
            Some(age) if age > max_hours => {
                Err(VulnError::Stale { path: self.path.clone(), age_hours: age, max_hours })
            }
            _ => Ok(()),
        }
    }

    /// Affected rows for one package in one namespace (memoised).
    pub fn affected(&self, namespace: &str, package: &str) -> Result<Rc<Vec<Affected>>> {
        let key = (namespace.to_string(), package.to_string());
        if let Some(v) = self.affected_cache.borrow().get(&key) {
            return Ok(v.clone());
        }
        let v = Rc::new(self.query_affected(namespace, package)?);
        self.affected_cache.borrow_mut().insert(key, v.clone());
        Ok(v)
    }

    /// SQL queries made through this handle for affected rows and advisories (each distinct
    /// key once: later lookups are served from memory).
    pub fn query_count(&self) -> u64 {
        self.queries.get()
    }

    fn query_affected(&self, namespace: &str, package: &str) -> Result<Vec<Affected>> {
        self.queries.set(self.queries.get() + 1);
        let mut st = self
            .conn
            .prepare_cached("SELECT vuln_id, data FROM affected WHERE namespace = ?1 AND package = ?2")
            .map_err(db_err(&self.path, "cannot query"))?;
        let rows = st
            .query_map(params![namespace, package], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err(&self.path, "cannot query"))?;
        let mut out = Vec::new();
        for row in rows {
            let (vuln_id, data) = row.map_err(db_err(&self.path, "cannot query"))?;
            if let Ok(data) = serde_json::from_str(&data) {
                out.push(Affected { vuln_id, namespace: namespace.to_string(), package: package.to_string(), data });
            }
        }
        Ok(out)
    }

    /// Every advisory stored under `id` (one per source; memoised).
    pub fn advisories(&self, id: &str) -> Result<Rc<Vec<(String, Advisory)>>> {
        if let Some(v) = self.advisory_cache.borrow().get(id) {
            return Ok(v.clone());
        }
        let v = Rc::new(self.query_advisories(id)?);
        self.advisory_cache.borrow_mut().insert(id.to_string(), v.clone());
        Ok(v)
    }

    fn query_advisories(&self, id: &str) -> Result<Vec<(String, Advisory)>> {
        self.queries.set(self.queries.get() + 1);
        let mut st = self
            .conn
            .prepare_cached("SELECT source, data FROM advisories WHERE id = ?1 ORDER BY source")
            .map_err(db_err(&self.path, "cannot query"))?;
        let rows = st
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err(&self.path, "cannot query"))?;
        let mut out = Vec::new();
        for row in rows {
            let (source, data) = row.map_err(db_err(&self.path, "cannot query"))?;
            if let Ok(a) = serde_json::from_str(&data) {
                out.push((source, a));
            }
        }
        Ok(out)
    }

    /// Namespaces present (for notes such as partial-data warnings).
    pub fn partial_namespaces(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.sources {
            for (ns, why) in &s.partial {
                out.entry(ns.clone()).or_default().push(format!("{}: {why}", s.name));
            }
        }
        out
    }
}

/// The SQLite DB as a matcher reads it (through the memoised lookups above).
impl Provider for Db {
    fn affected(&self, namespace: &str, package: &str) -> Result<Rc<Vec<Affected>>> {
        Db::affected(self, namespace, package)
    }

    fn advisories(&self, id: &str) -> Result<Rc<Vec<(String, Advisory)>>> {
        Db::advisories(self, id)
    }
}

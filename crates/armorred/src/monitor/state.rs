//! The monitor's state: one schema and its migrations, written once in SQL both backends run
//! (SQLite, one file, the default; PostgreSQL for a catalog that outgrows one machine), behind
//! the one [`Backend`] trait. Every write of a run is one transaction ([`State::record_scan`]):
//! a run killed at any point leaves the state as it was before that image, or after it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Errors of the state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The SQLite file could not be used.
    #[error("monitor state {path}")]
    Sqlite {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL server could not be used.
    #[error("monitor state {url}")]
    Postgres {
        /// The URL, without its password.
        url: String,
        /// The cause.
        #[source]
        source: postgres::Error,
    },
    /// A row did not hold what the schema says.
    #[error("monitor state {what}: unexpected row")]
    Row {
        /// What was read.
        what: &'static str,
    },
    /// The state was written by a newer armorred.
    #[error("monitor state {origin} is at schema version {found}, newer than this armorred's {known}")]
    Newer {
        /// The state.
        origin: String,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
}

/// A value passed to or read from SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Val {
    fn text(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
impl From<Option<String>> for Val {
    fn from(s: Option<String>) -> Self {
        s.map_or(Self::Null, Self::Text)
    }
}

/// What a backend does: run SQL with `$1`, `$2`, ... parameters (numbered in order of first
/// use). SQLite and PostgreSQL implement it; everything else is written once over it.
pub trait Backend: Send {
    /// Runs a statement; the rows changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StateError>;
    /// Runs a query; its rows (TEXT, BIGINT/INTEGER and NULL columns only).
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StateError>;
    /// Runs statements without parameters (`BEGIN`, `COMMIT`, a migration).
    fn batch(&mut self, sql: &str) -> Result<(), StateError>;
    /// Names the state in messages (a path, or the URL without its password).
    fn origin(&self) -> String;
    /// Inside a transaction: holds the schema's lock until it ends, so that monitors opening a
    /// new state at the same moment migrate it one after the other. SQLite's `BEGIN IMMEDIATE`
    /// already holds the file's write lock: nothing more.
    fn lock_schema(&mut self) -> Result<(), StateError> {
        Ok(())
    }
}

/// The schema, as migrations in order; each runs once, in a transaction, recorded in
/// `schema_migrations`. Portable SQL: TEXT, BIGINT, primary keys we make.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE images (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        reference TEXT NOT NULL,
        digest TEXT NOT NULL,
        definition TEXT NOT NULL,
        sbom TEXT NOT NULL,
        build_record TEXT,
        vex_facts TEXT,
        superseded_by TEXT,
        published_at TEXT NOT NULL
    );
    CREATE TABLE scans (
        id TEXT PRIMARY KEY,
        image_key TEXT NOT NULL REFERENCES images(key),
        db_digest TEXT NOT NULL,
        scanned_at TEXT NOT NULL,
        findings BIGINT NOT NULL,
        new_findings BIGINT NOT NULL,
        vex TEXT NOT NULL,
        UNIQUE (image_key, db_digest)
    );
    CREATE TABLE findings (
        image_key TEXT NOT NULL REFERENCES images(key),
        vulnerability TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        severity TEXT NOT NULL,
        fixed_in TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_scan TEXT NOT NULL,
        last_scan TEXT NOT NULL,
        PRIMARY KEY (image_key, vulnerability, package)
    );
    CREATE TABLE decisions (
        image_key TEXT NOT NULL REFERENCES images(key),
        vulnerability TEXT NOT NULL,
        package TEXT NOT NULL,
        scan_id TEXT NOT NULL REFERENCES scans(id),
        status TEXT NOT NULL,
        justification TEXT,
        impact TEXT,
        action TEXT,
        evidence TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (image_key, vulnerability, package, scan_id)
    );
    CREATE TABLE rebuilds (
        id TEXT PRIMARY KEY,
        image_key TEXT NOT NULL REFERENCES images(key),
        old_digest TEXT NOT NULL,
        new_digest TEXT,
        state TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        first_seen TEXT,
        time_to_fix_seconds BIGINT
    )",
    ),
    // Rebuilds: the advisory each publishes, what it fixes, where its outputs are, why one failed.
    (
        2,
        "ALTER TABLE rebuilds ADD COLUMN advisory TEXT;
        ALTER TABLE rebuilds ADD COLUMN fixes TEXT;
        ALTER TABLE rebuilds ADD COLUMN new_key TEXT;
        ALTER TABLE rebuilds ADD COLUMN summary TEXT;
        ALTER TABLE rebuilds ADD COLUMN reference TEXT;
        ALTER TABLE rebuilds ADD COLUMN release_notes TEXT;
        ALTER TABLE rebuilds ADD COLUMN osv TEXT;
        ALTER TABLE rebuilds ADD COLUMN detail TEXT",
    ),
    // Monitors sharing one state: a claim per image while one rebuilds it, and the advisory
    // numbers counted under a row lock.
    (
        3,
        "CREATE TABLE claims (
        image_key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        claimed_at TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        n BIGINT NOT NULL
    )",
    ),
];

/// Who holds a claim: this process, named so that another monitor on the same host can tell
/// when it died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    /// `host/pid/start` (unique per process).
    pub owner: String,
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
}

impl Claimant {
    /// This process.
    pub fn this_process() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let pid = std::process::id();
        let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Self { owner: format!("{host}/{pid}/{start}"), host, pid }
    }
}

/// How long a claim holds when its holder neither releases it nor can be seen to have died (a
/// monitor on another host killed mid-rebuild): longer than any build, gate and push.
pub const CLAIM_SECONDS: i64 = 12 * 3600;

/// A published image the monitor watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedImage {
    /// `<name>:<tier>@<digest>`.
    pub key: String,
    /// The image name.
    pub name: String,
    /// The tier.
    pub tier: String,
    /// Where it is (`oci-dir:out/nginx/hardened/image`, or a registry reference).
    pub reference: String,
    /// The manifest digest.
    pub digest: String,
    /// The definition folder.
    pub definition: String,
    /// Its CycloneDX SBOM.
    pub sbom: String,
    /// Its build record.
    pub build_record: Option<String>,
    /// Its VEX facts.
    pub vex_facts: Option<String>,
    /// The image that replaced it, when one did.
    pub superseded_by: Option<String>,
}

/// A finding as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    /// The vulnerability.
    pub vulnerability: String,
    /// The package.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Severity.
    pub severity: String,
    /// Fixed versions, comma-separated.
    pub fixed_in: String,
    /// When a scan first found it (RFC 3339).
    pub first_seen: String,
    /// That scan.
    pub first_scan: String,
}

/// A decision as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// The vulnerability.
    pub vulnerability: String,
    /// The package.
    pub package: String,
    /// The scan it was made in.
    pub scan_id: String,
    /// OpenVEX status.
    pub status: String,
    /// Justification.
    pub justification: Option<String>,
    /// The evidence (JSON list of statements).
    pub evidence: String,
}

/// A scan row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRow {
    /// Its id.
    pub id: String,
    /// The image.
    pub image_key: String,
    /// The DB it used.
    pub db_digest: String,
    /// When.
    pub scanned_at: String,
    /// Findings.
    pub findings: i64,
    /// New ones.
    pub new_findings: i64,
    /// The VEX written.
    pub vex: String,
}

/// A rebuild as the state keeps it. `state` goes `started` → `built` (the new image passed
/// its gates; `new_digest` and `summary` known) → `pushed` (or not pushed: the old image was not
/// in a registry) → `published` (the new image recorded, the old one superseded, time-to-fix
/// written), or `failed` (`detail` says why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildRow {
    /// Its id (of the old image and the new lock).
    pub id: String,
    /// The image rebuilt.
    pub image_key: String,
    /// Its digest.
    pub old_digest: String,
    /// The new image's digest, once built.
    pub new_digest: Option<String>,
    /// `started`, `built`, `pushed`, `published`, `failed`.
    pub state: String,
    /// When it started.
    pub started_at: String,
    /// When it was published (or failed).
    pub finished_at: Option<String>,
    /// The earliest first-seen time of what it fixes.
    pub first_seen: Option<String>,
    /// From first seen to published.
    pub time_to_fix_seconds: Option<i64>,
    /// Our advisory (`ARMORRED-<year>-<n>`).
    pub advisory: Option<String>,
    /// What it fixes (JSON list of [`super::rebuild::Fix`]).
    pub fixes: Option<String>,
    /// The new image's key.
    pub new_key: Option<String>,
    /// The new image's summary.json.
    pub summary: Option<String>,
    /// Where the new image was pushed (`registry:HOST/REPO@DIGEST`).
    pub reference: Option<String>,
    /// The release notes written.
    pub release_notes: Option<String>,
    /// The OSV record written.
    pub osv: Option<String>,
    /// Why it failed.
    pub detail: Option<String>,
}

const REBUILD_COLUMNS: &str = "id, image_key, old_digest, new_digest, state, started_at, finished_at, first_seen, \
    time_to_fix_seconds, advisory, fixes, new_key, summary, reference, release_notes, osv, detail";

fn rebuild_row(r: &[Val]) -> Result<RebuildRow, StateError> {
    Ok(RebuildRow {
        id: text(r, 0, "rebuilds.id")?,
        image_key: text(r, 1, "rebuilds.image_key")?,
        old_digest: text(r, 2, "rebuilds.old_digest")?,
        new_digest: opt_text(r, 3),
        state: text(r, 4, "rebuilds.state")?,
        started_at: text(r, 5, "rebuilds.started_at")?,
        finished_at: opt_text(r, 6),
        first_seen: opt_text(r, 7),
        time_to_fix_seconds: r.get(8).and_then(Val::int),
        advisory: opt_text(r, 9),
        fixes: opt_text(r, 10),
        new_key: opt_text(r, 11),
        summary: opt_text(r, 12),
        reference: opt_text(r, 13),
        release_notes: opt_text(r, 14),
        osv: opt_text(r, 15),
        detail: opt_text(r, 16),
    })
}

/// Everything one image's rescan writes, in one transaction.
#[derive(Debug, Clone)]
pub struct ScanRecord {
    /// The scan.
    pub scan: ScanRow,
    /// Every finding of the scan (new ones are inserted with this scan as first; known ones
    /// keep their first-seen time).
    pub findings: Vec<FindingRow>,
    /// The decisions of the new findings.
    pub decisions: Vec<crate::vex::Decision>,
}

/// The state, over one backend.
pub struct State {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "State({})", self.backend.origin())
    }
}

fn text(row: &[Val], i: usize, what: &'static str) -> Result<String, StateError> {
    row.get(i).and_then(Val::text).ok_or(StateError::Row { what })
}

fn opt_text(row: &[Val], i: usize) -> Option<String> {
    row.get(i).and_then(Val::text)
}

impl State {
    /// Opens (creating when missing) the state named by `spec`: a `postgres://` or
    /// `postgresql://` URL, else a SQLite file; brings its schema up to date.
    pub fn open(spec: &str) -> Result<Self, StateError> {
        let backend: Box<dyn Backend> = if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            Box::new(super::postgres::Postgres::connect(spec)?)
        } else {
            Box::new(super::sqlite::Sqlite::open(std::path::Path::new(spec))?)
        };
        let mut s = Self { backend };
        s.migrate()?;
        Ok(s)
    }

    /// Where the state is, for messages.
    pub fn origin(&self) -> String {
        self.backend.origin()
    }

    /// The schema version.
    pub fn version(&mut self) -> Result<i64, StateError> {
        let rows = self.backend.query("SELECT MAX(version) FROM schema_migrations", &[])?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Val::int).unwrap_or(0))
    }

    /// Every migration the state lacks, in one transaction under the schema's lock (the table
    /// of migrations made and read inside it: a second monitor waits, then finds them done).
    fn migrate(&mut self) -> Result<(), StateError> {
        let origin = self.origin();
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        self.atomic(|b| {
            b.lock_schema()?;
            b.batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )?;
            let rows = b.query("SELECT MAX(version) FROM schema_migrations", &[])?;
            let found = rows.first().and_then(|r| r.first()).and_then(Val::int).unwrap_or(0);
            if found > known {
                return Err(StateError::Newer { origin, found, known });
            }
            for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
                for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    b.batch(stmt)?;
                }
                b.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[Val::Int(*version), crate::clock::Clock::real().now_rfc3339().into()],
                )?;
            }
            Ok(())
        })
    }

    /// Runs `f` in one transaction: committed when it returns Ok, rolled back otherwise.
    pub fn atomic<T>(&mut self, f: impl FnOnce(&mut dyn Backend) -> Result<T, StateError>) -> Result<T, StateError> {
        self.backend.batch("BEGIN")?;
        match f(self.backend.as_mut()) {
            Ok(v) => {
                self.backend.batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                // The first error is the one to report; a failed rollback leaves the
                // transaction to the server, which aborts it when the connection closes.
                let _ = self.backend.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Adds a published image, or updates where its files are.
    pub fn upsert_image(&mut self, img: &PublishedImage, now: &str) -> Result<(), StateError> {
        self.atomic(|b| {
            b.execute(
                "INSERT INTO images (key, name, tier, reference, digest, definition, sbom, build_record, vex_facts, published_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (key) DO UPDATE SET reference = excluded.reference, definition = excluded.definition,
                   sbom = excluded.sbom, build_record = excluded.build_record, vex_facts = excluded.vex_facts",
                &[
                    (&img.key).into(),
                    (&img.name).into(),
                    (&img.tier).into(),
                    (&img.reference).into(),
                    (&img.digest).into(),
                    (&img.definition).into(),
                    (&img.sbom).into(),
                    img.build_record.clone().into(),
                    img.vex_facts.clone().into(),
                    now.into(),
                ],
            )?;
            Ok(())
        })
    }

    /// Every image, by key.
    pub fn images(&mut self) -> Result<Vec<PublishedImage>, StateError> {
        let rows = self.backend.query(
            "SELECT key, name, tier, reference, digest, definition, sbom, build_record, vex_facts, superseded_by
             FROM images ORDER BY key",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(PublishedImage {
                    key: text(r, 0, "images.key")?,
                    name: text(r, 1, "images.name")?,
                    tier: text(r, 2, "images.tier")?,
                    reference: text(r, 3, "images.reference")?,
                    digest: text(r, 4, "images.digest")?,
                    definition: text(r, 5, "images.definition")?,
                    sbom: text(r, 6, "images.sbom")?,
                    build_record: opt_text(r, 7),
                    vex_facts: opt_text(r, 8),
                    superseded_by: opt_text(r, 9),
                })
            })
            .collect()
    }

    /// The scan of `image_key` with the DB `db_digest`, when one was recorded.
    pub fn scan_with(&mut self, image_key: &str, db_digest: &str) -> Result<Option<ScanRow>, StateError> {
        Ok(self.scans_where("WHERE image_key = $1 AND db_digest = $2", &[image_key.into(), db_digest.into()])?.pop())
    }

    /// Every scan, oldest first.
    pub fn scans(&mut self) -> Result<Vec<ScanRow>, StateError> {
        self.scans_where("", &[])
    }

    fn scans_where(&mut self, filter: &str, params: &[Val]) -> Result<Vec<ScanRow>, StateError> {
        let rows = self.backend.query(
            &format!(
                "SELECT id, image_key, db_digest, scanned_at, findings, new_findings, vex FROM scans {filter} ORDER BY scanned_at, id"
            ),
            params,
        )?;
        rows.iter()
            .map(|r| {
                Ok(ScanRow {
                    id: text(r, 0, "scans.id")?,
                    image_key: text(r, 1, "scans.image_key")?,
                    db_digest: text(r, 2, "scans.db_digest")?,
                    scanned_at: text(r, 3, "scans.scanned_at")?,
                    findings: r.get(4).and_then(Val::int).ok_or(StateError::Row { what: "scans.findings" })?,
                    new_findings: r.get(5).and_then(Val::int).ok_or(StateError::Row { what: "scans.new_findings" })?,
                    vex: text(r, 6, "scans.vex")?,
                })
            })
            .collect()
    }

    /// The findings known for `image_key`, by (vulnerability, package).
    pub fn findings(&mut self, image_key: &str) -> Result<BTreeMap<(String, String), FindingRow>, StateError> {
        let rows = self.backend.query(
            "SELECT vulnerability, package, version, severity, fixed_in, first_seen, first_scan FROM findings
             WHERE image_key = $1 ORDER BY vulnerability, package",
            &[image_key.into()],
        )?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let f = FindingRow {
                vulnerability: text(r, 0, "findings.vulnerability")?,
                package: text(r, 1, "findings.package")?,
                version: text(r, 2, "findings.version")?,
                severity: text(r, 3, "findings.severity")?,
                fixed_in: text(r, 4, "findings.fixed_in")?,
                first_seen: text(r, 5, "findings.first_seen")?,
                first_scan: text(r, 6, "findings.first_scan")?,
            };
            out.insert((f.vulnerability.clone(), f.package.clone()), f);
        }
        Ok(out)
    }

    /// The decisions recorded for `image_key`, in the order made.
    pub fn decisions(&mut self, image_key: &str) -> Result<Vec<DecisionRow>, StateError> {
        let rows = self.backend.query(
            "SELECT vulnerability, package, scan_id, status, justification, evidence FROM decisions
             WHERE image_key = $1 ORDER BY decided_at, vulnerability, package",
            &[image_key.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DecisionRow {
                    vulnerability: text(r, 0, "decisions.vulnerability")?,
                    package: text(r, 1, "decisions.package")?,
                    scan_id: text(r, 2, "decisions.scan_id")?,
                    status: text(r, 3, "decisions.status")?,
                    justification: opt_text(r, 4),
                    evidence: text(r, 5, "decisions.evidence")?,
                })
            })
            .collect()
    }

    /// Records one rescan, its findings and its decisions in one transaction. A scan already
    /// recorded (same image and DB) is left as it is: recording twice changes nothing.
    pub fn record_scan(&mut self, rec: &ScanRecord) -> Result<bool, StateError> {
        let s = &rec.scan;
        self.atomic(|b| {
            let inserted = b.execute(
                "INSERT INTO scans (id, image_key, db_digest, scanned_at, findings, new_findings, vex)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                &[
                    (&s.id).into(),
                    (&s.image_key).into(),
                    (&s.db_digest).into(),
                    (&s.scanned_at).into(),
                    s.findings.into(),
                    s.new_findings.into(),
                    (&s.vex).into(),
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            for f in &rec.findings {
                b.execute(
                    "INSERT INTO findings (image_key, vulnerability, package, version, severity, fixed_in, first_seen, first_scan, last_scan)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (image_key, vulnerability, package) DO UPDATE SET last_scan = excluded.last_scan,
                       version = excluded.version, severity = excluded.severity, fixed_in = excluded.fixed_in",
                    &[
                        (&s.image_key).into(),
                        (&f.vulnerability).into(),
                        (&f.package).into(),
                        (&f.version).into(),
                        (&f.severity).into(),
                        (&f.fixed_in).into(),
                        (&f.first_seen).into(),
                        (&f.first_scan).into(),
                        (&s.id).into(),
                    ],
                )?;
            }
            for d in &rec.decisions {
                b.execute(
                    "INSERT INTO decisions (image_key, vulnerability, package, scan_id, status, justification, impact, action, evidence, decided_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                    &[
                        (&s.image_key).into(),
                        (&d.vulnerability).into(),
                        (&d.component).into(),
                        (&s.id).into(),
                        d.status.as_str().into(),
                        d.justification.map(|j| j.as_str().to_owned()).into(),
                        d.impact.clone().into(),
                        d.action.clone().into(),
                        serde_json::to_string(&d.evidence).unwrap_or_default().into(),
                        (&s.scanned_at).into(),
                    ],
                )?;
            }
            Ok(true)
        })
    }

    /// Every rebuild, oldest first.
    pub fn rebuilds(&mut self) -> Result<Vec<RebuildRow>, StateError> {
        let rows =
            self.backend.query(&format!("SELECT {REBUILD_COLUMNS} FROM rebuilds ORDER BY started_at, id"), &[])?;
        rows.iter().map(|r| rebuild_row(r)).collect()
    }

    /// The rebuilds of one image, oldest first.
    pub fn rebuilds_of(&mut self, image_key: &str) -> Result<Vec<RebuildRow>, StateError> {
        let rows = self.backend.query(
            &format!("SELECT {REBUILD_COLUMNS} FROM rebuilds WHERE image_key = $1 ORDER BY started_at, id"),
            &[image_key.into()],
        )?;
        rows.iter().map(|r| rebuild_row(r)).collect()
    }

    /// Starts a rebuild (`started`, with the next advisory number of `year`, or the advisory
    /// `row` names: a failed attempt's, which was never published), or returns the one of that
    /// id already recorded: starting twice changes nothing.
    pub fn begin_rebuild(&mut self, row: &RebuildRow, year: &str) -> Result<RebuildRow, StateError> {
        let prefix = format!("ARMORRED-{year}-");
        self.atomic(|b| {
            // The year's counter row first (a write: the transaction holds its lock from here).
            b.execute(
                "INSERT INTO counters (name, n) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
                &[(&prefix).into()],
            )?;
            let existing =
                b.query(&format!("SELECT {REBUILD_COLUMNS} FROM rebuilds WHERE id = $1"), &[(&row.id).into()])?;
            if let Some(r) = existing.first() {
                return rebuild_row(r);
            }
            let mut row = row.clone();
            if row.advisory.is_none() {
                // The row lock of the UPDATE serializes monitors numbering at once (PostgreSQL's
                // READ COMMITTED would let two counts see the same rows); the advisories
                // already recorded (states from before the counter) are a floor.
                let int = |rows: Vec<Vec<Val>>| rows.first().and_then(|r| r.first()).and_then(Val::int).unwrap_or(0);
                let n = int(b.query("UPDATE counters SET n = n + 1 WHERE name = $1 RETURNING n", &[(&prefix).into()])?);
                let had = int(b.query(
                    "SELECT COUNT(DISTINCT advisory) FROM rebuilds WHERE advisory LIKE $1",
                    &[format!("{prefix}%").into()],
                )?);
                let next = n.max(had + 1);
                if next != n {
                    b.execute("UPDATE counters SET n = $2 WHERE name = $1", &[(&prefix).into(), Val::Int(next)])?;
                }
                row.advisory = Some(format!("{prefix}{next}"));
            }
            row.state = "started".into();
            b.execute(
                "INSERT INTO rebuilds (id, image_key, old_digest, state, started_at, first_seen, advisory, fixes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    (&row.id).into(),
                    (&row.image_key).into(),
                    (&row.old_digest).into(),
                    (&row.state).into(),
                    (&row.started_at).into(),
                    row.first_seen.clone().into(),
                    row.advisory.clone().into(),
                    row.fixes.clone().into(),
                ],
            )?;
            Ok(row)
        })
    }

    /// Claims `image_key` for `me` until `now + CLAIM_SECONDS`: `Ok(None)` when this process
    /// holds it now, `Ok(Some(owner))` when another live monitor does. A claim whose time is up,
    /// or whose holder ran on this host and no longer runs, is taken over.
    pub fn claim(&mut self, image_key: &str, me: &Claimant, now: i64) -> Result<Option<String>, StateError> {
        // Read first, outside the transaction: whether the holder is a dead process here.
        let held =
            self.backend.query("SELECT owner, host, pid FROM claims WHERE image_key = $1", &[image_key.into()])?;
        let dead = held.first().and_then(|r| match (r.first(), r.get(1), r.get(2).and_then(Val::int)) {
            (Some(Val::Text(owner)), Some(Val::Text(host)), Some(pid))
                if owner != &me.owner
                    && host == &me.host
                    && u32::try_from(pid).is_ok_and(|p| !crate::fsutil::process_alive(p)) =>
            {
                Some(owner.clone())
            }
            _ => None,
        });
        self.atomic(|b| {
            // Writes first: the SQLite backend's transaction holds the write lock from BEGIN,
            // PostgreSQL's INSERT waits for a concurrent one on the same key.
            b.execute(
                "DELETE FROM claims WHERE image_key = $1 AND (expires_at <= $2 OR owner = $3)",
                &[image_key.into(), Val::Int(now), dead.clone().unwrap_or_default().into()],
            )?;
            b.execute(
                "INSERT INTO claims (image_key, owner, host, pid, claimed_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (image_key) DO NOTHING",
                &[
                    image_key.into(),
                    (&me.owner).into(),
                    (&me.host).into(),
                    Val::Int(i64::from(me.pid)),
                    crate::clock::rfc3339(now).into(),
                    Val::Int(now.saturating_add(CLAIM_SECONDS)),
                ],
            )?;
            let rows = b.query("SELECT owner FROM claims WHERE image_key = $1", &[image_key.into()])?;
            match rows.first().and_then(|r| r.first()) {
                Some(Val::Text(owner)) if owner == &me.owner => Ok(None),
                Some(Val::Text(owner)) => Ok(Some(owner.clone())),
                _ => Err(StateError::Row { what: "claims" }),
            }
        })
    }

    /// Extends `me`'s claim on `image_key` to `now + CLAIM_SECONDS`: `false` when `me` no longer
    /// holds it (it expired and another monitor took it over), and then the work must stop.
    pub fn renew_claim(&mut self, image_key: &str, me: &Claimant, now: i64) -> Result<bool, StateError> {
        self.atomic(|b| {
            let n = b.execute(
                "UPDATE claims SET expires_at = $1 WHERE image_key = $2 AND owner = $3",
                &[Val::Int(now.saturating_add(CLAIM_SECONDS)), image_key.into(), (&me.owner).into()],
            )?;
            Ok(n == 1)
        })
    }

    /// Gives up `me`'s claim on `image_key` (nothing when another holds it).
    pub fn release(&mut self, image_key: &str, me: &Claimant) -> Result<(), StateError> {
        self.atomic(|b| {
            b.execute(
                "DELETE FROM claims WHERE image_key = $1 AND owner = $2",
                &[image_key.into(), (&me.owner).into()],
            )?;
            Ok(())
        })
    }

    /// Moves a rebuild on (`built`, `pushed`, `failed`), with what that step learnt.
    pub fn rebuild_step(&mut self, row: &RebuildRow) -> Result<(), StateError> {
        self.atomic(|b| {
            b.execute(
                "UPDATE rebuilds SET state = $1, new_digest = $2, summary = $3, reference = $4, detail = $5,
                   finished_at = $6 WHERE id = $7",
                &[
                    (&row.state).into(),
                    row.new_digest.clone().into(),
                    row.summary.clone().into(),
                    row.reference.clone().into(),
                    row.detail.clone().into(),
                    row.finished_at.clone().into(),
                    (&row.id).into(),
                ],
            )?;
            Ok(())
        })
    }

    /// Publishes a rebuild in one transaction: the new image recorded, the old one superseded
    /// by it, the rebuild `published` with its time-to-fix and notifications.
    pub fn publish_rebuild(&mut self, row: &RebuildRow, new: &PublishedImage) -> Result<(), StateError> {
        let now = row.finished_at.clone().unwrap_or_default();
        self.atomic(|b| {
            b.execute(
                "INSERT INTO images (key, name, tier, reference, digest, definition, sbom, build_record, vex_facts, published_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO NOTHING",
                &[
                    (&new.key).into(),
                    (&new.name).into(),
                    (&new.tier).into(),
                    (&new.reference).into(),
                    (&new.digest).into(),
                    (&new.definition).into(),
                    (&new.sbom).into(),
                    new.build_record.clone().into(),
                    new.vex_facts.clone().into(),
                    (&now).into(),
                ],
            )?;
            // (`$n` are numbered in order of first use: the SQL names them in order.)
            b.execute("UPDATE images SET superseded_by = $1 WHERE key = $2", &[(&new.key).into(), (&row.image_key).into()])?;
            b.execute(
                "UPDATE rebuilds SET state = 'published', new_digest = $1, new_key = $2, summary = $3, reference = $4,
                   finished_at = $5, time_to_fix_seconds = $6, release_notes = $7, osv = $8 WHERE id = $9",
                &[
                    row.new_digest.clone().into(),
                    (&new.key).into(),
                    row.summary.clone().into(),
                    row.reference.clone().into(),
                    (&now).into(),
                    row.time_to_fix_seconds.map_or(Val::Null, Val::Int),
                    row.release_notes.clone().into(),
                    row.osv.clone().into(),
                    (&row.id).into(),
                ],
            )?;
            Ok(())
        })
    }
}

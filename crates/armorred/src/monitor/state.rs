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
}

/// The schema, as migrations in order; each runs once, in a transaction, recorded in
/// `schema_migrations`. Portable SQL: TEXT, BIGINT, primary keys we make.
pub const MIGRATIONS: &[(i64, &str)] = &[(
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
)];

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

    fn migrate(&mut self) -> Result<(), StateError> {
        self.backend.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
        )?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let found = self.version()?;
        if found > known {
            return Err(StateError::Newer { origin: self.origin(), found, known });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            self.atomic(|b| {
                for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    b.batch(stmt)?;
                }
                b.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[Val::Int(*version), crate::clock::Clock::real().now_rfc3339().into()],
                )?;
                Ok(())
            })?;
        }
        Ok(())
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
}

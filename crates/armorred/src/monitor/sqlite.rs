//! The SQLite backend of the monitor state: one file, created with its parent folder on first
//! use; busy waits bounded (another run holding the file makes this one wait, then fail).

use std::path::Path;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::state::{Backend, StateError, Val};

/// One SQLite file.
pub struct Sqlite {
    conn: Connection,
    path: String,
}

impl Sqlite {
    /// Opens (creating) the file.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let shown = path.display().to_string();
        let err = |source| StateError::Sqlite { path: shown.clone(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A missing parent is created; an error shows up as the open's.
            let _ = std::fs::create_dir_all(parent);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        Ok(Self { conn, path: shown })
    }

    fn err(&self, source: rusqlite::Error) -> StateError {
        StateError::Sqlite { path: self.path.clone(), source }
    }
}

fn to_sql(v: &Val) -> SqlValue {
    match v {
        Val::Null => SqlValue::Null,
        Val::Int(i) => SqlValue::Integer(*i),
        Val::Text(s) => SqlValue::Text(s.clone()),
    }
}

impl Backend for Sqlite {
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StateError> {
        let values: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let n = self.conn.execute(sql, rusqlite::params_from_iter(values)).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StateError> {
        let values: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let mut stmt = self.conn.prepare(sql).map_err(|e| StateError::Sqlite { path: self.path.clone(), source: e })?;
        let columns = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |row| {
                (0..columns)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => Val::Null,
                            ValueRef::Integer(n) => Val::Int(n),
                            ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Real(r) => Val::Text(r.to_string()),
                            ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
                        })
                    })
                    .collect::<Result<Vec<Val>, rusqlite::Error>>()
            })
            .map_err(|e| StateError::Sqlite { path: self.path.clone(), source: e })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| StateError::Sqlite { path: self.path.clone(), source: e })
    }

    fn batch(&mut self, sql: &str) -> Result<(), StateError> {
        // BEGIN IMMEDIATE: a second run waits for the first's transaction, never interleaves.
        let sql = if sql == "BEGIN" { "BEGIN IMMEDIATE" } else { sql };
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    fn origin(&self) -> String {
        self.path.clone()
    }
}

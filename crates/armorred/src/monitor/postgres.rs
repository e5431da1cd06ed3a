//! The PostgreSQL backend of the monitor state (`--state postgres://...`), through the sync
//! `postgres` crate: the same schema and migrations as SQLite. Connecting is bounded (10 s);
//! the URL is shown without its password.

use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};

use super::state::{Backend, StateError, Val};

/// One PostgreSQL connection.
pub struct Postgres {
    client: Client,
    url: String,
}

/// The URL without its password (`postgres://user:***@host/db`).
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Postgres {
    /// Connects.
    pub fn connect(url: &str) -> Result<Self, StateError> {
        let shown = redact(url);
        let err = |source| StateError::Postgres { url: shown.clone(), source };
        let mut config: postgres::Config = url.parse().map_err(err)?;
        config.connect_timeout(std::time::Duration::from_secs(10));
        let client = config.connect(NoTls).map_err(err)?;
        Ok(Self { client, url: shown })
    }

    fn err(&self, source: postgres::Error) -> StateError {
        StateError::Postgres { url: self.url.clone(), source }
    }
}

/// Binds each value as the type its column has (TEXT or BIGINT; NULL as TEXT).
fn params(values: &[Val]) -> Vec<Box<dyn ToSql + Sync>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                Val::Null => Box::new(None::<String>),
                Val::Int(i) => Box::new(*i),
                Val::Text(s) => Box::new(s.clone()),
            }
        })
        .collect()
}

impl Backend for Postgres {
    fn execute(&mut self, sql: &str, values: &[Val]) -> Result<u64, StateError> {
        let p = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
        self.client.execute(sql, &refs).map_err(|e| StateError::Postgres { url: self.url.clone(), source: e })
    }

    fn query(&mut self, sql: &str, values: &[Val]) -> Result<Vec<Vec<Val>>, StateError> {
        let p = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
        let rows =
            self.client.query(sql, &refs).map_err(|e| StateError::Postgres { url: self.url.clone(), source: e })?;
        let mut out = Vec::new();
        for row in rows {
            let mut r = Vec::new();
            for (i, c) in row.columns().iter().enumerate() {
                let v = if *c.type_() == Type::INT8 || *c.type_() == Type::INT4 {
                    let n: Option<i64> = if *c.type_() == Type::INT4 {
                        row.try_get::<_, Option<i32>>(i).map_err(|e| self.err(e))?.map(i64::from)
                    } else {
                        row.try_get(i).map_err(|e| self.err(e))?
                    };
                    n.map_or(Val::Null, Val::Int)
                } else {
                    let s: Option<String> = row.try_get(i).map_err(|e| self.err(e))?;
                    s.map_or(Val::Null, Val::Text)
                };
                r.push(v);
            }
            out.push(r);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StateError> {
        self.client.batch_execute(sql).map_err(|e| StateError::Postgres { url: self.url.clone(), source: e })
    }

    fn origin(&self) -> String {
        self.url.clone()
    }

    fn lock_schema(&mut self) -> Result<(), StateError> {
        // A transaction-level advisory lock, released at COMMIT or ROLLBACK; the key is ours
        // (the bytes of "armorred").
        self.batch("SELECT pg_advisory_xact_lock(7021795094452921700)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_is_not_shown() {
        assert_eq!(super::redact("postgres://u:secret@127.0.0.1:5432/db"), "postgres://u:***@127.0.0.1:5432/db");
        assert_eq!(super::redact("postgres://u@127.0.0.1/db"), "postgres://u@127.0.0.1/db");
        assert_eq!(super::redact("postgres:///db?host=/tmp"), "postgres:///db?host=/tmp");
    }
}

//! The one clock. `SOURCE_DATE_EPOCH` is read in one place, [`Clock::from_env`], which the
//! binary calls once per run and hands to every command that needs the time (build, scan,
//! sbom, compare, db import/update, pipeline): unset or empty means the real time, a number
//! of seconds since 1970 fixes "now" to it, anything else is one error, the same everywhere.
//! Library functions that take no clock use the real time and never read the environment.

use std::time::{SystemTime, UNIX_EPOCH};

/// A bad `SOURCE_DATE_EPOCH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Not an integer.
    #[error("SOURCE_DATE_EPOCH={value:?} is not a number of seconds since 1970")]
    BadSourceDateEpoch {
        /// The value as found (lossily decoded).
        value: String,
    },
}

/// What "now" is: the real time, or `SOURCE_DATE_EPOCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    fixed: Option<i64>,
}

impl Clock {
    /// The real time.
    pub fn real() -> Self {
        Self { fixed: None }
    }

    /// Always `epoch` (seconds since 1970).
    pub fn fixed(epoch: i64) -> Self {
        Self { fixed: Some(epoch) }
    }

    /// From `SOURCE_DATE_EPOCH` in the environment.
    pub fn from_env() -> Result<Self, ClockError> {
        let value = std::env::var_os("SOURCE_DATE_EPOCH");
        Self::from_source_date_epoch(value.as_deref().map(|v| v.to_string_lossy()).as_deref())
    }

    /// From a `SOURCE_DATE_EPOCH` value: `None` or empty is the real time.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<Self, ClockError> {
        match value {
            None | Some("") => Ok(Self::real()),
            Some(v) => v.parse().map(Self::fixed).map_err(|_| ClockError::BadSourceDateEpoch { value: v.to_string() }),
        }
    }

    /// `SOURCE_DATE_EPOCH`, when set.
    pub fn source_date_epoch(&self) -> Option<i64> {
        self.fixed
    }

    /// Now, in seconds since 1970.
    pub fn now(&self) -> i64 {
        self.fixed.unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }

    /// Now as RFC 3339 UTC ([`rfc3339`]).
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now())
    }
}

/// RFC 3339 UTC timestamp of `epoch` seconds (`2025-08-09T09:25:47Z`).
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Seconds since 1970 of an RFC 3339 timestamp (any offset); `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_table() {
        assert_eq!(Clock::from_source_date_epoch(None).unwrap(), Clock::real());
        assert_eq!(Clock::from_source_date_epoch(Some("")).unwrap(), Clock::real());
        let c = Clock::from_source_date_epoch(Some("1790000000")).unwrap();
        assert_eq!((c.source_date_epoch(), c.now()), (Some(1790000000), 1790000000));
        assert_eq!(c.now_rfc3339(), "2026-09-21T14:13:20Z");
        for bad in ["abc", "1.5", " 1", "1e9"] {
            let e = Clock::from_source_date_epoch(Some(bad)).unwrap_err();
            assert_eq!(e.to_string(), format!("SOURCE_DATE_EPOCH={bad:?} is not a number of seconds since 1970"));
        }
        assert!(Clock::real().now() > 1_700_000_000);
    }

    #[test]
    fn rfc3339_table() {
        for (epoch, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1754731547, "2025-08-09T09:25:47Z"),
            (1709164800, "2024-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(epoch), want, "{epoch}");
            assert_eq!(parse_rfc3339(want), Some(epoch), "{want}");
        }
    }
}

//! The stages of [`super::build`], one file each, in the order they run: [`lock`] (the
//! definition and its verified lock), [`reuse`] (the output of an earlier build of exactly these
//! inputs, verified, instead of building), [`assemble`] (fetch and verify the packages, the source
//! build, the root file system), [`gate`] (checksec of every ELF file, judged by the policy),
//! [`config`] (the runtime configuration and the annotations) and [`write`] (the image and its
//! build record). Each returns what the next one needs; [`super::build`] wraps each one's error
//! with its [`super::Stage`].

pub(crate) mod assemble;
pub(crate) mod config;
pub(crate) mod gate;
pub(crate) mod lock;
pub(crate) mod reuse;
pub(crate) mod write;

use std::collections::BTreeMap;
use std::time::Instant;

use super::{BuildOptions, Progress};

/// Tells the caller's progress callback that a step starts.
pub(crate) fn announce(opts: &BuildOptions<'_>, step: &str) {
    if let Some(p) = opts.progress {
        p(Progress::Stage(step));
    }
}

/// Tells the caller's progress callback that a step finished, with its result.
pub(crate) fn done(opts: &BuildOptions<'_>, step: &str, result: impl FnOnce() -> String) {
    if let Some(p) = opts.progress {
        p(Progress::Done { step, result: result() });
    }
}

/// Wall time of each step in milliseconds (the build record's `timings_ms`), and the real
/// times the build started and finished (its `started_on` and `finished_on`).
#[derive(Clone)]
pub(crate) struct Timings {
    started_on: String,
    start: Instant,
    last: Instant,
    laps: BTreeMap<String, u128>,
}

impl Timings {
    /// Starts the clock.
    pub(crate) fn start() -> Self {
        let now = Instant::now();
        Self { started_on: crate::clock::Clock::real().now_rfc3339(), start: now, last: now, laps: BTreeMap::new() }
    }

    /// Records the time since the previous lap under `name`.
    pub(crate) fn lap(&mut self, name: &str) {
        self.laps.insert(name.to_string(), self.last.elapsed().as_millis());
        self.last = Instant::now();
    }

    /// Every lap, and the whole build as `total`; the start and finish times.
    pub(crate) fn finish(mut self) -> Finished {
        self.laps.insert("total".into(), self.start.elapsed().as_millis());
        Finished {
            laps: self.laps,
            started_on: self.started_on,
            finished_on: crate::clock::Clock::real().now_rfc3339(),
        }
    }
}

/// What [`Timings::finish`] returns.
pub(crate) struct Finished {
    pub(crate) laps: BTreeMap<String, u128>,
    pub(crate) started_on: String,
    pub(crate) finished_on: String,
}

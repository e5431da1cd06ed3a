//! Progress of a source build, for the caller's callback: each step as it starts, a heartbeat
//! while it runs (its elapsed time and the lines it has logged), each step's end, the checks.
//! The library never prints; the CLI renders these.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a running step reports.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// One event of a source build.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// A cached build of exactly the same inputs is reused: no step runs.
    Reused,
    /// A step starts: the `index`-th (from 1) of `total`.
    Step {
        /// The recipe step's name (`configure`, `make`, `install`, ...).
        name: &'a str,
        /// Its position, from 1.
        index: usize,
        /// How many steps.
        total: usize,
    },
    /// A step is still running ([`HEARTBEAT`]).
    Running {
        /// The step.
        name: &'a str,
        /// Time since it started.
        elapsed: Duration,
        /// Lines it has written to its log so far.
        log_lines: u64,
    },
    /// A step finished with exit status 0.
    StepDone {
        /// The step.
        name: &'a str,
        /// How long it ran.
        elapsed: Duration,
    },
    /// The installed files are being checked (checksec, the tier's checks).
    Checks,
}

/// The callback type.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress<'_>) + Sync);

/// Runs `work` while a second thread reports [`Progress::Running`] for step `name` every
/// [`HEARTBEAT`], counting the lines of `log` as it grows.
pub(crate) fn with_heartbeat<T>(
    progress: Option<ProgressFn<'_>>,
    name: &str,
    log: &Path,
    work: impl FnOnce() -> T,
) -> T {
    let Some(cb) = progress else { return work() };
    let started = Instant::now();
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut lines = LineCounter::default();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
                cb(Progress::Running { name, elapsed: started.elapsed(), log_lines: lines.count(log) });
            }
        });
        let out = work();
        drop(stop);
        out
    })
}

/// Counts the newlines of a growing file, reading only what was appended since last time
/// (at most 1 MiB per call, so a step that floods its log cannot stall the heartbeat).
#[derive(Default)]
struct LineCounter {
    offset: u64,
    lines: u64,
}

impl LineCounter {
    fn count(&mut self, path: &Path) -> u64 {
        const MAX: u64 = 1 << 20;
        let Ok(mut f) = std::fs::File::open(path) else { return self.lines };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return self.lines;
        }
        let mut buf = Vec::new();
        if let Ok(n) = f.take(MAX).read_to_end(&mut buf) {
            self.offset += n as u64;
            self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_long_step_ticks_with_its_log_lines_and_a_short_one_need_not() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = tmp.path().join("make.log");
        let seen = Mutex::new(Vec::new());
        let cb = |p: Progress<'_>| {
            if let Progress::Running { name, elapsed, log_lines } = p {
                seen.lock().expect("lock").push((name.to_string(), elapsed, log_lines));
            }
        };
        let got = with_heartbeat(Some(&cb), "make", &log, || {
            std::fs::write(&log, "a\nb\nc\n").expect("log");
            std::thread::sleep(HEARTBEAT * 2 + HEARTBEAT / 2);
            7
        });
        assert_eq!(got, 7);
        let seen = seen.into_inner().expect("lock");
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(seen.iter().all(|(n, _, lines)| n == "make" && *lines == 3), "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].1 < w[1].1), "elapsed grows: {seen:?}");
        // No callback: the work just runs.
        assert_eq!(with_heartbeat(None, "x", &log, || 1), 1);
    }
}

//! The catalog's own test of a rebuilt image (`[rebuild] test` in `monitor.toml`): a command
//! run after the build and its checksec gate, before anything is pushed or published. It gets
//! the new image as an OCI layout and says pass (exit 0) or fail (anything else, a signal, or
//! running past its time limit, after which its whole process group is killed). Its output goes
//! to `test.log` in the rebuild's folder; a failure's message carries the log's last lines.
//!
//! The command is the catalog's choice: the image's own test suite in a container engine
//! (`bench/nginx-tests.sh`, `bench/redis-tests.sh`, ... after loading the layout), a smoke test,
//! or anything else that can read an OCI layout. Its arguments may name `{layout}`, `{image}`,
//! `{tier}`, `{digest}` and `{definition}`; the same are in its environment as
//! `ARMORRED_TEST_LAYOUT`, `ARMORRED_TEST_IMAGE`, `ARMORRED_TEST_TIER`, `ARMORRED_TEST_DIGEST`
//! and `ARMORRED_TEST_DEFINITION`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the test is given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) layout: &'a str,
    pub(crate) image: &'a str,
    pub(crate) tier: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) definition: &'a str,
}

impl Subject<'_> {
    fn vars(&self) -> [(&'static str, &str); 5] {
        [
            ("layout", self.layout),
            ("image", self.image),
            ("tier", self.tier),
            ("digest", self.digest),
            ("definition", self.definition),
        ]
    }
}

/// The lines of the log a failure message quotes.
const TAIL_LINES: usize = 15;
/// How much of the log's end is read for them.
const TAIL_BYTES: u64 = 64 * 1024;

/// `argv` with every `{name}` of [`Subject`] replaced.
pub(crate) fn expand(argv: &[String], s: &Subject<'_>) -> Vec<String> {
    argv.iter().map(|a| s.vars().iter().fold(a.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))).collect()
}

/// Runs the test; `Err` says why it did not pass (with the log's last lines).
pub(crate) fn run(argv: &[String], s: &Subject<'_>, log: &Path, limit: Duration) -> Result<Duration, String> {
    let argv = expand(argv, s);
    let Some((program, args)) = argv.split_first() else {
        return Err("[rebuild] test is empty".into());
    };
    let out = std::fs::File::create_new(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut c = Command::new(program);
    c.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    for (k, v) in s.vars() {
        c.env(format!("ARMORRED_TEST_{}", k.to_uppercase()), v);
    }
    // Its own process group: a time-out kills everything it started.
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let started = Instant::now();
    let shown = crate::display::escape(program).into_owned();
    let mut child = c.spawn().map_err(|e| format!("cannot run the test {shown}: {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the test {shown} ran past its limit of {} s and was killed{}",
                    limit.as_secs(),
                    tail(log)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("cannot wait for the test {shown}: {e}")),
        }
    };
    if status.success() {
        return Ok(started.elapsed());
    }
    let how = match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "failed".into(),
    };
    Err(format!("the test {shown} {how} (log: {}){}", log.display(), tail(log)))
}

/// The log's last lines, escaped, as `:\n  line\n  line`; empty when there is none.
fn tail(log: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = crate::fsutil::open_regular(log) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = f.take(TAIL_BYTES).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let last = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    if last.is_empty() {
        return String::new();
    }
    let mut out = String::from(":");
    for l in last {
        out.push_str("\n  ");
        out.push_str(&crate::display::escape(l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject<'static> {
        Subject {
            layout: "/o/image",
            image: "nginx",
            tier: "hardened",
            digest: "sha256:ab",
            definition: "images/nginx",
        }
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into(), "test".into(), "{layout}".into(), "{tier}".into()]
    }

    #[test]
    fn placeholders_are_expanded_in_arguments_and_given_in_the_environment() {
        let argv = vec!["t".into(), "--in={layout}".into(), "{image}:{tier}@{digest}".into(), "{other}".into()];
        assert_eq!(expand(&argv, &subject()), ["t", "--in=/o/image", "nginx:hardened@sha256:ab", "{other}"]);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("test.log");
        let script = r#"[ "$1" = /o/image ] && [ "$2" = hardened ] && [ "$ARMORRED_TEST_DIGEST" = sha256:ab ] && [ "$ARMORRED_TEST_DEFINITION" = images/nginx ] && echo ok"#;
        run(&sh(script), &subject(), &log, Duration::from_secs(30)).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "ok\n");
    }

    #[test]
    fn a_failure_names_the_exit_code_and_quotes_the_escaped_log_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("test.log");
        let script = r"for i in $(seq 1 40); do echo line $i; done; printf 'bad \033[31m\n'; exit 3";
        let e = run(&sh(script), &subject(), &log, Duration::from_secs(30)).unwrap_err();
        assert!(e.starts_with("the test /bin/sh exited with 3 (log: "), "{e}");
        assert!(e.contains("\n  line 40\n  bad \\u{1b}[31m") || e.contains("\n  line 40\n  bad \\x1b[31m"), "{e}");
        assert!(!e.contains("line 25\n"), "more than the tail: {e}");
    }

    #[test]
    fn a_test_past_its_limit_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("test.log");
        let pidfile = dir.path().join("child.pid");
        let script = format!("sleep 60 & echo $! > {}; echo waiting; wait", pidfile.display());
        let t = Instant::now();
        let e = run(&sh(&script), &subject(), &log, Duration::from_secs(1)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(20), "not killed in time");
        assert!(e.contains("ran past its limit of 1 s and was killed:\n  waiting"), "{e}");
        let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // The grandchild is gone too (dead: no /proc entry, or a zombie its new parent has
        // not reaped yet).
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with(|c| c != 'Z')))
                .unwrap_or(false)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!running(), "the test's child {pid} outlived it");
    }

    #[test]
    fn a_missing_program_and_an_existing_log_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("test.log");
        let e = run(&["/nonexistent/armorred-test".into()], &subject(), &log, Duration::from_secs(5)).unwrap_err();
        assert!(e.starts_with("cannot run the test /nonexistent/armorred-test: "), "{e}");
        // The log is ours: an existing file is not overwritten.
        let e = run(&sh("true"), &subject(), &log, Duration::from_secs(5)).unwrap_err();
        assert!(e.starts_with(&format!("cannot create {}: ", log.display())), "{e}");
        assert!(run(&[], &subject(), &dir.path().join("other.log"), Duration::from_secs(5)).is_err());
    }
}

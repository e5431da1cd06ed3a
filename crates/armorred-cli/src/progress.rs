//! Progress on a terminal: one spinner for the running step with its elapsed time, and a
//! permanent line for each step as it finishes. Nothing is shown when stderr is not a
//! terminal, when `CI` is set, or with `--quiet`. The library reports the events
//! ([`build::Progress`], [`compile::Progress`], [`pipeline::Progress`]); this renders them.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use armorred::build::{self, compile};
use armorred::display::escape;
use armorred::pipeline;
use indicatif::{ProgressBar, ProgressStyle};

/// Whether progress is shown: a terminal on stderr, no `CI`, no `--quiet`.
pub(crate) fn enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// The spinner, when shown.
pub(crate) struct Ui {
    bar: Option<ProgressBar>,
    /// `image:variant ` of the pipeline's current variant.
    prefix: Mutex<String>,
}

impl Ui {
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = enabled(quiet).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Self { bar, prefix: Mutex::new(String::new()) }
    }

    fn prefix(&self) -> String {
        self.prefix.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// A step starts: the spinner's text, its clock from zero.
    fn start(&self, what: &str) {
        if let Some(b) = &self.bar {
            b.reset_elapsed();
            b.set_message(format!("{}{}", self.prefix(), escape(what)));
        }
    }

    /// The running step's text, its clock running on.
    fn status(&self, what: &str) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{}{}", self.prefix(), escape(what)));
        }
    }

    /// A permanent line above the spinner.
    fn line(&self, what: &str) {
        if let Some(b) = &self.bar {
            b.println(format!("{}{}", self.prefix(), escape(what)));
        }
    }

    /// Removes the spinner.
    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// An event of `armorred build`: each step's result is a permanent line.
    pub(crate) fn build(&self, p: build::Progress<'_>) {
        match p {
            build::Progress::Stage(s) => self.start(s),
            build::Progress::Package { name, done, total } => self.status(&format!("fetch {done}/{total} {name}")),
            build::Progress::Done { step, result } => self.line(&format!("{step}: {result}")),
            build::Progress::Source(s) => self.source(s, true),
        }
    }

    /// An event of a source build; `lines`: each finished step gets a permanent line.
    pub(crate) fn source(&self, p: compile::Progress<'_>, lines: bool) {
        match p {
            compile::Progress::Reused => self.status("build from source: reused from the cache"),
            compile::Progress::Step { name, index, total } => {
                self.start(&format!("build from source: {name} ({index}/{total})"))
            }
            compile::Progress::Running { name, log_lines, .. } => {
                self.status(&format!("build from source: {name}, {log_lines} lines of output"))
            }
            compile::Progress::StepDone { name, elapsed } if lines => {
                self.line(&format!("  {name}: done in {:.1} s", elapsed.as_secs_f64()))
            }
            compile::Progress::StepDone { .. } => {}
            compile::Progress::Checks => self.start("build from source: checks"),
        }
    }

    /// An event of `armorred pipeline`: each stage's result is a permanent line; the build's
    /// own steps show on the spinner only.
    pub(crate) fn pipeline(&self, p: pipeline::Progress<'_>) {
        match p {
            pipeline::Progress::Variant { image, variant } => {
                if let Ok(mut prefix) = self.prefix.lock() {
                    *prefix = format!("{}:{} ", escape(image), escape(variant));
                }
            }
            pipeline::Progress::Stage(s) => {
                // The DB and the site are of the whole run, not of a variant.
                if matches!(s, "db" | "site") {
                    if let Ok(mut prefix) = self.prefix.lock() {
                        prefix.clear();
                    }
                }
                self.start(s)
            }
            pipeline::Progress::Done { stage, result } => self.line(&format!("{stage}: {result}")),
            pipeline::Progress::Build(b) => match b {
                build::Progress::Stage(s) => self.status(&format!("build: {s}")),
                build::Progress::Package { name, done, total } => {
                    self.status(&format!("build: fetch {done}/{total} {name}"))
                }
                build::Progress::Done { .. } => {}
                build::Progress::Source(s) => self.source(s, false),
            },
        }
    }
}

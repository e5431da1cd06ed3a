//! `armorred monitor run [--from OUT | --from-registry HOST --verify-key PUB] [--state FILE|URL] [--db DB] [--every 24h]`.

use std::io::Write;

use armorred::clock::Clock;
use armorred::monitor::{self, RunOptions, State};

use crate::cli::{MonitorArgs, MonitorCommand};
use crate::Outcome;

/// The crash tests' hook: `ARMORRED_MONITOR_ABORT_AT=<point>` stops the process (as a kill
/// would) when a run reaches that point (`scanned`, `vex-written`, `recorded`; in a rebuild
/// `rebuild-started`, `relocked`, `rebuilt`, `pushed`, `published`).
const ABORT_AT: &str = "ARMORRED_MONITOR_ABORT_AT";

pub(crate) fn run(
    args: &MonitorArgs,
    clock: impl Fn() -> Result<Clock, armorred::clock::ClockError>,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let args = match &args.command {
        MonitorCommand::Run(a) => a,
        MonitorCommand::Status(a) => {
            let spec = a.state.clone().unwrap_or_else(|| a.from.join("monitor.db").to_string_lossy().into_owned());
            let status = monitor::status(&mut State::open(&spec)?)?;
            writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&status)?)?;
            return Ok(Outcome::Success);
        }
    };
    let every = match &args.every {
        Some(s) => Some(
            monitor::parse_interval(s)
                .ok_or_else(|| anyhow::anyhow!("--every {s:?}: give a number and s, m, h or d (24h)"))?,
        ),
        None => None,
    };
    let spec = args.state.clone().unwrap_or_else(|| args.from.join("monitor.db").to_string_lossy().into_owned());
    let policy = match &args.policy {
        Some(p) => monitor::rebuild::Policy::load(p)?,
        None if std::path::Path::new("monitor.toml").is_file() => {
            monitor::rebuild::Policy::load(std::path::Path::new("monitor.toml"))?
        }
        None => monitor::rebuild::Policy::default(),
    };
    let rebuild = if args.rebuild {
        let signing = match &args.key {
            Some(prefix) => {
                use std::os::unix::ffi::OsStringExt;
                let password = std::env::var_os("COSIGN_PASSWORD").map(OsStringExt::into_vec).unwrap_or_default();
                let (key, public_key, _) = armorred::sign::key::load_or_generate(prefix, &password)?;
                Some(armorred::pipeline::Signing { key, public_key })
            }
            None => None,
        };
        Some(monitor::rebuild::RebuildOptions {
            policy: policy.clone(),
            mirror: args.mirror.clone(),
            cache: args.cache.clone(),
            signing,
            registry: args.registry.clone(),
            insecure: args.insecure_registry.clone(),
        })
    } else {
        None
    };
    let registry = match (&args.from_registry, &args.verify_key) {
        (Some(r), Some(k)) => {
            let key = armorred::sign::load_public_key(k)?;
            Some(monitor::source::RegistrySource::parse(r, key, &args.insecure_registry)?)
        }
        _ => None,
    };
    let abort_at = std::env::var(ABORT_AT).ok();
    let checkpoint = |point: &str, _key: &str| {
        if abort_at.as_deref() == Some(point) {
            std::process::abort();
        }
    };
    loop {
        let mut state = State::open(&spec)?;
        let opts = RunOptions {
            from: args.from.clone(),
            db: armorred::vuln::db::resolve_path(args.db.as_deref()),
            clock: clock()?,
            checkpoint: Some(&checkpoint),
            rebuild: rebuild.clone(),
            eol_warn_days: policy.eol_warn_days,
            shard: args.shard,
            write_vex: true,
            registry: registry.clone(),
        };
        let report = monitor::run(&mut state, &opts)?;
        // The site's history, and the site itself when the main job rendered one there.
        monitor::write_history(&mut state, &args.from)?;
        let site = args.from.join("site");
        if site.join(armorred::site::MARKER).is_file() {
            armorred::site::render(&args.from, &site)?;
        }
        let mut out = std::io::stdout().lock();
        for img in &report.images {
            let what = if img.already_scanned {
                "already scanned with this DB".to_string()
            } else {
                format!("{} findings, {} new", img.findings, img.new.len())
            };
            let vex = img.vex.as_ref().map_or_else(|| "no VEX (nothing to state)".into(), |v| v.display().to_string());
            writeln!(out, "{}\t{what}\t{vex}", armorred::display::escape(&img.key))?;
            for d in &img.new {
                writeln!(
                    out,
                    "  {}\t{}\t{}{}",
                    armorred::display::escape(&d.vulnerability),
                    armorred::display::escape(&d.component),
                    d.status.as_str(),
                    d.justification.map(|j| format!(" ({})", j.as_str())).unwrap_or_default()
                )?;
            }
        }
        for r in &report.rebuilds {
            writeln!(
                out,
                "rebuild {}\t{}\t{}\t{}{}",
                armorred::display::escape(&r.image),
                r.state,
                r.advisory.as_deref().unwrap_or("-"),
                r.fixes
                    .iter()
                    .map(|f| f.vulnerability.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(","),
                r.time_to_fix_seconds.map(|t| format!("\ttime-to-fix {t} s")).unwrap_or_default()
            )?;
            if let Some(k) = &r.new_key {
                writeln!(out, "  published {}", armorred::display::escape(k))?;
            }
            if let Some(d) = &r.detail {
                writeln!(out, "  {}", armorred::display::escape_lines(d))?;
            }
        }
        for s in &report.skipped {
            writeln!(
                out,
                "unverified {}\tnot watched: {}",
                armorred::display::escape(&s.reference),
                armorred::display::escape_lines(&s.reason)
            )?;
        }
        for w in &report.eol {
            writeln!(out, "eol {}\t{}", armorred::display::escape(&w.image), w.message)?;
        }
        let posted = match &args.webhook {
            Some(url) => monitor::notify(url, &report)?,
            None => false,
        };
        if !quiet {
            let mut err = std::io::stderr().lock();
            writeln!(err, "state: {} (DB {})", state.origin(), report.db_digest)?;
            if posted {
                writeln!(err, "notified {}", args.webhook.as_deref().unwrap_or_default())?;
            }
        }
        // One run: a rebuild that failed (its build, gate or test) is a failed check, exit 1.
        let failed = report.rebuilds.iter().any(|r| r.state == "failed");
        match every {
            Some(d) => std::thread::sleep(d),
            None if failed => return Ok(Outcome::CheckFailed),
            None => return Ok(Outcome::Success),
        }
    }
}

//! `armorred db import|update|status`.

use std::io::Write;
use std::path::PathBuf;

use armorred::clock::{Clock, ClockError};
use armorred::vuln::db::{self, Db, SourceStatus};
use armorred::vuln::import::{Format, Limits};
use armorred::vuln::{config, update};

use crate::cli::{DbArgs, DbCommand, StatusFormat};
use crate::Outcome;

/// The source's age at `now` (seconds since the epoch), as `3 h`.
fn age(s: &SourceStatus, now: Option<i64>) -> String {
    now.and_then(|n| s.age_hours(n)).map_or_else(|| "-".into(), |h| format!("{h} h"))
}

fn print_sources(out: &mut dyn Write, sources: &[SourceStatus], now: Option<i64>) -> std::io::Result<()> {
    use armorred::display::{cell, escape, pad, pad_left, MAX_CELL_CHARS};
    let c = |s: &str| cell(s, MAX_CELL_CHARS).into_owned();
    let rows: Vec<[String; 5]> = sources
        .iter()
        .map(|s| {
            [
                c(&s.name),
                s.records.to_string(),
                s.affected.to_string(),
                c(s.newest.as_deref().unwrap_or("-")),
                c(&format!("{} ({})", s.imported_at, age(s, now))),
            ]
        })
        .collect();
    let header = ["SOURCE", "RECORDS", "AFFECTED", "NEWEST RECORD", "IMPORTED (AGE)"];
    let mut w = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |c: [&str; 5]| {
        format!(
            "{}  {}  {}  {}  {}\n",
            pad(c[0], w[0]),
            pad_left(c[1], w[1]),
            pad_left(c[2], w[2]),
            pad(c[3], w[3]),
            c[4]
        )
    };
    out.write_all(line(header).as_bytes())?;
    for r in &rows {
        out.write_all(line([&r[0], &r[1], &r[2], &r[3], &r[4]]).as_bytes())?;
    }
    for s in sources {
        if let (Some(feed), Some(location)) = (&s.feed, &s.location) {
            writeln!(out, "  {}: feed {} from {}", escape(&s.name), escape(feed), escape(location))?;
        }
        let skipped: u64 = s.skipped.values().sum();
        if skipped > 0 {
            let detail: Vec<String> = s.skipped.iter().map(|(k, v)| format!("{} ({v})", escape(k))).collect();
            writeln!(out, "  {}: skipped {skipped}: {}", escape(&s.name), detail.join(", "))?;
        }
        for (ns, why) in &s.partial {
            writeln!(out, "  {}: {} is partial: {}", escape(&s.name), escape(ns), escape(why))?;
        }
    }
    Ok(())
}

/// `clock` is called only by the commands that record a time (import, update).
pub(crate) fn run(args: &DbArgs, clock: fn() -> Result<Clock, ClockError>, quiet: bool) -> anyhow::Result<Outcome> {
    let mut out = anstream::stdout().lock();
    match &args.command {
        DbCommand::Import(a) => {
            let path = db::resolve_path(a.db.as_deref());
            let inputs: Vec<(PathBuf, Option<Format>)> = a.paths.iter().map(|p| (p.clone(), a.format)).collect();
            let report = db::import_at(&path, &inputs, &Limits::default(), &clock()?)?;
            if !quiet {
                writeln!(out, "imported into {}", report.db.display())?;
                print_sources(&mut out, &report.sources, None)?;
            }
        }
        DbCommand::Update(a) if a.feeds.is_none() && a.feed.is_empty() => {
            let path = db::resolve_path(a.db.as_deref());
            let config = config::load(a.config.as_deref(), &std::env::current_dir()?)?;
            let cache = a
                .cache
                .clone()
                .unwrap_or_else(|| path.parent().map(|p| p.join("feeds")).unwrap_or_else(|| PathBuf::from("feeds")));
            let clock = clock()?;
            let mut err = anstream::stderr().lock();
            let mut progress = |line: &str| {
                if !quiet {
                    let _ = writeln!(err, "{}", armorred::display::escape(line));
                }
            };
            let report = update::update_from_config(&path, &config, &cache, &clock, &mut progress)?;
            for f in report.feeds.iter().filter(|f| f.location.is_none()) {
                let tried: Vec<&str> = f.failed.iter().map(|(_, e)| e.as_str()).collect();
                writeln!(
                    err,
                    "warning: feed {}: no location answered; kept what the DB had of it ({})",
                    armorred::display::escape(&f.feed),
                    armorred::display::escape(&tried.join("; "))
                )?;
            }
            if !quiet {
                writeln!(out, "updated {} from {}", report.import.db.display(), report.config)?;
                print_sources(&mut out, &report.import.sources, Some(clock.now()))?;
            }
        }
        DbCommand::Update(a) => {
            let path = db::resolve_path(a.db.as_deref());
            let mut feeds = match &a.feeds {
                Some(f) => update::read_feeds(f)?,
                None => Vec::new(),
            };
            feeds.extend(a.feed.iter().map(|u| update::feed_from_url(u)));
            let cache = a
                .cache
                .clone()
                .unwrap_or_else(|| path.parent().map(|p| p.join("feeds")).unwrap_or_else(|| PathBuf::from("feeds")));
            let report = update::update(&path, &feeds, &cache, &clock()?)?;
            if !quiet {
                writeln!(out, "updated {}", report.db.display())?;
                print_sources(&mut out, &report.sources, None)?;
            }
        }
        DbCommand::Status(a) => {
            let path = db::resolve_path(a.db.as_deref());
            let db = Db::open(&path)?;
            match a.output {
                StatusFormat::Json => {
                    let v = serde_json::json!({
                        "path": db.path(),
                        "sha256": db.sha256(),
                        "built": db.built(),
                        "sources": db.sources(),
                    });
                    serde_json::to_writer_pretty(&mut out, &v)?;
                    writeln!(out)?;
                }
                StatusFormat::Table => {
                    writeln!(out, "database {}", db.path().display())?;
                    writeln!(out, "sha256   {}", db.sha256())?;
                    writeln!(out, "built    {}", db.built().unwrap_or("-"))?;
                    print_sources(&mut out, db.sources(), clock().ok().map(|c| c.now()))?;
                }
            }
        }
    }
    Ok(Outcome::Success)
}

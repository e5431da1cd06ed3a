//! `armorred db import|update|status`.

use std::io::Write;
use std::path::PathBuf;

use armorred::clock::{Clock, ClockError};
use armorred::vuln::db::{self, Db, SourceStatus};
use armorred::vuln::import::{Format, Limits};
use armorred::vuln::update;

use crate::cli::{DbArgs, DbCommand, StatusFormat};
use crate::Outcome;

fn print_sources(out: &mut dyn Write, sources: &[SourceStatus]) -> std::io::Result<()> {
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
                c(&s.imported_at),
            ]
        })
        .collect();
    let header = ["SOURCE", "RECORDS", "AFFECTED", "NEWEST RECORD", "IMPORTED"];
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
                print_sources(&mut out, &report.sources)?;
            }
        }
        DbCommand::Update(a) => {
            let path = db::resolve_path(a.db.as_deref());
            let mut feeds = match &a.feeds {
                Some(f) => update::read_feeds(f)?,
                None => Vec::new(),
            };
            feeds.extend(a.feed.iter().map(|u| update::feed_from_url(u)));
            if feeds.is_empty() {
                feeds = update::default_feeds();
            }
            let cache = a
                .cache
                .clone()
                .unwrap_or_else(|| path.parent().map(|p| p.join("feeds")).unwrap_or_else(|| PathBuf::from("feeds")));
            let report = update::update(&path, &feeds, &cache, &clock()?)?;
            if !quiet {
                writeln!(out, "updated {}", report.db.display())?;
                print_sources(&mut out, &report.sources)?;
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
                    print_sources(&mut out, db.sources())?;
                }
            }
        }
    }
    Ok(Outcome::Success)
}

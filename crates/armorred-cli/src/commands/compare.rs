//! `armorred compare UPSTREAM HARDENED`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context};
use armorred::clock::Clock;
use armorred::report::{common_db_digest, compare, read_build_record, read_side, render, Comparison, SideOptions};
use armorred::vuln::db::{self, Db};

use crate::cli::CompareArgs;
use crate::Outcome;

fn render_as(format: &str, c: &Comparison) -> anyhow::Result<String> {
    Ok(match format {
        "table" => render::table(c),
        "markdown" | "md" => render::markdown(c),
        "json" => render::json(c)?,
        "html" => render::html(c),
        "in-toto" => render::in_toto(c)?,
        other => bail!("unknown output format {other:?} (table, markdown, json, html, in-toto)"),
    })
}

pub(crate) fn run(args: &CompareArgs, clock: &Clock) -> anyhow::Result<Outcome> {
    super::distinct_files(
        args.output.iter().filter_map(|o| o.split_once('=').map(|(_, p)| (format!("-o {o}"), Path::new(p)))),
    )?;
    let record = args.hardened_build_record.as_deref().map(read_build_record).transpose()?;
    // A side with a scan result needs no DB: open it only for a side without one.
    let db = if args.upstream_scan.is_none() || args.hardened_scan.is_none() {
        let db = Db::open(&db::resolve_path(args.db.as_deref()))?;
        if !args.skip_db_age_check {
            db.check_age(args.max_db_age, clock)?;
        }
        Some(db)
    } else {
        None
    };
    let upstream = read_side(
        &args.upstream,
        db.as_ref(),
        &SideOptions { scan: args.upstream_scan.as_deref(), build_record: None },
    )?;
    let hardened = read_side(
        &args.hardened,
        db.as_ref(),
        &SideOptions { scan: args.hardened_scan.as_deref(), build_record: record.as_ref() },
    )?;
    let comparison = compare(&upstream, &hardened, common_db_digest(&[&upstream, &hardened]).as_deref());
    for output in &args.output {
        let (format, file) = output.split_once('=').map_or((output.as_str(), None), |(f, p)| (f, Some(p)));
        let text = render_as(format, &comparison)?;
        match file {
            Some(path) => armorred::fsutil::write_bytes_atomic(Path::new(path), text.as_bytes())
                .with_context(|| format!("cannot write the {format} report"))?,
            None => {
                let mut out = std::io::stdout().lock();
                // Markdown and HTML carry image data as is: escaped when a terminal shows it.
                let text =
                    if out.is_terminal() { armorred::display::escape_lines(&text) } else { text.as_str().into() };
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(Outcome::Success)
}

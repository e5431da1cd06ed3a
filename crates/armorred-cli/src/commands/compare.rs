//! `armorred compare UPSTREAM HARDENED`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use armorred::report::{compare, render, side_from_source, Comparison};
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

pub(crate) fn run(args: &CompareArgs) -> anyhow::Result<Outcome> {
    let db = Db::open(&db::resolve_path(args.db.as_deref()))?;
    if !args.skip_db_age_check {
        db.check_age(args.max_db_age)?;
    }
    let upstream = side_from_source(&args.upstream, &db)?;
    let hardened = side_from_source(&args.hardened, &db)?;
    let comparison = compare(&upstream, &hardened, Some(&format!("sha256:{}", db.sha256())));
    for output in &args.output {
        let (format, file) = output.split_once('=').map_or((output.as_str(), None), |(f, p)| (f, Some(p)));
        let text = render_as(format, &comparison)?;
        match file {
            Some(path) => armorred::fsutil::write_bytes_atomic(Path::new(path), text.as_bytes())
                .with_context(|| format!("cannot write the {format} report"))?,
            None => std::io::stdout().lock().write_all(text.as_bytes())?,
        }
    }
    Ok(Outcome::Success)
}

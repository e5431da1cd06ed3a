//! `armorred build-source`.

use std::io::Write;

use armorred::build::buildroot;
use armorred::build::compile::{self, BuildOptions, BuildRoot, HostToolchain, Namespaces};
use armorred::build::debian::{Cache, Mirror};

use crate::cli::BuildSourceArgs;
use crate::Outcome;

pub(crate) fn run(args: &BuildSourceArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let tier = args.tier;
    let cache = Cache::new(args.cache.clone().unwrap_or_else(Cache::default_dir));
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    let opts = BuildOptions {
        recipe_dir: args.recipe_dir.clone(),
        tier,
        out: args.out.clone(),
        cache: cache.dir().to_path_buf(),
        jobs,
        keep_work: args.keep_work,
        reuse: false,
    };
    let sandbox = Namespaces::new()?;
    let root: Box<dyn BuildRoot> = if args.host_toolchain {
        Box::new(HostToolchain::new())
    } else {
        let mirror = args.mirror.as_deref().map(Mirror::from_base);
        Box::new(buildroot::locked(&args.recipe_dir, tier, &cache, mirror)?)
    };
    let ui = crate::progress::Ui::new(quiet);
    let progress = |p: compile::Progress<'_>| ui.source(p, true);
    let result = compile::build_with_progress(&opts, &sandbox, root.as_ref(), Some(&progress));
    ui.finish();
    let outcome = match result {
        Ok(o) => o,
        Err(e @ compile::SourceBuildError::Verification { .. }) => {
            let mut err = anstream::stderr().lock();
            writeln!(err, "check failed: {e}")?;
            return Ok(Outcome::CheckFailed);
        }
        Err(e) => return Err(e.into()),
    };
    if !quiet {
        let mut err = anstream::stderr().lock();
        let elves = outcome.record.checksec.len();
        writeln!(
            err,
            "built {} {} ({}) in {:.1} s: {} files, {} ELF, {} checks passed",
            outcome.record.package.name,
            outcome.record.package.version,
            tier,
            outcome.seconds,
            outcome.record.outputs.len(),
            elves,
            outcome.record.checks.len()
        )?;
        writeln!(err, "installed tree: {}", outcome.destdir.display())?;
        writeln!(err, "build record:   {}", outcome.record_path.display())?;
    }
    Ok(Outcome::Success)
}

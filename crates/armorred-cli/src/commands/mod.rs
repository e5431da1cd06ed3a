//! One module per command: each turns arguments into library calls and prints the result.

mod attest;
mod build;
mod build_source;
mod checksec;
mod compare;
mod db;
mod key;
mod lock;
mod monitor;
mod pipeline;
mod pull;
mod push;
mod sbom;
mod scan;
mod sign;
mod site;
mod verify;
mod verify_attestation;

use std::path::{Path, PathBuf};

use armorred::clock::Clock;

use crate::cli::{Cli, Command};
use crate::Outcome;

pub(crate) fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // The one clock (SOURCE_DATE_EPOCH), read once, before any work, by the commands that tell
    // the time; a bad value is the same error from each.
    let clock = Clock::from_env;
    match cli.command {
        Command::Lock(args) => lock::run(&args, cli.quiet),
        Command::Build(args) => build::run(&args, &clock()?, cli.quiet),
        Command::BuildSource(args) => build_source::run(&args, cli.quiet),
        Command::Checksec(args) => checksec::run(&args),
        Command::Sbom(args) => sbom::run(&args, &clock()?, cli.quiet),
        Command::Db(args) => db::run(&args, clock, cli.quiet),
        Command::Scan(args) => scan::run(&args, &clock()?, cli.quiet),
        Command::Compare(args) => compare::run(&args, &clock()?),
        Command::Pipeline(args) => pipeline::run(&args, clock()?, cli.quiet),
        Command::Push(args) => push::run(&args, cli.quiet),
        Command::Pull(args) => pull::run(&args, cli.quiet),
        Command::Key(args) => key::run(&args, cli.quiet),
        Command::Sign(args) => sign::run(&args, cli.quiet),
        Command::Verify(args) => verify::run(&args, cli.quiet),
        Command::Attest(args) => attest::run(&args, cli.quiet),
        Command::VerifyAttestation(args) => verify_attestation::run(&args, cli.quiet),
        Command::Site(args) => site::run(&args, cli.quiet),
        Command::Monitor(args) => monitor::run(&args, clock, cli.quiet),
    }
}

/// What identifies a file for [`distinct_files`]: an existing file by device and inode (so a
/// symlink or hard link to it is the same file), a new one by its resolved directory and name.
#[derive(PartialEq, Eq)]
enum FileKey {
    Inode(u64, u64),
    Path(PathBuf),
}

fn file_key(path: &Path) -> FileKey {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(path) {
        return FileKey::Inode(m.dev(), m.ino());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = parent.canonicalize().unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(parent));
    FileKey::Path(parent.join(path.file_name().unwrap_or_default()))
}

/// Refuses two outputs (`(option as given, file)`) that name the same file, before any work:
/// the second would silently replace the first.
pub(crate) fn distinct_files<'a>(outputs: impl IntoIterator<Item = (String, &'a Path)>) -> anyhow::Result<()> {
    let mut seen: Vec<(String, FileKey)> = Vec::new();
    for (option, path) in outputs {
        let key = file_key(path);
        if let Some((first, _)) = seen.iter().find(|(_, k)| *k == key) {
            anyhow::bail!(
                "{first} and {option} name the same file {}: give each output its own file",
                armorred::display::escape(&path.display().to_string())
            );
        }
        seen.push((option, key));
    }
    Ok(())
}

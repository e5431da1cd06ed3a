//! Argument types only (clap derive). Dispatch lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Hardened container images from pinned inputs, with proof attached.
#[derive(Debug, Parser)]
#[command(name = "armorred", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// No progress bars or summaries on stderr.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Analyse ELF binaries for hardening (RELRO, canary, NX, PIE, FORTIFY, SafeStack, CFI, CET).
    Checksec(ChecksecArgs),
    /// Run the main job: every stage of the nginx pipeline that exists.
    Pipeline(PipelineArgs),
    /// Software bill of materials of an image or directory (CycloneDX 1.6, SPDX 2.3).
    Sbom(SbomArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksecFormat {
    /// Aligned columns, colored on a terminal.
    Table,
    /// checksec.sh's JSON, keyed by path, plus ARMORRED's extra keys.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyArg {
    /// Full RELRO, canary, NX, PIE, no RPATH/RUNPATH outside the image, FORTIFY.
    Hardened,
    /// hardened plus SafeStack and CFI on executables.
    Locked,
}

#[derive(Debug, Args)]
pub(crate) struct ChecksecArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ChecksecFormat::Table)]
    pub(crate) format: ChecksecFormat,
    /// Judge every file against a tier policy; exit 1 on a violation.
    #[arg(long, value_enum)]
    pub(crate) policy: Option<PolicyArg>,
    /// Add checksec.sh's --extended keys (clangcfi, safestack) to JSON; the table always has them.
    #[arg(long)]
    pub(crate) extended: bool,
    /// Root file system in which DT_NEEDED libraries (the libc, for FORTIFY) and absolute
    /// RPATH entries are looked up.
    #[arg(long, default_value = "/")]
    pub(crate) root: PathBuf,
    /// ELF files or directories (walked recursively; non-ELF files are skipped).
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// Where reports are written.
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// Image source: oci-dir:PATH, oci-archive:FILE, docker-archive:FILE, registry:REF,
    /// dir:PATH, or a bare path (detected).
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Output format, optionally with a file: cyclonedx-json (default), spdx-json, table,
    /// json; `-o spdx-json=out.spdx.json`. Repeat for several outputs.
    #[arg(long, short = 'o', value_name = "FORMAT[=FILE]")]
    pub(crate) output: Vec<String>,
    /// Write the (single) output without `=FILE` to this file instead of stdout.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// Platform to pick from a multi-architecture index (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,
    /// Document time: `image` (the image's created time; default), `now`, or an RFC 3339 time.
    #[arg(long, default_value = "image")]
    pub(crate) timestamp: String,
}

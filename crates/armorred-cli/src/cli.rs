//! Argument types only (clap derive). Dispatch lives in `commands`.

use std::path::PathBuf;

use armorred::tier::Tier;
use armorred::vuln::import::Format;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Hardened container images from pinned inputs, with proof attached.
#[derive(Debug, Parser)]
#[command(
    name = "armorred",
    version,
    about = "Hardened container images from pinned inputs, with proof attached",
    propagate_version = true
)]
pub(crate) struct Cli {
    /// No progress bars or summaries on stderr.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Resolve an image definition against the signed Debian indices and write its image.lock.
    Lock(LockArgs),
    /// Build an image from its definition and lock: reproducible, FROM scratch, non-root.
    Build(BuildArgs),
    /// Build a recipe from source in a sandbox, on the build root locked in image.lock, with a
    /// tier's hardening flags, and prove them.
    BuildSource(BuildSourceArgs),
    /// Analyse ELF binaries for hardening (RELRO, canary, NX, PIE, FORTIFY, SafeStack, CFI, CET).
    Checksec(ChecksecArgs),
    /// Software bill of materials of an image or directory (CycloneDX 1.6, SPDX 2.3).
    Sbom(SbomArgs),
    /// Manage the vulnerability database (import, update, status).
    Db(DbArgs),
    /// Scan an image or SBOM for known vulnerabilities.
    Scan(ScanArgs),
    /// Compare an upstream image with its hardened build: size, components, vulnerabilities.
    Compare(CompareArgs),
    /// Run the main job: every stage, for every image definition, with its upstream comparison.
    Pipeline(PipelineArgs),
    /// Push an image (oci-dir: layout or docker-archive:) to a registry; prints REF@DIGEST.
    Push(PushArgs),
    /// Pull an image from a registry into an OCI layout (with its cosign attachments if asked).
    Pull(PullArgs),
    /// Manage cosign-compatible signing keys.
    Key(KeyArgs),
    /// Sign an image as cosign 2 does (simple signing, one layer per signature in the image's
    /// signature manifest; `cosign verify --key` accepts it), or with `--format bundle` as
    /// cosign 3 does (a Sigstore bundle attached as an OCI 1.1 referrer).
    Sign(SignArgs),
    /// Verify an image's cosign signatures (cosign 2's and cosign 3's bundles) with a public
    /// key, offline: the signature, the digest it names, the reference; prints the claims.
    Verify(VerifyArgs),
    /// Attest a predicate about an image as cosign does: an in-toto statement in a DSSE
    /// envelope, appended to the image's attestations.
    Attest(AttestArgs),
    /// Verify an image's attestations with a public key, offline; prints the verified envelopes.
    VerifyAttestation(VerifyAttestationArgs),
    /// Render the static website (HTML, self-contained) from the pipeline's outputs.
    Site(SiteArgs),
    /// Watch the published images: rescan, decide each new finding as OpenVEX, record.
    Monitor(MonitorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    #[command(subcommand)]
    pub(crate) command: MonitorCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MonitorCommand {
    /// Rescan every image out/index.json lists (or a registry holds, signed) against the current
    /// DB, decide every new finding (OpenVEX with evidence, out/<image>/<tier>/vex.openvex.json)
    /// and record it in the state.
    Run(Box<MonitorRunArgs>),
    /// Print the state as JSON: every image with its scans, findings (first seen) and decisions.
    Status(MonitorStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MonitorStatusArgs {
    /// The pipeline's output folder (the default state is <OUT>/monitor.db).
    #[arg(long, default_value = "out", value_name = "OUT")]
    pub(crate) from: PathBuf,
    /// The state: a SQLite file, or postgres://USER@HOST/DB.
    #[arg(long, value_name = "FILE|URL")]
    pub(crate) state: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorRunArgs {
    /// The pipeline's output folder, holding index.json (with --from-registry: where the
    /// monitor writes).
    #[arg(long, default_value = "out", value_name = "OUT")]
    pub(crate) from: PathBuf,
    /// Watch the signed images of a registry, HOST[:PORT][/PREFIX], instead of OUT/index.json:
    /// each tier tag, its signature and attestations verified with --verify-key.
    #[arg(long, value_name = "HOST", requires = "verify_key")]
    pub(crate) from_registry: Option<String>,
    /// The catalog's public key (a file or an https URL) for --from-registry.
    #[arg(long, value_name = "PUB")]
    pub(crate) verify_key: Option<String>,
    /// The state: a SQLite file, or postgres://USER@HOST/DB (default: <OUT>/monitor.db).
    #[arg(long, value_name = "FILE|URL")]
    pub(crate) state: Option<String>,
    /// Vulnerability DB (default: $ARMORRED_DB, else the user data dir).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Run again after each interval (`24h`, `30m`), until stopped.
    #[arg(long, value_name = "INTERVAL")]
    pub(crate) every: Option<String>,
    /// Only the images of this part of the catalog (`2/8`: the second of eight, by a hash of
    /// the image name; monitors of the other parts may share the state).
    #[arg(long, value_name = "INDEX/COUNT")]
    pub(crate) shard: Option<armorred::monitor::Shard>,
    /// POST the new decisions of each run (JSON) to this URL, when there are any.
    #[arg(long, value_name = "URL")]
    pub(crate) webhook: Option<String>,
    /// Rebuild, gate, sign and publish images whose affected findings a newer Debian package fixes.
    #[arg(long)]
    pub(crate) rebuild: bool,
    /// The rebuild policy (TOML, `[rebuild]`; default: ./monitor.toml when present, else built in).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// The registry images are published to, HOST[:PORT][/PREFIX]: rebuilds are pushed there.
    #[arg(long, value_name = "HOST")]
    pub(crate) registry: Option<String>,
    /// A registry reached over plain HTTP (loopback always is).
    #[arg(long, value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
    /// The signing key pair PREFIX.key and PREFIX.pub of rebuilds (as `pipeline --key`).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) key: Option<PathBuf>,
    /// An explicit Debian mirror (default: the host's apt configuration).
    #[arg(long, value_name = "URL")]
    pub(crate) mirror: Option<String>,
    /// The cache root (default: the user cache dir).
    #[arg(long, value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksecFormat {
    /// Aligned columns, colored on a terminal.
    Table,
    /// checksec.sh's JSON, keyed by path, plus ARMORRED's extra keys.
    Json,
}

/// A [`Tier`] by name (`--tier`, `--policy`): every tier a possible value, with `help` saying
/// what it is in that option.
fn tier_values(help: fn(Tier) -> &'static str) -> impl TypedValueParser<Value = Tier> {
    PossibleValuesParser::new(Tier::ALL.map(|t| PossibleValue::new(t.as_str()).help(help(t))))
        .try_map(|name| name.parse::<Tier>())
}

/// `--tier`: what each tier builds.
fn tier_parser() -> impl TypedValueParser<Value = Tier> {
    tier_values(|t| match t {
        Tier::Hardened => {
            "Drop-in replacement for upstream (nginx: Debian's binaries; from source: hardening flags with SafeStack)"
        }
        Tier::Locked => {
            "Built from source: hardened plus SafeStack, LTO and clang CFI; no shell, rarely used modules dropped"
        }
    })
}

/// `--policy`: what each tier's checksec policy requires.
fn policy_parser() -> impl TypedValueParser<Value = Tier> {
    tier_values(|t| match t {
        Tier::Hardened => "Full RELRO, canary, NX, PIE, no RPATH/RUNPATH outside the image, FORTIFY",
        Tier::Locked => "hardened plus SafeStack and CFI on executables",
    })
}

#[derive(Debug, Args)]
pub(crate) struct ChecksecArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ChecksecFormat::Table)]
    pub(crate) format: ChecksecFormat,
    /// Judge every file against a tier policy; exit 1 on a violation.
    #[arg(long, value_parser = policy_parser())]
    pub(crate) policy: Option<Tier>,
    /// Add checksec.sh's --extended keys (clangcfi, safestack) to JSON; the table always has them.
    #[arg(long)]
    pub(crate) extended: bool,
    /// Root file system in which DT_NEEDED libraries (the libc, for FORTIFY) and absolute
    /// RPATH entries are looked up.
    #[arg(long, default_value = "/")]
    pub(crate) root: PathBuf,
    /// ELF files or directories (walked recursively; non-ELF files are skipped), or images
    /// (oci-dir:, oci-archive:, docker-archive:, registry:), read without unpacking.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// Image definitions to run (default: every folder under images/ holding an image.toml).
    #[arg(value_name = "IMAGE_DIR")]
    pub(crate) images: Vec<PathBuf>,
    /// Where every output goes: <OUT>/<image>/<tier or upstream>/ and <OUT>/index.json.
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
    /// Vulnerability DB, used as it is (default: $ARMORRED_DB, else the user data dir, updated
    /// first from the configuration's feeds when missing or older than its max_age_hours).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Configuration: the feeds and the DB's age limit (default: armorred.toml in the current
    /// directory, else the embedded defaults).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// An image to compare every image with, instead of the one its definition's [upstream]
    /// names (e.g. docker-archive:upstream.tar).
    #[arg(long, value_name = "SOURCE")]
    pub(crate) upstream: Option<String>,
    /// Debian mirror base URL (default: the host's apt sources).
    #[arg(long)]
    pub(crate) mirror: Option<String>,
    /// Tiers to build and report, repeatable (default: every tier a definition declares).
    #[arg(long, value_parser = tier_parser())]
    pub(crate) tier: Vec<Tier>,
    /// The signing key pair PREFIX.key and PREFIX.pub, generated on first use (password:
    /// $COSIGN_PASSWORD, else empty; default: $XDG_CONFIG_HOME/armorred/cosign, outside the
    /// repository).
    #[arg(long, value_name = "PREFIX", conflicts_with = "no_sign")]
    pub(crate) key: Option<PathBuf>,
    /// Do not sign or attest the images.
    #[arg(long)]
    pub(crate) no_sign: bool,
    /// Print the run as independent jobs, one per image and tier (JSON, a CI build matrix:
    /// docs/scale-out.md), and build nothing.
    #[arg(long)]
    pub(crate) plan: bool,
    /// Push every signed tier, with its signature and attestations, to
    /// registry:HOST[:PORT]/PREFIX as PREFIX/<image>:<tier> (default: $ARMORRED_REGISTRY; unset:
    /// nothing is pushed).
    #[arg(long, value_name = "REGISTRY")]
    pub(crate) push: Option<String>,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SiteArgs {
    /// The pipeline's output folder, holding index.json.
    #[arg(long, default_value = "out", value_name = "OUT")]
    pub(crate) from: PathBuf,
    /// Where the site goes (default: <OUT>/site); replaces only an empty folder or a site
    /// armorred wrote.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BuildSourceArgs {
    /// Directory holding recipe.toml and the image.lock whose build root it builds on (e.g.
    /// images/nginx).
    #[arg(value_name = "RECIPE_DIR")]
    pub(crate) recipe_dir: PathBuf,
    /// Hardening tier.
    #[arg(long, value_parser = tier_parser())]
    pub(crate) tier: Tier,
    /// Output directory (must not exist): destdir/, build-record.json, logs/.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// The cache: sources and build-root packages (content-addressed by sha256) and unpacked
    /// build roots (default: armorred's one cache, $XDG_CACHE_HOME/armorred, else
    /// ~/.cache/armorred).
    #[arg(long)]
    pub(crate) cache: Option<PathBuf>,
    /// Parallel make jobs (default: available cores).
    #[arg(long)]
    pub(crate) jobs: Option<usize>,
    /// Keep the build directory (out/work) for inspection.
    #[arg(long)]
    pub(crate) keep_work: bool,
    /// Debian mirror base URL for build-root packages not in the cache (default:
    /// $ARMORRED_MIRROR, then the host's apt sources).
    #[arg(long, conflicts_with = "host_toolchain")]
    pub(crate) mirror: Option<String>,
    /// Build on the host's own toolchain (the recipe's compiler, lld and -dev packages installed
    /// on the host) instead of the build root locked in RECIPE_DIR/image.lock: for quick
    /// iteration on a recipe.
    #[arg(long)]
    pub(crate) host_toolchain: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// Image definition directory (holding image.toml).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Debian mirror base URL (default: $ARMORRED_MIRROR, then the host's apt sources).
    #[arg(long)]
    pub(crate) mirror: Option<String>,
    /// Do not write: exit 1 when image.lock is missing or differs from a fresh resolution.
    #[arg(long)]
    pub(crate) check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Image definition directory (holding image.toml and image.lock).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Tier to build.
    #[arg(long, value_parser = tier_parser(), default_value_t = Tier::Hardened)]
    pub(crate) tier: Tier,
    /// Where to write the image: oci-dir:DIR or docker-archive:FILE.
    #[arg(long, short = 'o', value_name = "KIND:PATH")]
    pub(crate) output: String,
    /// Debian mirror base URL for packages not in the cache.
    #[arg(long)]
    pub(crate) mirror: Option<String>,
    /// Package cache (default: $XDG_CACHE_HOME/armorred).
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Timestamp of every file and of the image (default: $SOURCE_DATE_EPOCH, then the newest
    /// Release date in the lock).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) source_date_epoch: Option<i64>,
    /// Value of the org.opencontainers.image.revision annotation.
    #[arg(long)]
    pub(crate) revision: Option<String>,
    /// Build (and compile from source) even when the output already holds the image of the
    /// same inputs, or the cache a verified source build of them.
    #[arg(long)]
    pub(crate) rebuild: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DbArgs {
    #[command(subcommand)]
    pub(crate) command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import local feed files (OSV dir/all.zip, Debian tracker JSON, NVD 2.0, secdb).
    Import(DbImportArgs),
    /// Fetch feeds from their URLs (resumable, hash-verified) and import them.
    Update(DbUpdateArgs),
    /// Show each source: record count, newest record date, import time.
    Status(DbStatusArgs),
}

/// `--format` of `db import`: every feed format of the library's `feeds!` table, with its
/// aliases (an unknown name is clap's error, which names it and lists these).
fn feed_format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(
        Format::ALL
            .iter()
            .map(|f| PossibleValue::new(f.name()).aliases(f.aliases()).help(f.about().trim_end_matches('.'))),
    )
    .try_map(|name| name.parse::<Format>())
}

#[derive(Debug, Args)]
pub(crate) struct DbImportArgs {
    /// Database file (else $ARMORRED_DB, else the user data dir).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Force the feed format instead of detecting it.
    #[arg(long, value_parser = feed_format_parser())]
    pub(crate) format: Option<Format>,
    /// Feed files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct DbUpdateArgs {
    /// Database file (else $ARMORRED_DB, else the user data dir).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Configuration whose [[db.feed]] to fetch, each from the first location that answers
    /// (default: armorred.toml in the current directory, else the embedded defaults).
    #[arg(long, conflicts_with_all = ["feeds", "feed"])]
    pub(crate) config: Option<PathBuf>,
    /// Feeds file (YAML: `feeds: [{name, url, format, sha256, sha256_url}]`), instead of the
    /// configuration.
    #[arg(long)]
    pub(crate) feeds: Option<PathBuf>,
    /// A feed URL (repeatable), instead of the configuration.
    #[arg(long = "feed", value_name = "URL")]
    pub(crate) feed: Vec<String>,
    /// Download cache (partial downloads resume from here).
    #[arg(long)]
    pub(crate) cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct DbStatusArgs {
    /// Database file (else $ARMORRED_DB, else the user data dir).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Table)]
    pub(crate) output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    /// grype-style table and a severity summary line.
    Table,
    /// grype's JSON shape.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities (VDR).
    CyclonedxJson,
    /// OpenVEX 0.2.0.
    Openvex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SeverityArg {
    /// Negligible and above.
    Negligible,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// What to scan: `sbom:FILE` (CycloneDX JSON) or `dpkg-status:FILE`.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Database file (else $ARMORRED_DB, else the user data dir).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = ScanFormat::Table)]
    pub(crate) output: ScanFormat,
    /// Write the report here (atomically) instead of stdout.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or higher (after VEX and ignore rules).
    #[arg(long, value_enum)]
    pub(crate) fail_on: Option<SeverityArg>,
    /// Report only findings with a fixed version.
    #[arg(long)]
    pub(crate) only_fixed: bool,
    /// Drop findings in these fix states (fixed, not-fixed, wont-fix, unknown).
    #[arg(long, value_delimiter = ',')]
    pub(crate) ignore_states: Vec<String>,
    /// Config file with `ignore:` rules (grype's .grype.yaml shape).
    #[arg(long, short = 'c')]
    pub(crate) config: Option<PathBuf>,
    /// OpenVEX documents to apply (repeatable).
    #[arg(long)]
    pub(crate) vex: Vec<PathBuf>,
    /// Refuse a DB built longer ago than this many hours.
    #[arg(long, default_value_t = 120)]
    pub(crate) max_db_age: u64,
    /// Scan even with an old DB.
    #[arg(long)]
    pub(crate) skip_db_age_check: bool,
    /// Distro of OS packages lacking one, as ID:VERSION (`debian:12`); default: the host's.
    #[arg(long)]
    pub(crate) distro: Option<String>,
    /// Also match language packages by CPE (off by default: false positives).
    #[arg(long)]
    pub(crate) cpe_for_language_packages: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The upstream side: an image (oci-dir:, oci-archive:, docker-archive:, registry:, dir:, or
    /// a bare path), catalogued and scanned with the DB, or sbom:FILE (CycloneDX), scanned with
    /// the DB unless --upstream-scan gives its scan result.
    #[arg(value_name = "UPSTREAM")]
    pub(crate) upstream: String,
    /// The hardened side, same forms as UPSTREAM.
    #[arg(value_name = "HARDENED")]
    pub(crate) hardened: String,
    /// Scan result of an sbom: UPSTREAM (`grype -o json` or `armorred scan -o json`): its
    /// findings are used as they are, and the DB is not opened for this side.
    #[arg(long, value_name = "FILE")]
    pub(crate) upstream_scan: Option<PathBuf>,
    /// Scan result of an sbom: HARDENED, as --upstream-scan.
    #[arg(long, value_name = "FILE")]
    pub(crate) hardened_scan: Option<PathBuf>,
    /// Source build record of HARDENED's source-built component (build-record.json of
    /// `armorred build-source`, or JSON holding it under `source_build`): vulnerabilities only
    /// in features the build leaves out are "compiled out", with the evidence.
    #[arg(long, value_name = "FILE")]
    pub(crate) hardened_build_record: Option<PathBuf>,
    /// Vulnerability DB (else $ARMORRED_DB, else the user data dir); not opened when both
    /// sides come with scan results.
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Output: FORMAT or FORMAT=FILE, repeatable (table, markdown, json, html, in-toto).
    #[arg(long, short = 'o', value_name = "FORMAT[=FILE]", default_value = "table")]
    pub(crate) output: Vec<String>,
    /// Refuse a DB older than this many hours.
    #[arg(long, default_value_t = 120)]
    pub(crate) max_db_age: u64,
    /// Scan with a DB of any age.
    #[arg(long)]
    pub(crate) skip_db_age_check: bool,
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

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The image: oci-dir:DIR (an OCI layout, a cosign-saved one included) or
    /// docker-archive:FILE (pushed as an OCI image, its config and layers unchanged).
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Where: registry:HOST[:PORT]/REPO[:TAG] (TAG defaults to latest).
    #[arg(value_name = "TARGET")]
    pub(crate) target: String,
    /// Mount blobs from this repository of the same registry instead of uploading them.
    #[arg(long, value_name = "REPO")]
    pub(crate) mount_from: Option<String>,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The image: registry:HOST[:PORT]/REPO[:TAG|@DIGEST].
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Where: oci-dir:DIR (absent or an empty directory).
    #[arg(value_name = "TARGET")]
    pub(crate) target: String,
    /// Also the cosign signatures, attestations and SBOM (sha256-<hex>.sig, .att, .sbom) and
    /// the OCI referrers, stored as `cosign save` stores them.
    #[arg(long)]
    pub(crate) with_attachments: bool,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    pub(crate) command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate an ECDSA P-256 key pair as cosign writes it: PREFIX.key (encrypted with the
    /// password from $COSIGN_PASSWORD, else asked on the terminal; mode 0600) and PREFIX.pub.
    /// Existing files are never overwritten.
    Generate(KeyGenerateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyGenerateArgs {
    /// Path prefix of the two files (PREFIX.key, PREFIX.pub).
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub(crate) output_key_prefix: PathBuf,
}

/// `KEY=VALUE`.
fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The private key: a cosign key file or an https URL (password from $COSIGN_PASSWORD, else
    /// asked on the terminal).
    #[arg(long, value_name = "KEY")]
    pub(crate) key: String,
    /// The repository the signature names (docker-reference); default: the layout's ref.name.
    #[arg(long, value_name = "HOST/REPO")]
    pub(crate) reference: Option<String>,
    /// An annotation signed with the payload (repeatable; legacy format only).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) annotations: Vec<(String, String)>,
    /// The signature format (docs/signing.md).
    #[arg(long, value_enum, default_value_t = SignFormat::Legacy)]
    pub(crate) format: SignFormat,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
    /// The image: oci-dir:DIR, or registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (a tag is resolved to its digest once).
    #[arg(value_name = "IMAGE")]
    pub(crate) image: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignFormat {
    /// cosign 2's: a layer of the `sha256-<hex>.sig` image (a simple-signing signature) or of
    /// the `sha256-<hex>.att` image (a DSSE envelope over an in-toto statement).
    Legacy,
    /// cosign 3's: a Sigstore bundle v0.3 (DSSE over an in-toto statement) attached as an OCI
    /// 1.1 referrer (the `sha256-<hex>` referrers tag where the registry has no referrers API).
    Bundle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VerifyFormat {
    /// cosign's: the checks on stderr, the claims as one JSON line on stdout.
    Text,
    /// The claims as a JSON array on stdout.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The public key: a PEM file or an https URL.
    #[arg(long, value_name = "KEY", required_unless_present = "policy", conflicts_with = "policy")]
    pub(crate) key: Option<String>,
    /// A verification policy (TOML or YAML; docs/verification.md): its keys, the attestations
    /// it requires and their conditions, each rule printed with its verdict.
    #[arg(long, value_name = "POLICY")]
    pub(crate) policy: Option<PathBuf>,
    /// The repository the signature must name (docker-reference); default: not checked.
    #[arg(long, value_name = "HOST/REPO")]
    pub(crate) reference: Option<String>,
    /// An annotation the signed payload must hold (repeatable).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) annotations: Vec<(String, String)>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = VerifyFormat::Text)]
    pub(crate) output: VerifyFormat,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
    /// The images: oci-dir:DIR, or registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (a tag is resolved to
    /// its digest once). Several are verified concurrently, each reported in the order given.
    #[arg(value_name = "IMAGE", required = true)]
    pub(crate) images: Vec<String>,
}

/// `--type`: cosign's names (or a predicate type URI).
const PREDICATE_TYPE_HELP: &str =
    "Predicate type: slsaprovenance1, slsaprovenance, cyclonedx, spdxjson, spdx, openvex, vuln, link, or a URI";

#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The private key: a cosign key file or an https URL (password from $COSIGN_PASSWORD, else
    /// asked on the terminal).
    #[arg(long, value_name = "KEY")]
    pub(crate) key: String,
    #[arg(long = "type", value_name = "TYPE", help = PREDICATE_TYPE_HELP)]
    pub(crate) predicate_type: String,
    /// The predicate: a JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) predicate: PathBuf,
    /// The repository the statement's subject names; default: the layout's ref.name.
    #[arg(long, value_name = "HOST/REPO")]
    pub(crate) reference: Option<String>,
    /// The attestation format: legacy (a layer of the `sha256-<hex>.att` image) or bundle (a
    /// Sigstore bundle v0.3 attached as an OCI 1.1 referrer); docs/signing.md.
    #[arg(long, value_enum, default_value_t = SignFormat::Legacy)]
    pub(crate) format: SignFormat,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
    /// The image: oci-dir:DIR, or registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (a tag is resolved to its digest once).
    #[arg(value_name = "IMAGE")]
    pub(crate) image: String,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyAttestationArgs {
    /// The public key: a PEM file or an https URL.
    #[arg(long, value_name = "KEY")]
    pub(crate) key: String,
    #[arg(long = "type", value_name = "TYPE", help = PREDICATE_TYPE_HELP)]
    pub(crate) predicate_type: Option<String>,
    /// Output format (text: cosign's, one envelope per line; json: the statements).
    #[arg(long, short, value_enum, default_value_t = VerifyFormat::Text)]
    pub(crate) output: VerifyFormat,
    /// Reach this registry HOST[:PORT] over plain HTTP (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
    /// The image: oci-dir:DIR, or registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (a tag is resolved to its digest once).
    #[arg(value_name = "IMAGE")]
    pub(crate) image: String,
}

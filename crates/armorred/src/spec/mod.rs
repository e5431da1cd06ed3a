//! Image definitions (`images/<name>/image.toml`): types and validation. A definition that
//! parses is valid: every check happens here, with errors naming the file and the field.
//! The format is documented in `docs/image-format.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::tier::Tier;

/// A definition that failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read image definition {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not usable (outside the definition's directory, not a regular file).
    #[error("cannot read image definition {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: DefinitionFileError,
    },
    /// TOML syntax or an unknown/mistyped field.
    #[error("{}: {detail}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        detail: String,
    },
    /// A field has an invalid value.
    #[error("{}: {field}: {detail}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field (`image.ports[0]`).
        field: String,
        /// What is wrong.
        detail: String,
    },
}

/// Why a file of the definition's directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionFileError {
    /// The path (or a symlink on the way) leads out of the definition's directory.
    #[error("{} resolves to {}, outside the definition's directory {}", path.display(), resolved.display(), dir.display())]
    Outside {
        /// The path as joined (`<dir>/files/env`).
        path: PathBuf,
        /// Where its symlinks lead.
        resolved: PathBuf,
        /// The definition's directory (canonical).
        dir: PathBuf,
    },
    /// The path does not resolve (missing, dangling symlink, unreadable directory).
    #[error("{} does not exist or cannot be resolved", path.display())]
    Missing {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, FIFO, socket or device).
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is (`a FIFO`).
        kind: crate::fsutil::FileKind,
    },
    /// Opening or reading failed.
    #[error("cannot read {}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Resolves `rel` (relative to the definition's directory `dir`) with every symlink followed,
/// and checks that it stays inside `dir` and is a regular file. Returns the resolved path.
/// Absolute `rel` values are resolved the same way (and so must lie inside `dir`).
pub fn definition_file(dir: &Path, rel: &Path) -> Result<PathBuf, DefinitionFileError> {
    let path = dir.join(rel);
    let missing = |source| DefinitionFileError::Missing { path: path.clone(), source };
    let root = dir.canonicalize().map_err(|source| DefinitionFileError::Missing { path: dir.to_path_buf(), source })?;
    let resolved = match path.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            // A missing file behind a symlink that leads out is reported as leading out.
            if let Some(outside) = path.ancestors().skip(1).find_map(|a| a.canonicalize().ok()) {
                if !outside.starts_with(&root) {
                    return Err(DefinitionFileError::Outside { path, resolved: outside, dir: root });
                }
            }
            return Err(missing(e));
        }
    };
    if !resolved.starts_with(&root) {
        return Err(DefinitionFileError::Outside { path, resolved, dir: root });
    }
    let meta = std::fs::metadata(&resolved).map_err(missing)?;
    if !meta.is_file() {
        return Err(DefinitionFileError::NotRegular { path, kind: crate::fsutil::FileKind::of(meta.file_type()) });
    }
    Ok(resolved)
}

/// Opens a regular file without blocking on a FIFO and checks, on the open handle, that it
/// is one; `shown` names it in errors.
pub fn open_regular(path: &Path, shown: &Path) -> Result<std::fs::File, DefinitionFileError> {
    crate::fsutil::open_regular(path).map_err(|e| match e {
        crate::fsutil::FsError::NotRegular { kind, .. } => {
            DefinitionFileError::NotRegular { path: shown.to_path_buf(), kind }
        }
        crate::fsutil::FsError::Open { source, .. } => DefinitionFileError::Read { path: shown.to_path_buf(), source },
        other => DefinitionFileError::Read { path: shown.to_path_buf(), source: std::io::Error::other(other) },
    })
}

/// Reads a file of the definition's directory: [`definition_file`], then [`open_regular`].
pub fn read_definition_file(dir: &Path, rel: &Path) -> Result<Vec<u8>, DefinitionFileError> {
    use std::io::Read;
    let resolved = definition_file(dir, rel)?;
    let shown = dir.join(rel);
    let mut file = open_regular(&resolved, &shown)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(|source| DefinitionFileError::Read { path: shown, source })?;
    Ok(data)
}

/// Checksec properties an allow entry may name (those of `elf::policy`).
pub const PROPERTIES: &[&str] =
    &["relro", "canary", "nx", "pie", "fortify", "rpath", "runpath", "safestack", "cfi", "elf"];

/// `image.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Image name (`nginx`).
    pub name: String,
    /// One-line description (`org.opencontainers.image.description`).
    #[serde(default)]
    pub description: String,
    /// Where the definition lives (`org.opencontainers.image.source`).
    #[serde(default)]
    pub source: Option<String>,
    /// Debian inputs.
    pub debian: DebianSpec,
    /// Packages wanted (their dependency closure is installed).
    pub packages: Vec<String>,
    /// Runtime configuration.
    pub image: ImageConfig,
    /// Files added from the definition's directory or copied inside the image.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Symlinks to create.
    #[serde(default)]
    pub symlinks: Vec<SymlinkSpec>,
    /// Directories to create (with owner, e.g. writable by 65534).
    #[serde(default)]
    pub directories: Vec<DirSpec>,
    /// Per-tier settings, keyed by tier (a name that is not a [`Tier`] fails the parse).
    /// Required, except in a reference definition, which has none of its own: it is locked and
    /// built as the one tier [`ImageSpec::REFERENCE_TIER`], with nothing excluded.
    #[serde(default)]
    pub tiers: BTreeMap<Tier, TierSpec>,
    /// The checksec build gate.
    #[serde(default)]
    pub checksec: ChecksecSpec,
    /// `true`: this definition stands in for an upstream image, built the way upstream builds
    /// it, to compare with: it may run as root and has no tiers; the pipeline builds it only as
    /// the other side of a comparison.
    #[serde(default)]
    pub reference: bool,
    /// `true`: every package a suite marks `Essential: yes` or `Priority: required` is wanted
    /// too, as mmdebstrap's `minbase` installs them (the base of Debian's slim images).
    #[serde(default)]
    pub minbase: bool,
    /// The upstream image to compare with.
    #[serde(default)]
    pub upstream: Option<UpstreamSpec>,
}

/// `[upstream]`: the image users run today, to compare with. Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// A reference definition (a directory inside this one, holding `image.toml` with
    /// `reference = true`) that armorred builds itself.
    #[serde(default)]
    pub definition: Option<PathBuf>,
    /// An image source to read (`registry:HOST/NAME:TAG`, `docker-archive:FILE`, ...).
    #[serde(default)]
    pub image: Option<String>,
    /// What it stands for, for reports (`the official nginx image: Debian trixie slim + nginx`).
    #[serde(default)]
    pub description: String,
}

/// `[debian]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianSpec {
    /// Suites in priority order (later ones win ties, e.g. `trixie-security`).
    pub suites: Vec<String>,
    /// Components (default `main`).
    #[serde(default = "default_components")]
    pub components: Vec<String>,
    /// Debian architecture (`amd64`).
    pub architecture: String,
    /// Keyrings to verify InRelease with (default: the host's Debian archive keyrings).
    #[serde(default)]
    pub keyrings: Vec<PathBuf>,
}

fn default_components() -> Vec<String> {
    vec!["main".into()]
}

/// `[image]`: the OCI image configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// `Entrypoint`.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// `ExposedPorts` (`80/tcp`).
    #[serde(default)]
    pub ports: Vec<String>,
    /// `StopSignal`.
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// `Env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `Labels` (also written as manifest annotations).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `WorkingDir`.
    #[serde(default)]
    pub workdir: Option<String>,
    /// `Volumes`: directories the runtime mounts a volume on (absolute paths, each a
    /// `[[directories]]` entry so that the volume starts owned by the image's user).
    #[serde(default)]
    pub volumes: Vec<String>,
    /// `User` as `uid:gid` (default `65534:65534`).
    #[serde(default = "default_user")]
    pub user: String,
    /// Generate `/etc/ssl/certs/ca-certificates.crt` from the installed certificates.
    #[serde(default)]
    pub ca_certificates: bool,
}

fn default_user() -> String {
    "65534:65534".into()
}

/// `[[files]]`: exactly one of `source` or `copy_from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Absolute path in the image.
    pub path: String,
    /// A file relative to the definition's directory.
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// A file already in the image (what a maintainer script would have copied).
    #[serde(default)]
    pub copy_from: Option<String>,
    /// Octal mode (default `0644`).
    #[serde(default)]
    pub mode: Option<String>,
}

/// `[[symlinks]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymlinkSpec {
    /// Absolute path of the link.
    pub path: String,
    /// Target as written.
    pub target: String,
}

/// `[[directories]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSpec {
    /// Absolute path.
    pub path: String,
    /// Octal mode (default `0755`).
    #[serde(default)]
    pub mode: Option<String>,
    /// Owner uid (default 0).
    #[serde(default)]
    pub uid: u32,
    /// Owner gid (default 0).
    #[serde(default)]
    pub gid: u32,
}

/// `[tiers.<name>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    /// The tier's own Debian packages, instead of the top-level `packages` (a tier that builds
    /// its program from source ships only the libraries the program links).
    #[serde(default)]
    pub packages: Option<Vec<String>>,
    /// Build the program from source with `recipe.toml`'s tier of this name: its build root is
    /// locked with the image, the build runs in the sandbox, and the installed tree (DESTDIR)
    /// goes into the image.
    #[serde(default)]
    pub source_build: Option<Tier>,
    /// The directory, relative to the definition, whose `recipe.toml` the source build uses
    /// (default: the definition's own directory). Lets one tier compile a small helper (an
    /// entrypoint program) with its own recipe while another tier builds the whole program.
    #[serde(default)]
    pub recipe: Option<PathBuf>,
    /// Files added after the top-level `[[files]]` (same form; a later entry wins).
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Symlinks added after the top-level `[[symlinks]]`.
    #[serde(default)]
    pub symlinks: Vec<SymlinkSpec>,
    /// Globs of paths of the source build's installed tree left out of the image.
    #[serde(default)]
    pub exclude_built: Vec<String>,
    /// Packages never installed; dependencies on them count as satisfied.
    #[serde(default)]
    pub exclude_packages: Vec<String>,
    /// Globs of `/`-rooted paths dropped from the image (`**` crosses `/`).
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// Globs kept even when an exclude matches (e.g. copyright files).
    #[serde(default)]
    pub keep_paths: Vec<String>,
    /// Vulnerabilities this tier may carry although another tier or the upstream reference has
    /// them fixed (the "never behind" gate, [`crate::report::behind`]), each with its reason.
    #[serde(default)]
    pub accept: Vec<Accept>,
}

/// `[[tiers.<name>.accept]]` (and a recipe's `[[accept]]`): one vulnerability, by ID, that a
/// tier is allowed to carry while another side has it fixed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    /// The vulnerability ID (`CVE-2026-15176`), matched against a finding's ID and aliases.
    pub id: String,
    /// Why it is carried (mandatory): e.g. the fixed source is not in the mirror's pool.
    pub reason: String,
}

impl Accept {
    /// Checks one list: IDs and reasons present, no ID twice. `at` names the list in errors.
    pub fn validate_list(list: &[Accept], at: &str) -> Result<(), (String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, a) in list.iter().enumerate() {
            if a.id.trim().is_empty() || a.id.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err((format!("{at}[{i}].id"), "expected a vulnerability ID such as CVE-2026-1642".into()));
            }
            if a.reason.trim().is_empty() {
                return Err((format!("{at}[{i}].reason"), "a reason is required".into()));
            }
            if !seen.insert(a.id.as_str()) {
                return Err((format!("{at}[{i}].id"), format!("{} is accepted twice", a.id)));
            }
        }
        Ok(())
    }
}

impl TierSpec {
    /// The recipe's directory for a definition in `dir`: `dir` itself, or the tier's `recipe`.
    pub fn recipe_dir(&self, dir: &Path) -> PathBuf {
        self.recipe.as_ref().map_or_else(|| dir.to_path_buf(), |r| dir.join(r))
    }

    /// The recipe file relative to the definition's directory.
    fn recipe_file(&self) -> PathBuf {
        self.recipe.as_deref().unwrap_or(Path::new("")).join("recipe.toml")
    }
}

/// `[checksec]`: the build gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksecSpec {
    /// Fail the build on a violation that no allow entry covers (default true).
    #[serde(default = "yes")]
    pub enforce: bool,
    /// Accepted violations, each with its reason.
    #[serde(default)]
    pub allow: Vec<AllowSpec>,
}

impl Default for ChecksecSpec {
    fn default() -> Self {
        Self { enforce: true, allow: Vec::new() }
    }
}

fn yes() -> bool {
    true
}

/// `[[checksec.allow]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    /// A `/`-rooted path glob.
    pub path: String,
    /// Properties accepted as failing for it.
    pub properties: Vec<String>,
    /// Why (mandatory).
    pub reason: String,
}

impl AllowSpec {
    /// Checks a list of entries (`at`: the list's name in messages, `properties`: those its
    /// gate knows and lets be allowed): a `/`-rooted path, a reason, one or more known
    /// properties. The error names the field and says what is wrong.
    pub fn validate_list(list: &[AllowSpec], at: &str, properties: &[&str]) -> Result<(), (String, String)> {
        for (i, a) in list.iter().enumerate() {
            if !a.path.starts_with('/') {
                return Err((format!("{at}[{i}].path"), format!("{:?} must start with /", a.path)));
            }
            if a.reason.trim().is_empty() {
                return Err((format!("{at}[{i}].reason"), "a reason is required".into()));
            }
            if a.properties.is_empty() {
                return Err((format!("{at}[{i}].properties"), "name at least one property".into()));
            }
            if let Some(p) = a.properties.iter().find(|p| !properties.contains(&p.as_str())) {
                return Err((
                    format!("{at}[{i}].properties"),
                    format!("unknown property {p:?} (expected one of {})", properties.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// True when this entry accepts `property` failing on `path` (`/`-rooted).
    pub fn covers(&self, path: &str, property: &str) -> bool {
        crate::fstree::glob_match(&self.path, path) && self.properties.iter().any(|p| p == property)
    }
}

/// Parses an octal mode string (`"0644"`, `"1777"`).
pub fn parse_mode(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8).ok().filter(|m| *m <= 0o7777)
}

impl ImageSpec {
    /// The tier a reference definition is locked and built as.
    pub const REFERENCE_TIER: Tier = Tier::Hardened;

    /// Reads `<dir>/image.toml`.
    pub fn load(dir: &Path) -> Result<Self, SpecError> {
        let path = dir.join("image.toml");
        let bytes = read_definition_file(dir, Path::new("image.toml"))
            .map_err(|source| SpecError::File { path: path.clone(), source })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SpecError::Parse { path: path.clone(), detail: "not UTF-8".into() })?;
        Self::parse(&path, &text, Some(dir))
    }

    /// Parses and validates definition text. `path` names it in errors; `dir`, when given, is
    /// where `[[files]].source` must exist.
    pub fn parse(path: &Path, text: &str, dir: Option<&Path>) -> Result<Self, SpecError> {
        let spec: Self = toml::from_str(text).map_err(|e| {
            unknown_tier(path, text).unwrap_or_else(|| SpecError::Parse {
                path: path.to_path_buf(),
                detail: e.to_string().trim().replace('\n', " "),
            })
        })?;
        let mut spec = spec;
        spec.validate(path, dir)?;
        if spec.reference {
            spec.tiers.insert(Self::REFERENCE_TIER, TierSpec::default());
        }
        Ok(spec)
    }

    fn validate(&self, path: &Path, dir: Option<&Path>) -> Result<(), SpecError> {
        let bad = |field: String, detail: &str| SpecError::Invalid {
            path: path.to_path_buf(),
            field,
            detail: detail.to_string(),
        };
        let name_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._+/".contains(&b));
        if !name_ok(&self.name) {
            return Err(bad("name".into(), "must be non-empty [a-z0-9-._+/]"));
        }
        if self.debian.suites.is_empty() {
            return Err(bad("debian.suites".into(), "at least one suite is required"));
        }
        for (i, s) in self.debian.suites.iter().enumerate() {
            if !name_ok(s) || s.contains('/') {
                return Err(bad(format!("debian.suites[{i}]"), "not a suite name"));
            }
        }
        if self.debian.components.is_empty() {
            return Err(bad("debian.components".into(), "at least one component is required"));
        }
        if !name_ok(&self.debian.architecture) || self.debian.architecture.contains('/') {
            return Err(bad("debian.architecture".into(), "not a Debian architecture"));
        }
        for (i, k) in self.debian.keyrings.iter().enumerate() {
            let Some(dir) = dir else { break };
            // A relative keyring is a file of the definition; an absolute one a host keyring.
            let checked = if k.is_absolute() {
                match std::fs::metadata(k) {
                    Ok(m) if m.is_file() => Ok(()),
                    Ok(m) => Err(format!(
                        "{} is {}, not a regular file",
                        k.display(),
                        crate::fsutil::FileKind::of(m.file_type())
                    )),
                    Err(e) => Err(format!("{}: {e}", k.display())),
                }
            } else {
                definition_file(dir, k).map(|_| ()).map_err(|e| e.to_string())
            };
            if let Err(e) = checked {
                return Err(bad(format!("debian.keyrings[{i}]"), &e));
            }
        }
        if self.packages.is_empty() {
            return Err(bad("packages".into(), "at least one package is required"));
        }
        // A reference definition parsed before carries its one implied tier (and nothing else).
        let implied = self.tiers.len() == 1 && self.tiers.get(&Self::REFERENCE_TIER) == Some(&TierSpec::default());
        if self.reference && !(self.tiers.is_empty() || implied) {
            return Err(bad(
                "tiers".into(),
                "a reference definition has no tiers: it is built as upstream builds it, nothing removed",
            ));
        }
        if let Some(up) = &self.upstream {
            if self.reference {
                return Err(bad("upstream".into(), "a reference definition has no upstream of its own"));
            }
            match (&up.definition, &up.image) {
                (Some(def), None) => {
                    if def.is_absolute() || def.components().any(|c| c == std::path::Component::ParentDir) {
                        return Err(bad(
                            "upstream.definition".into(),
                            "must be a directory inside the definition's directory, without `..`",
                        ));
                    }
                    if let Some(dir) = dir {
                        if let Err(e) = definition_file(dir, &def.join("image.toml")) {
                            return Err(bad("upstream.definition".into(), &e.to_string()));
                        }
                    }
                }
                (None, Some(image)) if !image.is_empty() => {}
                _ => return Err(bad("upstream".into(), "set exactly one of definition or image")),
            }
        }
        let lists = std::iter::once(("packages".to_string(), &self.packages)).chain(
            self.tiers.iter().filter_map(|(n, t)| t.packages.as_ref().map(|p| (format!("tiers.{n}.packages"), p))),
        );
        for (field, list) in lists {
            if list.is_empty() {
                return Err(bad(field, "at least one package is required"));
            }
            for (i, p) in list.iter().enumerate() {
                if !name_ok(p) || p.contains('/') {
                    return Err(bad(format!("{field}[{i}]"), "not a package name"));
                }
            }
        }
        if self.image.entrypoint.is_empty() && self.image.cmd.is_empty() {
            return Err(bad("image".into(), "set entrypoint or cmd"));
        }
        for (i, p) in self.image.ports.iter().enumerate() {
            let ok = match p.split_once('/') {
                Some((n, proto)) => n.parse::<u16>().is_ok_and(|n| n > 0) && ["tcp", "udp", "sctp"].contains(&proto),
                None => false,
            };
            if !ok {
                return Err(bad(format!("image.ports[{i}]"), "expected PORT/tcp, PORT/udp or PORT/sctp"));
            }
        }
        if let Some(sig) = &self.image.stop_signal {
            if !(sig.starts_with("SIG")
                && sig.len() > 3
                && sig[3..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+' || b == b'-'))
            {
                return Err(bad("image.stop_signal".into(), "expected a signal name such as SIGQUIT"));
            }
        }
        match self.image.user.split_once(':') {
            Some((u, g)) if u.parse::<u32>().is_ok() && g.parse::<u32>().is_ok() => {
                if u == "0" && !self.reference {
                    return Err(bad("image.user".into(), "an ARMORRED image never runs as root"));
                }
            }
            _ => return Err(bad("image.user".into(), "expected numeric UID:GID such as 65534:65534")),
        }
        if let Some(w) = &self.image.workdir {
            if !w.starts_with('/') {
                return Err(bad("image.workdir".into(), "must be an absolute path"));
            }
        }
        for k in self.image.env.keys() {
            if k.is_empty() || k.contains('=') {
                return Err(bad(format!("image.env.{k}"), "not a variable name"));
            }
        }
        let abs = |field: String, p: &str| -> Result<(), SpecError> {
            if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
                return Err(bad(field, "must be an absolute path without `..`"));
            }
            Ok(())
        };
        let files = self.files.iter().enumerate().map(|(i, f)| (format!("files[{i}]"), f)).chain(
            self.tiers
                .iter()
                .flat_map(|(n, t)| t.files.iter().enumerate().map(move |(i, f)| (format!("tiers.{n}.files[{i}]"), f))),
        );
        for (field, f) in files {
            abs(format!("{field}.path"), &f.path)?;
            match (&f.source, &f.copy_from) {
                (Some(src), None) => {
                    if src.is_absolute() || src.components().any(|c| c == std::path::Component::ParentDir) {
                        return Err(bad(
                            format!("{field}.source"),
                            "must be relative to the definition's directory, without `..`",
                        ));
                    }
                    if let Some(dir) = dir {
                        if let Err(e) = definition_file(dir, src) {
                            return Err(bad(format!("{field}.source"), &e.to_string()));
                        }
                    }
                }
                (None, Some(from)) => abs(format!("{field}.copy_from"), from)?,
                _ => return Err(bad(field, "set exactly one of source or copy_from")),
            }
            if let Some(m) = &f.mode {
                if parse_mode(m).is_none() {
                    return Err(bad(format!("{field}.mode"), "expected an octal mode such as \"0644\""));
                }
            }
        }
        let links = self.symlinks.iter().enumerate().map(|(i, l)| (format!("symlinks[{i}]"), l)).chain(
            self.tiers.iter().flat_map(|(n, t)| {
                t.symlinks.iter().enumerate().map(move |(i, l)| (format!("tiers.{n}.symlinks[{i}]"), l))
            }),
        );
        for (field, l) in links {
            abs(format!("{field}.path"), &l.path)?;
            if l.target.is_empty() {
                return Err(bad(format!("{field}.target"), "must not be empty"));
            }
        }
        for (i, d) in self.directories.iter().enumerate() {
            abs(format!("directories[{i}].path"), &d.path)?;
            if d.path.split('/').all(|c| c.is_empty() || c == ".") {
                return Err(bad(
                    format!("directories[{i}].path"),
                    "the root directory cannot be declared (its owner and mode are fixed)",
                ));
            }
            if let Some(m) = &d.mode {
                if parse_mode(m).is_none() {
                    return Err(bad(format!("directories[{i}].mode"), "expected an octal mode such as \"0755\""));
                }
            }
        }
        for (i, v) in self.image.volumes.iter().enumerate() {
            let field = format!("image.volumes[{i}]");
            abs(field.clone(), v)?;
            if self.image.volumes[..i].contains(v) {
                return Err(bad(field, "listed twice"));
            }
            let trimmed = v.trim_end_matches('/');
            if !self.reference && !self.directories.iter().any(|d| d.path.trim_end_matches('/') == trimmed) {
                return Err(bad(field, "declare it in [[directories]] too, owned by the image's user"));
            }
        }
        if self.tiers.is_empty() && !self.reference {
            return Err(bad("tiers".into(), &format!("declare at least one tier ({})", Tier::EXPECTED)));
        }
        for (name, tier) in &self.tiers {
            if let Some(r) = &tier.recipe {
                if tier.source_build.is_none() {
                    return Err(bad(format!("tiers.{name}.recipe"), "only for a tier with source_build"));
                }
                if r.is_absolute() || r.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                    return Err(bad(
                        format!("tiers.{name}.recipe"),
                        "expected a relative directory inside the definition (no `..`, not absolute)",
                    ));
                }
            }
            if tier.source_build.is_some() {
                if let Some(dir) = dir {
                    match definition_file(dir, &tier.recipe_file()) {
                        Ok(_) => {}
                        Err(DefinitionFileError::Missing { .. }) => {
                            return Err(bad(
                                format!("tiers.{name}.source_build"),
                                "needs recipe.toml next to image.toml (or in the tier's `recipe` directory)",
                            ))
                        }
                        Err(e) => return Err(bad(format!("tiers.{name}.source_build"), &e.to_string())),
                    }
                }
            }
            Accept::validate_list(&tier.accept, &format!("tiers.{name}.accept")).map_err(|(at, why)| bad(at, &why))?;
            for (i, g) in tier.exclude_built.iter().enumerate() {
                if !g.starts_with('/') {
                    return Err(bad(format!("tiers.{name}.exclude_built[{i}]"), &format!("{g:?} must start with /")));
                }
            }
            for p in &tier.exclude_packages {
                if self.tier_packages(tier).contains(p) {
                    return Err(bad(format!("tiers.{name}.exclude_packages"), &format!("{p} is also in packages")));
                }
            }
            for (i, g) in tier.exclude_paths.iter().chain(&tier.keep_paths).enumerate() {
                if !g.starts_with('/') {
                    return Err(bad(format!("tiers.{name} path glob {i}"), &format!("{g:?} must start with /")));
                }
            }
        }
        AllowSpec::validate_list(&self.checksec.allow, "checksec.allow", PROPERTIES)
            .map_err(|(f, why)| bad(f, &why))?;
        Ok(())
    }

    /// The settings of `tier`, or an error listing the declared tiers.
    pub fn tier(&self, tier: Tier) -> Result<&TierSpec, SpecError> {
        self.tiers.get(&tier).ok_or_else(|| SpecError::Invalid {
            path: PathBuf::from("image.toml"),
            field: format!("tiers.{tier}"),
            detail: format!(
                "tier not declared (declared: {})",
                self.tiers.keys().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The upstream reference definition's directory, for a definition in `dir`.
    pub fn upstream_definition(&self, dir: &Path) -> Option<PathBuf> {
        self.upstream.as_ref()?.definition.as_ref().map(|d| dir.join(d))
    }

    /// The Debian packages of `tier`: its own list, else the top-level one.
    pub fn tier_packages<'a>(&'a self, tier: &'a TierSpec) -> &'a [String] {
        tier.packages.as_deref().unwrap_or(&self.packages)
    }

    /// SHA256 over what decides the lock (suites, components, architecture, packages, package
    /// excludes of each tier): a lock with another digest is stale.
    /// `build_roots`: the build-root packages of each source-built tier (from `recipe.toml`).
    pub fn lock_inputs_digest(&self, build_roots: &BTreeMap<Tier, Vec<String>>) -> String {
        // Keyed by the tier's name: the digest is over the text, and so the same as before tiers
        // were typed.
        let inputs = serde_json::json!({
            "suites": self.debian.suites,
            "components": self.debian.components,
            "architecture": self.debian.architecture,
            "packages": self.packages,
            "exclude_packages": self.tiers.iter().map(|(k, t)| (k.as_str(), t.exclude_packages.clone())).collect::<BTreeMap<_, _>>(),
        });
        // Added only when used, so that the digest of a definition without them is unchanged.
        let mut inputs = inputs;
        let tier_packages: BTreeMap<_, _> =
            self.tiers.iter().filter_map(|(k, t)| t.packages.clone().map(|p| (k.as_str(), p))).collect();
        if !tier_packages.is_empty() {
            inputs["tier_packages"] = serde_json::json!(tier_packages);
        }
        if self.minbase {
            inputs["minbase"] = serde_json::json!(true);
        }
        if !build_roots.is_empty() {
            let build_roots: BTreeMap<_, _> = build_roots.iter().map(|(k, p)| (k.as_str(), p)).collect();
            inputs["build_roots"] = serde_json::json!(build_roots);
        }
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(inputs.to_string().as_bytes())))
    }
}

/// The first `[tiers.<name>]` whose name, or whose `source_build`, is not a [`Tier`], as the
/// field error it is, for a definition the full parse refused (the TOML error would name only a
/// line). `None` when the names are fine (or the text is not TOML): the parse error stands.
fn unknown_tier(path: &Path, text: &str) -> Option<SpecError> {
    /// Only what names a tier; everything else is left to the full parse.
    #[derive(Deserialize)]
    struct Names {
        #[serde(default)]
        tiers: BTreeMap<String, TierNames>,
    }
    #[derive(Deserialize)]
    struct TierNames {
        #[serde(default)]
        source_build: Option<toml::Value>,
    }
    let names: Names = toml::from_str(text).ok()?;
    let bad =
        |field: String, detail: &str| SpecError::Invalid { path: path.to_path_buf(), field, detail: detail.into() };
    names.tiers.iter().find_map(|(name, t)| {
        if name.parse::<Tier>().is_err() {
            return Some(bad(format!("tiers.{name}"), &format!("unknown tier (expected {})", Tier::EXPECTED)));
        }
        match &t.source_build {
            Some(toml::Value::String(s)) if s.parse::<Tier>().is_err() => {
                Some(bad(format!("tiers.{name}.source_build"), &format!("expected a recipe tier: {}", Tier::EXPECTED)))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests;

//! `armorred site`: the static website over the pipeline's outputs.
//!
//! [`render`] reads `index.json`, every `summary.json` it names and the files each summary's
//! `paths` names (SBOMs, checksec, scan, comparison, build record, attestations), all with the
//! types that write them ([`crate::pipeline::summary`], [`crate::build::record`], the image
//! config through [`crate::source`]) or as the JSON they are, and renders the minijinja
//! templates under `site/templates/` (embedded; `.html` autoescaped) into a self-contained
//! folder: relative links only, one inline style sheet, no external asset. The SBOMs, scans and
//! attestations it links to are copied in. The folder is written next to its final place and
//! renamed over it, and only replaces a folder that is empty or holds a site armorred wrote.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::build::record::ImageRecord;
use crate::fsutil::FsError;
use crate::oci::spec::RuntimeConfig;
use crate::pipeline::summary::{Index, Summary, INDEX_SCHEMA, SUMMARY_SCHEMA};

mod view;

/// The file marking a folder as a site armorred wrote (and may replace).
pub const MARKER: &str = ".armorred-site";

/// Bound on each JSON file read (an upstream SBOM of a large image is tens of MB).
const MAX_JSON_BYTES: u64 = 256 << 20;

/// Errors of [`render`].
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// An input file could not be read (missing, not a regular file, too large).
    #[error("cannot read the site's input {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FsError,
    },
    /// An input file is not the JSON its kind is.
    #[error("{path} is not a valid {kind}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What it should be (`summary.json`, `index.json`, a scan ...).
        kind: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An index or summary of another schema.
    #[error("{path}: schema is {found:?}, expected {expected:?}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// Its `schema`.
        found: String,
        /// The one read.
        expected: &'static str,
    },
    /// A file names a path that is not a plain relative path (`..`, absolute) or a name that
    /// cannot be a file name in the site.
    #[error("{path}: {field} is {value:?}, {reason}")]
    BadEntry {
        /// The file naming it.
        path: PathBuf,
        /// The field.
        field: String,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The build record could not be read.
    #[error("cannot read the build record {path}")]
    Record {
        /// The record.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<crate::build::BuildError>,
    },
    /// The image's configuration could not be read.
    #[error("cannot read the image configuration of {path}")]
    Image {
        /// The image layout.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<crate::source::SourceError>,
    },
    /// A template failed to render (a bug, or input of an unexpected shape).
    #[error("cannot render {page} with template {template}")]
    Template {
        /// The page being rendered.
        page: String,
        /// The template.
        template: &'static str,
        /// The cause.
        #[source]
        source: Box<minijinja::Error>,
    },
    /// The output exists and is not a site armorred wrote.
    #[error(
        "{path} exists and is not an empty folder or a site armorred wrote (no {MARKER} in it); refusing to replace it"
    )]
    NotOurs {
        /// The output.
        path: PathBuf,
    },
    /// Writing the site failed.
    #[error("cannot write {path}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What [`render`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteReport {
    /// The site's folder.
    pub out: PathBuf,
    /// The index page.
    pub index: PathBuf,
    /// Every HTML page, relative to `out`, the index first.
    pub pages: Vec<PathBuf>,
    /// Every file copied in (SBOMs, scans, attestations), relative to `out`.
    pub files: Vec<PathBuf>,
}

/// Renders the site of the pipeline's outputs in `from` (holding `index.json`) into `out`.
pub fn render(from: &Path, out: &Path) -> Result<SiteReport, SiteError> {
    let catalog = load(from)?;
    let env = view::environment()?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_replaceable(out)?;
    std::fs::create_dir_all(&parent).map_err(|source| SiteError::Write { path: parent.clone(), source })?;
    let tmp = tempfile::Builder::new()
        .prefix(".armorred-site-")
        .tempdir_in(&parent)
        .map_err(|source| SiteError::Write { path: parent.clone(), source })?;
    let mut pages = Vec::new();
    let mut files = Vec::new();
    for (rel, html) in view::pages(&env, &catalog)? {
        write(tmp.path(), &rel, html.as_bytes())?;
        pages.push(rel);
    }
    for (rel, src) in view::copies(&catalog) {
        let bytes = read(&src)?;
        write(tmp.path(), &rel, &bytes)?;
        files.push(rel);
    }
    write(tmp.path(), Path::new(MARKER), b"written by armorred site; the folder is replaced on the next run\n")?;
    check_replaceable(out)?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|source| SiteError::Write { path: out.to_path_buf(), source })?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|source| SiteError::Write { path: out.to_path_buf(), source })?;
    Ok(SiteReport { out: out.to_path_buf(), index: out.join("index.html"), pages, files })
}

fn check_replaceable(out: &Path) -> Result<(), SiteError> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(SiteError::Write { path: out.to_path_buf(), source }),
    };
    if !meta.is_dir() {
        return Err(SiteError::NotOurs { path: out.to_path_buf() });
    }
    let marker = std::fs::symlink_metadata(out.join(MARKER)).is_ok_and(|m| m.is_file());
    let empty =
        std::fs::read_dir(out).map_err(|source| SiteError::Write { path: out.to_path_buf(), source })?.next().is_none();
    if marker || empty {
        Ok(())
    } else {
        Err(SiteError::NotOurs { path: out.to_path_buf() })
    }
}

fn write(root: &Path, rel: &Path, bytes: &[u8]) -> Result<(), SiteError> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| SiteError::Write { path: dir.to_path_buf(), source })?;
    }
    std::fs::write(&path, bytes).map_err(|source| SiteError::Write { path, source })
}

fn read(path: &Path) -> Result<Vec<u8>, SiteError> {
    crate::fsutil::read_regular_bounded(path, MAX_JSON_BYTES)
        .map_err(|source| SiteError::Read { path: path.to_path_buf(), source })
}

fn json<T: serde::de::DeserializeOwned>(path: &Path, kind: &'static str) -> Result<T, SiteError> {
    serde_json::from_slice(&read(path)?).map_err(|source| SiteError::Json { path: path.to_path_buf(), kind, source })
}

/// A path named in an input: relative, only normal components.
fn relative(base: &Path, naming: &Path, field: &str, value: &str) -> Result<PathBuf, SiteError> {
    let p = Path::new(value);
    if value.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(SiteError::BadEntry {
            path: naming.to_path_buf(),
            field: field.to_string(),
            value: value.to_string(),
            reason: "not a relative path inside its folder",
        });
    }
    Ok(base.join(p))
}

/// A name that becomes a file or folder name of the site.
fn segment(naming: &Path, field: &str, value: &str) -> Result<String, SiteError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(SiteError::BadEntry {
            path: naming.to_path_buf(),
            field: field.to_string(),
            value: value.to_string(),
            reason: "not a name of letters, digits, '.', '_' and '-'",
        })
    }
}

/// Everything read, before rendering.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) index: Index,
    pub(crate) images: Vec<Image>,
    /// `monitor.json` beside `index.json` (the monitor state as `monitor status` prints it),
    /// when the main job or `monitor run` wrote one.
    pub(crate) history: Option<Value>,
}

/// One image definition: its upstream and its tiers.
#[derive(Debug)]
pub(crate) struct Image {
    pub(crate) name: String,
    pub(crate) upstream: Option<Variant>,
    pub(crate) tiers: Vec<Variant>,
}

/// One `out/<image>/<variant>/`.
#[derive(Debug)]
pub(crate) struct Variant {
    pub(crate) variant: String,
    pub(crate) dir: PathBuf,
    pub(crate) summary: Summary,
    pub(crate) config: Option<RuntimeConfig>,
    pub(crate) record: Option<ImageRecord>,
    /// `checksec.json`.
    pub(crate) checksec: Option<Value>,
    /// `attestations/checksec.json`: the gate's verdict.
    pub(crate) gate: Option<Value>,
    /// `sbom.cdx.json`.
    pub(crate) sbom: Option<Value>,
    /// `scan.json`.
    pub(crate) scan: Option<Value>,
    /// `compare.json`.
    pub(crate) compare: Option<Value>,
    /// `attestation_<name>` of `paths`: name and file, relative to `dir`.
    pub(crate) attestations: BTreeMap<String, String>,
}

fn load(from: &Path) -> Result<Catalog, SiteError> {
    let index_path = from.join("index.json");
    let index: Index = json(&index_path, "index.json")?;
    if index.schema != INDEX_SCHEMA {
        return Err(SiteError::Schema { path: index_path, found: index.schema, expected: INDEX_SCHEMA });
    }
    let mut images = Vec::new();
    for (i, image) in index.images.iter().enumerate() {
        let name = segment(&index_path, &format!("images[{i}].name"), &image.name)?;
        let one = |field: String, summary: &str| -> Result<Variant, SiteError> {
            let path = relative(from, &index_path, &field, summary)?;
            load_variant(&path)
        };
        let upstream = match &image.upstream {
            Some(u) => Some(one(format!("images[{i}].upstream.summary"), &u.summary)?),
            None => None,
        };
        let mut tiers = Vec::new();
        for (t, tier) in image.tiers.iter().enumerate() {
            tiers.push(one(format!("images[{i}].tiers[{t}].summary"), &tier.summary)?);
        }
        images.push(Image { name, upstream, tiers });
    }
    let history_path = from.join(crate::monitor::HISTORY_FILE);
    let history = if history_path.is_file() { Some(json(&history_path, "monitor history")?) } else { None };
    Ok(Catalog { index, images, history })
}

fn load_variant(path: &Path) -> Result<Variant, SiteError> {
    let summary: Summary = json(path, "summary.json")?;
    if summary.schema != SUMMARY_SCHEMA {
        return Err(SiteError::Schema { path: path.to_path_buf(), found: summary.schema, expected: SUMMARY_SCHEMA });
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let variant = segment(path, "variant", &summary.variant)?;
    segment(path, "image", &summary.image)?;
    let mut files = BTreeMap::new();
    for (key, value) in &summary.paths {
        files.insert(key.as_str(), relative(&dir, path, &format!("paths.{key}"), value)?);
    }
    let opt_json = |key: &str, kind: &'static str| -> Result<Option<Value>, SiteError> {
        files.get(key).map(|p| json(p, kind)).transpose()
    };
    let record = match files.get("build_record") {
        Some(p) => Some(
            crate::build::record::parse(&read(p)?, p)
                .map_err(|source| SiteError::Record { path: p.clone(), source: Box::new(source) })?,
        ),
        None => None,
    };
    let config = match files.get("image") {
        Some(p) if p.is_dir() => {
            let source = crate::source::Source::OciDir(p.clone());
            let image = source
                .open(&crate::source::OpenOptions::default())
                .map_err(|source| SiteError::Image { path: p.clone(), source: Box::new(source) })?;
            image.image_config().and_then(|c| c.config)
        }
        _ => None,
    };
    let attestations = summary
        .paths
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("attestation_").map(|n| (n.to_string(), v.clone())))
        .collect();
    Ok(Variant {
        variant,
        checksec: opt_json("checksec", "checksec report")?,
        gate: opt_json("attestation_checksec", "checksec attestation")?,
        sbom: opt_json("sbom_cyclonedx", "CycloneDX SBOM")?,
        scan: opt_json("scan", "scan")?,
        compare: opt_json("compare", "comparison")?,
        record,
        config,
        attestations,
        summary,
        dir,
    })
}

#[cfg(test)]
mod tests;

//! Report writers: `table` (grype's columns and a severity summary line), grype-shaped `json`,
//! SARIF 2.1.0, CycloneDX 1.6 VDR and OpenVEX. Each is a pure function of the result and
//! [`ReportMeta`] (timestamps come in from outside so outputs are reproducible).

pub mod cyclonedx;
pub mod json;
pub mod openvex;
pub mod sarif;
pub mod table;

use sha2::{Digest, Sha256};

use super::model::Cvss;
use super::scan::ScanResult;

/// What the report says about its run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportMeta {
    /// What was scanned (`sbom:bom.json`).
    pub target: String,
    /// RFC 3339 timestamp of the scan.
    pub timestamp: String,
    /// armorred's version.
    pub tool_version: String,
    /// What was scanned, as the catalogue of the source describes it (grype's `source`); when
    /// `None`, what `target` names ([`ScanSource::of_reference`]).
    pub source: Option<ScanSource>,
    /// The scanned system's distribution (grype's `distro`), when known.
    pub distro: Option<crate::sbom::Distro>,
}

/// What was scanned, as grype's JSON `source` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScanSource {
    /// An image (`oci-dir:`, `oci-archive:`, `docker-archive:`, `registry:`).
    Image(Box<ImageSource>),
    /// A directory (`dir:`).
    Directory(String),
    /// An SBOM file (`sbom:`).
    SbomFile(String),
    /// One file (a `dpkg-status:` file).
    File(String),
    /// Nothing known.
    #[default]
    Unknown,
}

/// An image as syft's `ImageMetadata` describes it, with what ARMORRED knows of it (what it
/// does not know stays empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageSource {
    /// The reference as the user gave it, without its scheme (`out/nginx` for
    /// `oci-dir:out/nginx`), as syft gives it.
    pub user_input: String,
    /// The image ID (the config digest), when known.
    pub image_id: String,
    /// The manifest digest (for docker archives, the config digest).
    pub manifest_digest: String,
    /// The manifest's media type, when known.
    pub media_type: String,
    /// Tags (a docker archive's `RepoTags`).
    pub tags: Vec<String>,
    /// The layers, lowest first.
    pub layers: Vec<ImageLayer>,
    /// The manifest's bytes as read (written base64, as Go writes a `[]byte`).
    pub manifest: Option<Vec<u8>>,
    /// The config's bytes as read.
    pub config: Option<Vec<u8>>,
    /// `host/repository@digest` of a registry image.
    pub repo_digests: Vec<String>,
    /// `architecture` of the config.
    pub architecture: String,
    /// `os` of the config.
    pub os: String,
}

/// One layer of an [`ImageSource`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageLayer {
    /// The media type from the manifest, empty when unknown.
    pub media_type: String,
    /// The layer's ID: its diff ID (`sha256:...` of the uncompressed tar), as stereoscope
    /// reports it; the blob digest when the config gives no diff ID.
    pub digest: String,
    /// The blob size, 0 when unknown (stereoscope's is the sum of the file sizes in the layer,
    /// which the reader does not total).
    pub size: u64,
}

/// The schemes of image references, which syft's `userInput` leaves out.
const IMAGE_SCHEMES: [&str; 4] = ["oci-dir:", "oci-archive:", "docker-archive:", "registry:"];

/// `reference` without its image scheme.
fn user_input(reference: &str) -> String {
    IMAGE_SCHEMES.iter().find_map(|s| reference.strip_prefix(s)).unwrap_or(reference).to_string()
}

impl ScanSource {
    /// The source a scan reference names (`sbom:FILE`, `dpkg-status:FILE`, `dir:PATH`, else an
    /// image known by its reference only).
    pub fn of_reference(reference: &str) -> ScanSource {
        if let Some(f) = reference.strip_prefix("sbom:") {
            return ScanSource::SbomFile(f.to_string());
        }
        if let Some(f) = reference.strip_prefix("dpkg-status:") {
            return ScanSource::File(f.to_string());
        }
        if let Some(d) = reference.strip_prefix("dir:") {
            return ScanSource::Directory(d.to_string());
        }
        if reference.is_empty() {
            return ScanSource::Unknown;
        }
        ScanSource::Image(Box::new(ImageSource { user_input: user_input(reference), ..ImageSource::default() }))
    }

    /// An opened image (a `dir:` source is a directory).
    pub fn of_image(reference: &str, image: &crate::source::Image) -> ScanSource {
        if reference.starts_with("dir:") {
            return ScanSource::of_reference(reference);
        }
        let config = |k: &str| {
            image.config.as_ref().and_then(|c| c.get(k)).and_then(serde_json::Value::as_str).unwrap_or("").to_string()
        };
        let meta = &image.metadata;
        // The manifest digest is that of the manifest's bytes (an OCI layout's index.json may
        // be the manifest itself, with no digest of its own). A docker archive's manifest is
        // synthesized (see `ImageMetadata::raw_manifest`): its layers' media types are read
        // from its bytes.
        let manifest_digest = match meta.raw_manifest.as_deref() {
            Some(raw) => format!("sha256:{:x}", Sha256::digest(raw)),
            None => image.digest.clone().unwrap_or_default(),
        };
        let synthesized = image.manifest.is_none().then_some(meta.raw_manifest.as_deref()).flatten();
        let synthesized: Option<crate::oci::spec::ImageManifest> =
            synthesized.and_then(|raw| serde_json::from_slice(raw).ok());
        let layer_type = |i: usize| {
            synthesized.as_ref().and_then(|m| m.layers.as_ref()?.get(i)?.media_type.clone()).unwrap_or_default()
        };
        ScanSource::Image(Box::new(ImageSource {
            user_input: user_input(reference),
            image_id: meta.image_id.clone().unwrap_or_default(),
            manifest_digest,
            media_type: meta.media_type.clone().unwrap_or_default(),
            tags: meta.tags.clone(),
            layers: image
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| ImageLayer {
                    media_type: l.media_type.clone().unwrap_or_else(|| layer_type(i)),
                    digest: l.id().to_string(),
                    size: l.size.unwrap_or(0),
                })
                .collect(),
            manifest: meta.raw_manifest.clone(),
            config: meta.raw_config.clone(),
            repo_digests: meta.repo_digests.clone(),
            architecture: config("architecture"),
            os: config("os"),
        }))
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human table.
    Table,
    /// grype JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities.
    CycloneDx,
    /// OpenVEX 0.2.0.
    OpenVex,
}

/// Renders a result.
pub fn render(result: &ScanResult, format: Format, meta: &ReportMeta) -> String {
    match format {
        Format::Table => table::render(result),
        Format::Json => pretty(&json::render(result, meta)),
        Format::Sarif => pretty(&sarif::render(result, meta)),
        Format::CycloneDx => pretty(&cyclonedx::render(result, meta)),
        Format::OpenVex => pretty(&openvex::render(result, meta)),
    }
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The CVSS version of a vector ("3.1", "4.0", "2.0").
pub(crate) fn cvss_version(c: &Cvss) -> String {
    if let Some(rest) = c.vector.strip_prefix("CVSS:") {
        return rest.split('/').next().unwrap_or("").to_string();
    }
    "2.0".into()
}

/// A deterministic UUID (v4 layout) from content.
pub fn uuid_from(content: &str) -> String {
    let h = Sha256::digest(content.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

//! The SBOM model every cataloger fills and every format encodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a package was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// Absolute path in the image.
    pub path: String,
    /// The ID (diff ID) of the layer the file comes from (images only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// The source package a binary package was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    /// Source package name.
    pub name: String,
    /// Source version, when it differs from the binary's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The operating system of the image, from `/etc/os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID` (`debian`).
    pub id: String,
    /// `VERSION_ID` (`13`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`trixie`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `PRETTY_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// `ID_LIKE`, split on spaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// `BUILD_ID` (rolling distributions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
}

impl Distro {
    /// Whether the distribution is `id` or derived from it.
    pub fn is_like(&self, id: &str) -> bool {
        self.id == id || self.id_like.iter().any(|l| l == id)
    }

    /// The purl `distro` qualifier as syft writes it: `ID-VERSION_ID` (or `ID-BUILD_ID`, or `ID`).
    pub fn purl_qualifier(&self) -> String {
        match (&self.version_id, &self.build_id) {
            (Some(v), _) if !v.is_empty() => format!("{}-{v}", self.id),
            (_, Some(b)) if !b.is_empty() => format!("{}-{b}", self.id),
            _ => self.id.clone(),
        }
    }
}

/// One package (component) of an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Stable identifier inside one SBOM (`bom-ref`).
    #[serde(default)]
    pub id: String,
    /// Package name.
    pub name: String,
    /// Version as the ecosystem writes it.
    pub version: String,
    /// Ecosystem type, as syft names them: `deb`, `apk`, `rpm`, `python`, `npm`, `go-module`,
    /// `rust-crate`, `java-archive`, `binary`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// CPE 2.3 names, most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// Declared licenses (SPDX ids or expressions when the metadata has them, else names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// The source package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_package: Option<SourcePackage>,
    /// Evidence: files the package was read from.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// The cataloger that found it.
    #[serde(default)]
    pub found_by: String,
    /// Ecosystem extras (architecture, maintainer, installed size, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Names of the packages of the same ecosystem this one depends on (from its metadata).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Digests of the package's file, by CycloneDX algorithm name (`SHA-256`): the binary's
    /// own for a source-built binary known by its ELF package note.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
}

impl Package {
    /// A package with only the identifying fields set.
    /// `kind` is a [`crate::sbom::catalog::PackageType`], or a type name read from a document.
    pub fn new(kind: impl AsRef<str>, name: &str, version: &str, found_by: &str, location: Location) -> Self {
        Self {
            id: String::new(),
            name: name.to_string(),
            version: version.to_string(),
            kind: kind.as_ref().to_string(),
            purl: None,
            cpes: Vec::new(),
            licenses: Vec::new(),
            source_package: None,
            locations: vec![location],
            found_by: found_by.to_string(),
            metadata: BTreeMap::new(),
            depends_on: Vec::new(),
            hashes: BTreeMap::new(),
        }
    }
}

/// What was scanned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The source as named by the user (`oci-dir:out/image`).
    pub name: String,
    /// `image` or `directory`.
    pub kind: String,
    /// Manifest digest of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Image `created` time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Layer IDs (diff IDs, as syft gives them), lowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
}

/// A software bill of materials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// What was scanned.
    pub source: SourceInfo,
    /// The operating system, if recognized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// Packages, sorted by type, name, version, first path.
    pub packages: Vec<Package>,
    /// Problems met on the way that did not stop the scan (unparsable metadata files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

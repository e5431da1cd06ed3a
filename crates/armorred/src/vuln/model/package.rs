//! The package a matcher looks up: what a scan knows of one installed package.

use serde::{Deserialize, Serialize};

pub use crate::sbom::catalog::PackageType;

/// A distribution (from `/etc/os-release` or the SBOM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `debian`, `alpine`, `wolfi`, ...
    pub id: String,
    /// `12`, `3.18.4`, ...
    pub version_id: String,
    /// `bookworm`, if known.
    pub codename: Option<String>,
}

impl Distro {
    /// The Debian codename for this release.
    pub fn debian_codename(&self) -> Option<String> {
        self.codename.clone().or_else(|| crate::distro::debian_codename(&self.version_id).map(str::to_string))
    }
}

/// One package to scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScanPackage {
    /// Binary package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL, if known.
    pub purl: Option<String>,
    /// CPE 2.3 names.
    pub cpes: Vec<String>,
    /// Source package name (Debian `Source:`, apk origin).
    pub source_name: Option<String>,
    /// Source package version.
    pub source_version: Option<String>,
    /// The distribution it comes from, for distro packages.
    pub distro: Option<Distro>,
    /// What the SBOM says of it beyond what matching needs (reported, never matched on).
    #[serde(default)]
    pub facts: PackageFacts,
}

/// What the SBOM says of a package beyond what matching needs: what a report shows of it (grype's
/// artifact `id`, `locations`, `licenses`, `metadataType` and `metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PackageFacts {
    /// Its identifier in the SBOM (`bom-ref`).
    #[serde(default)]
    pub id: String,
    /// The cataloger that found it (`dpkg-db-cataloger`).
    #[serde(default)]
    pub found_by: String,
    /// The files it was read from.
    #[serde(default)]
    pub locations: Vec<FactLocation>,
    /// Declared licenses.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Ecosystem extras (architecture, maintainer, installed size, ...).
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A file a package was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FactLocation {
    /// The path in the image.
    pub path: String,
    /// The layer the file comes from, when known.
    #[serde(default)]
    pub layer_id: Option<String>,
}

impl ScanPackage {
    /// The purl type, if any.
    pub fn purl_type(&self) -> Option<&str> {
        let p = self.purl.as_deref()?.strip_prefix("pkg:")?;
        p.split('/').next()
    }

    /// grype's artifact type (`deb`, `apk`, `python`, `go-module`, ...): by the purl's type,
    /// else by the distribution, else `binary`.
    pub fn package_type(&self) -> PackageType {
        if let Some(t) = self.purl_type().and_then(PackageType::from_purl_type) {
            return t;
        }
        match self.distro.as_ref().map(|d| d.id.as_str()) {
            // A purl of a type we do not know (`pkg:generic/...`) makes a binary.
            _ if self.purl_type().is_some() => PackageType::Binary,
            Some("debian") => PackageType::Deb,
            Some("alpine" | "wolfi" | "chainguard") => PackageType::Apk,
            _ => PackageType::Binary,
        }
    }

    /// [`ScanPackage::package_type`]'s name.
    pub fn kind(&self) -> &'static str {
        self.package_type().as_str()
    }

    /// Whether it is a build of a Debian source package that is not Debian's own binary package
    /// (a source-built binary whose package note names its Debian source and version): Debian's
    /// data applies to it by that source version, as to the distribution's packages.
    pub fn is_debian_rebuild(&self) -> bool {
        self.package_type() == PackageType::Binary
            && self.distro.as_ref().is_some_and(|d| d.id == "debian")
            && self.source_name.is_some()
            && self.source_version.is_some()
    }

    /// Whether it is a language-ecosystem package (CPE matching is off for those by default).
    pub fn is_language_package(&self) -> bool {
        self.package_type().is_language()
    }
}

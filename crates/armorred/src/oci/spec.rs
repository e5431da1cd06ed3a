//! Typed OCI structures shared by the writer ([`super::serialize`]) and the image readers
//! (`crate::source`): digest, descriptor, image manifest, image index, image config, and the
//! docker-archive `manifest.json` entry, as the OCI image spec names their fields.
//!
//! Field order is the order in which the writer emits them (serde follows declaration order),
//! so the bytes equal those of the former `json!` writer (goldens in `testdata/oci/`). For
//! reading, every struct is lenient as the readers were: unknown fields are ignored, docker
//! media types are accepted, and what the readers check themselves (a descriptor's digest and
//! size, the presence of `config` and `layers`) is optional here, so that they keep their own
//! error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Media types, in one place.
pub mod media {
    /// OCI image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI gzip layer.
    pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// Docker image manifest (schema 2).
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// A docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// A docker (gzip) layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Media types of an index (OCI or docker).
    pub const INDEX_TYPES: [&str; 2] = [INDEX, DOCKER_MANIFEST_LIST];
    /// A cosign simple-signing payload (a signature image's layer).
    pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
    /// A DSSE envelope (an attestation image's layer).
    pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
    /// A Sigstore bundle v0.3 (cosign 3's signature referrer's layer).
    pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
}

/// The `index.json` annotation `cosign save` (and `armorred sign`) marks entries with, and its
/// values: the signed image, its signature image, its attestation image.
pub mod cosign {
    /// The annotation key.
    pub const KIND: &str = "kind";
    /// The signed image.
    pub const IMAGE: &str = "dev.cosignproject.cosign/image";
    /// The signed image index.
    pub const IMAGE_INDEX: &str = "dev.cosignproject.cosign/imageIndex";
    /// The signature image.
    pub const SIGS: &str = "dev.cosignproject.cosign/sigs";
    /// The attestation image.
    pub const ATTS: &str = "dev.cosignproject.cosign/atts";
    /// An OCI 1.1 referrer of the image (a cosign 3 bundle), as `pull --with-attachments` stores it.
    pub const REFERRER: &str = "dev.cosignproject.cosign/referrer";
}

/// The annotation naming an image in an `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content digest: `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// A string that is not `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha256 digest (sha256:<64 lowercase hex>): {0:?}")]
pub struct DigestError(pub String);

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!("sha256:{}", hex::encode(Sha256::digest(data))))
    }

    /// The digest of a sha256 hash given as 64 lowercase hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, DigestError> {
        format!("sha256:{hex}").parse()
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("sha256:") {
            Some(h) if h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {
                Ok(Self(s.to_string()))
            }
            _ => Err(DigestError(s.to_string())),
        }
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> Self {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A platform of an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// `architecture`.
    #[serde(default)]
    pub architecture: Option<String>,
    /// `os`.
    #[serde(default)]
    pub os: Option<String>,
    /// `variant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A content descriptor. Written always complete; read leniently: a missing or malformed
/// digest or size is for the reader to report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// `mediaType`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub media_type: Option<String>,
    /// `digest` (as written; [`Descriptor::digest`] parses it).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub digest: Option<String>,
    /// `size`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub size: Option<u64>,
    /// `annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// `platform` (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// A descriptor of `size` bytes of `media_type` with `digest`.
    pub fn new(media_type: &str, digest: &Digest, size: u64) -> Self {
        Self {
            media_type: Some(media_type.to_string()),
            digest: Some(digest.to_string()),
            size: Some(size),
            annotations: None,
            platform: None,
        }
    }

    /// The digest, if present and well-formed.
    pub fn digest(&self) -> Option<Digest> {
        self.digest.as_deref()?.parse().ok()
    }

    /// The annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// A field that is `None` when absent, null or of another type than expected (the readers
/// report a missing field in their own words; a wrong type is treated as missing, as the
/// `Value` lookups they replaced did).
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A list whose items that are not of the expected shape are read as their default (for a
/// descriptor: one without digest, which the reader reports); not a list: `None`.
fn lenient_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Array(a) => Some(a.into_iter().map(from_value_or_default).collect()),
        _ => None,
    })
}

/// `v` as a `T` (the structures here read any JSON object), else `T::default()`.
pub fn from_value_or_default<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    if v.is_object() {
        serde_json::from_value(v).unwrap_or_default()
    } else {
        T::default()
    }
}

/// An image manifest (OCI, or docker schema 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// `schemaVersion` (2).
    #[serde(default, deserialize_with = "lenient_default")]
    pub schema_version: u32,
    /// `mediaType`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub media_type: Option<String>,
    /// `config`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub config: Option<Descriptor>,
    /// `layers`, bottom first.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_list")]
    pub layers: Option<Vec<Descriptor>>,
    /// `annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (OCI, or docker manifest list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// `schemaVersion` (2).
    #[serde(default, deserialize_with = "lenient_default")]
    pub schema_version: u32,
    /// `mediaType`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub media_type: Option<String>,
    /// `manifests`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_list")]
    pub manifests: Option<Vec<Descriptor>>,
    /// `annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `ExposedPorts` and `Volumes`: names in the order given, each mapped to `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet(pub Vec<String>);

impl Serialize for KeySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut seen = std::collections::BTreeSet::new();
        let mut m = s.serialize_map(None)?;
        for p in &self.0 {
            if seen.insert(p) {
                m.serialize_entry(p, &BTreeMap::<String, String>::new())?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for KeySet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        Ok(Self(m.into_iter().map(|(k, _)| k).collect()))
    }
}

/// The runtime part of an image config (`config`), named as the OCI image spec names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// `User`.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub user: Option<String>,
    /// `ExposedPorts`.
    #[serde(rename = "ExposedPorts", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub exposed_ports: Option<KeySet>,
    /// `Volumes`: directories the runtime mounts a volume on.
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub volumes: Option<KeySet>,
    /// `Env` (`NAME=value`).
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub env: Option<Vec<String>>,
    /// `Entrypoint`.
    #[serde(rename = "Entrypoint", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`.
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub cmd: Option<Vec<String>>,
    /// `WorkingDir`.
    #[serde(rename = "WorkingDir", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub working_dir: Option<String>,
    /// `Labels`.
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `StopSignal`.
    #[serde(rename = "StopSignal", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub stop_signal: Option<String>,
}

/// `rootfs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// `type` (`layers`).
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: String,
    /// `diff_ids`: digests of the uncompressed layer tars, as written (the reader checks them).
    #[serde(default, deserialize_with = "lenient_strings")]
    pub diff_ids: Vec<String>,
}

/// The strings of a list (other items and other types skipped, as the reader did).
fn lenient_strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default())
}

/// One `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// `created`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub created: Option<String>,
    /// `created_by`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub created_by: Option<String>,
}

/// An image config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `created` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub created: Option<String>,
    /// `architecture`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub architecture: String,
    /// `os`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub os: String,
    /// `config`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub config: Option<RuntimeConfig>,
    /// `rootfs`.
    #[serde(default, deserialize_with = "lenient_default")]
    pub rootfs: RootFs,
    /// `history`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub history: Option<Vec<History>>,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient::<D, String>(d)?.unwrap_or_default())
}

fn lenient_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    Ok(lenient::<D, T>(d)?.unwrap_or_default())
}

/// One entry of a docker-archive `manifest.json` (`docker load` reads the first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerManifestEntry {
    /// `Config`: the config's member path.
    #[serde(rename = "Config", default, deserialize_with = "lenient")]
    pub config: Option<String>,
    /// `RepoTags`.
    #[serde(rename = "RepoTags", default, deserialize_with = "lenient_default")]
    pub repo_tags: Vec<String>,
    /// `Layers`: the layers' member paths, bottom first (an item that is not a string reads
    /// as `None`: the reader reports it).
    #[serde(rename = "Layers", default, deserialize_with = "lenient_members")]
    pub layers: Option<Vec<Option<String>>>,
}

/// A list of strings whose other items read as `None`; not a list: `None`.
fn lenient_members<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<Option<String>>>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_array().map(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_validated() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(ok.parse::<Digest>().map(|d| d.hex().len()), Ok(64));
        for bad in
            ["sha256:", "sha512:aa", &format!("sha256:{}", "A".repeat(64)), &format!("sha256:{}", "a".repeat(63))]
        {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
        assert_eq!(Digest::of(b"").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn readers_are_lenient() {
        let m: ImageManifest = serde_json::from_str(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
                "config":{"digest":7},"layers":"no","extra":{}}"#,
        )
        .expect("lenient");
        assert_eq!(m.config.as_ref().and_then(|c| c.digest.clone()), None);
        assert_eq!(m.layers, None);
        let c: ImageConfig =
            serde_json::from_str(r#"{"config":{"Cmd":null,"Env":5},"rootfs":{"diff_ids":[1,"x"]}}"#).expect("lenient");
        assert_eq!(c.rootfs.diff_ids, vec!["x".to_string()]);
        assert_eq!(c.config.map(|r| (r.cmd, r.env)), Some((None, None)));
    }
}

//! `registry:REF` sources. Not implemented yet: the blobs would be fetched into a private
//! cache laid out as an OCI layout and read like `oci-dir:`.

use super::{Image, OpenOptions, Platform, SourceError};

pub(crate) fn open(
    reference: &str,
    _platform: &Platform,
    _options: &OpenOptions,
) -> Result<Image, SourceError> {
    Err(SourceError::Registry {
        reference: reference.to_string(),
        reason: "registry sources are not implemented yet; pull the image with skopeo into an oci-dir: first".into(),
    })
}

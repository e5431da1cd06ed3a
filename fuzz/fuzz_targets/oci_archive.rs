//! Image archives: any bytes as an `oci-archive:` and as a `docker-archive:` file (index,
//! manifests, configs, digests, layers), opened, squashed and catalogued with small limits.
#![no_main]

use armorred::sbom::{self, GenerateOptions};
use armorred::source::{Limits, OpenOptions, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_layer_bytes: 16 << 20,
        max_image_bytes: 32 << 20,
        max_file_bytes: 1 << 20,
        max_json_bytes: 1 << 20,
        max_header_bytes: 64 << 10,
        max_entries: 10_000,
        ..Limits::default()
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("image.tar");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    for scheme in ["oci-archive", "docker-archive"] {
        let Ok(source) = Source::parse(&format!("{scheme}:{}", path.display())) else { continue };
        let Ok(image) = source.open(&OpenOptions { limits: limits, ..OpenOptions::default() }) else { continue };
        let _ = image.tree(&limits);
        let _ = sbom::generate(&image, &GenerateOptions { limits: limits });
    }
});

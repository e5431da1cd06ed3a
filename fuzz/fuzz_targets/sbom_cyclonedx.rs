//! CycloneDX JSON reader.
#![no_main]

use armorred::sbom::format::cyclonedx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cyclonedx::read(data, "fuzz");
});

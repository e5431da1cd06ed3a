//! dpkg status parser.
#![no_main]

use armorred::sbom::catalog::dpkg;
use armorred::sbom::Location;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let loc = Location { path: "/var/lib/dpkg/status".into(), layer: None };
    let _ = dpkg::parse_status(&loc, &String::from_utf8_lossy(data));
});

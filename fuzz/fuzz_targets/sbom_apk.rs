//! apk installed-database parser.
#![no_main]

use armorred::sbom::catalog::apk;
use armorred::sbom::Location;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let loc = Location { path: "/lib/apk/db/installed".into(), layer: None };
    let _ = apk::parse(&loc, &String::from_utf8_lossy(data));
});

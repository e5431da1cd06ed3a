//! Debian security tracker JSON: any bytes through the strict JSON reader and the tracker parser.
#![no_main]

use armorred::vuln::import::debian;
use armorred::vuln::model::FeedBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = armorred::json::from_slice(data) {
        let mut batch = FeedBatch::default();
        debian::parse_value(&v, &mut batch);
    }
});

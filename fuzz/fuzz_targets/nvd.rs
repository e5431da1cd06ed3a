//! NVD CVE JSON 2.0: any bytes through the strict JSON reader and the NVD parser (CPE
//! configurations, version bounds, CVSS vectors).
#![no_main]

use armorred::vuln::import::nvd;
use armorred::vuln::model::FeedBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = armorred::json::from_slice(data) {
        let mut batch = FeedBatch::default();
        nvd::parse_value(&v, &mut batch);
    }
});

//! Layer walker: any bytes as a (gzip/zstd/plain) tar layer, with small limits.
#![no_main]

use armorred::source::{layer, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_layer_bytes: 64 << 20,
        max_ratio: 100,
        max_file_bytes: 1 << 20,
        max_entries: 100_000,
        ..Limits::default()
    };
    let _ = layer::list_entries(data, &limits);
});

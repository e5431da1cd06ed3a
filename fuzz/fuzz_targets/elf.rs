//! The ELF reader must return a report or an error for any input, never panic or hang.
#![no_main]

use armorred::elf::{analyze, LibcResolver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let libs = LibcResolver::builtin();
    let _ = analyze(data, &libs);
});

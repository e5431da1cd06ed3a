//! Machine-code evidence of clang CFI and SafeStack for stripped binaries.
//!
//! clang's CFI lowers every checked indirect call to a range check against a jump table of
//! fixed-size entries followed by `ud2`. On x86 an entry is `jmp rel32` padded with `int3` to
//! 8 bytes, or `endbr64; jmp rel32` padded to 16 bytes under `-fcf-protection=branch`. Compilers
//! never lay out ordinary functions that densely, so a run of such entries plus a `ud2` is the
//! pattern we accept. clang 14 under `-fcf-protection` puts one `endbr64` before an 8-byte table
//! (shifting every entry by 4 bytes, so that the table's symbols point into the middle of entries
//! and such binaries trap on the first checked call); that layout is matched too. SafeStack's runtime leaves its check
//! message in `.rodata`.

const MIN_ENTRIES: usize = 2;

/// Whether `code` (an executable section loaded at virtual address `addr`) holds a CFI jump
/// table. Entries are aligned to their size in the address space, not in the file.
pub(crate) fn has_jump_table(code: &[u8], addr: u64) -> bool {
    // The failure path of a check is a trap: ud2 (0f 0b) or ud1 (0f b9).
    if memchr::memmem::find(code, &[0x0f, 0x0b]).is_none() && memchr::memmem::find(code, &[0x0f, 0xb9]).is_none() {
        return false;
    }
    const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
    let aligned = |size: u64| {
        let skip = usize::try_from((size - addr % size) % size).unwrap_or(0);
        code.get(skip..).unwrap_or_default()
    };
    let jmp_int3 = |e: &[u8]| e[0] == 0xe9 && e[5..8] == [0xcc; 3];
    run_of(aligned(8), 8, jmp_int3)
        || run_of(aligned(8).get(4..).unwrap_or_default(), 8, jmp_int3)
        || run_of(aligned(16), 16, |e| e[..4] == ENDBR64 && e[4] == 0xe9 && e[9..16] == [0xcc; 7])
}

fn run_of(code: &[u8], size: usize, entry: impl Fn(&[u8]) -> bool) -> bool {
    let mut run = 0;
    for chunk in code.chunks_exact(size) {
        if entry(chunk) {
            run += 1;
            if run >= MIN_ENTRIES {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The message compiler-rt's SafeStack runtime prints on a failed internal check.
pub(crate) const SAFESTACK_RUNTIME_STRING: &[u8] = b"safestack CHECK failed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_table_needs_two_entries_and_a_trap() {
        let entry = [0xe9, 1, 2, 3, 4, 0xcc, 0xcc, 0xcc];
        let mut code = [entry, entry].concat();
        assert!(!has_jump_table(&code, 0), "no ud2");
        code.extend([0x0f, 0x0b, 0, 0, 0, 0, 0, 0]);
        assert!(has_jump_table(&code, 0));
        assert!(!has_jump_table(&code, 4), "entries must be aligned in the address space");
        let shifted = [&[0x90; 4][..], &code].concat();
        assert!(has_jump_table(&shifted, 0x1004));
        assert!(!has_jump_table(&[&entry[..], &[0x90; 8], &entry, &[0x0f, 0x0b]].concat(), 0));
    }
}

//! Machine-code evidence of clang CFI and SafeStack for stripped binaries.
//!
//! clang's CFI lowers every checked indirect call to a range check against a jump table of
//! fixed-size entries followed by `ud2`. On x86 an entry is `jmp rel32` padded with `int3` to
//! 8 bytes, or `endbr64; jmp rel32` padded to 16 bytes under `-fcf-protection=branch`. Compilers
//! never lay out ordinary functions that densely, so a run of such entries plus a `ud2` is the
//! pattern we accept. SafeStack's runtime leaves its check message in `.rodata`.

const MIN_ENTRIES: usize = 2;

/// Whether `code` (an executable section) holds a CFI jump table.
pub(crate) fn has_jump_table(code: &[u8]) -> bool {
    if !code.windows(2).any(|w| w == [0x0f, 0x0b]) {
        return false;
    }
    run_of(code, 8, |e| e[0] == 0xe9 && e[5..8] == [0xcc; 3])
        || run_of(code, 16, |e| {
            e[..5] == [0xf3, 0x0f, 0x1e, 0xfa, 0xe9] && e[9..16] == [0xcc; 7]
        })
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
        assert!(!has_jump_table(&code), "no ud2");
        code.extend([0x0f, 0x0b, 0, 0, 0, 0, 0, 0]);
        assert!(has_jump_table(&code));
        assert!(!has_jump_table(
            &[&entry[..], &[0x90; 8], &entry, &[0x0f, 0x0b]].concat()
        ));
    }
}

//! The compiler and linker flags of each tier, injected through `CC`/`CFLAGS`/`LDFLAGS`.
//!
//! Flags are an input, not a proof: after the build every ELF file is analysed and each
//! property the tier promises must be found (see `verify`).

use serde::{Deserialize, Serialize};

use super::recipe::TierSpec;
use crate::tier::Tier;

/// Where the source tree is mounted inside the sandbox.
pub const SANDBOX_BUILD_DIR: &str = "/build";

/// The flags of one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// `CC`.
    pub cc: String,
    /// `CFLAGS`, in order.
    pub cflags: Vec<String>,
    /// `LDFLAGS`, in order (the package note object last).
    pub ldflags: Vec<String>,
}

impl Flags {
    /// `CFLAGS` as one string.
    pub fn cflags_string(&self) -> String {
        self.cflags.join(" ")
    }
    /// `LDFLAGS` as one string.
    pub fn ldflags_string(&self) -> String {
        self.ldflags.join(" ")
    }
}

/// The compile flags every tier starts from.
pub const HARDENED_CFLAGS: &[&str] = &[
    "-O2",
    "-fstack-protector-strong",
    "-fstack-clash-protection",
    "-fcf-protection=full",
    "-fPIE",
    "-D_FORTIFY_SOURCE=2",
    "-fsanitize=safe-stack",
];

/// The link flags every tier starts from. `-z force-ibt -z shstk`: Debian 12's glibc start
/// files and compiler-rt's SafeStack runtime carry no `.note.gnu.property`, so lld would drop
/// the CET marking although every compiled object has it (documented in docs/recipes.md).
/// Use clang 19 (tested): clang 14 lays out CFI jump tables of 8-byte entries behind an `endbr64`
/// under `-fcf-protection`, so every entry after the first is misaligned (SIGTRAP).
pub const HARDENED_LDFLAGS: &[&str] = &[
    "-fuse-ld=lld",
    "-pie",
    "-Wl,-z,relro,-z,now",
    "-Wl,-z,noexecstack",
    "-Wl,-z,force-ibt,-z,shstk",
    "-fsanitize=safe-stack",
];

/// What the locked tier adds to both compile and link flags.
pub const LOCKED_EXTRA: &[&str] =
    &["-flto", "-fvisibility=hidden", "-fsanitize=cfi", "-fsanitize-cfi-icall-generalize-pointers"];

/// The flags of `tier` for a package `name-version`, with the recipe's extras and the
/// package-note object linked into every ELF file.
pub fn for_tier(tier: Tier, cc: &str, name: &str, version: &str, spec: &TierSpec, note_object: &str) -> Flags {
    let mut cflags: Vec<String> = HARDENED_CFLAGS.iter().map(|s| s.to_string()).collect();
    let mut ldflags: Vec<String> = HARDENED_LDFLAGS.iter().map(|s| s.to_string()).collect();
    if tier == Tier::Locked && spec.without_cfi.is_none() {
        cflags.extend(LOCKED_EXTRA.iter().map(|s| s.to_string()));
        ldflags.extend(LOCKED_EXTRA.iter().filter(|f| **f != "-fvisibility=hidden").map(|s| s.to_string()));
    }
    cflags.push(format!("-ffile-prefix-map={SANDBOX_BUILD_DIR}/src=/usr/src/{name}-{version}"));
    cflags.extend(spec.cflags.iter().cloned());
    ldflags.extend(spec.ldflags.iter().cloned());
    ldflags.push(note_object.to_string());
    Flags { cc: cc.to_string(), cflags, ldflags }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_is_hardened_plus_cfi() {
        let spec = TierSpec { configure: vec![], cflags: vec!["-DX".into()], ldflags: vec![], without_cfi: None };
        let h = for_tier(Tier::Hardened, "clang-14", "n", "1", &spec, "/n.o");
        let l = for_tier(Tier::Locked, "clang-14", "n", "1", &spec, "/n.o");
        assert!(h.cflags.iter().all(|f| l.cflags.contains(f)));
        assert!(!h.cflags.iter().any(|f| f.contains("cfi")));
        assert!(l.cflags.contains(&"-fsanitize=cfi".to_string()));
        assert!(l.ldflags.contains(&"-flto".to_string()));
        assert_eq!(h.cflags.last().map(String::as_str), Some("-DX"));
        assert_eq!(l.ldflags.last().map(String::as_str), Some("/n.o"));
        assert!(h.cflags.contains(&"-ffile-prefix-map=/build/src=/usr/src/n-1".to_string()));
        // Without CFI: the hardened flags, nothing of CFI's (nor its LTO and visibility).
        let waived = TierSpec { without_cfi: Some("modules are dlopen'd".into()), ..spec };
        let w = for_tier(Tier::Locked, "clang-14", "n", "1", &waived, "/n.o");
        assert_eq!((w.cflags, w.ldflags), (h.cflags, h.ldflags));
    }
}

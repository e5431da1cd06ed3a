//! FORTIFY_SOURCE: which functions a libc offers in `__X_chk` form, and which of them a binary
//! calls checked or unchecked.

use std::collections::BTreeSet;

use goblin::elf::Elf;

/// glibc's fortified functions (without the `__` prefix and `_chk` suffix), as exported by
/// glibc 2.36 on x86_64. Used when the libc a binary links cannot be found.
pub const GLIBC_CHK_FUNCTIONS: &[&str] = &[
    "asprintf",
    "confstr",
    "dprintf",
    "explicit_bzero",
    "fdelt",
    "fgets",
    "fgets_unlocked",
    "fgetws",
    "fgetws_unlocked",
    "fprintf",
    "fread",
    "fread_unlocked",
    "fwprintf",
    "getcwd",
    "getdomainname",
    "getgroups",
    "gethostname",
    "getlogin_r",
    "gets",
    "getwd",
    "longjmp",
    "mbsnrtowcs",
    "mbsrtowcs",
    "mbstowcs",
    "memcpy",
    "memmove",
    "mempcpy",
    "memset",
    "obstack_printf",
    "obstack_vprintf",
    "poll",
    "ppoll",
    "pread64",
    "pread",
    "printf",
    "ptsname_r",
    "read",
    "readlink",
    "readlinkat",
    "realpath",
    "recv",
    "recvfrom",
    "snprintf",
    "sprintf",
    "stpcpy",
    "stpncpy",
    "strcat",
    "strcpy",
    "strncat",
    "strncpy",
    "swprintf",
    "syslog",
    "ttyname_r",
    "vasprintf",
    "vdprintf",
    "vfprintf",
    "vfwprintf",
    "vprintf",
    "vsnprintf",
    "vsprintf",
    "vswprintf",
    "vsyslog",
    "vwprintf",
    "wcpcpy",
    "wcpncpy",
    "wcrtomb",
    "wcscat",
    "wcscpy",
    "wcsncat",
    "wcsncpy",
    "wcsnrtombs",
    "wcsrtombs",
    "wcstombs",
    "wctomb",
    "wmemcpy",
    "wmemmove",
    "wmempcpy",
    "wmemset",
    "wprintf",
];

/// The set of fortifiable functions, from a libc or from the built-in glibc list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FortifyReference {
    /// Base names (`memcpy` for `__memcpy_chk`).
    functions: BTreeSet<String>,
    /// Where the list came from: a libc path, or `builtin-glibc`.
    origin: String,
}

impl FortifyReference {
    /// The built-in glibc list.
    pub fn builtin() -> Self {
        Self {
            functions: GLIBC_CHK_FUNCTIONS.iter().map(|s| (*s).to_owned()).collect(),
            origin: "builtin-glibc".to_owned(),
        }
    }

    /// The `__X_chk` functions a libc defines in its dynamic symbol table; None if it defines none.
    pub fn from_libc(elf: &Elf<'_>, origin: &str) -> Option<Self> {
        let functions: BTreeSet<String> = elf
            .dynsyms
            .iter()
            .filter(|s| s.st_shndx != 0)
            .filter_map(|s| elf.dynstrtab.get_at(s.st_name))
            .filter_map(|n| n.strip_prefix("__").and_then(|n| n.strip_suffix("_chk")))
            .filter(|n| !n.is_empty() && !n.starts_with("stack"))
            .map(str::to_owned)
            .collect();
        (!functions.is_empty()).then(|| Self { functions, origin: origin.to_owned() })
    }

    /// The `__X_chk` functions of a libc given as bytes; None if it is no ELF file, defines
    /// none, or declares tables over the default [`super::ElfLimits`].
    pub fn from_libc_bytes(bytes: &[u8], origin: &str) -> Option<Self> {
        let limits = super::ElfLimits::default();
        let elf = std::panic::catch_unwind(|| super::analyze::parse_bounded(bytes, &limits)).ok()?.ok()?;
        if elf.dynsyms.len() as u64 > limits.max_symbols {
            return None;
        }
        Self::from_libc(&elf, origin)
    }

    /// Where the list came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Classifies the dynamic symbol names of a binary: `(fortified, unfortified)` counts as
    /// checksec.sh computes them (one per symbol entry, leading underscores ignored), and the
    /// distinct names of each.
    pub(crate) fn classify<'a>(&self, names: impl Iterator<Item = &'a str>) -> Classified {
        let mut out = Classified::default();
        for name in names {
            let bare = name.trim_start_matches('_');
            if let Some(base) = bare.strip_suffix("_chk") {
                if self.functions.contains(base) {
                    out.checked += 1;
                    out.fortified.insert(base.to_owned());
                }
            } else if self.functions.contains(bare) {
                out.unchecked += 1;
                out.fortifiable.insert(bare.to_owned());
            }
        }
        out
    }
}

/// The outcome of [`FortifyReference::classify`].
#[derive(Debug, Default)]
pub(crate) struct Classified {
    pub(crate) checked: usize,
    pub(crate) unchecked: usize,
    pub(crate) fortified: BTreeSet<String>,
    pub(crate) fortifiable: BTreeSet<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_counts_like_checksec() {
        let r = FortifyReference::builtin();
        let c =
            r.classify(["__memcpy_chk", "memcpy", "printf", "__printf_chk", "strlen", "__stack_chk_fail"].into_iter());
        assert_eq!((c.checked, c.unchecked), (2, 2));
        assert_eq!(c.fortified.into_iter().collect::<Vec<_>>(), ["memcpy", "printf"]);
    }
}

//! One ELF file in, one [`Report`] out.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use goblin::elf::dynamic::{DF_1_NOW, DF_1_PIE, DF_BIND_NOW, DT_BIND_NOW, DT_DEBUG};
use goblin::elf::header::{ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PF_X, PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP};
use goblin::elf::section_header::SHF_EXECINSTR;
use goblin::elf::Elf;

use super::fortify::FortifyReference;
use super::{cfi, notes, Cet, Detection, ElfError, ElfLimits, Fortify, Found, Language, Linking, Pie, Relro, Report};

const CANARY_SYMBOLS: [&str; 3] = ["__stack_chk_fail", "__stack_chk_guard", "__intel_security_cookie"];
const CFI_DYNAMIC_SYMBOLS: [&str; 4] = ["__cfi_slowpath", "__cfi_slowpath_diag", "__cfi_check", "__cfi_check_fail"];

/// Whether `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Finds the libc a binary links, to learn which functions are fortifiable. Results are cached
/// per libc path, so a scan reads each libc once.
#[derive(Debug, Default)]
pub struct LibcResolver {
    root: Option<PathBuf>,
    fixed: Option<Arc<FortifyReference>>,
    cache: Mutex<HashMap<PathBuf, Option<Arc<FortifyReference>>>>,
}

impl LibcResolver {
    /// Looks for libraries below `root` (`/` for the running system, an unpacked image's root
    /// otherwise).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: Some(root.into()), fixed: None, cache: Mutex::default() }
    }

    /// Always `reference`: for files that are not on disk (an image's layers), whose libc was
    /// found among them.
    pub fn with_reference(reference: FortifyReference) -> Self {
        Self { root: None, fixed: Some(Arc::new(reference)), cache: Mutex::default() }
    }

    /// Never looks at files: always glibc's built-in list.
    pub fn builtin() -> Self {
        Self::default()
    }

    fn reference(&self, arch: &str, needed: &[String]) -> Arc<FortifyReference> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let Some(root) = &self.root else {
            return Arc::new(FortifyReference::builtin());
        };
        let wanted = needed.iter().find(|n| n.starts_with("libc.so") || n.starts_with("libc.musl"));
        let name = wanted.map_or("libc.so.6", String::as_str);
        let triplet = match arch {
            "x86_64" => "x86_64-linux-gnu",
            "x86" => "i386-linux-gnu",
            "aarch64" => "aarch64-linux-gnu",
            "arm" => "arm-linux-gnueabihf",
            "riscv64" => "riscv64-linux-gnu",
            "ppc64" => "powerpc64le-linux-gnu",
            "s390x" => "s390x-linux-gnu",
            _ => "",
        };
        let dirs =
            [format!("lib/{triplet}"), format!("usr/lib/{triplet}"), "lib64".into(), "lib".into(), "usr/lib".into()];
        for dir in dirs.iter().filter(|d| !d.ends_with('/')) {
            // Resolved as a chroot to the root would: `libc.so.6 -> /dev/zero` stays inside it.
            let Ok(path) = crate::fsutil::resolve_in_root(root, &Path::new(dir).join(name)) else { continue };
            if let Some(found) = self.load(&path) {
                return found;
            }
        }
        Arc::new(FortifyReference::builtin())
    }

    /// The reference of the libc at `path` (already resolved inside the root): a regular file
    /// only, mapped rather than read, and parsed within [`ElfLimits`].
    fn load(&self, path: &Path) -> Option<Arc<FortifyReference>> {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let file = crate::fsutil::open_regular(path).ok()?;
                let map = super::scan::map_file(&file).ok()?;
                let origin = path.to_string_lossy();
                std::panic::catch_unwind(|| FortifyReference::from_libc_bytes(&map, &origin)).ok()?.map(Arc::new)
            })
            .clone()
    }
}

/// Analyses one ELF image held in memory (or mapped), within the default [`ElfLimits`].
pub fn analyze(bytes: &[u8], libs: &LibcResolver) -> Result<Report, ElfError> {
    analyze_with(bytes, libs, &ElfLimits::default())
}

/// Analyses one ELF image held in memory (or mapped) within `limits`: tables its headers
/// declare past the limits are refused before the parser reads them, and searches of stripped
/// code stop after `limits.max_search_bytes`.
pub fn analyze_with(bytes: &[u8], libs: &LibcResolver, limits: &ElfLimits) -> Result<Report, ElfError> {
    if !is_elf(bytes) {
        return Err(ElfError::NotElf);
    }
    // goblin is well fuzzed, but a panic on one hostile file must not take a scan down.
    match std::panic::catch_unwind(|| analyze_parsed(bytes, libs, limits)) {
        Ok(result) => result,
        Err(_) => Err(ElfError::Malformed { reason: "the ELF parser failed on this file".into() }),
    }
}

/// Parses `bytes` with goblin once [`check_declared_sizes`] has passed.
pub(crate) fn parse_bounded<'a>(bytes: &'a [u8], limits: &ElfLimits) -> Result<Elf<'a>, ElfError> {
    check_declared_sizes(bytes, limits)?;
    Elf::parse(bytes).map_err(|e| ElfError::Malformed { reason: one_line(&e.to_string()) })
}

/// What goblin reads whole while parsing, checked against `limits` before it does: goblin
/// indexes every string of a string table (24 bytes each: a 256 MiB table of zeros would cost
/// 6 GiB), reserves `PT_DYNAMIC`'s declared size, walks relocation tables and GNU hash chains
/// to their declared ends. Headers that cannot be read are left for goblin to report.
fn check_declared_sizes(bytes: &[u8], limits: &ElfLimits) -> Result<(), ElfError> {
    use goblin::container::{Container, Ctx};
    use goblin::elf::program_header::{ProgramHeader, PT_NOTE};
    use goblin::elf::section_header::{self as sh, SectionHeader};

    let too_large = |what: String, max: u64, unit: &'static str| ElfError::TooLarge { what, max, unit };
    let table = |what: String, size: u64| {
        if size > limits.max_table_bytes {
            Err(too_large(format!("{what} ({size} bytes)"), limits.max_table_bytes, "bytes"))
        } else {
            Ok(())
        }
    };
    let strings = |what: &str, offset: u64, size: u64| {
        let Some(data) = file_range(bytes, offset, size) else { return Ok(()) };
        let count = memchr::memchr_iter(0, data).count() as u64;
        if count > limits.max_strings {
            return Err(too_large(format!("{what} ({count} strings)"), limits.max_strings, "strings"));
        }
        Ok(())
    };
    let Ok(header) = Elf::parse_header(bytes) else { return Ok(()) };
    let (Ok(container), Ok(le)) = (header.container(), header.endianness()) else { return Ok(()) };
    let ctx = Ctx::new(container, le);
    let Ok(phdrs) = ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx) else {
        return Ok(());
    };
    for (i, p) in phdrs.iter().enumerate() {
        if matches!(p.p_type, PT_DYNAMIC | PT_NOTE | PT_INTERP) {
            table(format!("program header {i} (type {:#x})", p.p_type), p.p_filesz)?;
        }
    }
    if header.e_shoff != 0 {
        let shoff = header.e_shoff as usize;
        if header.e_shnum == 0 {
            if let Some(first) = SectionHeader::parse(bytes, shoff, 1, ctx).ok().and_then(|v| v.into_iter().next()) {
                if first.sh_size > limits.max_sections {
                    return Err(too_large(
                        format!("the section header count ({})", first.sh_size),
                        limits.max_sections,
                        "sections",
                    ));
                }
            }
        }
        if let Ok(sections) = SectionHeader::parse(bytes, shoff, header.e_shnum as usize, ctx) {
            for (i, s) in sections.iter().enumerate() {
                let read_whole = matches!(
                    s.sh_type,
                    sh::SHT_STRTAB
                        | sh::SHT_SYMTAB
                        | sh::SHT_DYNSYM
                        | sh::SHT_REL
                        | sh::SHT_RELA
                        | sh::SHT_DYNAMIC
                        | sh::SHT_NOTE
                        | sh::SHT_HASH
                        | sh::SHT_GNU_HASH
                );
                if read_whole {
                    table(format!("section {i} (type {:#x})", s.sh_type), s.sh_size)?;
                }
            }
            // The string tables goblin indexes: the section names' and the symbol table's.
            let mut shstrndx = usize::from(header.e_shstrndx);
            if shstrndx == sh::SHN_XINDEX as usize {
                shstrndx = sections.first().map_or(0, |s| s.sh_link as usize);
            }
            let symtab_strings = sections.iter().rfind(|s| s.sh_type == sh::SHT_SYMTAB).map(|s| s.sh_link as usize);
            for i in std::iter::once(shstrndx).chain(symtab_strings) {
                if let Some(s) = sections.get(i) {
                    strings(&format!("string table section {i}"), s.sh_offset, s.sh_size)?;
                }
            }
        }
    }
    let Ok(Some(dynamic)) = goblin::elf::dynamic::Dynamic::parse(bytes, &phdrs, ctx) else { return Ok(()) };
    let info = &dynamic.info;
    table("the dynamic string table".into(), info.strsz as u64)?;
    strings("the dynamic string table", info.strtab as u64, info.strsz as u64)?;
    table("the dynamic RELA table".into(), info.relasz as u64)?;
    table("the dynamic REL table".into(), info.relsz as u64)?;
    table("the PLT relocation table".into(), info.pltrelsz as u64)?;
    if let Some(offset) = info.gnu_hash {
        let le = ctx.le == goblin::container::Endian::Little;
        gnu_hash_chain_bounded(bytes, offset as usize, le, container == Container::Big, limits)?;
    }
    Ok(())
}

/// goblin counts dynamic symbols by walking the GNU hash table's buckets and its last chain to
/// the end marker; both are bounded here ([`ElfLimits::max_symbols`]) before it does.
fn gnu_hash_chain_bounded(
    bytes: &[u8],
    offset: usize,
    le: bool,
    is_64: bool,
    limits: &ElfLimits,
) -> Result<(), ElfError> {
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some((if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }) as usize)
    };
    let (Some(buckets), Some(min_chain), Some(bloom)) =
        (u32_at(offset), u32_at(offset.saturating_add(4)), u32_at(offset.saturating_add(8)))
    else {
        return Ok(());
    };
    let over = |what: String| ElfError::TooLarge { what, max: limits.max_symbols, unit: "entries" };
    if buckets as u64 > limits.max_symbols {
        return Err(over(format!("the GNU hash table ({buckets} buckets)")));
    }
    if buckets == 0 || min_chain == 0 || bloom == 0 {
        return Ok(());
    }
    let Some(buckets_at) =
        bloom.checked_mul(if is_64 { 8 } else { 4 }).and_then(|b| offset.checked_add(16)?.checked_add(b))
    else {
        return Ok(());
    };
    let mut max_chain = 0;
    for b in 0..buckets {
        match u32_at(buckets_at.saturating_add(b * 4)) {
            Some(chain) => max_chain = max_chain.max(chain),
            None => return Ok(()),
        }
    }
    if max_chain < min_chain {
        return Ok(());
    }
    let mut at = buckets_at.saturating_add(buckets * 4).saturating_add((max_chain - min_chain).saturating_mul(4));
    for _ in 0..limits.max_symbols {
        match u32_at(at) {
            Some(hash) if hash & 1 == 1 => return Ok(()),
            Some(_) => at = at.saturating_add(4),
            None => return Ok(()),
        }
    }
    Err(over("a GNU hash chain".into()))
}

/// Bytes left to search in one file ([`ElfLimits::max_search_bytes`]).
pub(crate) struct Budget(Cell<u64>);

impl Budget {
    pub(crate) fn new(bytes: u64) -> Self {
        Self(Cell::new(bytes))
    }

    /// The part of `data` still within the budget, which it uses up.
    pub(crate) fn take<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        let n = usize::try_from(self.0.get()).unwrap_or(usize::MAX).min(data.len());
        self.0.set(self.0.get() - n as u64);
        &data[..n]
    }
}

fn analyze_parsed(bytes: &[u8], libs: &LibcResolver, limits: &ElfLimits) -> Result<Report, ElfError> {
    examine(bytes, limits, |names| judge(&names.reference(libs), names.dynsym, names.lists))
}

/// The symbol names FORTIFY is judged on, and what picks the reference libc.
pub(crate) struct FortifyNames<'a> {
    pub(crate) arch: &'a str,
    pub(crate) needed: &'a [String],
    /// Dynamic symbol names (checksec.sh's counts, and the lists of dynamic binaries).
    pub(crate) dynsym: &'a [&'a str],
    /// For static binaries with a symbol table: every symbol name, for the lists.
    pub(crate) lists: Option<&'a [&'a str]>,
}

impl FortifyNames<'_> {
    fn reference(&self, libs: &LibcResolver) -> Arc<FortifyReference> {
        libs.reference(self.arch, self.needed)
    }
}

/// FORTIFY facts of the names against `reference`.
pub(crate) fn judge<S: AsRef<str>>(reference: &FortifyReference, dynsym: &[S], lists: Option<&[S]>) -> Fortify {
    let checksec_counts = reference.classify(dynsym.iter().map(AsRef::as_ref));
    let lists = reference.classify(lists.unwrap_or(dynsym).iter().map(AsRef::as_ref));
    Fortify {
        fortified: lists.fortified.into_iter().collect(),
        fortifiable: lists.fortifiable.into_iter().collect(),
        fortified_count: checksec_counts.checked,
        fortifiable_count: checksec_counts.checked + checksec_counts.unchecked,
        reference: reference.origin().to_owned(),
    }
}

/// Everything but the FORTIFY judgement, which `fortify` gives from the names.
pub(crate) fn examine(
    bytes: &[u8],
    limits: &ElfLimits,
    fortify: impl FnOnce(FortifyNames<'_>) -> Fortify,
) -> Result<Report, ElfError> {
    let elf = parse_bounded(bytes, limits)?;
    for (what, count) in [("the symbol table", elf.syms.len()), ("the dynamic symbol table", elf.dynsyms.len())] {
        if count as u64 > limits.max_symbols {
            return Err(ElfError::TooLarge {
                what: format!("{what} ({count} entries)"),
                max: limits.max_symbols,
                unit: "entries",
            });
        }
    }
    let budget = Budget::new(limits.max_search_bytes);
    let has_ph = |t: u32| elf.program_headers.iter().any(|p| p.p_type == t);
    let dyn_tags: Vec<u64> = elf.dynamic.as_ref().map(|d| d.dyns.iter().map(|d| d.d_tag).collect()).unwrap_or_default();
    let (flags, flags_1) = elf.dynamic.as_ref().map_or((0, 0), |d| (d.info.flags, d.info.flags_1));
    let has_dynamic = has_ph(PT_DYNAMIC) || elf.dynamic.is_some();
    let elf_type = elf.header.e_type;

    let bind_now = dyn_tags.contains(&DT_BIND_NOW) || flags & DF_BIND_NOW != 0 || flags_1 & DF_1_NOW != 0;
    let relro = match (has_ph(PT_GNU_RELRO), bind_now) {
        (false, _) => Relro::No,
        (true, true) => Relro::Full,
        (true, false) => Relro::Partial,
    };

    let nx = match elf.program_headers.iter().find(|p| p.p_type == PT_GNU_STACK) {
        Some(p) => p.p_flags & PF_X == 0,
        // Without PT_GNU_STACK the kernel maps the stack executable on x86 (READ_IMPLIES_EXEC).
        None => false,
    };

    let is_pie_flag = flags_1 & DF_1_PIE != 0;
    let pie = match elf_type {
        ET_EXEC => Pie::No,
        ET_DYN if is_pie_flag || dyn_tags.contains(&DT_DEBUG) => Pie::Yes,
        ET_DYN => Pie::Dso,
        ET_REL => Pie::Rel,
        _ => Pie::No,
    };
    let linking = match elf_type {
        ET_REL => Linking::Unlinked,
        _ if has_ph(PT_INTERP) => Linking::Dynamic,
        ET_EXEC if !has_dynamic => Linking::Static,
        ET_DYN if is_pie_flag => Linking::StaticPie,
        _ => Linking::Dynamic,
    };

    let symtab: Vec<&str> = elf.syms.iter().filter_map(|s| elf.strtab.get_at(s.st_name)).collect();
    let dynsym: Vec<&str> = elf.dynsyms.iter().filter_map(|s| elf.dynstrtab.get_at(s.st_name)).collect();
    let all_symbols = || symtab.iter().chain(dynsym.iter()).copied();

    let canary = all_symbols().any(|s| CANARY_SYMBOLS.iter().any(|c| s.contains(c)));

    let arch = arch_name(elf.header.e_machine).to_owned();
    let needed: Vec<String> = elf.libraries.iter().map(|s| (*s).to_owned()).collect();
    let dlopen = elf
        .dynsyms
        .iter()
        .any(|s| s.st_shndx == 0 && matches!(elf.dynstrtab.get_at(s.st_name), Some("dlopen" | "dlmopen")));
    let all: Option<Vec<&str>> = (matches!(linking, Linking::Static | Linking::StaticPie) && !symtab.is_empty())
        .then(|| all_symbols().collect());
    let fortify = fortify(FortifyNames { arch: &arch, needed: &needed, dynsym: &dynsym, lists: all.as_deref() });
    drop(all);

    let x86 = matches!(arch.as_str(), "x86_64" | "x86");
    let code = || executable_code(&elf, bytes).map(|(code, addr)| (budget.take(code), addr));
    let safestack =
        if symtab.iter().any(|s| s.contains("__safestack_init") || s.starts_with("__safestack_unsafe_stack_ptr")) {
            Found::by(Detection::Symbol)
        } else if dynsym.iter().any(|s| s.starts_with("__safestack")) {
            Found::by(Detection::DynamicSymbol)
        } else if symtab.is_empty()
            && loaded_data(&elf, bytes).any(|d| contains(budget.take(d), cfi::SAFESTACK_RUNTIME_STRING))
        {
            Found::by(Detection::Pattern)
        } else {
            Found::absent()
        };
    let cfi = if has_cfi_symbols(&symtab) {
        Found::by(Detection::Symbol)
    } else if dynsym.iter().any(|s| CFI_DYNAMIC_SYMBOLS.contains(s)) {
        Found::by(Detection::DynamicSymbol)
    } else if symtab.is_empty() && x86 && code().any(|(code, addr)| cfi::has_jump_table(code, addr)) {
        Found::by(Detection::Pattern)
    } else {
        Found::absent()
    };

    let facts = notes::read(&elf, bytes, &budget);
    let section = |name: &str| elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name));
    let language = if facts.go_build_id || section(".go.buildinfo").is_some() || symtab.contains(&"runtime.main") {
        Language::Go
    } else if all_symbols()
        .any(|s| s.contains("rust_begin_unwind") || s.starts_with("__rust_") || s.starts_with("_ZN3std"))
        || section(".comment")
            .and_then(|s| file_range(bytes, s.sh_offset, s.sh_size))
            .is_some_and(|c| contains(budget.take(c), b"rustc version"))
    {
        Language::Rust
    } else {
        Language::C
    };

    Ok(Report {
        arch,
        class: if elf.is_64 { 64 } else { 32 },
        elf_type: type_name(elf_type).to_owned(),
        relro,
        canary,
        nx,
        pie,
        linking,
        rpath: split_paths(&elf.rpaths),
        runpath: split_paths(&elf.runpaths),
        needed,
        soname: elf.soname.map(str::to_owned),
        dlopen,
        symbols: symtab.len(),
        dynamic_symbols: dynsym.len(),
        stripped: elf.syms.is_empty(),
        fortify,
        safestack,
        cfi,
        cet: if x86 { facts.cet } else { Cet::default() },
        package_note: facts.package,
        language,
    })
}

/// checksec.sh's rule, and clang's naming: a function `f` with CFI has a jump-table entry `f`
/// and a body `f.cfi` (LTO), or a `f.cfi_jt` entry (cross-DSO and ThinLTO).
fn has_cfi_symbols(symtab: &[&str]) -> bool {
    let names: std::collections::HashSet<&str> = symtab.iter().copied().collect();
    symtab.iter().any(|s| s.ends_with(".cfi_jt") || s.strip_suffix(".cfi").is_some_and(|f| names.contains(f)))
}

/// Executable bytes with their virtual addresses: sections, or PT_LOAD segments without them.
fn executable_code<'a>(elf: &'a Elf<'a>, bytes: &'a [u8]) -> impl Iterator<Item = (&'a [u8], u64)> + 'a {
    let slice = |offset: u64, size: u64| file_range(bytes, offset, size);
    let sections = elf
        .section_headers
        .iter()
        .filter(|s| s.sh_flags & u64::from(SHF_EXECINSTR) != 0 && s.sh_type != goblin::elf::section_header::SHT_NOBITS)
        .filter_map(move |s| Some((slice(s.sh_offset, s.sh_size)?, s.sh_addr)));
    let segments = elf
        .program_headers
        .iter()
        .filter(|p| {
            elf.section_headers.is_empty() && p.p_type == goblin::elf::program_header::PT_LOAD && p.p_flags & PF_X != 0
        })
        .filter_map(move |p| Some((slice(p.p_offset, p.p_filesz)?, p.p_vaddr)));
    sections.chain(segments)
}

/// The bytes a loader maps: allocated sections with file contents, or PT_LOAD segments without
/// section headers. Where the SafeStack runtime's message can be; the rest of a file (a 50 GB
/// sparse tail) is never searched.
fn loaded_data<'a>(elf: &'a Elf<'a>, bytes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    use goblin::elf::section_header::{SHF_ALLOC, SHT_NOBITS};
    let sections = elf
        .section_headers
        .iter()
        .filter(|s| s.sh_flags & u64::from(SHF_ALLOC) != 0 && s.sh_type != SHT_NOBITS)
        .filter_map(move |s| file_range(bytes, s.sh_offset, s.sh_size));
    let segments = elf
        .program_headers
        .iter()
        .filter(|p| elf.section_headers.is_empty() && p.p_type == goblin::elf::program_header::PT_LOAD)
        .filter_map(move |p| file_range(bytes, p.p_offset, p.p_filesz));
    sections.chain(segments)
}

/// `bytes[offset..offset + size]`, or None when the range overflows or lies outside the file
/// (header fields of hostile files say anything).
fn file_range(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    bytes.get(usize::try_from(offset).ok()?..usize::try_from(offset.checked_add(size)?).ok()?)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn split_paths(entries: &[&str]) -> Vec<String> {
    entries.iter().flat_map(|e| e.split(':')).map(str::to_owned).collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn type_name(t: u16) -> &'static str {
    match t {
        ET_REL => "rel",
        ET_EXEC => "exec",
        ET_DYN => "dyn",
        goblin::elf::header::ET_CORE => "core",
        _ => "unknown",
    }
}

fn arch_name(machine: u16) -> &'static str {
    use goblin::elf::header as h;
    match machine {
        h::EM_X86_64 => "x86_64",
        h::EM_386 => "x86",
        h::EM_AARCH64 => "aarch64",
        h::EM_ARM => "arm",
        h::EM_RISCV => "riscv64",
        h::EM_PPC64 => "ppc64",
        h::EM_PPC => "ppc",
        h::EM_S390 => "s390x",
        h::EM_MIPS => "mips",
        h::EM_LOONGARCH => "loongarch64",
        _ => "unknown",
    }
}

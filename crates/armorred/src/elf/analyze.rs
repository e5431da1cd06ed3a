//! One ELF file in, one [`Report`] out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use goblin::elf::dynamic::{DF_1_NOW, DF_1_PIE, DF_BIND_NOW, DT_BIND_NOW, DT_DEBUG};
use goblin::elf::header::{ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PF_X, PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP};
use goblin::elf::section_header::SHF_EXECINSTR;
use goblin::elf::Elf;

use super::fortify::FortifyReference;
use super::{cfi, notes, Cet, Detection, ElfError, Fortify, Found, Language, Linking, Pie, Relro, Report};

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
            let path = root.join(dir).join(name);
            if let Some(found) = self.load(&path) {
                return found;
            }
        }
        Arc::new(FortifyReference::builtin())
    }

    fn load(&self, path: &Path) -> Option<Arc<FortifyReference>> {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let bytes = std::fs::read(path).ok()?;
                let elf = Elf::parse(&bytes).ok()?;
                FortifyReference::from_libc(&elf, &path.to_string_lossy()).map(Arc::new)
            })
            .clone()
    }
}

/// Analyses one ELF image held in memory.
pub fn analyze(bytes: &[u8], libs: &LibcResolver) -> Result<Report, ElfError> {
    if !is_elf(bytes) {
        return Err(ElfError::NotElf);
    }
    // goblin is well fuzzed, but a panic on one hostile file must not take a scan down.
    match std::panic::catch_unwind(|| analyze_parsed(bytes, libs)) {
        Ok(result) => result,
        Err(_) => Err(ElfError::Malformed { reason: "the ELF parser failed on this file".into() }),
    }
}

fn analyze_parsed(bytes: &[u8], libs: &LibcResolver) -> Result<Report, ElfError> {
    let elf = Elf::parse(bytes).map_err(|e| ElfError::Malformed { reason: one_line(&e.to_string()) })?;
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
    let reference = libs.reference(&arch, &needed);
    let checksec_counts = reference.classify(dynsym.iter().copied());
    let lists = if matches!(linking, Linking::Static | Linking::StaticPie) && !symtab.is_empty() {
        reference.classify(all_symbols())
    } else {
        reference.classify(dynsym.iter().copied())
    };
    let fortify = Fortify {
        fortified: lists.fortified.into_iter().collect(),
        fortifiable: lists.fortifiable.into_iter().collect(),
        fortified_count: checksec_counts.checked,
        fortifiable_count: checksec_counts.checked + checksec_counts.unchecked,
        reference: reference.origin().to_owned(),
    };

    let x86 = matches!(arch.as_str(), "x86_64" | "x86");
    let code = || executable_code(&elf, bytes);
    let safestack =
        if symtab.iter().any(|s| s.contains("__safestack_init") || s.starts_with("__safestack_unsafe_stack_ptr")) {
            Found::by(Detection::Symbol)
        } else if dynsym.iter().any(|s| s.starts_with("__safestack")) {
            Found::by(Detection::DynamicSymbol)
        } else if symtab.is_empty() && contains(bytes, cfi::SAFESTACK_RUNTIME_STRING) {
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

    let facts = notes::read(&elf, bytes);
    let section = |name: &str| elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name));
    let language = if facts.go_build_id || section(".go.buildinfo").is_some() || symtab.contains(&"runtime.main") {
        Language::Go
    } else if all_symbols()
        .any(|s| s.contains("rust_begin_unwind") || s.starts_with("__rust_") || s.starts_with("_ZN3std"))
        || section(".comment")
            .and_then(|s| file_range(bytes, s.sh_offset, s.sh_size))
            .is_some_and(|c| contains(c, b"rustc version"))
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

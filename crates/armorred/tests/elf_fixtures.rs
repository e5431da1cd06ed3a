//! checksec on binaries compiled at test time: one row per hardening property and combination.
//! Every flag is pinned so that compiler and distribution defaults cannot change the outcome.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use armorred::elf::{analyze, Detection, Language, LibcResolver, Linking, Pie, Relro, Report};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/elf").join(name)
}

const NONE: &[&str] = &[
    "-O0",
    "-fno-stack-protector",
    "-no-pie",
    "-fno-pie",
    "-Wl,-z,norelro",
    "-Wl,-z,lazy",
    "-U_FORTIFY_SOURCE",
    "-D_FORTIFY_SOURCE=0",
    "-fcf-protection=none",
    "-Wl,-z,noexecstack",
];

fn compile(dir: &Path, cc: &str, src: &str, flags: &[&str], out: &str) -> PathBuf {
    let path = dir.join(out);
    let status = Command::new(cc).args(flags).arg(fixture(src)).arg("-o").arg(&path).status().expect("run compiler");
    assert!(status.success(), "{cc} {flags:?} {src} failed");
    path
}

fn strip(path: &Path) -> PathBuf {
    let out = path.with_extension("stripped");
    let status = Command::new("strip").arg("--strip-all").arg(path).arg("-o").arg(&out).status().expect("run strip");
    assert!(status.success());
    out
}

fn report(path: &Path) -> Report {
    let bytes = std::fs::read(path).expect("read binary");
    analyze(&bytes, &LibcResolver::new("/")).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The properties a case pins down, compared as one value so a failure shows every difference.
#[derive(Debug, PartialEq)]
struct Expect {
    relro: Relro,
    canary: bool,
    nx: bool,
    pie: Pie,
    linking: Linking,
    rpath: Vec<&'static str>,
    runpath: Vec<&'static str>,
    stripped: bool,
    fortified: Vec<&'static str>,
    fortifiable: Vec<&'static str>,
    safestack: Option<Detection>,
    cfi: Option<Detection>,
    cet: (bool, bool),
    package_note: Option<&'static str>,
    language: Language,
}

impl Expect {
    fn of(r: &Report) -> Self {
        let leak = |v: &[String]| v.iter().map(|s| &*Box::leak(s.clone().into_boxed_str())).collect();
        Self {
            relro: r.relro,
            canary: r.canary,
            nx: r.nx,
            pie: r.pie,
            linking: r.linking,
            rpath: leak(&r.rpath),
            runpath: leak(&r.runpath),
            stripped: r.stripped,
            fortified: leak(&r.fortify.fortified),
            fortifiable: leak(&r.fortify.fortifiable),
            safestack: r.safestack.detection,
            cfi: r.cfi.detection,
            cet: (r.cet.ibt, r.cet.shstk),
            package_note: r.package_note.as_ref().map(|v| &*Box::leak(v.to_string().into_boxed_str())),
            language: r.language,
        }
    }

    /// The report of the plain program built with [`NONE`].
    fn none() -> Self {
        Self {
            relro: Relro::No,
            canary: false,
            nx: true,
            pie: Pie::No,
            linking: Linking::Dynamic,
            rpath: vec![],
            runpath: vec![],
            stripped: false,
            fortified: vec![],
            fortifiable: vec!["printf", "strcpy"],
            safestack: None,
            cfi: None,
            cet: (false, false),
            package_note: None,
            language: Language::C,
        }
    }
}

struct Case {
    name: &'static str,
    flags: &'static [&'static str],
    expect: fn() -> Expect,
}

fn with(f: impl FnOnce(&mut Expect)) -> Expect {
    let mut e = Expect::none();
    f(&mut e);
    e
}

const GCC_CASES: &[Case] = &[
    Case { name: "none", flags: &[], expect: Expect::none },
    Case { name: "canary", flags: &["-fstack-protector-all"], expect: || with(|e| e.canary = true) },
    Case { name: "relro-partial", flags: &["-Wl,-z,relro"], expect: || with(|e| e.relro = Relro::Partial) },
    Case { name: "relro-full", flags: &["-Wl,-z,relro,-z,now"], expect: || with(|e| e.relro = Relro::Full) },
    Case { name: "pie", flags: &["-fPIE", "-pie"], expect: || with(|e| e.pie = Pie::Yes) },
    Case {
        name: "fortify",
        flags: &["-O2", "-D_FORTIFY_SOURCE=2"],
        expect: || {
            with(|e| {
                e.fortified = vec!["printf", "strcpy"];
                e.fortifiable = vec![];
            })
        },
    },
    Case { name: "execstack", flags: &["-Wl,-z,execstack"], expect: || with(|e| e.nx = false) },
    Case {
        name: "cet",
        flags: &["-fcf-protection=full", "-Wl,-z,ibt,-z,shstk"],
        expect: || with(|e| e.cet = (true, true)),
    },
    Case {
        name: "cet-ibt-only",
        flags: &["-fcf-protection=branch", "-Wl,-z,ibt"],
        expect: || with(|e| e.cet = (true, false)),
    },
    Case {
        name: "rpath",
        flags: &["-Wl,--disable-new-dtags,-rpath,/opt/armorred-test:$ORIGIN/../lib"],
        expect: || with(|e| e.rpath = vec!["/opt/armorred-test", "$ORIGIN/../lib"]),
    },
    Case {
        name: "runpath",
        flags: &["-Wl,--enable-new-dtags,-rpath,/opt/armorred-test"],
        expect: || with(|e| e.runpath = vec!["/opt/armorred-test"]),
    },
    Case {
        name: "package-note",
        flags: &["-Xlinker", r#"--package-metadata={"type":"deb","name":"plain","version":"1.0-1"}"#],
        expect: || with(|e| e.package_note = Some(r#"{"type":"deb","name":"plain","version":"1.0-1"}"#)),
    },
    Case {
        name: "all",
        flags: &[
            "-O2",
            "-fstack-protector-strong",
            "-fPIE",
            "-pie",
            "-Wl,-z,relro,-z,now",
            "-D_FORTIFY_SOURCE=2",
            "-fcf-protection=full",
            "-Wl,-z,ibt,-z,shstk",
            "-fstack-clash-protection",
        ],
        expect: || Expect {
            relro: Relro::Full,
            canary: true,
            pie: Pie::Yes,
            fortified: vec!["printf", "strcpy"],
            fortifiable: vec![],
            cet: (true, true),
            ..Expect::none()
        },
    },
];

#[test]
fn gcc_properties_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for case in GCC_CASES {
        let flags: Vec<&str> = NONE.iter().chain(case.flags).copied().collect();
        let bin = compile(dir.path(), "gcc", "plain.c", &flags, case.name);
        let got = Expect::of(&report(&bin));
        let want = (case.expect)();
        if got != want {
            failures.push(format!("{}:\n  want {want:?}\n  got  {got:?}", case.name));
        }
        // Stripping changes only the symbol facts (and nothing the dynamic table carries).
        let got = Expect::of(&report(&strip(&bin)));
        let want = Expect { stripped: true, ..(case.expect)() };
        if got != want {
            failures.push(format!("{} stripped:\n  want {want:?}\n  got  {got:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn gcc_static_shared_and_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&compile(dir.path(), "gcc", "plain.c", &["-O2", "-static"], "static"));
    assert_eq!((r.linking, r.pie, r.relro), (Linking::Static, Pie::No, Relro::Partial));
    assert!(r.needed.is_empty());

    let r = report(&compile(dir.path(), "gcc", "plain.c", &["-O2", "-static-pie", "-Wl,-z,now"], "static-pie"));
    assert_eq!((r.linking, r.pie, r.relro), (Linking::StaticPie, Pie::Yes, Relro::Full));

    let r =
        report(&compile(dir.path(), "gcc", "plain.c", &["-O2", "-shared", "-fPIC", "-Wl,-z,relro,-z,now"], "lib.so"));
    assert_eq!((r.linking, r.pie, r.relro), (Linking::Dynamic, Pie::Dso, Relro::Full));

    let r = report(&compile(dir.path(), "gcc", "plain.c", &["-O2", "-c"], "plain.o"));
    assert_eq!((r.linking, r.pie, r.elf_type.as_str()), (Linking::Unlinked, Pie::Rel, "rel"));
}

/// clang-14 hardening flags without CET: clang 14 lays out CFI jump tables wrongly under
/// `-fcf-protection` (see `CLANG_CET`), so run-time CFI tests leave CET out.
const CLANG_NO_CET: &[&str] = &[
    "-O2",
    "-fstack-protector-strong",
    "-fPIE",
    "-pie",
    "-fuse-ld=lld-14",
    "-Wl,-z,relro,-z,now",
    "-D_FORTIFY_SOURCE=2",
];

const CLANG_HARDENED: &[&str] = &[
    "-O2",
    "-fstack-protector-strong",
    "-fPIE",
    "-pie",
    "-fuse-ld=lld-14",
    "-Wl,-z,relro,-z,now",
    "-D_FORTIFY_SOURCE=2",
    "-fcf-protection=full",
    "-Wl,-z,force-ibt,-z,shstk",
];

#[test]
fn clang_safestack_with_and_without_symbols() {
    if !support::tool("clang-14") {
        return;
    }
    let clang = "clang-14";
    let dir = tempfile::tempdir().expect("tempdir");
    let flags: Vec<&str> = CLANG_HARDENED.iter().copied().chain(["-fsanitize=safe-stack"]).collect();
    let bin = compile(dir.path(), clang, "safestack.c", &flags, "safestack");
    let r = report(&bin);
    assert_eq!(r.safestack.detection, Some(Detection::Symbol));
    assert_eq!(
        (r.relro, r.canary, r.nx, r.pie, r.cet.ibt, r.cet.shstk),
        (Relro::Full, true, true, Pie::Yes, true, true)
    );
    assert_eq!(r.cfi.detection, None);
    let r = report(&strip(&bin));
    // The runtime's TLS pointer is exported, so the dynamic symbol table still shows it.
    assert_eq!(r.safestack.detection, Some(Detection::DynamicSymbol), "SafeStack in a stripped binary");
    assert_eq!(r.cfi.detection, None);

    let plain = report(&compile(dir.path(), clang, "safestack.c", CLANG_HARDENED, "no-safestack"));
    assert_eq!(plain.safestack.detection, None);
    assert_eq!(report(&strip(&dir.path().join("no-safestack"))).safestack.detection, None);
}

#[test]
fn clang_cfi_with_and_without_symbols() {
    if !support::tool("clang-14") {
        return;
    }
    let clang = "clang-14";
    let dir = tempfile::tempdir().expect("tempdir");
    let cfi: Vec<&str> =
        CLANG_NO_CET.iter().copied().chain(["-flto", "-fvisibility=hidden", "-fsanitize=cfi"]).collect();
    let bin = compile(dir.path(), clang, "cfi.c", &cfi, "cfi");
    assert_eq!(report(&bin).cfi.detection, Some(Detection::Symbol));
    assert_eq!(report(&strip(&bin)).cfi.detection, Some(Detection::Pattern), "jump table in a stripped binary");
    assert!(Command::new(&bin).status().expect("run").success(), "well-typed indirect calls pass the checks");

    // With CET, clang 14 prefixes each 8-byte entry with endbr64: still found when stripped.
    let cet: Vec<&str> =
        CLANG_HARDENED.iter().copied().chain(["-flto", "-fvisibility=hidden", "-fsanitize=cfi"]).collect();
    let bin = compile(dir.path(), clang, "cfi.c", &cet, "cfi-cet");
    let r = report(&strip(&bin));
    assert_eq!((r.cfi.detection, r.cet.ibt, r.cet.shstk), (Some(Detection::Pattern), true, true));

    // Cross-DSO CFI leaves __cfi_check in the dynamic symbol table, which survives stripping.
    let cross: Vec<&str> = cfi.iter().copied().chain(["-fsanitize-cfi-cross-dso"]).collect();
    let bin = compile(dir.path(), clang, "cfi.c", &cross, "cfi-cross-dso");
    assert_eq!(report(&strip(&bin)).cfi.detection, Some(Detection::DynamicSymbol));

    // The same program without CFI, stripped: no false positive from clang's int3 padding.
    let lto: Vec<&str> = CLANG_HARDENED.iter().copied().chain(["-flto"]).collect();
    let bin = compile(dir.path(), clang, "cfi.c", &lto, "no-cfi");
    assert_eq!(report(&bin).cfi.detection, None);
    assert_eq!(report(&strip(&bin)).cfi.detection, None);
}

#[test]
fn protections_fire_at_run_time() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = compile(dir.path(), "gcc", "fortify_overflow.c", &["-O2", "-D_FORTIFY_SOURCE=2"], "overflow");
    let out = Command::new(&bin).output().expect("run");
    assert_eq!(out.status.signal(), Some(6), "FORTIFY aborts: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("buffer overflow detected"));

    if !support::tool("clang-14") {
        return;
    }
    let clang = "clang-14";
    let cfi: Vec<&str> =
        CLANG_NO_CET.iter().copied().chain(["-flto", "-fvisibility=hidden", "-fsanitize=cfi"]).collect();
    let bin = compile(dir.path(), clang, "cfi_violation.c", &cfi, "violation");
    assert_eq!(Command::new(&bin).output().expect("run").status.signal(), Some(4), "CFI traps with SIGILL");
    assert_eq!(report(&bin).cfi.detection, Some(Detection::Symbol));
}

/// Inputs on which the fuzzer found a crash: each gives a report or an ordinary error. A panic
/// would surface as the `catch_unwind` guard's error (tests build with overflow checks on).
#[test]
fn fuzz_regressions() {
    for entry in std::fs::read_dir(fixture("fuzz")).expect("fuzz fixtures") {
        let path = entry.expect("entry").path();
        let result = analyze(&std::fs::read(&path).expect("read"), &LibcResolver::builtin());
        if let Err(e) = result {
            assert!(!e.to_string().contains("parser failed"), "{} panics: {e}", path.display());
        }
    }
}

#[test]
fn broken_and_foreign_inputs_are_errors_not_panics() {
    let libs = LibcResolver::builtin();
    assert!(matches!(analyze(b"#!/bin/sh\n", &libs), Err(armorred::elf::ElfError::NotElf)));
    let good = std::fs::read("/bin/true").expect("read /bin/true");
    for cut in [4, 16, 63, 64, 200, good.len() / 2] {
        // Truncated files may still parse (headers intact) or fail: never panic.
        let _ = analyze(&good[..cut], &libs);
    }
    let err = analyze(&good[..20], &libs).expect_err("truncated header");
    assert!(err.to_string().starts_with("malformed ELF file:"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

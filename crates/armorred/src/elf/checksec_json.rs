//! checksec.sh's JSON shape (`checksec --output=json`), plus ARMORRED's extra keys.
//!
//! Values are strings as checksec.sh writes them (`"yes"`, `"no"`, counts as strings), so that
//! consumers of `checksec --output=json` keep working. Extra keys come after checksec's own.

use serde_json::{json, Map, Value};

use super::policy::relro_word;
use super::{Pie, Report, ScanReport};

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// One file's object. `extended` adds checksec.sh's `--extended` keys (`clangcfi`, `safestack`).
pub fn file_object(r: &Report, extended: bool) -> Value {
    let mut m = Map::new();
    m.insert("relro".into(), relro_word(r.relro).into());
    m.insert("canary".into(), yes(r.canary).into());
    m.insert("nx".into(), yes(r.nx).into());
    let pie = match r.pie {
        Pie::Yes => "yes",
        Pie::No => "no",
        Pie::Dso => "dso",
        Pie::Rel => "rel",
    };
    m.insert("pie".into(), pie.into());
    if extended {
        m.insert("clangcfi".into(), yes(r.cfi.present).into());
        m.insert("safestack".into(), yes(r.safestack.present).into());
    }
    m.insert("rpath".into(), yes(!r.rpath.is_empty()).into());
    m.insert("runpath".into(), yes(!r.runpath.is_empty()).into());
    m.insert("symbols".into(), yes(!r.stripped).into());
    m.insert("fortify_source".into(), yes(r.fortify.enabled()).into());
    m.insert("fortified".into(), r.fortify.fortified_count.to_string().into());
    m.insert("fortify-able".into(), r.fortify.fortifiable_count.to_string().into());
    // ARMORRED's own keys.
    let extra = json!({
        "rpath_values": r.rpath,
        "runpath_values": r.runpath,
        "cet_ibt": yes(r.cet.ibt),
        "cet_shstk": yes(r.cet.shstk),
        "cfi_detection": r.cfi.detection,
        "safestack_detection": r.safestack.detection,
        "static": yes(matches!(r.linking, super::Linking::Static | super::Linking::StaticPie)),
        "linking": r.linking,
        "stripped": yes(r.stripped),
        "symbols_count": r.symbols,
        "dynamic_symbols_count": r.dynamic_symbols,
        "fortified_functions": r.fortify.fortified,
        "fortifiable_functions": r.fortify.fortifiable,
        "fortify_reference": r.fortify.reference,
        "package_note": r.package_note,
        "arch": r.arch,
        "class": format!("ELF{}", r.class),
        "type": r.elf_type,
        "language": r.language,
        "needed": r.needed,
        "soname": r.soname,
        "dlopen": yes(r.dlopen),
    });
    if let Value::Object(extra) = extra {
        m.extend(extra);
    }
    Value::Object(m)
}

/// The whole scan: an object keyed by path. Files that could not be analysed get `{"error": ...}`.
pub fn scan_object(scan: &ScanReport, extended: bool) -> Value {
    let map: Map<String, Value> = scan
        .entries
        .iter()
        .map(|(path, entry)| {
            let value = match entry {
                Ok(r) => file_object(r, extended),
                Err(e) => json!({ "error": e.to_string() }),
            };
            (path.to_string_lossy().into_owned(), value)
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{Cet, Detection, Fortify, Found, Language, Linking, Relro};

    fn report() -> Report {
        Report {
            arch: "x86_64".into(),
            class: 64,
            elf_type: "dyn".into(),
            relro: Relro::Full,
            canary: true,
            nx: true,
            pie: Pie::Yes,
            linking: Linking::Dynamic,
            rpath: vec![],
            runpath: vec!["$ORIGIN/../lib".into()],
            needed: vec!["libc.so.6".into()],
            soname: None,
            dlopen: false,
            symbols: 0,
            dynamic_symbols: 42,
            stripped: true,
            fortify: Fortify {
                fortified: vec!["memcpy".into()],
                fortifiable: vec!["strcpy".into()],
                fortified_count: 1,
                fortifiable_count: 2,
                reference: "/lib/x86_64-linux-gnu/libc.so.6".into(),
            },
            safestack: Found::by(Detection::DynamicSymbol),
            cfi: Found::by(Detection::Pattern),
            cet: Cet { ibt: true, shstk: false },
            package_note: Some(json!({"type": "deb", "name": "nginx", "version": "1.26.3"})),
            language: Language::C,
        }
    }

    #[test]
    fn file_object_golden() {
        insta::assert_json_snapshot!("extended", file_object(&report(), true));
        let plain = file_object(&report(), false);
        assert!(plain.get("clangcfi").is_none() && plain.get("safestack").is_none());
    }
}

//! The registry is the one place a cataloger is named: what the writers, the scan report and
//! the docs say of each cataloger comes from it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{all, by_name, metadata_type, PackageType, CATALOGERS, MODULES};

/// The catalogers syft has, with the `metadataType` syft gives what each finds (syft's
/// `syft/pkg/cataloger/*/cataloger.go` and `syft/format/internal/cyclonedxutil/helpers`).
const SYFT: [(&str, &str); 10] = [
    ("dpkg-db-cataloger", "dpkg-db-entry"),
    ("apk-db-cataloger", "apk-db-entry"),
    ("rpm-db-cataloger", "rpm-db-entry"),
    ("python-installed-package-cataloger", "python-package"),
    ("javascript-package-cataloger", "javascript-npm-package"),
    ("java-archive-cataloger", "java-archive"),
    ("go-module-binary-cataloger", "go-module-buildinfo-entry"),
    ("cargo-auditable-binary-cataloger", "rust-cargo-audit-entry"),
    ("elf-binary-package-cataloger", "elf-binary-package-note-json-payload"),
    ("binary-classifier-cataloger", "binary-signature"),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn names_are_unique_and_found_by_name() {
    assert_eq!(all().len(), MODULES.len());
    let names: BTreeSet<&str> = all().iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), all().len(), "two catalogers share a name");
    for c in all() {
        assert!(by_name(c.name()).is_some_and(|b| b.name() == c.name()));
        let types: BTreeSet<PackageType> = c.package_types().iter().copied().collect();
        assert_eq!(types.len(), c.package_types().len(), "{}: a type twice", c.name());
    }
    assert!(by_name("no-such-cataloger").is_none());
}

/// The CycloneDX writer and the scan report take `metadataType` from the registry: it gives
/// exactly syft's mapping, and nothing for a name that is not registered.
#[test]
fn the_registry_drives_the_metadata_type() {
    let derived: Vec<(&str, &str)> =
        CATALOGERS.iter().filter_map(|c| Some((c.name(), metadata_type(c.name())?))).collect();
    let mut want = SYFT.to_vec();
    let mut got = derived.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(metadata_type("os-release"), None);
    assert_eq!(metadata_type(""), None);
    // A cataloger that finds packages says what syft calls their metadata.
    for c in all().iter().filter(|c| !c.package_types().is_empty()) {
        assert!(c.metadata_type().is_some(), "{} finds packages but has no metadataType", c.name());
    }
}

/// Every registered cataloger's file has a table test, and the module-tree reader of the
/// import-graph tests sees its module (the registry macro keeps the `mod` lines readable).
#[test]
fn every_cataloger_has_its_file_and_a_table_test() {
    let dir = src().join("sbom/catalog");
    let seen = crate::module_graph::read_module(&dir.join("mod.rs"), Vec::new()).children;
    for (c, module) in CATALOGERS.iter().zip(MODULES) {
        let file = dir.join(format!("{module}.rs"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains("#[cfg(test)]") && text.contains("fn table()"), "{}: no table test", file.display());
        assert!(text.contains(&format!("\"{}\"", c.name())), "{}: does not name {}", file.display(), c.name());
        assert!(seen.contains(*module), "the module-tree reader does not see `{module}`: {seen:?}");
    }
}

/// docs/sbom.md lists exactly the catalogers that find packages, each with its main type.
#[test]
fn the_docs_list_every_cataloger() {
    let path = src().join("../../../docs/sbom.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("| `") && l.contains("-cataloger`"))
        .map(|l| l.split(" | ").map(|c| c.trim_matches(['|', ' '])).collect())
        .collect();
    let listed: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
    let registered: Vec<&str> = all().iter().filter(|c| !c.package_types().is_empty()).map(|c| c.name()).collect();
    assert_eq!(listed.iter().copied().collect::<BTreeSet<_>>(), registered.iter().copied().collect());
    for row in &rows {
        let Some(c) = by_name(row[0].trim_matches('`')) else { continue };
        let main = c.package_types()[0];
        assert_eq!(row.get(2).copied(), Some(format!("`{main}`").as_str()), "docs/sbom.md row of {}", c.name());
    }
}

/// DEVELOPING.md's example of adding a cataloger is the code as it is: the new file is npm.rs
/// byte for byte, and each hunk's lines (context and added) stand together in its file.
#[test]
fn the_developing_example_is_the_code() {
    let root = src().join("../../..");
    let text = std::fs::read_to_string(root.join("DEVELOPING.md")).expect("DEVELOPING.md");
    let start = text.find("## Adding a cataloger").expect("cataloger section");
    let block = &text[start..];
    let block = &block[block.find("```diff\n").expect("diff block") + 8..];
    let block = &block[..block.find("\n```").expect("end of the diff block") + 1];
    let mut files = 0;
    for part in block.split("diff --git a/").skip(1) {
        let path = part.split_whitespace().next().expect("path");
        let body = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let lines: Vec<&str> = part.lines().collect();
        let mut hunks: Vec<Vec<&str>> = Vec::new();
        for l in &lines {
            if l.starts_with("@@") {
                hunks.push(Vec::new());
            } else if let Some(h) = hunks.last_mut() {
                h.push(l.get(1..).unwrap_or(""));
            }
        }
        if part.contains("\nnew file mode") {
            assert_eq!(hunks.len(), 1, "{path}");
            assert_eq!(hunks[0].join("\n") + "\n", body, "DEVELOPING.md's {path} is not the file");
        } else {
            for h in &hunks {
                assert!(
                    body.contains(&(h.join("\n") + "\n")),
                    "DEVELOPING.md's hunk is not in {path}:\n{}",
                    h.join("\n")
                );
            }
        }
        files += 1;
    }
    assert_eq!(files, 3, "the example shows the registry line, the docs row and the new file");
}

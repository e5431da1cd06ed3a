//! The `.note.package` ELF note (systemd's package-metadata spec, owner `FDO`, type
//! `0xcafe1a7e`) that names the package in every built ELF file, so that scanners identify
//! source-built binaries.
//!
//! lld 14 has no `--package-metadata` (added in lld 15), so the note is an assembled object
//! linked into every executable and shared object through `LDFLAGS`. The object also carries an
//! x86 `.note.gnu.property` with IBT and SHSTK, so that it does not clear the CET marking of the
//! output (lld keeps a feature only when every input has it).

use serde::{Deserialize, Serialize};

use super::recipe::Package;

/// The JSON payload of the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageNote {
    /// How the package was made (`source`: built from source by ARMORRED).
    #[serde(rename = "type")]
    pub kind: String,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Architecture (Debian name).
    pub architecture: String,
    /// CPE 2.3.
    pub cpe: String,
    /// Package URL.
    pub purl: String,
    /// SPDX license, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The Debian source package the build is, when it is one (`nginx`).
    #[serde(rename = "debianSource", skip_serializing_if = "Option::is_none")]
    pub debian_source: Option<String>,
    /// Its version (`1.26.3-3+deb13u7`).
    #[serde(rename = "debianSourceVersion", skip_serializing_if = "Option::is_none")]
    pub debian_source_version: Option<String>,
}

impl PackageNote {
    /// The note for `package` built for x86-64.
    pub fn for_package(package: &Package) -> Self {
        Self {
            kind: "source".into(),
            name: package.name.clone(),
            version: package.version.clone(),
            architecture: "amd64".into(),
            cpe: package.cpe.clone(),
            purl: package.purl(),
            license: package.license.clone(),
            debian_source: package.debian_source.as_ref().map(|d| d.package.clone()),
            debian_source_version: package.debian_source.as_ref().map(|d| d.version.clone()),
        }
    }

    /// The note's JSON, compact.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// GNU assembler source of an object holding the package note and the CET property note.
    pub fn assembly(&self) -> String {
        let escaped: String = self
            .json()
            .chars()
            .flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                c => vec![c],
            })
            .collect();
        format!(
            "\t.section .note.package,\"a\",@note\n\
             \t.p2align 2\n\
             \t.long 4\n\
             \t.long 2f - 1f\n\
             \t.long 0xcafe1a7e\n\
             \t.asciz \"FDO\"\n\
             1:\t.asciz \"{escaped}\"\n\
             \t.p2align 2\n\
             2:\n\
             \t.section .note.gnu.property,\"a\",@note\n\
             \t.p2align 3\n\
             \t.long 4\n\
             \t.long 16\n\
             \t.long 5\n\
             \t.asciz \"GNU\"\n\
             \t.long 0xc0000002\n\
             \t.long 4\n\
             \t.long 3\n\
             \t.p2align 3\n\
             \t.section .note.GNU-stack,\"\",@progbits\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembly_escapes_json_quotes() {
        let note = PackageNote {
            kind: "source".into(),
            name: "n\"x".into(),
            version: "1".into(),
            architecture: "amd64".into(),
            cpe: "cpe:2.3:a:x:n:1:*:*:*:*:*:*:*".into(),
            purl: "pkg:generic/n@1".into(),
            license: None,
            debian_source: None,
            debian_source_version: None,
        };
        let asm = note.assembly();
        assert!(asm.contains(r#"1:	.asciz "{\"type\":\"source\",\"name\":\"n\\\"x\""#));
        assert!(asm.contains(".long 0xcafe1a7e"));
    }
}

//! ELF notes: x86 CET feature bits from `.note.gnu.property`, and systemd package notes
//! (`.note.package`, owner `FDO`, type `0xcafe1a7e`).

use goblin::elf::note::{Note, NoteDataIterator};
use goblin::elf::program_header::PT_NOTE;
use goblin::elf::section_header::SHT_NOTE;
use goblin::elf::Elf;

use super::analyze::Budget;
use super::{Cet, ElfLimits};

const NT_GNU_PROPERTY_TYPE_0: u32 = 5;
const GNU_PROPERTY_X86_FEATURE_1_AND: u32 = 0xc000_0002;
const NT_FDO_PACKAGING_METADATA: u32 = 0xcafe_1a7e;
const NT_GO_BUILDID: u32 = 4;

/// What the notes of a file say.
#[derive(Debug, Default)]
pub(crate) struct NoteFacts {
    pub(crate) cet: Cet,
    pub(crate) package: Option<serde_json::Value>,
    pub(crate) go_build_id: bool,
}

/// Reads every note in the file, within `budget`.
pub(crate) fn read(elf: &Elf<'_>, bytes: &[u8], budget: &Budget) -> NoteFacts {
    let mut facts = NoteFacts::default();
    for_each_note(elf, bytes, budget, |note| match (note.name, note.n_type) {
        ("GNU", NT_GNU_PROPERTY_TYPE_0) => facts.cet = cet(note.desc, elf.is_64, elf.little_endian),
        ("FDO", NT_FDO_PACKAGING_METADATA) if facts.package.is_none() => {
            facts.package = serde_json::from_slice(package_json(note.desc)).ok();
        }
        ("Go", NT_GO_BUILDID) => facts.go_build_id = true,
        _ => {}
    });
    facts
}

/// Visits every note: from note sections when the file has section headers, else from PT_NOTE
/// segments. At most `budget` bytes of notes are read (hostile headers can point every note
/// section at the same huge range).
fn for_each_note(elf: &Elf<'_>, bytes: &[u8], budget: &Budget, mut visit: impl FnMut(Note<'_>)) {
    let mut ranges: Vec<(u64, u64, u64)> = elf
        .section_headers
        .iter()
        .filter(|s| s.sh_type == SHT_NOTE)
        .map(|s| (s.sh_offset, s.sh_size, s.sh_addralign))
        .collect();
    if ranges.is_empty() {
        ranges = elf
            .program_headers
            .iter()
            .filter(|p| p.p_type == PT_NOTE)
            .map(|p| (p.p_offset, p.p_filesz, p.p_align))
            .collect();
    }
    use goblin::container::{Container, Ctx, Endian};
    let ctx = Ctx::new(
        if elf.is_64 { Container::Big } else { Container::Little },
        if elf.little_endian { Endian::Little } else { Endian::Big },
    );
    for (offset, size, align) in ranges {
        let (Ok(offset), Ok(size), Ok(align)) =
            (usize::try_from(offset), usize::try_from(size), usize::try_from(align))
        else {
            continue;
        };
        let Some(data) = bytes.get(offset..offset.saturating_add(size).min(bytes.len())) else { continue };
        let size = budget.take(data).len();
        let iter = NoteDataIterator { data: bytes, size: offset + size, offset, ctx: (align, ctx) };
        iter.filter_map(Result::ok).for_each(&mut visit);
    }
}

/// A package note's payload: JSON, NUL-padded to the note alignment.
fn package_json(desc: &[u8]) -> &[u8] {
    desc.split(|b| *b == 0).next().unwrap_or_default()
}

/// The JSON payload of the first `.note.package` note (owner `FDO`, type `0xcafe1a7e`) of an
/// ELF file, unparsed, so that a caller can report JSON errors; None for non-ELF files and files
/// without one.
pub fn package_note(bytes: &[u8]) -> Option<Vec<u8>> {
    let limits = ElfLimits::default();
    let elf = std::panic::catch_unwind(|| super::analyze::parse_bounded(bytes, &limits)).ok()?.ok()?;
    let budget = Budget::new(limits.max_search_bytes);
    let mut found = None;
    for_each_note(&elf, bytes, &budget, |note| {
        if found.is_none() && note.name == "FDO" && note.n_type == NT_FDO_PACKAGING_METADATA {
            found = Some(package_json(note.desc).to_vec());
        }
    });
    found
}

/// Parses the properties array of an NT_GNU_PROPERTY_TYPE_0 note.
fn cet(desc: &[u8], is_64: bool, le: bool) -> Cet {
    let align = if is_64 { 8 } else { 4 };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = desc.get(at..at + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let mut at = 0;
    let mut cet = Cet::default();
    while let (Some(pr_type), Some(size)) = (u32_at(at), u32_at(at + 4)) {
        let size = size as usize;
        if pr_type == GNU_PROPERTY_X86_FEATURE_1_AND && size >= 4 {
            if let Some(bits) = u32_at(at + 8) {
                cet.ibt = bits & 1 != 0;
                cet.shstk = bits & 2 != 0;
            }
        }
        let Some(next) = (at + 8).checked_add(size).map(|n| n.div_ceil(align) * align) else {
            break;
        };
        if next <= at {
            break;
        }
        at = next;
    }
    cet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cet_reads_feature_bits_after_other_properties() {
        // GNU_PROPERTY_X86_ISA_1_NEEDED (0xc0008002) then FEATURE_1_AND = IBT|SHSTK.
        let mut desc = Vec::new();
        for (t, v) in [(0xc000_8002u32, 1u32), (GNU_PROPERTY_X86_FEATURE_1_AND, 3)] {
            desc.extend(t.to_le_bytes());
            desc.extend(4u32.to_le_bytes());
            desc.extend(v.to_le_bytes());
            desc.extend([0; 4]);
        }
        assert_eq!(cet(&desc, true, true), Cet { ibt: true, shstk: true });
        assert_eq!(cet(&desc[..16], true, true), Cet::default());
        assert_eq!(cet(&[0xff; 7], true, true), Cet::default());
    }
}

//! The ELF headers that open `survey`'s output (`phases/survey-hex.md`
//! 2.7.1 and 2.7.2): the file header, then one program header per segment.
//! Each field has the name the ELF specification gives it, and the bytes
//! are written field by field in the specification's order, each as hex
//! text (`7f 45 4c 46 ...`) for `hex` to turn into bytes.

use super::segments::Segment;
use crate::elf::{EM_386, ET_EXEC, FILE_HEADER_SIZE, PF_R, PF_W, PF_X, PROGRAM_HEADER_SIZE, PT_LOAD};
use crate::number;

// Values of the fields, named as in the ELF specification (the others are
// shared with the ELF reader, `crate::elf`).
const ELFCLASS32: u8 = 1;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const ELFOSABI_NONE: u8 = 0;
/// Segments are loaded in 4 KiB pages.
const PAGE: u32 = 0x1000;

/// The ELF file header (`Elf32_Ehdr`) of a 32-bit little-endian x86
/// executable whose program headers follow it directly, with no sections.
pub(super) struct FileHeader {
    e_ident: [u8; 16],
    e_type: u16,
    e_machine: u16,
    e_version: u32,
    e_entry: u32,
    e_phoff: u32,
    e_shoff: u32,
    e_flags: u32,
    e_ehsize: u16,
    e_phentsize: u16,
    e_phnum: u16,
    e_shentsize: u16,
    e_shnum: u16,
    e_shstrndx: u16,
}

impl FileHeader {
    /// Its size in bytes: the file offset of the first program header.
    pub(super) const SIZE: u64 = FILE_HEADER_SIZE as u64;

    /// The header of a program that starts at address `e_entry` and has
    /// `e_phnum` segments.
    pub(super) fn executable(e_entry: u32, e_phnum: u16) -> FileHeader {
        let mut e_ident = [0; 16];
        e_ident[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', ELFCLASS32, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE]);
        FileHeader {
            e_ident,
            e_type: ET_EXEC,
            e_machine: EM_386,
            e_version: u32::from(EV_CURRENT),
            e_entry,
            e_phoff: FileHeader::SIZE as u32,
            e_shoff: 0,
            e_flags: 0,
            e_ehsize: FileHeader::SIZE as u16,
            e_phentsize: ProgramHeader::SIZE as u16,
            e_phnum,
            e_shentsize: 0,
            e_shnum: 0,
            e_shstrndx: 0,
        }
    }

    /// Writes the header as one line of hex text.
    pub(super) fn write_hex(&self, out: &mut Vec<u8>) {
        let mut h = Fields::default();
        h.bytes(&self.e_ident);
        h.u16(self.e_type);
        h.u16(self.e_machine);
        h.u32(self.e_version);
        h.u32(self.e_entry);
        h.u32(self.e_phoff);
        h.u32(self.e_shoff);
        h.u32(self.e_flags);
        h.u16(self.e_ehsize);
        h.u16(self.e_phentsize);
        h.u16(self.e_phnum);
        h.u16(self.e_shentsize);
        h.u16(self.e_shnum);
        h.u16(self.e_shstrndx);
        debug_assert_eq!(h.0.len() as u64, FileHeader::SIZE);
        h.write_hex(out);
    }
}

/// A program header (`Elf32_Phdr`): one segment, loaded from the file as
/// it is (no zero fill), readable, and executable only for `code`.
pub(super) struct ProgramHeader {
    p_type: u32,
    p_offset: u32,
    p_vaddr: u32,
    p_paddr: u32,
    p_filesz: u32,
    p_memsz: u32,
    p_flags: u32,
    p_align: u32,
}

impl ProgramHeader {
    /// Its size in bytes.
    pub(super) const SIZE: u64 = PROGRAM_HEADER_SIZE as u64;

    /// The header that loads `segment`, once placed.
    pub(super) fn load(segment: &Segment) -> ProgramHeader {
        ProgramHeader {
            p_type: PT_LOAD,
            p_offset: segment.file_offset as u32,
            p_vaddr: segment.address,
            p_paddr: segment.address,
            p_filesz: segment.size as u32,
            p_memsz: segment.size as u32,
            p_flags: if segment.is_code() { PF_R | PF_X } else { PF_R | PF_W },
            p_align: PAGE,
        }
    }

    /// Writes the header as one line of hex text.
    pub(super) fn write_hex(&self, out: &mut Vec<u8>) {
        let mut h = Fields::default();
        h.u32(self.p_type);
        h.u32(self.p_offset);
        h.u32(self.p_vaddr);
        h.u32(self.p_paddr);
        h.u32(self.p_filesz);
        h.u32(self.p_memsz);
        h.u32(self.p_flags);
        h.u32(self.p_align);
        debug_assert_eq!(h.0.len() as u64, ProgramHeader::SIZE);
        h.write_hex(out);
    }
}

/// A header's bytes, field after field, little-endian.
#[derive(Default)]
struct Fields(Vec<u8>);

impl Fields {
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn u16(&mut self, field: u16) {
        self.bytes(&field.to_le_bytes());
    }

    fn u32(&mut self, field: u32) {
        self.bytes(&field.to_le_bytes());
    }

    /// Each byte as two hex digits and a space, then a line feed.
    fn write_hex(&self, out: &mut Vec<u8>) {
        for &b in &self.0 {
            number::push_hex_byte(out, b);
            out.push(b' ');
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_header_is_the_fields_in_order() {
        let mut out = Vec::new();
        FileHeader::executable(0x0900_0074, 2).write_hex(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7f 45 4c 46 01 01 01 00 00 00 00 00 00 00 00 00 02 00 03 00 01 00 00 00 74 00 00 09 \
             34 00 00 00 00 00 00 00 00 00 00 00 34 00 20 00 02 00 00 00 00 00 00 00 \n"
        );
    }

    #[test]
    fn only_code_is_executable() {
        let header = |name: &'static [u8]| {
            let segment = Segment { name, size: 5, file_offset: 0x74, address: 0x0900_0074, ..Segment::default() };
            let mut out = Vec::new();
            ProgramHeader::load(&segment).write_hex(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            header(b"code"),
            "01 00 00 00 74 00 00 00 74 00 00 09 74 00 00 09 05 00 00 00 05 00 00 00 05 00 00 00 00 10 00 00 \n"
        );
        assert!(header(b"Code").contains(" 06 00 00 00 00 10 00 00 \n"));
    }
}

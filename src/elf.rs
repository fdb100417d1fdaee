//! Reading the headers of a 32-bit x86 ELF, the kind `survey` and `hex`
//! write: the file header and the program headers, their fields named as
//! the ELF specification names them. `subx run` loads by them, the listing
//! describes them field by field, `subx compare` says which field or
//! segment a byte lies in. (`survey` writes them: `src/phases/survey/elf.rs`.)
//!
//! ```
//! use subx::elf::Elf;
//! let mut bytes = vec![0u8; 0x60];
//! bytes[..8].copy_from_slice(b"\x7fELF\x01\x01\x01\x00");
//! bytes[16] = 2; // e_type: executable
//! bytes[18] = 3; // e_machine: x86
//! bytes[24..28].copy_from_slice(&0x0900_0054u32.to_le_bytes()); // e_entry
//! bytes[28] = 0x34; // e_phoff
//! bytes[42] = 0x20; // e_phentsize
//! bytes[44] = 1; // e_phnum
//! let header = [1u32, 0x54, 0x0900_0054, 0x0900_0054, 12, 12, 5, 0x1000];
//! for (i, field) in header.iter().enumerate() {
//!     bytes[0x34 + 4 * i..0x38 + 4 * i].copy_from_slice(&field.to_le_bytes());
//! }
//! let elf = Elf::read(&bytes).unwrap();
//! assert_eq!(elf.header.e_entry, 0x0900_0054);
//! assert_eq!(elf.address_of(0x58), Some(0x0900_0058));
//! assert_eq!(elf.field_at(0x18).unwrap(), "ELF header, e_entry");
//! assert_eq!(elf.field_at(0x3c).unwrap(), "program header 0, p_vaddr");
//! ```

/// The fields of the file header this project reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    pub e_type: u16,
    pub e_machine: u16,
    pub e_entry: u32,
    pub e_phoff: u32,
    pub e_phentsize: u16,
    pub e_phnum: u16,
}

/// An `Elf32_Phdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    pub p_type: u32,
    pub p_offset: u32,
    pub p_vaddr: u32,
    pub p_paddr: u32,
    pub p_filesz: u32,
    pub p_memsz: u32,
    pub p_flags: u32,
    pub p_align: u32,
}

/// `e_type` of an executable, `e_machine` of the Intel 80386.
pub const ET_EXEC: u16 = 2;
pub const EM_386: u16 = 3;
/// `p_type` of a segment to load.
pub const PT_LOAD: u32 = 1;
/// `p_flags` bits.
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// The size of the file header and of a program header.
pub const FILE_HEADER_SIZE: u32 = 52;
pub const PROGRAM_HEADER_SIZE: u32 = 32;

/// The names of the file header's fields, with their offsets and sizes.
pub const FILE_HEADER_FIELDS: [(&str, u32, u32); 14] = [
    ("e_ident", 0, 16),
    ("e_type", 16, 2),
    ("e_machine", 18, 2),
    ("e_version", 20, 4),
    ("e_entry", 24, 4),
    ("e_phoff", 28, 4),
    ("e_shoff", 32, 4),
    ("e_flags", 36, 4),
    ("e_ehsize", 40, 2),
    ("e_phentsize", 42, 2),
    ("e_phnum", 44, 2),
    ("e_shentsize", 46, 2),
    ("e_shnum", 48, 2),
    ("e_shstrndx", 50, 2),
];

/// The names of a program header's fields, in order (4 bytes each).
pub const PROGRAM_HEADER_FIELDS: [&str; 8] =
    ["p_type", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_flags", "p_align"];

impl ProgramHeader {
    /// Just past the segment's bytes in the file.
    pub fn end_offset(&self) -> u32 {
        self.p_offset.wrapping_add(self.p_filesz)
    }

    /// `r-x`, `rw-`: the segment's permissions.
    pub fn permissions(&self) -> String {
        [(PF_R, 'r'), (PF_W, 'w'), (PF_X, 'x')]
            .iter()
            .map(|&(bit, c)| if self.p_flags & bit != 0 { c } else { '-' })
            .collect()
    }
}

/// An ELF's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elf {
    pub header: FileHeader,
    pub program_headers: Vec<ProgramHeader>,
}

impl Elf {
    /// Reads the headers of a 32-bit little-endian x86 executable; the
    /// error says what else the bytes are.
    pub fn read(bytes: &[u8]) -> Result<Elf, String> {
        if bytes.len() < FILE_HEADER_SIZE as usize || &bytes[..4] != b"\x7fELF" {
            return Err("not an ELF file (it does not start with 7f 45 4c 46)".into());
        }
        if bytes[4] != 1 || bytes[5] != 1 {
            return Err("not a 32-bit little-endian ELF".into());
        }
        let header = FileHeader {
            e_type: u16_at(bytes, 16).unwrap_or(0),
            e_machine: u16_at(bytes, 18).unwrap_or(0),
            e_entry: u32_at(bytes, 24).unwrap_or(0),
            e_phoff: u32_at(bytes, 28).unwrap_or(0),
            e_phentsize: u16_at(bytes, 42).unwrap_or(0),
            e_phnum: u16_at(bytes, 44).unwrap_or(0),
        };
        if header.e_machine != EM_386 {
            return Err(format!("an ELF for machine {}, not for x86 (3)", header.e_machine));
        }
        if header.e_type != ET_EXEC {
            return Err(format!(
                "ELF type {}: a static executable (type 2, ET_EXEC) was expected, not a library or an object",
                header.e_type
            ));
        }
        if header.e_phnum > 0 && u32::from(header.e_phentsize) < PROGRAM_HEADER_SIZE {
            return Err(format!("e_phentsize is {}, smaller than a program header (32)", header.e_phentsize));
        }
        let program_headers = (0..u32::from(header.e_phnum))
            .map(|i| {
                let at = header.e_phoff as usize + (i * u32::from(header.e_phentsize)) as usize;
                let field = |k: usize| {
                    u32_at(bytes, at + 4 * k).ok_or(format!("program header {i} runs past the end of the file"))
                };
                Ok(ProgramHeader {
                    p_type: field(0)?,
                    p_offset: field(1)?,
                    p_vaddr: field(2)?,
                    p_paddr: field(3)?,
                    p_filesz: field(4)?,
                    p_memsz: field(5)?,
                    p_flags: field(6)?,
                    p_align: field(7)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Elf { header, program_headers })
    }

    /// Where the headers end in the file: the segments' bytes follow.
    pub fn headers_end(&self) -> u32 {
        self.header.e_phoff + PROGRAM_HEADER_SIZE * self.program_headers.len() as u32
    }

    /// The segment whose bytes in the file hold `offset`.
    pub fn segment_at_offset(&self, offset: u32) -> Option<usize> {
        self.program_headers.iter().position(|p| p.p_offset <= offset && offset < p.end_offset())
    }

    /// The address the byte at file offset `offset` is loaded at.
    pub fn address_of(&self, offset: u32) -> Option<u32> {
        let p = &self.program_headers[self.segment_at_offset(offset)?];
        Some(p.p_vaddr.wrapping_add(offset - p.p_offset))
    }

    /// The file offset of the byte loaded at `address` (or, for an address
    /// just past a segment's end, where that byte would be).
    pub fn offset_of(&self, address: u32) -> Option<u32> {
        let p = self.program_headers.iter().find(|p| {
            p.p_vaddr <= address && u64::from(address) <= u64::from(p.p_vaddr) + u64::from(p.p_memsz)
        })?;
        Some(p.p_offset.wrapping_add(address.wrapping_sub(p.p_vaddr)))
    }

    /// The header field that holds the byte at `offset`, named: `ELF
    /// header, e_entry` or `program header 1, p_vaddr`.
    pub fn field_at(&self, offset: u32) -> Option<String> {
        if let Some((name, _, _)) =
            FILE_HEADER_FIELDS.iter().find(|(_, at, size)| (*at..at + size).contains(&offset))
        {
            return Some(format!("ELF header, {name}"));
        }
        let phoff = self.header.e_phoff;
        let relative = offset.checked_sub(phoff)?;
        let i = relative / PROGRAM_HEADER_SIZE;
        (i < self.program_headers.len() as u32)
            .then(|| format!("program header {i}, {}", PROGRAM_HEADER_FIELDS[(relative % PROGRAM_HEADER_SIZE / 4) as usize]))
    }
}

pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

pub fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_an_elf_of_ours_is_said_plainly() {
        assert!(Elf::read(b"#!/bin/sh\n").unwrap_err().starts_with("not an ELF file"));
        let mut bytes = vec![0u8; 64];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert!(Elf::read(&bytes).unwrap_err().starts_with("not a 32-bit"));
        bytes[4] = 1;
        bytes[18] = 0x3e;
        assert_eq!(Elf::read(&bytes).unwrap_err(), "an ELF for machine 62, not for x86 (3)");
    }
}

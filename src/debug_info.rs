//! Debug information for gdb: a separate ELF (`a.debug`, from
//! `ntranslate --debug`) that holds what a SubX ELF lacks, so that
//! `gdb a.elf -ex 'symbol-file a.debug'` names labels in `bt` and `x/i`,
//! stops at `break LABEL` and `break prog.subx:12`, and steps by source
//! line. The ELF that runs is not touched.
//!
//! The file has no program headers and no contents of its own, only
//! section headers and the debug sections, as `objcopy --only-keep-debug`
//! leaves a debug file:
//!
//! - one section per segment of the program (`code`, `data`, ...), of type
//!   `SHT_NOBITS` (no bytes here: they are in the ELF), at the segment's
//!   address and size, so that symbols and lines have somewhere to live;
//! - `.symtab` and `.strtab`: every label, code labels as `STT_FUNC` and
//!   data labels as `STT_OBJECT`, each as long as the distance to the next
//!   (a code label that starts with `$`, Mu's mark for a jump target inside
//!   a function, is a local `STT_NOTYPE` symbol and does not end the
//!   function around it);
//! - DWARF 4: `.debug_line`, a line-number program mapping every
//!   instruction's address to its file and line; `.debug_info` with one
//!   compile unit that covers the code and points at it, and holds a
//!   subprogram for each function (so that gdb names a frame after the
//!   function, not after a jump target inside it); `.debug_abbrev`, the
//!   two abbreviations these use.
//!
//! Field names follow the ELF specification (`e_shoff`, `sh_addr`,
//! `st_info`) and DWARF 4 (section 6.2 for the line program).
//!
//! ```
//! use subx::debug_info::{debug_elf, DebugInfo, Label, Row, Segment};
//! let info = DebugInfo {
//!     entry: 0x0900_0054,
//!     segments: vec![Segment { name: "code".into(), address: 0x0900_0054, size: 7, executable: true, writable: false }],
//!     labels: vec![Label { name: "Entry".into(), address: 0x0900_0054, segment: 0 }],
//!     rows: vec![Row { address: 0x0900_0054, file: 0, line: 3 }, Row { address: 0x0900_0059, file: 0, line: 4 }],
//!     files: vec!["prog.subx".into()],
//!     comp_dir: "/home/me".into(),
//! };
//! let elf = debug_elf(&info);
//! assert_eq!(&elf[..4], b"\x7fELF");
//! ```

/// A segment of the program, as its program header gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub address: u32,
    /// Its size in memory (`p_memsz`).
    pub size: u32,
    pub executable: bool,
    pub writable: bool,
}

/// A label: its name, address and the index of its segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    pub address: u32,
    pub segment: usize,
}

/// The first byte of an instruction, and where in the sources it was
/// written: an index into [`DebugInfo::files`] and a 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub address: u32,
    pub file: usize,
    pub line: u64,
}

/// What the debug file describes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebugInfo {
    /// The program's entry point (`e_entry`).
    pub entry: u32,
    pub segments: Vec<Segment>,
    /// The labels, in any order.
    pub labels: Vec<Label>,
    /// One row per instruction in an executable segment.
    pub rows: Vec<Row>,
    /// The source files, as named on the command line.
    pub files: Vec<String>,
    /// The directory the file names are relative to.
    pub comp_dir: String,
}

use crate::elf::{EM_386, ET_EXEC, FILE_HEADER_SIZE, PROGRAM_HEADER_SIZE};

// ELF constants (System V ABI, i386 supplement).
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u32 = 1;
const SHF_ALLOC: u32 = 2;
const SHF_EXECINSTR: u32 = 4;
const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STT_NOTYPE: u8 = 0;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const ELF_HEADER_SIZE: u16 = FILE_HEADER_SIZE as u16;
const SECTION_HEADER_SIZE: u16 = 40;
const SYMBOL_SIZE: u32 = 16;

// DWARF 4 constants.
const DW_TAG_COMPILE_UNIT: u8 = 0x11;
const DW_TAG_SUBPROGRAM: u8 = 0x2e;
const DW_CHILDREN_NO: u8 = 0;
const DW_CHILDREN_YES: u8 = 1;
const DW_AT_PRODUCER: u8 = 0x25;
const DW_AT_LANGUAGE: u8 = 0x13;
const DW_AT_NAME: u8 = 0x03;
const DW_AT_COMP_DIR: u8 = 0x1b;
const DW_AT_STMT_LIST: u8 = 0x10;
const DW_AT_LOW_PC: u8 = 0x11;
const DW_AT_HIGH_PC: u8 = 0x12;
const DW_FORM_ADDR: u8 = 0x01;
const DW_FORM_DATA2: u8 = 0x05;
const DW_FORM_DATA4: u8 = 0x06;
const DW_FORM_STRING: u8 = 0x08;
const DW_FORM_SEC_OFFSET: u8 = 0x17;
/// The language code for assembly language.
const DW_LANG_MIPS_ASSEMBLER: u16 = 0x8001;
const DW_LNS_COPY: u8 = 1;
const DW_LNS_ADVANCE_PC: u8 = 2;
const DW_LNS_ADVANCE_LINE: u8 = 3;
const DW_LNS_SET_FILE: u8 = 4;
const DW_LNE_END_SEQUENCE: u8 = 1;
const DW_LNE_SET_ADDRESS: u8 = 2;
/// The number of standard opcodes plus one, and how many operands each
/// of the twelve standard opcodes of DWARF 4 takes.
const OPCODE_BASE: u8 = 13;
const STANDARD_OPCODE_LENGTHS: [u8; 12] = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];

/// The debug ELF for `info`.
pub fn debug_elf(info: &DebugInfo) -> Vec<u8> {
    let (symtab, strtab, first_global) = symbols(info);
    let debug_abbrev = debug_abbrev();
    let debug_line = debug_line(info);
    let debug_info = debug_info(info);

    // The section headers, in order; their names go into .shstrtab.
    let mut shstrtab = vec![0u8];
    let mut sections: Vec<SectionHeader> = vec![SectionHeader::default()];
    for segment in &info.segments {
        let mut flags = SHF_ALLOC;
        if segment.executable {
            flags |= SHF_EXECINSTR;
        }
        if segment.writable {
            flags |= SHF_WRITE;
        }
        sections.push(SectionHeader {
            sh_name: add_string(&mut shstrtab, &segment.name),
            sh_type: SHT_NOBITS,
            sh_flags: flags,
            sh_addr: segment.address,
            sh_size: segment.size,
            sh_addralign: 1,
            ..SectionHeader::default()
        });
    }
    let strtab_index = sections.len() as u32 + 1;
    let contents: [(&str, u32, &[u8]); 5] = [
        (".symtab", SHT_SYMTAB, &symtab),
        (".strtab", SHT_STRTAB, &strtab),
        (".debug_abbrev", SHT_PROGBITS, &debug_abbrev),
        (".debug_info", SHT_PROGBITS, &debug_info),
        (".debug_line", SHT_PROGBITS, &debug_line),
    ];
    let mut body = Vec::new();
    let mut offset = u32::from(ELF_HEADER_SIZE);
    for (name, kind, bytes) in contents {
        let mut header = SectionHeader {
            sh_name: add_string(&mut shstrtab, name),
            sh_type: kind,
            sh_offset: offset,
            sh_size: bytes.len() as u32,
            sh_addralign: 1,
            ..SectionHeader::default()
        };
        if kind == SHT_SYMTAB {
            header.sh_link = strtab_index;
            header.sh_info = first_global;
            header.sh_entsize = SYMBOL_SIZE;
            header.sh_addralign = 4;
        }
        sections.push(header);
        body.extend_from_slice(bytes);
        offset += bytes.len() as u32;
    }
    let shstrtab_name = add_string(&mut shstrtab, ".shstrtab");
    sections.push(SectionHeader {
        sh_name: shstrtab_name,
        sh_type: SHT_STRTAB,
        sh_offset: offset,
        sh_size: shstrtab.len() as u32,
        sh_addralign: 1,
        ..SectionHeader::default()
    });
    body.extend_from_slice(&shstrtab);
    offset += shstrtab.len() as u32;
    // Section headers are 4-byte aligned.
    while offset % 4 != 0 {
        body.push(0);
        offset += 1;
    }

    let header = ElfHeader {
        e_entry: info.entry,
        e_shoff: offset,
        e_shnum: sections.len() as u16,
        e_shstrndx: sections.len() as u16 - 1,
    };
    let mut elf = Vec::with_capacity(offset as usize + sections.len() * usize::from(SECTION_HEADER_SIZE));
    header.write(&mut elf);
    elf.extend_from_slice(&body);
    for section in &sections {
        section.write(&mut elf);
    }
    elf
}

/// The fields of the ELF header that vary; the rest are fixed for a
/// 32-bit little-endian i386 executable.
struct ElfHeader {
    e_entry: u32,
    e_shoff: u32,
    e_shnum: u16,
    e_shstrndx: u16,
}

impl ElfHeader {
    fn write(&self, out: &mut Vec<u8>) {
        // e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE, padding.
        out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        put16(out, ET_EXEC); // e_type
        put16(out, EM_386); // e_machine
        put32(out, 1); // e_version
        put32(out, self.e_entry);
        put32(out, 0); // e_phoff: no program headers
        put32(out, self.e_shoff);
        put32(out, 0); // e_flags
        put16(out, ELF_HEADER_SIZE); // e_ehsize
        put16(out, PROGRAM_HEADER_SIZE as u16); // e_phentsize
        put16(out, 0); // e_phnum
        put16(out, SECTION_HEADER_SIZE); // e_shentsize
        put16(out, self.e_shnum);
        put16(out, self.e_shstrndx);
    }
}

/// An `Elf32_Shdr`.
#[derive(Default)]
struct SectionHeader {
    sh_name: u32,
    sh_type: u32,
    sh_flags: u32,
    sh_addr: u32,
    sh_offset: u32,
    sh_size: u32,
    sh_link: u32,
    sh_info: u32,
    sh_addralign: u32,
    sh_entsize: u32,
}

impl SectionHeader {
    fn write(&self, out: &mut Vec<u8>) {
        for field in [
            self.sh_name,
            self.sh_type,
            self.sh_flags,
            self.sh_addr,
            self.sh_offset,
            self.sh_size,
            self.sh_link,
            self.sh_info,
            self.sh_addralign,
            self.sh_entsize,
        ] {
            put32(out, field);
        }
    }
}

/// A label with its size and kind, as the symbol table shows it.
struct Sized<'a> {
    name: &'a str,
    address: u32,
    size: u32,
    /// A jump target inside a function (a code label starting with `$`).
    local: bool,
    segment: usize,
    executable: bool,
}

/// The labels in address order, each running to the next label of its
/// segment that could end it (for a function, the next one that is not a
/// jump target), or to the segment's end.
fn sized_labels(info: &DebugInfo) -> Vec<Sized<'_>> {
    let mut labels: Vec<&Label> = info.labels.iter().collect();
    labels.sort_by_key(|l| (l.address, l.name.as_str()));
    let is_local = |l: &Label| info.segments[l.segment].executable && l.name.starts_with('$');
    labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let segment = &info.segments[label.segment];
            let local = is_local(label);
            let end = labels[i + 1..]
                .iter()
                .find(|next| next.segment == label.segment && next.address > label.address && (local || !is_local(next)))
                .map_or(segment.address.wrapping_add(segment.size), |next| next.address);
            Sized {
                name: &label.name,
                address: label.address,
                size: end.wrapping_sub(label.address),
                local,
                segment: label.segment,
                executable: segment.executable,
            }
        })
        .collect()
}

/// The functions: code labels that are not jump targets.
fn functions(info: &DebugInfo) -> impl Iterator<Item = Sized<'_>> {
    sized_labels(info).into_iter().filter(|l| l.executable && !l.local)
}

/// `.symtab`, `.strtab` and the index of the first global symbol (locals
/// come first, as the ELF specification requires).
fn symbols(info: &DebugInfo) -> (Vec<u8>, Vec<u8>, u32) {
    let mut strtab = vec![0u8];
    let mut locals = Vec::new();
    let mut globals = Vec::new();
    for label in sized_labels(info) {
        let kind = match (label.local, label.executable) {
            (true, _) => STT_NOTYPE,
            (false, true) => STT_FUNC,
            (false, false) => STT_OBJECT,
        };
        let symbol = Symbol {
            st_name: add_string(&mut strtab, label.name),
            st_value: label.address,
            st_size: label.size,
            st_info: ((if label.local { STB_LOCAL } else { STB_GLOBAL }) << 4) | kind,
            st_shndx: label.segment as u16 + 1,
        };
        if label.local {
            locals.push(symbol);
        } else {
            globals.push(symbol);
        }
    }
    let mut symtab = vec![0u8; SYMBOL_SIZE as usize]; // symbol 0: none
    for symbol in locals.iter().chain(&globals) {
        symbol.write(&mut symtab);
    }
    (symtab, strtab, 1 + locals.len() as u32)
}

/// An `Elf32_Sym`.
struct Symbol {
    st_name: u32,
    st_value: u32,
    st_size: u32,
    st_info: u8,
    st_shndx: u16,
}

impl Symbol {
    fn write(&self, out: &mut Vec<u8>) {
        put32(out, self.st_name);
        put32(out, self.st_value);
        put32(out, self.st_size);
        out.push(self.st_info);
        out.push(0); // st_other: default visibility
        put16(out, self.st_shndx);
    }
}

/// The two abbreviations: the compile unit, and a function inside it.
fn debug_abbrev() -> Vec<u8> {
    let mut out = vec![1, DW_TAG_COMPILE_UNIT, DW_CHILDREN_YES];
    for (attribute, form) in [
        (DW_AT_PRODUCER, DW_FORM_STRING),
        (DW_AT_LANGUAGE, DW_FORM_DATA2),
        (DW_AT_NAME, DW_FORM_STRING),
        (DW_AT_COMP_DIR, DW_FORM_STRING),
        (DW_AT_STMT_LIST, DW_FORM_SEC_OFFSET),
        (DW_AT_LOW_PC, DW_FORM_ADDR),
        (DW_AT_HIGH_PC, DW_FORM_DATA4),
    ] {
        out.extend_from_slice(&[attribute, form]);
    }
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&[2, DW_TAG_SUBPROGRAM, DW_CHILDREN_NO]);
    for (attribute, form) in [(DW_AT_NAME, DW_FORM_STRING), (DW_AT_LOW_PC, DW_FORM_ADDR), (DW_AT_HIGH_PC, DW_FORM_DATA4)] {
        out.extend_from_slice(&[attribute, form]);
    }
    out.extend_from_slice(&[0, 0, 0]); // end of its attributes; end of the list
    out
}

/// The compile unit: named after the last source file, covering the
/// executable segments, its lines at offset 0 of `.debug_line`; inside it
/// each function (a code label that is not a jump target), so that gdb
/// names a frame by the function that holds it rather than by the nearest
/// jump target before it.
fn debug_info(info: &DebugInfo) -> Vec<u8> {
    let code = info.segments.iter().filter(|s| s.executable);
    let low = code.clone().map(|s| s.address).min().unwrap_or(0);
    let high = code.map(|s| s.address.wrapping_add(s.size)).max().unwrap_or(0);
    let mut unit = Vec::new();
    put16(&mut unit, 4); // version
    put32(&mut unit, 0); // debug_abbrev_offset
    unit.push(4); // address_size
    unit.push(1); // the compile unit
    put_string(&mut unit, concat!("subx ", env!("CARGO_PKG_VERSION")));
    put16(&mut unit, DW_LANG_MIPS_ASSEMBLER);
    put_string(&mut unit, info.files.last().map_or("", String::as_str));
    put_string(&mut unit, &info.comp_dir);
    put32(&mut unit, 0); // DW_AT_stmt_list
    put32(&mut unit, low);
    put32(&mut unit, high.wrapping_sub(low)); // DW_AT_high_pc, as a length
    for function in functions(info) {
        unit.push(2);
        put_string(&mut unit, function.name);
        put32(&mut unit, function.address);
        put32(&mut unit, function.size);
    }
    unit.push(0); // end of the unit's children
    with_length(unit)
}

/// The line-number program (DWARF 4, section 6.2): one sequence per
/// executable segment, one row per instruction.
fn debug_line(info: &DebugInfo) -> Vec<u8> {
    let mut header = vec![
        1,                 // minimum_instruction_length
        1,                 // maximum_operations_per_instruction
        1,                 // default_is_stmt
        (-5i8) as u8,      // line_base
        14,                // line_range
        OPCODE_BASE,
    ];
    header.extend_from_slice(&STANDARD_OPCODE_LENGTHS);
    header.push(0); // include_directories: none but the compilation directory
    for file in &info.files {
        put_string(&mut header, file);
        header.extend_from_slice(&[0, 0, 0]); // directory 0, no time, no length
    }
    header.push(0);

    let mut program = Vec::new();
    for segment in info.segments.iter().filter(|s| s.executable) {
        let end = segment.address.wrapping_add(segment.size);
        let mut rows = info.rows.iter().filter(|r| r.address >= segment.address && r.address < end).peekable();
        let Some(first) = rows.peek() else { continue };
        program.extend_from_slice(&[0, 5, DW_LNE_SET_ADDRESS]);
        put32(&mut program, first.address);
        let (mut address, mut file, mut line) = (first.address, 1u64, 1i64);
        for row in rows {
            let row_file = row.file as u64 + 1;
            if row_file != file {
                program.push(DW_LNS_SET_FILE);
                put_uleb(&mut program, row_file);
                file = row_file;
            }
            let row_line = row.line as i64;
            if row_line != line {
                program.push(DW_LNS_ADVANCE_LINE);
                put_sleb(&mut program, row_line - line);
                line = row_line;
            }
            if row.address != address {
                program.push(DW_LNS_ADVANCE_PC);
                put_uleb(&mut program, u64::from(row.address.wrapping_sub(address)));
                address = row.address;
            }
            program.push(DW_LNS_COPY);
        }
        if end != address {
            program.push(DW_LNS_ADVANCE_PC);
            put_uleb(&mut program, u64::from(end.wrapping_sub(address)));
        }
        program.extend_from_slice(&[0, 1, DW_LNE_END_SEQUENCE]);
    }

    let mut unit = Vec::new();
    put16(&mut unit, 4); // version
    put32(&mut unit, header.len() as u32); // header_length
    unit.extend_from_slice(&header);
    unit.extend_from_slice(&program);
    with_length(unit)
}

/// A unit with its 4-byte `unit_length` in front.
fn with_length(unit: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(unit.len() + 4);
    put32(&mut out, unit.len() as u32);
    out.extend_from_slice(&unit);
    out
}

fn add_string(table: &mut Vec<u8>, text: &str) -> u32 {
    let at = table.len() as u32;
    put_string(table, text);
    at
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Unsigned LEB128: seven bits a byte, low first, the high bit set on all
/// but the last.
fn put_uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Signed LEB128: as unsigned, until what is left is all sign bits and
/// the last byte's bit 6 agrees with the sign.
fn put_sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> DebugInfo {
        let code = Segment { name: "code".into(), address: 0x0900_0074, size: 0x20, executable: true, writable: false };
        let data = Segment { name: "data".into(), address: 0x0a00_0094, size: 8, executable: false, writable: true };
        let label = |name: &str, address, segment| Label { name: name.into(), address, segment };
        DebugInfo {
            entry: 0x0900_0080,
            segments: vec![code, data],
            labels: vec![
                label("f", 0x0900_0074, 0),
                label("$f:loop", 0x0900_0078, 0),
                label("Entry", 0x0900_0080, 0),
                label("Table", 0x0a00_0094, 1),
                label("Other", 0x0a00_0098, 1),
            ],
            rows: vec![
                Row { address: 0x0900_0074, file: 0, line: 10 },
                Row { address: 0x0900_0078, file: 0, line: 12 },
                Row { address: 0x0900_0080, file: 1, line: 3 },
            ],
            files: vec!["init.linux".into(), "prog.subx".into()],
            comp_dir: "/tmp".into(),
        }
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn leb128_numbers() {
        let uleb = |v| {
            let mut out = Vec::new();
            put_uleb(&mut out, v);
            out
        };
        let sleb = |v| {
            let mut out = Vec::new();
            put_sleb(&mut out, v);
            out
        };
        assert_eq!(uleb(2), [2]);
        assert_eq!(uleb(127), [0x7f]);
        assert_eq!(uleb(128), [0x80, 1]);
        assert_eq!(uleb(624_485), [0xe5, 0x8e, 0x26]);
        assert_eq!(sleb(2), [2]);
        assert_eq!(sleb(-2), [0x7e]);
        assert_eq!(sleb(127), [0xff, 0]);
        assert_eq!(sleb(-128), [0x80, 0x7f]);
        assert_eq!(sleb(-123_456), [0xc0, 0xbb, 0x78]);
    }

    #[test]
    fn functions_run_to_the_next_function_and_jump_targets_are_local() {
        let (symtab, strtab, first_global) = symbols(&example());
        let name = |at: u32| {
            let rest = &strtab[at as usize..];
            String::from_utf8_lossy(&rest[..rest.iter().position(|&b| b == 0).unwrap()]).into_owned()
        };
        let all: Vec<(String, u32, u32, u8)> = symtab[16..]
            .chunks(16)
            .map(|s| (name(u32_at(s, 0)), u32_at(s, 4), u32_at(s, 8), s[12]))
            .collect();
        assert_eq!(first_global, 2);
        assert_eq!(
            all,
            [
                ("$f:loop".into(), 0x0900_0078, 8, STT_NOTYPE),
                ("f".into(), 0x0900_0074, 0xc, (STB_GLOBAL << 4) | STT_FUNC),
                ("Entry".into(), 0x0900_0080, 0x14, (STB_GLOBAL << 4) | STT_FUNC),
                ("Table".into(), 0x0a00_0094, 4, (STB_GLOBAL << 4) | STT_OBJECT),
                ("Other".into(), 0x0a00_0098, 4, (STB_GLOBAL << 4) | STT_OBJECT),
            ]
        );
    }

    #[test]
    fn the_line_program_sets_the_address_then_moves_by_rows() {
        let line = debug_line(&example());
        // unit_length, version 4, then after the header the program.
        assert_eq!(u32_at(&line, 0) as usize, line.len() - 4);
        assert_eq!(&line[4..6], &[4, 0]);
        let header_length = u32_at(&line, 6) as usize;
        let program = &line[10 + header_length..];
        assert_eq!(
            program,
            [
                0, 5, DW_LNE_SET_ADDRESS, 0x74, 0, 0, 9, // set_address 0x09000074
                DW_LNS_ADVANCE_LINE, 9, DW_LNS_COPY, // line 10
                DW_LNS_ADVANCE_LINE, 2, DW_LNS_ADVANCE_PC, 4, DW_LNS_COPY, // line 12, +4
                DW_LNS_SET_FILE, 2, DW_LNS_ADVANCE_LINE, 0x77, DW_LNS_ADVANCE_PC, 8, DW_LNS_COPY, // prog.subx:3
                DW_LNS_ADVANCE_PC, 0x14, 0, 1, DW_LNE_END_SEQUENCE, // to the segment's end
            ]
        );
    }

    #[test]
    fn the_sections_are_where_their_headers_say() {
        let elf = debug_elf(&example());
        let shoff = u32_at(&elf, 32) as usize;
        let shnum = u16::from_le_bytes([elf[48], elf[49]]) as usize;
        let shstrndx = u16::from_le_bytes([elf[50], elf[51]]) as usize;
        assert_eq!(elf.len(), shoff + shnum * 40);
        let header = |i: usize| &elf[shoff + 40 * i..shoff + 40 * (i + 1)];
        let names_at = u32_at(header(shstrndx), 16) as usize;
        let name = |i: usize| {
            let rest = &elf[names_at + u32_at(header(i), 0) as usize..];
            String::from_utf8_lossy(&rest[..rest.iter().position(|&b| b == 0).unwrap()]).into_owned()
        };
        let names: Vec<String> = (1..shnum).map(name).collect();
        assert_eq!(names, ["code", "data", ".symtab", ".strtab", ".debug_abbrev", ".debug_info", ".debug_line", ".shstrtab"]);
        // code: NOBITS at its address, allocated and executable.
        assert_eq!((u32_at(header(1), 4), u32_at(header(1), 8), u32_at(header(1), 12)), (SHT_NOBITS, 6, 0x0900_0074));
        // .symtab links to .strtab.
        assert_eq!(u32_at(header(3), 24), 4);
        // .debug_line's bytes are the line program.
        let line = header(7);
        let (offset, size) = (u32_at(line, 16) as usize, u32_at(line, 20) as usize);
        assert_eq!(&elf[offset..offset + size], &debug_line(&example())[..]);
    }
}

//! Segments: the headers that open them (`== code 0x09000000`), and pass
//! 2, which places them in the file and in memory (`phases/survey-hex.md`
//! 2.4 and 2.5; CONTRACT decisions 12 and 36).
//!
//! The segments follow the ELF headers in the file, one after another in
//! the order their names first appear. Each keeps the 4 KiB page of the
//! address its header asks for and takes the low 12 bits of its file
//! offset, so that the kernel can map the file's pages as they are: with
//! two segments, `code` starts at file offset 0x74, so `== code 0x09000000`
//! puts it at 0x09000074.

use std::collections::HashMap;

use super::elf::{FileHeader, ProgramHeader};
use super::literals;
use crate::error::{line_ref, printable, Error};
use crate::number;

/// Addresses from here up are adjusted to their file offset; lower ones
/// must already agree with it (`language.md` 5.4).
const ADJUSTED_FROM: u32 = 0x0800_0000;

/// One segment, as the headers of the input describe it.
#[derive(Default)]
pub(super) struct Segment<'a> {
    pub name: &'a [u8],
    /// The address word of its first header, and that header's line.
    pub address_word: &'a [u8],
    pub header_line: u64,
    /// The address asked for, as a 32-bit pattern.
    pub requested: u32,
    /// Its bytes, counted in pass 1.
    pub size: u64,
    /// Where its bytes start in the file, and in memory (pass 2).
    pub file_offset: u64,
    pub address: u32,
}

impl Segment<'_> {
    /// Only the segment named exactly `code` holds instructions.
    pub fn is_code(&self) -> bool {
        self.name == b"code"
    }

    /// The address just past its last byte, once placed (past 4 GiB when
    /// it does not fit).
    fn end(&self) -> u64 {
        u64::from(self.address) + self.size
    }

    /// Its bytes in memory, as messages show them: `0x09000074-0x09002073`.
    fn range(&self) -> String {
        format!("0x{:08x}-0x{:08x}", self.address, self.end() - 1)
    }
}

/// The segments in the order of their first headers, found by name.
#[derive(Default)]
pub(super) struct Segments<'a> {
    list: Vec<Segment<'a>>,
    by_name: HashMap<&'a [u8], usize>,
    /// Which segment asked for each address: no two may ask for the same.
    by_address: HashMap<u32, usize>,
}

impl<'a> Segments<'a> {
    pub fn get(&self, segment: usize) -> Option<&Segment<'a>> {
        self.list.get(segment)
    }

    pub fn get_mut(&mut self, segment: usize) -> Option<&mut Segment<'a>> {
        self.list.get_mut(segment)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Segment<'a>> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Reads a header (`== NAME ADDRESS`; `words` are those after the
    /// `==`) and returns the segment it opens. `current` is the segment
    /// open before it, `rest` the input after its line.
    pub fn open(
        &mut self,
        line_no: u64,
        mut words: impl Iterator<Item = &'a [u8]>,
        current: Option<usize>,
        rest: &'a [u8],
    ) -> Result<usize, Error> {
        let Some(name) = words.next() else {
            return Err(Error::at(
                line_no,
                b"==",
                "'==' must be followed by a segment name and, the first time, its start address \
                 (for example '== code 0x09000000')",
            ));
        };
        if let Some(&known) = self.by_name.get(name) {
            // A re-opening header: its address is ignored (decision 12).
            // Bytes are written in input order, so a segment can only go on
            // where it stopped, before another segment begins.
            if current != Some(known) {
                return Err(Error::at(
                    line_no,
                    name,
                    format!(
                        "segment '{}' is opened again after another segment; survey needs each \
                         segment in one piece, as assort writes it",
                        printable(name)
                    ),
                ));
            }
            return Ok(known);
        }
        let shown = printable(name);
        let Some(address_word) = words.next() else {
            return Err(self.no_address(line_no, name, rest));
        };
        let requested = match number::parse(address_word) {
            Ok(value) => value as u32,
            Err(e) => {
                return Err(Error::at(
                    line_no,
                    address_word,
                    format!(
                        "the start address of segment '{shown}' {e}; write it like '0x09000000' \
                         (lowercase hex, at most 32 bits)"
                    ),
                ))
            }
        };
        let index = self.list.len();
        if let Some(&other) = self.by_address.get(&requested) {
            let other = &self.list[other];
            return Err(Error::at(
                line_no,
                address_word,
                format!(
                    "segment '{shown}' starts at 0x{requested:08x}, the same address as segment \
                     '{}' ({}); give each segment its own address",
                    printable(other.name),
                    line_ref(other.header_line)
                ),
            ));
        }
        self.by_address.insert(requested, index);
        self.by_name.insert(name, index);
        self.list.push(Segment { name, address_word, header_line: line_no, requested, ..Segment::default() });
        Ok(index)
    }

    /// The error for the first header of segment `name` when it gives no
    /// address; `rest` is the input after it.
    fn no_address(&self, line_no: u64, name: &[u8], rest: &[u8]) -> Error {
        let shown = printable(name);
        let example = if name == b"code" { "0x09000000" } else { "0x0a000000" };
        let also = if name == b"data" { " (every program needs a data segment, even an empty one)" } else { "" };
        let error = Error::at(
            line_no,
            name,
            format!(
                "the first header of segment '{shown}' gives no start address; write for \
                 example '== {shown} {example}'{also}"
            ),
        );
        if name != b"data" {
            return error;
        }
        // dquotes always appends a bare '== data' header for its strings:
        // if that is this one, the user wrote no data segment at all.
        error.if_generated(literals::without_data_segment(rest, self.list.is_empty()))
    }

    /// Pass 2: the file offset and address of each segment (2.5), checked.
    pub fn place(&mut self) -> Result<(), Error> {
        let count = self.list.len() as u64;
        if count > u64::from(u16::MAX) {
            return Err(Error::whole(format!("{count} segments; an ELF file holds at most 65535")));
        }
        let mut file_offset = FileHeader::SIZE + ProgramHeader::SIZE * count;
        for segment in &mut self.list {
            let address = (segment.requested & !0xfff) | (file_offset & 0xfff) as u32;
            if segment.requested < ADJUSTED_FROM && address != segment.requested {
                return Err(Error::at(
                    segment.header_line,
                    segment.address_word,
                    format!(
                        "segment '{}' at 0x{:08x} cannot be loaded: its file offset is 0x{file_offset:x}, \
                         so an address below 0x08000000 must end in 0x{:03x} (or use an address \
                         >= 0x08000000, which is adjusted automatically)",
                        printable(segment.name),
                        segment.requested,
                        file_offset & 0xfff
                    ),
                ));
            }
            segment.file_offset = file_offset;
            segment.address = address;
            file_offset += segment.size;
        }
        if file_offset > u64::from(u32::MAX) {
            return Err(Error::whole("the program is larger than 4 GiB, too large for a 32-bit ELF file"));
        }
        self.check_memory()
    }

    /// Refuses a layout that cannot load as written (CONTRACT decision
    /// 36): a segment that runs past the last 32-bit address, or two
    /// segments that share a byte of memory. (Sharing a page is fine: each
    /// segment's address has the low bits of its file offset.)
    fn check_memory(&self) -> Result<(), Error> {
        for s in &self.list {
            if s.end() > 1 << 32 {
                // The highest page where it fits, keeping the low bits.
                let highest = ((1u64 << 32) - s.size - (s.file_offset & 0xfff)) & !0xfff;
                return Err(Error::at(
                    s.header_line,
                    s.address_word,
                    format!(
                        "segment '{}' ({}) runs past 0xffffffff, the last 32-bit address, so its labels \
                         would wrap around to low addresses; give it a start address of 0x{highest:08x} or lower",
                        printable(s.name),
                        s.range()
                    ),
                ));
            }
        }
        // In order of address, each segment must end before the next one
        // starts; empty segments take no memory.
        let mut by_address: Vec<usize> = (0..self.list.len()).filter(|&i| self.list[i].size > 0).collect();
        by_address.sort_by_key(|&i| self.list[i].address);
        for pair in by_address.windows(2) {
            let (below, above) = (&self.list[pair[0]], &self.list[pair[1]]);
            if u64::from(above.address) < below.end() {
                // Blame the segment whose header comes later.
                let (moved, other) = if pair[0] < pair[1] { (above, below) } else { (below, above) };
                return Err(Error::at(
                    moved.header_line,
                    moved.address_word,
                    format!(
                        "segment '{}' ({}) overlaps segment '{}' ({}); give it a start address past 0x{:08x}",
                        printable(moved.name),
                        moved.range(),
                        printable(other.name),
                        other.range(),
                        other.end() - 1
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, field, survey, CODE};

    #[test]
    fn segment_address_keeps_its_page_and_takes_the_low_bits_of_the_file_offset() {
        let text = "== code 0x0900abcd\nEntry:\n01 02 03\n== data 0x0a000fff\n04\n";
        // Two segments: code at file offset 0x74, data at 0x77.
        assert_eq!(field(text, 1, 4), 0x74);
        assert_eq!(field(text, 1, 8), 0x0900_a074);
        assert_eq!(field(text, 2, 4), 0x77);
        assert_eq!(field(text, 2, 8), 0x0a00_0077);
        assert_eq!(field(text, 0, 0x18), 0x0900_a074, "e_entry");
    }

    #[test]
    fn addresses_below_0x08000000_must_already_match_the_file_offset() {
        assert_eq!(field("== code 0x54\nEntry:\n01\n", 1, 8), 0x54);
        let e = error("== code 0x1000\nEntry:\n01\n");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("must end in 0x054"), "{e}");
    }

    #[test]
    fn negative_addresses_are_32_bit_patterns() {
        assert_eq!(field("== code -0x1000\nEntry:\n", 1, 8), 0xffff_f054);
    }

    #[test]
    fn only_the_segment_named_code_is_executable() {
        let text = "== code 0x09000000\nEntry:\n== Code 0x0a000000\n== data 0x0b000000\n";
        assert_eq!(field(text, 1, 0x18), 5);
        assert_eq!(field(text, 2, 0x18), 6);
        assert_eq!(field(text, 3, 0x18), 6);
    }

    #[test]
    fn a_first_header_needs_a_name_and_a_valid_address() {
        assert_eq!(error("==\n").line, Some(1));
        assert_eq!(error("== # x\n").line, Some(1));
        for address in ["", "0x", "-", "0X09000000", "0x0900000A", "0x09000000zz", "1234567890"] {
            let e = error(&format!("{CODE}== data {address}\n"));
            assert_eq!(e.line, Some(3), "{address:?}");
        }
        assert!(survey(&format!("{CODE}== data 9000000a\n")).is_ok());
    }

    #[test]
    fn a_reopening_header_continues_its_segment_and_its_address_is_ignored() {
        let text = "== code 0x09000000\nEntry:\n01\n== code junk\n02\n";
        assert!(survey(text).unwrap().ends_with("\n01 \n02 \n"));
        assert_eq!(field(text, 1, 0x10), 2, "code size");
        let e = error("== code 0x09000000\nEntry:\n== data 0x0a000000\n== code\n");
        assert_eq!(e.line, Some(4));
    }

    /// A code segment of 0x2000 bytes, at 0x09000074-0x09002073.
    fn big_code() -> String {
        format!("== code 0x09000000\nEntry:\n{}", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n".repeat(0x200))
    }

    #[test]
    fn segments_may_not_overlap_in_memory() {
        // CONTRACT decision 36. data asks for a page inside code's bytes.
        let e = error(&format!("{}== data 0x09001000\n01 02 03 04\n", big_code()));
        assert_eq!(e.line, Some(0x203));
        assert_eq!(
            e.to_string(),
            "line 515: '0x09001000': segment 'data' (0x09001074-0x09001077) overlaps segment 'code' \
             (0x09000074-0x09002073); give it a start address past 0x09002073"
        );
        // Below code, up to its first byte, and then one byte into it.
        let below = format!("{}== data 0x08fff000\n{}", big_code(), "00\n".repeat(0x1000));
        assert!(survey(&below).is_ok());
        let e = error(&format!("{below}00\n"));
        assert!(e.message.starts_with("segment 'data' (0x08fff074-0x09000074) overlaps segment 'code'"), "{e}");
        // Placed before code in the file, named first.
        let text = format!("== data 0x09001000\n01 02 03 04\n{}", big_code());
        assert!(error(&text).message.starts_with("segment 'code' (0x09000078-0x09002077) overlaps segment 'data'"));
    }

    #[test]
    fn segments_may_share_a_page_and_empty_segments_take_no_room() {
        assert!(survey(&format!("{}== data 0x09002000\n01 02 03 04\n", big_code())).is_ok());
        assert!(survey("== code 0x09000000\nEntry:\n90\n== data 0x09000001\n01\n").is_ok());
        assert!(survey(&format!("{}== data 0x09001000\n== other 0x09000100\n", big_code())).is_ok());
    }

    #[test]
    fn a_segment_may_not_run_past_4_gib() {
        // CONTRACT decision 36: its labels would wrap around to 0.
        let text = "== code 0x09000000\nEntry:\n90\n== data 0xfffff000\n";
        let fits = format!("{text}{}", "00\n".repeat(0x1000 - 0x75));
        assert!(survey(&fits).is_ok(), "ends at 0xffffffff");
        let e = error(&format!("{fits}00\n"));
        assert_eq!(e.line, Some(4));
        assert_eq!(
            e.to_string(),
            "line 4: '0xfffff000': segment 'data' (0xfffff075-0x100000000) runs past 0xffffffff, the last \
             32-bit address, so its labels would wrap around to low addresses; give it a start address \
             of 0xffffe000 or lower"
        );
    }

    #[test]
    fn two_segments_may_not_start_at_the_same_address() {
        let e = error("== code 0x09000000\nEntry:\n== data 9000000\n");
        assert_eq!((e.line, e.word.as_deref()), (Some(3), Some(&b"9000000"[..])));
    }
}

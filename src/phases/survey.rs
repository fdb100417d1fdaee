//! Phase `survey`: lays out the segments, resolves every label reference and
//! writes the ELF headers, all as hex text for `hex` to turn into bytes.
//!
//! It reads `pack`'s output (one instruction or data line per line, bytes
//! already packed into two-digit hex words, label references such as
//! `Value/disp32` still by name) and writes the ELF header, one program
//! header per segment, then every input line's bytes with each reference
//! replaced by its address or displacement.
//!
//! ```
//! use subx::phases::survey;
//! use subx::line_map::LineMap;
//! let text = b"== code 0x09000000\nEntry:\nb8 Value/imm32  # b8/copy-to-eax Value/imm32\n\
//!              == data 0x0a000000\nValue:\n2a 00 00 00\n";
//! let mut out = Vec::new();
//! survey::run(&mut &text[..], &mut out, &mut LineMap::off()).unwrap();
//! let out = String::from_utf8(out).unwrap();
//! let lines: Vec<&str> = out.lines().collect();
//! assert_eq!(lines[0], "7f 45 4c 46 01 01 01 00 00 00 00 00 00 00 00 00 \
//!     02 00 03 00 01 00 00 00 74 00 00 09 34 00 00 00 00 00 00 00 00 00 00 00 \
//!     34 00 20 00 02 00 00 00 00 00 00 00 ");
//! assert_eq!(lines[1], "01 00 00 00 74 00 00 00 74 00 00 09 74 00 00 09 \
//!     05 00 00 00 05 00 00 00 05 00 00 00 00 10 00 00 ");
//! assert_eq!(lines[2], "01 00 00 00 79 00 00 00 79 00 00 0a 79 00 00 0a \
//!     04 00 00 00 04 00 00 00 06 00 00 00 00 10 00 00 ");
//! assert_eq!(&lines[3..], ["b8 79 00 00 0a ", "2a 00 00 00 "]);
//! ```
//!
//! `survey` needs the whole input before it can write anything (a reference
//! may point forward, and the headers need every segment's size), so it
//! reads all of it once into one buffer; segments borrow their names from
//! it, labels keep copies of theirs (see [`Labels`]). It reads each line once: pass 1 lays
//! out segments and labels and writes the line's bytes, with a placeholder
//! for each label reference; pass 2 places the segments; pass 3 visits only
//! the references, and writes each one's value over its placeholder.
//!
//! `docs/walkthrough.md` ("Phase 5: `survey`") shows `survey` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/survey-hex.md` section 2, `CONTRACT.md`):
//! - a line's words are split at any ASCII whitespace; `#` starts a
//!   comment, a word starting with `:` starts line metadata (both end the
//!   line), a lone `.` is ignored (CONTRACT rule 2, decisions 8 and 9);
//! - a two-character word is a byte, copied as it is (`hex` checks it);
//!   every other word is a label reference (2.3, 2.7.3);
//! - each segment's address keeps the requested 4 KiB page and takes its
//!   low 12 bits from the segment's file offset (2.5); below 0x08000000 the
//!   address must already agree, as the C++ translator demands;
//! - `/imm32` is a label's absolute address; `/disp32` and `/disp8` to a
//!   code label are relative to the end of the line, within the line's own
//!   segment (CONTRACT rule 2); a data label typed `/disp32` is absolute,
//!   except on a call or jump, where it is an error (decision 15);
//! - header and label lines write nothing, not even a line feed; every
//!   other line writes its bytes, each followed by a space, then a line
//!   feed (2.7.4);
//! - the checks of 2.13: labels alone on their line, defined once (`Entry`
//!   excepted: the last definition wins), with a valid name, references
//!   typed as their kind allows, segment addresses valid and distinct.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hasher;
use std::io::{BufRead, Write};

use crate::error::{line_ref, printable, Error};
use crate::line_map::{LineMap, Runs};
use crate::number;
use crate::opcodes::{self, Tail};
use crate::words::{self, is_space, Word};

/// `--help` text.
pub fn help() -> String {
    "survey: lay out the segments, resolve labels and write the ELF headers\n\
     (the fifth SubX phase).\n\
     \n\
     Reads:  on stdin, pack's output: segment headers ('== code 0x09000000'),\n        \
             label definitions ('Entry:'), lines of two-digit hex bytes and\n        \
             label references ('e8 f/disp32'). It reads all of it before writing.\n\
     Writes: on stdout, hex text: the ELF header, one program header per\n        \
             segment, then each line's bytes with every label resolved.\n\
     \n\
     Example:\n  \
       $ printf '== code 0x09000000\\nEntry:\\neb Entry/disp8\\n' | survey | tail -1\n  \
       eb fe \n"
        .to_string()
}

/// Where ELF program headers start, and the size of each.
const ELF_HEADER_SIZE: u64 = 0x34;
const PROGRAM_HEADER_SIZE: u64 = 0x20;
/// Addresses from here up are adjusted to their file offset; lower ones
/// must already agree with it (`language.md` 5.4).
const ADJUSTED_FROM: u32 = 0x0800_0000;

/// Lays out and translates all of `input`.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut text = Vec::new();
    input.read_to_end(&mut text)?;
    let mut body = Body::with_capacity(text.len(), line_map.is_on());
    let layout = Layout::of(&text, &mut body)?;
    body.fill_holes(&layout)?;
    let mut headers = Vec::with_capacity(200 + 100 * layout.segments.len());
    elf_header(&layout, &mut headers);
    line_map.next_output_generated();
    for segment in &layout.segments {
        program_header(segment, &mut headers);
        line_map.next_output_generated();
    }
    if let Some(origins) = &body.origins {
        origins.write_to(line_map);
    }
    output.write_all(&headers)?;
    output.write_all(&body.hex)?;
    Ok(())
}

/// One segment, as the headers of the input describe it.
struct Segment<'a> {
    name: &'a [u8],
    /// The address word of its first header, and that header's line.
    address_word: &'a [u8],
    header_line: u64,
    /// The address asked for, as a 32-bit pattern.
    requested: u32,
    /// Its bytes, counted in pass 1.
    size: u64,
    /// Where its bytes start in the file, and in memory (pass 2).
    file_offset: u64,
    address: u32,
}

impl Segment<'_> {
    fn is_code(&self) -> bool {
        self.name == b"code"
    }
}

/// A label: the segment it is in and its offset there. (The line of its
/// definition, needed only in messages, is kept apart: see [`Labels`].)
#[derive(Clone, Copy)]
struct Label {
    segment: usize,
    offset: u64,
}

/// Segments and labels, with their final addresses.
struct Layout<'a> {
    /// The whole input, for messages that describe a string literal.
    text: &'a [u8],
    segments: Vec<Segment<'a>>,
    labels: Labels,
    entry: u32,
}

/// The output after the headers. Pass 1 writes every line's bytes, with a
/// placeholder for each label reference (a hole), which pass 3 fills in.
struct Body<'a> {
    hex: Vec<u8>,
    holes: Vec<Hole<'a>>,
    /// For the line map, if one is kept: the runs of input lines, as
    /// (first, count), that the body's lines come from.
    origins: Option<Runs>,
}

/// A label reference waiting for its value, and what resolving it needs
/// to know about its line.
struct Hole<'a> {
    /// Where its placeholder starts in `Body::hex`.
    at: usize,
    /// The reference as written (`Value/disp32`).
    word: &'a [u8],
    line_no: u64,
    segment: usize,
    /// The offset, in its segment, of the byte after the line's
    /// instruction: relative displacements count from there.
    end: u64,
    opcode: Opcode,
}

/// The lines of `text`, numbered from 1, without their line feeds.
fn lines(text: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        number += 1;
        Some((number, line))
    })
}

/// The length of the run of bytes that starts `line` in pack's output
/// (`8b 45 f8 `): words of two characters, each followed by one space, that
/// can only be bytes: not `==`, not the start of a comment or of line
/// metadata, not a label definition. Pass 1 copies that run as it is.
fn packed_prefix(line: &[u8]) -> usize {
    let mut at = 0;
    while let Some(&[a, b, b' ']) = line.get(at..at + 3) {
        let is_byte = !is_space(a)
            && !is_space(b)
            && a != b'#'
            && a != b':'
            && b != b':'
            && (a, b) != (b'=', b'=');
        if !is_byte {
            break;
        }
        at += 3;
    }
    at
}

/// Is this word a label definition? Its last byte, or the last byte of its
/// datum, is `:` (decision 13: both count, and the second is an error).
fn is_definition(word: &[u8]) -> bool {
    // Survey asks this of every word, most of them two bytes long: a plain
    // loop finds the '/' sooner than `Word::datum`'s vectorised search.
    let datum = word.split(|&b| b == b'/').next().unwrap_or(word);
    word.last() == Some(&b':') || datum.last() == Some(&b':')
}

/// The bytes a non-definition word occupies (2.3): a two-character word is
/// one byte; a reference takes the width of its operand type.
fn width(word: &[u8]) -> u64 {
    if word.len() == 2 {
        return 1;
    }
    let w = Word::new(word);
    if w.has_metadata(b"imm32") || w.has_metadata(b"disp32") {
        4
    } else if w.has_metadata(b"imm16") || w.has_metadata(b"disp16") {
        2
    } else {
        1
    }
}

impl<'a> Layout<'a> {
    /// Pass 1 (sizes and label offsets) and pass 2 (addresses).
    /// Pass 1 also writes the lines' bytes into `body`.
    fn of(text: &'a [u8], body: &mut Body<'a>) -> Result<Layout<'a>, Error> {
        // A capacity hint, so that the table rarely grows while it fills:
        // one label per 256 bytes of input, as in generated 100 MB programs
        // (unused capacity costs address space, not memory).
        let labels = Labels::with_capacity(text.len() / 256);
        let mut layout = Layout { text, segments: Vec::new(), labels, entry: 0 };
        let mut by_name: HashMap<&'a [u8], usize> = HashMap::new();
        let mut by_address: HashMap<u32, usize> = HashMap::new();
        let mut current: Option<usize> = None;
        for (line_no, line) in lines(text) {
            let packed = packed_prefix(line);
            if let (Some(segment), 1..) = (current, packed) {
                // The common case: a line of pack's that starts with bytes.
                let rest = words::instruction_words(&line[packed..]);
                layout.instruction(line_no, &line[..packed], rest, segment, body)?;
                continue;
            }
            let mut words = words::instruction_words(line);
            let Some(first) = words.next() else {
                // Blank, or only a comment: an empty line.
                body.end_line(line_no);
                continue;
            };
            if first == b"==" {
                let rest = &text[(line.as_ptr() as usize - text.as_ptr() as usize + line.len()).min(text.len())..];
                let opened = layout.segment_header(line_no, words, current, rest, &mut by_name, &mut by_address)?;
                current = Some(opened);
                continue;
            }
            let Some(segment) = current else {
                let what = if is_definition(first) { "this label" } else { "this line" };
                return Err(Error::at(
                    line_no,
                    first,
                    format!(
                        "{what} comes before any segment header; begin the program with a header \
                         such as '== code 0x09000000'"
                    ),
                ));
            };
            if is_definition(first) {
                if let Some(next) = words.next() {
                    return Err(Error::at(
                        line_no,
                        first,
                        format!(
                            "a label definition must stand alone on its line (a comment may follow); \
                             move '{}' to the next line",
                            printable(next)
                        ),
                    ));
                }
                layout.define_label(line_no, first, segment)?;
                continue;
            }
            layout.instruction(line_no, b"", std::iter::once(first).chain(words), segment, body)?;
        }
        if layout.segments.is_empty() {
            return Err(Error::whole(
                "the input holds no segment, so there is nothing to translate; a program starts \
                 with a header such as '== code 0x09000000'",
            ));
        }
        if !layout.segments.iter().any(Segment::is_code) {
            return Err(Error::whole(
                "no 'code' segment; instructions must live under a '== code <address>' header",
            ));
        }
        layout.place_segments()?;
        layout.entry = layout.entry_address()?;
        Ok(layout)
    }

    /// Writes the bytes of an instruction or data line into `body`, with a
    /// placeholder for each label reference, and counts them into
    /// `segment`. The line's words are those of `packed` (see
    /// [`packed_prefix`]: bytes, copied as they are), then `words`; its
    /// first word is no label definition.
    fn instruction(
        &mut self,
        line_no: u64,
        packed: &'a [u8],
        words: impl Iterator<Item = &'a [u8]>,
        segment: usize,
        body: &mut Body<'a>,
    ) -> Result<(), Error> {
        let first_hole = body.holes.len();
        body.hex.extend_from_slice(packed);
        let mut size = (packed.len() / 3) as u64;
        // The first two words, which name the opcode.
        let mut opening: [&[u8]; 2] = [b"", b""];
        for (i, byte) in packed.chunks(3).take(2).enumerate() {
            opening[i] = &byte[..2];
        }
        for (i, word) in words.enumerate().map(|(i, word)| (i + packed.len() / 3, word)) {
            if i > 0 && word == b"==" {
                return Err(Error::at(
                    line_no,
                    word,
                    "a segment header must begin its line; put the '==' header on a line of its own",
                ));
            }
            if i > 0 && is_definition(word) {
                return Err(misplaced_definition(line_no, word));
            }
            if i < 2 {
                opening[i] = word;
            }
            if word.len() == 2 {
                body.hex.extend_from_slice(word);
                body.hex.push(b' ');
                size += 1;
            } else {
                let width = width(word);
                body.holes.push(Hole { at: body.hex.len(), word, line_no, segment, end: 0, opcode: Opcode::Other });
                body.hex.extend_from_slice(&PLACEHOLDER[..3 * width as usize]);
                size += width;
            }
        }
        body.end_line(line_no);
        let [first, second] = opening;
        let Some(s) = self.segments.get_mut(segment) else {
            return Err(Error::at(line_no, first, "internal error: line outside any segment"));
        };
        s.size += size;
        let holes = &mut body.holes[first_hole..];
        if !holes.is_empty() {
            let opcode = if s.is_code() { opcode_of(first, (!second.is_empty()).then_some(second)) } else { Opcode::Other };
            for hole in holes {
                hole.end = s.size;
                hole.opcode = opcode;
            }
        }
        Ok(())
    }

    /// Reads a header (`== NAME ADDRESS`, the `==` already taken) and
    /// returns the segment it opens.
    fn segment_header(
        &mut self,
        line_no: u64,
        mut words: impl Iterator<Item = &'a [u8]>,
        current: Option<usize>,
        rest: &'a [u8],
        by_name: &mut HashMap<&'a [u8], usize>,
        by_address: &mut HashMap<u32, usize>,
    ) -> Result<usize, Error> {
        let Some(name) = words.next() else {
            return Err(Error::at(
                line_no,
                b"==",
                "'==' must be followed by a segment name and, the first time, its start address \
                 (for example '== code 0x09000000')",
            ));
        };
        if let Some(&known) = by_name.get(name) {
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
            let example = if name == b"code" { "0x09000000" } else { "0x0a000000" };
            let also = if name == b"data" {
                " (every program needs a data segment, even an empty one)"
            } else {
                ""
            };
            let error = Error::at(
                line_no,
                name,
                format!(
                    "the first header of segment '{shown}' gives no start address; write for \
                     example '== {shown} {example}'{also}"
                ),
            );
            if name != b"data" {
                return Err(error);
            }
            // dquotes always appends a bare '== data' header for its strings:
            // if that is this one, the user wrote no data segment at all.
            return Err(error.if_generated(self.without_data_segment(rest)));
        };
        let requested = match number::parse(Word::new(address_word).text) {
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
        let index = self.segments.len();
        if let Some(&other) = by_address.get(&requested) {
            let other = &self.segments[other];
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
        by_address.insert(requested, index);
        by_name.insert(name, index);
        self.segments.push(Segment {
            name,
            address_word,
            header_line: line_no,
            requested,
            size: 0,
            file_offset: 0,
            address: 0,
        });
        Ok(index)
    }

    /// Records the label that `word` (`NAME:`) defines at the current end
    /// of `segment`.
    fn define_label(&mut self, line_no: u64, word: &'a [u8], segment: usize) -> Result<(), Error> {
        if memchr::memchr(b'/', word).is_some() {
            return Err(Error::at(
                line_no,
                word,
                format!(
                    "a label definition may not have an operand type or other metadata; write just '{}:'",
                    printable(word[..memchr::memchr(b'/', word).unwrap_or(word.len())].strip_suffix(b":").unwrap_or(word))
                ),
            ));
        }
        let name = &word[..word.len() - 1];
        check_label_name(line_no, word, name)?;
        let Some(seg) = self.segments.get(segment) else {
            return Err(Error::at(line_no, word, "internal error: label outside any segment"));
        };
        if name == b"Entry" && !seg.is_code() {
            return Err(Error::at(
                line_no,
                word,
                format!(
                    "'Entry' is defined in segment '{}'; it must label an instruction in the \
                     'code' segment",
                    printable(seg.name)
                ),
            ));
        }
        if !Labels::can_hold(name) {
            return Err(Error::at(line_no, word, "this label's name is longer than 4 GiB; pick a shorter one"));
        }
        let label = Label { segment, offset: seg.size };
        if let Some((earlier, earlier_line)) = self.labels.insert(name, label, line_no) {
            if name != b"Entry" {
                return Err(self.duplicate(name, (earlier, earlier_line), (label, line_no)));
            }
        }
        Ok(())
    }

    /// The error for a second definition of `name`.
    fn duplicate(&self, name: &[u8], (earlier, earlier_line): (Label, u64), (later, later_line): (Label, u64)) -> Error {
        let shown = printable(name);
        let segment_name = |i: usize| self.segments.get(i).map_or(String::new(), |s| printable(s.name));
        if name == b"run-tests" {
            // `tests` appends its own run-tests after the user's, so name
            // the user's line.
            return Error::on_line(
                earlier_line,
                "'run-tests' is generated automatically, calling every test- function, and may not \
                 be defined by hand; rename this function",
            );
        }
        let message = if earlier.segment == later.segment {
            format!("label '{shown}' is already defined at {}; a label may be defined only once", line_ref(earlier_line))
        } else {
            format!(
                "'{shown}' is already defined in segment '{}' at {}; a name may label only one place",
                segment_name(earlier.segment),
                line_ref(earlier_line)
            )
        };
        Error::on_line(later_line, message)
    }

    /// Pass 2: file offsets and addresses of the segments (2.5), checked.
    fn place_segments(&mut self) -> Result<(), Error> {
        let count = self.segments.len() as u64;
        if count > u64::from(u16::MAX) {
            return Err(Error::whole(format!("{count} segments; an ELF file holds at most 65535")));
        }
        let mut file_offset = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE * count;
        for segment in &mut self.segments {
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
        Ok(())
    }

    /// The address of `Entry`, which must be defined in `code`.
    fn entry_address(&self) -> Result<u32, Error> {
        let Some(entry) = self.labels.get(&b"Entry"[..]) else {
            return Err(Error::whole(
                "no 'Entry' label in the code segment, so the program has no starting point; \
                 put 'Entry:' before its first instruction",
            ));
        };
        Ok(self.address_of(entry))
    }

    /// What to say when the `data` header at hand was appended by
    /// `dquotes` rather than written: `rest` is the input after it.
    fn without_data_segment(&self, rest: &[u8]) -> String {
        let first_string = lines(rest).find_map(|(_, line)| {
            let first = words::instruction_words(line).next()?;
            let name = first.strip_suffix(b":")?;
            is_string_label(name).then_some(name)
        });
        match first_string {
            Some(name) => format!(
                "{} needs a data segment to live in; add a header such as '== data 0x0a000000' \
                 (an empty data segment is fine)",
                self.describe(name, rest)
            ),
            None if self.segments.is_empty() => "the program is empty: it holds no segment, so there is \
                 nothing to translate; a program starts with a header such as '== code 0x09000000'"
                .to_string(),
            None => "no 'data' segment; add a header such as '== data 0x0a000000' (an empty data \
                     segment is fine)"
                .to_string(),
        }
    }

    /// A label as a message names it: `'counter'`, or for the label
    /// `dquotes` gave a string literal, `string literal "hi"`. `text` holds
    /// the label's definition.
    fn describe(&self, name: &[u8], text: &[u8]) -> String {
        if is_string_label(name) {
            if let Some(literal) = string_literal(text, name) {
                return format!("string literal {literal}");
            }
        }
        format!("'{}'", printable(name))
    }

    fn address_of(&self, label: Label) -> u32 {
        let base = self.segments.get(label.segment).map_or(0, |s| s.address);
        base.wrapping_add(label.offset as u32)
    }
}

/// The error for a label definition that is not the first word of its line.
fn misplaced_definition(line_no: u64, word: &[u8]) -> Error {
    let w = Word::new(word);
    if w.has_any_metadata() {
        let datum = w.datum();
        let bare = datum.strip_suffix(b":").unwrap_or(datum);
        let mut fixed = bare.to_vec();
        fixed.extend_from_slice(&word[datum.len()..]);
        return Error::at(
            line_no,
            word,
            format!("refer to labels without the ':' (write '{}')", printable(&fixed)),
        );
    }
    Error::at(
        line_no,
        word,
        "a label definition must be the first word on its line, and stand alone there; put it \
         on a line of its own",
    )
}

/// Refuses the names the C++ translator refuses (`language.md` 7.1,
/// CONTRACT decision 14).
fn check_label_name(line_no: u64, word: &[u8], name: &[u8]) -> Result<(), Error> {
    // Converted only when shown: survey checks every label, and making a
    // String each time was an allocation per label.
    let shown = Shown(name);
    let problem = match name {
        [] => "is empty".to_string(),
        [b'0', b'x', ..] => "looks like a hex number".to_string(),
        [b'0'..=b'9', ..] => "starts with a digit and could be read as a number".to_string(),
        [b'-', ..] => "starts with '-' and could be read as a negative number".to_string(),
        [_, _] => "is two characters long and could be read as a hex byte".to_string(),
        _ => return Ok(()),
    };
    Err(Error::at(line_no, word, format!("label '{shown}' {problem}; pick another name")))
}

/// Is `name` one that `dquotes` gives a string literal, `_string<digits>`?
/// Users may not define such names (dquotes refuses them).
fn is_string_label(name: &[u8]) -> bool {
    name.strip_prefix(b"_string").is_some_and(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
}

/// The string literal that label `name` holds in `text`, quoted and
/// escaped as the user would write it (shortened when long), from the
/// bytes after its definition: a 4-byte length, then the characters.
fn string_literal(text: &[u8], name: &[u8]) -> Option<String> {
    let mut lines = lines(text).map(|(_, line)| line);
    lines.find(|line| {
        let mut words = words::instruction_words(line);
        words.next().and_then(|w| w.strip_suffix(b":")) == Some(name)
    })?;
    let mut bytes = Vec::new();
    'lines: for line in lines {
        for word in words::instruction_words(line) {
            let &[high, low] = word else { break 'lines };
            let digit = |c: u8| (c as char).to_digit(16);
            let (Some(high), Some(low)) = (digit(high), digit(low)) else { break 'lines };
            bytes.push((high * 16 + low) as u8);
            if bytes.len() >= 4 + 40 {
                break 'lines;
            }
        }
    }
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let chars = bytes.get(4..)?;
    let shown = &chars[..chars.len().min(length).min(30)];
    let mut text = String::from("\"");
    for &b in shown {
        match b {
            b'\n' => text.push_str("\\n"),
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text.push_str(if length > shown.len() { "...\"" } else { "\"" });
    Some(text)
}

/// Writes `bytes` as hex text, each byte followed by a space, then a line feed.
fn push_hex_line(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        number::push_hex_byte(out, b);
        out.push(b' ');
    }
    out.push(b'\n');
}

/// The 52-byte ELF header (2.7.1).
fn elf_header(layout: &Layout, out: &mut Vec<u8>) {
    let mut h = [0u8; 52];
    h[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0]);
    h[0x10..0x18].copy_from_slice(&[2, 0, 3, 0, 1, 0, 0, 0]);
    h[0x18..0x1c].copy_from_slice(&layout.entry.to_le_bytes());
    h[0x1c..0x20].copy_from_slice(&(ELF_HEADER_SIZE as u32).to_le_bytes());
    h[0x28..0x2a].copy_from_slice(&(ELF_HEADER_SIZE as u16).to_le_bytes());
    h[0x2a..0x2c].copy_from_slice(&(PROGRAM_HEADER_SIZE as u16).to_le_bytes());
    h[0x2c..0x2e].copy_from_slice(&(layout.segments.len() as u16).to_le_bytes());
    push_hex_line(out, &h);
}

/// One 32-byte program header (2.7.2): loaded, readable, executable only
/// for `code`.
fn program_header(segment: &Segment, out: &mut Vec<u8>) {
    let flags: u32 = if segment.is_code() { 5 } else { 6 };
    let fields = [
        1,
        segment.file_offset as u32,
        segment.address,
        segment.address,
        segment.size as u32,
        segment.size as u32,
        flags,
        0x1000,
    ];
    let mut h = [0u8; 32];
    for (chunk, field) in h.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&field.to_le_bytes());
    }
    push_hex_line(out, &h);
}

/// What a code line's opcode says about its displacements (decision 15).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opcode {
    /// `e8`, `e9`, `0f 82`..`0f 8f`: the disp32 is relative.
    NearJump,
    /// `eb`, `72`..`7f`: the disp8 is relative.
    ShortJump,
    /// Anything else: a displacement belongs to a ModR/M operand.
    Other,
}

/// The opcode of a code line: its first word, or first two for `0f xx`,
/// looked up in the opcode table. An opcode's own displacement (its tail,
/// not a ModR/M one) is always relative: `e8`, `e9`, `0f 82`..`0f 8f` take
/// a disp32, `eb` and `72`..`7f` a disp8.
fn opcode_of(first: &[u8], second: Option<&[u8]>) -> Opcode {
    let opcode = match hex_byte(first) {
        Some(opcodes::TWO_BYTE_PREFIX) => second.and_then(hex_byte).and_then(opcodes::two_byte),
        Some(byte) => opcodes::one_byte(byte),
        None => None,
    };
    match opcode.map(|o| o.tail) {
        Some(Tail::Disp32) => Opcode::NearJump,
        Some(Tail::Disp8) => Opcode::ShortJump,
        _ => Opcode::Other,
    }
}

/// The byte a word of two lowercase hex digits spells, as `pack` writes
/// opcodes.
fn hex_byte(word: &[u8]) -> Option<u8> {
    if word.len() != 2 {
        return None;
    }
    number::parse(word).ok().and_then(|v| u8::try_from(v).ok())
}

/// How many label references pass 3 looks up together (see `Labels::warm`).
const WARM_BATCH: usize = 16;

/// What pass 1 writes for a reference until pass 3 knows its value: a
/// byte of zeros for each byte it occupies (`width`).
const PLACEHOLDER: &[u8; 12] = b"00 00 00 00 ";

impl Body<'_> {
    fn with_capacity(input_len: usize, keep_origins: bool) -> Self {
        Body { hex: Vec::with_capacity(input_len), holes: Vec::new(), origins: keep_origins.then(Runs::default) }
    }

    /// Ends the body's line, which came from input line `line_no`.
    fn end_line(&mut self, line_no: u64) {
        self.hex.push(b'\n');
        if let Some(origins) = &mut self.origins {
            origins.push_line(line_no);
        }
    }

    /// Pass 3: resolves every reference, in input order (2.7.3), and writes
    /// its value over its placeholder.
    fn fill_holes(&mut self, layout: &Layout) -> Result<(), Error> {
        for batch in self.holes.chunks(WARM_BATCH) {
            let hashes = layout.labels.warm(batch.iter().map(|hole| Word::new(hole.word).datum()));
            for (hole, &hash) in batch.iter().zip(&hashes) {
                let (value, size) = hole.resolve(layout, hash)?;
                // A reference that resolves has exactly one operand type, which
                // gives both its size and its placeholder's.
                debug_assert_eq!(size as u64, width(hole.word));
                for (i, &byte) in value.to_le_bytes()[..size].iter().enumerate() {
                    let [high, low] = number::hex_digits(byte);
                    self.hex[hole.at + 3 * i] = high;
                    self.hex[hole.at + 3 * i + 1] = low;
                }
            }
        }
        Ok(())
    }
}

/// The operand types a reference may carry.
const OPERAND_TYPES: [&[u8]; 6] = [b"imm32", b"disp32", b"disp8", b"imm8", b"imm16", b"disp16"];

impl Hole<'_> {
    /// The reference's value and its width in bytes; `name_hash` is
    /// `Labels::hash` of the label it names.
    fn resolve(&self, layout: &Layout, name_hash: u32) -> Result<(u32, usize), Error> {
        let word = self.word;
        let w = Word::new(word);
        let name = w.datum();
        // A string literal is named by its text, never by its label.
        let fail = |message: String| {
            if is_string_label(name) {
                Err(Error::on_line(self.line_no, message))
            } else {
                Err(Error::at(self.line_no, word, message))
            }
        };
        if name.is_empty() {
            return fail("has no value before its '/'; write a label name or a number there".into());
        }
        if number::looks_like_number(name) {
            return fail(
                "is a number where survey expects packed bytes ('2a') or a label reference; \
                 numbers are packed by pack"
                    .into(),
            );
        }
        let mut types = w.metadata().filter(|m| OPERAND_TYPES.contains(m));
        let shown = Shown(name);
        let kind: &[u8] = match (types.next(), types.next()) {
            (None, _) if is_string_label(name) => {
                let literal = layout.describe(name, layout.text);
                let written = literal.trim_start_matches("string literal ");
                return fail(format!(
                    "{literal} in a data segment must be written as '{written}/imm32' (its address, 4 bytes)"
                ));
            }
            (None, _) => {
                return fail(format!(
                    "label reference without an operand type; write '{shown}/imm32' for its address"
                ))
            }
            (Some(one), None) => one,
            (Some(_), Some(_)) => {
                return fail("has more than one operand type; give a label reference exactly one".into())
            }
        };
        let Some(label) = layout.labels.get_hashed(name, name_hash) else {
            let kind = Shown(kind);
            return fail(format!("label '{shown}' is not defined anywhere (used as {kind})"));
        };
        let here = layout.segments.get(self.segment);
        let in_code = here.is_some_and(Segment::is_code);
        let target = layout.segments.get(label.segment);
        let to_code = target.is_some_and(Segment::is_code);
        let address = layout.address_of(label);
        let opcode = self.opcode;
        if !to_code {
            // The valid uses first: `what` below may scan the whole input
            // (describe), which on every reference made survey quadratic.
            match kind {
                b"imm32" => return Ok((address, 4)),
                b"disp32" if !(in_code && opcode == Opcode::NearJump) => return Ok((address, 4)),
                _ => {}
            }
            let segment = target.map_or(&b""[..], |s| s.name);
            // "... and cannot be called or jumped to"
            let what = if is_string_label(name) {
                format!("{} is data and", layout.describe(name, layout.text))
            } else if segment == b"data" {
                format!("'{shown}' is a data label (defined at {}) and", line_ref(layout.labels.definition_line(name)))
            } else {
                format!("'{shown}' is a label in segment '{}' (defined at {}) and", Shown(segment), line_ref(layout.labels.definition_line(name)))
            };
            let typed = Shown(kind);
            return match kind {
                b"imm32" => Ok((address, 4)),
                b"disp32" if in_code && opcode == Opcode::NearJump => fail(format!(
                    "{what} cannot be called or jumped to: calls and jumps (e8, e9, 0f 8x) need a code label"
                )),
                b"disp32" => Ok((address, 4)),
                b"disp8" if in_code && opcode == Opcode::ShortJump => fail(format!(
                    "{what} cannot be a jump target (disp8): jumps need a code label"
                )),
                _ => fail(format!(
                    "{what} cannot be used as {typed}: its address takes 32 bits, so refer to it \
                     with /imm32 (or /disp32 in a ModR/M operand)"
                )),
            };
        }
        match kind {
            b"imm32" => Ok((address, 4)),
            b"disp32" | b"disp8" if !in_code => fail(format!(
                "'{shown}' is a code label; outside the code segment it can only be used as an \
                 absolute address, '{shown}/imm32'"
            )),
            b"disp32" if opcode == Opcode::NearJump => {
                let distance = self.distance(label);
                Ok((distance as u32, 4))
            }
            b"disp32" if opcode == Opcode::ShortJump => fail(format!(
                "a short jump (eb, 7x) takes an 8-bit displacement: write '{shown}/disp8', or use \
                 a near jump (e9, 0f 8x) for '/disp32'"
            )),
            b"disp32" => fail(format!(
                "'{shown}' is a code label; as the disp32 of a ModR/M operand it would be encoded \
                 as a relative offset where the CPU expects an address (use /disp32 only on calls \
                 and jumps: e8, e9, 0f 8x)"
            )),
            b"disp8" if opcode == Opcode::ShortJump => {
                let distance = self.distance(label);
                if !(-0x80..=0x7f).contains(&distance) {
                    return fail(format!(
                        "'{shown}' is {} bytes away, too far for a disp8 (-0x80..0x7f); use a \
                         disp32 jump (e9 or 0f 8x)",
                        signed_hex(distance)
                    ));
                }
                Ok((distance as u32, 1))
            }
            b"disp8" if opcode == Opcode::NearJump => fail(format!(
                "calls and near jumps (e8, e9, 0f 8x) take a 32-bit displacement: write '{shown}/disp32'"
            )),
            b"disp8" => fail(format!(
                "'{shown}' is a code label; a disp8 to it is only meaningful on a short jump \
                 (eb, 7x), not in a ModR/M operand"
            )),
            _ => fail(format!(
                "'{shown}' is a code label and cannot be used as {}: refer to it with /imm32 (its \
                 address), /disp32 (calls and jumps) or /disp8 (short jumps)",
                Shown(kind)
            )),
        }
    }

    /// From the end of this line to `label`, both in the line's segment.
    fn distance(&self, label: Label) -> i64 {
        label.offset as i64 - self.end as i64
    }
}

/// Bytes shown in a message, converted only when the message is made.
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(self.0))
    }
}

/// The labels by name, laid out for cheap look-ups: `survey` looks up a
/// label for every reference, 800,000 times in a 100 MB program.
///
/// Such a program has half a million labels, too many for the table to
/// stay in the fastest caches, so a look-up costs about one cache miss per
/// piece of memory it touches. This table touches two: one 24-byte slot
/// (open addressing, linear probing) that holds the label's segment and
/// offset, 32 bits of its name's hash and where the name is; and the name's
/// bytes, copied into one compact arena (9 MB, where the names in the
/// 124 MB input lie far apart). Names are compared only when the hashes
/// match. The line of each definition, needed only for messages, goes into
/// the arena just before its name, so that the slots stay small enough
/// (24 MB for half a million labels) to mostly fit the last-level cache.
struct Labels {
    /// A power-of-two number of slots, at most half of them used.
    slots: Vec<Slot>,
    /// For each label, the line of its definition (8 bytes, little-endian)
    /// and then its name.
    names: Vec<u8>,
    /// How many slots are used.
    count: usize,
}

/// A place in `Labels::slots`: free, or a label with its name's hash and
/// where its name lies in `Labels::names`. Segment and offset fit 32 bits
/// in any program survey can lay out: `place_segments` rejects more than
/// 65535 segments or 4 GiB before any label is used, so the saturated
/// values `Label::to_slot` may store are never read.
#[derive(Clone, Copy)]
struct Slot {
    name_at: u64,
    name_len: u32,
    hash: u32,
    segment: u32,
    offset: u32,
}

impl Slot {
    const FREE: Slot = Slot { name_at: u64::MAX, name_len: 0, hash: 0, segment: 0, offset: 0 };

    fn is_free(&self) -> bool {
        self.name_at == u64::MAX
    }

    fn name_range(&self) -> std::ops::Range<usize> {
        let start = usize::try_from(self.name_at).unwrap_or(usize::MAX);
        start..start.saturating_add(self.name_len as usize)
    }
}

impl Labels {
    /// An empty table with room for about `count` labels.
    fn with_capacity(count: usize) -> Labels {
        let slots = (2 * count).next_power_of_two().max(16);
        Labels { slots: vec![Slot::FREE; slots], names: Vec::with_capacity(count * 20), count: 0 }
    }

    /// Can `name` be a label? Its length must fit the 32 bits of a slot.
    fn can_hold(name: &[u8]) -> bool {
        u32::try_from(name.len()).is_ok()
    }

    /// 32 bits of a good 64-bit hash; its low bits pick the first slot.
    fn hash(name: &[u8]) -> u32 {
        let mut hasher = NameHasher::default();
        hasher.write(name);
        (hasher.finish() >> 32) as u32
    }

    /// Where `name` is in `slots`: `Ok` with its slot, or `Err` with the
    /// free slot where it would go.
    fn find(&self, name: &[u8], hash: u32) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.is_free() {
                return Err(i);
            }
            if slot.hash == hash && self.names.get(slot.name_range()) == Some(name) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Brings into the caches the slots and names that looking up `names`
    /// (at most [`WARM_BATCH`]) will read first, so that their cache misses
    /// overlap instead of coming one after another: a table of half a
    /// million labels does not fit the caches, and a look-up that misses
    /// waits for memory twice (slot, then name). Loads that do not depend
    /// on each other, issued close together, are fetched together.
    /// Returns the names' hashes, for [`Labels::get_hashed`].
    fn warm<'n>(&self, names: impl Iterator<Item = &'n [u8]>) -> [u32; WARM_BATCH] {
        let mask = self.slots.len() - 1;
        let mut hashes = [0u32; WARM_BATCH];
        let mut count = 0;
        for (hash, name) in hashes.iter_mut().zip(names) {
            *hash = Labels::hash(name);
            count += 1;
        }
        let first_slots = || hashes[..count].iter().map(|&hash| hash as usize & mask);
        let mut touched = 0u64;
        for i in first_slots() {
            touched ^= self.slots[i].name_at;
        }
        for i in first_slots() {
            let at = usize::try_from(self.slots[i].name_at).unwrap_or(usize::MAX);
            touched ^= u64::from(self.names.get(at).copied().unwrap_or(0));
        }
        std::hint::black_box(touched);
        hashes
    }

    fn get(&self, name: &[u8]) -> Option<Label> {
        self.get_hashed(name, Labels::hash(name))
    }

    /// [`Labels::get`] for a name whose hash is known already.
    fn get_hashed(&self, name: &[u8], hash: u32) -> Option<Label> {
        let i = self.find(name, hash).ok()?;
        Some(self.label_at(i))
    }

    /// The line where `name` is defined (0 if it is not), for messages.
    fn definition_line(&self, name: &[u8]) -> u64 {
        self.find(name, Labels::hash(name)).map_or(0, |i| self.line_at(i))
    }

    fn line_at(&self, i: usize) -> u64 {
        let name = self.slots[i].name_range().start;
        let line = name.checked_sub(8).and_then(|at| self.names.get(at..name));
        line.and_then(|bytes| bytes.try_into().ok()).map_or(0, u64::from_le_bytes)
    }

    fn label_at(&self, i: usize) -> Label {
        let slot = &self.slots[i];
        Label { segment: slot.segment as usize, offset: u64::from(slot.offset) }
    }

    /// Defines `name` (see `can_hold`) as `label`, at input line `line`;
    /// returns its earlier definition and line, which `label` replaces, if
    /// there was one (as `HashMap::insert` does).
    fn insert(&mut self, name: &[u8], label: Label, line: u64) -> Option<(Label, u64)> {
        let hash = Labels::hash(name);
        let segment = u32::try_from(label.segment).unwrap_or(u32::MAX);
        let offset = u32::try_from(label.offset).unwrap_or(u32::MAX);
        let mut free = match self.find(name, hash) {
            Ok(i) => {
                let earlier = (self.label_at(i), self.line_at(i));
                (self.slots[i].segment, self.slots[i].offset) = (segment, offset);
                let name = self.slots[i].name_range().start;
                self.names[name - 8..name].copy_from_slice(&line.to_le_bytes());
                return Some(earlier);
            }
            Err(free) => free,
        };
        if 2 * (self.count + 1) > self.slots.len() {
            self.grow();
            free = self.free_slot(hash);
        }
        self.names.extend_from_slice(&line.to_le_bytes());
        self.slots[free] = Slot { name_at: self.names.len() as u64, name_len: name.len() as u32, hash, segment, offset };
        self.names.extend_from_slice(name);
        self.count += 1;
        None
    }

    /// The first free slot from where `hash` starts looking.
    fn free_slot(&self, hash: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while !self.slots[i].is_free() {
            i = (i + 1) & mask;
        }
        i
    }

    /// Doubles the slots; the hash kept in each says where it goes.
    fn grow(&mut self) {
        let doubled = vec![Slot::FREE; 2 * self.slots.len()];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|s| !s.is_free()) {
            let i = self.free_slot(slot.hash);
            self.slots[i] = slot;
        }
    }
}

/// A fast hash for label names: each 8-byte chunk of the name (the last
/// one zero-padded, then the length) is folded in with a 64x64->128-bit
/// multiply whose halves are xored, the mixing step of rustc-hash 2 and
/// foldhash. The std hasher resists crafted collisions, which matters for
/// servers, not for a program's own labels, and is slower.
///
/// An earlier FxHasher-style hash (rotate, xor, multiply) mixed so little
/// that one name in seven of a 100 MB program shared its full 64-bit hash
/// with another, and look-ups grew superlinear comparing names.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl NameHasher {
    /// Folds `word` into `hash`.
    fn mix(hash: u64, word: u64) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(hash ^ word) * u128::from(K);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            hash = NameHasher::mix(hash, u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        hash = NameHasher::mix(hash, u64::from_le_bytes(last));
        self.0 = NameHasher::mix(hash, bytes.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn signed_hex(value: i64) -> String {
    if value < 0 {
        format!("-0x{:x}", value.unsigned_abs())
    } else {
        format!("0x{value:x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey(text: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        run(&mut text.as_bytes(), &mut out, &mut LineMap::off())?;
        Ok(String::from_utf8(out).expect("survey writes ASCII"))
    }

    /// The output's body: the lines after the ELF and program headers.
    fn body_of(text: &str) -> Vec<String> {
        let out = survey(text).unwrap_or_else(|e| panic!("{e}"));
        let segments = text.lines().filter(|l| l.split_whitespace().next() == Some("==")).count();
        out.lines().skip(1 + segments).map(String::from).collect()
    }

    /// The 32-bit little-endian field at byte `at` of output line `line`.
    fn field(text: &str, line: usize, at: usize) -> u32 {
        let out = survey(text).unwrap_or_else(|e| panic!("{e}"));
        let bytes: Vec<u8> = out
            .lines()
            .nth(line)
            .expect("line exists")
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect();
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    fn error(text: &str) -> Error {
        match survey(text) {
            Ok(out) => panic!("expected an error, got:\n{out}"),
            Err(e) => e,
        }
    }

    const CODE: &str = "== code 0x09000000\nEntry:\n";

    #[test]
    fn packed_bytes_read_quickly_give_what_the_words_give() {
        // A line read through `packed_prefix` must survey as the same line
        // with tabs between its words, which never takes that path.
        let pieces = [
            "8b ", "e8 ", "0f ", "84 ", "eb ", "== ", "x: ", ":/ ", ":m ", "#c ", "# c", "a#", ". ", "  ", "2a",
            "there/disp32 ", "there/disp8 ", "there/imm32 ", "here: ", "d/imm32 ", "zz/disp16 ", "1/x ",
        ];
        let program = |line: &str| format!("{CODE}{line}\nthere:\n== data 0x0a000000\nd:\n00\n");
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let line: String = (0..=(state >> 61)).map(|k| pieces[((state >> (5 * k)) % 22) as usize]).collect();
            let quick = survey(&program(&line));
            let slow = survey(&program(&line.replace(' ', "\t")));
            match (quick, slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "line {line:?}"),
                (Err(a), Err(b)) => assert_eq!(
                    (a.line, a.word, a.message),
                    (b.line, b.word.map(|w| w.iter().map(|&c| if c == b'\t' { b' ' } else { c }).collect()), b.message),
                    "line {line:?}"
                ),
                (a, b) => panic!("line {line:?}: {:?} against {:?}", a.map(|_| ()), b.map(|_| ())),
            }
        }
    }

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
    fn entry_may_be_defined_twice_and_the_last_definition_wins() {
        let text = "== code 0x09000000\nEntry:\n90\nEntry:\n90\n";
        assert_eq!(field(text, 0, 0x18), 0x0900_0055);
    }

    #[test]
    fn entry_must_be_in_code() {
        let e = error("== code 0x09000000\n90\n== data 0x0a000000\nEntry:\n00\n");
        assert_eq!(e.line, Some(4));
        let e = error("== code 0x09000000\n90\n");
        assert_eq!(e.line, None, "no Entry at all is about the whole program");
    }

    #[test]
    fn a_program_needs_a_segment_and_a_code_segment() {
        assert_eq!(error("").line, None);
        assert_eq!(error("# only a comment\n").line, None);
        let e = error("== data 0x0a000000\nx:\n00\n");
        assert!(e.message.contains("no 'code' segment"), "{e}");
    }

    #[test]
    fn nothing_may_come_before_the_first_header() {
        assert_eq!(error("01\n== code 0x09000000\nEntry:\n").line, Some(1));
        assert_eq!(error("Entry:\n== code 0x09000000\n").line, Some(1));
        assert!(survey("# comment first\n\n== code 0x09000000\nEntry:\n").is_ok());
    }

    #[test]
    fn header_and_label_lines_vanish_and_comment_lines_become_empty() {
        let text = "# c\n== code 0x09000000\n\nEntry:  # start\n  01   02  # two bytes\n";
        assert_eq!(body_of(text), ["", "", "01 02 "]);
    }

    #[test]
    fn a_final_line_without_line_feed_still_gets_one() {
        assert!(survey(&format!("{CODE}01 02")).unwrap().ends_with("\n01 02 \n"));
    }

    #[test]
    fn fillers_and_line_metadata_are_not_read() {
        assert_eq!(body_of(&format!("{CODE}. 01 . 02 :meta Entry/disp8\n")), ["01 02 "]);
    }

    #[test]
    fn two_character_words_are_copied_for_hex_to_check() {
        assert_eq!(body_of(&format!("{CODE}zz AB\n")), ["zz AB "]);
    }

    #[test]
    fn every_whitespace_separates_words() {
        assert_eq!(body_of(&format!("{CODE}\t01\x0b02\x0c03\r\n")), ["01 02 03 "]);
    }

    #[test]
    fn displacements_count_from_the_end_of_the_line() {
        let text = format!("{CODE}eb Entry/disp8\ne8 next/disp32\n90\nnext:\nc3\n");
        assert_eq!(body_of(&text), ["eb fe ", "e8 01 00 00 00 ", "90 ", "c3 "]);
    }

    #[test]
    fn two_byte_jumps_are_relative() {
        let text = format!("{CODE}0f 84 Entry/disp32\n");
        assert_eq!(body_of(&text), ["0f 84 fa ff ff ff "]);
    }

    #[test]
    fn displacements_ignore_segments_placed_before_code() {
        let text = "== data 0x0a000000\n00 00 00 00\n== code 0x09000000\nEntry:\neb Entry/disp8\n";
        assert_eq!(body_of(text), ["00 00 00 00 ", "eb fe "]);
    }

    #[test]
    fn a_disp8_of_minus_0x80_fits_and_minus_0x81_does_not() {
        let pad = "05 00 00 00 00\n".repeat(25); // 125 bytes
        assert!(survey(&format!("{CODE}90\n{pad}eb Entry/disp8\n")).is_ok());
        let e = error(&format!("{CODE}90 90\n{pad}eb Entry/disp8\n"));
        assert_eq!(e.line, Some(29));
        assert!(e.message.contains("-0x81"), "{e}");
    }

    #[test]
    fn imm32_is_the_absolute_address_of_any_label() {
        let text = "== code 0x09000000\nEntry:\nb8 Entry/imm32\n== data 0x0a000000\nx:\nEntry/imm32 x/imm32\n";
        assert_eq!(body_of(text), ["b8 74 00 00 09 ", "74 00 00 09 79 00 00 0a "]);
    }

    #[test]
    fn a_data_label_as_disp32_is_absolute_except_on_calls_and_jumps() {
        let text = "== code 0x09000000\nEntry:\n8b 0d x/disp32\n== data 0x0a000000\nx:\n00\n";
        assert_eq!(body_of(text), ["8b 0d 7a 00 00 0a ", "00 "]);
        let e = error("== code 0x09000000\nEntry:\ne8 x/disp32\n== data 0x0a000000\nx:\n00\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("cannot be called or jumped to"), "{e}");
    }

    #[test]
    fn a_data_label_takes_only_imm32_or_disp32() {
        for word in ["x/disp8", "x/imm8", "x/imm16", "x/disp16"] {
            let e = error(&format!("{CODE}cd {word}\n== data 0x0a000000\nx:\n00\n"));
            assert_eq!(e.line, Some(3), "{word}");
        }
    }

    #[test]
    fn a_code_label_as_a_modrm_displacement_is_an_error() {
        assert_eq!(error(&format!("{CODE}8b 0d Entry/disp32\n")).line, Some(3));
        assert_eq!(error(&format!("{CODE}8b 4d Entry/disp8\n")).line, Some(3));
    }

    #[test]
    fn a_code_label_in_data_is_only_an_absolute_address() {
        let e = error(&format!("{CODE}90\n== data 0x0a000000\nEntry/disp32\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("Entry/imm32"), "{e}");
    }

    #[test]
    fn a_code_label_takes_only_imm32_disp32_or_disp8() {
        for word in ["Entry/imm8", "Entry/disp16", "Entry/imm16"] {
            assert_eq!(error(&format!("{CODE}cd {word}\n")).line, Some(3), "{word}");
        }
    }

    #[test]
    fn a_reference_needs_exactly_one_operand_type() {
        assert!(error(&format!("{CODE}b8 Entry\n")).message.contains("without an operand type"));
        assert!(error(&format!("{CODE}b8 Entry/imm32/imm8\n")).message.contains("more than one"));
        assert_eq!(body_of(&format!("{CODE}b8 Entry/imm32/pointer\n")), ["b8 54 00 00 09 "]);
    }

    #[test]
    fn numbers_must_come_packed() {
        for word in ["0x12/imm32", "100", "-1/imm32", "5"] {
            let e = error(&format!("{CODE}b8 {word}\n"));
            assert!(e.message.contains("is a number"), "{word}: {e}");
        }
        assert!(error(&format!("{CODE}b8 /imm32\n")).message.contains("no value"));
    }

    #[test]
    fn an_undefined_label_is_reported_at_the_reference() {
        let e = error(&format!("{CODE}90\ne8 nowhere/disp32\n"));
        assert_eq!((e.line, e.word.as_deref()), (Some(4), Some(&b"nowhere/disp32"[..])));
        assert!(e.message.contains("'nowhere' is not defined"), "{e}");
    }

    #[test]
    fn the_label_table_grows_and_keeps_every_label_and_line() {
        let mut labels = Labels::with_capacity(1);
        let name = |i: usize| format!("label-{i}").into_bytes();
        for i in 0..5_000 {
            assert!(labels.insert(&name(i), Label { segment: i % 3, offset: 7 * i as u64 }, 10 + i as u64).is_none());
        }
        for i in 0..5_000 {
            let label = labels.get(&name(i)).expect("defined");
            assert_eq!((label.segment, label.offset), (i % 3, 7 * i as u64));
            assert_eq!(labels.definition_line(&name(i)), 10 + i as u64);
        }
        let (earlier, line) = labels.insert(&name(42), Label { segment: 1, offset: 1 }, 99_999).expect("redefined");
        assert_eq!((earlier.segment, earlier.offset, line), (0, 294, 52));
        assert_eq!(labels.definition_line(&name(42)), 99_999);
        assert!(labels.get(b"label-5000").is_none());
        assert_eq!(labels.definition_line(b"label-5000"), 0);
    }

    #[test]
    fn a_label_defined_twice_is_reported_at_the_second_definition() {
        let e = error(&format!("{CODE}again:\n90\nagain:\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.to_string().contains("already defined at line 3"), "{e}");
    }

    #[test]
    fn a_name_may_not_label_both_code_and_data() {
        let e = error(&format!("{CODE}thing:\n90\n== data 0x0a000000\nthing:\n00\n"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("segment 'code'"), "{e}");
    }

    #[test]
    fn a_hand_written_run_tests_is_reported_where_the_user_wrote_it() {
        let e = error(&format!("{CODE}run-tests:\nc3\nrun-tests:\nc3\n"));
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn a_label_stands_alone_on_its_line() {
        assert_eq!(error(&format!("{CODE}start: 01 02\n")).line, Some(3));
        assert_eq!(error(&format!("{CODE}01 here:\n")).line, Some(3));
        assert_eq!(error("== code 0x09000000\nEntry:\n== data 0x0a000000\nPair: 05 06\n").line, Some(4));
        assert_eq!(body_of(&format!("{CODE}here:  # fine\n01\n")), ["01 "]);
    }

    #[test]
    fn a_label_definition_carries_no_metadata() {
        assert_eq!(error(&format!("{CODE}loop:/disp8\n")).line, Some(3));
        assert_eq!(error(&format!("{CODE}test-a:/x\n")).line, Some(3));
        let e = error(&format!("{CODE}e9 done:/disp32\ndone:\n"));
        assert!(e.message.contains("without the ':'"), "{e}");
    }

    #[test]
    fn label_names_that_look_like_numbers_are_refused() {
        for name in ["xy", "1st", "0xfeed", "-step"] {
            assert_eq!(error(&format!("{CODE}{name}:\n")).line, Some(3), "{name}");
        }
        for name in ["a", "$xy", "abc", "a:b"] {
            assert!(survey(&format!("{CODE}{name}:\n")).is_ok(), "{name}");
        }
    }

    #[test]
    fn a_header_begins_its_line() {
        let e = error(&format!("{CODE}cd 80 == data 0x0a000000\n"));
        assert_eq!((e.line, e.word.as_deref()), (Some(3), Some(&b"=="[..])));
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

    #[test]
    fn two_segments_may_not_start_at_the_same_address() {
        let e = error("== code 0x09000000\nEntry:\n== data 9000000\n");
        assert_eq!((e.line, e.word.as_deref()), (Some(3), Some(&b"9000000"[..])));
    }

    #[test]
    fn the_line_map_covers_copied_lines_only() {
        let mut map = LineMap::in_memory();
        let text = b"== code 0x09000000\nEntry:\n01\n# c\n== data 0x0a000000\n02\n";
        run(&mut &text[..], &mut Vec::new(), &mut map).unwrap();
        // ELF header and two program headers are made up; then input lines
        // 3, 4 and 6.
        assert_eq!(map.finish_to_string(), "4 3 2\n6 6 1\n");
    }
}

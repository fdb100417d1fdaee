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
//! reads all of it once into one buffer; segments and references borrow
//! their names from it. It reads each line once: pass 1 lays out segments
//! and labels and writes the line's bytes, with a placeholder for each
//! label reference; pass 2 places the segments; pass 3 visits only the
//! references, and writes each one's value over its placeholder.
//!
//! This file holds `run` and pass 1; each of the other jobs has a module
//! of its own, in `survey/`:
//! - `segments.rs`: segment headers, and pass 2, which places the segments;
//! - `resolve.rs`: pass 3's rule for each reference, as one small table;
//! - `elf.rs`: the ELF headers, field by field;
//! - `labels.rs`: the label table, a faster `HashMap` for this job (a
//!   reader may take it for one and skip the file);
//! - `literals.rs`: how messages name the labels of string literals.
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
//!   excepted: the last definition wins), with a valid name (not one that
//!   reads as a number, `+abc` included: decision 35), references typed as
//!   their kind allows, segment addresses valid and distinct, segments
//!   apart in memory and below 4 GiB (decision 36).

mod elf;
mod labels;
mod literals;
mod resolve;
mod segments;

use std::fmt;
use std::io::{self, BufRead, Write};

use crate::error::{line_ref, printable, Error};
use crate::line_map::{LineMap, Runs};
use crate::number;
use crate::opcodes::Operand;
use crate::read;
use crate::words::{self, is_label_definition, Word};
use elf::{FileHeader, ProgramHeader};
use labels::{Label, Labels, WARM_BATCH};
use resolve::LineKind;
use segments::Segments;

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

/// Lays out and translates all of `input`.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    run_with_labels(input, output, line_map, None)
}

/// [`run`], and with `labels`, also a list of the segments and labels
/// there (`survey --labels FILE`), from which `subx finish` writes the
/// maps next to the ELF (`src/listing.rs`): first each segment in order,
/// `== NAME ADDRESS`, then each label in the order of its definition,
/// `ADDRESS SEGMENT LINE NAME` (`LINE` the definition's line of the input).
///
/// ```
/// use subx::phases::survey;
/// use subx::line_map::LineMap;
/// let program = b"== code 0x09000000\nEntry:\nbb 2a 00 00 00\nf:\nc3\n== data 0x0a000000\nX:\n2a\n";
/// let (mut out, mut labels) = (Vec::new(), Vec::new());
/// survey::run_with_labels(&mut &program[..], &mut out, &mut LineMap::off(), Some(&mut labels)).unwrap();
/// assert_eq!(
///     String::from_utf8(labels).unwrap(),
///     "== code 0x09000074\n== data 0x0a00007a\n\
///      0x09000074 code 2 Entry\n0x09000079 code 4 f\n0x0a00007a data 7 X\n"
/// );
/// ```
pub fn run_with_labels(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    line_map: &mut LineMap,
    labels: Option<&mut dyn Write>,
) -> Result<(), Error> {
    let mut text = Vec::new();
    input.read_to_end(&mut text)?;
    let mut body = Body::with_capacity(text.len(), line_map.is_on());
    let mut layout = Layout::read(&text, &mut body)?; // pass 1
    layout.segments.place()?; // pass 2
    let entry = layout.entry_address()?;
    body.fill_holes(&layout)?; // pass 3
    let mut headers = Vec::with_capacity(200 + 100 * layout.segments.len());
    // `place` has checked that the count fits e_phnum.
    FileHeader::executable(entry, layout.segments.len() as u16).write_hex(&mut headers);
    line_map.next_output_generated();
    for segment in layout.segments.iter() {
        ProgramHeader::load(segment).write_hex(&mut headers);
        line_map.next_output_generated();
    }
    if let Some(origins) = &body.origins {
        origins.write_to(line_map);
    }
    output.write_all(&headers)?;
    output.write_all(&body.hex)?;
    if let Some(labels) = labels {
        layout.write_labels(labels)?;
    }
    Ok(())
}

/// What pass 1 learns: the segments and the labels.
struct Layout<'a> {
    /// The whole input, for messages that describe a string literal.
    text: &'a [u8],
    segments: Segments<'a>,
    labels: Labels,
}

/// The output after the headers. Pass 1 writes every line's bytes, with a
/// placeholder for each label reference (a hole), which pass 3 fills in.
struct Body<'a> {
    hex: Vec<u8>,
    holes: Vec<Hole<'a>>,
    /// For the line map, if one is kept: the input lines that the body's
    /// lines come from.
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
    /// The offset, in its segment, of the byte after the line's
    /// instruction: relative displacements count from there.
    end: u64,
    /// What its line is: a call or jump, another code line, or data.
    line: LineKind,
}

impl Layout<'_> {
    /// What `--labels` writes (see [`run_with_labels`]).
    fn write_labels(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut text = Vec::new();
        for segment in self.segments.iter() {
            text.extend_from_slice(b"== ");
            text.extend_from_slice(segment.name);
            text.push(b' ');
            number::push_hex_0x8(&mut text, u64::from(segment.address));
            text.push(b'\n');
        }
        for (name, label, line) in self.labels.all() {
            let Some(segment) = self.segments.get(label.segment) else { continue };
            number::push_hex_0x8(&mut text, u64::from(segment.address.wrapping_add(label.offset as u32)));
            text.push(b' ');
            text.extend_from_slice(segment.name);
            text.push(b' ');
            number::push_decimal(&mut text, line);
            text.push(b' ');
            text.extend_from_slice(name);
            text.push(b'\n');
            if text.len() >= 1 << 16 {
                out.write_all(&text)?;
                text.clear();
            }
        }
        out.write_all(&text)
    }
}

impl<'a> Layout<'a> {
    /// Pass 1: reads every line of `text`, sizes the segments and places
    /// the labels in them, and writes the lines' bytes into `body`.
    fn read(text: &'a [u8], body: &mut Body<'a>) -> Result<Layout<'a>, Error> {
        // A capacity hint, so that the table rarely grows while it fills:
        // one label per 256 bytes of input, as in generated 100 MB programs
        // (unused capacity costs address space, not memory).
        let labels = Labels::with_capacity(text.len() / 256);
        let mut layout = Layout { text, segments: Segments::default(), labels };
        let mut current: Option<usize> = None;
        let mut line_end = 0;
        for (line, line_no) in read::lines(text).zip(1..) {
            line_end += line.len();
            let packed = words::packed_bytes_len(line);
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
                current = Some(layout.segments.open(line_no, words, current, &text[line_end..])?);
                continue;
            }
            let Some(segment) = current else {
                let what = if is_label_definition(first) { "this label" } else { "this line" };
                return Err(Error::at(
                    line_no,
                    first,
                    format!(
                        "{what} comes before any segment header; begin the program with a header \
                         such as '== code 0x09000000'"
                    ),
                ));
            };
            if is_label_definition(first) {
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
        if layout.segments.len() == 0 {
            return Err(Error::whole(
                "the input holds no segment, so there is nothing to translate; a program starts \
                 with a header such as '== code 0x09000000'",
            ));
        }
        if !layout.segments.iter().any(|s| s.is_code()) {
            return Err(Error::whole(
                "no 'code' segment; instructions must live under a '== code <address>' header",
            ));
        }
        Ok(layout)
    }

    /// Writes the bytes of an instruction or data line into `body`, with a
    /// placeholder for each label reference, and counts them into
    /// `segment`. The line's words are those of `packed` (see
    /// [`words::packed_bytes_len`]: bytes, copied as they are), then
    /// `words`; its first word is no label definition.
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
            if i > 0 && is_label_definition(word) {
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
                body.holes.push(Hole { at: body.hex.len(), word, line_no, end: 0, line: LineKind::DataLine });
                body.hex.extend_from_slice(&PLACEHOLDER[..3 * width]);
                size += width as u64;
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
            let line = if s.is_code() { LineKind::of_code_line(first, second) } else { LineKind::DataLine };
            for hole in holes {
                hole.end = s.size;
                hole.line = line;
            }
        }
        Ok(())
    }

    /// Records the label that `word` (`NAME:`) defines at the current end
    /// of `segment`.
    fn define_label(&mut self, line_no: u64, word: &'a [u8], segment: usize) -> Result<(), Error> {
        if let (datum, Some(_)) = words::datum_and_metadata(word) {
            let message = match datum.strip_suffix(b":") {
                // `test-a:/x`
                Some(name) => format!(
                    "a label definition may not have an operand type or other metadata; write just '{}:'",
                    printable(name)
                ),
                // `x/y:`
                None => format!(
                    "a label's name may not hold a '/', which starts an operand type or other metadata; \
                     name it without one, such as '{}:'",
                    printable(datum)
                ),
            };
            return Err(Error::at(line_no, word, message));
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

    /// A label's address, once pass 2 has placed its segment.
    fn address_of(&self, label: Label) -> u32 {
        let base = self.segments.get(label.segment).map_or(0, |s| s.address);
        base.wrapping_add(label.offset as u32)
    }
}

/// The bytes a word other than a label definition occupies (2.3): a
/// two-character word is one byte; a reference takes the width of its
/// operand type (the widest, if it has several; 1 if it has none).
fn width(word: &[u8]) -> usize {
    if word.len() == 2 {
        return 1;
    }
    Word::new(word).metadata().filter_map(|m| Operand::from_metadata(m)?.width()).max().unwrap_or(1)
}

/// The error for a label definition that is not the first word of its line.
fn misplaced_definition(line_no: u64, word: &[u8]) -> Error {
    if let (datum, Some(_)) = words::datum_and_metadata(word) {
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
/// CONTRACT decision 14), and names starting with `+`, which read as a
/// number too (decision 35).
fn check_label_name(line_no: u64, word: &[u8], name: &[u8]) -> Result<(), Error> {
    // Converted only when shown: survey checks every label, and making a
    // String each time was an allocation per label.
    let shown = Shown(name);
    let problem = match name {
        [] => "is empty".to_string(),
        [b'0', b'x', ..] => "looks like a hex number".to_string(),
        [b'0'..=b'9', ..] => "starts with a digit and could be read as a number".to_string(),
        [b'-', ..] => "starts with '-' and could be read as a negative number".to_string(),
        [b'+', ..] => "starts with '+' and could be read as a signed number".to_string(),
        [_, _] => "is two characters long and could be read as a hex byte".to_string(),
        _ => return Ok(()),
    };
    Err(Error::at(line_no, word, format!("label '{shown}' {problem}; pick another name")))
}

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
                let (value, size) = resolve::resolve(hole, layout, hash)?;
                // A reference that resolves has exactly one operand type, which
                // gives both its size and its placeholder's.
                debug_assert_eq!(size, width(hole.word));
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

/// Bytes shown in a message, converted only when the message is made.
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    pub(super) fn survey(text: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        run(&mut text.as_bytes(), &mut out, &mut LineMap::off())?;
        Ok(String::from_utf8(out).expect("survey writes ASCII"))
    }

    /// The output's body: the lines after the ELF and program headers.
    pub(super) fn body_of(text: &str) -> Vec<String> {
        let out = survey(text).unwrap_or_else(|e| panic!("{e}"));
        let segments = text.lines().filter(|l| l.split_whitespace().next() == Some("==")).count();
        out.lines().skip(1 + segments).map(String::from).collect()
    }

    /// The 32-bit little-endian field at byte `at` of output line `line`.
    pub(super) fn field(text: &str, line: usize, at: usize) -> u32 {
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

    pub(super) fn error(text: &str) -> Error {
        match survey(text) {
            Ok(out) => panic!("expected an error, got:\n{out}"),
            Err(e) => e,
        }
    }

    pub(super) const CODE: &str = "== code 0x09000000\nEntry:\n";

    #[test]
    fn packed_bytes_read_quickly_give_what_the_words_give() {
        // A line read through `words::packed_bytes_len` must survey as the same line
        // with tabs between its words, which never takes that path.
        let pieces = [
            "8b ", "e8 ", "0f ", "84 ", "eb ", "== ", "x: ", ":/ ", ":m ", "#c ", "# c", "a#", ". ", "  ", "2a",
            "there/disp32 ", "there/disp8 ", "there/imm32 ", "here: ", "d/imm32 ", "zz/disp16 ", "1/x ",
        ];
        let program = |line: &str| format!("{CODE}{line}\nthere:\n== data 0x0a000000\nd:\n00\n");
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let line: String = (0..=rng.below(8)).map(|_| *rng.pick(&pieces)).collect();
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
    fn a_slash_in_a_definition_gets_advice_that_is_valid() {
        let e = survey("== code 0x09000000\nx/y:\n").unwrap_err().to_string();
        assert!(e.ends_with("name it without one, such as 'x:'"), "{e}");
        let e = survey("== code 0x09000000\ntest-a:/x\n").unwrap_err().to_string();
        assert!(e.ends_with("write just 'test-a:'"), "{e}");
    }

    #[test]
    fn label_names_starting_with_plus_are_refused_in_code_and_data() {
        // CONTRACT decision 35: '+abc' reads as the number 0xabc.
        let in_code = error(&format!("{CODE}+abc:\n90\n"));
        let in_data = error(&format!("{CODE}90\n== data 0x0a000000\n+x:\n00\n"));
        assert_eq!((in_code.line, in_data.line), (Some(3), Some(5)));
        assert_eq!(
            in_code.to_string(),
            "line 3: '+abc:': label '+abc' starts with '+' and could be read as a signed number; pick another name"
        );
    }

    #[test]
    fn a_header_begins_its_line() {
        let e = error(&format!("{CODE}cd 80 == data 0x0a000000\n"));
        assert_eq!((e.line, e.word.as_deref()), (Some(3), Some(&b"=="[..])));
    }

    #[test]
    fn a_reference_takes_the_width_of_its_operand_type_in_the_opcode_table() {
        for operand in Operand::ALL {
            let word = format!("x/{}", operand.name());
            assert_eq!(width(word.as_bytes()), operand.width().unwrap_or(1), "{word}");
        }
        assert_eq!(width(b"x/imm8/pointer/disp32"), 4, "the widest counts");
        assert_eq!((width(b"x"), width(b"ab"), width(b"/imm32")), (1, 1, 4));
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

//! Phase `pack`: turns each instruction of the `code` segment into the hex
//! bytes of its x86 encoding, and each word of the other segments into its
//! bytes.
//!
//! Label references stay as words (`Entry/disp32`) for `survey` to
//! resolve; a converted code line ends with `  # ` and the original line.
//! Labels, headers, blank lines and comments pass through.
//!
//! ```
//! use subx::phases::pack;
//! use subx::line_map::LineMap;
//! let text = b"== code 0x09000000\nEntry:\nbb/copy-to-ebx 0x2a/imm32\n8b/copy 1/mod 5/rm32/ebp 0/r32 -8/disp8\ne8/call f/disp32\n== data\n0x10/imm32 01 # n\n";
//! let mut out = Vec::new();
//! pack::run(&mut &text[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "== code 0x09000000\nEntry:\n\
//!     bb 2a 00 00 00  # bb/copy-to-ebx 0x2a/imm32\n\
//!     8b 45 f8  # 8b/copy 1/mod 5/rm32/ebp 0/r32 -8/disp8\n\
//!     e8 f/disp32  # e8/call f/disp32\n\
//!     == data\n10 00 00 00 01 # n\n");
//! ```
//!
//! `docs/walkthrough.md` ("Phase 4: `pack`") shows `pack` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/pack.md`; `language.md` sections 9 to 12):
//! - the output of an instruction is always in x86 order: opcode, ModR/M,
//!   SIB, displacement, immediate, each byte as two hex digits and a space,
//!   then ` # ` and the raw line (pack.md 5.2-5.8);
//! - the opcode is read as a number (`0xbb`, `5`, `+5`) and written as two
//!   digits; a two-byte opcode is `0f` and one more byte (CONTRACT
//!   decisions 2 and 9, pack.md 5.3);
//! - every word after the opcode carries exactly one operand type, and the
//!   operands must be exactly those the opcode table ([`crate::opcodes`])
//!   and the ModR/M rules require and permit (`language.md` 10, 10.1, 11);
//!   `subop` and `r32` together only with equal values, on c1 c6 c7 d3 f7
//!   (CONTRACT rule 4);
//! - the SIB scale goes at bit 6, as in real x86 (CONTRACT rule 2), and SIB
//!   base 5 under mod 0 needs a disp32 (CONTRACT rule 5);
//! - a code line made only of two-digit hex bytes is kept whole, and must
//!   be exactly as long as the instruction it spells (CONTRACT rule 2,
//!   decision 16; pack.md 5.7a);
//! - `.` words are column fillers and `:` starts line metadata, in both
//!   kinds of segment (CONTRACT decisions 8 and 9); a code line of only
//!   fillers becomes an empty line;
//! - in data, `/imm32` words give 4 bytes and other words one; a comment
//!   is written from its `#` on; a label anywhere on the line makes `pack`
//!   write the raw line (pack.md 6).
//!
//! `pack` streams, in bounded memory: it reads blocks of whole lines
//! ([`crate::read::Blocks`]) and writes its output in 64 KiB chunks, one
//! output line per input line. Each instruction first takes a fast path
//! (`pack_valid`) that reads every word once and gives up at anything
//! unusual or wrong; the careful path (`pack_checked`) then packs it or
//! says what is wrong. The two are tested against each other.

use std::io::{BufRead, Write};

use crate::error::{printable, Error};
use crate::line_map::LineMap;
use crate::number::{self, looks_like_number, push_hex_byte, write_le_hex, NumberError};
use crate::opcodes::{self, Opcode, Operand, RegField, TWO_BYTE_PREFIX};
use crate::read::{self, Blocks};
use crate::words::{is_comment, is_filler, is_line_metadata, is_space, word_len, words, Word};

/// `--help` text.
pub fn help() -> String {
    format!(
        "pack: encode SubX instructions as hex bytes (the fourth SubX phase).\n\
         \n\
         Reads:  on stdin, SubX text with its segments grouped (assort's output).\n\
         Writes: on stdout, each code-segment instruction as its hex bytes, in x86\n        \
                 order, followed by '  # ' and the original line; each data word as\n        \
                 its bytes (4 for '/imm32', else 1); label references left in place.\n\
         \n\
         Example:\n  \
           $ printf '== code 0x09000000\\nbb/copy-to-ebx 0x2a/imm32\\n' | pack\n  \
           == code 0x09000000\n  \
           bb 2a 00 00 00  # bb/copy-to-ebx 0x2a/imm32\n\
         \n\
         Every word after the opcode carries exactly one operand type. ModR/M\n\
         fields: mod 0-3, rm32 0-7, r32 or subop 0-7; rm32 4 with mod 0-2 adds\n\
         a SIB byte: base 0-7, index 0-7 (4: none), scale 0-3. mod 1 takes a\n\
         disp8, mod 2 a disp32, mod 0 a disp32 when rm32 is 5 or the SIB base\n\
         is 5. Numbers are hex ('0x' optional); disp8 -0x80..0x7f, imm8\n\
         -0x80..0xff. A line of raw bytes ('bb 2a 00 00 00') must be a whole\n\
         instruction.\n\
         \n\
         Supported opcodes:\n  \
           opcode operands               what it does\n{}",
        opcodes::listing()
    )
}

/// Packs all of `input` onto `output`, one output line per input line.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut packer = Packer { in_code: false, number: 0, out: Vec::with_capacity(OUTPUT_CHUNK + 1024) };
    let result = packer.pack_all(input, output, line_map);
    // After an error too: what was packed before the bad line goes out.
    output.write_all(&packer.out)?;
    result
}

/// How much packed text `pack` gathers before it writes it out.
const OUTPUT_CHUNK: usize = 1 << 16;

/// Where `run` is in its input: the segment, the line number, and the
/// packed text not yet written.
struct Packer {
    in_code: bool,
    number: u64,
    out: Vec<u8>,
}

impl Packer {
    /// Packs every line of `input`, a block of whole lines at a time.
    fn pack_all(&mut self, input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
        let mut blocks = Blocks::new(input);
        while let Some(block) = blocks.next_block()? {
            for line in read::lines(block) {
                self.pack_line(line, line_map)?;
                if self.out.len() >= OUTPUT_CHUNK {
                    output.write_all(&self.out)?;
                    self.out.clear();
                }
            }
        }
        Ok(())
    }

    fn pack_line(&mut self, line: &[u8], line_map: &mut LineMap) -> Result<(), Error> {
        self.number += 1;
        let start = self.out.len();
        if let Err(e) = pack_line(line, self.number, &mut self.in_code, &mut self.out) {
            // A bad line leaves nothing half written.
            self.out.truncate(start);
            return Err(e);
        }
        line_map.next_output_from(self.number);
        Ok(())
    }
}

/// Packs one line (LF included, if it has one) onto `out`; a segment
/// header switches `in_code`.
fn pack_line(line: &[u8], number: u64, in_code: &mut bool, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut rest = LongWords { rest: line };
    let mut fillers = false;
    let first = loop {
        match rest.next() {
            Some(w) if is_filler(w) => fillers = true,
            other => break other,
        }
    };
    let Some(first) = first else {
        if fillers {
            out.push(b'\n');
        } else {
            out.extend_from_slice(line);
        }
        return Ok(());
    };
    if first == b"==" {
        *in_code = rest.next() == Some(&b"code"[..]);
        out.extend_from_slice(line);
        return Ok(());
    }
    if !*in_code {
        return data_line(line, number, first, rest, out);
    }
    if is_comment(first) || is_line_metadata(first) {
        if fillers {
            out.push(b'\n');
        } else {
            out.extend_from_slice(line);
        }
        return Ok(());
    }
    if is_label_definition(first) {
        out.extend_from_slice(line);
        return Ok(());
    }
    Instruction { line, number }.pack(first, rest, out)
}

/// The words of a line, split as [`words`] splits them, but each one's end
/// found with [`word_len`], eight bytes at a time: most of `pack`'s words
/// (`bb/copy-to-ebx`, `3/mod/direct`) are long enough for that to pay.
#[derive(Clone)]
struct LongWords<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LongWords<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|&b| !is_space(b))?;
        let tail = &self.rest[start..];
        let len = word_len(tail);
        self.rest = &tail[len..];
        Some(&tail[..len])
    }
}

/// Does `word` define a label (`Entry:`, and for us also `test-a:/x`,
/// whose datum ends in `:`; pack.md 5.1)?
fn is_label_definition(word: &[u8]) -> bool {
    ends_a_label(word, split_word(word).0)
}

/// [`is_label_definition`] for a word already split into `datum` and the rest.
fn ends_a_label(word: &[u8], datum: &[u8]) -> bool {
    word.last() == Some(&b':') || datum.last() == Some(&b':')
}

/// Where `word`, a slice of `line`, starts in it.
fn offset_in(line: &[u8], word: &[u8]) -> usize {
    (word.as_ptr() as usize).saturating_sub(line.as_ptr() as usize).min(line.len())
}

// ------------------------------------------------------------------ data

/// A line of a segment other than `code` (pack.md 6): every word becomes
/// its bytes; a comment or line metadata is written from its first byte to
/// the end of the line; a label definition anywhere writes the raw line.
fn data_line(line: &[u8], number: u64, first: &[u8], rest: LongWords<'_>, out: &mut Vec<u8>) -> Result<(), Error> {
    for word in std::iter::once(first).chain(rest) {
        if is_comment(word) || is_line_metadata(word) {
            out.extend_from_slice(&line[offset_in(line, word)..]);
            return Ok(());
        }
        if is_filler(word) {
            continue;
        }
        if hex_pair(word).is_some() {
            // The commonest data word (`2a`) is its own output.
            out.extend_from_slice(word);
            out.push(b' ');
            continue;
        }
        if imm32_data_word(word, out) {
            continue;
        }
        let (datum, metadata) = split_word(word);
        if ends_a_label(word, datum) {
            out.extend_from_slice(line);
            return Ok(());
        }
        data_word(word, datum, metadata, number, out)?;
    }
    out.push(b'\n');
    Ok(())
}

/// The next commonest data word, a plain `/imm32` (`0x2a/imm32`,
/// `Entry/imm32`), written as [`data_word`] writes it; false, having
/// written nothing, for any other word or a number that does not read.
fn imm32_data_word(word: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(datum) = word.strip_suffix(b"/imm32") else { return false };
    if datum.is_empty() || datum.contains(&b'/') || datum.last() == Some(&b':') {
        return false;
    }
    if !looks_like_number(datum) {
        out.extend_from_slice(word);
    } else if let Ok(value) = parse_number(datum) {
        write_le_hex(out, value, 4);
    } else {
        return false;
    }
    out.push(b' ');
    true
}

/// One word of a data line: 4 bytes for `/imm32`, 1 for anything else; a
/// label reference is copied whole for `survey`.
fn data_word(word: &[u8], datum: &[u8], metadata: Option<&[u8]>, number: u64, out: &mut Vec<u8>) -> Result<(), Error> {
    if datum.is_empty() {
        return Err(Error::at(number, word, EMPTY_VALUE));
    }
    if word == b"==" {
        return Err(Error::at(number, word, "may only begin a line: put the segment header on a line of its own"));
    }
    let kind = single_operand_type(metadata).map_err(|(a, b)| conflicting_types(number, word, a, b))?;
    let width = match kind {
        Some(Operand::Imm32) => 4,
        Some(Operand::Imm16) => {
            return Err(Error::at(number, word, "imm16 is not supported; use /imm32 for 4 bytes or /imm8 for one"));
        }
        Some(d @ (Operand::Disp8 | Operand::Disp16 | Operand::Disp32)) if looks_like_number(datum) => {
            let fix = if d == Operand::Disp32 { "use /imm32" } else { "use an untyped byte or /imm8" };
            return Err(Error::at(
                number,
                word,
                format!("displacements ('/{}') are only allowed in the code segment ({fix})", d.name()),
            ));
        }
        _ => 1,
    };
    if !looks_like_number(datum) {
        out.extend_from_slice(word);
        out.push(b' ');
        return Ok(());
    }
    let value = parse_number(datum).map_err(|e| Error::at(number, word, number_message(e, datum)))?;
    if width == 1 && !(-0x80..=0xff).contains(&value) {
        let what = match kind {
            Some(Operand::Imm8) => "does not fit in a byte (imm8 must be -0x80..0xff)".to_string(),
            _ => "is not a byte; untyped data words must be in -0x80..0xff (use '/imm32' for a 4-byte value)"
                .to_string(),
        };
        return Err(Error::at(number, word, what));
    }
    write_le_hex(out, value, width);
    out.push(b' ');
    Ok(())
}

// ---------------------------------------------------------- instructions

/// The line being packed, for the instruction's checks and messages.
struct Instruction<'a> {
    line: &'a [u8],
    number: u64,
}

/// The operands of one instruction, by operand type: the word as written
/// and, for numbers, its value. Two bit sets (one bit per
/// [`Operand::index`]) say which types are present and which of them are
/// numbers rather than label names; the arrays hold nothing meaningful
/// elsewhere.
#[derive(Default)]
struct Operands<'a> {
    present: u16,
    numbers: u16,
    words: [&'a [u8]; 13],
    values: [i64; 13],
}

impl<'a> Operands<'a> {
    fn add(&mut self, op: Operand, word: &'a [u8]) {
        self.present |= op.bit();
        self.words[op.index()] = word;
    }

    fn set_value(&mut self, op: Operand, value: i64) {
        self.numbers |= op.bit();
        self.values[op.index()] = value;
    }

    fn has(&self, op: Operand) -> bool {
        self.present & op.bit() != 0
    }

    fn word(&self, op: Operand) -> Option<&'a [u8]> {
        self.has(op).then(|| self.words[op.index()])
    }

    /// The value of an operand that is a number.
    fn value(&self, op: Operand) -> Option<i64> {
        (self.numbers & op.bit() != 0).then(|| self.values[op.index()])
    }

    /// The operand types present, in the order of [`Operand::ALL`].
    fn types(&self) -> impl Iterator<Item = Operand> {
        let mut left = self.present;
        std::iter::from_fn(move || {
            let op = *Operand::ALL.get(left.trailing_zeros() as usize)?;
            left &= !op.bit();
            Some(op)
        })
    }

    /// The value of a ModR/M or SIB field that has been checked to be a
    /// number; 0 when absent.
    fn field(&self, op: Operand) -> u8 {
        self.value(op).unwrap_or(0) as u8
    }
}

/// The words after the opcode that the instruction is made of: up to a
/// comment or line metadata, fillers left out.
fn operand_words(words: LongWords<'_>) -> impl Iterator<Item = &[u8]> + Clone {
    words.take_while(|w| !is_comment(w) && !is_line_metadata(w)).filter(|w| !is_filler(w))
}

impl<'a> Instruction<'a> {
    /// Checks and encodes the instruction whose first word is `first`.
    fn pack(&self, first: &'a [u8], rest: LongWords<'a>, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        if self.pack_valid(first, rest.clone(), out) {
            return Ok(());
        }
        out.truncate(start);
        self.pack_checked(first, rest, out)
    }

    /// The fast path: packs an instruction as most are written (a two-digit
    /// opcode, every operand word typed), reading each word once. Gives up,
    /// returning false, on anything else or anything wrong; the caller
    /// then throws away what was written and takes [`Instruction::pack_checked`],
    /// which finds the error and says what it is. On input it accepts, it
    /// writes what `pack_checked` writes (the `fast_path_agrees_...` test).
    fn pack_valid(&self, first: &'a [u8], rest: LongWords<'a>, out: &mut Vec<u8>) -> bool {
        let mut rest = operand_words(rest);
        let Some(opcode) = simple_opcode(first, &mut rest) else { return false };
        let mut ops = Operands::default();
        for word in rest {
            let Some((datum, op)) = typed_word(word) else { return false };
            if datum.is_empty() || ops.has(op) {
                return false;
            }
            ops.add(op, word);
            if looks_like_number(datum) {
                let Ok(value) = parse_number(datum) else { return false };
                let (min, max) = match (op.field_max(), op.width_and_range()) {
                    (Some(max), _) => (0, max),
                    (None, Some((_, min, max))) => (min, max),
                    (None, None) => return false,
                };
                if !(min..=max).contains(&value) {
                    return false;
                }
                ops.set_value(op, value);
            } else if op.field_max().is_some() {
                return false;
            }
        }
        if ops.present & !opcode.permitted() != 0 || opcode.required() & !ops.present != 0 {
            return false;
        }
        if self.check_modes(opcode, first, &ops).is_err() {
            return false;
        }
        encode(opcode, &ops, out);
        out.extend_from_slice(b" # ");
        out.extend_from_slice(self.line);
        true
    }

    /// Checks and encodes the instruction whose first word is `first`,
    /// with a message for the first thing wrong.
    fn pack_checked(&self, first: &'a [u8], rest: LongWords<'a>, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut rest = operand_words(rest);
        let opcode = self.opcode(first, &mut rest)?;
        if self.is_raw_hex(first, rest.clone()) {
            self.raw_hex(opcode, rest, out)?;
        } else {
            let mut operands = Operands::default();
            self.operands(opcode, first, rest, &mut operands)?;
            encode(opcode, &operands, out);
        }
        out.extend_from_slice(b" # ");
        out.extend_from_slice(self.line);
        Ok(())
    }

    /// Reads the opcode word(s) (pack.md 5.3; `language.md` 4.4); takes the
    /// second byte of a `0f` opcode off `rest`.
    fn opcode(&self, first: &'a [u8], rest: &mut impl Iterator<Item = &'a [u8]>) -> Result<&'static Opcode, Error> {
        let byte = self.opcode_byte(first)?;
        if byte == TWO_BYTE_PREFIX {
            if Word::new(first).datum() != b"0f" {
                return Err(self.error(format!(
                    "write the first byte of a two-byte opcode exactly as '0f', not '{}'",
                    printable(Word::new(first).datum())
                )));
            }
            let Some(second) = rest.next() else {
                return Err(self.error(
                    "opcode '0f' needs a second opcode byte (82-87 or 8c-8f for a jump, af to multiply)",
                ));
            };
            if let Some(op) = operand_type(second) {
                return Err(self.error(format!(
                    "opcode '0f' must be followed by its second opcode byte, not by the {} operand '{}'",
                    op.name(),
                    printable(second)
                )));
            }
            let datum = Word::new(second).datum();
            let digits = datum.strip_prefix(b"0x").unwrap_or(datum);
            let Some(value) = hex_pair(digits) else {
                return Err(self.error(format!(
                    "the second byte of a two-byte opcode must be two lowercase hex digits, not '{}'",
                    printable(datum)
                )));
            };
            return opcodes::two_byte(value).ok_or_else(|| {
                self.error(format!(
                    "unknown two-byte opcode '0f {value:02x}'; the supported ones are 0f 82-87, 0f 8c-8f and 0f af"
                ))
            });
        }
        if byte == 0xf2 || byte == 0xf3 {
            return Err(self.error(format!(
                "unsupported opcode '{byte:02x}': no opcodes starting with {byte:02x} are supported"
            )));
        }
        opcodes::one_byte(byte).ok_or_else(|| {
            self.error(format!("unknown opcode '{byte:02x}' (run 'pack --help' for the list of supported opcodes)"))
        })
    }

    /// The value of the first opcode word.
    fn opcode_byte(&self, first: &'a [u8]) -> Result<u8, Error> {
        let n = self.number;
        let (datum, metadata) = split_word(first);
        if let Some(op) = metadata.and_then(first_operand_type) {
            return Err(Error::at(
                n,
                first,
                format!(
                    "the first word of an instruction must be an opcode, and an opcode may not carry an \
                     operand type (here '/{}')",
                    op.name()
                ),
            ));
        }
        if datum.is_empty() {
            return Err(Error::at(n, first, "the opcode has no value before the '/'"));
        }
        if !looks_like_number(datum) {
            return Err(Error::at(
                n,
                first,
                format!(
                    "'{}' is not an opcode; SubX opcodes are hex bytes (e.g. 'c3/return', 'bb/copy-to-ebx')",
                    printable(datum)
                ),
            ));
        }
        let value = parse_number(datum).map_err(|e| Error::at(n, first, number_message(e, datum)))?;
        u8::try_from(value).map_err(|_| {
            Error::at(n, first, "is not an opcode: an opcode is one byte, 00-ff (run 'pack --help' for the list)")
        })
    }

    /// Is the instruction written out byte by byte (`bb 2a 00 00 00`;
    /// `language.md` 9.3)?
    fn is_raw_hex(&self, first: &[u8], mut rest: impl Iterator<Item = &'a [u8]>) -> bool {
        // `opcode` made sure that the opcode word has no operand type.
        let is_raw = |word| hex_byte_word(word).is_some();
        hex_pair(split_word(first).0).is_some() && rest.next().is_some_and(is_raw) && rest.all(is_raw) && {
            // The second byte of a 0f opcode was taken off `rest` already.
            Word::new(first).datum() != b"0f" || self.second_opcode_word_is_raw()
        }
    }

    /// For `0f xx ...`: is `xx` itself written as a raw byte (no `0x`)?
    fn second_opcode_word_is_raw(&self) -> bool {
        let mut all = operand_words(LongWords { rest: self.line });
        all.next();
        all.next().and_then(hex_byte_word).is_some()
    }

    /// Checks a raw-hex line's length against the instruction its bytes
    /// encode (CONTRACT decision 16) and writes every byte.
    fn raw_hex(&self, opcode: &Opcode, rest: impl Iterator<Item = &'a [u8]> + Clone, out: &mut Vec<u8>) -> Result<(), Error> {
        // Every word is a raw byte (`is_raw_hex`).
        let byte_at = |i: usize| rest.clone().nth(i).map(|word| hex_byte_word(word).unwrap_or(0));
        let given = opcode.bytes.len() + rest.clone().count();
        let mut needed = opcode.bytes.len();
        // What the bytes after the opcode are, for the message if the
        // count is wrong.
        let mut parts: [Option<&str>; 4] = [None; 4];
        if opcode.has_modrm() {
            let Some(modrm) = byte_at(0) else {
                return Err(self.raw_hex_error(opcode, given, "it ends before the ModR/M byte the opcode needs"));
            };
            needed += 1;
            parts[0] = Some("ModR/M");
            let (mode, rm) = (modrm >> 6, modrm & 7);
            let mut base = None;
            if mode != 3 && rm == 4 {
                let Some(sib) = byte_at(1) else {
                    return Err(self.raw_hex_error(opcode, given, "it ends before the SIB byte its ModR/M byte calls for"));
                };
                needed += 1;
                parts[1] = Some("SIB");
                base = Some(sib & 7);
            }
            let disp = match mode {
                0 if rm == 5 || base == Some(5) => 4,
                1 => 1,
                2 => 4,
                _ => 0,
            };
            if disp > 0 {
                needed += disp;
                parts[2] = Some(if disp == 1 { "disp8" } else { "disp32" });
            }
        }
        if let Some(op) = opcode.tail.operand() {
            needed += opcode.tail.len();
            parts[3] = Some(op.name());
        }
        if given != needed {
            return Err(self.raw_hex_length_error(opcode, given, needed, parts));
        }
        for &b in opcode.bytes {
            push_hex_byte(out, b);
            out.push(b' ');
        }
        for word in rest {
            out.extend_from_slice(Word::new(word).datum());
            out.push(b' ');
        }
        Ok(())
    }

    #[cold]
    fn raw_hex_length_error(&self, opcode: &Opcode, given: usize, needed: usize, parts: [Option<&str>; 4]) -> Error {
        let mut all = vec![format!("{} opcode byte{}", opcode.bytes.len(), plural(opcode.bytes.len()))];
        all.extend(parts.into_iter().flatten().map(str::to_string));
        self.raw_hex_error(opcode, given, &format!("this instruction needs {needed} ({})", all.join(" + ")))
    }

    #[cold]
    fn raw_hex_error(&self, opcode: &Opcode, given: usize, why: &str) -> Error {
        self.error(format!(
            "raw instruction of {given} byte{} does not match opcode {} ({}): {why}",
            plural(given),
            opcode.spelling(),
            opcode.name
        ))
    }

    /// Reads the operand words into `ops` and checks them against the
    /// opcode's rules (`language.md` 9.1, 9.4, 10, 10.1, 11).
    fn operands(
        &self,
        opcode: &Opcode,
        first: &[u8],
        rest: impl Iterator<Item = &'a [u8]>,
        ops: &mut Operands<'a>,
    ) -> Result<(), Error> {
        let n = self.number;
        let mut untyped: Option<&[u8]> = None;
        for word in rest {
            let (datum, metadata) = split_word(word);
            if datum.is_empty() {
                return Err(Error::at(n, word, format!("{EMPTY_VALUE}, in {}", self.quoted())));
            }
            match single_operand_type(metadata) {
                Err((a, b)) => return Err(conflicting_types(n, word, a, b)),
                Ok(None) => {
                    untyped = untyped.or(Some(word));
                }
                Ok(Some(op)) => {
                    if let Some(earlier) = ops.word(op) {
                        return Err(self.error(format!(
                            "two {} operands ('{}' and '{}'); an instruction takes at most one of each type",
                            op.name(),
                            printable(earlier),
                            printable(word)
                        )));
                    }
                    ops.add(op, word);
                }
            }
        }
        if let Some(word) = untyped {
            return Err(self.untyped_word(opcode, first, word, ops));
        }
        self.check_kinds(opcode, first, ops)?;
        self.read_values(ops)?;
        self.check_modes(opcode, first, ops)
    }

    /// The error for a word after the opcode without an operand type, with
    /// the likeliest fix.
    #[cold]
    fn untyped_word(&self, opcode: &Opcode, first: &[u8], word: &[u8], ops: &Operands<'_>) -> Error {
        let w = Word::new(word);
        let datum = w.datum();
        if word == b"==" {
            return Error::at(
                self.number,
                word,
                format!(
                    "may only begin a line, but here it follows '{}'; put the segment header on a line of its own",
                    self.before(word)
                ),
            );
        }
        if is_label_definition(word) {
            return Error::on_line(
                self.number,
                format!(
                    "label definition '{}' must be the first word on its line, and alone there; \
                     put it on a line of its own (here it follows '{}')",
                    printable(word),
                    self.before(word)
                ),
            );
        }
        let mut why = format!("has no operand type, in {}", self.quoted());
        if let Some((item, guess)) = w.metadata().find_map(|m| near_operand_type(m).map(|g| (m, g))) {
            why.push_str(&format!("; '{}' is not an operand type: did you mean '/{}'?", printable(item), guess.name()));
            if item.contains(&b'#') {
                why.push_str(" ('#' starts a comment only after whitespace)");
            }
        } else {
            let missing = missing_simple_operands(opcode, ops);
            if let [op] = missing[..] {
                why.push_str(&format!(
                    "; {} ({}) needs an {} operand: did you mean '{}/{}'?",
                    printable(Word::new(first).datum()),
                    opcode.name,
                    op.name(),
                    printable(datum),
                    op.name()
                ));
            } else if hex_byte_word(word).is_some() {
                why.push_str("; raw bytes may only appear on lines made entirely of raw bytes");
            } else {
                why.push_str("; every word after the opcode needs one: /mod /rm32 /r32 /subop /base /index /scale /disp8 /disp32 /imm8 /imm32");
            }
        }
        Error::at(self.number, word, why)
    }

    /// Are the operand types present exactly those the opcode requires and
    /// permits (before looking at `mod` and `rm32`)?
    fn check_kinds(&self, opcode: &Opcode, first: &[u8], ops: &Operands<'_>) -> Result<(), Error> {
        for op in ops.types() {
            if opcode.permits(op) {
                continue;
            }
            let word = ops.words[op.index()];
            let name = self.opcode_name(opcode, first);
            let word = printable(word);
            let message = match op {
                Operand::Disp16 | Operand::Imm16 => format!(
                    "no SubX instruction takes a {} ('{word}'); {name} takes {}",
                    op.name(),
                    operands_phrase(opcode)
                ),
                Operand::R32 if opcode.reg == RegField::Subop => {
                    format!("{name} takes a subop, not an r32; write '/subop' instead of '/r32' in '{word}'")
                }
                Operand::Subop => format!("{name} does not take a subop operand ('{word}'); it takes an r32"),
                Operand::Mod | Operand::Rm32 | Operand::R32 | Operand::Base | Operand::Index | Operand::Scale => {
                    format!("{name} has no ModR/M byte, so '{word}' is not allowed; it takes {}", operands_phrase(opcode))
                }
                _ if opcode.tail.is_empty() && !opcode.has_modrm() => {
                    format!("{name} takes no operands, but '{word}' was given")
                }
                _ => {
                    let mut m = format!("{name} takes {}, but '{word}' was given", operands_phrase(opcode));
                    if op == Operand::Disp32 && opcode.tail == opcodes::Tail::Disp8 {
                        m.push_str(" (use e9 or 0f 8x for a 32-bit jump)");
                    }
                    m
                }
            };
            return Err(self.error(message));
        }
        for op in [Operand::Mod, Operand::Rm32, Operand::Subop]
            .into_iter()
            .chain(opcode.tail.operand())
        {
            if opcode.requires(op) && !ops.has(op) {
                let mut m = format!("needs a /{} operand ({})", op.name(), opcode.name);
                if matches!(op, Operand::Disp8 | Operand::Disp32) {
                    m.push_str("; give a label or a number");
                }
                if op == Operand::Subop && ops.has(Operand::R32) {
                    m.push_str("; its reg field holds a subop, not an r32");
                }
                return Err(self.error(m));
            }
        }
        Ok(())
    }

    /// Reads every operand's value: fields must be numbers in their range,
    /// displacements and immediates numbers in theirs or label names.
    fn read_values(&self, ops: &mut Operands<'a>) -> Result<(), Error> {
        let n = self.number;
        for op in ops.types() {
            let word = ops.words[op.index()];
            let (datum, _) = split_word(word);
            if let Some(max) = op.field_max() {
                if !looks_like_number(datum) {
                    return Err(Error::at(
                        n,
                        word,
                        format!("{} must be {}, not a label (in {})", op.name(), field_range(op.name(), max), self.quoted()),
                    ));
                }
                let value = parse_number(datum).map_err(|e| Error::at(n, word, number_message(e, datum)))?;
                if !(0..=max).contains(&value) {
                    return Err(Error::at(n, word, format!("is out of range; {} must be {}", op.name(), field_range(op.name(), max))));
                }
                ops.set_value(op, value);
            } else if looks_like_number(datum) {
                let value = parse_number(datum).map_err(|e| Error::at(n, word, number_message(e, datum)))?;
                if let Some((_, min, max)) = op.width_and_range() {
                    if !(min..=max).contains(&value) {
                        let what = match op {
                            Operand::Disp8 => "does not fit in a signed byte (disp8 must be -0x80..0x7f)",
                            _ => "does not fit in a byte (imm8 must be -0x80..0xff)",
                        };
                        return Err(Error::at(n, word, what));
                    }
                }
                ops.set_value(op, value);
            }
        }
        Ok(())
    }

    /// The ModR/M rules: which SIB operands and displacement `mod` and
    /// `rm32` call for (`language.md` 10.1), and `subop` against `r32`.
    fn check_modes(&self, opcode: &Opcode, first: &[u8], ops: &Operands<'_>) -> Result<(), Error> {
        if !opcode.has_modrm() {
            return Ok(());
        }
        // The names for messages are made only on the error path.
        let name = || self.opcode_name(opcode, first);
        let mod_word = || printable(ops.word(Operand::Mod).unwrap_or_default());
        let rm_word = || printable(ops.word(Operand::Rm32).unwrap_or_default());
        if ops.has(Operand::Subop) && ops.has(Operand::R32) && ops.field(Operand::Subop) != ops.field(Operand::R32) {
            return Err(self.error(format!(
                "{name} has both '{}' and '{}'; they occupy the same ModR/M bits (give only the subop)",
                printable(ops.word(Operand::Subop).unwrap_or_default()),
                printable(ops.word(Operand::R32).unwrap_or_default()), name = name())));
        }
        let mode = ops.field(Operand::Mod);
        let rm = ops.field(Operand::Rm32);
        let sib = mode != 3 && rm == 4;
        if sib {
            for op in [Operand::Base, Operand::Index] {
                if !ops.has(op) {
                    let none = if op == Operand::Index { " (4 means none)" } else { "" };
                    return Err(self.error(format!(
                        "{name} with '{rm_word}' and '{mod_word}' uses a SIB byte and needs {} {} operand{none}",
                        article(op),
                        op.name(), name = name(), mod_word = mod_word(), rm_word = rm_word())));
                }
            }
        } else {
            for op in [Operand::Base, Operand::Index, Operand::Scale] {
                if let Some(word) = ops.word(op) {
                    let why = if mode == 3 {
                        format!("{name} with '{mod_word}' (direct) has no SIB byte", name = name(), mod_word = mod_word())
                    } else {
                        format!("a SIB byte needs '4/rm32' (and mod 0-2), and {name} has '{rm_word}'", name = name(), rm_word = rm_word())
                    };
                    return Err(self.error(format!("'{}' is not allowed: {why}", printable(word))));
                }
            }
        }
        let base5 = sib && ops.field(Operand::Base) == 5;
        let needed = match mode {
            0 if rm == 5 || base5 => Some(Operand::Disp32),
            1 => Some(Operand::Disp8),
            2 => Some(Operand::Disp32),
            _ => None,
        };
        for op in [Operand::Disp8, Operand::Disp32] {
            if let Some(word) = ops.word(op) {
                if needed != Some(op) {
                    let takes = match needed {
                        Some(d) => format!("takes a {}", d.name()),
                        None if mode == 3 => "(direct) takes no displacement".to_string(),
                        None => "takes no displacement".to_string(),
                    };
                    return Err(self.error(format!(
                        "'{}' is not allowed: {name} with '{mod_word}' {takes}",
                        printable(word), name = name(), mod_word = mod_word())));
                }
            }
        }
        if let Some(op) = needed {
            if !ops.has(op) {
                let why = match (mode, rm, base5) {
                    (0, 5, _) => format!(" and '{rm_word}' (absolute address)", rm_word = rm_word()),
                    (0, _, true) => " and '5/base' (no base register)".to_string(),
                    _ => String::new(),
                };
                return Err(self.error(format!("{name} with '{mod_word}'{why} needs a {} operand", op.name(), name = name(), mod_word = mod_word())));
            }
        }
        Ok(())
    }

    /// `'bb/copy-to-ebx' (copy imm32 to EBX)`, for messages.
    #[cold]
    fn opcode_name(&self, opcode: &Opcode, first: &[u8]) -> String {
        let written = if opcode.bytes.len() == 2 {
            let mut all = operand_words(LongWords { rest: self.line });
            let a = all.next().unwrap_or_default();
            let b = all.next().unwrap_or_default();
            format!("{} {}", printable(a), printable(b))
        } else {
            printable(first)
        };
        format!("'{written}' ({})", opcode.name)
    }

    /// The instruction as written (without comment, line metadata or the
    /// surrounding whitespace), quoted.
    #[cold]
    fn quoted(&self) -> String {
        format!("'{}'", printable(self.text()))
    }

    /// The instruction's words before `word`, one of them, as written.
    fn before(&self, word: &[u8]) -> String {
        let text = self.text();
        let end = offset_in(text, word);
        printable(text.get(..end).unwrap_or_default().trim_ascii_end())
    }

    fn text(&self) -> &'a [u8] {
        let line = self.line;
        let mut all = words(line).take_while(|w| !is_comment(w) && !is_line_metadata(w));
        let Some(first) = all.next() else { return &[] };
        let last = all.last().unwrap_or(first);
        let start = offset_in(line, first);
        let end = (offset_in(line, last) + last.len()).min(line.len());
        line.get(start..end).unwrap_or_default()
    }

    /// An error about the instruction as a whole.
    #[cold]
    fn error(&self, message: impl Into<String>) -> Error {
        Error::at(self.number, self.text(), message)
    }
}

/// Writes a checked instruction: opcode, ModR/M, SIB, displacement,
/// immediate, each byte followed by a space (pack.md 5.2; the SIB scale at
/// bit 6, CONTRACT rule 2).
fn encode(opcode: &Opcode, ops: &Operands<'_>, out: &mut Vec<u8>) {
    let byte = |b: u8, out: &mut Vec<u8>| {
        push_hex_byte(out, b);
        out.push(b' ');
    };
    for &b in opcode.bytes {
        byte(b, out);
    }
    if opcode.has_modrm() {
        let reg = if ops.has(Operand::Subop) { ops.field(Operand::Subop) } else { ops.field(Operand::R32) };
        byte(ops.field(Operand::Mod) << 6 | reg << 3 | ops.field(Operand::Rm32), out);
        if ops.has(Operand::Base) {
            byte(ops.field(Operand::Scale) << 6 | ops.field(Operand::Index) << 3 | ops.field(Operand::Base), out);
        }
    }
    for op in [Operand::Disp8, Operand::Disp32, Operand::Imm8, Operand::Imm32] {
        let Some(word) = ops.word(op) else { continue };
        match (ops.value(op), op.width_and_range()) {
            (Some(value), Some((width, _, _))) => write_le_hex(out, value, width),
            _ => out.extend_from_slice(word),
        }
        out.push(b' ');
    }
}

// --------------------------------------------------------------- helpers

const EMPTY_VALUE: &str = "has no value before the '/'";

/// A word taken apart at its first `/`: its datum, and its metadata items
/// still joined by `/` (`None` when the word has no `/`). The same split
/// as [`Word`], done once per word with a plain loop, which beats `memchr`
/// on words this short.
fn split_word(word: &[u8]) -> (&[u8], Option<&[u8]>) {
    match word.iter().position(|&b| b == b'/') {
        Some(slash) => (&word[..slash], Some(&word[slash + 1..])),
        None => (word, None),
    }
}

/// The operand type that `metadata` (from [`split_word`]) names, if it
/// names exactly one; `Err` with the first two when it names more.
fn single_operand_type(metadata: Option<&[u8]>) -> Result<Option<Operand>, (Operand, Operand)> {
    let Some(metadata) = metadata else { return Ok(None) };
    let mut found = None;
    for item in metadata.split(|&b| b == b'/') {
        if let Some(op) = Operand::from_metadata(item) {
            match found {
                None => found = Some(op),
                Some(earlier) => return Err((earlier, op)),
            }
        }
    }
    Ok(found)
}

/// For the fast path: the opcode of an instruction whose first word's
/// datum is two hex digits (`bb`, `89/copy`) and, for `0f`, whose second
/// word's is too; the second word is taken off `rest`. `None` for anything
/// else, including words with an operand type.
fn simple_opcode<'a>(first: &[u8], rest: &mut impl Iterator<Item = &'a [u8]>) -> Option<&'static Opcode> {
    let byte = hex_byte_word(first)?;
    if byte == TWO_BYTE_PREFIX {
        opcodes::two_byte(hex_byte_word(rest.next()?)?)
    } else {
        opcodes::one_byte(byte)
    }
}

/// The value of a word whose datum is two hex digits and whose metadata
/// holds no operand type (`0f`, `af/multiply`): a raw byte.
fn hex_byte_word(word: &[u8]) -> Option<u8> {
    let (datum, metadata) = split_word(word);
    match metadata.and_then(first_operand_type) {
        None => hex_pair(datum),
        Some(_) => None,
    }
}

/// For the fast path: a word's datum and its one operand type (`3/mod/direct`
/// gives `3` and `mod`); `None` for a word with no operand type or several.
fn typed_word(word: &[u8]) -> Option<(&[u8], Operand)> {
    let mut pieces = word.split(|&b| b == b'/');
    let datum = pieces.next()?;
    let mut found = None;
    for item in pieces {
        if let Some(op) = Operand::from_metadata(item) {
            if found.is_some() {
                return None;
            }
            found = Some(op);
        }
    }
    Some((datum, found?))
}

/// The (first) operand type a word carries.
fn operand_type(word: &[u8]) -> Option<Operand> {
    split_word(word).1.and_then(first_operand_type)
}

/// The first operand type that `metadata` (from [`split_word`]) names.
fn first_operand_type(metadata: &[u8]) -> Option<Operand> {
    metadata.split(|&b| b == b'/').find_map(Operand::from_metadata)
}

#[cold]
fn conflicting_types(number: u64, word: &[u8], a: Operand, b: Operand) -> Error {
    Error::at(number, word, format!("has two operand types ({}, {}); keep one", a.name(), b.name()))
}

/// The byte that `datum`, two lowercase hex digits (`2a`), spells.
fn hex_pair(datum: &[u8]) -> Option<u8> {
    match *datum {
        [hi, lo] => Some(hex_digit(hi)? << 4 | hex_digit(lo)?),
        _ => None,
    }
}

/// Reads a number as [`number::parse`] does, with a shortcut for the one-
/// and two-digit numbers most words hold (`3/mod`, `bb`, `0a`).
fn parse_number(datum: &[u8]) -> Result<i64, NumberError> {
    let digits = match *datum {
        [d] => hex_digit(d),
        _ => hex_pair(datum),
    };
    match digits {
        Some(value) => Ok(i64::from(value)),
        None => number::parse(datum),
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The operand types an instruction misses whatever its addressing mode.
fn missing_simple_operands(opcode: &Opcode, ops: &Operands<'_>) -> Vec<Operand> {
    Operand::ALL.into_iter().filter(|&op| opcode.requires(op) && !ops.has(op)).collect()
}

/// "an imm32", "a disp8 or a ModR/M operand", ... for messages.
fn operands_phrase(opcode: &Opcode) -> String {
    let mut parts = Vec::new();
    if opcode.has_modrm() {
        parts.push("ModR/M operands".to_string());
    }
    if let Some(op) = opcode.tail.operand() {
        parts.push(format!("{} {}", article(op), op.name()));
    }
    if parts.is_empty() {
        "no operands".to_string()
    } else {
        parts.join(" and ")
    }
}

fn article(op: Operand) -> &'static str {
    // "an imm32", "an index", "an r32", "an rm32"; "a base", "a disp8".
    if op.name().starts_with(['a', 'e', 'i', 'o', 'u', 'r']) {
        "an"
    } else {
        "a"
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A metadata item that is almost an operand type: a different case, one
/// letter wrong, missing, added or swapped (`IMM32`, `imm23`, `imm32x`),
/// or an operand type followed by `#...` (`imm8#exit`).
fn near_operand_type(item: &[u8]) -> Option<Operand> {
    if item.len() > 12 {
        return None;
    }
    if let Some(hash) = item.iter().position(|&b| b == b'#') {
        if let Some(op) = item.get(..hash).and_then(Operand::from_metadata) {
            return Some(op);
        }
    }
    Operand::ALL.into_iter().find(|op| {
        let name = op.name().as_bytes();
        item.eq_ignore_ascii_case(name) || edit_distance_at_most_one(item, name)
    })
}

/// One insertion, deletion, substitution or swap of neighbours apart?
fn edit_distance_at_most_one(a: &[u8], b: &[u8]) -> bool {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (x, y) if x == y => {
            a.len() <= 1 || a[1..] == b[1..] || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        (x, y) if x + 1 == y => a == &b[1..],
        (x, y) if x == y + 1 => &a[1..] == b,
        _ => false,
    }
}

/// A number error in plain words (`language.md` 4.2).
#[cold]
fn number_message(e: NumberError, datum: &[u8]) -> String {
    match e {
        NumberError::Empty => "is not a valid hex number: it has no digits".to_string(),
        NumberError::Uppercase => {
            format!("hex must be lowercase (write '{}')", printable(&datum.to_ascii_lowercase()))
        }
        NumberError::OutOfRange => "does not fit in 32 bits (-0x80000000..0xffffffff)".to_string(),
        NumberError::NotHex => match datum.first() {
            _ if datum.len() == 2 && !matches!(datum.first(), Some(b'0'..=b'9' | b'-' | b'+')) => {
                "is neither a hex number nor a possible label (labels are never two characters long)".to_string()
            }
            Some(b'0'..=b'9') => {
                "is not a valid hex number (a word starting with a digit is a number; labels may not start with one)"
                    .to_string()
            }
            Some(b'-' | b'+') => {
                "is not a valid hex number (a word starting with a sign is a number; labels may not start with one)"
                    .to_string()
            }
            _ => "is not a valid hex number (digits 0-9 a-f after an optional sign and '0x')".to_string(),
        },
    }
}

/// The values a ModR/M or SIB bit field may take, in words.
#[cold]
fn field_range(name: &str, max: i64) -> String {
    match name {
        "rm32" | "r32" | "base" | "index" => format!("a register number 0-{max}"),
        "scale" => format!("0-{max}, the log2 of the multiplier (for 1, 2, 4, 8)"),
        _ => format!("0-{max}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(text: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        run(&mut text.as_bytes(), &mut out, &mut LineMap::off()).map(|()| String::from_utf8_lossy(&out).into_owned())
    }

    fn code(line: &str) -> Result<String, Error> {
        let out = pack(&format!("== code\n{line}\n"))?;
        Ok(out.strip_prefix("== code\n").unwrap_or(&out).to_string())
    }

    /// The bytes an instruction packs to (without the trailer).
    fn bytes(line: &str) -> String {
        match code(line) {
            Ok(out) => out.split("  # ").next().unwrap_or("").to_string(),
            Err(e) => panic!("{line}: {e}"),
        }
    }

    fn rejects(line: &str) -> String {
        match code(line) {
            Ok(out) => panic!("{line}: accepted as {out}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn instruction_lines_get_their_bytes_and_the_raw_line() {
        assert_eq!(code("  bb/copy-to-ebx 0x2a/imm32   # c").unwrap(), "bb 2a 00 00 00  #   bb/copy-to-ebx 0x2a/imm32   # c\n");
        assert_eq!(pack("== code\nc3").unwrap(), "== code\nc3  # c3");
    }

    #[test]
    fn output_is_in_x86_order_whatever_the_operand_order() {
        assert_eq!(bytes("81 0x10/imm32 4/rm32 3/mod 5/subop"), "81 ec 10 00 00 00");
        assert_eq!(bytes("8d 4/disp8 2/r32 1/scale 1/index 0/base 4/rm32 1/mod"), "8d 54 48 04");
    }

    #[test]
    fn sib_scale_goes_at_bit_6() {
        assert_eq!(bytes("8d 1/mod 4/rm32 0/base 1/index 2/scale 2/r32 4/disp8"), "8d 54 88 04");
        assert_eq!(bytes("8b 0/mod 4/rm32 3/base 5/index 3/scale 0/r32"), "8b 04 eb");
    }

    #[test]
    fn sib_base_5_under_mod_0_needs_a_disp32() {
        assert_eq!(bytes("8b 0/mod 4/rm32 5/base 1/index 0/scale 0/r32 T/disp32"), "8b 04 0d T/disp32");
        assert!(rejects("8b 0/mod 4/rm32 5/base 1/index 0/r32").contains("needs a disp32"));
    }

    #[test]
    fn opcodes_are_numbers_in_any_spelling() {
        for spelling in ["bb", "0xbb", "+bb", ". bb"] {
            assert_eq!(bytes(&format!("{spelling} 1/imm32")), "bb 01 00 00 00");
        }
        assert_eq!(bytes("5 1/imm32"), "05 01 00 00 00");
        assert_eq!(bytes("005 1/imm32"), "05 01 00 00 00");
        assert_eq!(bytes(". 0f . 0x84 8/disp32"), "0f 84 08 00 00 00");
    }

    #[test]
    fn names_and_bad_spellings_are_not_opcodes() {
        assert!(rejects("ret").contains("not an opcode"));
        assert!(rejects("b").contains("not an opcode"));
        assert!(rejects("BB 1/imm32").contains("lowercase"));
        assert!(rejects("06").contains("unknown opcode '06'"));
        assert!(rejects("/05/add 1/imm32").contains("no value"));
        assert!(rejects("bb/imm32 1/imm32").contains("operand type"));
        assert!(rejects("3/mod 0/rm32 1/r32").contains("must be an opcode"));
    }

    #[test]
    fn two_byte_opcodes_are_spelt_0f_and_two_digits() {
        assert!(rejects("0f").contains("second opcode byte"));
        assert!(rejects("0f # c").contains("second opcode byte"));
        assert!(rejects("0x0f 84 0/disp32").contains("exactly as '0f'"));
        assert!(rejects("0f 084 0/disp32").contains("two lowercase hex digits"));
        assert!(rejects("0f 05").contains("unknown two-byte opcode '0f 05'"));
        assert!(rejects("0f 3/mod 0/rm32 1/r32").contains("second opcode byte"));
        assert!(rejects("f3 0f 59 3/mod 0/rm32 1/r32").contains("f3"));
        assert!(rejects("f2 0f 59").contains("f2"));
    }

    #[test]
    fn typed_0f_af_is_accepted() {
        assert_eq!(bytes("0f af/multiply 3/mod 1/rm32 0/r32"), "0f af c1");
        assert!(rejects("0f af").contains("needs a /mod"));
    }

    #[test]
    fn every_word_after_the_opcode_needs_exactly_one_operand_type() {
        let m = rejects("bb/copy-to-ebx 0x2a");
        assert!(m.contains("did you mean '0x2a/imm32'"), "{m}");
        let m = rejects("bb/copy-to-ebx 0/imm23");
        assert!(m.contains("did you mean '/imm32'"), "{m}");
        let m = rejects("cd/syscall 0x80/imm8#exit");
        assert!(m.contains("'/imm8'") && m.contains("'#'"), "{m}");
        assert!(rejects("05 1/imm32 ff").contains("raw bytes"));
        assert!(rejects("05 here: 1/imm32").contains("label definition"));
        assert!(rejects("c3 == data").contains("segment header"));
        assert!(pack("== data\n01 == code\n").unwrap_err().to_string().contains("segment header"));
        assert!(rejects("05 1/imm32/imm8").contains("two operand types"));
    }

    #[test]
    fn at_most_one_operand_of_each_type() {
        assert!(rejects("89 3/mod 0/rm32 1/r32 2/r32").contains("two r32 operands"));
        assert!(rejects("05 1/imm32 2/imm32").contains("two imm32"));
    }

    #[test]
    fn operands_must_be_those_the_opcode_takes() {
        assert!(rejects("cd").contains("needs a /imm8"));
        assert!(rejects("eb $x/disp32").contains("takes a disp8"));
        assert!(rejects("40 1/imm8").contains("takes no operands"));
        assert!(rejects("50 3/mod 0/rm32").contains("no ModR/M byte"));
        assert!(rejects("89 0/rm32 3/r32").contains("needs a /mod"));
        assert!(rejects("89 3/mod 3/r32").contains("needs a /rm32"));
        assert!(rejects("81 3/mod 0/rm32 1/imm32").contains("needs a /subop"));
        assert!(rejects("81 3/mod 0/rm32 0/r32 1/imm32").contains("not an r32"));
        assert!(rejects("89 0/subop 3/mod 0/rm32 1/r32").contains("does not take a subop"));
        assert!(rejects("eb 2/disp16").contains("disp16"));
        assert!(rejects("05 3/imm16").contains("imm16"));
    }

    #[test]
    fn subop_and_r32_together_only_when_equal_on_c1_c6_c7_d3_f7() {
        assert_eq!(bytes("c7 0/subop 3/mod 3/rm32 0/r32 0x21/imm32"), "c7 c3 21 00 00 00");
        assert!(rejects("c7 0/subop 3/mod 0/rm32 1/r32 0/imm32").contains("same ModR/M bits"));
        assert!(rejects("ff 0/subop 3/mod 0/rm32 0/r32").contains("not an r32"));
    }

    #[test]
    fn mod_and_rm32_decide_sib_and_displacement() {
        assert!(rejects("8b 1/mod 0/rm32 1/r32").contains("needs a disp8"));
        assert!(rejects("8b 2/mod 0/rm32 1/r32").contains("needs a disp32"));
        assert!(rejects("8b 0/mod 5/rm32 1/r32").contains("absolute address"));
        assert!(rejects("89 3/mod 0/rm32 1/r32 4/disp8").contains("no displacement"));
        assert!(rejects("8b 0/mod 4/rm32 1/r32 0/index").contains("base operand"));
        assert!(rejects("8b 0/mod 4/rm32 1/r32 0/base").contains("index operand"));
        assert!(rejects("89 3/mod 4/rm32 0/r32 0/base").contains("direct"));
        assert!(rejects("8b 0/mod 0/rm32 1/r32 0/base 2/index").contains("4/rm32"));
        assert!(rejects("8b 0/mod 04/rm32 1/r32").contains("SIB"));
        assert_eq!(bytes("8b 0/mod 5/rm32 1/r32 0x100/disp32"), "8b 0d 00 01 00 00");
    }

    #[test]
    fn values_must_fit_their_fields() {
        assert!(rejects("89 4/mod 0/rm32 1/r32").contains("mod must be 0-3"));
        assert!(rejects("89 3/mod 8/rm32 1/r32").contains("rm32 must be a register number 0-7"));
        assert!(rejects("89 3/mod 0/rm32 -1/r32").contains("r32 must be a register number 0-7"));
        assert!(rejects("8b 0/mod 4/rm32 0/base 4/index -1/scale 0/r32").contains("scale must be 0-3"));
        assert!(rejects("cd 0x100/imm8").contains("imm8"));
        assert!(rejects("cd -0x81/imm8").contains("imm8"));
        assert!(rejects("eb 0x80/disp8").contains("disp8"));
        assert!(rejects("eb -0x81/disp8").contains("disp8"));
        assert_eq!(bytes("eb -0x80/disp8"), "eb 80");
        assert_eq!(bytes("cd 0xff/imm8"), "cd ff");
        assert!(rejects("bb 0x100000000/imm32").contains("32 bits"));
        assert!(rejects("89 3/mod ebp/rm32 1/r32").contains("not a label"));
    }

    #[test]
    fn numbers_are_hex_with_optional_sign_and_0x() {
        assert_eq!(bytes("68 +5/imm32"), "68 05 00 00 00");
        assert_eq!(bytes("68 +10/imm32"), "68 10 00 00 00");
        assert_eq!(bytes("68 -1/imm32"), "68 ff ff ff ff");
        assert!(rejects("68 0x/imm32").contains("no digits"));
        assert!(rejects("68 0xA/imm32").contains("write '0xa'"));
        assert!(rejects("68 xy/imm32").contains("two characters"));
        assert!(rejects("68 1st/imm32").contains("digit"));
        assert!(rejects("68 -offset/imm32").contains("sign"));
    }

    #[test]
    fn label_references_stay_in_place() {
        assert_eq!(bytes("68 Message/imm32/extra"), "68 Message/imm32/extra");
        assert_eq!(bytes("e8 f/disp32"), "e8 f/disp32");
        assert_eq!(bytes("8b 0/mod 5/rm32 1/r32 Var/disp32"), "8b 0d Var/disp32");
    }

    #[test]
    fn raw_hex_lines_keep_every_byte_and_must_have_the_right_length() {
        for line in ["bb 2a 00 00 00", "89 c8", "8b 45 f8", "81 c0 01 00 00 00", "0f 84 10 00 00 00", "0f af c8", "8b 04 25 00 00 00 0a", "c1 e0 02"] {
            assert_eq!(bytes(line), line);
        }
        assert_eq!(bytes("bb/copy 2a 00 . 00 00"), "bb 2a 00 00 00");
        for line in ["bb 2a 00", "89 45", "c3 00", "0f 84 10", "89", "8b 04", "bb 2a 00 00 00 00"] {
            assert!(code(line).is_err(), "{line}");
        }
        assert!(rejects("f3 0f 2c c1").contains("f3"));
        assert!(rejects("90 00").contains("unknown opcode"));
    }

    #[test]
    fn fillers_are_ignored_and_a_line_of_fillers_is_empty() {
        assert_eq!(bytes("89/copy . 3/mod . 5/rm32 4/r32 ."), "89 e5");
        assert_eq!(code(". . # nothing").unwrap(), "\n");
        assert_eq!(pack("== data\n. 01 . 02\n").unwrap(), "== data\n01 02 \n");
    }

    #[test]
    fn line_metadata_ends_the_instruction_and_is_carried_along() {
        assert_eq!(bytes("c3 :meta 1/imm8"), "c3");
        assert_eq!(code(":only meta").unwrap(), ":only meta\n");
        assert_eq!(pack("== data\n01 :meta 02\n").unwrap(), "== data\n01 :meta 02\n");
    }

    #[test]
    fn labels_comments_headers_and_blank_lines_pass_through() {
        let text = "== code 0x09000000\n  # c\nEntry:\ntest-a:/x\n   \n\n== data\nx: 01\n";
        assert_eq!(pack(text).unwrap(), text);
    }

    #[test]
    fn only_a_header_named_code_selects_code_mode() {
        assert_eq!(pack("== Code\nc3\n").unwrap(), "== Code\nc3 \n");
        assert_eq!(pack("==\tcode\nc3\n").unwrap(), "==\tcode\nc3  # c3\n");
        assert!(pack("== code\n==code\n").is_err());
    }

    #[test]
    fn data_words_are_bytes_or_imm32() {
        assert_eq!(pack("== data\n0x10/imm32 01 -1 ff/imm8 # n\n").unwrap(), "== data\n10 00 00 00 01 ff ff # n\n");
        assert_eq!(pack("== data\n    # c\n").unwrap(), "== data\n# c\n");
        assert_eq!(pack("== data\nT/imm32 x").unwrap(), "== data\nT/imm32 x \n");
        assert_eq!(pack("== data\n01 02 mid: 03\n").unwrap(), "== data\n01 02 01 02 mid: 03\n");
    }

    #[test]
    fn data_values_are_checked() {
        for bad in ["100", "-81", "zz", "0x1ff/imm8", "0x10/disp8", "0x10/disp32", "1/imm16", "/", "//7/imm32", "-", "1/imm32/imm8", "0x123456789/imm32", "02#c"] {
            assert!(pack(&format!("== data\n{bad}\n")).is_err(), "{bad}");
        }
        assert!(pack("== data\n-80 ff T/disp32\n").is_ok());
    }

    #[test]
    fn cr_and_tab_are_whitespace() {
        assert_eq!(pack("== code\r\n05\t1/imm32\r\n").unwrap(), "== code\r\n05 01 00 00 00  # 05\t1/imm32\r\n");
        assert_eq!(pack("== data\r\n01 02\r\n").unwrap(), "== data\r\n01 02 \n");
    }

    #[test]
    fn errors_name_the_line_of_packs_input() {
        let e = pack("== code\nc3\n\nbb 0x2a\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_eq!(e.word.as_deref(), Some(&b"0x2a"[..]));
    }

    #[test]
    fn one_output_line_per_input_line_in_the_line_map() {
        let mut map = LineMap::in_memory();
        let mut out = Vec::new();
        run(&mut &b"== code\n. .\nc3\n== data\n01 # x\n"[..], &mut out, &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 5\n");
    }

    #[test]
    fn help_lists_every_opcode_of_the_table() {
        let text = help();
        for opcode in opcodes::OPCODES {
            assert!(text.contains(&format!("  {:<6} ", opcode.spelling())), "{}", opcode.spelling());
            assert!(text.contains(opcode.name));
        }
    }

    /// Packs `line` (which starts with its opcode word) by the fast path
    /// and by the careful one.
    fn both_paths(line: &[u8]) -> (Option<Vec<u8>>, Result<Vec<u8>, Error>) {
        let instruction = Instruction { line, number: 1 };
        let mut words = LongWords { rest: line };
        let first = words.next().unwrap_or_default();
        let mut fast = Vec::new();
        let fast = instruction.pack_valid(first, words.clone(), &mut fast).then_some(fast);
        let mut checked = Vec::new();
        let checked = instruction.pack_checked(first, words, &mut checked).map(|()| checked);
        (fast, checked)
    }

    #[test]
    fn fast_path_agrees_with_the_careful_path() {
        let valid = [
            "89/copy 3/mod/direct 5/rm32/ebp 4/r32/esp",
            "8b/copy 1/mod/*+disp8 3/rm32/ebx 0x13/disp8 1/r32/ecx",
            "89/copy 2/mod/*+disp32 6/rm32/esi 0x4f95/disp32 5/r32/ebp",
            "81 7/subop/compare 3/mod/direct 7/rm32/edi 0x33/imm32",
            "81 5/subop 1/mod/*+disp8 4/rm32/sib 2/base/edx 6/index/esi 1/scale 0x5d/disp8 0xae/imm32",
            "c1 4/subop/shift 2/mod/*+disp32 4/rm32/sib 3/base/ebx 3/index/ebx var-4/disp32 0xb/imm8",
            "8b 0/mod 4/rm32 5/base 1/index 0/scale 0/r32 T/disp32",
            "c7 0/subop 3/mod 3/rm32 0/r32 0x21/imm32",
            "0f 87/jump-if-greater-unsigned $func-44:end/disp32",
            "0f af/multiply 0/mod/indirect 6/rm32/esi 4/r32/esp",
            "74/jump-if-equal $func-44:loop-2/disp8",
            "bb/copy-to-ebx 0x2a/imm32 . # comment",
            "cd/syscall 0x80/imm8 :meta 1/imm8",
            "8f 0/subop/pop 1/mod/*+disp8 5/rm32/ebp -0x6/disp8",
            "e8/call f/disp32",
            "c3/return",
            "68 -1/imm32",
        ];
        let data = [
            "0", "1", "3", "4", "5", "7", "8", "-1", "+5", "0x10", "ff", "100", "-0x81", "0x7f", "0x80", "f", "ab", "zz",
            "", "A", "0x", "var", "0x100000000",
        ];
        let types = [
            "mod", "rm32", "r32", "subop", "base", "index", "scale", "disp8", "disp32", "imm8", "imm32", "imm16",
            "disp16", "x", "mod/imm8", "imm32/extra", "",
        ];
        let mut state: u32 = 1;
        let mut random = |n: usize| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as usize % n
        };
        let (mut accepted, mut rejected) = (0, 0);
        for round in 0..40_000 {
            let mut words: Vec<String> = valid[random(valid.len())].split(' ').map(str::to_string).collect();
            // Most rounds change one or two things; some leave the line valid.
            for _ in 0..random(3) {
                let at = random(words.len());
                let word = format!("{}/{}", data[random(data.len())], types[random(types.len())]);
                match random(6) {
                    0 => words.insert(at + 1, word),
                    1 if words.len() > 1 => {
                        words.remove(at);
                    }
                    2 => {
                        let copy = words[at].clone();
                        words.push(copy);
                    }
                    3 => words[0] = ["89", "0x89", "89/imm32", "0f", "0f/x", "f3", "06", "ret", "BB", "5", "af"][random(11)].to_string(),
                    _ => words[at] = word,
                }
            }
            let line = format!("{}{}", words.join(" "), ["\n", "", "  # c\n", "\r\n"][round % 4]);
            match both_paths(line.as_bytes()) {
                (Some(fast), Ok(checked)) => {
                    assert_eq!(fast, checked, "{line}");
                    accepted += 1;
                }
                (Some(fast), Err(e)) => panic!("{line}: fast path wrote {fast:?}, careful path says {e}"),
                (None, Ok(_)) => accepted += 1,
                (None, Err(_)) => rejected += 1,
            }
        }
        assert!(accepted > 5_000 && rejected > 5_000, "{accepted} accepted, {rejected} rejected");
    }

    #[test]
    fn two_digit_data_words_are_written_as_data_word_writes_them() {
        let digits = b"0123456789abcdefABgx-+:";
        for &hi in digits {
            for &lo in digits {
                let word = [hi, lo];
                if hex_pair(&word).is_some() {
                    let mut out = Vec::new();
                    data_word(&word, &word, None, 1, &mut out).unwrap();
                    assert_eq!(out, [hi, lo, b' ']);
                }
            }
        }
    }

    #[test]
    fn imm32_data_words_are_written_as_data_word_writes_them() {
        let data = ["0", "2a", "0x2a", "-1", "+5", "0x100000000", "0xA", "zz", "", "x", "T", "Entry", "x:", "a/b", "==", "-", "0x"];
        for datum in data {
            for word in [format!("{datum}/imm32"), format!("{datum}/imm32/imm32"), format!("{datum}/x/imm32")] {
                let word = word.as_bytes();
                let mut fast = Vec::new();
                if imm32_data_word(word, &mut fast) {
                    let (datum, metadata) = split_word(word);
                    let mut checked = Vec::new();
                    data_word(word, datum, metadata, 1, &mut checked).unwrap();
                    assert_eq!(fast, checked, "{}", printable(word));
                } else {
                    assert!(fast.is_empty());
                }
            }
        }
    }

    #[test]
    fn fast_path_takes_the_common_instructions() {
        for line in ["89/copy 3/mod/direct 5/rm32/ebp 4/r32/esp", "0f 84 x/disp32", "c3", "bb 0x2a/imm32 # c"] {
            assert!(both_paths(line.as_bytes()).0.is_some(), "{line}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state: u32 = 7;
        for _ in 0..2000 {
            let mut text = b"== code\n".to_vec();
            for _ in 0..24 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pick = b"0f/ :.#x-+\n\t89abcdeimm32mod";
                text.push(pick[(state >> 16) as usize % pick.len()]);
            }
            let _ = run(&mut &text[..], &mut Vec::new(), &mut LineMap::off());
        }
    }
}

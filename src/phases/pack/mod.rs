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
//!   `subop` and `r32` together only with equal values, and only where the
//!   table allows it ([`opcodes::RegField::SubopOrEqualR32`], CONTRACT
//!   rule 4);
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
//! output line per input line. This file holds the lines and the data
//! segments; instructions have three files of their own:
//! - `careful.rs`, the careful path, packs any instruction or says what is
//!   wrong with it, top to bottom: the opcode, the operand words, the
//!   checks they must pass, and the encoding, in x86 byte order;
//! - `messages.rs` holds the wording of every message, one function per
//!   broken rule;
//! - `fast.rs`, the fast path, exists only for speed: it packs the
//!   instructions and data words most programs are made of, reading each
//!   word once, and gives up on anything else, which then takes the careful
//!   path. Its tests check that the two write the same bytes.

use std::io::{BufRead, Write};

use crate::error::Error;
use crate::line_map::LineMap;
use crate::number::{self, looks_like_number, write_le_hex};
use crate::opcodes::{self, Operand};
use crate::read::{self, Blocks};
use crate::words::{datum_and_metadata, is_comment, is_filler, is_label_definition, is_line_metadata, offset_in, words, Words};

mod careful;
mod fast;
mod messages;

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
    let mut rest = words(line);
    let mut fillers = false;
    let first = loop {
        match rest.next() {
            Some(w) if is_filler(w) => fillers = true,
            other => break other,
        }
    };
    let Some(first) = first else {
        blank_line(line, fillers, out);
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
        blank_line(line, fillers, out);
        return Ok(());
    }
    if is_label_definition(first) {
        out.extend_from_slice(line);
        return Ok(());
    }
    instruction(&Instruction { line, number }, first, rest, out)
}

/// A line with nothing to pack (blank, or, in code, only a comment or line
/// metadata): as it is, or an empty line when `.` fillers come first.
fn blank_line(line: &[u8], fillers: bool, out: &mut Vec<u8>) {
    if fillers {
        out.push(b'\n');
    } else {
        out.extend_from_slice(line);
    }
}

/// An instruction line being packed: its text and number, for the checks
/// and the messages.
struct Instruction<'a> {
    line: &'a [u8],
    number: u64,
}

/// Packs the instruction whose first word is `first`: by the fast path
/// when it can, else by the careful path, which also says what is wrong.
fn instruction<'a>(ins: &Instruction<'a>, first: &'a [u8], rest: Words<'a>, out: &mut Vec<u8>) -> Result<(), Error> {
    let start = out.len();
    if fast::instruction(ins, first, rest.clone(), out) {
        return Ok(());
    }
    out.truncate(start);
    careful::instruction(ins, first, rest, out)
}

// ------------------------------------------------------------------ data

/// A line of a segment other than `code` (pack.md 6): every word becomes
/// its bytes; a comment or line metadata is written from its first byte to
/// the end of the line; a label definition anywhere writes the raw line.
fn data_line(line: &[u8], number: u64, first: &[u8], rest: Words<'_>, out: &mut Vec<u8>) -> Result<(), Error> {
    for word in std::iter::once(first).chain(rest) {
        if is_comment(word) || is_line_metadata(word) {
            out.extend_from_slice(&line[offset_in(line, word)..]);
            return Ok(());
        }
        if is_filler(word) || fast::data_word(word, out) {
            continue;
        }
        if is_label_definition(word) {
            out.extend_from_slice(line);
            return Ok(());
        }
        data_word(word, number, out)?;
    }
    out.push(b'\n');
    Ok(())
}

/// One word of a data line: 4 bytes for `/imm32`, 1 for anything else; a
/// label reference is copied whole for `survey`.
fn data_word(word: &[u8], number: u64, out: &mut Vec<u8>) -> Result<(), Error> {
    let (datum, metadata) = datum_and_metadata(word);
    if datum.is_empty() {
        return Err(messages::empty_value(number, word));
    }
    if word == b"==" {
        return Err(messages::header_inside_data(number, word));
    }
    let kind = careful::single_operand_type(metadata).map_err(|(a, b)| messages::two_types(number, word, a, b))?;
    let width = match kind {
        Some(Operand::Imm32) => 4,
        Some(Operand::Imm16) => return Err(messages::imm16_data(number, word)),
        Some(d @ (Operand::Disp8 | Operand::Disp16 | Operand::Disp32)) if looks_like_number(datum) => {
            return Err(messages::displacement_data(number, word, d));
        }
        _ => 1,
    };
    if !looks_like_number(datum) {
        out.extend_from_slice(word);
        out.push(b' ');
        return Ok(());
    }
    let value = number::parse(datum).map_err(|e| messages::bad_number(number, word, datum, e))?;
    if width == 1 && !(-0x80..=0xff).contains(&value) {
        return Err(messages::data_byte_out_of_range(number, word, kind));
    }
    write_le_hex(out, value, width);
    out.push(b' ');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    pub(super) fn pack(text: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        run(&mut text.as_bytes(), &mut out, &mut LineMap::off()).map(|()| String::from_utf8_lossy(&out).into_owned())
    }

    pub(super) fn code(line: &str) -> Result<String, Error> {
        let out = pack(&format!("== code\n{line}\n"))?;
        Ok(out.strip_prefix("== code\n").unwrap_or(&out).to_string())
    }

    /// The bytes an instruction packs to (without the trailer).
    pub(super) fn bytes(line: &str) -> String {
        match code(line) {
            Ok(out) => out.split("  # ").next().unwrap_or("").to_string(),
            Err(e) => panic!("{line}: {e}"),
        }
    }

    pub(super) fn rejects(line: &str) -> String {
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

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = Rng::new(7);
        let pick = b"0f/ :.#x-+\n\t89abcdeimm32mod";
        for _ in 0..2000 {
            let mut text = b"== code\n".to_vec();
            for _ in 0..24 {
                text.push(*rng.pick(pick));
            }
            let _ = run(&mut &text[..], &mut Vec::new(), &mut LineMap::off());
        }
    }
}

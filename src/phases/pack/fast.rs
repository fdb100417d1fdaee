//! The fast path, which exists only for speed: a learner can skip this
//! file and lose nothing. It must write exactly what the careful path
//! (`careful.rs` for instructions, `data_word` in `mod.rs` for data
//! words) writes; the tests at the end check that the two agree.
//!
//! Most instructions are written the same way: an opcode of two hex
//! digits, then typed operand words with small numbers or label names
//! (`89/copy 3/mod/direct 5/rm32/ebp 4/r32/esp`). [`instruction`] packs
//! those reading each word once, and gives up, returning false, at
//! anything else or anything wrong: the caller then throws away what it
//! wrote and takes the careful path, which finds the error and words it.
//! [`data_word`] does the same for the two commonest data words.

use crate::number::{self, hex_pair, looks_like_number, write_le_hex};
use crate::opcodes::{self, Opcode, Operand, TWO_BYTE_PREFIX};
use crate::words::{datum_and_metadata, Words};

use super::careful::{self, hex_byte_word, Operands};
use super::Instruction;

/// Packs an instruction as most are written, as [`careful::instruction`]
/// would; false, having written something or nothing, when it cannot.
pub(super) fn instruction<'a>(ins: &Instruction<'a>, first: &'a [u8], rest: Words<'a>, out: &mut Vec<u8>) -> bool {
    let mut rest = rest.interpreted();
    let Some(opcode) = simple_opcode(first, &mut rest) else { return false };
    let mut ops = Operands::default();
    for word in rest {
        let Some((datum, op)) = typed_word(word) else { return false };
        if datum.is_empty() || ops.has(op) {
            return false;
        }
        ops.add(op, word);
        if looks_like_number(datum) {
            let Ok(value) = number::parse(datum) else { return false };
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
    if careful::check_modes(ins, opcode, first, &ops).is_err() {
        return false;
    }
    careful::encode(opcode, &ops, out);
    out.extend_from_slice(b" # ");
    out.extend_from_slice(ins.line);
    true
}

/// The opcode of an instruction whose first word's datum is two hex digits
/// (`bb`, `89/copy`) and, for `0f`, whose second word's is too; the second
/// word is taken off `rest`. `None` for anything else, including words
/// with an operand type.
fn simple_opcode<'a>(first: &[u8], rest: &mut impl Iterator<Item = &'a [u8]>) -> Option<&'static Opcode> {
    let byte = hex_byte_word(first)?;
    if byte == TWO_BYTE_PREFIX {
        opcodes::two_byte(hex_byte_word(rest.next()?)?)
    } else {
        opcodes::one_byte(byte)
    }
}

/// A word's datum and its one operand type (`3/mod/direct` gives `3` and
/// `mod`); `None` for a word with no operand type or several.
fn typed_word(word: &[u8]) -> Option<(&[u8], Operand)> {
    let (datum, metadata) = datum_and_metadata(word);
    Some((datum, careful::single_operand_type(metadata).ok()??))
}

/// Writes one of the two commonest data words as `data_word` writes it:
/// a byte of two hex digits (`2a`), which is its own output, or a plain
/// `/imm32` (`0x2a/imm32`, `Entry/imm32`). False, having written nothing,
/// for any other word.
pub(super) fn data_word(word: &[u8], out: &mut Vec<u8>) -> bool {
    if hex_pair(word).is_some() {
        out.extend_from_slice(word);
        out.push(b' ');
        return true;
    }
    // `datum_and_metadata(word)` is `(datum, Some(b"imm32"))`, tested from
    // the end: most data words that get here (`48/H`, a string's bytes) are
    // not `/imm32`, and that shows at once.
    let Some(datum) = word.strip_suffix(b"/imm32") else { return false };
    if datum.is_empty() || datum.contains(&b'/') || datum.last() == Some(&b':') {
        return false;
    }
    if !looks_like_number(datum) {
        out.extend_from_slice(word);
    } else if let Ok(value) = number::parse(datum) {
        write_le_hex(out, value, 4);
    } else {
        return false;
    }
    out.push(b' ');
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{printable, Error};
    use crate::test_rng::Rng;
    use crate::words::words;

    /// Packs `line` (which starts with its opcode word) by the fast path
    /// and by the careful one.
    fn both_paths(line: &[u8]) -> (Option<Vec<u8>>, Result<Vec<u8>, Error>) {
        let ins = Instruction { line, number: 1 };
        let mut rest = words(line);
        let first = rest.next().unwrap_or_default();
        let mut fast = Vec::new();
        let fast = instruction(&ins, first, rest.clone(), &mut fast).then_some(fast);
        let mut checked = Vec::new();
        let checked = careful::instruction(&ins, first, rest, &mut checked).map(|()| checked);
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
        let opcodes = ["89", "0x89", "89/imm32", "0f", "0f/x", "f3", "06", "ret", "BB", "5", "af"];
        let mut rng = Rng::new(1);
        let (mut accepted, mut rejected) = (0, 0);
        for round in 0..40_000 {
            let mut words: Vec<String> = rng.pick(&valid).split(' ').map(str::to_string).collect();
            // Most rounds change one or two things; some leave the line valid.
            for _ in 0..rng.below(3) {
                let at = rng.below(words.len());
                let word = format!("{}/{}", rng.pick(&data), rng.pick(&types));
                match rng.below(6) {
                    0 => words.insert(at + 1, word),
                    1 if words.len() > 1 => {
                        words.remove(at);
                    }
                    2 => {
                        let copy = words[at].clone();
                        words.push(copy);
                    }
                    3 => words[0] = rng.pick(&opcodes).to_string(),
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
    fn fast_path_takes_the_common_instructions() {
        for line in ["89/copy 3/mod/direct 5/rm32/ebp 4/r32/esp", "0f 84 x/disp32", "c3", "bb 0x2a/imm32 # c"] {
            assert!(both_paths(line.as_bytes()).0.is_some(), "{line}");
        }
    }

    /// Packs a data word by the fast path and by `data_word`.
    fn both_data_paths(word: &[u8]) -> (Option<Vec<u8>>, Result<Vec<u8>, Error>) {
        let mut fast = Vec::new();
        let fast = if data_word(word, &mut fast) {
            Some(fast)
        } else {
            assert!(fast.is_empty(), "{}", printable(word));
            None
        };
        let mut checked = Vec::new();
        let checked = super::super::data_word(word, 1, &mut checked).map(|()| checked);
        (fast, checked)
    }

    #[test]
    fn two_digit_data_words_are_written_as_data_word_writes_them() {
        let digits = b"0123456789abcdefABgx-+:";
        for &high in digits {
            for &low in digits {
                let word = [high, low];
                if let (Some(fast), checked) = both_data_paths(&word) {
                    assert_eq!(fast, checked.unwrap());
                    assert_eq!(fast, [high, low, b' ']);
                }
            }
        }
    }

    #[test]
    fn imm32_data_words_are_written_as_data_word_writes_them() {
        let data = ["0", "2a", "0x2a", "-1", "+5", "0x100000000", "0xA", "zz", "", "x", "T", "Entry", "x:", "a/b", "==", "-", "0x"];
        for datum in data {
            for word in [format!("{datum}/imm32"), format!("{datum}/imm32/imm32"), format!("{datum}/x/imm32")] {
                if let (Some(fast), checked) = both_data_paths(word.as_bytes()) {
                    assert_eq!(fast, checked.unwrap(), "{word}");
                }
            }
        }
        assert!(both_data_paths(b"Entry/imm32").0.is_some() && both_data_paths(b"0x2a/imm32").0.is_some());
    }
}

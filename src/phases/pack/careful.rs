//! The careful path: packs any instruction, or says what is wrong with it.
//!
//! [`instruction`] reads in the order of the bytes it writes: the opcode,
//! then the operand words, then the checks that the operands are exactly
//! those the opcode and its ModR/M byte call for, then [`encode`], which
//! writes opcode, ModR/M, SIB, displacement and immediate. The opcode
//! table ([`crate::opcodes`]) is the data every step reads. A line spelt
//! byte by byte (`bb 2a 00 00 00`) is checked against the table too, and
//! written as it is (`raw_hex`, at the end).
//!
//! Each check states its rule here and leaves the wording of its message
//! to `messages.rs`.

use crate::error::Error;
use crate::number::{self, hex_pair, looks_like_number, push_hex_byte, write_le_hex};
use crate::opcodes::{self, Opcode, Operand, TWO_BYTE_PREFIX};
use crate::words::{datum_and_metadata, instruction_words, metadata_items, Word, Words};

use super::{messages, Instruction};

/// Checks and encodes the instruction whose first word is `first`, the
/// rest of its line in `rest`, with a message for the first thing wrong.
pub(super) fn instruction<'a>(ins: &Instruction<'a>, first: &'a [u8], rest: Words<'a>, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut rest = rest.interpreted();
    let opcode = opcode(ins, first, &mut rest)?;
    if is_raw_hex(ins, first, rest.clone()) {
        raw_hex(ins, opcode, rest, out)?;
    } else {
        let mut ops = operands(ins, opcode, first, rest)?;
        check_kinds(ins, opcode, first, &ops)?;
        read_values(ins, &mut ops)?;
        check_modes(ins, opcode, first, &ops)?;
        encode(opcode, &ops, out);
    }
    out.extend_from_slice(b" # ");
    out.extend_from_slice(ins.line);
    Ok(())
}

// ---------------------------------------------------------------- opcode

/// Reads the opcode word(s) (pack.md 5.3; `language.md` 4.4); takes the
/// second byte of a `0f` opcode off `rest`.
fn opcode<'a>(ins: &Instruction<'a>, first: &'a [u8], rest: &mut impl Iterator<Item = &'a [u8]>) -> Result<&'static Opcode, Error> {
    let byte = opcode_byte(ins, first)?;
    if byte == TWO_BYTE_PREFIX {
        if Word::new(first).datum() != b"0f" {
            return Err(messages::two_byte_prefix_spelling(ins, first));
        }
        let Some(second) = rest.next() else {
            return Err(messages::second_opcode_byte_missing(ins));
        };
        if let Some(op) = operand_type(second) {
            return Err(messages::operand_for_second_opcode_byte(ins, op, second));
        }
        let datum = Word::new(second).datum();
        let digits = datum.strip_prefix(b"0x").unwrap_or(datum);
        let Some(value) = hex_pair(digits) else {
            return Err(messages::second_opcode_byte_not_hex(ins, datum));
        };
        return opcodes::two_byte(value).ok_or_else(|| messages::unknown_two_byte_opcode(ins, value));
    }
    if opcodes::is_unsupported_prefix(byte) {
        return Err(messages::unsupported_prefix(ins, byte));
    }
    opcodes::one_byte(byte).ok_or_else(|| messages::unknown_opcode(ins, byte))
}

/// The value of the first opcode word: a number, one byte, no operand type.
fn opcode_byte(ins: &Instruction<'_>, first: &[u8]) -> Result<u8, Error> {
    let n = ins.number;
    let (datum, metadata) = datum_and_metadata(first);
    if let Some(op) = metadata.and_then(first_operand_type) {
        return Err(messages::typed_opcode(n, first, op));
    }
    if datum.is_empty() {
        return Err(messages::opcode_without_value(n, first));
    }
    if !looks_like_number(datum) {
        return Err(messages::opcode_not_a_number(n, first, datum));
    }
    let value = number::parse(datum).map_err(|e| messages::bad_number(n, first, datum, e))?;
    u8::try_from(value).map_err(|_| messages::opcode_not_a_byte(n, first))
}

// -------------------------------------------------------------- operands

/// The operands of one instruction, by operand type: the word as written
/// and, for numbers, its value. Two bit sets (one bit per
/// [`Operand::index`]) say which types are present and which of them are
/// numbers rather than label names; the arrays hold nothing meaningful
/// elsewhere.
#[derive(Default)]
pub(super) struct Operands<'a> {
    pub(super) present: u16,
    numbers: u16,
    words: [&'a [u8]; 13],
    values: [i64; 13],
}

impl<'a> Operands<'a> {
    pub(super) fn add(&mut self, op: Operand, word: &'a [u8]) {
        self.present |= op.bit();
        self.words[op.index()] = word;
    }

    pub(super) fn set_value(&mut self, op: Operand, value: i64) {
        self.numbers |= op.bit();
        self.values[op.index()] = value;
    }

    pub(super) fn has(&self, op: Operand) -> bool {
        self.present & op.bit() != 0
    }

    pub(super) fn word(&self, op: Operand) -> Option<&'a [u8]> {
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
    pub(super) fn field(&self, op: Operand) -> u8 {
        self.value(op).unwrap_or(0) as u8
    }
}

/// Reads the operand words: every one has a value and exactly one operand
/// type, and no type comes twice (`language.md` 9.1, 9.4).
fn operands<'a>(
    ins: &Instruction<'a>,
    opcode: &Opcode,
    first: &[u8],
    rest: impl Iterator<Item = &'a [u8]>,
) -> Result<Operands<'a>, Error> {
    let mut ops = Operands::default();
    let mut untyped: Option<&[u8]> = None;
    for word in rest {
        let (datum, metadata) = datum_and_metadata(word);
        if datum.is_empty() {
            return Err(messages::operand_without_value(ins, word));
        }
        match single_operand_type(metadata) {
            Err((a, b)) => return Err(messages::two_types(ins.number, word, a, b)),
            Ok(None) => {
                untyped = untyped.or(Some(word));
            }
            Ok(Some(op)) => {
                if let Some(earlier) = ops.word(op) {
                    return Err(messages::two_of_a_type(ins, op, earlier, word));
                }
                ops.add(op, word);
            }
        }
    }
    if let Some(word) = untyped {
        return Err(messages::untyped_word(ins, opcode, first, word, &ops));
    }
    Ok(ops)
}

// ---------------------------------------------------------------- checks

/// Are the operand types present exactly those the opcode requires and
/// permits (before looking at `mod` and `rm32`; `language.md` 10)?
fn check_kinds(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], ops: &Operands<'_>) -> Result<(), Error> {
    for op in ops.types() {
        if !opcode.permits(op) {
            return Err(messages::not_permitted(ins, opcode, first, op, ops.words[op.index()]));
        }
    }
    for op in [Operand::Mod, Operand::Rm32, Operand::Subop].into_iter().chain(opcode.tail.operand()) {
        if opcode.requires(op) && !ops.has(op) {
            return Err(messages::missing_operand(ins, opcode, op, ops));
        }
    }
    Ok(())
}

/// Reads every operand's value: fields must be numbers in their range,
/// displacements and immediates numbers in theirs or label names
/// (`language.md` 11).
fn read_values(ins: &Instruction<'_>, ops: &mut Operands<'_>) -> Result<(), Error> {
    let n = ins.number;
    for op in ops.types() {
        let word = ops.words[op.index()];
        let (datum, _) = datum_and_metadata(word);
        if let Some(max) = op.field_max() {
            if !looks_like_number(datum) {
                return Err(messages::field_not_a_number(ins, word, op, max));
            }
            let value = number::parse(datum).map_err(|e| messages::bad_number(n, word, datum, e))?;
            if !(0..=max).contains(&value) {
                return Err(messages::field_out_of_range(n, word, op, max));
            }
            ops.set_value(op, value);
        } else if looks_like_number(datum) {
            let value = number::parse(datum).map_err(|e| messages::bad_number(n, word, datum, e))?;
            if let Some((_, min, max)) = op.width_and_range() {
                if !(min..=max).contains(&value) {
                    return Err(messages::value_out_of_range(n, word, op));
                }
            }
            ops.set_value(op, value);
        }
    }
    Ok(())
}

/// The ModR/M rules (`language.md` 10.1): `subop` and `r32` share the reg
/// field; `rm32` 4 under `mod` 0-2 calls for a SIB byte, and its `base`
/// and `index`; `mod` (and `rm32` 5 or SIB base 5 under `mod` 0) calls for
/// one displacement and permits no other.
pub(super) fn check_modes(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], ops: &Operands<'_>) -> Result<(), Error> {
    if !opcode.has_modrm() {
        return Ok(());
    }
    if ops.has(Operand::Subop) && ops.has(Operand::R32) && ops.field(Operand::Subop) != ops.field(Operand::R32) {
        return Err(messages::subop_and_r32_differ(ins, opcode, first, ops));
    }
    let mode = ops.field(Operand::Mod);
    let rm = ops.field(Operand::Rm32);
    let sib = mode != 3 && rm == 4;
    if sib {
        for op in [Operand::Base, Operand::Index] {
            if !ops.has(op) {
                return Err(messages::sib_operand_missing(ins, opcode, first, ops, op));
            }
        }
    } else {
        for op in [Operand::Base, Operand::Index, Operand::Scale] {
            if let Some(word) = ops.word(op) {
                return Err(messages::sib_operand_without_sib(ins, opcode, first, ops, word));
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
                return Err(messages::displacement_not_called_for(ins, opcode, first, ops, word, needed));
            }
        }
    }
    if let Some(op) = needed {
        if !ops.has(op) {
            return Err(messages::displacement_missing(ins, opcode, first, ops, op, base5));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- encode

/// Writes a checked instruction: opcode, ModR/M, SIB, displacement,
/// immediate, each byte followed by a space (pack.md 5.2; the SIB scale at
/// bit 6, CONTRACT rule 2). A label reference is written as it is, for
/// `survey`.
pub(super) fn encode(opcode: &Opcode, ops: &Operands<'_>, out: &mut Vec<u8>) {
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

// --------------------------------------------------------- raw-hex lines

/// Is the instruction written out byte by byte (`bb 2a 00 00 00`;
/// `language.md` 9.3)?
fn is_raw_hex<'a>(ins: &Instruction<'a>, first: &[u8], mut rest: impl Iterator<Item = &'a [u8]>) -> bool {
    // `opcode` made sure that the opcode word has no operand type.
    let is_raw = |word| hex_byte_word(word).is_some();
    hex_pair(datum_and_metadata(first).0).is_some() && rest.next().is_some_and(is_raw) && rest.all(is_raw) && {
        // The second byte of a 0f opcode was taken off `rest` already:
        // it must be a raw byte too (no `0x`).
        Word::new(first).datum() != b"0f" || instruction_words(ins.line).nth(1).and_then(hex_byte_word).is_some()
    }
}

/// Checks a raw-hex line's length against the instruction its bytes
/// encode (CONTRACT decision 16) and writes every byte.
fn raw_hex<'a>(ins: &Instruction<'a>, opcode: &Opcode, rest: impl Iterator<Item = &'a [u8]> + Clone, out: &mut Vec<u8>) -> Result<(), Error> {
    // Every word is a raw byte (`is_raw_hex`).
    let byte_at = |i: usize| rest.clone().nth(i).map(|word| hex_byte_word(word).unwrap_or(0));
    let given = opcode.bytes.len() + rest.clone().count();
    let mut needed = opcode.bytes.len();
    // What the bytes after the opcode are, for the message if the count
    // is wrong.
    let mut parts: [Option<&str>; 4] = [None; 4];
    if opcode.has_modrm() {
        let Some(modrm) = byte_at(0) else {
            return Err(messages::raw_hex_without_modrm(ins, opcode, given));
        };
        needed += 1;
        parts[0] = Some("ModR/M");
        let (mode, rm) = (modrm >> 6, modrm & 7);
        let mut base = None;
        if mode != 3 && rm == 4 {
            let Some(sib) = byte_at(1) else {
                return Err(messages::raw_hex_without_sib(ins, opcode, given));
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
        return Err(messages::raw_hex_length(ins, opcode, given, needed, parts));
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

// ------------------------------------------------ words and their types

/// The operand type that `metadata` (from [`datum_and_metadata`]) names,
/// if it names exactly one; `Err` with the first two when it names more.
#[inline]
pub(super) fn single_operand_type(metadata: Option<&[u8]>) -> Result<Option<Operand>, (Operand, Operand)> {
    let Some(metadata) = metadata else { return Ok(None) };
    let mut found = None;
    for item in metadata_items(metadata) {
        if let Some(op) = Operand::from_metadata(item) {
            match found {
                None => found = Some(op),
                Some(earlier) => return Err((earlier, op)),
            }
        }
    }
    Ok(found)
}

/// The (first) operand type a word carries.
pub(super) fn operand_type(word: &[u8]) -> Option<Operand> {
    datum_and_metadata(word).1.and_then(first_operand_type)
}

/// The first operand type that `metadata` (from [`datum_and_metadata`])
/// names.
fn first_operand_type(metadata: &[u8]) -> Option<Operand> {
    metadata_items(metadata).find_map(Operand::from_metadata)
}

/// The value of a word whose datum is two hex digits and whose metadata
/// holds no operand type (`0f`, `af/multiply`): a raw byte.
pub(super) fn hex_byte_word(word: &[u8]) -> Option<u8> {
    let (datum, metadata) = datum_and_metadata(word);
    match metadata.and_then(first_operand_type) {
        None => hex_pair(datum),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bytes, code, pack, rejects};

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
    fn subop_and_r32_together_only_when_equal_and_the_table_allows_it() {
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
}

//! The wording of `pack`'s messages: one function per broken rule, in the
//! order `careful.rs` checks the rules (then the data words of `mod.rs`).
//! Each message names the word or the instruction, says what is wrong and
//! how to fix it, in the user's terms:
//!
//! ```text
//! pack: line 7: 'bb/copy-to-ebx 0x2a': '0x2a' has no operand type, ...
//! ```
//!
//! These functions run only on the error path; the opcode lists inside
//! them come from the opcode table ([`crate::opcodes`]).

use bstr::ByteSlice;

use crate::error::{printable, Error};
use crate::number::NumberError;
use crate::opcodes::{self, JumpKind, Opcode, Operand, RegField, Tail, TWO_BYTE_PREFIX};
use crate::words::{instruction_text, instruction_words, is_label_definition, offset_in, Word};

use super::careful::{hex_byte_word, Operands};
use super::Instruction;

// ---------------------------------------------------------------- opcode

#[cold]
pub(super) fn two_byte_prefix_spelling(ins: &Instruction<'_>, first: &[u8]) -> Error {
    error(
        ins,
        format!("write the first byte of a two-byte opcode exactly as '0f', not '{}'", printable(Word::new(first).datum())),
    )
}

#[cold]
pub(super) fn second_opcode_byte_missing(ins: &Instruction<'_>) -> Error {
    let jumps = opcodes::second_byte_ranges(|o| o.tail == Tail::Disp32).join(" or ");
    let others = opcodes::second_byte_ranges(|o| o.tail != Tail::Disp32).join(" or ");
    error(ins, format!("opcode '0f' needs a second opcode byte ({jumps} for a jump, {others} to multiply)"))
}

#[cold]
pub(super) fn operand_for_second_opcode_byte(ins: &Instruction<'_>, op: Operand, second: &[u8]) -> Error {
    error(
        ins,
        format!(
            "opcode '0f' must be followed by its second opcode byte, not by the {} operand '{}'",
            op.name(),
            printable(second)
        ),
    )
}

#[cold]
pub(super) fn second_opcode_byte_not_hex(ins: &Instruction<'_>, datum: &[u8]) -> Error {
    error(
        ins,
        format!("the second byte of a two-byte opcode must be two lowercase hex digits, not '{}'", printable(datum)),
    )
}

#[cold]
pub(super) fn unknown_two_byte_opcode(ins: &Instruction<'_>, second: u8) -> Error {
    let supported: Vec<String> =
        opcodes::second_byte_ranges(|_| true).iter().map(|r| format!("{TWO_BYTE_PREFIX:02x} {r}")).collect();
    error(
        ins,
        format!("unknown two-byte opcode '0f {second:02x}'; the supported ones are {}", and_list(&supported)),
    )
}

#[cold]
pub(super) fn unsupported_prefix(ins: &Instruction<'_>, byte: u8) -> Error {
    error(ins, format!("unsupported opcode '{byte:02x}': no opcodes starting with {byte:02x} are supported"))
}

#[cold]
pub(super) fn unknown_opcode(ins: &Instruction<'_>, byte: u8) -> Error {
    error(ins, format!("unknown opcode '{byte:02x}' (run 'pack --help' for the list of supported opcodes)"))
}

#[cold]
pub(super) fn typed_opcode(number: u64, first: &[u8], op: Operand) -> Error {
    Error::at(
        number,
        first,
        format!(
            "the first word of an instruction must be an opcode, and an opcode may not carry an \
             operand type (here '/{}')",
            op.name()
        ),
    )
}

#[cold]
pub(super) fn opcode_without_value(number: u64, first: &[u8]) -> Error {
    Error::at(number, first, "the opcode has no value before the '/'")
}

#[cold]
pub(super) fn opcode_not_a_number(number: u64, first: &[u8], datum: &[u8]) -> Error {
    Error::at(
        number,
        first,
        format!(
            "'{}' is not an opcode; SubX opcodes are hex bytes (e.g. 'c3/return', 'bb/copy-to-ebx')",
            printable(datum)
        ),
    )
}

#[cold]
pub(super) fn opcode_not_a_byte(number: u64, first: &[u8]) -> Error {
    Error::at(number, first, "is not an opcode: an opcode is one byte, 00-ff (run 'pack --help' for the list)")
}

// -------------------------------------------------------------- operands

#[cold]
pub(super) fn operand_without_value(ins: &Instruction<'_>, word: &[u8]) -> Error {
    Error::at(ins.number, word, format!("{EMPTY_VALUE}, in {}", quoted(ins)))
}

#[cold]
pub(super) fn two_types(number: u64, word: &[u8], a: Operand, b: Operand) -> Error {
    Error::at(number, word, format!("has two operand types ({}, {}); keep one", a.name(), b.name()))
}

#[cold]
pub(super) fn two_of_a_type(ins: &Instruction<'_>, op: Operand, earlier: &[u8], word: &[u8]) -> Error {
    error(
        ins,
        format!(
            "two {} operands ('{}' and '{}'); an instruction takes at most one of each type",
            op.name(),
            printable(earlier),
            printable(word)
        ),
    )
}

/// A word after the opcode without an operand type, with the likeliest
/// fix: it is a header or a label out of place, its type is misspelt, it
/// is the one operand the instruction lacks, or it is a raw byte.
#[cold]
pub(super) fn untyped_word(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], word: &[u8], ops: &Operands<'_>) -> Error {
    let w = Word::new(word);
    let datum = w.datum();
    if word == b"==" {
        return Error::at(
            ins.number,
            word,
            format!(
                "may only begin a line, but here it follows '{}'; put the segment header on a line of its own",
                before(ins, word)
            ),
        );
    }
    if is_label_definition(word) {
        return Error::on_line(
            ins.number,
            format!(
                "label definition '{}' must be the first word on its line, and alone there; \
                 put it on a line of its own (here it follows '{}')",
                printable(word),
                before(ins, word)
            ),
        );
    }
    let mut why = format!("has no operand type, in {}", quoted(ins));
    if let Some((item, guess)) = w.metadata().find_map(|m| near_operand_type(m).map(|g| (m, g))) {
        why.push_str(&format!("; '{}' is not an operand type: did you mean '/{}'?", printable(item), guess.name()));
        if item.contains(&b'#') {
            why.push_str(" ('#' starts a comment only after whitespace)");
        }
    } else {
        let missing: Vec<Operand> = Operand::ALL.into_iter().filter(|&op| opcode.requires(op) && !ops.has(op)).collect();
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
            why.push_str(
                "; every word after the opcode needs one: \
                 /mod /rm32 /r32 /subop /base /index /scale /disp8 /disp32 /imm8 /imm32",
            );
        }
    }
    Error::at(ins.number, word, why)
}

/// A metadata item that is almost an operand type: a different case, one
/// letter wrong, missing, added or swapped (`IMM32`, `imm23`, `imm32x`),
/// or an operand type followed by `#...` (`imm8#exit`).
fn near_operand_type(item: &[u8]) -> Option<Operand> {
    if item.len() > 12 {
        return None;
    }
    if let Some(hash) = item.find_byte(b'#') {
        if let Some(op) = Operand::from_metadata(&item[..hash]) {
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

// ---------------------------------------------------------------- checks

/// An operand type the opcode does not take, in any addressing mode.
#[cold]
pub(super) fn not_permitted(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], op: Operand, word: &[u8]) -> Error {
    let name = opcode_name(ins, opcode, first);
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
            if op == Operand::Disp32 && opcode.tail == Tail::Disp8 {
                let jumps = opcodes::families(|o| o.jump_kind() == Some(JumpKind::Near) && !o.is_call());
                m.push_str(&format!(" (use {} for a 32-bit jump)", jumps.join(" or ")));
            }
            m
        }
    };
    error(ins, message)
}

/// An operand type the opcode requires whatever its addressing mode.
#[cold]
pub(super) fn missing_operand(ins: &Instruction<'_>, opcode: &Opcode, op: Operand, ops: &Operands<'_>) -> Error {
    let mut m = format!("needs a /{} operand ({})", op.name(), opcode.name);
    if matches!(op, Operand::Disp8 | Operand::Disp32) {
        m.push_str("; give a label or a number");
    }
    if op == Operand::Subop && ops.has(Operand::R32) {
        m.push_str("; its reg field holds a subop, not an r32");
    }
    error(ins, m)
}

#[cold]
pub(super) fn field_not_a_number(ins: &Instruction<'_>, word: &[u8], op: Operand, max: i64) -> Error {
    Error::at(
        ins.number,
        word,
        format!("{} must be {}, not a label (in {})", op.name(), field_range(op, max), quoted(ins)),
    )
}

#[cold]
pub(super) fn field_out_of_range(number: u64, word: &[u8], op: Operand, max: i64) -> Error {
    Error::at(number, word, format!("is out of range; {} must be {}", op.name(), field_range(op, max)))
}

/// The values a ModR/M or SIB bit field may take, in words.
fn field_range(op: Operand, max: i64) -> String {
    match op {
        Operand::Rm32 | Operand::R32 | Operand::Base | Operand::Index => format!("a register number 0-{max}"),
        Operand::Scale => format!("0-{max}, the log2 of the multiplier (for 1, 2, 4, 8)"),
        _ => format!("0-{max}"),
    }
}

/// A displacement or immediate outside its range (only disp8 and imm8 can
/// be: a number never has more than 32 bits).
#[cold]
pub(super) fn value_out_of_range(number: u64, word: &[u8], op: Operand) -> Error {
    let what = match op {
        Operand::Disp8 => "does not fit in a signed byte (disp8 must be -0x80..0x7f)",
        _ => "does not fit in a byte (imm8 must be -0x80..0xff)",
    };
    Error::at(number, word, what)
}

#[cold]
pub(super) fn subop_and_r32_differ(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], ops: &Operands<'_>) -> Error {
    error(
        ins,
        format!(
            "{} has both '{}' and '{}'; they occupy the same ModR/M bits (give only the subop)",
            opcode_name(ins, opcode, first),
            shown(ops, Operand::Subop),
            shown(ops, Operand::R32)
        ),
    )
}

#[cold]
pub(super) fn sib_operand_missing(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], ops: &Operands<'_>, op: Operand) -> Error {
    let none = if op == Operand::Index { " (4 means none)" } else { "" };
    error(
        ins,
        format!(
            "{} with '{}' and '{}' uses a SIB byte and needs {} {} operand{none}",
            opcode_name(ins, opcode, first),
            shown(ops, Operand::Rm32),
            shown(ops, Operand::Mod),
            article(op),
            op.name()
        ),
    )
}

#[cold]
pub(super) fn sib_operand_without_sib(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8], ops: &Operands<'_>, word: &[u8]) -> Error {
    let name = opcode_name(ins, opcode, first);
    let why = if ops.field(Operand::Mod) == 3 {
        format!("{name} with '{}' (direct) has no SIB byte", shown(ops, Operand::Mod))
    } else {
        format!("a SIB byte needs '4/rm32' (and mod 0-2), and {name} has '{}'", shown(ops, Operand::Rm32))
    };
    error(ins, format!("'{}' is not allowed: {why}", printable(word)))
}

/// A displacement that `mod` and `rm32` do not call for; `needed` is the
/// one they do, if any.
#[cold]
pub(super) fn displacement_not_called_for(
    ins: &Instruction<'_>,
    opcode: &Opcode,
    first: &[u8],
    ops: &Operands<'_>,
    word: &[u8],
    needed: Option<Operand>,
) -> Error {
    let takes = match needed {
        Some(d) => format!("takes a {}", d.name()),
        None if ops.field(Operand::Mod) == 3 => "(direct) takes no displacement".to_string(),
        None => "takes no displacement".to_string(),
    };
    error(
        ins,
        format!(
            "'{}' is not allowed: {} with '{}' {takes}",
            printable(word),
            opcode_name(ins, opcode, first),
            shown(ops, Operand::Mod)
        ),
    )
}

/// The displacement `op` that `mod` (with `rm32` 5, or SIB base 5,
/// `base5`, under `mod` 0) calls for, missing.
#[cold]
pub(super) fn displacement_missing(
    ins: &Instruction<'_>,
    opcode: &Opcode,
    first: &[u8],
    ops: &Operands<'_>,
    op: Operand,
    base5: bool,
) -> Error {
    let why = match (ops.field(Operand::Mod), ops.field(Operand::Rm32), base5) {
        (0, 5, _) => format!(" and '{}' (absolute address)", shown(ops, Operand::Rm32)),
        (0, _, true) => " and '5/base' (no base register)".to_string(),
        _ => String::new(),
    };
    error(
        ins,
        format!(
            "{} with '{}'{why} needs a {} operand",
            opcode_name(ins, opcode, first),
            shown(ops, Operand::Mod),
            op.name()
        ),
    )
}

// --------------------------------------------------------- raw-hex lines

#[cold]
pub(super) fn raw_hex_without_modrm(ins: &Instruction<'_>, opcode: &Opcode, given: usize) -> Error {
    raw_hex_mismatch(ins, opcode, given, "it ends before the ModR/M byte the opcode needs")
}

#[cold]
pub(super) fn raw_hex_without_sib(ins: &Instruction<'_>, opcode: &Opcode, given: usize) -> Error {
    raw_hex_mismatch(ins, opcode, given, "it ends before the SIB byte its ModR/M byte calls for")
}

/// A raw-hex line of `given` bytes for an instruction of `needed`, made of
/// the opcode and `parts` (ModR/M, SIB, displacement, immediate).
#[cold]
pub(super) fn raw_hex_length(ins: &Instruction<'_>, opcode: &Opcode, given: usize, needed: usize, parts: [Option<&str>; 4]) -> Error {
    let mut all = vec![format!("{} opcode byte{}", opcode.bytes.len(), plural(opcode.bytes.len()))];
    all.extend(parts.into_iter().flatten().map(str::to_string));
    raw_hex_mismatch(ins, opcode, given, &format!("this instruction needs {needed} ({})", all.join(" + ")))
}

fn raw_hex_mismatch(ins: &Instruction<'_>, opcode: &Opcode, given: usize, why: &str) -> Error {
    error(
        ins,
        format!(
            "raw instruction of {given} byte{} does not match opcode {} ({}): {why}",
            plural(given),
            opcode.spelling(),
            opcode.name
        ),
    )
}

// ------------------------------------------------------------ data words

const EMPTY_VALUE: &str = "has no value before the '/'";

#[cold]
pub(super) fn empty_value(number: u64, word: &[u8]) -> Error {
    Error::at(number, word, EMPTY_VALUE)
}

#[cold]
pub(super) fn header_inside_data(number: u64, word: &[u8]) -> Error {
    Error::at(number, word, "may only begin a line: put the segment header on a line of its own")
}

#[cold]
pub(super) fn imm16_data(number: u64, word: &[u8]) -> Error {
    Error::at(number, word, "imm16 is not supported; use /imm32 for 4 bytes or /imm8 for one")
}

#[cold]
pub(super) fn displacement_data(number: u64, word: &[u8], d: Operand) -> Error {
    let fix = if d == Operand::Disp32 { "use /imm32" } else { "use an untyped byte or /imm8" };
    Error::at(
        number,
        word,
        format!("displacements ('/{}') are only allowed in the code segment ({fix})", d.name()),
    )
}

/// A data word of one byte (untyped, or `/imm8`) outside -0x80..0xff.
#[cold]
pub(super) fn data_byte_out_of_range(number: u64, word: &[u8], kind: Option<Operand>) -> Error {
    let what = match kind {
        Some(Operand::Imm8) => "does not fit in a byte (imm8 must be -0x80..0xff)",
        _ => "is not a byte; untyped data words must be in -0x80..0xff (use '/imm32' for a 4-byte value)",
    };
    Error::at(number, word, what)
}

/// A datum that should be a number and does not read as one, in code or
/// in data.
#[cold]
pub(super) fn bad_number(number: u64, word: &[u8], datum: &[u8], e: NumberError) -> Error {
    Error::at(number, word, e.explain(datum))
}

// --------------------------------------------------------------- helpers

/// An error about the instruction as a whole, which it quotes.
fn error(ins: &Instruction<'_>, message: String) -> Error {
    Error::at(ins.number, instruction_text(ins.line), message)
}

/// The instruction as written (without comment, line metadata or the
/// surrounding whitespace), quoted.
fn quoted(ins: &Instruction<'_>) -> String {
    format!("'{}'", printable(instruction_text(ins.line)))
}

/// The instruction's words before `word`, one of them, as written.
fn before(ins: &Instruction<'_>, word: &[u8]) -> String {
    let text = instruction_text(ins.line);
    let end = offset_in(text, word);
    printable(text.get(..end).unwrap_or_default().trim_ascii_end())
}

/// `'bb/copy-to-ebx' (copy imm32 to EBX)`: the opcode word(s) as written
/// and what the opcode does.
fn opcode_name(ins: &Instruction<'_>, opcode: &Opcode, first: &[u8]) -> String {
    let written = if opcode.bytes.len() == 2 {
        let mut all = instruction_words(ins.line);
        let a = all.next().unwrap_or_default();
        let b = all.next().unwrap_or_default();
        format!("{} {}", printable(a), printable(b))
    } else {
        printable(first)
    };
    format!("'{written}' ({})", opcode.name)
}

/// The word given for operand type `op` (one that is present), shown.
fn shown(ops: &Operands<'_>, op: Operand) -> String {
    printable(ops.word(op).unwrap_or_default())
}

/// "an imm32", "a disp8 and ModR/M operands", "no operands": what an
/// opcode takes.
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

/// `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [most @ .., last] => format!("{} and {last}", most.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::rejects;
    use super::*;

    #[test]
    fn opcode_lists_come_from_the_table() {
        let m = rejects("0f");
        assert!(m.ends_with("needs a second opcode byte (82-87 or 8c-8f for a jump, af to multiply)"), "{m}");
        let m = rejects("0f 05");
        assert!(m.ends_with("unknown two-byte opcode '0f 05'; the supported ones are 0f 82-87, 0f 8c-8f and 0f af"), "{m}");
        let m = rejects("eb $x/disp32");
        assert!(m.ends_with("takes a disp8, but '$x/disp32' was given (use e9 or 0f 8x for a 32-bit jump)"), "{m}");
        let m = rejects("f3 0f 2c c1");
        assert!(m.ends_with("unsupported opcode 'f3': no opcodes starting with f3 are supported"), "{m}");
    }

    #[test]
    fn near_misses_of_operand_types_are_recognised() {
        for (item, op) in [("IMM32", "imm32"), ("imm23", "imm32"), ("imm32x", "imm32"), ("mo", "mod"), ("imm8#exit", "imm8")] {
            assert_eq!(near_operand_type(item.as_bytes()).map(Operand::name), Some(op), "{item}");
        }
        assert_eq!(near_operand_type(b"copy"), None);
    }

    #[test]
    fn lists_read_as_english() {
        let items = |all: &[&str]| all.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&items(&["a"])), "a");
        assert_eq!(and_list(&items(&["a", "b", "c"])), "a, b and c");
        assert_eq!(operands_phrase(opcodes::lookup(&[0x81]).unwrap()), "ModR/M operands and an imm32");
    }
}

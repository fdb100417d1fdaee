//! Pass 3's rule: what a label reference writes (`phases/survey-hex.md`
//! 2.7.3, CONTRACT rule 2 and decision 15).
//!
//! It depends on three things: the reference's operand type, the kind of
//! label it names (in the `code` segment or not), and the line it stands
//! on (a call or jump, another code line, or a line outside `code`):
//!
//! | label | operand  | line                  | writes                        |
//! |-------|----------|-----------------------|-------------------------------|
//! | any   | `imm32`  | any                   | the address                   |
//! | data  | `disp32` | not a call or jump    | the address                   |
//! | code  | `disp32` | call or near jump     | the distance, 4 bytes         |
//! | code  | `disp8`  | short jump            | the distance, 1 byte          |
//!
//! The distance counts from the end of the line to the label, both in the
//! `code` segment. Every other combination is a mistake ([`Misuse`]): a
//! data label has no distance to jump, and a code label's distance means
//! nothing in a ModR/M operand, where the CPU expects an address.
//! [`decide`] is this table.

use super::labels::Label;
use crate::literals::{describe, is_string_label};
use super::{Hole, Layout, Shown};
use crate::error::{line_ref, Error};
use crate::number;
use crate::opcodes::{self, JumpKind, Operand};
use crate::words::Word;

/// The kind of label a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LabelKind {
    /// A label in the `code` segment: an instruction.
    Code,
    /// A label in any other segment.
    Data,
}

/// The kind of line a reference stands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LineKind {
    /// A line outside the `code` segment.
    DataLine,
    /// A code line whose opcode is no call or jump: a displacement on it
    /// belongs to a ModR/M operand.
    CodeLine,
    /// A call or jump: its own displacement counts from the end of the line.
    Jump(JumpKind),
}

impl LineKind {
    /// The kind of a code line, from its opcode: its first word, or its
    /// first two for `0f xx` (`pack` writes one instruction per line).
    pub(super) fn of_code_line(first: &[u8], second: &[u8]) -> LineKind {
        let opcode = match hex_byte(first) {
            Some(opcodes::TWO_BYTE_PREFIX) => hex_byte(second).and_then(opcodes::two_byte),
            Some(byte) => opcodes::one_byte(byte),
            None => None,
        };
        match opcode.and_then(|o| o.jump_kind()) {
            Some(kind) => LineKind::Jump(kind),
            None => LineKind::CodeLine,
        }
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

/// What a reference writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    /// The label's address, 4 bytes.
    Absolute,
    /// The distance from the end of the line to the label, in this many
    /// bytes.
    Relative(usize),
    /// Nothing: the reference is a mistake.
    Misuse(Misuse),
}

/// The mistakes [`decide`] finds, each with its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Misuse {
    /// A data label as the displacement of a call or near jump.
    DataCalled,
    /// A data label as the displacement of a short jump.
    DataAsShortJump,
    /// A data label in fewer than 32 bits.
    DataTooNarrow,
    /// A code label's displacement outside the `code` segment.
    DisplacementOutsideCode,
    /// A code label as the `disp32` of a short jump.
    Disp32OnShortJump,
    /// A code label as the `disp32` of a ModR/M operand.
    CodeInModrmDisp32,
    /// A code label as the `disp8` of a call or near jump.
    Disp8OnNearJump,
    /// A code label as the `disp8` of a ModR/M operand.
    CodeInModrmDisp8,
    /// A code label as `imm8`, `imm16` or `disp16`.
    CodeTooNarrow,
}

/// The rule: what a reference of type `operand` to a `label` on a `line`
/// writes (the table in this module's comment).
fn decide(operand: Operand, label: LabelKind, line: LineKind) -> Resolution {
    use JumpKind::{Near, Short};
    use LabelKind::{Code, Data};
    use LineKind::{CodeLine, DataLine, Jump};
    use Misuse::*;
    use Operand::{Disp32, Disp8, Imm32};
    use Resolution::{Absolute, Relative};
    match (label, operand, line) {
        (_, Imm32, _) => Absolute,
        (Data, Disp32, Jump(Near)) => Resolution::Misuse(DataCalled),
        (Data, Disp32, _) => Absolute,
        (Data, Disp8, Jump(Short)) => Resolution::Misuse(DataAsShortJump),
        (Data, _, _) => Resolution::Misuse(DataTooNarrow),
        (Code, Disp32 | Disp8, DataLine) => Resolution::Misuse(DisplacementOutsideCode),
        (Code, Disp32, Jump(Near)) => Relative(4),
        (Code, Disp32, Jump(Short)) => Resolution::Misuse(Disp32OnShortJump),
        (Code, Disp32, CodeLine) => Resolution::Misuse(CodeInModrmDisp32),
        (Code, Disp8, Jump(Short)) => Relative(1),
        (Code, Disp8, Jump(Near)) => Resolution::Misuse(Disp8OnNearJump),
        (Code, Disp8, CodeLine) => Resolution::Misuse(CodeInModrmDisp8),
        (Code, _, _) => Resolution::Misuse(CodeTooNarrow),
    }
}

/// The value of `hole`'s reference and its width in bytes; `name_hash` is
/// the hash of the label it names (`Labels::warm`).
pub(super) fn resolve(hole: &Hole, layout: &Layout, name_hash: u32) -> Result<(u32, usize), Error> {
    let word = hole.word;
    let w = Word::new(word);
    let name = w.datum();
    // A string literal is named by its text, never by its label.
    let fail = |message: String| {
        if is_string_label(name) {
            Err(Error::on_line(hole.line_no, message))
        } else {
            Err(Error::at(hole.line_no, word, message))
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
    // The operand types a reference may carry are those of a width.
    let mut types = w.metadata().filter_map(Operand::from_metadata).filter(|op| op.width().is_some());
    let shown = Shown(name);
    let operand = match (types.next(), types.next()) {
        (None, _) if is_string_label(name) => {
            let literal = describe(name, layout.text);
            let written = literal.trim_start_matches("string literal ");
            return fail(format!(
                "{literal} in a data segment must be written as '{written}/imm32' (its address, 4 bytes)"
            ));
        }
        (None, _) => {
            return fail(format!("label reference without an operand type; write '{shown}/imm32' for its address"))
        }
        (Some(one), None) => one,
        (Some(_), Some(_)) => {
            return fail("has more than one operand type; give a label reference exactly one".into())
        }
    };
    let Some(label) = layout.labels.get_hashed(name, name_hash) else {
        return fail(undefined(name, operand, &layout.labels));
    };
    let target = layout.segments.get(label.segment);
    let kind = if target.is_some_and(|s| s.is_code()) { LabelKind::Code } else { LabelKind::Data };
    match decide(operand, kind, hole.line) {
        Resolution::Absolute => Ok((layout.address_of(label), 4)),
        Resolution::Relative(width) => {
            let distance = distance(hole, label);
            if width == 1 && !(-0x80..=0x7f).contains(&distance) {
                return fail(format!(
                    "'{shown}' is {} bytes away, too far for a disp8 (-0x80..0x7f); use a disp32 jump ({})",
                    number::signed_hex(distance),
                    jumps_only(JumpKind::Near, " or ")
                ));
            }
            Ok((distance as u32, width))
        }
        Resolution::Misuse(misuse) => {
            // Described only now: `describe` may scan the whole input,
            // which on every reference made survey quadratic.
            let data_label = || {
                let segment = target.map_or(&b""[..], |s| s.name);
                let defined = line_ref(layout.labels.definition_line(name));
                if is_string_label(name) {
                    format!("{} is data", describe(name, layout.text))
                } else if segment == b"data" {
                    format!("'{shown}' is a data label (defined at {defined})")
                } else {
                    format!("'{shown}' is a label in segment '{}' (defined at {defined})", Shown(segment))
                }
            };
            fail(message(misuse, name, operand, data_label))
        }
    }
}

/// From the end of the line of `hole` to `label`, both in the line's
/// segment.
fn distance(hole: &Hole, label: Label) -> i64 {
    label.offset as i64 - hole.end as i64
}

/// What to say about `misuse` of the label `name` as `operand`;
/// `data_label` says what a data label is (`'x' is a data label ...`).
fn message(misuse: Misuse, name: &[u8], operand: Operand, data_label: impl FnOnce() -> String) -> String {
    let shown = Shown(name);
    let near = || calls_and_jumps(JumpKind::Near);
    let short = || calls_and_jumps(JumpKind::Short);
    match misuse {
        Misuse::DataCalled => format!(
            "{} and cannot be called or jumped to: calls and jumps ({}) need a code label",
            data_label(),
            near()
        ),
        Misuse::DataAsShortJump => {
            format!("{} and cannot be a jump target (disp8): jumps need a code label", data_label())
        }
        Misuse::DataTooNarrow => format!(
            "{} and cannot be used as {}: its address takes 32 bits, so refer to it with /imm32 (or \
             /disp32 in a ModR/M operand)",
            data_label(),
            operand.name()
        ),
        Misuse::DisplacementOutsideCode => format!(
            "'{shown}' is a code label; outside the code segment it can only be used as an absolute \
             address, '{shown}/imm32'"
        ),
        Misuse::Disp32OnShortJump => format!(
            "a short jump ({}) takes an 8-bit displacement: write '{shown}/disp8', or use a near jump \
             ({}) for '/disp32'",
            short(),
            jumps_only(JumpKind::Near, ", ")
        ),
        Misuse::CodeInModrmDisp32 => format!(
            "'{shown}' is a code label; as the disp32 of a ModR/M operand it would be encoded as a \
             relative offset where the CPU expects an address (use /disp32 only on calls and jumps: {})",
            near()
        ),
        Misuse::Disp8OnNearJump => {
            format!("calls and near jumps ({}) take a 32-bit displacement: write '{shown}/disp32'", near())
        }
        Misuse::CodeInModrmDisp8 => format!(
            "'{shown}' is a code label; a disp8 to it is only meaningful on a short jump ({}), not in a \
             ModR/M operand",
            short()
        ),
        Misuse::CodeTooNarrow => format!(
            "'{shown}' is a code label and cannot be used as {}: refer to it with /imm32 (its address), \
             /disp32 (calls and jumps) or /disp8 (short jumps)",
            operand.name()
        ),
    }
}

/// The calls and jumps of `kind` as the opcode table spells them:
/// `e8, e9, 0f 8x`.
fn calls_and_jumps(kind: JumpKind) -> String {
    opcodes::families(|o| o.jump_kind() == Some(kind)).join(", ")
}

/// The jumps of `kind`, without the call, joined by `separator`:
/// `e9 or 0f 8x`.
fn jumps_only(kind: JumpKind, separator: &str) -> String {
    opcodes::families(|o| o.jump_kind() == Some(kind) && !o.is_call()).join(separator)
}

/// The message for a reference to a label that no line defines, with what
/// the user more likely meant: a label one typo away, or, for a name that
/// is all hex digits, the number (SubX numbers are hex, and one that starts
/// with a letter needs its `0x`).
fn undefined(name: &[u8], operand: Operand, labels: &super::labels::Labels) -> String {
    let mut message = format!("label '{}' is not defined anywhere (used as {})", Shown(name), operand.name());
    let mut guesses = Vec::new();
    if name.iter().all(u8::is_ascii_hexdigit) && name.iter().all(|b| !b.is_ascii_uppercase()) {
        guesses.push(format!("'0x{}/{}' (numbers are hex, and need '0x' to start with a letter)", Shown(name), operand.name()));
    }
    if let Some(close) = labels.all().into_iter().map(|(label, _, _)| label).find(|label| one_edit_apart(name, label)) {
        guesses.push(format!("'{}'", Shown(close)));
    }
    if !guesses.is_empty() {
        message.push_str("; did you mean ");
        message.push_str(&guesses.join(" or "));
        message.push('?');
    }
    message
}

/// Do `a` and `b` differ by one typo: a byte changed, added or removed,
/// or two neighbours swapped?
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 || a == b {
        return false;
    }
    let same_start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let changed = short[same_start + 1..] == long[same_start + 1..];
        let swapped = same_start + 1 < short.len()
            && (short[same_start], short[same_start + 1]) == (long[same_start + 1], long[same_start])
            && short[same_start + 2..] == long[same_start + 2..];
        changed || swapped
    } else {
        short[same_start..] == long[same_start + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{body_of, error, survey, CODE};
    use super::*;
    use crate::opcodes::OPCODES;

    #[test]
    fn one_typo_is_a_change_an_insertion_a_removal_or_a_swap() {
        assert!(one_edit_apart(b"syscall-exit", b"syscall-exits"));
        assert!(one_edit_apart(b"syscall-exit", b"syscall-exot"));
        assert!(one_edit_apart(b"syscal-exit", b"syscall-exit"));
        assert!(one_edit_apart(b"syscall-exti", b"syscall-exit"));
        assert!(one_edit_apart(b"ab", b"ba"));
        assert!(!one_edit_apart(b"syscall-exit", b"syscall-exit"));
        assert!(!one_edit_apart(b"sycal-exit", b"syscall-exit"));
        assert!(!one_edit_apart(b"abc", b"cba"));
    }

    #[test]
    fn an_undefined_label_suggests_a_near_one_or_the_hex_number() {
        let mut labels = super::super::labels::Labels::with_capacity(4);
        labels.insert(b"syscall-exit", super::super::labels::Label { segment: 0, offset: 0 }, 1);
        let said = undefined(b"syscall-exti", Operand::Disp32, &labels);
        assert!(said.ends_with("did you mean 'syscall-exit'?"), "{said}");
        let said = undefined(b"ffff", Operand::Imm32, &labels);
        assert!(
            said.ends_with("did you mean '0xffff/imm32' (numbers are hex, and need '0x' to start with a letter)?"),
            "{said}"
        );
        assert!(undefined(b"nothing-like-it", Operand::Imm32, &labels).ends_with("(used as imm32)"));
    }

    #[test]
    fn the_rule_is_the_table() {
        use LineKind::*;
        let lines = [DataLine, CodeLine, Jump(JumpKind::Near), Jump(JumpKind::Short)];
        for line in lines {
            for label in [LabelKind::Code, LabelKind::Data] {
                assert_eq!(decide(Operand::Imm32, label, line), Resolution::Absolute);
            }
            let data_disp32 = decide(Operand::Disp32, LabelKind::Data, line);
            assert_eq!(data_disp32 == Resolution::Absolute, line != Jump(JumpKind::Near), "{line:?}");
        }
        assert_eq!(decide(Operand::Disp32, LabelKind::Code, Jump(JumpKind::Near)), Resolution::Relative(4));
        assert_eq!(decide(Operand::Disp8, LabelKind::Code, Jump(JumpKind::Short)), Resolution::Relative(1));
        // Everything else is a mistake.
        let mut valid = 0;
        for operand in Operand::ALL.into_iter().filter(|op| op.width().is_some()) {
            for label in [LabelKind::Code, LabelKind::Data] {
                for line in lines {
                    valid += usize::from(!matches!(decide(operand, label, line), Resolution::Misuse(_)));
                }
            }
        }
        assert_eq!(valid, 8 + 3 + 2);
    }

    #[test]
    fn survey_treats_as_calls_and_jumps_the_opcodes_the_table_calls_so() {
        // For every opcode of the table, a code label as its disp32 and as
        // its disp8: relative exactly where the table gives the opcode a
        // displacement of that width, an error everywhere else.
        for opcode in OPCODES {
            for (operand, width) in [("disp32", 4), ("disp8", 1)] {
                let text = format!("{CODE}{} Entry/{operand}\n", opcode.spelling());
                let relative = match opcode.jump_kind() {
                    Some(JumpKind::Near) => width == 4,
                    Some(JumpKind::Short) => width == 1,
                    None => false,
                };
                if relative {
                    let distance = -((opcode.bytes.len() + width) as i64);
                    let mut expected = opcode.spelling() + " ";
                    for byte in &distance.to_le_bytes()[..width] {
                        expected.push_str(&format!("{byte:02x} "));
                    }
                    assert_eq!(body_of(&text), [expected], "{}", opcode.spelling());
                } else {
                    assert_eq!(error(&text).line, Some(3), "{} {operand}", opcode.spelling());
                }
            }
        }
    }

    #[test]
    fn messages_list_the_jumps_of_the_table() {
        assert_eq!(calls_and_jumps(JumpKind::Near), "e8, e9, 0f 8x");
        assert_eq!(calls_and_jumps(JumpKind::Short), "eb, 7x");
        assert_eq!(jumps_only(JumpKind::Near, " or "), "e9 or 0f 8x");
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
}

//! What one sigil word means and becomes (`phases/sigils.md` sections 5
//! to 8, with the CONTRACT's decisions 32 and 34).
//!
//! A sigil word is read into a [`Sigil`], which is then written as the
//! plain SubX operands it stands for, each followed by one space:
//!
//! | word | written |
//! |---|---|
//! | `%ecx` | `3/mod/direct 0x00000001/rm32` |
//! | `*ecx`, `*(ecx)` | `0/mod/indirect 0x00000001/rm32` |
//! | `*(ecx-4)` | `2/mod/*+disp32 0x00000001/rm32 0xfffffffc/disp32` |
//! | `*(ebp+8)`, `*(eax+ecx<<2+4)` | `2/mod/*+disp32 4/rm32/sib 0x00000005/base 0x00000004/index 0x00000000/scale 0x00000008/disp32` and likewise |
//! | `*Foo` | `0/mod/indirect 5/rm32/.disp32 Foo/disp32` |
//!
//! Inside `*( ... )` the order is fixed: the base register, then `+` and
//! an index register, then `<<` and a scale of 0 to 3, then a sign and a
//! displacement (lowercase hex, an optional `0x`, -0x80000000 to
//! 0xffffffff); whitespace may stand between the parts. After `+` right
//! behind the base, the next three bytes decide: a register name is the
//! index, anything else starts a displacement, which may bring its own sign
//! (`*(eax+-4)`). After `)`, only `/metadata` may follow.
//!
//! The tricky rules:
//! - a displacement is always a disp32, never a disp8, and a zero one is
//!   left out unless a SIB byte is written (X5);
//! - esp and ebp as base, and any index, take the SIB form (X1): `*esp`
//!   needs the SIB byte, and mod 0 with rm32 5 would mean an absolute
//!   address, not `*ebp`;
//! - esp cannot be an index: the SIB byte's index 4 means "none"
//!   (decision 32);
//! - metadata after `%reg`, `*reg` and `)` is a comment and is dropped,
//!   after `*Name` it stays on the name; an operand type in it is an error
//!   (decision 34).

use crate::error::printable;
use crate::number::{self, NumberError};
use crate::opcodes::{Operand, EBP, ESP, REGISTERS};
use crate::words::{datum_and_metadata, is_space, metadata_items};

/// A sigil word, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sigil<'a> {
    /// `%reg`: the register itself.
    Direct(u8),
    /// `*reg` or `*(...)`: memory at `base + index << scale + disp`.
    Memory { base: u8, index: Option<u8>, scale: u8, disp: u32 },
    /// `*Name`: memory at the address `Name` (a label or a number); the
    /// text after the `*`, metadata included.
    Absolute(&'a [u8]),
}

/// Appends the operands `word` (beginning with `%` or `*`) stands for,
/// or says what is wrong with it.
pub(super) fn expand(word: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    write(read(word)?, out);
    Ok(())
}

/// Reads a word that begins with `%` or `*`.
pub(super) fn read(word: &[u8]) -> Result<Sigil<'_>, String> {
    match word.split_first() {
        Some((b'%', after)) => direct(after),
        Some((_, after)) => indirect(after),
        None => Err("an empty word is not an operand".into()),
    }
}

/// What the messages say the registers are: the table's names, in order
/// (a test checks).
const REGISTER_LIST: &str = "eax ecx edx ebx esp ebp esi edi";

/// The number of the register `name` (the order of the ModR/M and SIB bytes).
fn register(name: &[u8]) -> Option<u8> {
    REGISTERS.iter().position(|r| r.as_bytes() == name).map(|number| number as u8)
}

/// `%reg` (D1, D2), from the text after the `%`.
fn direct(text: &[u8]) -> Result<Sigil<'_>, String> {
    if matches!(text.first(), None | Some(b'/')) {
        return Err(format!("'%' must be followed at once by a register name ({REGISTER_LIST})"));
    }
    let (name, metadata) = datum_and_metadata(text);
    let number = register(name)
        .ok_or_else(|| format!("'{}' is not a register; write one of {REGISTER_LIST}", printable(name)))?;
    no_operand_type(metadata)?;
    Ok(Sigil::Direct(number))
}

/// `*reg`, `*(...)` or `*Name` (I1, I2), from the text after the `*`.
fn indirect(text: &[u8]) -> Result<Sigil<'_>, String> {
    match text.first() {
        None | Some(b'/') => Err("'*' must be followed at once (no whitespace, no '/') by a register, \
             '(', a label or an address"
            .into()),
        // Written as `X/disp32`, these would be read later as a comment,
        // line metadata, a string literal, or a name no program defines.
        Some(&c @ (b'#' | b':' | b'"' | b'*' | b'%')) => Err(format!(
            "'*' must be followed by a register, '(', a label or an address, not '{}'",
            char::from(c)
        )),
        Some(b'(') => expression(text),
        Some(_) => {
            let (name, metadata) = datum_and_metadata(text);
            no_operand_type(metadata)?;
            Ok(match register(name) {
                Some(base) => Sigil::Memory { base, index: None, scale: 0, disp: 0 },
                None => Sigil::Absolute(text),
            })
        }
    }
}

/// Refuses an operand type among `metadata`'s items (decision 34): the
/// sigil decides the operand types. Empty items are comments.
fn no_operand_type(metadata: Option<&[u8]>) -> Result<(), String> {
    let Some(metadata) = metadata else { return Ok(()) };
    match metadata_items(metadata).find(|item| is_operand_type(item)) {
        Some(item) => Err(format!(
            "an operand type cannot be attached to '%' or '*': the sigil decides the operands; remove '/{}'",
            printable(item)
        )),
        None => Ok(()),
    }
}

/// Is `item` a metadata item naming an operand type (`language.md` 3)?
/// `imm16` is not one there, so it is a comment like any other word.
pub(super) fn is_operand_type(item: &[u8]) -> bool {
    !matches!(Operand::from_metadata(item), None | Some(Operand::Imm16))
}

/// `*( ... )` (I3 to I9), from the text after the `*`: the parentheses
/// and what follows the `)`.
fn expression(text: &[u8]) -> Result<Sigil<'_>, String> {
    let close = memchr::memchr(b')', text).ok_or("missing ')'")?;
    let sigil = Parens { text: &text[1..close], at: 0 }.read()?;
    let after = &text[close + 1..];
    match after.split_first() {
        None => {}
        Some((b'/', metadata)) => no_operand_type(Some(metadata))?,
        Some(_) => {
            return Err(format!(
                "unexpected '{}' after ')'; only /metadata may follow it (is a space missing?)",
                printable(after)
            ))
        }
    }
    Ok(sigil)
}

/// A reader of the text between `*(` and `)`; the end of the text is the
/// `)`.
struct Parens<'a> {
    text: &'a [u8],
    at: usize,
}

/// The two numbers inside `*( ... )`.
#[derive(Clone, Copy)]
enum Field {
    Scale,
    Displacement,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Scale => "scale",
            Field::Displacement => "displacement",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Field::Scale => "0, 1, 2 or 3",
            Field::Displacement => "a hex number, such as 8 or 0x1c",
        }
    }
}

impl<'a> Parens<'a> {
    /// The next byte; `None` is the closing `)`.
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// A register name in the next three bytes, taken if it is one.
    fn register(&mut self) -> Option<u8> {
        let number = register(self.text.get(self.at..self.at + 3)?)?;
        self.at += 3;
        Some(number)
    }

    /// The accepted shapes (section 7.2):
    /// `(reg)`, `(reg - num)`, `(reg + [+|-] num)`,
    /// `(reg + reg [<< num] [(+|-) num])`.
    fn read(mut self) -> Result<Sigil<'a>, String> {
        self.skip_space();
        let base = self.register().ok_or_else(|| self.not_a_base())?;
        let (mut index, mut scale, mut disp) = (None, 0, 0);
        self.skip_space();
        match self.peek() {
            None => {}
            Some(b'-') => disp = self.displacement()?,
            Some(b'+') => {
                self.at += 1;
                self.skip_space();
                match self.register() {
                    Some(ESP) => return Err("esp cannot be an index register (x86 has no such encoding)".into()),
                    Some(number) => {
                        index = Some(number);
                        (scale, disp) = self.after_index(number)?;
                    }
                    None => disp = self.displacement()?,
                }
            }
            Some(c) => {
                return Err(format!(
                    "expected ')', '+' or '-' after the base register '{}', got '{}'",
                    printable(REGISTERS[usize::from(base)].as_bytes()),
                    printable(&[c])
                ))
            }
        }
        Ok(Sigil::Memory { base, index, scale, disp })
    }

    fn not_a_base(&self) -> String {
        let rest = &self.text[self.at..];
        let name = &rest[..rest.iter().position(|&b| ends_a_part(b)).unwrap_or(rest.len())];
        match (name, rest.first()) {
            ([], None) => format!("no base register before ')'; write one of {REGISTER_LIST}"),
            ([], Some(&c)) => format!("expected a base register ({REGISTER_LIST}), got '{}'", printable(&[c])),
            _ => format!("'{}' is not a register; the base must be one of {REGISTER_LIST}", printable(name)),
        }
    }

    /// After the index: `[<< scale] [(+|-) disp]` (I5).
    fn after_index(&mut self, index: u8) -> Result<(u8, u32), String> {
        let mut scale = 0;
        self.skip_space();
        if self.peek() == Some(b'<') {
            self.at += 1;
            if self.peek() != Some(b'<') {
                return Err("write '<<' for the scale, as in '*(eax+ecx<<2)'".into());
            }
            self.at += 1;
            self.skip_space();
            scale = self.scale()?;
            self.skip_space();
            match self.peek() {
                None | Some(b'+' | b'-') => {}
                Some(c) => return Err(format!("expected ')', '+' or '-' after the scale, got '{}'", printable(&[c]))),
            }
        }
        match self.peek() {
            None => Ok((scale, 0)),
            Some(b'+' | b'-') => Ok((scale, self.displacement()?)),
            Some(c) => Err(format!(
                "expected ')', '<<', '+' or '-' after the index register '{}', got '{}'",
                printable(REGISTERS[usize::from(index)].as_bytes()),
                printable(&[c])
            )),
        }
    }

    /// The scale after `<<`: no sign, 0 to 3 (decision 32).
    fn scale(&mut self) -> Result<u8, String> {
        if matches!(self.peek(), Some(b'+' | b'-')) {
            return Err("the scale takes no sign: write 0, 1, 2 or 3 after '<<'".into());
        }
        let (value, digits) = self.number(Field::Scale)?;
        match u8::try_from(value) {
            Ok(scale) if scale <= 3 => Ok(scale),
            _ => Err(format!(
                "scale must be 0, 1, 2 or 3 (the index times 1, 2, 4 or 8), not '{}'",
                printable(digits)
            )),
        }
    }

    /// A displacement and the `)` after it (I6): an optional sign,
    /// whitespace, a number, whitespace. Its 32-bit pattern.
    fn displacement(&mut self) -> Result<u32, String> {
        let sign = self.peek().filter(|&b| matches!(b, b'+' | b'-'));
        if sign.is_some() {
            self.at += 1;
        }
        let negative = sign == Some(b'-');
        self.skip_space();
        let (magnitude, digits) = self.number(Field::Displacement)?;
        let value = match (negative, u32::try_from(magnitude)) {
            (false, Ok(value)) => value,
            (true, Ok(value)) if value <= 0x8000_0000 => value.wrapping_neg(),
            _ => return Err(out_of_range(Field::Displacement, digits)),
        };
        self.skip_space();
        match self.peek() {
            None => Ok(value),
            Some(c) => Err(format!("expected ')' after the displacement, got '{}'", printable(&[c]))),
        }
    }

    /// A number without a sign: lowercase hex digits after an optional
    /// `0x` (7.3), and the text it was read from. At least one digit
    /// (decision 32).
    fn number(&mut self, field: Field) -> Result<(i64, &'a [u8]), String> {
        let start = self.at;
        while self.peek().is_some_and(|b| !ends_a_part(b)) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        let (what, example) = (field.name(), field.example());
        match (number::parse(digits), digits.first(), self.peek()) {
            (Ok(value), _, _) => Ok((value, digits)),
            (Err(_), None, None) => Err(format!("missing {what} before ')'; write {example}")),
            (Err(_), None, Some(c)) => Err(format!(
                "expected the {what} ({example}), got '{}'{}",
                printable(&[c]),
                if matches!(c, b'+' | b'-') { "; only one sign may stand before it" } else { "" }
            )),
            (Err(NumberError::OutOfRange), _, _) => Err(out_of_range(field, digits)),
            (Err(_), _, _) if matches!(field, Field::Scale) => {
                Err(format!("'{}' is not a scale; write {example}", printable(digits)))
            }
            // A name where a number belongs: most likely a label.
            (Err(_), Some(first), _) if !first.is_ascii_digit() && !digits.iter().all(u8::is_ascii_hexdigit) => {
                Err(format!(
                    "'{}' is not a number; the {what} must be {example} (for memory at a label, \
                     write '*Label' without parentheses)",
                    printable(digits)
                ))
            }
            (Err(e), _, _) => Err(format!("{what} '{}' {e}", printable(digits))),
        }
    }
}

/// Does `b` end a register name or a number inside the parentheses?
fn ends_a_part(b: u8) -> bool {
    is_space(b) || matches!(b, b'+' | b'-' | b'<')
}

fn out_of_range(field: Field, digits: &[u8]) -> String {
    format!(
        "{} '{}' does not fit in 32 bits (-0x80000000 to 0xffffffff)",
        field.name(),
        printable(digits)
    )
}

/// Appends the operands `sigil` stands for (X1 to X5, D2, I2), each
/// followed by one space.
pub(super) fn write(sigil: Sigil<'_>, out: &mut Vec<u8>) {
    match sigil {
        Sigil::Direct(register) => {
            out.extend_from_slice(b"3/mod/direct ");
            field(out, register.into(), b"rm32");
        }
        Sigil::Memory { base, index, scale, disp } if base == ESP || base == EBP || index.is_some() => {
            out.extend_from_slice(b"2/mod/*+disp32 4/rm32/sib ");
            field(out, base.into(), b"base");
            field(out, index.unwrap_or(ESP).into(), b"index");
            field(out, scale.into(), b"scale");
            field(out, disp, b"disp32");
        }
        Sigil::Memory { base, disp, .. } if disp != 0 => {
            out.extend_from_slice(b"2/mod/*+disp32 ");
            field(out, base.into(), b"rm32");
            field(out, disp, b"disp32");
        }
        Sigil::Memory { base, .. } => {
            out.extend_from_slice(b"0/mod/indirect ");
            field(out, base.into(), b"rm32");
        }
        Sigil::Absolute(address) => {
            out.extend_from_slice(b"0/mod/indirect 5/rm32/.disp32 ");
            out.extend_from_slice(address);
            out.extend_from_slice(b"/disp32 ");
        }
    }
}

/// `0x` and eight lowercase hex digits, then `/type` and a space (X4).
fn field(out: &mut Vec<u8>, value: u32, operand_type: &[u8]) {
    let mut text = *b"0x00000000/";
    for (i, byte) in value.to_be_bytes().into_iter().enumerate() {
        text[2 + 2 * i..4 + 2 * i].copy_from_slice(&number::hex_digits(byte));
    }
    out.extend_from_slice(&text);
    out.extend_from_slice(operand_type);
    out.push(b' ');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(word: &str) -> String {
        let mut out = Vec::new();
        match expand(word.as_bytes(), &mut out) {
            Ok(()) => String::from_utf8_lossy(&out).trim_end().to_string(),
            Err(message) => panic!("{word} rejected: {message}"),
        }
    }

    fn memory(word: &str) -> (u8, Option<u8>, u8, u32) {
        match read(word.as_bytes()) {
            Ok(Sigil::Memory { base, index, scale, disp }) => (base, index, scale, disp),
            other => panic!("{word}: {other:?}"),
        }
    }

    fn error(word: &str) -> String {
        match read(word.as_bytes()) {
            Ok(sigil) => panic!("{word} accepted as {sigil:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn d1_direct_names_one_of_eight_registers_and_drops_its_metadata() {
        assert_eq!(REGISTER_LIST, REGISTERS.join(" "));
        for (number, name) in REGISTERS.iter().enumerate() {
            let word = format!("%{name}/dest/");
            assert_eq!(read(word.as_bytes()), Ok(Sigil::Direct(number as u8)));
        }
        for word in ["%EAX", "%al", "%eaxx", "%eax#x", "%foo"] {
            assert!(error(word).contains("is not a register; write one of eax ecx"), "{word}");
        }
    }

    #[test]
    fn d2_direct_is_mod_3() {
        assert_eq!(expanded("%edi"), "3/mod/direct 0x00000007/rm32");
    }

    #[test]
    fn i1_star_register_is_memory_at_the_register() {
        assert_eq!(memory("*ecx/comment"), (1, None, 0, 0));
        assert_eq!(memory("*(ecx)"), (1, None, 0, 0));
        assert_eq!(expanded("*esi"), "0/mod/indirect 0x00000006/rm32");
    }

    #[test]
    fn i2_anything_else_after_star_is_an_absolute_address_kept_whole() {
        for word in ["*Foo", "*Foo/comment", "*Foo/", "*0x0a000000", "*EAX", "*eax#x", "*$a-4"] {
            assert_eq!(read(word.as_bytes()), Ok(Sigil::Absolute(&word.as_bytes()[1..])));
        }
        assert_eq!(expanded("*Foo/"), "0/mod/indirect 5/rm32/.disp32 Foo//disp32");
    }

    #[test]
    fn i3_the_base_is_three_bytes_naming_a_register() {
        assert_eq!(memory("*( \tebp\r)"), (5, None, 0, 0));
        assert!(error("*(foo+4)").starts_with("'foo' is not a register"));
        assert!(error("*(e ax)").starts_with("'e' is not a register"));
        assert!(error("*()").starts_with("no base register before ')'"));
        assert!(error("*(-4)").starts_with("expected a base register"));
        for word in ["*(eaxx)", "*(eax*4)", "*(eax ecx)", "*(eax/x+4)", "*(eax # x)"] {
            assert!(error(word).starts_with("expected ')', '+' or '-' after the base register 'eax'"), "{word}");
        }
    }

    #[test]
    fn i4_after_plus_three_bytes_decide_between_index_and_displacement() {
        assert_eq!(memory("*(eax+ecx)"), (0, Some(1), 0, 0));
        assert_eq!(memory("*(eax+ec)"), (0, None, 0, 0xec));
        assert_eq!(memory("*(eax+abc)"), (0, None, 0, 0xabc));
        assert_eq!(memory("*(eax+ -4)"), (0, None, 0, 0xffff_fffc));
        assert_eq!(memory("*(eax+ + 4)"), (0, None, 0, 4));
        assert!(error("*(eax+ecx4)").starts_with("expected ')', '<<', '+' or '-' after the index register 'ecx'"));
    }

    #[test]
    fn i5_the_index_may_take_a_scale_then_a_displacement() {
        assert_eq!(memory("*( eax + ecx << 2 + 4 )"), (0, Some(1), 2, 4));
        assert_eq!(memory("*(eax+ebp<<0x3-0x10)"), (0, Some(5), 3, 0xffff_fff0));
        assert_eq!(memory("*(eax+ecx<<00000001)"), (0, Some(1), 1, 0));
        assert!(error("*(eax+ecx<2)").starts_with("write '<<' for the scale"));
        assert!(error("*(eax+ecx< <2)").starts_with("write '<<' for the scale"));
        assert!(error("*(eax+ecx<<2x)").starts_with("'2x' is not a scale; write 0, 1, 2 or 3"));
        assert!(error("*(eax+ecx<<2 x)").starts_with("expected ')', '+' or '-' after the scale"));
    }

    #[test]
    fn i6_a_displacement_is_a_signed_hex_number_then_the_paren() {
        assert_eq!(memory("*(eax + 0x10 )"), (0, None, 0, 0x10));
        assert_eq!(memory("*(eax - 10)"), (0, None, 0, 0xffff_fff0));
        assert_eq!(memory("*(eax+0000000000000001)"), (0, None, 0, 1));
        assert!(error("*(eax+4 5)").starts_with("expected ')' after the displacement, got '5'"));
        assert!(error("*(eax+4+ecx)").starts_with("expected ')' after the displacement, got '+'"));
        assert!(error("*(eax--4)").contains("only one sign"));
        assert!(error("*(eax+ecx+-4)").contains("only one sign"));
        assert!(error("*(eax-ecx)").contains("'ecx' is not a number"));
        assert!(error("*(eax+Foo)").contains("write '*Label'"));
        assert_eq!(error("*(eax+0xA)"), "displacement '0xA' is not a number: hex digits must be lowercase");
    }

    #[test]
    fn i7_defaults_are_no_index_scale_0_displacement_0() {
        assert_eq!(memory("*(edx)"), (2, None, 0, 0));
    }

    #[test]
    fn i8_only_metadata_may_follow_the_paren() {
        assert_eq!(memory("*(eax+4)/field"), (0, None, 0, 4));
        assert_eq!(memory("*(eax)/"), (0, None, 0, 0));
        assert_eq!(error("*(eax+4)1/r32/ecx"), "unexpected '1/r32/ecx' after ')'; only /metadata may follow it (is a space missing?)");
        assert!(error("*(eax)#x").starts_with("unexpected '#x' after ')'"));
    }

    #[test]
    fn x1_esp_and_ebp_as_base_and_any_index_take_the_sib_form() {
        let sib = |base: &str, index: &str, scale: &str, disp: &str| {
            format!("2/mod/*+disp32 4/rm32/sib 0x{base}/base 0x{index}/index 0x{scale}/scale 0x{disp}/disp32")
        };
        assert_eq!(expanded("*esp"), sib("00000004", "00000004", "00000000", "00000000"));
        assert_eq!(expanded("*(ebp)"), sib("00000005", "00000004", "00000000", "00000000"));
        assert_eq!(expanded("*(ebp-8)"), sib("00000005", "00000004", "00000000", "fffffff8"));
        assert_eq!(expanded("*(eax+ecx)"), sib("00000000", "00000001", "00000000", "00000000"));
        assert_eq!(expanded("*(esi+edi<<3+ff)"), sib("00000006", "00000007", "00000003", "000000ff"));
    }

    #[test]
    fn x2_x3_without_sib_a_zero_displacement_is_left_out() {
        assert_eq!(expanded("*(edx+8)"), "2/mod/*+disp32 0x00000002/rm32 0x00000008/disp32");
        for word in ["*(edx+0)", "*(edx-0)", "*(edx+0x0)", "*(edx)"] {
            assert_eq!(expanded(word), "0/mod/indirect 0x00000002/rm32", "{word}");
        }
    }

    #[test]
    fn x4_numbers_are_eight_lowercase_hex_digits_negative_ones_as_patterns() {
        assert_eq!(expanded("*(ecx-80000000)"), "2/mod/*+disp32 0x00000001/rm32 0x80000000/disp32");
        assert_eq!(expanded("*(ecx+ffffffff)"), "2/mod/*+disp32 0x00000001/rm32 0xffffffff/disp32");
        assert_eq!(expanded("*(ecx-1)"), "2/mod/*+disp32 0x00000001/rm32 0xffffffff/disp32");
    }

    #[test]
    fn x5_a_small_displacement_is_still_a_disp32() {
        assert_eq!(expanded("*(ebx+1)"), "2/mod/*+disp32 0x00000003/rm32 0x00000001/disp32");
    }

    #[test]
    fn decision_32_nothing_whitespace_or_slash_after_the_sigil() {
        for word in ["*", "*/Foo", "*/eax"] {
            assert!(error(word).starts_with("'*' must be followed at once"), "{word}");
        }
        for word in ["%", "%/ecx"] {
            assert!(error(word).starts_with("'%' must be followed at once"), "{word}");
        }
    }

    #[test]
    fn decision_32_star_then_a_byte_that_means_something_else_later() {
        for (word, c) in [("*#x", '#'), ("*:x", ':'), ("*\"x\"", '"'), ("**eax", '*'), ("*%eax", '%')] {
            assert!(error(word).ends_with(&format!("not '{c}'")), "{word}");
        }
    }

    #[test]
    fn decision_32_esp_is_no_index() {
        for word in ["*(eax+esp)", "*(eax+esp<<2+4)", "*(esp+esp)"] {
            assert!(error(word).starts_with("esp cannot be an index register"), "{word}");
        }
        assert_eq!(memory("*(esp+ebp)"), (4, Some(5), 0, 0));
    }

    #[test]
    fn decision_32_scale_needs_digits_no_sign_and_at_most_3() {
        assert!(error("*(eax+ecx<<)").starts_with("missing scale before ')'"));
        assert!(error("*(eax+ecx<<+4)").starts_with("the scale takes no sign"));
        assert!(error("*(eax+ecx<<-1)").starts_with("the scale takes no sign"));
        assert!(error("*(eax+ecx<<4)").starts_with("scale must be 0, 1, 2 or 3"));
        assert!(error("*(eax+ecx<<10)").starts_with("scale must be 0, 1, 2 or 3"));
        assert!(error("*(eax+ecx<<0x)").starts_with("'0x' is not a scale"));
    }

    #[test]
    fn decision_32_displacement_needs_digits_and_32_bits() {
        assert!(error("*(eax+)").starts_with("missing displacement before ')'"));
        assert!(error("*(eax-)").starts_with("missing displacement before ')'"));
        assert!(error("*(eax+ecx+)").starts_with("missing displacement before ')'"));
        assert!(error("*(eax+0x)").starts_with("displacement '0x' is not a number"));
        assert!(error("*(eax+123456789)").starts_with("displacement '123456789' does not fit in 32 bits"));
        assert!(error("*(eax-80000001)").starts_with("displacement '80000001' does not fit in 32 bits"));
        assert!(error("*(eax+100000000)").contains("does not fit"));
    }

    #[test]
    fn decision_34_no_operand_type_in_sigil_metadata() {
        for word in ["%eax/r32", "%eax/rm32", "*eax/x/disp8", "*(eax+4)/disp8", "*Foo/imm32", "*(eax)//mod"] {
            assert!(error(word).starts_with("an operand type cannot be attached"), "{word}");
        }
        // Not operand types: comments.
        assert_eq!(read(b"%eax/imm16/IMM32"), Ok(Sigil::Direct(0)));
    }
}

//! `subx help numbers`: numbers are hexadecimal; what makes a word a
//! number rather than a name; each operand type's size and range (from
//! [`Operand`]).

use super::Example;
use crate::number::signed_hex;
use crate::opcodes::Operand;

pub fn text() -> String {
    let mut text = String::from(
        "Numbers\n\
         \n\
         Every number in SubX is hexadecimal (base 16), whether or not it starts\n\
         with 0x: 10 is sixteen, 0x10 is sixteen too, and ten is a, written 0xa.\n\
         \n\
         \x20   bb/copy-to-ebx  10/imm32     # ebx = 0x10, sixteen (not ten)\n\
         \x20   bb/copy-to-ebx  0xa/imm32    # ebx = ten\n\
         \n\
         A number that looks decimal is still hex, and nothing warns about it:\n\
         write 0x in front of every number above 9 (0x10, 0x2a) so that the\n\
         reader, and you, see at once that it is hex.\n\
         \n\
         What makes a word a number:\n\
         \x20 - it starts with a digit 0-9 (so 0x2a, 2a, 10), or a sign (-1, -0x80),\n\
         \x20   or it is exactly two characters long (ff, 0a);\n\
         \x20 - then: an optional - or +, an optional 0x, and lowercase hex digits\n\
         \x20   only. 0xFF is an error (uppercase): write 0xff.\n\
         Any other word is a name: a reference to a label. So a/imm32, abc/imm32\n\
         and ffff/imm32 mean the labels 'a', 'abc' and 'ffff', and translating\n\
         says that no such label is defined and suggests 0xa/imm32, 0xabc/imm32,\n\
         0xffff/imm32.\n\
         \n\
         A negative number is stored as its 32-bit two's complement: -1/imm32\n\
         gives the bytes ff ff ff ff, the same as 0xffffffff/imm32. Multi-byte\n\
         numbers are stored least significant byte first (little-endian):\n\
         0x2a/imm32 is the bytes 2a 00 00 00.\n\
         \n\
         Each operand type holds numbers of one size (subx help modrm says what\n\
         the fields are):\n\
         \n\
         \x20 type     size     numbers it takes\n",
    );
    for op in Operand::ALL {
        let (size, range) = match (op.field_max(), op.width_and_range()) {
            (Some(max), _) => (format!("{} bits", if max == 3 { 2 } else { 3 }), format!("0-{max}")),
            (None, Some((width, min, max))) => {
                (format!("{width} byte{}", if width == 1 { "" } else { "s" }), format!("{} to {}", signed_hex(min), signed_hex(max)))
            }
            // disp16 and imm16: no instruction takes them.
            (None, None) => continue,
        };
        text.push_str(&format!("  {:<8} {:<8} {range}\n", op.name(), size));
    }
    text.push_str(
        "\n\
         (The ranges of disp8 and imm8 differ: a disp8 is a signed distance, an\n\
         imm8 may be a byte 0x80-0xff as well. A label may stand for an imm32 or a\n\
         disp32 number, and for the disp8 of a jump.)\n\
         \n",
    );
    text.push_str(&EXAMPLE.render());
    text.push_str("\n(0x10 is sixteen.)\n");
    text
}

const EXAMPLE: Example = Example {
    file: "sixteen.subx",
    source: "\
== code
Entry:
  # exit with the status 10, which is sixteen
  bb/copy-to-ebx  10/imm32
  b8/copy-to-eax  1/imm32/exit
  cd/syscall  0x80/imm8
",
    sugar: false,
    session: &[("./sixteen.elf; echo $?", "16")],
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_ranges_are_the_operand_types() {
        let text = super::text();
        assert!(text.contains("\n  disp8    1 byte   -0x80 to 0x7f\n"), "{text}");
        assert!(text.contains("\n  imm32    4 bytes  -0x80000000 to 0xffffffff\n"), "{text}");
        assert!(text.contains("\n  mod      2 bits   0-3\n"), "{text}");
        assert!(text.contains("\n  rm32     3 bits   0-7\n"), "{text}");
        assert!(!text.contains("imm16"), "no instruction takes imm16");
    }
}

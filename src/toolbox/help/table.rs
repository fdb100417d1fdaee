//! `subx help opcodes` and `subx help subops`: the opcode table as `pack`
//! holds it ([`OPCODES`], [`crate::opcodes::listing`]), every subop with its
//! short name and what it does.

use super::{wrap, Example};
use crate::opcodes::{listing, Action, RegField, OPCODES};

pub fn opcodes() -> String {
    let mut text = String::from(
        "Opcodes\n\
         \n\
         An instruction is one line: its opcode in hex, then its operands, each a\n\
         number (or a label) with its operand type after a slash:\n\
         \n\
         \x20   bb/copy-to-ebx  0x2a/imm32\n\
         \n\
         is the opcode bb with the imm32 operand 0x2a. Every other word after a\n\
         slash is a comment for the reader: /copy-to-ebx, like /stdout in\n\
         1/imm32/stdout, is ignored. An opcode of two bytes is written as two\n\
         words, 0f 84. The operands may come in any order; the translator puts\n\
         their bytes in the order the processor wants.\n\
         \n\
         The opcodes SubX knows, and the operands each takes (pack --help shows\n\
         the same table):\n\
         \n\
         \x20 opcode operands               what it does\n",
    );
    text.push_str(&listing());
    text.push_str(
        "\n\
         The operands:\n\
         \x20 mod rm32       a register or memory operand: subx help modrm; with\n\
         \x20                rm32 4 also base index [scale] (subx help sib), and a\n\
         \x20                disp8 or disp32 when mod says so\n\
         \x20 [r32]          a register operand, 0 when left out: subx help registers\n\
         \x20 subop          the operation itself: subx help subops\n\
         \x20 imm8 imm32     a number the instruction works with, 1 or 4 bytes\n\
         \x20 disp8 disp32   of a jump or call: how far to jump, counted from the\n\
         \x20                end of the instruction; write a label and the\n\
         \x20                translator works out the distance\n\
         \n\
         EAX, ECX ... in the descriptions are the registers (subx help registers),\n\
         CF ZF SF OF the flags the jumps test (subx help flags).\n\
         \n",
    );
    text.push_str(&OPCODES_EXAMPLE.render());
    text
}

const OPCODES_EXAMPLE: Example = Example {
    file: "opcodes.subx",
    source: "\
== code
Entry:
  # ebx = 0x2a: bb copies its imm32 to ebx
  bb/copy-to-ebx  0x2a/imm32
  # eax = 1, the number of the exit system call
  b8/copy-to-eax  1/imm32/exit
  # cd with the imm8 0x80 asks Linux to carry out system call eax
  cd/syscall  0x80/imm8
",
    sugar: false,
    session: &[("./opcodes.elf; echo $?", "42")],
};

pub fn subops() -> String {
    let mut text = String::from(
        "Subops\n\
         \n\
         Some opcodes stand for several operations, and the reg field of their\n\
         ModR/M byte (subx help modrm), written /subop, chooses one. It takes the\n\
         place of /r32, so these instructions have one register or memory\n\
         operand (mod rm32) and perhaps an immediate:\n\
         \n\
         \x20   81 5/subop/subtract  3/mod/direct  0/rm32/eax  1/imm32    # eax -= 1\n\
         \x20   c1/shift 5/subop/right  3/mod/direct  0/rm32/eax  2/imm8  # eax >>= 2\n\
         \n\
         The word after the number (/subtract, /right) is a comment: the number\n\
         decides. The short names below are the usual x86 ones.\n",
    );
    for opcode in OPCODES {
        let Action::Subops(list) = opcode.action else { continue };
        text.push_str(&format!("\n{} {}: {}\n", opcode.spelling(), opcode.operands_summary(), opcode.name));
        for s in list {
            let words: Vec<String> = s.does.split(' ').map(str::to_string).collect();
            // Continued lines under the description's first word.
            let does = wrap(&words, " ", &" ".repeat(19), 78);
            text.push_str(&format!("  {}/subop  {:<7} {}", s.number, s.name, &does[19..]));
        }
        let unused: Vec<String> = (0..8u8).filter(|&n| opcode.subop(n).is_none()).map(|n| n.to_string()).collect();
        if !unused.is_empty() {
            text.push_str(&format!("  ({} not supported)\n", unused.join(", ")));
        }
    }
    let tolerant: Vec<String> =
        OPCODES.iter().filter(|o| o.reg == RegField::SubopOrEqualR32).map(|o| o.spelling()).collect();
    text.push_str(&format!(
        "\n\
         For {} an /r32 equal to the /subop is accepted too (the reference\n\
         library writes one such instruction); give the /subop.\n\
         \n",
        tolerant.join(" ")
    ));
    text.push_str(&SUBOPS_EXAMPLE.render());
    text
}

const SUBOPS_EXAMPLE: Example = Example {
    file: "subops.subx",
    source: "\
== code
Entry:
  # edx:eax = eax * ecx (f7 with subop 4: mul)
  b8/copy-to-eax  6/imm32
  b9/copy-to-ecx  7/imm32
  f7  4/subop/multiply  3/mod/direct  1/rm32/ecx
  # eax >>= 1 (c1 with subop 5: shr), 0x2a becomes 0x15
  c1/shift  5/subop/right  3/mod/direct  0/rm32/eax  1/imm8
  # eax -= 1 (81 with subop 5: sub)
  81  5/subop/subtract  3/mod/direct  0/rm32/eax  1/imm32
  # exit with eax, 0x14
  50/push-eax
  e8/call  syscall-exit/disp32
",
    sugar: false,
    session: &[("./subops.elf; echo $?", "20")],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subop_of_the_table_is_listed_under_its_opcode() {
        let text = subops();
        for opcode in OPCODES {
            let Action::Subops(list) = opcode.action else { continue };
            let at = text.find(&format!("\n{} ", opcode.spelling())).expect("the opcode's heading");
            let section = &text[at + 1..];
            let section = &section[..section.find("\n\n").unwrap_or(section.len())];
            for s in list {
                let at = section.find(&format!("  {}/subop  {:<7} ", s.number, s.name)).expect("the subop");
                let words = section[at + 19..].split_whitespace();
                assert!(words.zip(s.does.split(' ')).all(|(a, b)| a == b), "{section}");
            }
        }
        assert!(text.contains("\nff subop mod rm32: increment/decrement/jump/push/call rm32 based on subop\n"), "{text}");
        assert!(text.contains("  (3, 5, 7 not supported)\n"), "ff: {text}");
    }

    #[test]
    fn opcodes_shows_pack_s_table() {
        assert!(opcodes().contains(&listing()));
    }
}

//! `subx help registers`, `modrm` and `sib`: how an instruction names its
//! operands. The register names come from [`REGISTERS`] and
//! [`BYTE_REGISTERS`], the opcodes that name a register themselves from
//! the actions of [`OPCODES`], and every encoding shown from `pack`
//! ([`super::encode`]).

use super::{encode, instructions, wrap, Example};
use crate::number::hex_pair;
use crate::opcodes::{Action, Loc, BYTE_REGISTERS, EAX, EDX, OPCODES, REGISTERS};

pub fn registers() -> String {
    let mut text = String::from(
        "Registers\n\
         \n\
         The processor has eight 32-bit registers. An instruction names one by\n\
         its number, 0-7, in a /r32, /rm32, /base or /index operand:\n\
         \n\
         \x20 number  name  opcodes that name it in their own byte\n",
    );
    for (n, name) in REGISTERS.iter().enumerate() {
        let own: Vec<String> =
            OPCODES.iter().filter(|o| names_register(o.action, n as u8)).map(|o| o.spelling()).collect();
        text.push_str(&format!("  {n:<7} {name:<5} {}\n", own.join(" ")));
    }
    let implicit: Vec<String> = instructions().filter(|(_, _, action)| uses_edx_eax(*action)).map(|(name, ..)| name).collect();
    let (eax, edx) = (REGISTERS[usize::from(EAX)], REGISTERS[usize::from(EDX)]);
    text.push_str(&format!(
        "\n\
         Most of those come in runs of eight, one opcode per register in the\n\
         order of the numbers: b8 copies an imm32 to {}, b9 to {}, and so on;\n\
         the rest of {eax}'s row work on {eax} alone (subx help opcodes). These\n\
         use {eax} and {edx} together, as one 64-bit number {edx}:{eax}:\n",
        REGISTERS[0], REGISTERS[1],
    ));
    text.push_str(&wrap(&implicit, ", ", "  ", 76));
    text.push_str(&format!(
        "\n\
         esp, the stack pointer, holds the address of the top of the stack: push\n\
         subtracts 4 from it and stores there, pop loads from there and adds 4,\n\
         call pushes the address to return to and return pops it. Use esp for\n\
         nothing else. The stack grows down, toward lower addresses.\n\
         \n\
         ebp, the frame pointer, is by convention set at the start of each\n\
         function to where esp was, so that the function finds its arguments\n\
         at fixed places above it: *(ebp+8), *(ebp+0xc), ... (subx help calls).\n\
         \n\
         eax holds a function's result, and the number of a system call. The\n\
         others, ecx edx ebx esi edi, are yours to use.\n\
         \n\
         The byte instructions, {}, read the same numbers as 8-bit\n\
         registers, four of them the second byte of a register:\n\
         \n",
        and_list(&byte_instructions()),
    ));
    let bytes: Vec<String> = BYTE_REGISTERS
        .iter()
        .enumerate()
        .map(|(n, b)| {
            let (whole, which) = if n < 4 { (REGISTERS[n], "low") } else { (REGISTERS[n - 4], "second") };
            format!("{n} {b} ({which} byte of {whole})")
        })
        .collect();
    text.push_str(&wrap(&bytes, ", ", "  ", 76));
    text.push('\n');
    text.push_str(&REGISTERS_EXAMPLE.render());
    text
}

/// Does `action` name register `n` itself (not through a ModR/M byte)?
fn names_register(action: Action, n: u8) -> bool {
    let is = |l: Loc| l == Loc::Reg(n);
    match action {
        Action::Arith(_, a, b) | Action::Copy(a, b) => is(a) || is(b),
        Action::Increment(a) | Action::Decrement(a) | Action::Push(a) | Action::Pop(a) => is(a),
        _ => false,
    }
}

/// The opcodes that read a register number as an 8-bit register: those
/// with a byte operand (AL, ..., or a byte at rm32), themselves or in a subop.
fn byte_instructions() -> Vec<String> {
    let is_byte = |l: Loc| matches!(l, Loc::R8 | Loc::Rm8);
    let bytewise = |action: Action| matches!(action, Action::Arith(_, a, b) | Action::Copy(a, b) if is_byte(a) || is_byte(b));
    OPCODES
        .iter()
        .filter(|o| match o.action {
            Action::Subops(list) => list.iter().any(|s| bytewise(s.action)),
            action => bytewise(action),
        })
        .map(|o| o.spelling())
        .collect()
}

/// `88 8a and c6`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(" ")),
    }
}

/// Does `action` work on EDX:EAX without naming them?
fn uses_edx_eax(action: Action) -> bool {
    matches!(action, Action::SignExtend | Action::Multiply { .. } | Action::Divide { .. })
}

const REGISTERS_EXAMPLE: Example = Example {
    file: "registers.subx",
    source: "\
== code
Entry:
  # eax = 3, ecx = 4 (b8 and b9: copy an imm32 to register 0 and 1)
  b8/copy-to-eax  3/imm32
  b9/copy-to-ecx  4/imm32
  # eax += ecx: 01 adds r32 (1, ecx) to rm32 (mod 3: the register 0, eax)
  01/add  3/mod/direct  0/rm32/eax  1/r32/ecx
  # exit with eax as the status: syscall-exit(eax)
  50/push-eax
  e8/call  syscall-exit/disp32
",
    sugar: false,
    session: &[("./registers.elf; echo $?", "7")],
};

/// The worked examples of `modrm`: what each reads, and the instruction.
const MODRM_CASES: [(&str, &str); 5] = [
    ("eax itself (mod 3, rm32 0)", "8b/copy  3/mod/direct  0/rm32/eax  3/r32/ebx"),
    ("*eax, the 4 bytes at the address eax holds (mod 0)", "8b/copy  0/mod/indirect  0/rm32/eax  3/r32/ebx"),
    ("*(eax+4) (mod 1, a disp8 of 4)", "8b/copy  1/mod/*+disp8  0/rm32/eax  3/r32/ebx  4/disp8"),
    (
        "*(eax+ecx+4) (rm32 4: a SIB byte with base eax, index ecx)",
        "8b/copy  1/mod/*+disp8  4/rm32/sib  0/base/eax  1/index/ecx  3/r32/ebx  4/disp8",
    ),
    (
        "*(eax+ecx+0x1000) (mod 2: a disp32)",
        "8b/copy  2/mod/*+disp32  4/rm32/sib  0/base/eax  1/index/ecx  3/r32/ebx  0x1000/disp32",
    ),
];

pub fn modrm() -> String {
    let mut text = String::from(
        "The ModR/M byte: where an instruction's operands are\n\
         \n\
         Most instructions work on two operands: one is a register, the other a\n\
         register or 4 bytes of memory. The byte after the opcode, the ModR/M\n\
         byte, says which, in three fields:\n\
         \n\
         \x20 bits    7 6       5 4 3           2 1 0\n\
         \x20 field   /mod      /r32 or /subop  /rm32\n\
         \n\
         /r32 is the register operand (subx help registers). For some opcodes\n\
         the same three bits choose the operation instead, written /subop (subx\n\
         help subops). /mod and /rm32 together name the other operand, the\n\
         \"register or memory\" one:\n\
         \n\
         \x20 mod 3  the register numbered rm32                      %reg in sugar\n\
         \x20 mod 0  memory at the address register rm32 holds       *reg\n\
         \x20 mod 1  the same plus a 1-byte /disp8 (-0x80 to 0x7f)   *(reg+disp)\n\
         \x20 mod 2  the same plus a 4-byte /disp32                  *(reg+disp)\n\
         \n\
         Two values of rm32 do not name a register when mod is 0, 1 or 2:\n\
         \x20 rm32 4  the address comes from one more byte, the SIB byte, written\n\
         \x20         /base /index /scale: base + index*2^scale (subx help sib).\n\
         \x20         So *esp needs one: 4/rm32/sib 4/base/esp 4/index/none.\n\
         \x20 rm32 5  with mod 0 only: no register at all; the address is the\n\
         \x20         /disp32 itself, often a label's: 0/mod/indirect\n\
         \x20         5/rm32/.disp32 Count/disp32 is the 4 bytes at Count. So *ebp\n\
         \x20         is written 1/mod 5/rm32/ebp 0/disp8.\n\
         \n\
         Which of the two operands is read and which written is the opcode's\n\
         choice: 89 copies r32 to rm32, 8b copies rm32 to r32 (subx help opcodes).\n\
         The order of the words does not matter; the type after each / does.\n\
         \n\
         Worked examples, each copying into ebx (r32 3) with 8b, with the bytes\n\
         the translator makes of them (ModR/M = mod*0x40 + r32*8 + rm32):\n",
    );
    for (k, (what, instruction)) in MODRM_CASES.iter().enumerate() {
        text.push_str(&format!("\n  {}. ebx = {what}:\n{}", k + 1, encoded(instruction)));
    }
    text.push('\n');
    text.push_str(&MODRM_EXAMPLE.render());
    text
}

/// An instruction and its bytes, with the ModR/M (and SIB) byte taken
/// apart into its fields, as the topics show it.
fn encoded(instruction: &str) -> String {
    let bytes = encode(instruction).unwrap_or_else(|e| format!("(pack refuses it: {e})"));
    let mut text = format!("       {instruction}\n       -> {bytes}\n");
    let values: Vec<u8> = bytes.split(' ').filter_map(|b| hex_pair(b.as_bytes())).collect();
    if let Some(&modrm) = values.get(1) {
        let (m, reg, rm) = (modrm >> 6, modrm >> 3 & 7, modrm & 7);
        text.push_str(&format!("          ModR/M {modrm:02x} = {m:02b} {reg:03b} {rm:03b}: mod {m}, r32 {reg}, rm32 {rm}\n"));
        if rm == 4 && m != 3 {
            if let Some(&sib) = values.get(2) {
                let (scale, index, base) = (sib >> 6, sib >> 3 & 7, sib & 7);
                text.push_str(&format!(
                    "          SIB    {sib:02x} = {scale:02b} {index:03b} {base:03b}: scale {scale}, index {index}, base {base}\n"
                ));
            }
        }
    }
    text
}

const MODRM_EXAMPLE: Example = Example {
    file: "modrm.subx",
    source: "\
== code
Entry:
  # eax = the address of Numbers, a label of the data segment
  b8/copy-to-eax  Numbers/imm32
  # ebx = *eax, the first number: 1
  8b/copy  0/mod/indirect  0/rm32/eax  3/r32/ebx
  # ebx += *(eax+4), the second: 2
  03/add  1/mod/*+disp8  0/rm32/eax  3/r32/ebx  4/disp8
  # ebx += *(eax+8), the third, with a 4-byte displacement: 4
  03/add  2/mod/*+disp32  0/rm32/eax  3/r32/ebx  8/disp32
  # ebx += *Eight, at a label's address (rm32 5 with mod 0): 8
  03/add  0/mod/indirect  5/rm32/.disp32  3/r32/ebx  Eight/disp32
  # exit with ebx: 1 + 2 + 4 + 8 = 0xf
  53/push-ebx
  e8/call  syscall-exit/disp32

== data
Numbers:
  1/imm32  2/imm32  4/imm32
Eight:
  8/imm32
",
    sugar: false,
    session: &[("./modrm.elf; echo $?", "15")],
};

pub fn sib() -> String {
    let mut text = String::from(
        "The SIB byte: base + index*2^scale + displacement\n\
         \n\
         When rm32 is 4 and mod is 0, 1 or 2 (subx help modrm), a second byte\n\
         follows the ModR/M byte, the SIB byte, and the address is\n\
         \n\
         \x20 base + (index << scale) + the displacement that mod asks for\n\
         \n\
         \x20 bits    7 6       5 4 3     2 1 0\n\
         \x20 field   /scale    /index    /base\n\
         \n\
         \x20 /base   a register, 0-7\n\
         \x20 /index  a register, 0-7, multiplied by 1, 2, 4 or 8; 4 (esp) means\n\
         \x20         no index at all\n\
         \x20 /scale  0-3: the index is shifted left by it, so multiplied by 1, 2,\n\
         \x20         4 or 8 (scale 2 for a table of 4-byte numbers); 0 if left out\n\
         \n\
         /base and /index are required with rm32 4; /scale may be left out.\n\
         One exception: base 5 with mod 0 means no base register, and a disp32\n\
         follows: *(index*4 + disp32), for a table at a label.\n\
         \n\
         Examples, with the bytes the translator makes of them:\n",
    );
    let cases = [
        ("ebx = *esp, the top of the stack", "8b/copy  0/mod/indirect  4/rm32/sib  4/base/esp  4/index/none  3/r32/ebx"),
        ("ebx = *(esi + ecx*4), entry ecx of a table of numbers at esi", "8b/copy  0/mod/indirect  4/rm32/sib  6/base/esi  1/index/ecx  2/scale  3/r32/ebx"),
        ("ebx = *(esi + ecx*4 + 8)", "8b/copy  1/mod/*+disp8  4/rm32/sib  6/base/esi  1/index/ecx  2/scale  3/r32/ebx  8/disp8"),
        ("ebx = *(ecx*4 + Table), no base: entry ecx of the table at Table", "8b/copy  0/mod/indirect  4/rm32/sib  5/base/none  1/index/ecx  2/scale  3/r32/ebx  Table/disp32"),
    ];
    for (k, (what, instruction)) in cases.iter().enumerate() {
        text.push_str(&format!("\n  {}. {what}:\n{}", k + 1, encoded(instruction)));
    }
    text.push_str(
        "\n(pack leaves a label as it is, Table/disp32; survey, the next phase, puts\n\
         the label's address in its place.)\n\n",
    );
    text.push_str(&SIB_EXAMPLE.render());
    text
}

const SIB_EXAMPLE: Example = Example {
    file: "sib.subx",
    source: "\
== code
Entry:
  # ebx = 0: the sum; ecx = 0: the index
  31/xor  3/mod/direct  3/rm32/ebx  3/r32/ebx
  31/xor  3/mod/direct  1/rm32/ecx  1/r32/ecx
  # esi = the address of the table
  be/copy-to-esi  Numbers/imm32
$loop:
  # ebx += *(esi + ecx*4), entry ecx of the table
  03/add  0/mod/indirect  4/rm32/sib  6/base/esi  1/index/ecx  2/scale  3/r32/ebx
  # ecx += 1; again while ecx < 4
  41/increment-ecx
  81  7/subop/compare  3/mod/direct  1/rm32/ecx  4/imm32
  7c/jump-if-lesser  $loop/disp8
  # exit with the sum: 1 + 2 + 4 + 8 = 0xf
  53/push-ebx
  e8/call  syscall-exit/disp32

== data
Numbers:
  1/imm32  2/imm32  4/imm32  8/imm32
",
    sugar: false,
    session: &[("./sib.elf; echo $?", "15")],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registers_are_listed_with_the_opcodes_that_name_them() {
        let text = registers();
        assert!(text.contains("\n  0       eax   05 0d 25 2d 35 3d 40 48 50 58 b8\n"), "{text}");
        assert!(text.contains("\n  4       esp   44 4c 54 5c bc\n"), "{text}");
        assert!(text.contains("4 ah (second byte of eax)"), "{text}");
        assert!(text.contains("f7 /4 mul"), "{text}");
        assert!(text.contains("The byte instructions, 88 8a and c6, read"), "{text}");
    }

    #[test]
    fn the_range_of_a_disp8_is_the_operand_table_s() {
        assert_eq!(crate::opcodes::Operand::Disp8.width_and_range(), Some((1, -0x80, 0x7f)));
        assert!(modrm().contains("a 1-byte /disp8 (-0x80 to 0x7f)"));
    }

    #[test]
    fn every_worked_example_is_encoded_by_pack() {
        for text in [modrm(), sib()] {
            assert!(!text.contains("refuses"), "{text}");
        }
        let text = modrm();
        assert!(text.contains("-> 8b 58 04\n          ModR/M 58 = 01 011 000: mod 1, r32 3, rm32 0\n"), "{text}");
        assert!(sib().contains("SIB    24 = 00 100 100: scale 0, index 4, base 4\n"));
        assert!(sib().contains("Table/disp32\n       -> 8b 1c 8d Table/disp32\n"), "{}", sib());
    }
}

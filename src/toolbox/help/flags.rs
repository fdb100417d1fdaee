//! `subx help flags`: which instructions set CF ZF SF OF, derived from the
//! [`Action`] of every opcode and subop, and which flags each conditional
//! jump of the table tests. The tests hold both against the emulator
//! (`src/emulator/flags.rs`, `machine.rs`), which the lockstep test holds
//! against the processor.

use super::{instructions, wrap, Example};
use crate::number::hex_pair;
use crate::opcodes::{Action, Arith, Condition, Loc, Shift, Tail, OPCODES, REGISTERS};

/// What an instruction does to one flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Set or cleared by what the instruction computed.
    Set,
    /// Always cleared.
    Cleared,
    /// Left as it was.
    Unchanged,
    /// The processor leaves it meaningless.
    Undefined,
}

/// The four flags, in the order of [`effects`].
const FLAGS: [&str; 4] = ["CF", "ZF", "SF", "OF"];

/// What `action` does to CF ZF SF OF, and a note on how.
fn effects(action: Action) -> ([Effect; 4], &'static str) {
    use Effect::{Cleared as C, Set as S, Undefined as X, Unchanged as U};
    match action {
        Action::Arith(Arith::Add | Arith::Adc | Arith::Sub | Arith::Sbb | Arith::Compare, _, _) => (
            [S; 4],
            "from the result: ZF if it is 0, SF if its top bit is set, CF if it carried out of\n\
             (or borrowed into) the top bit, unsigned overflow; OF if it overflowed as a signed number",
        ),
        Action::Arith(Arith::And | Arith::Or | Arith::Xor | Arith::Test, _, _) => ([C, S, S, C], "ZF and SF from the result"),
        Action::Increment(_) | Action::Decrement(_) => ([U, S, S, S], "as adding or subtracting 1, but CF is left alone"),
        Action::Negate => ([S; 4], "as 0 - rm32: CF is set unless rm32 was 0"),
        Action::Shift(Shift::Left | Shift::RightLogical) => (
            [S; 4],
            "CF is the last bit shifted out; OF is defined for a count of 1 only; a count\n\
             of 0 changes no flag",
        ),
        Action::Shift(Shift::RightArithmetic) => (
            [S, S, S, C],
            "CF is the last bit shifted out; OF is cleared for a count of 1, undefined for\n\
             others; a count of 0 changes no flag",
        ),
        Action::Shift(
            Shift::RotateLeft | Shift::RotateRight | Shift::RotateLeftThroughCarry | Shift::RotateRightThroughCarry,
        ) => ([S, U, U, S], "CF is the last bit rotated; OF is defined for a count of 1 only; a count of 0\nchanges no flag"),
        Action::Multiply { .. } | Action::MultiplyInto => {
            ([S, X, X, S], "CF and OF are set when the product does not fit in 32 bits")
        }
        Action::Divide { .. } => ([X; 4], ""),
        Action::Copy(..)
        | Action::CopyAddress
        | Action::Swap
        | Action::Push(_)
        | Action::Pop(_)
        | Action::SignExtend
        | Action::Not
        | Action::Jump(_)
        | Action::JumpTo(_)
        | Action::Call
        | Action::CallTo(_)
        | Action::Return
        | Action::Interrupt
        | Action::Halt
        // Resolved to their subops' actions before they get here.
        | Action::Subops(_) => ([U; 4], ""),
    }
}

/// How a group of instructions with these effects is described.
fn describe((flags, note): ([Effect; 4], &str)) -> String {
    let which = |e: Effect| -> String {
        FLAGS.iter().zip(flags).filter(|(_, f)| *f == e).map(|(n, _)| *n).collect::<Vec<_>>().join(" ")
    };
    let mut parts = Vec::new();
    for (effect, before, after) in [
        (Effect::Set, "set ", ""),
        (Effect::Cleared, "clear ", ""),
        (Effect::Unchanged, "leave ", " as they were"),
        (Effect::Undefined, "", " undefined"),
    ] {
        let names = which(effect);
        // "leave" only after something that changes.
        if !(names.is_empty() || effect == Effect::Unchanged && parts.is_empty()) {
            let after = if names.len() == 2 { after.replace("they were", "it was") } else { after.to_string() };
            parts.push(format!("{before}{names}{after}"));
        }
    }
    let mut text = if parts.is_empty() { "change no flag".to_string() } else { parts.join(", ") };
    if !note.is_empty() {
        text.push_str(":\n");
        text.push_str(note);
    }
    text
}

/// The instructions grouped by what they do to the flags: each group's
/// description and members, those that change no flag last.
fn groups() -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, _, action) in instructions() {
        let description = describe(effects(action));
        match groups.iter_mut().find(|(d, _)| *d == description) {
            Some((_, names)) => names.push(name),
            None => groups.push((description, vec![name])),
        }
    }
    groups.sort_by_key(|(d, _)| d == "change no flag");
    groups
}

/// Names of one-byte opcodes in runs of three or more as a range: `40-4f`.
fn ranges(names: &[String]) -> Vec<String> {
    let byte = |n: &String| hex_pair(n.as_bytes());
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k < names.len() {
        let mut end = k;
        while let (Some(a), Some(b)) = (names.get(end).and_then(byte), names.get(end + 1).and_then(byte)) {
            if a.checked_add(1) != Some(b) {
                break;
            }
            end += 1;
        }
        if end >= k + 2 {
            out.push(format!("{}-{}", names[k], names[end]));
            k = end + 1;
        } else {
            out.push(names[k].clone());
            k += 1;
        }
    }
    out
}

/// What a jump's condition tests: the flags, and the same in terms of
/// `compare a with b` (which computes a - b).
struct Test {
    flags: &'static str,
    /// `<`, `<=`, `=`, `!=`, `>=`, `>`, or empty for "always".
    relation: &'static str,
    /// Does the comparison read a and b as signed numbers (None: either)?
    signed: Option<bool>,
    /// The usual x86 name of the jump.
    mnemonic: &'static str,
}

fn test_of(condition: Condition) -> Test {
    let t = |flags, relation, signed, mnemonic| Test { flags, relation, signed, mnemonic };
    match condition {
        Condition::Always => t("-", "", None, "jmp"),
        Condition::Equal => t("ZF = 1", "=", None, "je"),
        Condition::NotEqual => t("ZF = 0", "!=", None, "jne"),
        Condition::Below => t("CF = 1", "<", Some(false), "jb"),
        Condition::AboveOrEqual => t("CF = 0", ">=", Some(false), "jae"),
        Condition::BelowOrEqual => t("CF = 1 or ZF = 1", "<=", Some(false), "jbe"),
        Condition::Above => t("CF = 0 and ZF = 0", ">", Some(false), "ja"),
        Condition::Less => t("SF != OF", "<", Some(true), "jl"),
        Condition::GreaterOrEqual => t("SF = OF", ">=", Some(true), "jge"),
        Condition::LessOrEqual => t("ZF = 1 or SF != OF", "<=", Some(true), "jle"),
        Condition::Greater => t("ZF = 0 and SF = OF", ">", Some(true), "jg"),
    }
}

/// An operand of an action as the help names it.
fn operand(loc: Loc, tail: Tail) -> String {
    match loc {
        Loc::Reg(n) => REGISTERS[usize::from(n)].to_string(),
        Loc::R32 => "r32".into(),
        Loc::Rm => "rm32".into(),
        Loc::R8 => "r8".into(),
        Loc::Rm8 => "rm8".into(),
        Loc::Imm => tail.operand().map_or("imm32", |o| o.name()).into(),
    }
}

pub fn text() -> String {
    let mut text = String::from(
        "Flags\n\
         \n\
         Four one-bit flags remember something about the last result computed:\n\
         \x20 ZF  zero: the result was 0\n\
         \x20 SF  sign: the result's top bit was set (negative, read as signed)\n\
         \x20 CF  carry: it did not fit as an unsigned number (a carry or borrow)\n\
         \x20 OF  overflow: it did not fit as a signed number\n\
         A conditional jump tests them, so a compare (or a test) and a jump make\n\
         an if. Between the two, an instruction that sets flags overwrites them;\n\
         copies, pushes, pops, calls and jumps leave them alone.\n\
         \n\
         Which flags each instruction changes:\n",
    );
    for (description, names) in &groups() {
        text.push_str(&format!("\n{}\n", indent_after_first(description, "  ")));
        text.push_str(&wrap(&ranges(names), ", ", "    ", 78));
    }

    text.push_str(
        "\n\
         Compare and test set the flags without keeping their result:\n",
    );
    for (name, opcode, action) in instructions() {
        if let Action::Arith(op @ (Arith::Compare | Arith::Test), a, b) = action {
            let (a, b) = (operand(a, opcode.tail), operand(b, opcode.tail));
            let what = if op == Arith::Compare { format!("a - b: compare a = {a} with b = {b}") } else { format!("{a} AND {b}") };
            text.push_str(&format!("  {name:<14} {what}\n"));
        }
    }

    text.push_str(
        "\n\
         The conditional jumps, each in a short form (a disp8: up to 0x7f bytes\n\
         forward or 0x80 back) and a near one (disp32):\n\
         \n\
         \x20 short  near   x86   taken when           after a compare of a with b\n",
    );
    let mut conditions: Vec<Condition> = Vec::new();
    for opcode in OPCODES {
        if let Action::Jump(c) = opcode.action {
            if c != Condition::Always && !conditions.contains(&c) {
                conditions.push(c);
            }
        }
    }
    let spelling = |c: Condition, tail: Tail| {
        OPCODES
            .iter()
            .find(|o| o.action == Action::Jump(c) && o.tail == tail)
            .map_or_else(|| "-".to_string(), |o| o.spelling())
    };
    for c in conditions {
        let test = test_of(c);
        let kind = match test.signed {
            Some(true) => ", signed",
            Some(false) => ", unsigned",
            None => "",
        };
        text.push_str(&format!(
            "  {:<6} {:<6} {:<5} {:<20} a {} b{kind}\n",
            spelling(c, Tail::Disp8),
            spelling(c, Tail::Disp32),
            test.mnemonic,
            test.flags,
            test.relation
        ));
    }
    text.push_str(&format!(
        "  {:<6} {:<6} {:<5} always\n\
         \n\
         Signed or unsigned is the jump's choice, not the numbers': 0xffffffff\n\
         is -1 to a signed jump, and 4294967295 to an unsigned one. Use the\n\
         unsigned jumps for addresses and sizes.\n\
         \n",
        spelling(Condition::Always, Tail::Disp8),
        spelling(Condition::Always, Tail::Disp32),
        test_of(Condition::Always).mnemonic,
    ));
    text.push_str(&FLAGS_EXAMPLE.render());
    text
}

/// Every line of `text` after the first indented by `indent` too, the first
/// by `indent` alone.
fn indent_after_first(text: &str, indent: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(k, l)| if k == 0 { format!("{indent}{l}") } else { format!("{indent}  {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

const FLAGS_EXAMPLE: Example = Example {
    file: "flags.subx",
    source: "\
== code
Entry:
  bb/copy-to-ebx  0/imm32
  # compare -1 with 1
  b8/copy-to-eax  -1/imm32
  3d/compare-eax-and  1/imm32
  # signed, -1 < 1: this jump is not taken
  7d/jump-if-greater-or-equal  $unsigned/disp8
  # a copy leaves the flags as they are, for the next jump
  bb/copy-to-ebx  1/imm32
$unsigned:
  # unsigned, 0xffffffff > 1: not taken either
  76/jump-if-lesser-or-equal-unsigned  $exit/disp8
  81  0/subop/add  3/mod/direct  3/rm32/ebx  2/imm32
$exit:
  # 1 + 2
  53/push-ebx
  e8/call  syscall-exit/disp32
",
    sugar: false,
    session: &[("./flags.elf; echo $?", "3")],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::flags::{Flags, Kind};
    use crate::emulator::machine::{Kernel, Machine, Observer, Quiet, Stop};
    use crate::emulator::memory::{READ, WRITE};
    use crate::opcodes::RegField;

    /// Reads a condition as `test_of` writes it: terms `X = 0|1`, `SF = OF`
    /// or `SF != OF`, joined by one `and` or `or`.
    fn evaluate(text: &str, [cf, zf, sf, of]: [bool; 4]) -> bool {
        let flag = |name: &str| match name {
            "CF" => cf,
            "ZF" => zf,
            "SF" => sf,
            "OF" => of,
            other => panic!("no flag {other}"),
        };
        let term = |t: &str| -> bool {
            let words: Vec<&str> = t.split(' ').collect();
            match words[..] {
                [f, "=", "1"] => flag(f),
                [f, "=", "0"] => !flag(f),
                [f, "=", g] => flag(f) == flag(g),
                [f, "!=", g] => flag(f) != flag(g),
                _ => panic!("cannot read {t:?}"),
            }
        };
        if let Some((a, b)) = text.split_once(" and ") {
            term(a) && term(b)
        } else if let Some((a, b)) = text.split_once(" or ") {
            term(a) || term(b)
        } else {
            term(text)
        }
    }

    const EDGES: [u32; 7] = [0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_ffff];

    #[test]
    fn each_jump_tests_the_flags_the_help_says_as_the_emulator_does() {
        for opcode in OPCODES {
            let Action::Jump(c) = opcode.action else { continue };
            if c == Condition::Always {
                continue;
            }
            let test = test_of(c);
            for bits in 0..16u8 {
                let f = [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0];
                let flags = Flags::known(f[0], f[1], f[2], f[3]);
                assert_eq!(evaluate(test.flags, f), flags.holds(c), "{} with CF ZF SF OF {f:?}", opcode.spelling());
            }
            for a in EDGES {
                for b in EDGES {
                    let mut flags = Flags::default();
                    flags.set(Kind::Sub, a, b, a.wrapping_sub(b));
                    let (x, y) = if test.signed == Some(true) { (i64::from(a as i32), i64::from(b as i32)) } else { (i64::from(a), i64::from(b)) };
                    let holds = match test.relation {
                        "<" => x < y,
                        "<=" => x <= y,
                        "=" => x == y,
                        "!=" => x != y,
                        ">=" => x >= y,
                        ">" => x > y,
                        other => panic!("relation {other}"),
                    };
                    assert_eq!(holds, flags.holds(c), "{}: compare {a:#x} with {b:#x}", opcode.spelling());
                }
            }
        }
    }

    /// A kernel whose system calls do nothing, to see what `int 0x80` does to the flags.
    struct Nothing;
    impl Kernel for Nothing {
        fn syscall<O: Observer>(&mut self, _: &mut Machine, _: &mut O) -> Result<(), Stop> {
            Ok(())
        }
    }

    /// Runs every opcode and subop in the emulator, on registers (mod 3:
    /// rm32 ebx, r32 ecx) and immediates of edge values, from flags all set
    /// and all clear: a flag the help says is left alone never changes, one
    /// it says is cleared is always clear, and one it says is set changes.
    #[test]
    fn the_flags_each_instruction_changes_are_those_the_emulator_changes() {
        let counts = [0u32, 1, 2, 0x1f, 0x80, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
        for opcode in OPCODES {
            let subops: Vec<(Option<u8>, Action, bool)> = match opcode.action {
                Action::Subops(list) => list.iter().map(|s| (Some(s.number), s.action, s.imm32)).collect(),
                action => vec![(None, action, false)],
            };
            for (subop, action, imm32) in subops {
                let (claimed, _) = effects(action);
                let mut changed = [false; 4];
                let uses_stack = matches!(
                    action,
                    Action::Push(_) | Action::Pop(_) | Action::Call | Action::CallTo(_) | Action::Return
                );
                for imm in counts {
                    let mut code = opcode.bytes.to_vec();
                    if opcode.reg != RegField::None {
                        code.push(0xc0 | subop.unwrap_or(1) << 3 | 3);
                    }
                    code.extend_from_slice(&imm.to_le_bytes()[..opcode.tail.len()]);
                    if imm32 {
                        code.extend_from_slice(&imm.to_le_bytes());
                    }
                    let mut m = Machine::new();
                    m.memory.map(0x0900_0000, 0x1000, READ);
                    m.memory.poke(0x0900_0000, &code);
                    m.memory.map(0xbfff_f000, 0x1000, READ | WRITE);
                    for a in EDGES {
                        for b in EDGES {
                            for preset in [false, true] {
                                m.memory.write32(0xbfff_f800, 0x0900_0000).expect("stack");
                                // rm32 ebx, r32 (and the shift count) ecx; EDX:EAX b:b for
                                // division; esp a stack for the instructions that use one.
                                let esp = if uses_stack { 0xbfff_f800 } else { a };
                                m.regs = [b, imm, b, a, esp, a, b, a, 0];
                                m.eip = 0x0900_0000;
                                m.flags = Flags::known(preset, preset, preset, preset);
                                if m.step(&mut Nothing, &mut Quiet).is_err() {
                                    continue; // a division that faults, halt
                                }
                                let after = [m.flags.cf(), m.flags.zf(), m.flags.sf(), m.flags.of()];
                                let count = if opcode.bytes == [0xd3] { imm & 31 } else { imm & 0xff & 31 };
                                let name = format!("{} {subop:?} ebx {a:#x} eax {b:#x} ecx and imm {imm:#x}", opcode.spelling());
                                if matches!(action, Action::Shift(_)) && count == 0 {
                                    assert_eq!(after, [preset; 4], "{name}: a count of 0 changes no flag");
                                    continue;
                                }
                                for (k, effect) in claimed.iter().enumerate() {
                                    match effect {
                                        Effect::Unchanged => assert_eq!(after[k], preset, "{name}: {} changed", FLAGS[k]),
                                        Effect::Cleared => assert!(!after[k], "{name}: {} set", FLAGS[k]),
                                        Effect::Set => changed[k] |= after[k] != preset,
                                        Effect::Undefined => {}
                                    }
                                }
                            }
                        }
                    }
                }
                for (k, effect) in claimed.iter().enumerate() {
                    if *effect == Effect::Set {
                        assert!(changed[k], "{} {subop:?}: {} never changes", opcode.spelling(), FLAGS[k]);
                    }
                }
            }
        }
    }

    #[test]
    fn every_instruction_is_in_one_group_and_every_group_is_shown() {
        let groups = groups();
        for (name, ..) in instructions() {
            assert_eq!(groups.iter().filter(|(_, names)| names.contains(&name)).count(), 1, "{name}");
        }
        let text = text();
        for (description, names) in &groups {
            assert!(text.contains(&indent_after_first(description, "  ")), "{description}");
            for shown in ranges(names) {
                assert!(text.contains(&shown), "{shown}");
            }
        }
        assert!(text.contains("\n  74     0f 84  je    ZF = 1 "), "{text}");
        assert!(text.contains("\n  72     0f 82  jb    CF = 1               a < b, unsigned\n"), "{text}");
        assert!(text.contains("\n  39             a - b: compare a = rm32 with b = r32\n"), "{text}");
        assert!(text.contains("\n    40-4f,"), "{text}");
    }

    #[test]
    fn runs_of_opcodes_become_ranges() {
        let names: Vec<String> = ["40", "41", "42", "50", "51", "81 /0 add", "c1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(ranges(&names), ["40-42", "50", "51", "81 /0 add", "c1"]);
    }
}

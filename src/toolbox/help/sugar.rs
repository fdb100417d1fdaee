//! `subx help sugar`: the three sugar phases, each shown by running it on
//! a few lines ([`super::run_phase`]), so that what the help says they
//! write is what they write.

use super::{run_phase, Example};
use crate::cli::RunFn;
use crate::phases::{braces, calls, sigils};

pub fn text() -> String {
    let mut text = String::from(
        "The sugared notation (ntranslate --sugar)\n\
         \n\
         Mu's later programs use three kinds of sugar. Given --sugar, ntranslate\n\
         runs three phases first that write it out as plain SubX, so the rest of\n\
         the translator never sees it. Without --sugar none of it is read.\n\
         \n\
         Blocks. A line holding only { opens a block and one holding only }\n\
         closes it. Inside, a jump to break/disp8 leaves the innermost block\n\
         and one to loop/disp8 goes back to its start. The braces phase turns\n\
         them into labels:\n\
         \n",
    );
    text.push_str(&shown(
        braces::run,
        "{\n  81 7/subop/compare %ecx 5/imm32\n  7d/jump-if-greater-or-equal break/disp8\n  41/increment-ecx\n  eb/jump loop/disp8\n}\n",
    ));
    text.push_str(
        "\n\
         Calls. A line (f a b) calls f with the arguments a and b, each a\n\
         number, a label, a string or a register or memory operand as below. The\n\
         calls phase pushes them last first, calls and drops them (subx help\n\
         calls):\n\
         \n",
    );
    text.push_str(&shown(calls::run, "(write-string 2 \"hi\")\n(f %eax *(ebp+8))\n"));
    text.push_str(
        "\n\
         Operands. In place of mod, rm32 and the SIB and displacement operands\n\
         (subx help modrm), an instruction may name its register or memory\n\
         operand with a sigil:\n\
         \x20 %ecx                 the register ecx\n\
         \x20 *ecx                 the 4 bytes at the address ecx holds\n\
         \x20 *(ebp+8)             at ebp + 8 (or ebp-4, or any base and displacement)\n\
         \x20 *(esi+ecx<<2+4)      at esi + ecx*4 + 4: base, index << scale, displacement\n\
         \x20 *Count               at the label Count\n\
         The sigils phase writes them out:\n\
         \n",
    );
    text.push_str(&shown(
        sigils::run,
        "8b/copy %ecx 3/r32/ebx\n8b/copy *ecx 3/r32/ebx\n8b/copy *(ebp+8) 3/r32/ebx\n\
         8b/copy *(esi+ecx<<2+4) 3/r32/ebx\nff 0/subop/increment *Count\n",
    ));
    text.push_str(
        "\n\
         A word of sugar carries no operand type: the sigil says what it is.\n\
         The numbers the phases write (0x00000001/rm32) are hex, like all others.\n\
         \n",
    );
    text.push_str(&SUGAR_EXAMPLE.render());
    text
}

/// `input` (lines of the code segment) and what `phase` makes of it, as the
/// topic shows them.
fn shown(phase: RunFn, input: &str) -> String {
    let output = run_phase(phase, &format!("== code\n{input}")).unwrap_or_else(|e| format!("(refused: {e})\n"));
    let mut text = String::new();
    for line in input.lines() {
        text.push_str(&format!("    {line}\n"));
    }
    text.push_str("  becomes\n");
    for line in output.lines().skip(1) {
        text.push_str(&format!("    {}\n", line.trim_end()));
    }
    text
}

const SUGAR_EXAMPLE: Example = Example {
    file: "sugar.subx",
    source: "\
== code
Entry:
  # ebx = 0 + 1 + 2 + 3 + 4, counting with ecx
  bb/copy-to-ebx  0/imm32
  b9/copy-to-ecx  0/imm32
  {
    81 7/subop/compare %ecx 5/imm32
    7d/jump-if-greater-or-equal break/disp8
    01/add %ebx 1/r32/ecx
    41/increment-ecx
    eb/jump loop/disp8
  }
  (syscall-exit %ebx)
",
    sugar: true,
    session: &[("./sugar.elf; echo $?", "10")],
};

#[cfg(test)]
mod tests {
    #[test]
    fn every_phase_accepts_its_example() {
        let text = super::text();
        assert!(!text.contains("refused"), "{text}");
        assert!(text.contains("    _loop0x00000001:\n"), "{text}");
        assert!(text.contains("    e8/call f/disp32\n"), "{text}");
        assert!(text.contains("    8b/copy 3/mod/direct 0x00000001/rm32 3/r32/ebx\n"), "{text}");
    }
}

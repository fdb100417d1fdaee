//! `subx help data`: the data segment, variables, buffers and string
//! literals, with what `pack` makes of an instruction that uses a
//! variable ([`super::encode`]).

use super::{encode, Example};

pub fn text() -> String {
    let increment = "ff  0/subop/increment  0/mod/indirect  5/rm32/.disp32  Count/disp32";
    let mut text = String::from(
        "The data segment: variables, buffers, strings\n\
         \n\
         A program has two segments: code, its instructions, and data, the bytes\n\
         it reads and writes. init.linux opens both with their addresses (== code\n\
         0x09000000, == data 0x0a000000); a program re-opens them with a bare\n\
         '== code' or '== data' as often as it likes, and the translator puts\n\
         the pieces of each segment together.\n\
         \n\
         A line of the data segment is a list of values laid out one after the\n\
         other: a label (Name:) names the address of the next byte; a word with\n\
         /imm32 is 4 bytes, a number or a label's address; a word without a type\n\
         is one byte, two hex digits.\n\
         \n\
         \x20   == data\n\
         \x20   # a 4-byte variable, 0 to start with\n\
         \x20   Count:\n\
         \x20     0/imm32\n\
         \x20   # three 4-byte numbers\n\
         \x20   Table:\n\
         \x20     1/imm32  2/imm32  3/imm32\n\
         \x20   # three bytes: 'h' 'i' and a newline (/h is a comment)\n\
         \x20   Greeting:\n\
         \x20     68/h 69/i 0a\n\
         \n\
         The code uses a variable through its label: its address is an imm32\n\
         (b9/copy-to-ecx Count/imm32 puts it in ecx), and the 4 bytes at it are\n\
         the operand with mod 0, rm32 5 and the label as a disp32 (subx help\n\
         modrm):\n\
         \n",
    );
    let bytes = encode(increment).unwrap_or_else(|e| format!("(pack refuses it: {e})"));
    text.push_str(&format!("    {increment}\n      -> {bytes}    (survey puts Count's address in place of Count/disp32)\n"));
    text.push_str(
        "\n\
         A buffer is written out byte by byte: SubX has no word for \"N bytes of\n\
         room\".\n\
         \n\
         \x20   # 16 bytes\n\
         \x20   Buffer:\n\
         \x20     00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00\n\
         \n\
         For a large one, take it from the stack (81 5/subop/subtract\n\
         3/mod/direct 4/rm32/esp 0x100/imm32 makes 0x100 bytes of room at esp;\n\
         add it back before returning), or ask Linux for memory with\n\
         syscall-mmap2 (subx help syscalls).\n\
         \n\
         A string literal, \"hi\\n\"/imm32 in an instruction, stands for the address\n\
         of a copy of the string that the translator puts in the data segment:\n\
         4 bytes of length, then the bytes. init.linux's write-string(fd, s)\n\
         prints such a string. Between the quotes, \\n is a newline, \\\" a quote\n\
         and \\\\ a backslash.\n\
         \n",
    );
    text.push_str(&DATA_EXAMPLE.render());
    text
}

const DATA_EXAMPLE: Example = Example {
    file: "buffer.subx",
    source: "\
== code
Entry:
  # fill Buffer with 'o' 'k' and a newline: c6 copies an imm8 to a byte
  b9/copy-to-ecx  Buffer/imm32
  c6  0/subop/copy  0/mod/indirect  1/rm32/ecx  0x6f/imm8/o
  c6  0/subop/copy  1/mod/*+disp8  1/rm32/ecx  0x6b/imm8/k  1/disp8
  c6  0/subop/copy  1/mod/*+disp8  1/rm32/ecx  0xa/imm8/newline  2/disp8
  # syscall-write(1, Buffer, 3)
  68/push  3/imm32
  51/push-ecx
  68/push  1/imm32/stdout
  e8/call  syscall-write/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  0xc/imm32
  # Count += 1; exit with Count
  ff  0/subop/increment  0/mod/indirect  5/rm32/.disp32  Count/disp32
  ff  6/subop/push  0/mod/indirect  5/rm32/.disp32  Count/disp32
  e8/call  syscall-exit/disp32

== data
Count:
  0x20/imm32
# 16 bytes of room
Buffer:
  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
",
    sugar: false,
    session: &[("./buffer.elf; echo $?", "ok\n33")],
};

//! `subx help calls`, `syscalls` and `tests`: what `init.linux` provides and
//! the conventions it follows, read from `init.linux` itself
//! ([`INIT_LINUX`]): its header comment says how its functions are called
//! and how a system call is made; each function's comment gives its
//! signature; the number each wrapper puts in EAX before `int 0x80` is read
//! from its code. So the help is always that of the prelude `subx init`
//! writes.

use super::Example;
use crate::toolbox::init::INIT_LINUX;
use crate::words::{instruction_words, Word};

/// `init.linux`, read as lines.
struct Prelude<'a> {
    lines: Vec<&'a str>,
}

/// A function of the prelude: its name, the comment just above its label
/// (signature first), and the system call it makes, if it makes one.
struct Function<'a> {
    name: &'a str,
    comment: Vec<&'a str>,
    syscall: Option<i64>,
}

impl<'a> Prelude<'a> {
    fn parse(text: &'a str) -> Prelude<'a> {
        Prelude { lines: text.lines().collect() }
    }

    /// The comment paragraph whose first line starts with `start` (after
    /// the `# `): its lines without `# `, up to a line `#` alone or one that
    /// is no comment.
    fn paragraph(&self, start: &str) -> Option<Vec<&'a str>> {
        let first = self.lines.iter().position(|l| comment_text(l).is_some_and(|t| t.starts_with(start)))?;
        Some(self.lines[first..].iter().map_while(|l| comment_text(l).filter(|t| !t.is_empty())).collect())
    }

    /// The comment section that begins with a line `# --- NAME ---...`: its
    /// lines without `# `, the heading left out, up to the first line that
    /// is no comment.
    fn section(&self, name: &str) -> Option<Vec<&'a str>> {
        let heading = format!("--- {name} ");
        let first = self.lines.iter().position(|l| comment_text(l).is_some_and(|t| t.starts_with(&heading)))?;
        let lines: Vec<&str> = self.lines[first + 1..].iter().map_while(|l| comment_text(l)).collect();
        let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
        Some(lines[start..].to_vec())
    }

    /// Every function: a label at the start of a line, not a `$` jump target.
    fn functions(&self) -> Vec<Function<'a>> {
        let mut functions = Vec::new();
        let mut in_code = false;
        for (k, line) in self.lines.iter().enumerate() {
            if let Some(header) = line.strip_prefix("== ") {
                in_code = header.split_whitespace().next() == Some("code");
                continue;
            }
            let Some(name) = line.strip_suffix(':').filter(|n| in_code && is_label(n)) else { continue };
            let above = self.lines[..k].iter().rev().map_while(|l| comment_text(l)).collect::<Vec<_>>();
            let comment = above.into_iter().rev().collect();
            let body = self.lines[k + 1..].iter().take_while(|l| !l.ends_with(':') || l.starts_with('$'));
            functions.push(Function { name, comment, syscall: syscall_number(body.copied()) });
        }
        functions
    }
}

/// A comment line's text, after `#` and one space.
fn comment_text(line: &str) -> Option<&str> {
    let text = line.strip_prefix('#')?;
    Some(text.strip_prefix(' ').unwrap_or(text))
}

fn is_label(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('$') && !name.contains(char::is_whitespace)
}

/// The number a function puts in EAX (`b8/copy-to-eax N/imm32`) before it
/// makes a system call (`cd/syscall 0x80/imm8`).
fn syscall_number<'a>(body: impl Iterator<Item = &'a str>) -> Option<i64> {
    let mut number = None;
    for line in body {
        let mut words = instruction_words(line.as_bytes()).map(Word::new);
        match words.next().map(|opcode| opcode.datum()) {
            Some(b"b8") => {
                let imm = words.find(|w| w.metadata().next() == Some(b"imm32"))?;
                number = crate::number::parse(imm.datum()).ok();
            }
            Some(b"cd") => return number,
            _ => {}
        }
    }
    None
}

fn prelude() -> Prelude<'static> {
    Prelude::parse(std::str::from_utf8(INIT_LINUX).unwrap_or_default())
}

/// Lines, each indented.
fn indented<'s>(lines: impl IntoIterator<Item = &'s str>, indent: &str) -> String {
    lines.into_iter().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{indent}{l}\n") }).collect()
}

/// A paragraph or section of init.linux, indented, or a note that it is
/// missing (a test makes sure none is).
fn quoted(lines: Option<Vec<&str>>, what: &str) -> String {
    match lines {
        Some(lines) => indented(lines, "  "),
        None => format!("  (init.linux no longer says {what}; see its header comment)\n"),
    }
}

/// Where the calling convention is, in init.linux's header.
const CONVENTION: &str = "How to call these functions";
/// Where the system call convention is.
const SYSCALL: &str = "A Linux i386 system call";
/// The section on running tests.
const TESTS_SECTION: &str = "running tests";

pub fn calls() -> String {
    let prelude = prelude();
    let mut text = String::from(
        "Functions and how to call them\n\
         \n\
         A function is a label in the code segment, the instructions after it,\n\
         and a c3/return at its end. e8/call f/disp32 pushes the address of the\n\
         instruction after the call on the stack and jumps to f; c3/return pops\n\
         that address and jumps back to it.\n\
         \n\
         init.linux's functions, and the programs of subx-apps, are called the\n\
         same way; in init.linux's words:\n\
         \n",
    );
    text.push_str(&quoted(prelude.paragraph(CONVENTION), "how its functions are called"));
    text.push_str(
        "\n\
         So in a function, after its first two instructions, 55/push-ebp and\n\
         89/copy 3/mod/direct 5/rm32/ebp 4/r32/esp (ebp = esp), the stack holds:\n\
         \n\
         \x20 *(ebp+0x10)  the third argument\n\
         \x20 *(ebp+0xc)   the second argument\n\
         \x20 *(ebp+8)     the first argument\n\
         \x20 *(ebp+4)     the address to return to, pushed by the call\n\
         \x20 *ebp         the caller's ebp, pushed by 55/push-ebp\n\
         \x20 *(ebp-4)     what the function pushes next (saved registers, locals)\n\
         \n\
         A function saves each register it changes (other than eax) by pushing\n\
         it first, and pops them in the reverse order before it returns; then\n\
         89/copy 3/mod/direct 4/rm32/esp 5/r32/ebp (esp = ebp), 5d/pop-to-ebp\n\
         and c3/return undo the first two and go back. One from init.linux:\n\
         \n",
    );
    let example = prelude.functions().into_iter().find(|f| f.name == "syscall-write");
    match example.and_then(|f| function_source(&prelude, f.name)) {
        Some(lines) => text.push_str(&indented(lines, "    ")),
        None => text.push_str("    (see init.linux)\n"),
    }
    text.push_str(
        "\n\
         A caller pushes the arguments last first, calls, and then adds 4 per\n\
         argument to esp (81 0/subop/add 3/mod/direct 4/rm32/esp 8/imm32 for\n\
         two). With ntranslate --sugar, (f a b) writes all three steps (subx\n\
         help sugar).\n\
         \n",
    );
    text.push_str(&CALLS_EXAMPLE.render());
    text
}

/// The lines of a function, from its label to its last line before the
/// next blank line.
fn function_source<'a>(prelude: &Prelude<'a>, name: &str) -> Option<Vec<&'a str>> {
    let label = format!("{name}:");
    let first = prelude.lines.iter().position(|l| *l == label)?;
    Some(prelude.lines[first..].iter().take_while(|l| !l.trim().is_empty()).copied().collect())
}

const CALLS_EXAMPLE: Example = Example {
    file: "calls.subx",
    source: "\
== code
Entry:
  # eax = add(3, 4): push the arguments, last first; call; drop them
  68/push  4/imm32
  68/push  3/imm32
  e8/call  add/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  8/imm32
  # syscall-exit(eax)
  50/push-eax
  e8/call  syscall-exit/disp32

# add(a: int, b: int) -> eax: a + b
add:
  55/push-ebp
  89/copy  3/mod/direct  5/rm32/ebp  4/r32/esp
  # eax = a, the first argument
  8b/copy  1/mod/*+disp8  5/rm32/ebp  0/r32/eax  8/disp8
  # eax += b, the second
  03/add  1/mod/*+disp8  5/rm32/ebp  0/r32/eax  0xc/disp8
  89/copy  3/mod/direct  4/rm32/esp  5/r32/ebp
  5d/pop-to-ebp
  c3/return
",
    sugar: false,
    session: &[("./calls.elf; echo $?", "7")],
};

pub fn syscalls() -> String {
    let prelude = prelude();
    let mut text = String::from(
        "System calls\n\
         \n\
         A program asks Linux to read, write, open files or exit with a system\n\
         call. In init.linux's words:\n\
         \n",
    );
    text.push_str(&quoted(prelude.paragraph(SYSCALL), "how a system call is made"));
    text.push_str(
        "\n\
         init.linux wraps the calls programs need in functions called as any\n\
         other (subx help calls): push the arguments, call, find the result in\n\
         eax, drop the arguments.\n\
         \n\
         \x20 eax   function (the system call number it puts in eax, in hex as SubX\n\
         \x20       writes it: 0xc0 is 192), and its comment\n",
    );
    let functions = prelude.functions();
    for f in functions.iter().filter(|f| f.syscall.is_some()) {
        let number = format!("{:#x}", f.syscall.unwrap_or_default());
        let mut lines = f.comment.iter();
        text.push_str(&format!("  {number:<5} {}\n", lines.next().copied().unwrap_or(f.name)));
        text.push_str(&indented(lines.copied(), "        "));
    }
    text.push_str("\nThe other functions of init.linux:\n");
    for f in functions.iter().filter(|f| f.syscall.is_none()) {
        text.push_str(&format!("  {}\n", f.comment.first().copied().unwrap_or(f.name)));
    }
    text.push_str(
        "\n\
         Any other system call is made directly, as below. subx run carries out\n\
         the calls docs/run.md lists.\n\
         \n",
    );
    text.push_str(&SYSCALLS_EXAMPLE.render());
    text
}

const SYSCALLS_EXAMPLE: Example = Example {
    file: "syscalls.subx",
    source: "\
== code
Entry:
  # write(1, Message, 3) directly: eax = 4 (write), then the arguments
  b8/copy-to-eax  4/imm32/write
  bb/copy-to-ebx  1/imm32/stdout
  b9/copy-to-ecx  Message/imm32
  ba/copy-to-edx  3/imm32/size
  cd/syscall  0x80/imm8
  # exit(eax): eax holds what write returned, the count of bytes written
  89/copy  3/mod/direct  3/rm32/ebx  0/r32/eax
  b8/copy-to-eax  1/imm32/exit
  cd/syscall  0x80/imm8

== data
Message:
  68/h 69/i 0a
",
    sugar: false,
    session: &[("./syscalls.elf; echo $?", "hi\n3")],
};

pub fn tests() -> String {
    let prelude = prelude();
    let mut text = String::from(
        "Tests\n\
         \n\
         Every label of the code segment whose name starts with test- is a test:\n\
         a function without arguments. The tests phase, the first of the\n\
         translator, adds a function run-tests that calls them all, in the order\n\
         they appear. A test calls the function it tests and checks the result\n\
         with check-ints-equal. In init.linux's words:\n\
         \n",
    );
    text.push_str(&quoted(prelude.section(TESTS_SECTION), "how tests are run"));
    text.push_str("\nThe functions for it, from init.linux:\n");
    for f in prelude.functions() {
        if ["started-with-test?", "check-ints-equal", "exit-after-tests"].contains(&f.name) {
            text.push_str(&format!("\n{}", indented(f.comment.iter().copied(), "  ")));
        }
    }
    text.push_str(
        "\n\
         Run the tests with ELF test (or subx run ELF test): one dot for each\n\
         check that passed, 'FAIL: ' and the message for each that failed, and\n\
         the exit status 0 when all passed, 1 otherwise. Start each message\n\
         with 'F - ' and the test's name, so that a failure says where it is.\n\
         \n",
    );
    text.push_str(&TESTS_EXAMPLE.render());
    text
}

const TESTS_EXAMPLE: Example = Example {
    file: "double.subx",
    source: "\
== code
Entry:
  # run the tests when started as 'double.elf test'
  89/copy  3/mod/direct  0/rm32/eax  4/r32/esp
  50/push-eax
  e8/call  started-with-test?/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  4/imm32
  3d/compare-eax-and  0/imm32/false
  74/jump-if-equal  $main/disp8
  e8/call  run-tests/disp32
  e8/call  exit-after-tests/disp32
$main:
  # syscall-exit(double(0x15))
  68/push  0x15/imm32
  e8/call  double/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  4/imm32
  50/push-eax
  e8/call  syscall-exit/disp32

# double(n: int) -> eax: 2n
double:
  55/push-ebp
  89/copy  3/mod/direct  5/rm32/ebp  4/r32/esp
  8b/copy  1/mod/*+disp8  5/rm32/ebp  0/r32/eax  8/disp8
  01/add  3/mod/direct  0/rm32/eax  0/r32/eax
  89/copy  3/mod/direct  4/rm32/esp  5/r32/ebp
  5d/pop-to-ebp
  c3/return

test-double-of-3:
  # eax = double(3)
  68/push  3/imm32
  e8/call  double/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  4/imm32
  # check-ints-equal(eax, 6, msg)
  68/push  \"F - test-double-of-3\"/imm32
  68/push  6/imm32
  50/push-eax
  e8/call  check-ints-equal/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  0xc/imm32
  c3/return
",
    sugar: false,
    session: &[("./double.elf; echo $?", "42"), ("./double.elf test; echo $?", ".\n0")],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_linux_says_what_the_topics_quote() {
        let prelude = prelude();
        for start in [CONVENTION, SYSCALL] {
            let paragraph = prelude.paragraph(start).unwrap_or_else(|| panic!("init.linux has no paragraph '{start}'"));
            assert!(paragraph.len() > 2, "{paragraph:?}");
        }
        let section = prelude.section(TESTS_SECTION).expect("init.linux has a section on running tests");
        assert!(section.iter().any(|l| l.contains("run-tests")), "{section:?}");
        for topic in [calls(), syscalls(), tests()] {
            assert!(!topic.contains("no longer says") && !topic.contains("(see init.linux)"), "{topic}");
        }
    }

    #[test]
    fn the_system_call_numbers_are_read_from_the_wrappers() {
        let functions = prelude().functions();
        let number = |name: &str| functions.iter().find(|f| f.name == name).and_then(|f| f.syscall);
        assert_eq!(number("syscall-exit"), Some(1));
        assert_eq!(number("syscall-write"), Some(4));
        assert_eq!(number("syscall-mmap2"), Some(0xc0));
        assert_eq!(number("write-string"), None, "it calls syscall-write");
        assert!(functions.iter().all(|f| !f.comment.is_empty()), "every function of init.linux has a comment");
        let text = syscalls();
        assert!(text.contains("\n  0x1   syscall-exit(status: int) -> does not return\n"), "{text}");
        assert!(text.contains("\n  0xc0  syscall-mmap2("), "{text}");
    }

    #[test]
    fn a_syscall_number_is_the_last_one_copied_to_eax_before_int_0x80() {
        let body = ["  b8/copy-to-eax  2/imm32", "  b8/copy-to-eax  0x36/imm32/ioctl", "  cd/syscall  0x80/imm8"];
        assert_eq!(syscall_number(body.into_iter()), Some(0x36));
        assert_eq!(syscall_number(["  b8/copy-to-eax  5/imm32"].into_iter()), None);
    }
}

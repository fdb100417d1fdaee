//! `subx help [TOPIC]`: the reference a learner needs beside the
//! translator's messages: which number is which register, what `/mod`
//! and each `/subop` mean, which flags a jump tests, how functions, system
//! calls, buffers and tests are written.
//!
//! ```
//! use subx::toolbox::help::topic;
//! let registers = topic("registers").unwrap();
//! assert!(registers.contains("\n  3       ebx "));
//! assert_eq!(topic("reg"), topic("registers"), "a unique prefix will do");
//! assert!(topic("nonsense").is_none());
//! ```
//!
//! Every fact the translator holds is printed from where the translator
//! holds it, at run time, never typed again: the opcodes, their operands,
//! subops and actions from [`crate::opcodes`]; the encodings in the
//! examples from running `pack` (and the sugar phases) on them; the calling
//! convention, the system calls and the test helpers from the comments and
//! code of `init.linux` ([`crate::toolbox::init::INIT_LINUX`]). So `help`
//! and the phases cannot disagree. Each topic ends with a small program
//! and what it prints; `tests/help.rs` translates and runs every one.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::opcodes::{Action, Opcode, OPCODES};

mod data;
mod encoding;
mod flags;
mod numbers;
mod prelude;
mod sugar;
mod table;

/// One topic of `subx help`.
pub struct Topic {
    pub name: &'static str,
    /// What it covers, in one line, for the list of topics.
    pub summary: &'static str,
    /// Its text, made at run time from the tables it describes.
    pub text: fn() -> String,
}

/// Every topic, in the order a newcomer might read them.
pub const TOPICS: &[Topic] = &[
    Topic {
        name: "numbers",
        summary: "numbers are hexadecimal (10 is sixteen); operand types and their ranges",
        text: numbers::text,
    },
    Topic {
        name: "registers",
        summary: "the eight registers, their numbers 0-7, what esp and ebp are for",
        text: encoding::registers,
    },
    Topic { name: "opcodes", summary: "every opcode SubX knows, with its operands", text: table::opcodes },
    Topic {
        name: "modrm",
        summary: "how /mod, /rm32 and /r32 name a register or a place in memory",
        text: encoding::modrm,
    },
    Topic { name: "sib", summary: "/base, /index and /scale: addresses like *(esi + ecx*4)", text: encoding::sib },
    Topic { name: "subops", summary: "what each /subop of 81, c1, d3, f7, ff ... does", text: table::subops },
    Topic {
        name: "flags",
        summary: "which instructions set CF ZF SF OF, and what each conditional jump tests",
        text: flags::text,
    },
    Topic {
        name: "calls",
        summary: "functions: arguments on the stack, the result in eax, who saves what",
        text: prelude::calls,
    },
    Topic { name: "syscalls", summary: "Linux system calls, and init.linux's functions for them", text: prelude::syscalls },
    Topic { name: "data", summary: "the data segment: variables, buffers, string literals", text: data::text },
    Topic { name: "tests", summary: "test- functions, and running them with 'ELF test'", text: prelude::tests },
    Topic { name: "sugar", summary: "ntranslate --sugar: { } blocks, (f a b) calls, %reg and *(reg+8)", text: sugar::text },
];

/// The text of topic `name`, or of the one topic `name` begins.
pub fn topic(name: &str) -> Option<String> {
    let exact = TOPICS.iter().find(|t| t.name == name);
    let mut prefixed = TOPICS.iter().filter(|t| !name.is_empty() && t.name.starts_with(name));
    let chosen = exact.or_else(|| match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    })?;
    Some((chosen.text)())
}

pub fn main(args: &[OsString]) -> ExitCode {
    let names: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match names.as_slice() {
        [] => print!("{}", overview()),
        [flag] if flag == "-h" || flag == "--help" => print!("{}", overview()),
        [name] => match topic(name) {
            Some(text) => print!("{text}"),
            None => match super::COMMANDS.iter().find(|c| c.name == name) {
                // `subx help run` is `subx run --help`.
                Some(command) => return (command.main)(&[OsString::from("--help")]),
                None => {
                    eprintln!(
                        "subx help: no topic '{name}'; the topics are {}\nTry 'subx help' for what each covers.",
                        TOPICS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                    );
                    return ExitCode::from(super::EXIT_USAGE);
                }
            },
        },
        _ => {
            eprintln!("subx help: one topic at a time\nTry 'subx help'.");
            return ExitCode::from(super::EXIT_USAGE);
        }
    }
    ExitCode::SUCCESS
}

/// `subx help` alone: the topics.
fn overview() -> String {
    let mut text = String::from(
        "usage: subx help [TOPIC]\n\
         \n\
         The reference for writing SubX: what the numbers of an instruction mean,\n\
         and how programs are put together. The tables are printed from the ones\n\
         the translator itself uses, so they say exactly what it does.\n\
         \n\
         Topics, in the order a newcomer might read them:\n",
    );
    for t in TOPICS {
        text.push_str(&format!("  {:<10} {}\n", t.name, t.summary));
    }
    text.push_str(
        "\n\
         A unique beginning of a topic will do ('subx help reg'); 'subx help COMMAND'\n\
         is 'subx COMMAND --help'. Most topics end with a small program and what\n\
         it prints. To try one, write init.linux, the prelude every program is\n\
         translated with, with 'subx init > init.linux'; ntranslate is\n\
         scripts/ntranslate of the project (the README says how to install it).\n\
         \n\
         Example:\n  \
           $ subx help registers | grep -w esp | head -1\n  \
           \x20 4       esp   44 4c 54 5c bc\n",
    );
    text
}

/// A program a topic shows, and the session that translates and runs it.
/// `tests/help.rs` finds it in the text by its first line and runs the
/// session as shown.
pub(crate) struct Example {
    /// The file to save it as: `NAME.subx`.
    pub file: &'static str,
    pub source: &'static str,
    /// Written in the sugared notation (translated with `--sugar`).
    pub sugar: bool,
    /// The commands after the translation, each with what it prints
    /// (stdout and stderr together).
    pub session: &'static [(&'static str, &'static str)],
}

/// The line that opens an example, before the file name.
pub const EXAMPLE_OPENING: &str = "Example: save this program as ";
/// The line between an example's program and its session.
pub const EXAMPLE_SESSION: &str = "then translate and run it:";

impl Example {
    /// The example as a topic shows it: the program indented by 4, then the
    /// session indented by 2, its first command the translation.
    pub fn render(&self) -> String {
        let mut text = format!("{EXAMPLE_OPENING}{}\n\n", self.file);
        for line in self.source.lines() {
            text.push_str(&if line.is_empty() { String::new() } else { format!("    {line}") });
            text.push('\n');
        }
        let stem = self.file.trim_end_matches(".subx");
        let sugar = if self.sugar { "--sugar " } else { "" };
        text.push_str(&format!("\n{EXAMPLE_SESSION}\n\n  $ ntranslate {sugar}-o {stem}.elf init.linux {}\n", self.file));
        for (command, output) in self.session {
            text.push_str(&format!("  $ {command}\n"));
            for line in output.lines() {
                text.push_str(&format!("  {line}\n"));
            }
        }
        text
    }
}

/// What `pack` makes of one instruction: its bytes as `pack` writes them
/// (`8b 58 04`), or pack's message. The examples' encodings come from here,
/// so they are the translator's own.
pub(crate) fn encode(instruction: &str) -> Result<String, String> {
    let packed = run_phase(crate::phases::pack::run, &format!("== code 0x09000000\n{instruction}\n"))?;
    let line = packed.lines().nth(1).unwrap_or_default();
    Ok(line.split_once("  #").map_or(line, |(bytes, _)| bytes).trim_end().to_string())
}

/// The output of a phase run on `input`, or its message.
pub(crate) fn run_phase(phase: crate::cli::RunFn, input: &str) -> Result<String, String> {
    let mut out = Vec::new();
    phase(&mut input.as_bytes(), &mut out, &mut crate::line_map::LineMap::off()).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Every instruction of the opcode table, in table order: each opcode, or
/// each subop of one that takes subops, with its name as the topics write
/// it (`01`, `81 /0 add`), its opcode and its action.
pub(crate) fn instructions() -> impl Iterator<Item = (String, &'static Opcode, Action)> {
    OPCODES.iter().flat_map(|opcode| match opcode.action {
        Action::Subops(list) => {
            list.iter().map(|s| (format!("{} /{} {}", opcode.spelling(), s.number, s.name), opcode, s.action)).collect()
        }
        action => vec![(opcode.spelling(), opcode, action)],
    })
}

/// `items` separated by `separator`, in lines no longer than `width`
/// (items are never broken), each line starting with `indent`.
pub(crate) fn wrap(items: &[String], separator: &str, indent: &str, width: usize) -> String {
    let mut text = String::new();
    let mut line = String::from(indent);
    for (k, item) in items.iter().enumerate() {
        let piece = if k + 1 < items.len() { format!("{item}{separator}") } else { item.clone() };
        if line.len() > indent.len() && line.len() + piece.trim_end().len() > width {
            text.push_str(line.trim_end());
            text.push('\n');
            line = String::from(indent);
        }
        line.push_str(&piece);
    }
    if line.len() > indent.len() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_has_a_unique_name_and_a_text() {
        for (k, t) in TOPICS.iter().enumerate() {
            assert!(TOPICS[..k].iter().all(|u| u.name != t.name), "{} twice", t.name);
            let text = (t.text)();
            assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{}: one newline at the end", t.name);
            assert!(text.lines().all(|l| l.len() <= 120 && l == l.trim_end()), "{}: a long line or trailing space", t.name);
        }
    }

    #[test]
    fn topics_are_found_by_a_unique_beginning() {
        assert_eq!(topic("s"), None, "sib, subops, syscalls, sugar");
        assert_eq!(topic("sy"), topic("syscalls"));
        assert_eq!(topic(""), None);
    }

    #[test]
    fn encode_asks_pack() {
        assert_eq!(encode("8b/copy 1/mod/*+disp8 0/rm32/eax 3/r32/ebx 4/disp8"), Ok("8b 58 04".to_string()));
        assert!(encode("8b/copy 3/r32/ebx").unwrap_err().contains("needs a /mod operand"));
    }

    #[test]
    fn wrap_keeps_items_whole() {
        let items: Vec<String> = ["aa", "bb", "cc"].iter().map(|s| s.to_string()).collect();
        assert_eq!(wrap(&items, ", ", "  ", 8), "  aa,\n  bb, cc\n");
        assert_eq!(wrap(&items, " ", "", 80), "aa bb cc\n");
    }

    #[test]
    fn an_example_shows_its_program_then_its_session() {
        let example = Example { file: "x.subx", source: "== code\nEntry:\n\n  cd/syscall", sugar: false, session: &[("./x.elf; echo $?", "0")] };
        assert_eq!(
            example.render(),
            "Example: save this program as x.subx\n\n    == code\n    Entry:\n\n      cd/syscall\n\n\
             then translate and run it:\n\n  $ ntranslate -o x.elf init.linux x.subx\n  $ ./x.elf; echo $?\n  0\n"
        );
    }
}

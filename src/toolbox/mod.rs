//! `subx`, the toolbox around the phases: the command Mu's users type
//! (`subx run`, `subx help`, ...), and the steps `scripts/ntranslate` calls
//! between the phases.
//!
//! ```text
//! subx COMMAND [ARGS...]
//! subx --help | --version
//! ```
//!
//! Each command is a module with one `main(args) -> ExitCode`; [`COMMANDS`]
//! lists them, and `subx --help` shows the list under two headings: the
//! commands for users, and the steps the scripts (`ntranslate`, `phases`) run.

use std::ffi::OsString;
use std::process::ExitCode;

pub mod compare;
pub mod excerpt;
pub mod feed;
pub mod finish;
pub mod help;
pub mod init;
pub mod run;

/// One command of `subx`.
pub struct Command {
    /// Its name, the first argument of `subx`.
    pub name: &'static str,
    /// Its arguments, as `--help` shows them.
    pub usage: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// Run by `scripts/ntranslate` rather than typed by users.
    pub internal: bool,
    /// The command itself, given the arguments after its name.
    pub main: fn(&[OsString]) -> ExitCode,
}

/// Every command, in the order `subx --help` lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "init",
        usage: "",
        summary: "print init.linux, the prelude every program is translated with",
        internal: false,
        main: init::main,
    },
    Command {
        name: "run",
        usage: "[OPTIONS] ELF [ARGS...]",
        summary: "run an ELF in the emulator, on any host; --trace, --watch",
        internal: false,
        main: run::main,
    },
    Command {
        name: "help",
        usage: "[TOPIC]",
        summary: "the reference: registers, modrm, subops, flags, calls, syscalls, tests ...",
        internal: false,
        main: help::main,
    },
    Command {
        name: "compare",
        usage: "A.elf B.elf",
        summary: "where two ELFs differ, and the SubX line that made the first byte that does",
        internal: false,
        main: compare::main,
    },
    Command {
        name: "feed",
        usage: "[--out OUT] -- SOURCE...",
        summary: "write the source files one after another, checking each starts with a header",
        internal: true,
        main: feed::main,
    },
    Command {
        name: "excerpt",
        usage: "--dir DIR ... -- SOURCE...",
        summary: "print a translation's texts, your lines only, for scripts/phases",
        internal: true,
        main: excerpt::main,
    },
    Command {
        name: "finish",
        usage: "--work DIR --out OUT ...",
        summary: "report a failed phase at FILE:LINE, or put the ELF and the phases' texts in place",
        internal: true,
        main: finish::main,
    },
];

/// Exit status for a usage error.
pub const EXIT_USAGE: u8 = 2;

/// Stdout as a plain file, written without the line buffering of
/// `io::stdout()`; an error when stdout is closed (see [`crate::cli::open_std`]).
pub fn raw_stdout() -> Result<std::fs::File, String> {
    use std::os::fd::AsFd;
    crate::cli::open_std(std::io::stdout().as_fd(), "stdout")
}

/// Runs the command the process's arguments name.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(first) = args.first() else {
        eprint!("{}", help());
        return ExitCode::from(EXIT_USAGE);
    };
    let name = first.to_string_lossy();
    match name.as_ref() {
        "-h" | "--help" => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("subx {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => match COMMANDS.iter().find(|c| c.name == name) {
            Some(command) => (command.main)(&args[1..]),
            None => {
                eprintln!("subx: unknown command '{name}'\nTry 'subx --help' for the list of commands.");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

/// The text of `subx --help`.
pub fn help() -> String {
    let mut text = String::from(
        "usage: subx COMMAND [ARGS...]\n\
         \n\
         The SubX toolbox. Translate programs with scripts/ntranslate; these are\n\
         the tools around it.\n\
         \n\
         Commands:\n",
    );
    let list = |text: &mut String, internal: bool| {
        for c in COMMANDS.iter().filter(|c| c.internal == internal) {
            let head = if c.usage.is_empty() { c.name.to_string() } else { format!("{} {}", c.name, c.usage) };
            text.push_str(&format!("  {head:<28} {}\n", c.summary));
        }
    };
    list(&mut text, false);
    if COMMANDS.iter().any(|c| c.internal) {
        text.push_str("\nSteps that scripts/ntranslate (and scripts/phases) run:\n");
        list(&mut text, true);
    }
    text.push_str(
        "\nOptions:\n  \
           -h, --help     print this help (and 'subx COMMAND --help' for one command)\n  \
           -V, --version  print the version\n\
         \n\
         Example:\n  \
           $ subx init > init.linux\n",
    );
    text
}

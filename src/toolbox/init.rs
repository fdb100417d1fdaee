//! `subx init`: prints `init.linux`, the prelude of system-call wrappers
//! that every program is translated with, so that an installed `subx` is
//! all a user needs (`subx init > init.linux`). The file is compiled into
//! the binary.

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

/// The project's `init.linux`, byte for byte.
pub const INIT_LINUX: &[u8] = include_bytes!("../../init.linux");

pub fn main(args: &[OsString]) -> ExitCode {
    match args.first().map(|a| a.to_string_lossy()) {
        None => {}
        Some(a) if a == "-h" || a == "--help" => {
            print!(
                "usage: subx init\n\
                 \n\
                 Print init.linux, the prelude of system-call wrappers (exit, read, write,\n\
                 open, ...) that programs are translated with, to stdout.\n\
                 \n\
                 Example:\n  \
                   $ subx init > init.linux\n"
            );
            return ExitCode::SUCCESS;
        }
        Some(a) => {
            eprintln!("subx init: unexpected argument '{a}'\nTry 'subx init --help'.");
            return ExitCode::from(super::EXIT_USAGE);
        }
    }
    let mut out = match super::raw_stdout() {
        Ok(out) => out,
        Err(message) => {
            eprintln!("subx init: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    match out.write_all(INIT_LINUX) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(e) => {
            eprintln!("subx init: cannot write to stdout: {}", crate::error::io_reason(&e));
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

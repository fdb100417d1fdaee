//! The `tests` phase as a Unix filter; see `subx::phases::tests`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::tests;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "tests", help: tests::help, run: tests::run, side_output: None })
}

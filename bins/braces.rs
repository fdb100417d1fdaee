//! The `braces` phase as a Unix filter; see `subx::phases::braces`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::braces;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "braces", help: braces::help, run: braces::run, side_output: None })
}

//! The `survey` phase as a Unix filter; see `subx::phases::survey`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::survey;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "survey", help: survey::help, run: survey::run })
}

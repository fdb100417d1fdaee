//! The `assort` phase as a Unix filter; see `subx::phases::assort`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::assort;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "assort", help: assort::help, run: assort::run, side_output: None })
}

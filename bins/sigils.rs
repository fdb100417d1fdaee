//! The `sigils` phase as a Unix filter; see `subx::phases::sigils`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::sigils;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "sigils", help: sigils::help, run: sigils::run, side_output: None })
}

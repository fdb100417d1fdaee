//! The `calls` phase as a Unix filter; see `subx::phases::calls`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::calls;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "calls", help: calls::help, run: calls::run, side_output: None })
}

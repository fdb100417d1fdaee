//! The `hex` phase as a Unix filter; see `subx::phases::hex`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::hex;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "hex", help: hex::help, run: hex::run, side_output: None })
}

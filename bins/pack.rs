//! The `pack` phase as a Unix filter; see `subx::phases::pack`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::pack;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "pack", help: pack::help, run: pack::run, side_output: None })
}

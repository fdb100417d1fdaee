//! The `dquotes` phase as a Unix filter; see `subx::phases::dquotes`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::dquotes;

fn main() -> ExitCode {
    cli::main(&cli::Phase { name: "dquotes", help: dquotes::help, run: dquotes::run, side_output: None })
}

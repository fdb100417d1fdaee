//! `subx`, the toolbox around the phases; see `subx::toolbox`.

use std::process::ExitCode;

fn main() -> ExitCode {
    subx::toolbox::main()
}

//! The `survey` phase as a Unix filter; see `subx::phases::survey`.

use std::process::ExitCode;

use subx::cli;
use subx::phases::survey;

fn main() -> ExitCode {
    cli::main(&cli::Phase {
        name: "survey",
        help: survey::help,
        run: survey::run,
        side_output: Some(cli::SideOutput {
            option: "--labels",
            help: "also write the segments and labels, with their addresses, to FILE\n                   \
                   (scripts/ntranslate makes the maps next to the ELF from it)",
            run: survey::run_with_labels,
        }),
    })
}

//! What the integration tests share: where the project and the binaries
//! cargo built for this test are, and the random generator of the test data.
//! Each test file says `mod support;`; not every one uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod splitmix;

/// The project's root directory.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec's vectors, copied into the project.
pub fn vectors() -> PathBuf {
    project().join("tests/vectors")
}

/// The directory holding the binaries cargo built for this test.
pub fn bin_dir() -> PathBuf {
    let hex = PathBuf::from(env!("CARGO_BIN_EXE_hex"));
    hex.parent().expect("binary has a directory").to_path_buf()
}

/// A command that runs the 32-bit ELF `elf`: natively for now. The one place
/// to change for running the programs' tests under `subx run` instead.
pub fn elf_command(elf: &Path) -> Command {
    Command::new(elf)
}

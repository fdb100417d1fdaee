//! What the integration tests share: where the project and the binaries
//! cargo built for this test are, and the random generator of the test data.
//! Each test file says `mod support;`; not every one uses every helper.
#![allow(dead_code)]

use std::path::PathBuf;

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


/// Do ELFs run natively here? Yes unless `SUBX_NATIVE=0`, which a host that
/// cannot run 32-bit x86 sets so that every ELF runs under `subx run`.
pub fn native() -> bool {
    std::env::var_os("SUBX_NATIVE").is_none_or(|v| v != "0")
}

/// How an ELF is run: by the processor, or by `subx run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    Native,
    Emulated,
}

impl Runner {
    /// The ways ELFs run here: both, or only emulated with `SUBX_NATIVE=0`.
    pub fn available() -> &'static [Runner] {
        if native() {
            &[Runner::Native, Runner::Emulated]
        } else {
            &[Runner::Emulated]
        }
    }

    /// The way tests that run an ELF once use: native unless `SUBX_NATIVE=0`.
    pub fn default() -> Runner {
        if native() {
            Runner::Native
        } else {
            Runner::Emulated
        }
    }

    /// A command that runs `elf` (its arguments still to add): the ELF
    /// itself, or `subx run ELF`. Either way the program's argv[0] is `elf`.
    pub fn command(self, elf: &std::path::Path) -> std::process::Command {
        match self {
            Runner::Native => std::process::Command::new(elf),
            Runner::Emulated => {
                let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_subx"));
                c.arg("run").arg(elf);
                c
            }
        }
    }
}

//! What the integration tests share: where the project and the binaries
//! cargo built for this test are, ntranslate run with those binaries, an
//! ELF run natively or under `subx run`, a documented session played, and
//! the random generator of the test data.
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

/// `scripts/ntranslate`, run by bash with the binaries cargo built for
/// this test (`SUBX_BIN`); its arguments are still to add.
pub fn ntranslate() -> std::process::Command {
    let mut command = std::process::Command::new("bash");
    command.arg(project().join("scripts/ntranslate")).env("SUBX_BIN", bin_dir());
    command
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

    /// A shell command (or what a session shows of it) as this runner runs
    /// it: `./X.elf` stays, or becomes `subx run X.elf`.
    pub fn rewrite(self, text: &str) -> String {
        match self {
            Runner::Native => text.to_string(),
            Runner::Emulated => text.replace("./", "subx run "),
        }
    }
}

/// Plays a documented shell session in `dir`: the `commands` in one bash
/// process, with `scripts/` (ntranslate, phases) and the built binaries
/// first on PATH; what it prints, stdout and stderr together, each command
/// shown as `$ command` before its output, as a session is written.
pub fn session(dir: &std::path::Path, commands: &[String]) -> String {
    let path = format!("{}:{}:{}", project().join("scripts").display(), bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    let mut script = String::from("exec 2>&1\n");
    for command in commands {
        let quoted = command.replace('\'', r"'\''");
        script.push_str(&format!("printf '$ %s\\n' '{quoted}'\n{command}\n"));
    }
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path)
        .env("SUBX_BIN", bin_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

//! What every phase binary shares: `--help`, `--version`, usage errors and
//! exit codes.

use assert_cmd::Command;
use predicates::prelude::*;

const PHASES: [&str; 6] = ["tests", "dquotes", "assort", "pack", "survey", "hex"];

#[test]
fn every_phase_explains_itself() {
    for phase in PHASES {
        Command::cargo_bin(phase)
            .expect("binary")
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::starts_with(format!("{phase}: ")))
            .stdout(predicate::str::contains("Reads:"))
            .stdout(predicate::str::contains("Writes:"))
            .stdout(predicate::str::contains("Example:"))
            .stdout(predicate::str::contains("Exit status: 0 success"));
    }
}

#[test]
fn every_phase_tells_its_version() {
    for phase in PHASES {
        Command::cargo_bin(phase)
            .expect("binary")
            .arg("--version")
            .assert()
            .success()
            .stdout(format!("{phase} (subx) {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn an_unknown_argument_is_a_usage_error() {
    for phase in PHASES {
        Command::cargo_bin(phase)
            .expect("binary")
            .arg("--frobnicate")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--frobnicate"));
    }
}

#[test]
fn an_invalid_input_exits_1_with_the_line() {
    Command::cargo_bin("hex")
        .expect("binary")
        .write_stdin("01 02\n0x03\n")
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("hex: line 2: '0x03': "));
}

#[test]
fn the_line_map_option_writes_a_map() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("map");
    Command::cargo_bin("hex")
        .expect("binary")
        .arg("--line-map")
        .arg(&map)
        .write_stdin("01\n")
        .assert()
        .success()
        .stdout(&b"\x01"[..]);
    assert!(map.exists());
}

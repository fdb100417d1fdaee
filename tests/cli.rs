//! What every phase binary shares: `--help`, `--version`, usage errors and
//! exit codes; every `--help` example run to check it prints what it shows;
//! `ntranslate` installed on PATH; `scripts/phases` on every example program.

use assert_cmd::Command;
use predicates::prelude::*;

mod support;
use support::{bin_dir, project};

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

#[test]
fn the_tee_option_writes_a_copy_of_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("copy");
    let input = "== code\nc3 \n== data\n00 \n== code\n90 \n";
    let expected = "== code\nc3 \n90 \n== data\n00 \n";
    Command::cargo_bin("assort")
        .expect("binary")
        .arg("--tee")
        .arg(&copy)
        .write_stdin(input)
        .assert()
        .success()
        .stdout(expected);
    assert_eq!(std::fs::read_to_string(&copy).expect("copy written"), expected);
}

#[test]
fn a_tee_file_that_cannot_be_written_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for phase in PHASES {
        Command::cargo_bin(phase)
            .expect("binary")
            .arg(format!("--tee={}", dir.path().display()))
            .write_stdin("")
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with(format!("{phase}: cannot write '{}'", dir.path().display())));
    }
}


/// The `$ command` lines of a help text's example, each with the output the
/// help says it prints (the lines after it indented by two spaces).
fn help_examples(help: &str) -> Vec<(String, String)> {
    let mut examples: Vec<(String, String)> = Vec::new();
    let mut in_example = false;
    for line in help.lines() {
        if line == "Example:" {
            in_example = true;
        } else if !in_example {
        } else if let Some(command) = line.strip_prefix("  $ ") {
            examples.push((command.to_string(), String::new()));
        } else if let (Some(output), Some(last)) = (line.strip_prefix("  "), examples.last_mut()) {
            last.1.push_str(output);
            last.1.push('\n');
        } else {
            in_example = false;
        }
    }
    examples
}

#[test]
fn every_help_example_prints_what_it_shows() {
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    for phase in PHASES {
        let help = Command::cargo_bin(phase).expect("binary").arg("--help").output().expect("run --help");
        let help = String::from_utf8(help.stdout).expect("UTF-8 help");
        let examples = help_examples(&help);
        assert!(!examples.is_empty(), "{phase} --help shows no '  $ command' under 'Example:'");
        for (command, shown) in examples {
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("set -o pipefail; {command}"))
                .env("PATH", &path)
                .output()
                .expect("run bash");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{phase} --help example failed: {command}\n{stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(stdout, shown, "{phase} --help: the example '{command}' prints otherwise");
        }
    }
}

#[test]
fn every_help_names_the_exit_codes() {
    for phase in PHASES {
        Command::cargo_bin(phase)
            .expect("binary")
            .arg("--help")
            .assert()
            .stdout(predicate::str::contains("Exit status: 0 success; 1 the input is invalid"))
            .stdout(predicate::str::contains("2 usage or I/O error"));
    }
}

#[test]
fn pack_help_lists_the_opcodes_it_encodes() {
    let out = Command::cargo_bin("pack").expect("binary").arg("--help").output().expect("run");
    let help = String::from_utf8(out.stdout).expect("UTF-8");
    let (_, table) = help.split_once("Supported opcodes:").expect("pack --help has 'Supported opcodes:'");
    for opcode in subx::opcodes::OPCODES {
        let line = table
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", opcode.spelling())))
            .unwrap_or_else(|| panic!("pack --help does not list opcode {}", opcode.spelling()));
        assert!(line.contains(opcode.name), "pack --help: {line:?} lacks {:?}", opcode.name);
    }
}

/// Installed the way the README says: the six binaries in one directory on
/// PATH, `ntranslate` copied next to them, no SUBX_BIN, no project around.
#[test]
fn an_installed_ntranslate_finds_the_binaries_on_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let installed = dir.path().join("ntranslate");
    std::fs::copy(project().join("scripts/ntranslate"), &installed).expect("copy ntranslate");
    let program = "== code 0x09000000\nEntry:\nbb/copy-to-ebx 7/imm32\nb8/copy-to-eax 1/imm32\n\
                   cd/syscall 0x80/imm8\n== data 0x0a000000\n";
    std::fs::write(dir.path().join("exit.subx"), program).expect("write");
    let out = std::process::Command::new("bash")
        .arg(&installed)
        .args(["-o", "exit.elf", "exit.subx"])
        .current_dir(dir.path())
        .env_remove("SUBX_BIN")
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir().display()))
        .output()
        .expect("run ntranslate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = support::Runner::default().command(&dir.path().join("exit.elf")).status().expect("run the ELF");
    assert_eq!(status.code(), Some(7));
}

fn phases_script(args: &[&str]) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(project().join("scripts/phases"))
        .args(args)
        .current_dir(project())
        .env("SUBX_BIN", bin_dir())
        .output()
        .expect("run scripts/phases")
}

#[test]
fn phases_shows_every_program_of_subx_apps_after_each_phase() {
    let mut apps: Vec<_> = std::fs::read_dir(project().join("subx-apps"))
        .expect("subx-apps/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "subx"))
        .collect();
    apps.sort();
    assert!(!apps.is_empty(), "no programs in subx-apps/");
    for app in apps {
        let app = app.strip_prefix(project()).expect("in the project").to_string_lossy().into_owned();
        let out = phases_script(&["init.linux", &app]);
        assert!(out.status.success(), "scripts/phases on {app}: {}", String::from_utf8_lossy(&out.stdout));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut at = 0;
        for header in [
            "==> source:",
            "==> after tests <==",
            "==> after dquotes <==",
            "==> after assort <==",
            "==> after pack <==",
            "==> after survey <==",
            "==> after hex: the ELF (",
        ] {
            at += text[at..].find(header).unwrap_or_else(|| panic!("scripts/phases on {app}: no '{header}' in order"));
        }
        assert!(text[at..].contains("00000000: 7f45 4c46"), "scripts/phases on {app}: no ELF dump");
    }
}

#[test]
fn phases_only_prints_one_phase_and_reports_errors() {
    let out = phases_script(&["--only", "pack", "init.linux", "subx-apps/01-exit-42.subx"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("==>"), "--only prints no headers");
    assert!(text.contains("bb 2a 00 00 00  # bb/copy-to-ebx 0x2a/imm32"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.subx");
    std::fs::write(&bad, "== code\nEntry:\n  bb/copy-to-ebx  0x2a\n").expect("write");
    let out = phases_script(&["init.linux", bad.to_str().expect("UTF-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("==> after assort <=="), "the phases before the failing one are shown");
    assert!(text.contains("==> error <==") && text.contains("bad.subx:3: error: "), "{text}");

    assert_eq!(phases_script(&["--only", "nonsense", "x"]).status.code(), Some(2));
    assert_eq!(phases_script(&[]).status.code(), Some(2));
    let version = phases_script(&["--version"]);
    assert_eq!(String::from_utf8_lossy(&version.stdout), format!("phases (subx) {}\n", env!("CARGO_PKG_VERSION")));
}

//! What every phase binary shares: `--help`, `--version`, usage errors and
//! exit codes; every `--help` example run to check it prints what it shows;
//! `ntranslate` installed on PATH; `scripts/phases` on every example program.

use assert_cmd::Command;
use predicates::prelude::*;

mod support;
use support::{bin_dir, project};

const PHASES: [&str; 9] = ["braces", "calls", "sigils", "tests", "dquotes", "assort", "pack", "survey", "hex"];

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

/// Every help text of the project: each phase's `--help`, `subx --help` and
/// each subx command's, and the scripts'. (name, how to print it; whether it
/// must show an example: all but the steps only ntranslate runs)
fn help_texts() -> Vec<(String, Vec<String>, bool)> {
    let mut texts: Vec<(String, Vec<String>, bool)> = PHASES
        .iter()
        .map(|p| (p.to_string(), vec![bin_dir().join(p).display().to_string(), "--help".into()], true))
        .collect();
    let subx = bin_dir().join("subx").display().to_string();
    texts.push(("subx".into(), vec![subx.clone(), "--help".into()], true));
    for command in subx::toolbox::COMMANDS {
        let args = vec![subx.clone(), command.name.into(), "--help".into()];
        texts.push((format!("subx {}", command.name), args, !command.internal));
    }
    for script in ["ntranslate", "phases"] {
        let path = project().join("scripts").join(script).display().to_string();
        texts.push((script.into(), vec!["bash".into(), path, "--help".into()], true));
    }
    texts
}

/// A scratch directory holding what help examples may name, as a copy (an
/// example may write files): the scripts, init.linux, subx-apps.
fn example_directory() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for item in ["scripts", "subx-apps"] {
        std::fs::create_dir(dir.path().join(item)).expect("mkdir");
        for entry in std::fs::read_dir(project().join(item)).expect("read dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_file() {
                std::fs::copy(entry.path(), dir.path().join(item).join(entry.file_name())).expect("copy");
            }
        }
    }
    std::fs::copy(project().join("init.linux"), dir.path().join("init.linux")).expect("copy init.linux");
    dir
}

#[test]
fn every_help_example_prints_what_it_shows() {
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    for (name, command, needs_example) in help_texts() {
        let help = std::process::Command::new(&command[0]).args(&command[1..]).output().expect("run --help");
        assert!(help.status.success(), "{name} --help failed");
        let help = String::from_utf8(help.stdout).expect("UTF-8 help");
        let examples = help_examples(&help);
        assert!(!needs_example || !examples.is_empty(), "{name} --help shows no '  $ command' under 'Example:'");
        let dir = example_directory();
        for (example, shown) in examples {
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("set -o pipefail; {example}"))
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("SUBX_BIN", bin_dir())
                .output()
                .expect("run bash");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name} --help example failed: {example}\n{stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(stdout, shown, "{name} --help: the example '{example}' prints otherwise");
        }
    }
}

#[test]
fn a_closed_stdout_or_stdin_is_an_error_not_lost_output() {
    for phase in PHASES {
        for (redirect, stream) in [(">&-", "stdout"), ("<&-", "stdin")] {
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("echo '== code' | {} {redirect}", bin_dir().join(phase).display()))
                .output()
                .expect("run bash");
            assert_eq!(out.status.code(), Some(2), "{phase} {redirect}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.starts_with(&format!("{phase}: {stream} is closed")), "{phase} {redirect}: {stderr}");
        }
    }
}

#[test]
fn a_phase_reading_a_terminal_says_what_it_expects() {
    // `script` gives the phase a terminal for stdin; the input ends at once.
    let phase = bin_dir().join("dquotes");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{} < /dev/tty 2>&1 & sleep 0.5; kill %1", phase.display()), "/dev/null"])
        .output()
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dquotes: reading from the terminal: dquotes expects on stdin, SubX text (the output of 'tests'); \
                       end the input with Ctrl-D"),
        "{text}"
    );
    // Not at a pipe.
    Command::cargo_bin("dquotes").expect("binary").write_stdin("").assert().success().stderr("");
}

#[test]
fn subx_init_writes_init_linux() {
    let want = std::fs::read(project().join("init.linux")).expect("init.linux");
    Command::cargo_bin("subx").expect("binary").arg("init").assert().success().stdout(want);
}

#[test]
fn subx_help_lists_its_commands_under_two_headings() {
    let out = Command::cargo_bin("subx").expect("binary").arg("--help").output().expect("run");
    let help = String::from_utf8(out.stdout).expect("UTF-8");
    let (users, internal) = help.split_once("Steps that scripts/ntranslate").expect("two headings");
    for command in subx::toolbox::COMMANDS {
        let part = if command.internal { internal } else { users };
        assert!(part.contains(&format!("  {} ", command.name)), "{} is not listed where it belongs", command.name);
    }
    Command::cargo_bin("subx").expect("binary").arg("frobnicate").assert().code(2);
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

/// Installed the way the README says: the binaries in one directory on
/// PATH, `ntranslate` copied next to them, no SUBX_BIN, no project around,
/// `init.linux` from `subx init`.
#[test]
fn an_installed_ntranslate_finds_the_binaries_on_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let installed = dir.path().join("ntranslate");
    std::fs::copy(project().join("scripts/ntranslate"), &installed).expect("copy ntranslate");
    let program = "== code\nEntry:\n(syscall-exit 7)\n";
    std::fs::write(dir.path().join("exit.subx"), program).expect("write");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("subx init > init.linux && ./ntranslate --sugar -o exit.elf init.linux exit.subx")
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
        // The sugared programs (tests/apps.rs) are named *-sugar.
        let sugar = app.ends_with("-sugar.subx");
        let args: &[&str] = if sugar { &["--sugar", "init.linux", &app] } else { &["init.linux", &app] };
        let out = phases_script(args);
        assert!(out.status.success(), "scripts/phases on {app}: {}", String::from_utf8_lossy(&out.stdout));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut at = 0;
        let sugar_headers: &[&str] =
            if sugar { &["==> after braces <==", "==> after calls <==", "==> after sigils <=="] } else { &[] };
        for header in ["==> source:"].iter().chain(sugar_headers).chain(&[
            "==> after tests <==",
            "==> after dquotes <==",
            "==> after assort <==",
            "==> after pack <==",
            "==> after survey <==",
            "==> after hex: the ELF (",
        ]) {
            at += text[at..].find(header).unwrap_or_else(|| panic!("scripts/phases on {app}: no '{header}' in order"));
        }
        let elf = &text[at..];
        assert!(elf.contains("\noffset      address     bytes\n0x") || elf.contains("\noffset      address     bytes\n# ... bytes 0x0-"), "scripts/phases on {app}: no ELF dump");
        assert!(elf.lines().any(|l| l.starts_with("0x") && l[12..].starts_with("0x0")), "scripts/phases on {app}: no bytes of the program");
        assert_eq!(text.contains("==> after braces <=="), sugar, "scripts/phases on {app}: braces only with --sugar");
    }
}

#[test]
fn phases_sugar_shows_the_sugar_phases_in_turn() {
    let app = "subx-apps/14-factorial-sugar.subx";
    let out = phases_script(&["--sugar", "--no-elf", "init.linux", app]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // Each part, from its header to the next one.
    let part = |name: &str| -> &str {
        let header = format!("\n==> {name} <==\n");
        let start = text.find(&header).unwrap_or_else(|| panic!("no '{header}' in:\n{text}")) + header.len();
        text[start..].find("\n==> ").map_or(&text[start..], |end| &text[start..start + end])
    };
    let source = std::fs::read_to_string(project().join(app)).expect("read the program");
    assert!(text.contains(&source), "the source is shown as it is");
    // braces: the block's '{' becomes a label, its 'break' a reference to the '}'.
    let braces = part("after braces");
    assert!(braces.contains("_loop0x00000001:\n") && braces.contains("74/jump-if-equal _break0x00000001/disp8 \n"));
    assert!(braces.contains("(factorial %ecx) \n"), "calls are left for the next phase");
    // calls: the call becomes a comment, pushes, the call and the stack adjustment.
    let calls = part("after calls");
    assert!(
        calls.contains(
            "# . (factorial %ecx) \nff 6/subop/push %ecx\ne8/call factorial/disp32\n\
             81 0/subop/add %esp 0x00000004/imm32\n"
        ),
        "{calls}"
    );
    // sigils: no sigil is left; %ecx is a mod/rm32 pair.
    let sigils = part("after sigils");
    assert!(sigils.contains("ff 6/subop/push 3/mod/direct 0x00000001/rm32 \n"), "{sigils}");
    assert!(!sigils.contains(" %e") && !sigils.contains(" *("), "{sigils}");
    // and the core phases take it from there, the sigils' output being their input.
    let dquotes = part("after dquotes");
    assert!(dquotes.contains("ff 6/subop/push 3/mod/direct 0x00000001/rm32 \n"), "{dquotes}");

    let only = phases_script(&["--sugar", "--only", "calls", "init.linux", app]);
    assert!(only.status.success());
    assert_eq!(String::from_utf8_lossy(&only.stdout), calls, "--only calls prints the part alone");

    // Without --sugar the sugar phases do not run, and cannot be asked for.
    let plain = phases_script(&["--only", "braces", "init.linux", app]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("'braces' is a sugar phase; add --sugar"));
    // A sugared program read as plain SubX fails in the core phases.
    let plain = phases_script(&["--no-elf", "init.linux", app]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stdout).contains("==> error <=="));
}

/// The part of scripts/phases' output under `header`, up to the next one.
fn part<'t>(text: &'t str, header: &str) -> &'t str {
    let header = format!("\n==> {header}");
    let start = text.find(&header).unwrap_or_else(|| panic!("no '{header}' in:\n{text}"));
    let start = start + text[start + 1..].find('\n').expect("a line") + 2;
    text[start..].find("\n==> ").map_or(&text[start..], |end| &text[start..start + end])
}

#[test]
fn phases_shows_your_lines_and_with_all_everything() {
    let app = "subx-apps/05-hello.subx";
    let out = phases_script(&["init.linux", app]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let source = std::fs::read_to_string(project().join(app)).expect("the program");
    let init_lines = std::fs::read_to_string(project().join("init.linux")).expect("init.linux").lines().count();
    assert_eq!(part(&text, "source"), format!("# ... {init_lines} lines from init.linux\n{source}"));
    // Each phase: none of init.linux's lines, every one of the program's.
    let assort = part(&text, "after assort");
    assert!(assort.starts_with("# ... ") && assort.contains(" lines from init.linux\nEntry: \n"), "{assort}");
    assert!(!assort.contains("syscall-write:") && assort.contains("e8/call syscall-write/disp32 \n"), "{assort}");
    assert!(assort.contains("\n_string5:\n"), "the program's string literal is the program's: {assort}");
    assert!(!assort.contains("_string1:"), "init.linux's string literal is init.linux's: {assort}");
    // survey: each line of the program's with its address, as the listing has it.
    let dir = tempfile::tempdir().expect("tempdir");
    let translated = support::ntranslate()
        .args(["-o", &dir.path().join("hello.elf").display().to_string(), "init.linux", app])
        .current_dir(project())
        .status()
        .expect("ntranslate");
    assert!(translated.success());
    let map = std::fs::read_to_string(dir.path().join("hello.map")).expect("hello.map");
    let survey = part(&text, "after survey");
    let mut from_the_program = 0;
    for row in map.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = row.split('\t').collect();
        let (address, bytes, place, text) = (fields[1], fields[2], fields[3], fields[4]);
        let line = if bytes.is_empty() { format!("{address}  {text}\n") } else { format!("{address}  {bytes}\n") };
        if place.starts_with(app) {
            assert!(survey.contains(&line), "survey does not show {line:?}:\n{survey}");
            from_the_program += 1;
        } else if address != "-" {
            assert!(!survey.contains(&line), "survey shows init.linux's {line:?}");
        }
    }
    assert!(from_the_program > 10);
    let elf = part(&text, "after hex");
    assert!(elf.starts_with("offset      address     bytes\n# ... bytes 0x0-0x269 from the ELF and program headers and init.linux\n"), "{elf}");
    assert!(elf.contains("\n                        Entry:\n0x0000026a  0x0900026a  be ad 02 00 0a ff 36 8d 46 04 50 68 01 00 00 00  ......6.F.Ph....\n"), "{elf}");

    // --all, or one file alone: everything.
    let all = phases_script(&["--all", "init.linux", app]);
    let all = String::from_utf8_lossy(&all.stdout);
    assert!(!all.contains("# ... "), "--all leaves nothing out");
    assert_eq!(part(&all, "source"), std::fs::read_to_string(project().join("init.linux")).expect("init.linux") + &source);
    assert!(part(&all, "after survey").starts_with("-           7f 45 4c 46 "));
    assert!(part(&all, "after hex").contains("\n0x00000000  -           7f 45 4c 46 01 01 01 00 00 00 00 00 00 00 00 00  .ELF............\n"));
    let program = dir.path().join("whole.subx");
    std::fs::write(&program, "== code 0x09000000\nEntry:\n  bb/copy-to-ebx  0x2a/imm32\n  b8/copy-to-eax  1/imm32\n  cd/syscall  0x80/imm8\n== data 0x0a000000\n").expect("write");
    let alone = phases_script(&["--only", "hex", program.to_str().expect("UTF-8 path")]);
    assert!(String::from_utf8_lossy(&alone.stdout).contains("\n0x00000000  -           7f 45 4c 46"), "one file: everything");
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

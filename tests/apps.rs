//! The example programs of `subx-apps/`, translated and run.
//!
//! Every program is translated the way a user would translate it,
//! `scripts/ntranslate -o OUT init.linux subx-apps/NAME.subx` (with
//! `--sugar` for the sugared programs, `NAME-sugar.subx`), with the phase
//! binaries this `cargo test` built (`SUBX_BIN`), into a temporary directory.
//! The ELF then runs in an empty temporary directory, once per row of the
//! table below, with the given arguments and stdin; its exit status and
//! stdout must be exactly the ones in the row, and it must leave the
//! directory empty. A program with `test-` functions is also run as
//! `ELF test`, which runs its tests and must exit 0. Every run is done
//! twice, natively and under `subx run`; with `SUBX_NATIVE=0` (a host that
//! cannot run 32-bit x86) only under `subx run`.
//!
//! `nos-prototype` prints a heap address that the kernel (or `subx run`) chooses, so
//! its first line is checked by shape only.
//!
//! A sugared program (SUGARED) is the same program as its plain twin in
//! APPS, written with blocks, calls and sigils: it runs the twin's rows and
//! defines the same `test-` functions.
//!
//! Two more checks: every `.subx` file in `subx-apps/` has a row in the
//! table (a new program cannot be forgotten), and a program whose test
//! fails makes `ELF test` exit non-zero.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::{project, Runner};

const TIME_LIMIT: Duration = Duration::from_secs(20);

/// What a run must print on stdout.
#[derive(Clone, Copy)]
enum Stdout {
    Exact(&'static str),
    /// nos-prototype: `0x` and 8 lowercase hex digits, then exactly these two lines.
    Nos(&'static str, &'static str),
}

/// One run of a program: command-line arguments, stdin, and what it must do.
struct Run {
    args: &'static [&'static str],
    stdin: &'static str,
    exit: i32,
    stdout: Stdout,
}

/// A program of `subx-apps/` (file name without `.subx`), its runs, and
/// whether it has `test-` functions to run with the argument `test`.
struct App {
    name: &'static str,
    has_tests: bool,
    runs: &'static [Run],
}

const fn run(args: &'static [&'static str], stdin: &'static str, exit: i32, stdout: &'static str) -> Run {
    Run { args, stdin, exit, stdout: Stdout::Exact(stdout) }
}

const APPS: &[App] = &[
    App { name: "01-exit-42", has_tests: false, runs: &[run(&[], "", 42, "")] },
    App { name: "02-add", has_tests: false, runs: &[run(&[], "", 0x2a, "")] },
    App { name: "03-sum-loop", has_tests: false, runs: &[run(&[], "", 55, "")] },
    App {
        name: "04-echo-byte",
        has_tests: false,
        runs: &[run(&[], "xyz", 0, "x"), run(&[], "\n", 0, "\n"), run(&[], "", 1, "")],
    },
    App { name: "05-hello", has_tests: false, runs: &[run(&[], "", 0, "Hello, world!\n")] },
    App { name: "06-call-args", has_tests: false, runs: &[run(&[], "", 42, "")] },
    App { name: "07-factorial", has_tests: true, runs: &[run(&[], "", 120, "")] },
    App { name: "08-table", has_tests: true, runs: &[run(&[], "", 99, "")] },
    App {
        name: "09-string-compare",
        has_tests: true,
        runs: &[
            run(&["hello"], "", 0, "same\n"),
            run(&["help"], "", 1, "different\n"),
            run(&["hell"], "", 1, "different\n"),
            run(&["hello!"], "", 1, "different\n"),
            run(&[""], "", 1, "different\n"),
            run(&[], "", 2, ""),
        ],
    },
    App {
        name: "10-print-hex",
        has_tests: true,
        runs: &[run(&[], "", 0, "0x00000000\n0x0000002a\n0xdeadbeef\n0xffffffff\n")],
    },
    App {
        name: "11-jump-table",
        has_tests: false,
        runs: &[
            run(&[], "0", 0, "zero\n"),
            run(&[], "1", 0, "one\n"),
            run(&[], "2\n", 0, "two\n"),
            run(&[], "3", 0, "three\n"),
            run(&[], "4", 1, "other\n"),
            run(&[], "/", 1, "other\n"),
            run(&[], "", 1, "other\n"),
        ],
    },
    App {
        name: "12-reverse-line",
        has_tests: true,
        runs: &[
            run(&[], "hello, world\nmore\n", 0, "dlrow ,olleh\n"),
            run(&[], "abc", 0, "cba\n"),
            run(&[], "\n", 0, "\n"),
            run(&[], "", 0, "\n"),
        ],
    },
    App { name: "13-files", has_tests: false, runs: &[run(&[], "", 0, "written to notes.tmp\n")] },
    App {
        name: "17-upcase",
        has_tests: false,
        runs: &[
            run(&[], "Hello, World! abc xyz {}`@\n", 0, "HELLO, WORLD! ABC XYZ {}`@\n"),
            run(&[], "", 0, ""),
            run(&[], "no newline", 0, "NO NEWLINE"),
        ],
    },
    App {
        name: "nos-prototype",
        has_tests: true,
        runs: &[Run { args: &[], stdin: "", exit: 0, stdout: Stdout::Nos("0x0000aaaa", "0x0000bbbb") }],
    },
];

/// The sugared programs, each with its plain twin of APPS: the sugared one
/// (named `*-sugar`) is translated with `ntranslate --sugar` and must do
/// exactly what the twin's rows say.
const SUGARED: &[(&str, &str)] = &[
    ("14-factorial-sugar", "07-factorial"),
    ("15-string-compare-sugar", "09-string-compare"),
    ("16-reverse-line-sugar", "12-reverse-line"),
];

/// Every program to check, with whether it is sugared: APPS, then each
/// of SUGARED with its twin's rows.
fn all_apps() -> Vec<(App, bool)> {
    let plain = APPS.iter().map(|a| (App { name: a.name, has_tests: a.has_tests, runs: a.runs }, false));
    let sugared = SUGARED.iter().map(|&(name, twin)| {
        let twin = APPS.iter().find(|a| a.name == twin).unwrap_or_else(|| panic!("{name}: no twin {twin} in APPS"));
        (App { name, has_tests: twin.has_tests, runs: twin.runs }, true)
    });
    plain.chain(sugared).collect()
}

/// Translate `init.linux` and `src` (with `--sugar` when `sugar`) into
/// `out_dir/NAME.elf`; the error message (ntranslate's stderr) when that
/// fails.
fn translate(src: &Path, out_dir: &Path, sugar: bool) -> Result<PathBuf, String> {
    let stem = src.file_stem().expect("a file name").to_string_lossy().into_owned();
    let elf = out_dir.join(format!("{stem}.elf"));
    let output = support::ntranslate()
        .args(sugar.then_some("--sugar"))
        .arg("-o")
        .arg(&elf)
        .arg(project().join("init.linux"))
        .arg(src)
        .current_dir(project())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ntranslate: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "ntranslate failed ({}) on {}:\n{}",
            output.status,
            src.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if !elf.exists() {
        return Err(format!("ntranslate succeeded but wrote no {}", elf.display()));
    }
    Ok(elf)
}

/// What a run of an ELF did.
struct Outcome {
    exit: i32,
    stdout: String,
    stderr: String,
}

/// Run `elf` with `args` and `stdin` in `dir`, killing it after TIME_LIMIT.
fn execute(runner: Runner, elf: &Path, args: &[&str], stdin: &str, dir: &Path) -> Result<Outcome, String> {
    let mut child = runner
        .command(elf)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", elf.display()))?;
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.as_bytes().to_vec();
    // The program may exit without reading all of its input: ignore EPIPE.
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} {args:?} ran for more than {TIME_LIMIT:?}", elf.display()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {}: {e}", elf.display())),
        }
    }
    let _ = writer.join();
    let output = child.wait_with_output().map_err(|e| format!("reading output of {}: {e}", elf.display()))?;
    let exit = output
        .status
        .code()
        .ok_or_else(|| format!("{} {args:?} was killed by a signal ({})", elf.display(), output.status))?;
    Ok(Outcome {
        exit,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn is_hex_address_line(line: &str) -> bool {
    line.len() == 10
        && line.starts_with("0x")
        && line[2..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Check one run; a description of what is wrong, if anything.
fn check_run(runner: Runner, app: &App, elf: &Path, r: &Run) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let got = execute(runner, elf, r.args, r.stdin, dir.path())?;
    let what = format!("{} {:?} with stdin {:?} ({runner:?})", app.name, r.args, r.stdin);
    if got.exit != r.exit {
        return Err(format!(
            "{what}: exit status {} instead of {} (stdout {:?}, stderr {:?})",
            got.exit, r.exit, got.stdout, got.stderr
        ));
    }
    match r.stdout {
        Stdout::Exact(want) => {
            if got.stdout != want {
                return Err(format!("{what}: stdout {:?} instead of {want:?}", got.stdout));
            }
        }
        Stdout::Nos(head, tail) => {
            let lines: Vec<&str> = got.stdout.split_terminator('\n').collect();
            let ok = got.stdout.ends_with('\n')
                && lines.len() == 3
                && is_hex_address_line(lines[0])
                && lines[0] != "0x00000000"
                && lines[1] == head
                && lines[2] == tail;
            if !ok {
                return Err(format!(
                    "{what}: stdout {:?}, expected an address line 0x........ then {head:?} and {tail:?}",
                    got.stdout
                ));
            }
        }
    }
    let left: Vec<String> = fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if !left.is_empty() {
        return Err(format!("{what}: left files behind in its directory: {left:?}"));
    }
    Ok(())
}

/// Translate (with `--sugar` when `sugar`) and check one program; every
/// problem found.
fn check_app(app: &App, sugar: bool, out_dir: &Path) -> Vec<String> {
    let src = project().join("subx-apps").join(format!("{}.subx", app.name));
    let elf = match translate(&src, out_dir, sugar) {
        Ok(elf) => elf,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    for &runner in Runner::available() {
        problems.extend(app.runs.iter().filter_map(|r| check_run(runner, app, &elf, r).err()));
        if app.has_tests {
            let dir = tempfile::tempdir().expect("temporary directory");
            match execute(runner, &elf, &["test"], "", dir.path()) {
                Ok(got) if got.exit == 0 => {}
                Ok(got) => problems.push(format!(
                    "{} test ({runner:?}): exit status {} instead of 0; stderr:\n{}",
                    app.name, got.exit, got.stderr
                )),
                Err(e) => problems.push(e),
            }
        }
    }
    problems
}

#[test]
fn every_app_translates_and_runs() {
    let out = tempfile::tempdir().expect("temporary directory");
    let apps = all_apps();
    let problems: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = apps.iter().map(|(app, sugar)| s.spawn(|| check_app(app, *sugar, out.path()))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("checker thread")).collect()
    });
    assert!(problems.is_empty(), "{} problem(s):\n\n{}", problems.len(), problems.join("\n\n"));
}

#[test]
fn every_app_is_in_the_table() {
    let on_disk: BTreeSet<String> = fs::read_dir(project().join("subx-apps"))
        .expect("read subx-apps/")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "subx"))
        .map(|p| p.file_stem().expect("a file name").to_string_lossy().into_owned())
        .collect();
    let in_table: BTreeSet<String> = all_apps().iter().map(|(a, _)| a.name.to_string()).collect();
    assert_eq!(APPS.len() + SUGARED.len(), in_table.len(), "a program is listed twice in APPS or SUGARED");
    let missing: Vec<_> = on_disk.difference(&in_table).collect();
    let gone: Vec<_> = in_table.difference(&on_disk).collect();
    assert!(missing.is_empty(), "programs in subx-apps/ without a row in APPS or SUGARED (tests/apps.rs): {missing:?}");
    assert!(gone.is_empty(), "rows in APPS or SUGARED (tests/apps.rs) without a program in subx-apps/: {gone:?}");
    for (app, sugar) in all_apps() {
        assert_eq!(
            app.name.ends_with("-sugar"),
            sugar,
            "{}: the sugared programs, and only they, are named *-sugar",
            app.name
        );
    }
    assert!(on_disk.len() >= 13, "expected at least 12 example programs and nos-prototype, found {on_disk:?}");
}

/// Every program says what it shows in a header comment before its code.
#[test]
fn every_app_opens_with_a_header_comment() {
    for (app, sugar) in all_apps() {
        let path = project().join("subx-apps").join(format!("{}.subx", app.name));
        let text = fs::read_to_string(&path).expect("read program");
        let header: Vec<&str> = text.lines().take_while(|l| !l.starts_with("==")).collect();
        assert!(
            header.iter().filter(|l| l.starts_with('#')).count() >= 5,
            "{}: expected a header comment of at least five lines before the first segment header",
            path.display()
        );
        assert!(
            header.iter().any(|l| l.contains("Run")) && header.iter().any(|l| l.contains("ntranslate")),
            "{}: the header comment should say how to run it",
            path.display()
        );
        assert_eq!(
            header.iter().any(|l| l.contains("ntranslate --sugar")),
            sugar,
            "{}: a sugared program's header says to run 'ntranslate --sugar', a plain one's does not",
            path.display()
        );
        assert!(
            text.lines().any(|l| l.trim_start().starts_with("== code")),
            "{}: no '== code' segment header",
            path.display()
        );
    }
}

/// A tiny program with one passing and one failing test function: `ELF test`
/// must exit 1 and name the failing check, and a normal run is unaffected.
#[test]
fn a_failing_test_makes_test_mode_exit_non_zero() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path().join("failing.subx");
    fs::write(
        &src,
        r#"# A program whose second test fails.
== code
Entry:
  89/copy  3/mod/direct  0/rm32/eax  4/r32/esp
  50/push-eax
  e8/call  started-with-test?/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  4/imm32
  3d/compare-eax-and  0/imm32/false
  74/jump-if-equal  $main/disp8
  e8/call  run-tests/disp32
  e8/call  exit-after-tests/disp32
$main:
  68/push  7/imm32
  e8/call  syscall-exit/disp32

test-one-is-one:
  68/push  "F - test-one-is-one"/imm32
  68/push  1/imm32
  68/push  1/imm32
  e8/call  check-ints-equal/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  0xc/imm32
  c3/return

test-one-is-two:
  68/push  "F - test-one-is-two"/imm32
  68/push  2/imm32
  68/push  1/imm32
  e8/call  check-ints-equal/disp32
  81  0/subop/add  3/mod/direct  4/rm32/esp  0xc/imm32
  c3/return
"#,
    )
    .expect("write failing.subx");
    let elf = translate(&src, dir.path(), false).unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tempfile::tempdir().expect("temporary directory");

    let tested = execute(Runner::default(), &elf, &["test"], "", run_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tested.exit, 1, "test mode with a failing test; stderr {:?}", tested.stderr);
    assert!(tested.stderr.contains("FAIL: F - test-one-is-two"), "stderr {:?}", tested.stderr);
    assert!(!tested.stderr.contains("test-one-is-one"), "stderr {:?}", tested.stderr);

    let normal = execute(Runner::default(), &elf, &[], "", run_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(normal.exit, 7, "a normal run does not run the tests");
    // Only the exact argument `test` runs the tests.
    let other = execute(Runner::default(), &elf, &["tests"], "", run_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.exit, 7, "the argument 'tests' is not 'test'");
}

/// The `test-` functions a program defines, in order.
fn test_functions(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next()?.strip_suffix(':'))
        .filter(|l| l.starts_with("test-"))
        .collect()
}

/// A sugared program uses each of the three notations, and tests what its
/// twin tests: the same `test-` functions, in the same order.
#[test]
fn every_sugared_app_is_its_twin_in_sugar() {
    for &(name, twin) in SUGARED {
        let read = |name: &str| {
            fs::read_to_string(project().join("subx-apps").join(format!("{name}.subx"))).expect("read program")
        };
        let (text, twin_text) = (read(name), read(twin));
        let code: Vec<Vec<&str>> =
            text.lines().map(|l| l.split_whitespace().take_while(|w| !w.starts_with('#')).collect()).collect();
        assert!(code.iter().any(|words| words == &["{"]), "{name}: no block");
        assert!(code.iter().any(|words| words.first().is_some_and(|w| w.starts_with('('))), "{name}: no call");
        assert!(code.iter().flatten().any(|w| w.starts_with('%')), "{name}: no %register sigil");
        assert!(code.iter().flatten().any(|w| w.starts_with('*')), "{name}: no *memory sigil");
        assert_eq!(test_functions(&text), test_functions(&twin_text), "{name}: not the tests of {twin}");
    }
}

//! `scripts/ntranslate` end to end: several files, errors located in the
//! user's files however the phases moved the lines, and the output file
//! written only on success.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::bin_dir;


fn ntranslate(dir: &Path, args: &[&str]) -> Output {
    support::ntranslate().args(args).current_dir(dir).output().expect("run ntranslate")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CODE: &str = "== code 0x09000000\n\
                    Entry:\n  \
                      bb/copy-to-ebx  0x2a/imm32\n  \
                      b8/copy-to-eax  1/imm32/exit\n  \
                      cd/syscall  0x80/imm8\n";

const DATA: &str = "== data 0x0a000000\nAnswer:\n  2a/imm32\n";

/// Writes `files` (name, text) into a fresh directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write source");
    }
    dir
}

/// Run the ELF natively, or under `subx run` with `SUBX_NATIVE=0`.
fn run_elf(path: &Path) -> i32 {
    support::Runner::default().command(path).status().expect("run the ELF").code().unwrap_or(-1)
}

#[test]
fn several_files_make_one_program() {
    let dir = project(&[("a.subx", CODE), ("b.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_elf(&dir.path().join("prog.elf")), 42);
    // Each phase's text is kept, and is what that phase makes of the one
    // before it.
    let mut before = format!("{CODE}{DATA}").into_bytes();
    for phase in ["tests", "dquotes", "assort", "pack", "survey"] {
        let kept = fs::read(dir.path().join(format!("prog.{phase}"))).expect("intermediate kept");
        let alone = Command::new(bin_dir().join(phase))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(&before)?;
                child.wait_with_output()
            })
            .expect("run the phase alone");
        assert_eq!(kept, alone.stdout, "prog.{phase}");
        before = kept;
    }
}

#[test]
fn an_intermediate_file_that_cannot_be_written_is_told_so() {
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}"))]);
    fs::create_dir(dir.path().join("prog.pack")).expect("mkdir");
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err, "prog.pack: error: cannot write this file: Is a directory\n");
    assert!(!dir.path().join("prog.elf").exists());
}

#[test]
fn a_file_without_a_final_newline_does_not_glue_onto_the_next() {
    // Glued, the comment would swallow the data header.
    let dir = project(&[("a.subx", &format!("{CODE}# the end")), ("b.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_elf(&dir.path().join("prog.elf")), 42);
}

#[test]
fn an_error_in_the_second_file_names_that_file_and_line() {
    // assort moves b's code piece in front of a's data, so the bad line is
    // far from line 4 of the concatenation when pack sees it.
    let b = "== code\n# a comment\n\n  bb/copy-to-ebx  0x2a/imm23\n";
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}")), ("b.subx", b)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("b.subx:4: error: "), "{err}");
    assert!(err.contains("imm23"), "names the offending word: {err}");
    assert!(!dir.path().join("prog.elf").exists());
}

#[test]
fn an_error_found_by_survey_is_located_through_every_map() {
    let b = "== code\n  e9/jump  $nowhere/disp32\n";
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}")), ("b.subx", b)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("b.subx:2: error: "), "{err}");
    assert!(err.contains("$nowhere"), "{err}");
}

#[test]
fn a_whole_program_error_names_the_last_file_without_a_line() {
    let no_entry = CODE.replace("Entry:", "Start:");
    let dir = project(&[("a.subx", &no_entry), ("b.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("b.subx: error: "), "{err}");
    assert!(err.contains("Entry"), "{err}");
}

#[test]
fn every_file_must_start_with_a_segment_header() {
    let dir = project(&[("a.subx", CODE), ("b.subx", "# data words\n  2a/imm32\n")]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("b.subx:2: error: '2a/imm32'"), "{err}");
}

#[test]
fn a_failed_translation_leaves_an_existing_output_alone() {
    let dir = project(&[("bad.subx", "== code 0x09000000\nEntry:\n  zz/nonsense\n")]);
    fs::write(dir.path().join("prog.elf"), "precious").expect("write");
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "bad.subx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("bad.subx:3: error: "), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(dir.path().join("prog.elf")).expect("read"), "precious");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ntranslate"))
        .collect();
    assert!(leftovers.is_empty(), "temporary output left behind");
}

#[test]
fn a_successful_translation_replaces_the_output_and_makes_it_executable() {
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}"))]);
    fs::write(dir.path().join("a.elf"), "old").expect("write");
    let out = ntranslate(dir.path(), &["a.subx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_elf(&dir.path().join("a.elf")), 42);
}

#[test]
fn usage_errors_exit_2() {
    let dir = project(&[]);
    assert_eq!(ntranslate(dir.path(), &[]).status.code(), Some(2));
    assert_eq!(ntranslate(dir.path(), &["--frobnicate", "x.subx"]).status.code(), Some(2));
    let missing = ntranslate(dir.path(), &["missing.subx"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).starts_with("missing.subx: error: "));
}

#[test]
fn help_and_version() {
    let dir = project(&[]);
    let help = ntranslate(dir.path(), &["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage: ntranslate"));
    let version = ntranslate(dir.path(), &["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("ntranslate (subx) "));
}

#[test]
fn a_reference_to_another_line_names_its_file_and_line() {
    let a = format!("{CODE}f:\n  c3/return\n");
    let b = "== code\n# again\nf:\n  c3/return\n";
    let dir = project(&[("a.subx", &a), ("b.subx", b), ("c.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx", "c.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("b.subx:3: error: "), "{err}");
    assert!(err.contains("'f' is already defined at a.subx:6"), "{err}");
    assert!(!err.contains('\x01'), "{err:?}");
}

#[test]
fn a_phase_alone_names_lines_of_its_own_input() {
    let input = "== code 0x09000000\nf:\nc3\nf:\n";
    let run = |args: &[&str]| {
        let mut child = Command::new(bin_dir().join("survey"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run survey");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
        String::from_utf8_lossy(&child.wait_with_output().expect("wait").stderr).into_owned()
    };
    let alone = run(&[]);
    assert!(alone.starts_with("survey: line 4: "), "{alone}");
    assert!(alone.contains("already defined at line 2"), "{alone}");
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("map");
    let marked = run(&["--line-map", map.to_str().expect("path")]);
    assert!(marked.contains("already defined at \x012\x01"), "{marked:?}");
}

#[test]
fn a_program_without_a_data_segment_is_told_so() {
    let dir = project(&[("a.subx", CODE)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("a.subx: error: no 'data' segment"), "{err}");
    assert!(!err.contains("if generated"), "{err}");
}

#[test]
fn an_empty_program_is_told_so() {
    let dir = project(&[("a.subx", "# only a comment\n\n")]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("a.subx: error: the program is empty"), "{err}");
    assert!(!dir.path().join("prog.elf").exists());
}

#[test]
fn string_literals_are_named_by_their_text() {
    let code = CODE.replace("Entry:\n", "Entry:\n  eb/jump  \"oops\"/disp8\n");
    let dir = project(&[("a.subx", &code), ("b.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("a.subx:3: error: string literal \"oops\""), "{err}");
    assert!(!err.contains("_string"), "{err}");
    let dir = project(&[("a.subx", &code)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]);
    let err = stderr(&out);
    assert!(err.starts_with("a.subx: error: string literal \"oops\" needs a data segment"), "{err}");
}

// ---------------------------------------------------------------- sharp edges

/// Runs `script` with bash in `dir`, ntranslate at `$NT`, the binaries of
/// this build at `$SUBX_BIN`.
fn bash_in(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .env("NT", Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ntranslate"))
        .env("SUBX_BIN", bin_dir())
        .output()
        .expect("run bash")
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

#[test]
fn an_output_that_names_a_directory_is_refused_and_nothing_is_written() {
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}"))]);
    fs::create_dir(dir.path().join("out")).expect("mkdir");
    std::os::unix::fs::symlink("out", dir.path().join("link")).expect("symlink");
    for target in ["out", "out/", "link", ".", "missing/"] {
        let out = ntranslate(dir.path(), &["-o", target, "a.subx"]);
        assert_eq!(out.status.code(), Some(1), "-o {target}");
        let err = stderr(&out);
        assert!(err.starts_with(&format!("{target}: error: this is a directory")), "-o {target}: {err}");
        assert_eq!(names_in(dir.path()), ["a.subx", "link", "out"], "-o {target}");
        assert!(names_in(&dir.path().join("out")).is_empty(), "-o {target}");
    }
}

#[test]
fn a_fifo_a_process_substitution_and_dev_stdin_are_read_once() {
    let dir = project(&[("a.subx", CODE), ("b.subx", DATA)]);
    let script = r#"
        mkfifo pipe
        cat a.subx > pipe &
        "$NT" -o fifo.elf pipe b.subx || exit 1
        "$NT" -o procsub.elf <(cat a.subx) b.subx || exit 2
        "$NT" -o stdin.elf /dev/stdin b.subx < a.subx || exit 3
        ./fifo.elf; echo "fifo $?"
        ./procsub.elf; echo "procsub $?"
        ./stdin.elf; echo "stdin $?"
    "#;
    let out = bash_in(dir.path(), script);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fifo 42\nprocsub 42\nstdin 42\n", "{}", stderr(&out));
}

#[test]
fn a_file_named_dash_is_that_file() {
    let dir = project(&[("-", CODE), ("b.subx", DATA)]);
    let out = bash_in(dir.path(), r#""$NT" -o prog.elf -- - b.subx < /dev/null && ./prog.elf; echo "exit $?""#);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "exit 42\n", "{}", stderr(&out));
}

#[test]
fn sigterm_while_waiting_for_a_fifo_stops_everything_at_once() {
    let dir = project(&[("b.subx", DATA)]);
    let script = r#"
        mkfifo pipe
        "$NT" -o prog.elf pipe b.subx < /dev/null &
        nt=$!
        sleep 0.5
        kill -TERM $nt
        for i in $(seq 50); do kill -0 $nt 2>/dev/null || break; sleep 0.1; done
        kill -0 $nt 2>/dev/null && echo "still running"
        wait $nt; echo "status $?"
        sleep 0.2
        for p in /proc/[0-9]*; do
          if tr '\0' ' ' < $p/cmdline 2>/dev/null | grep -q "[s]ubx feed.*pipe"; then echo "left: $(tr '\0' ' ' < $p/cmdline)"; fi
        done
    "#;
    let out = bash_in(dir.path(), script);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "status 143\n", "{}", stderr(&out));
    assert_eq!(names_in(dir.path()), ["b.subx", "pipe"]);
}

#[test]
fn a_first_line_of_a_million_spaces_is_fine() {
    let mut code = " ".repeat(1_000_000);
    code.push_str(CODE);
    let dir = project(&[("a.subx", &code), ("b.subx", DATA)]);
    let out = ntranslate(dir.path(), &["-o", "prog.elf", "a.subx", "b.subx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_elf(&dir.path().join("prog.elf")), 42);
}

#[test]
fn two_thousand_files_make_one_program_and_errors_name_the_right_one() {
    // The per-file cost is measured by scripts/bench ("2000 files"); this
    // checks that so many files work, and that lines are counted per file.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut names = Vec::new();
    for i in 0..2000 {
        let name = format!("f{i:04}.subx");
        let text = if i == 0 { CODE.to_string() } else { format!("== code\n# file {i}\nlabel{i}:\n  c3/return\n") };
        fs::write(dir.path().join(&name), text).expect("write");
        names.push(name);
    }
    fs::write(dir.path().join("data.subx"), DATA).expect("write");
    let mut args = vec!["-o", "prog.elf"];
    args.extend(names.iter().map(String::as_str));
    args.push("data.subx");
    let out = ntranslate(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(run_elf(&dir.path().join("prog.elf")), 42);
    fs::write(dir.path().join("f1234.subx"), "== code\n# file\nlabel1233:\n").expect("write");
    let out = ntranslate(dir.path(), &args);
    let err = stderr(&out);
    assert!(err.starts_with("f1234.subx:3: error: "), "{err}");
    assert!(err.contains("f1233.subx:3"), "{err}");
}

#[test]
fn the_elf_gets_the_mode_the_umask_allows() {
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}"))]);
    for (umask, mode) in [("022", "755"), ("077", "700"), ("002", "775")] {
        let out = bash_in(dir.path(), &format!("umask {umask}; \"$NT\" -o prog.elf a.subx < /dev/null && stat -c %a prog.elf"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{mode}\n"), "umask {umask}: {}", stderr(&out));
    }
}

#[test]
fn a_write_that_fails_names_the_file_being_written() {
    // A file size limit makes writing fail (with XFSZ ignored, as EFBIG)
    // for the first file to reach it: a kept text, bigger than the ELF.
    let dir = project(&[("a.subx", &format!("{CODE}{DATA}")), ("init.linux", &String::from_utf8_lossy(&fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("init.linux")).expect("init.linux")))]);
    let out = bash_in(dir.path(), "trap '' XFSZ; ulimit -f 8; \"$NT\" -o prog.elf init.linux a.subx < /dev/null");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("prog.tests: error: cannot write this file: File too large"), "{err}");
    assert!(!dir.path().join("prog.elf").exists());
}

#[test]
fn two_runs_at_once_leave_the_files_of_one_of_them() {
    // Two programs that exit 1 and 2, translated to the same OUT at the same
    // time, again and again: every kept text must come from the run whose
    // ELF is left.
    let big = "  # padding to make each run take a while\n".repeat(20_000);
    let one = format!("{}{big}{DATA}", CODE.replace("0x2a/imm32", "1/imm32"));
    let two = format!("{}{big}{DATA}", CODE.replace("0x2a/imm32", "2/imm32"));
    let dir = project(&[("one.subx", &one), ("two.subx", &two)]);
    let script = r#"
        for i in $(seq 8); do
          "$NT" -o prog.elf one.subx < /dev/null & "$NT" -o prog.elf two.subx < /dev/null & wait
          ./prog.elf; code=$?
          for p in tests dquotes assort pack survey; do
            grep -q "bb/copy-to-ebx  $code/imm32\|bb/copy-to-ebx $code/imm32\|^bb $(printf %02x $code) 00 00 00" prog.$p \
              || echo "run $i: prog.$p is not from the run that made the ELF (exit $code)"
          done
        done
    "#;
    let out = bash_in(dir.path(), script);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{}", stderr(&out));
}

#[test]
fn messages_show_string_literals_as_written_and_advice_that_is_valid() {
    let code = CODE.replace("Entry:\n", "Entry:\n  68/push  \"abc\"\n");
    let dir = project(&[("a.subx", &format!("{code}{DATA}"))]);
    let err = stderr(&ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]));
    assert!(err.starts_with("a.subx:3: error: string literal \"abc\" has no operand type, in '68/push \"abc\"'"), "{err}");
    assert!(err.contains("did you mean '\"abc\"/imm32'?") && !err.contains("_string"), "{err}");
    let dir = project(&[("a.subx", &format!("{CODE}x/y:\n{DATA}"))]);
    let err = stderr(&ntranslate(dir.path(), &["-o", "prog.elf", "a.subx"]));
    assert!(err.starts_with("a.subx:6: error: 'x/y:': a label's name may not hold a '/'"), "{err}");
    assert!(err.contains("such as 'x:'") && !err.contains("x/y::"), "{err}");
}

#[test]
fn a_jump_out_of_a_block_is_named_as_written() {
    let mut code = String::from("== code 0x09000000\nEntry:\n  {\n    eb/jump  break/disp8\n");
    code.push_str(&"    68/push  0/imm32\n".repeat(70));
    code.push_str("  }\n  (syscall-exit 0)\n");
    let init = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("init.linux")).expect("init.linux");
    let dir = project(&[("init.linux", &init), ("far.subx", &code)]);
    let err = stderr(&ntranslate(dir.path(), &["--sugar", "-o", "far.elf", "init.linux", "far.subx"]));
    assert!(err.starts_with("far.subx:4: error: 'break/disp8': 'break' is 0x15e bytes away, too far for a disp8"), "{err}");
}

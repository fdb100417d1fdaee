//! `scripts/ntranslate` end to end: several files, errors located in the
//! user's files however the phases moved the lines, and the output file
//! written only on success.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::bin_dir;


fn ntranslate(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ntranslate"))
        .args(args)
        .current_dir(dir)
        .env("SUBX_BIN", bin_dir())
        .output()
        .expect("run ntranslate")
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
    assert!(err.starts_with("prog.elf: error: cannot write the intermediate files next to it: "), "{err}");
    assert!(err.contains("prog.pack"), "{err}");
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

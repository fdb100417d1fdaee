//! `subx compare A.elf B.elf` and `ntranslate --compare REF.elf`: silent and
//! 0 on identical ELFs; on a difference, the first differing byte with its
//! address, segment or header field, label and source line, then the count,
//! exit 3; plain words for lengths that differ; exit 2 for a REF that is
//! missing, unreadable or not an ELF.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::{bin_dir, project};

fn ntranslate(dir: &Path, args: &[&str]) -> Output {
    support::ntranslate().args(args).current_dir(dir).output().expect("run ntranslate")
}

fn subx(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin_dir().join("subx")).args(args).current_dir(dir).output().expect("run subx")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory with hello.elf (and its maps) translated from 05-hello.
fn hello() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::copy(project().join("init.linux"), dir.path().join("init.linux")).expect("copy");
    fs::copy(project().join("subx-apps/05-hello.subx"), dir.path().join("hello.subx")).expect("copy");
    let out = ntranslate(dir.path(), &["-o", "hello.elf", "init.linux", "hello.subx"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

/// The address and bytes of the listing line made by `hello.subx:LINE`.
fn listed(dir: &Path, line: &str) -> (u32, u32) {
    let map = fs::read_to_string(dir.join("hello.map")).expect("read the map");
    let fields: Vec<&str> = map
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f[3] == format!("hello.subx:{line}") && !f[2].is_empty())
        .expect("the line is listed");
    (u32::from_str_radix(&fields[0][2..], 16).unwrap(), u32::from_str_radix(&fields[1][2..], 16).unwrap())
}

#[test]
fn identical_elfs_are_silent() {
    let dir = hello();
    let out = subx(dir.path(), &["compare", "hello.elf", "hello.elf"]);
    assert_eq!((out.status.code(), out.stdout.len(), out.stderr.len()), (Some(0), 0, 0));
    fs::copy(dir.path().join("hello.elf"), dir.path().join("ref.elf")).expect("copy");
    let out = ntranslate(dir.path(), &["--compare", "ref.elf", "-o", "hello.elf", "init.linux", "hello.subx"]);
    assert_eq!((out.status.code(), out.stdout.len(), out.stderr.len()), (Some(0), 0, 0), "{}", text(&out.stderr));
}

#[test]
fn a_changed_byte_is_named_by_its_instruction_and_line() {
    let dir = hello();
    // hello.subx:23 is 'e8/call  syscall-write/disp32'; change its last byte.
    let (offset, address) = listed(dir.path(), "23");
    let mut reference = fs::read(dir.path().join("hello.elf")).unwrap();
    let changed = offset as usize + 4;
    reference[changed] ^= 0xff;
    fs::write(dir.path().join("ref.elf"), &reference).unwrap();
    let out = ntranslate(dir.path(), &["--compare", "ref.elf", "-o", "hello.elf", "init.linux", "hello.subx"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let lines: Vec<&str> = report.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "hello.elf and ref.elf differ at offset {changed:#x} (address {:#010x}, in segment code): ",
            address + 4
        )),
        "{report}"
    );
    let labels = fs::read_to_string(dir.path().join("hello.labels")).unwrap();
    let entry = labels.lines().find(|l| l.ends_with("\tEntry")).expect("Entry is listed");
    let entry = u32::from_str_radix(&entry[2..10], 16).unwrap();
    let past = address + 4 - entry;
    assert_eq!(lines[1], format!("  at Entry+{past:#x}, made by hello.subx:23: e8/call  syscall-write/disp32"), "{report}");
    assert_eq!(lines[2], "  1 byte differs in all (both are 703 bytes)", "{report}");
    assert!(dir.path().join("hello.elf").exists(), "OUT is written all the same");
}

#[test]
fn a_header_field_and_a_length_are_said_plainly() {
    let dir = hello();
    let elf = fs::read(dir.path().join("hello.elf")).unwrap();
    let mut other = elf.clone();
    other[0x18] ^= 1; // e_entry
    fs::write(dir.path().join("entry.elf"), &other).unwrap();
    let out = subx(dir.path(), &["compare", "hello.elf", "entry.elf"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).starts_with("hello.elf and entry.elf differ at offset 0x18 (in the ELF header, e_entry): "));
    fs::write(dir.path().join("short.elf"), &elf[..600]).unwrap();
    let out = subx(dir.path(), &["compare", "hello.elf", "short.elf"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stdout),
        "hello.elf and short.elf differ in length: the first 600 bytes are the same, then hello.elf goes on\n  \
         103 bytes differ in all (hello.elf is 703 bytes, short.elf 600)\n"
    );
}

#[test]
fn a_reference_that_is_missing_or_not_an_elf_is_a_usage_error() {
    let dir = hello();
    fs::write(dir.path().join("notes.txt"), "not an ELF\n").unwrap();
    let out = subx(dir.path(), &["compare", "hello.elf", "notes.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "subx compare: 'notes.txt' is not an ELF file (it does not start with 7f 45 4c 46)\n");
    let out = ntranslate(dir.path(), &["--compare", "notes.txt", "-o", "hello.elf", "init.linux", "hello.subx"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ntranslate(dir.path(), &["--compare", "missing.elf", "-o", "new.elf", "init.linux", "hello.subx"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "ntranslate: cannot read 'missing.elf', the ELF to compare with\n");
    assert!(!dir.path().join("new.elf").exists(), "nothing is translated");
    let out = subx(dir.path(), &["compare", "hello.elf", "missing.elf"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "subx compare: cannot read 'missing.elf': No such file or directory\n");
}

//! `subx run` from the outside: every whole-program vector ELF runs with
//! the exit status and stdout the manifest gives; each kind of fault stops
//! with the native exit status and a message naming the place, with and
//! without maps; the trace, watch points, `--max-steps`, unknown system
//! calls and the command line.
//!
//! Where the host runs 32-bit x86 (unless `SUBX_NATIVE=0`), each fault
//! program also runs natively, and the two exit statuses must agree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::{native, vectors};

fn subx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_subx"))
}

/// `subx run ARGS...` in `dir`, with an empty environment (so that the
/// stack, and every address on it, is the same from run to run).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    subx().arg("run").args(args).current_dir(dir).env_clear().stdin(Stdio::null()).output().expect("run subx")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Translate `source` (no init.linux) into `dir/NAME.elf`, without maps
/// (the tests write their own, or none).
fn translate(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.subx"));
    fs::write(&src, source).expect("write source");
    let elf = dir.join(format!("{name}.elf"));
    let out = support::ntranslate()
        .args(["--no-map", "-o"])
        .arg(&elf)
        .arg(&src)
        .current_dir(dir)
        .output()
        .expect("run ntranslate");
    assert!(out.status.success(), "ntranslate {name}: {}", text(&out.stderr));
    elf
}

fn entry(elf: &Path) -> u32 {
    subx::elf::Elf::read(&fs::read(elf).expect("read ELF")).expect("an ELF").header.e_entry
}

/// Write `NAME.labels` and `NAME.map` next to the ELF in the format of
/// `docs/maps.md` (what `ntranslate` will write): `labels` are (address,
/// name); `lines` are (address, number of bytes, WHERE, TEXT).
fn write_maps(elf: &Path, labels: &[(u32, &str)], lines: &[(u32, usize, &str, &str)]) {
    let hash = subx::sha256::to_hex(&subx::sha256::sha256(&fs::read(elf).expect("read ELF")));
    let name = elf.file_name().expect("a name").to_string_lossy();
    let mut l = format!("# subx labels of {name} sha256 {hash}\n");
    for (addr, label) in labels {
        l.push_str(&format!("{addr:#010x}\tcode\t{label}\n"));
    }
    fs::write(elf.with_extension("labels"), l).expect("write labels");
    let mut m = format!("# subx map of {name} sha256 {hash}\n");
    for (addr, n, place, line) in lines {
        let bytes = vec!["00"; *n].join(" ");
        m.push_str(&format!("0x00000000\t{addr:#010x}\t{bytes}\t{place}\t{line}\n"));
    }
    fs::write(elf.with_extension("map"), m).expect("write map");
}

#[test]
fn every_whole_program_vector_runs_as_the_manifest_says() {
    let manifest = fs::read_to_string(vectors().join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    let mut checked = 0;
    let mut problems = Vec::new();
    for row in manifest.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 7 || f[6] == "-" || !f[1].starts_with("ntranslate") || f[4] != "exact" {
            continue;
        }
        let elf = vectors().join(f[3]);
        let (code, stdout_file) = match f[6].split_once(':') {
            Some((c, file)) => (c, Some(file)),
            None => (f[6], None),
        };
        let want_stdout = stdout_file.map(|s| fs::read(vectors().join(s)).expect("read stdout file")).unwrap_or_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = subx().arg("run").arg(&elf).current_dir(dir.path()).stdin(Stdio::null()).output().expect("run");
        if out.status.code() != code.parse().ok() || out.stdout != want_stdout {
            problems.push(format!(
                "{}: exit {:?} (expected {code}), stdout {:?}, stderr {:?}",
                f[0],
                out.status.code(),
                text(&out.stdout),
                text(&out.stderr)
            ));
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} rows with a run column");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A program whose function `f` runs `FAULT`, called from Entry.
fn fault_program(fault: &str) -> String {
    format!(
        "== code 0x09000000\n\
         Entry:\n  \
           e8/call  f/disp32\n  \
           bb/copy-to-ebx  0/imm32\n  \
           b8/copy-to-eax  1/imm32/exit\n  \
           cd/syscall  0x80/imm8\n\
         f:\n  \
           31/xor  3/mod/direct  1/rm32/ecx  1/r32/ecx\n  \
           31/xor  3/mod/direct  2/rm32/edx  2/r32/edx\n\
         {fault}\n  \
           c3/return\n\
         == data 0x0a000000\n\
         Bad:\n  \
           0f 0b\n"
    )
}

/// Each kind of fault: the program's middle, the exit status, and what
/// the message says.
const FAULTS: &[(&str, &str, i32, &str)] = &[
    ("read", "  8b/copy  0/mod/indirect  1/rm32/ecx  0/r32/eax", 139, "segmentation fault: reading 4 bytes at 0x00000000, where nothing is mapped"),
    ("write-code", "  b9/copy-to-ecx  Entry/imm32\n  89/copy  0/mod/indirect  1/rm32/ecx  0/r32/eax", 139, "segmentation fault: writing 4 bytes at 0x09000074, which is read-only"),
    ("jump-nowhere", "  ff  4/subop/jump  3/mod/direct  1/rm32/ecx", 139, "segmentation fault: running the instruction at 0x00000000, where nothing is mapped"),
    ("illegal", "  b9/copy-to-ecx  Bad/imm32\n  ff  4/subop/jump  3/mod/direct  1/rm32/ecx", 132, "illegal instruction: these bytes are no instruction"),
    ("divide-by-zero", "  f7  6/subop/divide  3/mod/direct  1/rm32/ecx", 136, "floating point exception: division by zero"),
    ("divide-overflow", "  42/increment-edx\n  41/increment-ecx\n  f7  6/subop/divide  3/mod/direct  1/rm32/ecx", 136, "floating point exception: the quotient does not fit in 32 bits"),
    ("halt", "  f4/halt", 139, "segmentation fault: hlt (f4) may only run in the kernel"),
    ("breakpoint", "  cd/syscall  3/imm8", 133, "trace/breakpoint trap"),
];

#[test]
fn each_fault_exits_as_natively_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, middle, status, message) in FAULTS {
        let elf = translate(dir.path(), name, &fault_program(middle));
        let out = run_in(dir.path(), &[&format!("{name}.elf")]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(*status), "{name}: {stderr}");
        assert!(stderr.starts_with(&format!("subx run: {message}")), "{name}: {stderr}");
        // Without maps: addresses only, the calls as return addresses, a hint.
        assert!(stderr.contains("calls, innermost first (each the call's return address):\n  0x09000079\n"), "{name}: {stderr}");
        assert!(stderr.contains("registers: eax 0x"), "{name}: {stderr}");
        assert!(stderr.contains("(no a.map next to the ELF"), "{name}: {stderr}");
        if native() {
            let native = Command::new(&elf).current_dir(dir.path()).status().expect("run natively");
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(native.signal().map(|s| 128 + s), Some(*status), "{name}: native {native}");
        }
    }
}

#[test]
fn a_fault_message_names_labels_and_source_lines_from_the_maps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = translate(dir.path(), "read", &fault_program(FAULTS[0].1));
    let e = entry(&elf);
    let f = e + 17;
    write_maps(
        &elf,
        &[(e, "Entry"), (f, "f")],
        &[
            (e, 5, "read.subx:3", "e8/call  f/disp32"),
            (e + 5, 5, "read.subx:4", "bb/copy-to-ebx  0/imm32"),
            (f, 2, "read.subx:8", "31/xor  3/mod/direct  1/rm32/ecx  1/r32/ecx"),
            (f + 2, 2, "read.subx:9", "31/xor  3/mod/direct  2/rm32/edx  2/r32/edx"),
            (f + 4, 2, "read.subx:10", "8b/copy  0/mod/indirect  1/rm32/ecx  0/r32/eax"),
        ],
    );
    let out = run_in(dir.path(), &["read.elf"]);
    assert_eq!(out.status.code(), Some(139));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "subx run: segmentation fault: reading 4 bytes at 0x00000000, where nothing is mapped",
            "  at 0x09000089 f+0x4: 8b 01",
            "  in read.subx:10: 8b/copy  0/mod/indirect  1/rm32/ecx  0/r32/eax",
            "calls, innermost first (each the call's return address):",
            "  0x09000079 Entry+0x5  after read.subx:3",
        ],
        "{stderr}"
    );
    assert!(!stderr.contains("no a.map"), "{stderr}");

    // A map of another build is ignored, with a warning.
    fs::write(&elf, [fs::read(&elf).expect("read"), vec![0]].concat()).expect("append a byte");
    let out = run_in(dir.path(), &["read.elf"]);
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("subx run: warning: read.labels: it was written for another ELF"), "{stderr}");
    assert!(stderr.contains("  at 0x09000089: 8b 01\n"), "{stderr}");
}

/// The program of the trace test: a call, a push and pop, an exit.
const SMALL: &str = "== code 0x09000000\n\
Entry:\n  \
  e8/call  f/disp32\n  \
  bb/copy-to-ebx  0x2a/imm32\n  \
  b8/copy-to-eax  1/imm32/exit\n  \
  cd/syscall  0x80/imm8\n\
f:\n  \
  68/push  3/imm32\n  \
  58/pop-to-eax\n  \
  c3/return\n\
== data 0x0a000000\n";

#[test]
fn the_trace_shows_every_instruction_and_what_it_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = translate(dir.path(), "small", SMALL);
    let out = run_in(dir.path(), &["--trace", "trace.txt", "small.elf"]);
    assert_eq!(out.status.code(), Some(0x2a), "{}", text(&out.stderr));
    let trace = fs::read_to_string(dir.path().join("trace.txt")).expect("read trace");
    assert_eq!(
        trace,
        "        1 0x09000074 e8 0c 00 00 00  esp 0xffffdf60->0xffffdf5c [0xffffdf5c] 0x0->0x9000079\n\
        \x20       2   0x09000085 68 03 00 00 00  esp 0xffffdf5c->0xffffdf58 [0xffffdf58] 0x0->0x3\n\
        \x20       3   0x0900008a 58  eax 0x0->0x3 esp 0xffffdf58->0xffffdf5c\n\
        \x20       4   0x0900008b c3  esp 0xffffdf5c->0xffffdf60\n\
        \x20       5 0x09000079 bb 2a 00 00 00  ebx 0x0->0x2a\n\
        \x20       6 0x0900007e b8 01 00 00 00  eax 0x3->0x1\n\
        \x20       7 0x09000083 cd 80  exit(42)\n"
    );
    let e = entry(&elf);
    write_maps(
        &elf,
        &[(e, "Entry"), (e + 17, "f")],
        &[
            (e, 5, "small.subx:3", "e8/call  f/disp32"),
            (e + 17, 5, "small.subx:8", "68/push  3/imm32"),
            (e + 22, 1, "small.subx:9", "58/pop-to-eax"),
        ],
    );
    let out = run_in(dir.path(), &["--trace", "-", "small.elf"]);
    let lines: Vec<String> = text(&out.stderr).lines().map(String::from).collect();
    assert_eq!(
        lines[..3],
        [
            "        1 0x09000074 Entry: e8 0c 00 00 00  esp 0xffffdf60->0xffffdf5c [0xffffdf5c] 0x0->0x9000079  # small.subx:3 e8/call  f/disp32",
            "        2   0x09000085 f: 68 03 00 00 00  esp 0xffffdf5c->0xffffdf58 [0xffffdf58] 0x0->0x3  # small.subx:8 68/push  3/imm32",
            "        3   0x0900008a f+0x5 58  eax 0x0->0x3 esp 0xffffdf58->0xffffdf5c  # small.subx:9 58/pop-to-eax",
        ]
    );
    assert_eq!(lines[6], "        7 0x09000083 Entry+0xf cd 80  exit(42)");
}

#[test]
fn watch_points_report_each_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = "== code 0x09000000\n\
Entry:\n  \
  b9/copy-to-ecx  3/imm32\n\
$loop:\n  \
  ff  0/subop/increment  0/mod/indirect  5/rm32/.disp32  Counter/disp32\n\
$watch-temp:\n  \
  89/copy  0/mod/indirect  5/rm32/.disp32  Temp/disp32  1/r32/ecx\n  \
  49/decrement-ecx\n  \
  75/jump-if-not-equal  $loop/disp8\n  \
  bb/copy-to-ebx  0/imm32\n  \
  b8/copy-to-eax  1/imm32/exit\n  \
  cd/syscall  0x80/imm8\n\
== data 0x0a000000\n\
Counter:\n  \
  0/imm32\n\
Temp:\n  \
  0/imm32\n";
    let elf = translate(dir.path(), "w", source);
    // The data segment starts at 0x0a000094 (its file offset's low bits).
    let out = run_in(dir.path(), &["--watch", "0x0a000094:1", "w.elf"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let reports: Vec<&str> = stderr.lines().collect();
    assert_eq!(reports.len(), 3, "{stderr}");
    assert_eq!(
        reports[0],
        "subx run: watch 0x0a000094 (0x0a000094, 1 byte): [0x0a000094] 0x0 -> 0x1 at step 2 by 0x09000079: ff 05 94 00 00 0a"
    );
    assert!(reports[2].contains("0x2 -> 0x3 at step 10"), "{stderr}");

    let e = entry(&elf);
    write_maps(
        &elf,
        &[(e, "Entry"), (e + 5, "$loop"), (e + 11, "$watch-temp"), (0x0a000094, "Counter")],
        &[(e + 5, 6, "w.subx:4", "ff  0/subop/increment  0/mod/indirect  5/rm32/.disp32  Counter/disp32")],
    );
    let out = run_in(dir.path(), &["--watch", "Counter", "w.elf"]);
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "subx run: watch Counter (0x0a000094, 4 bytes): [0x0a000094] 0x0 -> 0x1 at step 2 by 0x09000079 $loop: ff 05 94 00 00 0a  # w.subx:4 ff  0/subop/increment  0/mod/indirect  5/rm32/.disp32  Counter/disp32",
        "{stderr}"
    );
    // $watch-temp watches Temp from its first write on: writes 3, 2, 1.
    let temp: Vec<&&str> = lines.iter().filter(|l| l.contains("written at $watch-temp")).collect();
    assert_eq!(temp.len(), 3, "{stderr}");
    assert!(temp[0].contains("[0x0a000098] 0x0 -> 0x3"), "{stderr}");
    assert!(temp[2].contains("0x2 -> 0x1"), "{stderr}");
}

#[test]
fn the_maps_ntranslate_writes_name_labels_and_source_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("small.subx"), SMALL).expect("write");
    let out = support::ntranslate()
        .args(["-o", "small.elf", "small.subx"])
        .current_dir(dir.path())
        .output()
        .expect("run ntranslate");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_in(dir.path(), &["--trace", "-", "small.elf"]);
    let lines: Vec<String> = text(&out.stderr).lines().map(String::from).collect();
    assert_eq!(
        lines[..2],
        [
            "        1 0x09000074 Entry: e8 0c 00 00 00  esp 0xffffdf60->0xffffdf5c [0xffffdf5c] 0x0->0x9000079  # small.subx:3 e8/call  f/disp32",
            "        2   0x09000085 f: 68 03 00 00 00  esp 0xffffdf5c->0xffffdf58 [0xffffdf58] 0x0->0x3  # small.subx:8 68/push  3/imm32",
        ]
    );
}

#[test]
fn max_steps_stops_a_runaway_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    translate(dir.path(), "forever", "== code 0x09000000\nEntry:\n  eb/jump  Entry/disp8\n== data 0x0a000000\n");
    let out = run_in(dir.path(), &["--max-steps", "1000", "forever.elf"]);
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        text(&out.stderr),
        "subx run: stopped after 1000 instructions (--max-steps), before the one at 0x09000074\n"
    );
}

#[test]
fn unknown_system_calls_return_enosys_and_are_reported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // getpid (20) twice, then exit with the low byte of its result: -38 = 0xda.
    let source = "== code 0x09000000\nEntry:\n  \
      b8/copy-to-eax  0x14/imm32\n  cd/syscall  0x80/imm8\n  \
      b8/copy-to-eax  0x14/imm32\n  cd/syscall  0x80/imm8\n  \
      89/copy  3/mod/direct  3/rm32/ebx  0/r32/eax\n  \
      b8/copy-to-eax  1/imm32/exit\n  cd/syscall  0x80/imm8\n\
      == data 0x0a000000\n";
    translate(dir.path(), "getpid", source);
    let out = run_in(dir.path(), &["getpid.elf"]);
    assert_eq!(out.status.code(), Some(0xda));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("system call 20 (EAX) is not emulated").count(), 1, "{stderr}");
}

#[test]
fn the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = run_in(dir.path(), &["--help"]);
    assert!(help.status.success() && text(&help.stdout).starts_with("usage: subx run [OPTIONS] ELF [ARGS...]"));
    let version = run_in(dir.path(), &["--version"]);
    assert_eq!(text(&version.stdout), format!("subx run {}\n", env!("CARGO_PKG_VERSION")));
    let none = run_in(dir.path(), &[]);
    assert_eq!((none.status.code(), text(&none.stderr)), (Some(2), "subx run: no ELF to run\nTry 'subx run --help'.\n".into()));
    let bad = run_in(dir.path(), &["--frobnicate", "a.elf"]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = run_in(dir.path(), &["missing.elf"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(text(&missing.stderr).starts_with("subx run: cannot read 'missing.elf'"));
    fs::write(dir.path().join("text.elf"), "hello").expect("write");
    let not_elf = run_in(dir.path(), &["text.elf"]);
    assert_eq!(not_elf.status.code(), Some(126));
    assert_eq!(text(&not_elf.stderr), "subx run: text.elf: not an ELF file (it does not start with 7f 45 4c 46)\n");
    // Options after the ELF belong to the program.
    let echo = vectors().join("full/09-multi-strings.elf");
    let out = subx().args(["run"]).arg(&echo).arg("--help").output().expect("run");
    assert_eq!(out.status.code(), Some(3));
}

//! `ntranslate --debug`: the debug ELF `a.debug` beside `a.elf`, read by
//! gdb (`symbol-file a.debug`): breakpoints at a label and at `FILE:LINE`
//! stop there, `info line` names the SubX file and line, `next` steps one
//! source line, and `bt` inside a called function names both frames by
//! their labels. The ELF that runs is the one `ntranslate` makes without
//! `--debug`, byte for byte.

use std::fs;
use std::process::Command;

mod support;
use support::project;

#[test]
fn gdb_reads_the_debug_elf() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::copy(project().join("init.linux"), dir.path().join("init.linux")).expect("copy");
    fs::copy(project().join("subx-apps/07-factorial.subx"), dir.path().join("fact.subx")).expect("copy");
    let translate = |options: &[&str], out: &str| {
        let status = support::ntranslate()
            .args(options)
            .args(["-o", out, "init.linux", "fact.subx"])
            .current_dir(dir.path())
            .status()
            .expect("run ntranslate");
        assert!(status.success());
    };
    translate(&["--debug"], "fact.elf");
    translate(&[], "plain.elf");
    assert_eq!(fs::read(dir.path().join("fact.elf")).unwrap(), fs::read(dir.path().join("plain.elf")).unwrap());
    assert!(!dir.path().join("plain.debug").exists());

    // fact.subx: line 31 pushes 5, line 32 calls factorial (defined at
    // line 37, its first instruction on line 38), which calls itself at 51.
    let source = fs::read_to_string(dir.path().join("fact.subx")).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    assert!(lines[30].contains("68/push  5/imm32") && lines[31].contains("e8/call  factorial/disp32"));
    assert!(lines[36].starts_with("factorial:") && lines[50].contains("e8/call  factorial/disp32"));
    let commands = [
        "symbol-file fact.debug",
        "break fact.subx:31",
        "break factorial",
        "run",
        "info line *$pc",
        "next",
        "info line *$pc",
        "continue",
        "continue",
        "bt",
        "x/i $pc",
        "kill",
    ];
    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx"]).current_dir(dir.path());
    for command in commands {
        gdb.args(["-ex", command]);
    }
    let out = gdb.arg("fact.elf").output().expect("run gdb (install it: apt-get install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = [
        "Breakpoint 1 at 0x9000289: file fact.subx, line 31.",
        "Breakpoint 2 at 0x900029f: file fact.subx, line 38.",
        "Breakpoint 1, Entry () at fact.subx:31",
        "Line 31 of \"fact.subx\" starts at address 0x9000289 <$main> and ends at 0x900028e <Entry+36>.",
        "32\t  e8/call  factorial/disp32",
        "Line 32 of \"fact.subx\" starts at address 0x900028e <Entry+36>",
        "Breakpoint 2, factorial () at fact.subx:38",
        "#0  factorial () at fact.subx:38",
        "#1  0x090002bb in factorial () at fact.subx:51",
        "#2  0x09000293 in Entry () at fact.subx:32",
        "=> 0x900029f <factorial>:\tpush   %ebp",
    ];
    let mut rest = &text[..];
    for want in expected {
        let at = rest.find(want).unwrap_or_else(|| panic!("gdb's output lacks {want:?} (in order):\n{text}"));
        rest = &rest[at + want.len()..];
    }
}

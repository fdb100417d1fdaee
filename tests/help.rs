//! `subx help`: every topic's example program is translated and run, by
//! the processor and by `subx run`, and must print what the topic shows;
//! the tables the topics print must hold every entry of the opcode table.

use std::process::Command;

mod support;
use support::{project, Runner};
use subx::opcodes::{Action, BYTE_REGISTERS, OPCODES, REGISTERS};
use subx::toolbox::help::{EXAMPLE_OPENING, EXAMPLE_SESSION, TOPICS};

fn help(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_subx")).arg("help").args(args).output().expect("run subx help")
}

fn topic(name: &str) -> String {
    let out = help(&[name]);
    assert!(out.status.success(), "subx help {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// An example of a topic: the file, its text, and the session's commands
/// with what each prints.
struct Example {
    file: String,
    source: String,
    session: Vec<(String, String)>,
}

/// The examples of a topic's text, as `Example::render` writes them.
fn examples(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let Some(file) = line.strip_prefix(EXAMPLE_OPENING) else { continue };
        let session_at = k + lines[k..].iter().position(|l| *l == EXAMPLE_SESSION).expect("a session after the program");
        let mut source = String::new();
        for l in &lines[k + 1..session_at] {
            assert!(l.is_empty() || l.starts_with("    "), "a program line not indented by 4: {l:?}");
            source.push_str(l.get(4..).unwrap_or(""));
            source.push('\n');
        }
        let mut session: Vec<(String, String)> = Vec::new();
        for l in lines[session_at + 1..].iter().skip_while(|l| l.is_empty()) {
            if let Some(command) = l.strip_prefix("  $ ") {
                session.push((command.to_string(), String::new()));
            } else if let (Some(output), Some(last)) = (l.strip_prefix("  "), session.last_mut()) {
                last.1.push_str(output);
                last.1.push('\n');
            } else {
                break;
            }
        }
        found.push(Example { file: file.to_string(), source: source.trim_matches('\n').to_string() + "\n", session });
    }
    found
}

#[test]
fn every_topic_s_example_runs_as_shown() {
    let mut count = 0;
    for t in TOPICS {
        let text = topic(t.name);
        let found = examples(&text);
        assert!(!found.is_empty(), "subx help {} shows no example program", t.name);
        for example in found {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::copy(project().join("init.linux"), dir.path().join("init.linux")).expect("copy init.linux");
            std::fs::write(dir.path().join(&example.file), &example.source).expect("write the example");
            let stem = example.file.trim_end_matches(".subx");
            assert!(
                example.session.first().is_some_and(|(c, out)| c.starts_with("ntranslate ") && c.contains(&format!("-o {stem}.elf ")) && out.is_empty()),
                "subx help {}: the session starts by translating {}",
                t.name,
                example.file
            );
            let shown: String = example.session.iter().map(|(c, out)| format!("$ {c}\n{out}")).collect();
            for &runner in Runner::available() {
                let commands: Vec<String> = example.session.iter().map(|(c, _)| runner.rewrite(c)).collect();
                assert_eq!(
                    support::session(dir.path(), &commands),
                    runner.rewrite(&shown),
                    "subx help {}: {} ({runner:?}) prints otherwise",
                    t.name,
                    example.file
                );
            }
            count += 1;
        }
    }
    assert!(count >= TOPICS.len());
}

#[test]
fn the_list_names_every_topic_and_unknown_ones_are_usage_errors() {
    let out = help(&[]);
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).expect("UTF-8");
    for t in TOPICS {
        assert!(list.contains(&format!("\n  {:<10} {}\n", t.name, t.summary)), "{} is not listed", t.name);
    }
    let out = help(&["modr/m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("subx help: no topic 'modr/m'; the topics are numbers, registers,"));
    assert_eq!(help(&["a", "b"]).status.code(), Some(2));
    // A command's name gives its --help.
    let out = help(&["run"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("usage: subx run"));
}

#[test]
fn the_tables_hold_every_entry_of_the_opcode_table() {
    let opcodes = topic("opcodes");
    let subops = topic("subops");
    let flags = topic("flags");
    for opcode in OPCODES {
        let line = format!("\n  {:<6} {:<22} {}\n", opcode.spelling(), opcode.operands_summary(), opcode.name);
        assert!(opcodes.contains(&line), "subx help opcodes lacks {line:?}");
        if let Action::Subops(list) = opcode.action {
            for s in list {
                let name = format!("\n  {}/subop  {:<7} ", s.number, s.name);
                assert!(subops.contains(&name), "subx help subops lacks {} {name:?}", opcode.spelling());
                assert!(flags.contains(&format!("{} /{} {}", opcode.spelling(), s.number, s.name)), "subx help flags lacks it");
            }
        }
        if let Action::Jump(_) = opcode.action {
            let listed = flags.lines().any(|l| l.split("  ").any(|w| w.trim() == opcode.spelling()));
            assert!(listed, "subx help flags lists no jump {}", opcode.spelling());
        }
    }
    let registers = topic("registers");
    for (n, name) in REGISTERS.iter().enumerate() {
        assert!(registers.contains(&format!("\n  {n:<7} {name:<5} ")), "subx help registers lacks {n} {name}");
        assert!(registers.contains(&format!("{n} {}", BYTE_REGISTERS[n])), "{}", BYTE_REGISTERS[n]);
    }
}

#[test]
fn the_readme_and_the_walkthrough_point_to_subx_help() {
    let readme = std::fs::read_to_string(project().join("README.md")).expect("README.md");
    assert!(readme.contains("subx help"), "README.md does not mention subx help");
    let walkthrough = std::fs::read_to_string(project().join("docs/walkthrough.md")).expect("walkthrough");
    for t in ["numbers", "registers", "opcodes", "modrm", "subops", "calls", "data", "tests", "sugar"] {
        assert!(walkthrough.contains(&format!("subx help {t}")), "docs/walkthrough.md does not point to 'subx help {t}'");
    }
}

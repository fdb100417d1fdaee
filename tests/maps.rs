//! The maps `ntranslate` writes next to an ELF (`a.labels`, `a.map`;
//! `docs/maps.md`), checked against the ELF, the sources and a
//! disassembler: every program of `subx-apps/` (plain and sugared), every
//! line of its listing.
//!
//! - the bytes a line lists are the ELF's bytes at its offset, and its
//!   address is where the program headers load that offset;
//! - a line of the user's files shows that line's text, and an instruction
//!   written as `bb/...` lists bytes that start with `bb`;
//! - `objdump -D -b binary -m i386`, given the code segment at its address,
//!   finds an instruction starting at every listed code line, with exactly
//!   the listed bytes;
//! - `a.labels` lists every label line of the listing, by address.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::project;

/// Translates `sources` (paths relative to the project) into `dir/NAME.elf`
/// with the given extra options; the ELF's path.
fn translate(dir: &Path, name: &str, options: &[&str], sources: &[&str]) -> PathBuf {
    let elf = dir.join(format!("{name}.elf"));
    let out = support::ntranslate()
        .args(options)
        .arg("-o")
        .arg(&elf)
        .args(sources)
        .current_dir(project())
        .output()
        .expect("run ntranslate");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    elf
}

/// A line of `a.map`.
#[derive(Debug)]
struct Line {
    offset: u32,
    address: Option<u32>,
    bytes: Vec<u8>,
    place: String,
    text: String,
}

fn hex(field: &str) -> u32 {
    u32::from_str_radix(field.trim_start_matches("0x"), 16).expect("a hex number")
}

fn read_map(path: &Path) -> (String, Vec<Line>) {
    let text = fs::read_to_string(path).expect("read the map");
    let mut lines = text.lines();
    let first = lines.next().expect("a first line").to_string();
    let lines = lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "a map line has five fields: {line:?}");
            Line {
                offset: hex(fields[0]),
                address: (fields[1] != "-").then(|| hex(fields[1])),
                bytes: fields[2].split(' ').filter(|b| !b.is_empty()).map(|b| hex(b) as u8).collect(),
                place: fields[3].to_string(),
                text: fields[4].to_string(),
            }
        })
        .collect();
    (first, lines)
}

/// The ELF's program headers: (offset, address, size in the file, flags).
fn segments(elf: &[u8]) -> Vec<(u32, u32, u32, u32)> {
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    let (phoff, phnum) = (u32_at(28) as usize, u16::from_le_bytes([elf[44], elf[45]]) as usize);
    (0..phnum).map(|i| phoff + 32 * i).map(|h| (u32_at(h + 4), u32_at(h + 8), u32_at(h + 16), u32_at(h + 24))).collect()
}

/// Instruction starts found by objdump in the code segment: address to
/// the instruction's bytes.
fn disassembly(dir: &Path, elf: &[u8], (offset, address, size, _): (u32, u32, u32, u32)) -> BTreeMap<u32, Vec<u8>> {
    let code = dir.join("code.bin");
    fs::write(&code, &elf[offset as usize..(offset + size) as usize]).expect("write the code");
    let out = Command::new("objdump")
        .args(["-D", "-b", "binary", "-m", "i386", &format!("--adjust-vma={address:#x}")])
        .arg(&code)
        .output()
        .expect("run objdump (binutils)");
    assert!(out.status.success(), "objdump: {}", String::from_utf8_lossy(&out.stderr));
    let mut found: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut last = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "  9000074:\t8b 5c 24 04          \tmov    0x4(%esp),%ebx"; long
        // instructions go on in lines without the third field.
        let fields: Vec<&str> = line.split('\t').collect();
        let Some(at) = fields[0].trim().strip_suffix(':').and_then(|a| u32::from_str_radix(a, 16).ok()) else {
            continue;
        };
        let Some(bytes) = fields.get(1) else { continue };
        let bytes: Vec<u8> = bytes.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
        if fields.len() >= 3 {
            found.insert(at, bytes);
            last = Some(at);
        } else if let Some(start) = last {
            found.get_mut(&start).expect("started").extend(bytes);
        }
    }
    found
}

/// Every check of the module's comment, on one translated program.
fn check_program(dir: &Path, name: &str, elf_path: &Path) {
    let elf = fs::read(elf_path).expect("read the ELF");
    let (first, lines) = read_map(&elf_path.with_extension("map"));
    let sha = subx::sha256::to_hex(&subx::sha256::sha256(&elf));
    assert_eq!(first, format!("# subx map of {name}.elf sha256 {sha}"));
    let segments = segments(&elf);
    let code = *segments.iter().find(|s| s.3 & 1 != 0).expect("a code segment");
    let instructions = disassembly(dir, &elf, code);
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for line in &lines {
        let at = line.offset as usize;
        assert_eq!(&elf[at..at + line.bytes.len()], &line.bytes[..], "{name}: bytes at {at:#x}: {line:?}");
        let Some(address) = line.address else { continue };
        // A label may stand just past its segment's last byte, where the
        // next segment's bytes start in the file.
        let (_, _, _, flags) = *segments
            .iter()
            .find(|s| s.0 <= line.offset && line.offset <= s.0 + s.2 && address == s.1 + (line.offset - s.0))
            .unwrap_or_else(|| panic!("{name}: no segment loads {line:?} at its address"));
        if !line.bytes.is_empty() {
            assert!(segments.iter().any(|s| s.0 <= line.offset && line.offset + line.bytes.len() as u32 <= s.0 + s.2));
        }
        if let Some((file, number)) = line.place.rsplit_once(':').filter(|_| !line.place.contains("generated")) {
            let text = sources
                .entry(file.to_string())
                .or_insert_with(|| fs::read_to_string(project().join(file)).expect("source").lines().map(String::from).collect());
            let number: usize = number.parse().expect("a line number");
            assert_eq!(text[number - 1].trim(), line.text, "{name}: {} names another text", line.place);
            if !line.bytes.is_empty() && flags & 1 != 0 {
                let opcode = line.text.split(['/', ' ']).next().unwrap();
                if opcode.len() == 2 {
                    assert_eq!(format!("{:02x}", line.bytes[0]), opcode, "{name}: {line:?}");
                }
            }
        }
        if !line.bytes.is_empty() && flags & 1 != 0 {
            assert_eq!(instructions.get(&address), Some(&line.bytes), "{name}: objdump at {address:#x}: {line:?}");
            checked += 1;
        }
    }
    assert!(checked > 10, "{name}: only {checked} instructions listed");
    // a.labels: each label, by address, and a label line of the listing.
    let labels = fs::read_to_string(elf_path.with_extension("labels")).expect("read the labels");
    let mut labels = labels.lines();
    assert_eq!(labels.next(), Some(format!("# subx labels of {name}.elf sha256 {sha}").as_str()));
    let mut previous = 0;
    for label in labels {
        let fields: Vec<&str> = label.split('\t').collect();
        let address = hex(fields[0]);
        assert!(address >= previous, "{name}: a.labels out of order at {label}");
        previous = address;
        // A label that braces made for a '{' or '}' shows that line.
        let definition = format!("{}:", fields[2]);
        let brace = if fields[2].starts_with("_loop0x") { "{" } else { "}" };
        let shown = |l: &Line| l.text.starts_with(&definition) || (fields[2].starts_with('_') && l.text == brace);
        assert!(
            lines.iter().any(|l| l.address == Some(address) && l.bytes.is_empty() && shown(l)),
            "{name}: no label line for {label}"
        );
    }
}

#[test]
fn every_app_has_a_listing_that_agrees_with_its_elf_its_sources_and_objdump() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut apps: Vec<PathBuf> = fs::read_dir(project().join("subx-apps"))
        .expect("subx-apps")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "subx"))
        .collect();
    apps.sort();
    assert!(apps.len() >= 16);
    for app in apps {
        let name = app.file_stem().unwrap().to_string_lossy().into_owned();
        let source = format!("subx-apps/{name}.subx");
        let options: &[&str] = if name.ends_with("-sugar") { &["--sugar"] } else { &[] };
        let elf = translate(dir.path(), &name, options, &["init.linux", &source]);
        check_program(dir.path(), &name, &elf);
    }
}

#[test]
fn lines_a_phase_made_up_say_which_and_for_what() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = translate(dir.path(), "fact", &[], &["init.linux", "subx-apps/07-factorial.subx"]);
    let (_, lines) = read_map(&elf.with_extension("map"));
    let run_tests = lines.iter().find(|l| l.text == "run-tests:").expect("run-tests is listed");
    assert_eq!(run_tests.place, "(generated by tests)");
    let string = lines.iter().find(|l| l.text == "_string1:").expect("the first string literal is listed");
    assert!(string.place.ends_with("(generated by dquotes)"), "{string:?}");
    let elf = translate(dir.path(), "fact-sugar", &["--sugar"], &["init.linux", "subx-apps/14-factorial-sugar.subx"]);
    let (_, lines) = read_map(&elf.with_extension("map"));
    let call = lines.iter().find(|l| l.place.ends_with("(generated by calls)")).expect("a call's lines are listed");
    assert!(call.text.starts_with('('), "a call's line shows the call as written: {call:?}");
}

#[test]
fn the_headers_are_listed_field_by_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = translate(dir.path(), "hello", &[], &["init.linux", "subx-apps/05-hello.subx"]);
    let (_, lines) = read_map(&elf.with_extension("map"));
    let fields: Vec<&str> =
        lines.iter().take_while(|l| l.address.is_none()).map(|l| l.text.split(' ').next().unwrap()).collect();
    assert_eq!(fields[..14], ["e_ident:", "e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff",
        "e_flags", "e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx"]);
    assert_eq!(fields[14..22], ["p_type", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_flags", "p_align"]);
    assert!(lines[4].text.ends_with("(Entry)"), "{:?}", lines[4]);
    assert_eq!(lines[14].place, "program header 0 (code)");
}

#[test]
fn no_map_writes_none_and_removes_old_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = translate(dir.path(), "exit", &[], &["init.linux", "subx-apps/01-exit-42.subx"]);
    assert!(elf.with_extension("map").exists() && elf.with_extension("labels").exists());
    translate(dir.path(), "exit", &["--no-map"], &["init.linux", "subx-apps/01-exit-42.subx"]);
    assert!(!elf.with_extension("map").exists() && !elf.with_extension("labels").exists());
}

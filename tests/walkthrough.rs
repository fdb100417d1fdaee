//! `docs/walkthrough.md` shows real output, and this test keeps it real.
//!
//! Every fenced block of the walkthrough that is meant to be checked is
//! preceded by a marker line naming a program of `subx-apps/` and what the
//! block shows:
//!
//! ```text
//! <!-- walkthrough: 05-hello source -->             the file subx-apps/05-hello.subx
//! <!-- walkthrough: 05-hello pack from="Entry:" --> pack's output, from its first
//!                                                   line starting with "Entry:"
//! <!-- walkthrough: 05-hello xxd -->                `xxd hello.elf`
//! <!-- walkthrough: 05-hello objdump -->            `objdump ...` (first line only)
//! ```
//!
//! A phase name (`tests` ... `survey`) stands for that phase's output when
//! `scripts/ntranslate -o hello.elf init.linux subx-apps/05-hello.subx` runs
//! with the binaries this `cargo test` built. A sugared program (named
//! `*-sugar`) is translated with `ntranslate --sugar`, and its markers may
//! also name `braces`, `calls` and `sigils`. A block may show a part of an
//! output: `from="TEXT"` starts at the first line starting with TEXT,
//! `from-last="TEXT"` at the last one, `to="TEXT"` ends (inclusive) at the
//! first line from there on starting with TEXT, `head=N` keeps N lines.
//! The block must equal that part byte for byte, trailing spaces included.
//!
//! objdump's formatting differs between binutils versions, so of an
//! `objdump` block only the command line (`$ objdump ...`, with the code
//! segment's offset and address and the entry point read from the ELF) is
//! compared.
//!
//! `SUBX_UPDATE_WALKTHROUGH=1 cargo test --test walkthrough` rewrites every
//! marked block from the real output (objdump's too, when objdump is
//! installed) instead of comparing; review the change with `git diff`.
//!
//! The README's shell sessions (`<!-- session -->`) are run here too.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

mod support;
use support::{bin_dir, project};

const DOC: &str = "docs/walkthrough.md";
const MARKER: &str = "<!-- walkthrough:";
const PHASES: [&str; 8] = ["braces", "calls", "sigils", "tests", "dquotes", "assort", "pack", "survey"];


/// One marker: which program, what is shown, and which part of it.
#[derive(Debug)]
struct Marker {
    program: String,
    what: String,
    from: Option<String>,
    from_last: Option<String>,
    to: Option<String>,
    head: Option<usize>,
}

/// A marker and the lines (0-based, of the doc) its block's content spans.
struct Block {
    marker: Marker,
    /// The line of the marker, for messages (1-based).
    marker_line: usize,
    /// Content lines `start..end` (the fences excluded).
    start: usize,
    end: usize,
}

fn parse_marker(line: &str, number: usize) -> Marker {
    let body = line
        .trim()
        .strip_prefix(MARKER)
        .and_then(|rest| rest.strip_suffix("-->"))
        .unwrap_or_else(|| panic!("{DOC}:{number}: a marker is '{MARKER} PROGRAM WHAT [OPTIONS] -->'"));
    let mut words = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        // A word, or key="value with spaces".
        let end = match rest.find(['"', ' ']) {
            Some(i) if rest.as_bytes()[i] == b'"' => {
                let close = rest[i + 1..]
                    .find('"')
                    .unwrap_or_else(|| panic!("{DOC}:{number}: unterminated quote in marker"));
                i + 1 + close + 1
            }
            Some(i) => i,
            None => rest.len(),
        };
        words.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    let [program, what, options @ ..] = &words[..] else {
        panic!("{DOC}:{number}: a marker needs a program and what it shows");
    };
    let mut marker = Marker {
        program: program.clone(),
        what: what.clone(),
        from: None,
        from_last: None,
        to: None,
        head: None,
    };
    for option in options {
        let (key, value) =
            option.split_once('=').unwrap_or_else(|| panic!("{DOC}:{number}: option '{option}' has no '='"));
        let value = value.trim_matches('"').to_string();
        match key {
            "from" => marker.from = Some(value),
            "from-last" => marker.from_last = Some(value),
            "to" => marker.to = Some(value),
            "head" => marker.head = Some(value.parse().unwrap_or_else(|_| panic!("{DOC}:{number}: head=N"))),
            _ => panic!("{DOC}:{number}: unknown marker option '{key}'"),
        }
    }
    marker
}

fn blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with(MARKER) {
            let marker = parse_marker(lines[i], i + 1);
            let fence = (i + 1..lines.len())
                .find(|&j| !lines[j].trim().is_empty())
                .filter(|&j| lines[j].starts_with("```"))
                .unwrap_or_else(|| panic!("{DOC}:{}: a marker must be followed by a fenced block", i + 1));
            let close = (fence + 1..lines.len())
                .find(|&j| lines[j] == "```")
                .unwrap_or_else(|| panic!("{DOC}:{}: the fenced block is not closed", fence + 1));
            blocks.push(Block { marker, marker_line: i + 1, start: fence + 1, end: close });
            i = close + 1;
        } else {
            i += 1;
        }
    }
    blocks
}

/// The name a reader gives the ELF: `05-hello` makes `hello.elf`.
fn elf_name(program: &str) -> String {
    let name = program.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches('-');
    format!("{name}.elf")
}

/// A program translated once: its directory holds `NAME.elf` and the phases' texts.
struct Translation {
    dir: tempfile::TempDir,
    elf: String,
}

/// Whether a program of `subx-apps/` is written in the sugared notation
/// (`tests/apps.rs` checks the names).
fn is_sugared(program: &str) -> bool {
    program.ends_with("-sugar")
}

fn translate(program: &str) -> Translation {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = elf_name(program);
    let output = support::ntranslate()
        .args(is_sugared(program).then_some("--sugar"))
        .arg("-o")
        .arg(dir.path().join(&elf))
        .arg("init.linux")
        .arg(format!("subx-apps/{program}.subx"))
        .current_dir(project())
        .stdin(Stdio::null())
        .output()
        .expect("run bash scripts/ntranslate");
    assert!(
        output.status.success(),
        "ntranslate failed on subx-apps/{program}.subx:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Translation { dir, elf }
}

fn run_in(dir: &Path, program: &str, args: &[String]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed? .ci/run installs xxd): {e}"));
    assert!(output.status.success(), "{program} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The objdump command that disassembles the code segment from the entry
/// point to its end, with addresses as the program sees them.
fn objdump_args(elf: &Path, name: &str) -> Vec<String> {
    let bytes = fs::read(elf).expect("read the ELF");
    let entry = le32(&bytes, 24);
    let program_headers = le32(&bytes, 28) as usize;
    // The first program header is the code segment's (survey writes them in
    // segment order, and init.linux opens with `== code`).
    let offset = le32(&bytes, program_headers + 4);
    let address = le32(&bytes, program_headers + 8);
    let size = le32(&bytes, program_headers + 16);
    vec![
        "-D".into(),
        "-b".into(),
        "binary".into(),
        "-m".into(),
        "i386".into(),
        "-M".into(),
        "intel".into(),
        format!("--adjust-vma={:#010x}", address - offset),
        format!("--start-address={entry:#010x}"),
        format!("--stop-address={:#010x}", address + size),
        name.to_string(),
    ]
}

/// The whole text a marker is about.
fn whole(marker: &Marker, t: &Translation) -> String {
    let stem = t.elf.trim_end_matches(".elf");
    match marker.what.as_str() {
        "source" => fs::read_to_string(project().join(format!("subx-apps/{}.subx", marker.program)))
            .expect("read the program"),
        phase if PHASES.contains(&phase) => {
            fs::read_to_string(t.dir.path().join(format!("{stem}.{phase}"))).expect("read a phase's output")
        }
        "xxd" => format!("$ xxd {}\n{}", t.elf, run_in(t.dir.path(), "xxd", std::slice::from_ref(&t.elf))),
        "objdump" => {
            let args = objdump_args(&t.dir.path().join(&t.elf), &t.elf);
            let mut text = format!("$ objdump {}\n", args.join(" "));
            if std::env::var_os("SUBX_UPDATE_WALKTHROUGH").is_some() {
                text.push_str(run_in(t.dir.path(), "objdump", &args).trim_start_matches('\n'));
            }
            text
        }
        other => panic!("unknown marker subject '{other}'"),
    }
}

/// The lines of `text` the marker selects, each ending in LF.
fn select(marker: &Marker, text: &str) -> Result<Vec<String>, String> {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut start = 0;
    if let Some(from) = &marker.from {
        start = lines.iter().position(|l| l.starts_with(from.as_str())).ok_or(format!("no line starts with {from:?}"))?;
    }
    if let Some(from) = &marker.from_last {
        start =
            lines.iter().rposition(|l| l.starts_with(from.as_str())).ok_or(format!("no line starts with {from:?}"))?;
    }
    let mut end = lines.len();
    if let Some(to) = &marker.to {
        end = start
            + 1
            + lines[start..].iter().position(|l| l.starts_with(to.as_str())).ok_or(format!("no line starts with {to:?}"))?;
    }
    if let Some(head) = marker.head {
        end = end.min(start + head);
    }
    Ok(lines[start..end].to_vec())
}

#[test]
fn the_walkthrough_shows_real_output() {
    let path = project().join(DOC);
    let doc = fs::read_to_string(&path).expect("read docs/walkthrough.md");
    let lines: Vec<&str> = doc.lines().collect();
    let blocks = blocks(&lines);
    let update = std::env::var_os("SUBX_UPDATE_WALKTHROUGH").is_some();

    let mut translations: BTreeMap<String, Translation> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut replacements: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for block in &blocks {
        let marker = &block.marker;
        let t = translations.entry(marker.program.clone()).or_insert_with(|| translate(&marker.program));
        let expected = match select(marker, &whole(marker, t)) {
            Ok(lines) => lines,
            Err(e) => {
                problems.push(format!("{DOC}:{}: {e}", block.marker_line));
                continue;
            }
        };
        let shown: Vec<String> = lines[block.start..block.end].iter().map(|l| l.to_string()).collect();
        let (shown, compared) = if marker.what == "objdump" && !update {
            (shown.into_iter().take(1).collect(), expected.into_iter().take(1).collect())
        } else {
            (shown, expected)
        };
        if update {
            replacements.push((block.start, block.end, compared));
        } else if shown != compared {
            let at = shown.iter().zip(&compared).position(|(a, b)| a != b).unwrap_or(shown.len().min(compared.len()));
            problems.push(format!(
                "{DOC}:{}: the block for '{} {}' differs from the real output at its line {}:\n  shown: {:?}\n  real:  {:?}",
                block.marker_line,
                marker.program,
                marker.what,
                at + 1,
                shown.get(at).map_or("(nothing)", String::as_str),
                compared.get(at).map_or("(nothing)", String::as_str),
            ));
        }
    }

    if update {
        let mut out: Vec<String> = Vec::new();
        let mut next = 0;
        for (start, end, content) in replacements {
            out.extend(lines[next..start].iter().map(|l| l.to_string()));
            out.extend(content);
            next = end;
        }
        out.extend(lines[next..].iter().map(|l| l.to_string()));
        fs::write(&path, out.join("\n") + "\n").expect("rewrite docs/walkthrough.md");
    }
    assert!(
        problems.is_empty(),
        "{}\n\nThe walkthrough no longer matches what the translator does. If the new output is right, \
         regenerate the blocks with\n  SUBX_UPDATE_WALKTHROUGH=1 cargo test --test walkthrough\n\
         then check the prose around them still says what the blocks show (git diff docs/walkthrough.md).",
        problems.join("\n\n")
    );

    // The walkthrough must keep showing every step, for its main program.
    let main = &blocks.first().expect("the walkthrough has marked blocks").marker.program;
    for what in ["source", "tests", "dquotes", "assort", "pack", "survey", "xxd", "objdump"] {
        assert!(
            blocks.iter().any(|b| &b.marker.program == main && b.marker.what == what)
                || (what == "tests" && blocks.iter().any(|b| b.marker.what == "tests")),
            "{DOC} shows no '{what}' block for {main}"
        );
    }
    // And one sugared program through the three sugar phases.
    let shows = |program: &str, what: &str| blocks.iter().any(|b| b.marker.program == program && b.marker.what == what);
    assert!(
        blocks.iter().any(|b| is_sugared(&b.marker.program)
            && ["source", "braces", "calls", "sigils"].iter().all(|what| shows(&b.marker.program, what))),
        "{DOC} shows no sugared program's source and its text after braces, calls and sigils"
    );
}

/// Every number a block shows: each word read as hex (`0x` optional), and
/// every 4 consecutive two-digit bytes of a line read little-endian.
fn numbers_in_blocks(text: &str) -> BTreeSet<u32> {
    let mut numbers = BTreeSet::new();
    for line in text.lines() {
        for piece in line.split(|c: char| !c.is_ascii_alphanumeric()) {
            let digits = piece.strip_prefix("0x").unwrap_or(piece);
            if (1..=8).contains(&digits.len()) {
                if let Ok(n) = u32::from_str_radix(digits, 16) {
                    numbers.insert(n);
                }
            }
        }
        let bytes: Vec<u8> = line
            .split_whitespace()
            .take_while(|w| w.len() == 2)
            .map_while(|w| u8::from_str_radix(w, 16).ok())
            .collect();
        for window in bytes.windows(4) {
            numbers.insert(u32::from_le_bytes(window.try_into().expect("4 bytes")));
        }
    }
    numbers
}

/// Numbers (`0x` and 3 or more digits) and byte sequences (`be ad 02 00 0a`
/// in backquotes) that the prose quotes but no block shows: a sign that the
/// prose was not re-read after the blocks were regenerated.
fn stale_quotes(prose: &str, blocks: &str) -> Vec<String> {
    let numbers = numbers_in_blocks(blocks);
    let mut stale = Vec::new();
    let bytes = prose.as_bytes();
    let mut i = 0;
    while let Some(at) = prose[i..].find("0x").map(|k| i + k) {
        let digits = prose[at + 2..].bytes().take_while(u8::is_ascii_hexdigit).count();
        let word_start = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        if word_start && digits >= 3 {
            let text = &prose[at..at + 2 + digits];
            let negative = prose[..at].ends_with('-') || prose[..at].ends_with('−');
            match u32::from_str_radix(&text[2..], 16) {
                Ok(n) if numbers.contains(&if negative { n.wrapping_neg() } else { n }) => {}
                _ => stale.push(text.to_string()),
            }
        }
        i = at + 2;
    }
    for (k, span) in prose.split('`').enumerate() {
        let is_bytes = span.len() >= 5
            && span.split(' ').all(|w| w.len() == 2 && w.bytes().all(|b| b.is_ascii_hexdigit()));
        if k % 2 == 1 && is_bytes && !blocks.contains(span) {
            stale.push(format!("`{span}`"));
        }
    }
    stale
}

#[test]
fn the_prose_quotes_only_what_the_blocks_show() {
    let doc = fs::read_to_string(project().join(DOC)).expect("read docs/walkthrough.md");
    let (mut prose, mut blocks) = (String::new(), String::new());
    let mut in_block = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            blocks.push_str(line);
            blocks.push('\n');
        } else if !line.trim_start().starts_with(MARKER) {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let stale = stale_quotes(&prose, &blocks);
    assert!(
        stale.is_empty(),
        "{DOC}: the prose quotes {} but no block shows it; after regenerating the blocks, \
         update the prose to the new numbers",
        stale.join(", ")
    );
}

#[test]
fn stale_quotes_are_found() {
    let blocks = "be ad 02 00 0a \ne8 1d fe ff ff \n 900027f:\tcall 0x900009c\n";
    let prose = "`be ad 02 00 0a` at 0x0a0002ad, `0x0900027f + 0xfffffe1d` (-0x1e3) is `0x0900009c`; 0xc";
    assert!(stale_quotes(prose, blocks).is_empty(), "{:?}", stale_quotes(prose, blocks));
    assert_eq!(stale_quotes("`be ad 02 00 0b` 0x0a0002ae", blocks), ["0x0a0002ae", "`be ad 02 00 0b`"]);
}

#[test]
fn markers_parse() {
    let m = parse_marker(r#"<!-- walkthrough: 05-hello pack from="Entry: x" to="== data" head=3 -->"#, 1);
    assert_eq!((m.program.as_str(), m.what.as_str()), ("05-hello", "pack"));
    assert_eq!(m.from.as_deref(), Some("Entry: x"));
    assert_eq!(m.to.as_deref(), Some("== data"));
    assert_eq!(m.head, Some(3));
    let text = "a\nEntry: x\nb\n== data\nc\n";
    assert_eq!(select(&m, text).unwrap(), ["Entry: x", "b", "== data"]);
    assert_eq!(elf_name("05-hello"), "hello.elf");
}

/// Each phase's source points a newcomer to its section of the walkthrough;
/// the section must exist under that name.
#[test]
fn every_phase_source_points_to_its_section() {
    let doc = fs::read_to_string(project().join(DOC)).expect("read docs/walkthrough.md");
    let core = ["tests", "dquotes", "assort", "pack", "survey", "hex"].map(|p| (p, "Phase", "##"));
    let sugar = ["braces", "calls", "sigils"].map(|p| (p, "Sugar", "###"));
    for phases in [&core[..], &sugar[..]] {
        for (k, (phase, kind, level)) in phases.iter().enumerate() {
            let section = format!("{kind} {}: `{phase}`", k + 1);
            assert!(doc.contains(&format!("
{level} {section}
")), "{DOC} has no section '{level} {section}'");
            // A big phase is a folder, whose mod.rs holds the phase's comment.
            let file = [format!("src/phases/{phase}.rs"), format!("src/phases/{phase}/mod.rs")]
                .into_iter()
                .find(|file| project().join(file).exists())
                .unwrap_or_else(|| panic!("no source file for phase {phase}"));
            let source = fs::read_to_string(project().join(&file)).expect("read the phase");
            assert!(source.contains(&format!("(\"{section}\")")), "{file} does not point to '{section}'");
        }
    }
}

/// The shell sessions of the README (fenced blocks after a line
/// `<!-- session -->`): every `$ command` line is run, in order, in one bash
/// process in a scratch directory where `target/release`, `scripts`,
/// `init.linux` and `subx-apps` lead to this build, and the block must be
/// exactly what the session prints (stdout and stderr together).
#[test]
fn the_readme_sessions_print_what_they_show() {
    let readme = fs::read_to_string(project().join("README.md")).expect("read README.md");
    let lines: Vec<&str> = readme.lines().collect();
    let mut sessions = 0;
    for (i, _) in lines.iter().enumerate().filter(|(_, l)| l.trim() == "<!-- session -->") {
        let open = i + 1;
        assert!(lines.get(open).is_some_and(|l| l.starts_with("```")), "README.md:{}: no fence after the marker", i + 1);
        let close = (open + 1..lines.len()).find(|&j| lines[j] == "```").expect("a closed fence");
        let shown: String = lines[open + 1..close].iter().map(|l| format!("{l}\n")).collect();

        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("target")).expect("mkdir");
        std::os::unix::fs::symlink(bin_dir(), dir.path().join("target/release")).expect("symlink");
        std::os::unix::fs::symlink(project().join("scripts"), dir.path().join("scripts")).expect("symlink");
        std::os::unix::fs::symlink(project().join("init.linux"), dir.path().join("init.linux")).expect("symlink");
        std::os::unix::fs::symlink(project().join("subx-apps"), dir.path().join("subx-apps")).expect("symlink");
        let mut script = String::from("exec 2>&1\ns=0\n");
        for command in lines[open + 1..close].iter().filter_map(|l| l.strip_prefix("$ ")) {
            let quoted = command.replace('\'', r"'\''");
            script.push_str(&format!("s=$?; printf '$ %s\\n' '{quoted}'; (exit $s); {command}\n"));
        }
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("SUBX_BIN", bin_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            shown,
            "README.md:{}: the session prints otherwise; paste the real output into README.md",
            i + 1
        );
        sessions += 1;
    }
    assert!(sessions >= 2, "README.md: the Errors section shows a phase alone and ntranslate (<!-- session -->)");
}

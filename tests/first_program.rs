//! `docs/first-program.md` shows real sessions, and this test keeps them
//! real. Its marked blocks are played in order in one scratch directory:
//!
//! ```text
//! <!-- file: NAME -->   the block is the whole of file NAME, written there
//! <!-- edit: NAME -->   the block's '-' lines, found once in NAME, become its '+' lines
//! <!-- session -->      '$ command' lines run in bash (ntranslate, phases and
//!                       subx on PATH); the block is what they print, stdout
//!                       and stderr together
//! ```
//!
//! Played once as written and, where the processor cannot run the ELFs
//! (or as well, where it can), with `./X.elf` run as `subx run X.elf`.

use std::fs;

mod support;
use support::{project, Runner};

const DOC: &str = "docs/first-program.md";

/// A marked block: its marker's line (1-based), the marker, its content.
struct Block {
    line: usize,
    marker: String,
    content: Vec<String>,
}

fn blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(marker) = line.strip_prefix("<!-- ").and_then(|l| l.strip_suffix(" -->")) else { continue };
        let open = i + 1;
        assert!(lines.get(open).is_some_and(|l| l.starts_with("```")), "{DOC}:{}: no fence after the marker", i + 1);
        let close = (open + 1..lines.len()).find(|&j| lines[j] == "```").expect("a closed fence");
        found.push(Block { line: i + 1, marker: marker.to_string(), content: lines[open + 1..close].iter().map(|l| l.to_string()).collect() });
    }
    found
}

#[test]
fn the_first_program_page_shows_real_sessions() {
    let doc = fs::read_to_string(project().join(DOC)).expect("read docs/first-program.md");
    let blocks = blocks(&doc);
    for &runner in Runner::available() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut files, mut edits, mut sessions) = (0, 0, 0);
        for block in &blocks {
            let text: String = block.content.iter().map(|l| format!("{l}\n")).collect();
            if let Some(name) = block.marker.strip_prefix("file: ") {
                fs::write(dir.path().join(name), &text).expect("write the file");
                files += 1;
            } else if let Some(name) = block.marker.strip_prefix("edit: ") {
                let path = dir.path().join(name);
                let before = fs::read_to_string(&path).expect("the file to edit");
                let old: String = block.content.iter().filter_map(|l| l.strip_prefix('-')).map(|l| format!("{l}\n")).collect();
                let new: String = block.content.iter().filter_map(|l| l.strip_prefix('+')).map(|l| format!("{l}\n")).collect();
                assert_eq!(before.matches(&old).count(), 1, "{DOC}:{}: the '-' lines are not in {name} once", block.line);
                fs::write(&path, before.replacen(&old, &new, 1)).expect("edit");
                edits += 1;
            } else if block.marker == "session" {
                let commands: Vec<String> =
                    block.content.iter().filter_map(|l| l.strip_prefix("$ ")).map(|c| runner.rewrite(c)).collect();
                assert_eq!(
                    support::session(dir.path(), &commands),
                    runner.rewrite(&text),
                    "{DOC}:{}: the session ({runner:?}) prints otherwise; paste the real output into {DOC}",
                    block.line
                );
                sessions += 1;
            }
        }
        assert!(files >= 2 && edits >= 2 && sessions >= 6, "{DOC}: fewer blocks than the page is about");
    }
}

//! Phase `tests`: appends a function `run-tests` that calls every test
//! function of the program, the first phase of the pipeline.
//!
//! It echoes its input unchanged and remembers each label definition whose
//! name starts with `test-`; at the end, if there were any, it adds a new
//! `code` segment holding `run-tests:`, one call per test in input order,
//! and a return (`assort` later moves it to the end of the `code` segment).
//!
//! ```
//! use subx::phases::tests;
//! use subx::line_map::LineMap;
//! let program = b"== code 0x09000000\ntest-add:\n  c3/return\n";
//! let mut out = Vec::new();
//! tests::run(&mut &program[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(
//!     out,
//!     b"== code 0x09000000\ntest-add:\n  c3/return\n\
//!       \n== code\nrun-tests:\n  e8/call  test-add/disp32\n  c3/return\n"
//! );
//! ```
//!
//! `docs/walkthrough.md` ("Phase 1: `tests`") shows `tests` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/text.md` section 2):
//! - only the first word of a line is looked at, after any lone `.`
//!   fillers (CONTRACT decision 9); a test line's first word ends in `:`
//!   and, without that one final colon, starts with `test-` (T1, T5);
//! - only labels in segments named exactly `code` count, not those before
//!   the first header or in other segments (CONTRACT decision 1);
//! - comment lines and lines of line metadata never count (T6, CONTRACT
//!   decision 8); duplicates are kept;
//! - every ASCII whitespace byte separates words (CONTRACT rule 2);
//! - the generated block starts with a newline: after an input ending in
//!   LF that makes an empty line, after an unterminated last line it just
//!   ends that line (T2); without tests the output is the input (T3).
//!
//! `tests` streams: it echoes its input a block of lines at a time, looks
//! closer only at lines that may be headers or tests, and keeps only the
//! generated block (a few bytes per test) in memory. It rejects nothing.

use std::io::{BufRead, Write};

use crate::error::Error;
use crate::line_map::LineMap;
use crate::read::{self, Blocks};
use crate::words::{line_start, trim_space_start, LineStart};

/// `--help` text.
pub fn help() -> String {
    "tests: add a function 'run-tests' calling every 'test-' function (the first SubX phase).\n\
     \n\
     Reads:  on stdin, SubX source text.\n\
     Writes: on stdout, the same text, followed (when the 'code' segments define\n        \
             labels named 'test-...') by a new '== code' segment with 'run-tests:',\n        \
             one 'e8/call' per test in order, and 'c3/return'.\n\
     \n\
     Example:\n  \
       $ printf '== code\\ntest-a:\\n  c3/return\\n' | tests | tail -3\n  \
       run-tests:\n    e8/call  test-a/disp32\n    c3/return\n"
        .to_string()
}

/// Echoes `input` to `output` and appends `run-tests` when there are tests.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut blocks = Blocks::new(input);
    let mut run_tests = RunTests::new();
    let mut in_code = false;
    let mut line_count: u64 = 0;
    let mut ends_with_newline = true;
    while let Some(block) = blocks.next_block()? {
        output.write_all(block)?;
        ends_with_newline = block.last() == Some(&b'\n');
        for line in read::lines(block) {
            line_count += 1;
            if !may_be_header_or_test(line) {
                continue;
            }
            match line_start(line) {
                LineStart::Header { name } => in_code = name == Some(b"code"),
                LineStart::Word(first) if in_code => {
                    if let Some(name) = test_name(first) {
                        run_tests.add_call(name);
                    }
                }
                _ => {}
            }
        }
    }
    line_map.lines_from(1, line_count);
    if run_tests.calls > 0 {
        run_tests.finish();
        output.write_all(&run_tests.text)?;
        // The block's leading newline makes an empty line of its own only
        // when the input ended with one; otherwise it ends the last line.
        let generated = run_tests.calls + 3 + u64::from(ends_with_newline);
        for _ in 0..generated {
            line_map.next_output_generated();
        }
    }
    Ok(())
}

/// A cheap look at the first byte that is not whitespace: only lines
/// starting with `==`, with a `.` filler, or with `test-` can matter.
fn may_be_header_or_test(line: &[u8]) -> bool {
    matches!(trim_space_start(line).first(), Some(b'=' | b'.' | b't'))
}

/// The test function a label definition names: the word without its final
/// `:`, when that starts with `test-` (T5: `test-a::` names `test-a:`).
fn test_name(first_word: &[u8]) -> Option<&[u8]> {
    let name = first_word.strip_suffix(b":")?;
    name.starts_with(b"test-").then_some(name)
}

/// The generated `run-tests` function, built while the input streams by.
struct RunTests {
    text: Vec<u8>,
    calls: u64,
}

impl RunTests {
    fn new() -> RunTests {
        RunTests { text: b"\n== code\nrun-tests:\n".to_vec(), calls: 0 }
    }

    fn add_call(&mut self, name: &[u8]) {
        self.text.extend_from_slice(b"  e8/call  ");
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(b"/disp32\n");
        self.calls += 1;
    }

    fn finish(&mut self) {
        self.text.extend_from_slice(b"  c3/return\n");
    }
}

#[cfg(test)]
#[allow(clippy::module_inception)] // the phase is `tests`, its unit tests too
mod tests {
    use super::*;

    fn tests(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).unwrap();
        out
    }

    /// The generated block alone, for inputs ending in a newline.
    fn block_of(text: &[u8]) -> Vec<u8> {
        tests(text)[text.len()..].to_vec()
    }

    #[test]
    fn without_tests_the_output_is_the_input() {
        for text in [&b""[..], b"== code\nfoo:\n", b"== code\nc3/return", b"  \n\n   "] {
            assert_eq!(tests(text), text);
        }
    }

    #[test]
    fn calls_come_in_input_order_with_the_exact_spacing() {
        assert_eq!(
            block_of(b"== code\ntest-b:\nfoo:\n  test-a:  # c\n"),
            b"\n== code\nrun-tests:\n  e8/call  test-b/disp32\n  e8/call  test-a/disp32\n  c3/return\n"
        );
    }

    #[test]
    fn an_unterminated_last_line_is_ended_by_the_block() {
        assert_eq!(
            tests(b"== code\ntest-a:\n  c3/return"),
            b"== code\ntest-a:\n  c3/return\n== code\nrun-tests:\n  e8/call  test-a/disp32\n  c3/return\n"
        );
    }

    #[test]
    fn only_labels_in_code_segments_count() {
        assert_eq!(tests(b"test-early:\n== data\ntest-d:\n== code2\ntest-e:\n"), b"test-early:\n== data\ntest-d:\n== code2\ntest-e:\n");
        let block = block_of(b"== code\ntest-a:\n== data\ntest-d:\n== code 0x1\ntest-b:\n==\ntest-c:\n");
        assert_eq!(block, b"\n== code\nrun-tests:\n  e8/call  test-a/disp32\n  e8/call  test-b/disp32\n  c3/return\n");
    }

    #[test]
    fn only_the_first_word_counts() {
        assert_eq!(block_of(b"== code\nfoo: test-x:\n"), b"");
        assert_eq!(block_of(b"== code\ntest-x: c3/return\n"), b"\n== code\nrun-tests:\n  e8/call  test-x/disp32\n  c3/return\n");
    }

    #[test]
    fn only_one_final_colon_is_removed() {
        let block = block_of(b"== code\ntest-a::\ntest-b:c:\ntest-:\ntest:\ntests-x:\nTest-x:\ntest-y\n");
        assert_eq!(block, b"\n== code\nrun-tests:\n  e8/call  test-a:/disp32\n  e8/call  test-b:c/disp32\n  e8/call  test-/disp32\n  c3/return\n");
    }

    #[test]
    fn every_whitespace_separates_and_fillers_are_skipped() {
        let block = block_of(b"== code\n\ttest-a:\r\n . test-b:\x0b\ntest-c:\x0c# c\n");
        assert_eq!(block, b"\n== code\nrun-tests:\n  e8/call  test-a/disp32\n  e8/call  test-b/disp32\n  e8/call  test-c/disp32\n  c3/return\n");
    }

    #[test]
    fn comments_strings_and_line_metadata_never_count() {
        assert_eq!(block_of(b"== code\n# test-a:\ntest-b:#x\n\"test-c:\"\n:test-d:\n:\n::\n"), b"");
    }

    #[test]
    fn duplicates_and_odd_bytes_are_kept() {
        let block = block_of(b"== code\ntest-\xff\x00:\ntest-\xff\x00:\n");
        assert_eq!(block, b"\n== code\nrun-tests:\n  e8/call  test-\xff\x00/disp32\n  e8/call  test-\xff\x00/disp32\n  c3/return\n");
    }

    #[test]
    fn the_line_map_counts_echoed_and_generated_lines() {
        let mut map = LineMap::in_memory();
        run(&mut &b"== code\ntest-a:\n"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 2\n");
        let mut map = LineMap::in_memory();
        run(&mut &b"== code\ntest-a:\nx"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 3\n");
    }
}

//! Phase `assort`: gathers the pieces of each segment together.
//!
//! A program may open a segment several times (`== code`, `== data`,
//! `== code` again); `assort` writes each segment's lines in one piece,
//! the segments in order of first appearance, the lines of one segment in
//! input order. It drops comment lines, blank lines and the headers that
//! re-open a segment, and copies every other line verbatim.
//!
//! ```
//! use subx::phases::assort;
//! use subx::line_map::LineMap;
//! let text = b"== code 0x09000000\nc3 \n# note\n== data 0x0a000000\n00 \n== code\n90 \n";
//! let mut out = Vec::new();
//! assort::run(&mut &text[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(out, b"== code 0x09000000\nc3 \n90 \n== data 0x0a000000\n00 \n");
//! ```
//!
//! `docs/walkthrough.md` ("Phase 3: `assort`") shows `assort` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/text.md` section 4):
//! - a line's first word decides, after any lone `.` fillers (CONTRACT
//!   decision 9); any ASCII whitespace separates words (CONTRACT rule 2);
//! - a line without one (blank, comment, fillers only, or line metadata
//!   only: CONTRACT decision 8) is dropped (A2);
//! - a line whose first word is `==` is a header; its second word names the
//!   segment (A3). The header that first names a segment is kept verbatim,
//!   address and comment included (A5); a later one is dropped, its address
//!   unchecked (A4, CONTRACT decision 12). A header without a name is an
//!   error (CONTRACT decision 11);
//! - every other line is copied byte for byte into the current segment
//!   (A1); a line before the first header is an error (A7);
//! - a last line without LF stays without one when it is output last (A6);
//!   elsewhere it gets an LF, so that it is not glued to the next segment's
//!   header (input no earlier phase writes; the reference glues them).
//!
//! `assort` streams: the first segment's lines go out as they come in
//! (they are output first anyway); only the other segments' lines are held
//! in memory until the input ends. In a pipeline the phases after `assort`
//! thus start on the code while the data is still being read.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use crate::error::Error;
use crate::line_map::{LineMap, Runs};
use crate::read::{self, Blocks};
use crate::words::{line_start, LineStart};

/// `--help` text.
pub fn help() -> String {
    "assort: gather the pieces of each segment together (the third SubX phase).\n\
     \n\
     Reads:  on stdin, SubX text whose segments may be opened several times\n        \
             (the output of 'dquotes').\n\
     Writes: on stdout, each segment's lines in one piece, segments in order of first\n        \
             appearance; comment lines, blank lines and re-opening headers dropped.\n\
     \n\
     Example:\n  \
       $ printf '== code\\nc3 \\n== data\\n00 \\n== code\\n90 \\n' | assort\n  \
       == code\n  c3 \n  90 \n  == data\n  00 \n"
        .to_string()
}

/// Writes the segments of `input`, each in one piece, to `output`.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut blocks = Blocks::new(input);
    let mut sorter = Sorter { by_name: HashMap::new(), held: Vec::new(), current: None, line_number: 0 };
    // Did the last line written lack an LF (the input's unterminated last line)?
    let mut unterminated = false;
    while let Some(block) = blocks.next_block()? {
        // Consecutive lines of the first segment go out in one write.
        let mut run = Run { start: 0, end: 0, first_line: 0, lines: 0 };
        let mut start = 0;
        for line in read::lines(block) {
            let end = start + line.len();
            match sorter.place(line)? {
                Place::Drop => {}
                Place::Hold(index) => sorter.held[index].keep(line, sorter.line_number),
                Place::Write if run.end == start && run.lines > 0 => {
                    run.end = end;
                    run.lines += 1;
                }
                Place::Write => {
                    run.write(block, output, line_map)?;
                    run = Run { start, end, first_line: sorter.line_number, lines: 1 };
                }
            }
            start = end;
        }
        run.write(block, output, line_map)?;
        if run.lines > 0 {
            unterminated = block[run.end - 1] != b'\n';
        }
    }
    for segment in &sorter.held {
        if unterminated {
            output.write_all(b"\n")?;
        }
        output.write_all(&segment.text)?;
        segment.runs.write_to(line_map);
        unterminated = segment.text.last() != Some(&b'\n');
    }
    Ok(())
}

/// Where each line goes, segment by segment.
struct Sorter {
    /// Segment 0 is the first one named, written as it comes; segment i > 0
    /// is `held[i - 1]`, written at the end.
    by_name: HashMap<Vec<u8>, usize>,
    held: Vec<HeldSegment>,
    current: Option<usize>,
    /// The 1-based number of the line last placed.
    line_number: u64,
}

enum Place {
    /// A blank, comment or re-opening header line.
    Drop,
    /// A line of the first segment.
    Write,
    /// A line of segment `held[index]`.
    Hold(usize),
}

impl Sorter {
    fn place(&mut self, line: &[u8]) -> Result<Place, Error> {
        self.line_number += 1;
        let segment = match line_start(line) {
            LineStart::Nothing => return Ok(Place::Drop),
            LineStart::Header { name: None } => return Err(header_without_name(self.line_number)),
            LineStart::Header { name: Some(name) } => match self.by_name.get(name) {
                Some(&index) => {
                    self.current = Some(index);
                    return Ok(Place::Drop);
                }
                None => {
                    let index = self.by_name.len();
                    self.by_name.insert(name.to_vec(), index);
                    if index > 0 {
                        self.held.push(HeldSegment { text: Vec::new(), runs: Runs::default() });
                    }
                    index
                }
            },
            LineStart::Word(first) => match self.current {
                Some(index) => index,
                None => return Err(before_any_header(self.line_number, first)),
            },
        };
        self.current = Some(segment);
        Ok(match segment {
            0 => Place::Write,
            index => Place::Hold(index - 1),
        })
    }
}

/// The `lines` lines at `start..end` of a block, from input line
/// `first_line` on.
struct Run {
    start: usize,
    end: usize,
    first_line: u64,
    lines: u64,
}

impl Run {
    fn write(&self, block: &[u8], output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
        output.write_all(&block[self.start..self.end])?;
        line_map.lines_from(self.first_line, self.lines);
        Ok(())
    }
}

/// A segment other than the first: its lines, kept until the input ends.
struct HeldSegment {
    text: Vec<u8>,
    /// Where its lines came from.
    runs: Runs,
}

impl HeldSegment {
    fn keep(&mut self, line: &[u8], line_number: u64) {
        self.text.extend_from_slice(line);
        self.runs.push_line(line_number);
    }
}

fn header_without_name(line_number: u64) -> Error {
    Error::at(
        line_number,
        b"==",
        "a segment header must name its segment: write '== NAME', and the first time \
         also its address ('== code 0x09000000')",
    )
}

fn before_any_header(line_number: u64, first: &[u8]) -> Error {
    Error::at(
        line_number,
        first,
        "comes before any segment header; begin the program with a header such as \
         '== code 0x09000000'",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assort(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    fn ok(text: &[u8]) -> Vec<u8> {
        assort(text).unwrap()
    }

    #[test]
    fn segments_come_in_order_of_first_appearance() {
        assert_eq!(ok(b"== a\n1\n== b\n2\n== a\n3\n== c\n4\n== b\n5\n"), b"== a\n1\n3\n== b\n2\n5\n== c\n4\n");
    }

    #[test]
    fn the_first_header_is_kept_verbatim_and_later_ones_dropped() {
        assert_eq!(ok(b"==  code  0x1 # first\nx\n== code 0x2 # again\ny\n"), b"==  code  0x1 # first\nx\ny\n");
    }

    #[test]
    fn lines_are_copied_byte_for_byte() {
        assert_eq!(ok(b"== d\n  a  b\t#c \r\n\x00\xff\n"), b"== d\n  a  b\t#c \r\n\x00\xff\n");
    }

    #[test]
    fn blank_comment_filler_and_line_metadata_lines_are_dropped() {
        assert_eq!(ok(b"# pre\n\n== d\n \t\r\n  # c\n . .\n:meta x\n\x0b\x0c\nx\n"), b"== d\nx\n");
    }

    #[test]
    fn any_whitespace_separates_the_header_words() {
        assert_eq!(ok(b"\t==\tcode\t0x1\nx\n==\x0bcode\r\ny\n. == data\nz\n"), b"\t==\tcode\t0x1\nx\ny\n. == data\nz\n");
    }

    #[test]
    fn names_are_exact_byte_strings() {
        assert_eq!(ok(b"== code\n1\n== Code\n2\n== code/x\n3\n"), b"== code\n1\n== Code\n2\n== code/x\n3\n");
    }

    #[test]
    fn double_equals_must_be_its_own_word() {
        assert_eq!(ok(b"== a\n==code\n===\n"), b"== a\n==code\n===\n");
    }

    #[test]
    fn a_header_needs_a_name() {
        for text in [&b"== a\nx\n==\n"[..], b"== a\n==   \n", b"== a\n== # x\n", b"== :m\n"] {
            let e = assort(text).unwrap_err();
            assert!(e.message.contains("must name its segment"), "{e}");
        }
        assert_eq!(assort(b"== a\n==").unwrap_err().line, Some(2));
    }

    #[test]
    fn a_line_before_any_header_is_an_error() {
        let e = assort(b"# ok\n\nEntry:\n== code\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.word.as_deref(), Some(&b"Entry:"[..]));
        assert!(assort(b". x\n").is_err());
    }

    #[test]
    fn an_unterminated_last_line_stays_so_only_at_the_end() {
        assert_eq!(ok(b"== a\n1\n== b\n2"), b"== a\n1\n== b\n2");
        assert_eq!(ok(b"== a\n1\n== b\n2\n== a\n3"), b"== a\n1\n3\n== b\n2\n");
        assert_eq!(ok(b"== a\n1\n== b"), b"== a\n1\n== b");
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert_eq!(ok(b""), b"");
    }

    #[test]
    fn the_line_map_follows_the_moved_lines() {
        let mut map = LineMap::in_memory();
        run(&mut &b"== a\n1\n# c\n2\n== b\n3\n== a\n4\n"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 2\n3 4 1\n4 8 1\n5 5 2\n");
    }
}

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
//! `assort` reads its whole input into memory once (the first segment's
//! last line may be the input's last), then writes each segment's lines as
//! slices of it.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use crate::error::Error;
use crate::line_map::LineMap;
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
    let mut text = Vec::new();
    input.read_to_end(&mut text)?;
    let segments = sort_lines(&text)?;
    let last_piece = segments.iter().rev().find_map(|s| s.pieces.last()).map(|p| p.end);
    for piece in segments.iter().flat_map(|s| &s.pieces) {
        output.write_all(&text[piece.start..piece.end])?;
        line_map.lines_from(piece.first_line, piece.lines);
        if Some(piece.end) != last_piece && text.get(piece.end - 1) != Some(&b'\n') {
            output.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// A stretch of consecutive kept lines of the input.
struct Piece {
    /// Byte range in the input.
    start: usize,
    end: usize,
    /// 1-based input line of its first line, and its number of lines.
    first_line: u64,
    lines: u64,
}

/// One segment: the pieces of input that make it, in order.
struct Segment {
    pieces: Vec<Piece>,
}

impl Segment {
    /// Adds the line at `start..end`, extending the last piece when the
    /// line follows it directly.
    fn keep(&mut self, start: usize, end: usize, line: u64) {
        match self.pieces.last_mut() {
            Some(piece) if piece.end == start => {
                piece.end = end;
                piece.lines += 1;
            }
            _ => self.pieces.push(Piece { start, end, first_line: line, lines: 1 }),
        }
    }
}

/// Sorts the lines of `text` into segments, in order of first appearance.
fn sort_lines(text: &[u8]) -> Result<Vec<Segment>, Error> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut by_name: HashMap<&[u8], usize> = HashMap::new();
    let mut current: Option<usize> = None;
    let mut start = 0;
    let mut line_number: u64 = 0;
    while start < text.len() {
        let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |at| start + at + 1);
        line_number += 1;
        let line = &text[start..end];
        match line_start(line) {
            LineStart::Nothing => {}
            LineStart::Header { name: None } => return Err(header_without_name(line_number)),
            LineStart::Header { name: Some(name) } => match by_name.get(name) {
                Some(&index) => current = Some(index),
                None => {
                    by_name.insert(name, segments.len());
                    current = Some(segments.len());
                    segments.push(Segment { pieces: Vec::new() });
                    if let Some(segment) = segments.last_mut() {
                        segment.keep(start, end, line_number);
                    }
                }
            },
            LineStart::Word(first) => match current.and_then(|index| segments.get_mut(index)) {
                Some(segment) => segment.keep(start, end, line_number),
                None => return Err(before_any_header(line_number, first)),
            },
        }
        start = end;
    }
    Ok(segments)
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

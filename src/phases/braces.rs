//! Phase `braces`: blocks `{ ... }` and the words `break/` and `loop/`,
//! the first sugar phase (`phases/braces.md`).
//!
//! A line holding only `{` opens a block and becomes the label
//! `_loop0xNNNNNNNN:`; a line holding only `}` closes the innermost block
//! and becomes `_break0xNNNNNNNN:`. Inside a block, an operand word that
//! begins with `break/` or `loop/` becomes a reference to the innermost
//! block's `_break` or `_loop` label. Every other line is normalised as
//! `dquotes` does: comments dropped, one space after every word.
//!
//! ```
//! use subx::phases::braces;
//! use subx::line_map::LineMap;
//! let program = b"{\n  74/jump-if-equal  break/disp8  # done\n  eb/jump loop/disp8\n}\n";
//! let mut out = Vec::new();
//! braces::run(&mut &program[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(
//!     out,
//!     b"_loop0x00000001:\n\
//!       74/jump-if-equal _break0x00000001/disp8 \n\
//!       eb/jump _loop0x00000001/disp8 \n\
//!       _break0x00000001:\n"
//! );
//! ```
//!
//! `docs/walkthrough.md` ("Sugar 1: `braces`") shows `braces` at work on a
//! whole program, before `calls` and `sigils` take it on.
//!
//! The rules (`phases/braces.md` sections 3 and 6):
//! - every input line gives one output line, so the line map is the
//!   identity, label lines included (section 7, CONTRACT rule 4);
//! - words split at any ASCII whitespace (CONTRACT decision 20); a word
//!   that begins with `#` drops the rest of the line; one that begins with
//!   `"` runs to its closing quote (a backslash skips the next byte) and on
//!   to the next whitespace, or to the end of the line when unclosed (B4,
//!   B10);
//! - a brace line holds one `{` or `}` and nothing else but `.` fillers and
//!   a comment; any other `{` or `}` word, and a first word that begins
//!   with a brace and is longer (`{}`, `}#end`), is an error (CONTRACT
//!   decision 23);
//! - blocks are numbered 1, 2, ... in the order of their `{` in the whole
//!   input; a number is written `0x` and at least 8 lowercase hex digits
//!   (B7);
//! - `break/...` and `loop/...` refer to the innermost open block and keep
//!   everything from their `/` on (B5); outside any block they are an
//!   error, and so are a `}` without a block and a block never closed
//!   (CONTRACT decisions 21, 22);
//! - words beginning with `_loop0x` or `_break0x` are reserved (CONTRACT
//!   decision 24);
//! - from a word beginning with `:` on, the line is line metadata: split at
//!   whitespace (a `"` starts no literal), written out, and neither
//!   rewritten nor checked (CONTRACT decision 25).
//!
//! `braces` streams: it rewrites a block of lines at a time and keeps only
//! the stack of open blocks, as deep as the nesting (no limit of 32:
//! CONTRACT rule 3).

use std::io::{BufRead, Write};

use crate::error::{printable, Error};
use crate::line_map::LineMap;
use crate::number::push_hex_0x8;
use crate::read::{self, Blocks};
use crate::words::{is_filler, is_space, string_literal_len, word_len};

/// `--help` text.
pub fn help() -> String {
    "braces: turn '{ }' blocks and 'break/' 'loop/' words into labels (the first sugar phase).\n\
     \n\
     Reads:  on stdin, SubX source with blocks: a line holding only '{' opens a\n        \
             block, a line holding only '}' closes the innermost one, and inside\n        \
             a block 'break/...' and 'loop/...' name the block's end and start.\n\
     Writes: on stdout, one line per input line: '_loop0xNNNNNNNN:' for each '{',\n        \
             '_break0xNNNNNNNN:' for each '}', the jump words rewritten into\n        \
             references to those labels, every other line with its comment\n        \
             dropped and one space after each word (the input of 'calls').\n\
     \n\
     Example:\n  \
       $ printf '{\\n  eb/jump loop/disp8  # again\\n}\\n' | braces\n  \
       _loop0x00000001:\n  \
       eb/jump _loop0x00000001/disp8 \n  \
       _break0x00000001:\n"
        .to_string()
}

/// Output is gathered in memory and written in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 16;

/// Rewrites `input` onto `output`, line by line.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut blocks = Blocks::new(input);
    let mut open = OpenBlocks::default();
    let mut out = Vec::with_capacity(2 * WRITE_CHUNK);
    let mut line_number: u64 = 0;
    while let Some(block) = blocks.next_block()? {
        let first_line = line_number + 1;
        for line in read::lines(block) {
            line_number += 1;
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            rewrite_line(content, line_number, &mut open, &mut out)?;
            if out.len() >= WRITE_CHUNK {
                output.write_all(&out)?;
                out.clear();
            }
        }
        line_map.lines_from(first_line, line_number + 1 - first_line);
    }
    output.write_all(&out)?;
    match open.stack.last() {
        Some(innermost) => Err(Error::at(
            innermost.line,
            b"{",
            "is never closed: every block needs a line holding '}' where it ends",
        )),
        None => Ok(()),
    }
}

/// The blocks open at the current line, innermost last, and the number the
/// next block will get.
struct OpenBlocks {
    stack: Vec<OpenBlock>,
    next_number: u64,
}

struct OpenBlock {
    number: u64,
    /// The line of its `{`, for the message when it is never closed.
    line: u64,
}

impl Default for OpenBlocks {
    fn default() -> OpenBlocks {
        OpenBlocks { stack: Vec::new(), next_number: 1 }
    }
}

/// Appends the rewritten `content` (one line without its LF) and an LF.
fn rewrite_line(content: &[u8], line_number: u64, open: &mut OpenBlocks, out: &mut Vec<u8>) -> Result<(), Error> {
    let line_start = out.len();
    let mut words = LineWords::new(content);
    // The first word that is not a `.` filler (nor line metadata).
    let mut first: Option<&[u8]> = None;
    while let Some(word) = words.next() {
        if word.kind == Kind::Plain && !is_filler(word.text) {
            match first {
                None if matches!(word.text[0], b'{' | b'}') => {
                    out.truncate(line_start);
                    return brace_line(word.text, words, line_number, open, out);
                }
                None => first = Some(word.text),
                Some(_) => {}
            }
            if matches!(word.text[0], b'{' | b'}' | b'_' | b'b' | b'l') {
                rewritten_word(word.text, first, line_number, open, out)?;
                continue;
            }
        } else if word.kind == Kind::Literal {
            first.get_or_insert(word.text);
        }
        out.extend_from_slice(word.text);
        out.push(b' ');
    }
    out.push(b'\n');
    Ok(())
}

/// Handles a line whose first word, fillers aside, begins with a brace:
/// it must be a lone `{` or `}` followed by nothing but fillers and a
/// comment (CONTRACT decision 23). Writes its label line.
fn brace_line(
    brace: &[u8],
    rest: LineWords,
    line_number: u64,
    open: &mut OpenBlocks,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    if brace.len() > 1 {
        return Err(Error::at(
            line_number,
            brace,
            "starts with a brace but is longer: a brace must be a word of its own, alone on its line",
        ));
    }
    for word in rest {
        if word.kind != Kind::Plain || !is_filler(word.text) {
            return Err(Error::at(
                line_number,
                word.text,
                format!(
                    "may not follow '{}' on its line: a brace stands alone on its line, with at most \
                     a comment after it; move this to a line of its own",
                    printable(brace)
                ),
            ));
        }
    }
    if brace == b"{" {
        let number = open.next_number;
        open.next_number += 1;
        open.stack.push(OpenBlock { number, line: line_number });
        label_line(b"_loop", number, out);
        return Ok(());
    }
    match open.stack.pop() {
        Some(closed) => {
            label_line(b"_break", closed.number, out);
            Ok(())
        }
        None => Err(Error::at(line_number, brace, "has no matching '{': no block is open here")),
    }
}

/// Appends `_loop0xNNNNNNNN:` (or `_break...`) and an LF.
fn label_line(prefix: &[u8], number: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(prefix);
    push_hex_0x8(out, number);
    out.extend_from_slice(b":\n");
}

/// Appends `word`, an ordinary word that may be a stray brace, a reserved
/// name or a `break/` or `loop/` word to rewrite, and a space after it.
/// `first` is the line's first word, fillers aside.
fn rewritten_word(
    word: &[u8],
    first: Option<&[u8]>,
    line_number: u64,
    open: &OpenBlocks,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    if word == b"{" || word == b"}" {
        let hint = match first {
            Some(label) if label.ends_with(b":") => "; to name a block, put the label on the line before its '{'",
            _ => "",
        };
        return Err(Error::at(
            line_number,
            word,
            format!(
                "is not alone on its line (it follows '{}'): a brace must stand on a line of its own{hint}",
                printable(first.unwrap_or_default())
            ),
        ));
    }
    if word.starts_with(b"_loop0x") || word.starts_with(b"_break0x") {
        return Err(Error::at(
            line_number,
            word,
            "is reserved for the labels braces makes (names beginning with '_loop0x' or '_break0x'); \
             rename it, or write 'break/' or 'loop/' inside a block",
        ));
    }
    let (prefix, from_slash) = if word.starts_with(b"break/") {
        (&b"_break"[..], &word[5..])
    } else if word.starts_with(b"loop/") {
        (&b"_loop"[..], &word[4..])
    } else {
        out.extend_from_slice(word);
        out.push(b' ');
        return Ok(());
    };
    let Some(innermost) = open.stack.last() else {
        return Err(Error::at(
            line_number,
            word,
            "is not inside a block: 'break/' and 'loop/' refer to the innermost block open at \
             their line; open one with a line holding '{' before it",
        ));
    };
    out.extend_from_slice(prefix);
    push_hex_0x8(out, innermost.number);
    out.extend_from_slice(from_slash);
    out.push(b' ');
    Ok(())
}

/// What a word of a line is to `braces`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An ordinary word.
    Plain,
    /// A string literal (a word beginning with `"`): copied, never checked.
    Literal,
    /// A word of line metadata: copied, never checked.
    Metadata,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LineWord<'a> {
    text: &'a [u8],
    kind: Kind,
}

/// The words of a line as `braces` splits them (B4): at whitespace, a
/// string literal as one word, up to the comment.
struct LineWords<'a> {
    rest: &'a [u8],
    in_line_metadata: bool,
}

impl<'a> LineWords<'a> {
    fn new(content: &'a [u8]) -> LineWords<'a> {
        LineWords { rest: content, in_line_metadata: false }
    }
}

impl<'a> Iterator for LineWords<'a> {
    type Item = LineWord<'a>;

    fn next(&mut self) -> Option<LineWord<'a>> {
        let start = self.rest.iter().position(|&b| !is_space(b))?;
        let rest = &self.rest[start..];
        let (len, kind) = match rest[0] {
            b'#' => {
                self.rest = &[];
                return None;
            }
            // An unclosed literal runs to the end of the line (B10;
            // `dquotes` reports it).
            b'"' if !self.in_line_metadata => (string_literal_len(rest).unwrap_or(rest.len()), Kind::Literal),
            b':' => {
                self.in_line_metadata = true;
                (word_len(rest), Kind::Metadata)
            }
            _ if self.in_line_metadata => (word_len(rest), Kind::Metadata),
            _ => (word_len(rest), Kind::Plain),
        };
        self.rest = &rest[len..];
        Some(LineWord { text: &rest[..len], kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn braces(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    fn ok(text: &[u8]) -> String {
        String::from_utf8_lossy(&braces(text).unwrap()).into_owned()
    }

    fn err(text: &[u8]) -> Error {
        braces(text).unwrap_err()
    }

    #[test]
    fn brace_lines_become_labels_without_a_trailing_space() {
        assert_eq!(ok(b"{\n}\n"), "_loop0x00000001:\n_break0x00000001:\n");
        assert_eq!(ok(b"  {  # scan\r\n\t}\t# done\r\n"), "_loop0x00000001:\n_break0x00000001:\n");
    }

    #[test]
    fn fillers_beside_a_brace_still_make_a_brace_line() {
        assert_eq!(ok(b". {\n} .\n. . {\n . }  # done\n"), "_loop0x00000001:\n_break0x00000001:\n_loop0x00000002:\n_break0x00000002:\n");
    }

    #[test]
    fn ordinary_lines_lose_comments_and_get_one_space_after_each_word() {
        assert_eq!(ok(b"  a   b\tc\r\n\n  # c\nx#y .  # z\n\x0b\x0c\nlast"), "a b c \n\n\nx#y . \n\nlast \n");
        assert_eq!(ok(b""), "");
    }

    #[test]
    fn break_and_loop_refer_to_the_innermost_block() {
        let out = ok(b"{\n{\nbreak/disp8\n}\nloop/disp32/x 7c/j break/disp8\n}\n");
        assert_eq!(
            out,
            "_loop0x00000001:\n_loop0x00000002:\n_break0x00000002/disp8 \n_break0x00000002:\n\
             _loop0x00000001/disp32/x 7c/j _break0x00000001/disp8 \n_break0x00000001:\n"
        );
    }

    #[test]
    fn only_words_beginning_with_break_or_loop_and_a_slash_are_rewritten() {
        let text = b"{\nbreak loop: break: breakfast/disp8 xbreak/x $loop/x Break/x loops/x \"break/\" break/\n}\n";
        assert_eq!(
            ok(text),
            "_loop0x00000001:\nbreak loop: break: breakfast/disp8 xbreak/x $loop/x Break/x loops/x \"break/\" _break0x00000001/ \n\
             _break0x00000001:\n"
        );
    }

    #[test]
    fn blocks_are_numbered_in_order_of_their_open_brace() {
        let out = ok(b"{\n{\n}\n{\n{\n}\n}\n}\n{\n}\n");
        let labels: Vec<&str> = out.lines().collect();
        assert_eq!(
            labels,
            [
                "_loop0x00000001:",
                "_loop0x00000002:",
                "_break0x00000002:",
                "_loop0x00000003:",
                "_loop0x00000004:",
                "_break0x00000004:",
                "_break0x00000003:",
                "_break0x00000001:",
                "_loop0x00000005:",
                "_break0x00000005:"
            ]
        );
    }

    #[test]
    fn numbers_are_eight_lowercase_hex_digits_or_more() {
        let out = ok(&b"{\n}\n".repeat(0x1f));
        assert!(out.contains("_loop0x0000000a:\n_break0x0000000a:\n"));
        assert!(out.ends_with("_loop0x0000001f:\n_break0x0000001f:\n"));
        let mut wide = Vec::new();
        label_line(b"_loop", 0x1_2345_6789, &mut wide);
        assert_eq!(wide, b"_loop0x123456789:\n");
    }

    #[test]
    fn nesting_has_no_limit() {
        let depth = 10_000;
        let mut text = b"{\n".repeat(depth);
        text.extend_from_slice(b"eb/jump break/disp8\n");
        text.extend_from_slice(&b"}\n".repeat(depth));
        let out = ok(&text);
        assert!(out.contains("eb/jump _break0x00002710/disp8 \n_break0x00002710:\n"), "{}", &out[..200]);
    }

    #[test]
    fn string_literals_are_one_word_whatever_they_hold() {
        assert_eq!(ok(b"68/push  \"a  # b\"/imm32  # c\n"), "68/push \"a  # b\"/imm32 \n");
        assert_eq!(ok(b"\"a\\\\\" 1 \"\\\"\" 2\n"), "\"a\\\\\" 1 \"\\\"\" 2 \n");
        assert_eq!(ok(b"\"{\" \"}\"\n"), "\"{\" \"}\" \n");
        // A quote inside a word is an ordinary byte.
        assert_eq!(ok(b"x\"a  b\"\n"), "x\"a b\" \n");
        // Text after the closing quote stays in the word (dquotes judges it).
        assert_eq!(ok(b"\"a\"b/imm32 c\n"), "\"a\"b/imm32 c \n");
    }

    #[test]
    fn an_unclosed_literal_runs_to_the_end_of_the_line() {
        assert_eq!(ok(b"68/push \"abc  d\nx\n"), "68/push \"abc  d \nx \n");
        assert_eq!(ok(b"\"abc\\"), "\"abc\\ \n");
    }

    #[test]
    fn line_metadata_is_split_at_whitespace_and_never_checked() {
        assert_eq!(ok(b"c3/return :x \"a  b\"  { } break/x _loop0x1 # c\n"), "c3/return :x \"a b\" { } break/x _loop0x1 \n");
        assert_eq!(ok(b"{\neb/jump loop/disp8 :note break/x\n}\n"), "_loop0x00000001:\neb/jump _loop0x00000001/disp8 :note break/x \n_break0x00000001:\n");
    }

    #[test]
    fn a_brace_must_stand_alone_on_its_line() {
        for (text, word, line) in [
            (&b"{ 7c/jump-if-lesser break/disp8\n}\n"[..], &b"7c/jump-if-lesser"[..], 1),
            (b"{\n}{\n", b"}{", 2),
            (b"{\n} {\n}\n", b"{", 2),
            (b"{}\n", b"{}", 1),
            (b"{\n}#end\n", b"}#end", 2),
            (b"{ :note\n}\n", b":note", 1),
            (b"{ \"x\"\n}\n", b"\"x\"", 1),
            (b"c3/return }\n", b"}", 1),
            (b"$scan: {\n", b"{", 1),
            (b"\"x\" {\n", b"{", 1),
        ] {
            let e = err(text);
            assert_eq!((e.line, e.word.as_deref()), (Some(line), Some(word)), "{e}");
        }
        assert!(err(b"$scan: {\n").to_string().contains("put the label on the line before"));
        // Braces later inside a word, or not first and longer, are ordinary.
        assert_eq!(ok(b"x{ c3 {x }y\n"), "x{ c3 {x }y \n");
    }

    #[test]
    fn every_block_is_closed_and_every_close_has_a_block() {
        let e = err(b"{\n{\n}\n");
        assert_eq!((e.line, e.to_string()), (Some(1), "line 1: '{' is never closed: every block needs a line holding '}' where it ends".into()));
        let e = err(b"{\n}\nx\n}\n");
        assert_eq!(e.line, Some(4));
        assert!(e.to_string().contains("'}' has no matching '{'"), "{e}");
    }

    #[test]
    fn break_and_loop_outside_a_block_are_errors() {
        let e = err(b"x\neb/jump break/disp8\n");
        assert_eq!(e.to_string().split(':').take(2).collect::<Vec<_>>(), ["line 2", " 'break/disp8' is not inside a block"]);
        assert_eq!(err(b"{\n}\nloop/x\n").line, Some(3));
    }

    #[test]
    fn generated_names_are_reserved() {
        for text in [&b"_loop0x00000001:\n"[..], b"eb/jump _break0x00000001/disp8\n", b"_loop0x\n"] {
            assert!(err(text).message.contains("reserved"), "{:?}", String::from_utf8_lossy(text));
        }
        assert_eq!(ok(b"_loop _break0 _loopx\n"), "_loop _break0 _loopx \n");
    }

    #[test]
    fn every_byte_but_whitespace_is_a_word_byte() {
        assert_eq!(braces(b"\x00\xff a\x80\n").unwrap(), b"\x00\xff a\x80 \n");
    }

    #[test]
    fn the_line_map_maps_every_line_to_itself_label_lines_included() {
        let mut map = LineMap::in_memory();
        run(&mut &b"{\n  c3/return\n\n}"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 4\n");
    }
}

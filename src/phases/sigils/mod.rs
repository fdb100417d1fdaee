//! Phase `sigils`: writes Mu's addressing-mode sugar out as plain SubX, the
//! third sugar phase (`braces | calls | sigils | tests | ...`).
//!
//! In code, a word `%reg` (a register), `*reg` or `*(base+index<<scale+disp)`
//! (memory at a computed address) or `*Label` (memory at a label) becomes
//! the `mod`, `rm32`, SIB and `disp32` operands it stands for
//! (`sigils/operand.rs` says how). Every other word is copied; every line
//! comes out re-spaced, words separated by one space, comments dropped.
//!
//! ```
//! use subx::phases::sigils;
//! use subx::line_map::LineMap;
//! let program = b"== code\n  89/copy  %eax  1/r32/ecx  # ecx to eax\n  8b/copy *(ebp+8) 0/r32/eax\n";
//! let mut out = Vec::new();
//! sigils::run(&mut &program[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(
//!     out,
//!     b"== code \n89/copy 3/mod/direct 0x00000000/rm32 1/r32/ecx \n\
//!       8b/copy 2/mod/*+disp32 4/rm32/sib 0x00000005/base 0x00000004/index \
//!       0x00000000/scale 0x00000008/disp32 0/r32/eax \n"
//! );
//! ```
//!
//! `docs/walkthrough.md` ("Sugar 3: `sigils`") shows `sigils` at work on a
//! whole program, between `calls` and the core phases.
//!
//! The rules (`phases/sigils.md`; the CONTRACT's decisions 19 to 34):
//! - every input line gives one output line ending in LF; any whitespace
//!   separates words (decision 20); a word beginning with `#` drops the
//!   rest of the line (W1 to W7);
//! - a string literal (`"a b"/imm32`) is one word, its closing quote found
//!   past backslash escapes (W3); a `*(` word runs to the first `)` on the
//!   line, spaces and all, and on to the next whitespace (W4);
//! - only a word's first byte counts: `%` and `*` are sigils, `+` and `<`
//!   are errors unless the `+` word is a number with an operand type
//!   (`+4/imm32`, decision 33), everything else is copied (K1 to K5);
//! - a word beginning with `:` starts line metadata, copied word by word
//!   with nothing expanded or checked (decision 30);
//! - segments are followed as `assort` follows them: header lines are
//!   re-spaced and nothing on them is interpreted; sigils are expanded in
//!   `code` and before the first header, and are errors in every other
//!   segment, where `+` and `<` words are copied (decision 31).
//!
//! `sigils` streams: it rewrites a block of lines at a time, in memory that
//! does not grow with the input.

mod operand;

use std::io::{BufRead, Write};

use crate::error::{printable, Error};
use crate::line_map::LineMap;
use crate::read::{self, Blocks};
use crate::words::{is_comment, is_space, line_start, space_len, string_literal_len, word_len, words, LineStart, Word};

/// `--help` text.
pub fn help() -> String {
    "sigils: write Mu's addressing-mode sugar as plain SubX (the third sugar phase).\n\
     \n\
     Reads:  on stdin, SubX text whose code may write a ModR/M operand as '%reg'\n        \
             (a register), '*reg' or '*(base+index<<scale+disp)' (memory at a\n        \
             register-computed address) or '*Label' (memory at a label).\n\
     Writes: on stdout, the same lines with each such word replaced by the 'mod',\n        \
             'rm32', SIB and 'disp32' operands it stands for, comments dropped and\n        \
             words separated by one space.\n\
     \n\
     Example:\n  \
       $ printf '== code\\n89/copy %%ecx 0/r32/eax\\n8b/copy *(esi+4) 0/r32/eax\\n' | sigils\n  \
       == code \n  \
       89/copy 3/mod/direct 0x00000001/rm32 0/r32/eax \n  \
       8b/copy 2/mod/*+disp32 0x00000006/rm32 0x00000004/disp32 0/r32/eax \n"
        .to_string()
}

/// Output is gathered in memory and written in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 16;

/// Rewrites `input` onto `output`, line by line.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut blocks = Blocks::new(input);
    let mut out = Vec::with_capacity(2 * WRITE_CHUNK);
    let mut segment = Segment::default();
    let mut line_number: u64 = 0;
    while let Some(block) = blocks.next_block()? {
        let first_line = line_number + 1;
        for line in read::lines(block) {
            line_number += 1;
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let treatment = match header_name(content) {
                Some(name) => {
                    segment.switch_to(name);
                    Treatment::Copy
                }
                None if segment.is_code() => Treatment::Expand,
                None => Treatment::Refuse,
            };
            rewrite_line(content, line_number, treatment, &segment, &mut out)?;
            if out.len() >= WRITE_CHUNK {
                output.write_all(&out)?;
                out.clear();
            }
        }
        // Each output line comes from the input line of the same number.
        line_map.lines_from(first_line, line_number + 1 - first_line);
    }
    output.write_all(&out)?;
    Ok(())
}

/// The segment the lines being read belong to.
#[derive(Default)]
struct Segment {
    /// Its name (empty before the first header).
    name: Vec<u8>,
}

impl Segment {
    fn switch_to(&mut self, name: Option<&[u8]>) {
        // A header without a name (which `assort` rejects) changes nothing.
        if let Some(name) = name {
            self.name.clear();
            self.name.extend_from_slice(name);
        }
    }

    /// Sigils are expanded: the segment is `code`, or no header came yet.
    fn is_code(&self) -> bool {
        self.name.is_empty() || self.name == b"code"
    }
}

/// `Some(name)` when `content` is a segment header (its first word, `.`
/// fillers skipped, is `==`), `name` being its second word if it has one.
fn header_name(content: &[u8]) -> Option<Option<&[u8]>> {
    // A cheap look first: most lines cannot be headers.
    let first = content.iter().find(|&&b| !is_space(b))?;
    if !matches!(first, b'=' | b'.') {
        return None;
    }
    match line_start(content) {
        LineStart::Header { name } => Some(name),
        _ => None,
    }
}

/// What happens to the sigil words of a line, and to `+` and `<` words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Treatment {
    /// In code: sigils are expanded, `+` and `<` words checked.
    Expand,
    /// In another segment: sigils are errors, `+` and `<` words copied.
    Refuse,
    /// On a header line: every word is copied (decision 31).
    Copy,
}

/// Appends the rewritten `content` (one line, without its LF) to `out`.
fn rewrite_line(
    content: &[u8],
    line_number: u64,
    treatment: Treatment,
    segment: &Segment,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut at = 0;
    loop {
        at += space_len(&content[at..]);
        let rest = &content[at..];
        let Some(&first) = rest.first() else { break };
        let len = match first {
            b'#' => break,
            b':' => {
                copy_line_metadata(rest, out);
                break;
            }
            // An unclosed literal is passed on whole, for `dquotes` to reject.
            b'"' => string_literal_len(rest).unwrap_or(rest.len()),
            b'*' if treatment == Treatment::Expand && rest.get(1) == Some(&b'(') => {
                expression_len(rest).ok_or_else(|| unclosed_expression(rest, line_number))?
            }
            _ => word_len(rest),
        };
        let word = &rest[..len];
        match (first, treatment) {
            (b'%' | b'*', Treatment::Expand) => {
                operand::expand(word, out).map_err(|message| Error::at(line_number, word, message))?;
            }
            (b'%' | b'*', Treatment::Refuse) => return Err(sigil_outside_code(word, line_number, segment)),
            (b'+' | b'<', Treatment::Expand) if !is_typed_plus_number(word) => {
                return Err(plus_or_less_word(word, line_number));
            }
            _ => {
                out.extend_from_slice(word);
                out.push(b' ');
            }
        }
        at += len;
    }
    out.push(b'\n');
    Ok(())
}

/// Copies line metadata (`text` starts with its `:` word) word by word, up
/// to a comment: no literal, no sigil, nothing checked (decision 30).
fn copy_line_metadata(text: &[u8], out: &mut Vec<u8>) {
    for word in words(text).take_while(|w| !is_comment(w)) {
        out.extend_from_slice(word);
        out.push(b' ');
    }
}

/// The length of the `*(...)` word at the start of `text`: to the first
/// `)`, then on to the next whitespace (W4). `None` without a `)`.
fn expression_len(text: &[u8]) -> Option<usize> {
    let after = memchr::memchr(b')', text)? + 1;
    Some(after + word_len(&text[after..]))
}

fn unclosed_expression(text: &[u8], line_number: u64) -> Error {
    Error::at(
        line_number,
        &text[..word_len(text)],
        "missing ')' on this line; a '*(...)' operand must close on its line",
    )
}

/// Is `word` (beginning with `+`) a number with an operand type, such as
/// `+4/imm32`? Such a word is copied, for `pack` to read (decision 33).
fn is_typed_plus_number(word: &[u8]) -> bool {
    word[0] == b'+' && Word::new(word).metadata().any(operand::is_operand_type)
}

fn plus_or_less_word(word: &[u8], line_number: u64) -> Error {
    let message = if word[0] == b'+' {
        "'+' is only allowed inside '*(...)', as in '*(eax+4)' (or on a number with an \
         operand type, such as '+4/imm32')"
    } else {
        "'<' is only allowed inside '*(...)', as in '*(eax+ecx<<2)'"
    };
    Error::at(line_number, word, message)
}

fn sigil_outside_code(word: &[u8], line_number: u64, segment: &Segment) -> Error {
    Error::at(
        line_number,
        word,
        format!(
            "addressing sugar is only allowed in the code segment, and this line is in segment '{}'; \
             write data as numbers and labels",
            printable(&segment.name)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigils(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    fn ok(text: &[u8]) -> String {
        match sigils(text) {
            Ok(out) => String::from_utf8_lossy(&out).into_owned(),
            Err(e) => panic!("{:?} rejected: {e}", String::from_utf8_lossy(text)),
        }
    }

    fn rejects(text: &[u8]) -> Error {
        match sigils(text) {
            Ok(out) => panic!("{:?} accepted: {:?}", String::from_utf8_lossy(text), String::from_utf8_lossy(&out)),
            Err(e) => e,
        }
    }

    #[test]
    fn lines_are_respaced_one_output_line_per_input_line() {
        assert_eq!(ok(b""), "");
        assert_eq!(ok(b"  a   b\tc\r\n\n   \n\x0bd\x0ce"), "a b c \n\n\nd e \n");
        assert_eq!(ok(b"   "), "\n");
    }

    #[test]
    fn comments_drop_the_rest_of_the_line_but_not_inside_a_word() {
        assert_eq!(ok(b"# %eax\nc3 # *( +4 <<\n"), "\nc3 \n");
        assert_eq!(ok(b"a#b\n"), "a#b \n");
    }

    #[test]
    fn a_string_literal_is_one_word_whatever_it_holds() {
        assert_eq!(ok(b"68/push  \"a  %eax # +1\"/imm32  x\n"), "68/push \"a  %eax # +1\"/imm32 x \n");
        assert_eq!(ok(b"\"say \\\"hi\\\"\"\t\"\\\\\" x\n"), "\"say \\\"hi\\\"\" \"\\\\\" x \n");
        // Unclosed: the rest of the line, for dquotes to reject.
        assert_eq!(ok(b"68/push \"open  %eax\n"), "68/push \"open  %eax \n");
    }

    #[test]
    fn only_the_first_byte_selects_a_sigil() {
        assert_eq!(ok(b"1/mod/*+disp8 $a%b: x*y -4/disp8\n"), "1/mod/*+disp8 $a%b: x*y -4/disp8 \n");
    }

    #[test]
    fn sigils_are_expanded_in_code_and_before_the_first_header() {
        assert_eq!(ok(b"89/copy %eax 1/r32/ecx\n"), "89/copy 3/mod/direct 0x00000000/rm32 1/r32/ecx \n");
        assert_eq!(
            ok(b"== data\nX:\n== code\nff 6/subop/push *X\n"),
            "== data \nX: \n== code \nff 6/subop/push 0/mod/indirect 5/rm32/.disp32 X/disp32 \n"
        );
    }

    #[test]
    fn an_expression_runs_to_the_first_paren_on_its_line() {
        assert_eq!(
            ok(b"8b/copy *( eax + ecx << 2 + 4 )/x 0/r32/eax\n"),
            "8b/copy 2/mod/*+disp32 4/rm32/sib 0x00000000/base 0x00000001/index 0x00000002/scale 0x00000004/disp32 0/r32/eax \n"
        );
        let e = rejects(b"c3\n8b/copy *(eax+4 0/r32/eax\n");
        assert_eq!(e.to_string(), "line 2: '*(eax+4': missing ')' on this line; a '*(...)' operand must close on its line");
        // The first ')' ends it, even one meant for a later word.
        assert!(rejects(b"8b/copy *(eax # note) 0/r32/eax\n").message.contains("got '#'"));
    }

    #[test]
    fn sigils_outside_code_are_errors_other_words_are_copied() {
        let e = rejects(b"== code\n== data\nX:\n  01 +5/imm32 <x\n  %eax\n");
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("only allowed in the code segment") && e.message.contains("'data'"), "{e}");
        assert_eq!(rejects(b"== bss\n*(eax + 4)\n").word.as_deref(), Some(&b"*(eax"[..]));
        assert_eq!(ok(b"== data\n01 +5/imm32 <<2 +x\n"), "== data \n01 +5/imm32 <<2 +x \n");
    }

    #[test]
    fn headers_are_found_past_fillers_and_copied_uninterpreted() {
        assert_eq!(rejects(b". == data\n%eax\n").line, Some(2));
        assert_eq!(ok(b"== data +0x0a000000 %eax *( # c\n"), "== data +0x0a000000 %eax *( \n");
        assert_eq!(ok(b"== code \"a  b\" :m  x\n"), "== code \"a  b\" :m x \n");
        // A header without a name changes nothing.
        assert_eq!(ok(b"== code\n==\n%eax\n"), "== code \n== \n3/mod/direct 0x00000000/rm32 \n");
        assert_eq!(ok(b"==code\n%eax\n"), "==code \n3/mod/direct 0x00000000/rm32 \n");
    }

    #[test]
    fn line_metadata_is_copied_word_by_word_in_every_segment() {
        assert_eq!(ok(b"c3 :m %eax +4 <<2 *( \"a  b\"  # *x\n"), "c3 :m %eax +4 <<2 *( \"a b\" \n");
        assert_eq!(ok(b"== data\n01 :m %eax\n"), "== data \n01 :m %eax \n");
    }

    #[test]
    fn plus_words_pass_in_code_only_as_typed_numbers() {
        assert_eq!(ok(b"05 +4/imm32 +0x10/disp8/note\n"), "05 +4/imm32 +0x10/disp8/note \n");
        for text in [&b"8b/copy *eax +4 0/r32/eax\n"[..], b"+ecx\n", b"+4/x\n", b"+4/imm16\n"] {
            let e = rejects(text);
            assert!(e.message.starts_with("'+' is only allowed inside '*(...)'"), "{e}");
        }
        for text in [&b"<<2\n"[..], b"<2/imm32\n"] {
            assert!(rejects(text).message.starts_with("'<' is only allowed"));
        }
    }

    #[test]
    fn errors_name_the_line_and_the_whole_sigil_word() {
        let e = rejects(b"== code\nc3\n8b/copy *(eax+ecx 4)/x 0/r32/eax\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.word.as_deref(), Some(&b"*(eax+ecx 4)/x"[..]));
    }

    #[test]
    fn the_line_map_maps_each_line_to_itself() {
        let mut map = LineMap::in_memory();
        run(&mut &b"== code\n%eax\n\nx"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 4\n");
    }

    #[test]
    fn long_lines_and_many_lines_stream_through() {
        let line = b"89/copy *(ebp+8) 0/r32/eax ".repeat(10_000);
        let mut text = Vec::new();
        for _ in 0..10 {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        let out = sigils(&text).unwrap();
        let expanded = b"89/copy 2/mod/*+disp32 4/rm32/sib 0x00000005/base 0x00000004/index 0x00000000/scale 0x00000008/disp32 0/r32/eax ";
        assert_eq!(out.len(), 10 * (10_000 * expanded.len() + 1));
        assert!(out.starts_with(expanded));
    }
}

//! Phase `calls`: one-line function calls `(f a b)`, the second sugar
//! phase (`phases/calls.md`).
//!
//! A line whose first byte after whitespace is `(` is a call: the function
//! called, then its arguments, then `)`. It becomes a comment holding the
//! line, then the cdecl sequence: push the arguments from last to first,
//! call, drop the arguments from the stack. Every other line is copied
//! byte for byte.
//!
//! ```
//! use subx::phases::calls;
//! use subx::line_map::LineMap;
//! let program = b"(write-int out *(ebp+8) 0x2a)\nc3/return\n";
//! let mut out = Vec::new();
//! calls::run(&mut &program[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(
//!     out,
//!     b"# . (write-int out *(ebp+8) 0x2a)\n\
//!       68/push 0x2a/imm32\n\
//!       ff 6/subop/push *(ebp+8)\n\
//!       68/push out/imm32\n\
//!       e8/call write-int/disp32\n\
//!       81 0/subop/add %esp 0x0000000c/imm32\n\
//!       c3/return\n"
//! );
//! ```
//!
//! `docs/walkthrough.md` ("Sugar 2: `calls`") shows `calls` at work on a
//! whole program, between `braces` and `sigils`.
//!
//! The rules (`phases/calls.md` sections 3 and 6):
//! - an argument beginning with `%` or `*` is pushed with `ff 6/subop/push`,
//!   any other with `68/push .../imm32` (C6); the adjustment is 4 bytes an
//!   argument, written `0x` and at least 8 hex digits, even for none (C7);
//! - the comment line is `# . ` and the line as read, and always ends with
//!   an LF (C3, CONTRACT decision 29);
//! - any ASCII whitespace separates the words of a call (CONTRACT decision
//!   20); a string literal ends at its closing quote, a `*(` operand at the
//!   first `)` of the line, and what follows either must be whitespace or
//!   `)` (C4, CONTRACT decision 28);
//! - after the `)` comes only whitespace and perhaps a comment; a call
//!   without its `)`, or with a comment before it, is an error (C5,
//!   CONTRACT decision 26);
//! - no `/` outside string literals and `*(...)` (C8), no word beginning
//!   with `(` (calls do not nest) or `:` (line metadata) (CONTRACT decision
//!   28);
//! - the function called is a name: not a number, `.`, operand or string
//!   (CONTRACT decision 27);
//! - calls stand in the segment named `code` (or before the first header);
//!   segments are followed as `assort` follows them (CONTRACT decision 27);
//! - every line written for a call maps to the call's line in the line
//!   map, so a later phase's error there names the call (section 7,
//!   CONTRACT rule 4).
//!
//! `calls` streams: it copies runs of ordinary lines straight from its
//! input buffer and keeps only the current call's words.

use std::io::{BufRead, Write};
use std::ops::Range;

use crate::error::{printable, Error};
use crate::line_map::LineMap;
use crate::number::{looks_like_number, push_hex_0x8};
use crate::read::{self, Blocks};
use crate::words::{closing_quote, is_space, line_start, space_len, trim_space, word_len, words, LineStart};

/// `--help` text.
pub fn help() -> String {
    "calls: expand one-line function calls '(f a b)' (the second sugar phase).\n\
     \n\
     Reads:  on stdin, SubX source (the output of 'braces') in which a line that\n        \
             starts with '(' calls a function: '(NAME ARG1 ARG2 ...)'.\n\
     Writes: on stdout, each call as a comment '# . (NAME ...)', a push of each\n        \
             argument from the last to the first ('ff 6/subop/push' for '%reg'\n        \
             and '*...' operands, '68/push ARG/imm32' for others), 'e8/call' and\n        \
             the stack adjustment; every other line unchanged (the input of 'sigils').\n\
     \n\
     Example:\n  \
       $ echo '(f 1 %eax)' | calls\n  \
       # . (f 1 %eax)\n  \
       ff 6/subop/push %eax\n  \
       68/push 1/imm32\n  \
       e8/call f/disp32\n  \
       81 0/subop/add %esp 0x00000008/imm32\n"
        .to_string()
}

/// Expands the calls of `input` onto `output`, copying every other line.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut blocks = Blocks::new(input);
    let mut segment = Segment::default();
    let mut call = Call::default();
    let mut line_number: u64 = 0;
    while let Some(block) = blocks.next_block()? {
        // Lines are copied in runs: `block[copy_from..at]`, which holds
        // `copied` lines starting at input line `line_number + 1 - copied`.
        let mut copy_from = 0;
        let mut copied: u64 = 0;
        let mut at = 0;
        for line in read::lines(block) {
            line_number += 1;
            let line_at = at;
            at += line.len();
            match line.iter().find(|&&b| !is_space(b)) {
                Some(b'(') => {}
                Some(b'=' | b'.') => {
                    segment.follow(line);
                    copied += 1;
                    continue;
                }
                _ => {
                    copied += 1;
                    continue;
                }
            }
            output.write_all(&block[copy_from..line_at])?;
            line_map.lines_from(line_number - copied, copied);
            copy_from = at;
            copied = 0;
            segment.check_code(line, line_number)?;
            let lines = call.expand(line, line_number)?;
            output.write_all(&call.text)?;
            line_map.lines_generated_for(line_number, lines);
        }
        output.write_all(&block[copy_from..])?;
        line_map.lines_from(line_number + 1 - copied, copied);
    }
    Ok(())
}

/// The segment the current line is in, followed as `assort` follows it.
#[derive(Default)]
struct Segment {
    /// Its name; `None` before the first header, which counts as code.
    name: Option<Vec<u8>>,
}

impl Segment {
    /// Notes the segment a header line switches to (a header without a
    /// name changes nothing: `assort` rejects it).
    fn follow(&mut self, line: &[u8]) {
        if let LineStart::Header { name: Some(name) } = line_start(line) {
            let held = self.name.get_or_insert_with(Vec::new);
            held.clear();
            held.extend_from_slice(name);
        }
    }

    /// Calls stand in code only (CONTRACT decision 27).
    fn check_code(&self, line: &[u8], line_number: u64) -> Result<(), Error> {
        match &self.name {
            Some(name) if name != b"code" => Err(Error::at(
                line_number,
                trim_space(line),
                format!(
                    "is a call outside the code segment (this line is in '{}'); calls are only \
                     allowed in 'code'",
                    printable(name)
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// One call being expanded; its buffers are reused from call to call.
#[derive(Default)]
struct Call {
    /// Where the words (the function called, then the arguments) lie in the
    /// line.
    words: Vec<Range<usize>>,
    /// The lines written for the call.
    text: Vec<u8>,
}

impl Call {
    /// Reads the call on `line`, writes its expansion into `self.text` and
    /// returns how many lines that is.
    fn expand(&mut self, line: &[u8], line_number: u64) -> Result<u64, Error> {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        self.read_words(content, line_number)?;
        let Some((callee, arguments)) = self.words.split_first() else {
            return Err(Error::at(line_number, trim_space(content), "is an empty call: name the function to call, as in '(f 1 2)'"));
        };
        let callee = &content[callee.clone()];
        check_callee(callee, line_number)?;
        let text = &mut self.text;
        text.clear();
        text.extend_from_slice(b"# . ");
        text.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            text.push(b'\n');
        }
        for argument in arguments.iter().rev() {
            let argument = &content[argument.clone()];
            if matches!(argument[0], b'%' | b'*') {
                text.extend_from_slice(b"ff 6/subop/push ");
                text.extend_from_slice(argument);
                text.push(b'\n');
            } else {
                text.extend_from_slice(b"68/push ");
                text.extend_from_slice(argument);
                text.extend_from_slice(b"/imm32\n");
            }
        }
        text.extend_from_slice(b"e8/call ");
        text.extend_from_slice(callee);
        text.extend_from_slice(b"/disp32\n81 0/subop/add %esp ");
        push_hex_0x8(text, 4 * arguments.len() as u64);
        text.extend_from_slice(b"/imm32\n");
        // The comment, a push for each argument, the call, the adjustment.
        Ok(3 + arguments.len() as u64)
    }

    /// Finds the words between the `(` and the `)` of the call on
    /// `content` (a line without its LF), and checks what follows the `)`.
    fn read_words(&mut self, content: &[u8], line_number: u64) -> Result<(), Error> {
        self.words.clear();
        // `run` saw that the line's first byte after whitespace is the `(`.
        let open = space_len(content);
        let mut at = open + 1;
        loop {
            at += space_len(&content[at..]);
            let rest = &content[at..];
            let Some(&first) = rest.first() else {
                let call = &content[open..];
                let hint = match self.words.last() {
                    Some(last) if content[last.clone()].starts_with(b"*(") => {
                        " (a '*(...)' operand ends at the first ')' after it)"
                    }
                    _ => "",
                };
                return Err(Error::at(
                    line_number,
                    call,
                    format!("has no ')': a call ends with ')' on its own line{hint}"),
                ));
            };
            let len = match first {
                b')' => return after_call(&rest[1..], line_number),
                b'#' => {
                    return Err(Error::at(
                        line_number,
                        rest,
                        "is a comment inside the call: close the call with ')' before the comment",
                    ))
                }
                b'(' => {
                    return Err(Error::at(
                        line_number,
                        plain_word(rest),
                        "starts a call inside a call, but calls cannot be nested: make the inner \
                         call on a line of its own first",
                    ))
                }
                b':' => {
                    return Err(Error::at(
                        line_number,
                        plain_word(rest),
                        "is line metadata, which cannot stand inside a call; make it a comment after the call",
                    ))
                }
                b'"' => {
                    let Some(close) = closing_quote(rest) else {
                        return Err(Error::at(
                            line_number,
                            rest,
                            "is a string literal that is not closed on this line; end it with '\"'",
                        ));
                    };
                    ends_at(rest, close + 1, "string literal", line_number)?
                }
                b'*' if rest.get(1).is_none_or(|&b| is_space(b)) => {
                    return Err(Error::at(
                        line_number,
                        b"*",
                        "is followed by whitespace: write its operand right after it, as in '*eax' or \
                         '*(ebp+8)'",
                    ))
                }
                b'*' if rest[1] == b'(' => {
                    let Some(close) = memchr::memchr(b')', rest) else {
                        return Err(Error::at(
                            line_number,
                            rest,
                            "is not closed on this line: a '*(...)' operand ends with ')' on its line",
                        ));
                    };
                    ends_at(rest, close + 1, "'*(...)' operand", line_number)?
                }
                _ => {
                    let word = plain_word(rest);
                    if memchr::memchr(b'/', word).is_some() {
                        if self.words.is_empty() {
                            check_callee(word, line_number)?;
                        }
                        return Err(no_metadata(word, line_number));
                    }
                    word.len()
                }
            };
            self.words.push(at..at + len);
            at += len;
        }
    }
}

/// The word at the start of `text` that ends at whitespace or `)`.
fn plain_word(text: &[u8]) -> &[u8] {
    let len = word_len(text);
    let len = memchr::memchr(b')', &text[..len]).unwrap_or(len);
    &text[..len]
}

/// Checks that a string literal or `*(...)` operand whose text ends at
/// `text[end]` is followed by whitespace or `)`, and returns `end`
/// (CONTRACT decision 28).
fn ends_at(text: &[u8], end: usize, what: &str, line_number: u64) -> Result<usize, Error> {
    match text.get(end) {
        Some(&b) if !is_space(b) && b != b')' => {
            let glued = plain_word(&text[end..]);
            let word = &text[..end + glued.len()];
            if glued[0] == b'/' {
                return Err(no_metadata(word, line_number));
            }
            Err(Error::at(
                line_number,
                word,
                format!(
                    "has text '{}' right after its {what}: separate the arguments with a space",
                    printable(glued)
                ),
            ))
        }
        _ => Ok(end),
    }
}

fn no_metadata(word: &[u8], line_number: u64) -> Error {
    Error::at(
        line_number,
        word,
        "has metadata, but nothing in a call may: each push chooses its own operand type; drop the '/...'",
    )
}

/// Checks what follows the `)` of a call: whitespace, then perhaps a
/// comment (C5).
fn after_call(rest: &[u8], line_number: u64) -> Result<(), Error> {
    let Some(word) = words(rest).next() else {
        return Ok(());
    };
    let what = match word[0] {
        b'#' => return Ok(()),
        b'/' => "is metadata after a call, but a call takes none; use a comment instead",
        b':' => "is line metadata after a call, but a call takes none; use a comment instead",
        _ => "is unexpected after the end of the call: one call per line, and only a comment may follow its ')'",
    };
    Err(Error::at(line_number, word, what))
}

/// The function called must be a name (CONTRACT decision 27, `language.md`
/// 4.1 and 7.1). Words beginning with `(`, `:` or `#` never get this far.
fn check_callee(callee: &[u8], line_number: u64) -> Result<(), Error> {
    let why = match callee[0] {
        b'%' | b'*' => "it is an operand",
        b'"' => "it is a string literal",
        _ if memchr::memchr(b'/', callee).is_some() => "a name holds no '/' (nothing in a call takes metadata)",
        _ if callee == b"." => "it is a '.' column filler",
        _ if callee.len() == 2 && !matches!(callee[0], b'-' | b'+' | b'0'..=b'9') => {
            "a word of two characters is a number in SubX"
        }
        _ if looks_like_number(callee) => "it starts with a digit or a sign, so it is a number",
        _ => return Ok(()),
    };
    Err(Error::at(
        line_number,
        callee,
        format!("is not a name: the function called must be a name (a label), and {why}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_map::source_of;

    fn calls(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    fn ok(text: &[u8]) -> String {
        String::from_utf8_lossy(&calls(text).unwrap()).into_owned()
    }

    fn err(text: &[u8]) -> Error {
        calls(text).unwrap_err()
    }

    /// The lines written for a call, without its comment line.
    fn expansion(text: &[u8]) -> Vec<String> {
        ok(text).lines().skip(1).map(str::to_string).collect()
    }

    #[test]
    fn other_lines_are_copied_byte_for_byte() {
        for text in [&b""[..], b"  a   b\t# c (f)\r\n\n x (f 1)\n$x: (f 1)\n. (f 1)\nlast", b"\xff\x00 (\n"] {
            assert_eq!(calls(text).unwrap(), text);
        }
    }

    #[test]
    fn arguments_are_pushed_from_last_to_first_by_their_first_byte() {
        assert_eq!(
            expansion(b"(f *(ebp+8) \"s\" %ecx 3 Var *Var %esi -1)\n"),
            [
                "68/push -1/imm32",
                "ff 6/subop/push %esi",
                "ff 6/subop/push *Var",
                "68/push Var/imm32",
                "68/push 3/imm32",
                "ff 6/subop/push %ecx",
                "68/push \"s\"/imm32",
                "ff 6/subop/push *(ebp+8)",
                "e8/call f/disp32",
                "81 0/subop/add %esp 0x00000020/imm32",
            ]
        );
    }

    #[test]
    fn a_call_without_arguments_still_adjusts_the_stack() {
        assert_eq!(ok(b"(f)\n"), "# . (f)\ne8/call f/disp32\n81 0/subop/add %esp 0x00000000/imm32\n");
    }

    #[test]
    fn calls_take_any_number_of_arguments() {
        let mut text = b"(f".to_vec();
        for _ in 0..1000 {
            text.extend_from_slice(b" 1");
        }
        text.extend_from_slice(b")\n");
        let out = expansion(&text);
        assert_eq!(out.len(), 1002);
        assert_eq!(out[1001], "81 0/subop/add %esp 0x00000fa0/imm32");
    }

    #[test]
    fn the_comment_line_keeps_the_line_as_read_and_ends_with_lf() {
        assert_eq!(ok(b"\t (f 1)  # note\r\n").split('\n').next(), Some("# . \t (f 1)  # note\r"));
        assert_eq!(ok(b"c3/return\n(f)"), "c3/return\n# . (f)\ne8/call f/disp32\n81 0/subop/add %esp 0x00000000/imm32\n");
    }

    #[test]
    fn every_whitespace_separates_the_words_of_a_call() {
        assert_eq!(expansion(b"\x0b( f\t%eax\x0c1\r)\n")[..3], ["68/push 1/imm32", "ff 6/subop/push %eax", "e8/call f/disp32"]);
    }

    #[test]
    fn strings_and_star_operands_keep_what_they_hold() {
        assert_eq!(
            expansion(b"(f \"a b)#\" \"x\\\")\" *(ebp + 8) \"\")\n")[..4],
            ["68/push \"\"/imm32", "ff 6/subop/push *(ebp + 8)", "68/push \"x\\\")\"/imm32", "68/push \"a b)#\"/imm32"]
        );
        // What they hold is for later phases to judge.
        assert_eq!(expansion(b"(f % *(eax/x) *)\n")[..3], ["ff 6/subop/push *", "ff 6/subop/push *(eax/x)", "ff 6/subop/push %"]);
    }

    #[test]
    fn only_whitespace_and_a_comment_may_follow_the_call() {
        assert_eq!(ok(b"(f)#x\n(g) \t# y\n").matches("e8/call").count(), 2);
        for (text, word) in [
            (&b"(f) (g)\n"[..], &b"(g)"[..]),
            (b"(f))\n", b")"),
            (b"(f)/x\n", b"/x"),
            (b"(f) /x\n", b"/x"),
            (b"(f 1) :note\n", b":note"),
        ] {
            assert_eq!(err(text).word.as_deref(), Some(word));
        }
    }

    #[test]
    fn a_call_is_closed_on_its_line() {
        for (text, word) in [
            (&b"(\n"[..], &b"("[..]),
            (b"(f %eax\n", b"(f %eax"),
            (b"  (f 1", b"(f 1"),
            (b"(f *(eax+4 1)\n", b"(f *(eax+4 1)"),
            (b"(f 1 # x)\n", b"# x)"),
        ] {
            let e = err(text);
            assert_eq!((e.line, e.word.as_deref()), (Some(1), Some(word)), "{e}");
        }
        assert!(err(b"(f *(eax+4 1)\n").message.contains("ends at the first ')'"));
    }

    #[test]
    fn a_call_needs_a_function() {
        for text in [&b"()\n"[..], b"(   )\n"] {
            assert!(err(text).to_string().contains("is an empty call"));
        }
    }

    #[test]
    fn the_function_called_is_a_name() {
        for callee in ["5", "-1", "+f", "0x10", "ab", ".", "%eax", "*eax", "*(eax)", "\"abc\"", "f/x"] {
            let e = err(format!("({callee} 1)\n").as_bytes());
            assert_eq!(e.word.as_deref(), Some(callee.as_bytes()), "{e}");
            assert!(e.message.contains("must be a name"), "{e}");
        }
        assert_eq!(expansion(b"(f)\n")[0], "e8/call f/disp32");
        assert_eq!(expansion(b"($abc:d)\n")[0], "e8/call $abc:d/disp32");
    }

    #[test]
    fn argument_shapes_are_checked() {
        for (text, word) in [
            (&b"(f \"a\"b)\n"[..], &b"\"a\"b"[..]),
            (b"(f \"a\"/imm32)\n", b"\"a\"/imm32"),
            (b"(f *(eax)x)\n", b"*(eax)x"),
            (b"(f \"abc)\n", b"\"abc)"),
            (b"(f *(eax\n", b"*(eax"),
            (b"(f (g 1))\n", b"(g"),
            (b"(f :note)\n", b":note"),
            (b"(f 1/imm32)\n", b"1/imm32"),
            (b"(f 1/x)\n", b"1/x"),
            (b"(f * eax)\n", b"*"),
            (b"(f *\teax)\n", b"*"),
            (b"(f *\n", b"*"),
        ] {
            let e = err(text);
            assert_eq!((e.line, e.word.as_deref()), (Some(1), Some(word)), "{e}");
        }
    }

    #[test]
    fn calls_stand_in_code_only() {
        let e = err(b"== code\n(f)\n== data\n(f 1 %eax)\n");
        assert_eq!(e.line, Some(4));
        assert_eq!(e.to_string(), "line 4: '(f 1 %eax)' is a call outside the code segment (this line is in 'data'); calls are only allowed in 'code'");
        let out = ok(b"(f)\n== data\nX:\n. == code 0x1\n(g)\n== # no name\n(h)\n");
        assert_eq!(out.matches("e8/call").count(), 3);
    }

    #[test]
    fn the_line_map_maps_a_calls_lines_to_the_call() {
        let mut map = LineMap::in_memory();
        run(&mut &b"a\nb\n(f 1)\nc\n(g)\n"[..], &mut Vec::new(), &mut map).unwrap();
        let map = map.finish_to_string();
        let sources: Vec<Option<u64>> = (1..=11).map(|line| source_of(&map, line)).collect();
        let want = [1, 2, 3, 3, 3, 3, 4, 5, 5, 5].map(Some);
        assert_eq!(sources[..10], want, "{map}");
        assert_eq!(sources[10], None);
    }
}

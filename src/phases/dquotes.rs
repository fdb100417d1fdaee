//! Phase `dquotes`: moves every string literal into the data segment.
//!
//! Each literal (a word beginning with `"`) becomes a generated label
//! `_stringN`, keeping the `/metadata` after its closing quote, and the
//! literal's bytes go under that label, after a 4-byte length, into a new
//! `== data` section at the end of the output. Along the way every line is
//! normalised: comments dropped, words separated by one space, a space
//! after the last word.
//!
//! ```
//! use subx::phases::dquotes;
//! use subx::line_map::LineMap;
//! let program = b"== code 0x09000000\n  68/push  \"Hi\\n\"/imm32  # greet\n";
//! let mut out = Vec::new();
//! dquotes::run(&mut &program[..], &mut out, &mut LineMap::off()).unwrap();
//! assert_eq!(
//!     out,
//!     b"== code 0x09000000 \n68/push _string1/imm32 \n\
//!       == data\n_string1:\n0x00000003/imm32 48/H 69/i 0a \n"
//! );
//! ```
//!
//! `docs/walkthrough.md` ("Phase 2: `dquotes`") shows `dquotes` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/text.md` section 3):
//! - every input line gives exactly one output line, ending in LF; words
//!   are split at any ASCII whitespace (CONTRACT rule 2), a word beginning
//!   with `#` drops the rest of the line (D1 to D4);
//! - a literal runs to the next unescaped `"` on its line, spaces and `#`
//!   included; only `\n`, `\"` and `\\` are escapes (D6, D8), an
//!   unterminated literal or another escape is an error (CONTRACT rule 4);
//! - after the closing quote only whitespace or `/metadata` may follow
//!   (CONTRACT decisions 5 and 10);
//! - literals are numbered `_string1`, `_string2`, ... in file order (D5);
//!   their entries are written grouped by segment, segments in order of
//!   first mention, file order within one (CONTRACT decision 10, the C++
//!   translator's order); each entry is a label line, `0x` and the 8-digit
//!   length `/imm32`, then the bytes as two hex digits each, letters and
//!   digits annotated (`68/h`), 64 bytes per line (D11, D12);
//! - `== data` is written even when there are no literals (D13);
//! - a word beginning with `:` starts line metadata: it and the rest of the
//!   line are copied as words and never make literals (CONTRACT decision 8);
//! - user names `_string<digits>`, defined or referred to, are errors
//!   (CONTRACT decision 10).
//!
//! `dquotes` streams its lines out as it reads them, and keeps only the
//! generated data section in memory until the end.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use crate::error::{printable, Error};
use crate::line_map::LineMap;
use crate::number::{push_decimal, push_hex_0x8, push_hex_byte};
use crate::read::Blocks;
use crate::words::{is_space, line_start, space_len, trim_space_end, word_len, LineStart, Word};

/// `--help` text.
pub fn help() -> String {
    "dquotes: move string literals into the data segment (the second SubX phase).\n\
     \n\
     Reads:  on stdin, SubX text (the output of 'tests').\n\
     Writes: on stdout, the same lines with comments dropped and words separated by\n        \
             one space, each string literal replaced by a label '_stringN', then a\n        \
             '== data' section holding each literal's length and bytes.\n\
     \n\
     Example:\n  \
       $ printf '== data\\n\"ok\"/imm32\\n' | dquotes\n  \
       == data \n  _string1/imm32 \n  == data\n  _string1:\n  0x00000002/imm32 6f/o 6b/k \n"
        .to_string()
}

/// Output is gathered in memory and written in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 16;

/// Rewrites `input` onto `output`, then writes the data section.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, line_map: &mut LineMap) -> Result<(), Error> {
    let mut segments = Segments::new();
    let mut literals: u64 = 0;
    let mut blocks = Blocks::new(input);
    let mut out = Vec::with_capacity(WRITE_CHUNK * 2);
    let mut line_number: u64 = 0;
    while let Some(block) = blocks.next_block()? {
        // Where the next `#`, `"` or `_` of the block is: a line before it
        // can hold no comment, literal or `_string` name. Found again once
        // a line has passed it.
        let mut next_special = 0;
        let mut start = 0;
        while start < block.len() {
            let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |at| start + at + 1);
            if next_special < start {
                next_special = memchr::memchr3(b'#', b'"', b'_', &block[start..]).map_or(block.len(), |at| start + at);
            }
            line_number += 1;
            let content = block[start..end].strip_suffix(b"\n").unwrap_or(&block[start..end]);
            let body_start = start + space_len(content);
            let body = &block[body_start..start + content.len()];
            let out_start = out.len();
            let header_like = matches!(body.first(), Some(b'=' | b'.'));
            if next_special >= end && !header_like {
                append_plain(body, &mut out);
            } else if !header_like && starts_plain_comment(block, body_start, next_special) {
                // Plain up to a comment: what comes after the `#` goes.
                append_plain(trim_space_end(&block[body_start..next_special]), &mut out);
            } else if let LineStart::Header { .. } = line_start(body) {
                // The segment is the one `assort` will see: named by the
                // rewritten line. Its literals belong to it, so they wait.
                let mut pending = Entries::default();
                rewrite_line(content, line_number, &mut literals, &mut pending, &mut out)?;
                segments.switch_to(header_name(&out[out_start..]));
                segments.current().append(pending);
            } else {
                rewrite_line(content, line_number, &mut literals, segments.current(), &mut out)?;
            }
            line_map.next_output_from(line_number);
            if out.len() >= WRITE_CHUNK {
                output.write_all(&out)?;
                out.clear();
            }
            start = end;
        }
    }
    out.extend_from_slice(b"== data\n");
    line_map.next_output_generated();
    output.write_all(&out)?;
    for entries in &segments.entries {
        output.write_all(&entries.text)?;
        for &(line, count) in &entries.origins {
            line_map.lines_generated_for(line, count);
        }
    }
    Ok(())
}

/// Appends `body` (a line from its first word on, without its LF) as
/// [`rewrite_line`] would, words separated by one space, for a line that
/// is plain: no `#` comment, `"` literal, `_string` name, and not a header.
/// Most lines are plain and take this quick path.
fn append_plain(body: &[u8], out: &mut Vec<u8>) {
    let mut rest = body;
    while !rest.is_empty() {
        let word = word_len(rest);
        out.extend_from_slice(&rest[..word]);
        out.push(b' ');
        rest = &rest[word..];
        rest = &rest[space_len(rest)..];
    }
    out.push(b'\n');
}

/// Does a comment start at `block[at]`, a `#` beginning a word, with no
/// `"` or `_` since `body_start`? (The caller knows there is none: `at` is
/// the first of them on the line.)
fn starts_plain_comment(block: &[u8], body_start: usize, at: usize) -> bool {
    block.get(at) == Some(&b'#') && (at == body_start || is_space(block[at - 1]))
}

/// The name of the segment a rewritten header line opens (empty when it
/// names none: `assort` rejects that header).
fn header_name(rewritten: &[u8]) -> &[u8] {
    match line_start(rewritten) {
        LineStart::Header { name: Some(name) } => name,
        _ => b"",
    }
}

/// Appends the rewritten `content` (one line, without its LF) to `out`,
/// and the entries of its literals to `entries`.
fn rewrite_line(
    content: &[u8],
    line_number: u64,
    literals: &mut u64,
    entries: &mut Entries,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut at = 0;
    let mut in_line_metadata = false;
    loop {
        at += space_len(&content[at..]);
        let rest = &content[at..];
        let Some(&first) = rest.first() else { break };
        if first == b'#' {
            break;
        }
        if first == b'"' && !in_line_metadata {
            let literal = string_literal(rest, line_number)?;
            *literals += 1;
            entries.add(*literals, &rest[1..literal.close], literal.length, line_number);
            out.extend_from_slice(b"_string");
            push_decimal(out, *literals);
            out.extend_from_slice(&rest[literal.close + 1..literal.end]);
            out.push(b' ');
            at += literal.end;
            continue;
        }
        let word = &rest[..word_len(rest)];
        if first == b':' {
            in_line_metadata = true;
        }
        if !in_line_metadata {
            check_not_reserved(word, line_number)?;
        }
        out.extend_from_slice(word);
        out.push(b' ');
        at += word.len();
    }
    out.push(b'\n');
    Ok(())
}

/// Where a literal ends, as offsets from its opening quote.
struct Literal {
    /// The closing quote.
    close: usize,
    /// Just past the word: past the `/metadata` after the closing quote.
    end: usize,
    /// The number of bytes it stands for, after escapes.
    length: usize,
}

/// Reads the literal at the start of `text` (which begins with `"`).
fn string_literal(text: &[u8], line_number: u64) -> Result<Literal, Error> {
    let mut at = 1;
    let mut escapes = 0;
    let close = loop {
        let Some(found) = memchr::memchr2(b'"', b'\\', &text[at..]) else {
            return Err(unterminated(text, line_number));
        };
        at += found;
        if text[at] == b'"' {
            break at;
        }
        match text.get(at + 1) {
            Some(b'n' | b'"' | b'\\') => {}
            Some(&other) => {
                return Err(Error::at(
                    line_number,
                    &text[..at + 2],
                    format!(
                        "unknown escape '\\{}' in string literal; only \\n, \\\" and \\\\ are supported",
                        printable(&[other])
                    ),
                ))
            }
            None => return Err(unterminated(text, line_number)),
        }
        escapes += 1;
        at += 2;
    };
    let end = close + 1 + word_len(&text[close + 1..]);
    if end > close + 1 && text[close + 1] != b'/' {
        return Err(Error::at(
            line_number,
            &text[..end],
            format!(
                "text '{}' right after the closing quote of a string literal; only /metadata \
                 (such as '/imm32') may follow it, or whitespace",
                printable(&text[close + 1..end])
            ),
        ));
    }
    Ok(Literal { close, end, length: close - 1 - escapes })
}

fn unterminated(text: &[u8], line_number: u64) -> Error {
    Error::at(
        line_number,
        &text[..word_len(text)],
        "string literal is not closed before the end of the line; end it with '\"' on the same line",
    )
}

/// Rejects a user's definition of, or reference to, a name `_string<digits>`,
/// which would clash with the generated labels (CONTRACT decision 10).
fn check_not_reserved(word: &[u8], line_number: u64) -> Result<(), Error> {
    if word.first() != Some(&b'_') {
        return Ok(());
    }
    let datum = Word::new(word).datum();
    let (name, definition) = match datum.strip_suffix(b":") {
        Some(name) => (name, true),
        None => (datum, false),
    };
    let Some(digits) = name.strip_prefix(b"_string") else {
        return Ok(());
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(());
    }
    let what = if definition {
        "this label's name is reserved: names '_string' followed by digits are given to \
         string literals; rename the label"
    } else {
        "names '_string' followed by digits are reserved for string literals, so this \
         reference would bind to a generated literal; rename the label it refers to"
    };
    Err(Error::at(line_number, word, what))
}

/// The data-section entries of one segment's literals, in file order.
#[derive(Default)]
struct Entries {
    text: Vec<u8>,
    /// For the line map: (input line of a literal, lines its entry takes).
    origins: Vec<(u64, u64)>,
}

impl Entries {
    /// Appends the entry of literal `number`, whose text between the quotes
    /// is `quoted` (escapes already checked) and stands for `length` bytes.
    fn add(&mut self, number: u64, quoted: &[u8], length: usize, line_number: u64) {
        let out = &mut self.text;
        out.extend_from_slice(b"_string");
        push_decimal(out, number);
        out.extend_from_slice(b":\n");
        push_hex_0x8(out, length as u64);
        out.extend_from_slice(b"/imm32 ");
        let mut count = 0;
        let mut bytes = quoted.iter();
        while let Some(&b) = bytes.next() {
            let byte = match b {
                b'\\' => match bytes.next() {
                    Some(b'n') => b'\n',
                    Some(&escaped) => escaped,
                    None => b'\\',
                },
                _ => b,
            };
            push_hex_byte(out, byte);
            if byte.is_ascii_alphanumeric() {
                out.extend_from_slice(&[b'/', byte]);
            }
            out.push(b' ');
            count += 1;
            if count % 64 == 0 {
                out.push(b'\n');
            }
        }
        out.push(b'\n');
        self.origins.push((line_number, 2 + length as u64 / 64));
    }

    fn append(&mut self, mut other: Entries) {
        self.text.append(&mut other.text);
        self.origins.append(&mut other.origins);
    }
}

/// The literals' entries, one group per segment in order of first mention;
/// group 0 holds the literals before the first header.
struct Segments {
    entries: Vec<Entries>,
    by_name: HashMap<Vec<u8>, usize>,
    current: usize,
}

impl Segments {
    fn new() -> Segments {
        Segments { entries: vec![Entries::default()], by_name: HashMap::new(), current: 0 }
    }

    fn switch_to(&mut self, name: &[u8]) {
        self.current = match self.by_name.get(name) {
            Some(&index) => index,
            None => {
                self.entries.push(Entries::default());
                self.by_name.insert(name.to_vec(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
    }

    fn current(&mut self) -> &mut Entries {
        &mut self.entries[self.current]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dquotes(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    fn ok(text: &[u8]) -> Vec<u8> {
        dquotes(text).unwrap()
    }

    #[test]
    fn the_quick_paths_rewrite_lines_as_rewrite_line_does() {
        use crate::test_rng::Rng;
        // Lines from pieces that touch every branch: plain words, runs of
        // each kind of whitespace, comments inside and after words, `_`,
        // quotes, headers, fillers, metadata.
        let pieces: [&[u8]; 16] =
            [b"a", b"bb/x", b" ", b"  ", b"\t", b"\r", b"\x0b", b"#", b"# c", b"a#b", b"_x", b"\"s\"", b"==", b".", b":m", b"0"];
        let mut rng = Rng::new(1);
        for _ in 0..20_000 {
            let mut line = Vec::new();
            for _ in 0..rng.below(16) {
                let piece = *rng.pick(&pieces);
                line.extend_from_slice(piece);
            }
            let mut expected = b"== code \n".to_vec();
            let mut entries = Entries::default();
            if rewrite_line(&line, 2, &mut 0, &mut entries, &mut expected).is_err() {
                continue;
            }
            let mut program = b"== code\n".to_vec();
            program.extend_from_slice(&line);
            program.push(b'\n');
            let got = ok(&program);
            assert_eq!(&got[..expected.len()], &expected[..], "line {:?}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn every_line_is_normalised_to_words_and_single_spaces() {
        assert_eq!(ok(b"  a   b\tc\r\n\n  # c\n. x#y .  # z\nlast"), b"a b c \n\n\n. x#y . \nlast \n== data\n");
    }

    #[test]
    fn the_data_section_is_always_written() {
        assert_eq!(ok(b""), b"== data\n");
    }

    #[test]
    fn a_literal_becomes_a_label_and_an_entry() {
        assert_eq!(
            ok(b"68/push \"a b#\"/imm32/x\n"),
            b"68/push _string1/imm32/x \n== data\n_string1:\n0x00000004/imm32 61/a 20 62/b 23 \n"
        );
        assert_eq!(ok(b"\"\"\n"), b"_string1 \n== data\n_string1:\n0x00000000/imm32 \n");
    }

    #[test]
    fn only_three_escapes_exist() {
        assert_eq!(ok(b"\"\\n\\\"\\\\\"\n"), b"_string1 \n== data\n_string1:\n0x00000003/imm32 0a 22 5c \n");
        let e = dquotes(b"x\n\"a\\tb\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("unknown escape '\\t'"), "{e}");
    }

    #[test]
    fn unterminated_literals_are_errors() {
        for text in [&b"\"open\n"[..], b"\"open", b"\"esc\\\"\n", b"\"back\\\n", b"\"a\" \"b\n"] {
            let e = dquotes(text).unwrap_err();
            assert!(e.message.contains("not closed"), "{e}");
        }
    }

    #[test]
    fn only_metadata_may_follow_the_closing_quote() {
        for text in [&b"\"x\"tail\n"[..], b"\"a\"b\"c d\"\n", b"\"h\"#x\n", b"\"x\"tail/imm32\n"] {
            let e = dquotes(text).unwrap_err();
            assert!(e.message.contains("closing quote"), "{e}");
        }
        assert_eq!(ok(b"\"x\"\t/imm32\n"), b"_string1 /imm32 \n== data\n_string1:\n0x00000001/imm32 78/x \n");
    }

    #[test]
    fn a_quote_inside_a_word_is_ordinary() {
        assert_eq!(ok(b"abc\"def ghi\"\n"), b"abc\"def ghi\" \n== data\n");
    }

    #[test]
    fn literals_are_numbered_in_file_order_and_annotated() {
        let out = ok(b"\"A\" \"z\"\n\"9\x80 \"\n");
        assert_eq!(
            out,
            b"_string1 _string2 \n_string3 \n== data\n_string1:\n0x00000001/imm32 41/A \n\
              _string2:\n0x00000001/imm32 7a/z \n_string3:\n0x00000003/imm32 39/9 80 20 \n"
        );
    }

    #[test]
    fn entries_wrap_after_every_64_bytes() {
        let mut text = b"\"".to_vec();
        text.extend_from_slice(&[b'-'; 65]);
        text.extend_from_slice(b"\"\n");
        let out = ok(&text);
        let mut want = b"_string1 \n== data\n_string1:\n0x00000041/imm32 ".to_vec();
        want.extend_from_slice(&b"2d ".repeat(64));
        want.extend_from_slice(b"\n2d \n");
        assert_eq!(out, want);
    }

    #[test]
    fn entries_are_grouped_by_segment_in_order_of_first_mention() {
        let out = ok(b"== code\n\"1\"\n== data\n\"2\"\n== code\n\"3\"\n");
        let want: &[u8] = b"== data\n_string1:\n0x00000001/imm32 31/1 \n_string3:\n0x00000001/imm32 33/3 \n\
                             _string2:\n0x00000001/imm32 32/2 \n";
        assert!(out.ends_with(want), "{}", String::from_utf8_lossy(&out));
        let before_any_header = ok(b"\"0\"\n== code\n\"1\"\n");
        assert!(before_any_header.ends_with(b"_string1:\n0x00000001/imm32 30/0 \n_string2:\n0x00000001/imm32 31/1 \n"));
    }

    #[test]
    fn line_metadata_makes_no_literals() {
        assert_eq!(ok(b"05 1/imm32 :note \"a b\" _string1 # c\n"), b"05 1/imm32 :note \"a b\" _string1 \n== data\n");
    }

    #[test]
    fn string_names_are_reserved() {
        for text in [&b"_string3:\n"[..], b"68/push _string3/imm32\n", b"_string12:/x\n"] {
            let e = dquotes(text).unwrap_err();
            assert!(e.message.contains("reserved"), "{e}");
        }
        assert_eq!(ok(b"_string: _stringx _string1x\n"), b"_string: _stringx _string1x \n== data\n");
    }

    #[test]
    fn the_line_map_maps_entries_to_their_literal() {
        let mut map = LineMap::in_memory();
        run(&mut &b"== data\nx\n\"a\"\n"[..], &mut Vec::new(), &mut map).unwrap();
        assert_eq!(map.finish_to_string(), "1 1 3\n5 3 2 *\n");
    }
}

//! Phase `hex`: turns hex text into the bytes it spells, the last step of
//! the pipeline.
//!
//! It reads characters, not words: every two lowercase hex digits make one
//! byte, whitespace and `#` comments may stand anywhere, even between the
//! two digits of a byte.
//!
//! ```
//! use subx::phases::hex;
//! use subx::line_map::LineMap;
//! let text = b"7f 45 4c 46  # magic\nb8 2a\n00 00 00\n";
//! let mut elf = Vec::new();
//! hex::run(&mut &text[..], &mut elf, &mut LineMap::off()).unwrap();
//! assert_eq!(elf, [0x7f, 0x45, 0x4c, 0x46, 0xb8, 0x2a, 0, 0, 0]);
//! ```
//!
//! `docs/walkthrough.md` ("Phase 6: `hex`") shows `hex` at work on a
//! whole program, between the phase before it and the one after.
//!
//! The rules (`phases/survey-hex.md` section 3):
//! - digits pair up across whitespace and comments: `a b` is `0xab`,
//!   `abc d` is `0xab 0xcd`;
//! - `#` starts a comment to the end of the line, even inside a word;
//! - SP, TAB, LF, CR, VT and FF are whitespace (CONTRACT rule 2: the
//!   reference refuses CR, VT and FF);
//! - any other byte (uppercase, `x`, `-`, NUL, bytes >= 0x80) is an error,
//!   and so is an odd number of digits in all.
//!
//! `hex` streams: it reads and writes in fixed-size chunks, so its memory
//! does not grow with the input.

use std::io::{BufRead, Write};

use crate::error::{printable, Error};
use crate::line_map::LineMap;

/// `--help` text.
pub fn help() -> String {
    "hex: turn hex text into the bytes it spells (the last SubX phase).\n\
     \n\
     Reads:  on stdin, text of lowercase hex digit pairs ('7f 45 4c 46'),\n        \
             with whitespace and '#' comments anywhere (survey's output).\n\
     Writes: on stdout, one byte per digit pair: the ELF binary.\n\
     \n\
     Example:\n  \
       $ printf 'b8 2a 00 00 00  # copy 42 to eax\\n' | hex | xxd\n  \
       00000000: b82a 0000 00                             .*...\n"
        .to_string()
}

/// What one input byte means to `hex`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit(u8),
    Space,
    Newline,
    Comment,
    Invalid,
}

const fn classify(b: u8) -> Class {
    match b {
        b'0'..=b'9' => Class::Digit(b - b'0'),
        b'a'..=b'f' => Class::Digit(b - b'a' + 10),
        b'\n' => Class::Newline,
        b' ' | b'\t' | b'\r' | 0x0b | 0x0c => Class::Space,
        b'#' => Class::Comment,
        _ => Class::Invalid,
    }
}

const CLASSES: [Class; 256] = {
    let mut table = [Class::Invalid; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = classify(i as u8);
        i += 1;
    }
    table
};

/// Converts all of `input` to bytes on `output`. `hex` writes binary, so it
/// records nothing in `_line_map`.
pub fn run(input: &mut dyn BufRead, output: &mut dyn Write, _line_map: &mut LineMap) -> Result<(), Error> {
    let mut line: u64 = 1;
    // The first digit of a byte whose second digit has not come yet, with
    // the line it stood on.
    let mut pending: Option<(u8, u64)> = None;
    let mut in_comment = false;
    let mut bytes = Vec::with_capacity(1 << 16);
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let mut i = 0;
        while i < chunk.len() {
            if in_comment {
                match memchr::memchr(b'\n', &chunk[i..]) {
                    Some(end) => {
                        i += end;
                        in_comment = false;
                    }
                    None => {
                        i = chunk.len();
                        continue;
                    }
                }
            }
            // Fast path: survey writes bytes as two digits side by side, so
            // with no digit pending, a digit pair is a whole byte at once.
            if pending.is_none() && i + 1 < chunk.len() {
                let pair = (CLASSES[usize::from(chunk[i])], CLASSES[usize::from(chunk[i + 1])]);
                if let (Class::Digit(high), Class::Digit(low)) = pair {
                    bytes.push(high << 4 | low);
                    i += 2;
                    continue;
                }
            }
            let b = chunk[i];
            match CLASSES[usize::from(b)] {
                Class::Digit(value) => match pending.take() {
                    Some((high, _)) => bytes.push(high << 4 | value),
                    None => pending = Some((value, line)),
                },
                Class::Space => {}
                Class::Newline => line += 1,
                Class::Comment => in_comment = true,
                Class::Invalid => return Err(invalid_byte(chunk, i, line)),
            }
            i += 1;
        }
        let used = chunk.len();
        input.consume(used);
        output.write_all(&bytes)?;
        bytes.clear();
    }
    if let Some((digit, digit_line)) = pending {
        let shown = [if digit < 10 { b'0' + digit } else { b'a' + digit - 10 }];
        return Err(Error::at(
            digit_line,
            &shown,
            "this hex digit has no partner: the input ends after an odd number of \
             digits, and every byte needs two",
        ));
    }
    Ok(())
}

/// The error for the byte at `chunk[at]`, naming the word it stands in
/// (as much of it as the current chunk holds, at most 40 bytes each side).
fn invalid_byte(chunk: &[u8], at: usize, line: u64) -> Error {
    const REACH: usize = 40;
    let is_word_byte = |b: &u8| !matches!(CLASSES[usize::from(*b)], Class::Space | Class::Newline);
    let before = chunk[..at].iter().rev().take(REACH).take_while(|b| is_word_byte(b)).count();
    let after = chunk[at..].iter().take(REACH).take_while(|b| is_word_byte(b)).count();
    let word = &chunk[at - before..at + after.max(1)];
    let b = chunk[at];
    let what = if b.is_ascii_uppercase() {
        format!("'{}' is an uppercase hex digit; hex digits must be lowercase", b as char)
    } else {
        format!("'{}' (byte 0x{b:02x}) is not a hex digit", printable(&[b]))
    };
    Error::at(line, word, format!("{what}; hex reads pairs of digits 0-9 a-f, whitespace and '#' comments"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        run(&mut &text[..], &mut out, &mut LineMap::off()).map(|()| out)
    }

    #[test]
    fn digits_pair_up_across_whitespace_and_comments() {
        assert_eq!(hex(b"a b c d").unwrap(), [0xab, 0xcd]);
        assert_eq!(hex(b"0# comment 12\n1").unwrap(), [0x01]);
        assert_eq!(hex(b"abc d 1 234").unwrap(), [0xab, 0xcd, 0x12, 0x34]);
    }

    #[test]
    fn a_hash_starts_a_comment_even_inside_a_word() {
        assert_eq!(hex(b"ab#cd ef\n01").unwrap(), [0xab, 0x01]);
    }

    #[test]
    fn every_ascii_whitespace_is_skipped() {
        assert_eq!(hex(b"\t01\r\n\x0b02\x0c").unwrap(), [1, 2]);
    }

    #[test]
    fn empty_and_blank_inputs_give_nothing() {
        assert_eq!(hex(b"").unwrap(), b"");
        assert_eq!(hex(b"  \n# just a comment").unwrap(), b"");
    }

    #[test]
    fn invalid_bytes_name_line_and_word() {
        let e = hex(b"01 02\n03 0x12\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.word.as_deref(), Some(&b"0x12"[..]));
        assert!(e.message.contains("'x' (byte 0x78) is not a hex digit"), "{e}");
        let e = hex(b"AB").unwrap_err();
        assert!(e.message.contains("uppercase"), "{e}");
        assert!(hex(b"\x00").is_err());
        assert!(hex(b"\xff").is_err());
    }

    #[test]
    fn an_odd_number_of_digits_is_an_error_at_the_lone_digit() {
        let e = hex(b"ab\nc\n\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.word.as_deref(), Some(&b"c"[..]));
    }

    #[test]
    fn every_byte_value_round_trips() {
        let mut text = Vec::new();
        for b in 0..=255u8 {
            text.extend_from_slice(format!("{b:02x} ").as_bytes());
        }
        assert_eq!(hex(&text).unwrap(), (0..=255u8).collect::<Vec<_>>());
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        // A reader that hands out one byte at a time.
        let text = b"7f 45# c\n4c 46\n";
        let mut reader = std::io::BufReader::with_capacity(1, &text[..]);
        let mut out = Vec::new();
        run(&mut reader, &mut out, &mut LineMap::off()).unwrap();
        assert_eq!(out, [0x7f, 0x45, 0x4c, 0x46]);
    }
}

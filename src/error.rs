//! The one error type every phase returns.
//!
//! An error says which line of the phase's own input is wrong (CONTRACT
//! decision 18), which word on it, and what is wrong in plain words. The
//! command-line shell (`cli`) prefixes the phase's name, so a phase run on
//! its own prints, for example:
//!
//! ```text
//! pack: line 7: 'bb/copy-to-ebx': missing /imm32 operand (copy imm32 to EBX)
//! ```
//!
//! `scripts/ntranslate` reads that shape back (`PHASE: line N: MESSAGE`),
//! maps `N` to the user's file and line through the phases' line maps, and
//! prints `prog.subx:12: error: MESSAGE`. An error without a line concerns
//! the whole program (`survey: no 'Entry' label ...`).

use std::fmt;
use std::io;

use bstr::ByteSlice;

/// What went wrong, where.
#[derive(Debug)]
pub struct Error {
    /// 1-based line of the phase's input, when the mistake sits on one line.
    pub line: Option<u64>,
    /// The offending word (or instruction) as written, when there is one.
    pub word: Option<Vec<u8>>,
    /// What is wrong, in the user's terms.
    pub message: String,
    /// Set when the error is an I/O failure rather than a mistake in the input.
    pub io_kind: Option<io::ErrorKind>,
}

impl Error {
    /// A mistake on line `line` of the input, about `word`.
    pub fn at(line: u64, word: &[u8], message: impl Into<String>) -> Error {
        Error { line: Some(line), word: Some(word.to_vec()), message: message.into(), io_kind: None }
    }

    /// A mistake on line `line` that is not about one word.
    pub fn on_line(line: u64, message: impl Into<String>) -> Error {
        Error { line: Some(line), word: None, message: message.into(), io_kind: None }
    }

    /// A mistake about the whole input (no `Entry`, no `code` segment, ...).
    pub fn whole(message: impl Into<String>) -> Error {
        Error { line: None, word: None, message: message.into(), io_kind: None }
    }

    /// Did writing fail because the reader of our output went away?
    /// The shell exits quietly then, as a filter killed by SIGPIPE would.
    pub fn is_broken_pipe(&self) -> bool {
        self.io_kind == Some(io::ErrorKind::BrokenPipe)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error { line: None, word: None, message: format!("I/O error: {e}"), io_kind: Some(e.kind()) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(word) = &self.word {
            write!(f, "'{}': ", printable(word))?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shows arbitrary bytes on one line: printable ASCII as it is, everything
/// else (TAB, CR, NUL, bytes >= 0x80, invalid UTF-8) as `\xNN`, so that a
/// message never breaks a terminal or the `FILE:LINE:` shape.
pub fn printable(bytes: &[u8]) -> String {
    let mut shown = String::with_capacity(bytes.len());
    for &b in bytes.as_bytes() {
        if (0x20..0x7f).contains(&b) {
            shown.push(b as char);
        } else {
            shown.push_str(&format!("\\x{b:02x}"));
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_line_and_word() {
        let e = Error::at(7, b"bb/copy-to-ebx", "missing /imm32 operand");
        assert_eq!(e.to_string(), "line 7: 'bb/copy-to-ebx': missing /imm32 operand");
    }

    #[test]
    fn whole_program_errors_have_no_line() {
        assert_eq!(Error::whole("no 'Entry' label").to_string(), "no 'Entry' label");
    }

    #[test]
    fn unprintable_bytes_are_escaped() {
        assert_eq!(printable(b"a\tb\xff\x00"), "a\\x09b\\xff\\x00");
    }
}

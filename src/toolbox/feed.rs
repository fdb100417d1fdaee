//! `subx feed`: the source files, one after another, as the first phase
//! reads them: the step at the head of `scripts/ntranslate`'s pipeline.
//!
//! ```text
//! subx feed [--out OUT] [--line-counts FILE] [--copy FILE] -- SOURCE...
//! ```
//!
//! It reads each file exactly once, in order, whatever it is (a plain file,
//! a FIFO, `/dev/stdin`, `<(cat prog)`; a file named `-` is that file), and
//! writes it to stdout. On the way it does the two things that need to know
//! where one file ends and the next begins, which no phase can see:
//!
//! - a file that does not end with a newline gets one (CONTRACT decision
//!   17), so that its last line does not glue onto the next file's first;
//! - every file must start with a segment header (`language.md` 5.1): the
//!   first word of a file, comments, line metadata and `.` fillers aside,
//!   must be `==`. The check looks at the words as they pass, so a first
//!   line of any length is fine.
//!
//! With `--line-counts FILE` it writes how many lines each file gave (one
//! number a line, the last file left out: nothing comes after it), which
//! `subx finish` needs to turn a line of the whole input into `FILE:LINE`;
//! with `--copy FILE`, a copy of what it writes, from which the listing
//! takes the text of each source line (the sources themselves may not be
//! there to read again).
//! With `--out OUT` it first checks that OUT can name the ELF to write (not
//! a directory), so that a bad `-o` fails before any work is done.
//!
//! Messages are final, in the `FILE:LINE: error: ...` shape of
//! `ntranslate`; exit status 1 for a mistake in the input (a file that
//! cannot be read, a word before the first header, a bad OUT), 141 when the
//! reader of the output went away, 2 for a usage error.
//!
//! ```
//! use subx::toolbox::feed::{feed, Source};
//! let mut out = Vec::new();
//! let sources = [Source::new("a.subx", &b"== code\nx"[..]), Source::new("b.subx", &b"# b\n== data\n"[..])];
//! let counts = feed(sources, &mut out).unwrap();
//! assert_eq!(out, b"== code\nx\n# b\n== data\n");
//! assert_eq!(counts, [2, 2]);
//! ```

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::{io_reason, printable_cut};
use crate::words::{is_comment, is_filler, is_line_metadata, is_space};

/// How much of a file is read at a time.
const CHUNK: usize = 1 << 17;

/// Exit statuses.
const EXIT_INVALID: u8 = 1;
const EXIT_BROKEN_PIPE: u8 = 141;

/// One source file: its name as the user wrote it, and its bytes.
pub struct Source<R> {
    pub name: String,
    pub reader: R,
}

impl<R: Read> Source<R> {
    pub fn new(name: &str, reader: R) -> Source<R> {
        Source { name: name.to_string(), reader }
    }
}

/// Why feeding stopped.
#[derive(Debug)]
pub enum FeedError {
    /// A mistake to report: the whole message, `FILE[:LINE]: error: ...`.
    Invalid(String),
    /// Writing failed: the reader went away (broken pipe) or another error.
    Output(io::Error),
}

/// Writes the sources to `out`, one after another, each ended with a
/// newline, checking that each starts with a segment header. Returns how
/// many lines each gave (counting the newline added to an unterminated last
/// line).
pub fn feed<R: Read>(
    sources: impl IntoIterator<Item = Source<R>>,
    out: &mut dyn Write,
) -> Result<Vec<u64>, FeedError> {
    let mut counts = Vec::new();
    let mut buffer = vec![0u8; CHUNK];
    for mut source in sources {
        let mut check = HeaderCheck::new();
        let mut lines = 0u64;
        let mut last = b'\n';
        loop {
            let read = match source.reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FeedError::Invalid(cannot_read(&source.name, &e))),
            };
            let chunk = &buffer[..read];
            if let Some((line, word)) = check.scan(chunk) {
                return Err(FeedError::Invalid(before_header(&source.name, line, &word)));
            }
            lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
            last = chunk[read - 1];
            out.write_all(chunk).map_err(FeedError::Output)?;
        }
        if let Some((line, word)) = check.finish() {
            return Err(FeedError::Invalid(before_header(&source.name, line, &word)));
        }
        if last != b'\n' {
            out.write_all(b"\n").map_err(FeedError::Output)?;
            lines += 1;
        }
        counts.push(lines);
    }
    Ok(counts)
}

/// Looks at a file's words as they pass, until the first one that counts:
/// `==` is fine, anything else comes before any segment header.
struct HeaderCheck {
    /// The first word was `==`: nothing more to look at.
    done: bool,
    /// The rest of the current line is a comment or line metadata.
    skipping_line: bool,
    /// The word being read (its first bytes, when it is long), and its length.
    word: Vec<u8>,
    word_len: usize,
    /// 1-based line of the current byte.
    line: u64,
}

/// The most of a word kept to show in a message.
const KEPT: usize = 128;

impl HeaderCheck {
    fn new() -> HeaderCheck {
        HeaderCheck { done: false, skipping_line: false, word: Vec::new(), word_len: 0, line: 1 }
    }

    /// Scans the next bytes of the file; the line and word that come before
    /// any header, if one does.
    fn scan(&mut self, chunk: &[u8]) -> Option<(u64, Vec<u8>)> {
        for &b in chunk {
            if self.done {
                return None;
            }
            if self.skipping_line {
                if b == b'\n' {
                    self.skipping_line = false;
                    self.line += 1;
                }
                continue;
            }
            if is_space(b) {
                if let Some(found) = self.end_word() {
                    return Some(found);
                }
                if b == b'\n' {
                    self.skipping_line = false;
                    self.line += 1;
                }
            } else {
                if self.word.len() < KEPT {
                    self.word.push(b);
                }
                self.word_len += 1;
            }
        }
        None
    }

    /// The end of the file: the last word, if it had no whitespace after it.
    fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        if self.done {
            return None;
        }
        self.end_word()
    }

    /// A word has ended (whitespace or the end of the file follows it).
    fn end_word(&mut self) -> Option<(u64, Vec<u8>)> {
        if self.word_len == 0 {
            return None;
        }
        let word = std::mem::take(&mut self.word);
        let len = std::mem::replace(&mut self.word_len, 0);
        if len == 2 && word == b"==" {
            self.done = true;
            None
        } else if is_comment(&word) || is_line_metadata(&word) {
            self.skipping_line = true;
            None
        } else if len == 1 && is_filler(&word) {
            None
        } else {
            Some((self.line, printable_cut(&word, len).into_bytes()))
        }
    }
}

fn before_header(name: &str, line: u64, shown: &[u8]) -> String {
    format!(
        "{name}:{line}: error: '{}': this word comes before any segment header; every file must start with one, \
         such as '== code 0x09000000'",
        String::from_utf8_lossy(shown)
    )
}

fn cannot_read(name: &str, e: &io::Error) -> String {
    let reason = match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => io_reason(e),
    };
    format!("{name}: error: cannot read this file: {reason}")
}

/// Is `out` fit to name the ELF that `ntranslate` writes? The message
/// saying why not, if it is not.
pub fn check_output_name(out: &str) -> Result<(), String> {
    if out.is_empty() {
        return Err("ntranslate: error: the output file name is empty".to_string());
    }
    let path = Path::new(out);
    if out.ends_with('/') || path.is_dir() {
        return Err(format!(
            "{out}: error: this is a directory; give -o the name of the ELF file to write in it, such as '{}'",
            path.join("a.elf").display()
        ));
    }
    Ok(())
}

pub fn main(args: &[OsString]) -> ExitCode {
    let mut out = None;
    let mut line_counts: Option<PathBuf> = None;
    let mut copy: Option<PathBuf> = None;
    let mut rest = args.iter();
    let mut files = Vec::new();
    while let Some(arg) = rest.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                print!("{}", help());
                return ExitCode::SUCCESS;
            }
            Some("--out") => out = rest.next().map(|s| s.to_string_lossy().into_owned()),
            Some("--line-counts") => line_counts = rest.next().map(PathBuf::from),
            Some("--copy") => copy = rest.next().map(PathBuf::from),
            Some("--") => {
                files.extend(rest.by_ref().cloned());
            }
            _ => {
                eprintln!("subx feed: unexpected argument '{}'\nTry 'subx feed --help'.", arg.to_string_lossy());
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    if let Some(out) = &out {
        if let Err(message) = check_output_name(out) {
            eprintln!("{message}");
            return ExitCode::from(EXIT_INVALID);
        }
    }
    // A file that is missing or a directory stops everything before a byte
    // is written; the others are opened when their turn comes (opening a
    // FIFO waits for its writer).
    for file in &files {
        let path = Path::new(file);
        let problem = match path.metadata() {
            Err(e) => Some(cannot_read(&file.to_string_lossy(), &e)),
            Ok(m) if m.is_dir() => Some(cannot_read(&file.to_string_lossy(), &io::ErrorKind::IsADirectory.into())),
            Ok(_) => None,
        };
        if let Some(message) = problem {
            eprintln!("{message}");
            return ExitCode::from(EXIT_INVALID);
        }
    }
    let stdout = match super::raw_stdout() {
        Ok(file) => file,
        Err(message) => {
            eprintln!("subx feed: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let copy = match copy.map(|path| File::create(&path).map_err(|e| (path, e))).transpose() {
        Ok(copy) => copy,
        Err((path, e)) => {
            eprintln!("subx feed: cannot write '{}': {}", path.display(), io_reason(&e));
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let mut out = WithCopy { out: stdout, copy };
    let sources = files.iter().map(|f| Source { name: f.to_string_lossy().into_owned(), reader: LazyFile::new(f) });
    match feed(sources, &mut out) {
        Ok(counts) => {
            if let Some(path) = line_counts {
                let text: String = counts[..counts.len().saturating_sub(1)].iter().map(|n| format!("{n}\n")).collect();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("subx feed: cannot write '{}': {e}", path.display());
                    return ExitCode::from(super::EXIT_USAGE);
                }
            }
            ExitCode::SUCCESS
        }
        Err(FeedError::Invalid(message)) => {
            eprintln!("{message}");
            ExitCode::from(EXIT_INVALID)
        }
        Err(FeedError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_BROKEN_PIPE),
        Err(FeedError::Output(e)) => {
            eprintln!("subx feed: cannot write to stdout: {e}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

/// Stdout, and with `--copy` a file that gets the same bytes.
struct WithCopy {
    out: File,
    copy: Option<File>,
}

impl Write for WithCopy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write_all(buf)?;
        if let Some(copy) = &mut self.copy {
            copy.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file opened at its first read, so that a FIFO is opened only when its
/// turn comes, and only one file is open at a time.
struct LazyFile {
    path: PathBuf,
    file: Option<File>,
}

impl LazyFile {
    fn new(path: &OsString) -> LazyFile {
        LazyFile { path: PathBuf::from(path), file: None }
    }
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        match &mut self.file {
            Some(file) => file.read(buf),
            None => Ok(0),
        }
    }
}

fn help() -> String {
    "usage: subx feed [--out OUT] [--line-counts FILE] [--copy FILE] -- SOURCE...\n\
     \n\
     Write the SOURCE files to stdout one after another, as scripts/ntranslate's\n\
     first phase reads them: each read once, in order (a FIFO or /dev/stdin too);\n\
     a newline added where a file lacks a final one; every file checked to start\n\
     with a segment header. --line-counts writes the number of lines of each file\n\
     but the last, one a line; --copy writes a copy of the output; --out first\n\
     checks that OUT can name the ELF.\n\
     \n\
     Exit status: 0 success; 1 a file cannot be read or does not start with a\n\
     header (the message names FILE:LINE); 2 usage error; 141 output closed early.\n\
     \n\
     Example:\n  \
       $ printf '== code\\n' > a.subx; subx feed -- a.subx\n  \
       == code\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(files: &[(&str, &[u8])]) -> Result<(Vec<u8>, Vec<u64>), String> {
        let mut out = Vec::new();
        let sources = files.iter().map(|(name, text)| Source::new(name, *text));
        match feed(sources, &mut out) {
            Ok(counts) => Ok((out, counts)),
            Err(FeedError::Invalid(message)) => Err(message),
            Err(FeedError::Output(e)) => Err(e.to_string()),
        }
    }

    /// A reader that hands out its text a few bytes at a time, as a pipe may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_missing_final_newline_is_added_and_counted() {
        let (out, counts) = fed(&[("a", b"== code\nx"), ("b", b"== data\n"), ("c", b"")]).unwrap();
        assert_eq!(out, b"== code\nx\n== data\n");
        assert_eq!(counts, [2, 1, 0]);
    }

    #[test]
    fn comments_metadata_fillers_and_blank_lines_may_come_before_the_header() {
        let text = b"\n  # a comment\n:meta data\n . \t. == code\n";
        assert!(fed(&[("a", text)]).is_ok());
    }

    #[test]
    fn a_word_before_the_first_header_names_its_file_and_line() {
        let err = fed(&[("a.subx", b"== code\n"), ("b.subx", b"# c\n\n  Entry:\n== code\n")]).unwrap_err();
        assert_eq!(
            err,
            "b.subx:3: error: 'Entry:': this word comes before any segment header; every file must start \
             with one, such as '== code 0x09000000'"
        );
        let err = fed(&[("a", b"==x code\n")]).unwrap_err();
        assert!(err.starts_with("a:1: error: '==x'"), "{err}");
    }

    #[test]
    fn a_last_word_without_whitespace_after_it_is_checked() {
        assert!(fed(&[("a", b"# c\nword")]).unwrap_err().starts_with("a:2: error: 'word'"));
        assert!(fed(&[("a", b"==")]).is_ok());
    }

    #[test]
    fn a_first_line_of_any_length_is_fine() {
        let mut text = vec![b' '; 3_000_000];
        text.extend_from_slice(b"== code\n");
        assert!(fed(&[("a", &text)]).is_ok());
        let mut long = vec![b'x'; 3_000_000];
        long.push(b'\n');
        let err = fed(&[("a", &long)]).unwrap_err();
        assert!(err.contains("... (3000000 bytes)"), "{}", &err[..200]);
    }

    #[test]
    fn words_split_across_reads_are_seen_whole() {
        for step in 1..6 {
            let mut out = Vec::new();
            let text = b"  # one\n . \n  ==  code\nrest";
            let counts = feed([Source::new("a", Trickle(text, step))], &mut out).unwrap();
            assert_eq!(counts, [4]);
            let mut out = Vec::new();
            let err = feed([Source::new("a", Trickle(b"\n\n  =\n== code\n", step))], &mut out);
            assert!(matches!(err, Err(FeedError::Invalid(m)) if m.starts_with("a:3: error: '='")));
        }
    }

    #[test]
    fn an_output_name_that_is_a_directory_is_refused() {
        assert!(check_output_name(".").unwrap_err().contains("this is a directory"));
        assert!(check_output_name("nowhere/").unwrap_err().contains("this is a directory"));
        assert!(check_output_name("").is_err());
        assert!(check_output_name("a.elf").is_ok());
    }
}

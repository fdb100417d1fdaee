//! What every phase binary shares: arguments, buffering, messages and exit
//! codes. A binary in `bins/` is one call to [`main`].
//!
//! ```text
//! PHASE [--line-map FILE] [--tee FILE] < input > output
//! PHASE --help | --version
//! ```
//!
//! Exit codes: 0 success; 1 the input is invalid (the message on stderr
//! names the line and the word); 2 a usage or I/O error; 141 the reader of
//! our output went away (as for a filter killed by SIGPIPE, no message).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::Error;
use crate::line_map::LineMap;

/// A phase's entry point, as the binaries call it.
pub type RunFn = fn(&mut dyn BufRead, &mut dyn Write, &mut LineMap) -> Result<(), Error>;

/// One phase as the command line sees it.
pub struct Phase {
    /// The binary's name (`pack`), also the prefix of its messages.
    pub name: &'static str,
    /// `--help` text: what it reads, what it writes, a two-line example.
    /// The shell adds the options and exit codes every phase shares.
    pub help: fn() -> String,
    /// The phase itself.
    pub run: RunFn,
    /// A second output that the phase can also write, to a file, when
    /// asked (`survey --labels FILE`).
    pub side_output: Option<SideOutput>,
}

/// A phase's second output: its option, what it holds (for `--help`), and
/// the phase run with it.
pub struct SideOutput {
    pub option: &'static str,
    pub help: &'static str,
    pub run: SideRunFn,
}

/// A phase's entry point that also writes its side output, when given one.
pub type SideRunFn = fn(&mut dyn BufRead, &mut dyn Write, &mut LineMap, Option<&mut dyn Write>) -> Result<(), Error>;

const IO_BUFFER: usize = 1 << 17;

/// Exit status for invalid input.
pub const EXIT_INVALID: u8 = 1;
/// Exit status for a usage or I/O error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when our output was closed early.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Runs `phase` as a Unix filter with the process's arguments.
pub fn main(phase: &Phase) -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let options = match parse_args(phase, &args) {
        Ok(Some(options)) => options,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}: {message}\nTry '{} --help'.", phase.name, phase.name);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut line_map = match &options.line_map {
        Some(path) => match LineMap::to_file(path) {
            Ok(map) => map,
            Err(e) => {
                eprintln!("{}: cannot write line map '{}': {e}", phase.name, path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => LineMap::off(),
    };
    let copy = match &options.tee {
        Some(path) => match File::create(path) {
            Ok(file) => Some(TeeFile { file, path: path.clone() }),
            Err(e) => {
                eprintln!("{}: cannot write '{}': {e}", phase.name, path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => None,
    };
    let line_map_on = line_map.is_on();
    let (stdin, stdout) = match (open_std(io::stdin().as_fd(), "stdin"), open_std(io::stdout().as_fd(), "stdout")) {
        (Ok(stdin), Ok(stdout)) => (stdin, stdout),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("{}: {message}", phase.name);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if io::stdin().is_terminal() {
        eprintln!("{}", terminal_note(phase));
    }
    let mut input = BufReader::with_capacity(IO_BUFFER, stdin);
    let mut output = BufWriter::with_capacity(IO_BUFFER, Tee { out: stdout, copy });
    let result = match (&phase.side_output, &options.side) {
        (Some(side), Some(path)) => match File::create(path) {
            Ok(file) => {
                let mut side_file = BufWriter::with_capacity(IO_BUFFER, file);
                (side.run)(&mut input, &mut output, &mut line_map, Some(&mut side_file)).and_then(|()| {
                    side_file.flush().map_err(|e| Error::from(TeeFile::error(path, e)))
                })
            }
            Err(e) => {
                eprintln!("{}: cannot write '{}': {}", phase.name, path.display(), crate::error::io_reason(&e));
                return ExitCode::from(EXIT_USAGE);
            }
        },
        _ => (phase.run)(&mut input, &mut output, &mut line_map),
    }
    .and_then(|()| output.flush().map_err(Error::from));
    let map_result = line_map.finish();
    match result {
        Ok(()) => match map_result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: cannot write line map: {e}", phase.name);
                ExitCode::from(EXIT_USAGE)
            }
        },
        Err(e) if e.is_broken_pipe() => ExitCode::from(EXIT_BROKEN_PIPE),
        Err(e) => {
            if line_map_on {
                eprintln!("{}: {}", phase.name, e.for_line_map(phase.name));
            } else {
                eprintln!("{}: {e}", phase.name);
            }
            ExitCode::from(if e.io_kind.is_some() { EXIT_USAGE } else { EXIT_INVALID })
        }
    }
}

/// Stdin or stdout as a plain file, read and written without the locks and
/// the line buffering of `io::stdin()` and `io::stdout()`, which also take a
/// closed stream for an empty one or a bottomless one (so that a phase run
/// with `>&-` would lose its output and exit 0).
pub fn open_std(fd: BorrowedFd<'_>, name: &str) -> Result<File, String> {
    let closed = || format!("{name} is closed; run it with its input and output connected");
    let number = fd.as_raw_fd();
    match fd.try_clone_to_owned() {
        Ok(_) if was_closed(number) => Err(closed()),
        Ok(owned) => Ok(File::from(owned)),
        Err(_) => Err(closed()),
    }
}

/// Was standard descriptor `fd` closed when the process started? Rust's
/// runtime opens `/dev/null` (read-write) on any of 0, 1 and 2 that is
/// closed, so that a write to a closed stdout would vanish without an
/// error; a shell's `> /dev/null` opens it write-only. Linux's `/proc`
/// tells the two apart; elsewhere the answer is no.
fn was_closed(fd: RawFd) -> bool {
    let is_null = std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|p| p == Path::new("/dev/null"));
    is_null
        && std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).is_ok_and(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                .is_some_and(|flags| flags & 0o3 == 0o2)
        })
}

/// The line a phase says when its input is a terminal, where it would
/// otherwise wait in silence: what it reads (from the "Reads:" paragraph of
/// its help) and how to end the input.
fn terminal_note(phase: &Phase) -> String {
    let help = (phase.help)();
    let reads: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Reads:"))
        .take_while(|l| !l.starts_with("Writes:") && !l.trim().is_empty())
        .flat_map(str::split_whitespace)
        .skip(1)
        .collect();
    let what = if reads.is_empty() { "its input on stdin".to_string() } else { reads.join(" ") };
    let what = what.trim_end_matches('.');
    format!(
        "{name}: reading from the terminal: {name} expects {what}; end the input with Ctrl-D ('{name} --help' says more)",
        name = phase.name
    )
}

/// The options of a run.
struct Options {
    /// `--line-map FILE`.
    line_map: Option<PathBuf>,
    /// `--tee FILE`.
    tee: Option<PathBuf>,
    /// The phase's side output, if it has one and it was asked for.
    side: Option<PathBuf>,
}

/// `Ok(None)`: help or version was printed, nothing more to do.
fn parse_args(phase: &Phase, args: &[OsString]) -> Result<Option<Options>, String> {
    let mut options = Options { line_map: None, tee: None, side: None };
    let side = phase.side_output.as_ref().map_or("", |s| s.option);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        match text.as_ref() {
            "-h" | "--help" => {
                print!("{}", full_help(phase));
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("{} (subx) {}", phase.name, env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => {
                let unexpected = || format!("unexpected argument '{other}'; the input comes on stdin");
                // `--tee FILE` or `--tee=FILE`.
                let (name, joined) = match other.split_once('=') {
                    Some((name, path)) => (name, Some(path)),
                    None => (other, None),
                };
                let Some(file) = options.file_of(name, side) else { return Err(unexpected()) };
                *file = Some(PathBuf::from(match joined {
                    Some("") => return Err(unexpected()),
                    Some(path) => OsStr::new(path),
                    None => rest.next().ok_or_else(|| format!("option '{text}' needs a file name"))?.as_os_str(),
                }));
            }
        }
    }
    Ok(Some(options))
}

impl Options {
    /// Where the file name of `option` goes, if it is one of the options
    /// that take one; `side` is the phase's side-output option, or empty.
    fn file_of(&mut self, option: &str, side: &str) -> Option<&mut Option<PathBuf>> {
        match option {
            "--line-map" => Some(&mut self.line_map),
            "--tee" => Some(&mut self.tee),
            _ if !side.is_empty() && option == side => Some(&mut self.side),
            _ => None,
        }
    }
}

/// The phase's output: stdout and, with `--tee`, a copy in a file. Writing
/// the copy in the phase itself spares a pipeline a `tee` process and one
/// more pass of every byte through a pipe.
struct Tee<W: Write> {
    out: W,
    copy: Option<TeeFile>,
}

struct TeeFile {
    file: File,
    path: PathBuf,
}

impl TeeFile {
    fn error(path: &Path, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("cannot write '{}': {e}", path.display()))
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.out.write(buf)?;
        if let Some(copy) = &mut self.copy {
            copy.file.write_all(&buf[..written]).map_err(|e| TeeFile::error(&copy.path, e))?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(copy) = &mut self.copy {
            copy.file.flush().map_err(|e| TeeFile::error(&copy.path, e))?;
        }
        Ok(())
    }
}

/// The phase's own help followed by what every phase shares.
pub fn full_help(phase: &Phase) -> String {
    let side = match &phase.side_output {
        Some(side) => format!("  {:<16} {}\n", format!("{} FILE", side.option), side.help),
        None => String::new(),
    };
    format!(
        "{}\n\
         Options:\n  \
           --line-map FILE  also write, to FILE, which input line each output line\n                   \
                            came from (runs of 'OUT IN COUNT'; scripts/ntranslate uses it)\n  \
           --tee FILE       also write the output to FILE (as '| tee FILE' would)\n\
         {side}  \
           -h, --help       print this help\n  \
           -V, --version    print the version\n\
         \n\
         Exit status: 0 success; 1 the input is invalid (stderr names the line and\n\
         the word: '{}: line N: ...'); 2 usage or I/O error; 141 output closed early.\n",
        (phase.help)(),
        phase.name
    )
}

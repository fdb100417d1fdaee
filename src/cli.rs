//! What every phase binary shares: arguments, buffering, messages and exit
//! codes. A binary in `bins/` is one call to [`main`].
//!
//! ```text
//! PHASE [--line-map FILE] < input > output
//! PHASE --help | --version
//! ```
//!
//! Exit codes: 0 success; 1 the input is invalid (the message on stderr
//! names the line and the word); 2 a usage or I/O error; 141 the reader of
//! our output went away (as for a filter killed by SIGPIPE, no message).

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
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
}

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
    let line_map_path = match parse_args(phase, &args) {
        Ok(Some(path)) => path,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}: {message}\nTry '{} --help'.", phase.name, phase.name);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut line_map = match &line_map_path.0 {
        Some(path) => match LineMap::to_file(path) {
            Ok(map) => map,
            Err(e) => {
                eprintln!("{}: cannot write line map '{}': {e}", phase.name, path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => LineMap::off(),
    };
    let line_map_on = line_map.is_on();
    let mut input = BufReader::with_capacity(IO_BUFFER, io::stdin().lock());
    let mut output = BufWriter::with_capacity(IO_BUFFER, io::stdout().lock());
    let result = (phase.run)(&mut input, &mut output, &mut line_map)
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

/// The line map path, wrapped so that "run, no map" and "done, exit 0" differ.
struct MapPath(Option<PathBuf>);

/// `Ok(None)`: help or version was printed, nothing more to do.
fn parse_args(phase: &Phase, args: &[OsString]) -> Result<Option<MapPath>, String> {
    let mut map = None;
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
            "--line-map" => {
                let path = rest.next().ok_or("option '--line-map' needs a file name")?;
                map = Some(PathBuf::from(path));
            }
            other => match other.strip_prefix("--line-map=") {
                Some(path) if !path.is_empty() => map = Some(PathBuf::from(path)),
                _ => return Err(format!("unexpected argument '{other}'; the input comes on stdin")),
            },
        }
    }
    Ok(Some(MapPath(map)))
}

/// The phase's own help followed by what every phase shares.
pub fn full_help(phase: &Phase) -> String {
    format!(
        "{}\n\
         Options:\n  \
           --line-map FILE  also write, to FILE, which input line each output line\n                   \
                            came from (runs of 'OUT IN COUNT'; scripts/ntranslate uses it)\n  \
           -h, --help       print this help\n  \
           -V, --version    print the version\n\
         \n\
         Exit status: 0 success; 1 the input is invalid (stderr names the line and\n\
         the word: '{}: line N: ...'); 2 usage or I/O error; 141 output closed early.\n",
        (phase.help)(),
        phase.name
    )
}

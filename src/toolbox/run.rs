//! `subx run`: run an ELF in the emulator ([`crate::emulator`]), on any
//! host, with a trace and watch points on request.
//!
//! ```text
//! subx run [OPTIONS] ELF [ARGS...]
//! ```
//!
//! The labels and source lines come from `a.labels` and `a.map` beside
//! `a.elf` (or `--map`), when they describe this ELF.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::emulator::{self, watch::Watch, Options};
use crate::maps::Symbols;

/// Exit status when the ELF cannot be read (as a shell says for a missing command).
const EXIT_NOT_FOUND: u8 = 127;
/// Exit status when the file is no ELF we can run (as a shell says).
const EXIT_CANNOT_RUN: u8 = 126;

fn usage() -> &'static str {
    "usage: subx run [OPTIONS] ELF [ARGS...]\n\
     \n\
     Run a 32-bit x86 ELF made by ntranslate in an emulator, on any host: the\n\
     same output, files and exit status as running it natively, and on a fault\n\
     a message naming the address, label, SubX source line and the calls that\n\
     led there. Labels and source lines come from ELF's .labels and .map files\n\
     (written by ntranslate next to it) when they match the ELF.\n\
     \n\
     Options (before ELF; everything after ELF goes to the program):\n  \
       --trace FILE      write one line per instruction to FILE ('-' for stderr):\n                    \
                         step, address, label, bytes, what changed, source line\n  \
       --watch WHAT      report every write to WHAT: ADDRESS or LABEL, with :LEN\n                    \
                         for LEN bytes (default 4); may be repeated. A label\n                    \
                         $watch-... before an instruction watches what it writes\n  \
       --map FILE        read labels and source lines from FILE (and the .labels\n                    \
                         file beside it) instead of ELF's own\n  \
       --max-steps N     stop after N instructions (exit status 124)\n  \
       --count           at the end, print the number of instructions run to stderr\n  \
       -h, --help        print this help\n  \
       -V, --version     print the version\n\
     \n\
     Exit status: the program's; 128+N when it dies of signal N as it would\n\
     natively (139 segmentation fault, 136 division error, 132 illegal\n\
     instruction); 124 after --max-steps; 2 for a usage error; 126 for a file\n\
     that is not an ELF it can run, 127 for one it cannot read.\n\
     \n\
     Example:\n  \
       $ scripts/ntranslate -o hello.elf init.linux subx-apps/05-hello.subx\n  \
       $ subx run hello.elf\n  \
       Hello, world!\n  \
       $ subx run --trace trace.txt hello.elf > /dev/null; grep -o '0x[0-9a-f]* [^ +]*:' trace.txt\n  \
       0x0900026a Entry:\n  \
       0x0900009c syscall-write:\n  \
       0x09000074 syscall-exit:\n  \
       $ scripts/ntranslate -o rev.elf init.linux subx-apps/12-reverse-line.subx\n  \
       $ subx run --watch Scratch rev.elf test 2>&1 | sed -n '1s/ *#.*//p'\n  \
       subx run: watch Scratch (0x0a000408, 4 bytes): [0x0a000408] 0x0 -> 0x64636261 at step 38 by 0x09000334 test-reverse-bytes-even: c7 05 08 04 00 0a 61 62 63 64\n"
}

/// What the command line asks for.
struct Request {
    elf: PathBuf,
    args: Vec<OsString>,
    trace: Option<String>,
    watches: Vec<String>,
    map: Option<PathBuf>,
    max_steps: Option<u64>,
    count: bool,
}

enum Parsed {
    Run(Request),
    Exit(ExitCode),
}

fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let mut request = Request { elf: PathBuf::new(), args: Vec::new(), trace: None, watches: Vec::new(), map: None, max_steps: None, count: false };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            i += 1;
            args.get(i).map(|v| v.to_string_lossy().into_owned()).ok_or(format!("option '{name}' needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => {
                print!("{}", usage());
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            "-V" | "--version" => {
                println!("subx run {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            "--trace" => request.trace = Some(value("a file name ('-' for stderr)")?),
            "--watch" => request.watches.push(value("an address or label")?),
            "--count" => request.count = true,
            "--map" => request.map = Some(PathBuf::from(value("a file name")?)),
            "--max-steps" => {
                let v = value("a number")?;
                request.max_steps = Some(v.parse().map_err(|_| format!("--max-steps '{v}': not a number of instructions"))?);
            }
            "--" => {
                i += 1;
                break;
            }
            _ if arg.starts_with('-') && arg.len() > 1 => return Err(format!("unknown option '{arg}'")),
            _ => break,
        }
        i += 1;
    }
    let Some(elf) = args.get(i) else { return Err("no ELF to run".into()) };
    request.elf = PathBuf::from(elf);
    request.args = args[i + 1..].to_vec();
    Ok(Parsed::Run(request))
}

pub fn main(args: &[OsString]) -> ExitCode {
    let request = match parse(args) {
        Ok(Parsed::Run(r)) => r,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("subx run: {e}\nTry 'subx run --help'.");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let elf = match std::fs::read(&request.elf) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("subx run: cannot read '{}': {e}", request.elf.display());
            return ExitCode::from(EXIT_NOT_FOUND);
        }
    };
    let (symbols, warnings) = Symbols::load(&request.elf, &elf, request.map.as_deref());
    for w in warnings {
        eprintln!("subx run: warning: {w}");
    }
    let mut watches = Vec::new();
    for spec in &request.watches {
        match Watch::parse(spec, &symbols) {
            Ok(w) => watches.push(w),
            Err(e) => {
                eprintln!("subx run: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    let trace: Option<(Box<dyn Write>, bool)> = match request.trace.as_deref() {
        None => None,
        Some("-") => Some((Box::new(BufWriter::with_capacity(1 << 16, io::stderr())), true)),
        Some(path) => match File::create(path) {
            Ok(f) => Some((Box::new(BufWriter::with_capacity(1 << 16, f)), false)),
            Err(e) => {
                eprintln!("subx run: cannot write the trace to '{path}': {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        },
    };
    let mut args = vec![request.elf.as_os_str().as_bytes().to_vec()];
    args.extend(request.args.iter().map(|a| a.as_bytes().to_vec()));
    let env = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.as_bytes().to_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_bytes());
            e
        })
        .collect();
    let options = Options { args, env, trace, watches, max_steps: request.max_steps, stack_size: stack_limit() };
    let mut stderr = io::stderr();
    match emulator::run(&elf, &symbols, options, &mut stderr) {
        Ok(outcome) => {
            if request.count {
                eprintln!("subx run: {} instructions", outcome.steps);
            }
            ExitCode::from(outcome.status)
        }
        Err(e) => {
            eprintln!("subx run: {}: {e}", request.elf.display());
            ExitCode::from(EXIT_CANNOT_RUN)
        }
    }
}

/// The soft `RLIMIT_STACK` of this process (which the program would have
/// natively), from `/proc/self/limits`; 8 MiB where that cannot be read,
/// and 1 GiB for "unlimited".
fn stack_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits.lines().find(|l| l.starts_with("Max stack size")).and_then(|l| l.split_whitespace().nth(3));
    match soft {
        Some("unlimited") => 1 << 30,
        Some(n) => n.parse().unwrap_or(8 << 20),
        None => 8 << 20,
    }
}

//! `subx run`: an emulator of the 32-bit x86 subset of the opcode table,
//! running the ELFs the pipeline makes on any host, with a trace of every
//! instruction and messages that name the label and source line of a
//! fault.
//!
//! ```
//! use subx::emulator::{run, Options};
//! use subx::maps::Symbols;
//! let elf = std::fs::read("tests/vectors/full/07-recursion.elf").unwrap();
//! let mut messages = Vec::new();
//! let outcome = run(&elf, &Symbols::none(), Options::new(vec![b"fact".to_vec()]), &mut messages).unwrap();
//! assert_eq!((outcome.status, outcome.steps), (120, 40));
//! ```
//!
//! The pieces, in the order a run uses them:
//! - [`load`]: the ELF's segments into [`memory`], and the initial stack;
//! - [`decode`]: bytes to an instruction, by the opcode table;
//! - [`machine`]: executing it, with [`flags`] computed when read;
//! - [`syscalls`]: `int 0x80`, on the host's files;
//! - [`fault`]: what stops a program, and the message for it;
//! - [`trace`] and [`watch`]: what `--trace` and `--watch` print.

pub mod decode;
pub mod fast;
pub mod fault;
pub mod flags;
pub mod load;
pub mod machine;
pub mod memory;
pub mod syscalls;
pub mod trace;
pub mod watch;

use std::io::Write;

pub use fault::Fault;
use load::Layout;
use machine::Stop;
use watch::Watch;

use crate::maps::Symbols;

/// How to run a program.
pub struct Options<'a> {
    /// Its arguments, its name first.
    pub args: Vec<Vec<u8>>,
    /// Its environment, `NAME=VALUE` each.
    pub env: Vec<Vec<u8>>,
    /// Where to write the trace, if anywhere, and whether it shares stderr
    /// with the program (then it is flushed before each system call).
    pub trace: Option<(Box<dyn Write + 'a>, bool)>,
    pub watches: Vec<Watch>,
    /// Stop after this many instructions.
    pub max_steps: Option<u64>,
    /// The stack's limit in bytes (the soft `RLIMIT_STACK`).
    pub stack_size: u64,
}

impl Options<'_> {
    /// Run with these arguments, no environment, no trace, an 8 MiB stack.
    pub fn new(args: Vec<Vec<u8>>) -> Self {
        Options { args, env: Vec::new(), trace: None, watches: Vec::new(), max_steps: None, stack_size: 8 << 20 }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The exit status a shell would see: the program's, or 128 + the
    /// signal it would have died of.
    pub status: u8,
    /// Instructions completed.
    pub steps: u64,
    pub stop: Stop,
}

/// Exit status when `--max-steps` stops a program (as `timeout` does).
pub const EXIT_MAX_STEPS: u8 = 124;

/// Run `elf` to its end. Messages for faults and watch points go to
/// `messages`; the error is for an ELF that cannot be loaded, or a trace
/// that cannot be written.
pub fn run(elf: &[u8], symbols: &Symbols, options: Options, messages: &mut dyn Write) -> Result<Outcome, String> {
    let (mut machine, layout) = load::load(elf, &options.args, &options.env, Layout::new(options.stack_size))?;
    let mut kernel = syscalls::Linux::new(&layout);
    let max_steps = options.max_steps.unwrap_or(u64::MAX);
    let watching = !options.watches.is_empty() || symbols.labels_starting_with(b"$watch-").next().is_some();
    let stop = if options.trace.is_some() || watching {
        let (out, flush_before_syscalls) = match options.trace {
            Some((out, shared)) => (Some(out), shared),
            None => (None, false),
        };
        let tracing = trace::Tracing { out, flush_before_syscalls, watches: options.watches, symbols, messages: &mut *messages };
        trace::run(&mut machine, &mut kernel, max_steps, tracing).map_err(|e| format!("cannot write the trace: {e}"))?
    } else {
        fast::run(&mut machine, &mut kernel, max_steps)
    };
    let status = match stop {
        Stop::Exit(status) => status,
        Stop::Fault(f) => {
            let _ = messages.write_all(fault::report(&f, &machine, symbols).as_bytes());
            128 + f.signal()
        }
        Stop::Signal(signal) => 128 + signal,
        Stop::MaxSteps => {
            let _ = writeln!(
                messages,
                "subx run: stopped after {} instructions (--max-steps), before the one at {}",
                machine.steps,
                fault::place(machine.eip, symbols)
            );
            EXIT_MAX_STEPS
        }
    };
    Ok(Outcome { status, steps: machine.steps, stop })
}

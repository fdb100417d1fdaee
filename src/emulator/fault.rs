//! What stops a program that the processor would stop: a [`Fault`], the
//! signal Linux kills the process with for it, and the message `subx run`
//! prints instead of the shell's bare `Segmentation fault`.
//!
//! ```text
//! subx run: segmentation fault: reading 4 bytes at 0x00000000, where nothing is mapped
//!   at 0x0900008e main+0x6: 8b 00
//!   in a.subx:9: 8b/copy 0/mod/indirect 0/rm32/eax 0/r32/eax
//! calls, innermost first:
//!   0x0900008e main+0x6  a.subx:9
//!   0x09000078 Entry+0x4  a.subx:3
//! registers: eax 0x00000000 ecx 0x00000000 ... (exit status 139)
//! ```

use std::fmt::Write as _;

use super::machine::Machine;
use super::memory::{Memory, WRITE};
use crate::maps::Symbols;
use crate::number::hex_digits;

/// A fault of one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Reading `size` bytes at `addr`, which is not readable.
    Read { addr: u32, size: u8 },
    /// Writing `size` bytes at `addr`, which is not writable.
    Write { addr: u32, size: u8 },
    /// Fetching an instruction byte at `addr`, which is not mapped.
    Fetch { addr: u32 },
    /// The `len` bytes at `addr` begin no instruction of the table.
    Illegal { addr: u32, len: u8 },
    /// `div` or `idiv` by 0.
    DivideByZero,
    /// `div` or `idiv` whose quotient does not fit in 32 bits.
    DivideOverflow,
    /// `hlt`, which only the kernel may run.
    Privileged,
    /// `int N` for an N other than 0x80.
    Interrupt(u8),
}

/// The Linux signals a fault raises.
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGFPE: u8 = 8;
pub const SIGSEGV: u8 = 11;
pub const SIGPIPE: u8 = 13;

impl Fault {
    /// The signal the process dies of natively; its exit status, as the
    /// shell reports it, is 128 + this.
    pub fn signal(&self) -> u8 {
        match self {
            Fault::Read { .. } | Fault::Write { .. } | Fault::Fetch { .. } | Fault::Privileged => SIGSEGV,
            Fault::Interrupt(3) => SIGTRAP,
            Fault::Interrupt(_) => SIGSEGV,
            Fault::Illegal { .. } => SIGILL,
            Fault::DivideByZero | Fault::DivideOverflow => SIGFPE,
        }
    }

    /// What went wrong, in a sentence (without the place).
    pub fn describe(&self, machine: &Machine) -> String {
        let memory = &machine.memory;
        let at = |addr: u32| {
            if !memory.is_mapped(addr) {
                "where nothing is mapped".to_string()
            } else if memory.perms(addr) == 0 {
                "which a mapping makes inaccessible".to_string()
            } else {
                "which is read-only (code or read-only data)".to_string()
            }
        };
        match *self {
            Fault::Read { addr, size } => {
                format!("segmentation fault: reading {size} byte{} at {addr:#010x}, {}", plural(size), at(addr))
            }
            Fault::Write { addr, size } => {
                // The first byte may be fine and a later one not.
                let bad = (0..u32::from(size)).map(|i| addr.wrapping_add(i)).find(|&a| memory.perms(a) & WRITE == 0);
                format!(
                    "segmentation fault: writing {size} byte{} at {addr:#010x}, {}",
                    plural(size),
                    at(bad.unwrap_or(addr))
                )
            }
            Fault::Fetch { addr } => format!(
                "segmentation fault: running the instruction at {addr:#010x}, where nothing is mapped \
                 (a jump or return to a bad address?)"
            ),
            Fault::Illegal { .. } => "illegal instruction: these bytes are no instruction of the opcode table \
                 (data run as code? a jump into the middle of an instruction?)"
                .to_string(),
            Fault::DivideByZero => "floating point exception: division by zero".to_string(),
            Fault::DivideOverflow => "floating point exception: the quotient does not fit in 32 bits \
                 (before div, set EDX to 0; before idiv, sign-extend EAX into EDX with 99)"
                .to_string(),
            Fault::Privileged => {
                "segmentation fault: hlt (f4) may only run in the kernel; to stop, call exit".to_string()
            }
            Fault::Interrupt(3) => "trace/breakpoint trap: int 3".to_string(),
            Fault::Interrupt(n) => format!(
                "segmentation fault: int {n:#04x}; only int 0x80 (cd 80, a system call) is allowed"
            ),
        }
    }
}

fn plural(n: u8) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The message for a fault at the machine's current instruction: what, at
/// which address and label, the instruction's bytes and source line, the
/// calls that led there, and the registers.
pub fn report(fault: &Fault, machine: &Machine, symbols: &Symbols) -> String {
    let eip = machine.eip;
    let mut text = format!("subx run: {}\n", fault.describe(machine));
    let len = match fault {
        Fault::Illegal { len, .. } => usize::from(*len),
        _ => machine.instruction_len(eip),
    };
    let bytes = instruction_bytes(&machine.memory, eip, len);
    let _ = write!(text, "  at {}", place(eip, symbols));
    if !bytes.is_empty() {
        let _ = write!(text, ": {bytes}");
    }
    text.push('\n');
    if let Some(line) = symbols.line(eip) {
        let _ = writeln!(
            text,
            "  in {}: {}",
            String::from_utf8_lossy(&line.place),
            String::from_utf8_lossy(&line.text)
        );
    }
    let calls = machine.backtrace();
    if !calls.is_empty() {
        text.push_str("calls, innermost first (each the call's return address):\n");
        for ret in calls {
            let _ = write!(text, "  {}", place(ret, symbols));
            if let Some(line) = symbols.line(ret.wrapping_sub(1)) {
                let _ = write!(text, "  after {}", String::from_utf8_lossy(&line.place));
            }
            text.push('\n');
        }
    }
    text.push_str("registers:");
    for (name, value) in crate::opcodes::REGISTERS.iter().zip(machine.regs) {
        let _ = write!(text, " {name} {value:#010x}");
    }
    text.push('\n');
    if symbols.is_empty() {
        text.push_str("(no a.map next to the ELF: translate with scripts/ntranslate to see labels and source lines)\n");
    }
    text
}

/// `8b 01`: the `len` bytes at `addr` in hex, as far as they are readable.
pub fn instruction_bytes(memory: &Memory, addr: u32, len: usize) -> String {
    let mut text = String::with_capacity(3 * len);
    for byte in (0..len).filter_map(|i| memory.peek(addr.wrapping_add(i as u32))) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.extend(hex_digits(byte).map(char::from));
    }
    text
}

/// `0x09000012 main+0x2`, or the bare address without labels.
pub fn place(addr: u32, symbols: &Symbols) -> String {
    match symbols.label_and_offset(addr) {
        Some(label) => format!("{addr:#010x} {label}"),
        None => format!("{addr:#010x}"),
    }
}

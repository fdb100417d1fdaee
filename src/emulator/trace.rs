//! `--trace FILE`: one line per instruction, made to be read and grepped
//! (`docs/run.md` describes every field).
//!
//! ```text
//!      STEP ADDRESS    LABEL     BYTES            CHANGES                          # SOURCE
//!         1 0x09000054 Entry:    bb 2a 00 00 00   ebx 0x0->0x2a                    # a.subx:3 bb/copy-to-ebx 0x2a/imm32
//!         2 0x09000059 Entry+0x5 e8 06 00 00 00   esp 0xffffdfb0->0xffffdfac [0xffffdfac] 0x0->0x905e  # a.subx:4 e8/call f/disp32
//!         3   0x09000064 f:      b8 01 00 00 00   eax 0x0->0x1                     # a.subx:8 b8/copy-to-eax 1/imm32
//!         4   0x09000069 f+0x5   cd 80            exit(42)                         # a.subx:9 cd/syscall 0x80/imm8
//! ```
//!
//! After the step number, two spaces per call not yet returned from; a
//! label with a colon when the instruction is the first after it
//! (`grep -E '^ *[0-9]+ +0x[0-9a-f]{8} [^ ]+: '` shows the control flow),
//! else the nearest label and the offset; the instruction's bytes; each
//! register, flag and memory word it changed as `old->new`; a system call
//! with its arguments and result; the source line from `a.map`.
//!
//! Tracing is kept off the untraced path: the run loop that traces is this
//! module's [`run`], over a [`Recorder`] that the machine tells of each
//! write; the untraced loops ([`super::fast::run`], and the plain
//! [`Machine::run`] it is tested against) tell nothing to anyone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

use super::decode::Inst;
use super::fault::{self, instruction_bytes, Fault};
use super::machine::{Kernel, Machine, Observer, Stop, SyscallRecord};
use super::watch::Watch;
use crate::maps::Symbols;
use crate::number::push_hex_0x8;
use crate::opcodes::{Action, REGISTERS};

/// The observer of a traced or watched run: what one step wrote, and the
/// system call it made.
#[derive(Default)]
pub struct Recorder {
    /// (address, size, old, new) of each write, in order.
    pub writes: Vec<(u32, u8, u32, u32)>,
    pub syscall: Option<SyscallRecord>,
}

impl Observer for Recorder {
    const ACTIVE: bool = true;
    fn wrote(&mut self, _: &Machine, addr: u32, size: u8, old: u32, new: u32) {
        self.writes.push((addr, size, old, new));
    }
    fn syscall(&mut self, record: SyscallRecord) {
        self.syscall = Some(record);
    }
}

/// Registers, EIP and flags, to see what a step changed.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    regs: [u32; 8],
    eflags: u32,
}

impl Snapshot {
    fn of(m: &Machine) -> Snapshot {
        let mut regs = [0; 8];
        regs.copy_from_slice(&m.regs[..8]);
        Snapshot { regs, eflags: m.flags.eflags() }
    }
}

const FLAG_NAMES: [(&str, u32); 4] = [("CF", 0), ("ZF", 6), ("SF", 7), ("OF", 11)];

/// What a traced or watched run needs besides the machine.
pub struct Tracing<'a> {
    /// Where the trace goes, if anywhere.
    pub out: Option<Box<dyn Write + 'a>>,
    /// Flush the trace before each system call (when it shares stderr with
    /// the program).
    pub flush_before_syscalls: bool,
    pub watches: Vec<Watch>,
    pub symbols: &'a Symbols,
    /// Where watch reports go (stderr).
    pub messages: &'a mut dyn Write,
}

/// Run `m` to its end, `max_steps` at most, tracing and watching; the
/// error is a failure to write the trace.
pub fn run<K: Kernel>(m: &mut Machine, kernel: &mut K, max_steps: u64, mut t: Tracing) -> io::Result<Stop> {
    let watch_labels: Vec<(u32, String)> = t
        .symbols
        .labels_starting_with(b"$watch-")
        .map(|(a, n)| (a, String::from_utf8_lossy(n).into_owned()))
        .collect();
    let mut lines = LineCache::default();
    let mut rec = Recorder::default();
    // Trace lines wait here and go out BATCH bytes at a time.
    let mut buf = Vec::with_capacity(2 * BATCH);
    loop {
        if m.steps >= max_steps {
            flush(&mut t.out, &mut buf)?;
            return Ok(Stop::MaxSteps);
        }
        let before = Snapshot::of(m);
        let (eip, depth) = (m.eip, m.frames.len());
        let inst = m.current();
        if t.flush_before_syscalls && matches!(inst, Ok(Inst { action: Action::Interrupt, .. })) {
            flush(&mut t.out, &mut buf)?;
        }
        rec.writes.clear();
        rec.syscall = None;
        let result = m.step(kernel, &mut rec);
        let step = m.steps + u64::from(result.is_err());
        if let Some(out) = t.out.as_mut() {
            let fault = match result {
                Err(Stop::Fault(f)) => Some(f),
                _ => None,
            };
            write_line(&mut buf, m, &mut lines, t.symbols, step, depth, eip, inst.ok().map(|i| i.len), &before, &rec, fault);
            if buf.len() >= BATCH {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        if let Some((_, label)) = watch_labels.iter().find(|(a, _)| *a == eip) {
            for &(addr, size, _, _) in &rec.writes {
                if !t.watches.iter().any(|w| w.addr == addr && w.len == u32::from(size)) {
                    t.watches.push(Watch { addr, len: u32::from(size), name: format!("{addr:#010x} (written at {label})") });
                }
            }
        }
        // The trace so far goes out before the first report, so that the
        // two keep their order on a shared stderr.
        let mut flushed = false;
        for &(addr, size, old, new) in &rec.writes {
            for w in t.watches.iter().filter(|w| w.overlaps(addr, u32::from(size))) {
                if !flushed {
                    flush(&mut t.out, &mut buf)?;
                    flushed = true;
                }
                let mut line = format!(
                    "subx run: watch {} ({:#010x}, {} byte{}): [{addr:#010x}] {old:#x} -> {new:#x} at step {step} by {}: {}",
                    w.name,
                    w.addr,
                    w.len,
                    if w.len == 1 { "" } else { "s" },
                    fault::place(eip, t.symbols),
                    instruction_bytes(&m.memory, eip, inst.as_ref().map_or(0, |i| usize::from(i.len))),
                );
                if let Some(l) = t.symbols.line(eip) {
                    line.push_str(&format!(
                        "  # {} {}",
                        String::from_utf8_lossy(&l.place),
                        String::from_utf8_lossy(&l.text)
                    ));
                }
                writeln!(t.messages, "{line}")?;
            }
        }
        if let Err(stop) = result {
            flush(&mut t.out, &mut buf)?;
            return Ok(stop);
        }
    }
}

/// Trace lines are written this many bytes at a time (at least).
const BATCH: usize = 1 << 16;

/// Write out the trace lines waiting in `buf`, and flush.
fn flush(out: &mut Option<Box<dyn Write + '_>>, buf: &mut Vec<u8>) -> io::Result<()> {
    match out {
        Some(out) => {
            out.write_all(buf)?;
            buf.clear();
            out.flush()
        }
        None => Ok(()),
    }
}

/// For each address, the parts of its trace line that never change: the
/// address, label and bytes before the changes, the source after them.
#[derive(Default)]
struct LineCache {
    parts: HashMap<u32, (Vec<u8>, Vec<u8>), BuildHasherDefault<AddressHasher>>,
}

/// A hash of an address for [`LineCache`], much cheaper than the default
/// (which resists crafted keys, a danger a program's own addresses are not):
/// the address times an odd constant, its high bits in the low ones.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        let h = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ h >> 32;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl LineCache {
    fn parts(&mut self, m: &Machine, symbols: &Symbols, eip: u32, len: Option<u8>) -> &(Vec<u8>, Vec<u8>) {
        self.parts.entry(eip).or_insert_with(|| {
            let mut head = Vec::new();
            push_hex_0x8(&mut head, u64::from(eip));
            let exact = symbols.labels_at(eip);
            if !exact.is_empty() {
                for name in exact {
                    head.push(b' ');
                    head.extend_from_slice(name);
                    head.push(b':');
                }
            } else if let Some((name, off)) = symbols.name(eip) {
                head.push(b' ');
                head.extend_from_slice(name);
                head.extend_from_slice(b"+");
                push_hex(&mut head, off);
            }
            head.push(b' ');
            head.extend_from_slice(instruction_bytes(&m.memory, eip, len.map_or(1, usize::from)).as_bytes());
            let mut tail = Vec::new();
            if let Some(line) = symbols.line(eip) {
                tail.extend_from_slice(b"  # ");
                tail.extend_from_slice(&line.place);
                tail.push(b' ');
                tail.extend_from_slice(&line.text);
            }
            (head, tail)
        })
    }
}

/// One line of the trace, for the step that ran the instruction at `eip`.
#[allow(clippy::too_many_arguments)]
fn write_line(
    buf: &mut Vec<u8>,
    m: &Machine,
    lines: &mut LineCache,
    symbols: &Symbols,
    step: u64,
    depth: usize,
    eip: u32,
    len: Option<u8>,
    before: &Snapshot,
    rec: &Recorder,
    fault: Option<Fault>,
) {
    push_decimal_padded(buf, step, 9);
    buf.push(b' ');
    buf.extend(std::iter::repeat_n(b' ', 2 * depth.min(MAX_INDENT)));
    let (head, tail) = lines.parts(m, symbols, eip, len);
    buf.extend_from_slice(head);
    let after = Snapshot::of(m);
    buf.push(b' ');
    let bare = buf.len();
    for ((name, old), new) in REGISTERS.iter().zip(before.regs).zip(after.regs) {
        if old != new {
            buf.push(b' ');
            buf.extend_from_slice(name.as_bytes());
            buf.push(b' ');
            push_hex(buf, old);
            buf.extend_from_slice(b"->");
            push_hex(buf, new);
        }
    }
    for (name, bit) in FLAG_NAMES {
        let (old, new) = (before.eflags >> bit & 1, after.eflags >> bit & 1);
        if old != new {
            buf.push(b' ');
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(if new == 1 { b" 0->1" } else { b" 1->0" });
        }
    }
    for &(addr, size, old, new) in &rec.writes {
        buf.extend_from_slice(if size == 1 { b" byte[" } else { b" [" });
        push_hex_0x8(buf, u64::from(addr));
        buf.extend_from_slice(b"] ");
        push_hex(buf, old);
        buf.extend_from_slice(b"->");
        push_hex(buf, new);
    }
    if let Some(call) = &rec.syscall {
        buf.push(b' ');
        buf.extend_from_slice(call.call.as_bytes());
        if !call.call.starts_with("exit") {
            buf.extend_from_slice(b" = ");
            // -errno and counts in decimal, addresses in hex.
            let value = call.result as i32;
            if (-4095..0x10000).contains(&value) {
                buf.extend_from_slice(value.to_string().as_bytes());
            } else {
                push_hex(buf, call.result);
            }
        }
    }
    if let Some(f) = fault {
        buf.extend_from_slice(b" FAULT: ");
        buf.extend_from_slice(f.describe(m).as_bytes());
    }
    if buf.len() == bare {
        buf.pop();
    }
    buf.extend_from_slice(tail);
    buf.push(b'\n');
}

/// Calls deeper than this are indented as this deep.
const MAX_INDENT: usize = 40;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `0x` and the hex digits of `n`, without leading zeros.
fn push_hex(buf: &mut Vec<u8>, n: u32) {
    buf.extend_from_slice(b"0x");
    let digits = (8 - n.leading_zeros() / 4).max(1);
    for k in (0..digits).rev() {
        buf.push(HEX[(n >> (4 * k) & 15) as usize]);
    }
}

/// The decimal digits of `n`, after spaces up to `width` in all.
fn push_decimal_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &digits[start..];
    buf.extend(std::iter::repeat_n(b' ', width.saturating_sub(digits.len())));
    buf.extend_from_slice(digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        let mut b = Vec::new();
        push_hex(&mut b, 0);
        b.push(b' ');
        push_hex(&mut b, 0x2a);
        b.push(b' ');
        push_hex(&mut b, 0xffff_ffff);
        b.push(b' ');
        push_hex_0x8(&mut b, 0x2a);
        assert_eq!(String::from_utf8(b).unwrap(), "0x0 0x2a 0xffffffff 0x0000002a");
    }

    #[test]
    fn decimal() {
        let mut b = Vec::new();
        for n in [0, 7, 123456789, 1234567890, u64::MAX] {
            push_decimal_padded(&mut b, n, 9);
            b.push(b'|');
        }
        let expected = format!("{:>9}|{:>9}|{:>9}|{:>9}|{:>9}|", 0, 7, 123456789, 1234567890u64, u64::MAX);
        assert_eq!(String::from_utf8(b).unwrap(), expected);
    }
}

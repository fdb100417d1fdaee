//! Lockstep: the emulator against the processor, one instruction at a time.
//!
//! A generator writes programs that run every opcode of the table, every
//! subop, every ModR/M and SIB form, with edge values (0, 1, 0x7fffffff,
//! 0x80000000, 0xffffffff; shift counts 0, 1, 31 and more; signed and
//! unsigned overflow; division remainders of both signs), as raw bytes in a
//! small ELF. Each program runs natively under `ptrace`, single-stepped;
//! the emulator starts from the native process's registers and stack and
//! runs the same instruction; after every instruction EIP, the eight
//! registers and CF ZF SF OF must be equal. Flags that Intel's manual
//! leaves undefined after an instruction (`docs/run.md`) are not compared,
//! and are copied from the processor so that both go on alike. A system
//! call runs natively; the emulator takes its result. A fault must be the
//! same fault (the signal).
//!
//! Single-stepping costs about 130 µs a step, so `cargo test` runs the
//! quick set (every (opcode, subop, mod, rm) and every SIB byte under each
//! mod, plus the edge values: under 50,000 steps). The long set, every
//! (opcode, subop, mod, rm, SIB) form and more random values, several
//! hundred thousand steps per seed:
//!
//! ```text
//! SUBX_LOCKSTEP=long cargo test --release --test lockstep -- --nocapture
//! SUBX_LOCKSTEP=long SUBX_LOCKSTEP_SEEDS=5 cargo test --release --test lockstep -- --nocapture
//! ```
//!
//! Skipped with `SUBX_NATIVE=0` (no 32-bit x86 to compare with).

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::ptrace;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use subx::emulator::decode::{decode, Inst};
use subx::emulator::fault::instruction_bytes;
use subx::emulator::flags::{Flags, MASK};
use subx::emulator::machine::{Kernel, Machine, Observer, Quiet, Stop};
use subx::emulator::memory::{READ, WRITE};
use subx::opcodes::{Action, RegField, Tail, EAX, ECX, EDX, ESP, OPCODES};

mod support;
use support::{native, splitmix};

// ---------------------------------------------------------------- layout

const CODE: u32 = 0x0900_0000;
/// The first instruction: after the ELF header and program headers.
const ENTRY: u32 = CODE + 0x100;
const DATA: u32 = 0x0a00_0000;
const DATA_SIZE: u32 = 0x1_0000;
/// Where effective addresses land, and ESP at each test.
const TARGET_LOW: u32 = DATA + 0x1000;
const STACK: u32 = DATA + 0xf000;

/// The ELF of a program: code at ENTRY, a zeroed data segment of DATA_SIZE.
fn elf(code: &[u8]) -> Vec<u8> {
    let mut e = vec![0u8; 0x100];
    e[..16].copy_from_slice(b"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    let put16 = |e: &mut Vec<u8>, at: usize, v: u16| e[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |e: &mut Vec<u8>, at: usize, v: u32| e[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put16(&mut e, 16, 2); // ET_EXEC
    put16(&mut e, 18, 3); // EM_386
    put32(&mut e, 20, 1);
    put32(&mut e, 24, ENTRY);
    put32(&mut e, 28, 52); // e_phoff
    put16(&mut e, 40, 52); // e_ehsize
    put16(&mut e, 42, 32);
    put16(&mut e, 44, 2);
    let code_size = 0x100 + code.len() as u32;
    for (i, p) in [[1, 0, CODE, CODE, code_size, code_size, 5, 0x1000], [1, 0, DATA, DATA, 0, DATA_SIZE, 6, 0x1000]]
        .iter()
        .enumerate()
    {
        for (k, v) in p.iter().enumerate() {
            put32(&mut e, 52 + 32 * i + 4 * k, *v);
        }
    }
    e.extend_from_slice(code);
    e
}

// ---------------------------------------------------------------- forms

/// An instruction form: opcode, subop (for opcodes that take one), and
/// for opcodes with a ModR/M byte its mod, rm and SIB byte.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Form {
    opcode: Vec<u8>,
    subop: Option<u8>,
    modrm: Option<(u8, u8, Option<u8>)>,
}

/// (opcode, subop) pairs: one per opcode, or one per subop.
fn opcode_subops() -> Vec<(&'static subx::opcodes::Opcode, Option<u8>)> {
    let mut pairs = Vec::new();
    for op in OPCODES {
        match op.action {
            Action::Subops(list) => pairs.extend(list.iter().map(|s| (op, Some(s.number)))),
            _ => pairs.push((op, None)),
        }
    }
    pairs
}

/// Every form there is: the long set must cover them all.
fn all_forms() -> BTreeSet<Form> {
    let mut forms = BTreeSet::new();
    for (op, subop) in opcode_subops() {
        if !op.has_modrm() {
            forms.insert(Form { opcode: op.bytes.to_vec(), subop, modrm: None });
            continue;
        }
        for mode in 0..4u8 {
            for rm in 0..8u8 {
                if mode != 3 && rm == 4 {
                    for sib in 0..=255u8 {
                        forms.insert(Form { opcode: op.bytes.to_vec(), subop, modrm: Some((mode, rm, Some(sib))) });
                    }
                } else {
                    forms.insert(Form { opcode: op.bytes.to_vec(), subop, modrm: Some((mode, rm, None)) });
                }
            }
        }
    }
    forms
}

// ---------------------------------------------------------------- generator

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        splitmix::next(&mut self.0)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u32) as usize]
    }
    /// An edge value most of the time, else anything.
    fn value(&mut self) -> u32 {
        if self.below(4) == 0 {
            self.next() as u32
        } else {
            self.pick(&EDGES)
        }
    }
}

const EDGES: [u32; 5] = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

/// A generated program, and the forms it runs.
struct Program {
    code: Vec<u8>,
    forms: Vec<Form>,
}

/// A kernel for the generator's own run of a program: write returns its
/// count, anything else stops it.
struct GenKernel;

impl Kernel for GenKernel {
    fn syscall<O: Observer>(&mut self, m: &mut Machine, _: &mut O) -> Result<(), Stop> {
        match m.regs[0] {
            4 => {
                m.regs[0] = m.regs[2];
                Ok(())
            }
            1 => Err(Stop::Exit(m.regs[3] as u8)),
            _ => Err(Stop::Fault(subx::emulator::Fault::Interrupt(0x80))),
        }
    }
}

/// Writes programs unit by unit, running each unit in the emulator as it
/// is written: a unit that faults ends its program (the fault is compared
/// too), and a program ends with exit after a few hundred units.
struct Builder {
    rng: Rng,
    programs: Vec<Program>,
    code: Vec<u8>,
    forms: Vec<Form>,
    machine: Machine,
    units: usize,
}

impl Builder {
    fn new(seed: u64) -> Builder {
        Builder { rng: Rng(seed), programs: Vec::new(), code: Vec::new(), forms: Vec::new(), machine: fresh(), units: 0 }
    }

    fn here(&self) -> u32 {
        ENTRY + self.code.len() as u32
    }

    /// Add one unit: setup instructions, then the tested one, whose form is
    /// `form`. `emit` writes the bytes at the address it is given.
    fn unit(&mut self, form: Form, emit: impl FnOnce(&mut Rng, u32) -> Vec<u8>) {
        let start = self.here();
        let bytes = emit(&mut self.rng, start);
        self.code.extend_from_slice(&bytes);
        self.machine.memory.poke(start, &bytes);
        self.forms.push(form);
        let end = self.here();
        let mut steps = 0;
        while self.machine.eip != end {
            match self.machine.step(&mut GenKernel, &mut Quiet) {
                Ok(()) => {}
                Err(Stop::Fault(_)) => {
                    self.close(false);
                    return;
                }
                Err(stop) => panic!("generator: unit at {start:#x} stopped with {stop:?}"),
            }
            steps += 1;
            assert!(steps < 100 && self.machine.eip >= start && self.machine.eip <= end, "generator: unit at {start:#x} went astray");
        }
        self.units += 1;
        if self.units >= 300 {
            self.close(true);
        }
    }

    /// End the current program (with exit 0 unless it already faults).
    fn close(&mut self, exit: bool) {
        if exit {
            self.code.extend([0xbb, 0, 0, 0, 0, 0xb8, 1, 0, 0, 0, 0xcd, 0x80]);
        }
        let code = std::mem::take(&mut self.code);
        let forms = std::mem::take(&mut self.forms);
        if !forms.is_empty() {
            self.programs.push(Program { code, forms });
        }
        self.machine = fresh();
        self.units = 0;
    }

    fn finish(mut self) -> Vec<Program> {
        if !self.forms.is_empty() {
            self.close(true);
        }
        self.programs
    }
}

/// The generator's machine: code and data mapped as the kernel maps them.
fn fresh() -> Machine {
    let mut m = Machine::new();
    m.memory.map(CODE, 0x10_0000, READ);
    m.memory.map(DATA, DATA_SIZE, READ | WRITE);
    m.eip = ENTRY;
    m.regs[4] = STACK;
    m
}

fn mov(r: u8, v: u32) -> Vec<u8> {
    let mut b = vec![0xb8 + r];
    b.extend(v.to_le_bytes());
    b
}

/// `mov eax, a; cmp eax, b`: flags from comparing two values.
fn flags_from(a: u32, b: u32) -> Vec<u8> {
    let mut out = mov(EAX, a);
    out.push(0x3d);
    out.extend(b.to_le_bytes());
    out
}

/// The registers to set and the bytes after the ModR/M byte (SIB and
/// displacement) that make the memory operand `mode`/`rm`/`sib` address
/// memory near `target` (exactly `target` unless ESP is the base).
fn address(rng: &mut Rng, mode: u8, rm: u8, sib: Option<u8>, target: u32) -> (Vec<(u8, u32)>, Vec<u8>) {
    let mut tail = Vec::new();
    let (base, index, scale) = match sib {
        Some(s) => {
            tail.push(s);
            (Some(s & 7), Some(s >> 3 & 7).filter(|&i| i != 4), s >> 6)
        }
        None => (Some(rm), None, 0),
    };
    let no_base = mode == 0 && base == Some(5);
    let base = if no_base { None } else { base };
    let disp: u32 = match mode {
        1 => rng.below(256) as u8 as i8 as u32,
        2 if base == Some(ESP) => (rng.below(0x400) as i32 - 0x200) as u32,
        2 => rng.next() as u32,
        _ => 0,
    };
    let mut regs = Vec::new();
    let index_value = rng.below(16);
    let disp = match (base, index) {
        (Some(b), Some(i)) if b == i => {
            let v = target.wrapping_sub(disp) / (1 + (1 << scale));
            regs.push((b, v));
            disp
        }
        (Some(ESP), i) => {
            if let Some(i) = i {
                regs.push((i, index_value));
            }
            disp
        }
        (Some(b), i) => {
            let scaled = i.map_or(0, |_| index_value << scale);
            if let Some(i) = i {
                regs.push((i, index_value));
            }
            regs.push((b, target.wrapping_sub(disp).wrapping_sub(scaled)));
            disp
        }
        (None, i) => {
            if let Some(i) = i {
                regs.push((i, index_value));
            }
            target.wrapping_sub(i.map_or(0, |_| index_value << scale))
        }
    };
    match mode {
        1 => tail.push(disp as u8),
        2 => tail.extend(disp.to_le_bytes()),
        0 if no_base || (sib.is_none() && rm == 5) => tail.extend(disp.to_le_bytes()),
        _ => {}
    }
    (regs, tail)
}

/// The bytes of one unit testing `form` at `at`, with values from `rng`
/// (or `values`, for the edge tests: the rm operand and the other).
fn modrm_unit(rng: &mut Rng, at: u32, form: &Form, values: Option<(u32, u32)>) -> Vec<u8> {
    let op = subx::opcodes::lookup(&form.opcode).expect("an opcode of the table");
    let (mode, rm, sib) = form.modrm.expect("a ModR/M form");
    let action = match (op.action, form.subop) {
        (Action::Subops(_), Some(s)) => op.subop(s).expect("a subop").action,
        (a, _) => a,
    };
    let extra_imm32 = form.subop.and_then(|s| op.subop(s)).is_some_and(|s| s.imm32);
    let reg = form.subop.unwrap_or_else(|| rng.below(8) as u8);
    let (a, b) = values.unwrap_or_else(|| (rng.value(), rng.value()));
    let mut out = flags_from(rng.value(), rng.value());
    out.extend(mov(ESP, STACK));
    // Operand values: the rm register (mod 3) gets a, the r32 register b.
    let mut sets: Vec<(u8, u32)> = Vec::new();
    if op.reg == RegField::R32 {
        sets.push((reg, b));
    }
    if mode == 3 {
        sets.push((rm, a));
    }
    let is = |x: Action| action == x;
    let divide = matches!(action, Action::Divide { .. });
    let signed_divide = is(Action::Divide { signed: true });
    // Implicit operands.
    if matches!(action, Action::Multiply { .. }) {
        sets.push((EAX, b));
    }
    if op.tail == Tail::None && matches!(action, Action::Shift(_)) {
        sets.push((ECX, b));
    }
    let (quotient_edx, quotient_eax, divisor) = if divide {
        // A dividend and divisor whose quotient fits, remainders of both signs.
        let d = if a == 0 { 3 } else { a };
        if signed_divide {
            let d64 = i64::from(d as i32);
            let q = i64::from(rng.value() as i32 / 2) / d64.abs().max(1) * if rng.below(2) == 0 { 1 } else { -1 };
            let r = i64::from(rng.below(d64.unsigned_abs().min(1 << 30) as u32)) * if rng.below(2) == 0 { 1 } else { -1 };
            let r = if (q * d64 + r).signum() != r.signum() && r != 0 { -r } else { r };
            let n = q * d64 + r;
            ((n >> 32) as u32, n as u32, d)
        } else {
            let high = rng.below(d.max(1));
            (high, rng.value(), d)
        }
    } else {
        (0, 0, 0)
    };
    if divide {
        sets.push((EDX, quotient_edx));
        sets.push((EAX, quotient_eax));
        if mode == 3 {
            sets.push((rm, divisor));
        }
    }
    // Memory operand: registers to address it, and its contents.
    let target = TARGET_LOW + rng.below(0xc000) / 4 * 4;
    let (addr_regs, tail) = if mode != 3 { address(rng, mode, rm, sib, target) } else { (Vec::new(), Vec::new()) };
    sets.extend(addr_regs);
    // ESP stays at STACK (a value like any other), so that pushes, pops
    // and ESP-based addresses work.
    for (r, v) in sets.iter().filter(|(r, _)| *r != ESP) {
        out.extend(mov(*r, *v));
    }
    let modrm = mode << 6 | reg << 3 | rm;
    let mut test = op.bytes.to_vec();
    test.push(modrm);
    test.extend(&tail);
    match op.tail {
        Tail::Imm8 => test.push(if matches!(action, Action::Shift(_)) { b as u8 } else { a as u8 }),
        Tail::Imm32 => test.extend(b.to_le_bytes()),
        _ => {}
    }
    if extra_imm32 {
        test.extend(b.to_le_bytes());
    }
    // Where control goes after it: the next instruction.
    let stores = |out: &mut Vec<u8>, value: u32| {
        // c7 0/subop with the same ModR/M bytes: [memory] = value.
        out.push(0xc7);
        out.push(mode << 6 | rm);
        out.extend(&tail);
        out.extend(value.to_le_bytes());
    };
    let control = matches!(action, Action::JumpTo(_) | Action::CallTo(_));
    if mode != 3 && !is(Action::CopyAddress) {
        // Memory contents: the operand value, the divisor, or the target.
        let len_after_store = 1 + 1 + tail.len() as u32 + 4;
        let next = at + (out.len() as u32) + len_after_store + test.len() as u32;
        let value = if control {
            next
        } else if divide {
            divisor
        } else {
            a
        };
        stores(&mut out, value);
    } else if control && mode == 3 {
        // Re-set the register to the target, now that the length is known.
        let next = at + out.len() as u32 + 5 + test.len() as u32;
        out.extend(mov(rm, next));
    }
    out.extend(test);
    out
}

/// A unit for an opcode without a ModR/M byte.
fn plain_unit(rng: &mut Rng, at: u32, op: &subx::opcodes::Opcode, values: Option<(u32, u32)>) -> Vec<u8> {
    let (a, b) = values.unwrap_or_else(|| (rng.value(), rng.value()));
    let mut out = flags_from(a, b);
    out.extend(mov(ESP, STACK));
    let low = op.bytes[0] & 7;
    match op.action {
        Action::Increment(_) | Action::Decrement(_) | Action::Push(_) | Action::Pop(_) if low != ESP => {
            out.extend(mov(low, a))
        }
        Action::Arith(..) => out.extend(mov(EAX, a)),
        Action::SignExtend => out.extend(mov(EAX, a)),
        _ => {}
    }
    let mut test = op.bytes.to_vec();
    match op.action {
        Action::Jump(_) => {
            // Jump over a one-byte instruction (inc eax): taken or not, go on.
            test.extend(if op.tail == Tail::Disp8 { vec![1] } else { 1u32.to_le_bytes().to_vec() });
            test.push(0x40);
        }
        Action::Call => {
            test.extend(1u32.to_le_bytes());
            test.push(0x40);
        }
        Action::Return => {
            // push the address after the ret, then ret.
            let next = at + out.len() as u32 + 5 + 1;
            out.push(0x68);
            out.extend(next.to_le_bytes());
        }
        Action::Interrupt => {
            // write(1, STACK, 4)
            out.extend(mov(EAX, 4));
            out.extend(mov(3, 1));
            out.extend(mov(ECX, STACK));
            out.extend(mov(EDX, 4));
            test.push(0x80);
        }
        _ => match op.tail {
            Tail::Imm32 => test.extend(b.to_le_bytes()),
            Tail::Imm8 | Tail::Disp8 | Tail::Disp32 | Tail::None => {}
        },
    }
    out.extend(test);
    out
}

/// The programs of the quick set (`long` false) or the long one.
fn generate(long: bool, seed: u64) -> Vec<Program> {
    let mut b = Builder::new(seed);
    let pairs = opcode_subops();
    let mut sib_turn = 0u32;
    for &(op, subop) in &pairs {
        let form = |modrm| Form { opcode: op.bytes.to_vec(), subop, modrm };
        if !op.has_modrm() {
            let reps = if long { 40 } else { 4 };
            for _ in 0..reps {
                b.unit(form(None), |rng, at| plain_unit(rng, at, op, None));
            }
            // Edge values for the arithmetic and the jumps after a compare.
            for &x in &EDGES {
                for &y in &EDGES {
                    if matches!(op.action, Action::Arith(..) | Action::Jump(_) | Action::Increment(_) | Action::Decrement(_)) {
                        b.unit(form(None), |rng, at| plain_unit(rng, at, op, Some((x, y))));
                    }
                }
            }
            continue;
        }
        for mode in 0..4u8 {
            for rm in 0..8u8 {
                let sibs: Vec<Option<u8>> = if mode != 3 && rm == 4 {
                    if long {
                        (0..=255).map(Some).collect()
                    } else {
                        sib_turn += 97;
                        vec![Some((sib_turn % 256) as u8)]
                    }
                } else {
                    vec![None]
                };
                for sib in sibs {
                    let f = form(Some((mode, rm, sib)));
                    b.unit(f.clone(), |rng, at| modrm_unit(rng, at, &f, None));
                }
            }
        }
        // Edge values, register forms.
        for &x in &EDGES {
            for &y in &EDGES {
                let rm = b.rng.pick(&[0u8, 1, 2, 3, 5, 6, 7]);
                let f = form(Some((3, rm, None)));
                b.unit(f.clone(), |rng, at| modrm_unit(rng, at, &f, Some((x, y))));
            }
        }
        if subop.and_then(|s| op.subop(s)).is_some_and(|s| matches!(s.action, Action::Shift(_))) {
            // Shift counts beyond 31 (only the low 5 bits count).
            for count in [32u32, 33, 63, 0x80, 0xff] {
                let f = form(Some((3, 3, None)));
                b.unit(f.clone(), |rng, at| {
                    let v = rng.value();
                    modrm_unit(rng, at, &f, Some((v, count)))
                });
            }
        }
    }
    if !long {
        // Every SIB byte under each mod, with opcodes taken in turn.
        let modrm_pairs: Vec<_> = pairs.iter().filter(|(op, _)| op.has_modrm()).collect();
        let mut k = 0;
        for mode in 0..3u8 {
            for sib in 0..=255u8 {
                let (op, subop) = *modrm_pairs[k % modrm_pairs.len()];
                k += 1;
                let f = Form { opcode: op.bytes.to_vec(), subop, modrm: Some((mode, 4, Some(sib))) };
                b.unit(f.clone(), |rng, at| modrm_unit(rng, at, &f, None));
            }
        }
    }
    b.finish()
}

// ---------------------------------------------------------------- native

/// A native process stopped at its first instruction, traced.
struct Tracee {
    pid: Pid,
}

impl Tracee {
    /// Start `elf` under ptrace, without `unsafe`: a shell stops itself,
    /// we attach, and it execs the ELF. (The child is waited for with
    /// `waitpid`, in `Drop`, not through `Child`.)
    #[allow(clippy::zombie_processes)]
    fn start(elf: &Path) -> Tracee {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg("kill -STOP $$; exec \"$0\"")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let pid = Pid::from_raw(child.id() as i32);
        match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).expect("wait for the stop") {
            WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
            other => panic!("the shell did not stop: {other:?}"),
        }
        ptrace::seize(pid, ptrace::Options::PTRACE_O_TRACEEXEC | ptrace::Options::PTRACE_O_EXITKILL).expect("seize");
        signal::kill(pid, Signal::SIGCONT).expect("SIGCONT");
        loop {
            match waitpid(pid, None).expect("wait for exec") {
                WaitStatus::PtraceEvent(_, _, e) if e == ptrace::Event::PTRACE_EVENT_EXEC as i32 => break,
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => panic!("the shell ended before exec"),
                _ => ptrace::cont(pid, None).expect("continue"),
            }
        }
        Tracee { pid }
    }

    fn regs(&self) -> ([u32; 8], u32, u32) {
        let r = ptrace::getregs(self.pid).expect("getregs");
        let regs = [r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi].map(|v| v as u32);
        (regs, r.rip as u32, r.eflags as u32)
    }

    fn read(&self, addr: u32, len: usize) -> Vec<u8> {
        let mut mem = fs::File::open(format!("/proc/{}/mem", self.pid)).expect("open /proc/PID/mem");
        mem.seek(SeekFrom::Start(u64::from(addr))).expect("seek");
        let mut buf = vec![0; len];
        mem.read_exact(&mut buf).expect("read native memory");
        buf
    }

    /// The stack mapping's range, from /proc/PID/maps.
    fn stack(&self) -> (u32, u32) {
        let maps = fs::read_to_string(format!("/proc/{}/maps", self.pid)).expect("read maps");
        let line = maps.lines().find(|l| l.ends_with("[stack]")).expect("a [stack] line");
        let range = line.split(' ').next().expect("a range");
        let (lo, hi) = range.split_once('-').expect("lo-hi");
        (u32::from_str_radix(lo, 16).expect("hex"), u32::from_str_radix(hi, 16).expect("hex"))
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        let _ = signal::kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, None);
    }
}

/// The emulator's kernel in lockstep: the native process has just made
/// the call; take its result (and the bytes a read put in memory).
struct Replay<'a> {
    tracee: &'a Tracee,
}

impl Kernel for Replay<'_> {
    fn syscall<O: Observer>(&mut self, m: &mut Machine, _: &mut O) -> Result<(), Stop> {
        let number = m.regs[0];
        if matches!(number, 1 | 252) {
            return Err(Stop::Exit(m.regs[3] as u8));
        }
        let (regs, _, _) = self.tracee.regs();
        match number {
            3 if (regs[0] as i32) > 0 => {
                let bytes = self.tracee.read(m.regs[1], regs[0] as usize);
                m.memory.write_bytes(m.regs[1], &bytes);
            }
            3 | 4 | 5 | 6 | 8 | 10 | 19 | 38 => {}
            n => panic!("lockstep: system call {n} is not replayed"),
        }
        m.regs[0] = regs[0];
        Ok(())
    }
}

/// The flags an instruction leaves undefined (Intel SDM vol. 2), as EFLAGS bits.
fn undefined_flags(inst: &Inst, m: &Machine) -> u32 {
    const ZF: u32 = 1 << 6;
    const SF: u32 = 1 << 7;
    const OF: u32 = 1 << 11;
    match inst.action {
        Action::Multiply { .. } | Action::MultiplyInto => ZF | SF,
        Action::Divide { .. } => MASK,
        Action::Shift(_) => {
            let count = if inst.by_cl { m.regs[1] } else { inst.imm } & 31;
            if count > 1 {
                OF
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// `si_code` of a single-step trap.
const TRAP_TRACE: i32 = 2;

/// Run one program both ways; the number of steps compared, or what differed.
fn lockstep(program: &Program, dir: &Path, index: usize) -> Result<u64, String> {
    let path = dir.join(format!("p{index}.elf"));
    fs::write(&path, elf(&program.code)).expect("write ELF");
    let mut perms = fs::metadata(&path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&path, perms).expect("chmod");
    let tracee = Tracee::start(&path);
    let (regs, eip, eflags) = tracee.regs();
    // The emulator: the same ELF loaded, the native stack copied in.
    let (mut m, _) = subx::emulator::load::load(&elf(&program.code), &[], &[], subx::emulator::load::Layout::new(8 << 20))
        .map_err(|e| format!("load: {e}"))?;
    let (lo, hi) = tracee.stack();
    m.memory.map(lo, hi - lo, READ | WRITE);
    m.memory.poke(lo, &tracee.read(lo, (hi - lo) as usize));
    m.regs[..8].copy_from_slice(&regs);
    m.eip = eip;
    m.flags = Flags::from_eflags(eflags);
    let mut steps = 0u64;
    loop {
        let before = m.eip;
        let inst = decode(|a| m.memory.peek(a), before).ok();
        let undefined = inst.as_ref().map_or(0, |i| undefined_flags(i, &m));
        ptrace::step(tracee.pid, None).map_err(|e| format!("step: {e}"))?;
        let mut status = waitpid(tracee.pid, None).map_err(|e| format!("wait: {e}"))?;
        // A SIGTRAP that is not the single-step's and ran nothing (the one
        // exec leaves pending, delivered at the first resume): step again.
        while matches!(status, WaitStatus::Stopped(_, Signal::SIGTRAP))
            && ptrace::getsiginfo(tracee.pid).map_err(|e| format!("siginfo: {e}"))?.si_code != TRAP_TRACE
            && tracee.regs().1 == before
        {
            ptrace::step(tracee.pid, None).map_err(|e| format!("step: {e}"))?;
            status = waitpid(tracee.pid, None).map_err(|e| format!("wait: {e}"))?;
        }
        let result = m.step(&mut Replay { tracee: &tracee }, &mut Quiet);
        let context = || {
            let bytes = instruction_bytes(&m.memory, before, inst.map_or(1, |i| usize::from(i.len)));
            format!("program {index}, step {steps}, instruction at {before:#x}: {bytes}")
        };
        match status {
            WaitStatus::Stopped(_, Signal::SIGTRAP) => {
                result.map_err(|s| format!("{}: native ran it, the emulator stopped: {s:?}", context()))?;
                let (regs, eip, eflags) = tracee.regs();
                if m.eip != eip || m.regs[..8] != regs {
                    return Err(format!(
                        "{}: native eip {eip:#x} regs {regs:x?}, emulator eip {:#x} regs {:x?}",
                        context(),
                        m.eip,
                        &m.regs[..8]
                    ));
                }
                let compared = MASK & !undefined;
                if m.flags.eflags() & compared != eflags & compared {
                    return Err(format!(
                        "{}: native flags {:#x}, emulator {:#x} (compared {compared:#x})",
                        context(),
                        eflags & MASK,
                        m.flags.eflags()
                    ));
                }
                if undefined != 0 {
                    m.flags = Flags::from_eflags(eflags);
                }
                steps += 1;
            }
            WaitStatus::Exited(_, code) => {
                return match result {
                    Err(Stop::Exit(c)) if i32::from(c) == code => Ok(steps + 1),
                    other => Err(format!("{}: native exited {code}, emulator {other:?}", context())),
                };
            }
            WaitStatus::Stopped(_, sig) => {
                return match result {
                    Err(Stop::Fault(f)) if i32::from(f.signal()) == sig as i32 && m.eip == before => Ok(steps + 1),
                    other => Err(format!("{}: native got {sig:?}, emulator {other:?}", context())),
                };
            }
            other => return Err(format!("{}: native {other:?}", context())),
        }
    }
}

fn run_set(long: bool, seed: u64) -> (u64, usize, BTreeSet<Form>) {
    let programs = generate(long, seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut steps = 0;
    let mut forms = BTreeSet::new();
    for (i, p) in programs.iter().enumerate() {
        match lockstep(p, dir.path(), i) {
            Ok(n) => steps += n,
            Err(e) => panic!("lockstep difference (seed {seed}): {e}"),
        }
        forms.extend(p.forms.iter().cloned());
    }
    (steps, programs.len(), forms)
}

#[test]
fn the_emulator_runs_in_lockstep_with_the_processor() {
    if !native() {
        eprintln!("lockstep: skipped (SUBX_NATIVE=0: no 32-bit x86 to compare with)");
        return;
    }
    let long = std::env::var("SUBX_LOCKSTEP").is_ok_and(|v| v == "long");
    let seeds: u64 = std::env::var("SUBX_LOCKSTEP_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut total = 0;
    let mut all = BTreeSet::new();
    for seed in 1..=(if long { seeds } else { 1 }) {
        let (steps, programs, forms) = run_set(long, seed);
        total += steps;
        all.extend(forms);
        eprintln!("lockstep: seed {seed}: {steps} steps compared in {programs} programs");
    }
    eprintln!("lockstep: {total} steps, {} distinct forms, zero differences", all.len());
    if !long {
        assert!(total <= 50_000, "the quick set took {total} steps; cargo test's budget is 50,000");
    }
}

#[test]
fn the_generator_covers_every_form() {
    // The long set: every (opcode, subop, mod, rm, SIB) form.
    let long: BTreeSet<Form> = generate(true, 1).into_iter().flat_map(|p| p.forms).collect();
    let missing: Vec<_> = all_forms().difference(&long).take(5).cloned().collect();
    assert!(missing.is_empty(), "the long set misses {missing:?}");
    // The quick set: every (opcode, subop, mod, rm), and every SIB byte under each mod.
    let quick: Vec<Form> = generate(false, 1).into_iter().flat_map(|p| p.forms).collect();
    let without_sib: BTreeSet<_> = quick.iter().map(|f| (f.opcode.clone(), f.subop, f.modrm.map(|(m, r, _)| (m, r)))).collect();
    let wanted: BTreeSet<_> = all_forms().into_iter().map(|f| (f.opcode, f.subop, f.modrm.map(|(m, r, _)| (m, r)))).collect();
    assert_eq!(without_sib, wanted);
    let sibs: BTreeSet<_> = quick.iter().filter_map(|f| f.modrm).filter_map(|(m, _, s)| s.map(|s| (m, s))).collect();
    assert_eq!(sibs.len(), 3 * 256);
    assert!(all_forms().len() > 40_000);
}

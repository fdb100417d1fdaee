//! The processor: eight registers, EIP, the flags, memory, and
//! [`Machine::step`], which runs one instruction as the table's
//! [`Action`] says.
//!
//! ```
//! use subx::emulator::machine::{Machine, NoKernel, Quiet};
//! use subx::emulator::memory::{READ, WRITE};
//! let mut m = Machine::new();
//! m.memory.map(0x09000000, 0x1000, READ);
//! // bb/copy-to-ebx 0x2a/imm32; 43/increment-ebx
//! m.memory.poke(0x09000000, &[0xbb, 0x2a, 0, 0, 0, 0x43]);
//! m.eip = 0x09000000;
//! m.step(&mut NoKernel, &mut Quiet).unwrap();
//! m.step(&mut NoKernel, &mut Quiet).unwrap();
//! assert_eq!((m.regs[3], m.eip), (0x2b, 0x09000006));
//! ```
//!
//! A step either completes or changes nothing but the [`Stop`] it returns
//! (a fault leaves EIP at the faulting instruction, as the processor does).
//! System calls go to a [`Kernel`]; what a step writes to memory, and the
//! system calls it makes, are told to an [`Observer`] (the trace, the
//! watch points), whose `ACTIVE = false` version compiles to nothing.

use super::decode::{Cache, Inst, Rm, NO_REG};
use super::fault::Fault;
use super::flags::{add_overflows, sub_overflows, Flags, Kind};
use super::memory::Memory;
use crate::opcodes::{Action, Arith, Loc, Shift, ESP};

// `regs[NO_REG]` is the 0 that a missing base or index adds.
const _: () = assert!(NO_REG == 8);

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The program called exit with this status (its low 8 bits).
    Exit(u8),
    /// The instruction at EIP faulted.
    Fault(Fault),
    /// Killed by this signal for another reason (SIGPIPE: writing to a
    /// pipe nobody reads).
    Signal(u8),
    /// `--max-steps` instructions ran.
    MaxSteps,
}

/// Runs system calls (`int 0x80`), given the machine; the result goes to EAX.
pub trait Kernel {
    fn syscall<O: Observer>(&mut self, machine: &mut Machine, observer: &mut O) -> Result<(), Stop>;
}

/// A kernel that knows no system call: every one stops the run with a
/// segmentation fault, for tests of the processor alone.
pub struct NoKernel;

impl Kernel for NoKernel {
    fn syscall<O: Observer>(&mut self, _: &mut Machine, _: &mut O) -> Result<(), Stop> {
        Err(Stop::Fault(Fault::Interrupt(0x80)))
    }
}

/// A system call as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRecord {
    /// `write(1, 0x0a000010, 14)`, strings and buffers shown where useful.
    pub call: String,
    /// The value returned in EAX (or the status, for exit).
    pub result: u32,
}

/// Told of what each step does, for traces and watch points.
pub trait Observer {
    /// Does anything need telling? When false, the calls are skipped.
    const ACTIVE: bool;
    /// `size` bytes at `addr` are about to change from `old` to `new`.
    fn wrote(&mut self, _machine: &Machine, _addr: u32, _size: u8, _old: u32, _new: u32) {}
    /// A system call ran.
    fn syscall(&mut self, _record: SyscallRecord) {}
}

/// An observer that wants to know nothing: the fast path.
pub struct Quiet;

impl Observer for Quiet {
    const ACTIVE: bool = false;
}

/// A call the program has made and not yet returned from: the return
/// address, and where on the stack it was pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ret: u32,
    pub slot: u32,
}

pub struct Machine {
    /// EAX ECX EDX EBX ESP EBP ESI EDI, then a 0 that stands for "no
    /// register" in addresses ([`NO_REG`]).
    pub regs: [u32; 9],
    pub eip: u32,
    pub flags: Flags,
    pub memory: Memory,
    cache: Cache,
    /// Calls not yet returned from, outermost first.
    pub frames: Vec<Frame>,
    /// Instructions completed.
    pub steps: u64,
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}

impl Machine {
    /// Registers and flags zero, nothing mapped.
    pub fn new() -> Machine {
        Machine {
            regs: [0; 9],
            eip: 0,
            flags: Flags::default(),
            memory: Memory::new(),
            cache: Cache::new(),
            frames: Vec::new(),
            steps: 0,
        }
    }

    /// Run until the program stops or `max_steps` instructions have run.
    pub fn run<K: Kernel>(&mut self, kernel: &mut K, max_steps: u64) -> Stop {
        while self.steps < max_steps {
            if let Err(stop) = self.step(kernel, &mut Quiet) {
                return stop;
            }
        }
        Stop::MaxSteps
    }

    /// The length of the instruction at `addr`, or 0 if it cannot be decoded.
    pub fn instruction_len(&self, addr: u32) -> usize {
        super::decode::decode(|a| self.memory.peek(a), addr).map_or(0, |i| usize::from(i.len))
    }

    /// The instruction at EIP, decoded.
    pub fn current(&mut self) -> Result<Inst, Fault> {
        self.cache.get(&mut self.memory, self.eip)
    }

    /// The return addresses of the calls still on the stack, innermost
    /// first: those whose slot is at or above ESP and still holds them.
    pub fn backtrace(&self) -> Vec<u32> {
        let esp = self.regs[usize::from(ESP)];
        self.frames
            .iter()
            .rev()
            .filter(|f| f.slot >= esp && self.memory.peek32(f.slot) == Some(f.ret))
            .map(|f| f.ret)
            .collect()
    }

    /// Run one instruction.
    #[inline]
    pub fn step<K: Kernel, O: Observer>(&mut self, kernel: &mut K, obs: &mut O) -> Result<(), Stop> {
        let inst = self.cache.get(&mut self.memory, self.eip).map_err(Stop::Fault)?;
        let next = self.eip.wrapping_add(u32::from(inst.len));
        let next = self.execute(&inst, next, kernel, obs)?;
        self.eip = next;
        self.steps += 1;
        Ok(())
    }

    /// Do what `inst` (at EIP, `next` after it) says; the address of the
    /// instruction to run next. EIP and the step count are the caller's to
    /// update.
    #[inline]
    pub fn execute<K: Kernel, O: Observer>(&mut self, inst: &Inst, next: u32, kernel: &mut K, obs: &mut O) -> Result<u32, Stop> {
        let fault = Stop::Fault;
        match inst.action {
            Action::Arith(op, to, from) => {
                let a = self.get(inst, to).map_err(fault)?;
                let b = self.get(inst, from).map_err(fault)?;
                let (r, flags) = self.arith(op, a, b);
                if !matches!(op, Arith::Compare | Arith::Test) {
                    self.put(inst, to, r, obs).map_err(fault)?;
                }
                self.flags = flags;
            }
            Action::Copy(to, from) => {
                let v = self.get(inst, from).map_err(fault)?;
                self.put(inst, to, v, obs).map_err(fault)?;
            }
            Action::CopyAddress => {
                if let Rm::Mem { base, index, scale, disp } = inst.rm {
                    self.regs[usize::from(inst.r32)] = self.address(base, index, scale, disp);
                }
            }
            Action::Swap => {
                let a = self.get(inst, Loc::R32).map_err(fault)?;
                let b = self.get(inst, Loc::Rm).map_err(fault)?;
                self.put(inst, Loc::Rm, a, obs).map_err(fault)?;
                self.put(inst, Loc::R32, b, obs).map_err(fault)?;
            }
            Action::Increment(loc) => {
                let a = self.get(inst, loc).map_err(fault)?;
                let r = a.wrapping_add(1);
                self.put(inst, loc, r, obs).map_err(fault)?;
                self.flags.set(Kind::Inc, a, 1, r);
            }
            Action::Decrement(loc) => {
                let a = self.get(inst, loc).map_err(fault)?;
                let r = a.wrapping_sub(1);
                self.put(inst, loc, r, obs).map_err(fault)?;
                self.flags.set(Kind::Dec, a, 1, r);
            }
            Action::Push(loc) => {
                let v = self.get(inst, loc).map_err(fault)?;
                self.push(v, obs).map_err(fault)?;
            }
            Action::Pop(loc) => {
                let esp = self.regs[usize::from(ESP)];
                let v = self.memory.read32(esp).map_err(fault)?;
                // ESP moves first: `8f` with an ESP-based address uses the new ESP.
                self.regs[usize::from(ESP)] = esp.wrapping_add(4);
                if let Err(f) = self.put(inst, loc, v, obs) {
                    self.regs[usize::from(ESP)] = esp;
                    return Err(Stop::Fault(f));
                }
            }
            Action::SignExtend => self.regs[2] = ((self.regs[0] as i32) >> 31) as u32,
            Action::Shift(shift) => {
                let count = if inst.by_cl { self.regs[1] } else { inst.imm } & 31;
                let a = self.get(inst, Loc::Rm).map_err(fault)?;
                let (r, flags) = self.shift(shift, a, count);
                self.put(inst, Loc::Rm, r, obs).map_err(fault)?;
                self.flags = flags;
            }
            Action::Not => {
                let a = self.get(inst, Loc::Rm).map_err(fault)?;
                self.put(inst, Loc::Rm, !a, obs).map_err(fault)?;
            }
            Action::Negate => {
                let a = self.get(inst, Loc::Rm).map_err(fault)?;
                let r = a.wrapping_neg();
                self.put(inst, Loc::Rm, r, obs).map_err(fault)?;
                self.flags.set(Kind::Sub, 0, a, r);
            }
            Action::Multiply { signed } => {
                let b = self.get(inst, Loc::Rm).map_err(fault)?;
                (self.regs[0], self.regs[2], self.flags) = multiply(self.regs[0], b, signed);
            }
            Action::Divide { signed } => {
                let d = self.get(inst, Loc::Rm).map_err(fault)?;
                let n = u64::from(self.regs[2]) << 32 | u64::from(self.regs[0]);
                let (q, r) = divide(n, d, signed).map_err(fault)?;
                self.regs[0] = q;
                self.regs[2] = r;
            }
            Action::MultiplyInto => {
                let a = self.get(inst, Loc::R32).map_err(fault)?;
                let b = self.get(inst, Loc::Rm).map_err(fault)?;
                let (low, _, flags) = multiply(a, b, true);
                self.put(inst, Loc::R32, low, obs).map_err(fault)?;
                self.flags = flags;
            }
            Action::Jump(condition) => {
                if self.flags.holds(condition) {
                    return Ok(next.wrapping_add(inst.imm));
                }
            }
            Action::JumpTo(loc) => return self.get(inst, loc).map_err(fault),
            Action::Call => {
                self.call(next, obs).map_err(fault)?;
                return Ok(next.wrapping_add(inst.imm));
            }
            Action::CallTo(loc) => {
                let target = self.get(inst, loc).map_err(fault)?;
                self.call(next, obs).map_err(fault)?;
                return Ok(target);
            }
            Action::Return => return self.ret().map_err(fault),
            Action::Interrupt => match inst.imm {
                0x80 => kernel.syscall(self, obs)?,
                n => return Err(Stop::Fault(Fault::Interrupt(n as u8))),
            },
            Action::Halt => return Err(Stop::Fault(Fault::Privileged)),
            Action::Subops(_) => unreachable!("the decoder resolves subops"),
        }
        Ok(next)
    }

    /// The address `base + (index << scale) + disp`.
    #[inline]
    fn address(&self, base: u8, index: u8, scale: u8, disp: u32) -> u32 {
        disp.wrapping_add(self.regs[usize::from(base)]).wrapping_add(self.regs[usize::from(index)] << scale)
    }

    #[inline]
    fn get(&self, inst: &Inst, loc: Loc) -> Result<u32, Fault> {
        Ok(match loc {
            Loc::Reg(n) => self.regs[usize::from(n)],
            Loc::R32 => self.regs[usize::from(inst.r32)],
            Loc::Imm => inst.imm,
            Loc::Rm => match inst.rm {
                Rm::Reg(n) => self.regs[usize::from(n)],
                Rm::Mem { base, index, scale, disp } => self.memory.read32(self.address(base, index, scale, disp))?,
            },
            Loc::R8 => self.byte_reg(inst.r32),
            Loc::Rm8 => match inst.rm {
                Rm::Reg(n) => self.byte_reg(n),
                Rm::Mem { base, index, scale, disp } => {
                    u32::from(self.memory.read8(self.address(base, index, scale, disp))?)
                }
            },
        })
    }

    #[inline]
    fn put<O: Observer>(&mut self, inst: &Inst, loc: Loc, v: u32, obs: &mut O) -> Result<(), Fault> {
        match loc {
            Loc::Reg(n) => self.regs[usize::from(n)] = v,
            Loc::R32 => self.regs[usize::from(inst.r32)] = v,
            Loc::Rm => match inst.rm {
                Rm::Reg(n) => self.regs[usize::from(n)] = v,
                Rm::Mem { base, index, scale, disp } => self.store32(self.address(base, index, scale, disp), v, obs)?,
            },
            Loc::R8 => self.set_byte_reg(inst.r32, v as u8),
            Loc::Rm8 => match inst.rm {
                Rm::Reg(n) => self.set_byte_reg(n, v as u8),
                Rm::Mem { base, index, scale, disp } => {
                    let addr = self.address(base, index, scale, disp);
                    if O::ACTIVE {
                        self.memory.check_writable(addr, 1)?;
                        let old = u32::from(self.memory.peek(addr).unwrap_or(0));
                        obs.wrote(self, addr, 1, old, v & 0xff);
                    }
                    self.memory.write8(addr, v as u8)?;
                }
            },
            Loc::Imm => unreachable!("an immediate is never written"),
        }
        Ok(())
    }

    #[inline]
    fn store32<O: Observer>(&mut self, addr: u32, v: u32, obs: &mut O) -> Result<(), Fault> {
        if O::ACTIVE {
            self.memory.check_writable(addr, 4)?;
            let old = self.memory.peek32(addr).unwrap_or(0);
            obs.wrote(self, addr, 4, old, v);
        }
        self.memory.write32(addr, v)
    }

    #[inline]
    fn push<O: Observer>(&mut self, v: u32, obs: &mut O) -> Result<(), Fault> {
        let esp = self.regs[usize::from(ESP)].wrapping_sub(4);
        self.store32(esp, v, obs)?;
        self.regs[usize::from(ESP)] = esp;
        Ok(())
    }

    #[inline]
    pub fn call<O: Observer>(&mut self, ret: u32, obs: &mut O) -> Result<(), Fault> {
        self.push(ret, obs)?;
        self.frames.push(Frame { ret, slot: self.regs[usize::from(ESP)] });
        Ok(())
    }

    /// Pop the return address; forget the calls it returns from.
    #[inline]
    pub fn ret(&mut self) -> Result<u32, Fault> {
        let esp = self.regs[usize::from(ESP)];
        let target = self.memory.read32(esp)?;
        self.regs[usize::from(ESP)] = esp.wrapping_add(4);
        while self.frames.last().is_some_and(|f| f.slot <= esp) {
            self.frames.pop();
        }
        Ok(target)
    }

    /// AL CL DL BL AH CH DH BH, by number.
    pub(super) fn byte_reg(&self, n: u8) -> u32 {
        let n = usize::from(n);
        if n < 4 {
            self.regs[n] & 0xff
        } else {
            self.regs[n - 4] >> 8 & 0xff
        }
    }

    pub(super) fn set_byte_reg(&mut self, n: u8, v: u8) {
        let n = usize::from(n);
        if n < 4 {
            self.regs[n] = self.regs[n] & !0xff | u32::from(v);
        } else {
            self.regs[n - 4] = self.regs[n - 4] & !0xff00 | u32::from(v) << 8;
        }
    }

    /// The result of `a OP b` and the flags it leaves.
    #[inline]
    pub(super) fn arith(&self, op: Arith, a: u32, b: u32) -> (u32, Flags) {
        let mut flags = self.flags;
        let r = match op {
            Arith::Add => {
                let r = a.wrapping_add(b);
                flags.set(Kind::Add, a, b, r);
                r
            }
            Arith::Sub | Arith::Compare => {
                let r = a.wrapping_sub(b);
                flags.set(Kind::Sub, a, b, r);
                r
            }
            Arith::And | Arith::Test | Arith::Or | Arith::Xor => {
                let r = match op {
                    Arith::Or => a | b,
                    Arith::Xor => a ^ b,
                    _ => a & b,
                };
                flags.set(Kind::Logic, a, b, r);
                r
            }
            Arith::Adc => {
                let c = u32::from(self.flags.cf());
                let r = a.wrapping_add(b).wrapping_add(c);
                let cf = u64::from(a) + u64::from(b) + u64::from(c) > 0xffff_ffff;
                flags = Flags::of_result(r, cf, add_overflows(a, b, r));
                r
            }
            Arith::Sbb => {
                let c = u32::from(self.flags.cf());
                let r = a.wrapping_sub(b).wrapping_sub(c);
                let cf = u64::from(a) < u64::from(b) + u64::from(c);
                flags = Flags::of_result(r, cf, sub_overflows(a, b, r));
                r
            }
        };
        (r, flags)
    }

    /// The result of shifting or rotating `a` by `count` (0-31), and the
    /// flags it leaves. A count of 0 changes no flag; rotations change
    /// only CF and OF. OF is defined for a count of 1 only; for larger
    /// counts we compute it by the same rule (`docs/run.md`).
    pub(super) fn shift(&self, shift: Shift, a: u32, count: u32) -> (u32, Flags) {
        if count == 0 {
            return (a, self.flags);
        }
        let f = &self.flags;
        let msb = |x: u32| x >> 31 != 0;
        match shift {
            Shift::Left => {
                let r = a << count;
                let cf = a >> (32 - count) & 1 != 0;
                (r, Flags::of_result(r, cf, msb(r) != cf))
            }
            Shift::RightLogical => {
                let r = a >> count;
                (r, Flags::of_result(r, a >> (count - 1) & 1 != 0, msb(a)))
            }
            Shift::RightArithmetic => {
                let r = ((a as i32) >> count) as u32;
                (r, Flags::of_result(r, (a as i32) >> (count - 1) & 1 != 0, false))
            }
            Shift::RotateLeft => {
                let r = a.rotate_left(count);
                let cf = r & 1 != 0;
                (r, Flags::known(cf, f.zf(), f.sf(), msb(r) != cf))
            }
            Shift::RotateRight => {
                let r = a.rotate_right(count);
                (r, Flags::known(msb(r), f.zf(), f.sf(), msb(r) != (r >> 30 & 1 != 0)))
            }
            Shift::RotateLeftThroughCarry | Shift::RotateRightThroughCarry => {
                // Rotate the 33 bits CF:a.
                let wide = u64::from(f.cf()) << 32 | u64::from(a);
                let mask = (1u64 << 33) - 1;
                let left = shift == Shift::RotateLeftThroughCarry;
                let rotated = if left {
                    (wide << count | wide >> (33 - count)) & mask
                } else {
                    (wide >> count | wide << (33 - count)) & mask
                };
                let (r, cf) = (rotated as u32, rotated >> 32 != 0);
                // rcl: OF from the result; rcr: from the operand and old CF.
                let of = if left { msb(r) != cf } else { msb(a) != f.cf() };
                (r, Flags::known(cf, f.zf(), f.sf(), of))
            }
        }
    }
}

/// EAX (`a`) times `b`, as `mul` or `imul` (`signed`) leave it: EAX,
/// EDX and the flags (CF and OF: the product does not fit in EAX).
#[inline]
pub(super) fn multiply(a: u32, b: u32, signed: bool) -> (u32, u32, Flags) {
    let (low, high, overflow) = if signed {
        let p = i64::from(a as i32) * i64::from(b as i32);
        (p as u32, (p >> 32) as u32, p != i64::from(p as i32))
    } else {
        let p = u64::from(a) * u64::from(b);
        (p as u32, (p >> 32) as u32, p >> 32 != 0)
    };
    (low, high, Flags::of_result(low, overflow, overflow))
}

/// EDX:EAX (`n`) divided by `d`: quotient and remainder, or the fault.
pub(super) fn divide(n: u64, d: u32, signed: bool) -> Result<(u32, u32), Fault> {
    if d == 0 {
        return Err(Fault::DivideByZero);
    }
    if signed {
        let (n, d) = (n as i64, i64::from(d as i32));
        let q = n.checked_div(d).ok_or(Fault::DivideOverflow)?;
        let q = i32::try_from(q).map_err(|_| Fault::DivideOverflow)?;
        Ok((q as u32, (n % d) as u32))
    } else {
        let q = u32::try_from(n / u64::from(d)).map_err(|_| Fault::DivideOverflow)?;
        Ok((q, (n % u64::from(d)) as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::memory::{READ, WRITE};

    /// Run `code` at 0x09000000 with a stack, registers set by `setup`,
    /// until it has run every instruction; the machine afterwards.
    fn run(code: &[u8], setup: impl FnOnce(&mut Machine)) -> Machine {
        let mut m = Machine::new();
        m.memory.map(0x0900_0000, 0x1000, READ);
        m.memory.poke(0x0900_0000, code);
        m.memory.map(0x0a00_0000, 0x1000, READ | WRITE);
        m.memory.map(0xbfff_0000, 0x1_0000, READ | WRITE);
        m.regs[4] = 0xc000_0000;
        m.eip = 0x0900_0000;
        setup(&mut m);
        while m.eip < 0x0900_0000 + code.len() as u32 {
            m.step(&mut NoKernel, &mut Quiet).unwrap_or_else(|s| panic!("{s:?} at {:#x}", m.eip));
        }
        m
    }

    #[test]
    fn byte_registers_include_the_high_halves() {
        // 88/copy-byte 3/mod/direct 0/rm32/AL 4/r32/AH: AL = AH
        let m = run(&[0x88, 0xe0], |m| m.regs[0] = 0x1234);
        assert_eq!(m.regs[0], 0x1212);
        // c6 0/subop 3/mod 7/rm32/BH 0x99/imm8
        let m = run(&[0xc6, 0xc7, 0x99], |m| m.regs[3] = 0xffff_ffff);
        assert_eq!(m.regs[3], 0xffff_99ff);
    }

    #[test]
    fn pop_into_an_esp_based_address_uses_the_new_esp() {
        // 8f 0/subop 0/mod 4/rm32/sib 4/base/esp 4/index/none: pop [esp]
        let m = run(&[0x8f, 0x04, 0x24], |m| {
            m.regs[4] = 0xbfff_fff8;
            m.memory.write32(0xbfff_fff8, 7).unwrap();
            m.memory.write32(0xbfff_fffc, 9).unwrap();
        });
        assert_eq!((m.regs[4], m.memory.read32(0xbfff_fffc)), (0xbfff_fffc, Ok(7)));
        // 5c: pop esp
        let m = run(&[0x5c], |m| {
            m.regs[4] = 0xbfff_fff8;
            m.memory.write32(0xbfff_fff8, 0x1234).unwrap();
        });
        assert_eq!(m.regs[4], 0x1234);
        // 54: push esp pushes the old value
        let m = run(&[0x54], |_| {});
        assert_eq!(m.memory.read32(0xbfff_fffc), Ok(0xc000_0000));
    }

    #[test]
    fn division() {
        assert_eq!(divide(7, 2, false), Ok((3, 1)));
        assert_eq!(divide((-7i64) as u64, (-2i32) as u32, true), Ok((3, (-1i32) as u32)));
        assert_eq!(divide((-7i64) as u64, 2, true), Ok(((-3i32) as u32, (-1i32) as u32)));
        assert_eq!(divide(1 << 32, 1, false), Err(Fault::DivideOverflow));
        assert_eq!(divide(0x8000_0000, (-1i32) as u32, true), Ok((0x8000_0000, 0)));
        assert_eq!(divide(0xffff_ffff_8000_0000, (-1i32) as u32, true), Err(Fault::DivideOverflow));
        assert_eq!(divide(i64::MIN as u64, (-1i32) as u32, true), Err(Fault::DivideOverflow));
        assert_eq!(divide(5, 0, true), Err(Fault::DivideByZero));
    }

    #[test]
    fn shifts_and_rotations() {
        let m = Machine::new();
        let (r, f) = m.shift(Shift::Left, 0x8000_0001, 1);
        assert_eq!((r, f.cf(), f.of(), f.zf()), (2, true, true, false));
        let (r, f) = m.shift(Shift::RightArithmetic, 0x8000_0000, 31);
        assert_eq!((r, f.cf(), f.sf()), (0xffff_ffff, false, true));
        let (r, f) = m.shift(Shift::RotateRightThroughCarry, 1, 1);
        assert_eq!((r, f.cf()), (0, true));
        let (r, f) = m.shift(Shift::RotateLeftThroughCarry, 0x8000_0000, 1);
        assert_eq!((r, f.cf()), (0, true));
        assert_eq!(m.shift(Shift::RotateLeft, 0x8000_0001, 4).0, 0x18);
        assert_eq!(m.shift(Shift::Left, 5, 0), (5, m.flags));
    }

    #[test]
    fn a_fault_changes_nothing() {
        let mut m = Machine::new();
        m.memory.map(0x0900_0000, 0x1000, READ);
        // 89/copy 0/mod 0/rm32/eax 3/r32/ebx: [eax] = ebx, with eax 0
        m.memory.poke(0x0900_0000, &[0x89, 0x18]);
        m.eip = 0x0900_0000;
        assert_eq!(m.step(&mut NoKernel, &mut Quiet), Err(Stop::Fault(Fault::Write { addr: 0, size: 4 })));
        assert_eq!((m.eip, m.steps), (0x0900_0000, 0));
    }

    #[test]
    fn code_written_is_decoded_again() {
        let mut m = Machine::new();
        m.memory.map(0x0900_0000, 0x1000, READ | WRITE);
        // 40 (inc eax), then overwrite it with 48 (dec eax) and run it again.
        m.memory.poke(0x0900_0000, &[0x40]);
        m.eip = 0x0900_0000;
        m.step(&mut NoKernel, &mut Quiet).unwrap();
        m.memory.write8(0x0900_0000, 0x48).unwrap();
        m.eip = 0x0900_0000;
        m.step(&mut NoKernel, &mut Quiet).unwrap();
        assert_eq!(m.regs[0], 0);
    }
}

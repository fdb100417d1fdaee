//! An optimisation, skippable: the untraced run loop, with the commonest
//! instructions pre-digested so that each runs in a few host instructions.
//!
//! It replaces, for runs without trace or watch points, the plain loop
//! `while steps < max { machine.step(kernel, &mut Quiet)? }` of
//! [`Machine::run`]: [`classify`] turns a decoded [`Inst`] into a [`Fast`]
//! form once, when it is decoded (register-to-register arithmetic, loads
//! and stores at `base + disp`, byte loads and stores, pushes and pops,
//! jumps with their target computed, calls, returns), and [`fuse`] joins a
//! jump to the instruction before it, so that a compare and its jump run
//! in one turn of the loop; everything else goes through
//! [`Machine::execute`]. The loop keeps the current page's slots in hand
//! and looks again only when EIP leaves the page or code is written
//! ([`super::memory::Memory::generation`]). The test below runs random
//! programs both ways and compares every register, flag and memory word.
//!
//! ```
//! use subx::emulator::fast::{classify, Fast};
//! use subx::emulator::decode::decode;
//! let bytes = [0x01, 0xd8]; // 01/add 3/mod/direct 0/rm32/eax 3/r32/ebx
//! let inst = decode(|a| bytes.get(a as usize).copied(), 0).unwrap();
//! assert_eq!(classify(&inst, 0), Fast::AddRR(0, 3));
//! let jump = [0x75, 0xfe]; // 75/jump-if-not-equal -2/disp8, at 0x10: to itself
//! let inst = decode(|a| jump.get(a as usize - 0x10).copied(), 0x10).unwrap();
//! assert_eq!(classify(&inst, 0x10), Fast::Jump(subx::opcodes::Condition::NotEqual, 0x10));
//! ```

use super::decode::{Cache, Inst, Rm, NO_REG};
use super::flags::Kind;
use super::machine::{Kernel, Machine, Quiet, Stop};
use crate::opcodes::{Action, Arith, Condition, Loc, ESP};

/// A common instruction, ready to run. Register operands are numbers
/// (EAX 0 ... EDI 7); `RR(a, b)` means `a = a OP b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fast {
    /// Anything else: run by [`Machine::step`].
    Other,
    AddRR(u8, u8),
    SubRR(u8, u8),
    CmpRR(u8, u8),
    AndRR(u8, u8),
    OrRR(u8, u8),
    XorRR(u8, u8),
    CopyRR(u8, u8),
    AddRI(u8, u32),
    SubRI(u8, u32),
    CmpRI(u8, u32),
    AndRI(u8, u32),
    OrRI(u8, u32),
    XorRI(u8, u32),
    CopyRI(u8, u32),
    Inc(u8),
    Dec(u8),
    /// `r = [base + disp]`.
    Load(u8, u8, u32),
    /// `[base + disp] = r`.
    Store(u8, u32, u8),
    /// `r8 = byte [base + disp]`, for AL CL DL BL (0-3).
    LoadByte(u8, u8, u32),
    /// `byte [base + disp] = r8`, for AL CL DL BL.
    StoreByte(u8, u32, u8),
    Push(u8),
    Pop(u8),
    PushImm(u32),
    /// Jump to the address when the condition holds.
    Jump(Condition, u32),
    Call(u32),
    Return,
}

/// The fast form of `inst`, decoded at `at`.
pub fn classify(inst: &Inst, at: u32) -> Fast {
    let next = at.wrapping_add(u32::from(inst.len));
    let rm_reg = match inst.rm {
        Rm::Reg(n) => Some(n),
        Rm::Mem { .. } => None,
    };
    let base_disp = match inst.rm {
        Rm::Mem { base, index: NO_REG, disp, .. } if base != NO_REG => Some((base, disp)),
        _ => None,
    };
    let r = inst.r32;
    match inst.action {
        Action::Arith(op, to, from) => {
            let (dst, src) = match (to, from) {
                (Loc::Rm, Loc::R32) => (rm_reg, Some(r)),
                (Loc::R32, Loc::Rm) => (Some(r), rm_reg),
                (Loc::Reg(n), Loc::Imm) => return arith_imm(op, n, inst.imm),
                (Loc::Rm, Loc::Imm) => match rm_reg {
                    Some(n) => return arith_imm(op, n, inst.imm),
                    None => return Fast::Other,
                },
                _ => return Fast::Other,
            };
            let (Some(a), Some(b)) = (dst, src) else { return Fast::Other };
            match op {
                Arith::Add => Fast::AddRR(a, b),
                Arith::Sub => Fast::SubRR(a, b),
                Arith::Compare => Fast::CmpRR(a, b),
                Arith::And => Fast::AndRR(a, b),
                Arith::Or => Fast::OrRR(a, b),
                Arith::Xor => Fast::XorRR(a, b),
                _ => Fast::Other,
            }
        }
        Action::Copy(Loc::R8, Loc::Rm8) if r < 4 => match base_disp {
            Some((base, disp)) => Fast::LoadByte(r, base, disp),
            None => Fast::Other,
        },
        Action::Copy(Loc::Rm8, Loc::R8) if r < 4 => match base_disp {
            Some((base, disp)) => Fast::StoreByte(base, disp, r),
            None => Fast::Other,
        },
        Action::Copy(to, from) => match (to, from, rm_reg, base_disp) {
            (Loc::Rm, Loc::R32, Some(n), _) => Fast::CopyRR(n, r),
            (Loc::R32, Loc::Rm, Some(n), _) => Fast::CopyRR(r, n),
            (Loc::Rm, Loc::R32, None, Some((base, disp))) => Fast::Store(base, disp, r),
            (Loc::R32, Loc::Rm, None, Some((base, disp))) => Fast::Load(r, base, disp),
            (Loc::Reg(n), Loc::Imm, _, _) => Fast::CopyRI(n, inst.imm),
            (Loc::Rm, Loc::Imm, Some(n), _) => Fast::CopyRI(n, inst.imm),
            _ => Fast::Other,
        },
        Action::Increment(Loc::Reg(n)) => Fast::Inc(n),
        Action::Decrement(Loc::Reg(n)) => Fast::Dec(n),
        Action::Increment(Loc::Rm) => rm_reg.map_or(Fast::Other, Fast::Inc),
        Action::Decrement(Loc::Rm) => rm_reg.map_or(Fast::Other, Fast::Dec),
        // push esp and pop esp have their own rules: the plain path keeps them.
        Action::Push(Loc::Reg(n)) if n != ESP => Fast::Push(n),
        Action::Pop(Loc::Reg(n)) if n != ESP => Fast::Pop(n),
        Action::Push(Loc::Imm) => Fast::PushImm(inst.imm),
        Action::Jump(condition) => Fast::Jump(condition, next.wrapping_add(inst.imm)),
        Action::Call => Fast::Call(next.wrapping_add(inst.imm)),
        Action::Return => Fast::Return,
        _ => Fast::Other,
    }
}

fn arith_imm(op: Arith, n: u8, imm: u32) -> Fast {
    match op {
        Arith::Add => Fast::AddRI(n, imm),
        Arith::Sub => Fast::SubRI(n, imm),
        Arith::Compare => Fast::CmpRI(n, imm),
        Arith::And => Fast::AndRI(n, imm),
        Arith::Or => Fast::OrRI(n, imm),
        Arith::Xor => Fast::XorRI(n, imm),
        _ => Fast::Other,
    }
}

/// A conditional or plain jump that follows an instruction of a [`Fast`]
/// form other than a jump, call or return, run in the same turn of the
/// loop: when its condition holds go to `target`, else `len` bytes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fused {
    pub condition: Condition,
    pub target: u32,
    pub len: u8,
}

/// The jump to run together with `first` (decoded at `at`), if `next`,
/// the instruction after it, is one.
pub fn fuse(first: Fast, next: Option<&Inst>, at: u32) -> Option<Fused> {
    if matches!(first, Fast::Other | Fast::Jump(..) | Fast::Call(_) | Fast::Return) {
        return None;
    }
    let next = next?;
    match next.action {
        Action::Jump(condition) => {
            let after = at.wrapping_add(u32::from(next.len));
            Some(Fused { condition, target: after.wrapping_add(next.imm), len: next.len })
        }
        _ => None,
    }
}

/// Run until the program stops or `max_steps` instructions have run.
pub fn run<K: Kernel>(m: &mut Machine, kernel: &mut K, max_steps: u64) -> Stop {
    let mut cache = m.take_cache();
    let stop = run_with(m, &mut cache, kernel, max_steps);
    m.return_cache(cache);
    stop
}

/// The loop: the outer one picks the page of decoded instructions EIP is
/// on; the inner one runs instructions from it until EIP leaves the page,
/// memory changes under it, or an instruction is not decoded yet.
fn run_with<K: Kernel>(m: &mut Machine, cache: &mut Cache, kernel: &mut K, max_steps: u64) -> Stop {
    macro_rules! reg {
        ($n:expr) => {
            m.regs[usize::from($n)]
        };
    }
    // EIP and the step count live in locals here, written back to the
    // machine whenever anything else may look at them.
    let mut eip = m.eip;
    let mut steps = m.steps;
    macro_rules! fault {
        ($result:expr) => {
            match $result {
                Ok(v) => v,
                Err(f) => {
                    (m.eip, m.steps) = (eip, steps);
                    return Stop::Fault(f);
                }
            }
        };
    }
    let esp = usize::from(ESP);
    'pages: loop {
        // Decode the instruction at EIP if it is not yet (faulting here if
        // it cannot be), then take its page.
        fault!(cache.fast(&mut m.memory, eip));
        let page = eip >> 12;
        let (insts, fasts) = cache.page(&mut m.memory, eip);
        let generation = m.memory.generation;
        // After a write: if it changed code, this page's slots are stale.
        macro_rules! check_code {
            ($next:expr) => {
                if m.memory.generation != generation {
                    steps += 1;
                    eip = $next;
                    continue 'pages;
                }
            };
        }
        loop {
            if steps >= max_steps {
                (m.eip, m.steps) = (eip, steps);
                return Stop::MaxSteps;
            }
            // Memory changes only through the writes below, which check it.
            if eip >> 12 != page {
                break;
            }
            let offset = (eip & 0xfff) as usize;
            let (fast, len, fused) = fasts[offset];
            if len == 0 {
                break;
            }
            let next = eip.wrapping_add(u32::from(len));
            match fast {
                Fast::Other => {
                    (m.eip, m.steps) = (eip, steps);
                    match m.execute(&insts[offset], next, kernel, &mut Quiet) {
                        Ok(target) => {
                            eip = target;
                            steps += 1;
                        }
                        Err(stop) => return stop,
                    }
                    if m.memory.generation != generation {
                        continue 'pages;
                    }
                    continue;
                }
                Fast::AddRR(a, b) => {
                    let (x, y) = (reg!(a), reg!(b));
                    let r = x.wrapping_add(y);
                    reg!(a) = r;
                    m.flags.set(Kind::Add, x, y, r);
                }
                Fast::SubRR(a, b) => {
                    let (x, y) = (reg!(a), reg!(b));
                    let r = x.wrapping_sub(y);
                    reg!(a) = r;
                    m.flags.set(Kind::Sub, x, y, r);
                }
                Fast::CmpRR(a, b) => {
                    let (x, y) = (reg!(a), reg!(b));
                    m.flags.set(Kind::Sub, x, y, x.wrapping_sub(y));
                }
                Fast::AndRR(a, b) => logic(m, a, reg!(a) & reg!(b)),
                Fast::OrRR(a, b) => logic(m, a, reg!(a) | reg!(b)),
                Fast::XorRR(a, b) => logic(m, a, reg!(a) ^ reg!(b)),
                Fast::CopyRR(a, b) => reg!(a) = reg!(b),
                Fast::AddRI(a, y) => {
                    let x = reg!(a);
                    let r = x.wrapping_add(y);
                    reg!(a) = r;
                    m.flags.set(Kind::Add, x, y, r);
                }
                Fast::SubRI(a, y) => {
                    let x = reg!(a);
                    let r = x.wrapping_sub(y);
                    reg!(a) = r;
                    m.flags.set(Kind::Sub, x, y, r);
                }
                Fast::CmpRI(a, y) => {
                    let x = reg!(a);
                    m.flags.set(Kind::Sub, x, y, x.wrapping_sub(y));
                }
                Fast::CopyRI(a, v) => reg!(a) = v,
                Fast::Inc(a) => {
                    let x = reg!(a);
                    reg!(a) = x.wrapping_add(1);
                    m.flags.set(Kind::Inc, x, 1, x.wrapping_add(1));
                }
                Fast::Dec(a) => {
                    let x = reg!(a);
                    reg!(a) = x.wrapping_sub(1);
                    m.flags.set(Kind::Dec, x, 1, x.wrapping_sub(1));
                }
                Fast::Load(a, base, disp) => reg!(a) = fault!(m.memory.read32(reg!(base).wrapping_add(disp))),
                Fast::Store(base, disp, b) => {
                    fault!(m.memory.write32(reg!(base).wrapping_add(disp), reg!(b)));
                    check_code!(next);
                }
                Fast::Push(a) => {
                    let sp = m.regs[esp].wrapping_sub(4);
                    fault!(m.memory.write32(sp, reg!(a)));
                    m.regs[esp] = sp;
                    check_code!(next);
                }
                Fast::PushImm(v) => {
                    let sp = m.regs[esp].wrapping_sub(4);
                    fault!(m.memory.write32(sp, v));
                    m.regs[esp] = sp;
                    check_code!(next);
                }
                Fast::Pop(a) => {
                    let sp = m.regs[esp];
                    reg!(a) = fault!(m.memory.read32(sp));
                    m.regs[esp] = sp.wrapping_add(4);
                }
                Fast::AndRI(a, y) => logic(m, a, reg!(a) & y),
                Fast::OrRI(a, y) => logic(m, a, reg!(a) | y),
                Fast::XorRI(a, y) => logic(m, a, reg!(a) ^ y),
                Fast::LoadByte(a, base, disp) => {
                    let v = fault!(m.memory.read8(reg!(base).wrapping_add(disp)));
                    reg!(a) = reg!(a) & !0xff | u32::from(v);
                }
                Fast::StoreByte(base, disp, b) => {
                    fault!(m.memory.write8(reg!(base).wrapping_add(disp), reg!(b) as u8));
                    check_code!(next);
                }
                Fast::Jump(condition, target) => {
                    eip = if m.flags.holds(condition) { target } else { next };
                    steps += 1;
                    continue;
                }
                Fast::Call(target) => {
                    fault!(m.call(next, &mut Quiet));
                    eip = target;
                    steps += 1;
                    if m.memory.generation != generation {
                        continue 'pages;
                    }
                    continue;
                }
                Fast::Return => {
                    eip = fault!(m.ret());
                    steps += 1;
                    continue;
                }
            }
            steps += 1;
            eip = match fused {
                // The jump after it, in the same turn, when the budget allows.
                Some(jump) if steps < max_steps => {
                    steps += 1;
                    if m.flags.holds(jump.condition) {
                        jump.target
                    } else {
                        next.wrapping_add(u32::from(jump.len))
                    }
                }
                _ => next,
            };
        }
    }
}

#[inline]
fn logic(m: &mut Machine, a: u8, r: u32) {
    m.regs[usize::from(a)] = r;
    m.flags.set(Kind::Logic, 0, 0, r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::machine::NoKernel;
    use crate::emulator::memory::{READ, WRITE};
    use crate::test_rng::Rng;

    /// A random straight-line program of instructions the fast path takes
    /// and some it leaves, over a data page, ending in a jump back.
    fn program(rng: &mut Rng) -> Vec<u8> {
        let mut code = Vec::new();
        for _ in 0..200 {
            let (a, b) = (rng.below(8) as u8, rng.below(8) as u8);
            // Keep ESP (4) and the data pointer EBP (5) out of the targets.
            let a = if a == 4 || a == 5 { 0 } else { a };
            let imm = (rng.next() as u32).to_le_bytes();
            match rng.below(18) {
                0 => code.extend([*rng.pick(&[0x01u8, 0x29, 0x39, 0x21, 0x09, 0x31, 0x89, 0x11]), 0xc0 | b << 3 | a]),
                1 => code.extend([*rng.pick(&[0x03u8, 0x2b, 0x3b, 0x23, 0x0b, 0x33, 0x8b]), 0xc0 | a << 3 | b]),
                2 => {
                    code.extend([0x81, 0xc0 | (rng.below(8) as u8) << 3 | a]);
                    code.extend(imm);
                }
                3 => {
                    code.push(*rng.pick(&[0x05u8, 0x2d, 0x3d, 0x25, 0x0d, 0x35]));
                    code.extend(imm);
                }
                4 => code.push(0x40 | a),
                5 => code.push(0x48 | a),
                6 => code.extend([0x8b, 0x45 | a << 3, rng.below(64) as u8 * 4]),
                7 => code.extend([0x89, 0x45 | b << 3, rng.below(64) as u8 * 4]),
                8 => code.extend([0x50 | b, 0x58 | a]),
                9 => {
                    code.extend([0x68]);
                    code.extend(imm);
                    code.push(0x58 | a);
                }
                10 => {
                    code.push(0xb8 | a);
                    code.extend(imm);
                }
                // A conditional jump over one instruction, either way.
                11 => code.extend([0x70 | *rng.pick(&[2u8, 3, 4, 5, 6, 7, 0xc, 0xd, 0xe, 0xf]), 1, 0x40 | a]),
                12 => {
                    code.extend([0xc7, 0xc0 | a]);
                    code.extend(imm);
                }
                // Byte loads and stores, low and high byte registers.
                13 => code.extend([0x8a, 0x45 | b << 3, rng.below(256) as u8]),
                14 => code.extend([0x88, 0x45 | b << 3, rng.below(256) as u8]),
                // A call to the next instruction, and its return address popped.
                15 => code.extend([0xe8, 0, 0, 0, 0, 0x58 | a]),
                // Push the address after a ret, and ret to it.
                16 => {
                    let after = 0x0900_0000 + code.len() as u32 + 6;
                    code.push(0x68);
                    code.extend(after.to_le_bytes());
                    code.push(0xc3);
                }
                _ => code.extend([0xd3, 0xe0 | a]),
            }
        }
        code
    }

    fn machine(code: &[u8], seed: u64) -> Machine {
        let mut m = Machine::new();
        m.memory.map(0x0900_0000, 0x1_0000, READ);
        m.memory.poke(0x0900_0000, code);
        m.memory.map(0x0a00_0000, 0x1000, READ | WRITE);
        m.memory.map(0xbfff_0000, 0x1_0000, READ | WRITE);
        let mut rng = Rng::new(seed);
        for r in 0..8 {
            m.regs[r] = rng.next() as u32;
        }
        (m.regs[4], m.regs[5]) = (0xc000_0000, 0x0a00_0000);
        m.eip = 0x0900_0000;
        m
    }

    /// A loop of three turns whose first instruction, `inc eax`, is
    /// rewritten to `dec eax` during the second turn, after every
    /// instruction of the loop has been decoded: eax ends 1 + 1 - 1. The
    /// byte is stored from BL (the fast byte store) or BH (the general path).
    #[test]
    fn code_that_rewrites_itself_runs_the_new_bytes() {
        for (modrm, first, then) in [(0x5du8, 0x40u32, 0x48u32), (0x7d, 0x4000, 0x4800)] {
            let mut code = vec![0xbd, 0, 0, 0, 0x09, 0xb9, 3, 0, 0, 0, 0xbb];
            code.extend(first.to_le_bytes());
            // 15: inc eax; 16: mov [ebp+15], bl/bh; 19: mov ebx, THEN; 24: dec ecx; 25: jnz 15
            code.extend([0x40, 0x88, modrm, 15, 0xbb]);
            code.extend(then.to_le_bytes());
            code.extend([0x49, 0x75, (15i8 - 27) as u8]);
            let mut m = Machine::new();
            m.memory.map(0x0900_0000, 0x1000, READ | WRITE);
            m.memory.poke(0x0900_0000, &code);
            m.eip = 0x0900_0000;
            let stop = run(&mut m, &mut NoKernel, 100);
            assert_eq!(stop, Stop::Fault(crate::emulator::Fault::Illegal { addr: 0x0900_0000 + code.len() as u32, len: 1 }));
            assert_eq!(m.regs[0], 1, "inc, inc, then dec (ModR/M {modrm:#x})");
        }
    }

    #[test]
    fn the_fast_loop_does_what_the_plain_steps_do() {
        let mut rng = Rng::new(7);
        for seed in 0..200 {
            let code = program(&mut rng);
            let mut plain = machine(&code, seed);
            let mut fast = machine(&code, seed);
            let end = 0x0900_0000 + code.len() as u32;
            // Both run off the end of the code into zeros (00 is no
            // instruction of the table): the same fault, the same state.
            let mut plain_stop = Stop::MaxSteps;
            while plain.eip < end {
                if let Err(s) = plain.step(&mut NoKernel, &mut Quiet) {
                    plain_stop = s;
                    break;
                }
            }
            if plain_stop == Stop::MaxSteps {
                plain_stop = plain.run(&mut NoKernel, 10_000);
            }
            let fast_stop = run(&mut fast, &mut NoKernel, 10_000);
            assert_eq!(fast_stop, plain_stop, "seed {seed}");
            assert_eq!((fast.regs, fast.eip, fast.steps), (plain.regs, plain.eip, plain.steps), "seed {seed}");
            assert_eq!(fast.flags.eflags(), plain.flags.eflags(), "seed {seed}");
            for a in (0x0a00_0000..0x0a00_0100).step_by(4) {
                assert_eq!(fast.memory.read32(a), plain.memory.read32(a), "seed {seed} at {a:#x}");
            }
            for a in (0xbfff_ff00..0xc000_0000u32).step_by(4) {
                assert_eq!(fast.memory.read32(a), plain.memory.read32(a), "seed {seed} at {a:#x}");
            }
        }
    }
}

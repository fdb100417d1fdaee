//! An optimisation, skippable: the untraced run loop, running blocks of
//! pre-digested instructions.
//!
//! It replaces, for runs without trace or watch points, the plain loop
//! `while steps < max { machine.step(kernel, &mut Quiet)? }` of
//! [`Machine::run`]. [`build`] decodes the instructions from an address
//! on into a [`Block`]: each instruction an [`Op`] whose operands are
//! worked out once (registers by number, a memory operand as an [`Addr`],
//! jump targets as addresses), up to the first that surely goes elsewhere
//! (a `jmp`, `call`, `ret`, `int`); a conditional jump leaves the block
//! only when it is taken, and a compare followed by a conditional jump is
//! one op. The loop runs a block's ops one after another, with no
//! per-instruction bookkeeping: EIP and the step count are set when the
//! block is left. What no op covers (rare forms: `xchg`, shifts of memory
//! ...) runs through [`Machine::execute`], as the plain loop runs it, and
//! ends its block.
//!
//! ```
//! use subx::emulator::fast::{build, Addr, Op, Reg};
//! use subx::emulator::memory::{Memory, READ};
//! use subx::opcodes::Condition;
//! let mut memory = Memory::new();
//! memory.map(0x0900_0000, 0x1000, READ);
//! memory.poke(0x0900_0000, &[
//!     0x8b, 0x84, 0x25, 8, 0, 0, 0, // 8b/copy 2/mod/*+disp32 4/rm32/sib 5/base/ebp 4/index/none 8/disp32 0/r32/eax
//!     0x3d, 0x2a, 0, 0, 0,          // 3d/compare-eax-and 0x2a/imm32
//!     0x74, 1,                      // 74/jump-if-equal 1/disp8
//!     0x40,                         // 40/increment-eax
//!     0xc3,                         // c3/return
//! ]);
//! let block = build(&mut memory, 0x0900_0000).unwrap();
//! let ebp_plus_8 = Addr { base: Reg::Ebp, index: Reg::None, scale: 0, disp: 8 };
//! assert_eq!(*block.ops, [
//!     Op::Load(Reg::Eax, ebp_plus_8),
//!     Op::CmpRIBranch(Reg::Eax, 0x2a, Condition::Equal, 0x0900_000f, 1), // 1 instruction before it
//!     Op::Inc(Reg::Eax),
//!     Op::Return,
//! ]);
//! // Where each op's first instruction is, and how many come before it.
//! let sites: Vec<(u32, u32)> = block.sites.iter().map(|s| (s.addr, s.before)).collect();
//! assert_eq!(sites, [(0x0900_0000, 0), (0x0900_0007, 1), (0x0900_000e, 3), (0x0900_000f, 4)]);
//! assert_eq!(block.count, 5);
//! ```
//!
//! Blocks are kept by the address they start at ([`Blocks`]), and all
//! dropped when code is written (memory's [`Memory::generation`] moves
//! on). A write that changes code leaves the block at once, so that the
//! next instruction is decoded afresh, as the processor runs it. A fault
//! leaves the machine as the plain step does: EIP at the faulting
//! instruction, the instructions before it counted. The tests below run
//! random programs both ways and compare every register, flag and memory
//! word.

use super::decode::{decode, Inst};
use super::flags::Kind;
use super::machine::{divide, multiply, Kernel, Machine, Quiet, Stop};
use super::memory::{Memory, BLOCKS, PAGE_SIZE};
use super::Fault;
use crate::opcodes::{Action, Arith, Condition, Loc, Shift};

/// A memory operand: the address `disp + base + (index << scale)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub base: Reg,
    pub index: Reg,
    pub scale: u8,
    pub disp: u32,
}

/// A register, as ops name it: EAX ... EDI, or `None`, the missing base or
/// index of an address, whose register ([`super::decode::NO_REG`]) reads
/// 0. (An enum rather than a number, so that indexing the registers with
/// one needs no bounds check.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reg {
    Eax,
    Ecx,
    Edx,
    Ebx,
    Esp,
    Ebp,
    Esi,
    Edi,
    None,
}

impl Reg {
    /// The register numbered `n` (0-7), or `None` (8).
    pub fn of(n: u8) -> Reg {
        match n {
            0 => Reg::Eax,
            1 => Reg::Ecx,
            2 => Reg::Edx,
            3 => Reg::Ebx,
            4 => Reg::Esp,
            5 => Reg::Ebp,
            6 => Reg::Esi,
            7 => Reg::Edi,
            _ => Reg::None,
        }
    }
}

/// One instruction (two for the compares fused with a jump), ready to
/// run. Registers are [`Reg`]s; `RR(a, b)` means `a = a OP b`, `RI(a,
/// imm)` `a = a OP imm`, `RM(a, m)` `a = a OP [m]`, `MR(m, b)` `[m] = [m]
/// OP b`, `MI(m, imm)` `[m] = [m] OP imm`; a compare or test sets the
/// flags only. The ops after `Branch` leave the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    AddRR(Reg, Reg),
    SubRR(Reg, Reg),
    CmpRR(Reg, Reg),
    AndRR(Reg, Reg),
    OrRR(Reg, Reg),
    XorRR(Reg, Reg),
    CopyRR(Reg, Reg),
    AddRI(Reg, u32),
    SubRI(Reg, u32),
    CmpRI(Reg, u32),
    AndRI(Reg, u32),
    OrRI(Reg, u32),
    XorRI(Reg, u32),
    CopyRI(Reg, u32),
    CmpRM(Reg, Addr),
    /// The other operations (adc, sbb, test; any with memory).
    ArithRR(Arith, Reg, Reg),
    ArithRI(Arith, Reg, u32),
    ArithRM(Arith, Reg, Addr),
    ArithMR(Arith, Addr, Reg),
    ArithMI(Arith, Addr, u32),
    Inc(Reg),
    Dec(Reg),
    IncM(Addr),
    DecM(Addr),
    /// `r = [m]`.
    Load(Reg, Addr),
    /// `[m] = r`.
    Store(Addr, Reg),
    StoreImm(Addr, u32),
    /// `r8 = byte [m]`, for AL CL DL BL AH CH DH BH (0-7).
    LoadByte(u8, Addr),
    /// `byte [m] = r8`.
    StoreByte(Addr, u8),
    StoreByteImm(Addr, u8),
    /// `r = m`, the address itself (`lea`).
    Lea(Reg, Addr),
    Push(Reg),
    PushImm(u32),
    PushM(Addr),
    Pop(Reg),
    PopM(Addr),
    /// Shift or rotate a register by a count (0-31), or by CL.
    ShiftRI(Shift, Reg, u8),
    ShiftRC(Shift, Reg),
    Not(Reg),
    Neg(Reg),
    /// EDX:EAX = EAX times the register, signed or not.
    Multiply(bool, Reg),
    /// EAX, EDX = EDX:EAX divided by the register, signed or not.
    Divide(bool, Reg),
    /// `a = a * b`, signed (`0f af`).
    MultiplyInto(Reg, Reg),
    /// EDX = EAX's sign (`cdq`).
    SignExtend,
    /// A conditional jump: leave the block for the address when the
    /// condition holds, else go on. The `u8` counts the block's
    /// instructions before it (for a compare and jump, before the compare).
    Branch(Condition, u32, u8),
    /// A compare and the conditional jump after it.
    CmpRRBranch(Reg, Reg, Condition, u32, u8),
    CmpRIBranch(Reg, u32, Condition, u32, u8),
    CmpRMBranch(Reg, Addr, Condition, u32, u8),
    /// Call the first address, returning to the second; the block goes on
    /// with the instructions called. The `u8` counts the block's
    /// instructions before it.
    Call(u32, u32, u8),
    /// No instruction: the block ends here (it is long enough, or the next
    /// bytes are no instruction, which fault when run); go on at the
    /// address.
    Next(u32),
    /// Call the address a register or memory holds, returning to the
    /// `u32`.
    CallR(Reg, u32, u8),
    CallM(Addr, u32, u8),
    JumpR(Reg),
    JumpM(Addr),
    Return,
    /// Anything else: the block's `plain[n]`, run by [`Machine::execute`].
    Plain(u32),
}

impl Op {
    /// Does the block end with this op?
    fn ends(&self) -> bool {
        matches!(
            self,
            Op::Next(_)
                | Op::CallR(..)
                | Op::CallM(..)
                | Op::JumpR(_)
                | Op::JumpM(_)
                | Op::Return
                | Op::Plain(_)
        )
    }
}

/// Where an op is: the address of its (first) instruction, how many of the
/// block's instructions come before it, and the address of the instruction
/// that runs after it (after a call, the one called). A fault stops at
/// `addr`; a write that changes code goes on at `then`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    pub addr: u32,
    pub before: u32,
    pub then: u32,
}

/// Instructions from an address to the first that surely goes elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The address of its first instruction.
    pub start: u32,
    /// Its ops; the last one ends it.
    pub ops: Box<[Op]>,
    pub sites: Box<[Site]>,
    /// The instructions run to the end.
    pub count: u64,
    /// Does it end with a `ret`?
    returns: bool,
    /// The instructions of the [`Op::Plain`] ops.
    plain: Box<[Inst]>,
    /// For each way out, the position in [`Blocks`] of the block it led to
    /// last, or [`NONE`]: 0 the end, 1 + N the conditional jump after N
    /// instructions, or the return from the call after N instructions.
    links: Box<[u32]>,
}

/// The most instructions a block holds: a long run of code is run in
/// several blocks, so that a block costs little to decode even when most
/// of it is never run (and a jump to itself ends).
const MAX_INSTRUCTIONS: u32 = 64;

/// Decode the block that starts at `start` from `memory` (noting, for each
/// page it reads, that it holds code), or the fault of decoding its first
/// instruction. A `jmp` or `call` to a fixed address does not end a block:
/// it goes on with the instructions there.
pub fn build(memory: &mut Memory, start: u32) -> Result<Block, Fault> {
    let (mut ops, mut sites, mut plain) = (Vec::new(), Vec::<Site>::new(), Vec::new());
    let mut addr = start;
    let mut count = 0;
    loop {
        sites.push(Site { addr, before: count, then: addr });
        let inst = match decode(|a| memory.peek(a), addr) {
            Ok(inst) if count < MAX_INSTRUCTIONS => inst,
            Err(fault) if count == 0 => return Err(fault),
            _ => {
                ops.push(Op::Next(addr));
                break;
            }
        };
        // Writing its pages (it may end on the next) now changes memory's
        // generation.
        let next = addr.wrapping_add(u32::from(inst.len));
        memory.set_code(addr, BLOCKS);
        memory.set_code(next.wrapping_sub(1), BLOCKS);
        let op = op(&inst, next, count as u8, &mut plain);
        count += 1;
        if let Some(site) = sites.last_mut() {
            site.then = if let Op::Call(target, ..) = op { target } else { next };
        }
        match (op, ops.last_mut()) {
            // A jump: nothing to do but go on there.
            (Op::Branch(Condition::Always, target, _), _) => {
                sites.pop();
                addr = target;
                continue;
            }
            // A compare and the conditional jump right after it: one op.
            (Op::Branch(condition, target, at), Some(last)) if sites[sites.len() - 2].before + 1 == u32::from(at) => {
                if let Some(fused) = fuse(*last, condition, target, at - 1) {
                    *last = fused;
                    sites.pop();
                    addr = next;
                    continue;
                }
            }
            _ => {}
        }
        ops.push(op);
        addr = match op {
            Op::Call(target, ..) => target,
            _ if op.ends() => break,
            _ => next,
        };
    }
    let returns = ops.last() == Some(&Op::Return);
    let links = vec![NONE; count as usize + 1].into();
    Ok(Block { start, ops: ops.into(), sites: sites.into(), count: u64::from(count), returns, plain: plain.into(), links })
}

/// The compare `op` and a conditional jump after it, as one op.
fn fuse(op: Op, condition: Condition, target: u32, before: u8) -> Option<Op> {
    Some(match op {
        Op::CmpRR(a, b) => Op::CmpRRBranch(a, b, condition, target, before),
        Op::CmpRI(a, imm) => Op::CmpRIBranch(a, imm, condition, target, before),
        Op::CmpRM(a, m) => Op::CmpRMBranch(a, m, condition, target, before),
        _ => return None,
    })
}

/// Where the ModR/M operand is.
enum Operand {
    Reg(Reg),
    Mem(Addr),
}

/// The op that runs `inst` (`next` after it, `before` instructions of its
/// block before it), or an [`Op::Plain`] of it added to `plain`.
fn op(inst: &Inst, next: u32, before: u8, plain: &mut Vec<Inst>) -> Op {
    use Loc::{Imm, Rm, R32, R8, Rm8};
    use Operand::{Mem, Reg as R};
    let (r, imm) = (Reg::of(inst.r32), inst.imm);
    // The opcodes that name their register (05 add-to-EAX, 40+ inc, 50+
    // push, b8+ copy ...) are the rm32 forms of that register.
    let named = |n: u8| R(Reg::of(n));
    let (action, operand) = match (inst.action, inst.rm) {
        (Action::Arith(op, Loc::Reg(n), from), _) => (Action::Arith(op, Rm, from), named(n)),
        (Action::Copy(Loc::Reg(n), from), _) => (Action::Copy(Rm, from), named(n)),
        (Action::Increment(Loc::Reg(n)), _) => (Action::Increment(Rm), named(n)),
        (Action::Decrement(Loc::Reg(n)), _) => (Action::Decrement(Rm), named(n)),
        (Action::Push(Loc::Reg(n)), _) => (Action::Push(Rm), named(n)),
        (Action::Pop(Loc::Reg(n)), _) => (Action::Pop(Rm), named(n)),
        (action, super::decode::Rm::Reg(n)) => (action, named(n)),
        (action, super::decode::Rm::Mem { base, index, scale, disp }) => {
            (action, Mem(Addr { base: Reg::of(base), index: Reg::of(index), scale, disp }))
        }
    };
    match (action, operand) {
        (Action::Arith(op, Rm, Imm), R(a)) => arith_ri(op, a, imm),
        (Action::Arith(op, Rm, Imm), Mem(m)) => Op::ArithMI(op, m, imm),
        (Action::Arith(op, Rm, R32), R(a)) => arith_rr(op, a, r),
        (Action::Arith(op, R32, Rm), R(b)) => arith_rr(op, r, b),
        (Action::Arith(op, Rm, R32), Mem(m)) => Op::ArithMR(op, m, r),
        (Action::Arith(Arith::Compare, R32, Rm), Mem(m)) => Op::CmpRM(r, m),
        (Action::Arith(op, R32, Rm), Mem(m)) => Op::ArithRM(op, r, m),
        (Action::Copy(Rm, Imm), R(a)) => Op::CopyRI(a, imm),
        (Action::Copy(Rm, Imm), Mem(m)) => Op::StoreImm(m, imm),
        (Action::Copy(Rm, R32), R(a)) => Op::CopyRR(a, r),
        (Action::Copy(R32, Rm), R(b)) => Op::CopyRR(r, b),
        (Action::Copy(Rm, R32), Mem(m)) => Op::Store(m, r),
        (Action::Copy(R32, Rm), Mem(m)) => Op::Load(r, m),
        (Action::Copy(R8, Rm8), Mem(m)) => Op::LoadByte(inst.r32, m),
        (Action::Copy(Rm8, R8), Mem(m)) => Op::StoreByte(m, inst.r32),
        (Action::Copy(Rm8, Imm), Mem(m)) => Op::StoreByteImm(m, imm as u8),
        (Action::CopyAddress, Mem(m)) => Op::Lea(r, m),
        (Action::Increment(Rm), R(a)) => Op::Inc(a),
        (Action::Increment(Rm), Mem(m)) => Op::IncM(m),
        (Action::Decrement(Rm), R(a)) => Op::Dec(a),
        (Action::Decrement(Rm), Mem(m)) => Op::DecM(m),
        (Action::Push(Rm), R(a)) => Op::Push(a),
        (Action::Push(Imm), _) => Op::PushImm(imm),
        (Action::Push(Rm), Mem(m)) => Op::PushM(m),
        (Action::Pop(Rm), R(a)) => Op::Pop(a),
        (Action::Pop(Rm), Mem(m)) => Op::PopM(m),
        (Action::Shift(shift), R(a)) if inst.by_cl => Op::ShiftRC(shift, a),
        (Action::Shift(shift), R(a)) => Op::ShiftRI(shift, a, (imm & 31) as u8),
        (Action::Not, R(a)) => Op::Not(a),
        (Action::Negate, R(a)) => Op::Neg(a),
        (Action::Multiply { signed }, R(b)) => Op::Multiply(signed, b),
        (Action::Divide { signed }, R(b)) => Op::Divide(signed, b),
        (Action::MultiplyInto, R(b)) => Op::MultiplyInto(r, b),
        (Action::SignExtend, _) => Op::SignExtend,
        (Action::Jump(condition), _) => Op::Branch(condition, next.wrapping_add(imm), before),
        (Action::Call, _) => Op::Call(next.wrapping_add(imm), next, before),
        (Action::CallTo(Rm), R(a)) => Op::CallR(a, next, before),
        (Action::CallTo(Rm), Mem(m)) => Op::CallM(m, next, before),
        (Action::JumpTo(Rm), R(a)) => Op::JumpR(a),
        (Action::JumpTo(Rm), Mem(m)) => Op::JumpM(m),
        (Action::Return, _) => Op::Return,
        _ => {
            plain.push(*inst);
            Op::Plain(plain.len() as u32 - 1)
        }
    }
}

fn arith_rr(op: Arith, a: Reg, b: Reg) -> Op {
    match op {
        Arith::Add => Op::AddRR(a, b),
        Arith::Sub => Op::SubRR(a, b),
        Arith::Compare => Op::CmpRR(a, b),
        Arith::And => Op::AndRR(a, b),
        Arith::Or => Op::OrRR(a, b),
        Arith::Xor => Op::XorRR(a, b),
        _ => Op::ArithRR(op, a, b),
    }
}

fn arith_ri(op: Arith, a: Reg, imm: u32) -> Op {
    match op {
        Arith::Add => Op::AddRI(a, imm),
        Arith::Sub => Op::SubRI(a, imm),
        Arith::Compare => Op::CmpRI(a, imm),
        Arith::And => Op::AndRI(a, imm),
        Arith::Or => Op::OrRI(a, imm),
        Arith::Xor => Op::XorRI(a, imm),
        _ => Op::ArithRI(op, a, imm),
    }
}

/// Does the operation write its result (a compare or test does not)?
fn writes(op: Arith) -> bool {
    !matches!(op, Arith::Compare | Arith::Test)
}

/// Slots a page has: one per address.
const PAGE: usize = PAGE_SIZE as usize;

/// No block: an empty link or slot.
const NONE: u32 = u32::MAX;

/// The blocks decoded so far, by the address they start at. They are all
/// dropped when memory's [`Memory::generation`] moves on (code was
/// written, or mappings changed: rare), so that a block can name the
/// blocks it was left for ([`Block::links`]) without checking them again.
pub struct Blocks {
    /// The generation of memory the blocks were decoded from.
    generation: u64,
    /// For each page number, 1 + its position in `starts` (counted in
    /// pages), or 0.
    index: Vec<u32>,
    /// For each offset of those pages, the position in `blocks` of the
    /// block that starts there, or [`NONE`].
    starts: Vec<u32>,
    blocks: Vec<Block>,
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks::new()
    }
}

impl Blocks {
    pub fn new() -> Blocks {
        Blocks { generation: 0, index: vec![0; 1 << 20], starts: Vec::new(), blocks: Vec::new() }
    }

    /// Drop every block, for memory of generation `generation`.
    fn clear(&mut self, generation: u64) {
        self.starts.fill(NONE);
        self.blocks.clear();
        self.generation = generation;
    }

    /// The position of the block that starts at `eip`, decoded now or
    /// earlier.
    pub fn find(&mut self, memory: &mut Memory, eip: u32) -> Result<u32, Fault> {
        let page = (eip >> 12) as usize;
        if self.index[page] == 0 {
            self.starts.resize(self.starts.len() + PAGE, NONE);
            self.index[page] = (self.starts.len() / PAGE) as u32;
        }
        let slot = (self.index[page] as usize - 1) * PAGE + (eip & (PAGE_SIZE - 1)) as usize;
        if self.starts[slot] == NONE {
            self.blocks.push(build(memory, eip)?);
            self.starts[slot] = self.blocks.len() as u32 - 1;
        }
        Ok(self.starts[slot])
    }
}

/// A call not yet returned from: where it returns to, and the block and
/// link that remember the block there.
#[derive(Clone, Copy)]
struct Call {
    ret: u32,
    block: u32,
    link: u32,
}

/// The calls the return stack of [`run`] remembers, at most: deeper calls
/// return as well, only without a guess of where to.
const CALLS: usize = 1 << 16;

/// Run until the program stops or `max_steps` instructions have run.
///
/// Each block remembers the block each of its ways out led to last, so
/// that the next block is found without a look-up. A return goes to many
/// places: a stack of the calls not yet returned from guesses where, as
/// the processor's own return stack does.
pub fn run<K: Kernel>(m: &mut Machine, kernel: &mut K, max_steps: u64) -> Stop {
    let mut blocks = Blocks::new();
    let mut calls: Vec<Call> = Vec::new();
    // The block at EIP, or NONE: look for it.
    let mut current = NONE;
    loop {
        if current == NONE {
            if m.steps >= max_steps {
                return Stop::MaxSteps;
            }
            if m.memory.generation != blocks.generation {
                // Code was written or mappings changed: every block goes.
                blocks.clear(m.memory.generation);
                calls.clear();
            }
            current = match blocks.find(&mut m.memory, m.eip) {
                Ok(b) => b,
                Err(fault) => return Stop::Fault(fault),
            };
        }
        let block = &blocks.blocks[current as usize];
        if block.count > max_steps - m.steps {
            // Near the end of the budget: one instruction at a time.
            if m.steps == max_steps {
                return Stop::MaxSteps;
            }
            if let Err(stop) = m.step(kernel, &mut Quiet) {
                return stop;
            }
            current = NONE;
            continue;
        }
        let way = match run_block(m, kernel, block, current, &mut calls) {
            Ok(CHANGED) => {
                current = NONE;
                continue;
            }
            Ok(way) => way,
            Err(stop) => return stop,
        };
        // Where the next block is remembered: in this block, by the way
        // it was left, or for a return, by the call.
        let (owner, link) = if block.returns && way == 0 {
            match calls.pop() {
                Some(call) if call.ret == m.eip => (call.block, call.link as usize),
                _ => (current, 0),
            }
        } else {
            (current, way)
        };
        let next = blocks.blocks[owner as usize].links[link];
        current = if next != NONE && blocks.blocks[next as usize].start == m.eip {
            next
        } else {
            match blocks.find(&mut m.memory, m.eip) {
                Ok(found) => {
                    blocks.blocks[owner as usize].links[link] = found;
                    found
                }
                Err(fault) => return Stop::Fault(fault),
            }
        };
    }
}

/// What [`run_block`] says when memory's generation moved while the block
/// ran (code written, or mappings changed): the blocks must all go.
const CHANGED: usize = usize::MAX;

/// Note a call made by `block` at instruction `before`, returning to `ret`.
#[inline(always)]
fn remember(calls: &mut Vec<Call>, ret: u32, block: u32, before: u8) {
    if calls.len() == CALLS {
        calls.drain(..CALLS / 2);
    }
    calls.push(Call { ret, block, link: 1 + u32::from(before) });
}

/// Run `block` (position `current`), from its first instruction (at EIP)
/// until it is left: the way out it took (the index of its link), or
/// [`CHANGED`]. Its calls go on `calls`.
#[inline(always)]
fn run_block<K: Kernel>(m: &mut Machine, kernel: &mut K, block: &Block, current: u32, calls: &mut Vec<Call>) -> Result<usize, Stop> {
    let generation = m.memory.generation;
    let steps = m.steps;
    macro_rules! reg {
        ($r:expr) => {
            m.regs[$r as usize]
        };
    }
    macro_rules! address {
        ($a:expr) => {{
            let a: Addr = $a;
            a.disp.wrapping_add(reg!(a.base)).wrapping_add(reg!(a.index) << a.scale)
        }};
    }
    // Leave the block for `eip`, with `done` of its instructions run.
    macro_rules! leave {
        ($eip:expr, $done:expr) => {{
            m.eip = $eip;
            m.steps = steps + u64::from($done);
        }};
    }
    let mut ops = block.ops.iter();
    while let Some(op) = ops.next() {
        // The op's position, worked out only when it is left.
        let i = || block.ops.len() - ops.len() - 1;
        // Stop at this op's instruction, which did nothing.
        macro_rules! fault {
            ($result:expr) => {
                match $result {
                    Ok(v) => v,
                    Err(f) => {
                        stop_at(m, block, i(), steps);
                        return Err(Stop::Fault(f));
                    }
                }
            };
        }
        // After a write to memory: if it changed code, go on from the next
        // instruction, decoded afresh.
        macro_rules! check_code {
            () => {
                if m.memory.generation != generation {
                    let site = block.sites[i()];
                    leave!(site.then, site.before + 1);
                    return Ok(CHANGED);
                }
            };
        }
        // Write memory: whether the write took the slow path, the only
        // one that can change code (then `check_code!` once the op is done).
        macro_rules! write32 {
            ($at:expr, $v:expr) => {{
                let (at, v) = ($at, $v);
                !m.memory.write32_quick(at, v) && {
                    fault!(m.memory.write32(at, v));
                    true
                }
            }};
        }
        macro_rules! write8 {
            ($at:expr, $v:expr) => {{
                let (at, v) = ($at, $v);
                !m.memory.write8_quick(at, v) && {
                    fault!(m.memory.write8(at, v));
                    true
                }
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let sp = reg!(Reg::Esp).wrapping_sub(4);
                let slow = write32!(sp, $v);
                reg!(Reg::Esp) = sp;
                if slow {
                    check_code!();
                }
            }};
        }
        // Leave by a conditional jump (after `before` instructions, and
        // `instructions` of its own) when it holds.
        macro_rules! branch {
            ($holds:expr, $target:expr, $before:expr, $instructions:expr) => {
                if $holds {
                    leave!($target, $before + $instructions);
                    return Ok(1 + usize::from($before));
                }
            };
        }
        // Leave by the end, for `target`.
        macro_rules! end {
            ($target:expr) => {{
                let target = $target;
                leave!(target, block.count as u32);
                return Ok(if m.memory.generation == generation { 0 } else { CHANGED });
            }};
        }
        match *op {
            Op::AddRR(a, b) => add(m, a, reg!(b)),
            Op::SubRR(a, b) => sub(m, a, reg!(b)),
            Op::CmpRR(a, b) => compare(m, reg!(a), reg!(b)),
            Op::AndRR(a, b) => logic(m, a, reg!(a) & reg!(b)),
            Op::OrRR(a, b) => logic(m, a, reg!(a) | reg!(b)),
            Op::XorRR(a, b) => logic(m, a, reg!(a) ^ reg!(b)),
            Op::CopyRR(a, b) => reg!(a) = reg!(b),
            Op::AddRI(a, y) => add(m, a, y),
            Op::SubRI(a, y) => sub(m, a, y),
            Op::CmpRI(a, y) => compare(m, reg!(a), y),
            Op::AndRI(a, y) => logic(m, a, reg!(a) & y),
            Op::OrRI(a, y) => logic(m, a, reg!(a) | y),
            Op::XorRI(a, y) => logic(m, a, reg!(a) ^ y),
            Op::CopyRI(a, v) => reg!(a) = v,
            Op::CmpRM(a, addr) => {
                let y = fault!(m.memory.read32(address!(addr)));
                compare(m, reg!(a), y);
            }
            Op::ArithRR(op, a, b) => arith(m, op, a, reg!(b)),
            Op::ArithRI(op, a, y) => arith(m, op, a, y),
            Op::ArithRM(op, a, addr) => {
                let y = fault!(m.memory.read32(address!(addr)));
                arith(m, op, a, y);
            }
            Op::ArithMR(op, addr, b) => {
                let at = address!(addr);
                let x = fault!(m.memory.read32(at));
                let (r, flags) = m.arith(op, x, reg!(b));
                let slow = writes(op) && write32!(at, r);
                m.flags = flags;
                if slow {
                    check_code!();
                }
            }
            Op::ArithMI(op, addr, y) => {
                let at = address!(addr);
                let x = fault!(m.memory.read32(at));
                let (r, flags) = m.arith(op, x, y);
                let slow = writes(op) && write32!(at, r);
                m.flags = flags;
                if slow {
                    check_code!();
                }
            }
            Op::Inc(a) => {
                let x = reg!(a);
                reg!(a) = x.wrapping_add(1);
                m.flags.set(Kind::Inc, x, 1, x.wrapping_add(1));
            }
            Op::Dec(a) => {
                let x = reg!(a);
                reg!(a) = x.wrapping_sub(1);
                m.flags.set(Kind::Dec, x, 1, x.wrapping_sub(1));
            }
            Op::IncM(addr) => {
                let at = address!(addr);
                let x = fault!(m.memory.read32(at));
                let slow = write32!(at, x.wrapping_add(1));
                m.flags.set(Kind::Inc, x, 1, x.wrapping_add(1));
                if slow {
                    check_code!();
                }
            }
            Op::DecM(addr) => {
                let at = address!(addr);
                let x = fault!(m.memory.read32(at));
                let slow = write32!(at, x.wrapping_sub(1));
                m.flags.set(Kind::Dec, x, 1, x.wrapping_sub(1));
                if slow {
                    check_code!();
                }
            }
            Op::Load(a, addr) => reg!(a) = fault!(m.memory.read32(address!(addr))),
            Op::Store(addr, b) => {
                if write32!(address!(addr), reg!(b)) {
                    check_code!();
                }
            }
            Op::StoreImm(addr, v) => {
                if write32!(address!(addr), v) {
                    check_code!();
                }
            }
            Op::LoadByte(a, addr) => {
                let v = fault!(m.memory.read8(address!(addr)));
                m.set_byte_reg(a, v);
            }
            Op::StoreByte(addr, b) => {
                let v = m.byte_reg(b) as u8;
                if write8!(address!(addr), v) {
                    check_code!();
                }
            }
            Op::StoreByteImm(addr, v) => {
                if write8!(address!(addr), v) {
                    check_code!();
                }
            }
            Op::Lea(a, addr) => reg!(a) = address!(addr),
            Op::Push(a) => push!(reg!(a)),
            Op::PushImm(v) => push!(v),
            Op::PushM(addr) => push!(fault!(m.memory.read32(address!(addr)))),
            Op::Pop(a) => {
                let sp = reg!(Reg::Esp);
                let v = fault!(m.memory.read32(sp));
                // ESP first: `pop esp` keeps the value popped.
                reg!(Reg::Esp) = sp.wrapping_add(4);
                reg!(a) = v;
            }
            Op::PopM(addr) => {
                let sp = reg!(Reg::Esp);
                let v = fault!(m.memory.read32(sp));
                // The address is worked out with ESP moved, as the processor does.
                reg!(Reg::Esp) = sp.wrapping_add(4);
                let at = address!(addr);
                if !m.memory.write32_quick(at, v) {
                    if let Err(f) = m.memory.write32(at, v) {
                        reg!(Reg::Esp) = sp;
                        stop_at(m, block, i(), steps);
                        return Err(Stop::Fault(f));
                    }
                    check_code!();
                }
            }
            Op::ShiftRI(shift, a, count) => {
                let (r, flags) = m.shift(shift, reg!(a), u32::from(count));
                (reg!(a), m.flags) = (r, flags);
            }
            Op::ShiftRC(shift, a) => {
                let (r, flags) = m.shift(shift, reg!(a), reg!(Reg::Ecx) & 31);
                (reg!(a), m.flags) = (r, flags);
            }
            Op::Not(a) => reg!(a) = !reg!(a),
            Op::Neg(a) => {
                let x = reg!(a);
                reg!(a) = x.wrapping_neg();
                m.flags.set(Kind::Sub, 0, x, x.wrapping_neg());
            }
            Op::Multiply(signed, b) => {
                let (low, high, flags) = multiply(reg!(Reg::Eax), reg!(b), signed);
                (reg!(Reg::Eax), reg!(Reg::Edx), m.flags) = (low, high, flags);
            }
            Op::Divide(signed, b) => {
                let n = u64::from(reg!(Reg::Edx)) << 32 | u64::from(reg!(Reg::Eax));
                let (q, r) = fault!(divide(n, reg!(b), signed));
                (reg!(Reg::Eax), reg!(Reg::Edx)) = (q, r);
            }
            Op::MultiplyInto(a, b) => {
                let (low, _, flags) = multiply(reg!(a), reg!(b), true);
                (reg!(a), m.flags) = (low, flags);
            }
            Op::SignExtend => reg!(Reg::Edx) = ((reg!(Reg::Eax) as i32) >> 31) as u32,
            Op::Branch(condition, target, before) => branch!(m.flags.holds(condition), target, before, 1),
            Op::CmpRRBranch(a, b, condition, target, before) => {
                compare(m, reg!(a), reg!(b));
                branch!(m.flags.holds(condition), target, before, 2);
            }
            Op::CmpRIBranch(a, y, condition, target, before) => {
                compare(m, reg!(a), y);
                branch!(m.flags.holds(condition), target, before, 2);
            }
            Op::CmpRMBranch(a, addr, condition, target, before) => {
                let y = fault!(m.memory.read32(address!(addr)));
                compare(m, reg!(a), y);
                branch!(m.flags.holds(condition), target, before, 2);
            }
            Op::Call(_, ret, before) => {
                fault!(m.call(ret, &mut Quiet));
                remember(calls, ret, current, before);
                check_code!();
            }
            Op::Next(next) => end!(next),
            Op::CallR(a, ret, before) => {
                let target = reg!(a);
                fault!(m.call(ret, &mut Quiet));
                remember(calls, ret, current, before);
                end!(target);
            }
            Op::CallM(addr, ret, before) => {
                let target = fault!(m.memory.read32(address!(addr)));
                fault!(m.call(ret, &mut Quiet));
                remember(calls, ret, current, before);
                end!(target);
            }
            Op::JumpR(a) => end!(reg!(a)),
            Op::JumpM(addr) => end!(fault!(m.memory.read32(address!(addr)))),
            Op::Return => end!(fault!(m.ret())),
            Op::Plain(n) => {
                let inst = &block.plain[n as usize];
                stop_at(m, block, i(), steps);
                let target = m.execute(inst, m.eip.wrapping_add(u32::from(inst.len)), kernel, &mut Quiet)?;
                end!(target);
            }
        }
    }
    unreachable!("a block ends with an op that leaves it")
}

/// Set EIP and the step count for the block's op `i`, about to run (from
/// `steps` when the block began): for a fault, or to go on afresh there.
#[cold]
#[inline(never)]
fn stop_at(m: &mut Machine, block: &Block, i: usize, steps: u64) {
    let site = block.sites[i];
    m.eip = site.addr;
    m.steps = steps + u64::from(site.before);
}

#[inline(always)]
fn add(m: &mut Machine, a: Reg, y: u32) {
    let x = m.regs[a as usize];
    let r = x.wrapping_add(y);
    m.regs[a as usize] = r;
    m.flags.set(Kind::Add, x, y, r);
}

#[inline(always)]
fn sub(m: &mut Machine, a: Reg, y: u32) {
    let x = m.regs[a as usize];
    let r = x.wrapping_sub(y);
    m.regs[a as usize] = r;
    m.flags.set(Kind::Sub, x, y, r);
}

#[inline(always)]
fn compare(m: &mut Machine, x: u32, y: u32) {
    m.flags.set(Kind::Sub, x, y, x.wrapping_sub(y));
}

#[inline(always)]
fn logic(m: &mut Machine, a: Reg, r: u32) {
    m.regs[a as usize] = r;
    m.flags.set(Kind::Logic, 0, 0, r);
}

/// `a = a OP y` for any operation, by the plain path's rules.
#[inline(always)]
fn arith(m: &mut Machine, op: Arith, a: Reg, y: u32) {
    let (r, flags) = m.arith(op, m.regs[a as usize], y);
    if writes(op) {
        m.regs[a as usize] = r;
    }
    m.flags = flags;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::machine::NoKernel;
    use crate::emulator::memory::{READ, WRITE};
    use crate::test_rng::Rng;

    const CODE: u32 = 0x0900_0000;
    /// Where the functions the test programs call are.
    const FUNCTIONS: u32 = CODE + 0x8000;
    const DATA: u32 = 0x0a00_0000;
    /// Addresses of functions and jump targets, for calls and jumps
    /// through memory; the other data stays below it.
    const SLOTS: u32 = DATA + 0xf80;
    const STACK_TOP: u32 = 0xc000_0000;
    /// The registers the programs write freely: EAX ECX EDX EBX EDI. ESP
    /// is the stack, EBP points at the data page, ESI is a small index.
    const FREE: [u8; 5] = [0, 1, 2, 3, 7];

    /// Writes random programs of every instruction form the table has,
    /// memory operands of every addressing form inside the data page or
    /// the stack, forward jumps of each kind, calls and returns, and now
    /// and then a fault. Control only goes forward, so every program ends
    /// (running off its end into zeros, which are no instruction).
    struct Generator<'a> {
        rng: &'a mut Rng,
        code: Vec<u8>,
        /// Where `code` goes in memory.
        base: u32,
        /// Words pushed and not yet popped, at this point of the program.
        depth: u32,
        /// The functions written so far, to call.
        functions: Vec<u32>,
    }

    impl Generator<'_> {
        fn here(&self) -> u32 {
            self.base + self.code.len() as u32
        }

        fn free(&mut self) -> u8 {
            *self.rng.pick(&FREE)
        }

        fn any(&mut self) -> u8 {
            self.rng.below(8) as u8
        }

        fn imm(&mut self) -> [u8; 4] {
            let edges = [0u32, 1, 2, 31, 32, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
            let v = if self.rng.below(3) == 0 { *self.rng.pick(&edges) } else { self.rng.next() as u32 };
            v.to_le_bytes()
        }

        fn emit(&mut self, bytes: &[u8]) {
            self.code.extend_from_slice(bytes);
        }

        /// A memory operand with `reg` in the reg field: ModR/M, SIB and
        /// displacement, for an address in the data page (below `SLOTS`)
        /// or among the words pushed, in every form the ModR/M and SIB
        /// bytes allow, or now and then one where nothing is mapped.
        fn memory(&mut self, reg: u8, stack: bool) -> Vec<u8> {
            let r = reg << 3;
            let off = self.rng.below(0xe00) as u32;
            let small = self.rng.below(32) as u8 * 4 + self.rng.below(2) as u8;
            let scale = (self.rng.below(4) as u8) << 6;
            let mut bytes = match self.rng.below(if stack && self.depth > 0 { 9 } else { 8 }) {
                // [ebp + disp8]
                0 => vec![0x45 | r, small],
                // [ebp + disp32]
                1 => [vec![0x85 | r], off.to_le_bytes().to_vec()].concat(),
                // [ebp + esi << scale + disp8]
                2 => vec![0x44 | r, scale | 6 << 3 | 5, small],
                // [ebp + disp32] through a SIB byte with no index, as the
                // sugar writes `*(ebp+8)`
                3 => [vec![0x84 | r, 0x25], off.to_le_bytes().to_vec()].concat(),
                // [disp32]
                4 => [vec![0x05 | r], (DATA + off).to_le_bytes().to_vec()].concat(),
                // [esi << scale + disp32]: SIB base 5 with mod 0 is no base
                5 => [vec![0x04 | r, scale | 6 << 3 | 5], (DATA + off).to_le_bytes().to_vec()].concat(),
                // [ebp + esi << scale + disp32]
                6 => [vec![0x84 | r, scale | 6 << 3 | 5], off.to_le_bytes().to_vec()].concat(),
                // [ebp]: mod 1 with a zero disp8 (mod 0 rm 5 is [disp32])
                7 => vec![0x45 | r, 0],
                // [esp + 4k], a word pushed
                _ => {
                    let k = self.rng.below(self.depth as usize) as u8;
                    if k == 0 && self.rng.below(2) == 0 {
                        vec![0x04 | r, 0x24]
                    } else {
                        vec![0x44 | r, 0x24, 4 * k]
                    }
                }
            };
            if self.rng.below(2000) == 0 {
                // Where nothing is mapped: the program faults here.
                bytes = [vec![0x05 | r], 0x0000_0010u32.to_le_bytes().to_vec()].concat();
            }
            bytes
        }

        /// One instruction (or a few that go together) that neither jumps
        /// nor changes the stack's depth.
        fn plain(&mut self) {
            let (a, b) = (self.free(), self.any());
            let imm = self.imm();
            match self.rng.below(26) {
                // op rm32, r32 and op r32, rm32 between registers
                0 => {
                    let op = *self.rng.pick(&[0x01u8, 0x09, 0x21, 0x29, 0x31, 0x39, 0x89]);
                    self.emit(&[op, 0xc0 | b << 3 | a]);
                }
                1 => {
                    let op = *self.rng.pick(&[0x03u8, 0x0b, 0x23, 0x2b, 0x33, 0x3b, 0x8b]);
                    self.emit(&[op, 0xc0 | a << 3 | b]);
                }
                // ... with memory: [m] = [m] OP r32, and r32 = r32 OP [m]
                2 => {
                    let op = *self.rng.pick(&[0x01u8, 0x09, 0x21, 0x29, 0x31, 0x39, 0x89]);
                    let m = self.memory(b, true);
                    self.emit(&[&[op], &m[..]].concat());
                }
                3 => {
                    let op = *self.rng.pick(&[0x03u8, 0x0b, 0x23, 0x2b, 0x33, 0x3b, 0x8b]);
                    let m = self.memory(a, true);
                    self.emit(&[&[op], &m[..]].concat());
                }
                // 81 with each subop, on a register or memory
                4 => {
                    let subop = self.rng.below(8) as u8;
                    self.emit(&[0x81, 0xc0 | subop << 3 | a]);
                    self.emit(&imm);
                }
                5 => {
                    let subop = self.rng.below(8) as u8;
                    let m = self.memory(subop, true);
                    self.emit(&[&[0x81], &m[..], &imm[..]].concat());
                }
                // op eax, imm32
                6 => {
                    let op = *self.rng.pick(&[0x05u8, 0x0d, 0x25, 0x2d, 0x35, 0x3d]);
                    self.emit(&[&[op], &imm[..]].concat());
                }
                // copy imm32 to a register (b8+, c7) or memory
                7 => {
                    self.emit(&[0xb8 | a]);
                    self.emit(&imm);
                }
                8 => {
                    let m = if self.rng.below(2) == 0 { vec![0xc0 | a] } else { self.memory(0, true) };
                    self.emit(&[&[0xc7], &m[..], &imm[..]].concat());
                }
                // inc and dec of a register (40+, 48+, ff) or memory
                9 => {
                    let op = *self.rng.pick(&[0x40u8, 0x48]);
                    self.emit(&[op | a]);
                }
                10 => {
                    let subop = self.rng.below(2) as u8;
                    let m = if self.rng.below(3) == 0 { vec![0xc0 | subop << 3 | a] } else { self.memory(subop, true) };
                    self.emit(&[&[0xff], &m[..]].concat());
                }
                // bytes: 8a and 88 with memory or between byte registers,
                // c6 to memory or a byte register (AL..BH are all free)
                11 => {
                    let (op, r8) = (*self.rng.pick(&[0x88u8, 0x8a]), self.rng.below(8) as u8);
                    let m = if self.rng.below(4) == 0 { vec![0xc0 | r8 << 3 | self.rng.below(8) as u8] } else { self.memory(r8, true) };
                    self.emit(&[&[op], &m[..]].concat());
                }
                12 => {
                    let m = if self.rng.below(3) == 0 { vec![0xc0 | self.rng.below(8) as u8] } else { self.memory(0, true) };
                    self.emit(&[&[0xc6], &m[..], &[imm[0]]].concat());
                }
                // lea, of any address (nothing is read)
                13 => {
                    let m = self.memory(a, true);
                    self.emit(&[&[0x8d], &m[..]].concat());
                }
                // shifts and rotations by imm8 or CL, of a register or memory
                14 => {
                    let subop = self.rng.below(8) as u8;
                    let count = *self.rng.pick(&[0u8, 1, 2, 31, 32, 33, 200]);
                    let m = if self.rng.below(4) == 0 { self.memory(subop, true) } else { vec![0xc0 | subop << 3 | a] };
                    if self.rng.below(2) == 0 {
                        self.emit(&[&[0xc1], &m[..], &[count]].concat());
                    } else {
                        self.emit(&[&[0xd3], &m[..]].concat());
                    }
                }
                // f7: test, not, neg of a register or memory
                15 => {
                    let subop = *self.rng.pick(&[0u8, 1, 2, 3]);
                    let m = if self.rng.below(3) == 0 { self.memory(subop, true) } else { vec![0xc0 | subop << 3 | a] };
                    self.emit(&[&[0xf7], &m[..]].concat());
                    if subop < 2 {
                        self.emit(&imm);
                    }
                }
                // mul and imul into EDX:EAX, by a register or memory
                16 => {
                    let subop = *self.rng.pick(&[4u8, 5]);
                    let m = if self.rng.below(3) == 0 { self.memory(subop, true) } else { vec![0xc0 | subop << 3 | b] };
                    self.emit(&[&[0xf7], &m[..]].concat());
                }
                // div and idiv by a positive ECX, EDX cleared or EAX's sign:
                // no fault; now and then by any register, which may fault
                17 => {
                    let d = u32::from_le_bytes(imm) & 0x7fff_ffff | 1;
                    self.emit(&[0xb9]);
                    self.emit(&d.to_le_bytes());
                    if self.rng.below(2) == 0 {
                        self.emit(&[0x31, 0xd2, 0xf7, 0xf1]);
                    } else {
                        self.emit(&[0x99, 0xf7, 0xf9]);
                    }
                }
                18 if self.rng.below(64) == 0 => {
                    let subop = *self.rng.pick(&[6u8, 7]);
                    self.emit(&[0xf7, 0xc0 | subop << 3 | b]);
                }
                // imul r32, rm32
                19 => {
                    let m = if self.rng.below(3) == 0 { self.memory(a, true) } else { vec![0xc0 | a << 3 | b] };
                    self.emit(&[&[0x0f, 0xaf], &m[..]].concat());
                }
                20 => self.emit(&[0x99]),
                // xchg, registers or memory
                21 => {
                    let m = if self.rng.below(2) == 0 { self.memory(a, true) } else { vec![0xc0 | a << 3 | self.free()] };
                    self.emit(&[&[0x87], &m[..]].concat());
                }
                // a new index in ESI
                22 => {
                    let index = self.rng.below(16) as u32;
                    self.emit(&[0xbe]);
                    self.emit(&index.to_le_bytes());
                }
                // now and then, an interrupt: a fault without a kernel
                23 if self.rng.below(100) == 0 => {
                    let n = *self.rng.pick(&[3u8, 0x80]);
                    self.emit(&[0xcd, n]);
                }
                _ => {
                    let m = self.memory(a, true);
                    self.emit(&[&[0x8b], &m[..]].concat());
                }
            }
        }

        /// A compare of every form, for a conditional jump after it.
        fn compare(&mut self) {
            let (a, b) = (self.any(), self.any());
            let imm = self.imm();
            match self.rng.below(6) {
                0 => {
                    let op = *self.rng.pick(&[0x39u8, 0x3b]);
                    self.emit(&[op, 0xc0 | b << 3 | a]);
                }
                1 => {
                    self.emit(&[0x3d]);
                    self.emit(&imm);
                }
                2 => {
                    self.emit(&[0x81, 0xf8 | a]);
                    self.emit(&imm);
                }
                3 => {
                    let m = self.memory(7, true);
                    self.emit(&[&[0x81], &m[..], &imm[..]].concat());
                }
                _ => {
                    let op = *self.rng.pick(&[0x39u8, 0x3b]);
                    let m = self.memory(b, true);
                    self.emit(&[&[op], &m[..]].concat());
                }
            }
        }

        /// A conditional jump over the next instruction, short or near.
        fn branch(&mut self) {
            let condition = *self.rng.pick(&[2u8, 3, 4, 5, 6, 7, 0xc, 0xd, 0xe, 0xf]);
            let skipped = [0x40 | self.free()];
            if self.rng.below(2) == 0 {
                self.emit(&[0x70 | condition, 1]);
            } else {
                self.emit(&[0x0f, 0x80 | condition, 1, 0, 0, 0]);
            }
            self.emit(&skipped);
        }

        /// Random bytes, jumped over.
        fn junk(&mut self) -> Vec<u8> {
            (0..self.rng.below(6)).map(|_| *self.rng.pick(&[0u8, 0x90, 0x0f, 0xff, 0x40, 0xc3])).collect()
        }

        /// A function: a few plain instructions, perhaps a call of an
        /// earlier function, and a return.
        fn function(&mut self) {
            self.functions.push(self.here());
            for _ in 0..self.rng.below(8) {
                self.plain();
            }
            // Functions call only earlier ones: no recursion.
            if self.functions.len() > 1 && self.rng.below(2) == 0 {
                let f = self.functions[self.rng.below(self.functions.len() - 1)];
                self.call(f);
            }
            self.emit(&[0xc3]);
        }

        fn call(&mut self, f: u32) {
            let rel = f.wrapping_sub(self.here() + 5);
            self.emit(&[0xe8]);
            self.emit(&rel.to_le_bytes());
        }

        /// The main program: a mix of everything.
        fn main(&mut self, len: usize) {
            for _ in 0..len {
                let (a, b) = (self.free(), self.any());
                match self.rng.below(21) {
                    0..=7 => self.plain(),
                    8 => self.branch(),
                    9 => {
                        self.compare();
                        self.branch();
                    }
                    // push a register, an immediate or memory
                    10 if self.depth < 60 => {
                        match self.rng.below(4) {
                            0 => self.emit(&[0x50 | b]),
                            1 => {
                                let imm = self.imm();
                                self.emit(&[0x68]);
                                self.emit(&imm);
                            }
                            2 => self.emit(&[0xff, 0xf0 | b]),
                            _ => {
                                let m = self.memory(6, true);
                                self.emit(&[&[0xff], &m[..]].concat());
                            }
                        }
                        self.depth += 1;
                    }
                    // pop to a register or memory (on the stack too: its
                    // address counts from ESP after the pop)
                    11 if self.depth > 0 => {
                        self.depth -= 1;
                        if self.rng.below(2) == 0 {
                            self.emit(&[0x58 | a]);
                        } else {
                            let m = self.memory(0, true);
                            self.emit(&[&[0x8f], &m[..]].concat());
                        }
                    }
                    // push esp pushes the ESP before; pop esp keeps the
                    // value popped: here 4 above the word pushed first
                    18 if self.depth > 0 => {
                        self.emit(&[0x54, 0x81, 0x04, 0x24, 4, 0, 0, 0, 0x5c]);
                        self.depth -= 1;
                    }
                    // call and jmp through the word on top of the stack
                    // (its address worked out before the call pushes)
                    19 => {
                        let f = *self.rng.pick(&self.functions);
                        self.emit(&[0x68]);
                        self.emit(&f.to_le_bytes());
                        self.emit(&[0xff, 0x14, 0x24, 0x58 | a]);
                        let junk = self.junk();
                        let target = self.here() + 8 + junk.len() as u32;
                        self.emit(&[0x68]);
                        self.emit(&target.to_le_bytes());
                        self.emit(&[0xff, 0x24, 0x24]);
                        self.emit(&junk);
                        self.emit(&[0x58 | a]);
                    }
                    // jmp forward over junk, short or near
                    12 => {
                        let junk = self.junk();
                        if self.rng.below(2) == 0 {
                            self.emit(&[0xeb, junk.len() as u8]);
                        } else {
                            self.emit(&[0xe9]);
                            self.emit(&(junk.len() as u32).to_le_bytes());
                        }
                        self.emit(&junk);
                    }
                    // jmp through a register or memory, over junk
                    13 => {
                        let junk = self.junk();
                        let slot = SLOTS + 4 * self.rng.below(8) as u32;
                        if self.rng.below(2) == 0 {
                            let target = self.here() + 7 + junk.len() as u32;
                            self.emit(&[0xb8 | a]);
                            self.emit(&target.to_le_bytes());
                            self.emit(&[0xff, 0xe0 | a]);
                        } else {
                            let target = self.here() + 16 + junk.len() as u32;
                            self.emit(&[0xc7, 0x05]);
                            self.emit(&slot.to_le_bytes());
                            self.emit(&target.to_le_bytes());
                            self.emit(&[0xff, 0x25]);
                            self.emit(&slot.to_le_bytes());
                        }
                        self.emit(&junk);
                    }
                    // call a function, directly, through a register or memory
                    14 | 15 => {
                        let f = *self.rng.pick(&self.functions);
                        match self.rng.below(3) {
                            0 => self.call(f),
                            1 => {
                                self.emit(&[0xb8 | a]);
                                self.emit(&f.to_le_bytes());
                                self.emit(&[0xff, 0xd0 | a]);
                            }
                            _ => {
                                let slot = SLOTS + 4 * self.rng.below(8) as u32;
                                self.emit(&[0xc7, 0x05]);
                                self.emit(&slot.to_le_bytes());
                                self.emit(&f.to_le_bytes());
                                self.emit(&[0xff, 0x15]);
                                self.emit(&slot.to_le_bytes());
                            }
                        }
                    }
                    // a call to the next instruction, whose return address
                    // is popped: a call never returned from
                    16 => self.emit(&[0xe8, 0, 0, 0, 0, 0x58 | a]),
                    // push an address and return to it: a return without a call
                    17 => {
                        let after = self.here() + 6;
                        self.emit(&[0x68]);
                        self.emit(&after.to_le_bytes());
                        self.emit(&[0xc3]);
                    }
                    _ => self.plain(),
                }
            }
        }
    }

    /// A random program: its functions at `FUNCTIONS`, its main code at `CODE`.
    fn program(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
        let mut g = Generator { rng, code: Vec::new(), base: FUNCTIONS, depth: 0, functions: Vec::new() };
        for _ in 0..6 {
            g.function();
        }
        let functions = std::mem::take(&mut g.code);
        g.base = CODE;
        g.main(300);
        (g.code, functions)
    }

    fn machine(code: &[u8], functions: &[u8], seed: u64) -> Machine {
        let mut m = Machine::new();
        m.memory.map(CODE, 0x1_0000, READ);
        m.memory.poke(CODE, code);
        m.memory.poke(FUNCTIONS, functions);
        m.memory.map(DATA, 0x1000, READ | WRITE);
        m.memory.map(STACK_TOP - 0x1_0000, 0x1_0000, READ | WRITE);
        let mut rng = Rng::new(seed);
        let data: Vec<u8> = (0..0x1000).map(|_| rng.next() as u8).collect();
        m.memory.poke(DATA, &data);
        for r in 0..8 {
            m.regs[r] = rng.next() as u32;
        }
        (m.regs[4], m.regs[5], m.regs[6]) = (STACK_TOP, DATA, 3);
        m.eip = CODE;
        m
    }

    /// The two runs agree on everything: registers, EIP, steps, flags,
    /// calls, the data page and the top of the stack.
    fn agree(fast: &Machine, plain: &Machine, run: &str) {
        let state = |m: &Machine| (m.regs, m.eip, m.steps, m.flags.eflags(), m.frames.clone());
        assert_eq!(state(fast), state(plain), "{run}");
        for start in [DATA, STACK_TOP - 0x1000] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            assert!(fast.memory.read_bytes(start, 0x1000, &mut a) && plain.memory.read_bytes(start, 0x1000, &mut b));
            let first = a.iter().zip(&b).position(|(x, y)| x != y);
            assert_eq!(first, None, "{run}: memory differs at {:#x}", start + first.unwrap_or(0) as u32);
        }
    }

    #[test]
    fn the_fast_loop_does_what_the_plain_steps_do() {
        let mut rng = Rng::new(7);
        let mut steps = 0;
        for seed in 0..300 {
            let (code, functions) = program(&mut rng);
            let mut plain = machine(&code, &functions, seed);
            let plain_stop = plain.run(&mut NoKernel, 100_000);
            let mut fast = machine(&code, &functions, seed);
            let fast_stop = run(&mut fast, &mut NoKernel, 100_000);
            assert_eq!(fast_stop, plain_stop, "seed {seed}");
            agree(&fast, &plain, &format!("seed {seed}"));
            steps += plain.steps;
            // Stopped by the budget, anywhere.
            let max = rng.below(plain.steps as usize + 1) as u64;
            let mut plain = machine(&code, &functions, seed);
            let plain_stop = plain.run(&mut NoKernel, max);
            let mut fast = machine(&code, &functions, seed);
            let fast_stop = run(&mut fast, &mut NoKernel, max);
            assert_eq!(fast_stop, plain_stop, "seed {seed}, at most {max} steps");
            agree(&fast, &plain, &format!("seed {seed}, at most {max} steps"));
        }
        assert!(steps > 300 * 200, "the programs run long enough: {steps} steps");
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
            m.memory.map(CODE, 0x1000, READ | WRITE);
            m.memory.poke(CODE, &code);
            m.eip = CODE;
            let stop = run(&mut m, &mut NoKernel, 100);
            assert_eq!(stop, Stop::Fault(crate::emulator::Fault::Illegal { addr: CODE + code.len() as u32, len: 1 }));
            assert_eq!(m.regs[0], 1, "inc, inc, then dec (ModR/M {modrm:#x})");
        }
    }

    /// A jump that ends on the next page, whose bytes there (and nothing
    /// else) are rewritten after it ran: it runs the new bytes, in both
    /// loops, although that page was written before (and so is in the
    /// memory's fast paths).
    #[test]
    fn an_instruction_across_pages_rewritten_on_the_second_runs_new() {
        let mut code = vec![0; 0x1000];
        // mov ebp, CODE+0x1800; mov [ebp], 0; jmp CODE+0xffe
        code[..17].copy_from_slice(&[0xbd, 0, 0x18, 0, 0x09, 0xc7, 0x45, 0, 0, 0, 0, 0, 0xe9, 0xed, 0x0f, 0, 0]);
        // at 0x100: inc eax; mov ebp, CODE+0x1000; mov byte [ebp], 0xf1; jmp CODE+0xffe
        let rel: u32 = 0xffe - 0x10f;
        code[0x100..0x10f].copy_from_slice(&[0x40, 0xbd, 0, 0x10, 0, 0x09, 0xc6, 0x45, 0, 0xf1, 0xe9, 0, 0, 0, 0]);
        code[0x10b..0x10f].copy_from_slice(&rel.to_le_bytes());
        // at 0x200: add eax, 0x10
        code[0x200..0x205].copy_from_slice(&[0x05, 0x10, 0, 0, 0]);
        // at 0xffe: jmp CODE+0x100 (rel32 fd f0 ff ff, three of its bytes
        // on the next page); the byte at 0x1000 rewritten to f1 makes it
        // jmp CODE+0x200
        code[0xffe..].copy_from_slice(&[0xe9, 0xfd]);
        for fast in [true, false] {
            let mut m = Machine::new();
            m.memory.map(CODE, 0x2000, READ | WRITE);
            m.memory.poke(CODE, &code);
            m.memory.poke(CODE + 0x1000, &[0xf0, 0xff, 0xff]);
            m.eip = CODE;
            let stop = if fast { run(&mut m, &mut NoKernel, 100) } else { m.run(&mut NoKernel, 100) };
            assert_eq!((stop, m.regs[0]), (Stop::Fault(Fault::Illegal { addr: CODE + 0x205, len: 1 }), 0x11), "fast {fast}");
        }
    }

    /// A write that rewrites the instruction right after it, in the same
    /// block: the new instruction runs. Written by a byte store, a push
    /// (with the stack on the code's page) and a call (which pushes its
    /// return address over the instruction it calls).
    #[test]
    fn a_write_to_the_next_instruction_runs_it_new() {
        // mov ebp, CODE; mov byte [ebp+9], 0x48; inc eax (at 9: becomes dec eax)
        let store = vec![0xbd, 0, 0, 0, 0x09, 0xc6, 0x45, 9, 0x48, 0x40];
        // mov esp, CODE+14; push 0x48484848 (over 10..14: four dec eax); inc eax x4
        let push = vec![0xbc, 14, 0, 0, 0x09, 0x68, 0x48, 0x48, 0x48, 0x48, 0x40, 0x40, 0x40, 0x40];
        // mov esp, CODE+14; call CODE+10 (pushing 0a 00 00 09 over 10..14, no instruction)
        let call = vec![0xbc, 14, 0, 0, 0x09, 0xe8, 0, 0, 0, 0, 0x40, 0x40, 0x40, 0x40];
        for (code, eax, at) in [(store, 0xffff_ffff, 10), (push, 0xffff_fffc, 14), (call, 0, 10)] {
            let mut m = Machine::new();
            m.memory.map(CODE, 0x1000, READ | WRITE);
            m.memory.poke(CODE, &code);
            m.eip = CODE;
            let stop = run(&mut m, &mut NoKernel, 100);
            assert_eq!((stop, m.regs[0]), (Stop::Fault(Fault::Illegal { addr: CODE + at, len: 1 }), eax), "{code:x?}");
        }
    }
}

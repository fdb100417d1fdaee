//! Decoding one instruction from memory, by the opcode table
//! ([`crate::opcodes`]), into an [`Inst`]: its action with the subop
//! resolved, its operands, its length. Each address is decoded once and
//! kept in a [`Cache`] until the page it sits on is written.
//!
//! ```
//! use subx::emulator::decode::{decode, Inst, Rm};
//! use subx::opcodes::{Action, Arith, Loc};
//! // 81 0/subop/add 1/mod/*+disp8 4/rm32/sib 5/base/ebp 1/index/ecx 2/scale 8/disp8 0x2a/imm32
//! let bytes = [0x81, 0x44, 0x8d, 0x08, 0x2a, 0, 0, 0];
//! let inst = decode(|a| bytes.get(a as usize).copied(), 0).unwrap();
//! assert_eq!(inst.action, Action::Arith(Arith::Add, Loc::Rm, Loc::Imm));
//! assert_eq!(inst.rm, Rm::Mem { base: 5, index: 1, scale: 2, disp: 8 });
//! assert_eq!((inst.imm, inst.len), (0x2a, 8));
//! ```

use super::fault::Fault;
use super::memory::{Memory, PAGE_SIZE};
use crate::opcodes::{self, Action, RegField, Tail};

/// No register: `base` or `index` of an address that has none.
pub const NO_REG: u8 = 8;

/// The register or memory operand of a ModR/M byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    /// The register with this number (mod 3).
    Reg(u8),
    /// The address `base + (index << scale) + disp`; [`NO_REG`] for a
    /// missing base or index.
    Mem { base: u8, index: u8, scale: u8, disp: u32 },
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inst {
    /// What it does; never [`Action::Subops`] (the subop is resolved).
    pub action: Action,
    /// Its length in bytes; 0 in an empty cache slot.
    pub len: u8,
    /// The reg field of its ModR/M byte (the `r32` register), or 0.
    pub r32: u8,
    /// Its ModR/M operand (`Rm::Reg(0)` without a ModR/M byte).
    pub rm: Rm,
    /// Its immediate or displacement (disp8 sign-extended, imm8 not).
    pub imm: u32,
    /// A shift whose count is CL (`d3`) rather than the imm8 (`c1`).
    pub by_cl: bool,
}

const EMPTY: Inst = Inst { action: Action::Halt, len: 0, r32: 0, rm: Rm::Reg(0), imm: 0, by_cl: false };

/// Decode the instruction at `at`; `byte` gives the byte at an address, or
/// `None` where memory cannot be read. Fails for bytes the table does not
/// know (with the bytes read so far) or unreadable memory.
pub fn decode(byte: impl Fn(u32) -> Option<u8>, at: u32) -> Result<Inst, Fault> {
    let mut len = 0u32;
    let mut read = |len: &mut u32| {
        let a = at.wrapping_add(*len);
        *len += 1;
        byte(a).ok_or(Fault::Fetch { addr: a })
    };
    let first = read(&mut len)?;
    let opcode = if first == opcodes::TWO_BYTE_PREFIX {
        let second = read(&mut len)?;
        opcodes::two_byte(second).ok_or(Fault::Illegal { addr: at, len: 2 })?
    } else {
        opcodes::one_byte(first).ok_or(Fault::Illegal { addr: at, len: 1 })?
    };
    let mut inst = Inst { action: opcode.action, len: 0, r32: 0, rm: Rm::Reg(0), imm: 0, by_cl: false };
    let mut imm32 = false;
    if opcode.reg != RegField::None {
        let modrm = read(&mut len)?;
        let (mode, reg, rm) = (modrm >> 6, modrm >> 3 & 7, modrm & 7);
        inst.r32 = reg;
        inst.rm = if mode == 3 {
            Rm::Reg(rm)
        } else {
            let (mut base, mut index, mut scale) = (rm, NO_REG, 0);
            if rm == 4 {
                let sib = read(&mut len)?;
                (scale, index, base) = (sib >> 6, sib >> 3 & 7, sib & 7);
                if index == 4 {
                    index = NO_REG;
                }
            }
            // rm32 5 (or SIB base 5) with mod 0: no base, a disp32.
            let no_base = mode == 0 && base == 5;
            if no_base {
                base = NO_REG;
            }
            let disp = match mode {
                1 => read(&mut len)? as i8 as u32,
                2 => read_u32(&mut read, &mut len)?,
                _ if no_base => read_u32(&mut read, &mut len)?,
                _ => 0,
            };
            Rm::Mem { base, index, scale, disp }
        };
        if let Action::Subops(_) = opcode.action {
            let subop = opcode.subop(reg).ok_or(Fault::Illegal { addr: at, len: len as u8 })?;
            inst.action = subop.action;
            imm32 = subop.imm32;
        }
        // Instructions that need memory, given a register.
        let needs_memory = matches!(inst.action, Action::CopyAddress);
        if needs_memory && mode == 3 {
            return Err(Fault::Illegal { addr: at, len: len as u8 });
        }
    }
    inst.imm = match opcode.tail {
        Tail::None => 0,
        Tail::Imm8 => u32::from(read(&mut len)?),
        Tail::Disp8 => read(&mut len)? as i8 as u32,
        Tail::Imm32 | Tail::Disp32 => read_u32(&mut read, &mut len)?,
    };
    if imm32 {
        inst.imm = read_u32(&mut read, &mut len)?;
    }
    inst.by_cl = matches!(inst.action, Action::Shift(_)) && opcode.tail == Tail::None;
    inst.len = len as u8;
    Ok(inst)
}

fn read_u32(read: &mut impl FnMut(&mut u32) -> Result<u8, Fault>, len: &mut u32) -> Result<u32, Fault> {
    let mut bytes = [0u8; 4];
    for b in &mut bytes {
        *b = read(len)?;
    }
    Ok(u32::from_le_bytes(bytes))
}

/// The decoded instructions of the pages executed so far, one slot per
/// address. A page's slots are emptied when [`Memory`] says the page was
/// written since (its [`super::memory::DECODED`] bit is clear).
pub struct Cache {
    /// For each page number, 1 + its position in `insts`, or 0.
    index: Vec<u32>,
    insts: Vec<Box<[Inst]>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new()
    }
}

impl Cache {
    pub fn new() -> Cache {
        Cache { index: vec![0; 1 << 20], insts: Vec::new() }
    }

    /// The instruction at `eip`, decoded now or earlier.
    #[inline]
    pub fn get(&mut self, memory: &mut Memory, eip: u32) -> Result<Inst, Fault> {
        let slot = self.index[(eip >> 12) as usize];
        if slot != 0 && memory.is_decoded(eip) {
            let inst = &self.insts[slot as usize - 1][(eip & (PAGE_SIZE - 1)) as usize];
            if inst.len != 0 {
                return Ok(*inst);
            }
        }
        self.decode_into(memory, eip)
    }

    #[inline(never)]
    fn decode_into(&mut self, memory: &mut Memory, eip: u32) -> Result<Inst, Fault> {
        let inst = decode(|a| memory.peek(a), eip)?;
        let slot = self.claim(memory, eip);
        // An instruction may end on the next page: writing that page must
        // forget it too.
        self.claim(memory, eip.wrapping_add(u32::from(inst.len) - 1));
        self.insts[slot][(eip & (PAGE_SIZE - 1)) as usize] = inst;
        Ok(inst)
    }

    /// The slots of the page holding `addr`, made valid for memory as it
    /// is now (emptied if the page was written since), and memory told
    /// that instructions of that page are cached.
    fn claim(&mut self, memory: &mut Memory, addr: u32) -> usize {
        let page = (addr >> 12) as usize;
        if self.index[page] == 0 {
            self.insts.push(vec![EMPTY; PAGE_SIZE as usize].into_boxed_slice());
            self.index[page] = self.insts.len() as u32;
        } else if !memory.is_decoded(addr) {
            self.insts[self.index[page] as usize - 1].fill(EMPTY);
        }
        memory.set_decoded(addr);
        self.index[page] as usize - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcodes::{Arith, Condition, Loc, Shift};

    fn dec(bytes: &[u8]) -> Result<Inst, Fault> {
        decode(|a| bytes.get(a as usize).copied(), 0)
    }

    #[test]
    fn modrm_forms() {
        // 8b/copy 0/mod/indirect 5/rm32/.disp32 0x0a000000/disp32 1/r32/ecx
        let i = dec(&[0x8b, 0x0d, 0, 0, 0, 0x0a]).unwrap();
        assert_eq!((i.r32, i.rm, i.len), (1, Rm::Mem { base: NO_REG, index: NO_REG, scale: 0, disp: 0x0a000000 }, 6));
        // SIB with base 5 and mod 0: no base, a disp32; index 4: none.
        let i = dec(&[0x8b, 0x04, 0xe5, 4, 0, 0, 0]).unwrap();
        assert_eq!(i.rm, Rm::Mem { base: NO_REG, index: NO_REG, scale: 3, disp: 4 });
        // mod 1, rm 5: [ebp + disp8], the disp8 sign-extended.
        let i = dec(&[0x89, 0x45, 0xf8]).unwrap();
        assert_eq!(i.rm, Rm::Mem { base: 5, index: NO_REG, scale: 0, disp: 0xffff_fff8 });
        let i = dec(&[0x01, 0xd8]).unwrap();
        assert_eq!((i.action, i.r32, i.rm, i.len), (Action::Arith(Arith::Add, Loc::Rm, Loc::R32), 3, Rm::Reg(0), 2));
    }

    #[test]
    fn subops_and_tails() {
        assert_eq!(dec(&[0xc1, 0xe0, 3]).unwrap().action, Action::Shift(Shift::Left));
        assert!(!dec(&[0xc1, 0xe0, 3]).unwrap().by_cl && dec(&[0xd3, 0xe0]).unwrap().by_cl);
        let test = dec(&[0xf7, 0xc0, 1, 0, 0, 0]).unwrap();
        assert_eq!((test.action, test.imm, test.len), (Action::Arith(Arith::Test, Loc::Rm, Loc::Imm), 1, 6));
        let jump = dec(&[0x0f, 0x8c, 0xfe, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!((jump.action, jump.imm, jump.len), (Action::Jump(Condition::Less), 0xffff_fffe, 6));
        assert_eq!(dec(&[0x75, 0x80]).unwrap().imm, 0xffff_ff80);
        assert_eq!(dec(&[0xcd, 0x80]).unwrap().imm, 0x80);
    }

    #[test]
    fn what_is_no_instruction() {
        assert_eq!(dec(&[0x90]), Err(Fault::Illegal { addr: 0, len: 1 }));
        assert_eq!(dec(&[0x0f, 0x05]), Err(Fault::Illegal { addr: 0, len: 2 }));
        assert_eq!(dec(&[0xff, 0xd8]), Err(Fault::Illegal { addr: 0, len: 2 }), "ff /3: far call");
        assert_eq!(dec(&[0x8d, 0xc0]), Err(Fault::Illegal { addr: 0, len: 2 }), "lea of a register");
        assert_eq!(dec(&[0xb8, 1, 2]), Err(Fault::Fetch { addr: 3 }));
    }
}

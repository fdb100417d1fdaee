//! The four flags SubX programs use, CF ZF SF OF, computed when read.
//!
//! Most instructions that set flags (add, sub, compare, and, inc ...) are
//! followed by others that overwrite them unread, so an instruction only
//! records what it computed ([`Flags::set`]), with CF, which takes one
//! comparison; a conditional jump or an `adc` asks for the flags it needs,
//! and the others are worked out then.
//!
//! ```
//! use subx::emulator::flags::{Flags, Kind};
//! use subx::opcodes::Condition;
//! let mut flags = Flags::default();
//! flags.set(Kind::Sub, 1, 2, 1u32.wrapping_sub(2)); // compare 1 with 2
//! assert!(flags.cf() && !flags.zf() && flags.sf() && !flags.of());
//! assert!(flags.holds(Condition::Less) && flags.holds(Condition::Below));
//! ```
//!
//! Intel's manual (volume 2, each instruction's "Flags Affected") defines
//! the rules; `docs/run.md` lists the flags it leaves undefined and what we
//! set them to.

use crate::opcodes::Condition;

/// What the last flag-setting instruction did, which decides how its flags
/// follow from its operands `a`, `b` and result `r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `r = a + b`.
    Add,
    /// `r = a - b`.
    Sub,
    /// `r = a AND/OR/XOR b`: CF and OF cleared.
    Logic,
    /// `r = a + 1`, CF kept as it was (in `cf`).
    Inc,
    /// `r = a - 1`, CF kept as it was.
    Dec,
    /// The four flags are stored as they are.
    Known,
}

/// Two `Flags` are equal when the four flags are, however they are kept.
#[derive(Clone, Copy, Debug)]
pub struct Flags {
    kind: Kind,
    a: u32,
    b: u32,
    r: u32,
    /// CF.
    carry: bool,
    /// ZF SF OF for `Known` (left as they were for the other kinds).
    zero: bool,
    sign: bool,
    overflow: bool,
}

impl PartialEq for Flags {
    fn eq(&self, other: &Flags) -> bool {
        self.eflags() == other.eflags()
    }
}

impl Eq for Flags {}

impl Default for Flags {
    /// All four clear, as at a program's start.
    fn default() -> Flags {
        Flags::known(false, false, false, false)
    }
}

impl Flags {
    /// The flags given outright.
    pub fn known(cf: bool, zf: bool, sf: bool, of: bool) -> Flags {
        Flags { kind: Kind::Known, a: 0, b: 0, r: 0, carry: cf, zero: zf, sign: sf, overflow: of }
    }

    /// Record an instruction's operands and result, to compute its flags
    /// from when they are read. (CF, one comparison, is worked out now: an
    /// `inc` or `dec` after it keeps it without asking how.)
    #[inline(always)]
    pub fn set(&mut self, kind: Kind, a: u32, b: u32, r: u32) {
        let carry = match kind {
            Kind::Add => r < a,
            Kind::Sub => a < b,
            Kind::Logic | Kind::Known => false,
            Kind::Inc | Kind::Dec => self.carry,
        };
        (self.kind, self.a, self.b, self.r, self.carry) = (kind, a, b, r, carry);
    }

    #[inline]
    pub fn cf(&self) -> bool {
        self.carry
    }

    #[inline]
    pub fn zf(&self) -> bool {
        match self.kind {
            Kind::Known => self.zero,
            _ => self.r == 0,
        }
    }

    #[inline]
    pub fn sf(&self) -> bool {
        match self.kind {
            Kind::Known => self.sign,
            _ => self.r >> 31 != 0,
        }
    }

    #[inline]
    pub fn of(&self) -> bool {
        let (a, b, r) = (self.a, self.b, self.r);
        match self.kind {
            Kind::Add | Kind::Inc => add_overflows(a, b, r),
            Kind::Sub | Kind::Dec => sub_overflows(a, b, r),
            Kind::Logic => false,
            Kind::Known => self.overflow,
        }
    }

    /// Does the jump condition hold?
    #[inline(always)]
    pub fn holds(&self, condition: Condition) -> bool {
        use Condition as C;
        if self.kind == Kind::Sub {
            // The usual case, a compare and a jump, without computing flags.
            let (a, b) = (self.a, self.b);
            let (sa, sb) = (a as i32, b as i32);
            return match condition {
                C::Always => true,
                C::Below => a < b,
                C::AboveOrEqual => a >= b,
                C::Equal => a == b,
                C::NotEqual => a != b,
                C::BelowOrEqual => a <= b,
                C::Above => a > b,
                C::Less => sa < sb,
                C::GreaterOrEqual => sa >= sb,
                C::LessOrEqual => sa <= sb,
                C::Greater => sa > sb,
            };
        }
        match condition {
            C::Always => true,
            C::Below => self.cf(),
            C::AboveOrEqual => !self.cf(),
            C::Equal => self.zf(),
            C::NotEqual => !self.zf(),
            C::BelowOrEqual => self.cf() || self.zf(),
            C::Above => !self.cf() && !self.zf(),
            C::Less => self.sf() != self.of(),
            C::GreaterOrEqual => self.sf() == self.of(),
            C::LessOrEqual => self.zf() || self.sf() != self.of(),
            C::Greater => !self.zf() && self.sf() == self.of(),
        }
    }

    /// The flags as EFLAGS holds them: CF bit 0, ZF bit 6, SF bit 7, OF bit 11.
    pub fn eflags(&self) -> u32 {
        u32::from(self.cf()) | u32::from(self.zf()) << 6 | u32::from(self.sf()) << 7 | u32::from(self.of()) << 11
    }

    /// The flags from an EFLAGS value (other bits ignored).
    pub fn from_eflags(eflags: u32) -> Flags {
        Flags::known(eflags & 1 != 0, eflags >> 6 & 1 != 0, eflags >> 7 & 1 != 0, eflags >> 11 & 1 != 0)
    }

    /// ZF and SF of a result, with CF and OF given.
    pub fn of_result(r: u32, cf: bool, of: bool) -> Flags {
        Flags::known(cf, r == 0, r >> 31 != 0, of)
    }
}

/// OF of `r = a + b` (plus a carry, for `adc`): the operands have the
/// same sign and the result the other.
#[inline(always)]
pub fn add_overflows(a: u32, b: u32, r: u32) -> bool {
    ((a ^ r) & (b ^ r)) >> 31 != 0
}

/// OF of `r = a - b` (minus a borrow, for `sbb`): the operands have
/// different signs and the result has b's.
#[inline(always)]
pub fn sub_overflows(a: u32, b: u32, r: u32) -> bool {
    ((a ^ b) & (a ^ r)) >> 31 != 0
}

/// The EFLAGS bits of CF ZF SF OF.
pub const MASK: u32 = 1 | 1 << 6 | 1 << 7 | 1 << 11;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcodes::Condition as C;

    /// The flags after `kind`, from first principles on wide integers.
    fn slow(kind: Kind, a: u32, b: u32) -> (bool, bool, bool, bool) {
        let (r, cf, of) = match kind {
            Kind::Add => {
                let r = a.wrapping_add(b);
                (r, u64::from(a) + u64::from(b) > 0xffff_ffff, i64::from(a as i32) + i64::from(b as i32) != i64::from(r as i32))
            }
            Kind::Sub => {
                let r = a.wrapping_sub(b);
                (r, a < b, i64::from(a as i32) - i64::from(b as i32) != i64::from(r as i32))
            }
            _ => unreachable!(),
        };
        (cf, r == 0, (r as i32) < 0, of)
    }

    const EDGES: [u32; 7] = [0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_ffff];

    #[test]
    fn add_and_sub_flags_match_wide_arithmetic() {
        for kind in [Kind::Add, Kind::Sub] {
            for a in EDGES {
                for b in EDGES {
                    let mut f = Flags::default();
                    let r = if kind == Kind::Add { a.wrapping_add(b) } else { a.wrapping_sub(b) };
                    f.set(kind, a, b, r);
                    assert_eq!((f.cf(), f.zf(), f.sf(), f.of()), slow(kind, a, b), "{kind:?} {a:#x} {b:#x}");
                }
            }
        }
    }

    #[test]
    fn compare_shortcut_agrees_with_the_flags() {
        let conditions = [
            C::Always, C::Below, C::AboveOrEqual, C::Equal, C::NotEqual, C::BelowOrEqual, C::Above, C::Less,
            C::GreaterOrEqual, C::LessOrEqual, C::Greater,
        ];
        for a in EDGES {
            for b in EDGES {
                let mut f = Flags::default();
                f.set(Kind::Sub, a, b, a.wrapping_sub(b));
                let (cf, zf, sf, of) = (f.cf(), f.zf(), f.sf(), f.of());
                let known = Flags::known(cf, zf, sf, of);
                for c in conditions {
                    assert_eq!(f.holds(c), known.holds(c), "{c:?} after compare {a:#x} {b:#x}");
                }
            }
        }
    }

    #[test]
    fn inc_and_dec_keep_the_carry() {
        let mut f = Flags::default();
        f.set(Kind::Sub, 0, 1, 0xffff_ffff);
        f.set(Kind::Inc, 0x7fff_ffff, 1, 0x8000_0000);
        assert!(f.cf() && f.of() && f.sf() && !f.zf());
        f.set(Kind::Logic, 0, 0, 0);
        f.set(Kind::Dec, 0x8000_0000, 1, 0x7fff_ffff);
        assert!(!f.cf() && f.of() && !f.sf());
    }

    #[test]
    fn eflags_round_trip() {
        let f = Flags::known(true, false, true, true);
        assert_eq!(f.eflags(), 0x881);
        assert_eq!(Flags::from_eflags(0x202 | 0x881), f);
    }
}

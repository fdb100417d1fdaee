//! The opcode table: every supported opcode, its bytes, its name and the
//! operands it requires and permits (`language.md` sections 3 and 10).
//!
//! This table is the one place an opcode is described: `pack` encodes from
//! it, checks instructions against it, decodes raw-hex lines with it, and
//! lists it in `pack --help`.
//!
//! ```
//! use subx::opcodes::{lookup, Operand, RegField, Tail};
//! let mov = lookup(&[0xbb]).unwrap();
//! assert_eq!(mov.name, "copy imm32 to EBX");
//! assert_eq!((mov.reg, mov.tail), (RegField::None, Tail::Imm32));
//! assert!(mov.requires(Operand::Imm32) && !mov.permits(Operand::Mod));
//! let imul = lookup(&[0x0f, 0xaf]).unwrap();
//! assert_eq!(imul.reg, RegField::R32);
//! assert!(lookup(&[0x06]).is_none());
//! ```
//!
//! An opcode either has a ModR/M byte or not ([`RegField`]); when it has
//! one, its reg field holds an optional register (`r32`) or a required
//! `subop`. After the ModR/M byte and its SIB byte and displacement (whose
//! presence `mod` and `rm32` decide, `language.md` 10.1) comes the opcode's
//! own displacement or immediate, if any ([`Tail`]).

/// An operand type: a metadata item that says what a word of an
/// instruction is (`language.md` section 3). `disp16` and `imm16` are
/// recognised only to be refused: no supported instruction takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Mod,
    Subop,
    R32,
    Rm32,
    Base,
    Index,
    Scale,
    Disp8,
    Disp16,
    Disp32,
    Imm8,
    Imm16,
    Imm32,
}

impl Operand {
    /// Every operand type, in the order of [`Operand::index`].
    pub const ALL: [Operand; 13] = [
        Operand::Mod,
        Operand::Subop,
        Operand::R32,
        Operand::Rm32,
        Operand::Base,
        Operand::Index,
        Operand::Scale,
        Operand::Disp8,
        Operand::Disp16,
        Operand::Disp32,
        Operand::Imm8,
        Operand::Imm16,
        Operand::Imm32,
    ];

    /// The metadata name, as written after the `/`.
    pub fn name(self) -> &'static str {
        match self {
            Operand::Mod => "mod",
            Operand::Subop => "subop",
            Operand::R32 => "r32",
            Operand::Rm32 => "rm32",
            Operand::Base => "base",
            Operand::Index => "index",
            Operand::Scale => "scale",
            Operand::Disp8 => "disp8",
            Operand::Disp16 => "disp16",
            Operand::Disp32 => "disp32",
            Operand::Imm8 => "imm8",
            Operand::Imm16 => "imm16",
            Operand::Imm32 => "imm32",
        }
    }

    /// A small number, unique per type, for tables indexed by operand type.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// This type's bit in a set of operand types ([`Opcode::permitted`]).
    pub const fn bit(self) -> u16 {
        1 << self.index()
    }

    /// The operand type a metadata item names, if it names one (exact,
    /// case-sensitive match).
    pub fn from_metadata(item: &[u8]) -> Option<Operand> {
        Some(match item {
            b"mod" => Operand::Mod,
            b"subop" => Operand::Subop,
            b"r32" => Operand::R32,
            b"rm32" => Operand::Rm32,
            b"base" => Operand::Base,
            b"index" => Operand::Index,
            b"scale" => Operand::Scale,
            b"disp8" => Operand::Disp8,
            b"disp16" => Operand::Disp16,
            b"disp32" => Operand::Disp32,
            b"imm8" => Operand::Imm8,
            b"imm16" => Operand::Imm16,
            b"imm32" => Operand::Imm32,
            _ => return None,
        })
    }

    /// For the fields of the ModR/M and SIB bytes, the largest value the
    /// field holds (they are never negative); `None` for the others.
    pub fn field_max(self) -> Option<i64> {
        match self {
            Operand::Mod | Operand::Scale => Some(3),
            Operand::Subop | Operand::R32 | Operand::Rm32 | Operand::Base | Operand::Index => Some(7),
            _ => None,
        }
    }

    /// The bytes a numeric value of this type occupies, and the range it
    /// must lie in (`language.md` section 11), for displacements and
    /// immediates.
    pub fn width_and_range(self) -> Option<(usize, i64, i64)> {
        match self {
            Operand::Disp8 => Some((1, -0x80, 0x7f)),
            Operand::Imm8 => Some((1, -0x80, 0xff)),
            Operand::Disp32 | Operand::Imm32 => Some((4, -0x8000_0000, 0xffff_ffff)),
            _ => None,
        }
    }

    /// The bytes a displacement or immediate of this type occupies (`None`
    /// for the ModR/M and SIB fields, which share bytes).
    pub fn width(self) -> Option<usize> {
        match self {
            Operand::Disp8 | Operand::Imm8 => Some(1),
            Operand::Disp16 | Operand::Imm16 => Some(2),
            Operand::Disp32 | Operand::Imm32 => Some(4),
            _ => None,
        }
    }
}

/// How an opcode uses the reg field of its ModR/M byte, or whether it has
/// a ModR/M byte at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegField {
    /// No ModR/M byte: `mod`, `rm32`, `r32`, `subop` and the SIB operands
    /// are not allowed.
    None,
    /// ModR/M byte with a register operand: `r32` optional (0 if absent),
    /// `subop` not allowed.
    R32,
    /// ModR/M byte whose reg field selects the operation: `subop` required,
    /// `r32` not allowed (81, 8f, ff).
    Subop,
    /// As `Subop`, but an `r32` equal to the `subop` is tolerated, as the
    /// reference's standard library writes one such instruction (c1, c6,
    /// c7, d3, f7; CONTRACT rule 4).
    SubopOrEqualR32,
}

/// The displacement or immediate an opcode itself takes, after any ModR/M
/// byte, SIB byte and ModR/M displacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    None,
    Disp8,
    Disp32,
    Imm8,
    Imm32,
}

impl Tail {
    /// The operand type the tail is written with, if any.
    pub const fn operand(self) -> Option<Operand> {
        match self {
            Tail::None => None,
            Tail::Disp8 => Some(Operand::Disp8),
            Tail::Disp32 => Some(Operand::Disp32),
            Tail::Imm8 => Some(Operand::Imm8),
            Tail::Imm32 => Some(Operand::Imm32),
        }
    }

    /// How many bytes the tail occupies.
    pub fn len(self) -> usize {
        match self {
            Tail::None => 0,
            Tail::Disp8 | Tail::Imm8 => 1,
            Tail::Disp32 | Tail::Imm32 => 4,
        }
    }

    /// Is there no tail?
    pub fn is_empty(self) -> bool {
        self == Tail::None
    }
}

/// One supported opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opcode {
    /// Its bytes: one, or two for `0f xx`.
    pub bytes: &'static [u8],
    /// What it does, in the words of the C++ translator's opcode list.
    pub name: &'static str,
    /// Whether it has a ModR/M byte, and what its reg field holds.
    pub reg: RegField,
    /// Its own displacement or immediate.
    pub tail: Tail,
    /// What it does, for `subx run`: an [`Action`], or for an opcode whose
    /// reg field is a subop, the list of its [`Subop`]s.
    pub action: Action,
}

impl Opcode {
    /// Does the instruction have a ModR/M byte?
    pub const fn has_modrm(&self) -> bool {
        !matches!(self.reg, RegField::None)
    }

    /// The operand types [`Opcode::requires`], as a set of
    /// [`Operand::bit`]s, for checking a whole instruction at once.
    pub const fn required(&self) -> u16 {
        let mut set = 0;
        if self.has_modrm() {
            set |= Operand::Mod.bit() | Operand::Rm32.bit();
        }
        if matches!(self.reg, RegField::Subop | RegField::SubopOrEqualR32) {
            set |= Operand::Subop.bit();
        }
        if let Some(op) = self.tail.operand() {
            set |= op.bit();
        }
        set
    }

    /// The operand types [`Opcode::permits`], as a set of [`Operand::bit`]s.
    pub const fn permitted(&self) -> u16 {
        let mut set = self.required();
        if self.has_modrm() {
            set |= Operand::Base.bit()
                | Operand::Index.bit()
                | Operand::Scale.bit()
                | Operand::Disp8.bit()
                | Operand::Disp32.bit();
        }
        if matches!(self.reg, RegField::R32 | RegField::SubopOrEqualR32) {
            set |= Operand::R32.bit();
        }
        set
    }

    /// Must an instruction with this opcode give an operand of type `op`,
    /// whatever its other operands? (The ModR/M displacement and the SIB
    /// operands depend on `mod` and `rm32`; see `language.md` 10.1.)
    pub fn requires(&self, op: Operand) -> bool {
        match op {
            Operand::Mod | Operand::Rm32 => self.has_modrm(),
            Operand::Subop => matches!(self.reg, RegField::Subop | RegField::SubopOrEqualR32),
            _ => self.tail.operand() == Some(op),
        }
    }

    /// May an instruction with this opcode give an operand of type `op`,
    /// in some addressing mode?
    pub fn permits(&self, op: Operand) -> bool {
        match op {
            Operand::Mod | Operand::Rm32 | Operand::Base | Operand::Index | Operand::Scale => self.has_modrm(),
            Operand::Subop => self.requires(Operand::Subop),
            Operand::R32 => matches!(self.reg, RegField::R32 | RegField::SubopOrEqualR32),
            Operand::Disp8 | Operand::Disp32 => self.has_modrm() || self.tail.operand() == Some(op),
            Operand::Disp16 | Operand::Imm16 => false,
            Operand::Imm8 | Operand::Imm32 => self.tail.operand() == Some(op),
        }
    }

    /// The opcode as it is written in SubX: `bb`, `0f 84`.
    pub fn spelling(&self) -> String {
        let mut s = String::new();
        for (i, b) in self.bytes.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// The operands, as `--help` lists them: `subop mod rm32 imm32`,
    /// `mod rm32 [r32]` (the SIB and displacement operands that `mod` and
    /// `rm32` call for are left out).
    pub fn operands_summary(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        match self.reg {
            RegField::None => {}
            RegField::R32 => parts.extend(["mod", "rm32", "[r32]"]),
            RegField::Subop | RegField::SubopOrEqualR32 => parts.extend(["subop", "mod", "rm32"]),
        }
        if let Some(op) = self.tail.operand() {
            parts.push(op.name());
        }
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(" ")
        }
    }

    /// Is this a call or jump, whose own displacement counts from the end
    /// of the instruction? Every opcode whose tail is a displacement is one.
    pub fn jump_kind(&self) -> Option<JumpKind> {
        match self.tail {
            Tail::Disp32 => Some(JumpKind::Near),
            Tail::Disp8 => Some(JumpKind::Short),
            _ => None,
        }
    }

    /// Is this the call, which pushes where to return before it jumps?
    /// (The table names it so: `call disp32`.)
    pub fn is_call(&self) -> bool {
        self.name.starts_with("call ")
    }
}

/// The registers, numbered as the `r32`, `rm32`, `base` and `index` fields
/// and the low 3 bits of opcodes such as `40`-`5f` and `b8`-`bf` number them.
pub const EAX: u8 = 0;
pub const ECX: u8 = 1;
pub const EDX: u8 = 2;
pub const EBX: u8 = 3;
pub const ESP: u8 = 4;
pub const EBP: u8 = 5;
pub const ESI: u8 = 6;
pub const EDI: u8 = 7;

/// The registers' names by number, as programs, the sugar (`%ecx`) and
/// `subx run` write them: `REGISTERS[EBX as usize]` is `ebx`.
pub const REGISTERS: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];

/// The 8-bit registers by number, as the `r32` and `rm32` fields of the
/// byte instructions (`88`, `8a`, `c6`; [`Loc::R8`], [`Loc::Rm8`]) number
/// them: the low byte of EAX ECX EDX EBX, then the second byte of each.
pub const BYTE_REGISTERS: [&str; 8] = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];

/// What an instruction does, in terms `subx run` executes: the operation
/// and where its operands are ([`Loc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `to = to OP from`, setting CF ZF SF OF from the result; `Compare`
    /// and `Test` set the flags only.
    Arith(Arith, Loc, Loc),
    /// `to = from`; no flags change.
    Copy(Loc, Loc),
    /// `r32 =` the address `rm32` names (never reads memory).
    CopyAddress,
    /// Swap `r32` and `rm32`.
    Swap,
    /// Add 1; CF is left alone.
    Increment(Loc),
    /// Subtract 1; CF is left alone.
    Decrement(Loc),
    /// ESP -= 4, then `[ESP] =` the operand (read before ESP moves).
    Push(Loc),
    /// The operand `= [ESP]`, then ESP += 4.
    Pop(Loc),
    /// EDX = 0xffffffff if EAX is negative, else 0 (`cdq`).
    SignExtend,
    /// Shift or rotate `rm32` by the opcode's imm8, or by CL when the
    /// opcode has no imm8; only the low 5 bits of the count count.
    Shift(Shift),
    /// `rm32 = !rm32`, every bit flipped; no flags change.
    Not,
    /// `rm32 = 0 - rm32`.
    Negate,
    /// EDX:EAX = EAX times `rm32`, as 64 bits.
    Multiply { signed: bool },
    /// EAX = EDX:EAX divided by `rm32`, EDX = the remainder.
    Divide { signed: bool },
    /// `r32 = r32 * rm32` (signed, low 32 bits kept).
    MultiplyInto,
    /// Jump by the opcode's displacement when the condition holds.
    Jump(Condition),
    /// Jump to the address the operand holds.
    JumpTo(Loc),
    /// Push the address of the next instruction, jump by the displacement.
    Call,
    /// Push the address of the next instruction, jump to the operand.
    CallTo(Loc),
    /// Pop an address and jump to it.
    Return,
    /// Software interrupt: `0x80` is a Linux system call.
    Interrupt,
    /// Stop the processor: not allowed in a program (it faults).
    Halt,
    /// The reg field of the ModR/M byte picks one of these.
    Subops(&'static [Subop]),
}

/// Where an operand of an [`Action`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// This register, fixed by the opcode.
    Reg(u8),
    /// The register the `r32` field names.
    R32,
    /// The register or memory the `mod`/`rm32` fields (and SIB) name.
    Rm,
    /// The 8-bit register the `r32` field names: AL CL DL BL AH CH DH BH.
    R8,
    /// The byte at `rm32`, or with mod 3 the 8-bit register it names.
    Rm8,
    /// The instruction's immediate.
    Imm,
}

/// The arithmetic and logic operations of [`Action::Arith`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Or,
    /// Add with carry: adds CF too.
    Adc,
    /// Subtract with borrow: subtracts CF too.
    Sbb,
    And,
    Sub,
    Xor,
    /// Subtract for the flags only.
    Compare,
    /// AND for the flags only.
    Test,
}

/// The shifts and rotations of [`Action::Shift`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    RotateLeft,
    RotateRight,
    RotateLeftThroughCarry,
    RotateRightThroughCarry,
    Left,
    RightLogical,
    RightArithmetic,
}

/// When a jump is taken, by the flags of the last instruction that set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// CF: lesser, unsigned.
    Below,
    /// not CF.
    AboveOrEqual,
    /// ZF.
    Equal,
    /// not ZF.
    NotEqual,
    /// CF or ZF.
    BelowOrEqual,
    /// neither CF nor ZF.
    Above,
    /// SF != OF: lesser, signed.
    Less,
    /// SF == OF.
    GreaterOrEqual,
    /// ZF, or SF != OF.
    LessOrEqual,
    /// not ZF, and SF == OF.
    Greater,
}

/// One value of the reg field of an opcode that takes a subop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subop {
    /// The value written as `N/subop`.
    pub number: u8,
    /// A short name: `add`, `adc`, `shr`, `idiv`.
    pub name: &'static str,
    /// What it does, in plain words, for `subx help subops`.
    pub does: &'static str,
    pub action: Action,
    /// An immediate this subop takes on top of the opcode's tail (only
    /// `f7`'s `test` has one).
    pub imm32: bool,
}

const fn sub(number: u8, name: &'static str, does: &'static str, action: Action) -> Subop {
    Subop { number, name, does, action, imm32: false }
}

/// `81`: combine rm32 with imm32.
pub const ARITH_SUBOPS: &[Subop] = &[
    sub(0, "add", "rm32 = rm32 + imm32", A::Arith(Arith::Add, L::Rm, L::Imm)),
    sub(1, "or", "rm32 = rm32 OR imm32, bit by bit", A::Arith(Arith::Or, L::Rm, L::Imm)),
    sub(2, "adc", "rm32 = rm32 + imm32 + CF: add with the carry of an earlier addition", A::Arith(Arith::Adc, L::Rm, L::Imm)),
    sub(3, "sbb", "rm32 = rm32 - imm32 - CF: subtract with the borrow of an earlier subtraction", A::Arith(Arith::Sbb, L::Rm, L::Imm)),
    sub(4, "and", "rm32 = rm32 AND imm32, bit by bit", A::Arith(Arith::And, L::Rm, L::Imm)),
    sub(5, "sub", "rm32 = rm32 - imm32", A::Arith(Arith::Sub, L::Rm, L::Imm)),
    sub(6, "xor", "rm32 = rm32 XOR imm32, bit by bit", A::Arith(Arith::Xor, L::Rm, L::Imm)),
    sub(7, "compare", "compute rm32 - imm32 to set the flags for a conditional jump; rm32 is unchanged", A::Arith(Arith::Compare, L::Rm, L::Imm)),
];

/// `8f`: pop.
pub const POP_SUBOPS: &[Subop] = &[sub(0, "pop", "rm32 = the top of the stack, then ESP += 4", A::Pop(L::Rm))];

/// `c1` (by imm8) and `d3` (by CL): shifts and rotations.
pub const SHIFT_SUBOPS: &[Subop] = &[
    sub(0, "rol", "rotate rm32 left: bits shifted out at the top come back in at the bottom", A::Shift(Shift::RotateLeft)),
    sub(1, "ror", "rotate rm32 right: bits shifted out at the bottom come back in at the top", A::Shift(Shift::RotateRight)),
    sub(2, "rcl", "rotate the 33 bits of rm32 and CF left", A::Shift(Shift::RotateLeftThroughCarry)),
    sub(3, "rcr", "rotate the 33 bits of rm32 and CF right", A::Shift(Shift::RotateRightThroughCarry)),
    sub(4, "shl", "shift rm32 left, filling with zeros: multiply by a power of 2", A::Shift(Shift::Left)),
    sub(5, "shr", "shift rm32 right, filling with zeros: divide an unsigned number by a power of 2", A::Shift(Shift::RightLogical)),
    sub(6, "sal", "the same as shl (a second encoding the processor accepts)", A::Shift(Shift::Left)),
    sub(7, "sar", "shift rm32 right, filling with copies of the sign bit: divide a signed number by a power of 2, rounding down", A::Shift(Shift::RightArithmetic)),
];

/// `c6`: copy a byte.
pub const COPY_BYTE_SUBOPS: &[Subop] = &[sub(0, "copy", "the byte at rm32 = imm8", A::Copy(L::Rm8, L::Imm))];

/// `c7`: copy.
pub const COPY_SUBOPS: &[Subop] = &[sub(0, "copy", "rm32 = imm32", A::Copy(L::Rm, L::Imm))];

/// `f7`: operations on one operand, and multiply and divide by rm32.
pub const UNARY_SUBOPS: &[Subop] = &[
    Subop { imm32: true, ..sub(0, "test", "compute rm32 AND imm32 to set the flags; takes an imm32 after the ModR/M operands", A::Arith(Arith::Test, L::Rm, L::Imm)) },
    Subop { imm32: true, ..sub(1, "test", "the same as subop 0 (a second encoding the processor accepts)", A::Arith(Arith::Test, L::Rm, L::Imm)) },
    sub(2, "not", "rm32 = NOT rm32: flip every bit; no flag changes", A::Not),
    sub(3, "neg", "rm32 = 0 - rm32; CF is set unless rm32 was 0", A::Negate),
    sub(4, "mul", "EDX:EAX = EAX * rm32, unsigned, the 64-bit product in two registers; CF and OF say whether EDX is needed", A::Multiply { signed: false }),
    sub(5, "imul", "EDX:EAX = EAX * rm32, signed; CF and OF say whether EDX is more than EAX's sign", A::Multiply { signed: true }),
    sub(6, "div", "divide the unsigned 64-bit EDX:EAX by rm32: EAX = quotient, EDX = remainder; faults on 0 or a quotient over 32 bits (set EDX to 0 first)", A::Divide { signed: false }),
    sub(7, "idiv", "divide the signed 64-bit EDX:EAX by rm32: EAX = quotient rounded toward 0, EDX = remainder with the dividend's sign; faults on 0 or overflow (sign-extend EAX into EDX first, with 99)", A::Divide { signed: true }),
];

/// `ff`: operations on rm32, including calls and jumps through it.
pub const FF_SUBOPS: &[Subop] = &[
    sub(0, "inc", "rm32 = rm32 + 1; CF is left alone", A::Increment(L::Rm)),
    sub(1, "dec", "rm32 = rm32 - 1; CF is left alone", A::Decrement(L::Rm)),
    sub(2, "call", "call the address held in rm32 (push the return address, jump)", A::CallTo(L::Rm)),
    sub(4, "jump", "jump to the address held in rm32", A::JumpTo(L::Rm)),
    sub(6, "push", "push rm32 on the stack: ESP -= 4, then [ESP] = rm32", A::Push(L::Rm)),
];

impl Opcode {
    /// The subop this opcode gives the reg field value `number`, if it
    /// takes subops and the processor defines that one.
    pub fn subop(&self, number: u8) -> Option<&'static Subop> {
        match self.action {
            Action::Subops(list) => list.iter().find(|s| s.number == number),
            _ => None,
        }
    }
}

const fn op(bytes: &'static [u8], name: &'static str, reg: RegField, tail: Tail, action: Action) -> Opcode {
    Opcode { bytes, name, reg, tail, action }
}

use Action as A;
use Loc as L;
use RegField as R;

/// Every supported opcode, in the order `--help` lists them.
pub const OPCODES: &[Opcode] = &[
    op(&[0x01], "add r32 to rm32", R::R32, Tail::None, A::Arith(Arith::Add, L::Rm, L::R32)),
    op(&[0x03], "add rm32 to r32", R::R32, Tail::None, A::Arith(Arith::Add, L::R32, L::Rm)),
    op(&[0x05], "add imm32 to EAX", R::None, Tail::Imm32, A::Arith(Arith::Add, L::Reg(EAX), L::Imm)),
    op(&[0x09], "rm32 = bitwise OR of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::Or, L::Rm, L::R32)),
    op(&[0x0b], "r32 = bitwise OR of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::Or, L::R32, L::Rm)),
    op(&[0x0d], "EAX = bitwise OR of imm32 with EAX", R::None, Tail::Imm32, A::Arith(Arith::Or, L::Reg(EAX), L::Imm)),
    op(&[0x21], "rm32 = bitwise AND of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::And, L::Rm, L::R32)),
    op(&[0x23], "r32 = bitwise AND of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::And, L::R32, L::Rm)),
    op(&[0x25], "EAX = bitwise AND of imm32 with EAX", R::None, Tail::Imm32, A::Arith(Arith::And, L::Reg(EAX), L::Imm)),
    op(&[0x29], "subtract r32 from rm32", R::R32, Tail::None, A::Arith(Arith::Sub, L::Rm, L::R32)),
    op(&[0x2b], "subtract rm32 from r32", R::R32, Tail::None, A::Arith(Arith::Sub, L::R32, L::Rm)),
    op(&[0x2d], "subtract imm32 from EAX", R::None, Tail::Imm32, A::Arith(Arith::Sub, L::Reg(EAX), L::Imm)),
    op(&[0x31], "rm32 = bitwise XOR of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::Xor, L::Rm, L::R32)),
    op(&[0x33], "r32 = bitwise XOR of r32 with rm32", R::R32, Tail::None, A::Arith(Arith::Xor, L::R32, L::Rm)),
    op(&[0x35], "EAX = bitwise XOR of imm32 with EAX", R::None, Tail::Imm32, A::Arith(Arith::Xor, L::Reg(EAX), L::Imm)),
    op(&[0x39], "compare: set SF if rm32 < r32", R::R32, Tail::None, A::Arith(Arith::Compare, L::Rm, L::R32)),
    op(&[0x3b], "compare: set SF if r32 < rm32", R::R32, Tail::None, A::Arith(Arith::Compare, L::R32, L::Rm)),
    op(&[0x3d], "compare: set SF if EAX < imm32", R::None, Tail::Imm32, A::Arith(Arith::Compare, L::Reg(EAX), L::Imm)),
    op(&[0x40], "increment EAX", R::None, Tail::None, A::Increment(L::Reg(EAX))),
    op(&[0x41], "increment ECX", R::None, Tail::None, A::Increment(L::Reg(ECX))),
    op(&[0x42], "increment EDX", R::None, Tail::None, A::Increment(L::Reg(EDX))),
    op(&[0x43], "increment EBX", R::None, Tail::None, A::Increment(L::Reg(EBX))),
    op(&[0x44], "increment ESP", R::None, Tail::None, A::Increment(L::Reg(ESP))),
    op(&[0x45], "increment EBP", R::None, Tail::None, A::Increment(L::Reg(EBP))),
    op(&[0x46], "increment ESI", R::None, Tail::None, A::Increment(L::Reg(ESI))),
    op(&[0x47], "increment EDI", R::None, Tail::None, A::Increment(L::Reg(EDI))),
    op(&[0x48], "decrement EAX", R::None, Tail::None, A::Decrement(L::Reg(EAX))),
    op(&[0x49], "decrement ECX", R::None, Tail::None, A::Decrement(L::Reg(ECX))),
    op(&[0x4a], "decrement EDX", R::None, Tail::None, A::Decrement(L::Reg(EDX))),
    op(&[0x4b], "decrement EBX", R::None, Tail::None, A::Decrement(L::Reg(EBX))),
    op(&[0x4c], "decrement ESP", R::None, Tail::None, A::Decrement(L::Reg(ESP))),
    op(&[0x4d], "decrement EBP", R::None, Tail::None, A::Decrement(L::Reg(EBP))),
    op(&[0x4e], "decrement ESI", R::None, Tail::None, A::Decrement(L::Reg(ESI))),
    op(&[0x4f], "decrement EDI", R::None, Tail::None, A::Decrement(L::Reg(EDI))),
    op(&[0x50], "push EAX to stack", R::None, Tail::None, A::Push(L::Reg(EAX))),
    op(&[0x51], "push ECX to stack", R::None, Tail::None, A::Push(L::Reg(ECX))),
    op(&[0x52], "push EDX to stack", R::None, Tail::None, A::Push(L::Reg(EDX))),
    op(&[0x53], "push EBX to stack", R::None, Tail::None, A::Push(L::Reg(EBX))),
    op(&[0x54], "push ESP to stack", R::None, Tail::None, A::Push(L::Reg(ESP))),
    op(&[0x55], "push EBP to stack", R::None, Tail::None, A::Push(L::Reg(EBP))),
    op(&[0x56], "push ESI to stack", R::None, Tail::None, A::Push(L::Reg(ESI))),
    op(&[0x57], "push EDI to stack", R::None, Tail::None, A::Push(L::Reg(EDI))),
    op(&[0x58], "pop top of stack to EAX", R::None, Tail::None, A::Pop(L::Reg(EAX))),
    op(&[0x59], "pop top of stack to ECX", R::None, Tail::None, A::Pop(L::Reg(ECX))),
    op(&[0x5a], "pop top of stack to EDX", R::None, Tail::None, A::Pop(L::Reg(EDX))),
    op(&[0x5b], "pop top of stack to EBX", R::None, Tail::None, A::Pop(L::Reg(EBX))),
    op(&[0x5c], "pop top of stack to ESP", R::None, Tail::None, A::Pop(L::Reg(ESP))),
    op(&[0x5d], "pop top of stack to EBP", R::None, Tail::None, A::Pop(L::Reg(EBP))),
    op(&[0x5e], "pop top of stack to ESI", R::None, Tail::None, A::Pop(L::Reg(ESI))),
    op(&[0x5f], "pop top of stack to EDI", R::None, Tail::None, A::Pop(L::Reg(EDI))),
    op(&[0x68], "push imm32 to stack", R::None, Tail::Imm32, A::Push(L::Imm)),
    op(&[0x72], "jump disp8 bytes away if lesser (unsigned), if CF is set", R::None, Tail::Disp8, A::Jump(Condition::Below)),
    op(&[0x73], "jump disp8 bytes away if greater or equal (unsigned), if CF is unset", R::None, Tail::Disp8, A::Jump(Condition::AboveOrEqual)),
    op(&[0x74], "jump disp8 bytes away if equal, if ZF is set", R::None, Tail::Disp8, A::Jump(Condition::Equal)),
    op(&[0x75], "jump disp8 bytes away if not equal, if ZF is not set", R::None, Tail::Disp8, A::Jump(Condition::NotEqual)),
    op(&[0x76], "jump disp8 bytes away if lesser or equal (unsigned)", R::None, Tail::Disp8, A::Jump(Condition::BelowOrEqual)),
    op(&[0x77], "jump disp8 bytes away if greater (unsigned)", R::None, Tail::Disp8, A::Jump(Condition::Above)),
    op(&[0x7c], "jump disp8 bytes away if lesser, if SF != OF", R::None, Tail::Disp8, A::Jump(Condition::Less)),
    op(&[0x7d], "jump disp8 bytes away if greater or equal, if SF == OF", R::None, Tail::Disp8, A::Jump(Condition::GreaterOrEqual)),
    op(&[0x7e], "jump disp8 bytes away if lesser or equal", R::None, Tail::Disp8, A::Jump(Condition::LessOrEqual)),
    op(&[0x7f], "jump disp8 bytes away if greater", R::None, Tail::Disp8, A::Jump(Condition::Greater)),
    op(&[0x81], "combine rm32 with imm32 based on subop", R::Subop, Tail::Imm32, A::Subops(ARITH_SUBOPS)),
    op(&[0x87], "swap the contents of r32 and rm32", R::R32, Tail::None, A::Swap),
    op(&[0x88], "copy r8 to r8/m8-at-r32", R::R32, Tail::None, A::Copy(L::Rm8, L::R8)),
    op(&[0x89], "copy r32 to rm32", R::R32, Tail::None, A::Copy(L::Rm, L::R32)),
    op(&[0x8a], "copy r8/m8-at-r32 to r8", R::R32, Tail::None, A::Copy(L::R8, L::Rm8)),
    op(&[0x8b], "copy rm32 to r32", R::R32, Tail::None, A::Copy(L::R32, L::Rm)),
    op(&[0x8d], "copy address in rm32 into r32", R::R32, Tail::None, A::CopyAddress),
    op(&[0x8f], "pop top of stack to rm32", R::Subop, Tail::None, A::Subops(POP_SUBOPS)),
    op(&[0x99], "sign-extend EAX into EDX", R::None, Tail::None, A::SignExtend),
    op(&[0xb8], "copy imm32 to EAX", R::None, Tail::Imm32, A::Copy(L::Reg(EAX), L::Imm)),
    op(&[0xb9], "copy imm32 to ECX", R::None, Tail::Imm32, A::Copy(L::Reg(ECX), L::Imm)),
    op(&[0xba], "copy imm32 to EDX", R::None, Tail::Imm32, A::Copy(L::Reg(EDX), L::Imm)),
    op(&[0xbb], "copy imm32 to EBX", R::None, Tail::Imm32, A::Copy(L::Reg(EBX), L::Imm)),
    op(&[0xbc], "copy imm32 to ESP", R::None, Tail::Imm32, A::Copy(L::Reg(ESP), L::Imm)),
    op(&[0xbd], "copy imm32 to EBP", R::None, Tail::Imm32, A::Copy(L::Reg(EBP), L::Imm)),
    op(&[0xbe], "copy imm32 to ESI", R::None, Tail::Imm32, A::Copy(L::Reg(ESI), L::Imm)),
    op(&[0xbf], "copy imm32 to EDI", R::None, Tail::Imm32, A::Copy(L::Reg(EDI), L::Imm)),
    op(&[0xc1], "shift rm32 by imm8 bits depending on subop", R::SubopOrEqualR32, Tail::Imm8, A::Subops(SHIFT_SUBOPS)),
    op(&[0xc3], "return from most recent unfinished call", R::None, Tail::None, A::Return),
    op(&[0xc6], "copy imm8 to r8/m8-at-r32", R::SubopOrEqualR32, Tail::Imm8, A::Subops(COPY_BYTE_SUBOPS)),
    op(&[0xc7], "copy imm32 to rm32", R::SubopOrEqualR32, Tail::Imm32, A::Subops(COPY_SUBOPS)),
    op(&[0xcd], "software interrupt", R::None, Tail::Imm8, A::Interrupt),
    op(&[0xd3], "shift rm32 by CL bits depending on subop", R::SubopOrEqualR32, Tail::None, A::Subops(SHIFT_SUBOPS)),
    op(&[0xe8], "call disp32", R::None, Tail::Disp32, A::Call),
    op(&[0xe9], "jump disp32 bytes away", R::None, Tail::Disp32, A::Jump(Condition::Always)),
    op(&[0xeb], "jump disp8 bytes away", R::None, Tail::Disp8, A::Jump(Condition::Always)),
    op(&[0xf4], "halt", R::None, Tail::None, A::Halt),
    op(&[0xf7], "negate/multiply/divide rm32 depending on subop", R::SubopOrEqualR32, Tail::None, A::Subops(UNARY_SUBOPS)),
    op(&[0xff], "increment/decrement/jump/push/call rm32 based on subop", R::Subop, Tail::None, A::Subops(FF_SUBOPS)),
    op(&[0x0f, 0x82], "jump disp32 bytes away if lesser (unsigned), if CF is set", R::None, Tail::Disp32, A::Jump(Condition::Below)),
    op(&[0x0f, 0x83], "jump disp32 bytes away if greater or equal (unsigned), if CF is unset", R::None, Tail::Disp32, A::Jump(Condition::AboveOrEqual)),
    op(&[0x0f, 0x84], "jump disp32 bytes away if equal, if ZF is set", R::None, Tail::Disp32, A::Jump(Condition::Equal)),
    op(&[0x0f, 0x85], "jump disp32 bytes away if not equal, if ZF is not set", R::None, Tail::Disp32, A::Jump(Condition::NotEqual)),
    op(&[0x0f, 0x86], "jump disp32 bytes away if lesser or equal (unsigned)", R::None, Tail::Disp32, A::Jump(Condition::BelowOrEqual)),
    op(&[0x0f, 0x87], "jump disp32 bytes away if greater (unsigned)", R::None, Tail::Disp32, A::Jump(Condition::Above)),
    op(&[0x0f, 0x8c], "jump disp32 bytes away if lesser, if SF != OF", R::None, Tail::Disp32, A::Jump(Condition::Less)),
    op(&[0x0f, 0x8d], "jump disp32 bytes away if greater or equal, if SF == OF", R::None, Tail::Disp32, A::Jump(Condition::GreaterOrEqual)),
    op(&[0x0f, 0x8e], "jump disp32 bytes away if lesser or equal", R::None, Tail::Disp32, A::Jump(Condition::LessOrEqual)),
    op(&[0x0f, 0x8f], "jump disp32 bytes away if greater", R::None, Tail::Disp32, A::Jump(Condition::Greater)),
    op(&[0x0f, 0xaf], "multiply rm32 into r32", R::R32, Tail::None, A::MultiplyInto),
];

/// The first byte of every two-byte opcode.
pub const TWO_BYTE_PREFIX: u8 = 0x0f;

/// `INDEX[0][b]` is 1 + the position in [`OPCODES`] of the one-byte opcode
/// `b`, `INDEX[1][b]` that of `0f b`; 0 means unsupported.
const INDEX: [[u8; 256]; 2] = {
    let mut index = [[0u8; 256]; 2];
    let mut i = 0;
    while i < OPCODES.len() {
        let bytes = OPCODES[i].bytes;
        if bytes.len() == 1 {
            index[0][bytes[0] as usize] = (i + 1) as u8;
        } else {
            index[1][bytes[1] as usize] = (i + 1) as u8;
        }
        i += 1;
    }
    index
};

/// The supported one-byte opcode `byte`.
pub fn one_byte(byte: u8) -> Option<&'static Opcode> {
    entry(INDEX[0][usize::from(byte)])
}

/// The supported two-byte opcode `0f byte`.
pub fn two_byte(byte: u8) -> Option<&'static Opcode> {
    entry(INDEX[1][usize::from(byte)])
}

/// The supported opcode with these bytes (one byte, or `0f` and one more).
pub fn lookup(bytes: &[u8]) -> Option<&'static Opcode> {
    match *bytes {
        [b] => one_byte(b),
        [TWO_BYTE_PREFIX, b] => two_byte(b),
        _ => None,
    }
}

fn entry(slot: u8) -> Option<&'static Opcode> {
    usize::from(slot).checked_sub(1).and_then(|i| OPCODES.get(i))
}

/// The table as `--help` shows it: one opcode a line.
pub fn listing() -> String {
    let mut text = String::new();
    for opcode in OPCODES {
        text.push_str(&format!("  {:<6} {:<22} {}\n", opcode.spelling(), opcode.operands_summary(), opcode.name));
    }
    text
}

/// Does `byte` begin x86 instructions SubX has no opcode for at all (the
/// `f2` and `f3` prefixes of the string and SSE instructions)? `pack` says
/// so, rather than "unknown opcode".
pub fn is_unsupported_prefix(byte: u8) -> bool {
    matches!(byte, 0xf2 | 0xf3)
}

/// The second bytes of the two-byte opcodes `which` selects, as a message
/// lists them: in table order, runs of consecutive bytes as ranges
/// (`82-87`, `8c-8f`, `af`).
pub fn second_byte_ranges(which: impl Fn(&Opcode) -> bool) -> Vec<String> {
    let mut runs: Vec<(u8, u8)> = Vec::new();
    for opcode in OPCODES.iter().filter(|o| o.bytes.len() == 2 && which(o)) {
        let byte = opcode.bytes[1];
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(byte) => *last = byte,
            _ => runs.push((byte, byte)),
        }
    }
    let range = |(first, last): (u8, u8)| {
        if first == last {
            format!("{first:02x}")
        } else {
            format!("{first:02x}-{last:02x}")
        }
    };
    runs.into_iter().map(range).collect()
}

/// The opcodes `which` selects, as a hint names them: first each one that
/// stands alone, by its spelling, then each family of more than two that
/// differ only in the low digit of their last byte, by the rest
/// (`e8`, `e9`, `0f 8x`; `eb`, `7x`). Each group keeps table order.
pub fn families(which: impl Fn(&Opcode) -> bool) -> Vec<String> {
    let chosen: Vec<&Opcode> = OPCODES.iter().filter(|o| which(o)).collect();
    // An opcode's spelling with the low digit of its last byte as `x`.
    let family = |o: &Opcode| {
        let spelling = o.spelling();
        format!("{}x", &spelling[..spelling.len() - 1])
    };
    let mut alone = Vec::new();
    let mut families: Vec<String> = Vec::new();
    for opcode in &chosen {
        let name = family(opcode);
        if chosen.iter().filter(|o| family(o) == name).count() <= 2 {
            alone.push(opcode.spelling());
        } else if !families.contains(&name) {
            families.push(name);
        }
    }
    alone.extend(families);
    alone
}

/// The calls and jumps, by the width of their displacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JumpKind {
    /// `e8`, `e9`, `0f 82`..`0f 8f`: a 32-bit displacement.
    Near,
    /// `eb`, `72`..`7f`: an 8-bit displacement.
    Short,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opcode_is_found_by_its_bytes() {
        for opcode in OPCODES {
            assert_eq!(lookup(opcode.bytes), Some(opcode), "{}", opcode.spelling());
        }
    }

    #[test]
    fn unsupported_opcodes_are_not_found() {
        for bytes in [&[0x00][..], &[0x06], &[0x90], &[0xf2], &[0xf3], &[0x0f], &[0x0f, 0x05], &[0x0f, 0x88]] {
            assert!(lookup(bytes).is_none(), "{bytes:?}");
        }
    }

    #[test]
    fn the_table_matches_language_md_section_10() {
        assert_eq!(OPCODES.len(), 90 + 11);
        assert_eq!(OPCODES.iter().filter(|o| o.bytes.len() == 2).count(), 11);
        assert_eq!(OPCODES.iter().filter(|o| o.reg == RegField::R32).count(), 12 + 6 + 1);
    }

    #[test]
    fn operand_types_are_exact_and_case_sensitive() {
        assert_eq!(Operand::from_metadata(b"imm32"), Some(Operand::Imm32));
        assert_eq!(Operand::from_metadata(b"IMM32"), None);
        assert_eq!(Operand::from_metadata(b"imm23"), None);
        for op in Operand::ALL {
            assert_eq!(Operand::ALL[op.index()], op);
        }
    }

    #[test]
    fn the_operand_sets_agree_with_requires_and_permits() {
        for opcode in OPCODES {
            for op in Operand::ALL {
                assert_eq!(opcode.required() & op.bit() != 0, opcode.requires(op), "{} {}", opcode.spelling(), op.name());
                assert_eq!(opcode.permitted() & op.bit() != 0, opcode.permits(op), "{} {}", opcode.spelling(), op.name());
            }
        }
    }

    /// What `subx run` needs of every entry: an action whose operands the
    /// instruction has (an immediate from a tail, `r32` and `rm32` from a
    /// ModR/M byte, jumps with a displacement), and subops exactly for the
    /// opcodes whose reg field is a subop.
    #[test]
    fn every_entry_says_what_the_emulator_does() {
        fn uses(action: Action, loc: Loc) -> bool {
            match action {
                Action::Arith(_, a, b) | Action::Copy(a, b) => a == loc || b == loc,
                Action::Increment(a) | Action::Decrement(a) | Action::Push(a) | Action::Pop(a) => a == loc,
                Action::JumpTo(a) | Action::CallTo(a) => a == loc,
                Action::CopyAddress | Action::Swap | Action::MultiplyInto => matches!(loc, Loc::R32 | Loc::Rm),
                Action::Interrupt => loc == Loc::Imm,
                Action::Shift(_) | Action::Not | Action::Negate | Action::Multiply { .. } | Action::Divide { .. } => {
                    loc == Loc::Rm
                }
                _ => false,
            }
        }
        for opcode in OPCODES {
            let name = opcode.spelling();
            let actions: Vec<(Action, bool)> = match opcode.action {
                Action::Subops(list) => {
                    assert!(matches!(opcode.reg, RegField::Subop | RegField::SubopOrEqualR32), "{name}: subops without a subop field");
                    assert!(!list.is_empty(), "{name}: empty subop list");
                    for (k, s) in list.iter().enumerate() {
                        assert!(s.number < 8 && !s.name.is_empty() && !s.does.is_empty(), "{name} /{}", s.number);
                        assert!(list[..k].iter().all(|t| t.number != s.number), "{name}: subop {} twice", s.number);
                        assert!(!matches!(s.action, Action::Subops(_)), "{name}: nested subops");
                    }
                    list.iter().map(|s| (s.action, s.imm32)).collect()
                }
                action => {
                    assert!(!matches!(opcode.reg, RegField::Subop | RegField::SubopOrEqualR32), "{name}: a subop field but no subops");
                    vec![(action, false)]
                }
            };
            for (action, imm32) in actions {
                let has_imm = matches!(opcode.tail, Tail::Imm8 | Tail::Imm32) || imm32;
                if matches!(action, Action::Shift(_)) {
                    // The count: the imm8, or CL without one.
                    assert!(matches!(opcode.tail, Tail::Imm8 | Tail::None) && !imm32, "{name}: a shift's count");
                } else {
                    assert_eq!(uses(action, Loc::Imm), has_imm, "{name}: {action:?} and its immediate");
                }
                let modrm = [Loc::R32, Loc::Rm, Loc::R8, Loc::Rm8].iter().any(|&l| uses(action, l));
                assert_eq!(modrm, opcode.has_modrm(), "{name}: {action:?} and its ModR/M byte");
                let relative = matches!(action, Action::Jump(_) | Action::Call);
                assert_eq!(relative, matches!(opcode.tail, Tail::Disp8 | Tail::Disp32), "{name}: {action:?} and its displacement");
            }
        }
    }

    #[test]
    fn subops_are_found_by_number() {
        let f7 = lookup(&[0xf7]).unwrap();
        assert_eq!(f7.subop(7).unwrap().name, "idiv");
        assert!(f7.subop(0).unwrap().imm32);
        assert!(lookup(&[0xff]).unwrap().subop(3).is_none(), "far call is not supported");
        assert!(lookup(&[0x89]).unwrap().subop(0).is_none());
    }

    #[test]
    fn messages_list_opcodes_from_the_table() {
        assert_eq!(second_byte_ranges(|_| true), ["82-87", "8c-8f", "af"]);
        assert_eq!(second_byte_ranges(|o| o.tail == Tail::None), ["af"]);
        assert_eq!(families(|o| o.tail == Tail::Disp32), ["e8", "e9", "0f 8x"]);
        assert_eq!(families(|o| o.tail == Tail::Disp8), ["eb", "7x"]);
        assert_eq!(families(|o| o.bytes.len() == 2 && o.reg == RegField::R32), ["0f af"]);
        assert!(is_unsupported_prefix(0xf3) && lookup(&[0xf3]).is_none());
    }

    #[test]
    fn subop_opcodes_refuse_or_tolerate_r32() {
        assert!(!lookup(&[0x81]).unwrap().permits(Operand::R32));
        assert!(lookup(&[0xc7]).unwrap().permits(Operand::R32));
        assert!(!lookup(&[0x89]).unwrap().permits(Operand::Subop));
        assert!(!lookup(&[0x05]).unwrap().permits(Operand::Disp16));
    }

    #[test]
    fn widths_are_those_of_the_numbers_each_type_holds() {
        for op in Operand::ALL {
            if let Some((width, _, _)) = op.width_and_range() {
                assert_eq!(op.width(), Some(width), "{}", op.name());
            }
        }
        assert_eq!((Operand::Imm16.width(), Operand::Disp16.width(), Operand::Mod.width()), (Some(2), Some(2), None));
    }

    #[test]
    fn the_jumps_are_the_opcodes_with_a_displacement_of_their_own() {
        let count = |kind| OPCODES.iter().filter(|o| o.jump_kind() == Some(kind)).count();
        assert_eq!((count(JumpKind::Near), count(JumpKind::Short)), (2 + 10, 1 + 10));
        assert_eq!(families(|o| o.jump_kind() == Some(JumpKind::Near)), ["e8", "e9", "0f 8x"]);
        assert_eq!(families(|o| o.jump_kind() == Some(JumpKind::Short)), ["eb", "7x"]);
        assert_eq!(families(Opcode::is_call), ["e8"]);
        assert_eq!(families(|o| o.bytes[0] == 0x05 || o.bytes[0] == 0x0f), ["05", "0f af", "0f 8x"]);
        assert_eq!(lookup(&[0xff]).unwrap().jump_kind(), None, "ff calls through a ModR/M operand");
    }
}

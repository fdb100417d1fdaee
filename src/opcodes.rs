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

const fn op(bytes: &'static [u8], name: &'static str, reg: RegField, tail: Tail) -> Opcode {
    Opcode { bytes, name, reg, tail }
}

use RegField as R;

/// Every supported opcode, in the order `--help` lists them.
pub const OPCODES: &[Opcode] = &[
    op(&[0x01], "add r32 to rm32", R::R32, Tail::None),
    op(&[0x03], "add rm32 to r32", R::R32, Tail::None),
    op(&[0x05], "add imm32 to EAX", R::None, Tail::Imm32),
    op(&[0x09], "rm32 = bitwise OR of r32 with rm32", R::R32, Tail::None),
    op(&[0x0b], "r32 = bitwise OR of r32 with rm32", R::R32, Tail::None),
    op(&[0x0d], "EAX = bitwise OR of imm32 with EAX", R::None, Tail::Imm32),
    op(&[0x21], "rm32 = bitwise AND of r32 with rm32", R::R32, Tail::None),
    op(&[0x23], "r32 = bitwise AND of r32 with rm32", R::R32, Tail::None),
    op(&[0x25], "EAX = bitwise AND of imm32 with EAX", R::None, Tail::Imm32),
    op(&[0x29], "subtract r32 from rm32", R::R32, Tail::None),
    op(&[0x2b], "subtract rm32 from r32", R::R32, Tail::None),
    op(&[0x2d], "subtract imm32 from EAX", R::None, Tail::Imm32),
    op(&[0x31], "rm32 = bitwise XOR of r32 with rm32", R::R32, Tail::None),
    op(&[0x33], "r32 = bitwise XOR of r32 with rm32", R::R32, Tail::None),
    op(&[0x35], "EAX = bitwise XOR of imm32 with EAX", R::None, Tail::Imm32),
    op(&[0x39], "compare: set SF if rm32 < r32", R::R32, Tail::None),
    op(&[0x3b], "compare: set SF if r32 < rm32", R::R32, Tail::None),
    op(&[0x3d], "compare: set SF if EAX < imm32", R::None, Tail::Imm32),
    op(&[0x40], "increment EAX", R::None, Tail::None),
    op(&[0x41], "increment ECX", R::None, Tail::None),
    op(&[0x42], "increment EDX", R::None, Tail::None),
    op(&[0x43], "increment EBX", R::None, Tail::None),
    op(&[0x44], "increment ESP", R::None, Tail::None),
    op(&[0x45], "increment EBP", R::None, Tail::None),
    op(&[0x46], "increment ESI", R::None, Tail::None),
    op(&[0x47], "increment EDI", R::None, Tail::None),
    op(&[0x48], "decrement EAX", R::None, Tail::None),
    op(&[0x49], "decrement ECX", R::None, Tail::None),
    op(&[0x4a], "decrement EDX", R::None, Tail::None),
    op(&[0x4b], "decrement EBX", R::None, Tail::None),
    op(&[0x4c], "decrement ESP", R::None, Tail::None),
    op(&[0x4d], "decrement EBP", R::None, Tail::None),
    op(&[0x4e], "decrement ESI", R::None, Tail::None),
    op(&[0x4f], "decrement EDI", R::None, Tail::None),
    op(&[0x50], "push EAX to stack", R::None, Tail::None),
    op(&[0x51], "push ECX to stack", R::None, Tail::None),
    op(&[0x52], "push EDX to stack", R::None, Tail::None),
    op(&[0x53], "push EBX to stack", R::None, Tail::None),
    op(&[0x54], "push ESP to stack", R::None, Tail::None),
    op(&[0x55], "push EBP to stack", R::None, Tail::None),
    op(&[0x56], "push ESI to stack", R::None, Tail::None),
    op(&[0x57], "push EDI to stack", R::None, Tail::None),
    op(&[0x58], "pop top of stack to EAX", R::None, Tail::None),
    op(&[0x59], "pop top of stack to ECX", R::None, Tail::None),
    op(&[0x5a], "pop top of stack to EDX", R::None, Tail::None),
    op(&[0x5b], "pop top of stack to EBX", R::None, Tail::None),
    op(&[0x5c], "pop top of stack to ESP", R::None, Tail::None),
    op(&[0x5d], "pop top of stack to EBP", R::None, Tail::None),
    op(&[0x5e], "pop top of stack to ESI", R::None, Tail::None),
    op(&[0x5f], "pop top of stack to EDI", R::None, Tail::None),
    op(&[0x68], "push imm32 to stack", R::None, Tail::Imm32),
    op(&[0x72], "jump disp8 bytes away if lesser (unsigned), if CF is set", R::None, Tail::Disp8),
    op(&[0x73], "jump disp8 bytes away if greater or equal (unsigned), if CF is unset", R::None, Tail::Disp8),
    op(&[0x74], "jump disp8 bytes away if equal, if ZF is set", R::None, Tail::Disp8),
    op(&[0x75], "jump disp8 bytes away if not equal, if ZF is not set", R::None, Tail::Disp8),
    op(&[0x76], "jump disp8 bytes away if lesser or equal (unsigned)", R::None, Tail::Disp8),
    op(&[0x77], "jump disp8 bytes away if greater (unsigned)", R::None, Tail::Disp8),
    op(&[0x7c], "jump disp8 bytes away if lesser, if SF != OF", R::None, Tail::Disp8),
    op(&[0x7d], "jump disp8 bytes away if greater or equal, if SF == OF", R::None, Tail::Disp8),
    op(&[0x7e], "jump disp8 bytes away if lesser or equal", R::None, Tail::Disp8),
    op(&[0x7f], "jump disp8 bytes away if greater", R::None, Tail::Disp8),
    op(&[0x81], "combine rm32 with imm32 based on subop", R::Subop, Tail::Imm32),
    op(&[0x87], "swap the contents of r32 and rm32", R::R32, Tail::None),
    op(&[0x88], "copy r8 to r8/m8-at-r32", R::R32, Tail::None),
    op(&[0x89], "copy r32 to rm32", R::R32, Tail::None),
    op(&[0x8a], "copy r8/m8-at-r32 to r8", R::R32, Tail::None),
    op(&[0x8b], "copy rm32 to r32", R::R32, Tail::None),
    op(&[0x8d], "copy address in rm32 into r32", R::R32, Tail::None),
    op(&[0x8f], "pop top of stack to rm32", R::Subop, Tail::None),
    op(&[0x99], "sign-extend EAX into EDX", R::None, Tail::None),
    op(&[0xb8], "copy imm32 to EAX", R::None, Tail::Imm32),
    op(&[0xb9], "copy imm32 to ECX", R::None, Tail::Imm32),
    op(&[0xba], "copy imm32 to EDX", R::None, Tail::Imm32),
    op(&[0xbb], "copy imm32 to EBX", R::None, Tail::Imm32),
    op(&[0xbc], "copy imm32 to ESP", R::None, Tail::Imm32),
    op(&[0xbd], "copy imm32 to EBP", R::None, Tail::Imm32),
    op(&[0xbe], "copy imm32 to ESI", R::None, Tail::Imm32),
    op(&[0xbf], "copy imm32 to EDI", R::None, Tail::Imm32),
    op(&[0xc1], "shift rm32 by imm8 bits depending on subop", R::SubopOrEqualR32, Tail::Imm8),
    op(&[0xc3], "return from most recent unfinished call", R::None, Tail::None),
    op(&[0xc6], "copy imm8 to r8/m8-at-r32", R::SubopOrEqualR32, Tail::Imm8),
    op(&[0xc7], "copy imm32 to rm32", R::SubopOrEqualR32, Tail::Imm32),
    op(&[0xcd], "software interrupt", R::None, Tail::Imm8),
    op(&[0xd3], "shift rm32 by CL bits depending on subop", R::SubopOrEqualR32, Tail::None),
    op(&[0xe8], "call disp32", R::None, Tail::Disp32),
    op(&[0xe9], "jump disp32 bytes away", R::None, Tail::Disp32),
    op(&[0xeb], "jump disp8 bytes away", R::None, Tail::Disp8),
    op(&[0xf4], "halt", R::None, Tail::None),
    op(&[0xf7], "negate/multiply/divide rm32 depending on subop", R::SubopOrEqualR32, Tail::None),
    op(&[0xff], "increment/decrement/jump/push/call rm32 based on subop", R::Subop, Tail::None),
    op(&[0x0f, 0x82], "jump disp32 bytes away if lesser (unsigned), if CF is set", R::None, Tail::Disp32),
    op(&[0x0f, 0x83], "jump disp32 bytes away if greater or equal (unsigned), if CF is unset", R::None, Tail::Disp32),
    op(&[0x0f, 0x84], "jump disp32 bytes away if equal, if ZF is set", R::None, Tail::Disp32),
    op(&[0x0f, 0x85], "jump disp32 bytes away if not equal, if ZF is not set", R::None, Tail::Disp32),
    op(&[0x0f, 0x86], "jump disp32 bytes away if lesser or equal (unsigned)", R::None, Tail::Disp32),
    op(&[0x0f, 0x87], "jump disp32 bytes away if greater (unsigned)", R::None, Tail::Disp32),
    op(&[0x0f, 0x8c], "jump disp32 bytes away if lesser, if SF != OF", R::None, Tail::Disp32),
    op(&[0x0f, 0x8d], "jump disp32 bytes away if greater or equal, if SF == OF", R::None, Tail::Disp32),
    op(&[0x0f, 0x8e], "jump disp32 bytes away if lesser or equal", R::None, Tail::Disp32),
    op(&[0x0f, 0x8f], "jump disp32 bytes away if greater", R::None, Tail::Disp32),
    op(&[0x0f, 0xaf], "multiply rm32 into r32", R::R32, Tail::None),
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

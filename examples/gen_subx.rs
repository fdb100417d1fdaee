//! gen_subx: write a large, valid SubX program, for benchmarks.
//!
//!     cargo run --release --example gen_subx -- --seed 1 --size 10M > big.subx
//!
//! The program is a pure function of the seed and the size (SI suffixes:
//! `k` = 1000, `M` = 10^6, `G` = 10^9; the output is at most a few
//! kilobytes longer than the size asked for). It mixes every kind of
//! instruction of `language.md` section 10 (every ModR/M form: mod 0 to 3,
//! SIB with scale/index/base, rm32 5 and SIB base 5 with data labels as
//! `/disp32`), short jumps between nearby `$local` labels (forward and
//! backward, never more than a few small instructions away), calls and
//! jumps to functions defined anywhere in the program, string literals with
//! escapes in code and data, `test-` functions, comments and blank lines,
//! TAB indentation, `.` column fillers, line metadata (`:meta ...`), raw hex
//! instruction lines, and re-opens `code`, `data` and a third
//! segment many times. Data lines hold raw bytes, `/imm8` and `/imm32`
//! words and label references (data labels, strings and code labels).
//!
//! Only `Entry` runs: it exits with status 0 at once, so the ELF can be
//! run to check that it loads.
//!
//! With `--sigils`, every ModR/M operand is written as one word of the
//! addressing-mode sugar instead (`%reg`, `*reg`, `*(base+index<<scale+disp)`,
//! `*Label`; `phases/sigils.md`), for the `sigils` phase:
//!
//!     cargo run --release --example gen_subx -- --sigils --seed 1 --size 100M > big.sigils.subx

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::ExitCode;

use subx::opcodes::REGISTERS;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

#[path = "support/size.rs"]
mod size;
use size::parse_size;

/// A typed number: `5/imm32`, `0x1f/imm32`, `-0x10/disp8`. Values that
/// begin with a letter get a `0x`, so that they read as numbers.
fn num(v: i64) -> String {
    if v < 0 {
        format!("-0x{:x}", -v)
    } else if v < 10 {
        format!("{v}")
    } else {
        format!("0x{v:x}")
    }
}

/// Everything the generator needs to remember while writing.
struct Gen {
    rng: Rng,
    out: String,
    /// functions defined so far (`func-N`, or `test-func-N`)
    funcs: u64,
    /// functions referenced so far may go up to this number (exclusive)
    funcs_wanted: u64,
    /// data labels (`var-N`) defined so far, and wanted
    vars: u64,
    vars_wanted: u64,
    /// local label counter within the current function
    local: u64,
    /// current function's name
    fname: String,
    /// third-segment labels (`const-N`) defined
    consts: u64,
    /// write ModR/M operands as sigil words (`--sigils`)
    sigils: bool,
}

impl Gen {
    fn line(&mut self, s: &str) {
        // Indentation is two spaces, sometimes a TAB (any ASCII whitespace
        // separates words).
        if self.rng.one_in(50) {
            self.out.push('\t');
        } else {
            self.out.push_str("  ");
        }
        // Now and then a `.` column filler, ignored wherever it stands.
        if self.rng.one_in(200) {
            self.out.push_str(".  ");
        }
        self.out.push_str(s);
        // Now and then line metadata: a word starting with ':' and the rest
        // of the line, carried along and never read.
        if self.rng.one_in(200) {
            self.out.push_str("  :meta 0x7 \"not a string\" x/imm32");
        }
        if self.rng.one_in(6) {
            let c = *self.rng.pick(&[
                "# keep going",
                "# TODO: faster",
                "# the value / 2 ...",
                "# \"quoted\" in a comment",
                "# 'x' -> y: z",
            ]);
            self.out.push_str("  ");
            self.out.push_str(c);
        }
        self.out.push('\n');
    }

    fn label(&mut self, name: &str) {
        self.out.push_str(name);
        self.out.push_str(":\n");
    }

    fn func_name(&self, n: u64) -> String {
        if n % 10 == 7 {
            format!("test-func-{n}")
        } else {
            format!("func-{n}")
        }
    }

    /// A function number to call or jump to: backward or a little forward.
    fn some_func(&mut self) -> String {
        let n = if self.funcs > 0 && self.rng.one_in(2) {
            self.rng.below(self.funcs)
        } else {
            self.funcs + self.rng.below(40)
        };
        if n >= self.funcs_wanted {
            self.funcs_wanted = n + 1;
        }
        self.func_name(n)
    }

    fn some_var(&mut self) -> String {
        let n = if self.vars > 0 && self.rng.one_in(2) {
            self.rng.below(self.vars)
        } else {
            self.vars + self.rng.below(30)
        };
        if n >= self.vars_wanted {
            self.vars_wanted = n + 1;
        }
        format!("var-{n}")
    }

    /// A string literal, with escapes and odd characters now and then.
    fn string(&mut self) -> String {
        const WORDS: [&str; 12] = [
            "hello",
            "world",
            "error:",
            "value",
            "  two  spaces",
            "#hash",
            "a/b",
            "x:y",
            "tab\there",
            "Mu",
            "SubX",
            ".",
        ];
        let mut s = String::from("\"");
        let n = 1 + self.rng.below(5);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let word = *self.rng.pick(&WORDS);
            s.push_str(word);
            match self.rng.below(8) {
                0 => s.push_str("\\n"),
                1 => s.push_str("\\\"q\\\""),
                2 => s.push_str("\\\\"),
                _ => {}
            }
        }
        s.push('"');
        s
    }

    /// An imm32 operand: a number, a data label, a string, or a code label.
    fn imm32(&mut self, allow_refs: bool) -> String {
        let v = if allow_refs { self.rng.below(10) } else { 9 };
        match v {
            0 => format!("{}/imm32", self.some_var()),
            1 => format!("{}/imm32", self.string()),
            2 => format!("{}/imm32", self.some_func()),
            3 => format!("{}/imm32", num(-(self.rng.below(0x1000) as i64) - 1)),
            4 => format!("{}/imm32", num(self.rng.below(1 << 32) as i64)),
            _ => format!("{}/imm32", num(self.rng.below(0x100) as i64)),
        }
    }

    /// The ModR/M operand words (mod, rm32, SIB, displacement) of one
    /// instruction, in one of every form of `language.md` 10.1.
    fn modrm(&mut self) -> Vec<String> {
        if self.sigils {
            return vec![self.sigil()];
        }
        let mut w = Vec::new();
        let m = self.rng.below(4);
        let mod_meta = ["indirect", "*+disp8", "*+disp32", "direct"][m as usize];
        w.push(format!("{m}/mod/{mod_meta}"));
        if m == 3 {
            let r = self.rng.below(8);
            w.push(format!("{r}/rm32/{}", REGISTERS[r as usize]));
            return w;
        }
        let form = self.rng.below(4);
        let disp = |g: &mut Gen, w: &mut Vec<String>| match m {
            1 => w.push(format!("{}/disp8", num(g.rng.below(0x100) as i64 - 0x80))),
            2 => {
                if g.rng.one_in(2) {
                    let v = g.some_var();
                    w.push(format!("{v}/disp32"));
                } else {
                    w.push(format!("{}/disp32", num(g.rng.below(0x10000) as i64 - 0x8000)));
                }
            }
            _ => {}
        };
        if form == 0 {
            // SIB
            w.push("4/rm32/sib".to_string());
            let base = if m == 0 && self.rng.one_in(4) { 5 } else { *self.rng.pick(&[0u64, 1, 2, 3, 4, 5, 6, 7]) };
            let base = if m == 0 && base == 5 && !self.rng.one_in(2) { 3 } else { base };
            w.push(format!("{base}/base/{}", REGISTERS[base as usize]));
            let index = self.rng.below(8);
            w.push(format!("{index}/index/{}", if index == 4 { "none" } else { REGISTERS[index as usize] }));
            if !self.rng.one_in(4) {
                let s = self.rng.below(4);
                w.push(format!("{s}/scale"));
            }
            if m == 0 && base == 5 {
                let v = self.some_var();
                w.push(format!("{v}/disp32"));
            }
            disp(self, &mut w);
        } else if form == 1 && m == 0 {
            // absolute address
            w.push("5/rm32/.disp32".to_string());
            let v = self.some_var();
            w.push(format!("{v}/disp32"));
        } else {
            let r = *self.rng.pick(&[0u64, 1, 2, 3, 5, 6, 7]);
            let r = if m == 0 && r == 5 { 6 } else { r };
            w.push(format!("{r}/rm32/{}", REGISTERS[r as usize]));
            disp(self, &mut w);
        }
        w
    }

    /// A ModR/M operand as one sigil word, in one of every form the
    /// `sigils` phase accepts; esp is never an index.
    fn sigil(&mut self) -> String {
        let reg = |g: &mut Gen| REGISTERS[g.rng.below(8) as usize];
        let index = |g: &mut Gen| *g.rng.pick(&["eax", "ecx", "edx", "ebx", "ebp", "esi", "edi"]);
        let disp = |g: &mut Gen| {
            let v = g.rng.below(0x10000) as i64 - 0x8000;
            if v < 0 {
                format!("-{:x}", -v)
            } else {
                format!("+0x{v:x}")
            }
        };
        let word = match self.rng.below(10) {
            0..=2 => format!("%{}", reg(self)),
            3 => format!("*{}", reg(self)),
            4 => format!("*{}", self.some_var()),
            5 | 6 => format!("*({}{})", reg(self), disp(self)),
            7 => format!("*({}+{})", reg(self), index(self)),
            8 => format!("*({}+{}<<{}{})", reg(self), index(self), self.rng.below(4), disp(self)),
            _ => format!("*( {} + {} << {} )", reg(self), index(self), self.rng.below(4)),
        };
        if self.rng.one_in(20) && !word.starts_with("*var") {
            format!("{word}/note")
        } else {
            word
        }
    }

    fn r32(&mut self) -> String {
        let r = self.rng.below(8);
        format!("{r}/r32/{}", REGISTERS[r as usize])
    }

    /// Join an opcode with its operands; now and then in a shuffled order
    /// (the order of operands does not matter).
    fn instr(&mut self, op: &str, mut operands: Vec<String>) {
        if operands.len() > 1 && self.rng.one_in(10) {
            let k = operands.len();
            for i in (1..k).rev() {
                let j = self.rng.below(i as u64 + 1) as usize;
                operands.swap(i, j);
            }
        }
        let mut s = String::from(op);
        for o in operands {
            s.push_str("  ");
            s.push_str(&o);
        }
        self.line(&s);
    }

    /// One instruction that is neither a jump nor a call nor a return:
    /// at most 11 bytes long.
    fn plain(&mut self) {
        match self.rng.below(24) {
            0 => {
                let r = self.rng.below(8);
                let (op, what) =
                    *self.rng.pick(&[(0x40, "increment"), (0x48, "decrement"), (0x50, "push"), (0x58, "pop-to")]);
                self.line(&format!("{:x}/{what}-{}", op + r, REGISTERS[r as usize]));
            }
            1 => {
                let op = *self.rng.pick(&["99/sign-extend-eax-into-edx", "f4/halt"]);
                self.line(op)
            }
            2 => self.instr("cd/syscall", vec!["0x80/imm8".to_string()]),
            3 => {
                let (op, meta) = *self.rng.pick(&[
                    ("05", "add-to-eax"),
                    ("0d", "or-with-eax"),
                    ("25", "and-with-eax"),
                    ("2d", "subtract-from-eax"),
                    ("35", "xor-with-eax"),
                    ("3d", "compare-eax-and"),
                ]);
                let i = self.imm32(false);
                self.instr(&format!("{op}/{meta}"), vec![i]);
            }
            4 => {
                let i = self.imm32(true);
                self.instr("68/push", vec![i]);
            }
            5 => {
                let r = self.rng.below(8);
                let i = self.imm32(true);
                self.instr(&format!("{:x}/copy-to-{}", 0xb8 + r, REGISTERS[r as usize]), vec![i]);
            }
            6..=11 => {
                let (op, meta) = *self.rng.pick(&[
                    ("01", "add"),
                    ("03", "add"),
                    ("09", "or"),
                    ("0b", "or"),
                    ("21", "and"),
                    ("23", "and"),
                    ("29", "subtract"),
                    ("2b", "subtract"),
                    ("31", "xor"),
                    ("33", "xor"),
                    ("39", "compare"),
                    ("3b", "compare"),
                    ("87", "exchange"),
                    ("88", "copy-byte"),
                    ("8a", "copy-byte"),
                    ("89", "copy"),
                    ("8b", "copy"),
                    ("8d", "copy-address"),
                ]);
                let mut w = self.modrm();
                if op == "8d" && w[0].starts_with(['3', '%']) {
                    // lea needs a memory operand: x86 has no 8d with mod 3
                    w = vec!["1/mod/*+disp8".to_string(), "6/rm32/esi".to_string(), "4/disp8".to_string()];
                }
                if !self.rng.one_in(8) {
                    let r = self.r32();
                    w.push(r);
                }
                self.instr(&format!("{op}/{meta}"), w);
            }
            12 => {
                let mut w = vec!["0/subop/pop".to_string()];
                w.extend(self.modrm());
                self.instr("8f", w);
            }
            13 => {
                let s = *self.rng.pick(&[0u64, 1, 2, 4, 6]);
                let mut w = vec![format!("{s}/subop")];
                w.extend(self.modrm());
                self.instr("ff", w);
            }
            14 => {
                let op = *self.rng.pick(&["d3", "f7"]);
                let s = if op == "d3" { *self.rng.pick(&[4u64, 5, 7]) } else { *self.rng.pick(&[2u64, 3, 4, 7]) };
                let mut w = vec![format!("{s}/subop")];
                w.extend(self.modrm());
                self.instr(op, w);
            }
            15 => {
                let s = *self.rng.pick(&[4u64, 5, 7]);
                let mut w = vec![format!("{s}/subop/shift")];
                w.extend(self.modrm());
                w.push(format!("{}/imm8", num(self.rng.below(0x20) as i64)));
                self.instr("c1", w);
            }
            16 => {
                let mut w = vec!["0/subop/copy-byte".to_string()];
                w.extend(self.modrm());
                w.push(format!("{}/imm8", num(self.rng.below(0x180) as i64 - 0x80)));
                self.instr("c6", w);
            }
            17 | 18 => {
                let s = *self.rng.pick(&[0u64, 1, 4, 5, 6, 7]);
                let mut w = vec![format!("{s}/subop")];
                w.extend(self.modrm());
                let i = self.imm32(true);
                w.push(i);
                self.instr("81", w);
            }
            19 => {
                let mut w = vec!["0/subop/copy".to_string()];
                w.extend(self.modrm());
                if self.rng.one_in(8) {
                    w.push("0/r32".to_string());
                }
                let i = self.imm32(true);
                w.push(i);
                self.instr("c7", w);
            }
            20 => {
                let mut w = self.modrm();
                if !self.rng.one_in(4) {
                    let r = self.r32();
                    w.push(r);
                }
                self.instr("0f af/multiply", w);
            }
            21 => {
                let raw = *self.rng.pick(&[
                    "89 c8",
                    "8b 45 f8",
                    "c1 e0 02",
                    "81 c0 01 00 00 00",
                    "bb/copy 2a 00 00 00",
                    "0f af c8",
                    "8b 04 25 00 00 00 0a",
                    "01 d8",
                    "8d 44 24 04",
                    "c7 84 24 00 01 00 00 ff ff ff ff",
                ]);
                self.line(raw);
            }
            _ => {
                // the commonest: copy between registers and memory
                let op = *self.rng.pick(&["89/copy", "8b/copy"]);
                let mut w = self.modrm();
                let r = self.r32();
                w.push(r);
                self.instr(op, w);
            }
        }
    }

    fn local_label(&mut self, what: &str) -> String {
        self.local += 1;
        format!("${}:{what}-{}", self.fname, self.local)
    }

    /// One function, with short loops, short forward skips, long jumps and
    /// calls.
    fn function(&mut self) {
        let n = self.funcs;
        self.funcs += 1;
        self.local = 0;
        self.fname = self.func_name(n);
        if self.rng.one_in(3) {
            let name = self.fname.clone();
            self.out.push_str(&format!("# {name}: does nothing useful, quickly\n"));
        }
        let name = self.fname.clone();
        self.label(&name);
        self.line("55/push-ebp");
        self.line("89/copy  3/mod/direct  5/rm32/ebp  4/r32/esp");
        let end = format!("${name}:end");
        let blocks = 2 + self.rng.below(10);
        for _ in 0..blocks {
            match self.rng.below(8) {
                0 | 1 => {
                    for _ in 0..1 + self.rng.below(4) {
                        self.plain();
                    }
                }
                2 => {
                    // short backward loop: at most 3 instructions + compare + jump
                    let l = self.local_label("loop");
                    self.label(&l);
                    for _ in 0..1 + self.rng.below(3) {
                        self.plain();
                    }
                    let r = self.rng.below(8);
                    let v = num(self.rng.below(0x100) as i64);
                    self.line(&format!("81  7/subop/compare  3/mod/direct  {r}/rm32/{}  {v}/imm32", REGISTERS[r as usize]));
                    let (op, meta) = *self.rng.pick(&JCC8);
                    self.line(&format!("{op}/{meta}  {l}/disp8"));
                }
                3 => {
                    // short forward skip
                    let l = self.local_label("skip");
                    let (op, meta) = *self.rng.pick(&JCC8);
                    self.line(&format!("{op}/{meta}  {l}/disp8"));
                    for _ in 0..1 + self.rng.below(3) {
                        self.plain();
                    }
                    if self.rng.one_in(3) {
                        self.out.push('\n');
                    }
                    self.label(&l);
                }
                4 => {
                    // long conditional jump to the end of this function
                    let (op, meta) = *self.rng.pick(&JCC32);
                    self.line(&format!("0f {op}/{meta}  {end}/disp32"));
                }
                5 => {
                    let f = if self.rng.one_in(20) { "run-tests".to_string() } else { self.some_func() };
                    self.line(&format!("e8/call  {f}/disp32"));
                    if self.rng.one_in(2) {
                        self.line("81  0/subop/add  3/mod/direct  4/rm32/esp  4/imm32");
                    }
                }
                6 => {
                    let f = self.some_func();
                    let (op, meta) = *self.rng.pick(&JCC32);
                    if self.rng.one_in(2) {
                        self.line(&format!("e9/jump  {f}/disp32"));
                    } else {
                        self.line(&format!("0f {op}/{meta}  {f}/disp32"));
                    }
                }
                _ => {
                    // a string literal pushed as an argument, then a call
                    let s = self.string();
                    self.line(&format!("68/push  {s}/imm32"));
                    let f = self.some_func();
                    self.line(&format!("e8/call  {f}/disp32"));
                }
            }
            if self.rng.one_in(8) {
                self.out.push('\n');
            }
        }
        self.label(&end);
        self.line("89/copy  3/mod/direct  4/rm32/esp  5/r32/ebp");
        self.line("5d/pop-to-ebp");
        self.line("c3/return");
        self.out.push('\n');
    }

    /// A few labelled data items.
    fn data_items(&mut self, items: u64) {
        for _ in 0..items {
            let n = self.vars;
            self.vars += 1;
            self.label(&format!("var-{n}"));
            for _ in 0..1 + self.rng.below(3) {
                let mut s = String::new();
                let k = 1 + self.rng.below(8);
                for i in 0..k {
                    if i > 0 {
                        s.push_str("  ");
                    }
                    match self.rng.below(10) {
                        0 => write!(s, "{}/imm32", self.some_var()).unwrap(),
                        1 => write!(s, "{}/imm32", self.some_func()).unwrap(),
                        2 if self.rng.one_in(4) => write!(s, "{}/imm32", self.string()).unwrap(),
                        3 => write!(s, "{}/imm8", num(self.rng.below(0x180) as i64 - 0x80)).unwrap(),
                        4 => write!(s, "{:02x}/letter", 0x61 + self.rng.below(26)).unwrap(),
                        5 | 6 => write!(s, "{:02x}", self.rng.below(0x100)).unwrap(),
                        _ => write!(s, "{}/imm32", num(self.rng.below(1 << 32) as i64)).unwrap(),
                    }
                }
                self.line(&s);
            }
        }
    }
}

const JCC8: [(&str, &str); 11] = [
    ("eb", "jump"),
    ("72", "jump-if-lesser-unsigned"),
    ("73", "jump-if-greater-or-equal-unsigned"),
    ("74", "jump-if-equal"),
    ("75", "jump-if-not-equal"),
    ("76", "jump-if-lesser-or-equal-unsigned"),
    ("77", "jump-if-greater-unsigned"),
    ("7c", "jump-if-lesser"),
    ("7d", "jump-if-greater-or-equal"),
    ("7e", "jump-if-lesser-or-equal"),
    ("7f", "jump-if-greater"),
];

const JCC32: [(&str, &str); 10] = [
    ("82", "jump-if-lesser-unsigned"),
    ("83", "jump-if-greater-or-equal-unsigned"),
    ("84", "jump-if-equal"),
    ("85", "jump-if-not-equal"),
    ("86", "jump-if-lesser-or-equal-unsigned"),
    ("87", "jump-if-greater-unsigned"),
    ("8c", "jump-if-lesser"),
    ("8d", "jump-if-greater-or-equal"),
    ("8e", "jump-if-lesser-or-equal"),
    ("8f", "jump-if-greater"),
];

const USAGE: &str =
    "usage: gen_subx [--sigils] --seed N --size BYTES   (BYTES may end in k, M or G: powers of 1000)\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut seed, mut size) = (1u64, 1_000_000u64);
    let mut sigils = false;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--sigils" {
            sigils = true;
            i += 1;
            continue;
        }
        let val = args.get(i + 1);
        match (args[i].as_str(), val) {
            ("--seed", Some(v)) => match v.parse() {
                Ok(n) => seed = n,
                Err(_) => {
                    eprint!("gen_subx: bad seed '{v}'\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            ("--size", Some(v)) => match parse_size(v) {
                Some(n) => size = n,
                None => {
                    eprint!("gen_subx: bad size '{v}'\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprint!("gen_subx: bad arguments\n{USAGE}");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    match generate(seed, size, sigils, &mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_subx: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(seed: u64, size: u64, sigils: bool, w: &mut impl Write) -> io::Result<()> {
    let mut g = Gen {
        rng: Rng(seed ^ 0x5eed_5eed_5eed_5eed),
        out: String::new(),
        funcs: 0,
        funcs_wanted: 0,
        vars: 0,
        vars_wanted: 0,
        local: 0,
        fname: String::new(),
        consts: 0,
        sigils,
    };
    let mut written = 0u64;
    let flush = |g: &mut Gen, w: &mut dyn Write, written: &mut u64| -> io::Result<()> {
        w.write_all(g.out.as_bytes())?;
        *written += g.out.len() as u64;
        g.out.clear();
        Ok(())
    };
    let option = if sigils { "--sigils " } else { "" };
    g.out.push_str(&format!("# Generated by gen_subx {option}--seed {seed} --size {size}: a valid program that only exits.\n"));
    g.out.push_str("== code 0x09000000\n");
    g.label("Entry");
    g.line("bb/copy-to-ebx  0/imm32");
    g.line("b8/copy-to-eax  1/imm32/exit");
    g.line("cd/syscall  0x80/imm8");
    g.out.push('\n');
    // Segments far apart: a 100 MB program has tens of MB of code.
    g.out.push_str("== data 0x30000000\n");
    g.data_items(2);
    g.out.push_str("\n== rodata 0x50000000\n");
    g.label("const-0");
    g.consts = 1;
    g.line("0x2a/imm32");
    flush(&mut g, w, &mut written)?;

    let mut segment_turn = 0u64;
    loop {
        // A stretch of code: a few functions, some of them tests.
        g.out.push_str(if g.rng.one_in(2) {
            "\n== code\n"
        } else {
            "\n== code 0x09000000  # re-opened; the address is ignored\n"
        });
        for _ in 0..1 + g.rng.below(6) {
            g.function();
        }
        segment_turn += 1;
        // Then data, and now and then the third segment.
        g.out.push_str("\n== data\n");
        let items = 1 + g.rng.below(4);
        g.data_items(items);
        if segment_turn.is_multiple_of(5) {
            g.out.push_str("\n== rodata\n");
            let c = g.consts;
            g.consts += 1;
            g.label(&format!("const-{c}"));
            let s = g.string();
            g.line(&format!("{s}/imm32  {}/imm32", num(c as i64)));
            let v = g.some_var();
            g.line(&format!("{v}/imm32"));
        }
        flush(&mut g, w, &mut written)?;
        if written >= size {
            break;
        }
    }
    // Define everything referenced ahead, and at least one test.
    g.funcs_wanted = g.funcs_wanted.max(8);
    if g.funcs < g.funcs_wanted {
        g.out.push_str("\n== code\n");
        while g.funcs < g.funcs_wanted {
            let n = g.funcs;
            g.funcs += 1;
            let name = g.func_name(n);
            g.label(&name);
            g.line("c3/return");
        }
    }
    if g.vars < g.vars_wanted {
        g.out.push_str("\n== data\n");
        while g.vars < g.vars_wanted {
            let n = g.vars;
            g.vars += 1;
            g.label(&format!("var-{n}"));
            g.line("0/imm32");
        }
    }
    flush(&mut g, w, &mut written)?;
    w.flush()
}

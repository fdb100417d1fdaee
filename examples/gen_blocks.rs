//! gen_blocks: write a large sugared SubX program, with `{ }` blocks,
//! `break/` and `loop/` words and one-line calls, for benchmarks of the
//! sugar phases (`braces`, `calls`).
//!
//!     cargo run --release --example gen_blocks -- --seed 1 --size 100M > big.subx
//!     braces < big.subx > big.braces && calls < big.braces > big.calls
//!
//! The program is a pure function of the seed and the size (SI suffixes:
//! `k` = 1000, `M` = 10^6, `G` = 10^9; the output is at most a few
//! kilobytes longer than the size asked for). It is written in the style
//! of Mu's own sugared SubX (`tests/vectors/sugar-full/`): functions with a
//! frame, blocks nested up to four deep used as loops and as ifs, short
//! (`/disp8`) jumps out of small blocks and long (`/disp32`) ones out of
//! big blocks, calls with up to six arguments of every kind (numbers,
//! labels, string literals holding spaces, `)` and `#`, `%reg`, `*reg`,
//! `*Label` and `*(...)` operands, some with spaces inside), comments,
//! blank lines, TAB indentation and re-opened `code` and `data` segments.
//!
//! Only `Entry` runs: it exits with status 0 at once.

use std::io::{self, Write};
use std::process::ExitCode;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

#[path = "support/size.rs"]
mod size;
use size::parse_size;

/// Everything the generator needs to remember while writing.
struct Gen {
    rng: Rng,
    out: String,
    /// Functions (`func-N`) defined so far, and the number referenced so far.
    funcs: u64,
    funcs_wanted: u64,
    /// Data labels (`Var-N`) defined so far, and referenced so far.
    vars: u64,
    vars_wanted: u64,
}

/// Instructions of at most 6 bytes, none of them a jump.
const PLAIN: [&str; 12] = [
    "8b/-> *(ebp+8) 0/r32/eax",
    "8b/-> *(ebp+0xc) 1/r32/ecx",
    "01/add %ebx 0/r32/eax",
    "40/increment-eax",
    "49/decrement-ecx",
    "81 0/subop/add %ecx 4/imm32",
    "89/<- %ebx 0/r32/eax",
    "3b/compare *(ebp+0xc) 1/r32/ecx",
    "8a/copy-byte *(esi+ecx+4) 3/r32/BL",
    "03/add *(esi+ecx<<2) 0/r32/eax",
    "ff 0/subop/increment *(ebp-4)",
    "31/xor %edx 2/r32/edx",
];

const COMMENTS: [&str; 4] = ["# again", "# the next one", "# 'x' -> y (z)", "# { not a brace }"];

const JCC8: [&str; 6] = [
    "74/jump-if-equal",
    "75/jump-if-not-equal",
    "7c/jump-if-lesser",
    "7d/jump-if-greater-or-equal",
    "7e/jump-if-lesser-or-equal",
    "7f/jump-if-greater",
];

const JCC32: [&str; 4] = ["0f 84/jump-if-equal", "0f 85/jump-if-not-equal", "0f 8c/jump-if-lesser", "0f 8d/jump-if-greater-or-equal"];

impl Gen {
    /// One line at block depth `depth`, now and then with a comment.
    fn line(&mut self, depth: usize, text: &str) {
        if self.rng.one_in(40) {
            self.out.push('\t');
        } else {
            self.out.push_str("    ");
        }
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        if self.rng.one_in(8) {
            let comment = *self.rng.pick(&COMMENTS);
            self.out.push_str("  ");
            self.out.push_str(comment);
        }
        self.out.push('\n');
    }

    /// A function number to call: backward or a little forward.
    fn some_func(&mut self) -> String {
        let n = if self.funcs > 0 && self.rng.one_in(2) { self.rng.below(self.funcs) } else { self.funcs + self.rng.below(40) };
        self.funcs_wanted = self.funcs_wanted.max(n + 1);
        format!("func-{n}")
    }

    fn some_var(&mut self) -> String {
        let n = if self.vars > 0 && self.rng.one_in(2) { self.rng.below(self.vars) } else { self.vars + self.rng.below(30) };
        self.vars_wanted = self.vars_wanted.max(n + 1);
        format!("Var-{n}")
    }

    /// One argument of a call, of any kind.
    fn argument(&mut self) -> String {
        match self.rng.below(10) {
            0 => format!("0x{:x}", self.rng.below(0x10000)),
            1 => format!("{}", self.rng.below(10)),
            2 => self.some_var(),
            3 => format!("*{}", self.some_var()),
            4 => (*self.rng.pick(&["\"hello\"", "\"a b)c#\"", "\"say \\\"hi\\\"\\n\"", "\"\""])).to_string(),
            5 => (*self.rng.pick(&["%eax", "%ecx", "%esi", "%edi"])).to_string(),
            6 => (*self.rng.pick(&["*esi", "*edi", "*eax"])).to_string(),
            7 => (*self.rng.pick(&["*(ebp+8)", "*(ebp+0xc)", "*(ebp + 0x10)", "*(ebp-4)"])).to_string(),
            8 => (*self.rng.pick(&["*(esi+ecx<<2)", "*(esi+ecx+4)", "*( eax + ecx<<2 + 8 )"])).to_string(),
            _ => "-1".to_string(),
        }
    }

    /// A call line `(func-N ARGS...)`.
    fn call(&mut self, depth: usize) {
        let mut text = format!("({}", self.some_func());
        for _ in 0..self.rng.below(7) {
            text.push(' ');
            text.push_str(&self.argument());
        }
        text.push(')');
        self.line(depth, &text);
    }

    /// A block at `depth` (1 = outermost): small ones hold a few plain
    /// instructions and use `/disp8` jumps, big ones hold calls and
    /// inner blocks and use `/disp32` jumps.
    fn block(&mut self, depth: usize) {
        let big = depth < 4 && !self.rng.one_in(3);
        self.line(depth - 1, "{");
        let exit = if big { self.rng.pick(&JCC32) } else { self.rng.pick(&JCC8) };
        self.line(depth, "81 7/subop/compare %ecx 0/imm32");
        self.line(depth, &format!("{exit} break/{}", if big { "disp32" } else { "disp8" }));
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(6) {
                0 | 1 if big => self.call(depth),
                2 if big => self.block(depth + 1),
                _ => {
                    let plain = *self.rng.pick(&PLAIN);
                    self.line(depth, plain);
                }
            }
        }
        if self.rng.one_in(2) {
            let jump = if big { "e9/jump loop/disp32" } else { "eb/jump loop/disp8" };
            self.line(depth, jump);
        }
        self.line(depth - 1, "}");
    }

    /// One function: a frame, then calls, blocks and plain instructions.
    fn function(&mut self) {
        let n = self.funcs;
        self.funcs += 1;
        if self.rng.one_in(3) {
            self.out.push_str(&format!("# func-{n}: loops and calls, quickly\n"));
        }
        self.out.push_str(&format!("func-{n}:  # a : int, b : int -> eax : int\n"));
        self.line(0, "55/push-ebp");
        self.line(0, "89/<- %ebp 4/r32/esp");
        for _ in 0..2 + self.rng.below(6) {
            match self.rng.below(5) {
                0 | 1 => self.call(0),
                2 | 3 => self.block(1),
                _ => {
                    let plain = *self.rng.pick(&PLAIN);
                    self.line(0, plain);
                }
            }
            if self.rng.one_in(6) {
                self.out.push('\n');
            }
        }
        self.line(0, "89/<- %esp 5/r32/ebp");
        self.line(0, "5d/pop-to-ebp");
        self.line(0, "c3/return");
        self.out.push('\n');
    }

    fn data_items(&mut self, items: u64) {
        for _ in 0..items {
            self.out.push_str(&format!("Var-{}:\n", self.vars));
            self.vars += 1;
            let value = format!("0x{:x}/imm32", self.rng.below(1 << 32));
            self.line(0, &value);
        }
    }
}

const USAGE: &str = "usage: gen_blocks --seed N --size BYTES   (BYTES may end in k, M or G: powers of 1000)\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut seed, mut size) = (Some(1u64), Some(1_000_000u64));
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--seed", Some(v)) => seed = v.parse().ok(),
            ("--size", Some(v)) => size = parse_size(v),
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => seed = None,
        }
        i += 2;
    }
    let (Some(seed), Some(size)) = (seed, size) else {
        eprint!("gen_blocks: bad arguments\n{USAGE}");
        return ExitCode::from(2);
    };
    match generate(seed, size, &mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_blocks: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(seed: u64, size: u64, w: &mut impl Write) -> io::Result<()> {
    let mut g = Gen { rng: Rng(seed ^ 0xb10c_b10c_b10c_b10c), out: String::new(), funcs: 0, funcs_wanted: 0, vars: 0, vars_wanted: 0 };
    g.out.push_str(&format!("# Generated by gen_blocks --seed {seed} --size {size}: a sugared program that only exits.\n"));
    g.out.push_str("== code 0x09000000\nEntry:\n");
    g.line(0, "bb/copy-to-ebx 0/imm32");
    g.line(0, "b8/copy-to-eax 1/imm32/exit");
    g.line(0, "cd/syscall 0x80/imm8");
    g.out.push_str("\n== data 0x30000000\n");
    g.data_items(2);
    let mut written = 0u64;
    while written < size {
        g.out.push_str("\n== code\n");
        for _ in 0..1 + g.rng.below(6) {
            g.function();
        }
        g.out.push_str("\n== data\n");
        let items = 1 + g.rng.below(4);
        g.data_items(items);
        w.write_all(g.out.as_bytes())?;
        written += g.out.len() as u64;
        g.out.clear();
    }
    // Define everything referenced ahead.
    g.out.push_str("\n== code\n");
    while g.funcs < g.funcs_wanted {
        g.out.push_str(&format!("func-{}:\n", g.funcs));
        g.funcs += 1;
        g.line(0, "c3/return");
    }
    g.out.push_str("\n== data\n");
    let missing = g.vars_wanted.saturating_sub(g.vars);
    g.data_items(missing);
    w.write_all(g.out.as_bytes())?;
    w.flush()
}

//! No phase panics, whatever its input (CONTRACT rule 4: "never a panic").
//!
//! Each phase's `run` is called in-process on thousands of inputs made from
//! fixed seeds, so a run is reproducible:
//!
//! - random bytes (NUL, CR, TAB, bytes >= 0x80, invalid UTF-8 included);
//! - random SubX-like text: headers, labels, opcodes, typed operands,
//!   numbers at the edges of their ranges, string literals, comments,
//!   metadata, joined by every kind of whitespace;
//! - mutations of valid inputs (`tests/vectors/full/*`, `full-disagree/*`
//!   and each phase's own vectors): bytes flipped, inserted or deleted,
//!   lines duplicated, swapped or dropped, truncation, splices of two inputs;
//! - chains: a mutated source program goes through `tests` (a mutated
//!   sugared one through `braces`), and whatever a phase accepts goes on to
//!   the next one, so that later phases see what earlier ones really write.
//!
//! Every call runs under `catch_unwind`. A panic does not stop the run: the
//! input is saved as `target/robustness/PHASE-SEED-CASE.bin` and the test
//! fails at the end listing every panic (phase, seed, case, message). An
//! error must also read well: one line of printable ASCII (line references
//! for `ntranslate` aside), and never an I/O error, since nothing here does
//! I/O.
//!
//! `cargo test` runs a bounded number of cases (a few seconds in a debug
//! build). Longer runs, e.g. in release mode:
//!
//! ```text
//! SUBX_ROBUSTNESS_CASES=200000 cargo test --release --test robustness -- --nocapture
//! SUBX_ROBUSTNESS_SECONDS=600 SUBX_ROBUSTNESS_PHASE=pack cargo test --release --test robustness -- --nocapture
//! SUBX_ROBUSTNESS_BIG=1 cargo test --release --test robustness -- --nocapture big
//! ```
//!
//! - `SUBX_ROBUSTNESS_CASES=N`: N cases of each kind per phase (default 3000);
//! - `SUBX_ROBUSTNESS_SECONDS=T`: instead, keep going for T seconds per phase;
//! - `SUBX_ROBUSTNESS_SEED=S`: start from another seed (default 1);
//! - `SUBX_ROBUSTNESS_PHASE=NAME`: only that phase;
//! - `SUBX_ROBUSTNESS_BIG=1`: also the 100 MB single-line inputs (test `big`).
//!
//! The `fuzz/` directory holds coverage-guided targets for the same check
//! (`cargo +nightly fuzz run pack`).

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use subx::cli::RunFn;
use subx::line_map::LineMap;
use subx::phases::{assort, braces, calls, dquotes, hex, pack, sigils, survey, tests};
use subx::Error;

/// The phases in pipeline order, with the file suffix of their input in
/// `tests/vectors/full/` (and `sugar-full/`).
const PHASES: [(&str, RunFn, &str); 9] = [
    ("braces", braces::run, "subx"),
    ("calls", calls::run, "braces.out"),
    ("sigils", sigils::run, "calls.out"),
    ("tests", tests::run, "subx"),
    ("dquotes", dquotes::run, "tests.out"),
    ("assort", assort::run, "dquotes.out"),
    ("pack", pack::run, "assort.out"),
    ("survey", survey::run, "pack.out"),
    ("hex", hex::run, "survey.out"),
];

mod support;
use support::{splitmix, vectors};

/// The random choices of the generated cases, from a SplitMix64 state.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        splitmix::next(&mut self.0)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// The valid inputs of a phase: full programs at that stage, and the
/// phase's own vectors.
fn seeds(phase: &str, suffix: &str) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut add = |dir: PathBuf, suffix: &str| {
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.ends_with(&format!(".{suffix}")) && !name[..name.len() - suffix.len() - 1].contains('.') {
                if let Ok(bytes) = std::fs::read(&path) {
                    found.push(bytes);
                }
            }
        }
    };
    add(vectors().join("full"), suffix);
    add(vectors().join("full-disagree"), suffix);
    if is_sugar(phase) {
        add(vectors().join("sugar-full"), suffix);
    }
    add(vectors().join(phase), "in");
    if phase == "tests" {
        add(vectors().join("errors"), "subx");
    }
    if phase == "sigils" {
        add(vectors().join("sigils-full"), "subx");
    }
    assert!(!found.is_empty(), "no seed inputs for {phase} in {}", vectors().display());
    found
}

/// Words SubX programs (and the phases' intermediate texts) are made of,
/// with the odd ones the phases must refuse.
const VOCABULARY: &[&str] = &[
    "==", "== code 0x09000000", "== data 0x0a000000", "== data", "== code", "code", "data", "0x09000000",
    "0x0a000000", "0x1000", "Entry:", "Entry", "Entry/disp32", "Entry/disp8", "Entry/imm32", "$loop:",
    "$loop/disp8", "$loop/disp32", "x:", "xy:", "_string1", "_string1:", "_string1/imm32", "run-tests:",
    "test-a:", "run-tests", "bb/copy-to-ebx", "b8/copy-to-eax", "cd/syscall", "0x80/imm8", "0/imm32",
    "1/imm32", "0x2a/imm32", "-1/imm32", "0xffffffff/imm32", "0x100000000/imm32", "-0x80000001/imm32",
    "89/copy", "8b/copy", "81", "c7", "0f", "84", "0f 84", "f2", "f3", "e8/call", "e9/jump", "eb/jump",
    "74/jump-if-equal", "3/mod", "0/mod", "4/mod", "0/rm32", "4/rm32", "5/rm32", "1/r32", "8/r32", "-1/r32",
    "0/subop", "7/subop", "4/base", "5/base", "4/index", "1/scale", "4/scale", "0x7f/disp8", "0x80/disp8",
    "-0x80/disp8", "0/disp8", "0/disp32", "0/disp16", "0/imm16", "00", "ff", "2a", "100", "-81", "-80",
    "0x", "0xA", "AB", "zz", "/imm32", "/", "//", "x/", "x/imm32/imm8", "0/imm23", "label:/disp8",
    "\"hello\"", "\"hi\"/imm32", "\"a\\nb\"", "\"\\t\"", "\"unterminated", "\"\"", "\"x\"tail", "#", "# comment",
    "#comment", ":", ":meta", ".", "..", "-", "-0x", "0x-1", "1-2", "\\", "\"", "'", "c3/return", "50/push-eax",
    "0f af", "69", "6b", "f7", "d3", "c1", "8f", "ff", "01", "05", "3d", "e8 x/disp32", "label",
    "very-long-label-name-that-goes-on-and-on", "0x09000000zz", "0X09000000",
    // The addressing-mode sugar (phases/sigils.md), good and bad.
    "%eax", "%esp/x", "%", "%/ecx", "%EAX", "*ecx", "*esp", "*ebp", "*Foo", "*Foo/", "*0x0a000000", "*",
    "*(ebp+8)", "*(eax+ecx<<2+4)", "*( esi + edi << 3 - 0x10 )", "*(eax", "*()", "*(eax+esp)",
    "*(eax+ecx<<4)", "*(eax+)", "*(eax+0xA)", "*(eax+123456789)", "*(eax)/", "*(eax)x", "*(eax)/disp8",
    "*#x", "*\"x\"", "**eax", "+4/imm32", "+4", "<<2", "(", ")",
];

/// Words of the sugar notations, mixed in for the sugar phases.
const SUGAR_VOCABULARY: &[&str] = &[
    "{", "}", "{}", "} {", ". {", "} .", "}#end", "break/disp8", "loop/disp8", "break/disp32", "loop/", "break/",
    "break", "_loop0x00000001:", "_break0x00000001/disp8", "(", ")", "()", "(f", "(f)", "(write-int", "%eax", "%",
    "*", "* ", "*(", "*(ebp+8)", "*(ebp + 0xc)", "*Var", "*(eax", "\"a b)\"", "\"a\"b", ")#x", ") :m", "(5", "(ab",
    "(.", "(%eax", "== code", "== data",
];

fn is_sugar(phase: &str) -> bool {
    matches!(phase, "braces" | "calls" | "sigils")
}

const SEPARATORS: &[&str] = &[" ", " ", " ", "  ", "\t", "\n", "\n", "\r\n", "\x0b", "\x0c", "\n\n", "\r", ""];

/// Random bytes, short or long, sometimes only from a small alphabet.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = if rng.chance(10) { rng.below(4000) } else { rng.below(120) };
    match rng.below(3) {
        0 => (0..len).map(|_| rng.next() as u8).collect(),
        1 => {
            let alphabet = b"0123456789abcdefx/:#.=\" \n\t-$_\\\0\x7f\xc3\xff";
            (0..len).map(|_| *rng.pick(alphabet)).collect()
        }
        _ => (0..len).map(|_| if rng.chance(3) { b'\n' } else { (rng.next() % 0x60 + 0x20) as u8 }).collect(),
    }
}

/// Random words from the vocabulary (and, for a sugar phase, the sugar
/// vocabulary), with random separators.
fn random_tokens(rng: &mut Rng, sugar: bool) -> Vec<u8> {
    let mut text = Vec::new();
    if rng.chance(2) {
        text.extend_from_slice(b"== code 0x09000000\nEntry:\n");
    }
    let count = rng.below(60);
    for _ in 0..count {
        let word = if sugar && rng.chance(2) { rng.pick(SUGAR_VOCABULARY) } else { rng.pick(VOCABULARY) };
        text.extend_from_slice(word.as_bytes());
        if rng.chance(8) {
            // Metadata on anything.
            let metadata: [&[u8]; 5] = [b"/imm32", b"/disp8", b"/x", b"/", b":"];
            let chosen = *rng.pick(&metadata[..]);
            text.extend_from_slice(chosen);
        }
        text.extend_from_slice(rng.pick(SEPARATORS).as_bytes());
    }
    if rng.chance(2) {
        text.extend_from_slice(b"\n== data 0x0a000000\n");
    }
    text
}

/// One to a few random edits of `seed` (`other`: a second input to splice).
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut text = seed.to_vec();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        let len = text.len();
        let at = if len == 0 { 0 } else { rng.below(len + 1) };
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                text[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                text[i] = *rng.pick(b"\0\n\t\r \"#:/.=-x\xff\x80");
            }
            2 => {
                let insert = random_bytes(rng);
                let insert = &insert[..insert.len().min(16)];
                text.splice(at..at, insert.iter().copied());
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.below(32)).min(len);
                text.drain(at.min(end)..end);
            }
            4 => text.truncate(at),
            5 => {
                let word = rng.pick(VOCABULARY).as_bytes().to_vec();
                let mut insert = word;
                insert.push(*rng.pick(b" \n\t"));
                text.splice(at..at, insert);
            }
            6 | 7 => text = edit_lines(rng, &text),
            8 if !other.is_empty() => {
                let from = rng.below(other.len());
                let to = (from + rng.below(400)).min(other.len());
                text.splice(at..at, other[from..to].iter().copied());
            }
            _ => {
                // Replace one byte-aligned word-ish run with a vocabulary word.
                if len > 0 {
                    let end = (at + 1 + rng.below(8)).min(len);
                    let word = rng.pick(VOCABULARY).as_bytes().to_vec();
                    text.splice(at.min(end)..end, word);
                }
            }
        }
    }
    text
}

/// Duplicates, drops or swaps whole lines.
fn edit_lines(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    if lines.is_empty() {
        return text.to_vec();
    }
    let i = rng.below(lines.len());
    let j = rng.below(lines.len());
    match rng.below(3) {
        0 => {
            let copies = 1 + rng.below(3);
            for _ in 0..copies {
                lines.insert(j, lines[i]);
            }
        }
        1 => {
            lines.remove(i);
        }
        _ => lines.swap(i, j),
    }
    lines.concat()
}

/// Everything one run found wrong.
#[derive(Default)]
struct Findings {
    runs: u64,
    accepted: u64,
    problems: Vec<String>,
}

/// Runs phase `index` on `input` and checks that it returns (no panic) and
/// that an error reads well. Returns the output if the phase accepted it.
fn check(index: usize, input: &[u8], seed: u64, case: u64, found: &mut Findings) -> Option<Vec<u8>> {
    let (name, run, _) = PHASES[index];
    found.runs += 1;
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut out = Vec::new();
        let mut map = LineMap::in_memory();
        let result = run(&mut &input[..], &mut out, &mut map);
        let map = map.finish_to_string();
        (result, out, map)
    }));
    let problem = match result {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("panicked: {message}")
        }
        Ok((Ok(()), out, _)) => {
            found.accepted += 1;
            return Some(out);
        }
        Ok((Err(e), _, _)) => badly_worded(&e, name)?,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/robustness");
    let file = dir.join(format!("{name}-{seed}-{case}.bin"));
    let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, input));
    let place = if saved.is_ok() { file.display().to_string() } else { "(not saved)".into() };
    found.problems.push(format!("{name}, seed {seed}, case {case}: {problem}; input in {place}"));
    None
}

/// What is wrong with how error `e` reads, if anything.
fn badly_worded(e: &Error, phase: &str) -> Option<String> {
    if e.io_kind.is_some() {
        return Some(format!("an I/O error without any I/O: {e}"));
    }
    let shown = e.to_string();
    if shown.is_empty() || e.message.trim().is_empty() {
        return Some("an empty message".into());
    }
    if shown.len() > 2000 {
        return Some(format!("a message of {} bytes: {}...", shown.len(), &shown[..200]));
    }
    if let Some(c) = shown.chars().find(|c| !(' '..='~').contains(c)) {
        return Some(format!("message holds {c:?}: {shown:?}"));
    }
    let marked = e.for_line_map(phase);
    if !marked.matches('\x01').count().is_multiple_of(2) {
        return Some(format!("unpaired line reference: {marked:?}"));
    }
    if shown.contains("internal error") {
        return Some(format!("an internal error: {shown}"));
    }
    None
}

/// How many cases of each kind, or until when.
struct Budget {
    cases: u64,
    until: Option<Instant>,
}

impl Budget {
    fn from_env() -> Budget {
        let until = env_number("SUBX_ROBUSTNESS_SECONDS").map(|s| Instant::now() + Duration::from_secs(s));
        let cases = env_number("SUBX_ROBUSTNESS_CASES").unwrap_or(if until.is_some() { u64::MAX } else { 3000 });
        Budget { cases, until }
    }

    fn more(&self, case: u64) -> bool {
        case < self.cases && self.until.is_none_or(|t| Instant::now() < t)
    }
}

fn wanted(phase: &str) -> bool {
    std::env::var("SUBX_ROBUSTNESS_PHASE").map_or(true, |only| only == phase)
}

/// Random, token and mutated inputs for phase `index`.
fn exercise(index: usize, base_seed: u64) -> Findings {
    let (name, _, suffix) = PHASES[index];
    let seeds = seeds(name, suffix);
    let budget = Budget::from_env();
    let mut found = Findings::default();
    let seed = base_seed.wrapping_mul(1000) + index as u64;
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut case = 0;
    while budget.more(case) {
        let input = random_bytes(&mut rng);
        check(index, &input, seed, 3 * case, &mut found);
        let input = random_tokens(&mut rng, is_sugar(name));
        check(index, &input, seed, 3 * case + 1, &mut found);
        let a = rng.pick(&seeds);
        let b = rng.pick(&seeds);
        let input = mutate(&mut rng, a, b);
        check(index, &input, seed, 3 * case + 2, &mut found);
        case += 1;
    }
    // The edges: nothing, one byte of each value, no final line feed.
    let mut edges: Vec<Vec<u8>> = vec![Vec::new(), b"\n".to_vec(), b"==".to_vec(), b"\"".to_vec()];
    edges.extend((0..=255u8).map(|b| vec![b]));
    edges.extend(seeds.iter().map(|s| s.strip_suffix(b"\n").unwrap_or(s).to_vec()));
    edges.extend(seeds.iter().map(|s| s.repeat(3)));
    for (i, input) in edges.iter().enumerate() {
        check(index, input, seed, u64::MAX - i as u64, &mut found);
    }
    eprintln!(
        "robustness: {name}: {} runs ({} accepted) in {:.1?}, {} problems",
        found.runs,
        found.accepted,
        started.elapsed(),
        found.problems.len()
    );
    found
}

/// Mutated source programs through the chain from phase `first` on, as far
/// as each gets.
fn exercise_chain(base_seed: u64, first: &str) -> Findings {
    let first_index = PHASES.iter().position(|(name, _, _)| *name == first).expect("a phase");
    let sources = seeds(first, PHASES[first_index].2);
    let budget = Budget::from_env();
    let mut found = Findings::default();
    let seed = base_seed.wrapping_mul(1000) + 99 - first_index as u64;
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut case = 0;
    let mut reached = vec![0u64; PHASES.len() - first_index];
    while budget.more(case) {
        let a = rng.pick(&sources);
        let b = rng.pick(&sources);
        let mut text = mutate(&mut rng, a, b);
        for (offset, count) in reached.iter_mut().enumerate() {
            *count += 1;
            match check(first_index + offset, &text, seed, case, &mut found) {
                Some(out) => text = out,
                None => break,
            }
        }
        case += 1;
    }
    eprintln!(
        "robustness: chain: {case} programs in {:.1?}, reaching {first}..hex {reached:?}, {} problems",
        started.elapsed(),
        found.problems.len()
    );
    found
}

fn report(all: Vec<Findings>) {
    let problems: Vec<String> = all.into_iter().flat_map(|f| f.problems).collect();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

fn base_seed() -> u64 {
    env_number("SUBX_ROBUSTNESS_SEED").unwrap_or(1)
}

#[test]
fn no_phase_panics_on_random_or_mutated_input() {
    // Panics are caught and reported together; keep their messages short.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|info| eprintln!("robustness: panic: {info}")));
    let mut all = Vec::new();
    for (index, (name, _, _)) in PHASES.iter().enumerate() {
        if wanted(name) {
            all.push(exercise(index, base_seed()));
        }
    }
    if wanted("chain") || std::env::var("SUBX_ROBUSTNESS_PHASE").is_err() {
        all.push(exercise_chain(base_seed(), "tests"));
        all.push(exercise_chain(base_seed(), "braces"));
    }
    panic::set_hook(hook);
    report(all);
}

/// A 100 MB single line, several kinds, through every phase: only with
/// `SUBX_ROBUSTNESS_BIG=1` (it takes a while and a few hundred MB).
#[test]
fn big() {
    if std::env::var("SUBX_ROBUSTNESS_BIG").is_err() {
        return;
    }
    const SIZE: usize = 100 << 20;
    let mut rng = Rng(base_seed());
    let header = b"== code 0x09000000\nEntry:\n".to_vec();
    let mut kinds: Vec<(&str, Vec<u8>)> = Vec::new();
    kinds.push(("one word", vec![b'a'; SIZE]));
    kinds.push(("hex pairs", b"00 ".repeat(SIZE / 3)));
    let mut line = header.clone();
    line.extend(std::iter::repeat_n(b"01 ", SIZE / 3).flatten());
    kinds.push(("code line of bytes", line));
    let mut line = header.clone();
    line.push(b'"');
    line.extend(std::iter::repeat_n(b'x', SIZE));
    line.extend_from_slice(b"\"/imm32");
    kinds.push(("string literal", line));
    let mut line = header;
    line.extend(std::iter::repeat_n(b"x/imm32 ", SIZE / 8).flatten());
    kinds.push(("label references", line));
    kinds.push(("random bytes, no line feed", (0..SIZE).map(|_| (rng.next() as u8) | 1).map(|b| if b == b'\n' { b' ' } else { b }).collect()));
    let mut found = Findings::default();
    for (kind, input) in &kinds {
        for (index, (name, _, _)) in PHASES.iter().enumerate() {
            if !wanted(name) {
                continue;
            }
            let started = Instant::now();
            let accepted = check(index, input, 0, index as u64, &mut found).is_some();
            eprintln!("robustness: big: {name} on {kind}: {} in {:.1?}", if accepted { "ok" } else { "error" }, started.elapsed());
        }
    }
    report(vec![found]);
}

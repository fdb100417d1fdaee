//! Every checked row of the spec's vectors (`tests/vectors/MANIFEST.tsv`),
//! run against the binaries this `cargo test` built, the way
//! `../shared/spec/conform` runs them:
//!
//! - `exact`: exit 0 and stdout (or, through `scripts/ntranslate`, the ELF)
//!   equal to the expected file byte for byte; an ELF with a `run` column is
//!   run natively and its exit status and stdout checked;
//! - `reject`: a non-zero exit (not a crash), a message on stderr, no panic;
//!   when the row gives a line, a phase's message names `line N`, and
//!   through `ntranslate` the message names `NAME.subx:LINE:` and no output
//!   file is left;
//! - `free`: not checked.
//!
//! The tools are the nine phases (a phase whose binary does not exist yet
//! fails its rows as "missing binary"), `ntranslate` and `ntranslate-sugar`
//! (`scripts/ntranslate --sugar`).
//!
//! Rows that are known to fail are listed by id in `tests/known_failing.txt`.
//! The list is strict: a listed row that passes fails the run too, so the
//! list only ever shrinks. Every failing row is reported by id.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::{bin_dir, project, vectors, Runner};

const TIME_LIMIT: Duration = Duration::from_secs(20);

struct Row {
    id: String,
    tool: String,
    input: String,
    expected: String,
    expect: String,
    line: String,
    run: String,
}

/// The phases a row may name as its tool, and whether it exists yet.
const PHASES: [&str; 9] = ["tests", "dquotes", "assort", "pack", "survey", "hex", "braces", "calls", "sigils"];

fn manifest() -> Vec<Row> {
    let text = fs::read_to_string(vectors().join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 7, "short MANIFEST row: {l}");
            Row {
                id: f[0].into(),
                tool: f[1].into(),
                input: f[2].into(),
                expected: f[3].into(),
                expect: f[4].into(),
                line: f[5].into(),
                run: f[6].into(),
            }
        })
        .collect()
}

fn known_failing() -> BTreeSet<String> {
    let text = fs::read_to_string(project().join("tests/known_failing.txt")).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Runs `cmd` with stdin from `stdin` (or nothing), stdout and stderr to
/// files in `scratch`; kills it after the time limit. Returns the status,
/// or None on a timeout.
fn run_limited(cmd: &mut Command, stdin: Option<&Path>, scratch: &Path) -> Option<ExitStatus> {
    let stdin = match stdin {
        Some(p) => Stdio::from(File::open(p).expect("open input")),
        None => Stdio::null(),
    };
    let out = File::create(scratch.join("stdout")).expect("create stdout file");
    let err = File::create(scratch.join("stderr")).expect("create stderr file");
    let mut child = cmd.stdin(stdin).stdout(out).stderr(err).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        None => format!("timed out after {}s", TIME_LIMIT.as_secs()),
        Some(s) => match s.code() {
            Some(c) => format!("exit {c}"),
            None => format!("killed by a signal ({s})"),
        },
    }
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or("").chars().take(200).collect()
}

fn first_difference(got: &[u8], want: &[u8]) -> usize {
    got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()))
}

/// What is wrong with a rejection, if anything.
fn reject_problem(status: Option<ExitStatus>, stderr: &[u8]) -> Option<String> {
    match status {
        Some(s) if s.success() => return Some("expected rejection, got exit 0".into()),
        Some(s) if s.code().is_none() || s.code().unwrap_or(0) > 128 => {
            return Some(format!("expected a clean rejection, got {}", describe(status)))
        }
        None => return Some(describe(status)),
        _ => {}
    }
    if stderr.is_empty() {
        return Some(format!("expected a message, got {} and empty stderr", describe(status)));
    }
    let text = String::from_utf8_lossy(stderr);
    if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
        return Some(format!("rejected, but stderr shows a panic: {}", first_line(stderr)));
    }
    None
}

struct Context {
    bins: PathBuf,
    generated: PathBuf,
}

impl Context {
    fn input_path(&self, relative: &str) -> PathBuf {
        let stored = vectors().join(relative);
        if stored.exists() {
            return stored;
        }
        match relative.strip_prefix("limits/") {
            Some(name) => self.generated.join(name),
            None => stored,
        }
    }
}

/// Checks one row; `Err` says what is wrong.
fn check(row: &Row, cx: &Context, scratch: &Path) -> Result<(), String> {
    match row.tool.as_str() {
        "ntranslate" => check_ntranslate(row, cx, scratch, false),
        "ntranslate-sugar" => check_ntranslate(row, cx, scratch, true),
        tool if PHASES.contains(&tool) => check_phase(row, cx, scratch),
        other => Err(format!("unknown tool '{other}' in MANIFEST")),
    }
}

fn check_phase(row: &Row, cx: &Context, scratch: &Path) -> Result<(), String> {
    let input = cx.input_path(&row.input);
    if !input.exists() {
        return Err(format!("vector input {} not found", row.input));
    }
    let bin = cx.bins.join(&row.tool);
    if !bin.exists() {
        return Err(format!("missing binary {}", row.tool));
    }
    let status = run_limited(&mut Command::new(bin), Some(&input), scratch);
    let stdout = fs::read(scratch.join("stdout")).unwrap_or_default();
    let stderr = fs::read(scratch.join("stderr")).unwrap_or_default();
    match row.expect.as_str() {
        "exact" => {
            if !matches!(status, Some(s) if s.success()) {
                return Err(format!("expected exit 0, got {} ({})", describe(status), first_line(&stderr)));
            }
            let want = fs::read(vectors().join(&row.expected)).map_err(|e| format!("{}: {e}", row.expected))?;
            if stdout != want {
                return Err(format!(
                    "output differs from {} at byte {} (got {} bytes, expected {})",
                    row.expected,
                    first_difference(&stdout, &want),
                    stdout.len(),
                    want.len()
                ));
            }
            Ok(())
        }
        "reject" => {
            if let Some(problem) = reject_problem(status, &stderr) {
                return Err(problem);
            }
            if row.line != "-" && !names_line(&String::from_utf8_lossy(&stderr), &row.line) {
                return Err(format!("rejected, but stderr does not name 'line {}' ({})", row.line, first_line(&stderr)));
            }
            Ok(())
        }
        other => Err(format!("unknown expect '{other}'")),
    }
}

/// Does a phase's message name `line N` (and not `line N0`, `line N1`...)?
fn names_line(stderr: &str, line: &str) -> bool {
    let want = format!("line {line}");
    stderr.match_indices(&want).any(|(at, _)| {
        !stderr[at + want.len()..].starts_with(|c: char| c.is_ascii_digit())
    })
}

fn check_ntranslate(row: &Row, cx: &Context, scratch: &Path, sugar: bool) -> Result<(), String> {
    if sugar {
        for phase in ["braces", "calls", "sigils"] {
            if !cx.bins.join(phase).exists() {
                return Err(format!("missing binary {phase} (ntranslate --sugar needs it)"));
            }
        }
    }
    let source = vectors().join(&row.input);
    let name = source.file_stem().and_then(|s| s.to_str()).ok_or("bad input name")?.to_string();
    let work = scratch.join("nt");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    fs::copy(&source, work.join(format!("{name}.subx"))).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("bash");
    cmd.arg(project().join("scripts/ntranslate"));
    if sugar {
        cmd.arg("--sugar");
    }
    cmd.args(["-o", "out.elf", &format!("{name}.subx")])
        .current_dir(&work)
        .env("SUBX_BIN", &cx.bins);
    let status = run_limited(&mut cmd, None, scratch);
    let stderr = fs::read(scratch.join("stderr")).unwrap_or_default();
    let elf_path = work.join("out.elf");
    match row.expect.as_str() {
        "exact" => {
            if !matches!(status, Some(s) if s.success()) {
                return Err(format!("expected an ELF, got {} ({})", describe(status), first_line(&stderr)));
            }
            let got = fs::read(&elf_path).map_err(|_| "exit 0 but no output file written".to_string())?;
            let want = fs::read(vectors().join(&row.expected)).map_err(|e| format!("{}: {e}", row.expected))?;
            if got != want {
                return Err(format!(
                    "ELF differs from {} at byte {} (got {} bytes, expected {})",
                    row.expected,
                    first_difference(&got, &want),
                    got.len(),
                    want.len()
                ));
            }
            if row.run != "-" {
                check_run(row, &elf_path, scratch)?;
            }
            Ok(())
        }
        "reject" => {
            if let Some(problem) = reject_problem(status, &stderr) {
                return Err(problem);
            }
            if elf_path.exists() {
                return Err("rejected, but the output file was left behind".into());
            }
            if row.line != "-" {
                let want = format!("{name}.subx:{}:", row.line);
                if !String::from_utf8_lossy(&stderr).contains(&want) {
                    return Err(format!("rejected, but stderr lacks '{want}' ({})", first_line(&stderr)));
                }
            }
            Ok(())
        }
        other => Err(format!("unknown expect '{other}'")),
    }
}

/// Runs the ELF natively (under `subx run` with `SUBX_NATIVE=0`) with empty
/// stdin: exit status and stdout as the `run` column says (`42`, or
/// `0:full/08-hello.stdout`). `tests/run.rs` runs every such ELF under
/// `subx run` as well.
fn check_run(row: &Row, elf: &Path, scratch: &Path) -> Result<(), String> {
    let (code, stdout_file) = match row.run.split_once(':') {
        Some((c, f)) => (c, Some(f)),
        None => (row.run.as_str(), None),
    };
    let want_code: i32 = code.parse().map_err(|_| format!("bad run column '{}'", row.run))?;
    let status = run_limited(&mut Runner::default().command(elf), None, scratch);
    if status.and_then(|s| s.code()) != Some(want_code) {
        return Err(format!("ELF matches, but running it gave {}, expected exit {want_code}", describe(status)));
    }
    let got = fs::read(scratch.join("stdout")).unwrap_or_default();
    let want = match stdout_file {
        Some(f) => fs::read(vectors().join(f)).map_err(|e| format!("{f}: {e}"))?,
        None => Vec::new(),
    };
    if got != want {
        return Err(format!("ELF matches, but its stdout differs at byte {}", first_difference(&got, &want)));
    }
    Ok(())
}

/// Rewrites `tests/known_failing.txt` with the rows failing now, for the
/// moment a phase lands (`UPDATE_KNOWN_FAILING=1 cargo test --test vectors`).
/// Review the diff: the list must only ever shrink.
fn write_known_failing(failures: &[(String, String)]) {
    let mut text = String::from(
        "# Rows of tests/vectors/MANIFEST.tsv that are known to fail, one id per line.\n\
         # The list is strict: a listed row that passes fails `cargo test`, so it only shrinks.\n",
    );
    for (id, _) in failures {
        text.push_str(id);
        text.push('\n');
    }
    fs::write(project().join("tests/known_failing.txt"), text).expect("write known_failing.txt");
}

#[test]
fn spec_vectors() {
    let rows: Vec<Row> = manifest().into_iter().filter(|r| r.expect != "free").collect();
    assert!(rows.len() > 600, "MANIFEST has only {} checked rows", rows.len());
    let scratch_root = tempfile::tempdir().expect("tempdir");
    let generated = scratch_root.path().join("generated");
    let made = Command::new("bash")
        .arg(vectors().join("limits/make-inputs"))
        .arg(&generated)
        .stdout(Stdio::null())
        .status()
        .expect("run limits/make-inputs");
    assert!(made.success(), "limits/make-inputs failed");
    let cx = Context { bins: bin_dir(), generated };

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    thread::scope(|s| {
        for w in 0..workers {
            let scratch = scratch_root.path().join(format!("worker{w}"));
            fs::create_dir_all(&scratch).expect("scratch dir");
            let (rows, cx, next, failures) = (&rows, &cx, &next, &failures);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                if let Err(problem) = check(row, cx, &scratch) {
                    failures.lock().expect("lock").push((row.id.clone(), problem));
                }
            });
        }
    });

    let mut failures = failures.into_inner().expect("lock");
    failures.sort();
    let known = known_failing();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let failed: BTreeSet<&str> = failures.iter().map(|(id, _)| id.as_str()).collect();
    let mut report = Vec::new();
    for (id, problem) in &failures {
        if !known.contains(id) {
            report.push(format!("FAIL {id}: {problem}"));
        }
    }
    for id in &known {
        if !ids.contains(id.as_str()) {
            report.push(format!("STALE {id}: listed in known_failing.txt but not a checked row"));
        } else if !failed.contains(id.as_str()) {
            report.push(format!("FIXED {id}: passes now; remove it from tests/known_failing.txt"));
        }
    }
    if std::env::var_os("UPDATE_KNOWN_FAILING").is_some() {
        write_known_failing(&failures);
        return;
    }
    let passed = rows.len() - failures.len();
    println!("{passed} passed, {} failed ({} of them known)", failures.len(), failures.len() - report.iter().filter(|r| r.starts_with("FAIL")).count());
    assert!(report.is_empty(), "{} problems with the spec vectors:\n{}", report.len(), report.join("\n"));
}

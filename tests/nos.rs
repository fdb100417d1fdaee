//! NOS, the Lisp of `subx-apps/nos/`, translated and run.
//!
//! The program is translated once per test run, the way its README says,
//! `scripts/ntranslate --sugar -o nos.elf init.linux subx-apps/nos/*.subx`
//! (the files in sorted order), with the phase binaries this `cargo test`
//! built. Then each test runs the ELF (through `support::Runner::default`,
//! so natively, or under `subx run` with `SUBX_NATIVE=0`) on a REPL
//! session and checks its stdout, stderr and exit status exactly:
//!
//! - its own `test-` functions (`nos.elf test`);
//! - every special form, every primitive and every error, in sessions;
//! - recursion (`(fib 20)`, a list of 100,000 elements built and summed by
//!   tail recursion), tail calls in constant space, a stack overflow that
//!   is an error and not a crash;
//! - the collector: a stress program that makes more than 100 heaps' worth
//!   of garbage in a heap of 65,536 cells while a live list survives, lists
//!   of a million cells (long, and nested in their cars) marked without
//!   recursion, a full heap that ends in `nos: out of memory`, and a
//!   program whose output does not change when a collection runs before
//!   every allocation (`NOS_GC_TORTURE=1`);
//! - the command line: `nos FILE`, `--help`, `--version`, bad arguments,
//!   bad `NOS_HEAP_CELLS`;
//! - the REPL sessions shown in `README.md` and `subx-apps/nos/README.md`,
//!   replayed through a pipe (no prompt) and, where `script` (util-linux)
//!   can give NOS a terminal, typed one line at a time after each prompt:
//!   the transcript must be the README's, prompts included.
//!
//! The GC stress test prints its figures (cells allocated and freed,
//! collections, time) with `cargo test --test nos -- --nocapture`.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::{native, project, Runner};

/// How long one run of NOS may take before the test calls it a hang: a
/// guard, not a measure of speed. Under `subx run` (`SUBX_NATIVE=0`) the
/// million-cell test (14 G instructions) takes 48 s in a release build
/// here, so the guard is wider there.
fn time_limit() -> Duration {
    Duration::from_secs(if native() { 60 } else { 600 })
}

/// The translated NOS, built on first use.
fn nos() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nos");
        fs::create_dir_all(&dir).expect("create the build directory");
        let elf = dir.join("nos.elf");
        let mut sources: Vec<PathBuf> = fs::read_dir(project().join("subx-apps/nos"))
            .expect("read subx-apps/nos")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "subx"))
            .collect();
        sources.sort();
        assert!(sources.len() >= 10, "expected NOS's files in subx-apps/nos, found {sources:?}");
        let output = support::ntranslate()
            .arg("--sugar")
            .arg("-o")
            .arg(&elf)
            .arg(project().join("init.linux"))
            .args(&sources)
            .current_dir(project())
            .stdin(Stdio::null())
            .output()
            .expect("run ntranslate");
        assert!(output.status.success(), "ntranslate failed:\n{}", String::from_utf8_lossy(&output.stderr));
        elf
    })
}

/// What a run of NOS did.
#[derive(Debug)]
struct Outcome {
    exit: i32,
    stdout: String,
    stderr: String,
    time: Duration,
}

/// Run NOS with `args`, extra environment variables `env` and `stdin`.
fn run_with(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
    let mut command = Runner::default().command(nos());
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.env_remove("NOS_HEAP_CELLS").env_remove("NOS_GC_TORTURE");
    for (name, value) in env {
        command.env(name, value);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("start nos.elf");
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.as_bytes().to_vec();
    // NOS may stop reading early (an error in a file, out of memory)
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let status = wait_or_kill(&mut child);
    let time = start.elapsed();
    let _ = writer.join();
    let exit = status.code().unwrap_or_else(|| panic!("nos.elf {args:?} was killed by a signal ({status})"));
    Outcome { exit, stdout: collected_text(&stdout), stderr: collected_text(&stderr), time }
}

fn run(stdin: &str) -> Outcome {
    run_with(&[], &[], stdin)
}

/// A buffer that a thread fills with everything read from a pipe, and
/// the thread (finished when the pipe is closed).
type Collected = (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>);

fn collect(mut from: impl Read + Send + 'static) -> Collected {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&buffer);
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 1 << 14];
        loop {
            match from.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => shared.lock().expect("output").extend_from_slice(&chunk[..n]),
            }
        }
    });
    (buffer, handle)
}

/// Everything the pipe gave, once it is closed.
fn collected_text(collected: &Collected) -> String {
    let start = Instant::now();
    while !collected.1.is_finished() && start.elapsed() < time_limit() {
        thread::sleep(Duration::from_millis(1));
    }
    String::from_utf8_lossy(&collected.0.lock().expect("output")).into_owned()
}

fn wait_or_kill(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if start.elapsed() > time_limit() => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("nos.elf ran for more than {:?}", time_limit());
            }
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("waiting for nos.elf: {e}"),
        }
    }
}

/// Check a session: exactly this stdout and stderr, and exit status 0.
#[track_caller]
fn check_session(input: &str, stdout: &str, stderr: &str) {
    let got = run(input);
    assert_eq!(got.stdout, stdout, "stdout of the session\n{input}");
    assert_eq!(got.stderr, stderr, "stderr of the session\n{input}");
    assert_eq!(got.exit, 0, "exit status of the session\n{input}");
}

#[test]
fn its_own_tests_pass() {
    let got = run_with(&["test"], &[], "");
    assert_eq!(got.exit, 0, "nos.elf test failed:\n{}", got.stderr);
    assert!(!got.stderr.contains("FAIL"), "{}", got.stderr);
    assert!(got.stderr.matches('.').count() > 200, "fewer checks than expected:\n{}", got.stderr);
}

#[test]
fn every_special_form() {
    check_session(
        r#"; every special form
'sym
(quote (1 "two" (3 . 4)))
(if t 'yes 'no)
(if () 'yes 'no)
(if () 'yes)
(if 0 'zero-is-true)
(define answer 42)
answer
(define (square x) (* x x))
(square 12)
square
(define twice (lambda (f x) (f (f x))))
(twice square 3)
((lambda args args) 1 2 3)
((lambda (first . rest) (list first rest)) 1 2 3)
(let ((x 2) (y 3)) (* x y))
(let ((x 1)) (let ((x 10) (y x)) (list x y)))
(begin (define counter 0) (define counter (+ counter 1)) counter)
(begin)
(define (make-adder n) (lambda (x) (+ x n)))
(define add5 (make-adder 5))
(define n 1000)
(add5 10)
"#,
        "sym\n(1 \"two\" (3 . 4))\nyes\nno\n()\nzero-is-true\nanswer\n42\nsquare\n144\n#<lambda (x)>\ntwice\n81\n\
         (1 2 3)\n(1 (2 3))\n6\n(10 1)\n1\n()\nmake-adder\nadd5\nn\n15\n",
        "",
    );
}

#[test]
fn every_primitive() {
    check_session(
        r#"(cons 1 2)
(cons 1 '(2 3))
(car '(a b))
(cdr '(a b))
(car '())
(cdr '())
(eq 'a 'a)
(eq 'a 'b)
(eq '(1) '(1))
(atom 'a)
(atom '(a))
(atom '())
(null '())
(null 'a)
(list 1 'b "c")
(+ 40 2)
(- 40 42)
(* -6 7)
(/ 7 2)
(/ -7 2)
(mod 7 2)
(mod -7 2)
(< 1 2)
(< 2 1)
(= 3 3)
(= 3 4)
(print "hello, world")
(print '(1 "two"))
(+ 1073741823 0)
(- -1073741823 1)
car
(car (gc-stats))
"#,
        "(1 . 2)\n(1 2 3)\na\n(b)\n()\n()\nt\n()\n()\nt\n()\nt\nt\n()\n(1 b \"c\")\n42\n-2\n-42\n3\n-4\n1\n1\nt\n()\nt\n()\n\
         hello, world\n\"hello, world\"\n(1 two)\n(1 \"two\")\n1073741823\n-1073741824\n#<primitive car>\n0\n",
        "",
    );
    // (gc) and (heap): a function's body stays alive, so the counts are exact
    check_session(
        "(define (f) (gc) (list 1 2 3) (gc))\n(f)\n\
         (define (g) (gc) (let ((before (heap))) (define l (list 1 2 3)) (gc) (- (heap) before)))\n(g)\n\
         (car (gc-stats))\n",
        "f\n3\ng\n5\n4\n",
        "",
    );
}

#[test]
fn every_error_and_the_repl_carries_on() {
    check_session(
        r#"nope
(1 2)
(car 'x)
(cdr 5)
(/ 1 0)
(mod 1 0)
(car '(1) '(2))
(cons 1)
((lambda (x y) x) 1)
((lambda (x . r) x))
)
(+ 1073741823 1)
(* 65536 16384)
(+ 'a 1)
(if)
(let ((1 2)) 3)
(lambda (x 5) x)
"bad \q escape"
12345678901
(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))
(deep 1000000)
'still-running
(car
"#,
        "deep\nstill-running\n",
        "nos: error: unbound symbol: nope\n\
         nos: error: not a function: 1\n\
         nos: error: car: not a list: x\n\
         nos: error: cdr: not a list: 5\n\
         nos: error: /: division by zero\n\
         nos: error: mod: division by zero\n\
         nos: error: car: expected 1 argument, got 2\n\
         nos: error: cons: expected 2 arguments, got 1\n\
         nos: error: #<lambda (x y)>: expected 2 arguments, got 1\n\
         nos: error: #<lambda (x . r)>: expected at least 1 argument, got 0\n\
         nos: error: unexpected ')'\n\
         nos: error: +: overflow: the result is not between -1073741824 and 1073741823\n\
         nos: error: *: overflow: the result is not between -1073741824 and 1073741823\n\
         nos: error: +: not a number: a\n\
         nos: error: bad form (expected (if TEST THEN [ELSE])): (if)\n\
         nos: error: bad let bindings (expected ((NAME VALUE)...)): ((1 2))\n\
         nos: error: bad parameter list (expected symbols): (x 5)\n\
         nos: error: unknown escape in a string: \\q (the escapes are \\n \\\" \\\\)\n\
         nos: error: number out of range (fixnums are -1073741824..1073741823): 12345678901\n\
         nos: error: stack overflow: recursion too deep\n\
         nos: error: unexpected end of input: a list is missing its ')'\n",
    );
}

#[test]
fn a_reader_error_skips_the_rest_of_its_line() {
    check_session(
        "1 ) 2\n3\n(4 . 5 6) 7\n8\n",
        "1\n3\n8\n",
        "nos: error: unexpected ')'\nnos: error: expected ')' after the element that follows a '.'\n",
    );
}

#[test]
fn strings_and_comments() {
    check_session(
        "\"a \\\"quoted\\\" word\\nand a backslash \\\\\" ; a comment\n(print \"two\\nlines\") ; (not code)\n\"\"\n",
        "\"a \\\"quoted\\\" word\\nand a backslash \\\\\"\ntwo\nlines\n\"two\\nlines\"\n\"\"\n",
        "",
    );
}

#[test]
fn fib_20_and_a_list_of_100000_elements() {
    check_session(
        "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n(fib 20)\n\
         (define (build n acc) (if (= n 0) acc (build (- n 1) (cons (mod n 100) acc))))\n\
         (define (sum l acc) (if (null l) acc (sum (cdr l) (+ acc (car l)))))\n\
         (define l (build 100000 '()))\n(sum l 0)\n",
        "fib\n6765\nbuild\nsum\nl\n4950000\n",
        "",
    );
}

#[test]
fn tail_calls_run_in_constant_space() {
    // a million iterations would need millions of words of value stack
    // (which has 0x100000) if each kept anything
    check_session(
        "(define (count n) (if (= n 0) 'done (count (- n 1))))\n(count 1000000)\n\
         (define (loop n acc) (if (= n 0) acc (let ((m (- n 1))) (begin (loop m (+ acc 1))))))\n(loop 1000000 0)\n",
        "count\ndone\nloop\n1000000\n",
        "",
    );
}

/// `(gc-stats)`'s three numbers from a line `(C A F)`.
fn gc_stats(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line
        .trim_matches(|c| c == '(' || c == ')')
        .split(' ')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("gc-stats line {line:?}")))
        .collect();
    assert_eq!(numbers.len(), 3, "gc-stats line {line:?}");
    (numbers[0], numbers[1], numbers[2])
}

#[test]
fn gc_stress_in_a_small_heap() {
    // A live list of 1000 cells survives while a tail-recursive loop makes
    // lists of 10 and drops them, in a heap of 65536 cells.
    const CELLS: u64 = 65536;
    let got = run_with(
        &[],
        &[("NOS_HEAP_CELLS", "65536")],
        "(define (make-list n acc) (if (= n 0) acc (make-list (- n 1) (cons n acc))))\n\
         (define (sum l acc) (if (null l) acc (sum (cdr l) (+ acc (car l)))))\n\
         (define live (make-list 1000 '()))\n\
         (define (churn n) (if (= n 0) 'done (begin (make-list 10 '()) (churn (- n 1)))))\n\
         (churn 50000)\n\
         (sum live 0)\n\
         (list (car live) (car (cdr live)) (car (cdr (cdr live))))\n\
         (gc-stats)\n",
    );
    assert_eq!((got.exit, got.stderr.as_str()), (0, ""), "{got:?}");
    let lines: Vec<&str> = got.stdout.lines().collect();
    assert_eq!(lines[..7], ["make-list", "sum", "live", "churn", "done", "500500", "(1 2 3)"], "{got:?}");
    let (collections, allocated, freed) = gc_stats(lines[7]);
    eprintln!(
        "gc stress: {allocated} cells allocated ({:.1} heaps of {CELLS}), {freed} freed, {collections} collections, {:.2} s",
        allocated as f64 / CELLS as f64,
        got.time.as_secs_f64()
    );
    assert!(collections >= 100, "only {collections} collections");
    assert!(freed >= 50 * CELLS, "only {freed} cells freed");
    assert!(allocated >= freed + 1000, "allocated {allocated}, freed {freed}");
}

#[test]
fn lists_of_a_million_cells_are_marked_without_recursion() {
    // A list of a million cells, and a list nested a million deep in its
    // cars; (gc) marks both, then they are walked to check them. (The
    // default heap of 8388608 cells: a smaller one means more collections
    // that each mark the two million live cells, and a slower test.)
    let got = run_with(
        &[],
        &[],
        "(define (make-list n acc) (if (= n 0) acc (make-list (- n 1) (cons 1 acc))))\n\
         (define (nest n acc) (if (= n 0) acc (nest (- n 1) (cons acc '()))))\n\
         (define long (make-list 1000000 '()))\n\
         (define deep (nest 1000000 'bottom))\n\
         (define (garbage n) (if (= n 0) 'done (begin (cons 1 2) (garbage (- n 1)))))\n\
         (garbage 10)\n\
         (begin (gc) (< 1999999 (heap)))\n\
         (define (length l acc) (if (null l) acc (length (cdr l) (+ acc 1))))\n\
         (length long 0)\n\
         (define (depth l acc) (if (atom l) (list l acc) (depth (car l) (+ acc 1))))\n\
         (depth deep 0)\n",
    );
    assert_eq!(
        (got.exit, got.stdout.as_str(), got.stderr.as_str()),
        (0, "make-list\nnest\nlong\ndeep\ngarbage\ndone\nt\nlength\n1000000\ndepth\n(bottom 1000000)\n", ""),
        "{got:?}"
    );
}

#[test]
fn a_full_heap_is_out_of_memory() {
    let got = run_with(
        &[],
        &[("NOS_HEAP_CELLS", "1024")],
        "(define (grow l) (grow (cons 1 l)))\n'start\n(grow '())\n'never\n",
    );
    assert_eq!(
        (got.exit, got.stdout.as_str(), got.stderr.as_str()),
        (1, "grow\nstart\n", "nos: out of memory\n"),
        "{got:?}"
    );
}

#[test]
fn gc_torture_changes_no_result() {
    // a collection before every allocation (each value kept only in a
    // register would be freed and reused at once)
    let program = "(define (make n acc) (if (= n 0) acc (make (- n 1) (cons n acc))))\n\
                   (define (map f l) (if (null l) () (cons (f (car l)) (map f (cdr l)))))\n\
                   (map (lambda (x) (list x \"a string of some length\" 'sym)) (make 20 '()))\n\
                   (let ((a \"abcdefghijklmnop\") (b (make 5 ()))) (cons a b))\n\
                   (define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n(fib 12)\n\
                   '(1 . (2 \"x\" (3 . 4)))\n(car 5)\n";
    let plain = run(program);
    let tortured = run_with(&[], &[("NOS_GC_TORTURE", "1"), ("NOS_HEAP_CELLS", "4096")], program);
    assert_eq!(plain.exit, 0);
    assert!(plain.stdout.contains("(1 \"a string of some length\" sym)"), "{plain:?}");
    assert_eq!(plain.stderr, "nos: error: car: not a list: 5\n");
    assert_eq!((tortured.exit, &tortured.stdout, &tortured.stderr), (plain.exit, &plain.stdout, &plain.stderr));
}

#[test]
fn a_file_is_evaluated_quietly_and_stops_at_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let good = dir.path().join("good.nos");
    fs::write(&good, "(define (sq x) (* x x))\n(print (sq 12))\n(sq 3)\n").expect("write good.nos");
    let bad = dir.path().join("bad.nos");
    fs::write(&bad, "(print 1)\n(car 2)\n(print 3)\n").expect("write bad.nos");
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_string();

    let got = run_with(&[&path(&good)], &[], "(print 'not-read)");
    assert_eq!((got.exit, got.stdout.as_str(), got.stderr.as_str()), (0, "144\n", ""));
    let got = run_with(&[&path(&bad)], &[], "");
    assert_eq!((got.exit, got.stdout.as_str(), got.stderr.as_str()), (1, "1\n", "nos: error: car: not a list: 2\n"));
    let missing = path(&dir.path().join("missing.nos"));
    let got = run_with(&[&missing], &[], "");
    assert_eq!((got.exit, got.stdout.as_str()), (1, ""));
    assert_eq!(got.stderr, format!("nos: cannot open {missing}\n"));
    // a directory opens, but reading it fails (EISDIR, 21)
    let got = run_with(&[&path(dir.path())], &[], "");
    assert_eq!((got.exit, got.stdout.as_str(), got.stderr.as_str()), (1, "", "nos: cannot read the input (error 21)\n"));
}

#[test]
fn command_line_and_environment() {
    let help = run_with(&["--help"], &[], "");
    assert_eq!((help.exit, help.stderr.as_str()), (0, ""));
    assert!(help.stdout.starts_with("usage: nos [FILE]\n"), "{help:?}");
    assert!(help.stdout.contains("NOS_HEAP_CELLS"), "{help:?}");
    assert_eq!(run_with(&["-h"], &[], "").stdout, help.stdout);
    let version = run_with(&["--version"], &[], "");
    assert_eq!((version.exit, version.stdout.as_str()), (0, "nos 0.1.0\n"));
    let two = run_with(&["a", "b"], &[], "");
    assert_eq!((two.exit, two.stdout.as_str(), two.stderr.as_str()), (2, "", help.stdout.as_str()));

    for bad in ["", "abc", "1023", "268435457", "12x", "99999999999999999999"] {
        let got = run_with(&[], &[("NOS_HEAP_CELLS", bad)], "1");
        assert_eq!(got.exit, 2, "NOS_HEAP_CELLS={bad:?}: {got:?}");
        assert_eq!(
            got.stderr,
            format!("nos: NOS_HEAP_CELLS must be a number of cells from 1024 to 268435456, not '{bad}'\n")
        );
    }
    let small = run_with(&[], &[("NOS_HEAP_CELLS", "1024")], "(+ 1 2)");
    assert_eq!((small.exit, small.stdout.as_str()), (0, "3\n"));
}

// --- the README sessions -------------------------------------------------------

/// The REPL sessions of a README: each fenced block whose first line is
/// `$ ./nos.elf`; the rest of the block is the transcript of a terminal
/// session, prompts and typed lines included, up to the last prompt, at
/// which the user types Ctrl-D.
fn readme_sessions(readme: &str) -> Vec<String> {
    let text = fs::read_to_string(project().join(readme)).unwrap_or_else(|e| panic!("read {readme}: {e}"));
    let mut sessions = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != "$ ./nos.elf" {
            continue;
        }
        let mut session = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            session.push_str(line);
            session.push('\n');
        }
        sessions.push(session);
    }
    sessions
}

/// The lines typed in a transcript.
fn typed_lines(session: &str) -> Vec<&str> {
    session.lines().filter_map(|l| l.strip_prefix("nos> ")).collect()
}

/// Replay a transcript through a pipe: no prompts, and the rest of the
/// transcript is what NOS prints (stdout and stderr interleaved as they
/// were on the terminal; here the order within each is checked).
fn check_session_through_a_pipe(readme: &str, session: &str) {
    let input: String = typed_lines(session).iter().map(|l| format!("{l}\n")).collect();
    let printed: Vec<&str> = session.lines().filter(|l| !l.starts_with("nos> ")).collect();
    let got = run(&input);
    assert_eq!(got.exit, 0, "{readme}: {got:?}");
    let errors: String = printed.iter().filter(|l| l.starts_with("nos: error: ")).map(|l| format!("{l}\n")).collect();
    let values: String = printed.iter().filter(|l| !l.starts_with("nos: error: ")).map(|l| format!("{l}\n")).collect();
    assert_eq!(got.stdout, values, "{readme}: the values of the session\n{session}");
    assert_eq!(got.stderr, errors, "{readme}: the errors of the session\n{session}");
}

/// Type a transcript's lines into NOS on a terminal that `script` provides,
/// each after the prompt before it has appeared, then Ctrl-D; the whole
/// transcript must come back. None when `script` cannot run here.
fn session_on_a_terminal(session: &str) -> Option<String> {
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(nos())
        .arg("/dev/null")
        .env_remove("NOS_HEAP_CELLS")
        .env_remove("NOS_GC_TORTURE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let output = collect(child.stdout.take().expect("piped stdout"));
    let prompts = |buffer: &Arc<Mutex<Vec<u8>>>| {
        let bytes = buffer.lock().expect("output");
        String::from_utf8_lossy(&bytes).matches("nos> ").count()
    };
    let start = Instant::now();
    let mut typed = 0;
    let lines = typed_lines(session);
    while typed <= lines.len() {
        // wait for prompt number typed + 1
        if prompts(&output.0) > typed {
            let line = lines.get(typed).map_or("\u{4}".to_string(), |l| format!("{l}\n"));
            stdin.write_all(line.as_bytes()).ok()?;
            stdin.flush().ok()?;
            typed += 1;
        } else if typed == 0 && output.1.is_finished() {
            // script could not give NOS a terminal here
            let _ = child.wait();
            return None;
        } else if start.elapsed() > time_limit() || output.1.is_finished() {
            let _ = child.kill();
            let _ = child.wait();
            let got = String::from_utf8_lossy(&output.0.lock().expect("output")).into_owned();
            panic!("the terminal session stopped after {typed} lines:\n{got}");
        } else {
            thread::sleep(Duration::from_millis(2));
        }
    }
    let status = wait_or_kill(&mut child);
    let transcript = collected_text(&output);
    assert!(status.success(), "script ended with {status}:\n{transcript}");
    Some(transcript.replace("\r\n", "\n"))
}

fn check_readme(readme: &str) {
    let sessions = readme_sessions(readme);
    assert!(!sessions.is_empty(), "{readme} shows no NOS session (a block starting '$ ./nos.elf')");
    for session in &sessions {
        check_session_through_a_pipe(readme, session);
        match session_on_a_terminal(session) {
            // NOS ends the line of the last prompt when the input ends
            Some(transcript) => assert_eq!(transcript, format!("{session}nos> \n"), "{readme}: on a terminal"),
            None => eprintln!(
                "{readme}: 'script' cannot give NOS a terminal here; the session was checked through a pipe only"
            ),
        }
    }
}

#[test]
fn the_readme_sessions_are_true() {
    check_readme("README.md");
    check_readme("subx-apps/nos/README.md");
}

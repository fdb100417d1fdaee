//! `subx finish`: the step after `scripts/ntranslate`'s pipeline. It either
//! reports the first failure at the user's `FILE:LINE`, or puts the ELF in
//! place; in both cases it puts the phases' texts next to it.
//!
//! ```text
//! subx finish --work DIR --out OUT --phases 'tests dquotes ...' [--umask MASK] -- SOURCE...
//! ```
//!
//! The pipeline left everything in DIR, a fresh directory beside OUT: the
//! exit status of `subx feed` and of each phase (`status`, one line), each
//! phase's stderr (`PHASE.err`), line map (`PHASE.map`) and output (`PHASE`,
//! the texts that are kept), the lines of each source file but the last
//! (`lines`), and the ELF (`elf`).
//!
//! **A failure.** The first step whose status is neither 0 nor 141 (141
//! means its reader went away because a later phase failed) failed for a
//! reason of its own. `feed` writes its messages in their final shape. A
//! phase names a line of its own input (`pack: line 12: ...`, CONTRACT
//! decision 18); the line maps of the phases before it lead back, one phase
//! at a time, to a line of the concatenated sources, and the line counts
//! to one file and line: `prog.subx:5: error: ...` (CONTRACT rule 4). A
//! line that a phase made up maps to no source line; the message then
//! names the last file, or says what the phase offered for that case
//! (`PHASE: if generated: ...`, see `src/error.rs`). References to other
//! lines inside a message (`\x01N\x01`) are mapped the same way.
//!
//! **The files.** Under a lock on OUT's directory, so that two runs that
//! write the same OUT at once leave the files of one of them: each kept
//! text this run made replaces the last run's (`a.tests` ... `a.survey` for
//! `a.elf`), and those it did not make are removed; on success the ELF,
//! given the mode `0777 & ~umask` as a linker gives it, replaces OUT in one
//! rename. A failed run leaves OUT as it was. An old text is removed before
//! the new one is renamed into its place, because ext4 flushes a file to
//! disk when it is renamed over an existing one (`auto_da_alloc`), which
//! would cost as much as writing the texts twice.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::error::io_reason;
use crate::line_map;
use crate::write_behind::WriteBehind;
use crate::{debug_info, listing, literals};

/// Exit status of a failed translation.
const EXIT_FAILED: u8 = 1;

/// Exit statuses that mean a step ended normally, or ended because a later
/// one failed and closed its output.
const BROKEN_PIPE: i32 = 141;

/// What `finish` is told.
pub struct Run {
    /// Where the pipeline wrote: its files are named `WORK.NAME`, beside OUT.
    pub work: PathBuf,
    /// The ELF to write.
    pub out: PathBuf,
    /// The phases, in pipeline order (`feed` comes before them).
    pub phases: Vec<String>,
    /// The source files, in order.
    pub sources: Vec<String>,
    /// The file-mode creation mask, for the ELF's mode.
    pub umask: u32,
    /// Write the maps next to the ELF (`a.labels`, `a.map`).
    pub maps: bool,
    /// Write the debug ELF for gdb (`a.debug`).
    pub debug: bool,
}

/// The files written next to the ELF on success, from the work directory:
/// (suffix of the kept file, name in the work directory).
const SIDE_FILES: [(&str, &str); 3] = [("labels", "labels.out"), ("map", "map.out"), ("debug", "debug.out")];

impl Run {
    /// The pipeline's file `name`: `WORK.name`.
    fn file(&self, name: &str) -> PathBuf {
        let mut path = self.work.clone().into_os_string();
        path.push(".");
        path.push(name);
        PathBuf::from(path)
    }

    /// Removes every file of the pipeline's (`WORK.*`).
    fn remove_work(&self) {
        let directory = directory_of(&self.work);
        let Some(prefix) = self.work.file_name().map(|n| format!("{}.", n.to_string_lossy())) else { return };
        let Ok(entries) = fs::read_dir(&directory) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// The kept text of `phase`: `a.pack` for `a.elf` (and for `a`).
    fn kept(&self, phase: &str) -> PathBuf {
        let out = self.out.as_os_str().to_string_lossy();
        let stem = out.strip_suffix(".elf").unwrap_or(&out);
        PathBuf::from(format!("{stem}.{phase}"))
    }

    /// The phases whose output is kept: all but the last, whose output is
    /// the ELF.
    fn kept_phases(&self) -> &[String] {
        &self.phases[..self.phases.len().saturating_sub(1)]
    }

    fn last_source(&self) -> &str {
        self.sources.last().map_or("", String::as_str)
    }

    /// The line map of `phase` (empty when it wrote none).
    fn line_map(&self, phase: &str) -> line_map::Map {
        line_map::Map::parse(&fs::read_to_string(self.file(&format!("{phase}.map"))).unwrap_or_default())
    }
}

/// How many lines each source file but the last gave, from the text of
/// `subx feed --line-counts`.
fn line_counts(text: &str) -> Vec<u64> {
    text.split_whitespace().filter_map(|n| n.parse().ok()).collect()
}

/// Reports the failure, if there was one, and puts the files in place.
/// Returns the message of the failure (the whole text for stderr).
pub fn finish(run: &Run) -> Result<(), String> {
    let status = statuses(run);
    let failure = failure_message(run, &status);
    if status.first().is_some_and(|&s| failed(s)) {
        // A source that cannot be read, or an OUT that cannot be written:
        // the phases ran on nothing, and nothing of theirs is kept.
        run.remove_work();
        return Err(failure.unwrap_or_default());
    }
    if failure.is_none() && (run.maps || run.debug) {
        if let Err(message) = write_side_files(run) {
            eprintln!("{}: warning: no maps written: {message}", run.out.display());
        }
    }
    let install = install(run, failure.is_none());
    match (failure, install) {
        (Some(message), _) => Err(message),
        (None, Err(message)) => Err(message),
        (None, Ok(())) => Ok(()),
    }
}

/// The exit status of each step, `subx feed` first, as the pipeline wrote
/// them in `status`; fewer than one per step when it was cut short.
fn statuses(run: &Run) -> Vec<i32> {
    let text = fs::read_to_string(run.file("status")).unwrap_or_default();
    text.split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

/// Did a step with exit status `status` fail for a reason of its own?
fn failed(status: i32) -> bool {
    status != 0 && status != BROKEN_PIPE
}

/// The message for the first step that failed, if one did, by the steps'
/// exit statuses.
fn failure_message(run: &Run, status: &[i32]) -> Option<String> {
    if status.len() != run.phases.len() + 1 {
        return Some(format!("{}: error: the phases did not run to their end (interrupted?)\n", run.last_source()));
    }
    if failed(status[0]) {
        let message = fs::read_to_string(run.file("feed.err")).unwrap_or_default();
        return Some(if message.is_empty() {
            format!("{}: error: cannot read the input files (exit status {})\n", run.last_source(), status[0])
        } else {
            message
        });
    }
    let (k, &code) = status[1..].iter().enumerate().find(|(_, &s)| failed(s))?;
    Some(phase_failure(run, k, code))
}

/// The message for phase `k`, which exited with `code`.
fn phase_failure(run: &Run, k: usize, code: i32) -> String {
    let phase = &run.phases[k];
    let err = fs::read(run.file(&format!("{phase}.err"))).unwrap_or_default();
    let err = String::from_utf8_lossy(&err);
    let prefix = format!("{phase}: ");
    let alternative_prefix = format!("{phase}: if generated: ");
    let mut lines = err.lines();
    let first = lines.next().unwrap_or("");
    let mut alternative = None;
    let mut rest = String::new();
    for line in lines {
        match line.strip_prefix(&alternative_prefix) {
            Some(text) if alternative.is_none() => alternative = Some(text),
            _ => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    let message = match first.strip_prefix(&prefix) {
        None if first.is_empty() => format!(
            "{}: error: phase '{phase}' failed (exit status {code}) without a message",
            run.last_source()
        ),
        None => format!("{}: error: {phase}: {first}", run.last_source()),
        Some(text) => {
            let back = Back::new(run, k);
            match split_line_number(text) {
                Some((line, text)) => {
                    let source = back.source_line(line);
                    let text = match (source, alternative) {
                        (None, Some(alternative)) => alternative,
                        _ => text,
                    };
                    format!("{}: error: {}", back.locate(source), back.map_references(text))
                }
                None => match write_failure(run, phase, text) {
                    Some(message) => message,
                    None => format!("{}: error: {}", run.last_source(), back.map_references(text)),
                },
            }
        }
    };
    let mut message = name_literals(run, &message);
    if run.phases.iter().any(|p| p == "braces") {
        message = name_block_labels(&message);
    }
    message.push('\n');
    message.push_str(&rest);
    message
}

/// `message` with each label that `braces` made for a block (`_loop0x0000002a`,
/// `_break0x0000002a`) shown as the word the user wrote for it, `loop` or
/// `break`.
fn name_block_labels(message: &str) -> String {
    let mut shown = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("_loop0x").into_iter().chain(rest.find("_break0x")).min() {
        let (word, prefix_len) = if rest[at..].starts_with("_loop0x") { ("loop", 7) } else { ("break", 8) };
        let digits = rest[at + prefix_len..].bytes().take_while(u8::is_ascii_hexdigit).count();
        shown.push_str(&rest[..at]);
        if digits == 8 {
            shown.push_str(word);
        } else {
            shown.push_str(&rest[at..at + prefix_len + digits]);
        }
        rest = &rest[at + prefix_len + digits..];
    }
    shown.push_str(rest);
    shown
}

/// `message` with each label that `dquotes` gave a string literal
/// (`_string1`) shown as the literal as written (`"hi"`, or `string
/// literal "hi"` where the label stood alone in quotes), read from
/// `dquotes`' output.
fn name_literals(run: &Run, message: &str) -> String {
    if !message.contains("_string") {
        return message.to_string();
    }
    let Ok(dquotes) = fs::read(run.file("dquotes")) else { return message.to_string() };
    let mut shown = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("_string") {
        let digits = rest[at + 7..].bytes().take_while(u8::is_ascii_digit).count();
        let name = &rest[at..at + 7 + digits];
        let glued = rest[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || "_-$?".contains(c))
            || rest[at + name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let literal = (!glued && digits > 0)
            .then(|| literals::string_literal(&dquotes, name.as_bytes()))
            .flatten();
        match literal {
            Some(literal) if rest[..at].ends_with('\'') && rest[at + name.len()..].starts_with('\'') => {
                shown.push_str(&rest[..at - 1]);
                shown.push_str("string literal ");
                shown.push_str(&literal);
                rest = &rest[at + name.len() + 1..];
            }
            Some(literal) => {
                shown.push_str(&rest[..at]);
                shown.push_str(&literal);
                rest = &rest[at + name.len()..];
            }
            None => {
                shown.push_str(&rest[..at + name.len()]);
                rest = &rest[at + name.len()..];
            }
        }
    }
    shown.push_str(rest);
    shown
}

/// `line N: MESSAGE` → (N, MESSAGE).
fn split_line_number(text: &str) -> Option<(u64, &str)> {
    let rest = text.strip_prefix("line ")?;
    let (number, message) = rest.split_once(": ")?;
    Some((number.parse().ok()?, message))
}

/// A phase could not write its output: name the file being written (a
/// kept text, or the ELF for the last phase), not a source file.
fn write_failure(run: &Run, phase: &str, text: &str) -> Option<String> {
    let tee = run.file(phase);
    let tee_shown = format!("cannot write '{}': ", tee.display());
    if let Some(reason) = text.strip_prefix("I/O error: ").unwrap_or(text).strip_prefix(&tee_shown) {
        return Some(format!("{}: error: cannot write this file: {reason}", run.kept(phase).display()));
    }
    let reason = text.strip_prefix("I/O error: ")?;
    let is_last = run.phases.last().is_some_and(|p| p == phase);
    is_last.then(|| format!("{}: error: cannot write this file: {reason}", run.out.display()))
}

/// Follows lines of phase `k`'s input back to the sources: the line maps
/// of the phases before it, and the sources' line counts, each read at
/// most once (and not at all for a message that names no line).
struct Back<'r> {
    run: &'r Run,
    k: usize,
    maps: OnceCell<Vec<line_map::Map>>,
    counts: OnceCell<Vec<u64>>,
}

impl<'r> Back<'r> {
    fn new(run: &'r Run, k: usize) -> Back<'r> {
        Back { run, k, maps: OnceCell::new(), counts: OnceCell::new() }
    }

    /// Line `line` of phase `k`'s input, followed back through the maps of
    /// the phases before it to a line of the concatenated sources; `None`
    /// when a phase made it up.
    fn source_line(&self, line: u64) -> Option<u64> {
        let maps = self.maps.get_or_init(|| self.run.phases[..self.k].iter().map(|p| self.run.line_map(p)).collect());
        line_map::follow_back(maps, line)
    }

    /// `FILE:LINE` for a line of the concatenated sources; the last file
    /// alone for a line no source holds.
    fn locate(&self, line: Option<u64>) -> String {
        // Locating a line needs the files' names and line counts, not their text.
        let counts =
            self.counts.get_or_init(|| line_counts(&fs::read_to_string(self.run.file("lines")).unwrap_or_default()));
        let sources = listing::Sources { names: &self.run.sources, line_counts: counts, text: &[] };
        match line.and_then(|line| sources.locate(line)) {
            Some((file, line)) => format!("{}:{line}", self.run.sources[file]),
            None => self.run.last_source().to_string(),
        }
    }

    /// `text` with each reference to a line of phase `k`'s input (marked
    /// `\x01N\x01` by the phase) shown as the `FILE:LINE` it came from.
    fn map_references(&self, text: &str) -> String {
        let mut shown = String::with_capacity(text.len());
        let mut parts = text.split('\x01');
        shown.push_str(parts.next().unwrap_or(""));
        let mut in_reference = true;
        for part in parts {
            match part.parse::<u64>() {
                Ok(line) if in_reference => match self.source_line(line) {
                    Some(source) => shown.push_str(&self.locate(Some(source))),
                    None => shown.push_str("a line the translator generated"),
                },
                _ => shown.push_str(part),
            }
            in_reference = !in_reference;
        }
        shown
    }
}

/// Puts the kept texts in place, and the ELF when `success`; removes DIR.
fn install(run: &Run, success: bool) -> Result<(), String> {
    let result = install_files(run, success);
    run.remove_work();
    result
}

fn install_files(run: &Run, success: bool) -> Result<(), String> {
    // The lock is released when `lock` is dropped, at the end.
    let lock = fs::File::open(directory_of(&run.out)).map_err(|e| cannot(&run.out, e))?;
    lock.lock().map_err(|e| cannot(&run.out, e))?;
    for phase in run.kept_phases() {
        replace(&run.file(phase), &run.kept(phase))?;
    }
    if success {
        for (suffix, made) in SIDE_FILES {
            replace(&run.file(made), &run.kept(suffix))?;
        }
        let elf = run.file("elf");
        let mode = 0o777 & !run.umask;
        fs::set_permissions(&elf, fs::Permissions::from_mode(mode)).map_err(|e| cannot(&run.out, e))?;
        fs::rename(&elf, &run.out).map_err(|e| cannot(&run.out, e))?;
    }
    drop(lock);
    Ok(())
}

/// Removes the last run's `kept`, and puts `made` in its place if this run
/// made it (see the module's doc comment for why in two steps).
fn replace(made: &Path, kept: &Path) -> Result<(), String> {
    match fs::remove_file(kept) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(cannot(kept, e)),
        _ => {}
    }
    if made.exists() {
        fs::rename(made, kept).map_err(|e| cannot(kept, e))?;
    }
    Ok(())
}

/// The message for a file that cannot be written.
fn cannot(path: &Path, e: io::Error) -> String {
    format!("{}: error: cannot write this file: {}\n", path.display(), io_reason(&e))
}

/// The directory `path` is in.
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The sources' text: `tests` copies its input line for line before its
/// run-tests, so its output will do; a sugared program's sources are copied
/// by subx feed.
fn read_source(run: &Run) -> Result<Vec<u8>, String> {
    let name = if run.phases.first().is_some_and(|p| p == "tests") { "tests" } else { "source" };
    fs::read(run.file(name)).map_err(|e| format!("cannot read '{name}': {}", io_reason(&e)))
}

/// Builds the maps (and the debug ELF) from the work directory, into
/// `labels.out`, `map.out` (and `debug.out`) there.
fn write_side_files(run: &Run) -> Result<(), String> {
    let read = |name: &str| fs::read(run.file(name)).map_err(|e| format!("cannot read '{name}': {}", io_reason(&e)));
    let elf = read("elf")?;
    // The fingerprint is taken on a second core while the rest is read.
    let (elf_sha256, read_rest) = std::thread::scope(|s| {
        let sha = s.spawn(|| crate::sha256::to_hex(&crate::sha256::sha256(&elf)));
        let rest = (|| Ok::<_, String>((read("labels")?, read_source(run)?, read("lines")?)))();
        (sha.join().unwrap_or_default(), rest)
    });
    let (survey_labels, source, lines) = read_rest?;
    let survey_path = run.file("survey");
    let survey_output = move || -> io::Result<Box<dyn io::BufRead>> {
        Ok(Box::new(io::BufReader::with_capacity(1 << 17, fs::File::open(&survey_path)?)))
    };
    let counts = line_counts(&String::from_utf8_lossy(&lines));
    let survey = run.phases.iter().position(|p| p == "survey").ok_or("no survey phase")?;
    let phases = run.phases[..=survey]
        .iter()
        .map(|name| {
            let path = run.file(name);
            let output = Box::new(move || fs::read(&path).unwrap_or_default());
            listing::Phase { name, map: run.line_map(name), output }
        })
        .collect();
    let elf_name = run.out.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let inputs = listing::Inputs {
        elf_name: &elf_name,
        elf_sha256,
        elf: &elf,
        phases,
        survey_output: &survey_output,
        labels: listing::SurveyLabels::parse(&survey_labels),
        sources: listing::Sources { names: &run.sources, line_counts: &counts, text: &source },
    };
    let write = |name: &str, what: &dyn Fn(&mut dyn io::Write) -> io::Result<()>| -> Result<(), String> {
        let path = run.file(name);
        let file = fs::File::create(&path).map_err(|e| format!("cannot write '{name}': {}", io_reason(&e)))?;
        let mut out = io::BufWriter::with_capacity(1 << 17, file);
        what(&mut out).and_then(|()| io::Write::flush(&mut out)).map_err(|e| format!("cannot write '{name}': {}", io_reason(&e)))
    };
    if run.maps {
        write("labels.out", &|out| listing::write_labels(&inputs, out))?;
        // The listing is large: its bytes are written on a second core.
        let cannot_write = |e: io::Error| format!("cannot write 'map.out': {}", io_reason(&e));
        let file = fs::File::create(run.file("map.out")).map_err(cannot_write)?;
        let mut out = WriteBehind::new(file);
        listing::write_map(&inputs, &mut out).map_err(cannot_write)?;
        out.finish().map_err(cannot_write)?;
    }
    if run.debug {
        let comp_dir = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        let info = listing::debug_info(&inputs, &comp_dir);
        write("debug.out", &|out| out.write_all(&debug_info::debug_elf(&info)))?;
    }
    Ok(())
}

pub fn main(args: &[OsString]) -> ExitCode {
    match parse_args(args) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(run)) => match finish(&run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprint!("{message}");
                ExitCode::from(EXIT_FAILED)
            }
        },
        Err(message) => {
            eprintln!("subx finish: {message}\nTry 'subx finish --help'.");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

fn parse_args(args: &[OsString]) -> Result<Option<Run>, String> {
    let mut umask = None;
    let mut run = Run {
        work: PathBuf::new(),
        out: PathBuf::new(),
        phases: Vec::new(),
        sources: Vec::new(),
        umask: 0,
        maps: false,
        debug: false,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("option '{}' needs a value", arg.to_string_lossy()));
        match arg.to_str() {
            Some("-h" | "--help") => {
                print!("{}", help());
                return Ok(None);
            }
            Some("--work") => run.work = PathBuf::from(value()?),
            Some("--maps") => run.maps = true,
            Some("--debug") => run.debug = true,
            Some("--out") => run.out = PathBuf::from(value()?),
            Some("--phases") => {
                run.phases = value()?.to_string_lossy().split_whitespace().map(String::from).collect();
            }
            Some("--umask") => {
                let text = value()?;
                let mask = u32::from_str_radix(&text.to_string_lossy(), 8)
                    .map_err(|_| format!("'--umask {}' is not an octal mask", text.to_string_lossy()))?;
                umask = Some(mask);
            }
            Some("--") => {
                run.sources.extend(rest.by_ref().map(|s| s.to_string_lossy().into_owned()));
            }
            _ => return Err(format!("unexpected argument '{}'", arg.to_string_lossy())),
        }
    }
    if run.work.as_os_str().is_empty() || run.out.as_os_str().is_empty() || run.phases.is_empty() {
        return Err("--work, --out and --phases are required".to_string());
    }
    run.umask = umask.or_else(process_umask).unwrap_or(0o022);
    Ok(Some(run))
}

/// This process's file-mode creation mask, from Linux's `/proc` (Rust's
/// standard library has no call that reads it without changing it).
fn process_umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let mask = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(mask.trim(), 8).ok()
}

fn help() -> String {
    "usage: subx finish --work DIR --out OUT --phases 'PHASE...' [--umask MASK] -- SOURCE...\n\
     \n\
     The last step of scripts/ntranslate. DIR holds what the pipeline left: the\n\
     exit statuses ('status': subx feed's, then each phase's), each phase's\n\
     messages, line map and output, the source files' line counts, the ELF. If a\n\
     step failed, print its message at the user's FILE:LINE; in any case put the\n\
     phases' texts next to OUT (a.tests ... for a.elf), and on success the ELF\n\
     at OUT, with the mode 0777 & ~MASK (the process's umask by default); then\n\
     remove DIR.\n\
     \n\
     Exit status: 0 success; 1 the translation failed (the message is on\n\
     stderr); 2 usage error.\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A work directory as the pipeline leaves it.
    fn work(files: &[(&str, &str)]) -> (tempfile::TempDir, Run) {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join(".ntranslate.1");
        let run = Run {
            work,
            out: dir.path().join("a.elf"),
            phases: ["tests", "dquotes", "pack", "hex"].map(String::from).to_vec(),
            sources: vec!["init.linux".into(), "prog.subx".into()],
            umask: 0o022,
            maps: false,
            debug: false,
        };
        for (name, text) in files {
            fs::write(run.file(name), text).unwrap();
        }
        (dir, run)
    }

    #[test]
    fn an_error_is_followed_back_through_the_maps_to_its_file_and_line() {
        // pack's line 7 is dquotes' output line 7, from its input line 6,
        // tests' output line 6, from its input line 6: init.linux has 4
        // lines, so prog.subx:2.
        let (_dir, run) = work(&[
            ("status", "0 0 0 1 141\n"),
            ("lines", "4\n"),
            ("tests.map", "1 1 10\n"),
            ("dquotes.map", "1 1 5\n7 6 3\n"),
            ("pack.err", "pack: line 7: 'x' is wrong, see \x013\x01\n"),
        ]);
        assert_eq!(failure_message(&run, &statuses(&run)).unwrap(), "prog.subx:2: error: 'x' is wrong, see init.linux:3\n");
    }

    #[test]
    fn string_literals_are_named_as_written_not_by_their_labels() {
        let (_dir, run) = work(&[
            ("status", "0 0 0 1 141\n"),
            ("lines", "4\n"),
            ("tests.map", "1 1 10\n"),
            ("dquotes.map", "1 1 6\n"),
            ("dquotes", "== code\n68/push _string1 \n== data\n_string1:\n0x00000002/imm32 68/h 69/i \n"),
            ("pack.err", "pack: line 2: '_string1' has no operand type, in '68/push _string1'\n"),
        ]);
        assert_eq!(
            failure_message(&run, &statuses(&run)).unwrap(),
            "init.linux:2: error: string literal \"hi\" has no operand type, in '68/push \"hi\"'\n"
        );
    }

    #[test]
    fn the_labels_of_blocks_are_named_as_the_user_wrote_them() {
        assert_eq!(
            name_block_labels("'_break0x00000001/disp8': '_break0x00000001' is 0x15e bytes away; _loop0x0000002a"),
            "'break/disp8': 'break' is 0x15e bytes away; loop"
        );
        assert_eq!(name_block_labels("_loop0x12 stays"), "_loop0x12 stays");
    }

    #[test]
    fn a_generated_line_names_the_last_file_or_says_the_alternative() {
        let (_dir, run) = work(&[
            ("status", "0 0 1 141 141\n"),
            ("tests.map", "1 1 2\n"),
            ("dquotes.err", "dquotes: line 3: bare header\ndquotes: if generated: no 'data' segment\n"),
        ]);
        assert_eq!(failure_message(&run, &statuses(&run)).unwrap(), "prog.subx: error: no 'data' segment\n");
    }

    #[test]
    fn feeds_message_comes_first() {
        let (_dir, run) =
            work(&[("status", "1 0 1 141 141\n"), ("feed.err", "a.subx:1: error: 'x': before any header\n")]);
        assert_eq!(failure_message(&run, &statuses(&run)).unwrap(), "a.subx:1: error: 'x': before any header\n");
    }

    #[test]
    fn a_run_cut_short_is_told_so() {
        let (_dir, run) = work(&[("status", "0 0\n")]);
        assert!(failure_message(&run, &statuses(&run)).unwrap().contains("did not run to their end"));
    }

    #[test]
    fn a_failed_write_names_the_file_being_written() {
        let (_dir, run) = work(&[("status", "0 0 0 0 2\n"), ("hex.err", "hex: I/O error: No space left on device\n")]);
        let message = failure_message(&run, &statuses(&run)).unwrap();
        assert_eq!(message, format!("{}: error: cannot write this file: No space left on device\n", run.out.display()));
        let (_dir, run) = work(&[("status", "0 0 0 2 141")]);
        let err = format!("pack: cannot write '{}': File too large\n", run.file("pack").display());
        fs::write(run.file("pack.err"), err).unwrap();
        assert!(failure_message(&run, &statuses(&run)).unwrap().ends_with("a.pack: error: cannot write this file: File too large\n"));
    }

    #[test]
    fn success_puts_the_elf_and_texts_in_place_with_the_umask_mode() {
        let (dir, mut run) = work(&[("status", "0 0 0 0 0\n"), ("elf", "ELF"), ("tests", "t"), ("pack", "p")]);
        fs::write(dir.path().join("a.dquotes"), "stale").unwrap();
        run.umask = 0o027;
        finish(&run).unwrap();
        let elf = dir.path().join("a.elf");
        assert_eq!(fs::read_to_string(&elf).unwrap(), "ELF");
        assert_eq!(fs::metadata(&elf).unwrap().permissions().mode() & 0o777, 0o750);
        assert_eq!(fs::read_to_string(dir.path().join("a.tests")).unwrap(), "t");
        assert!(!dir.path().join("a.dquotes").exists(), "a stale text is removed");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3, "a.elf, a.tests, a.pack and nothing of the pipeline's");
    }

    #[test]
    fn failure_keeps_the_texts_and_leaves_out_alone() {
        let (dir, run) = work(&[("status", "0 0 1 141 141\n"), ("tests", "t"), ("dquotes.err", "dquotes: oops\n")]);
        fs::write(&run.out, "old").unwrap();
        assert_eq!(finish(&run).unwrap_err(), "prog.subx: error: oops\n");
        assert_eq!(fs::read_to_string(&run.out).unwrap(), "old");
        assert_eq!(fs::read_to_string(dir.path().join("a.tests")).unwrap(), "t");
    }
}

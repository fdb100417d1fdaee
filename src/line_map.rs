//! Where each output line came from: the side channel behind
//! `ntranslate`'s `FILE:LINE:` messages.
//!
//! The phases' stdout must stay byte-identical to the reference, so the
//! origin of every line travels separately. Given `--line-map FILE`, a phase
//! writes FILE as runs of lines, one run per text line:
//!
//! ```text
//! OUT IN COUNT
//! ```
//!
//! meaning output lines `OUT .. OUT+COUNT-1` came from input lines
//! `IN .. IN+COUNT-1` (all 1-based). A run with a fourth field,
//!
//! ```text
//! OUT IN COUNT *
//! ```
//!
//! says that the phase made up output lines `OUT .. OUT+COUNT-1` for input
//! line `IN`: the lines of a string literal's data entry (`dquotes`), the
//! pushes and the call a one-line call becomes (`calls`). An error on one
//! of them is the source line's, and the listing shows them as generated
//! for it. Output lines that no run covers were made up by the phase for no
//! line at all (the `run-tests` function, the `== data` header of the
//! strings). Most phases copy lines in long stretches, so a map holds a
//! handful of runs however large the program: `tests` on a 100 MB file
//! writes one run.
//!
//! When an error names line N of some phase's input, `ntranslate` walks the
//! maps backwards, phase by phase, down to a line of the concatenated
//! source files, and from there to one file and line.
//!
//! ```
//! use subx::line_map::LineMap;
//! let mut map = LineMap::in_memory();
//! map.next_output_from(1);   // output line 1 is input line 1
//! map.next_output_from(2);   // output line 2 is input line 2
//! map.next_output_generated();
//! map.next_output_from(7);
//! map.lines_generated_for(7, 3); // output lines 5-7 stand for input line 7
//! assert_eq!(map.finish_to_string(), "1 1 2\n4 7 1\n5 7 3 *\n");
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::number::push_decimal;

/// Records, line by line, where a phase's output came from.
pub struct LineMap {
    sink: Sink,
    /// The 1-based number the next output line will have.
    next_output: u64,
    /// The run being extended.
    run: Option<Run>,
    /// Where a run's text is put together.
    scratch: Vec<u8>,
}

enum Sink {
    Off,
    File(BufWriter<File>),
    Memory(Vec<u8>),
}

impl LineMap {
    /// A map that records nothing (a phase run without `--line-map`).
    pub fn off() -> LineMap {
        LineMap { sink: Sink::Off, next_output: 1, run: None, scratch: Vec::new() }
    }

    /// A map written to `path`.
    pub fn to_file(path: &Path) -> io::Result<LineMap> {
        let file = File::create(path)?;
        Ok(LineMap { sink: Sink::File(BufWriter::new(file)), next_output: 1, run: None, scratch: Vec::new() })
    }

    /// A map kept in memory, for tests.
    pub fn in_memory() -> LineMap {
        LineMap { sink: Sink::Memory(Vec::new()), next_output: 1, run: None, scratch: Vec::new() }
    }

    /// Is anything being recorded? Phases may skip bookkeeping when not.
    pub fn is_on(&self) -> bool {
        !matches!(self.sink, Sink::Off)
    }

    /// The next output line came from input line `input_line` (1-based).
    pub fn next_output_from(&mut self, input_line: u64) {
        self.lines_from(input_line, 1);
    }

    /// The next `count` output lines came from input lines
    /// `input_line .. input_line + count`.
    pub fn lines_from(&mut self, input_line: u64, count: u64) {
        self.add(Run { output: self.next_output, input: input_line, count, generated: false });
    }

    /// The next `count` output lines were made up for input line
    /// `input_line` (they stand for it).
    pub fn lines_generated_for(&mut self, input_line: u64, count: u64) {
        self.add(Run { output: self.next_output, input: input_line, count, generated: true });
    }

    fn add(&mut self, next: Run) {
        if next.count == 0 {
            return;
        }
        self.next_output += next.count;
        if !self.is_on() {
            return;
        }
        match &mut self.run {
            Some(run) if run.continued_by(&next) => run.count += next.count,
            _ => {
                self.flush_run();
                self.run = Some(next);
            }
        }
    }

    /// The next output line was made up by the phase.
    pub fn next_output_generated(&mut self) {
        self.flush_run();
        self.next_output += 1;
    }

    /// Writes out the last run and flushes the file. Call once at the end
    /// (also after an error: the map then still locates the failing line).
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush_run();
        match &mut self.sink {
            Sink::File(w) => w.flush(),
            _ => Ok(()),
        }
    }

    /// Finishes an in-memory map and returns its text.
    pub fn finish_to_string(mut self) -> String {
        self.flush_run();
        match self.sink {
            Sink::Memory(bytes) => String::from_utf8(bytes).unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn flush_run(&mut self) {
        let Some(run) = self.run.take() else { return };
        // A 100 MB program makes half a million runs: no `format!` here.
        let text = &mut self.scratch;
        text.clear();
        for (number, end) in [(run.output, b' '), (run.input, b' '), (run.count, b'\n')] {
            push_decimal(text, number);
            text.push(end);
        }
        if run.generated {
            text.insert(text.len() - 1, b' ');
            text.insert(text.len() - 1, b'*');
        }
        match &mut self.sink {
            Sink::Off => {}
            // An I/O error here shows up again, and is reported, in finish().
            Sink::File(w) => {
                let _ = w.write_all(text);
            }
            Sink::Memory(bytes) => bytes.extend_from_slice(text),
        }
    }
}

/// One run of a map: `count` output lines from `output` on, from input
/// lines `input ..` one for one, or, when `generated`, all made up for
/// input line `input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub output: u64,
    pub input: u64,
    pub count: u64,
    pub generated: bool,
}

impl Run {
    /// Does `next` carry on where this run ends, so that the two are one?
    fn continued_by(&self, next: &Run) -> bool {
        self.generated == next.generated
            && self.output + self.count == next.output
            && if self.generated { self.input == next.input } else { self.input + self.count == next.input }
    }

    /// Where output line `line` (inside this run) came from.
    fn origin(&self, line: u64) -> Origin {
        if self.generated {
            Origin::GeneratedFor(self.input)
        } else {
            Origin::Line(self.input + (line - self.output))
        }
    }
}

/// Where an output line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Copied (perhaps rewritten) from this input line.
    Line(u64),
    /// Made up for this input line.
    GeneratedFor(u64),
    /// Made up for no line.
    Generated,
}

impl Origin {
    /// The input line, if there is one.
    pub fn line(self) -> Option<u64> {
        match self {
            Origin::Line(n) | Origin::GeneratedFor(n) => Some(n),
            Origin::Generated => None,
        }
    }
}

/// A phase's map read back: its runs in output order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Map {
    pub runs: Vec<Run>,
}

impl Map {
    /// Reads a map's text; lines that are not runs are skipped.
    pub fn parse(text: &str) -> Map {
        let runs = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let mut number = || fields.next().and_then(|f| f.parse::<u64>().ok());
                let (output, input, count) = (number()?, number()?, number()?);
                let generated = fields.next() == Some("*");
                Some(Run { output, input, count, generated })
            })
            .collect();
        Map { runs }
    }

    /// Where output line `line` came from.
    pub fn origin(&self, line: u64) -> Origin {
        self.origin_in(self.last_run_at_or_before(line), line)
    }

    /// The same, for lines asked about mostly in order (the listing):
    /// `cursor`, the run the last answer came from, and the run after it
    /// are tried before a search; it is left at the run that answered.
    #[inline]
    pub fn origin_near(&self, cursor: &mut usize, line: u64) -> Origin {
        for i in [*cursor, *cursor + 1] {
            if let Some(run) = self.runs.get(i) {
                if run.output <= line && line < run.output + run.count {
                    *cursor = i;
                    return run.origin(line);
                }
            }
        }
        let run = self.last_run_at_or_before(line);
        if let Some(i) = run {
            *cursor = i;
        }
        self.origin_in(run, line)
    }

    /// The last run that starts at or before `line`.
    fn last_run_at_or_before(&self, line: u64) -> Option<usize> {
        self.runs.partition_point(|r| r.output <= line).checked_sub(1)
    }

    /// Where `line` came from, given the last run that starts at or before it.
    fn origin_in(&self, run: Option<usize>, line: u64) -> Origin {
        match run.map(|i| &self.runs[i]) {
            Some(run) if line < run.output + run.count => run.origin(line),
            _ => Origin::Generated,
        }
    }
}

/// Where a stretch of text that a phase holds back came from: runs of
/// consecutive input lines, kept until the text is written, then handed to
/// the [`LineMap`] in one go (`assort` holds segments, `survey` its body).
///
/// ```
/// use subx::line_map::{LineMap, Runs};
/// let mut runs = Runs::default();
/// for line in [4, 5, 6, 9] {
///     runs.push_line(line);
/// }
/// let mut map = LineMap::in_memory();
/// runs.write_to(&mut map);
/// assert_eq!(map.finish_to_string(), "1 4 3\n4 9 1\n");
/// ```
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Runs {
    /// (first input line, number of lines), in output order.
    runs: Vec<(u64, u64)>,
}

impl Runs {
    /// The next held line came from input line `line`.
    pub fn push_line(&mut self, line: u64) {
        match self.runs.last_mut() {
            Some((first, count)) if *first + *count == line => *count += 1,
            _ => self.runs.push((line, 1)),
        }
    }

    /// The held lines, in order, as the next output lines of `map`.
    pub fn write_to(&self, map: &mut LineMap) {
        for &(first, count) in &self.runs {
            map.lines_from(first, count);
        }
    }
}

/// Follows a map backwards: which input line did output line `line` come
/// from (or was made up for)? `None` for a line made up for none. `map` is
/// a map's text.
pub fn source_of(map: &str, line: u64) -> Option<u64> {
    Map::parse(map).origin(line).line()
}

/// Follows line `line` of a phase's input back through `maps`, the line
/// maps of the phases before it in pipeline order, to a line of the first
/// phase's input; `None` when one of them made the line up for no line.
///
/// ```
/// use subx::line_map::{follow_back, Map};
/// // The first phase copied lines 1-10; the second moved its input line 6
/// // to output line 7 and made up lines 8-9 for it.
/// let maps = [Map::parse("1 1 10\n"), Map::parse("1 1 5\n7 6 1\n8 6 2 *\n")];
/// assert_eq!(follow_back(&maps, 9), Some(6));
/// assert_eq!(follow_back(&maps, 6), None);
/// ```
pub fn follow_back(maps: &[Map], line: u64) -> Option<u64> {
    maps.iter().rev().try_fold(line, |line, map| map.origin(line).line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_lines_make_one_run() {
        let mut map = LineMap::in_memory();
        for i in 1..=1000 {
            map.next_output_from(i);
        }
        assert_eq!(map.finish_to_string(), "1 1 1000\n");
    }

    #[test]
    fn numbers_are_written_in_decimal_whatever_their_size() {
        for number in [0, 7, 10, 99, 100, 4_294_967_296, u64::MAX] {
            let mut text = Vec::new();
            push_decimal(&mut text, number);
            assert_eq!(text, number.to_string().as_bytes());
        }
        let mut map = LineMap::in_memory();
        map.lines_from(u64::MAX - 5, 5);
        assert_eq!(map.finish_to_string(), format!("1 {} 5\n", u64::MAX - 5));
    }

    #[test]
    fn reordered_lines_start_new_runs() {
        let mut map = LineMap::in_memory();
        map.lines_from(5, 3);
        map.lines_from(1, 2);
        map.next_output_generated();
        map.next_output_from(3);
        let text = map.finish_to_string();
        assert_eq!(text, "1 5 3\n4 1 2\n7 3 1\n");
        assert_eq!(source_of(&text, 2), Some(6));
        assert_eq!(source_of(&text, 5), Some(2));
        assert_eq!(source_of(&text, 6), None);
        assert_eq!(source_of(&text, 7), Some(3));
    }

    #[test]
    fn lines_made_up_for_a_line_make_runs_of_their_own() {
        let mut map = LineMap::in_memory();
        map.lines_from(1, 2);
        map.lines_generated_for(3, 2);
        map.lines_generated_for(3, 1);
        map.lines_generated_for(4, 1);
        map.lines_from(4, 1);
        let text = map.finish_to_string();
        assert_eq!(text, "1 1 2\n3 3 3 *\n6 4 1 *\n7 4 1\n");
        let parsed = Map::parse(&text);
        assert_eq!(parsed.origin(2), Origin::Line(2));
        assert_eq!(parsed.origin(5), Origin::GeneratedFor(3));
        assert_eq!(parsed.origin(7), Origin::Line(4));
        assert_eq!(parsed.origin(8), Origin::Generated);
        assert_eq!(source_of(&text, 4), Some(3));
    }

    #[test]
    fn origin_near_answers_as_origin_whatever_the_order() {
        let map = Map::parse("1 1 2\n3 3 3 *\n6 4 1 *\n7 4 1\n9 20 5\n");
        let mut cursor = 0;
        for line in (0..16).chain((0..16).rev()).chain([3, 12, 1, 9, 15, 6]) {
            assert_eq!(map.origin_near(&mut cursor, line), map.origin(line), "line {line}");
        }
    }

    #[test]
    fn a_map_that_is_off_still_counts_nothing_out() {
        let mut map = LineMap::off();
        map.next_output_from(1);
        assert!(!map.is_on());
        assert!(map.finish().is_ok());
    }
}

//! Reading input a line at a time, fast.

use std::io::{self, BufRead};

/// Appends the next line of `input` to `line`, its LF included, and returns
/// the number of bytes read (0 at the end of the input): the same as
/// `BufRead::read_until(b'\n', line)`, but it finds the LF with the
/// `memchr` crate's vectorised search, where std's scalar search cost a
/// quarter of the run time of the line-by-line phases.
pub fn read_line(input: &mut dyn BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    let mut read = 0;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            return Ok(read);
        }
        let (taken, done) = match memchr::memchr(b'\n', buffer) {
            Some(lf) => (lf + 1, true),
            None => (buffer.len(), false),
        };
        line.extend_from_slice(&buffer[..taken]);
        input.consume(taken);
        read += taken;
        if done {
            return Ok(read);
        }
    }
}

/// The lines of an input, one at a time: [`Lines::next_line`] lends each
/// line, its LF included, straight out of the reader's buffer when the whole
/// line is in it (most lines: no copy), or out of a buffer of its own for a
/// line that spans refills.
pub struct Lines<'a> {
    input: &'a mut dyn BufRead,
    /// Bytes of the last line lent from the reader's buffer, to consume
    /// before reading on.
    lent: usize,
    /// The last line, when it spanned refills.
    spanning: Vec<u8>,
}

impl<'a> Lines<'a> {
    pub fn new(input: &'a mut dyn BufRead) -> Lines<'a> {
        Lines { input, lent: 0, spanning: Vec::new() }
    }

    /// The next line, or `None` at the end of the input. The last line
    /// lacks an LF when the input does not end with one.
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.input.consume(self.lent);
        self.lent = 0;
        self.spanning.clear();
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buffer.is_empty() {
                return Ok(if self.spanning.is_empty() { None } else { Some(&self.spanning) });
            }
            match memchr::memchr(b'\n', buffer) {
                Some(lf) if self.spanning.is_empty() => {
                    self.lent = lf + 1;
                    break;
                }
                Some(lf) => {
                    self.spanning.extend_from_slice(&buffer[..=lf]);
                    self.input.consume(lf + 1);
                    return Ok(Some(&self.spanning));
                }
                None => {
                    let taken = buffer.len();
                    self.spanning.extend_from_slice(buffer);
                    self.input.consume(taken);
                }
            }
        }
        // The line lies whole in the reader's buffer: asking for the buffer
        // again does no I/O (the borrow checker cannot yet see that the
        // first borrow ended inside the loop).
        Ok(Some(&self.input.fill_buf()?[..self.lent]))
    }
}

/// The input in large blocks of whole lines: each block
/// [`Blocks::next_block`] lends ends with an LF (only the input's last
/// block may not, when the input does not end with one). A phase can then
/// scan and copy many lines at a time, out of one buffer it reuses.
pub struct Blocks<'a> {
    input: &'a mut dyn BufRead,
    buffer: Vec<u8>,
    /// Bytes of `buffer` read so far, and lent in the last block.
    filled: usize,
    lent: usize,
    /// `buffer[..searched]` has been searched for an LF.
    searched: usize,
    at_end: bool,
}

/// The smallest read into a block's buffer; the buffer doubles when a line
/// leaves less room than this.
const BLOCK_READ: usize = 1 << 18;

impl<'a> Blocks<'a> {
    pub fn new(input: &'a mut dyn BufRead) -> Blocks<'a> {
        Blocks { input, buffer: vec![0; 2 * BLOCK_READ], filled: 0, lent: 0, searched: 0, at_end: false }
    }

    /// The next block of whole lines, or `None` at the end of the input.
    pub fn next_block(&mut self) -> io::Result<Option<&[u8]>> {
        // The start of a line that did not fit moves to the front.
        self.buffer.copy_within(self.lent..self.filled, 0);
        self.filled -= self.lent;
        self.searched = self.filled;
        self.lent = 0;
        loop {
            if self.at_end {
                self.lent = self.filled;
                return Ok(if self.filled == 0 { None } else { Some(&self.buffer[..self.filled]) });
            }
            if self.buffer.len() - self.filled < BLOCK_READ {
                self.buffer.resize(2 * self.buffer.len(), 0);
            }
            let read = match self.input.read(&mut self.buffer[self.filled..]) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.filled += read;
            self.at_end = read == 0;
            if let Some(lf) = memchr::memrchr(b'\n', &self.buffer[self.searched..self.filled]) {
                self.lent = self.searched + lf + 1;
                return Ok(Some(&self.buffer[..self.lent]));
            }
            self.searched = self.filled;
        }
    }
}

/// The lines of a block (or of any text), each with its LF; the last one
/// lacks it when the text does not end with one.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == text.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |at| start + at + 1);
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_like_read_until() {
        let text = b"one\n\ntwo\nlast";
        // A tiny buffer makes lines span refills.
        let mut input = io::BufReader::with_capacity(2, &text[..]);
        let mut got = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = read_line(&mut input, &mut line).unwrap();
            assert_eq!(n, line.len());
            if n == 0 {
                break;
            }
            got.push(line);
        }
        assert_eq!(got, [&b"one\n"[..], b"\n", b"two\n", b"last"]);
    }

    #[test]
    fn lines_lends_every_line_whole_across_refills() {
        let text = b"one\n\nthree and more\nlast";
        for capacity in [1, 2, 3, 5, 64] {
            let mut input = io::BufReader::with_capacity(capacity, &text[..]);
            let mut lines = Lines::new(&mut input);
            let mut got = Vec::new();
            while let Some(line) = lines.next_line().unwrap() {
                got.push(line.to_vec());
            }
            assert_eq!(got, [&b"one\n"[..], b"\n", b"three and more\n", b"last"], "capacity {capacity}");
        }
        let mut empty = &b""[..];
        assert_eq!(Lines::new(&mut empty).next_line().unwrap(), None);
    }

    #[test]
    fn lines_splits_after_each_lf() {
        assert_eq!(lines(b"a\n\nb c\nd").collect::<Vec<_>>(), [&b"a\n"[..], b"\n", b"b c\n", b"d"]);
        assert_eq!(lines(b"a\n").collect::<Vec<_>>(), [&b"a\n"[..]]);
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn blocks_hold_whole_lines_and_all_the_input() {
        // Lines longer than a read make the buffer grow.
        let long = vec![b'x'; 3 * BLOCK_READ];
        let mut text = b"one\n\nthree\n".to_vec();
        text.extend_from_slice(&long);
        text.extend_from_slice(b"\nlast");
        for capacity in [1, 7, 1 << 17] {
            let mut input = io::BufReader::with_capacity(capacity, &text[..]);
            let mut blocks = Blocks::new(&mut input);
            let mut got = Vec::new();
            while let Some(block) = blocks.next_block().unwrap() {
                assert!(!block.is_empty());
                got.push(block.to_vec());
            }
            let (last, whole) = got.split_last().unwrap();
            assert!(whole.iter().all(|block| block.ends_with(b"\n")), "capacity {capacity}");
            assert_eq!(last, b"last", "capacity {capacity}");
            assert_eq!(got.concat(), text, "capacity {capacity}");
        }
        let mut empty = &b""[..];
        assert_eq!(Blocks::new(&mut empty).next_block().unwrap(), None);
    }
}

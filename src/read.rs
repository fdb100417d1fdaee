//! Reading input in blocks of whole lines, and the lines of a block, fast.

use std::io::{self, BufRead};

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
    let mut line_feeds = memchr::memchr_iter(b'\n', text);
    std::iter::from_fn(move || {
        let end = match line_feeds.next() {
            Some(lf) => lf + 1,
            None if start < text.len() => text.len(),
            None => return None,
        };
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! A buffered writer whose writing happens on a thread of its own, so that
//! making the bytes and the system calls that write them run on two cores.
//! The listing (`a.map`, hundreds of megabytes for a large program) is
//! written this way; everything else uses a plain `BufWriter`, which this
//! replaces without changing a byte (a test checks).
//!
//! ```
//! use std::io::Write;
//! use subx::write_behind::WriteBehind;
//! let mut out = WriteBehind::new(Vec::new());
//! out.write_all(b"hello ").unwrap();
//! out.write_all(b"world").unwrap();
//! assert_eq!(out.finish().unwrap(), b"hello world");
//! ```

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// How many bytes go to the writing thread at a time, and how many such
/// buffers may wait for it.
const BUFFER: usize = 1 << 20;
const WAITING: usize = 4;

/// Collects bytes in a buffer and hands each full one to the thread that
/// writes them to `W`.
pub struct WriteBehind<W: Write + Send + 'static> {
    buffer: Vec<u8>,
    to_writer: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<io::Result<W>>>,
}

impl<W: Write + Send + 'static> WriteBehind<W> {
    pub fn new(out: W) -> WriteBehind<W> {
        let (to_writer, buffers) = sync_channel(WAITING);
        let writer = std::thread::spawn(move || write_all(out, buffers));
        WriteBehind { buffer: Vec::with_capacity(BUFFER), to_writer: Some(to_writer), writer: Some(writer) }
    }

    /// Writes what is left and waits for it; returns the writer, or the
    /// first error writing met.
    pub fn finish(mut self) -> io::Result<W> {
        let handed = self.hand_over();
        self.to_writer = None; // the thread sees the end
        let written = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the writing thread stopped")),
        };
        let out = written?;
        handed.map(|()| out)
    }

    /// Gives the buffer to the thread. A send fails only when the thread
    /// has stopped on an error, which `finish` then reports.
    fn hand_over(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(BUFFER));
        match &self.to_writer {
            Some(to_writer) if to_writer.send(full).is_ok() => Ok(()),
            _ => Err(io::Error::other("the writing thread stopped")),
        }
    }
}

/// The writing thread: writes each buffer it is given, in order.
fn write_all<W: Write>(mut out: W, buffers: Receiver<Vec<u8>>) -> io::Result<W> {
    for buffer in buffers {
        out.write_all(&buffer)?;
    }
    out.flush()?;
    Ok(out)
}

impl<W: Write + Send + 'static> Write for WriteBehind<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BUFFER {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    /// Hands what is buffered to the thread (which writes it in its time).
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_are_those_a_buffered_writer_writes() {
        let mut rng = crate::test_rng::Rng::new(7);
        let mut behind = WriteBehind::new(Vec::new());
        let mut plain = io::BufWriter::new(Vec::new());
        for _ in 0..2000 {
            let piece: Vec<u8> = (0..rng.below(3000)).map(|_| rng.next() as u8).collect();
            behind.write_all(&piece).unwrap();
            plain.write_all(&piece).unwrap();
        }
        let plain = plain.into_inner().unwrap();
        assert!(plain.len() > 2 * BUFFER);
        assert_eq!(behind.finish().unwrap(), plain);
    }

    #[test]
    fn an_error_of_the_writer_comes_back() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "no space"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = WriteBehind::new(Full);
        let mut failed = false;
        for _ in 0..100 {
            failed |= out.write_all(&[0; 1 << 16]).is_err();
        }
        let end = out.finish();
        assert!(failed || end.is_err());
        assert_eq!(end.err().map(|e| e.kind()), Some(io::ErrorKind::StorageFull));
    }
}

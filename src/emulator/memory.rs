//! The emulated 4 GiB address space: 4 KiB pages, each with its
//! permissions, allocated when first written (a mapped page never written
//! reads as zeros, as a fresh Linux page does).
//!
//! ```
//! use subx::emulator::memory::{Memory, READ, WRITE};
//! use subx::emulator::Fault;
//! let mut memory = Memory::new();
//! memory.map(0x0a000000, 0x1000, READ | WRITE);
//! memory.write32(0x0a000010, 0x11223344).unwrap();
//! assert_eq!(memory.read32(0x0a000010), Ok(0x11223344));
//! assert_eq!(memory.read32(0x0a000012), Ok(0x1122));
//! // The last 2 of these 4 bytes are on the next page, which is not mapped.
//! assert_eq!(memory.write32(0x0a000ffe, 1), Err(Fault::Write { addr: 0x0a000ffe, size: 4 }));
//! ```
//!
//! Reading or writing where no page is mapped, or writing a page without
//! [`WRITE`], is a [`Fault`]. Readable pages are executable: the kernel
//! sets READ_IMPLIES_EXEC for ELFs without a `PT_GNU_STACK` header, which
//! ours are.
//!
//! The hot paths (`read32`, `write32`) handle an access inside one present
//! page in a few instructions and leave everything else (a page boundary,
//! a page not yet allocated, a page with decoded instructions to forget) to
//! a byte-at-a-time slow path.

use super::fault::Fault;

pub const PAGE_SIZE: u32 = 4096;
const PAGES: usize = 1 << 20;

/// The page may be read (and executed).
pub const READ: u8 = 1;
/// The page may be written.
pub const WRITE: u8 = 2;
/// Instructions of the page have been decoded and cached
/// ([`super::decode::Cache`]); a write to it (or to the next page, which an
/// instruction may reach into) clears this bit so they are decoded again.
pub const DECODED: u8 = 4;
/// The same for the blocks of the fast loop ([`super::fast`]), which keeps
/// its own record of the code it has seen.
pub const BLOCKS: u8 = 8;
/// Either: the page holds code someone has decoded.
const CODE: u8 = DECODED | BLOCKS;

type Page = [u8; PAGE_SIZE as usize];

pub struct Memory {
    /// By page number (fixed-size, so that an index made from an address
    /// needs no bounds check).
    pages: Box<[Option<Box<Page>>; PAGES]>,
    perms: Box<[u8; PAGES]>,
    /// Counts the times decoded instructions may have gone stale (a
    /// [`DECODED`] page written, or any mapping changed), so that a loop
    /// holding on to a page of decoded instructions knows to look again.
    pub generation: u64,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    /// An address space with nothing mapped.
    pub fn new() -> Memory {
        Memory { pages: table(None), perms: table(0), generation: 0 }
    }

    /// Map the whole pages covering `[start, start + len)` afresh, zeroed,
    /// with `perms` (replacing whatever was there).
    pub fn map(&mut self, start: u32, len: u32, perms: u8) {
        self.generation += 1;
        for page in page_range(start, len) {
            self.pages[page] = None;
            self.perms[page] = stored(perms);
        }
    }

    /// Change the permissions of the mapped pages covering the range.
    pub fn protect(&mut self, start: u32, len: u32, perms: u8) {
        self.generation += 1;
        for page in page_range(start, len) {
            if self.is_mapped_page(page) {
                self.perms[page] = stored(perms);
            }
        }
    }

    /// Unmap the pages covering the range.
    pub fn unmap(&mut self, start: u32, len: u32) {
        self.generation += 1;
        for page in page_range(start, len) {
            self.pages[page] = None;
            self.perms[page] = 0;
        }
    }

    /// Is any page of the range mapped?
    pub fn any_mapped(&self, start: u32, len: u32) -> bool {
        page_range(start, len).any(|p| self.is_mapped_page(p))
    }

    fn is_mapped_page(&self, page: usize) -> bool {
        self.perms[page] & !CODE != 0
    }

    /// Is the page holding `addr` mapped (whatever its permissions)?
    pub fn is_mapped(&self, addr: u32) -> bool {
        self.is_mapped_page(page_of(addr))
    }

    /// The permissions of the page holding `addr` ([`READ`], [`WRITE`]).
    pub fn perms(&self, addr: u32) -> u8 {
        self.perms[page_of(addr)] & (READ | WRITE)
    }

    /// Has the page holding `addr` decoded instructions cached, unwritten
    /// since?
    #[inline]
    pub fn is_decoded(&self, addr: u32) -> bool {
        self.perms[page_of(addr)] & DECODED != 0
    }

    /// Note that instructions of the page holding `addr` are cached.
    pub fn set_decoded(&mut self, addr: u32) {
        self.set_code(addr, DECODED);
    }

    /// Note that `who` has code of the page holding `addr`.
    pub fn set_code(&mut self, addr: u32, who: u8) {
        self.perms[page_of(addr)] |= who;
    }

    /// Put bytes into memory as the loader does, ignoring permissions (the
    /// pages must be mapped).
    pub fn poke(&mut self, addr: u32, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(i as u32);
            self.forget_decoded(page_of(a));
            self.page_mut(page_of(a))[offset_of(a)] = b;
        }
    }

    /// The byte at `addr`, or `None` where nothing readable is mapped; for
    /// traces and messages, never faults.
    pub fn peek(&self, addr: u32) -> Option<u8> {
        let page = page_of(addr);
        if self.perms[page] & READ == 0 {
            return None;
        }
        Some(self.pages[page].as_ref().map_or(0, |p| p[offset_of(addr)]))
    }

    /// The 4 bytes at `addr`, little-endian, or `None` (see [`Memory::peek`]).
    pub fn peek32(&self, addr: u32) -> Option<u32> {
        let mut bytes = [0u8; 4];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = self.peek(addr.wrapping_add(i as u32))?;
        }
        Some(u32::from_le_bytes(bytes))
    }

    #[inline(always)]
    pub fn read8(&self, addr: u32) -> Result<u8, Fault> {
        let page = page_of(addr);
        if self.perms[page] & READ != 0 {
            if let Some(p) = &self.pages[page] {
                return Ok(p[offset_of(addr)]);
            }
        }
        self.read_slowly(addr, 1).map(|v| v as u8)
    }

    #[inline(always)]
    pub fn read32(&self, addr: u32) -> Result<u32, Fault> {
        let page = page_of(addr);
        let offset = offset_of(addr);
        if offset <= PAGE_SIZE as usize - 4 && self.perms[page] & READ != 0 {
            if let Some(p) = &self.pages[page] {
                return Ok(u32::from_le_bytes([p[offset], p[offset + 1], p[offset + 2], p[offset + 3]]));
            }
        }
        self.read_slowly(addr, 4)
    }

    /// A read the hot paths leave: across pages, of a page not yet
    /// allocated, or a fault.
    #[cold]
    #[inline(never)]
    fn read_slowly(&self, addr: u32, size: u8) -> Result<u32, Fault> {
        let mut value = 0;
        for i in (0..u32::from(size)).rev() {
            let byte = self.peek(addr.wrapping_add(i)).ok_or(Fault::Read { addr, size })?;
            value = value << 8 | u32::from(byte);
        }
        Ok(value)
    }

    #[inline(always)]
    pub fn write8(&mut self, addr: u32, value: u8) -> Result<(), Fault> {
        if self.write8_quick(addr, value) {
            return Ok(());
        }
        self.write_slowly(addr, &[value])
    }

    #[inline(always)]
    pub fn write32(&mut self, addr: u32, value: u32) -> Result<(), Fault> {
        if self.write32_quick(addr, value) {
            return Ok(());
        }
        self.write_slowly(addr, &value.to_le_bytes())
    }

    /// The hot path of [`Memory::write8`] alone: `false`, with nothing
    /// written, when the write needs the slow path (which alone may fault
    /// or change [`Memory::generation`]).
    #[inline(always)]
    pub fn write8_quick(&mut self, addr: u32, value: u8) -> bool {
        let page = page_of(addr);
        if self.perms[page] & (WRITE | CODE) == WRITE {
            if let Some(p) = &mut self.pages[page] {
                p[offset_of(addr)] = value;
                return true;
            }
        }
        false
    }

    /// The hot path of [`Memory::write32`] alone (see [`Memory::write8_quick`]).
    #[inline(always)]
    pub fn write32_quick(&mut self, addr: u32, value: u32) -> bool {
        let page = page_of(addr);
        let offset = offset_of(addr);
        if offset <= PAGE_SIZE as usize - 4 && self.perms[page] & (WRITE | CODE) == WRITE {
            if let Some(p) = &mut self.pages[page] {
                p[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
                return true;
            }
        }
        false
    }

    /// A write the hot paths leave: across pages, to a page not yet
    /// allocated or holding code, or a fault.
    #[cold]
    #[inline(never)]
    fn write_slowly(&mut self, addr: u32, bytes: &[u8]) -> Result<(), Fault> {
        self.check_writable(addr, bytes.len() as u32)?;
        self.poke(addr, bytes);
        Ok(())
    }

    /// Fails unless every byte of `[addr, addr + size)` is writable.
    pub fn check_writable(&self, addr: u32, size: u32) -> Result<(), Fault> {
        for i in 0..size {
            if self.perms[page_of(addr.wrapping_add(i))] & WRITE == 0 {
                return Err(Fault::Write { addr, size: size as u8 });
            }
        }
        Ok(())
    }

    /// Copy `len` bytes from `addr` into `out` (cleared first), for a
    /// system call; `false` if some byte is not readable (`-EFAULT`).
    pub fn read_bytes(&self, addr: u32, len: u32, out: &mut Vec<u8>) -> bool {
        out.clear();
        let mut a = addr;
        let mut left = len;
        while left > 0 {
            let page = page_of(a);
            if self.perms[page] & READ == 0 {
                return false;
            }
            let offset = offset_of(a);
            let n = left.min(PAGE_SIZE - offset as u32);
            match &self.pages[page] {
                Some(p) => out.extend_from_slice(&p[offset..offset + n as usize]),
                None => out.resize(out.len() + n as usize, 0),
            }
            a = a.wrapping_add(n);
            left -= n;
        }
        true
    }

    /// Copy `bytes` to `addr`, for a system call; `false` if some byte is
    /// not writable (nothing is written then).
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        if self.check_writable(addr, bytes.len() as u32).is_err() {
            return false;
        }
        let mut a = addr;
        let mut rest = bytes;
        while !rest.is_empty() {
            let page = page_of(a);
            let offset = offset_of(a);
            let n = rest.len().min(PAGE_SIZE as usize - offset);
            self.forget_decoded(page);
            self.page_mut(page)[offset..offset + n].copy_from_slice(&rest[..n]);
            a = a.wrapping_add(n as u32);
            rest = &rest[n..];
        }
        true
    }

    /// The NUL-terminated string at `addr` (without the NUL), or `None` if
    /// it runs into unreadable memory.
    pub fn read_c_string(&self, addr: u32) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut a = addr;
        loop {
            match self.peek(a)? {
                0 => return Some(out),
                b => out.push(b),
            }
            a = a.wrapping_add(1);
        }
    }

    /// A write is about to change a page: instructions decoded from it, or
    /// from the page before (an instruction may end in this one), are stale.
    fn forget_decoded(&mut self, page: usize) {
        let before = page.saturating_sub(1);
        if (self.perms[page] | self.perms[before]) & CODE != 0 {
            self.perms[page] &= !CODE;
            self.perms[before] &= !CODE;
            self.generation += 1;
        }
    }

    fn page_mut(&mut self, page: usize) -> &mut Page {
        self.pages[page].get_or_insert_with(|| Box::new([0; PAGE_SIZE as usize]))
    }
}

/// A table of `PAGES` entries, each `fill`.
fn table<T: Clone>(fill: T) -> Box<[T; PAGES]> {
    match vec![fill; PAGES].into_boxed_slice().try_into() {
        Ok(table) => table,
        Err(_) => unreachable!("the vector has PAGES entries"),
    }
}

/// Kept in `perms` for a page mapped with no access (`PROT_NONE`), so that
/// it still counts as mapped; it grants nothing.
const MAPPED_BUT_NONE: u8 = 0x80;

/// What `perms` keeps for a freshly mapped or protected page.
fn stored(perms: u8) -> u8 {
    match perms & (READ | WRITE) {
        0 => MAPPED_BUT_NONE,
        p => p,
    }
}

fn page_of(addr: u32) -> usize {
    (addr >> 12) as usize
}

fn offset_of(addr: u32) -> usize {
    (addr & (PAGE_SIZE - 1)) as usize
}

/// The page numbers covering `[start, start + len)`.
fn page_range(start: u32, len: u32) -> impl Iterator<Item = usize> {
    let first = u64::from(start) >> 12;
    let end = (u64::from(start) + u64::from(len)).div_ceil(u64::from(PAGE_SIZE)).min(PAGES as u64);
    (first..end).map(|p| p as usize)
}

/// `n` rounded up to a whole number of pages.
pub fn page_up(n: u32) -> u32 {
    n.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// `n` rounded down to a page boundary.
pub fn page_down(n: u32) -> u32 {
    n & !(PAGE_SIZE - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_pages_read_as_zeros_and_keep_what_is_written() {
        let mut m = Memory::new();
        m.map(0x1000, 0x2000, READ | WRITE);
        assert_eq!(m.read32(0x1ffe), Ok(0));
        m.write32(0x1ffe, 0xaabbccdd).unwrap();
        assert_eq!(m.read32(0x1ffe), Ok(0xaabbccdd));
        assert_eq!(m.read8(0x2000), Ok(0xbb));
        m.write32(0x1000, 7).unwrap();
        assert_eq!(m.read32(0x1000), Ok(7));
    }

    #[test]
    fn unmapped_and_read_only_memory_fault() {
        let mut m = Memory::new();
        m.map(0x1000, 0x1000, READ);
        assert_eq!(m.read32(0x0ffc), Err(Fault::Read { addr: 0x0ffc, size: 4 }));
        assert_eq!(m.read32(0x1ffe), Err(Fault::Read { addr: 0x1ffe, size: 4 }));
        assert_eq!(m.write32(0x1000, 1), Err(Fault::Write { addr: 0x1000, size: 4 }));
        assert_eq!(m.write8(0x1000, 1), Err(Fault::Write { addr: 0x1000, size: 1 }));
        m.protect(0x1000, 1, 0);
        assert!(m.is_mapped(0x1000));
        assert_eq!(m.read8(0x1000), Err(Fault::Read { addr: 0x1000, size: 1 }));
        m.unmap(0x1000, 0x1000);
        assert!(!m.is_mapped(0x1000));
    }

    #[test]
    fn writing_a_decoded_page_forgets_it_and_the_page_before() {
        let mut m = Memory::new();
        m.map(0x1000, 0x2000, READ | WRITE);
        m.set_decoded(0x1000);
        m.set_decoded(0x2000);
        m.write32(0x2004, 1).unwrap();
        assert!(!m.is_decoded(0x1000) && !m.is_decoded(0x2000));
    }

    #[test]
    fn byte_ranges_for_system_calls() {
        let mut m = Memory::new();
        m.map(0x1000, 0x2000, READ | WRITE);
        assert!(m.write_bytes(0x1ffe, b"hello"));
        let mut out = Vec::new();
        assert!(m.read_bytes(0x1ffe, 5, &mut out));
        assert_eq!(out, b"hello");
        assert!(!m.read_bytes(0x2ffe, 5, &mut out));
        assert!(!m.write_bytes(0x2ffe, b"hello"));
        assert_eq!(m.read_c_string(0x1ffe), Some(b"hello".to_vec()));
        assert!(m.write_bytes(0x2fff, b"x"));
        assert_eq!(m.read_c_string(0x2fff), None);
    }
}

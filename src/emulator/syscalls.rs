//! The Linux i386 system calls a SubX program makes through `int 0x80`,
//! carried out on the host: the number in EAX, the arguments in EBX ECX
//! EDX ESI EDI EBP, the result (or `-errno`) back in EAX.
//!
//! | EAX | call | | EAX | call |
//! |---|---|---|---|---|
//! | 1 | exit(status) | | 38 | rename(old, new) |
//! | 3 | read(fd, buf, n) | | 45 | brk(addr) |
//! | 4 | write(fd, buf, n) | | 54 | ioctl(fd, TCGETS, termios) |
//! | 5 | open(path, flags, mode) | | 90 | mmap(block of 6 arguments) |
//! | 6 | close(fd) | | 91 | munmap(addr, len) |
//! | 8 | creat(path, mode) | | 192 | mmap2(addr, len, prot, flags, fd, pgoffset) |
//! | 10 | unlink(path) | | 252 | exit_group(status) |
//! | 19 | lseek(fd, offset, whence) | | | |
//!
//! Files are the host's own, opened relative to the current directory;
//! the program's descriptors 0, 1 and 2 are copies of `subx run`'s, and a
//! new descriptor is the lowest free number, as Linux gives it. Reads and
//! writes are single host calls, so a program sees the same short reads
//! from a pipe as natively. Any other call returns `-ENOSYS` (-38), as
//! Linux does for a number it does not know, and is reported once on
//! stderr.
//!
//! Addresses Linux would choose are ours to choose: `docs/run.md` says
//! which (brk starts after the last segment; mmap goes down from
//! `Layout::mmap_top`, taking the highest gap that fits).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::error::quote;
use super::fault::SIGPIPE;
use super::load::Layout;
use super::machine::{Kernel, Machine, Observer, Stop, SyscallRecord};
use super::memory::{page_down, page_up, PAGE_SIZE, READ, WRITE};

const EBADF: i32 = 9;
const EFAULT: i32 = 14;
const EINVAL: i32 = 22;
const ENOMEM: i32 = 12;
const EMFILE: i32 = 24;
const ENOSYS: i32 = 38;
const ENOTTY: i32 = 25;

/// The ioctl request that reads a terminal's settings (`struct termios`,
/// 36 bytes on i386): what a program asks to learn whether a descriptor is
/// a terminal.
const TCGETS: u32 = 0x5401;
const TERMIOS_SIZE: u32 = 36;
const EOVERFLOW: i32 = 75;

/// The largest read or write done in one call (a larger request reads or
/// writes this much, a short count, as Linux may also return).
const MAX_IO: u32 = 64 << 20;

/// The host kernel: open files, the program break, mapped regions.
pub struct Linux {
    files: Vec<Option<File>>,
    brk_start: u32,
    brk: u32,
    mmap_top: u32,
    /// System call numbers already reported as not emulated.
    reported: BTreeSet<u32>,
    scratch: Vec<u8>,
}

impl Linux {
    /// A kernel for a program loaded with `layout`, whose descriptors 0, 1
    /// and 2 are copies of this process's.
    pub fn new(layout: &Layout) -> Linux {
        let files = vec![
            io::stdin().as_fd().try_clone_to_owned().ok().map(File::from),
            io::stdout().as_fd().try_clone_to_owned().ok().map(File::from),
            io::stderr().as_fd().try_clone_to_owned().ok().map(File::from),
        ];
        Linux {
            files,
            brk_start: layout.brk,
            brk: layout.brk,
            mmap_top: layout.mmap_top,
            reported: BTreeSet::new(),
            scratch: Vec::new(),
        }
    }

    fn file(&mut self, fd: u32) -> Result<&mut File, i32> {
        self.files.get_mut(fd as usize).and_then(Option::as_mut).ok_or(EBADF)
    }

    fn add_file(&mut self, file: File) -> Result<u32, i32> {
        let fd = match self.files.iter().position(Option::is_none) {
            Some(fd) => fd,
            None if self.files.len() < 1024 => {
                self.files.push(None);
                self.files.len() - 1
            }
            None => return Err(EMFILE),
        };
        self.files[fd] = Some(file);
        Ok(fd as u32)
    }

    fn read(&mut self, m: &mut Machine, fd: u32, buf: u32, n: u32) -> Result<u32, i32> {
        let n = n.min(MAX_IO);
        // The field, not `self.file`: the scratch buffer is borrowed beside it.
        let file = self.files.get_mut(fd as usize).and_then(Option::as_mut).ok_or(EBADF)?;
        if n == 0 {
            return Ok(0);
        }
        if m.memory.check_writable(buf, n).is_err() {
            return Err(EFAULT);
        }
        self.scratch.resize(n as usize, 0);
        let got = file.read(&mut self.scratch).map_err(|e| errno(&e))?;
        m.memory.write_bytes(buf, &self.scratch[..got]);
        Ok(got as u32)
    }

    fn write(&mut self, m: &mut Machine, fd: u32, buf: u32, n: u32) -> Result<Result<u32, i32>, Stop> {
        let n = n.min(MAX_IO);
        let Some(file) = self.files.get_mut(fd as usize).and_then(Option::as_mut) else { return Ok(Err(EBADF)) };
        if !m.memory.read_bytes(buf, n, &mut self.scratch) {
            return Ok(Err(EFAULT));
        }
        match file.write(&self.scratch) {
            Ok(k) => Ok(Ok(k as u32)),
            // Natively the process dies of SIGPIPE.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Stop::Signal(SIGPIPE)),
            Err(e) => Ok(Err(errno(&e))),
        }
    }

    fn open(&mut self, m: &Machine, path: u32, flags: u32, mode: u32) -> Result<u32, i32> {
        let path = path_arg(m, path)?;
        let mut options = OpenOptions::new();
        match flags & 3 {
            0 => options.read(true),
            1 => options.write(true),
            2 => options.read(true).write(true),
            _ => return Err(EINVAL),
        };
        options.mode(mode & 0o7777);
        open_flags(&mut options, flags);
        let file = options.open(path).map_err(|e| errno(&e))?;
        self.add_file(file)
    }

    /// `ioctl`: only `TCGETS`, which says whether `fd` is a terminal: on a
    /// terminal it succeeds with the settings all zero (the host's own are
    /// not read), elsewhere it fails with `-ENOTTY` as Linux does. Any other
    /// request fails the same way on a file that is no terminal, and with
    /// `-EINVAL` on one that is, reported once.
    fn ioctl(&mut self, m: &mut Machine, fd: u32, request: u32, arg: u32) -> Result<u32, i32> {
        use std::io::IsTerminal;
        let terminal = self.file(fd)?.is_terminal();
        match (request, terminal) {
            (_, false) => Err(ENOTTY),
            (TCGETS, true) => {
                if m.memory.check_writable(arg, TERMIOS_SIZE).is_err() {
                    return Err(EFAULT);
                }
                m.memory.write_bytes(arg, &[0; TERMIOS_SIZE as usize]);
                Ok(0)
            }
            (_, true) => {
                if self.reported.insert(54 << 16 | (request & 0xffff)) {
                    eprintln!("subx run: ioctl request {request:#x} on a terminal is not emulated; it returns -EINVAL (-22)");
                }
                Err(EINVAL)
            }
        }
    }

    fn lseek(&mut self, fd: u32, offset: u32, whence: u32) -> Result<u32, i32> {
        let to = match whence {
            0 => SeekFrom::Start(u64::from(offset)),
            1 => SeekFrom::Current(i64::from(offset as i32)),
            2 => SeekFrom::End(i64::from(offset as i32)),
            _ => return Err(EINVAL),
        };
        let at = self.file(fd)?.seek(to).map_err(|e| errno(&e))?;
        u32::try_from(at).ok().filter(|&a| a <= i32::MAX as u32).ok_or(EOVERFLOW)
    }

    fn brk(&mut self, m: &mut Machine, addr: u32) -> u32 {
        if addr < self.brk_start {
            return self.brk;
        }
        let (old_end, new_end) = (page_up(self.brk), page_up(addr));
        if new_end > old_end {
            if new_end > self.mmap_top || m.memory.any_mapped(old_end, new_end - old_end) {
                return self.brk;
            }
            m.memory.map(old_end, new_end - old_end, READ | WRITE);
        } else if new_end < old_end {
            m.memory.unmap(new_end, old_end - new_end);
        }
        self.brk = addr;
        addr
    }

    /// mmap with its six arguments (the offset in bytes).
    fn mmap(&mut self, m: &mut Machine, args: [u32; 6]) -> Result<u32, i32> {
        let [addr, len, prot, flags, fd, offset] = args;
        const MAP_SHARED: u32 = 1;
        const MAP_PRIVATE: u32 = 2;
        const MAP_FIXED: u32 = 0x10;
        const MAP_ANONYMOUS: u32 = 0x20;
        if len == 0 || !offset.is_multiple_of(PAGE_SIZE) || !matches!(flags & 3, MAP_SHARED | MAP_PRIVATE) {
            return Err(EINVAL);
        }
        let size = page_up(len);
        if size == 0 {
            return Err(ENOMEM);
        }
        let mut contents = Vec::new();
        if flags & MAP_ANONYMOUS == 0 {
            let file = self.file(fd)?;
            let mut handle = file.try_clone().map_err(|e| errno(&e))?;
            handle.seek(SeekFrom::Start(u64::from(offset))).map_err(|e| errno(&e))?;
            handle.take(u64::from(size)).read_to_end(&mut contents).map_err(|e| errno(&e))?;
        }
        let start = if flags & MAP_FIXED != 0 {
            if !addr.is_multiple_of(PAGE_SIZE) || u64::from(addr) + u64::from(size) > 1 << 32 {
                return Err(EINVAL);
            }
            addr
        } else {
            let hint = page_down(addr);
            let hint_fits = hint >= 0x10000
                && u64::from(hint) + u64::from(size) <= u64::from(self.mmap_top)
                && !m.memory.any_mapped(hint, size);
            if hint_fits {
                hint
            } else {
                self.highest_gap(m, size).ok_or(ENOMEM)?
            }
        };
        let perms = if prot & 7 == 0 { 0 } else { READ } | if prot & 2 != 0 { WRITE } else { 0 };
        m.memory.map(start, size, READ | WRITE);
        m.memory.write_bytes(start, &contents);
        m.memory.protect(start, size, perms);
        Ok(start)
    }

    /// The highest page-aligned start of `size` free bytes below `mmap_top`.
    fn highest_gap(&self, m: &Machine, size: u32) -> Option<u32> {
        let mut end = self.mmap_top;
        let mut start = end;
        while start >= 0x10000 + PAGE_SIZE {
            if end - start >= size {
                return Some(start);
            }
            let below = start - PAGE_SIZE;
            if m.memory.is_mapped(below) {
                end = below;
            }
            start = below;
        }
        (end - start >= size && start >= 0x10000).then_some(start)
    }

    fn munmap(&mut self, m: &mut Machine, addr: u32, len: u32) -> Result<u32, i32> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || u64::from(addr) + u64::from(len) > 1 << 32 {
            return Err(EINVAL);
        }
        m.memory.unmap(addr, len);
        Ok(0)
    }
}

impl Kernel for Linux {
    fn syscall<O: Observer>(&mut self, m: &mut Machine, obs: &mut O) -> Result<(), Stop> {
        let number = m.regs[0];
        let [b, c, d, si, di, bp] = [m.regs[3], m.regs[1], m.regs[2], m.regs[6], m.regs[7], m.regs[5]];
        let result: Result<u32, i32> = match number {
            1 | 252 => {
                if O::ACTIVE {
                    let name = if number == 1 { "exit" } else { "exit_group" };
                    obs.syscall(SyscallRecord { call: format!("{name}({})", b as i32), result: b });
                }
                return Err(Stop::Exit(b as u8));
            }
            3 => self.read(m, b, c, d),
            4 => self.write(m, b, c, d)?,
            5 => self.open(m, b, c, d),
            6 => match self.files.get_mut(b as usize).and_then(Option::take) {
                Some(_) => Ok(0),
                None => Err(EBADF),
            },
            8 => self.open(m, b, 0x241, c), // O_WRONLY | O_CREAT | O_TRUNC
            10 => path_arg(m, b).and_then(|p| std::fs::remove_file(p).map(|()| 0).map_err(|e| errno(&e))),
            19 => self.lseek(b, c, d),
            54 => self.ioctl(m, b, c, d),
            38 => path_arg(m, b)
                .and_then(|old| Ok((old, path_arg(m, c)?)))
                .and_then(|(old, new)| std::fs::rename(old, new).map(|()| 0).map_err(|e| errno(&e))),
            45 => Ok(self.brk(m, b)),
            90 => {
                let mut args = [0u32; 6];
                let mut readable = true;
                for (k, a) in args.iter_mut().enumerate() {
                    match m.memory.peek32(b.wrapping_add(4 * k as u32)) {
                        Some(v) => *a = v,
                        None => readable = false,
                    }
                }
                if readable {
                    self.mmap(m, args)
                } else {
                    Err(EFAULT)
                }
            }
            91 => self.munmap(m, b, c),
            192 => match bp.checked_mul(PAGE_SIZE) {
                Some(offset) => self.mmap(m, [b, c, d, si, di, offset]),
                None => Err(EINVAL),
            },
            _ => {
                if self.reported.insert(number) {
                    eprintln!(
                        "subx run: system call {number} (EAX) is not emulated; it returns -ENOSYS (-38), as Linux does for an unknown call"
                    );
                }
                Err(ENOSYS)
            }
        };
        let value = match result {
            Ok(v) => v,
            Err(e) => (-e) as u32,
        };
        m.regs[0] = value;
        if O::ACTIVE {
            obs.syscall(SyscallRecord { call: describe(m, number, [b, c, d, si, di, bp], value), result: value });
        }
        Ok(())
    }
}

/// Linux's flags beyond the access mode, on the host's open.
#[cfg(target_os = "linux")]
fn open_flags(options: &mut OpenOptions, flags: u32) {
    // The host is Linux: the numbers are the same (std masks the access mode).
    options.custom_flags(flags as i32);
}

/// Linux's flags beyond the access mode, translated for another host
/// (create, exclusive, truncate, append; others ignored).
#[cfg(not(target_os = "linux"))]
fn open_flags(options: &mut OpenOptions, flags: u32) {
    if flags & 0x40 != 0 {
        options.create(true).write(flags & 3 != 0);
    }
    if flags & 0x80 != 0 {
        options.create_new(true);
    }
    if flags & 0x200 != 0 {
        options.truncate(true);
    }
    if flags & 0x400 != 0 {
        options.append(true);
    }
}

/// The path a system call names, as a host path.
fn path_arg(m: &Machine, addr: u32) -> Result<std::path::PathBuf, i32> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = m.memory.read_c_string(addr).ok_or(EFAULT)?;
    Ok(std::ffi::OsStr::from_bytes(&bytes).into())
}

/// The Linux errno for a host error.
fn errno(e: &io::Error) -> i32 {
    #[cfg(target_os = "linux")]
    if let Some(n) = e.raw_os_error() {
        return n;
    }
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => 2,
        K::PermissionDenied => 13,
        K::AlreadyExists => 17,
        K::NotADirectory => 20,
        K::IsADirectory => 21,
        K::InvalidInput => EINVAL,
        K::BrokenPipe => 32,
        K::DirectoryNotEmpty => 39,
        _ => 5, // EIO
    }
}

/// `write(1, 0x0a000010 "Hi\n", 3)`: a call as the trace shows it, with
/// strings and buffers quoted (a read's buffer after the call).
pub fn describe(m: &Machine, number: u32, args: [u32; 6], result: u32) -> String {
    let quoted = |addr: u32, len: u32| {
        let mut bytes = Vec::new();
        let shown = len.min(40);
        if m.memory.read_bytes(addr, shown, &mut bytes) {
            format!("{addr:#010x} {}{}", quote(&bytes), if len > shown { "..." } else { "" })
        } else {
            format!("{addr:#010x}")
        }
    };
    let path = |addr: u32| match m.memory.read_c_string(addr) {
        Some(p) => quote(&p),
        None => format!("{addr:#010x}"),
    };
    let [b, c, d, si, di, bp] = args;
    let int = |v: u32| (v as i32).to_string();
    match number {
        3 => format!("read({}, {}, {})", int(b), quoted(c, if (result as i32) > 0 { result } else { 0 }), int(d)),
        4 => format!("write({}, {}, {})", int(b), quoted(c, d), int(d)),
        5 => format!("open({}, {c:#x}, {d:#o})", path(b)),
        6 => format!("close({})", int(b)),
        8 => format!("creat({}, {c:#o})", path(b)),
        10 => format!("unlink({})", path(b)),
        19 => format!("lseek({}, {}, {})", int(b), int(c), int(d)),
        54 => format!("ioctl({}, {c:#x}, {d:#010x})", int(b)),
        38 => format!("rename({}, {})", path(b), path(c)),
        45 => format!("brk({b:#010x})"),
        90 => format!("mmap({b:#010x})"),
        91 => format!("munmap({b:#010x}, {c:#x})"),
        192 => format!("mmap2({b:#010x}, {c:#x}, {d}, {si:#x}, {}, {bp:#x})", int(di)),
        n => format!("syscall_{n}({b:#x}, {c:#x}, {d:#x}) (not emulated)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::machine::Quiet;

    fn kernel_and_machine() -> (Linux, Machine) {
        let layout = Layout { stack_top: 0xffff_e000, stack_limit: 0xff7f_e000, brk: 0x0a00_1000, mmap_top: 0xf7ff_e000 };
        let mut m = Machine::new();
        m.memory.map(0x0a00_0000, 0x1000, READ | WRITE);
        (Linux::new(&layout), m)
    }

    fn call(k: &mut Linux, m: &mut Machine, number: u32, args: [u32; 3]) -> u32 {
        m.regs[0] = number;
        (m.regs[3], m.regs[1], m.regs[2]) = (args[0], args[1], args[2]);
        k.syscall(m, &mut Quiet).unwrap();
        m.regs[0]
    }

    #[test]
    fn files_round_trip_with_lowest_free_descriptors() {
        let (mut k, mut m) = kernel_and_machine();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let mut name = path.as_os_str().as_encoded_bytes().to_vec();
        name.push(0);
        m.memory.write_bytes(0x0a00_0000, &name);
        m.memory.write_bytes(0x0a00_0800, b"hello");
        let fd = call(&mut k, &mut m, 8, [0x0a00_0000, 0o644, 0]);
        assert_eq!(fd, 3);
        assert_eq!(call(&mut k, &mut m, 4, [fd, 0x0a00_0800, 5]), 5);
        assert_eq!(call(&mut k, &mut m, 6, [fd, 0, 0]), 0);
        assert_eq!(call(&mut k, &mut m, 6, [fd, 0, 0]), (-EBADF) as u32);
        let fd = call(&mut k, &mut m, 5, [0x0a00_0000, 0, 0]);
        assert_eq!(fd, 3);
        assert_eq!(call(&mut k, &mut m, 3, [fd, 0x0a00_0900, 100]), 5);
        assert_eq!(m.memory.read32(0x0a00_0900), Ok(u32::from_le_bytes(*b"hell")));
        assert_eq!(call(&mut k, &mut m, 3, [fd, 0x0900_0000, 100]), (-EFAULT) as u32, "unwritable buffer");
        assert_eq!(call(&mut k, &mut m, 10, [0x0a00_0000, 0, 0]), 0);
        assert_eq!(call(&mut k, &mut m, 10, [0x0a00_0000, 0, 0]), (-2i32) as u32, "ENOENT");
    }

    #[test]
    fn brk_and_mmap_choose_addresses_as_documented() {
        let (mut k, mut m) = kernel_and_machine();
        assert_eq!(call(&mut k, &mut m, 45, [0, 0, 0]), 0x0a00_1000);
        assert_eq!(call(&mut k, &mut m, 45, [0x0a00_1804, 0, 0]), 0x0a00_1804);
        assert!(m.memory.write32(0x0a00_1800, 1).is_ok());
        m.regs[5] = 0; // pgoffset
        (m.regs[6], m.regs[7]) = (0x22, 0xffff_ffff);
        let a = call(&mut k, &mut m, 192, [0, 0x2000, 3]);
        assert_eq!(a, 0xf7ff_c000);
        let b = call(&mut k, &mut m, 192, [0, 0x1000, 3]);
        assert_eq!(b, 0xf7ff_b000);
        assert_eq!(call(&mut k, &mut m, 91, [a, 0x2000, 0]), 0);
        assert_eq!(call(&mut k, &mut m, 192, [0, 0x1000, 3]), 0xf7ff_d000, "the highest gap again");
        assert_eq!(call(&mut k, &mut m, 91, [a + 1, 0x1000, 0]), (-EINVAL) as u32);
    }

    #[test]
    fn unknown_calls_return_enosys() {
        let (mut k, mut m) = kernel_and_machine();
        assert_eq!(call(&mut k, &mut m, 20, [0, 0, 0]), (-ENOSYS) as u32);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(b"a\"b\\\n\x01"), r#""a\"b\\\n\x01""#);
    }
}

//! Loading an ELF as Linux's `execve` does for a static 32-bit x86
//! executable: its `PT_LOAD` segments mapped in whole pages, in
//! program-header order, and a stack holding argc, argv, envp and the
//! auxiliary vector.
//!
//! ```
//! use subx::emulator::load::{load, Layout};
//! let elf = std::fs::read("tests/vectors/full/01-exit-code.elf").unwrap();
//! let (machine, layout) = load(&elf, &[b"a.elf".to_vec()], &[], Layout::new(8 << 20)).unwrap();
//! assert_eq!(machine.eip, 0x09000074);
//! assert_eq!(machine.memory.read32(machine.regs[4]), Ok(1)); // argc
//! assert_eq!(layout.brk, 0x0a001000);
//! ```
//!
//! The tricky rules, as the kernel has them (`fs/binfmt_elf.c`):
//! - a segment maps the file's pages, from its offset rounded down to a
//!   page: bytes of the file before and after the segment on those pages
//!   are in memory too;
//! - a later segment that shares a page with an earlier one replaces that
//!   page (`vectors/quirks/segments-share-a-page`);
//! - beyond the file bytes (`p_memsz > p_filesz`), memory is zeroed;
//! - readable memory is executable (READ_IMPLIES_EXEC: our ELFs have no
//!   `PT_GNU_STACK`).
//!
//! Where Linux picks addresses at random, we pick fixed ones (`docs/run.md`):
//! the stack ends at 0xffffe000, the heap (brk) starts at the first page
//! after the last segment, and mmap hands out addresses downward from
//! below the stack's reserve.

use super::machine::Machine;
use super::memory::{page_down, page_up, READ, WRITE};
use crate::elf::{Elf, ProgramHeader, PF_R, PF_W, PF_X, PT_LOAD};

/// Where the stack and heap go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The first address past the stack.
    pub stack_top: u32,
    /// The lowest address the stack may grow down to (`RLIMIT_STACK`).
    pub stack_limit: u32,
    /// The initial program break (filled in by `load`).
    pub brk: u32,
    /// The highest address an mmap may end at.
    pub mmap_top: u32,
}

pub const STACK_TOP: u32 = 0xffff_e000;

impl Layout {
    /// The layout for a stack of at most `stack_size` bytes (the soft
    /// `RLIMIT_STACK`), kept between 128 KiB and 1 GiB.
    pub fn new(stack_size: u64) -> Layout {
        let size = stack_size.clamp(128 << 10, 1 << 30) as u32;
        // Linux leaves the stack limit plus a guard gap, and at least 128 MiB,
        // between the stack and the highest mmap.
        let gap = (size + (1 << 20)).max(128 << 20);
        Layout { stack_top: STACK_TOP, stack_limit: page_down(STACK_TOP - size), brk: 0, mmap_top: page_down(STACK_TOP - gap) }
    }
}

/// Load `elf`, started with `args` (argv, the program's name first) and
/// `env`; the machine at its entry point and where its heap starts. The
/// error says what is wrong with the file.
pub fn load(elf: &[u8], args: &[Vec<u8>], env: &[Vec<u8>], mut layout: Layout) -> Result<(Machine, Layout), String> {
    let Elf { header, program_headers } = Elf::read(elf)?;
    let mut machine = Machine::new();
    let mut end = 0u32;
    let mut phdr_addr = 0u32;
    for (i, p) in program_headers.iter().enumerate() {
        let ProgramHeader { p_type, p_offset, p_vaddr, p_filesz, p_memsz, p_flags, .. } = *p;
        if p_type != PT_LOAD {
            continue;
        }
        if p_filesz > p_memsz {
            return Err(format!("program header {i}: p_filesz {p_filesz:#x} is larger than p_memsz {p_memsz:#x}"));
        }
        if p_offset & 0xfff != p_vaddr & 0xfff {
            return Err(format!(
                "program header {i}: p_offset {p_offset:#x} and p_vaddr {p_vaddr:#x} differ in their low 12 bits, so the segment cannot be mapped"
            ));
        }
        if u64::from(p_vaddr) + u64::from(p_memsz) > u64::from(layout.stack_limit) {
            return Err(format!("program header {i}: the segment at {p_vaddr:#x} reaches the stack"));
        }
        let perms = if p_flags & (PF_R | PF_X) != 0 { READ } else { 0 } | if p_flags & PF_W != 0 { READ | WRITE } else { 0 };
        // The file's pages, from the segment's page start to the end of its file bytes.
        let start = page_down(p_vaddr);
        let file_start = page_down(p_offset) as usize;
        let file_len = (p_vaddr - start + p_filesz) as usize;
        machine.memory.map(start, page_up(p_vaddr - start + p_memsz).max(1), perms);
        let file_end = (file_start + page_up(file_len as u32) as usize).min(elf.len());
        if file_len > 0 && file_start < file_end {
            machine.memory.poke(start, &elf[file_start..file_end]);
        }
        if p_memsz > p_filesz {
            // Zero the rest of the last file page: the bss starts clean.
            let bss = p_vaddr + p_filesz;
            let zeros = page_up(bss) - bss;
            machine.memory.poke(bss, &vec![0; zeros as usize]);
        }
        if p_offset <= header.e_phoff && header.e_phoff < p_offset + p_filesz {
            phdr_addr = p_vaddr + (header.e_phoff - p_offset);
        } else if phdr_addr == 0 && file_start == 0 {
            phdr_addr = start + header.e_phoff;
        }
        end = end.max(p_vaddr + p_memsz);
    }
    if end == 0 {
        return Err("the ELF has no loadable segment (PT_LOAD)".into());
    }
    layout.brk = page_up(end);
    machine.memory.map(layout.stack_limit, layout.stack_top - layout.stack_limit, READ | WRITE);
    machine.eip = header.e_entry;
    let auxv = [
        (3, phdr_addr),                     // AT_PHDR
        (4, u32::from(header.e_phentsize)), // AT_PHENT
        (5, u32::from(header.e_phnum)),     // AT_PHNUM
        (6, 4096),                          // AT_PAGESZ
        (7, 0),                             // AT_BASE: no interpreter
        (8, 0),                             // AT_FLAGS
        (9, header.e_entry),                // AT_ENTRY
        (17, 100),                          // AT_CLKTCK
        (23, 0),                            // AT_SECURE
    ];
    machine.regs[4] = initial_stack(&mut machine, layout.stack_top, args, env, &auxv);
    Ok((machine, layout))
}

/// Lay out the stack below `top` as Linux does for an i386 program, and
/// return ESP: argc, the argv pointers, 0, the envp pointers, 0, the
/// auxiliary vector's (type, value) pairs ending with (0, 0); the strings
/// and 16 bytes for AT_RANDOM above them; ESP 16-byte aligned.
fn initial_stack(machine: &mut Machine, top: u32, args: &[Vec<u8>], env: &[Vec<u8>], auxv: &[(u32, u32)]) -> u32 {
    let memory = &mut machine.memory;
    let mut sp = top - 4; // a null word at the very top
    let mut put_string = |sp: &mut u32, s: &[u8]| {
        *sp -= s.len() as u32 + 1;
        memory.poke(*sp, s);
        memory.poke(*sp + s.len() as u32, &[0]);
        *sp
    };
    let execfn = put_string(&mut sp, args.first().map_or(&b""[..], |a| a));
    let env_ptrs: Vec<u32> = env.iter().rev().map(|e| put_string(&mut sp, e)).collect();
    let arg_ptrs: Vec<u32> = args.iter().rev().map(|a| put_string(&mut sp, a)).collect();
    sp &= !15;
    sp -= 16;
    let random = sp;
    memory.poke(random, b"subx run random!");
    let mut words: Vec<u32> = vec![args.len() as u32];
    words.extend(arg_ptrs.iter().rev());
    words.push(0);
    words.extend(env_ptrs.iter().rev());
    words.push(0);
    for &(k, v) in auxv {
        words.extend([k, v]);
    }
    words.extend([25, random, 31, execfn, 0, 0]); // AT_RANDOM, AT_EXECFN, AT_NULL
    sp = (sp - 4 * words.len() as u32) & !15;
    for (i, w) in words.iter().enumerate() {
        memory.poke(sp + 4 * i as u32, &w.to_le_bytes());
    }
    sp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF: header, `phdrs`, then `body` at file offset 0x1000.
    fn elf(phdrs: &[[u32; 8]], entry: u32, body: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; 0x1000];
        e[..8].copy_from_slice(b"\x7fELF\x01\x01\x01\x00");
        e[16..18].copy_from_slice(&2u16.to_le_bytes());
        e[18..20].copy_from_slice(&3u16.to_le_bytes());
        e[24..28].copy_from_slice(&entry.to_le_bytes());
        e[28..32].copy_from_slice(&52u32.to_le_bytes());
        e[42..44].copy_from_slice(&32u16.to_le_bytes());
        e[44..46].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            for (k, f) in p.iter().enumerate() {
                let at = 52 + 32 * i + 4 * k;
                e[at..at + 4].copy_from_slice(&f.to_le_bytes());
            }
        }
        e.extend_from_slice(body);
        e
    }

    #[test]
    fn a_later_segment_on_the_same_page_replaces_it() {
        // Both segments map file offset 0x1000's page at 0x09000000's page.
        let body = [0x11u8; 0x20];
        let e = elf(
            &[[1, 0x1000, 0x0900_0000, 0, 0x10, 0x10, 5, 0x1000], [1, 0x1010, 0x0900_0010, 0, 0x10, 0x20, 6, 0x1000]],
            0x0900_0000,
            &body,
        );
        let (m, layout) = load(&e, &[], &[], Layout::new(8 << 20)).unwrap();
        // The page is the second segment's: writable, file bytes up to 0x20, then zeros.
        assert_eq!(m.memory.perms(0x0900_0000), READ | WRITE);
        assert_eq!(m.memory.read8(0x0900_0000), Ok(0x11));
        assert_eq!(m.memory.read8(0x0900_001f), Ok(0x11));
        assert_eq!(m.memory.read8(0x0900_0020), Ok(0));
        assert_eq!(layout.brk, 0x0900_1000);
    }

    #[test]
    fn the_stack_holds_argc_argv_envp_and_auxv() {
        let e = elf(&[[1, 0x1000, 0x0900_0000, 0, 1, 1, 5, 0x1000]], 0x0900_0000, &[0xf4]);
        let (m, _) = load(&e, &[b"prog".to_vec(), b"x".to_vec()], &[b"A=1".to_vec()], Layout::new(8 << 20)).unwrap();
        let esp = m.regs[4];
        assert_eq!(esp % 16, 0);
        let word = |k: u32| m.memory.read32(esp + 4 * k).unwrap();
        assert_eq!(word(0), 2);
        assert_eq!(m.memory.read_c_string(word(1)).unwrap(), b"prog");
        assert_eq!(m.memory.read_c_string(word(2)).unwrap(), b"x");
        assert_eq!(word(3), 0);
        assert_eq!(m.memory.read_c_string(word(4)).unwrap(), b"A=1");
        assert_eq!(word(5), 0);
        assert_eq!((word(6), word(7)), (3, 0)); // AT_PHDR: the headers are in no segment
        assert!(m.memory.is_mapped(esp - (8 << 20) + 4096), "room for the stack to grow");
        assert!(!m.memory.is_mapped(esp - (8 << 20) - 4096));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let error = |e: &[u8]| load(e, &[], &[], Layout::new(0)).err().unwrap_or_default();
        assert!(error(b"hello").contains("not an ELF"));
        let mut e = elf(&[], 0, &[]);
        e[4] = 2;
        assert!(error(&e).contains("32-bit"));
        assert!(error(&elf(&[], 0, &[])).contains("no loadable segment"));
    }
}

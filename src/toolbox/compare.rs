//! `subx compare A.elf B.elf`: where two ELFs differ, and what made the
//! bytes that differ. `ntranslate --compare REF.elf` runs it on what it
//! wrote and the reference.
//!
//! Identical files: exit 0, nothing said. Otherwise it names the first
//! byte that differs: its offset, its address once loaded, the header field
//! or segment it lies in, and, from A's maps (`a.labels`, `a.map` beside
//! it, when they describe it), the nearest label before it and the line of
//! SubX that made it; then how many bytes differ in all. Exit 3.
//!
//! ```text
//! $ subx compare hello.elf ref.elf
//! hello.elf and ref.elf differ at offset 0x27b (address 0x0900027b, in segment code): 1d in hello.elf, 1e in ref.elf
//!   at Entry+0x11, made by subx-apps/05-hello.subx:23: e8/call  syscall-write/disp32
//!   1 byte differs in all (both are 703 bytes)
//! ```

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::elf::Elf;
use crate::error::io_reason;
use crate::maps::Symbols;

/// Exit status when the two differ (1 stays a failed translation).
pub const EXIT_DIFFERENT: u8 = 3;

/// What the comparison found: nothing, or the report. `elf` is A's
/// headers, `symbols` its maps.
pub fn compare(a_path: &Path, a: &[u8], elf: &Elf, b_path: &Path, b: &[u8], symbols: &Symbols) -> Option<String> {
    let shown = |p: &Path| p.display().to_string();
    let (a_name, b_name) = (shown(a_path), shown(b_path));
    let common = a.len().min(b.len());
    let first = a.iter().zip(b).position(|(x, y)| x != y);
    let differing = a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len());
    let sizes = if a.len() == b.len() {
        format!("both are {} bytes", a.len())
    } else {
        format!("{a_name} is {} bytes, {b_name} {}", a.len(), b.len())
    };
    let plural = |n: usize| if n == 1 { "byte differs" } else { "bytes differ" };
    let Some(at) = first else {
        if a.len() == b.len() {
            return None;
        }
        return Some(format!(
            "{a_name} and {b_name} differ in length: the first {common} bytes are the same, then {}\n  {differing} {} in all ({sizes})\n",
            if a.len() > b.len() { format!("{a_name} goes on") } else { format!("{b_name} goes on") },
            plural(differing)
        ));
    };
    let offset = at as u32;
    let place = match (elf.field_at(offset), elf.address_of(offset), elf.segment_at_offset(offset)) {
        (Some(field), _, _) => format!("in the {field}"),
        (None, Some(address), Some(segment)) => {
            let p = &elf.program_headers[segment];
            let name = symbols.segment_between(p.p_vaddr, p.p_vaddr.wrapping_add(p.p_memsz)).map_or_else(
                || format!("{segment} ({})", p.permissions()),
                |name| String::from_utf8_lossy(name).into_owned(),
            );
            format!("address {address:#010x}, in segment {name}")
        }
        _ => "outside every segment".to_string(),
    };
    let mut report = format!(
        "{a_name} and {b_name} differ at offset {at:#x} ({place}): {:02x} in {a_name}, {:02x} in {b_name}\n",
        a[at], b[at]
    );
    if let Some(address) = elf.address_of(offset) {
        let label = symbols.label_and_offset(address);
        let line = symbols.line(address).map(|l| {
            format!("made by {}: {}", String::from_utf8_lossy(&l.place), String::from_utf8_lossy(&l.text))
        });
        match (label, line) {
            (Some(label), Some(line)) => report.push_str(&format!("  at {label}, {line}\n")),
            (Some(label), None) => report.push_str(&format!("  at {label}\n")),
            (None, Some(line)) => report.push_str(&format!("  {line}\n")),
            (None, None) => report.push_str(&format!(
                "  (no {} beside {a_name}: translate with scripts/ntranslate to see labels and source lines)\n",
                a_path.with_extension("map").display()
            )),
        }
    }
    report.push_str(&format!("  {differing} {} in all ({sizes})\n", plural(differing)));
    Some(report)
}

pub fn main(args: &[OsString]) -> ExitCode {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut map: Option<PathBuf> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                print!("{}", help());
                return ExitCode::SUCCESS;
            }
            Some("--map") => match rest.next() {
                Some(path) => map = Some(PathBuf::from(path)),
                None => return usage("option '--map' needs a file name"),
            },
            Some(option) if option.starts_with('-') && option.len() > 1 => {
                return usage(&format!("unknown option '{option}'"));
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    let [a_path, b_path] = &files[..] else {
        return usage("give two files to compare");
    };
    let read = |path: &Path| {
        fs::read(path).map_err(|e| format!("subx compare: cannot read '{}': {}", path.display(), io_reason(&e)))
    };
    let (a, b) = match (read(a_path), read(b_path)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("{message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let a_elf = match Elf::read(&a) {
        Ok(elf) => elf,
        Err(why) => return not_an_elf(a_path, &why),
    };
    if let Err(why) = Elf::read(&b) {
        return not_an_elf(b_path, &why);
    }
    let (symbols, warnings) = Symbols::load(a_path, &a, map.as_deref());
    for warning in warnings {
        eprintln!("subx compare: warning: {warning}");
    }
    match compare(a_path, &a, &a_elf, b_path, &b, &symbols) {
        None => ExitCode::SUCCESS,
        Some(report) => {
            print!("{report}");
            ExitCode::from(EXIT_DIFFERENT)
        }
    }
}

fn not_an_elf(path: &Path, why: &str) -> ExitCode {
    eprintln!("subx compare: '{}' is {why}", path.display());
    ExitCode::from(super::EXIT_USAGE)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("subx compare: {message}\nTry 'subx compare --help'.");
    ExitCode::from(super::EXIT_USAGE)
}

fn help() -> String {
    "usage: subx compare [--map A.map] A.elf B.elf\n\
     \n\
     Compare two ELFs byte for byte. When they differ, name the first byte\n\
     that does: its offset, its address, the header field or segment it lies\n\
     in, and from A's maps (A.labels and A.map beside it, or --map) the label\n\
     before it and the line of SubX that made it; then how many bytes differ.\n\
     \n\
     Exit status: 0 identical (nothing printed); 3 they differ; 2 a file\n\
     cannot be read or is not an ELF, or a usage error.\n\
     \n\
     Example:\n  \
       $ scripts/ntranslate -o hello.elf init.linux subx-apps/05-hello.subx\n  \
       $ subx compare hello.elf hello.elf; echo $?\n  \
       0\n"
        .to_string()
}

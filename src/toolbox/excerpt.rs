//! `subx excerpt`: what `scripts/phases` prints of a translation, your
//! own lines only: the step after `ntranslate` in that script.
//!
//! ```text
//! subx excerpt --dir DIR --stem STEM --phases 'PHASE...' [--all] [--only PART] [--no-elf] [--failed] -- SOURCE...
//! ```
//!
//! `DIR/STEM.PHASE` are the texts `ntranslate` kept, `DIR/STEM.elf` and its
//! maps (`STEM.labels`, `STEM.map`) the ELF. Given more than one source
//! file, the first is the prelude (`init.linux`), and each part shows only
//! what came from the others, the program the learner wrote: the lines
//! that came from those files, and those a phase made up for them (a
//! string's data) or for no line at all (`run-tests`); what is left out is
//! one comment line saying how much and from where:
//!
//! ```text
//! ==> after assort <==
//! # ... 223 lines from init.linux
//! Entry:
//! be/copy-to-esi _string5/imm32
//! ```
//!
//! Which line came from where is found by running the phases again, in
//! this process, each on the previous one's kept text, with line maps
//! (`crate::line_map`): a phase whose output then differs from its kept
//! text (it failed half way) is shown whole. survey's output is shown with
//! each line's address and the labels there, and the ELF as rows of bytes
//! under their labels, both from the maps beside the ELF
//! ([`crate::maps`]). `--all`, or a single source file, shows everything.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::elf::Elf;
use crate::line_map::{LineMap, Map};
use crate::maps::Symbols;
use crate::phases;

/// What to show, from where.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub dir: PathBuf,
    pub stem: String,
    pub phases: Vec<String>,
    pub sources: Vec<String>,
    /// Everything, the prelude too.
    pub all: bool,
    /// One part alone, without its header: `source`, a phase, or `hex`.
    pub only: Option<String>,
    pub elf: bool,
    /// The translation failed: show the phases up to the last that wrote
    /// something.
    pub failed: bool,
}

/// Where a line or a byte came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum From {
    /// The user's files (or made up for them, or for no line).
    User,
    /// The first file.
    Prelude,
    /// The ELF header and the program headers.
    Headers,
}

/// A line to print: the labels defined just before it, its text, and
/// where it came from; for the ELF's rows, the offsets they span.
struct Shown {
    labels: Vec<String>,
    text: Vec<u8>,
    from: From,
    span: Option<(u32, u32)>,
}

/// Writes the parts `request` asks for.
pub fn excerpt(request: &Request, out: &mut dyn Write) -> io::Result<()> {
    let mut source = Vec::new();
    let mut counts = Vec::new();
    for name in &request.sources {
        let text = fs::read(name).map_err(|e| io::Error::new(e.kind(), format!("cannot read {name}: {}", crate::error::io_reason(&e))))?;
        counts.push(line_count(&text));
        source.extend_from_slice(&text);
        if !text.is_empty() && !text.ends_with(b"\n") {
            source.push(b'\n');
        }
    }
    let all = request.all || request.sources.len() < 2;
    // The last line of the prelude, in the sources one after another.
    let prelude_end = if all { 0 } else { counts[0] };
    let prelude_name = request.sources.first().map_or("", String::as_str);
    let from_line = |line: Option<u64>| match line {
        Some(n) if n <= prelude_end => From::Prelude,
        _ => From::User,
    };
    let header = |out: &mut dyn Write, part: &str, title: &str| -> io::Result<bool> {
        match &request.only {
            None => {
                writeln!(out, "\n==> {title} <==")?;
                Ok(true)
            }
            Some(only) => Ok(only == part),
        }
    };

    if header(out, "source", &format!("source: {}", request.sources.join(" ")))? {
        let lines: Vec<Shown> = text_lines(&source).into_iter().enumerate().map(|(k, l)| plain(l, from_line(Some(k as u64 + 1)))).collect();
        write_shown(out, &lines, all, &|hidden| line_marker(hidden, prelude_name))?;
    }

    // The ELF and its maps, read once for survey's addresses and the dump.
    let loaded = OnceCell::new();
    let elf_and_maps = || loaded.get_or_init(|| elf_and_maps(request));

    let mut input = source;
    // Where each line of the current input came from (None: made up).
    let mut origins: Option<Vec<Option<u64>>> = Some((1..=line_count(&input)).map(Some).collect());
    for phase in &request.phases {
        let kept = match fs::read(request.dir.join(format!("{}.{phase}", request.stem))) {
            Ok(text) => text,
            Err(_) if request.failed => break,
            Err(e) => return Err(e),
        };
        if request.failed && kept.is_empty() {
            break;
        }
        origins = origins.and_then(|before| {
            let map = line_map(phase, &input, &kept)?;
            Some((1..=line_count(&kept)).map(|line| map.origin(line).line().and_then(|n| before.get((n as usize).checked_sub(1)?).copied().flatten())).collect())
        });
        if header(out, phase, &format!("after {phase}"))? {
            if phase == "survey" && !request.failed {
                write_survey(out, elf_and_maps(), &kept, all, prelude_name)?;
            } else {
                let from = |k: usize| origins.as_ref().map_or(From::User, |o| from_line(o.get(k).copied().flatten()));
                let lines: Vec<Shown> = text_lines(&kept).into_iter().enumerate().map(|(k, l)| plain(l, from(k))).collect();
                write_shown(out, &lines, all || origins.is_none(), &|hidden| line_marker(hidden, prelude_name))?;
            }
        }
        input = kept;
    }

    if !request.failed && (request.elf || request.only.as_deref() == Some("hex")) {
        let loaded = elf_and_maps();
        let elf = match loaded {
            Ok((bytes, _, _)) => Cow::Borrowed(bytes),
            // A file that cannot be read stops here; one that is no ELF of
            // ours, or whose maps are stale, is said so under the header.
            Err(_) => Cow::Owned(fs::read(request.dir.join(format!("{}.elf", request.stem)))?),
        };
        if header(out, "hex", &format!("after hex: the ELF ({} bytes)", elf.len()))? {
            write_elf(out, loaded, &elf, all, prelude_name)?;
        }
    }
    Ok(())
}

/// How many lines `text` has (a last line without LF counts).
fn line_count(text: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', text).count() as u64;
    newlines + u64::from(!text.is_empty() && !text.ends_with(b"\n"))
}

/// The lines of `text`, without their LF.
fn text_lines(text: &[u8]) -> Vec<&[u8]> {
    crate::read::lines(text).map(|line| line.strip_suffix(b"\n").unwrap_or(line)).collect()
}

fn plain(line: &[u8], from: From) -> Shown {
    Shown { labels: Vec::new(), text: line.to_vec(), from, span: None }
}

/// The line map of `phase` run on `input`, if it writes `kept` again.
fn line_map(phase: &str, input: &[u8], kept: &[u8]) -> Option<Map> {
    let run = match phase {
        "braces" => phases::braces::run,
        "calls" => phases::calls::run,
        "sigils" => phases::sigils::run,
        "tests" => phases::tests::run,
        "dquotes" => phases::dquotes::run,
        "assort" => phases::assort::run,
        "pack" => phases::pack::run,
        _ => return None,
    };
    let mut output = Vec::new();
    let mut map = LineMap::in_memory();
    // A phase that failed has kept what it wrote before the error: the
    // same text, with the map up to there.
    let _ = run(&mut &input[..], &mut output, &mut map);
    (output == kept).then(|| Map::parse(&map.finish_to_string()))
}

/// Writes `lines`, each run of hidden ones as one marker line.
fn write_shown(out: &mut dyn Write, lines: &[Shown], all: bool, marker: &dyn Fn(&[&Shown]) -> String) -> io::Result<()> {
    let mut hidden: Vec<&Shown> = Vec::new();
    for line in lines {
        if all || line.from == From::User {
            if !hidden.is_empty() {
                writeln!(out, "{}", marker(&hidden))?;
                hidden.clear();
            }
            for label in &line.labels {
                writeln!(out, "{label}")?;
            }
            out.write_all(&line.text)?;
            out.write_all(b"\n")?;
        } else {
            hidden.push(line);
        }
    }
    if !hidden.is_empty() {
        writeln!(out, "{}", marker(&hidden))?;
    }
    Ok(())
}

/// What a run of hidden lines came from, in order: `init.linux`, `the ELF
/// and program headers`.
fn sources_of(hidden: &[&Shown], prelude: &str) -> String {
    let mut names: Vec<&str> = Vec::new();
    for line in hidden {
        let name = if line.from == From::Headers { "the ELF and program headers" } else { prelude };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(" and ")
}

fn line_marker(hidden: &[&Shown], prelude: &str) -> String {
    let s = if hidden.len() == 1 { "" } else { "s" };
    format!("# ... {} line{s} from {}", hidden.len(), sources_of(hidden, prelude))
}

/// Is `place`, a WHERE of the listing, in the prelude?
fn place_from(place: &[u8], prelude: &str) -> From {
    // `FILE:LINE`, `FILE:LINE (generated by P)`, or `(generated by P)`.
    let located = &place[..memchr::memmem::find(place, b" (generated").unwrap_or(place.len())];
    match memchr::memrchr(b':', located) {
        Some(k) if &located[..k] == prelude.as_bytes() => From::Prelude,
        _ => From::User,
    }
}

/// The ELF (its bytes and headers) and its maps, or why they cannot be read.
type Loaded = Result<(Vec<u8>, Elf, Symbols), String>;

/// The ELF and its maps, or why they cannot be read.
fn elf_and_maps(request: &Request) -> Loaded {
    let path = request.dir.join(format!("{}.elf", request.stem));
    let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {}", path.display(), crate::error::io_reason(&e)))?;
    let elf = Elf::read(&bytes)?;
    let (symbols, warnings) = Symbols::load(&path, &bytes, None);
    if let Some(w) = warnings.first() {
        return Err(w.clone());
    }
    Ok((bytes, elf, symbols))
}

/// Where the byte at `address` came from, by the listing.
fn byte_from(symbols: &Symbols, address: Option<u32>, prelude: &str) -> From {
    match address.and_then(|a| symbols.line(a)) {
        Some(line) => place_from(&line.place, prelude),
        None => From::Headers,
    }
}

/// survey's output, each line with the address of its first byte and the
/// labels there.
fn write_survey(out: &mut dyn Write, loaded: &Loaded, text: &[u8], all: bool, prelude: &str) -> io::Result<()> {
    let (_, elf, symbols) = match loaded {
        Ok(found) => found,
        Err(why) => {
            writeln!(out, "# (no addresses: {why})")?;
            return out.write_all(text);
        }
    };
    let mut offset = 0u32;
    let mut lines = Vec::new();
    for line in text_lines(text) {
        let bytes = line.split(|&b| b == b' ').filter(|w| !w.is_empty()).count() as u32;
        let address = elf.address_of(offset).filter(|_| bytes > 0);
        let labels = address.map_or_else(Vec::new, |a| {
            symbols.labels_at(a).iter().map(|l| format!("{:<10}  {}:", hex8(a), String::from_utf8_lossy(l))).collect()
        });
        let column = address.map_or_else(|| "-".to_string(), hex8);
        let mut text = format!("{column:<10}  ").into_bytes();
        text.extend_from_slice(crate::words::trim_space_end(line));
        let from = if offset < elf.headers_end() { From::Headers } else { byte_from(symbols, address, prelude) };
        lines.push(Shown { labels, text, from, span: None });
        offset += bytes;
    }
    write_shown(out, &lines, all, &|hidden| line_marker(hidden, prelude))
}

fn hex8(n: u32) -> String {
    format!("{n:#010x}")
}

/// How many bytes a row of the ELF dump holds at most.
const ROW: u32 = 16;

/// The ELF as rows of at most 16 bytes: offset, address, bytes, the bytes
/// as text; a row starts at each label, segment and change of origin,
/// with the labels on lines of their own above it.
fn write_elf(out: &mut dyn Write, loaded: &Loaded, bytes: &[u8], all: bool, prelude: &str) -> io::Result<()> {
    let (elf, symbols) = match loaded {
        Ok((_, elf, symbols)) => (elf, symbols),
        Err(why) => {
            writeln!(out, "# (no dump: {why})")?;
            return Ok(());
        }
    };
    // By address, as a.labels lists them.
    let labels: Vec<(u32, Vec<u8>)> = symbols.labels_starting_with(b"").map(|(a, n)| (a, n.to_vec())).collect();
    let is_label = |a: u32| labels.binary_search_by_key(&a, |(l, _)| *l).is_ok();
    writeln!(out, "{:<10}  {:<10}  bytes", "offset", "address")?;
    let mut rows = Vec::new();
    let mut offset = 0u32;
    let end = bytes.len() as u32;
    while offset < end {
        let address = elf.address_of(offset);
        let from = if offset < elf.headers_end() { From::Headers } else { byte_from(symbols, address, prelude) };
        // The row ends before the next byte that starts something else.
        let mut next = offset + 1;
        while next < end && next - offset < ROW {
            let a = elf.address_of(next);
            let starts_label = a.is_some_and(is_label);
            let same_segment = elf.segment_at_offset(next) == elf.segment_at_offset(offset);
            let same_from = (if next < elf.headers_end() { From::Headers } else { byte_from(symbols, a, prelude) }) == from;
            if starts_label || !same_segment || !same_from || next == elf.headers_end() {
                break;
            }
            next += 1;
        }
        let row = &bytes[offset as usize..next as usize];
        let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = row.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        let column = address.map_or_else(|| "-".to_string(), hex8);
        let labels_here = address.map_or_else(Vec::new, |a| {
            labels.iter().filter(|(l, _)| *l == a).map(|(_, n)| format!("{:24}{}:", "", String::from_utf8_lossy(n))).collect()
        });
        rows.push(Shown {
            labels: labels_here,
            text: format!("{:<10}  {column:<10}  {:<47}  {text}", hex8(offset), hex.join(" ")).into_bytes(),
            from,
            span: Some((offset, next)),
        });
        offset = next;
    }
    write_shown(out, &rows, all, &|hidden| {
        let first = hidden.first().and_then(|r| r.span).map_or(0, |s| s.0);
        let last = hidden.last().and_then(|r| r.span).map_or(0, |s| s.1);
        format!("# ... bytes {first:#x}-{:#x} from {}", last.saturating_sub(1), sources_of(hidden, prelude))
    })
}

pub fn main(args: &[OsString]) -> ExitCode {
    let request = match parse_args(args) {
        Ok(Some(request)) => request,
        Ok(None) => {
            print!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("subx excerpt: {message}\nTry 'subx excerpt --help'.");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    match excerpt(&request, &mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(e) => {
            eprintln!("subx excerpt: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(args: &[OsString]) -> Result<Option<Request>, String> {
    let mut request = Request { elf: true, ..Request::default() };
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("option '{arg}' needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--dir" => request.dir = PathBuf::from(value()?),
            "--stem" => request.stem = value()?,
            "--phases" => request.phases = value()?.split_whitespace().map(str::to_string).collect(),
            "--only" => request.only = Some(value()?),
            "--all" => request.all = true,
            "--no-elf" => request.elf = false,
            "--failed" => request.failed = true,
            "--" => {
                request.sources = args.collect();
                break;
            }
            other => return Err(format!("unexpected argument '{other}'")),
        }
    }
    if request.dir.as_os_str().is_empty() || request.stem.is_empty() || request.sources.is_empty() {
        return Err("--dir, --stem and the source files are required".into());
    }
    Ok(Some(request))
}

fn help() -> String {
    "usage: subx excerpt --dir DIR --stem STEM --phases 'PHASE...' [--all] [--only PART] [--no-elf] [--failed] -- SOURCE...\n\
     \n\
     Print the sources, the texts ntranslate kept in DIR (STEM.PHASE) and the\n\
     ELF (STEM.elf) as scripts/phases shows them: given more than one source,\n\
     only what came from the sources after the first (--all: everything);\n\
     survey's text with addresses and labels, the ELF as rows of bytes under\n\
     their labels, from the maps beside it. scripts/phases runs it.\n\
     \n\
     Options:\n  \
       --all         the first source's lines too\n  \
       --only PART   one part, without its header: source, a phase, or hex\n  \
       --no-elf      leave out the ELF\n  \
       --failed      the translation failed: the phases up to the last that\n                \
                     wrote something, no ELF\n\
     \n\
     Exit status: 0 success; 1 a file cannot be read; 2 usage error.\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_map::Origin;

    fn shown(text: &str, from: From) -> Shown {
        Shown { labels: Vec::new(), text: text.as_bytes().to_vec(), from, span: None }
    }

    fn written(lines: &[Shown], all: bool) -> String {
        let mut out = Vec::new();
        write_shown(&mut out, lines, all, &|hidden| line_marker(hidden, "init.linux")).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hidden_lines_become_one_marker_per_run() {
        let lines = [
            shown("== code", From::Prelude),
            shown("f:", From::Prelude),
            shown("Entry:", From::User),
            shown("== data", From::Prelude),
        ];
        assert_eq!(written(&lines, false), "# ... 2 lines from init.linux\nEntry:\n# ... 1 line from init.linux\n");
        assert_eq!(written(&lines, true), "== code\nf:\nEntry:\n== data\n");
        let headers = [shown("7f 45", From::Headers), shown("55", From::Prelude), shown("bb", From::User)];
        assert_eq!(written(&headers, false), "# ... 2 lines from the ELF and program headers and init.linux\nbb\n");
    }

    #[test]
    fn a_place_of_the_listing_names_its_file() {
        assert_eq!(place_from(b"init.linux:33", "init.linux"), From::Prelude);
        assert_eq!(place_from(b"init.linux:280 (generated by dquotes)", "init.linux"), From::Prelude);
        assert_eq!(place_from(b"a:b.subx:7", "init.linux"), From::User);
        assert_eq!(place_from(b"(generated by tests)", "init.linux"), From::User);
    }

    #[test]
    fn the_maps_are_those_of_the_phases_run_again() {
        let input = b"== code\nEntry:\n  bb/copy-to-ebx  0x2a/imm32  # x\n";
        let mut kept = Vec::new();
        phases::dquotes::run(&mut &input[..], &mut kept, &mut LineMap::off()).unwrap();
        let map = line_map("dquotes", input, &kept).expect("the same text");
        assert_eq!(map.origin(3), Origin::Line(3));
        assert!(line_map("dquotes", input, b"something else").is_none());
        assert!(line_map("survey", input, &kept).is_none());
    }

    #[test]
    fn lines_are_counted_as_the_phases_count_them() {
        assert_eq!((line_count(b""), line_count(b"a"), line_count(b"a\n"), line_count(b"a\nb")), (0, 1, 1, 2));
        assert_eq!(text_lines(b"a\n\nb\n"), [&b"a"[..], b"", b"b"]);
        assert_eq!((text_lines(b"").len(), text_lines(b"\n").len()), (0, 1));
    }

    #[test]
    fn arguments() {
        let args: Vec<OsString> =
            ["--dir", "d", "--stem", "p", "--phases", "tests pack", "--all", "--", "a", "b"].iter().map(OsString::from).collect();
        let r = parse_args(&args).unwrap().unwrap();
        assert_eq!((r.phases.len(), r.sources.len(), r.all, r.elf), (2, 2, true, true));
        assert!(parse_args(&[OsString::from("--dir")]).is_err());
    }
}

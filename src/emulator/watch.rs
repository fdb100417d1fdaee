//! Watch points: every write to some bytes of memory, reported with the
//! instruction and source line that made it.
//!
//! `--watch ADDR|LABEL[:LEN]` watches `LEN` bytes (default 4) from an
//! address or a label of `a.labels`. A label whose name starts with
//! `$watch-`, put before an instruction that writes memory, watches what
//! that instruction writes from the first time it runs, as in the
//! reference's `subx run`.
//!
//! ```
//! use subx::emulator::watch::Watch;
//! use subx::maps::Symbols;
//! let w = Watch::parse("0x0a000010:8", &Symbols::none()).unwrap();
//! assert_eq!((w.addr, w.len), (0x0a000010, 8));
//! assert!(w.overlaps(0x0a000016, 4) && !w.overlaps(0x0a000018, 1));
//! ```
//!
//! A report, on stderr:
//!
//! ```text
//! subx run: watch Counter (0x0a000000, 4 bytes): 0x0 -> 0x1 at step 12 by 0x0900005e main+0x6: ff 05 00 00 00 0a  # a.subx:9 ff 0/subop/increment ...
//! ```

use crate::maps::Symbols;

/// Watched memory: `len` bytes at `addr`, shown as `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub addr: u32,
    pub len: u32,
    pub name: String,
}

impl Watch {
    /// Read `ADDR|LABEL[:LEN]`; the error says what is wrong.
    pub fn parse(spec: &str, symbols: &Symbols) -> Result<Watch, String> {
        // Labels may hold colons ($main:loop): a whole label comes first.
        if let Some(addr) = symbols.address_of(spec.as_bytes()) {
            return Ok(Watch { addr, len: 4, name: spec.to_string() });
        }
        let (target, len) = match spec.rsplit_once(':') {
            Some((t, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit() || b == b'x') => {
                let len = parse_number(l).ok_or(format!("--watch '{spec}': '{l}' is not a length"))?;
                (t, len)
            }
            _ => (spec, 4),
        };
        if len == 0 {
            return Err(format!("--watch '{spec}': the length must be at least 1"));
        }
        let addr = match parse_number(target) {
            Some(a) if target.starts_with("0x") || symbols.address_of(target.as_bytes()).is_none() => a,
            _ => symbols.address_of(target.as_bytes()).ok_or_else(|| {
                if symbols.is_empty() {
                    format!("--watch '{spec}': '{target}' is not an address (0x...) and there is no a.labels to find it in")
                } else {
                    format!("--watch '{spec}': no label '{target}' in the labels file")
                }
            })?,
        };
        let name = if target.starts_with("0x") { format!("{addr:#010x}") } else { target.to_string() };
        Ok(Watch { addr, len, name })
    }

    /// Does a write of `size` bytes at `addr` touch it?
    pub fn overlaps(&self, addr: u32, size: u32) -> bool {
        let (a, b) = (u64::from(addr), u64::from(self.addr));
        a < b + u64::from(self.len) && b < a + u64::from(size)
    }
}

/// A length or address: hex with `0x`, or decimal.
fn parse_number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256::{sha256, to_hex};

    #[test]
    fn addresses_labels_and_lengths() {
        let elf = b"elf";
        let labels = format!(
            "# subx labels of a.elf sha256 {}\n0x0a000000\tdata\tCounter\n0x0a000010\tdata\t$x:a\n",
            to_hex(&sha256(elf))
        );
        let s = Symbols::parse(elf, Some(labels.as_bytes()), None).unwrap();
        assert_eq!(Watch::parse("Counter", &s).unwrap(), Watch { addr: 0x0a000000, len: 4, name: "Counter".into() });
        assert_eq!(Watch::parse("Counter:1", &s).unwrap().len, 1);
        assert_eq!(Watch::parse("0x10:0x10", &s).unwrap(), Watch { addr: 0x10, len: 16, name: "0x00000010".into() });
        assert!(Watch::parse("Nope", &s).unwrap_err().contains("no label 'Nope'"));
        assert!(Watch::parse("Nope", &Symbols::none()).unwrap_err().contains("no a.labels"));
        assert!(Watch::parse("Counter:0", &s).is_err());
        assert_eq!(Watch::parse("$x:a", &s).unwrap().addr, 0x0a000010, "a label with a colon");
        assert_eq!(Watch::parse("$x:a:2", &s).unwrap().len, 2);
    }
}

//! SubX numbers: one parser, one set of errors (`language.md` section 4).
//!
//! Numbers are hexadecimal only (`10` is sixteen): an optional `-` or `+`,
//! an optional lowercase `0x`, then lowercase hex digits and nothing else.
//! Values run from -0x80000000 to 0xffffffff and are used as 32-bit
//! patterns, so `-1` and `0xffffffff` give the same bytes.
//!
//! ```
//! use subx::number::{parse, NumberError};
//! assert_eq!(parse(b"0x2a"), Ok(0x2a));
//! assert_eq!(parse(b"-1"), Ok(-1));
//! assert_eq!(parse(b"+10"), Ok(0x10));          // CONTRACT decision 3
//! assert_eq!(parse(b"0xA"), Err(NumberError::Uppercase));
//! assert_eq!(parse(b"0x1g"), Err(NumberError::NotHex));
//! assert_eq!(parse(b"100000000"), Err(NumberError::OutOfRange));
//! ```

use std::fmt;

use crate::error::printable;

/// Why a word is not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Nothing to read (an empty datum, a bare `0x`, a lone sign).
    Empty,
    /// An uppercase letter anywhere (`0xA`, `0X10`, `FF`).
    Uppercase,
    /// A byte that is not a lowercase hex digit (`0x1g`, `zz`).
    NotHex,
    /// Outside -0x80000000..=0xffffffff.
    OutOfRange,
}

/// Two forms of one wording: `Display` gives the short clause that goes
/// inside a sentence about something else ("the start address of segment
/// 'code' is not a number: ..."), [`NumberError::explain`] the message
/// about a word that should have been a number.
impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::Empty => "is not a number: no hex digits",
            NumberError::Uppercase => "is not a number: hex digits must be lowercase",
            NumberError::NotHex => "is not a number: only hex digits 0-9 a-f may follow an optional sign and 0x",
            NumberError::OutOfRange => "is not a number: it does not fit in 32 bits (-0x80000000 to 0xffffffff)",
        })
    }
}

impl NumberError {
    /// The message about a word whose datum, `datum`, does not read as a
    /// number: what is wrong with it and, where it helps, how to write it
    /// (`language.md` 4.2).
    ///
    /// ```
    /// use subx::number::{parse, NumberError};
    /// let e = parse(b"0xA").unwrap_err();
    /// assert_eq!(e.explain(b"0xA"), "hex must be lowercase (write '0xa')");
    /// ```
    #[cold]
    pub fn explain(self, datum: &[u8]) -> String {
        match self {
            NumberError::Empty => "is not a valid hex number: it has no digits".to_string(),
            NumberError::Uppercase => {
                format!("hex must be lowercase (write '{}')", printable(&datum.to_ascii_lowercase()))
            }
            NumberError::OutOfRange => "does not fit in 32 bits (-0x80000000..0xffffffff)".to_string(),
            NumberError::NotHex => match datum.first() {
                _ if datum.len() == 2 && !matches!(datum.first(), Some(b'0'..=b'9' | b'-' | b'+')) => {
                    "is neither a hex number nor a possible label (labels are never two characters long)".to_string()
                }
                Some(b'0'..=b'9') => {
                    "is not a valid hex number (a word starting with a digit is a number; labels may not start with one)"
                        .to_string()
                }
                Some(b'-' | b'+') => {
                    "is not a valid hex number (a word starting with a sign is a number; labels may not start with one)"
                        .to_string()
                }
                _ => "is not a valid hex number (digits 0-9 a-f after an optional sign and '0x')".to_string(),
            },
        }
    }
}

/// Does this datum read as a number rather than a name (`language.md` 4.1)?
/// It does when it starts with a sign or a decimal digit, or is exactly two
/// bytes long (so `ab` and `zz` are numbers, `abc` and `f` are names).
#[inline]
pub fn looks_like_number(datum: &[u8]) -> bool {
    match datum.first() {
        Some(b'-' | b'+' | b'0'..=b'9') => true,
        _ => datum.len() == 2,
    }
}

/// Reads a number (`language.md` 4.2). The result lies in
/// -0x80000000..=0xffffffff; take `as u32` for its 32-bit pattern.
///
/// Most numbers of a program are one or two digits (`3/mod`, `2a`, `bb`):
/// those are read at once, the rest digit by digit.
#[inline]
pub fn parse(datum: &[u8]) -> Result<i64, NumberError> {
    let short = match *datum {
        [digit] => hex_digit(digit),
        _ => hex_pair(datum),
    };
    match short {
        Some(value) => Ok(i64::from(value)),
        None => parse_any(datum),
    }
}

/// [`parse`] without its shortcut: sign, `0x`, digits, range.
fn parse_any(datum: &[u8]) -> Result<i64, NumberError> {
    let (negative, unsigned) = match datum.first() {
        Some(b'-') => (true, &datum[1..]),
        Some(b'+') => (false, &datum[1..]),
        _ => (false, datum),
    };
    let digits = unsigned.strip_prefix(b"0x").unwrap_or(unsigned);
    if digits.is_empty() {
        return Err(NumberError::Empty);
    }
    let mut magnitude: u64 = 0;
    for &b in digits {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return Err(uppercase_or(datum, NumberError::NotHex)),
        };
        magnitude = magnitude * 16 + u64::from(digit);
        if magnitude > 0xffff_ffff {
            return Err(uppercase_or(datum, NumberError::OutOfRange));
        }
    }
    let value = if negative { -(magnitude as i64) } else { magnitude as i64 };
    if value < -0x8000_0000 {
        return Err(NumberError::OutOfRange);
    }
    Ok(value)
}

/// An uppercase letter anywhere is the error to report, before any other;
/// looked for only once the datum has failed to read (a datum that reads
/// has none: its sign, `0x` and digits are all lowercase).
fn uppercase_or(datum: &[u8], error: NumberError) -> NumberError {
    if datum.iter().any(u8::is_ascii_uppercase) {
        NumberError::Uppercase
    } else {
        error
    }
}

/// The byte that `datum`, exactly two lowercase hex digits (`2a`), spells:
/// a raw byte as `pack` reads it and writes it.
#[inline]
pub fn hex_pair(datum: &[u8]) -> Option<u8> {
    match *datum {
        [high, low] => Some(hex_digit(high)? << 4 | hex_digit(low)?),
        _ => None,
    }
}

#[inline]
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Reads a number that must fit in `min..=max` (for example an imm8 in
/// -0x80..=0xff). `Ok(None)` means it parsed but is out of that range.
pub fn parse_in(datum: &[u8], min: i64, max: i64) -> Result<Option<i64>, NumberError> {
    let value = parse(datum)?;
    Ok((min..=max).contains(&value).then_some(value))
}

/// Writes `value`'s low `width` bytes as little-endian hex pairs separated
/// by spaces (`0x2a`, width 4 gives `2a 00 00 00`), into `out`.
pub fn write_le_hex(out: &mut Vec<u8>, value: i64, width: usize) {
    let bits = value as u64;
    let pair = |i: usize| HEX_PAIRS[usize::from((bits >> (8 * i)) as u8)];
    if width == 1 {
        out.extend_from_slice(&pair(0));
        return;
    }
    if width == 4 {
        // The commonest width, in one copy of a known size.
        let [a, b, c, d] = [pair(0), pair(1), pair(2), pair(3)];
        out.extend_from_slice(&[a[0], a[1], b' ', b[0], b[1], b' ', c[0], c[1], b' ', d[0], d[1]]);
        return;
    }
    for i in 0..width {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&pair(i));
    }
}

/// Every byte as its two lowercase hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut first = digits.len();
    loop {
        first -= 1;
        digits[first] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[first..]);
}

/// Appends one byte as two lowercase hex digits.
pub fn push_hex_byte(out: &mut Vec<u8>, byte: u8) {
    out.extend_from_slice(&hex_digits(byte));
}

/// A signed number as SubX writes it in a message: `-0x80`, `0x7f`.
///
/// ```
/// assert_eq!(subx::number::signed_hex(-0x80), "-0x80");
/// assert_eq!(subx::number::signed_hex(0xff), "0xff");
/// ```
pub fn signed_hex(n: i64) -> String {
    if n < 0 {
        format!("-{:#x}", n.unsigned_abs())
    } else {
        format!("{n:#x}")
    }
}

/// One byte's two lowercase hex digits.
pub fn hex_digits(byte: u8) -> [u8; 2] {
    [HEX_DIGITS[usize::from(byte >> 4)], HEX_DIGITS[usize::from(byte & 0xf)]]
}

/// The sixteen lowercase hex digits.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `0x` and `n` in lowercase hex with at least eight digits
/// (`0x0000002a`): how the sugar phases write block numbers and stack
/// adjustments (`phases/braces.md` B7, `phases/calls.md` C7).
///
/// ```
/// let mut out = Vec::new();
/// subx::number::push_hex_0x8(&mut out, 0x1c);
/// subx::number::push_hex_0x8(&mut out, 0x1_0000_0000);
/// assert_eq!(out, b"0x0000001c0x100000000");
/// ```
pub fn push_hex_0x8(out: &mut Vec<u8>, n: u64) {
    let digits = ((64 - n.leading_zeros() as usize).div_ceil(4)).max(8);
    out.extend_from_slice(b"0x");
    for i in (0..digits).rev() {
        out.push(HEX_DIGITS[((n >> (4 * i)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_only_with_optional_prefix_and_sign() {
        assert_eq!(parse(b"10"), Ok(16));
        assert_eq!(parse(b"0x10"), Ok(16));
        assert_eq!(parse(b"-0x10"), Ok(-16));
        assert_eq!(parse(b"+5"), Ok(5));
        assert_eq!(parse(b"0"), Ok(0));
    }

    #[test]
    fn range_is_32_bits_either_way() {
        assert_eq!(parse(b"0xffffffff"), Ok(0xffff_ffff));
        assert_eq!(parse(b"-0x80000000"), Ok(-0x8000_0000));
        assert_eq!(parse(b"-0x80000001"), Err(NumberError::OutOfRange));
        assert_eq!(parse(b"0x100000000"), Err(NumberError::OutOfRange));
        assert_eq!(parse(b"0000000000000001"), Ok(1));
    }

    #[test]
    fn malformed_numbers() {
        assert_eq!(parse(b""), Err(NumberError::Empty));
        assert_eq!(parse(b"0x"), Err(NumberError::Empty));
        assert_eq!(parse(b"-"), Err(NumberError::Empty));
        assert_eq!(parse(b"0X10"), Err(NumberError::Uppercase));
        // Uppercase wins wherever it stands, over the other errors too.
        assert_eq!(parse(b"-0xzA"), Err(NumberError::Uppercase));
        assert_eq!(parse(b"123456789A"), Err(NumberError::Uppercase));
        assert_eq!(parse(b"zz"), Err(NumberError::NotHex));
        assert_eq!(parse(b"--1"), Err(NumberError::NotHex));
        assert_eq!(parse(b"0x0x1"), Err(NumberError::NotHex));
    }

    #[test]
    fn the_shortcut_reads_one_and_two_digits_as_the_full_parser_does() {
        let bytes = b"0123456789abcdefAFgx-+:/ ";
        let mut data: Vec<Vec<u8>> = bytes.iter().map(|&b| vec![b]).collect();
        for &a in bytes {
            for &b in bytes {
                data.push(vec![a, b]);
            }
        }
        for datum in data {
            assert_eq!(parse(&datum), parse_any(&datum), "{datum:?}");
        }
        assert_eq!(hex_pair(b"2a"), Some(0x2a));
        assert_eq!((hex_pair(b"2A"), hex_pair(b"a"), hex_pair(b"0x2")), (None, None, None));
    }

    #[test]
    fn errors_are_explained_in_the_users_terms() {
        let explain = |datum: &[u8]| parse(datum).unwrap_err().explain(datum);
        assert_eq!(explain(b"0x"), "is not a valid hex number: it has no digits");
        assert_eq!(explain(b"0xA"), "hex must be lowercase (write '0xa')");
        assert!(explain(b"zz").contains("never two characters"));
        assert!(explain(b"1st").contains("starting with a digit"));
        assert!(explain(b"-x").contains("starting with a sign"));
        assert!(explain(b"0x100000000").contains("32 bits"));
    }

    #[test]
    fn number_or_name() {
        for n in [&b"-x"[..], b"+1", b"0abc", b"9", b"ab", b"zz"] {
            assert!(looks_like_number(n), "{n:?}");
        }
        for n in [&b"abc"[..], b"f", b"Entry", b"$loop", b""] {
            assert!(!looks_like_number(n), "{n:?}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_in(b"ff", -0x80, 0xff), Ok(Some(0xff)));
        assert_eq!(parse_in(b"100", -0x80, 0xff), Ok(None));
    }

    #[test]
    fn little_endian_hex() {
        let mut out = Vec::new();
        write_le_hex(&mut out, 0x2a, 4);
        assert_eq!(out, b"2a 00 00 00");
        out.clear();
        write_le_hex(&mut out, -1, 1);
        assert_eq!(out, b"ff");
        out.clear();
        write_le_hex(&mut out, 0x1234, 2);
        assert_eq!(out, b"34 12");
    }
}

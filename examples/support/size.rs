//! The `--size` argument of the generators (`examples/gen_subx.rs`,
//! `examples/gen_blocks.rs`): a number of bytes, optionally followed by an
//! SI suffix (`k` = 1000, `M` = 10^6, `G` = 10^9, either case). Each
//! generator includes this file with `#[path]`, as it does `rng.rs`.

/// `"100M"` is `Some(100_000_000)`; anything but digits and one suffix is
/// `None`, and so is a size that does not fit in 64 bits.
pub fn parse_size(s: &str) -> Option<u64> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1_000),
        b'm' | b'M' => (&s[..s.len() - 1], 1_000_000),
        b'g' | b'G' => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

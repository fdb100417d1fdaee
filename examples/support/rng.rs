//! The generators' random choices (`examples/gen_subx.rs`,
//! `examples/gen_blocks.rs`), from SplitMix64 (`tests/support/splitmix.rs`).
//! Each generator includes this file with `#[path]`, as it does `size.rs`.

#[path = "../../tests/support/splitmix.rs"]
mod splitmix;

/// A generator's random choices, from a SplitMix64 state.
pub struct Rng(pub u64);

impl Rng {
    /// 0 .. n-1
    pub fn below(&mut self, n: u64) -> u64 {
        ((splitmix::next(&mut self.0) >> 32) * n) >> 32
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// true with probability 1/n
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

//! The one random generator of the unit tests (compiled for `cargo test`
//! only): SplitMix64 from `tests/support/splitmix.rs`, the same sequence the
//! integration tests and the bench's program generator use.

#[path = "../tests/support/splitmix.rs"]
mod splitmix;

/// A deterministic stream of random numbers from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        splitmix::next(&mut self.0)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`, chosen at random.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

//! SplitMix64, the tiny deterministic generator behind the generated test
//! data (`tests/robustness.rs`) and the bench programs
//! (`examples/support/rng.rs`): no dependency, the same sequence everywhere.
//! Each includes this file with `#[path]`; the library does not carry it.

/// Advances `state` and returns the next number of its sequence.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

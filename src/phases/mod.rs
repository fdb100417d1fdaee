//! The phases, in pipeline order: the sugar phases, then the six core
//! phases. Each module has one public `run` from a reader to a writer, and
//! a `help` for `--help`.

pub mod braces;
pub mod calls;
pub mod tests;
pub mod dquotes;
pub mod assort;
pub mod pack;
pub mod survey;
pub mod hex;
pub mod sigils;

//! The six phases, in pipeline order. Each module has one public `run`
//! from a reader to a writer, and a `help` for `--help`.

pub mod tests;
pub mod dquotes;
pub mod assort;
pub mod pack;
pub mod survey;
pub mod hex;
pub mod sigils;

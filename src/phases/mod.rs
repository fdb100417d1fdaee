//! The nine phases, in pipeline order: the three sugar phases (`braces`,
//! `calls`, `sigils`), which run first and only for a sugared program
//! (`ntranslate --sugar`), then the six core phases (`tests`, `dquotes`,
//! `assort`, `pack`, `survey`, `hex`). Each module has one public `run`
//! from a reader to a writer, and a `help` for `--help`.

pub mod braces;
pub mod calls;
pub mod sigils;
pub mod tests;
pub mod dquotes;
pub mod assort;
pub mod pack;
pub mod survey;
pub mod hex;

//! Phase `dquotes` (not written yet).

use std::io::{BufRead, Write};

use crate::error::Error;
use crate::line_map::LineMap;

/// `--help` text.
pub fn help() -> String {
    "dquotes: (not written yet)\n".to_string()
}

/// Not written yet: refuses every input.
pub fn run(_input: &mut dyn BufRead, _output: &mut dyn Write, _line_map: &mut LineMap) -> Result<(), Error> {
    Err(Error::whole("this phase is not written yet"))
}

//! SubX, the Mu project's notation for 32-bit x86 machine code, translated
//! by nine small Unix filters: six core phases, and in front of them, for
//! programs in Mu's sugared notation, three sugar phases.
//!
//! A program flows through the phases one way, each reading the previous
//! one's text on stdin and writing its own on stdout:
//!
//! ```text
//! cat init.linux prog.subx | tests | dquotes | assort | pack | survey | hex > a.elf
//! ```
//!
//! [`phases::tests`] appends a `run-tests` function calling every `test-`
//! function; [`phases::dquotes`] moves string literals into the data
//! segment; [`phases::assort`] gathers the pieces of each segment together;
//! [`phases::pack`] encodes each instruction as hex bytes;
//! [`phases::survey`] lays the segments out, resolves labels and writes the
//! ELF headers; [`phases::hex`] turns the hex text into bytes.
//!
//! A sugared program (`scripts/ntranslate --sugar`) goes through three more
//! phases first, which write its sugar out as plain SubX:
//!
//! ```text
//! cat init.linux prog.subx | braces | calls | sigils | tests | dquotes | ... | hex > a.elf
//! ```
//!
//! [`phases::braces`] turns `{ }` blocks and their `break/` and `loop/`
//! words into labels; [`phases::calls`] turns a call on one line,
//! `(f a %ecx)`, into pushes, a call and a stack adjustment;
//! [`phases::sigils`] turns `%reg`, `*reg`, `*(base+index<<scale+disp)` and
//! `*Label` operands into `mod`, `rm32`, SIB and displacement operands.
//!
//! `scripts/ntranslate` chains them and maps any error back to the user's
//! `FILE:LINE:` through each phase's [`line_map`].
//!
//! Each phase is one function, `run(input, output, line_map)`. What two
//! phases share lives here once: [`words`] (the tokenizer), [`number`] (the
//! number syntax), [`opcodes`] (the opcode table), [`error`] (the one error
//! type) and [`cli`] (what every binary does around `run`).
//!
//! Around the pipeline: [`toolbox`] is the `subx` binary; its `subx run`
//! runs an ELF in [`emulator`], which names addresses with the labels and
//! source lines of [`maps`].

pub mod cli;
pub mod debug_info;
pub mod elf;
pub mod error;
pub mod emulator;
pub mod line_map;
pub mod listing;
pub mod literals;
pub mod maps;
pub mod number;
pub mod opcodes;
pub mod phases;
pub mod read;
pub mod sha256;
pub mod toolbox;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod words;
pub mod write_behind;

pub use error::Error;

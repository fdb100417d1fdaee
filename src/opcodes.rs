//! The opcode table: every supported opcode, its bytes, its name and the
//! operands it requires and permits (`language.md` section 10).
//!
//! (Filled in by the `pack` work: issue 4.)

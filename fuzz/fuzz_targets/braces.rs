//! Fuzzes phase `braces`: any input must give Ok or Err, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use subx::line_map::LineMap;
use subx::phases::braces;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let mut map = LineMap::in_memory();
    let _ = braces::run(&mut &data[..], &mut out, &mut map);
    let _ = map.finish_to_string();
});

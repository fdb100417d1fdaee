//! What survey says when `dquotes`' bare `== data` header turns out to be
//! the program's only data segment (see `crate::literals` for how
//! messages name string literals).

use crate::literals::{describe, is_string_label};
use crate::read;
use crate::words;

/// What to say when a bare `== data` header was appended by `dquotes`
/// rather than written: `rest` is the input after it, and `first_header`
/// says whether it is the input's first header.
pub(super) fn without_data_segment(rest: &[u8], first_header: bool) -> String {
    let first_string = read::lines(rest).find_map(|line| {
        let first = words::instruction_words(line).next()?;
        let name = first.strip_suffix(b":")?;
        is_string_label(name).then_some(name)
    });
    match first_string {
        Some(name) => format!(
            "{} needs a data segment to live in; add a header such as '== data 0x0a000000' \
             (an empty data segment is fine)",
            describe(name, rest)
        ),
        None if first_header => "the program is empty: it holds no segment, so there is \
             nothing to translate; a program starts with a header such as '== code 0x09000000'"
            .to_string(),
        None => "no 'data' segment; add a header such as '== data 0x0a000000' (an empty data \
                 segment is fine)"
            .to_string(),
    }
}


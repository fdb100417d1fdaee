//! How messages name the labels that `dquotes` gives string literals
//! (`_string1`): by the literal itself, `string literal "hi"`, which is
//! what the user wrote. Only messages read this; a valid program never
//! gets here.

use crate::error::printable;
use crate::read;
use crate::words;

/// Is `name` one that `dquotes` gives a string literal, `_string<digits>`?
/// Users may not define such names (dquotes refuses them).
pub(super) fn is_string_label(name: &[u8]) -> bool {
    name.strip_prefix(b"_string").is_some_and(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
}

/// A label as a message names it: `'counter'`, or for the label `dquotes`
/// gave a string literal, `string literal "hi"`. `text` holds the label's
/// definition.
pub(super) fn describe(name: &[u8], text: &[u8]) -> String {
    if is_string_label(name) {
        if let Some(literal) = string_literal(text, name) {
            return format!("string literal {literal}");
        }
    }
    format!("'{}'", printable(name))
}

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

/// The string literal that label `name` holds in `text`, quoted and
/// escaped as the user would write it (shortened when long), from the
/// bytes after its definition: a 4-byte length, then the characters.
fn string_literal(text: &[u8], name: &[u8]) -> Option<String> {
    let mut lines = read::lines(text);
    lines.find(|line| {
        let mut words = words::instruction_words(line);
        words.next().and_then(|w| w.strip_suffix(b":")) == Some(name)
    })?;
    let mut bytes = Vec::new();
    'lines: for line in lines {
        for word in words::instruction_words(line) {
            let &[high, low] = word else { break 'lines };
            let digit = |c: u8| (c as char).to_digit(16);
            let (Some(high), Some(low)) = (digit(high), digit(low)) else { break 'lines };
            bytes.push((high * 16 + low) as u8);
            if bytes.len() >= 4 + 40 {
                break 'lines;
            }
        }
    }
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let chars = bytes.get(4..)?;
    let shown = &chars[..chars.len().min(length).min(30)];
    let mut text = String::from("\"");
    for &b in shown {
        match b {
            b'\n' => text.push_str("\\n"),
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text.push_str(if length > shown.len() { "...\"" } else { "\"" });
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_label_is_named_by_its_literal() {
        let text = b"== data 0x0a000000\n_string1:\n05 00 00 00 68 69 0a 22 5c\n";
        assert_eq!(describe(b"_string1", text), r#"string literal "hi\n\"\\""#);
        assert_eq!(describe(b"_string2", text), "'_string2'");
        assert_eq!(describe(b"_strings", text), "'_strings'");
    }

    #[test]
    fn a_long_literal_is_shortened() {
        let text = format!("_string7:\n28 00 00 00 {}\n", "61 ".repeat(40));
        assert_eq!(describe(b"_string7", text.as_bytes()), format!("string literal \"{}...\"", "a".repeat(30)));
    }
}

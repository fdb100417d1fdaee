//! How messages name the labels that `dquotes` gives string literals
//! (`_string1`): by the literal itself, `string literal "hi"`, which is
//! what the user wrote. `survey` names them so in its own messages, and
//! `ntranslate` (`subx finish`) in any later message that names one. Only
//! messages read this; a valid program never gets here.

use crate::error::printable;
use crate::read;
use crate::words;

/// Is `name` one that `dquotes` gives a string literal, `_string<digits>`?
/// Users may not define such names (dquotes refuses them).
pub fn is_string_label(name: &[u8]) -> bool {
    name.strip_prefix(b"_string").is_some_and(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
}

/// A label as a message names it: `'counter'`, or for the label `dquotes`
/// gave a string literal, `string literal "hi"`. `text` holds the label's
/// definition.
pub fn describe(name: &[u8], text: &[u8]) -> String {
    if is_string_label(name) {
        if let Some(literal) = string_literal(text, name) {
            return format!("string literal {literal}");
        }
    }
    format!("'{}'", printable(name))
}

/// The string literal that label `name` holds in `text`, quoted and
/// escaped as the user would write it (shortened when long), from the
/// bytes after its definition: a 4-byte length, then the characters. The
/// text is `dquotes`' output (`0x00000002/imm32 68/h 69/i`) or a later
/// phase's (`02 00 00 00 68 69`).
pub fn string_literal(text: &[u8], name: &[u8]) -> Option<String> {
    let mut lines = read::lines(text);
    lines.find(|line| {
        let mut words = words::instruction_words(line);
        words.next().and_then(|w| w.strip_suffix(b":")) == Some(name)
    })?;
    let mut bytes = Vec::new();
    'lines: for line in lines {
        for word in words::instruction_words(line) {
            let (datum, _) = words::datum_and_metadata(word);
            if let Some(length) = datum.strip_prefix(b"0x").filter(|_| bytes.is_empty()) {
                let Some(length) = crate::number::parse(datum).ok().filter(|_| length.len() == 8) else { break 'lines };
                bytes.extend_from_slice(&(length as u32).to_le_bytes());
                continue;
            }
            let Some(byte) = crate::number::hex_pair(datum) else { break 'lines };
            bytes.push(byte);
            if bytes.len() >= 4 + 40 {
                break 'lines;
            }
        }
    }
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let chars = bytes.get(4..)?;
    let shown = &chars[..chars.len().min(length).min(30)];
    let mut text = crate::error::quote(shown);
    if length > shown.len() {
        text.insert_str(text.len() - 1, "...");
    }
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
    fn dquotes_output_names_its_literals_too() {
        let text = b"== data\n_string1:\n0x00000003/imm32 68/h 69/i 0a \n";
        assert_eq!(describe(b"_string1", text), r#"string literal "hi\n""#);
    }

    #[test]
    fn a_long_literal_is_shortened() {
        let text = format!("_string7:\n28 00 00 00 {}\n", "61 ".repeat(40));
        assert_eq!(describe(b"_string7", text.as_bytes()), format!("string literal \"{}...\"", "a".repeat(30)));
    }
}

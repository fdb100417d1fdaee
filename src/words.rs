//! A line's words: the only tokenizer the phases share.
//!
//! A line splits into words at ASCII whitespace: SP, TAB, LF, VT, FF and CR,
//! as in the C++ translator (CONTRACT rule 2). A word splits at every `/`
//! into its *datum* (before the first `/`) and its *metadata* items:
//!
//! ```
//! use subx::words::{words, Word};
//! let line = b"  bb/copy-to-ebx\t0x2a/imm32  # answer";
//! let all: Vec<&[u8]> = words(line).collect();
//! assert_eq!(all, [&b"bb/copy-to-ebx"[..], b"0x2a/imm32", b"#", b"answer"]);
//! let w = Word::new(b"0x2a/imm32");
//! assert_eq!(w.datum(), b"0x2a");
//! assert!(w.has_metadata(b"imm32"));
//! ```
//!
//! Three kinds of word are special (`language.md` section 2):
//! - a word that begins with `#` starts a comment that runs to the end of
//!   the line;
//! - a word that begins with `:` starts line metadata, which also runs to the
//!   end of the line and is never interpreted (CONTRACT decision 8);
//! - a word that is exactly `.` is a column filler, ignored wherever it
//!   stands (CONTRACT decisions 2 and 9).
//!
//! [`instruction_words`] applies all three: it yields the words a phase
//! interprets. String literals (words containing spaces) are `dquotes`'
//! business; every later phase sees only their generated names.

use bstr::ByteSlice;

/// Is `b` one of the bytes that separate words (SP TAB LF VT FF CR)?
#[inline]
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `text` without the whitespace at its start.
#[inline]
pub fn trim_space_start(text: &[u8]) -> &[u8] {
    let mut rest = text;
    while let [first, after @ ..] = rest {
        if !is_space(*first) {
            break;
        }
        rest = after;
    }
    rest
}

/// The length of the whitespace at the start of `text` (all of it, when
/// it holds no word).
#[inline]
pub fn space_len(text: &[u8]) -> usize {
    text.len() - trim_space_start(text).len()
}

/// `text` without the whitespace at its end.
pub fn trim_space_end(text: &[u8]) -> &[u8] {
    &text[..text.iter().rposition(|&b| !is_space(b)).map_or(0, |last| last + 1)]
}

/// `text` without the whitespace around it.
pub fn trim_space(text: &[u8]) -> &[u8] {
    trim_space_end(trim_space_start(text))
}

/// The length of the word at the start of `text`: the offset of its first
/// whitespace byte, or `text.len()` if it has none.
///
/// [`Words`] and `dquotes` run this over every word, so it looks at eight
/// bytes at a time: most words of a program (`bb/copy-to-ebx`,
/// `3/mod/direct`) are long enough for that to pay. All whitespace bytes
/// are below 0x21, and the classic SWAR test `(x - 0x21..21) & !x & 0x80..80`
/// flags the lowest byte of `x` below 0x21 exactly (bytes above it may be
/// flagged wrongly; they are not looked at). A flagged byte that is not
/// whitespace (a control byte) is part of the word, and the search goes on
/// after it. The `word_len_finds_the_first_whitespace_at_any_position` test
/// checks it against the plain byte loop it replaces.
pub fn word_len(text: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(eight) = text.get(at..at + 8) {
        let x = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8]));
        let below_0x21 = x.wrapping_sub(ONES * 0x21) & !x & HIGH_BITS;
        if below_0x21 == 0 {
            at += 8;
            continue;
        }
        let first = at + (below_0x21.trailing_zeros() / 8) as usize;
        if is_space(text[first]) {
            return first;
        }
        at = first + 1;
    }
    let tail = &text[at..];
    at + tail.iter().position(|&b| is_space(b)).unwrap_or(tail.len())
}

/// The words of `line`, in order, comments and everything else included.
pub fn words(line: &[u8]) -> Words<'_> {
    Words { rest: line }
}

/// Iterator over the whitespace-separated words of a line.
#[derive(Clone, Debug)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// What is left of the line after the words taken so far, starting at the
    /// whitespace that ended the last one.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The words left that a phase interprets: up to a comment or line
    /// metadata, `.` fillers skipped (see [`instruction_words`]).
    #[inline]
    pub fn interpreted(self) -> impl Iterator<Item = &'a [u8]> + Clone {
        self.take_while(|w| !is_comment(w) && !is_line_metadata(w)).filter(|w| !is_filler(w))
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    // Called for every word by every phase: inlined into each caller's loop.
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|&b| !is_space(b))?;
        let tail = &self.rest[start..];
        let len = word_len(tail);
        self.rest = &tail[len..];
        Some(&tail[..len])
    }
}

/// Does this word start a comment (`#...`)?
#[inline]
pub fn is_comment(word: &[u8]) -> bool {
    word.first() == Some(&b'#')
}

/// Does this word start line metadata (`:...`)? (CONTRACT decision 8)
#[inline]
pub fn is_line_metadata(word: &[u8]) -> bool {
    word.first() == Some(&b':')
}

/// Is this word a lone `.` column filler? (CONTRACT decisions 2 and 9)
#[inline]
pub fn is_filler(word: &[u8]) -> bool {
    word == b"."
}

/// Does this word define a label? Its last byte is `:` (`Entry:`), or the
/// last byte of its datum is (`test-a:/x`, as the C++ translator reads it;
/// a definition carrying metadata is `survey`'s error, CONTRACT decision
/// 13). Ask it after [`is_line_metadata`]: `:` and `::` are line metadata.
///
/// ```
/// use subx::words::is_label_definition;
/// assert!(is_label_definition(b"Entry:") && is_label_definition(b"test-a:/x"));
/// assert!(!is_label_definition(b"Entry") && !is_label_definition(b"a/b:c"));
/// ```
#[inline]
pub fn is_label_definition(word: &[u8]) -> bool {
    word.last() == Some(&b':') || datum_and_metadata(word).0.last() == Some(&b':')
}

/// A word taken apart at its first `/`: its datum, and its metadata items
/// still joined by `/` (`None` when the word has no `/`). The same split as
/// [`Word`]'s, with a plain loop: the phases ask it of nearly every word,
/// and on words this short (`3/mod`, `2a`) a loop finds the `/` sooner than
/// `memchr` does.
///
/// ```
/// use subx::words::datum_and_metadata;
/// assert_eq!(datum_and_metadata(b"3/mod/direct"), (&b"3"[..], Some(&b"mod/direct"[..])));
/// assert_eq!(datum_and_metadata(b"Entry:"), (&b"Entry:"[..], None));
/// ```
#[inline]
pub fn datum_and_metadata(word: &[u8]) -> (&[u8], Option<&[u8]>) {
    match word.iter().position(|&b| b == b'/') {
        Some(slash) => (&word[..slash], Some(&word[slash + 1..])),
        None => (word, None),
    }
}

/// The items of a word's metadata (as [`datum_and_metadata`] gives it):
/// the parts between its `/`s, in order.
#[inline]
pub fn metadata_items(metadata: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    metadata.split(|&b| b == b'/')
}

/// The words a phase interprets: stops at a comment or at line metadata,
/// and skips `.` fillers.
///
/// ```
/// use subx::words::instruction_words;
/// let got: Vec<&[u8]> = instruction_words(b". 0f . 84 $loop/disp32 :meta x # c").collect();
/// assert_eq!(got, [&b"0f"[..], b"84", b"$loop/disp32"]);
/// ```
pub fn instruction_words(line: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    words(line).interpreted()
}

/// The part of `line` its interpreted words occupy: from its first word to
/// the end of the last one before any comment or line metadata (fillers
/// included), for quoting an instruction in a message.
///
/// ```
/// use subx::words::instruction_text;
/// assert_eq!(instruction_text(b"  05 . 1/imm32  # add"), b"05 . 1/imm32");
/// assert_eq!(instruction_text(b" # only a comment"), b"");
/// ```
pub fn instruction_text(line: &[u8]) -> &[u8] {
    let mut all = words(line);
    let (mut start, mut end) = (None, 0);
    while let Some(word) = all.next() {
        if is_comment(word) || is_line_metadata(word) {
            break;
        }
        end = line.len() - all.rest().len();
        start.get_or_insert(end - word.len());
    }
    start.map_or(&[], |start| &line[start..end])
}

/// Where `word`, one of the words of `line` (a slice of it), starts in it.
pub fn offset_in(line: &[u8], word: &[u8]) -> usize {
    (word.as_ptr() as usize).saturating_sub(line.as_ptr() as usize).min(line.len())
}

/// The first interpreted word of a line, if any (fillers skipped; a comment
/// or line metadata means there is none).
pub fn first_word(line: &[u8]) -> Option<&[u8]> {
    instruction_words(line).next()
}

/// A word seen as datum plus metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    /// The whole word as written.
    pub text: &'a [u8],
}

impl<'a> Word<'a> {
    pub fn new(text: &'a [u8]) -> Word<'a> {
        Word { text }
    }

    /// The part before the first `/` (the whole word when it has none).
    pub fn datum(&self) -> &'a [u8] {
        datum_and_metadata(self.text).0
    }

    /// The metadata items, in order: the parts after each `/`.
    pub fn metadata(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        // The parts between the `/`s, after the first: the datum.
        let mut parts = metadata_items(self.text);
        parts.next();
        parts
    }

    /// Does the word carry the metadata item `name` (exact match)?
    pub fn has_metadata(&self, name: &[u8]) -> bool {
        self.metadata().any(|m| m == name)
    }

    /// Does the word carry any metadata at all?
    pub fn has_any_metadata(&self) -> bool {
        self.text.find_byte(b'/').is_some()
    }
}

/// What a line starts with, as the text phases (`tests`, `dquotes`,
/// `assort`) see it: fillers are skipped, and a comment or line metadata
/// first means the line holds nothing (CONTRACT decisions 8 and 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStart<'a> {
    /// Blank, comment, fillers or line metadata only.
    Nothing,
    /// A segment header: the first word is `==`. `name` is its second word,
    /// `None` when that is missing (or is a comment or line metadata).
    Header { name: Option<&'a [u8]> },
    /// Any other line, with its first word.
    Word(&'a [u8]),
}

/// Classifies `line` by its first interpreted word (see [`LineStart`]).
///
/// ```
/// use subx::words::{line_start, LineStart};
/// assert_eq!(line_start(b" . == code 0x09000000"), LineStart::Header { name: Some(b"code") });
/// assert_eq!(line_start(b"== # no name"), LineStart::Header { name: None });
/// assert_eq!(line_start(b"\tEntry:  # go"), LineStart::Word(b"Entry:"));
/// assert_eq!(line_start(b"  :meta data"), LineStart::Nothing);
/// ```
pub fn line_start(line: &[u8]) -> LineStart<'_> {
    let mut interpreted = instruction_words(line);
    match interpreted.next() {
        None => LineStart::Nothing,
        Some(b"==") => LineStart::Header { name: interpreted.next() },
        Some(first) => LineStart::Word(first),
    }
}

// ---------------------------------------------------------------------------
// String literals as the sugar phases see them (`phases/braces.md` B4,
// `phases/calls.md` C4, `phases/sigils.md` W3).

/// Where the string literal at the start of `text` (which begins with `"`)
/// closes: the offset of its closing quote, or `None` when the text ends
/// first. A backslash makes the scan skip the byte after it, whatever it is
/// (`phases/braces.md` B4, `phases/calls.md` C4), so `\"` and `\\` do not
/// end the literal; which escapes are valid is `dquotes`' business.
///
/// ```
/// use subx::words::closing_quote;
/// assert_eq!(closing_quote(b"\"a b\"/imm32"), Some(4));
/// assert_eq!(closing_quote(b"\"a\\\"b\" x"), Some(5));   // "a\"b"
/// assert_eq!(closing_quote(b"\"a\\\\\" x"), Some(4));    // "a\\"
/// assert_eq!(closing_quote(b"\"\""), Some(1));
/// assert_eq!(closing_quote(b"\"open"), None);
/// assert_eq!(closing_quote(b"\"open\\\""), None);         // the quote is escaped
/// ```
pub fn closing_quote(text: &[u8]) -> Option<usize> {
    let mut at = 1;
    loop {
        at += memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[at] == b'"' {
            return Some(at);
        }
        at += 2;
    }
}

/// The length of the string literal word at the start of `text`, which
/// begins with `"`: to its [`closing_quote`], then on to the next
/// whitespace, so that `"x"/imm32` is one word. `None` when no closing quote
/// follows in `text` (pass one line, without its LF).
///
/// ```
/// use subx::words::string_literal_len;
/// assert_eq!(string_literal_len(b"\"a b\"/imm32 x"), Some(11));
/// assert_eq!(string_literal_len(b"\"say \\\"hi\\\"\" x"), Some(12));
/// assert_eq!(string_literal_len(b"\"\""), Some(2));
/// assert_eq!(string_literal_len(b"\"open \\\""), None);
/// ```
pub fn string_literal_len(text: &[u8]) -> Option<usize> {
    let after = closing_quote(text)? + 1;
    Some(after + word_len(&text[after..]))
}

// ------------------------------------------------------------ pack's bytes

/// The length of the run of plain bytes that starts a line of `pack`'s
/// output: 9 in `8b 45 f8 Value/disp32`. They are two-character words,
/// each followed by exactly one space, and none of them a comment (`#c`),
/// line metadata (`:m`), a label definition (`x:`) or `==`: the first
/// words [`instruction_words`] yields, found without splitting, so that
/// `survey` can copy them as they are. (It replaces taking those words one
/// by one from [`words`]; a test checks that the two agree.)
///
/// ```
/// use subx::words::packed_bytes_len;
/// assert_eq!(packed_bytes_len(b"8b 45 f8 Value/disp32"), 9);
/// assert_eq!(packed_bytes_len(b"e8 x: 00 "), 3);
/// assert_eq!(packed_bytes_len(b"cd  80 "), 3);
/// assert_eq!(packed_bytes_len(b" cd 80 "), 0);
/// ```
pub fn packed_bytes_len(line: &[u8]) -> usize {
    let mut at = 0;
    while let Some(&[a, b, b' ']) = line.get(at..at + 3) {
        let is_byte = !is_space(a) && !is_space(b) && a != b'#' && a != b':' && b != b':' && (a, b) != (b'=', b'=');
        if !is_byte {
            break;
        }
        at += 3;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(line: &[u8]) -> Vec<&[u8]> {
        words(line).collect()
    }

    #[test]
    fn every_ascii_whitespace_separates_words() {
        assert_eq!(all(b"a\tb\rc\x0bd\x0ce f\n"), [&b"a"[..], b"b", b"c", b"d", b"e", b"f"]);
    }

    #[test]
    fn word_len_finds_the_first_whitespace_at_any_position() {
        let naive = |t: &[u8]| t.iter().position(|&b| is_space(b)).unwrap_or(t.len());
        let fillers: [&[u8]; 5] = [b"a", b"\x00", b"\x1f", b"\xff", b"\x21"];
        for len in 0..20 {
            for filler in fillers {
                for space in [None, Some(b' '), Some(b'\t'), Some(b'\r'), Some(0x0b)] {
                    for at in 0..=len {
                        let mut text = filler.repeat(len);
                        if let Some(space) = space {
                            if at < len {
                                text[at] = space;
                            }
                        }
                        text.push(b'z');
                        assert_eq!(word_len(&text), naive(&text), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn whitespace_is_measured_and_trimmed_as_words_split() {
        assert_eq!(space_len(b" \t\x0b\x0cx "), 4);
        assert_eq!(space_len(b" \r\n"), 3);
        assert_eq!(trim_space_end(b" a b\x0b\r\n"), b" a b");
        assert_eq!(trim_space_end(b" \t"), b"");
    }

    #[test]
    fn other_bytes_are_word_bytes() {
        assert_eq!(all(b"\x00\xff x\x80y"), [&b"\x00\xff"[..], b"x\x80y"]);
    }

    #[test]
    fn empty_and_blank_lines_have_no_words() {
        assert!(all(b"").is_empty());
        assert!(all(b" \t \r\n").is_empty());
    }

    #[test]
    fn comment_and_line_metadata_end_the_interpreted_words() {
        let got: Vec<&[u8]> = instruction_words(b"05 1/imm32 #c 2/imm32").collect();
        assert_eq!(got, [&b"05"[..], b"1/imm32"]);
        let got: Vec<&[u8]> = instruction_words(b"05 1/imm32 :meta 2/imm32").collect();
        assert_eq!(got, [&b"05"[..], b"1/imm32"]);
    }

    #[test]
    fn a_hash_inside_a_word_is_not_a_comment() {
        let got: Vec<&[u8]> = instruction_words(b"0x80/imm8#exit x").collect();
        assert_eq!(got, [&b"0x80/imm8#exit"[..], b"x"]);
    }

    #[test]
    fn fillers_are_skipped_but_dotted_words_are_not() {
        assert_eq!(first_word(b" . . .x"), Some(&b".x"[..]));
        assert_eq!(first_word(b". . # only fillers"), None);
    }

    #[test]
    fn datum_and_metadata() {
        let w = Word::new(b"3/mod/direct");
        assert_eq!(w.datum(), b"3");
        assert_eq!(w.metadata().collect::<Vec<_>>(), [&b"mod"[..], b"direct"]);
        assert!(w.has_metadata(b"mod") && !w.has_metadata(b"MOD"));
        let bare = Word::new(b"Entry:");
        assert_eq!(bare.datum(), b"Entry:");
        assert!(!bare.has_any_metadata());
        assert_eq!(Word::new(b"/imm32").datum(), b"");
    }

    #[test]
    fn a_label_definition_ends_in_a_colon_or_its_datum_does() {
        for word in [&b"Entry:"[..], b"$loop:", b"test-a:/x", b"a:/b", b"a/b:", b"::"] {
            assert!(is_label_definition(word), "{word:?}");
        }
        for word in [&b"Entry"[..], b"x:y", b"x:y/z", b"a/b:c", b"", b"/imm32"] {
            assert!(!is_label_definition(word), "{word:?}");
        }
    }

    #[test]
    fn the_interpreted_words_and_where_they_stand() {
        let line = b"0f . 84/jump x/disp32 :meta y";
        let mut all = words(line);
        assert_eq!(all.next(), Some(&b"0f"[..]));
        assert_eq!(all.clone().interpreted().collect::<Vec<_>>(), [&b"84/jump"[..], b"x/disp32"]);
        let x = all.nth(2).unwrap_or_default();
        assert_eq!((x, offset_in(line, x)), (&b"x/disp32"[..], 13));
        assert_eq!(instruction_text(line), b"0f . 84/jump x/disp32");
        assert_eq!(metadata_items(b"mod/direct").collect::<Vec<_>>(), [&b"mod"[..], b"direct"]);
    }

    #[test]
    fn line_start_finds_headers_and_first_words() {
        assert_eq!(line_start(b""), LineStart::Nothing);
        assert_eq!(line_start(b" . . # c"), LineStart::Nothing);
        assert_eq!(line_start(b"==\tdata"), LineStart::Header { name: Some(b"data") });
        assert_eq!(line_start(b"==  "), LineStart::Header { name: None });
        assert_eq!(line_start(b"== :x"), LineStart::Header { name: None });
        assert_eq!(line_start(b"==code"), LineStart::Word(b"==code"));
    }

    #[test]
    fn packed_bytes_len_agrees_with_taking_words_one_by_one() {
        let plain = |line: &[u8]| {
            let mut at = 0;
            for word in words(line) {
                let starts_here = word.as_ptr() == line[at..].as_ptr();
                let special = is_comment(word) || is_line_metadata(word) || is_label_definition(word) || word == b"==";
                if !starts_here || word.len() != 2 || line.get(at + 2) != Some(&b' ') || special {
                    break;
                }
                at += 3;
            }
            at
        };
        let alphabet = b"  \t\n#:=./a8";
        let mut rng = crate::test_rng::Rng::new(1);
        for _ in 0..200_000 {
            let line: Vec<u8> = (0..rng.below(13)).map(|_| *rng.pick(alphabet)).collect();
            assert_eq!(packed_bytes_len(&line), plain(&line), "{:?}", String::from_utf8_lossy(&line));
        }
    }
}

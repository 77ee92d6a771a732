//! XML, read by a scanner of our own rather than a lexer.
//!
//! XML went to Pygments' converted lexer (faster than bat's grammar), and
//! was still the slowest language of the shared corpus on a slower host
//! (1.44x Pygments on its 755-byte file): a regex machine pays for its
//! states on every token, where XML's tokens are told apart by their first
//! byte or two.
//!
//! It colours what Pygments' XML lexer colours, split as the tree-sitter
//! HTML query splits a tag: element names as tags, with their `<`, `</`,
//! `>` and `/>` as punctuation, attributes, their values as strings
//! (`=` as punctuation), comments, entity and character references
//! (`&amp;`, `&#x20;`) as constants, processing instructions (`<?xml`,
//! its pseudo-attributes, `?>`), CDATA sections (their markers as
//! keywords, the text as a string), and declarations (`<!DOCTYPE`,
//! `<!ELEMENT`... with their keywords, the element or entity they name,
//! strings and parameter entities, and DOCTYPE's internal subset between `[` and `]`
//! read as markup again). Broken markup is coloured around the break: an
//! unclosed tag or attribute value ends at the next `<`, and an unclosed
//! comment or CDATA section takes the rest of the file, so no search is
//! ever repeated.

use super::{find, next_char, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "XML";

/// Where the scanner is in the markup.
#[derive(Default, Clone, Copy, PartialEq)]
enum Mode {
    /// Between tags: character data, references, and the next tag.
    #[default]
    Text,
    /// In a start or end tag, after its `<`: its name, then attributes,
    /// until `>` or `/>`.
    Tag,
    /// In a processing instruction, after its target: pseudo-attributes
    /// until `?>`.
    Instruction,
    /// In a CDATA section, after `<![CDATA[`.
    CData,
    /// In a declaration (`<!DOCTYPE`, `<!ENTITY`...), until its `>`.
    Declaration,
}

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    mode: Mode,
    /// The next name is the tag's own (after `<` or `</`), or the element
    /// or entity a declaration declares.
    name_next: bool,
    /// The declaration is `<!ENTITY`: the name it declares is an entity's.
    declares_entity: bool,
    /// In DOCTYPE's internal subset (after its `[`): a `]` ends it and
    /// returns to the declaration, whose `>` closes it.
    in_subset: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match self.mode {
            Mode::Text => self.text(bytes, at),
            Mode::Tag => self.in_tag(bytes, at),
            Mode::Instruction => self.in_instruction(bytes, at),
            Mode::CData => self.in_cdata(bytes, at),
            Mode::Declaration => self.in_declaration(bytes, at),
        }
    }

    fn text(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let rest = &bytes[at..];
        match bytes[at] {
            b'<' if rest.starts_with(b"<!--") => {
                let end = find(bytes, at + 4, b"-->").map_or(bytes.len(), |i| i + 3);
                (end, Some(Class::Comment))
            }
            b'<' if rest.starts_with(b"<![CDATA[") => {
                self.mode = Mode::CData;
                (at + 9, Some(Class::Keyword))
            }
            b'<' if rest.len() > 2 && rest[1] == b'!' && rest[2].is_ascii_alphabetic() => {
                self.enter(Mode::Declaration);
                let end = run_of(bytes, at + 2, is_name_byte);
                self.declares_entity = &bytes[at + 2..end] == b"ENTITY";
                (end, Some(Class::Keyword))
            }
            b'<' if rest.len() > 2 && rest[1] == b'?' && is_name_start(rest[2]) => {
                self.mode = Mode::Instruction;
                (run_of(bytes, at + 2, is_name_byte), Some(Class::Keyword))
            }
            b'<' if rest.len() > 2 && rest[1] == b'/' && is_name_start(rest[2]) => {
                self.enter(Mode::Tag);
                (at + 2, Some(Class::Punctuation))
            }
            b'<' if rest.len() > 1 && is_name_start(rest[1]) => {
                self.enter(Mode::Tag);
                (at + 1, Some(Class::Punctuation))
            }
            b'&' => reference_or(bytes, at, None),
            // A parameter entity (`%name;`) stands for declarations in
            // DOCTYPE's internal subset.
            b'%' if self.in_subset => reference_or(bytes, at, None),
            b']' if self.in_subset => {
                self.in_subset = false;
                self.mode = Mode::Declaration;
                (at + 1, Some(Class::Punctuation))
            }
            _ => {
                // Character data (and a stray `<`), up to the next byte
                // markup can start at.
                let end = run_of(bytes, at + 1, |b| {
                    !(b == b'<' || b == b'&' || (b == b']' || b == b'%') && self.in_subset)
                });
                (end, None)
            }
        }
    }

    fn enter(&mut self, mode: Mode) {
        self.mode = mode;
        self.name_next = true;
    }

    fn in_tag(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match bytes[at] {
            b'>' => {
                self.mode = Mode::Text;
                (at + 1, Some(Class::Punctuation))
            }
            b'/' if bytes.get(at + 1) == Some(&b'>') => {
                self.mode = Mode::Text;
                (at + 2, Some(Class::Punctuation))
            }
            // A tag left open: the markup goes on from the next one.
            b'<' => {
                self.mode = Mode::Text;
                self.text(bytes, at)
            }
            b'=' => (at + 1, Some(Class::Punctuation)),
            quote @ (b'"' | b'\'') => (value_end(bytes, at, quote), Some(Class::String)),
            b if is_name_start(b) => {
                let class = if std::mem::take(&mut self.name_next) {
                    Class::Tag
                } else {
                    Class::TagAttribute
                };
                (run_of(bytes, at, is_name_byte), Some(class))
            }
            b if b.is_ascii_whitespace() => (whitespace_end(bytes, at), None),
            _ => (next_char(bytes, at), None),
        }
    }

    fn in_instruction(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match bytes[at] {
            b'?' if bytes.get(at + 1) == Some(&b'>') => {
                self.mode = Mode::Text;
                (at + 2, Some(Class::Keyword))
            }
            b'=' => (at + 1, Some(Class::Punctuation)),
            quote @ (b'"' | b'\'') => (value_end(bytes, at, quote), Some(Class::String)),
            b if is_name_start(b) => {
                // A pseudo-attribute (`version="1.0"`) when `=` follows;
                // otherwise the instruction's own text, plain.
                let end = run_of(bytes, at, is_name_byte);
                let class = (bytes.get(whitespace_end(bytes, end)) == Some(&b'='))
                    .then_some(Class::TagAttribute);
                (end, class)
            }
            b if b.is_ascii_whitespace() => (whitespace_end(bytes, at), None),
            _ => (next_char(bytes, at), None),
        }
    }

    fn in_cdata(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        if bytes[at..].starts_with(b"]]>") {
            self.mode = Mode::Text;
            return (at + 3, Some(Class::Keyword));
        }
        // The section's text, to its `]]>` or (unclosed) the end.
        let end = find(bytes, at, b"]]>").unwrap_or(bytes.len());
        (end, Some(Class::String))
    }

    fn in_declaration(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match bytes[at] {
            b'>' => {
                self.mode = Mode::Text;
                (at + 1, Some(Class::Keyword))
            }
            b'[' => {
                self.mode = Mode::Text;
                self.in_subset = true;
                (at + 1, Some(Class::Punctuation))
            }
            quote @ (b'"' | b'\'') => {
                // Entity values may hold markup: only the quote ends them.
                let end = run_of(bytes, at + 1, |b| b != quote);
                (bytes.len().min(end + 1), Some(Class::String))
            }
            b'%' | b'&' => reference_or(bytes, at, Some(Class::Punctuation)),
            b'#' if bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic) => {
                // #PCDATA, #REQUIRED, #IMPLIED, #FIXED.
                (run_of(bytes, at + 1, is_name_byte), Some(Class::Constant))
            }
            b if is_name_start(b) => {
                let end = run_of(bytes, at, is_name_byte);
                let class = if std::mem::take(&mut self.name_next) {
                    if self.declares_entity {
                        Class::Constant
                    } else {
                        Class::Tag
                    }
                } else if DECLARATION_KEYWORDS.contains(&&bytes[at..end]) {
                    Class::Keyword
                } else {
                    Class::TagAttribute
                };
                (end, Some(class))
            }
            b'(' | b')' | b'|' | b',' | b'*' | b'+' | b'?' => (at + 1, Some(Class::Punctuation)),
            b if b.is_ascii_whitespace() => (whitespace_end(bytes, at), None),
            _ => (next_char(bytes, at), None),
        }
    }
}

/// The words a declaration's grammar gives meaning to.
const DECLARATION_KEYWORDS: [&[u8]; 15] = [
    b"ANY",
    b"CDATA",
    b"EMPTY",
    b"ENTITIES",
    b"ENTITY",
    b"ID",
    b"IDREF",
    b"IDREFS",
    b"IGNORE",
    b"INCLUDE",
    b"NDATA",
    b"NMTOKEN",
    b"NMTOKENS",
    b"PUBLIC",
    b"SYSTEM",
];

/// A name's first byte (XML allows letters, `_`, `:` and any non-ASCII
/// character).
fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_byte(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// Where the whitespace from `at` ends, line breaks included (markup
/// spans lines; shell's `blank_end` stops at them).
fn whitespace_end(bytes: &[u8], at: usize) -> usize {
    run_of(bytes, at, |b| b.is_ascii_whitespace())
}

/// The reference at `at` (`&name;`, `&#123;`, `&#x1F;`, or a parameter
/// entity `%name;`) as a constant, through its `;`; if it is not one, its
/// first byte alone, of class `otherwise`.
fn reference_or(bytes: &[u8], at: usize, otherwise: Option<Class>) -> (usize, Option<Class>) {
    let body = at + 1 + usize::from(bytes[at] == b'&' && bytes.get(at + 1) == Some(&b'#'));
    let end = run_of(bytes, body, is_name_byte);
    if end > body && bytes.get(end) == Some(&b';') {
        (end + 1, Some(Class::Constant))
    } else {
        (at + 1, otherwise)
    }
}

/// Where the attribute value opened by `quote` at `at` ends: past its
/// closing quote, or (unclosed) before the next `<`, which a value cannot
/// hold, or at the end.
fn value_end(bytes: &[u8], at: usize, quote: u8) -> usize {
    let end = run_of(bytes, at + 1, |b| b != quote && b != b'<');
    if bytes.get(end) == Some(&quote) {
        end + 1
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn xml(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn tags_attributes_values_and_references_are_coloured() {
        let html = xml("<?xml version=\"1.0\" encoding='utf-8'?>\n\
             <xsl:stylesheet xmlns:xsl=\"http://x\">\n\
             \t<a href = 'b&amp;c'>x &lt; y &#x20;</a><br/>\n\
             </xsl:stylesheet>\n");
        assert_runs(
            &html,
            &[
                "<x-k>&lt;?xml</x-k> <x-ta>version</x-ta><x-p>=</x-p><x-s>\"1.0\"</x-s> \
                 <x-ta>encoding</x-ta><x-p>=</x-p><x-s>'utf-8'</x-s><x-k>?&gt;</x-k>",
                "<x-p>&lt;</x-p><x-tg>xsl:stylesheet</x-tg> <x-ta>xmlns:xsl</x-ta>",
                "&lt;</x-p><x-tg>a</x-tg> <x-ta>href</x-ta> <x-p>=</x-p> \
                 <x-s>'b&amp;amp;c'</x-s><x-p>&gt;</x-p>x <x-co>&amp;lt;</x-co> y \
                 <x-co>&amp;#x20;</x-co><x-p>&lt;/</x-p><x-tg>a</x-tg>",
                "<x-tg>br</x-tg><x-p>/&gt;\n&lt;/</x-p><x-tg>xsl:stylesheet</x-tg><x-p>&gt;</x-p>",
            ],
        );
    }

    #[test]
    fn comments_cdata_and_declarations_are_read_whole() {
        let html = xml("<!DOCTYPE note SYSTEM \"note.dtd\" [\n\
             <!ELEMENT note (to|from)*>\n\
             <!ATTLIST note id ID #REQUIRED>\n\
             <!ENTITY writer \"<b>Me</b>\"> %ext;\n\
             ]>\n\
             <!-- a <tag> in a comment -->\n\
             <n><![CDATA[if (a < b) & c]]></n>\n");
        assert_runs(
            &html,
            &[
                "<x-k>&lt;!DOCTYPE</x-k> <x-tg>note</x-tg> <x-k>SYSTEM</x-k> \
                 <x-s>\"note.dtd\"</x-s> <x-p>[</x-p>",
                "<x-k>&lt;!ELEMENT</x-k> <x-tg>note</x-tg> <x-p>(</x-p><x-ta>to</x-ta>\
                 <x-p>|</x-p><x-ta>from</x-ta><x-p>)*</x-p><x-k>&gt;\n&lt;!ATTLIST</x-k>",
                "<x-tg>note</x-tg> <x-ta>id</x-ta> <x-k>ID</x-k> <x-co>#REQUIRED</x-co>",
                "<x-co>writer</x-co> <x-s>\"&lt;b&gt;Me&lt;/b&gt;\"</x-s><x-k>&gt;</x-k>",
                "<x-co>%ext;</x-co>",
                "<x-p>]</x-p><x-k>&gt;</x-k>",
                "<x-c>&lt;!-- a &lt;tag&gt; in a comment --&gt;</x-c>",
                "<x-k>&lt;![CDATA[</x-k><x-s>if (a &lt; b) &amp; c</x-s><x-k>]]&gt;</x-k>",
            ],
        );
    }

    #[test]
    fn broken_markup_is_coloured_around_the_break() {
        let html = xml("<a b=\"open\n<c d='e'>x & y</c>\n");
        assert_runs(
            &html,
            &[
                "<x-s>\"open\n</x-s><x-p>&lt;</x-p><x-tg>c</x-tg>",
                "<x-s>'e'</x-s><x-p>&gt;</x-p>x &amp; y<x-p>&lt;/</x-p>",
            ],
        );
    }

    #[test]
    fn text_round_trips_and_unclosed_markup_stays_linear() {
        let openers: Vec<String> = ["<!--", "<![CDATA[", "<a b=\"", "<!DOCTYPE \"", "&a", "<?x "]
            .iter()
            .map(|opener| opener.repeat(20_000))
            .collect();
        let mut codes = vec![
            "<é a='✓'>\r\n\tü &#233;</é>",
            "<",
            "<a",
            "</",
            "&",
            "<!DOCTYPE",
            "<?",
            "]]>",
            "",
        ];
        codes.extend(openers.iter().map(String::as_str));
        assert_round_trips(LANGUAGE, &codes);
    }
}

//! Nim, read by a scanner of our own rather than a grammar.
//!
//! bat's Nim grammar was the slowest grammar on the shared corpus (about
//! 1.2x Pygments): its 75 patterns are tried by Oniguruma at nearly every
//! position, with no single pattern to blame. Nim's tokens are simple to
//! tell apart from their first byte or two, so one forward pass reads them.
//!
//! It colours what Pygments' Nim lexer colours, and a little more:
//! comments (`#`, nested `#[ ]#`, doc comments `##` and `##[ ]##`),
//! strings (`"…"`, raw and generalised raw `r"…"`/`fmt"…"`, triple-quoted
//! `"""…"""`), characters, numbers with their type suffixes (`'i32`),
//! keywords and operator words, `nil`/`true`/`false`, the built-in types,
//! the name a `proc` (`func`, `method`, `iterator`, `template`, `macro`,
//! `converter`) declares, the labels of a `case` branch (`of a, b:`),
//! pragmas (`{.inline.}`), operators and punctuation; beyond Pygments,
//! calls (`name(`) as functions and capitalised names as types, as the
//! tree-sitter queries colour them.
//!
//! Nim compares identifiers ignoring case (past the first letter) and
//! underscores, so `isNil`, `is_nil` and `isnil` are one name; keywords
//! are looked up the same way (all lower case already).

use super::{find, first_on_its_line, folded, line_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Nim";

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// The last keyword read declares a routine: the next name is its name.
    declares_routine: bool,
    /// Between a branch's `of` (first on its line) and its `:`: names are
    /// the branch's labels.
    in_branch_labels: bool,
    /// A pragma's search for its `.}` found none: there is none further
    /// on, so no later pragma searches again (which would make a file of
    /// unclosed `{.` quadratic).
    no_pragma_close: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        if self.declares_routine && !is_name_start(byte) && !byte.is_ascii_whitespace() {
            self.declares_routine = false;
            // proc `+`(a, b: T): the quoted name is the routine's.
            if byte == b'`'
                && let Some(close) = find(&bytes[..line_end(bytes, at)], at + 1, b"`")
            {
                return (close + 1, Some(Class::Function));
            }
        }
        match byte {
            b'#' => (comment_end(bytes, at), Some(Class::Comment)),
            b'"' if bytes[at..].starts_with(b"\"\"\"") => {
                (triple_string_end(bytes, at + 3), Some(Class::String))
            }
            b'"' => (string_end(bytes, at + 1, true), Some(Class::String)),
            b'\'' => match char_end(bytes, at) {
                Some(end) => (end, Some(Class::String)),
                None => (at + 1, Some(Class::Punctuation)),
            },
            b'{' if next == Some(b'.') => {
                let close = if self.no_pragma_close {
                    None
                } else {
                    find(bytes, at + 2, b".}")
                };
                self.no_pragma_close = close.is_none();
                let end = close.map_or_else(|| line_end(bytes, at), |i| i + 2);
                (end, Some(Class::Attribute))
            }
            b'0'..=b'9' => (number_end(bytes, at), Some(Class::Number)),
            b':' | b'\n' if self.in_branch_labels => {
                self.in_branch_labels = false;
                let class = (byte == b':').then_some(Class::Punctuation);
                (at + 1, class)
            }
            b if is_name_start(b) => self.name(bytes, at),
            b'=' | b'+' | b'-' | b'*' | b'/' | b'<' | b'>' | b'@' | b'$' | b'~' | b'&' | b'%'
            | b'|' | b'!' | b'?' | b'^' | b'\\' | b'.' | b':' | b'(' | b')' | b'[' | b']'
            | b'{' | b'}' | b',' | b';' | b'`' => (at + 1, Some(Class::Punctuation)),
            _ => {
                // Whitespace and anything else: plain, up to the next byte
                // a token can start at (or a line break, which ends a
                // branch's labels).
                let stop_at_line_end = self.in_branch_labels;
                let end = run_of(bytes, at + 1, |b| {
                    !(b.is_ascii_graphic() || is_name_start(b) || (stop_at_line_end && b == b'\n'))
                });
                (end, None)
            }
        }
    }

    /// A name, keyword, or generalised raw string (`r"…"`, `fmt"…"`).
    fn name(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let end = run_of(bytes, at, |b| is_name_start(b) || b.is_ascii_digit());
        if bytes.get(end) == Some(&b'"') {
            self.declares_routine = false;
            let end = if bytes[end..].starts_with(b"\"\"\"") {
                triple_string_end(bytes, end + 3)
            } else {
                string_end(bytes, end + 1, false)
            };
            return (end, Some(Class::String));
        }
        let mut buffer = [0; 16];
        let word = folded(&bytes[at..end], true, &mut buffer);
        if std::mem::take(&mut self.declares_routine) {
            return (end, Some(Class::Function));
        }
        let class = match word {
            Some("proc" | "func" | "method" | "iterator" | "template" | "macro" | "converter") => {
                // `proc (x: int)` is a type, not a declaration.
                self.declares_routine = bytes.get(end).is_some_and(|b| *b == b' ')
                    && bytes
                        .get(end + 1)
                        .is_some_and(|b| is_name_start(*b) || *b == b'`');
                Class::Keyword
            }
            Some("of") if first_on_its_line(bytes, at) => {
                self.in_branch_labels = true;
                Class::Keyword
            }
            Some(word) if KEYWORDS.binary_search(&word).is_ok() => Class::Keyword,
            Some("nil" | "true" | "false") => Class::Constant,
            Some(word) if BUILTIN_TYPES.binary_search(&word).is_ok() => Class::Type,
            _ if self.in_branch_labels => Class::Label,
            _ if bytes.get(end) == Some(&b'(') => Class::Function,
            _ if bytes[at].is_ascii_uppercase() => Class::Type,
            _ => return (end, None),
        };
        (end, Some(class))
    }
}

/// Nim's keywords (operator words among them), sorted for a binary search.
const KEYWORDS: [&str; 66] = [
    "addr",
    "and",
    "as",
    "asm",
    "bind",
    "block",
    "break",
    "case",
    "cast",
    "concept",
    "const",
    "continue",
    "converter",
    "defer",
    "discard",
    "distinct",
    "div",
    "do",
    "elif",
    "else",
    "end",
    "enum",
    "except",
    "export",
    "finally",
    "for",
    "from",
    "func",
    "if",
    "import",
    "in",
    "include",
    "interface",
    "is",
    "isnot",
    "iterator",
    "let",
    "macro",
    "method",
    "mixin",
    "mod",
    "not",
    "notin",
    "object",
    "of",
    "or",
    "out",
    "proc",
    "ptr",
    "raise",
    "ref",
    "return",
    "shl",
    "shr",
    "static",
    "template",
    "try",
    "tuple",
    "type",
    "using",
    "var",
    "when",
    "while",
    "with",
    "xor",
    "yield",
];

/// The types Nim builds in, sorted for a binary search.
const BUILTIN_TYPES: [&str; 27] = [
    "array",
    "bool",
    "byte",
    "char",
    "cint",
    "cstring",
    "float",
    "float32",
    "float64",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "openarray",
    "pointer",
    "range",
    "seq",
    "set",
    "string",
    "typedesc",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "untyped",
];

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

/// Where the comment opened by the `#` at `at` ends: a `#[` (or `##[`)
/// comment at its matching `]#` (they nest), any other at its line's end.
fn comment_end(bytes: &[u8], at: usize) -> usize {
    let opener = if bytes[at..].starts_with(b"##[") {
        3
    } else if bytes[at..].starts_with(b"#[") {
        2
    } else {
        return line_end(bytes, at);
    };
    let mut depth = 1usize;
    let mut index = at + opener;
    while index < bytes.len() {
        if bytes[index..].starts_with(b"#[") {
            depth += 1;
            index += 2;
        } else if bytes[index..].starts_with(b"]#") {
            depth -= 1;
            index += 2;
            if depth == 0 {
                // `]##` closes a doc comment.
                return run_of(bytes, index, |b| b == b'#').min(index + 1);
            }
        } else {
            index += 1;
        }
    }
    bytes.len()
}

/// Where a one-line string whose text starts at `from` ends: past its
/// closing quote, or at its line's end. With `escapes`, a backslash
/// escapes the next byte; without (raw strings), `""` is a quote.
fn string_end(bytes: &[u8], from: usize, escapes: bool) -> usize {
    let mut index = from;
    while index < bytes.len() {
        match bytes[index] {
            b'"' if !escapes && bytes.get(index + 1) == Some(&b'"') => index += 2,
            b'"' => return index + 1,
            b'\\'
                if escapes
                    && matches!(bytes.get(index + 1), Some(b) if *b != b'\n' && *b != b'\r') =>
            {
                index += 2;
            }
            b'\n' | b'\r' => return index,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// Where a triple-quoted string whose text starts at `from` ends: past the
/// last of the quotes that close it (`""""` ends with a quote in the text).
fn triple_string_end(bytes: &[u8], from: usize) -> usize {
    match find(bytes, from, b"\"\"\"") {
        Some(close) => run_of(bytes, close, |b| b == b'"'),
        None => bytes.len(),
    }
}

/// Where the character literal at `at` ends, if one starts there (`'a'`,
/// `'\n'`, `'\x41'`, `'\255'`); a lone `'` is punctuation.
fn char_end(bytes: &[u8], at: usize) -> Option<usize> {
    let body = at + 1;
    let close = match *bytes.get(body)? {
        b'\\' => match *bytes.get(body + 1)? {
            b'x' | b'X' => body + 4,
            b'0'..=b'9' => run_of(bytes, body + 1, |b| b.is_ascii_digit()).min(body + 4),
            _ => body + 2,
        },
        b'\n' | b'\r' | b'\'' => return None,
        b if b < 0x80 => body + 1,
        // One UTF-8 character (Nim's char is a byte, but a character is
        // read whole, so the run ends on a character boundary).
        _ => run_of(bytes, body + 1, |b| (0x80..0xC0).contains(&b)),
    };
    (bytes.get(close) == Some(&b'\'')).then_some(close + 1)
}

/// Where the number at `at` ends: digits and underscores, a `0x`/`0b`/`0o`
/// prefix, a fraction (not `..`, Nim's range), an exponent and a `'i32`
/// style suffix.
fn number_end(bytes: &[u8], at: usize) -> usize {
    let radix = bytes.get(at + 1).map(u8::to_ascii_lowercase);
    let mut end = if bytes[at] == b'0' && matches!(radix, Some(b'x' | b'b' | b'o')) {
        run_of(bytes, at + 2, |b| b.is_ascii_hexdigit() || b == b'_')
    } else {
        let mut end = run_of(bytes, at, |b| b.is_ascii_digit() || b == b'_');
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = run_of(bytes, end + 1, |b| b.is_ascii_digit() || b == b'_');
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
                end = run_of(bytes, end + 1 + sign, |b| b.is_ascii_digit() || b == b'_');
            }
        }
        end
    };
    if bytes.get(end) == Some(&b'\'') && bytes.get(end + 1).is_some_and(u8::is_ascii_alphabetic) {
        end = run_of(bytes, end + 1, |b| b.is_ascii_alphanumeric());
    }
    end
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::highlight::{
        Budget, CancelFlag, EngineError,
        render::fragment_text,
        scan::tests::{assert_round_trips, assert_runs, highlighted},
    };

    fn nim(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn declarations_keywords_types_and_literals_are_coloured() {
        // Runs of one class with only spaces between are written as one.
        let html = nim(concat!(
            "proc getTab*(tabNr: int, path: string): seq[TFile] {.inline.} =\n",
            "  var x = 0x1F'u8 + 1_000'i32 + 2.5e-3 + '\\n'.ord\n",
            "  if x.isNil and not True: return nil\n",
            "  result = Open(path)\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>proc</x-k> <x-f>getTab</x-f><x-p>*(</x-p>",
                "<x-p>:</x-p> <x-t>int</x-t>",
                "<x-t>seq</x-t><x-p>[</x-p><x-t>TFile</x-t>",
                "<x-at>{.inline.}</x-at>",
                "<x-n>0x1F'u8</x-n>",
                "<x-n>1_000'i32</x-n>",
                "<x-n>2.5e-3</x-n>",
                "<x-s>'\\n'</x-s>",
                "<x-k>and not</x-k> <x-co>True</x-co>",
                "<x-k>return</x-k> <x-co>nil</x-co>",
                "<x-f>Open</x-f><x-p>(</x-p>",
            ],
        );
    }

    #[test]
    fn comments_strings_and_branch_labels_are_coloured() {
        let html = nim(concat!(
            "#[ outer #[ inner ]# still ]# let a = r\"C:\\\\x\"\"y\" & fmt\"{a}\"\n",
            "## doc\nlet s = \"\"\"two\nlines\"\"\"\" # end\n",
            "case k\nof fmRead, fmWrite: discard\nelse: discard\n",
            "for i in 0..high(s): echo \"esc \\\" quote\"\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-c>#[ outer #[ inner ]# still ]#</x-c> <x-k>let</x-k>",
                "<x-s>r\"C:\\\\x\"\"y\"</x-s>",
                "<x-s>fmt\"{a}\"</x-s>",
                "<x-c>## doc</x-c>",
                "<x-s>\"\"\"two\nlines\"\"\"\"</x-s> <x-c># end</x-c>",
                "<x-k>of</x-k> <x-l>fmRead</x-l><x-p>,</x-p> <x-l>fmWrite</x-l><x-p>:</x-p> <x-k>discard",
                "<x-n>0</x-n><x-p>..</x-p><x-f>high</x-f>",
                "<x-s>\"esc \\\" quote\"</x-s>",
            ],
        );
        assert!(
            !html.contains("<x-l>discard"),
            "the labels end at the branch's colon: {html}"
        );
    }

    #[test]
    fn names_compare_as_nim_compares_them() {
        let html = nim("Proc_ foo() = is_Not(1) isnot 2; Var a: Int_32\n");
        assert_runs(
            &html,
            &[
                "<x-k>Proc_</x-k> <x-f>foo</x-f>",
                "<x-k>isnot</x-k>",
                "<x-k>Var</x-k>",
                "<x-t>Int_32</x-t>",
            ],
        );
        assert_runs(
            &nim("proc `+`(a, b: V): V = discard\n"),
            &["<x-k>proc</x-k> <x-f>`+`</x-f><x-p>(</x-p>a<x-p>,</x-p>"],
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "let s = \"é✓\"\r\n\tlet c = 'é'\r\n",
                "\"unclosed\nlet x = 1",
                "#[ unclosed",
                "\"\"\" unclosed",
                "{. unclosed",
                "{. a\n{. b\n{.c.}",
                "' '' ''' x'",
                "1e 1e+ 0x 1'\n2.",
                "",
                "a\u{0}b",
            ],
        );
    }

    #[test]
    fn a_cancel_is_honoured_and_a_spent_budget_leaves_the_rest_plain() {
        let code = "let x = 1\n".repeat(30_000);
        let run = |cancel: &CancelFlag, time| {
            super::super::highlight(
                LANGUAGE,
                &code,
                &|_| {},
                cancel,
                Budget::new(time),
                &|_, _| None,
            )
            .unwrap()
        };
        let cancel = CancelFlag::default();
        cancel.cancel();
        assert!(matches!(
            run(&cancel, Duration::from_secs(30)),
            Err(EngineError::Cancelled)
        ));
        let html = run(&CancelFlag::default(), Duration::ZERO).unwrap();
        let coloured = html.matches("<x-k>let</x-k>").count();
        assert!(
            coloured > 0 && coloured < 30_000,
            "the first block is coloured and the rest plain ({coloured} keywords)"
        );
        assert_eq!(fragment_text(&html).as_deref(), Some(code.as_str()));
    }
}

//! Pascal (Delphi, Turbo and Free Pascal), read by a scanner of our own
//! rather than a grammar.
//!
//! bat's Pascal grammar cost a third of the time Pygments took on the
//! shared corpus's 62 KB unit, and coloured neither types nor `Result`;
//! Pascal's tokens are told apart by their first byte, and Pygments' own
//! Delphi lexer is a hand-written scanner much like this one.
//!
//! It colours what Pygments' Delphi lexer colours: comments (`{ }`,
//! `(* *)`, `//`), compiler directives (`{$IFDEF}`) as keywords, strings
//! (`''` is a quote) and character codes (`#13`, `#$0A`), numbers
//! (`$FF` hexadecimal), keywords and directives (case does not matter),
//! routine modifiers in a routine's heading (`stdcall`, `override`), the
//! built-in types, `Result`, the name a routine heading declares (and the
//! class before its dot, `TFoo.Bar`), a property's name, operators and
//! punctuation; beyond Pygments, calls (`name(`) as functions.

use super::{doubled_quote_end, find, folded, line_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Pascal";

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// The last keyword read was `procedure`, `function`, `constructor`,
    /// `destructor` or `operator`: the next name is the routine's.
    next_is_routine_name: bool,
    /// The last keyword read was `property`: the next name is its name.
    next_is_property_name: bool,
    /// Inside a routine's heading, where its modifiers are keywords.
    in_routine_heading: bool,
    /// How deep the heading's parameter list is open: a `const` or `var`
    /// inside it is a parameter's, and does not end the heading.
    heading_depth: u32,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        match byte {
            b'{' => {
                let end = find(bytes, at + 1, b"}").map_or(bytes.len(), |i| i + 1);
                let class = if next == Some(b'$') {
                    Class::Keyword
                } else {
                    Class::Comment
                };
                (end, Some(class))
            }
            b'(' if next == Some(b'*') => {
                let end = find(bytes, at + 2, b"*)").map_or(bytes.len(), |i| i + 2);
                let class = if bytes.get(at + 2) == Some(&b'$') {
                    Class::Keyword
                } else {
                    Class::Comment
                };
                (end, Some(class))
            }
            b'/' if next == Some(b'/') => (line_end(bytes, at), Some(Class::Comment)),
            b'\'' => (doubled_quote_end(bytes, at + 1, b'\''), Some(Class::String)),
            b'#' if next.is_some_and(|b| b.is_ascii_digit() || b == b'$') => {
                let end = run_of(bytes, at + 2, |b| b.is_ascii_hexdigit());
                (end, Some(Class::String))
            }
            b'$' if next.is_some_and(|b| b.is_ascii_hexdigit()) => (
                run_of(bytes, at + 1, |b| b.is_ascii_hexdigit()),
                Some(Class::Number),
            ),
            b'0'..=b'9' => (number_end(bytes, at), Some(Class::Number)),
            b if b.is_ascii_alphabetic() || b == b'_' => self.name(bytes, at),
            b'(' | b')' | b'[' | b']' => {
                self.next_is_routine_name = false;
                if self.in_routine_heading {
                    self.heading_depth = match byte {
                        b'(' | b'[' => self.heading_depth + 1,
                        _ => self.heading_depth.saturating_sub(1),
                    };
                }
                (at + 1, Some(Class::Punctuation))
            }
            b'-' | b'+' | b'*' | b'/' | b'=' | b'<' | b'>' | b':' | b';' | b',' | b'.' | b'@'
            | b'^' => (at + 1, Some(Class::Punctuation)),
            _ => {
                // Whitespace and anything else: plain, up to the next byte
                // a token can start at (non-ASCII bytes are skipped whole).
                let end = run_of(bytes, at + 1, |b| !b.is_ascii_graphic());
                (end, None)
            }
        }
    }

    /// A name or keyword.
    fn name(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let end = run_of(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'_');
        let mut buffer = [0; 16];
        let word = folded(&bytes[at..end], false, &mut buffer).unwrap_or_default();
        let is = |list: &[&str]| list.binary_search(&word).is_ok();
        let class = if is(&KEYWORDS) {
            if self.in_routine_heading && self.heading_depth == 0 && is(&BLOCK_KEYWORDS) {
                self.in_routine_heading = false;
            }
            match word {
                "procedure" | "function" | "constructor" | "destructor" | "operator" => {
                    self.next_is_routine_name = true;
                    self.in_routine_heading = true;
                    self.heading_depth = 0;
                }
                "property" => self.next_is_property_name = true,
                _ => {}
            }
            match word {
                "true" | "false" | "nil" => Class::Constant,
                _ => Class::Keyword,
            }
        } else if self.in_routine_heading && is(&ROUTINE_MODIFIERS) || is(&DIRECTIVES) {
            Class::Keyword
        } else if self.next_is_routine_name {
            // `procedure TFoo.Bar`: the class, then (after the dot) the name.
            let before_dot = bytes[end..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'.');
            if before_dot {
                Class::Type
            } else {
                self.next_is_routine_name = false;
                Class::Function
            }
        } else if std::mem::take(&mut self.next_is_property_name) {
            Class::Property
        } else if word == "result" {
            Class::Variable
        } else if is(&BUILTIN_TYPES) {
            Class::Type
        } else if bytes.get(end) == Some(&b'(') {
            Class::Function
        } else {
            return (end, None);
        };
        (end, Some(class))
    }
}

/// Where the number at `at` ends: digits, a fraction (not `..`, Pascal's
/// range) and an exponent.
fn number_end(bytes: &[u8], at: usize) -> usize {
    let mut end = run_of(bytes, at, |b| b.is_ascii_digit());
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = run_of(bytes, end + 1, |b| b.is_ascii_digit());
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
            end = run_of(bytes, end + 1 + sign, |b| b.is_ascii_digit());
        }
    }
    end
}

/// The keywords of Delphi, Turbo Pascal and Free Pascal, sorted for a binary
/// search.
const KEYWORDS: [&str; 74] = [
    "absolute",
    "and",
    "array",
    "as",
    "asm",
    "begin",
    "break",
    "case",
    "class",
    "const",
    "constructor",
    "continue",
    "destructor",
    "dispose",
    "div",
    "do",
    "downto",
    "else",
    "end",
    "except",
    "exit",
    "exports",
    "false",
    "file",
    "finalization",
    "finally",
    "for",
    "function",
    "goto",
    "if",
    "implementation",
    "in",
    "inherited",
    "initialization",
    "inline",
    "interface",
    "is",
    "label",
    "library",
    "mod",
    "new",
    "nil",
    "not",
    "object",
    "of",
    "on",
    "operator",
    "or",
    "packed",
    "procedure",
    "program",
    "property",
    "raise",
    "record",
    "reintroduce",
    "repeat",
    "self",
    "set",
    "shl",
    "shr",
    "string",
    "then",
    "threadvar",
    "to",
    "true",
    "try",
    "type",
    "unit",
    "until",
    "uses",
    "var",
    "while",
    "with",
    "xor",
];

/// Directives, keywords wherever they stand, sorted.
const DIRECTIVES: [&str; 14] = [
    "absolute",
    "abstract",
    "assembler",
    "cppdecl",
    "default",
    "far",
    "far16",
    "forward",
    "index",
    "oldfpccall",
    "private",
    "protected",
    "public",
    "published",
];

/// Keywords only in a routine's heading (`stdcall`, `override`), sorted.
const ROUTINE_MODIFIERS: [&str; 19] = [
    "alias",
    "assembler",
    "cdecl",
    "dynamic",
    "export",
    "external",
    "inline",
    "interrupt",
    "name",
    "near",
    "nostackframe",
    "override",
    "pascal",
    "register",
    "safecall",
    "softfloat",
    "stdcall",
    "varargs",
    "virtual",
];

/// The keywords that end a routine's heading, sorted.
const BLOCK_KEYWORDS: [&str; 22] = [
    "begin",
    "class",
    "const",
    "constructor",
    "destructor",
    "end",
    "finalization",
    "function",
    "implementation",
    "initialization",
    "label",
    "library",
    "operator",
    "procedure",
    "program",
    "property",
    "record",
    "threadvar",
    "type",
    "unit",
    "uses",
    "var",
];

/// The types Delphi builds in, sorted.
const BUILTIN_TYPES: [&str; 71] = [
    "ansichar",
    "ansistring",
    "bool",
    "boolean",
    "byte",
    "bytebool",
    "cardinal",
    "char",
    "comp",
    "currency",
    "double",
    "dword",
    "extended",
    "int64",
    "integer",
    "iunknown",
    "longbool",
    "longint",
    "longword",
    "pansichar",
    "pansistring",
    "pbool",
    "pboolean",
    "pbyte",
    "pbytearray",
    "pcardinal",
    "pchar",
    "pcomp",
    "pcurrency",
    "pdate",
    "pdatetime",
    "pdouble",
    "pdword",
    "pextended",
    "phandle",
    "pint64",
    "pinteger",
    "plongint",
    "plongword",
    "pointer",
    "ppointer",
    "pshortint",
    "pshortstring",
    "psingle",
    "psmallint",
    "pstring",
    "pvariant",
    "pwidechar",
    "pwidestring",
    "pword",
    "pwordarray",
    "pwordbool",
    "real",
    "real48",
    "shortint",
    "shortstring",
    "single",
    "smallint",
    "string",
    "tclass",
    "tdate",
    "tdatetime",
    "textfile",
    "thandle",
    "tobject",
    "ttime",
    "variant",
    "widechar",
    "widestring",
    "word",
    "wordbool",
];
#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn pascal(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn routines_types_strings_and_directives_are_coloured() {
        // Runs of one class with only spaces between are written as one.
        let html = pascal(concat!(
            "{$IFDEF WIN32} uses Windows; {$ENDIF}\n",
            "function TYBuffer.Read(const S: string; N: Integer): Boolean; stdcall; overload;\n",
            "var P: PChar;\nbegin\n",
            "  Result := (N > $1F) and (S = 'it''s') or (S[1] = #13#$0A);\n",
            "  P := Copy(S, 2.5e3); { plain } (* old *) // line\n",
            "  stdcall := nil;\nend;\n",
            "property Size: Cardinal read GetSize;\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>{$IFDEF WIN32} uses</x-k> Windows",
                "function</x-k> <x-t>TYBuffer</x-t><x-p>.</x-p><x-f>Read</x-f><x-p>(</x-p>",
                "<x-t>Integer</x-t><x-p>):</x-p> <x-t>Boolean</x-t><x-p>;</x-p> <x-k>stdcall</x-k>",
                "<x-t>PChar</x-t>",
                "<x-v>Result</x-v>",
                "<x-n>$1F</x-n>",
                "<x-s>'it''s'</x-s>",
                "<x-s>#13#$0A</x-s>",
                "<x-f>Copy</x-f><x-p>(</x-p>",
                "<x-n>2.5e3</x-n>",
                "<x-c>{ plain } (* old *) // line</x-c>",
                "<x-k>property</x-k> <x-pr>Size</x-pr>",
                "<x-t>Cardinal</x-t>",
            ],
        );
        assert!(
            html.contains("\n  stdcall <x-p>:=</x-p> <x-co>nil</x-co>"),
            "a modifier is a name past the routine's heading: {html}"
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "s := 'é✓';\r\n\t{ ©2003 }\r\n",
                "'unclosed\nx := 1",
                "{ unclosed",
                "(* unclosed",
                "# #$ $ 1e 1e+ 1..2 1.",
                "",
            ],
        );
    }
}

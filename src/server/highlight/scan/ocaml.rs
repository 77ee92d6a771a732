//! OCaml, read by a scanner of our own rather than tree-sitter's grammar.
//!
//! tree-sitter's OCaml parse was the largest cost left in the corpus's
//! `files/` (about 8 ms for its 42 KB, under 2x Pygments), while OCaml's
//! tokens are told apart by their first byte or two, as Pygments' OCaml
//! lexer tells them: one forward pass reads them.
//!
//! It colours what Pygments colours: nested comments, strings (and quoted
//! strings, `{|…|}`, `{id|…|id}`), characters, numbers (`0x1F`, `1_000`,
//! `1.5e-3`, `10L`), keywords and word operators (`mod`, `land`), the
//! primitive types, capitalised names as modules before a `.` and as
//! types (constructors, as Pygments has them) elsewhere, labels
//! (`~f:`, `?x`) as parameters, operators and punctuation; and, as the
//! tree-sitter query did, the name a declaration declares: a `let`'s as a
//! function when parameters follow it, a `type`'s as a type, a
//! `module`'s as a module, `val`'s and `external`'s as functions; type
//! variables (`'a`) as types, `true`, `false`, `()` and `[]` and
//! polymorphic variants as constants, attributes (`[@@deriving …]`) and
//! extension points (`let%lwt`) as attributes.

use super::{find, first_on_its_line, nested_comment_end, next_char, quoted_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "OCaml";

/// What the next name is, after the keyword that declares it.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
enum Declares {
    #[default]
    Nothing,
    /// After `let` (`let rec`, or `and` in a `let`): a function when
    /// parameters follow it, else a value.
    Value,
    /// After `val`, `external`, `method`: a function's (or value's) name.
    Function,
    /// After `type` (or `and` in one), `class`, `exception`: a type.
    Type,
    /// After `module`, `open`, `include`, `functor`: a module.
    Module,
}

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    declares: Declares,
    /// The last declaration was a `type`'s: an `and` declares a type.
    in_type: bool,
    /// A quoted string's search for its closer found none: later ones
    /// would not either (or not in linear time), so they are not made.
    no_quoted_close: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        match byte {
            _ if byte.is_ascii_whitespace() => {
                return (run_of(bytes, at, |b| b.is_ascii_whitespace()), None);
            }
            b'(' if next == Some(b'*') && bytes.get(at + 2) != Some(&b')') => {
                return (
                    nested_comment_end(bytes, at, *b"(*", *b"*)"),
                    Some(Class::Comment),
                );
            }
            _ => {}
        }
        let declares = std::mem::take(&mut self.declares);
        let (end, class) = match byte {
            b'"' => (quoted_end(bytes, at + 1), Class::String),
            b'{' if !self.no_quoted_close => match self.quoted_string_end(bytes, at) {
                Some(end) => (end, Class::String),
                None => (at + 1, Class::Punctuation),
            },
            b'\'' => {
                let (end, class) = quote(bytes, at);
                if class == Class::Type {
                    // `type 'a t`: the name still comes.
                    self.declares = declares;
                }
                (end, class)
            }
            b'0'..=b'9' => (number_end(bytes, at), Class::Number),
            b'`' if next.is_some_and(is_name_start) => (name_end(bytes, at + 1), Class::Constant),
            b'~' | b'?' if next.is_some_and(|b| b.is_ascii_lowercase() || b == b'_') => {
                let name = name_end(bytes, at + 1);
                let end = name + usize::from(bytes.get(name) == Some(&b':'));
                (end, Class::Parameter)
            }
            b'[' if next == Some(b'@') || next == Some(b'%') => {
                let name = run_of(bytes, at + 1, |b| b == b'@' || b == b'%');
                self.declares = declares;
                (attribute_name_end(bytes, name), Class::Attribute)
            }
            // `let%lwt`, `match%map`: an extension of the keyword before.
            b'%' if at > 0
                && bytes[at - 1].is_ascii_alphabetic()
                && next.is_some_and(|b| b.is_ascii_alphabetic()) =>
            {
                self.declares = declares;
                (attribute_name_end(bytes, at + 1), Class::Attribute)
            }
            b'#' if first_on_its_line(bytes, at)
                && next.is_some_and(|b| b.is_ascii_lowercase()) =>
            {
                (name_end(bytes, at + 1), Class::Keyword)
            }
            b'(' if next == Some(b')') => (at + 2, Class::Constant),
            b'[' if next == Some(b']') => (at + 2, Class::Constant),
            b'(' | b')' | b',' if declares == Declares::Type => {
                // `type ('a, 'b) t`.
                self.declares = declares;
                (at + 1, Class::Punctuation)
            }
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b';' => (at + 1, Class::Punctuation),
            _ if is_operator(byte) => (run_of(bytes, at, is_operator), Class::Punctuation),
            _ if is_name_start(byte) => return self.name(bytes, at, declares),
            _ => return (next_char(bytes, at), None),
        };
        (end, Some(class))
    }

    /// A name or keyword, with `declares` what the keyword before it
    /// declares.
    fn name(&mut self, bytes: &[u8], at: usize, declares: Declares) -> (usize, Option<Class>) {
        let end = name_end(bytes, at);
        let word = std::str::from_utf8(&bytes[at..end]).unwrap_or_default();
        if bytes[at].is_ascii_uppercase() {
            let class = if declares == Declares::Module || followed_by_dot(bytes, end) {
                Class::Module
            } else {
                Class::Type
            };
            return (end, Some(class));
        }
        if KEYWORDS.binary_search(&word).is_ok() {
            self.declares = match word {
                "let" => {
                    self.in_type = false;
                    Declares::Value
                }
                "and" if self.in_type => Declares::Type,
                "and" => Declares::Value,
                "rec" | "nonrec" => declares,
                "type" | "class" | "exception" => {
                    self.in_type = true;
                    Declares::Type
                }
                "val" | "external" | "method" => {
                    self.in_type = false;
                    Declares::Function
                }
                "module" | "open" | "include" | "functor" => Declares::Module,
                _ => Declares::Nothing,
            };
            return (end, Some(Class::Keyword));
        }
        let class = match word {
            "true" | "false" => Class::Constant,
            _ if PRIMITIVE_TYPES.binary_search(&word).is_ok() => Class::Type,
            "_" => Class::Punctuation,
            _ => match declares {
                Declares::Value if takes_parameters(bytes, end) => Class::Function,
                Declares::Function => Class::Function,
                Declares::Type => Class::Type,
                _ => return (end, None),
            },
        };
        (end, Some(class))
    }

    /// Where the quoted string at `at` (`{|…|}`, `{id|…|id}`) ends, if it
    /// is closed.
    fn quoted_string_end(&mut self, bytes: &[u8], at: usize) -> Option<usize> {
        let id = quoted_string_id(bytes, at)?;
        // The closer is `|id}`: each `|` after the body's start, tried once.
        let mut from = at + 2 + id.len();
        while let Some(bar) = find(bytes, from, b"|") {
            let after_id = bar + 1 + id.len();
            if bytes[bar + 1..].starts_with(id) && bytes.get(after_id) == Some(&b'}') {
                return Some(after_id + 1);
            }
            from = bar + 1;
        }
        self.no_quoted_close = true;
        None
    }
}

/// The id of a quoted string opening at `at` (`{|` has an empty one,
/// `{sql|` the id `sql`), if one opens there.
fn quoted_string_id(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let id_end = run_of(bytes, at + 1, |b| b.is_ascii_lowercase() || b == b'_');
    (bytes.get(id_end) == Some(&b'|')).then(|| &bytes[at + 1..id_end])
}

/// A `'` at `at`: a character (`'a'`, `'\n'`, `'\065'`) as a string, a
/// type variable (`'a`) as a type, or a lone quote.
fn quote(bytes: &[u8], at: usize) -> (usize, Class) {
    if bytes.get(at + 1) == Some(&b'\\') {
        let escape = at + 2;
        let length = match bytes.get(escape) {
            Some(b'0'..=b'9' | b'x') => 3,
            Some(b'o') => 4,
            _ => 1,
        };
        if bytes.get(escape + length) == Some(&b'\'') {
            return (escape + length + 1, Class::String);
        }
        return (at + 1, Class::Punctuation);
    }
    if let Some(&first) = bytes.get(at + 1)
        && first != b'\''
        && first != b'\n'
    {
        let after = next_char(bytes, at + 1);
        if bytes.get(after) == Some(&b'\'') {
            return (after + 1, Class::String);
        }
        if is_name_start(first) {
            return (name_end(bytes, at + 1), Class::Type);
        }
    }
    (at + 1, Class::Punctuation)
}

/// Whether a `let`-bound name ending at `end` takes parameters: another
/// name, a pattern or a label follows it on its line, or `= fun`.
fn takes_parameters(bytes: &[u8], end: usize) -> bool {
    let blank = |b: u8| b == b' ' || b == b'\t';
    let after = run_of(bytes, end, blank);
    match bytes.get(after) {
        Some(b'=') if bytes.get(after + 1) != Some(&b'=') => {
            let value = run_of(bytes, after + 1, blank);
            let word = &bytes[value..name_end(bytes, value)];
            word == b"fun" || word == b"function"
        }
        Some(b) => is_name_start(*b) || matches!(b, b'(' | b'~' | b'?' | b'\''),
        None => false,
    }
}

/// Whether a `.` follows `end` (after blanks): `List.map`, `M . x`.
fn followed_by_dot(bytes: &[u8], end: usize) -> bool {
    let after = run_of(bytes, end, |b| b == b' ' || b == b'\t');
    bytes.get(after) == Some(&b'.') && bytes.get(after + 1) != Some(&b'.')
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

/// Where the name from `from` ends. Bytes past ASCII (a name in Latin-1
/// letters) are kept in it, so it ends on a character boundary.
fn name_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'\'' || b >= 0x80
    })
}

/// Where an attribute's or extension's name (`deriving`, `ppx.x`) ends.
fn attribute_name_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
    })
    .max(from)
}

fn is_operator(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$'
            | b'%'
            | b'&'
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'/'
            | b':'
            | b'<'
            | b'='
            | b'>'
            | b'?'
            | b'@'
            | b'^'
            | b'|'
            | b'~'
            | b'#'
    )
}

/// Where the number at `at` ends: `0x1F`, `0o17`, `0b1`, `1_000`, `3.`,
/// `1.5e-3`, with an integer's `l`, `L` or `n` suffix.
fn number_end(bytes: &[u8], at: usize) -> usize {
    let digits = |from: usize| run_of(bytes, from, |b| b.is_ascii_digit() || b == b'_');
    let mut end = if bytes[at] == b'0'
        && matches!(
            bytes.get(at + 1),
            Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
        ) {
        run_of(bytes, at + 2, |b| b.is_ascii_hexdigit() || b == b'_')
    } else {
        let mut end = digits(at);
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1) != Some(&b'.') {
            end = digits(end + 1);
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = end + 1 + usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            if bytes.get(sign).is_some_and(u8::is_ascii_digit) {
                end = digits(sign);
            }
        }
        end
    };
    if matches!(bytes.get(end), Some(b'l' | b'L' | b'n'))
        && !bytes
            .get(end + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        end += 1;
    }
    end
}

/// OCaml's keywords and word operators, sorted for a binary search.
const KEYWORDS: [&str; 55] = [
    "and",
    "as",
    "asr",
    "assert",
    "begin",
    "class",
    "constraint",
    "do",
    "done",
    "downto",
    "else",
    "end",
    "exception",
    "external",
    "for",
    "fun",
    "function",
    "functor",
    "if",
    "in",
    "include",
    "inherit",
    "initializer",
    "land",
    "lazy",
    "let",
    "lor",
    "lsl",
    "lsr",
    "lxor",
    "match",
    "method",
    "mod",
    "module",
    "mutable",
    "new",
    "nonrec",
    "object",
    "of",
    "open",
    "or",
    "private",
    "raise",
    "rec",
    "sig",
    "struct",
    "then",
    "to",
    "try",
    "type",
    "val",
    "virtual",
    "when",
    "while",
    "with",
];

/// The types OCaml builds in, sorted for a binary search.
const PRIMITIVE_TYPES: [&str; 15] = [
    "array",
    "bool",
    "bytes",
    "char",
    "exn",
    "float",
    "format",
    "int",
    "int32",
    "int64",
    "list",
    "nativeint",
    "option",
    "string",
    "unit",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn ocaml(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn the_word_lists_are_sorted() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(PRIMITIVE_TYPES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn declarations_and_literals_are_coloured() {
        let html = ocaml(concat!(
            "(* a (* nested *) comment *)\n",
            "type ('a, 'b) pair = Pair of 'a * 'b [@@deriving show]\n",
            "and tag = string\n",
            "external size_of_int : int -> size = \"%identity\";;\n",
            "let rec fold ~f ?init xs = match xs with [] -> () | x :: _ -> f x\n",
            "let count = ref 0 and incr = fun n -> n + 1\n",
            "module M = Map.Make (String)\n",
            "let () = List.iter print_string [\"a\\\"\"; {|raw \"|}; {sql|x|sql}]\n",
            "let c = 'x' and d = '\\n' and e = '\\065' and v = `Red and n = 0x1F + 1_000 + 1.5e-3 + 10L\n",
            "let%lwt x = a mod b land c in x\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-c>(* a (* nested *) comment *)</x-c>",
                "<x-k>type</x-k> <x-p>(</x-p><x-t>'a</x-t><x-p>,</x-p> <x-t>'b</x-t><x-p>)</x-p> <x-t>pair</x-t>",
                "<x-t>Pair</x-t> <x-k>of</x-k> <x-t>'a</x-t>",
                "<x-at>[@@deriving</x-at> show<x-p>]</x-p>",
                "<x-k>and</x-k> <x-t>tag</x-t> <x-p>=</x-p> <x-t>string</x-t>",
                "<x-k>external</x-k> <x-f>size_of_int</x-f>",
                "<x-s>\"%identity\"</x-s><x-p>;;</x-p>",
                "<x-k>let rec</x-k> <x-f>fold</x-f> <x-pa>~f ?init</x-pa> xs",
                "<x-co>[]</x-co> <x-p>-&gt;</x-p> <x-co>()</x-co>",
                "<x-p>:: _ -&gt;</x-p>",
                "<x-k>let</x-k> count <x-p>=</x-p>",
                "<x-k>and</x-k> <x-f>incr</x-f> <x-p>=</x-p> <x-k>fun</x-k>",
                "<x-k>module</x-k> <x-m>M</x-m> <x-p>=</x-p> <x-m>Map</x-m><x-p>.</x-p><x-t>Make</x-t>",
                "<x-m>List</x-m><x-p>.</x-p>iter",
                "<x-s>\"a\\\"\"</x-s><x-p>;</x-p> <x-s>{|raw \"|}</x-s><x-p>;</x-p> <x-s>{sql|x|sql}</x-s>",
                "<x-s>'x'</x-s>",
                "<x-s>'\\n'</x-s>",
                "<x-s>'\\065'</x-s>",
                "<x-co>`Red</x-co>",
                "<x-n>0x1F</x-n> <x-p>+</x-p> <x-n>1_000</x-n> <x-p>+</x-p> <x-n>1.5e-3</x-n> <x-p>+</x-p> <x-n>10L</x-n>",
                "<x-k>let</x-k><x-at>%lwt</x-at> x",
                "<x-k>mod</x-k> b <x-k>land</x-k>",
            ],
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "(*",
                "(* (* *)",
                "(*)",
                "\"open",
                "'",
                "'\\",
                "'\\0",
                "'é'",
                "'é",
                "{|",
                "{|a",
                "{id|a|x}",
                "{|a|} {|b",
                "[@",
                "let%",
                "`",
                "~",
                "0x",
                "1e",
                "1.",
                "let f = fun",
                "let é = \"ü\" (* ö *)\r\nlet x = 'a'\r\n",
            ],
        );
    }
}

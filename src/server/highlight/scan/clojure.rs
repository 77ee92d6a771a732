//! Clojure (and ClojureScript, `.cljs`, and both at once, `.cljc`), read
//! by a scanner of our own.
//!
//! bat's Clojure grammar highlighted the shared corpus's Clojure files at
//! 1.4x to 1.6x Pygments on a 2-core host, against the goal of 1.5x
//! (`bench/PROFILE.md`, round 23). Clojure's reader, like every Lisp's, decides
//! each token by its first character (`;`, `"`, `\`, `:`, `#`, a bracket),
//! and everything else is a symbol or, when it starts with a digit, a
//! number; so one forward pass reads a file as the reader would.
//!
//! It colours what Pygments' Clojure lexer colours: comments, strings,
//! characters (`\a`, `\newline`), keywords (`:key`, `::key`) and quoted
//! symbols as constants, numbers, the special forms and definitions as
//! keywords, `clojure.core`'s functions as built-ins, the head of a form
//! (`(f x)`) as a function, and the reader's macro characters (`'`, `` `
//! ``, `~`, `~@`, `@`, `^`, `#`) as operators. Beyond Pygments: regular
//! expressions (`#"…"`), the name a definition defines (`defn` a
//! function, `defrecord` a type, `def` a variable, `ns` a module) even
//! behind metadata (`(def ^:private x`), a namespace (`str/` of
//! `str/join`) as a module, `*dynamic*` vars as variables, an anonymous
//! function's `%` arguments as parameters, `nil`, `true` and `false` as
//! constants, a tagged literal's tag (`#inst`) as an attribute, and a
//! discarded form's `#_` as a comment.

use super::{class_in, line_end, next_char, quoted_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Clojure";

/// The special forms, definitions and built-ins, sorted by name.
const SYMBOLS: &[(&str, Class)] = &include!("clojure_symbols.rs");

/// What the scanner remembers between tokens. Blanks, commas and comments
/// keep it.
#[derive(Default)]
pub(super) struct Scanner {
    /// The next token heads a form (`(` or `#(` came last): a symbol
    /// there is called.
    heads_form: bool,
    /// The next symbol is the name a definition defines, of this class.
    defines: Option<Class>,
    /// The next token is metadata (`^` came last): a definition's name is
    /// still to come after it.
    metadata: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        if is_blank(byte) {
            return (run_of(bytes, at, is_blank), None);
        }
        if byte == b';' {
            return (line_end(bytes, at), Some(Class::Comment));
        }
        let heads_form = std::mem::take(&mut self.heads_form);
        let metadata = std::mem::take(&mut self.metadata);
        // `(def ^:private x`, `(defn ^String f`: a definition's name comes
        // after its metadata (a map's insides are not followed).
        let (defines, carried) = match self.defines.take() {
            pending if byte == b'^' || metadata && byte != b'{' => (None, pending),
            pending => (pending, None),
        };
        let (end, class) = match byte {
            b'"' => (quoted_end(bytes, at + 1), Some(Class::String)),
            b'\\' => (char_end(bytes, at), Some(Class::String)),
            b':' => (symbol_end(bytes, at + 1), Some(Class::Constant)),
            b'(' => {
                self.heads_form = true;
                (at + 1, Some(Class::Punctuation))
            }
            b')' | b'[' | b']' | b'{' | b'}' | b'`' | b'@' => (at + 1, Some(Class::Punctuation)),
            b'~' => (
                at + 1 + usize::from(bytes.get(at + 1) == Some(&b'@')),
                Some(Class::Punctuation),
            ),
            b'^' => {
                self.metadata = true;
                (at + 1, Some(Class::Punctuation))
            }
            b'\'' => match bytes.get(at + 1) {
                Some(&next) if !is_terminator(next) && next != b'#' => {
                    (symbol_end(bytes, at + 1), Some(Class::Constant))
                }
                _ => (at + 1, Some(Class::Punctuation)),
            },
            b'#' => self.dispatch(bytes, at),
            _ => {
                let end = symbol_end(bytes, at).max(next_char(bytes, at));
                let symbol = &bytes[at..end];
                if metadata {
                    // A type hint (`^String`, `^js/Element`).
                    (end, Some(Class::Type))
                } else if let Some(prefix) = namespace_prefix(symbol) {
                    // The name in the namespace is read as the next token,
                    // in the place this one had.
                    self.heads_form = heads_form;
                    self.defines = defines;
                    (at + prefix, Some(Class::Module))
                } else {
                    (end, self.symbol(symbol, heads_form, defines))
                }
            }
        };
        if carried.is_some() {
            self.defines = carried;
        }
        (end, class)
    }

    /// A `#` dispatch form: what the character after it makes of it.
    fn dispatch(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match bytes.get(at + 1) {
            Some(b'"') => (quoted_end(bytes, at + 2), Some(Class::Regex)),
            Some(b'_') => (at + 2, Some(Class::Comment)),
            Some(b'!') => (line_end(bytes, at), Some(Class::Comment)),
            Some(b'(') => {
                self.heads_form = true;
                (at + 2, Some(Class::Punctuation))
            }
            Some(b'{' | b'\'' | b'=') => (at + 2, Some(Class::Punctuation)),
            // `#?(…)` and `#?@(…)`: reader conditionals.
            Some(b'?') => (
                at + 2 + usize::from(bytes.get(at + 2) == Some(&b'@')),
                Some(Class::Punctuation),
            ),
            // `##Inf`, `##NaN`.
            Some(b'#') => (symbol_end(bytes, at + 2), Some(Class::Number)),
            // `#inst "…"`, `#js {…}`: a tagged literal's tag.
            Some(&b) if b.is_ascii_alphabetic() => {
                (symbol_end(bytes, at + 1), Some(Class::Attribute))
            }
            _ => (at + 1, Some(Class::Punctuation)),
        }
    }

    /// The class of a symbol (or number) token: `heads_form` when a form
    /// starts with it, and `defines` the class of the name a definition
    /// just before it defines.
    fn symbol(&mut self, symbol: &[u8], heads_form: bool, defines: Option<Class>) -> Option<Class> {
        let digit_at = usize::from(matches!(symbol.first(), Some(b'+' | b'-')));
        if symbol.get(digit_at).is_some_and(u8::is_ascii_digit) {
            return Some(Class::Number);
        }
        if let Some(class) = defines {
            return Some(class);
        }
        let name = std::str::from_utf8(symbol).ok()?;
        match name {
            "nil" | "true" | "false" => return Some(Class::Constant),
            _ if name.starts_with('%') => return Some(Class::Parameter),
            _ if name.len() > 2 && name.starts_with('*') && name.ends_with('*') => {
                return Some(Class::Variable);
            }
            _ => {}
        }
        let known = class_in(SYMBOLS, name);
        if heads_form {
            self.defines = match name {
                "defn" | "defn-" | "defmacro" | "defmulti" | "defmethod" | "definline" => {
                    Some(Class::Function)
                }
                "defprotocol" | "defrecord" | "deftype" | "definterface" | "defstruct" => {
                    Some(Class::Type)
                }
                "def" | "def-" | "defonce" | "declare" => Some(Class::Variable),
                "ns" => Some(Class::Module),
                _ => None,
            };
        }
        known.or(heads_form.then_some(Class::Function))
    }
}

/// Blanks to the reader: whitespace, and commas.
fn is_blank(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte == b','
}

/// Whether `byte` ends a symbol: a blank, or a macro character that
/// terminates a token.
fn is_terminator(byte: u8) -> bool {
    is_blank(byte) || b"\";()[]{}`~^@\\".contains(&byte)
}

/// Where the symbol (or number, or keyword's name) from `from` ends.
fn symbol_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| !is_terminator(b))
}

/// Where the character literal at `at` (`\a`, `\(`, `\newline`,
/// `\u00e9`) ends: one character, and the rest of a name when it is a
/// letter.
fn char_end(bytes: &[u8], at: usize) -> usize {
    let first = next_char(bytes, at + 1);
    if bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic) {
        run_of(bytes, first, |b| b.is_ascii_alphanumeric())
    } else {
        first
    }
}

/// How long a symbol's namespace (`str/` of `str/join`) is, with its
/// slash, if it has one and a name after it (`/` alone is division).
fn namespace_prefix(symbol: &[u8]) -> Option<usize> {
    let slash = symbol.iter().position(|b| *b == b'/')?;
    (slash > 0 && slash + 1 < symbol.len() && !symbol[0].is_ascii_digit()).then_some(slash + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn clojure(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn the_symbols_are_sorted_and_read_as_pygments_reads_them() {
        assert!(SYMBOLS.windows(2).all(|w| w[0].0 < w[1].0));
        let class = |name| class_in(SYMBOLS, name);
        assert_eq!(class("defn"), Some(Class::Keyword));
        assert_eq!(class("let"), Some(Class::Keyword));
        assert_eq!(class("loop"), Some(Class::Keyword), "a special form first");
        assert_eq!(class("map"), Some(Class::Builtin));
        assert_eq!(class("recur"), Some(Class::Keyword));
        assert_eq!(class("my-function"), None);
    }

    #[test]
    fn definitions_forms_and_literals_are_coloured() {
        let html = clojure(concat!(
            "(ns app.core (:require [clojure.string :as str]))\n",
            "(def ^:private *level* 3)\n",
            "(defn- greet [name & more] (str/join \", \" (map #(.toUpperCase %) more)))\n",
            "(defrecord Point [x y])\n(defn ^String label [p] (str p))\n",
            "(let [r #\"a\\d+\" c \\newline n [1 -2 3.5 1/2 0xFF 2r101 ##Inf nil true]]\n",
            "  #_(ignored) `(~x ~@xs @a 'sym #inst \"2026-12-07\" #{1}))\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>ns</x-k> <x-m>app.core</x-m>",
                "<x-co>:require</x-co>",
                "<x-k>def</x-k> <x-p>^</x-p><x-co>:private</x-co> <x-v>*level*</x-v>",
                "<x-k>defn-</x-k> <x-f>greet</x-f>",
                "<x-k>&amp;</x-k>",
                "<x-m>str/</x-m><x-fb>join</x-fb>",
                "<x-s>\", \"</x-s>",
                "<x-fb>map</x-fb>",
                "<x-p>#(</x-p><x-f>.toUpperCase</x-f> <x-pa>%</x-pa>",
                "<x-k>defrecord</x-k> <x-t>Point</x-t>",
                "<x-k>defn</x-k> <x-p>^</x-p><x-t>String</x-t> <x-f>label</x-f>",
                "<x-k>let</x-k>",
                "<x-sr>#\"a\\d+\"</x-sr>",
                "<x-s>\\newline</x-s>",
                "<x-n>1 -2 3.5 1/2 0xFF 2r101 ##Inf</x-n>",
                "<x-co>nil true</x-co>",
                "<x-c>#_</x-c>",
                "<x-p>) `(~</x-p>",
                "<x-p>~@</x-p>",
                "<x-p>@</x-p>",
                "<x-co>'sym</x-co>",
                "<x-at>#inst</x-at>",
                "<x-p>#{</x-p>",
            ],
        );
        // Symbols that only hold digits or slashes are not numbers or
        // namespaces.
        let html = clojure("(/ a b) (x1 y2) (- 3)\n");
        assert!(html.contains("<x-fb>/</x-fb>"), "{html}");
        assert!(html.contains("<x-f>x1</x-f> y2"), "{html}");
        assert!(html.contains("<x-fb>-</x-fb> <x-n>3</x-n>"), "{html}");
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "(",
                "#",
                "#\"",
                "\"open",
                "\\",
                "\\é and ü",
                "'",
                "~@",
                "^",
                "ns/",
                "/",
                ":",
                "##",
                "#?@(",
                "(defn",
                "(def ^",
                "(défn naïve [x] 'ünï :ké/ÿ)\r\n; é\r\n",
                "#!/usr/bin/env bb\n(println 1)",
            ],
        );
    }

    #[test]
    fn long_runs_of_openers_round_trip() {
        for unit in ["\"", "#\"", "\\", "^", "(", "#_"] {
            let code = unit.repeat(50_000);
            assert_round_trips(LANGUAGE, &[code.as_str()]);
        }
    }
}

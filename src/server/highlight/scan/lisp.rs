//! Lisp (Common Lisp, and the Lisps bat's grammar read with it: Emacs
//! Lisp's `.el` among them), read by a scanner of our own.
//!
//! bat's Lisp grammar colours the forms it knows but not the standard's
//! types, nor `*special*` variables. A Lisp reader's rules are few and
//! decided by one character (`;`, `"`, `#`, `'`, `(`), and everything
//! else is a symbol or a number, so one forward pass reads a file as a
//! Lisp reader would.
//!
//! It colours what Pygments' Common Lisp lexer colours: comments (`;`,
//! nested `#| |#`), strings, characters (`#\Space`), numbers (integers,
//! ratios, floats with their exponent letters, `#x`, `#b`, `#o`, `#3r`,
//! `#c`, `#*`), keywords (`:key`) and quoted symbols as constants, `t` and
//! `nil`, `*special*` variables, and the standard's symbols by what they
//! are: special forms, macros, lambda-list keywords and declarations as
//! keywords, functions as built-ins, types and classes as types
//! (`lisp_symbols.rs`, from Pygments). Beyond Pygments: the name a
//! `defun` (`defmacro`, `defgeneric`…) defines as a function, the one a
//! `defclass` (`defstruct`, `deftype`, `define-condition`) defines as a
//! type, `#'name` as a function, `+constant+`s, and a package prefix
//! (`cl-user::`) as a module.

use super::{class_in, find, line_end, nested_comment_end, next_char, quoted_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Lisp";

/// The standard's symbols and their classes, sorted by name.
const SYMBOLS: &[(&str, Class)] = &include!("lisp_symbols.rs");

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// The next symbol is the name a definition defines, of this class.
    defines: Option<Class>,
    /// The last token was a package prefix (`pkg:`): the next is the
    /// symbol in it, not a keyword.
    after_package: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let after_package = std::mem::take(&mut self.after_package);
        match byte {
            _ if byte.is_ascii_whitespace() => {
                return (run_of(bytes, at, |b| b.is_ascii_whitespace()), None);
            }
            b';' => return (line_end(bytes, at), Some(Class::Comment)),
            b'#' if bytes.get(at + 1) == Some(&b'|') => {
                return (
                    nested_comment_end(bytes, at, *b"#|", *b"|#"),
                    Some(Class::Comment),
                );
            }
            // `(defstruct (point (:conc-name p-)) …)`: the name is inside.
            b'(' => return (at + 1, Some(Class::Punctuation)),
            _ => {}
        }
        let defines = self.defines.take();
        let (end, class) = match byte {
            b'"' => (quoted_end(bytes, at + 1), Class::String),
            b')' => (at + 1, Class::Punctuation),
            b':' if !after_package => (symbol_end(bytes, at + 1), Class::Constant),
            b'\'' | b'`' => match bytes.get(at + 1) {
                Some(b) if !is_terminator(*b) && *b != b'#' => {
                    (symbol_end(bytes, at + 1), Class::Constant)
                }
                _ => (at + 1, Class::Punctuation),
            },
            b',' => (
                at + 1 + usize::from(bytes.get(at + 1) == Some(&b'@')),
                Class::Punctuation,
            ),
            b'#' => return self.dispatch(bytes, at),
            _ => {
                let end = symbol_end(bytes, at);
                let symbol = &bytes[at..end];
                if !after_package && let Some(prefix) = package_prefix(symbol) {
                    self.after_package = true;
                    self.defines = defines;
                    return (at + prefix, Some(Class::Module));
                }
                let class = self.symbol(symbol, defines);
                return (end, class);
            }
        };
        (end, Some(class))
    }

    /// A `#` dispatch form: what the character after it makes of it.
    fn dispatch(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let digits = run_of(bytes, at + 1, |b| b.is_ascii_digit());
        let Some(&sub) = bytes.get(digits) else {
            return (digits, None);
        };
        let (end, class) = match sub.to_ascii_lowercase() {
            b'\\' => {
                // `#\a`, `#\(`, `#\Space`: one character, then the rest of
                // a name.
                let first = next_char(bytes, digits + 1);
                (symbol_end(bytes, first), Class::String)
            }
            b'\'' => {
                self.defines = Some(Class::Function);
                (digits + 1, Class::Punctuation)
            }
            b'x' | b'b' | b'o' | b'r' | b'*' => (symbol_end(bytes, digits + 1), Class::Number),
            b'c' => (digits + 1, Class::Number),
            b'p' if bytes.get(digits + 1) == Some(&b'"') => {
                (quoted_end(bytes, digits + 2), Class::String)
            }
            b':' => (symbol_end(bytes, digits + 1), Class::Constant),
            b'(' | b'+' | b'-' | b'.' | b'=' | b'#' | b'a' | b's' => {
                (digits + 1, Class::Punctuation)
            }
            _ => return (digits.max(at + 1), None),
        };
        (end, Some(class))
    }

    /// The class of a symbol (or number) token, with `defines` the class
    /// of the name a definition just before it defines.
    fn symbol(&mut self, symbol: &[u8], defines: Option<Class>) -> Option<Class> {
        if is_number(symbol) {
            return Some(Class::Number);
        }
        if let Some(class) = defines {
            return Some(class);
        }
        let name = std::str::from_utf8(symbol).ok()?;
        match name {
            "t" | "nil" => return Some(Class::Constant),
            _ if name.len() > 2 && name.starts_with('*') && name.ends_with('*') => {
                return Some(Class::Variable);
            }
            _ if name.len() > 2 && name.starts_with('+') && name.ends_with('+') => {
                return Some(Class::Constant);
            }
            _ => {}
        }
        let class = class_in(SYMBOLS, name)?;
        self.defines = match name {
            "defun"
            | "defmacro"
            | "defgeneric"
            | "defmethod"
            | "define-compiler-macro"
            | "define-modify-macro"
            | "defsetf" => Some(Class::Function),
            "defclass" | "defstruct" | "deftype" | "define-condition" => Some(Class::Type),
            "defvar" | "defparameter" | "defconstant" => Some(Class::Variable),
            "defpackage" | "in-package" => Some(Class::Module),
            _ => None,
        };
        Some(class)
    }
}

/// Whether `byte` ends a symbol: whitespace, or a macro character that
/// terminates a token (`"`, `'`, `(`, `)`, `,`, `;`, `` ` ``).
fn is_terminator(byte: u8) -> bool {
    byte.is_ascii_whitespace() || matches!(byte, b'"' | b'\'' | b'(' | b')' | b',' | b';' | b'`')
}

/// Where the symbol (or number) from `from` ends: at a terminator, with
/// `\x` escaping one character and `|…|` any run of them, as the reader
/// reads them. At least one byte on, unless at the end.
fn symbol_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at = next_char(bytes, at + 1),
            b'|' => at = find(bytes, at + 1, b"|").map_or(bytes.len(), |close| close + 1),
            _ if is_terminator(byte) => break,
            _ => at = next_char(bytes, at),
        }
    }
    at
}

/// How long a symbol's package prefix (`pkg:`, `pkg::`) is, with its
/// colons, if it has one and a name after it.
fn package_prefix(symbol: &[u8]) -> Option<usize> {
    let colon = symbol.iter().position(|b| *b == b':')?;
    let end = colon + 1 + usize::from(symbol.get(colon + 1) == Some(&b':'));
    let plain = |part: &[u8]| !part.iter().any(|b| matches!(b, b'\\' | b'|' | b':'));
    (colon > 0 && end < symbol.len() && plain(&symbol[..colon]) && plain(&symbol[end..]))
        .then_some(end)
}

/// Whether a token is a number as the reader reads one: an integer
/// (`42`, `-7.`), a ratio (`2/3`) or a float (`.5`, `1.5d0`, `6e23`).
fn is_number(token: &[u8]) -> bool {
    let unsigned = token
        .strip_prefix(b"+")
        .or(token.strip_prefix(b"-"))
        .unwrap_or(token);
    let digits = |from: usize| run_of(unsigned, from, |b| b.is_ascii_digit()) - from;
    let whole = digits(0);
    let mut at = whole;
    match unsigned.get(at) {
        None => return whole > 0,
        Some(b'/') if whole > 0 => {
            return digits(at + 1) > 0 && at + 1 + digits(at + 1) == unsigned.len();
        }
        Some(b'.') => {
            at += 1;
            let fraction = digits(at);
            at += fraction;
            if whole + fraction == 0 {
                return false;
            }
        }
        Some(_) if whole == 0 => return false,
        Some(_) => {}
    }
    if let Some(letter) = unsigned.get(at) {
        if !matches!(
            letter.to_ascii_lowercase(),
            b'd' | b'e' | b'f' | b'l' | b's'
        ) {
            return false;
        }
        at += 1;
        if matches!(unsigned.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        at += exponent;
        if exponent == 0 {
            return false;
        }
    }
    at == unsigned.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn lisp(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn the_standards_symbols_are_sorted_and_read_as_pygments_reads_them() {
        assert!(SYMBOLS.windows(2).all(|w| w[0].0 < w[1].0));
        // A few from each of Pygments' sets, and one in two of them
        // (`function`: a special form before a class).
        let class = |name| class_in(SYMBOLS, name).ok_or(());
        assert_eq!(class("car"), Ok(Class::Builtin));
        assert_eq!(class("defun"), Ok(Class::Keyword));
        assert_eq!(class("&optional"), Ok(Class::Keyword));
        assert_eq!(class("fixnum"), Ok(Class::Type));
        assert_eq!(class("hash-table"), Ok(Class::Type));
        assert_eq!(class("function"), Ok(Class::Keyword));
        assert!(class("my-function").is_err());
    }

    #[test]
    fn definitions_standard_symbols_and_literals_are_coloured() {
        let html = lisp(concat!(
            "(defun area (r &optional (pi* 3.14d0))\n",
            "  (declare (type fixnum r))\n",
            "  (let ((*print-base* 16) (+max+ 2/3))\n",
            "    (mapcar #'1+ (list #x1F -7 .5 6e23 #\\Space #\\( :key 'sym t nil)) (the hash-table h)))\n",
            "(defstruct (point (:conc-name p-)) x y)\n",
            "(cl-user::helper \"a \\\" b\" #p\"/tmp/\" #c(1 2))\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>defun</x-k> <x-f>area</x-f>",
                "<x-k>&amp;optional</x-k>",
                "<x-n>3.14d0</x-n>",
                "<x-k>declare</x-k>",
                "<x-k>type</x-k> <x-t>fixnum</x-t>",
                "<x-v>*print-base*</x-v>",
                "<x-co>+max+</x-co>",
                "<x-n>2/3</x-n>",
                "<x-fb>mapcar</x-fb>",
                "<x-p>#'</x-p><x-f>1+</x-f>",
                "<x-fb>list</x-fb>",
                "<x-n>#x1F -7 .5 6e23</x-n>",
                "<x-s>#\\Space #\\(</x-s>",
                "<x-k>the</x-k> <x-t>hash-table</x-t> h",
                "<x-co>:key 'sym t nil</x-co>",
                "<x-k>defstruct</x-k> <x-p>(</x-p><x-t>point</x-t>",
                "<x-co>:conc-name</x-co>",
                "<x-m>cl-user::</x-m>helper",
                "<x-s>\"a \\\" b\" #p\"/tmp/\"</x-s>",
                "<x-n>#c</x-n><x-p>(</x-p>",
            ],
        );
        // Symbols that only look like numbers or keywords are not.
        let html = lisp("(1+ x) (- a) 1.2.3 abc:def:ghi\n");
        assert!(!html.contains("<x-n>1+"), "{html}");
        assert!(!html.contains("<x-n>1.2.3"), "{html}");
        assert!(!html.contains("<x-n>-</x-n>"), "{html}");
    }

    #[test]
    fn comments_nest_and_escapes_keep_symbols_whole() {
        let html = lisp("#| outer #| inner |# still |# (car '|odd (sym)| a\\ b) ; done\n");
        assert_runs(
            &html,
            &[
                "<x-c>#| outer #| inner |# still |#</x-c>",
                "<x-fb>car</x-fb>",
                "<x-co>'|odd (sym)|</x-co>",
                "<x-c>; done</x-c>",
            ],
        );
        assert!(html.contains(" a\\ b<x-p>)"), "{html}");
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "(",
                "#",
                "#|",
                "#| a |# |#",
                "\"open",
                "#\\",
                "#\\é and ü",
                "'",
                ",@",
                "pkg:",
                ":",
                "a\\",
                "|open (x",
                "#p",
                "#3",
                "(defun",
                "(défun naïve (x) 'ünï)\r\n; é\r\n",
                "#+sbcl (foo) #-(or a b) bar #1=(a . #1#)",
            ],
        );
    }

    #[test]
    fn long_runs_of_openers_round_trip() {
        for unit in ["|", "#|", "\"", "#\\"] {
            let code = unit.repeat(50_000);
            assert_round_trips(LANGUAGE, &[code.as_str()]);
        }
    }
}

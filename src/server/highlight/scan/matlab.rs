//! MATLAB (and Octave's common ground with it), read by a scanner of our
//! own rather than a grammar.
//!
//! tree-sitter's MATLAB grammar spent about 200 ns a byte parsing, where
//! Pygments' regular expressions are quick: the shared corpus's MATLAB
//! file came out barely faster than Pygments (1.39x on a slow host). Its
//! tokens are told apart by their first byte but for one: a `'` is a
//! transpose right after a value (`a'`, `x(1)'`, `b.'`) and opens a
//! string anywhere else, which the byte before it says.
//!
//! It colours what Pygments' MATLAB lexer colours: comments (`%`, the
//! `%{ %}` block comment on lines of their own, nested, and what follows a
//! `...` continuation), strings (`'…'` with `''`, `"…"` with `""`),
//! numbers (hexadecimal, binary, exponents, the imaginary `i` and `j`),
//! keywords, the common built-in functions, the name a `function` line
//! declares, a `!` shell escape, operators and punctuation; as the
//! tree-sitter grammar did, calls (`name(`) as functions.

use super::{class_in, doubled_quote_end, first_on_its_line, line_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "MATLAB";

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// The token just read ends a value (a name, a number, a closing
    /// bracket, a transpose) with nothing between: a `'` now transposes.
    after_value: bool,
    /// A `function` line is being read and its name has not come yet.
    awaiting_function_name: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        let after_value = std::mem::take(&mut self.after_value);
        match byte {
            b'%' if next == Some(b'{') && alone_on_its_line(bytes, at, 2) => {
                (block_comment_end(bytes, at), Some(Class::Comment))
            }
            b'%' => (line_end(bytes, at), Some(Class::Comment)),
            b'.' if bytes[at..].starts_with(b"...") => {
                // A continuation: the rest of the line is a comment.
                (line_end(bytes, at), Some(Class::Comment))
            }
            b'!' if first_on_its_line(bytes, at) => (line_end(bytes, at), Some(Class::String)),
            b'\'' if after_value => {
                self.after_value = true;
                (at + 1, Some(Class::Punctuation))
            }
            b'.' if next == Some(b'\'') => {
                self.after_value = true;
                (at + 2, Some(Class::Punctuation))
            }
            b'\'' | b'"' => (doubled_quote_end(bytes, at + 1, byte), Some(Class::String)),
            b'0'..=b'9' => {
                self.after_value = true;
                (number_end(bytes, at), Some(Class::Number))
            }
            b'.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                self.after_value = true;
                (number_end(bytes, at), Some(Class::Number))
            }
            b if b.is_ascii_alphabetic() => {
                self.after_value = true;
                self.name(bytes, at)
            }
            b')' | b']' | b'}' => {
                self.after_value = true;
                (at + 1, Some(Class::Punctuation))
            }
            b'\n' => {
                self.awaiting_function_name = false;
                (at + 1, None)
            }
            b'+' | b'-' | b'*' | b'/' | b'\\' | b'^' | b'=' | b'<' | b'>' | b'~' | b'&' | b'|'
            | b':' | b';' | b',' | b'.' | b'@' | b'(' | b'[' | b'{' | b'!' => {
                (at + 1, Some(Class::Punctuation))
            }
            _ => {
                // White space and anything else: plain, up to the next byte
                // a token can start at (non-ASCII bytes are skipped whole).
                let end = run_of(bytes, at + 1, |b| !b.is_ascii_graphic() && b != b'\n');
                (end, None)
            }
        }
    }

    /// A name, keyword or built-in.
    fn name(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let end = run_of(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'_');
        // Names are ASCII, so this never fails.
        let word = std::str::from_utf8(&bytes[at..end]).unwrap_or_default();
        // A field (`s.end`, `obj.disp`) is the struct's, whatever its name.
        let field = at > 0 && bytes[at - 1] == b'.';
        if !field && KEYWORDS.binary_search(&word).is_ok() {
            if word == "function" {
                self.awaiting_function_name = true;
            }
            // `end` closes a block or stands for the last index: a value.
            self.after_value = word == "end";
            return (end, Some(Class::Keyword));
        }
        let following = bytes[end..]
            .iter()
            .copied()
            .find(|b| *b != b' ' && *b != b'\t');
        if self.awaiting_function_name {
            // `function [a, b] = name(x)`, `function y = name`: the outputs
            // come before an `=`; the name is the first word after them.
            let is_output = matches!(following, Some(b'=' | b',' | b']'))
                && bytes.get(end..end + 2) != Some(b"==");
            if !is_output {
                self.awaiting_function_name = false;
                return (end, Some(Class::Function));
            }
            return (end, None);
        }
        if field {
            return (end, None);
        }
        if let Some(class) = class_in(&BUILTINS, word) {
            return (end, Some(class));
        }
        if bytes.get(end) == Some(&b'(') {
            return (end, Some(Class::Function));
        }
        (end, None)
    }
}

/// Whether only white space surrounds the `len` bytes at `at` on their
/// line, as a `%{` or `%}` must to open or close a block comment.
fn alone_on_its_line(bytes: &[u8], at: usize, len: usize) -> bool {
    first_on_its_line(bytes, at)
        && bytes[at + len..line_end(bytes, at)]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
}

/// Where the block comment opened at `at` ends: past the line's end of
/// the `%}` that closes it, those opened inside it counted, or at the end.
fn block_comment_end(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    let mut line = at;
    while line < bytes.len() {
        let text_end = line_end(bytes, line);
        let start = run_of(bytes, line, |b| b == b' ' || b == b'\t');
        if start + 2 <= text_end && alone_on_its_line(bytes, start, 2) {
            match &bytes[start..start + 2] {
                b"%{" => depth += 1,
                b"%}" => {
                    depth -= 1;
                    if depth == 0 {
                        return text_end;
                    }
                }
                _ => {}
            }
        }
        // Past the line break (`\r\n` as one).
        let mut next = text_end;
        if bytes.get(next) == Some(&b'\r') {
            next += 1;
        }
        if bytes.get(next) == Some(&b'\n') {
            next += 1;
        }
        if next == text_end {
            break;
        }
        line = next;
    }
    bytes.len()
}

/// Where the number starting at `at` ends: `0x1F`, `0b101`, `12`, `1.5`,
/// `.5`, `1e-3`, each with an optional `i` or `j` (imaginary). A `.`
/// after the digits that starts an element-wise operator (`1.*x`) is
/// the operator's.
fn number_end(bytes: &[u8], at: usize) -> usize {
    if bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X' | b'b' | b'B')) {
        let end = run_of(bytes, at + 2, |b| b.is_ascii_hexdigit() || b == b'_');
        if end > at + 2 {
            return run_of(bytes, end, |b| b.is_ascii_alphanumeric());
        }
    }
    let mut end = run_of(bytes, at, |b| b.is_ascii_digit());
    if bytes.get(end) == Some(&b'.')
        && !matches!(
            bytes.get(end + 1),
            Some(b'*' | b'/' | b'\\' | b'^' | b'\'' | b'.')
        )
    {
        end = run_of(bytes, end + 1, |b| b.is_ascii_digit());
    }
    if matches!(bytes.get(end), Some(b'e' | b'E' | b'd' | b'D')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
            end = run_of(bytes, end + 1 + sign, |b| b.is_ascii_digit());
        }
    }
    if matches!(bytes.get(end), Some(b'i' | b'j'))
        && !bytes
            .get(end + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        end += 1;
    }
    end
}

/// MATLAB's reserved words (`iskeyword`), and the words that open a
/// class definition's blocks. Sorted.
const KEYWORDS: [&str; 24] = [
    "break",
    "case",
    "catch",
    "classdef",
    "continue",
    "else",
    "elseif",
    "end",
    "enumeration",
    "events",
    "for",
    "function",
    "global",
    "if",
    "methods",
    "otherwise",
    "parfor",
    "persistent",
    "properties",
    "return",
    "spmd",
    "switch",
    "try",
    "while",
];

/// Built-in functions people call most, and the constants (`pi`, `Inf`,
/// `NaN`, `true`). Sorted by name, as `class_in` needs.
const BUILTINS: [(&str, Class); 145] = [
    ("Inf", Class::Constant),
    ("NaN", Class::Constant),
    ("abs", Class::Builtin),
    ("acos", Class::Builtin),
    ("all", Class::Builtin),
    ("any", Class::Builtin),
    ("asin", Class::Builtin),
    ("assert", Class::Builtin),
    ("atan", Class::Builtin),
    ("atan2", Class::Builtin),
    ("axis", Class::Builtin),
    ("cat", Class::Builtin),
    ("ceil", Class::Builtin),
    ("cell", Class::Builtin),
    ("cell2mat", Class::Builtin),
    ("cellfun", Class::Builtin),
    ("char", Class::Builtin),
    ("class", Class::Builtin),
    ("clc", Class::Builtin),
    ("clear", Class::Builtin),
    ("close", Class::Builtin),
    ("colorbar", Class::Builtin),
    ("cos", Class::Builtin),
    ("cross", Class::Builtin),
    ("cumprod", Class::Builtin),
    ("cumsum", Class::Builtin),
    ("det", Class::Builtin),
    ("diag", Class::Builtin),
    ("diff", Class::Builtin),
    ("disp", Class::Builtin),
    ("display", Class::Builtin),
    ("dot", Class::Builtin),
    ("double", Class::Builtin),
    ("eig", Class::Builtin),
    ("eps", Class::Constant),
    ("error", Class::Builtin),
    ("eval", Class::Builtin),
    ("exist", Class::Builtin),
    ("exp", Class::Builtin),
    ("eye", Class::Builtin),
    ("false", Class::Constant),
    ("fclose", Class::Builtin),
    ("feval", Class::Builtin),
    ("fft", Class::Builtin),
    ("fieldnames", Class::Builtin),
    ("figure", Class::Builtin),
    ("find", Class::Builtin),
    ("fix", Class::Builtin),
    ("fliplr", Class::Builtin),
    ("flipud", Class::Builtin),
    ("floor", Class::Builtin),
    ("fopen", Class::Builtin),
    ("fprintf", Class::Builtin),
    ("fread", Class::Builtin),
    ("func2str", Class::Builtin),
    ("fwrite", Class::Builtin),
    ("getfield", Class::Builtin),
    ("grid", Class::Builtin),
    ("hold", Class::Builtin),
    ("ifft", Class::Builtin),
    ("imag", Class::Builtin),
    ("input", Class::Builtin),
    ("int16", Class::Builtin),
    ("int32", Class::Builtin),
    ("int64", Class::Builtin),
    ("int8", Class::Builtin),
    ("interp1", Class::Builtin),
    ("inv", Class::Builtin),
    ("isa", Class::Builtin),
    ("iscell", Class::Builtin),
    ("ischar", Class::Builtin),
    ("isempty", Class::Builtin),
    ("isfield", Class::Builtin),
    ("isinf", Class::Builtin),
    ("isnan", Class::Builtin),
    ("isnumeric", Class::Builtin),
    ("isreal", Class::Builtin),
    ("isscalar", Class::Builtin),
    ("isstruct", Class::Builtin),
    ("isvector", Class::Builtin),
    ("kron", Class::Builtin),
    ("legend", Class::Builtin),
    ("length", Class::Builtin),
    ("linspace", Class::Builtin),
    ("load", Class::Builtin),
    ("log", Class::Builtin),
    ("log10", Class::Builtin),
    ("log2", Class::Builtin),
    ("logical", Class::Builtin),
    ("lower", Class::Builtin),
    ("lu", Class::Builtin),
    ("max", Class::Builtin),
    ("mean", Class::Builtin),
    ("median", Class::Builtin),
    ("meshgrid", Class::Builtin),
    ("min", Class::Builtin),
    ("mod", Class::Builtin),
    ("nargin", Class::Builtin),
    ("nargout", Class::Builtin),
    ("norm", Class::Builtin),
    ("num2str", Class::Builtin),
    ("numel", Class::Builtin),
    ("ones", Class::Builtin),
    ("pi", Class::Constant),
    ("plot", Class::Builtin),
    ("prod", Class::Builtin),
    ("qr", Class::Builtin),
    ("rand", Class::Builtin),
    ("randi", Class::Builtin),
    ("randn", Class::Builtin),
    ("rank", Class::Builtin),
    ("real", Class::Builtin),
    ("regexp", Class::Builtin),
    ("regexprep", Class::Builtin),
    ("rem", Class::Builtin),
    ("repmat", Class::Builtin),
    ("reshape", Class::Builtin),
    ("round", Class::Builtin),
    ("save", Class::Builtin),
    ("setfield", Class::Builtin),
    ("sign", Class::Builtin),
    ("sin", Class::Builtin),
    ("single", Class::Builtin),
    ("size", Class::Builtin),
    ("sort", Class::Builtin),
    ("sprintf", Class::Builtin),
    ("sqrt", Class::Builtin),
    ("squeeze", Class::Builtin),
    ("std", Class::Builtin),
    ("str2double", Class::Builtin),
    ("str2func", Class::Builtin),
    ("strcat", Class::Builtin),
    ("strcmp", Class::Builtin),
    ("strrep", Class::Builtin),
    ("strsplit", Class::Builtin),
    ("struct", Class::Builtin),
    ("subplot", Class::Builtin),
    ("sum", Class::Builtin),
    ("tan", Class::Builtin),
    ("true", Class::Constant),
    ("upper", Class::Builtin),
    ("varargin", Class::Builtin),
    ("varargout", Class::Builtin),
    ("warning", Class::Builtin),
    ("zeros", Class::Builtin),
];

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_round_trips, assert_runs, highlighted};
    use super::*;

    #[test]
    fn tables_are_sorted_for_lookup() {
        assert!(KEYWORDS.is_sorted());
        assert!(BUILTINS.is_sorted_by_key(|(name, _)| *name));
    }

    #[test]
    fn a_tick_after_a_value_transposes_and_elsewhere_quotes() {
        let html = highlighted(LANGUAGE, "c = a' * b.' + x(1)';\ns = 'it''s';\n");
        assert_runs(&html, &["<x-s>'it''s'</x-s>"]);
        assert!(!html.contains("<x-s>' * b"), "{html}");
        let spaced = highlighted(LANGUAGE, "disp 'hi'\nv = [a 'str'];\n");
        assert_runs(&spaced, &["<x-s>'hi'</x-s>", "<x-s>'str'</x-s>"]);
        let doubled = highlighted(LANGUAGE, "t = \"say \"\"hi\"\"\";\n");
        assert_runs(&doubled, &["<x-s>\"say \"\"hi\"\"\"</x-s>"]);
    }

    #[test]
    fn comments_blocks_continuations_and_shell_escapes() {
        let code = "x = 1; % note 'tick'\nw = 0;\n %{\nblock\n  %{\n  inner\n  %}\n %}\ny = a + ... more\n    b;\n!echo % not a comment\n";
        let html = highlighted(LANGUAGE, code);
        assert_runs(
            &html,
            &[
                "<x-c>% note 'tick'</x-c>",
                "<x-c>%{\nblock\n  %{\n  inner\n  %}\n %}</x-c>",
                "<x-c>... more</x-c>",
                "<x-s>!echo % not a comment</x-s>",
            ],
        );
        // `%{` with more on its line is a line comment.
        let line = highlighted(LANGUAGE, "%{ not a block\nz = 2;\n");
        assert_runs(&line, &["<x-c>%{ not a block</x-c>"]);
        assert!(!line.contains("z = 2;</x-c>"), "{line}");
    }

    #[test]
    fn numbers_keywords_builtins_and_declared_names() {
        let code = "function [a, b] = pair(x)\nfunction y=one(x)\nfunction noargs\n\
                    for i=1:20\n  a = 1.5e-3 + 2i + 0x1F + .5 + 3.*x;\nend\nz = zeros(2) + pi + mine(3);\n";
        let html = highlighted(LANGUAGE, code);
        assert_runs(
            &html,
            &[
                "<x-k>function</x-k> <x-p>[</x-p>a<x-p>,</x-p> b<x-p>] =</x-p> <x-f>pair</x-f>",
                "<x-f>one</x-f>",
                "<x-f>noargs</x-f>",
                "<x-k>for</x-k>",
                "<x-n>1.5e-3</x-n>",
                "<x-n>2i</x-n>",
                "<x-n>0x1F</x-n>",
                "<x-n>.5</x-n>",
                "<x-n>3</x-n>",
                "<x-k>end</x-k>",
                "<x-f>mine</x-f>",
            ],
        );
        assert_runs(&html, &["<x-fb>zeros</x-fb>", "<x-co>pi</x-co>"]);
        assert!(!html.contains("<x-f>a</x-f>"), "{html}");
    }

    #[test]
    fn every_snippet_reads_back_byte_for_byte() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "'",
                "\"",
                "%{",
                "%{\n",
                "a'''",
                "x = 'unterminated\ny = 1;",
                "0x",
                "1e",
                "1.'",
                "...",
                "s.end = 3; % é\r\n%{\r\nbloc\r\n%}\r\n",
                "disp('ünïcödé') % ☃\n",
            ],
        );
    }
}

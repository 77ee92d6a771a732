//! reStructuredText, read by a scanner of our own rather than a grammar.
//!
//! bat's reStructuredText grammar was the slowest part of the shared
//! corpus after bash and OCaml, and coloured half the kinds Pygments does
//! there (no directives, list markers or interpreted text). reST is read
//! line by line: what a line is (a heading, a directive, a comment, a list
//! item, part of a literal block) shows at its start, the line after it
//! (a heading's underline) or the block it sits in; inline markup is
//! found within the line.
//!
//! It colours what Pygments' reST lexer colours: headings and their
//! adornments, directives (`.. note::`) with their names as keywords,
//! targets (`.. _name:`, `.. [1]`) as tags, comments and the indented
//! lines under them, literal blocks (after `::`, and under `.. code::`)
//! as strings, list markers as numbers, field names, and inline literals
//! (` ``x`` `), references (`` `x`_ ``, `[1]_`), interpreted text with its
//! role (`` :func:`map` ``), strong and emphasised text, and `<links>`.
//!
//! Inline markup never crosses a line (as in Pygments), and a search for a
//! closing delimiter that fails is not repeated on the same line, so a line
//! full of unmatched backticks is still read in linear time.

use std::collections::VecDeque;

use super::{find, line_end, next_char, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "reStructuredText";

/// The closing delimiters inline markup searches for.
const CLOSERS: [&[u8]; 6] = [b"``", b"`", b"**", b"*", b"]_", b">"];

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// Tokens already read at a line's start, to hand out before reading on.
    pending: VecDeque<(usize, Option<Class>)>,
    /// Inside an indented block (a literal block or a comment): lines
    /// indented past this (and blank lines) belong to it, in `block_class`.
    block_indent: Option<usize>,
    block_class: Option<Class>,
    /// The paragraph before ended with `::` (or a code directive was read):
    /// the next lines indented past this are a literal block.
    literal_after: Option<usize>,
    /// For each of [`CLOSERS`], a position (the end of the line last
    /// searched in vain) before which there is none of it to find.
    none_before: [usize; CLOSERS.len()],
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        if let Some(token) = self.pending.pop_front() {
            return token;
        }
        if (at == 0 || bytes[at - 1] == b'\n')
            && bytes[at] != b'\n'
            && let Some(token) = self.line_start(bytes, at)
        {
            return token;
        }
        self.inline(bytes, at)
    }

    /// What the line starting at `at` is, when its start says: its first
    /// token (the rest queued in `pending`), or `None` to read it inline.
    fn line_start(&mut self, bytes: &[u8], at: usize) -> Option<(usize, Option<Class>)> {
        let end = line_end(bytes, at);
        let line = &bytes[at..end];
        let indent = run_of(line, 0, |b| b == b' ' || b == b'\t');
        let blank = indent == line.len();
        if blank {
            return None;
        }
        if let Some(base) = self.block_indent {
            if indent > base {
                return Some((end, self.block_class));
            }
            self.block_indent = None;
        }
        if let Some(base) = self.literal_after.take()
            && indent > base
        {
            self.block_indent = Some(base);
            self.block_class = Some(Class::String);
            return Some((end, Some(Class::String)));
        }
        let next_line = {
            let next = run_of(bytes, end, |b| b == b'\r').min(bytes.len());
            let next = if bytes.get(next) == Some(&b'\n') {
                next + 1
            } else {
                next
            };
            &bytes[next..line_end(bytes, next)]
        };
        if is_adornment(line) || indent == 0 && is_adornment(next_line) {
            return Some((end, Some(Class::Heading)));
        }
        let rest = &line[indent..];
        if rest.starts_with(b"..") && matches!(rest.get(2), None | Some(b' ' | b'\t')) {
            return Some(self.explicit_markup(bytes, at + indent, end, indent));
        }
        let start = at + indent;
        let marker = list_marker(rest);
        if marker > 0 {
            return Some(self.after_indent(at, start, (start + marker, Some(Class::Number))));
        }
        if rest.first() == Some(&b':') {
            let field = run_of(rest, 1, |b| b != b':');
            if field > 1
                && field < rest.len()
                && rest.get(field + 1).is_none_or(u8::is_ascii_whitespace)
            {
                let name = (start + field + 1, Some(Class::Attribute));
                return Some(self.after_indent(at, start, name));
            }
        }
        None
    }

    /// `token`, which starts at `start`, with the line's indentation (from
    /// `at`) before it as a token of its own if there is any.
    fn after_indent(
        &mut self,
        at: usize,
        start: usize,
        token: (usize, Option<Class>),
    ) -> (usize, Option<Class>) {
        if start == at {
            return token;
        }
        self.pending.push_back(token);
        (start, None)
    }

    /// A line starting `..` at `at`: a directive, a target, a substitution
    /// definition or a comment.
    fn explicit_markup(
        &mut self,
        bytes: &[u8],
        at: usize,
        end: usize,
        indent: usize,
    ) -> (usize, Option<Class>) {
        let after_dots = run_of(bytes, at + 2, |b| b == b' ' || b == b'\t').min(end);
        let rest = &bytes[after_dots..end];
        let name = run_of(rest, 0, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':')
        });
        let directive = if rest.get(..name).is_some_and(|n| n.ends_with(b"::")) {
            Some(name - 2)
        } else {
            find(&rest[..name], 0, b"::").filter(|i| *i > 0)
        };
        let tag = match rest.first() {
            Some(b'_') => Some(end - after_dots),
            Some(b'[') => rest.iter().position(|b| *b == b']').map(|i| i + 1),
            Some(b'|') => rest[1..].iter().position(|b| *b == b'|').map(|i| i + 2),
            _ => None,
        };
        let (word, class) = match (directive, tag) {
            (Some(name), _) if rest[0].is_ascii_alphanumeric() => {
                let word = &rest[..name];
                if matches!(word, b"code" | b"code-block" | b"sourcecode") {
                    self.literal_after = Some(indent);
                }
                (name, Class::Keyword)
            }
            (_, Some(tag)) => (tag, Class::Tag),
            _ => {
                // Anything else after `..` is a comment, with the lines
                // indented under it.
                self.block_indent = Some(indent);
                self.block_class = Some(Class::Comment);
                return (end, Some(Class::Comment));
            }
        };
        let mut last = at + 2;
        let mut queue = |token: (usize, Option<Class>)| {
            if token.0 > last {
                last = token.0;
                self.pending.push_back(token);
            }
        };
        queue((after_dots, None));
        queue((after_dots + word, Some(class)));
        if class == Class::Keyword {
            queue((after_dots + word + 2, Some(Class::Punctuation)));
        }
        (at + 2, Some(Class::Punctuation))
    }

    /// The inline token at `at`.
    fn inline(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let end_of_line = line_end(bytes, at);
        let line = &bytes[..end_of_line];
        match bytes[at] {
            b'\n' => (at + 1, None),
            // An escaped character is plain (a line break is not escaped).
            b'\\' if bytes.get(at + 1) != Some(&b'\n') => {
                (next_char(bytes, at + 1).max(at + 1), None)
            }
            b'`' if bytes.get(at + 1) == Some(&b'`') => match self.closer(line, at + 2, 0) {
                Some(close) => (close + 2, Some(Class::String)),
                None => (at + 2, None),
            },
            b'`' => match self.closer(line, at + 1, 1) {
                Some(close) => {
                    let underscores = run_of(line, close + 1, |b| b == b'_').min(close + 3);
                    if underscores > close + 1 {
                        (underscores, Some(Class::Link))
                    } else {
                        if let Some(role) = role_end(line, close + 1) {
                            self.pending.push_back((role, Some(Class::Attribute)));
                        }
                        (close + 1, Some(Class::Variable))
                    }
                }
                None => (at + 1, None),
            },
            b':' if line.get(at + 1) == Some(&b':')
                && line[at + 2..].iter().all(|b| b.is_ascii_whitespace()) =>
            {
                // A paragraph that ends `::`: a literal block follows.
                let indent = line_indent(bytes, at);
                self.literal_after = Some(indent);
                (at + 2, Some(Class::Punctuation))
            }
            b':' => match role_end(line, at) {
                Some(end) if line.get(end) == Some(&b'`') => (end, Some(Class::Attribute)),
                _ => (at + 1, None),
            },
            b'*' if bytes.get(at + 1) == Some(&b'*') => match self.closer(line, at + 2, 2) {
                Some(close) if close > at + 2 => (close + 2, Some(Class::Strong)),
                _ => (at + 2, None),
            },
            b'*' if line.get(at + 1).is_some_and(|b| !b.is_ascii_whitespace()) => {
                match self.closer(line, at + 1, 3) {
                    Some(close) => (close + 1, Some(Class::Emphasis)),
                    None => (at + 1, None),
                }
            }
            b'[' => match self.closer(line, at + 1, 4) {
                Some(close) => (close + 2, Some(Class::Link)),
                None => (at + 1, None),
            },
            b'<' => match self.closer(line, at + 1, 5) {
                Some(close) if close > at + 1 => (close + 1, Some(Class::Tag)),
                _ => (at + 1, None),
            },
            _ => {
                let end = run_of(bytes, at + 1, |b| {
                    !matches!(b, b'\n' | b'\\' | b'`' | b':' | b'*' | b'[' | b'<')
                });
                (end, None)
            }
        }
    }

    /// Where `CLOSERS[which]` next starts in `line` from `from`, unless an
    /// earlier search on this line already found none there.
    fn closer(&mut self, line: &[u8], from: usize, which: usize) -> Option<usize> {
        if from < self.none_before[which] {
            return None;
        }
        let found = find(line, from, CLOSERS[which]);
        if found.is_none() {
            self.none_before[which] = line.len();
        }
        found
    }
}

/// Whether `line` is a heading's adornment: three or more of one
/// punctuation character, and nothing else but trailing blanks.
fn is_adornment(line: &[u8]) -> bool {
    let Some(&first) = line.first() else {
        return false;
    };
    let run = run_of(line, 0, |b| b == first);
    br#"=-`:.'"~^_*+#"#.contains(&first)
        && run >= 3
        && line[run..]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The length of the list marker `rest` starts with (`* `, `- `, `+ `,
/// `1. `, `#. `, `(2) `, `3) `), when a space follows it; 0 for none.
fn list_marker(rest: &[u8]) -> usize {
    let spaced = |len: usize| if rest.get(len) == Some(&b' ') { len } else { 0 };
    if matches!(rest.first(), Some(b'-' | b'*' | b'+')) {
        return spaced(1);
    }
    let open = usize::from(rest.first() == Some(&b'('));
    let body = run_of(rest, open, |b| b.is_ascii_digit() || b == b'#');
    if body == open || body - open > 3 {
        return 0;
    }
    match rest.get(body) {
        Some(b'.') if open == 0 => spaced(body + 1),
        Some(b')') => spaced(body + 1),
        _ => 0,
    }
}

/// Where a role (`:name:`) starting at `at` ends, if one does.
fn role_end(line: &[u8], at: usize) -> Option<usize> {
    if line.get(at) != Some(&b':') {
        return None;
    }
    let name = run_of(line, at + 1, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
    });
    (name > at + 1 && line.get(name) == Some(&b':')).then_some(name + 1)
}

/// The indentation of the line holding `at`.
fn line_indent(bytes: &[u8], at: usize) -> usize {
    let start = bytes[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    run_of(bytes, start, |b| b == b' ' || b == b'\t') - start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn rst(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn headings_directives_comments_and_literal_blocks_are_coloured() {
        let html = rst(concat!(
            "=====\nTitle\n=====\n\nSection\n-------\n\n",
            ".. contents::\n   :depth: 2\n\n",
            ".. _target: https://example.org\n",
            ".. a comment\n   still the comment\n\n",
            "An example::\n\n    def f(x):\n        return **x\n\nBack to text.\n\n",
            ".. code-block:: python\n\n   x = `1`\n\n",
            "* one\n  2. two\n",
        ));
        assert_runs(
            &html,
            &[
                // Runs of one class with only blanks between are one.
                "<x-h>=====\nTitle\n=====\n\nSection\n-------</x-h>",
                "<x-p>..</x-p> <x-k>contents</x-k><x-p>::</x-p>\n   <x-at>:depth:</x-at> 2",
                "<x-p>..</x-p> <x-tg>_target: https://example.org</x-tg>",
                "<x-c>.. a comment\n   still the comment</x-c>",
                "An example<x-p>::</x-p>\n\n<x-s>    def f(x):\n        return **x</x-s>\n\nBack to text.",
                "<x-k>code-block</x-k><x-p>::</x-p> python\n\n<x-s>   x = `1`</x-s>",
                "<x-n>*</x-n> one\n  <x-n>2.</x-n> two",
            ],
        );
    }

    #[test]
    fn inline_markup_is_coloured_within_its_line() {
        let html = rst(concat!(
            "Use ``map()`` with :func:`filter` or `f`:meth: and **bold** *it*.\n",
            "See `the docs <https://x.org>`_, `Link`_, [1]_ and <https://y.org>.\n",
            "Not *emphasis\nacross* lines; a * b; \\*plain\\*.\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-s>``map()``</x-s>",
                "<x-at>:func:</x-at><x-v>`filter`</x-v>",
                "<x-v>`f`</x-v><x-at>:meth:</x-at>",
                "<x-st>**bold**</x-st> <x-em>*it*</x-em>",
                "<x-u>`the docs &lt;https://x.org&gt;`_</x-u>",
                "<x-u>`Link`_</x-u>",
                "<x-u>[1]_</x-u>",
                "<x-tg>&lt;https://y.org&gt;</x-tg>",
            ],
        );
        assert!(!html.contains("<x-em>*emphasis"), "{html}");
        assert!(!html.contains("<x-em>* b"), "{html}");
        assert!(!html.contains("<x-em>*plain"), "{html}");
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        let backticks = "`".repeat(50_000);
        assert_round_trips(
            LANGUAGE,
            &[
                "Titlé\r\n=====\r\n\r\n* é ``✓`` :r:`ü`\r\n",
                "..\n.. \n.. |sub| image:: x.png\n.. [#] note\n",
                "``unclosed `unclosed **unclosed *unclosed [unclosed <unclosed :role\n",
                "::\n\n  \tblock\n",
                "\\",
                "",
                backticks.as_str(),
            ],
        );
    }
}

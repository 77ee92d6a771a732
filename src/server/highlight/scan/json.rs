//! JSON, read by a scanner of our own rather than a grammar.
//!
//! JSON is the one language whose whole syntax fits in a page, and the one
//! people paste most as small files: a tree-sitter parse plus a query walk
//! cost about 60 µs on a 709-byte file, and the child process's round trip
//! as much again, where this scanner takes a few microseconds.
//!
//! It colours what Pygments' JSON lexer colours: keys (a string followed by
//! `:`) as tags, other strings (escapes and all), numbers, `true`, `false`
//! and `null`, punctuation, and the comments of JSON with comments (`//`,
//! `/* */`). Anything else (a typo, a bare word) stays plain and the
//! reading goes on, so broken JSON is still coloured around the break.
//! Unlike the line-based engines it colours long lines too: one line of
//! minified JSON is the common case, and nothing here can backtrack.

use super::{find, line_end, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "JSON";

/// The token starting at `at`: where it ends and its class. Every token
/// ends past `at`, and on a character boundary (it stops only at ASCII
/// bytes or at the end).
pub(super) fn token(bytes: &[u8], at: usize) -> (usize, Option<Class>) {
    match bytes[at] {
        b'"' => {
            let end = string_end(bytes, at);
            let class = if is_key(bytes, end) {
                Class::Tag
            } else {
                Class::String
            };
            (end, Some(class))
        }
        b'\\' => (at + 1, None),
        b'{' | b'}' | b'[' | b']' | b':' | b',' => (at + 1, Some(Class::Punctuation)),
        b'/' if bytes.get(at + 1) == Some(&b'/') => (line_end(bytes, at), Some(Class::Comment)),
        b'/' if bytes.get(at + 1) == Some(&b'*') => {
            let end = find(bytes, at + 2, b"*/").map_or(bytes.len(), |i| i + 2);
            (end, Some(Class::Comment))
        }
        b'-' | b'0'..=b'9' => {
            let end = run_of(bytes, at + 1, |b| {
                b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
            });
            (end, Some(Class::Number))
        }
        b if b.is_ascii_alphabetic() || b == b'_' => {
            let end = run_of(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'_');
            let class = match &bytes[at..end] {
                b"true" | b"false" | b"null" => Some(Class::Constant),
                _ => None,
            };
            (end, class)
        }
        _ => {
            // Whitespace and anything else: plain, up to the next byte a
            // token can start at (non-ASCII bytes are skipped whole).
            let end = run_of(bytes, at + 1, |b| {
                !(matches!(
                    b,
                    b'"' | b'\\' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b'/' | b'-' | b'_'
                ) || b.is_ascii_alphanumeric())
            });
            (end, None)
        }
    }
}

/// Where the string opened at `open` ends: past its closing quote, or at
/// the end of its line if it has none (a JSON string cannot hold a raw
/// line break, so the next line is read afresh).
fn string_end(bytes: &[u8], open: usize) -> usize {
    let mut at = open + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => return at + 1,
            b'\\' if at + 1 < bytes.len() && bytes[at + 1] != b'\n' => at += 2,
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// Whether the string that ended at `end` is a key: the next thing after
/// it, whitespace aside, is a colon.
fn is_key(bytes: &[u8], end: usize) -> bool {
    bytes[end..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b':')
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::highlight::{
        Budget, CancelFlag, EngineError,
        render::fragment_text,
        scan::tests::{assert_round_trips, highlighted},
    };

    fn json(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    fn highlight(
        code: &str,
        progress: &dyn Fn(crate::domain::Progress),
        cancel: &CancelFlag,
        budget: Budget,
    ) -> Result<String, EngineError> {
        super::super::highlight(LANGUAGE, code, progress, cancel, budget, &|_, _| None).unwrap()
    }

    #[test]
    fn keys_strings_numbers_literals_and_punctuation_are_coloured() {
        let html = json("{\"name\": \"a\\\"b\", \"n\" : [-1.5e3, true, null]}\n");
        for run in [
            "<x-p>{</x-p><x-tg>\"name\"</x-tg><x-p>:</x-p> <x-s>\"a\\\"b\"</x-s>",
            "<x-tg>\"n\"</x-tg> <x-p>:",
            "<x-n>-1.5e3</x-n>",
            "<x-co>true</x-co>",
            "<x-co>null</x-co><x-p>]}</x-p>",
        ] {
            assert!(html.contains(run), "{run} in {html}");
        }
    }

    #[test]
    fn comments_are_coloured_and_broken_json_is_coloured_around_the_break() {
        let html = json("// top\n{\"a\": /* why */ 1, oops \"b\": \"unclosed\n\"c\": 2}\n");
        for run in [
            "<x-c>// top</x-c>",
            "<x-c>/* why */</x-c>",
            " oops ",
            "<x-s>\"unclosed</x-s>",
            "<x-tg>\"c\"</x-tg><x-p>:</x-p> <x-n>2</x-n>",
        ] {
            assert!(html.contains(run), "{run} in {html}");
        }
    }

    #[test]
    fn text_round_trips_with_unicode_crlf_and_minified_lines() {
        let long = format!("[{}]", vec!["{\"k\":\"é✓\"}"; 20_000].join(","));
        assert_round_trips(
            LANGUAGE,
            &[
                "{\"é\": \"✓\",\r\n \"x\": [1,\t2]}",
                "\"no end",
                "/* no end",
                "",
                long.as_str(),
            ],
        );
        assert!(
            json(&long).contains("<x-s>\"é✓\"</x-s><x-p>}]</x-p>"),
            "the end of a long minified line is coloured"
        );
    }

    #[test]
    fn a_cancel_is_honoured_and_a_spent_budget_leaves_the_rest_plain() {
        let code = format!("[{}]", vec!["1"; 100_000].join(","));
        let cancel = CancelFlag::default();
        cancel.cancel();
        assert!(matches!(
            highlight(
                &code,
                &|_| {},
                &cancel,
                Budget::new(Duration::from_secs(30))
            ),
            Err(EngineError::Cancelled)
        ));
        let html = highlight(
            &code,
            &|_| {},
            &CancelFlag::default(),
            Budget::new(Duration::ZERO),
        )
        .unwrap();
        let coloured = html.matches("<x-n>").count();
        assert!(
            coloured > 0 && coloured < 100_000,
            "the first block is coloured and the rest plain ({coloured} numbers)"
        );
        assert_eq!(fragment_text(&html).as_deref(), Some(code.as_str()));
    }
}

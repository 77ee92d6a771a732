//! Shell commands inside other languages (a Dockerfile's `RUN`, a
//! makefile's recipes): what each word of a command is, by where it
//! stands, as the tree-sitter Bash query colours a command, and the
//! lexical pieces (blanks, words, quoted strings) the scanners that read
//! them share.

use super::{next_char, run_of};
use crate::server::highlight::classes::Class;

/// What the next word of a command is, by where it stands.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
pub(super) enum Word {
    /// A command's name (or a shell keyword, after which a command
    /// follows): the start of a command, or after `;`, `&&`, `|`…
    #[default]
    Command,
    /// The value of an assignment before a command (`CC=clang make`).
    AssignedValue,
    /// An argument of the command.
    Argument,
    /// The loop variable's name, after `for` or `select`.
    LoopName,
    /// Before the `in` of a `for` or a `case`.
    BeforeIn,
}

impl Word {
    /// The class of `word` (which ends at `end` in `bytes`) standing
    /// here; moves on to what the next word is.
    pub(super) fn class(&mut self, word: &[u8], bytes: &[u8], end: usize) -> Option<Class> {
        if word.first() == Some(&b'-') {
            return Some(Class::Constant);
        }
        match *self {
            Word::Command => {
                if KEYWORDS.contains(&word) {
                    // `if`, `then`, `do`...: a command follows; after
                    // `for` a name, after `case` a word, then `in`.
                    *self = match word {
                        b"for" | b"select" => Word::LoopName,
                        b"case" => Word::BeforeIn,
                        _ => Word::Command,
                    };
                    return Some(Class::Keyword);
                }
                // `NAME=value cmd`: an assignment, not the command.
                if bytes.get(end) == Some(&b'=') {
                    *self = Word::AssignedValue;
                    return Some(Class::Variable);
                }
                *self = Word::Argument;
                Some(Class::Function)
            }
            Word::AssignedValue => {
                *self = Word::Command;
                None
            }
            Word::LoopName => {
                *self = Word::BeforeIn;
                Some(Class::Variable)
            }
            Word::BeforeIn if word == b"in" => {
                *self = Word::Argument;
                Some(Class::Keyword)
            }
            Word::Argument | Word::BeforeIn
                if word.iter().all(|b| b.is_ascii_digit() || *b == b'.') =>
            {
                Some(Class::Number)
            }
            Word::Argument | Word::BeforeIn => None,
        }
    }

    /// Past a word read elsewhere (a string, a variable).
    pub(super) fn after_word(&mut self) {
        *self = match *self {
            Word::AssignedValue => Word::Command,
            // `case "$x" in`.
            Word::BeforeIn => Word::BeforeIn,
            _ => Word::Argument,
        };
    }
}

/// The shell's keywords that stand where a command's name would.
const KEYWORDS: [&[u8]; 15] = [
    b"if", b"then", b"else", b"elif", b"fi", b"for", b"select", b"while", b"until", b"do", b"done",
    b"case", b"esac", b"in", b"!",
];

/// Where the run of spaces, tabs and carriage returns from `from` ends.
pub(super) fn blank_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Where a word ends: at a blank, a quote, a variable or an operator; at
/// least one character on.
pub(super) fn word_end(bytes: &[u8], at: usize) -> usize {
    let end = run_of(bytes, at, |b| {
        !(b.is_ascii_whitespace()
            || matches!(
                b,
                b'"' | b'\''
                    | b'$'
                    | b'\\'
                    | b'&'
                    | b'|'
                    | b';'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b','
                    | b'='
                    | b'<'
                    | b'>'
            ))
    });
    end.max(next_char(bytes, at))
}

/// Where the string opened at `at` ends: past its closing quote (a
/// backslash escapes in `"…"`), or at its line's end.
pub(super) fn string_end(bytes: &[u8], at: usize) -> usize {
    let quote = bytes[at];
    let mut index = at + 1;
    while index < bytes.len() {
        match bytes[index] {
            b if b == quote => return index + 1,
            b'\\' if quote == b'"' && matches!(bytes.get(index + 1), Some(b) if *b != b'\n') => {
                index += 2;
            }
            b'\n' => return index,
            _ => index += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each word of `command` (split at blanks) and its class, read from
    /// the start of a command.
    fn classes(command: &str) -> Vec<(&str, Option<Class>)> {
        let mut word = Word::default();
        let bytes = command.as_bytes();
        let mut at = 0;
        let mut read = Vec::new();
        while at < bytes.len() {
            let end = word_end(bytes, at);
            let text = &command[at..end];
            // `=` is punctuation, and moves nothing on.
            if text != "=" {
                read.push((text, word.class(&bytes[at..end], bytes, end)));
            }
            at = blank_end(bytes, end);
        }
        read
    }

    #[test]
    fn loops_and_cases_name_their_variable_and_their_in() {
        use Class::*;
        assert_eq!(
            classes("for f in a 1"),
            [
                ("for", Some(Keyword)),
                ("f", Some(Variable)),
                ("in", Some(Keyword)),
                ("a", None),
                ("1", Some(Number)),
            ]
        );
        assert_eq!(
            classes("case x in"),
            [("case", Some(Keyword)), ("x", None), ("in", Some(Keyword))]
        );
    }

    #[test]
    fn a_word_is_read_by_where_it_stands_in_its_command() {
        use Class::*;
        assert_eq!(
            classes("if CC =clang make -j 4 in"),
            [
                ("if", Some(Keyword)),
                ("CC", Some(Function)),
                ("clang", None),
                ("make", None),
                ("-j", Some(Constant)),
                ("4", Some(Number)),
                ("in", None),
            ]
        );
        assert_eq!(
            classes("CC=clang make 4"),
            [
                ("CC", Some(Variable)),
                ("clang", None),
                ("make", Some(Function)),
                ("4", Some(Number)),
            ]
        );
    }
}

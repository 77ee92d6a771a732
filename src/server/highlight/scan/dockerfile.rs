//! Dockerfiles, read by a scanner of our own rather than a grammar.
//!
//! A Dockerfile is instructions, one per line (a `\` at a line's end
//! continues it), whose arguments are mostly shell commands. bat's grammar
//! colours the instructions and the strings but leaves the commands plain;
//! Pygments hands the commands to its Bash lexer. This scanner reads both
//! layers in one pass: instructions (and `AS`, `ONBUILD`'s instruction,
//! `HEALTHCHECK`'s `CMD`) as keywords, `FROM`'s image and the rest of the
//! line after `MAINTAINER`, `USER`, `WORKDIR` and `STOPSIGNAL` as strings,
//! and in the arguments comments, strings, variables (`$HOME`, `${A:-b}`),
//! numbers, options (`--from=`) as constants, operators, and, in a shell
//! command (`RUN`, `CMD`, `ENTRYPOINT`, `SHELL`), each command's name as a
//! function and the shell's keywords as keywords, as the tree-sitter Bash
//! query colours them.

use super::{
    first_on_its_line, line_end, next_char,
    shell::{Word, blank_end, string_end, word_end},
};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Dockerfile";

/// What the next word is.
#[derive(Default, Clone, Copy, PartialEq)]
enum Expect {
    /// An instruction: the start of a line that does not continue one.
    #[default]
    Instruction,
    /// `FROM`'s image, or the stage name after `AS`.
    Image,
    /// The rest of the line is one value (`MAINTAINER`'s, `USER`'s...), a
    /// string as Pygments reads it.
    Value,
    /// A word of the arguments: of a shell command, or read as one.
    Word(Word),
}

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    expect: Expect,
    /// The instruction's arguments are a shell command.
    shell: bool,
    /// The instruction is `FROM` (for its `AS`) or `HEALTHCHECK` (for its
    /// `CMD`).
    instruction: &'static str,
    /// The line ended with `\`: the next one continues the instruction.
    continues: bool,
    /// The end of the last line where a `${` found no `}`: a later `${` on
    /// that line need not look again (a line of them stays linear).
    no_brace_before: usize,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        match byte {
            b'\n' => {
                if !std::mem::take(&mut self.continues) {
                    *self = Scanner::default();
                }
                (at + 1, None)
            }
            b' ' | b'\t' | b'\r' => (blank_end(bytes, at), None),
            _ if self.expect == Expect::Value => (line_end(bytes, at), Some(Class::String)),
            b'#' if first_on_its_line(bytes, at)
                || self.shell && bytes[at - 1].is_ascii_whitespace() =>
            {
                (line_end(bytes, at), Some(Class::Comment))
            }
            b'\\' => {
                let after = blank_end(bytes, at + 1);
                if matches!(bytes.get(after), None | Some(b'\n')) {
                    self.continues = true;
                    (at + 1, Some(Class::Punctuation))
                } else {
                    // An escaped byte (`\$`): plain, with what it escapes.
                    (next_char(bytes, at + 1), None)
                }
            }
            b'"' | b'\'' => {
                self.after_word();
                (string_end(bytes, at), Some(Class::String))
            }
            b'$' => {
                self.after_word();
                (self.variable_end(bytes, at), Some(Class::Variable))
            }
            b'&' | b'|' | b';' | b'(' | b')' => {
                if self.shell {
                    self.expect = Expect::Word(Word::Command);
                }
                let doubled = bytes.get(at + 1) == Some(&byte) && byte != b'(' && byte != b')';
                (at + 1 + usize::from(doubled), Some(Class::Punctuation))
            }
            b'[' | b']' | b',' | b'=' | b'<' | b'>' => (at + 1, Some(Class::Punctuation)),
            _ => {
                let end = word_end(bytes, at);
                (end, self.word(&bytes[at..end], bytes, end))
            }
        }
    }

    /// Where the variable at `at` (`$NAME`, `$1`, `${…}`) ends; a lone
    /// `$` is itself.
    fn variable_end(&mut self, bytes: &[u8], at: usize) -> usize {
        match bytes.get(at + 1) {
            Some(b'{') if at >= self.no_brace_before => {
                let end = line_end(bytes, at);
                match super::find(&bytes[..end], at + 2, b"}") {
                    Some(close) => close + 1,
                    None => {
                        self.no_brace_before = end;
                        at + 1
                    }
                }
            }
            Some(b) if b.is_ascii_digit() => at + 2,
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                super::run_of(bytes, at + 1, |b| b.is_ascii_alphanumeric() || b == b'_')
            }
            _ => at + 1,
        }
    }

    /// Past a word: what the next one is.
    fn after_word(&mut self) {
        match &mut self.expect {
            Expect::Instruction => {}
            Expect::Word(word) => word.after_word(),
            other => *other = Expect::Word(Word::Argument),
        }
    }

    /// The class of `word` (which ends at `end`), by where it stands.
    fn word(&mut self, word: &[u8], bytes: &[u8], end: usize) -> Option<Class> {
        match self.expect {
            Expect::Instruction => {
                let instruction = INSTRUCTIONS
                    .iter()
                    .find(|i| i.as_bytes().eq_ignore_ascii_case(word))?;
                self.instruction = instruction;
                self.shell = matches!(*instruction, "RUN" | "CMD" | "ENTRYPOINT" | "SHELL");
                self.expect = match *instruction {
                    "ONBUILD" => Expect::Instruction,
                    "FROM" => Expect::Image,
                    "MAINTAINER" | "USER" | "WORKDIR" | "STOPSIGNAL" => Expect::Value,
                    _ if self.shell => Expect::Word(Word::Command),
                    _ => Expect::Word(Word::Argument),
                };
                Some(Class::Keyword)
            }
            Expect::Image if word.first() != Some(&b'-') => {
                self.expect = Expect::Word(Word::Argument);
                Some(Class::String)
            }
            _ if word.first() == Some(&b'-') => Some(Class::Constant),
            _ if self.instruction == "FROM" && word.eq_ignore_ascii_case(b"as") => {
                self.expect = Expect::Image;
                Some(Class::Keyword)
            }
            _ if self.instruction == "HEALTHCHECK" && word.eq_ignore_ascii_case(b"cmd") => {
                self.shell = true;
                self.expect = Expect::Word(Word::Command);
                Some(Class::Keyword)
            }
            Expect::Word(ref mut next) => next.class(word, bytes, end),
            Expect::Image | Expect::Value => None,
        }
    }
}

/// Every Dockerfile instruction, as written (they are read in any case).
const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn dockerfile(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn instructions_commands_and_their_arguments_are_coloured() {
        // Runs of one class with only spaces between are written as one.
        let html = dockerfile(concat!(
            "FROM rust:1.95 AS build\n",
            "MAINTAINER First O'Last\n",
            "# comment\n",
            "run apk --update add rsync && \\\n",
            "  CC=clang make -j 4 \"$OUT\" ${HOME:-/root} # why\n",
            "ENV FOO=\"BAR\"\n",
            "HEALTHCHECK --interval=5m CMD curl -f http://localhost/ || exit 1\n",
            "ONBUILD RUN if true; then echo 123; fi\n",
            "CMD [\"foo\", \"bar\"]\n",
            "EXPOSE 80\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>FROM</x-k> <x-s>rust:1.95</x-s> <x-k>AS</x-k> <x-s>build</x-s>",
                "<x-k>MAINTAINER</x-k> <x-s>First O'Last</x-s>",
                "<x-c># comment</x-c>",
                "<x-k>run</x-k> <x-f>apk</x-f> <x-co>--update</x-co> add rsync <x-p>&amp;&amp; \\</x-p>",
                "<x-v>CC</x-v><x-p>=</x-p>clang <x-f>make</x-f> <x-co>-j</x-co> <x-n>4</x-n> <x-s>\"$OUT\"</x-s> <x-v>${HOME:-/root}</x-v> <x-c># why</x-c>",
                "<x-k>ENV</x-k> FOO<x-p>=</x-p><x-s>\"BAR\"</x-s>",
                "<x-k>HEALTHCHECK</x-k> <x-co>--interval</x-co><x-p>=</x-p>5m <x-k>CMD</x-k> <x-f>curl</x-f>",
                "<x-p>||</x-p> <x-f>exit</x-f> <x-n>1</x-n>",
                "<x-k>ONBUILD RUN if</x-k> <x-f>true</x-f><x-p>;</x-p> <x-k>then</x-k> <x-f>echo</x-f> <x-n>123</x-n><x-p>;</x-p> <x-k>fi",
                "CMD</x-k> <x-p>[</x-p><x-s>\"foo\"</x-s><x-p>,</x-p> <x-s>\"bar\"</x-s><x-p>]</x-p>",
                "<x-k>EXPOSE</x-k> <x-n>80</x-n>",
            ],
        );
    }

    #[test]
    fn a_line_that_does_not_continue_starts_a_new_instruction() {
        let html = dockerfile("RUN a \\\n  b\nRUN c\nrun\n");
        assert!(
            html.contains("<x-f>a</x-f> <x-p>\\</x-p>\n  b\n<x-k>RUN</x-k> <x-f>c</x-f>"),
            "{html}"
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "FROM é\r\nRUN echo \"✓\" \\\r\n  'x'\r\n",
                "RUN \"unclosed\nRUN ${unclosed\n$",
                "RUN ${a ${b ${c}",
                "\\",
                "RUN a\\é",
                "",
            ],
        );
    }
}

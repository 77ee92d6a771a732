//! Makefiles (GNU make's and BSD make's), read by a scanner of our own.
//!
//! bat's grammar is GNU make's: it leaves BSD make's `.if`/`.for` lines,
//! and the words of most recipes, plain. Pygments reads the directive
//! lines as preprocessor lines and each recipe with its Bash lexer. This
//! scanner reads what a line is from its first word and from which of an
//! assignment's operator or a rule's colon comes first, as make does:
//!
//! - directives (`ifeq`, `include`, `define`, BSD's `.if`, `.for`,
//!   `.include`) as keywords, and their expressions: variables, strings,
//!   numbers, BSD's `defined(…)` and the like as built-ins;
//! - an assignment's name as a variable, its operator, and its value;
//! - a rule's targets as functions (Pygments' reading), its colon, its
//!   prerequisites, and a recipe after `;`;
//! - recipes (a tab-indented line after a rule) as shell commands, by
//!   `shell.rs`: each command's name as a function, options, numbers,
//!   strings, the shell's keywords;
//! - everywhere, expansions (`$(CC)`, `${PREFIX}`, `$@`) as variables,
//!   with GNU make's functions (`$(patsubst …)`) as built-ins, and
//!   comments; a `\` at a line's end continues what the line was.

use super::{
    first_on_its_line, line_end, next_char, run_of,
    shell::{self, Word, blank_end},
};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Makefile";

/// What the current line is.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
enum Line {
    /// Nothing of it read yet: its first word decides.
    #[default]
    Start,
    /// A shell command: a recipe line, or what follows a rule's `;`.
    Recipe,
    /// A directive's arguments (`ifeq (a,b)`, `.if defined(X)`).
    Directive,
    /// An assignment's name, before its operator, which starts at the
    /// index held.
    Name(usize),
    /// An assignment's value, a `define`'s body, or a line of bare
    /// expansions (`$(eval …)`).
    Value,
    /// A rule's targets, before its colon, which starts at the index held.
    Targets(usize),
    /// A rule's prerequisites, after its colon.
    Prerequisites,
}

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    line: Line,
    /// In a recipe line: what the next word of its command is.
    command: Word,
    /// A rule was read and no assignment since: a tab-indented line is a
    /// recipe.
    in_rule: bool,
    /// Between `define` and `endef`: lines are the variable's value.
    in_define: bool,
    /// The line ended with `\`: the next one continues it.
    continues: bool,
    /// How many `$(` and `${` are open on this line.
    open_expansions: u32,
    /// The last token was `$(` or `${`: the next word is a variable's
    /// name, or a function's.
    expansion_name_next: bool,
    /// The directive is an `include`: a `<path>` is a string.
    includes: bool,
    /// Nothing of the recipe's command read yet: `@`, `-` and `+` are
    /// make's prefixes.
    recipe_starts: bool,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        if byte == b'\n' {
            if !std::mem::take(&mut self.continues) {
                self.line = Line::Start;
                self.open_expansions = 0;
                self.includes = false;
            }
            return (at + 1, None);
        }
        if self.line == Line::Start
            && let Some(token) = self.line_start(bytes, at)
        {
            return token;
        }
        if std::mem::take(&mut self.expansion_name_next) && !matches!(byte, b'$' | b' ' | b'\t') {
            return expansion_name(bytes, at);
        }
        match byte {
            b' ' | b'\t' | b'\r' => (blank_end(bytes, at), None),
            b'\\' => {
                let after = blank_end(bytes, at + 1);
                if matches!(bytes.get(after), None | Some(b'\n')) {
                    self.continues = true;
                    (at + 1, Some(Class::Punctuation))
                } else {
                    (next_char(bytes, at + 1), None)
                }
            }
            b'$' => self.expansion(bytes, at),
            b')' | b'}' if self.open_expansions > 0 => {
                self.open_expansions -= 1;
                (at + 1, Some(Class::Variable))
            }
            b'#' if self.line != Line::Recipe || at == 0 || bytes[at - 1].is_ascii_whitespace() => {
                (line_end(bytes, at), Some(Class::Comment))
            }
            _ => match self.line {
                Line::Recipe => self.recipe(bytes, at),
                Line::Name(operator) if at >= operator => {
                    self.line = Line::Value;
                    self.in_rule = false;
                    (operator_end(bytes, at), Some(Class::Punctuation))
                }
                Line::Name(operator) => (word_end(bytes, at, operator), Some(Class::Variable)),
                Line::Targets(colon) if at >= colon => {
                    self.line = Line::Prerequisites;
                    let end = run_of(bytes, at, |b| b == b':' || b == b'&');
                    (end.max(at + 1), Some(Class::Punctuation))
                }
                Line::Targets(colon) => (word_end(bytes, at, colon), Some(Class::Function)),
                Line::Prerequisites if matches!(byte, b';' | b'|') => {
                    if byte == b';' {
                        self.start_recipe();
                    }
                    (at + 1, Some(Class::Punctuation))
                }
                Line::Directive => self.expression(bytes, at),
                Line::Start | Line::Value | Line::Prerequisites => {
                    let end = word_end(bytes, at, usize::MAX);
                    (end, is_number(&bytes[at..end]).then_some(Class::Number))
                }
            },
        }
    }

    /// At the first byte of a line that does not continue another (or
    /// after `export`): decides what the line is, and reads its first
    /// token when that decides it (a directive, a comment, a recipe's
    /// tab). `None` leaves the token to the line's reading.
    fn line_start(&mut self, bytes: &[u8], at: usize) -> Option<(usize, Option<Class>)> {
        let byte = bytes[at];
        if byte == b'\t' && self.in_rule && !self.in_define {
            self.start_recipe();
            return Some((at + 1, None));
        }
        if matches!(byte, b' ' | b'\t' | b'\r') {
            return Some((blank_end(bytes, at), None));
        }
        if byte == b'#' {
            return Some((line_end(bytes, at), Some(Class::Comment)));
        }
        // BSD make's directives: `.if`, `.  endif`, `.include`.
        if byte == b'.' && first_on_its_line(bytes, at) {
            let word_at = blank_end(bytes, at + 1);
            let end = run_of(bytes, word_at, |b| b.is_ascii_alphanumeric() || b == b'-');
            if BSD_DIRECTIVES.contains(&&bytes[word_at..end]) {
                self.line = Line::Directive;
                self.includes = bytes[word_at..end].ends_with(b"include");
                return Some((end, Some(Class::Keyword)));
            }
        }
        let end = run_of(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'-');
        let word = &bytes[at..end];
        if self.in_define {
            self.line = Line::Value;
            if word == b"endef" {
                self.in_define = false;
                return Some((end, Some(Class::Keyword)));
            }
            return None;
        }
        let assigned = {
            let after = blank_end(bytes, end);
            matches!(bytes.get(after), Some(b'=')) || bytes[after..].starts_with(b":=")
        };
        if !assigned && GNU_DIRECTIVES.contains(&word) {
            match word {
                // What follows is an assignment or a list of names.
                b"export" | b"unexport" | b"override" | b"private" => self.line = Line::Start,
                _ => {
                    self.line = Line::Directive;
                    self.includes = word.ends_with(b"include");
                    self.in_define = word == b"define";
                }
            }
            return Some((end, Some(Class::Keyword)));
        }
        self.line = match assignment_or_rule(bytes, at) {
            Some((index, true)) => Line::Name(index),
            Some((index, false)) => {
                self.in_rule = true;
                Line::Targets(index)
            }
            None => {
                self.in_rule = false;
                Line::Value
            }
        };
        None
    }

    fn start_recipe(&mut self) {
        self.line = Line::Recipe;
        self.command = Word::Command;
        self.recipe_starts = true;
    }

    /// An expansion (`$(…`, `${…`, `$@`, `$$`), as a variable. `$(` and
    /// `${` open one whose name comes next; its closer is read later.
    fn expansion(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        if self.line == Line::Recipe {
            // `$(CC) -c`: the expansion is a word of the command.
            self.recipe_starts = false;
            self.command.after_word();
        }
        match bytes.get(at + 1) {
            Some(b'(' | b'{') => {
                self.open_expansions += 1;
                self.expansion_name_next = true;
                (at + 2, Some(Class::Variable))
            }
            // `$$`: a `$` for the shell, as in `$$HOME` or `$$(pwd)`.
            Some(b'$') if self.line == Line::Recipe => {
                let name = run_of(bytes, at + 2, |b| b.is_ascii_alphanumeric() || b == b'_');
                (name, Some(Class::Variable))
            }
            Some(_) => (next_char(bytes, at + 1), Some(Class::Variable)),
            None => (at + 1, None),
        }
    }

    /// A token of a recipe's shell command.
    fn recipe(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let prefix = matches!(byte, b'@' | b'-' | b'+');
        let starts = std::mem::replace(&mut self.recipe_starts, false);
        self.recipe_starts = starts && prefix;
        match byte {
            // `@echo`, `-rm`, `+$(MAKE)`: make's own prefixes.
            b'@' | b'-' | b'+' if starts => (at + 1, Some(Class::Punctuation)),
            b'"' | b'\'' => {
                self.command.after_word();
                (shell::string_end(bytes, at), Some(Class::String))
            }
            b'&' | b'|' | b';' | b'(' | b')' => {
                self.command = Word::Command;
                let doubled = bytes.get(at + 1) == Some(&byte) && byte != b'(' && byte != b')';
                (at + 1 + usize::from(doubled), Some(Class::Punctuation))
            }
            b'[' | b']' | b',' | b'=' | b'<' | b'>' => (at + 1, Some(Class::Punctuation)),
            _ => {
                let end = shell::word_end(bytes, at);
                (end, self.command.class(&bytes[at..end], bytes, end))
            }
        }
    }

    /// A token of a directive's expression.
    fn expression(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        match byte {
            b'"' | b'\'' => (shell::string_end(bytes, at), Some(Class::String)),
            b'<' if self.includes => {
                let close = run_of(bytes, at + 1, |b| !matches!(b, b'>' | b'\n' | b'\r'));
                let end = if bytes.get(close) == Some(&b'>') {
                    close + 1
                } else {
                    close
                };
                (end, Some(Class::String))
            }
            b'!' | b'=' | b'<' | b'>' | b'&' | b'|' | b'(' | b')' | b',' => (
                run_of(bytes, at, |b| {
                    matches!(b, b'!' | b'=' | b'<' | b'>' | b'&' | b'|')
                })
                .max(at + 1),
                Some(Class::Punctuation),
            ),
            _ => {
                let end = word_end(bytes, at, usize::MAX);
                let word = &bytes[at..end];
                let class = if GNU_DIRECTIVES.contains(&word) {
                    // `else ifeq (…)`.
                    Some(Class::Keyword)
                } else if bytes.get(end) == Some(&b'(') && BSD_FUNCTIONS.contains(&word) {
                    Some(Class::Builtin)
                } else {
                    is_number(word).then_some(Class::Number)
                };
                (end, class)
            }
        }
    }
}

/// The name after `$(` or `${`: a GNU make function's (followed by a
/// blank) as a built-in, else a variable's.
fn expansion_name(bytes: &[u8], at: usize) -> (usize, Option<Class>) {
    let end = run_of(bytes, at, |b| {
        !(b.is_ascii_whitespace() || matches!(b, b')' | b'}' | b'$' | b':' | b',' | b'=' | b'#'))
    })
    .max(next_char(bytes, at));
    let function =
        matches!(bytes.get(end), Some(b' ' | b'\t')) && GNU_FUNCTIONS.contains(&&bytes[at..end]);
    (
        end,
        Some(if function {
            Class::Builtin
        } else {
            Class::Variable
        }),
    )
}

/// Where a word ends: at a blank, an expansion, a comment, or `stop` (an
/// assignment's operator, a rule's colon); at least one character on.
fn word_end(bytes: &[u8], at: usize, stop: usize) -> usize {
    let end = run_of(bytes, at, |b| {
        !(b.is_ascii_whitespace()
            || matches!(
                b,
                b'$' | b'#'
                    | b'\\'
                    | b'('
                    | b')'
                    | b'{'
                    | b'}'
                    | b','
                    | b'!'
                    | b'='
                    | b'<'
                    | b'>'
                    | b';'
                    | b'|'
                    | b'&'
            ))
    })
    .min(stop.max(at + 1));
    end.max(next_char(bytes, at))
}

/// Where an assignment's operator (`=`, `:=`, `::=`, `?=`, `+=`, `!=`)
/// that starts at `at` ends.
fn operator_end(bytes: &[u8], at: usize) -> usize {
    let end = run_of(bytes, at, |b| matches!(b, b':' | b'?' | b'+' | b'!'));
    if bytes.get(end) == Some(&b'=') {
        end + 1
    } else {
        end.max(at + 1)
    }
}

/// On the line from `at`, outside expansions: where an assignment's
/// operator starts (`true`), or a rule's colon (`false`), whichever comes
/// first; `None` if neither does.
fn assignment_or_rule(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    let end = line_end(bytes, at);
    let mut depth = 0u32;
    let mut index = at;
    while index < end {
        match bytes[index] {
            b'$' if matches!(bytes.get(index + 1), Some(b'(' | b'{')) => {
                depth += 1;
                index += 1;
            }
            b')' | b'}' if depth > 0 => depth -= 1,
            b'#' if depth == 0 => return None,
            b'=' if depth == 0 => return Some((index, true)),
            b'?' | b'+' | b'!' if depth == 0 && bytes.get(index + 1) == Some(&b'=') => {
                return Some((index, true));
            }
            b':' if depth == 0 => {
                let colons = run_of(bytes, index, |b| b == b':');
                return Some((index, bytes.get(colons) == Some(&b'=')));
            }
            _ => {}
        }
        index += 1;
    }
    None
}

fn is_number(word: &[u8]) -> bool {
    !word.is_empty() && word.iter().all(u8::is_ascii_digit)
}

/// GNU make's directives.
const GNU_DIRECTIVES: [&[u8]; 18] = [
    b"define",
    b"else",
    b"endef",
    b"endif",
    b"export",
    b"ifdef",
    b"ifeq",
    b"ifndef",
    b"ifneq",
    b"include",
    b"-include",
    b"load",
    b"override",
    b"private",
    b"sinclude",
    b"undefine",
    b"unexport",
    b"vpath",
];

/// BSD make's directives, after their `.`.
const BSD_DIRECTIVES: [&[u8]; 25] = [
    b"include",
    b"sinclude",
    b"-include",
    b"dinclude",
    b"undef",
    b"error",
    b"warning",
    b"info",
    b"if",
    b"ifdef",
    b"ifndef",
    b"ifmake",
    b"ifnmake",
    b"elif",
    b"elifdef",
    b"elifndef",
    b"elifmake",
    b"elifnmake",
    b"else",
    b"endif",
    b"for",
    b"endfor",
    b"export",
    b"unexport",
    b"export-env",
];

/// The functions of BSD make's conditionals.
const BSD_FUNCTIONS: [&[u8]; 6] = [
    b"commands",
    b"defined",
    b"empty",
    b"exists",
    b"make",
    b"target",
];

/// GNU make's functions.
const GNU_FUNCTIONS: [&[u8]; 39] = [
    b"abspath",
    b"addprefix",
    b"addsuffix",
    b"and",
    b"basename",
    b"call",
    b"dir",
    b"error",
    b"eval",
    b"file",
    b"filter",
    b"filter-out",
    b"findstring",
    b"firstword",
    b"flavor",
    b"foreach",
    b"guile",
    b"if",
    b"info",
    b"intcmp",
    b"join",
    b"lastword",
    b"let",
    b"notdir",
    b"or",
    b"origin",
    b"patsubst",
    b"realpath",
    b"shell",
    b"sort",
    b"strip",
    b"subst",
    b"suffix",
    b"value",
    b"warning",
    b"wildcard",
    b"word",
    b"wordlist",
    b"words",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn make(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn gnu_make_assignments_rules_and_recipes_are_coloured() {
        let html = make(concat!(
            "# build\n",
            "CC ?= gcc\n",
            "OBJS := $(patsubst %.c,%.o,$(SRCS)) \\\n",
            "\textra.o\n",
            "export PREFIX = /usr/local\n",
            "all: $(OBJS) | dirs ; @echo done\n",
            "%.o: %.c\n",
            "\t@$(CC) -c $< -o $@ && echo \"built $$HOME\" 2>/dev/null\n",
            "\tfor f in *.o; do rm -f $$f; done\n",
            "ifeq ($(CC),gcc)\n",
            "else ifdef DEBUG\n",
            "endif\n",
            "define HELP\n",
            "all: not a rule here\n",
            "endef\n",
            "include config.mk\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-c># build</x-c>",
                "<x-v>CC</x-v> <x-p>?=</x-p> gcc",
                "<x-v>OBJS</x-v> <x-p>:=</x-p> <x-v>$(</x-v><x-fb>patsubst</x-fb> %.c",
                "<x-v>$(SRCS))</x-v> <x-p>\\</x-p>\n\textra.o",
                "<x-k>export</x-k> <x-v>PREFIX</x-v> <x-p>=</x-p> /usr/local",
                "<x-f>all</x-f><x-p>:</x-p> <x-v>$(OBJS)</x-v> <x-p>|</x-p> dirs <x-p>; @</x-p><x-f>echo</x-f>",
                "<x-f>%.o</x-f><x-p>:</x-p> %.c",
                "\t<x-p>@</x-p><x-v>$(CC)</x-v> <x-co>-c</x-co> <x-v>$&lt;</x-v> <x-co>-o</x-co> <x-v>$@</x-v> <x-p>&amp;&amp;</x-p> <x-f>echo</x-f> <x-s>\"built $$HOME\"</x-s> <x-n>2</x-n>",
                "<x-k>for</x-k> <x-v>f</x-v> <x-k>in</x-k>",
                "<x-k>do</x-k> <x-f>rm</x-f> <x-co>-f</x-co> <x-v>$$f</x-v><x-p>;</x-p> <x-k>done\nifeq</x-k>",
                "</x-k> <x-p>(</x-p><x-v>$(CC)</x-v><x-p>,</x-p>gcc<x-p>)</x-p>",
                "<x-k>else ifdef</x-k> DEBUG",
                "<x-k>endif\ndefine</x-k> HELP\nall: not a rule here\n<x-k>endef\ninclude</x-k> config.mk",
            ],
        );
    }

    #[test]
    fn bsd_make_directives_and_their_expressions_are_coloured() {
        let html = make(concat!(
            "PORTNAME=\tpython25\n",
            ".include <bsd.port.pre.mk>\n",
            ".if ${PYTHON_VERSION} == ${DEFAULT:S/.c/c/} && !defined(WITHOUT_THREADS)\n",
            ".  if exists(${FILE}) || ${X} > 900\n",
            ".endif # done\n",
            ".for f in a b\n",
            ".endfor\n",
            "pre-patch:\n",
            "\tcd ${WRKSRC} && ${SED} -e 's,a,b,' 2\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-v>PORTNAME</x-v><x-p>=</x-p>\tpython25",
                "<x-k>.include</x-k> <x-s>&lt;bsd.port.pre.mk&gt;</x-s>",
                "<x-k>.if</x-k> <x-v>${PYTHON_VERSION}</x-v> <x-p>==</x-p> <x-v>${DEFAULT</x-v>",
                "<x-p>&amp;&amp; !</x-p><x-fb>defined</x-fb><x-p>(</x-p>WITHOUT_THREADS<x-p>)</x-p>",
                "<x-k>.  if</x-k> <x-fb>exists</x-fb>",
                "<x-p>&gt;</x-p> <x-n>900</x-n>",
                "<x-k>.endif</x-k> <x-c># done</x-c>",
                "<x-k>.for</x-k> f in a b",
                "<x-f>pre-patch</x-f><x-p>:</x-p>",
                "\t<x-f>cd</x-f> <x-v>${WRKSRC}</x-v> <x-p>&amp;&amp;</x-p> <x-v>${SED}</x-v> <x-co>-e</x-co> <x-s>'s,a,b,'</x-s> <x-n>2</x-n>",
            ],
        );
    }

    #[test]
    fn a_tab_line_is_a_recipe_only_after_a_rule() {
        let html = make("X = 1\n\tnot-a-recipe\nall:\n\tcc\n\n\t@ld\nY = 2\n\tplain\n");
        assert_runs(&html, &["<x-f>cc</x-f>", "<x-p>@</x-p><x-f>ld</x-f>"]);
        assert!(!html.contains("<x-f>not-a-recipe"), "{html}");
        assert!(!html.contains("<x-f>plain"), "{html}");
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "$",
                "$(",
                "${a:",
                "a:",
                "=",
                ":=",
                "\\",
                "all: ; ",
                ".if",
                ". ",
                "define\n",
                "x = é$(ü)\r\nall: é\r\n\t@echo \"ü\" \\\r\n\t  'é'\r\n",
                "\t$$",
                "$(((((((",
                "a$)))}}}",
                ".include <unclosed\n",
            ],
        );
    }
}

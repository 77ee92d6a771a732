//! PowerShell, read by a scanner of our own rather than bat's grammar,
//! which was the slowest corpus language left (1.5x Pygments).
//!
//! A PowerShell token is told by its first character or two, but strings
//! hold code: `"…$(Get-Date)…"` and here-strings (`@"` … `"@`) evaluate
//! `$(…)` subexpressions, which may hold strings of their own. The
//! scanner keeps a stack of what it is in (code, a string, a here-string),
//! each byte read once.
//!
//! It colours what Pygments colours: comments (`#`, `<# #>`), strings and
//! here-strings with their escapes and the variables and subexpressions
//! in them, variables (`$x`, `$env:PATH`, `${a b}`, `@splat`), keywords,
//! operators (`-eq`, `-notmatch`) as keywords, commands (`Get-Item`) and
//! the function a `function` declares as functions; and beyond it
//! parameters (`-Path`) and `$true`, `$false`, `$null` as constants,
//! `[types]` as types, `[Attributes()]` as attributes, members
//! (`.Name`, `.Method(`, `::Static(`), numbers.

use super::{find, folded, line_end, next_char, run_of};
use crate::server::highlight::classes::Class;

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "PowerShell";

/// What the scanner is reading.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// Code inside a string's `$(…)`, with how many of its own
    /// parentheses are open: its `)` at none ends it.
    Subexpression(u32),
    /// A `"…"` string.
    Double,
    /// A `@"…"@` here-string.
    HereDouble,
}

/// What the scanner remembers between tokens.
#[derive(Default)]
pub(super) struct Scanner {
    /// What it is in, innermost last; empty at the top level's code.
    modes: Vec<Mode>,
    /// The last keyword was `function` (`filter`, `workflow`): the next
    /// name is the one it declares.
    declares_function: bool,
    /// A `<#` found no `#>`: no later one would either.
    no_block_comment_close: bool,
    /// The end of the last line where a `${` found no `}`: a later `${`
    /// on it need not look again (a line of them stays linear).
    no_brace_before: usize,
    /// The `[` just read opens a type (`[string]`) or an attribute
    /// (`[CmdletBinding()]`): the name after it is one.
    bracket_name: Option<Class>,
}

impl Scanner {
    /// The token starting at `at`: where it ends and its class. Every
    /// token ends past `at`, on a character boundary (it stops only at
    /// ASCII bytes or at the end).
    pub(super) fn token(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        match self.modes.last().copied() {
            Some(Mode::Double) => self.in_string(bytes, at, false),
            Some(Mode::HereDouble) => self.in_string(bytes, at, true),
            Some(Mode::Subexpression(_)) | None => self.code(bytes, at),
        }
    }

    /// A token inside a `"…"` string or a `@"…"@` here-string.
    fn in_string(&mut self, bytes: &[u8], at: usize, here: bool) -> (usize, Option<Class>) {
        let at_line_start = at == 0 || bytes[at - 1] == b'\n';
        if here && at_line_start && bytes[at..].starts_with(b"\"@") {
            self.modes.pop();
            return (at + 2, Some(Class::String));
        }
        match bytes[at] {
            b'"' if !here => {
                if bytes.get(at + 1) == Some(&b'"') {
                    return (at + 2, Some(Class::String));
                }
                self.modes.pop();
                (at + 1, Some(Class::String))
            }
            b'`' => (next_char(bytes, at + 1), Some(Class::Escape)),
            b'$' if bytes.get(at + 1) == Some(&b'(') => {
                self.modes.push(Mode::Subexpression(0));
                (at + 2, Some(Class::Punctuation))
            }
            b'$' if bytes
                .get(at + 1)
                .is_some_and(|b| is_name_byte(*b) || *b == b'{') =>
            {
                (self.variable_end(bytes, at + 1), Some(Class::Variable))
            }
            // A line break alone, so that the next token starts its line.
            b'\n' => (at + 1, Some(Class::String)),
            _ => {
                let end = run_of(bytes, at + 1, |b| {
                    !matches!(b, b'`' | b'$' | b'\n') && (here || b != b'"')
                });
                // A line break ends the run with it, so that the next
                // token starts a line (where a here-string's `"@` is).
                let end = if bytes.get(end) == Some(&b'\n') {
                    end + 1
                } else {
                    end
                };
                (end, Some(Class::String))
            }
        }
    }

    /// A token of code.
    fn code(&mut self, bytes: &[u8], at: usize) -> (usize, Option<Class>) {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        if byte.is_ascii_whitespace() {
            return (run_of(bytes, at, |b| b.is_ascii_whitespace()), None);
        }
        if let Some(class) = self.bracket_name.take() {
            return (type_name_end(bytes, at), Some(class));
        }
        let declares_function = std::mem::take(&mut self.declares_function);
        let (end, class) = match byte {
            b'#' => (line_end(bytes, at), Class::Comment),
            b'<' if next == Some(b'#') => {
                match (!self.no_block_comment_close)
                    .then(|| find(bytes, at + 2, b"#>"))
                    .flatten()
                {
                    Some(close) => (close + 2, Class::Comment),
                    None => {
                        self.no_block_comment_close = true;
                        (bytes.len(), Class::Comment)
                    }
                }
            }
            b'\'' => (single_quoted_end(bytes, at + 1), Class::String),
            b'"' => {
                self.modes.push(Mode::Double);
                (at + 1, Class::String)
            }
            b'@' if matches!(next, Some(b'"' | b'\''))
                && run_of(bytes, at + 2, |b| b == b' ' || b == b'\t' || b == b'\r')
                    == line_end(bytes, at + 2) =>
            {
                let opener_end = (line_end(bytes, at) + 1).min(bytes.len());
                if next == Some(b'"') {
                    self.modes.push(Mode::HereDouble);
                    (opener_end, Class::String)
                } else {
                    let close = find(bytes, opener_end, b"\n'@").map_or(bytes.len(), |c| c + 3);
                    (close, Class::String)
                }
            }
            b'@' if next.is_some_and(is_name_byte) => {
                (self.variable_end(bytes, at + 1), Class::Variable)
            }
            b'$' if next == Some(b'(') => {
                self.open_parenthesis();
                (at + 2, Class::Punctuation)
            }
            b'$' if next
                .is_some_and(|b| is_name_byte(b) || matches!(b, b'{' | b'$' | b'?' | b'^')) =>
            {
                let end = if matches!(next, Some(b'$' | b'?' | b'^')) {
                    at + 2
                } else {
                    self.variable_end(bytes, at + 1)
                };
                let mut buffer = [0; 16];
                let constant = matches!(
                    folded(&bytes[at + 1..end], false, &mut buffer),
                    Some("true" | "false" | "null")
                );
                (
                    end,
                    if constant {
                        Class::Constant
                    } else {
                        Class::Variable
                    },
                )
            }
            b'(' => {
                self.open_parenthesis();
                (at + 1, Class::Punctuation)
            }
            b')' => {
                self.close_parenthesis();
                (at + 1, Class::Punctuation)
            }
            b'[' if next.is_some_and(|b| b.is_ascii_alphabetic()) => {
                self.bracket_name = match bytes.get(type_name_end(bytes, at + 1)) {
                    Some(b'(') => Some(Class::Attribute),
                    Some(b']' | b'[' | b',') => Some(Class::Type),
                    _ => None,
                };
                (at + 1, Class::Punctuation)
            }
            b'-' if next.is_some_and(|b| b.is_ascii_alphabetic())
                && (at == 0 || !bytes[at - 1].is_ascii_alphanumeric()) =>
            {
                let end = run_of(bytes, at + 1, |b| b.is_ascii_alphanumeric() || b == b'_');
                let mut buffer = [0; 16];
                let word = folded(&bytes[at + 1..end], false, &mut buffer);
                // `-eq`, and `-ceq`/`-ieq` (case-sensitive, -insensitive).
                let operator = word.is_some_and(|w| {
                    OPERATORS.contains(&w)
                        || w.strip_prefix(['c', 'i'])
                            .is_some_and(|b| OPERATORS.contains(&b))
                });
                (
                    end,
                    if operator {
                        Class::Keyword
                    } else {
                        Class::Constant
                    },
                )
            }
            b'0'..=b'9' => (number_end(bytes, at), Class::Number),
            b':' if next == Some(b':') => (at + 2, Class::Punctuation),
            _ if is_name_byte(byte) => return self.name(bytes, at, declares_function),
            _ if byte.is_ascii_punctuation() => (at + 1, Class::Punctuation),
            _ => return (next_char(bytes, at), None),
        };
        (end, Some(class))
    }

    /// A bare word: a keyword, a command, a member, or a name.
    fn name(&mut self, bytes: &[u8], at: usize, declares_function: bool) -> (usize, Option<Class>) {
        let end = run_of(bytes, at, |b| is_name_byte(b) || b == b'-');
        // A word ends at its last letter or digit: `Get-Item-` is not a name.
        let end = at
            + bytes[at..end]
                .iter()
                .rposition(|b| *b != b'-')
                .map_or(1, |i| i + 1);
        let word = &bytes[at..end];
        let before = bytes[..at].last().copied();
        let called = bytes.get(end) == Some(&b'(');
        let class = if declares_function {
            Class::Function
        } else if before == Some(b'.') || (before == Some(b':') && at >= 2 && bytes[at - 2] == b':')
        {
            if called {
                Class::Function
            } else {
                Class::Property
            }
        } else if word.contains(&b'-') {
            Class::Function
        } else {
            let mut buffer = [0; 16];
            match folded(word, false, &mut buffer) {
                Some(keyword) if KEYWORDS.binary_search(&keyword).is_ok() => {
                    self.declares_function = matches!(keyword, "function" | "filter" | "workflow");
                    Class::Keyword
                }
                _ => return (end, None),
            }
        };
        (end, Some(class))
    }

    fn open_parenthesis(&mut self) {
        if let Some(Mode::Subexpression(open)) = self.modes.last_mut() {
            *open += 1;
        }
    }

    /// A `)`: closes one of the subexpression's own parentheses, or the
    /// subexpression itself (back to its string).
    fn close_parenthesis(&mut self) {
        match self.modes.last_mut() {
            Some(Mode::Subexpression(0)) => {
                self.modes.pop();
            }
            Some(Mode::Subexpression(open)) => *open -= 1,
            _ => {}
        }
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

impl Scanner {
    /// Where a variable's name from `from` (after its `$` or `@`) ends:
    /// `name`, `scope:name`, `{any text}`.
    fn variable_end(&mut self, bytes: &[u8], from: usize) -> usize {
        if bytes.get(from) == Some(&b'{') {
            if from < self.no_brace_before {
                return from + 1;
            }
            let line = line_end(bytes, from);
            return match find(&bytes[..line], from, b"}") {
                Some(close) => close + 1,
                None => {
                    self.no_brace_before = line;
                    from + 1
                }
            };
        }
        let name = run_of(bytes, from, is_name_byte);
        if bytes.get(name) == Some(&b':') && bytes.get(name + 1).is_some_and(|b| is_name_byte(*b)) {
            return run_of(bytes, name + 1, is_name_byte);
        }
        name.max(from)
    }
}

/// Where a .NET type's or an attribute's name from `from` ends
/// (`System.IO.File`); at least one byte on.
fn type_name_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_')
    })
    .max(from + 1)
}

/// Where the `'…'` string whose text starts at `from` ends (`''` is a
/// quote in it), or the end.
fn single_quoted_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(quote) = find(bytes, at, b"'") {
        if bytes.get(quote + 1) == Some(&b'\'') {
            at = quote + 2;
        } else {
            return quote + 1;
        }
    }
    bytes.len()
}

/// Where the number at `at` ends: `42`, `0xFF`, `1.5e3`, `10kb`, `2d`.
fn number_end(bytes: &[u8], at: usize) -> usize {
    let end = if bytes[at..].starts_with(b"0x") || bytes[at..].starts_with(b"0X") {
        run_of(bytes, at + 2, |b| b.is_ascii_hexdigit())
    } else {
        let mut end = run_of(bytes, at, |b| b.is_ascii_digit());
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = run_of(bytes, end + 1, |b| b.is_ascii_digit());
        }
        if matches!(bytes.get(end), Some(b'e' | b'E'))
            && bytes
                .get(end + 1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+')
        {
            end = run_of(bytes, end + 2, |b| b.is_ascii_digit());
        }
        end
    };
    // A type or multiplier suffix: `l`, `d`, `kb`, `mb`, `gb`, `tb`, `pb`.
    let suffix = run_of(bytes, end, |b| b.is_ascii_alphabetic());
    let mut buffer = [0; 16];
    match folded(&bytes[end..suffix], false, &mut buffer) {
        Some(
            "l" | "d" | "kb" | "mb" | "gb" | "tb" | "pb" | "u" | "ul" | "y" | "uy" | "s" | "us"
            | "n",
        ) => suffix,
        _ => end,
    }
}

/// PowerShell's keywords, lower case, sorted for a binary search.
const KEYWORDS: [&str; 38] = [
    "begin",
    "break",
    "catch",
    "class",
    "clean",
    "configuration",
    "continue",
    "data",
    "default",
    "do",
    "dynamicparam",
    "else",
    "elseif",
    "end",
    "enum",
    "exit",
    "filter",
    "finally",
    "for",
    "foreach",
    "from",
    "function",
    "hidden",
    "if",
    "in",
    "parallel",
    "param",
    "process",
    "return",
    "sequence",
    "static",
    "switch",
    "throw",
    "trap",
    "try",
    "until",
    "using",
    "while",
];

/// The operators written as `-word` (each also with a `c` or `i` before
/// it, for case), lower case.
const OPERATORS: [&str; 31] = [
    "and",
    "as",
    "band",
    "bnot",
    "bor",
    "bxor",
    "contains",
    "eq",
    "f",
    "ge",
    "gt",
    "in",
    "is",
    "isnot",
    "join",
    "le",
    "like",
    "lt",
    "match",
    "ne",
    "not",
    "notcontains",
    "notin",
    "notlike",
    "notmatch",
    "or",
    "replace",
    "shl",
    "shr",
    "split",
    "xor",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn powershell(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn the_keywords_are_sorted() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn commands_variables_and_literals_are_coloured() {
        let html = powershell(concat!(
            "function Get-Html {\n",
            "    [CmdletBinding()]\n",
            "    param([string]$Name, [int]$Count = 0x1F)\n",
            "    <# block\n comment #>\n",
            "    $command = Get-Command $Name -ErrorAction Stop # why\n",
            "    if ($Count -eq 10kb -and $env:PATH -notmatch 'a''b') { return $null }\n",
            "    $items | % { $_.Name.ToUpper() } ; [Math]::Round(1.5)\n",
            "    @splat\n",
            "}\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-k>function</x-k> <x-f>Get-Html</x-f>",
                "[</x-p><x-at>CmdletBinding</x-at><x-p>()]</x-p>",
                "<x-k>param</x-k><x-p>([</x-p><x-t>string</x-t><x-p>]</x-p><x-v>$Name</x-v>",
                "<x-n>0x1F</x-n>",
                "<x-c>&lt;# block\n comment #&gt;</x-c>",
                "<x-v>$command</x-v> <x-p>=</x-p> <x-f>Get-Command</x-f> <x-v>$Name</x-v> <x-co>-ErrorAction</x-co> Stop <x-c># why</x-c>",
                "<x-k>if</x-k>",
                "<x-k>-eq</x-k> <x-n>10kb</x-n> <x-k>-and</x-k> <x-v>$env:PATH</x-v> <x-k>-notmatch</x-k> <x-s>'a''b'</x-s>",
                "<x-k>return</x-k> <x-co>$null</x-co>",
                "<x-v>$_</x-v><x-p>.</x-p><x-pr>Name</x-pr><x-p>.</x-p><x-f>ToUpper</x-f>",
                "[</x-p><x-t>Math</x-t><x-p>]::</x-p><x-f>Round</x-f>",
                "<x-v>@splat</x-v>",
            ],
        );
    }

    #[test]
    fn strings_hold_variables_and_subexpressions_which_hold_strings() {
        let html = powershell(concat!(
            "\"Hi $name, `n $($user.Name + \"!\") done\"\n",
            "@\"\n",
            "<td>$($_.name)</td>\n",
            "$(\n",
            "  @'\n",
            "  raw $x \"@\n",
            "'@\n",
            ")\n",
            "\"@\n",
            "$after = 1\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-s>\"Hi </x-s><x-v>$name</x-v><x-s>, </x-s><x-se>`n</x-se>",
                "<x-p>$(</x-p><x-v>$user</x-v><x-p>.</x-p><x-pr>Name</x-pr> <x-p>+</x-p> <x-s>\"!\"</x-s><x-p>)</x-p><x-s> done\"",
                "@\"\n&lt;td&gt;</x-s><x-p>$(</x-p><x-v>$_</x-v>",
                "<x-s>@'\n  raw $x \"@\n'@</x-s>",
                "\"@</x-s>\n<x-v>$after</x-v>",
            ],
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "$",
                "${",
                "\"",
                "\"$(",
                "@\"\n",
                "@'\n",
                "<#",
                "'",
                "-",
                "[",
                "[a",
                "`",
                "\"`",
                "0x",
                "1e",
                "function",
                "a-",
                "$env:",
                "é \"ü $é\" 'ö'\r\n$x = @\"\r\nä\r\n\"@\r\n",
                ")))(((",
            ],
        );
        for unit in ["<#", "\"$(", "${", "'"] {
            let long = unit.repeat(20_000);
            assert_round_trips(LANGUAGE, &[long.as_str()]);
        }
    }
}

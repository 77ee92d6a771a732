//! Scanners of our own, for languages whose grammars were the slowest part
//! of the engine or left plain much of what Pygments colours, and whose
//! syntax a single forward pass reads well.
//!
//! - `clojure.rs`: Clojure, with its special forms and built-ins in
//!   `clojure_symbols.rs`.
//! - `dockerfile.rs`: Dockerfiles, and the shell commands in them.
//! - `json.rs`: JSON (and JSON with comments).
//! - `lisp.rs`: Lisp (Common Lisp, and Emacs Lisp with it), with the
//!   standard's symbols in `lisp_symbols.rs`.
//! - `make.rs`: makefiles, GNU make's and BSD make's.
//! - `markdown.rs`: Markdown's source (its rendering is
//!   `highlight/markdown.rs`), with each fenced block in its language.
//! - `matlab.rs`: MATLAB.
//! - `nim.rs`: Nim.
//! - `ocaml.rs`: OCaml.
//! - `pascal.rs`: Pascal (Delphi, Turbo and Free Pascal).
//! - `powershell.rs`: PowerShell.
//! - `rst.rs`: reStructuredText.
//! - `xml.rs`: XML.
//!
//! `shell.rs` reads the shell commands in Dockerfiles and makefiles.
//!
//! A scanner is a function from a position to the token that starts there
//! (where it ends, and its class), with a state of its own for what it
//! must remember between tokens (the line's instruction, a pending
//! routine name, the indented block it is in). [`Job::scan`] drives it
//! over the whole snippet: one pass, each byte read once or a bounded
//! number of times, no backtracking, so no input can make it slow, and it
//! colours lines of any length (the line-based engines leave lines over
//! 16 KiB plain, which is exactly what minified JSON is). Like syntect,
//! scanners run in the server: they are safe Rust with nothing to crash
//! or hang, so there is nothing for a child process to isolate, and its
//! round trip (about 50 µs) would cost more than the scan of a small file.
//! The exceptions are the languages tree-sitter served before their
//! scanner came (Lisp, makefiles, MATLAB, OCaml): their files went through
//! a child, and still do ([`IN_CHILDREN`]), so no file loses the isolation
//! it had.

mod clojure;
mod dockerfile;
mod json;
mod lisp;
mod make;
mod markdown;
mod matlab;
mod nim;
mod ocaml;
mod pascal;
mod powershell;
mod rst;
mod shell;
mod xml;

use std::{cell::RefCell, time::Instant};

use super::{
    Budget, CancelFlag, EngineError,
    classes::Class,
    render::Runs,
    treesitter::{Run, TreeSitterError},
};
use crate::domain::Progress;

/// The languages whose scanner runs in the highlighting children, which
/// route them as they route tree-sitter's (see the module's notes).
pub const IN_CHILDREN: [&str; 4] = [
    lisp::LANGUAGE,
    make::LANGUAGE,
    matlab::LANGUAGE,
    ocaml::LANGUAGE,
];

/// The catalogue names the scanners serve (`highlight` dispatches on them).
#[cfg(test)]
const LANGUAGES: [&str; 13] = [
    clojure::LANGUAGE,
    dockerfile::LANGUAGE,
    json::LANGUAGE,
    lisp::LANGUAGE,
    make::LANGUAGE,
    markdown::LANGUAGE,
    matlab::LANGUAGE,
    nim::LANGUAGE,
    ocaml::LANGUAGE,
    pascal::LANGUAGE,
    powershell::LANGUAGE,
    rst::LANGUAGE,
    xml::LANGUAGE,
];

/// How a scanner has a block of another language in its code (a fenced
/// block of Markdown) highlighted: `embed(language, block)` is the
/// block's HTML fragment, or `None` when no engine at hand knows the
/// language.
pub type Embed<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

/// `code` highlighted by the scanner for `language`, or `None` when no
/// scanner reads that language.
pub fn highlight(
    language: &str,
    code: &str,
    progress: &dyn Fn(Progress),
    cancel: &CancelFlag,
    budget: Budget,
    embed: Embed<'_>,
) -> Option<Result<String, EngineError>> {
    Job {
        code,
        language,
        progress,
        cancelled: &|| cancel.is_cancelled(),
        budget,
        embed,
    }
    .run()
}

/// In a highlighting child: `code` highlighted by the scanner for
/// `language`, within `run`'s budget, or `None` when no scanner reads it.
pub fn highlight_in_child(
    language: &str,
    code: &str,
    run: &mut Run<'_>,
) -> Option<Result<String, TreeSitterError>> {
    let progress = RefCell::new(&mut run.progress);
    let job = Job {
        code,
        language,
        progress: &|p| (progress.borrow_mut())(p),
        cancelled: run.cancelled,
        budget: Budget::new(run.deadline.saturating_duration_since(Instant::now())),
        embed: &|_, _| None,
    };
    Some(job.run()?.map_err(|e| match e {
        EngineError::Cancelled => TreeSitterError::Cancelled,
        other => TreeSitterError::Grammar(other.to_string()),
    }))
}

/// How many bytes are read between two looks at the clock, the cancel
/// flag and the progress callback.
const CHECK_EVERY: usize = 64 * 1024;

/// A scanner's reading of the token at a position: with its state, the
/// bytes and the position, where the token ends and its class.
type Token<S> = fn(&mut S, &[u8], usize) -> (usize, Option<Class>);

/// A snippet to scan, and what the scan reports to.
struct Job<'a> {
    code: &'a str,
    language: &'a str,
    progress: &'a dyn Fn(Progress),
    cancelled: &'a dyn Fn() -> bool,
    budget: Budget,
    embed: Embed<'a>,
}

impl Job<'_> {
    /// The scan of the job's language, or `None` when no scanner reads it.
    fn run(&self) -> Option<Result<String, EngineError>> {
        let scanned = match self.language {
            clojure::LANGUAGE => self.scan(clojure::Scanner::token),
            dockerfile::LANGUAGE => self.scan(dockerfile::Scanner::token),
            json::LANGUAGE => self.scan(|_: &mut (), bytes, at| json::token(bytes, at)),
            lisp::LANGUAGE => self.scan(lisp::Scanner::token),
            make::LANGUAGE => self.scan(make::Scanner::token),
            markdown::LANGUAGE => markdown::highlight(self),
            matlab::LANGUAGE => self.scan(matlab::Scanner::token),
            nim::LANGUAGE => self.scan(nim::Scanner::token),
            ocaml::LANGUAGE => self.scan(ocaml::Scanner::token),
            pascal::LANGUAGE => self.scan(pascal::Scanner::token),
            powershell::LANGUAGE => self.scan(powershell::Scanner::token),
            rst::LANGUAGE => self.scan(rst::Scanner::token),
            xml::LANGUAGE => self.scan(xml::Scanner::token),
            _ => return None,
        };
        Some(scanned)
    }

    /// Runs `token` from the start of the code to its end, with a state
    /// `S` (what a scanner remembers between tokens) that starts as its
    /// default, and writes the runs it finds. `token(state, bytes, at)`
    /// must return an end past `at` on a character boundary (scanners stop
    /// only at ASCII bytes or at the end). Past the budget the rest is
    /// plain (the snippet still succeeds), as with the other engines.
    fn scan<S: Default>(&self, token: Token<S>) -> Result<String, EngineError> {
        let mut state = S::default();
        let bytes = self.code.as_bytes();
        let mut runs = Runs::with_capacity(self.code.len() / 4);
        let mut checkpoints = self.checkpoints();
        let mut at = 0;
        while at < bytes.len() && self.goes_on(&mut checkpoints, at)? {
            let (end, class) = token(&mut state, bytes, at);
            debug_assert!(
                end > at && self.code.is_char_boundary(end),
                "{} at {at}",
                self.language
            );
            runs.push(end, class);
            at = end;
        }
        runs.push(bytes.len(), None);
        Ok(runs.render(self.code))
    }

    fn checkpoints(&self) -> Checkpoints {
        Checkpoints {
            next: CHECK_EVERY,
            lines_done: 0,
            counted_to: 0,
            total: crate::domain::source::line_count(self.code),
        }
    }

    /// Whether the scan goes on at `at`: past each checkpoint it reports
    /// its progress, fails if it was cancelled, and stops (the rest plain)
    /// once its budget is spent.
    fn goes_on(&self, checkpoints: &mut Checkpoints, at: usize) -> Result<bool, EngineError> {
        if at < checkpoints.next {
            return Ok(true);
        }
        checkpoints.next = at + CHECK_EVERY;
        if (self.cancelled)() {
            return Err(EngineError::Cancelled);
        }
        checkpoints.lines_done += newlines(&self.code.as_bytes()[checkpoints.counted_to..at]);
        checkpoints.counted_to = at;
        (self.progress)(Progress {
            done: checkpoints.lines_done,
            total: checkpoints.total,
        });
        if self.budget.is_spent() {
            tracing::info!(
                engine = self.language,
                line = checkpoints.lines_done + 1,
                "budget spent; the rest is plain"
            );
            return Ok(false);
        }
        Ok(true)
    }
}

/// Where a scan next looks at the clock, the cancel flag and its
/// progress (every [`CHECK_EVERY`] bytes), and the lines it has counted.
struct Checkpoints {
    next: usize,
    lines_done: u32,
    counted_to: usize,
    total: u32,
}

/// The first index from `from` whose byte `keep` refuses, or the end.
fn run_of(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !keep(*b))
        .map_or(bytes.len(), |i| from + i)
}

/// The class `symbols` (sorted by name) give `name`, if they list it.
fn class_in(symbols: &[(&str, Class)], name: &str) -> Option<Class> {
    symbols
        .binary_search_by(|(known, _)| known.cmp(&name))
        .ok()
        .map(|i| symbols[i].1)
}

/// Where the line holding `from` ends (before its line break).
fn line_end(bytes: &[u8], from: usize) -> usize {
    run_of(bytes, from, |b| b != b'\n' && b != b'\r')
}

/// Where `needle` next starts at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// Past the character that starts at `at` (or `at` itself at the end).
fn next_char(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        None => at,
        Some(b) if *b < 0x80 => at + 1,
        Some(_) => run_of(bytes, at + 1, |b| (0x80..0xC0).contains(&b)),
    }
}

/// Where the comment opened (by `open`) at `at` ends: past the `close`
/// that matches it, those nested in it counted (OCaml's `(* *)`, Lisp's
/// `#| |#`), or at the end.
fn nested_comment_end(bytes: &[u8], at: usize, open: [u8; 2], close: [u8; 2]) -> usize {
    let mut depth = 0usize;
    let mut at = at;
    while at + 1 < bytes.len() {
        let pair = [bytes[at], bytes[at + 1]];
        if pair == open {
            depth += 1;
            at += 2;
        } else if pair == close {
            depth -= 1;
            at += 2;
            if depth == 0 {
                return at;
            }
        } else {
            at += 1;
        }
    }
    bytes.len()
}

/// Where the `"…"` string whose text starts at `from` ends: past its
/// closing quote (a `\` escapes the next character, a line break
/// included), or at the end.
fn quoted_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return at + 1,
            b'\\' => at = next_char(bytes, at + 1),
            _ => at += 1,
        }
    }
    at
}

/// Where a one-line string quoted by `quote`, whose text starts at `from`,
/// ends: past its closing quote (a doubled quote is one in the text, as
/// Pascal's `''` and MATLAB's), or at its line's end.
fn doubled_quote_end(bytes: &[u8], from: usize, quote: u8) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\n' | b'\r' => return at,
            b if b == quote && bytes.get(at + 1) == Some(&quote) => at += 2,
            b if b == quote => return at + 1,
            _ => at += 1,
        }
    }
    at
}

/// Whether only spaces and tabs come before `at` on its line.
fn first_on_its_line(bytes: &[u8], at: usize) -> bool {
    bytes[..at]
        .iter()
        .rev()
        .find(|b| !matches!(b, b' ' | b'\t'))
        .is_none_or(|b| *b == b'\n' || *b == b'\r')
}

/// `name` in lower case, as the languages that ignore case compare names
/// (without its underscores too, with `drop_underscores`, as Nim does),
/// written into `buffer`: no allocation, though every name of a snippet
/// comes here. `None` for a name longer than the buffer, which no keyword
/// or built-in is, or one that is not ASCII.
fn folded<'b>(name: &[u8], drop_underscores: bool, buffer: &'b mut [u8; 16]) -> Option<&'b str> {
    if name.len() > buffer.len() || !name.is_ascii() {
        return None;
    }
    let mut len = 0;
    for byte in name {
        if !(drop_underscores && *byte == b'_') {
            buffer[len] = byte.to_ascii_lowercase();
            len += 1;
        }
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

fn newlines(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.iter().filter(|b| **b == b'\n').count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;

    /// `code` highlighted as `language` with time to spare.
    pub fn highlighted(language: &str, code: &str) -> String {
        highlight(
            language,
            code,
            &|_| {},
            &CancelFlag::default(),
            Budget::new(Duration::from_secs(30)),
            &|language, block| {
                // A stand-in engine: a block in "kw" is one keyword.
                (language == "kw").then(|| {
                    let mut html = "<x-k>".to_owned();
                    crate::server::highlight::render::escape_into(&mut html, block);
                    html + "</x-k>"
                })
            },
        )
        .expect("a scanner for the language")
        .unwrap()
    }

    /// Asserts that each of `codes`, highlighted as `language`, reads back
    /// byte for byte from its fragment.
    pub fn assert_round_trips(language: &str, codes: &[&str]) {
        for code in codes {
            let html = highlighted(language, code);
            assert_eq!(
                crate::server::highlight::render::fragment_text(&html).as_deref(),
                Some(*code),
                "{html:.300}"
            );
        }
    }

    /// Asserts that `html` holds each of `runs`. Runs of one class with
    /// only blanks between are written as one, so a run may span several
    /// tokens.
    pub fn assert_runs(html: &str, runs: &[&str]) {
        for run in runs {
            assert!(html.contains(run), "{run} in {html}");
        }
    }

    #[test]
    fn every_scanner_serves_a_language_of_the_catalogue_that_the_engine_hands_it() {
        use crate::server::highlight::{TreeSitter, treesitter::GRAMMARS};
        let languages = crate::server::highlight::Languages::load();
        for language in LANGUAGES {
            assert_eq!(languages.resolve(language), Some(language));
            assert!(
                !languages.is_served(language),
                "{language} goes to Pygments' lexer"
            );
            let in_children = IN_CHILDREN.contains(&language);
            assert_eq!(
                TreeSitter::languages().any(|l| l == language),
                in_children,
                "{language} is routed to the children when, and only when, its scanner runs there"
            );
            assert!(
                !GRAMMARS.iter().any(|g| g.names.contains(&language)),
                "{language} has a grammar that would take it before its scanner"
            );
        }
        assert!(IN_CHILDREN.iter().all(|l| LANGUAGES.contains(l)));
    }

    #[test]
    fn a_child_hands_the_languages_it_took_from_tree_sitter_to_their_scanner() {
        let mut reported = 0;
        let mut progress = |_: Progress| reported += 1;
        let code = "all:\n\tcc -o x x.c\n".repeat(10_000);
        let html = crate::server::highlight::TreeSitter::default()
            .highlight(
                &code,
                make::LANGUAGE,
                &mut Run {
                    deadline: Instant::now() + std::time::Duration::from_secs(30),
                    cancelled: &|| false,
                    progress: &mut progress,
                },
            )
            .unwrap();
        assert!(
            html.contains("<x-f>all</x-f><x-p>:</x-p>\n\t<x-f>cc</x-f> <x-co>-o</x-co>"),
            "{html:.200}"
        );
        assert!(
            reported > 0,
            "the scan reported its progress to the child's run"
        );
        let cancelled = crate::server::highlight::TreeSitter::default().highlight(
            &code,
            lisp::LANGUAGE,
            &mut Run {
                deadline: Instant::now() + std::time::Duration::from_secs(30),
                cancelled: &|| true,
                progress: &mut |_| {},
            },
        );
        assert!(matches!(cancelled, Err(TreeSitterError::Cancelled)));
    }
}

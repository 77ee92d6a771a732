//! Scanners of our own, for languages whose grammars were the slowest part
//! of the engine and whose syntax a single forward pass reads well.
//!
//! - `dockerfile.rs`: Dockerfiles, and the shell commands in them.
//! - `json.rs`: JSON (and JSON with comments).
//! - `nim.rs`: Nim.
//! - `pascal.rs`: Pascal (Delphi, Turbo and Free Pascal).
//! - `rst.rs`: reStructuredText.
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

mod dockerfile;
mod json;
mod nim;
mod pascal;
mod rst;

use super::{Budget, CancelFlag, EngineError, classes::Class, render::Runs};
use crate::domain::Progress;

/// The catalogue names the scanners serve (`highlight` dispatches on them).
#[cfg(test)]
const LANGUAGES: [&str; 5] = [
    dockerfile::LANGUAGE,
    json::LANGUAGE,
    nim::LANGUAGE,
    pascal::LANGUAGE,
    rst::LANGUAGE,
];

/// `code` highlighted by the scanner for `language`, or `None` when no
/// scanner reads that language.
pub fn highlight(
    language: &str,
    code: &str,
    progress: &dyn Fn(Progress),
    cancel: &CancelFlag,
    budget: Budget,
) -> Option<Result<String, EngineError>> {
    let job = Job {
        code,
        language,
        progress,
        cancel,
        budget,
    };
    let scanned = match language {
        dockerfile::LANGUAGE => job.scan(dockerfile::Scanner::token),
        json::LANGUAGE => job.scan(|_: &mut (), bytes, at| json::token(bytes, at)),
        nim::LANGUAGE => job.scan(nim::Scanner::token),
        pascal::LANGUAGE => job.scan(pascal::Scanner::token),
        rst::LANGUAGE => job.scan(rst::Scanner::token),
        _ => return None,
    };
    Some(scanned)
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
    cancel: &'a CancelFlag,
    budget: Budget,
}

impl Job<'_> {
    /// Runs `token` from the start of the code to its end, with a state
    /// `S` (what a scanner remembers between tokens) that starts as its
    /// default, and writes the runs it finds. `token(state, bytes, at)`
    /// must return an end past `at` on a character boundary (scanners stop
    /// only at ASCII bytes or at the end). Past the budget the rest is
    /// plain (the snippet still succeeds), as with the other engines.
    fn scan<S: Default>(&self, token: Token<S>) -> Result<String, EngineError> {
        let Job {
            code,
            language: engine,
            progress,
            cancel,
            budget,
        } = *self;
        let mut state = S::default();
        let bytes = code.as_bytes();
        let total = crate::domain::source::line_count(code);
        let mut runs = Runs::with_capacity(code.len() / 4);
        let mut at = 0;
        let mut next_check = CHECK_EVERY;
        let mut lines_done = 0u32;
        let mut counted_to = 0;
        while at < bytes.len() {
            if at >= next_check {
                next_check = at + CHECK_EVERY;
                if cancel.is_cancelled() {
                    return Err(EngineError::Cancelled);
                }
                lines_done += newlines(&bytes[counted_to..at]);
                counted_to = at;
                progress(Progress {
                    done: lines_done,
                    total,
                });
                if budget.is_spent() {
                    tracing::info!(
                        engine,
                        line = lines_done + 1,
                        "budget spent; the rest is plain"
                    );
                    break;
                }
            }
            let (end, class) = token(&mut state, bytes, at);
            debug_assert!(end > at && code.is_char_boundary(end), "{engine} at {at}");
            runs.push(end, class);
            at = end;
        }
        runs.push(bytes.len(), None);
        Ok(runs.render(code))
    }
}

/// The first index from `from` whose byte `keep` refuses, or the end.
fn run_of(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !keep(*b))
        .map_or(bytes.len(), |i| from + i)
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
        let languages = crate::server::highlight::Languages::load();
        for language in LANGUAGES {
            assert_eq!(languages.resolve(language), Some(language));
            assert!(
                !languages.is_served(language)
                    && !crate::server::highlight::TreeSitter::languages().any(|l| l == language),
                "{language} would go to another engine before its scanner"
            );
        }
    }
}

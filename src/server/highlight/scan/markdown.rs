//! Markdown's source (what a `.md` file holds; its rendering is
//! `highlight/markdown.rs`), read by a scanner of our own.
//!
//! bat's Markdown grammar was the slowest grammar left on the shared
//! corpus (1.3x to 1.6x Pygments). Markdown is read a line at a time, and
//! a line's first characters say what it is, so one pass reads it:
//!
//! - blocks: headings (`#`, and a line underlined with `===` or `---`),
//!   block quotes (their `>` as keywords, their text emphasised, as
//!   Pygments does), list markers and task boxes as keywords, thematic
//!   breaks, link reference definitions (the label as a label, the
//!   destination as an attribute, as Pygments has them), front matter;
//! - fenced code blocks, highlighted in the language their fence names
//!   by the engine that called the scanner ([`super::Embed`]), as
//!   Pygments hands them to that language's lexer; a block in no
//!   language it knows is one string, as Pygments shows it;
//! - within a line: code spans as strings, emphasis, strong emphasis,
//!   strikethrough (as deleted text), links (their text as a link, their
//!   destination as an attribute, a reference's label as a label),
//!   autolinks and bare URLs, inline HTML tags and comments, escapes,
//!   `@mentions` (as Pygments colours them), table pipes.
//!
//! Every search for a closing delimiter stays on its line (as Pygments'
//! do) and, once one has failed, is not made again on that line, so a
//! line of openers stays linear; an HTML comment may span lines, and a
//! failed search for its end is not repeated anywhere.

use super::{Job, find, line_end, run_of};
use crate::server::highlight::{
    EngineError,
    classes::Class,
    render::{Runs, fragment_runs},
};

/// The catalogue name this scanner serves.
pub const LANGUAGE: &str = "Markdown";

/// `job`'s code read as Markdown.
pub(super) fn highlight(job: &Job<'_>) -> Result<String, EngineError> {
    let bytes = job.code.as_bytes();
    let mut reader = Reader {
        job,
        bytes,
        runs: Runs::with_capacity(bytes.len() / 4),
        no_comment_close: false,
    };
    let mut checkpoints = job.checkpoints();
    let mut at = reader.front_matter();
    while at < bytes.len() && job.goes_on(&mut checkpoints, at)? {
        at = reader.line(at);
    }
    reader.runs.push(bytes.len(), None);
    Ok(reader.runs.render(job.code))
}

/// A delimiter whose search for its closer failed on the current line.
#[derive(Clone, Copy)]
enum Failed {
    CodeSpan = 1,
    Emphasis = 2,
    Strong = 4,
    Strikethrough = 8,
    LinkText = 16,
    LinkEnd = 32,
    Tag = 64,
}

struct Reader<'j, 'a> {
    job: &'j Job<'a>,
    bytes: &'a [u8],
    runs: Runs,
    /// A search for `-->` found none: no later `<!--` is closed either.
    no_comment_close: bool,
}

impl Reader<'_, '_> {
    /// Past the line break at `end` (the end of a line's text).
    fn next_line(&self, end: usize) -> usize {
        let mut at = end;
        if self.bytes.get(at) == Some(&b'\r') {
            at += 1;
        }
        if self.bytes.get(at) == Some(&b'\n') {
            at += 1;
        }
        at.max(end + usize::from(end < self.bytes.len()))
    }

    /// YAML front matter (`---` on the first line, up to a `---` or `...`
    /// line), highlighted as YAML; where the text goes on from.
    fn front_matter(&mut self) -> usize {
        let bytes = self.bytes;
        let first_end = line_end(bytes, 0);
        if &bytes[..first_end] != b"---" {
            return 0;
        }
        let body = self.next_line(first_end);
        let mut line = body;
        while line < bytes.len() {
            let end = line_end(bytes, line);
            if matches!(&bytes[line..end], b"---" | b"...") {
                self.runs.push(first_end, Some(Class::Punctuation));
                self.embedded(body, line, "yaml");
                self.runs.push(end, Some(Class::Punctuation));
                return self.next_line(end);
            }
            line = self.next_line(end);
        }
        0
    }

    /// Reads the line (or the fenced block) that starts at `start`;
    /// returns where the next one starts.
    fn line(&mut self, start: usize) -> usize {
        let bytes = self.bytes;
        // The line break before it stays plain.
        self.runs.push(start, None);
        let end = line_end(bytes, start);
        let next = self.next_line(end);
        let content = run_of(bytes, start, |b| b == b' ' || b == b'\t');
        if content == end {
            return next;
        }
        if content - start < 4 {
            let first = bytes[content];
            if matches!(first, b'`' | b'~')
                && let Some(after) = self.fence(content, end)
            {
                return after;
            }
            if first == b'#' {
                let hashes = run_of(bytes, content, |b| b == b'#') - content;
                if hashes <= 6
                    && matches!(
                        bytes.get(content + hashes),
                        None | Some(b' ' | b'\t' | b'\r' | b'\n')
                    )
                {
                    self.runs.push(content, None);
                    self.runs.push(end, Some(Class::Heading));
                    return next;
                }
            }
            if first == b'>' {
                let markers = run_of(bytes, content, |b| matches!(b, b'>' | b' ' | b'\t'));
                self.runs.push(content, None);
                self.runs.push(markers, Some(Class::Keyword));
                self.runs.push(end, Some(Class::Emphasis));
                return next;
            }
            if is_thematic_break(&bytes[content..end]) {
                self.runs.push(content, None);
                self.runs.push(end, Some(Class::Punctuation));
                return next;
            }
            if let Some(marker) = list_marker(bytes, content, end) {
                self.runs.push(content, None);
                self.runs.push(marker, Some(Class::Keyword));
                let task = run_of(bytes, marker, |b| b == b' ' || b == b'\t');
                let text = match bytes.get(task..task + 3) {
                    Some(b"[ ]" | b"[x]" | b"[X]")
                        if matches!(
                            bytes.get(task + 3),
                            None | Some(b' ' | b'\t' | b'\r' | b'\n')
                        ) =>
                    {
                        self.runs.push(task, None);
                        self.runs.push(task + 3, Some(Class::Keyword));
                        task + 3
                    }
                    _ => marker,
                };
                return self.inline(text, end);
            }
            if first == b'[' && self.reference_definition(content, end) {
                return next;
            }
            if next < bytes.len() {
                let underline_end = line_end(bytes, next);
                if is_setext_underline(&bytes[next..underline_end]) {
                    self.runs.push(content, None);
                    self.runs.push(underline_end, Some(Class::Heading));
                    return self.next_line(underline_end);
                }
            }
        }
        self.inline(start, end)
    }

    /// A fenced code block whose fence starts at `content` (its line ends
    /// at `end`), if one opens there: where the text after it starts.
    fn fence(&mut self, content: usize, end: usize) -> Option<usize> {
        let bytes = self.bytes;
        let fence = bytes[content];
        let length = run_of(bytes, content, |b| b == fence) - content;
        if length < 3 || (fence == b'`' && bytes[content + length..end].contains(&b'`')) {
            return None;
        }
        let info = run_of(bytes, content + length, |b| b == b' ' || b == b'\t');
        let language_end = run_of(bytes, info, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'#' | b'.')
        });
        let language = &self.job.code[info..language_end];
        self.runs.push(content, None);
        self.runs.push(end, Some(Class::String));
        let body = self.next_line(end);
        let mut line = body;
        while line < bytes.len() {
            let line_text_end = line_end(bytes, line);
            let closer = run_of(bytes, line, |b| b == b' ');
            let closer_end = run_of(bytes, closer, |b| b == fence);
            if closer - line < 4
                && closer_end - closer >= length
                && run_of(bytes, closer_end, |b| b == b' ' || b == b'\t') == line_text_end
            {
                self.embedded(body, line, language);
                self.runs.push(closer, None);
                self.runs.push(line_text_end, Some(Class::String));
                return Some(self.next_line(line_text_end));
            }
            line = self.next_line(line_text_end);
        }
        // Unclosed: the block runs to the end, as CommonMark reads it.
        self.embedded(body, bytes.len(), language);
        Some(bytes.len())
    }

    /// The code from `from` to `to`, highlighted as `language` by the
    /// engine at hand, or one string if it knows no such language.
    fn embedded(&mut self, from: usize, to: usize, language: &str) {
        if from >= to {
            return;
        }
        // The line break before the block stays plain.
        self.runs.push(from, None);
        let block = &self.job.code[from..to];
        let runs = (!language.is_empty())
            .then(|| (self.job.embed)(language, block))
            .flatten()
            .and_then(|html| fragment_runs(&html))
            .filter(|runs| runs.iter().map(|(length, _)| length).sum::<usize>() == block.len());
        match runs {
            Some(runs) => {
                let mut at = from;
                for (length, class) in runs {
                    at += length;
                    self.runs.push(at, class);
                }
            }
            None => self.runs.push(to, Some(Class::String)),
        }
    }

    /// A link reference definition (`[label]: destination "title"`) at
    /// `content`: whether there is one (and it was read).
    fn reference_definition(&mut self, content: usize, end: usize) -> bool {
        let bytes = self.bytes;
        let Some(close) = find(&bytes[..end], content + 1, b"]") else {
            return false;
        };
        if close == content + 1 || bytes.get(close + 1) != Some(&b':') {
            return false;
        }
        self.runs.push(content, None);
        self.runs.push(content + 1, Some(Class::Punctuation));
        self.runs.push(close, Some(Class::Label));
        self.runs.push(close + 2, Some(Class::Punctuation));
        let destination = run_of(bytes, close + 2, |b| b == b' ' || b == b'\t');
        let destination_end = run_of(bytes, destination, |b| !b.is_ascii_whitespace()).min(end);
        self.runs.push(destination, None);
        self.runs.push(destination_end, Some(Class::Attribute));
        let title = run_of(bytes, destination_end, |b| b == b' ' || b == b'\t');
        if title < end && matches!(bytes[title], b'"' | b'\'' | b'(') {
            self.runs.push(title, None);
            self.runs.push(end, Some(Class::String));
        }
        true
    }

    /// The inline content from `from` to its line's `end`; where the next
    /// line starts (an HTML comment may carry it onto a later line).
    fn inline(&mut self, from: usize, end: usize) -> usize {
        let bytes = self.bytes;
        let mut end = end;
        let mut failed = 0u8;
        let mut at = from;
        while at < end {
            let byte = bytes[at];
            let token = match byte {
                b'\\' if bytes.get(at + 1).is_some_and(u8::is_ascii_punctuation) => {
                    Some((at + 2, Some(Class::Escape)))
                }
                b'`' => self.code_span(at, end, &mut failed),
                b'*' | b'_' | b'~' => self.emphasis(at, end, &mut failed),
                b'[' | b'!' => {
                    if let Some(after) = self.link(at, end, &mut failed) {
                        at = after;
                        continue;
                    }
                    None
                }
                b'<' => {
                    let token = self.angle(at, end, &mut failed);
                    if let Some((after, _)) = token
                        && after > end
                    {
                        // A comment that ends on a later line: read on to
                        // that line's end.
                        end = line_end(bytes, after);
                    }
                    token
                }
                b'@' if (at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
                    && bytes.get(at + 1).is_some_and(u8::is_ascii_alphanumeric) =>
                {
                    let name = run_of(bytes, at + 1, |b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/')
                    });
                    Some((name.min(end), Some(Class::Constant)))
                }
                b'h' if (at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
                    && (bytes[at..end].starts_with(b"https://")
                        || bytes[at..end].starts_with(b"http://")) =>
                {
                    let url = run_of(bytes, at, |b| {
                        !b.is_ascii_whitespace() && !matches!(b, b'<' | b'>' | b')' | b']' | b'"')
                    })
                    .min(end);
                    let url = if matches!(bytes[url - 1], b'.' | b',' | b';' | b':') {
                        url - 1
                    } else {
                        url
                    };
                    Some((url, Some(Class::Link)))
                }
                b'|' => Some((at + 1, Some(Class::Punctuation))),
                _ => None,
            };
            let (after, class) =
                token.unwrap_or_else(|| (run_of(bytes, at + 1, |b| !is_special(b)).min(end), None));
            self.runs.push(after, class);
            at = after;
        }
        self.next_line(end)
    }

    /// A code span of backticks at `at`, if it closes on the line.
    fn code_span(
        &mut self,
        at: usize,
        end: usize,
        failed: &mut u8,
    ) -> Option<(usize, Option<Class>)> {
        let bytes = self.bytes;
        let length = run_of(bytes, at, |b| b == b'`') - at;
        let plain = Some((at + length, None));
        if *failed & Failed::CodeSpan as u8 != 0 {
            return plain;
        }
        let mut search = at + length;
        while let Some(close) = find(&bytes[..end], search, b"`") {
            let close_end = run_of(bytes, close, |b| b == b'`').min(end);
            if close_end - close == length {
                return Some((close_end, Some(Class::String)));
            }
            search = close_end;
        }
        *failed |= Failed::CodeSpan as u8;
        plain
    }

    /// Emphasis (`*a*`, `_a_`), strong emphasis (`**a**`, `__a__`) or a
    /// strikethrough (`~~a~~`) at `at`, if it closes on the line.
    fn emphasis(
        &mut self,
        at: usize,
        end: usize,
        failed: &mut u8,
    ) -> Option<(usize, Option<Class>)> {
        let bytes = self.bytes;
        let mark = bytes[at];
        let length = run_of(bytes, at, |b| b == mark) - at;
        let plain = Some((at + length, None));
        let (class, kind) = match (mark, length) {
            (b'~', 2) => (Class::Deleted, Failed::Strikethrough),
            (b'~', _) => return plain,
            (_, 1) => (Class::Emphasis, Failed::Emphasis),
            _ => (Class::Strong, Failed::Strong),
        };
        let opens = bytes
            .get(at + length)
            .is_some_and(|b| !b.is_ascii_whitespace())
            && !(mark == b'_' && at > 0 && bytes[at - 1].is_ascii_alphanumeric());
        if !opens || *failed & kind as u8 != 0 {
            return plain;
        }
        let delimiter = &bytes[at..at + length];
        let mut search = at + length + 1;
        while search < end
            && let Some(close) = find(&bytes[..end], search, delimiter)
        {
            let close_end = close + length;
            let closes = !bytes[close - 1].is_ascii_whitespace()
                && bytes.get(close_end) != Some(&mark)
                && !(mark == b'_' && bytes.get(close_end).is_some_and(u8::is_ascii_alphanumeric));
            if closes {
                return Some((close_end, Some(class)));
            }
            search = close + 1;
        }
        *failed |= kind as u8;
        plain
    }

    /// A link (`[text](destination)`, `![alt](src)`, `[text][label]`) at
    /// `at`: reads it and returns where it ends, if there is one.
    fn link(&mut self, at: usize, end: usize, failed: &mut u8) -> Option<usize> {
        let bytes = self.bytes;
        let open = if bytes[at] == b'!' {
            (bytes.get(at + 1) == Some(&b'[')).then_some(at + 1)?
        } else {
            at
        };
        if *failed & Failed::LinkText as u8 != 0 {
            return None;
        }
        let Some(close) = find(&bytes[..end], open + 1, b"]") else {
            *failed |= Failed::LinkText as u8;
            return None;
        };
        let (closer, class) = match bytes.get(close + 1) {
            Some(b'(') => (b")", Class::Attribute),
            Some(b'[') => (b"]", Class::Label),
            _ => return None,
        };
        if *failed & Failed::LinkEnd as u8 != 0 {
            return None;
        }
        let Some(target_end) = find(&bytes[..end], close + 2, closer) else {
            *failed |= Failed::LinkEnd as u8;
            return None;
        };
        self.runs.push(open + 1, Some(Class::Punctuation));
        self.runs.push(close, Some(Class::Link));
        self.runs.push(close + 2, Some(Class::Punctuation));
        self.runs.push(target_end, Some(class));
        self.runs.push(target_end + 1, Some(Class::Punctuation));
        Some(target_end + 1)
    }

    /// What starts with `<`: an HTML comment (which may end on a later
    /// line), an autolink, or an inline HTML tag.
    fn angle(&mut self, at: usize, end: usize, failed: &mut u8) -> Option<(usize, Option<Class>)> {
        let bytes = self.bytes;
        if bytes[at..].starts_with(b"<!--") {
            if self.no_comment_close {
                return None;
            }
            return match find(bytes, at + 4, b"-->") {
                Some(close) => Some((close + 3, Some(Class::Comment))),
                None => {
                    self.no_comment_close = true;
                    None
                }
            };
        }
        let next = *bytes.get(at + 1)?;
        if !(next.is_ascii_alphabetic() || next == b'/') || *failed & Failed::Tag as u8 != 0 {
            return None;
        }
        let Some(close) = find(&bytes[..end], at + 1, b">") else {
            *failed |= Failed::Tag as u8;
            return None;
        };
        let inside = &bytes[at + 1..close];
        let autolink = inside.contains(&b':') && !inside.contains(&b' ');
        Some((
            close + 1,
            Some(if autolink { Class::Link } else { Class::Tag }),
        ))
    }
}

/// Whether a byte may start an inline token (anything else is text).
fn is_special(byte: u8) -> bool {
    matches!(
        byte,
        b'\\' | b'`' | b'*' | b'_' | b'~' | b'[' | b'!' | b'<' | b'@' | b'h' | b'|'
    )
}

/// A list item's marker at `content` (`-`, `*`, `+`, `1.`, `1)`): where
/// it ends, if there is one.
fn list_marker(bytes: &[u8], content: usize, end: usize) -> Option<usize> {
    let marker_end = match bytes[content] {
        b'-' | b'*' | b'+' => content + 1,
        b'0'..=b'9' => {
            let digits = run_of(bytes, content, |b| b.is_ascii_digit());
            if digits - content > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    (marker_end == end || matches!(bytes.get(marker_end), Some(b' ' | b'\t'))).then_some(marker_end)
}

/// Whether a line (from its first non-blank) is a thematic break: three
/// or more of one of `*`, `-`, `_`, with blanks between.
fn is_thematic_break(line: &[u8]) -> bool {
    let mark = line[0];
    matches!(mark, b'*' | b'-' | b'_')
        && line.iter().all(|b| *b == mark || *b == b' ' || *b == b'\t')
        && line.iter().filter(|b| **b == mark).count() >= 3
}

/// Whether a line underlines the one before as a heading: `=`s or `-`s
/// alone, after at most three spaces.
fn is_setext_underline(line: &[u8]) -> bool {
    let content = run_of(line, 0, |b| b == b' ');
    let Some(&mark) = line.get(content) else {
        return false;
    };
    let marks = run_of(line, content, |b| b == mark);
    content < 4
        && matches!(mark, b'=' | b'-')
        && run_of(line, marks, |b| b == b' ' || b == b'\t') == line.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::scan::tests::{assert_round_trips, assert_runs, highlighted};

    fn markdown(code: &str) -> String {
        highlighted(LANGUAGE, code)
    }

    #[test]
    fn blocks_are_read_by_their_first_characters() {
        let html = markdown(concat!(
            "# Title\n",
            "Setext\n",
            "======\n",
            "> quoted *text*\n",
            "- [x] done\n",
            "2. second\n",
            "***\n",
            "[docs]: https://example.com \"Docs\"\n",
            "| a | b |\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-h># Title\nSetext\n======</x-h>",
                "<x-k>&gt; </x-k><x-em>quoted *text*</x-em>",
                "<x-k>- [x]</x-k> done",
                "<x-k>2.</x-k> second",
                "<x-p>***\n[</x-p><x-l>docs</x-l><x-p>]:</x-p> <x-at>https://example.com</x-at> <x-s>\"Docs\"</x-s>",
                "<x-p>|</x-p> a <x-p>|</x-p> b <x-p>|</x-p>",
            ],
        );
    }

    #[test]
    fn inline_markup_links_and_html_are_coloured() {
        let html = markdown(concat!(
            "Some *em*, **strong**, __also__, ~~gone~~, `code`, snake_case_name, \\*not\\*.\n",
            "A [link](https://a.example/x) and ![img](i.png) and [ref][id], @someone, <b>x</b>,\n",
            "<https://auto.example> or https://bare.example. <!-- a\ncomment --> after\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-em>*em*</x-em>",
                "<x-st>**strong**</x-st>",
                "<x-st>__also__</x-st>",
                "<x-gd>~~gone~~</x-gd>",
                "<x-s>`code`</x-s>",
                ", snake_case_name, <x-se>\\*</x-se>not<x-se>\\*</x-se>",
                "<x-p>[</x-p><x-u>link</x-u><x-p>](</x-p><x-at>https://a.example/x</x-at><x-p>)</x-p>",
                "<x-p>![</x-p><x-u>img</x-u><x-p>](</x-p><x-at>i.png</x-at>",
                "<x-u>ref</x-u><x-p>][</x-p><x-l>id</x-l><x-p>]</x-p>",
                "<x-co>@someone</x-co>",
                "<x-tg>&lt;b&gt;</x-tg>x<x-tg>&lt;/b&gt;</x-tg>",
                "<x-u>&lt;https://auto.example&gt;</x-u>",
                "<x-u>https://bare.example</x-u>.",
                "<x-c>&lt;!-- a\ncomment --&gt;</x-c> after",
            ],
        );
    }

    #[test]
    fn fenced_blocks_are_highlighted_in_their_language() {
        let html = markdown(concat!(
            "---\ntitle: x\n---\n",
            "```kw\nlet a = 1;\n```\n",
            "~~~~ unknown extra\nplain <code>\n~~~~\n",
            "```\nno language\n```\n",
            "``` kw\nnever closed\n",
        ));
        assert_runs(
            &html,
            &[
                "<x-s>```kw</x-s>\n<x-k>let a = 1;\n</x-k><x-s>```\n~~~~ unknown extra\nplain &lt;code&gt;\n~~~~\n```\nno language\n```\n``` kw</x-s>\n<x-k>never closed\n</x-k>",
            ],
        );
        // The front matter went to the embedder as YAML, which the test's
        // knows not: one string between its fences.
        assert!(
            html.contains("<x-p>---</x-p>\n<x-s>title: x\n</x-s><x-p>---</x-p>"),
            "{html}"
        );
    }

    #[test]
    fn text_round_trips_whatever_it_holds() {
        assert_round_trips(
            LANGUAGE,
            &[
                "",
                "#",
                "---",
                "---\n",
                "```",
                "```kw",
                "```kw\n",
                "> ",
                "- ",
                "1.",
                "[",
                "[a]",
                "[a]:",
                "![",
                "[a](",
                "[a][",
                "<",
                "<!--",
                "<!-- a -->b <!--",
                "`",
                "**",
                "_a",
                "~~a",
                "\\",
                "@",
                "http://",
                "é *ü* `ö`\r\n# ñ\r\n```kw\r\nx\r\n```\r\n",
            ],
        );
        for unit in ["*a ", "`", "[a](", "<a ", "<!--", "_a "] {
            let line = unit.repeat(20_000);
            assert_round_trips(LANGUAGE, &[line.as_str()]);
        }
    }
}

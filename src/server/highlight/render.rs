//! Writing highlighted code as compact HTML.
//!
//! Engines hand the writer the code piece by piece, each piece with its
//! [`Class`] (or none). The writer keeps the HTML small, because it is
//! stored, sent and rendered for every view:
//!
//! - flat: one element per run, never nested: a custom element named
//!   after the class (`<x-k>pub fn</x-k>`, see [`Class::element`]);
//! - adjacent pieces of one class share one element, and so do pieces of
//!   one class separated only by plain whitespace (`pub fn` is one keyword
//!   run);
//! - only `&`, `<` and `>` are escaped (quotes need no escaping in element
//!   content).
//!
//! The text of the result, tags removed and entities decoded, is the code
//! byte for byte: CRLF, tabs and a missing last newline included. A CR is
//! never the last character before a tag when an LF follows it: an HTML
//! parser reads a lone CR as a line break, so `# c\r</x-c>\n` would show
//! a blank line after every line of a CRLF file.

use super::classes::Class;

/// Builds one highlighted fragment: `<pre class="hl"><code>…</code></pre>`,
/// or, when colour had to be dropped to keep it small,
/// `<pre class="hl" data-detail="…">` saying how much was kept.
pub struct HtmlWriter {
    out: String,
    /// The class of the element left open, if one is.
    open: Option<Class>,
    /// Plain whitespace seen while an element was open: it joins it if
    /// the next piece has the same class, else it goes after it.
    pending: String,
    /// A CR that ended the last piece, held back to be written with what
    /// follows it (so that a CRLF is never cut by a tag).
    held_cr: bool,
}

impl HtmlWriter {
    /// `capacity_hint` is the code's length; the HTML is usually under
    /// three times that.
    pub fn new(capacity_hint: usize) -> Self {
        Self::at_detail(capacity_hint, Detail::Full)
    }

    fn at_detail(capacity_hint: usize, detail: Detail) -> Self {
        let mut out = String::with_capacity(capacity_hint.saturating_mul(3) + 64);
        out.push_str("<pre class=\"hl\"");
        if let Some(name) = detail.attribute() {
            out.push_str(" data-detail=\"");
            out.push_str(name);
            out.push('"');
        }
        out.push_str("><code>");
        HtmlWriter {
            out,
            open: None,
            pending: String::new(),
            held_cr: false,
        }
    }

    /// Adds a piece of code with its class.
    pub fn push(&mut self, text: &str, class: Option<Class>) {
        if text.is_empty() {
            return;
        }
        let joined;
        let mut text = text;
        if std::mem::take(&mut self.held_cr) {
            joined = format!("\r{text}");
            text = &joined;
        }
        if let Some(head) = text.strip_suffix('\r') {
            self.held_cr = true;
            if head.is_empty() {
                return;
            }
            text = head;
        }
        self.write(text, class);
    }

    fn write(&mut self, text: &str, class: Option<Class>) {
        if class.is_some() && class == self.open {
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                escape_into(&mut self.out, &pending);
            }
            escape_into(&mut self.out, text);
            return;
        }
        if class.is_none() && self.open.is_some() && is_blank(text) {
            self.pending.push_str(text);
            return;
        }
        self.close();
        if let Some(class) = class {
            self.out.push('<');
            self.out.push_str(class.element());
            self.out.push('>');
            self.open = Some(class);
        }
        escape_into(&mut self.out, text);
    }

    fn close(&mut self) {
        if let Some(class) = self.open.take() {
            self.out.push_str("</");
            self.out.push_str(class.element());
            self.out.push('>');
        }
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            escape_into(&mut self.out, &pending);
        }
    }

    /// Bytes written so far (to keep an eye on the output's size).
    pub fn len(&self) -> usize {
        self.out.len() + self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(mut self) -> String {
        if std::mem::take(&mut self.held_cr) {
            self.write("\r", None);
        }
        self.close();
        self.out.push_str("</code></pre>");
        self.out
    }
}

fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Escapes text for element content: `&`, `<`, `>`.
pub fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// The text an HTML fragment shows: tags cut, entities decoded. For a
/// fragment the writer made, the code byte for byte. `None` for HTML with
/// an unterminated tag or entity, or an entity it does not know.
pub fn fragment_text(html: &str) -> Option<String> {
    let mut text = String::with_capacity(html.len());
    decode_into(&mut text, html)?;
    Some(text)
}

/// Appends the text `html` shows to `text` (see [`fragment_text`]).
fn decode_into(text: &mut String, html: &str) -> Option<()> {
    let mut rest = html;
    loop {
        let cut = rest.find(['<', '&']).unwrap_or(rest.len());
        text.push_str(&rest[..cut]);
        rest = &rest[cut..];
        if let Some(tag) = rest.strip_prefix('<') {
            rest = &tag[tag.find('>')? + 1..];
        } else if let Some(entity) = rest.strip_prefix('&') {
            let end = entity.find(';')?;
            text.push(match &entity[..end] {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                number => {
                    let code = match number.strip_prefix("#x") {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            });
            rest = &entity[end + 1..];
        } else {
            return Some(());
        }
    }
}

/// The runs of an HTML fragment the writer made: each run's length in
/// bytes of text, and its class. `None` for HTML the writer does not
/// write (an unterminated tag, an unknown entity or element).
pub fn fragment_runs(html: &str) -> Option<Vec<(usize, Option<Class>)>> {
    let mut runs: Vec<(usize, Option<Class>)> = Vec::new();
    let mut class = None;
    // One buffer for every run's text, decoded only to be measured.
    let mut decoded = String::new();
    let mut rest = html;
    while !rest.is_empty() {
        let cut = rest.find('<').unwrap_or(rest.len());
        decoded.clear();
        decode_into(&mut decoded, &rest[..cut])?;
        let text = decoded.len();
        match runs.last_mut() {
            Some((length, last)) if *last == class => *length += text,
            _ if text > 0 => runs.push((text, class)),
            _ => {}
        }
        rest = &rest[cut..];
        if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find('>')?;
            let name = &tag[..end];
            if let Some(element) = name.strip_prefix('/') {
                if element.starts_with("x-") {
                    class = None;
                }
            } else if name.starts_with("x-") {
                class = Some(*Class::ALL.iter().find(|c| c.element() == name)?);
            }
            rest = &tag[end + 1..];
        }
    }
    Some(runs)
}

/// The whole code as plain, escaped text: what a snippet too costly for
/// every engine is shown as.
pub fn plain(code: &str) -> String {
    plain_at(code, Detail::Full)
}

/// The code as plain text, the fragment saying `detail`: [`Detail::Plain`]
/// when its highlighting did not fit even with the essential classes.
fn plain_at(code: &str, detail: Detail) -> String {
    let mut writer = HtmlWriter::at_detail(code.len(), detail);
    writer.push(code, None);
    writer.finish()
}

/// The most HTML a snippet is stored as, per byte of code. Code that
/// alternates classes every character or two (a minified one-liner, a
/// string cut up by interpolations) would otherwise grow several times
/// more, and every view would read it. Past it, all but the essential
/// classes are dropped, then every class. The fragment says which
/// (`data-detail`), and the benchmark reports it per file.
pub const MAX_HTML_PER_BYTE: usize = 6;
/// Past this much HTML per byte of code, punctuation is written plain
/// (its colour is all but the text's in both themes, and in dense code it
/// is most of the runs). With a run costing 11 bytes of markup, every
/// class fits up to the same 6x as the rest, and the shared corpus's
/// median fragment stays under the 3x the pages are held to
/// (`tests/corpus.rs`); with `<span class=…>` runs (21 bytes) it had to
/// be 3x, and half the corpus lost its punctuation.
pub const PUNCTUATION_HTML_PER_BYTE: usize = MAX_HTML_PER_BYTE;

/// A class as one byte of a paint buffer ([`Runs::from_paint`]); 0 is no
/// class.
pub fn paint_code(class: Option<Class>) -> u8 {
    class.map_or(0, |class| {
        Class::ALL
            .iter()
            .position(|c| *c == class)
            .map_or(0, |i| i as u8 + 1)
    })
}

/// The class a [`paint_code`] stands for.
pub fn paint_class(code: u8) -> Option<Class> {
    code.checked_sub(1)
        .and_then(|i| Class::ALL.get(usize::from(i)))
        .copied()
}

/// A highlighted snippet as runs: each run ends at a byte offset and has
/// one class (or none). Engines build it; [`Runs::render`] writes it.
#[derive(Default)]
pub struct Runs {
    runs: Vec<(usize, Option<Class>)>,
}

impl Runs {
    pub fn with_capacity(capacity: usize) -> Self {
        Runs {
            runs: Vec::with_capacity(capacity),
        }
    }

    /// The runs of code painted byte by byte with [`paint_code`]s, as
    /// engines that colour overlapping spans (outer, then inner over it)
    /// find easiest to write.
    pub fn from_paint(code: &str, paint: &[u8]) -> Self {
        let mut runs = Runs::with_capacity(code.len() / 8);
        let mut start = 0;
        while start < code.len() {
            let class = paint[start];
            let mut end = start + 1;
            while end < code.len() && (paint[end] == class || !code.is_char_boundary(end)) {
                end += 1;
            }
            runs.push(end, paint_class(class));
            start = end;
        }
        runs
    }

    /// The code up to `end` (from the previous run's end) has `class`.
    pub fn push(&mut self, end: usize, class: Option<Class>) {
        match self.runs.last_mut() {
            Some((last_end, last_class)) if *last_class == class => *last_end = end,
            Some((last_end, _)) if *last_end >= end => {}
            _ => self.runs.push((end, class)),
        }
    }

    /// The HTML of `code`: with every class if that stays within
    /// [`PUNCTUATION_HTML_PER_BYTE`], else without punctuation if that
    /// stays within [`MAX_HTML_PER_BYTE`], else with only the essential
    /// classes, else plain.
    pub fn render(&self, code: &str) -> String {
        let budget = |per_byte: usize| code.len().saturating_mul(per_byte).max(256);
        let attempts = [
            (Detail::Full, budget(PUNCTUATION_HTML_PER_BYTE)),
            (Detail::NoPunctuation, budget(MAX_HTML_PER_BYTE)),
            (Detail::Essential, budget(MAX_HTML_PER_BYTE)),
        ];
        for (detail, limit) in attempts {
            if let Some(html) = self.render_at(code, detail, limit) {
                return html;
            }
        }
        plain_at(code, Detail::Plain)
    }

    fn render_at(&self, code: &str, detail: Detail, limit: usize) -> Option<String> {
        let mut html = HtmlWriter::at_detail(code.len(), detail);
        let mut start = 0;
        for &(end, class) in &self.runs {
            let end = end.min(code.len());
            if end <= start {
                continue;
            }
            html.push(&code[start..end], class.filter(|c| detail.keeps(*c)));
            start = end;
            if html.len() > limit {
                return None;
            }
        }
        if start < code.len() {
            html.push(&code[start..], None);
        }
        Some(html.finish())
    }
}

/// How much of the highlighting a rendering keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Every class.
    Full,
    /// Every class but punctuation.
    NoPunctuation,
    /// Keywords, strings, comments, numbers and tags.
    Essential,
    /// No colour at all.
    Plain,
}

impl Detail {
    /// The `data-detail` value of a fragment at this detail (none for full).
    fn attribute(self) -> Option<&'static str> {
        match self {
            Detail::Full => None,
            Detail::NoPunctuation => Some("no-punctuation"),
            Detail::Essential => Some("essential"),
            Detail::Plain => Some("plain"),
        }
    }

    /// The detail a fragment was written at, from its `data-detail`.
    pub fn of_fragment(html: &str) -> Detail {
        let head = html.split_once("<code>").map_or(html, |(head, _)| head);
        let named = head
            .split_once("data-detail=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name);
        [Detail::NoPunctuation, Detail::Essential, Detail::Plain]
            .into_iter()
            .find(|detail| detail.attribute() == named)
            .unwrap_or(Detail::Full)
    }

    pub fn name(self) -> &'static str {
        self.attribute().unwrap_or("full")
    }

    fn keeps(self, class: Class) -> bool {
        match self {
            Detail::Full => true,
            Detail::Plain => false,
            Detail::NoPunctuation => class != Class::Punctuation,
            Detail::Essential => matches!(
                class,
                Class::Keyword | Class::String | Class::Comment | Class::Number | Class::Tag
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_one_class_share_an_element_across_plain_whitespace() {
        let mut w = HtmlWriter::new(16);
        w.push("pub", Some(Class::Keyword));
        w.push(" ", None);
        w.push("fn", Some(Class::Keyword));
        w.push(" ", None);
        w.push("main", Some(Class::Function));
        w.push("()", Some(Class::Punctuation));
        w.push(" ", None);
        w.push("{", Some(Class::Punctuation));
        w.push("}\n", Some(Class::Punctuation));
        w.push("", Some(Class::String));
        assert_eq!(
            w.finish(),
            "<pre class=\"hl\"><code><x-k>pub fn</x-k> <x-f>main</x-f><x-p>() {}\n</x-p></code></pre>"
        );
    }

    #[test]
    fn a_crlf_is_never_cut_by_a_tag() {
        let mut w = HtmlWriter::new(32);
        w.push("# note\r", Some(Class::Comment));
        w.push("\n", None);
        w.push("x", Some(Class::Variable));
        let html = w.finish();
        assert!(!html.contains("\r<"), "{html}");
        assert!(html.contains("\r\n"), "{html}");
        let mut last = HtmlWriter::new(8);
        last.push("x\r", Some(Class::Variable));
        assert!(
            last.finish().ends_with("\r</code></pre>"),
            "a last CR is kept"
        );
    }

    #[test]
    fn a_fragments_text_is_its_code() {
        let mut w = HtmlWriter::new(16);
        w.push("a<b && \"c\"\r\n", Some(Class::String));
        w.push("x", None);
        assert_eq!(fragment_text(&w.finish()).unwrap(), "a<b && \"c\"\r\nx");
        assert_eq!(fragment_text("&#x41;&#66;&apos;").unwrap(), "AB'");
        assert_eq!(fragment_text("<x-k"), None);
        assert_eq!(fragment_text("&nbsp;"), None);
    }

    #[test]
    fn a_fragments_runs_are_its_classes_over_its_text() {
        let code = "fn a<T>(){}// é";
        let mut runs = Runs::default();
        runs.push(2, Some(Class::Keyword));
        runs.push(4, None);
        runs.push(7, Some(Class::Type));
        runs.push(11, Some(Class::Punctuation));
        runs.push(code.len(), Some(Class::Comment));
        let read = fragment_runs(&runs.render(code)).unwrap();
        assert_eq!(
            read,
            [
                (2, Some(Class::Keyword)),
                (2, None),
                (3, Some(Class::Type)),
                (4, Some(Class::Punctuation)),
                (code.len() - 11, Some(Class::Comment)),
            ]
        );
        assert_eq!(fragment_runs("<x-nope>a</x-nope>"), None);
        assert_eq!(fragment_runs("a &bogus; b"), None);
    }

    #[test]
    fn only_markup_characters_are_escaped() {
        let mut w = HtmlWriter::new(16);
        w.push("a<b && \"c\" 'd'\r\n", Some(Class::String));
        let html = w.finish();
        assert!(html.contains("a&lt;b &amp;&amp; \"c\" 'd'\r\n"), "{html}");
        assert_eq!(plain("x>y"), "<pre class=\"hl\"><code>x&gt;y</code></pre>");
    }

    /// `count` pieces of `piece`, each its first `piece.len() - 1` bytes
    /// of class `first` and its last byte of class `last`.
    fn alternating(piece: &str, count: usize, first: Class, last: Class) -> (String, Runs) {
        let mut runs = Runs::default();
        let n = piece.len();
        for i in 0..count {
            runs.push(i * n + n - 1, Some(first));
            runs.push(i * n + n, Some(last));
        }
        (piece.repeat(count), runs)
    }

    #[test]
    fn runs_render_within_six_times_the_code_dropping_detail_if_they_must() {
        // 8.3 bytes of HTML per byte of code with punctuation, 4.7
        // without.
        let (code, runs) = alternating("wd(", 50, Class::Variable, Class::Punctuation);
        let html = runs.render(&code);
        assert!(
            html.len() <= code.len() * MAX_HTML_PER_BYTE,
            "{}",
            html.len()
        );
        assert!(html.contains("<x-v>wd</x-v>("), "variables kept: {html}");
        assert!(!html.contains("<x-p>"), "punctuation dropped");
        assert_eq!(Detail::of_fragment(&html), Detail::NoPunctuation);
        let mut small = Runs::default();
        small.push(2, Some(Class::Keyword));
        small.push(3, None);
        small.push(5, Some(Class::Keyword));
        assert_eq!(
            small.render("fn x()"),
            "<pre class=\"hl\"><code><x-k>fn x(</x-k>)</code></pre>"
        );
    }

    #[test]
    fn every_class_is_kept_up_to_six_times_the_code() {
        // 2.8 bytes of HTML per byte of code with its punctuation: kept
        // (with `<span class=…>` runs it was 4.5, and lost punctuation).
        let (code, runs) = alternating("longer_word(", 40, Class::Variable, Class::Punctuation);
        let html = runs.render(&code);
        assert!(
            html.contains("<x-v>longer_word</x-v><x-p>(</x-p>"),
            "{html}"
        );
        assert!(html.starts_with("<pre class=\"hl\"><code>"), "{html}");
        assert_eq!(Detail::of_fragment(&html), Detail::Full);
        // Past 6x with it, punctuation goes first, and the fragment says so.
        let (code, runs) = alternating("ab(", 40, Class::Variable, Class::Punctuation);
        let html = runs.render(&code);
        assert!(!html.contains("<x-p>"), "{html}");
        assert!(html.contains("<x-v>ab</x-v>("), "{html}");
        assert!(html.starts_with("<pre class=\"hl\" data-detail=\"no-punctuation\"><code>"));
        assert_eq!(Detail::of_fragment(&html), Detail::NoPunctuation);
    }

    #[test]
    fn a_fragment_says_how_much_colour_it_kept() {
        // A class change at every byte: nothing fits but plain text.
        let (code, runs) = alternating("ab", 100, Class::Keyword, Class::String);
        let html = runs.render(&code);
        assert_eq!(Detail::of_fragment(&html), Detail::Plain, "{html}");
        assert!(html.starts_with("<pre class=\"hl\" data-detail=\"plain\"><code>ab"));
        // Keywords against one-letter variables: the variables go, the
        // keywords stay.
        let (code, runs) = alternating("abc", 40, Class::Keyword, Class::Variable);
        let html = runs.render(&code);
        assert_eq!(Detail::of_fragment(&html), Detail::Essential, "{html}");
        assert!(!html.contains("<x-v>"), "{html}");
        assert_eq!(Detail::of_fragment(&plain("x")), Detail::Full);
        for detail in [
            Detail::Full,
            Detail::NoPunctuation,
            Detail::Essential,
            Detail::Plain,
        ] {
            let mut w = HtmlWriter::at_detail(1, detail);
            w.push("x", None);
            assert_eq!(Detail::of_fragment(&w.finish()), detail);
        }
    }

    #[test]
    fn trailing_whitespace_after_an_element_is_kept_outside_it() {
        let mut w = HtmlWriter::new(16);
        w.push("x", Some(Class::Keyword));
        w.push("  \n", None);
        w.push("y", None);
        assert_eq!(
            w.finish(),
            "<pre class=\"hl\"><code><x-k>x</x-k>  \ny</code></pre>"
        );
    }
}

//! A snippet's files as HTML: one `<section>` each, with its header
//! (name, language, lines, copy, raw), its line numbers and its code.
//!
//! Written as one string, by the same function on both sides: the server
//! renders a page's files with it (the island's children, never sent as
//! data), and the browser rebuilds them with it when a new revision is
//! pushed. A file is one string however many lines it has: an element per
//! line number would cost a 3,000-line file 3,000 of them.
//!
//! Anchors: each file's section is `#file-main-rs` (see
//! [`anchors`](crate::domain::files::anchors)), its lines
//! `#file-main-rs-L10`; the first file's lines also answer to the `#L10`
//! of one-file snippets (`<a name>`, which browsers follow too).

use std::fmt::Write;

use crate::domain::files::{anchors, escape_html, is_markdown, raw_path};
use crate::domain::{FileView, SnippetId};

/// One file, as a section shows it.
pub struct SectionFile<'a> {
    pub name: &'a str,
    pub language: &'a str,
    pub lines: u32,
    pub hash: &'a str,
    pub body: Body<'a>,
}

/// What a section shows of a file's code.
pub enum Body<'a> {
    /// Highlighted; a Markdown file's rendered HTML beside it.
    Highlighted {
        html: &'a str,
        rendered: Option<&'a str>,
    },
    /// Not highlighted (yet): the code, escaped.
    Source(&'a str),
}

impl<'a> SectionFile<'a> {
    /// A file of a revision, highlighted when `highlighted`.
    pub fn of(file: &'a FileView, highlighted: bool) -> Self {
        SectionFile {
            name: &file.name,
            language: &file.language,
            lines: file.lines,
            hash: &file.hash,
            body: match (&file.html, highlighted) {
                (Some(html), true) => Body::Highlighted {
                    html,
                    rendered: file.rendered.as_deref(),
                },
                _ => Body::Source(&file.code),
            },
        }
    }
}

/// Every file's section, in order.
pub fn sections_html(id: &SnippetId, files: &[SectionFile<'_>]) -> String {
    let anchors = anchors(files.iter().map(|f| f.name));
    let capacity = files
        .iter()
        .map(|f| match f.body {
            Body::Highlighted { html, rendered } => html.len() + rendered.map_or(0, str::len),
            Body::Source(code) => code.len() + code.len() / 8,
        } + f.lines as usize * 80 + 600)
        .sum();
    let mut out = String::with_capacity(capacity);
    for (n, (file, anchor)) in files.iter().zip(&anchors).enumerate() {
        section_html(&mut out, id, file, anchor, n == 0);
    }
    out
}

fn section_html(
    out: &mut String,
    id: &SnippetId,
    file: &SectionFile<'_>,
    anchor: &str,
    first: bool,
) {
    let name = escape_html(file.name);
    let highlighted = matches!(file.body, Body::Highlighted { .. });
    let _ = write!(
        out,
        "<section class=\"file\" id=\"{anchor}\" data-name=\"{name}\" data-hash=\"{hash}\" \
         data-language=\"{language}\" data-lines=\"{lines}\" data-highlighted=\"{highlighted}\">\
         <header class=\"file-head\"><h2><a href=\"#{anchor}\">{name}</a></h2>\
         <span class=\"language\">{language}</span><span class=\"lines\">{lines_label}</span>\
         <span class=\"tools\"><button type=\"button\" class=\"copy\">Copy</button>\
         <a class=\"raw\" href=\"{raw}\" rel=\"external\">Raw</a></span></header>",
        hash = escape_html(file.hash),
        language = escape_html(file.language),
        lines = file.lines,
        lines_label = super::lines_label(file.lines),
        raw = escape_html(&raw_path(id, file.name)),
    );
    let code = match file.body {
        Body::Highlighted { html, rendered } => {
            if let Some(rendered) = rendered.filter(|_| is_markdown(file.name)) {
                // Two radio buttons switch between the rendered and the
                // source view, with CSS alone: it works without JavaScript.
                let _ = write!(
                    out,
                    "<div class=\"view-switch\" role=\"radiogroup\" aria-label=\"Show {name} as\">\
                     <input type=\"radio\" class=\"show-rendered\" name=\"view-{anchor}\" id=\"{anchor}-rendered\" checked>\
                     <label for=\"{anchor}-rendered\">Rendered</label>\
                     <input type=\"radio\" class=\"show-source\" name=\"view-{anchor}\" id=\"{anchor}-source\">\
                     <label for=\"{anchor}-source\">Source</label></div>\
                     <div class=\"rendered markdown-body\">{rendered}</div>"
                );
            }
            html.to_owned()
        }
        Body::Source(code) => format!("<pre class=\"source\">{}</pre>", escape_html(code)),
    };
    out.push_str("<div class=\"code-view\"><div class=\"gutter\" aria-hidden=\"true\">");
    gutter_html(out, anchor, first, file.lines);
    out.push_str("</div><div class=\"code-scroll\"><div class=\"line-mark\" hidden></div><div class=\"highlighted\">");
    out.push_str(&code);
    out.push_str("</div></div></div></section>");
}

/// The line numbers: `<a id="{anchor}-L{n}" href="#{anchor}-L{n}">`
/// links, so each works (and can be shared) without JavaScript too. The
/// gutter is hidden from screen readers (a number per line is noise read
/// aloud), so its links stay out of the tab order too (`tabindex="-1"`).
pub fn gutter_html(out: &mut String, anchor: &str, first: bool, lines: u32) {
    out.reserve(lines as usize * (64 + 2 * anchor.len()));
    for n in 1..=lines.max(1) {
        let _ = write!(
            out,
            "<a class=\"line-number\" id=\"{anchor}-L{n}\" href=\"#{anchor}-L{n}\" tabindex=\"-1\""
        );
        if first {
            let _ = write!(out, " name=\"L{n}\"");
        }
        let _ = write!(out, ">{n}</a>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_linked_and_the_first_file_keeps_the_one_file_anchors() {
        let mut first = String::new();
        gutter_html(&mut first, "file-a-rs", true, 2);
        assert_eq!(
            first,
            "<a class=\"line-number\" id=\"file-a-rs-L1\" href=\"#file-a-rs-L1\" tabindex=\"-1\" name=\"L1\">1</a>\
             <a class=\"line-number\" id=\"file-a-rs-L2\" href=\"#file-a-rs-L2\" tabindex=\"-1\" name=\"L2\">2</a>"
        );
        let mut other = String::new();
        gutter_html(&mut other, "file-b-rs", false, 0);
        assert_eq!(
            other.matches("line-number").count(),
            1,
            "an empty file has one line"
        );
        assert!(!other.contains("name="));
    }

    #[test]
    fn sections_escape_names_and_code_and_offer_markdown_both_ways() {
        let id = SnippetId::parse("abcdefABCDEF").unwrap();
        let html = sections_html(
            &id,
            &[
                SectionFile {
                    name: "<x>.rs",
                    language: "Rust",
                    lines: 1,
                    hash: "h1",
                    body: Body::Source("a < b"),
                },
                SectionFile {
                    name: "README.md",
                    language: "Markdown",
                    lines: 1,
                    hash: "h2",
                    body: Body::Highlighted {
                        html: "<pre>raw</pre>",
                        rendered: Some("<h1>Title</h1>"),
                    },
                },
            ],
        );
        assert!(html.contains("data-name=\"&lt;x&gt;.rs\""));
        assert!(html.contains("<pre class=\"source\">a &lt; b</pre>"));
        assert!(html.contains("href=\"/s/abcdefABCDEF/raw/%3Cx%3E.rs\""));
        assert!(html.contains("id=\"file-readme-md\""));
        assert!(html.contains("<div class=\"rendered markdown-body\"><h1>Title</h1></div>"));
        assert!(html.contains("id=\"file-readme-md-source\""));
        assert!(!html.contains("<script"));
    }
}

//! Markdown files, rendered: CommonMark with GitHub's tables, task lists
//! and strikethrough (pulldown-cmark), each fenced code block highlighted
//! by the same engine as every file, and the whole cleaned by an
//! allow-list (ammonia): raw HTML in a README is a reader's page, not the
//! author's. Links get `rel="nofollow ugc noopener"`; images load only
//! from this site or `data:` (the page's policy says the same). Rendering
//! happens in the job that highlights the file, never per view.

use std::collections::HashSet;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::classes::Class;

/// A fenced code block: its info string's first word, and its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub language: String,
    pub code: String,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
}

/// The fenced code blocks of `markdown`, in order: what to highlight
/// before [`render`].
pub fn fences(markdown: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut current: Option<Fence> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                current = Some(Fence {
                    language,
                    code: String::new(),
                });
            }
            Event::Text(text) => {
                if let Some(fence) = current.as_mut() {
                    fence.code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => fences.extend(current.take()),
            _ => {}
        }
    }
    fences
}

/// `markdown` as HTML, its code blocks replaced, in order, by
/// `highlighted` (an engine's fragment for each of [`fences`], or `None`
/// to show it plain), and the whole sanitised.
pub fn render(markdown: &str, highlighted: &[Option<String>]) -> String {
    let mut blocks = highlighted.iter();
    let mut in_block: Option<Option<&String>> = None;
    let mut plain = String::new();
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        Event::Start(Tag::CodeBlock(_)) => {
            in_block = Some(blocks.next().and_then(Option::as_ref));
            plain.clear();
            None
        }
        Event::Text(text) if in_block.is_some() => {
            plain.push_str(&text);
            None
        }
        Event::End(TagEnd::CodeBlock) => match in_block.take() {
            Some(Some(html)) => Some(Event::Html(html.clone().into())),
            _ => {
                let mut escaped = String::from("<pre><code>");
                pulldown_cmark::html::push_html(
                    &mut escaped,
                    std::iter::once(Event::Text(std::mem::take(&mut plain).into())),
                );
                escaped.push_str("</code></pre>");
                Some(Event::Html(escaped.into()))
            }
        },
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events);
    sanitise(&html)
}

/// The allow-list: ammonia's defaults (no scripts, no handlers, no
/// styles), plus what GitHub's Markdown writes (task-list checkboxes,
/// table alignment) and what the highlighter writes (classes on `pre`,
/// `code` and `span`, and its run elements, `x-k`…).
fn sanitise(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["input", "span"])
        .add_tags(Class::ALL.map(Class::element))
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("pre", ["class"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("th", ["align"])
        .add_tag_attributes("td", ["align"])
        .link_rel(Some("nofollow ugc noopener"))
        .url_schemes(HashSet::from(["http", "https", "mailto", "data"]))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("input", "type") => (value == "checkbox").then(|| value.into()),
            // Images from this site or inline; every other image would
            // tell another server who reads this page.
            ("img", "src") => {
                let inline = value.starts_with("data:image/");
                let ours = value.starts_with('/') && !value.starts_with("//");
                let relative = !value.contains(':') && !value.starts_with("//");
                (inline || ours || relative).then(|| value.into())
            }
            // Inline data is for images only.
            (_, "href") if value.trim_start().to_ascii_lowercase().starts_with("data:") => None,
            _ => Some(value.into()),
        });
    builder.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_markdown_renders_and_its_fences_take_the_highlighters_html() {
        let readme = "# Title\n\n- [x] done\n- [ ] todo\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n~~old~~\n\n```rust\nfn main() {}\n```\n";
        assert_eq!(
            fences(readme),
            vec![Fence {
                language: "rust".into(),
                code: "fn main() {}\n".into()
            }]
        );
        let html = render(
            readme,
            &[Some(
                "<pre class=\"hl\"><code><x-k>fn</x-k> <x-f>main</x-f>() {}\n</code></pre>".into(),
            )],
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("type=\"checkbox\" checked"), "{html}");
        assert_eq!(html.matches("type=\"checkbox\"").count(), 2, "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("<x-k>fn</x-k> <x-f>main</x-f>"), "{html}");
    }

    #[test]
    fn raw_html_links_and_images_are_made_safe() {
        let hostile = "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [y](https://example.com) [z](data:text/html,hi)\n\n![remote](https://tracker.example/p.gif) ![local](/favicon.svg)\n\n<div onclick=\"x()\" style=\"color:red\">text</div>";
        let html = render(hostile, &[]);
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "onclick",
            "style=",
            "tracker.example",
            "data:text",
        ] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("rel=\"nofollow ugc noopener\""), "{html}");
        assert!(html.contains("https://example.com"), "{html}");
        assert!(html.contains("src=\"/favicon.svg\""), "{html}");
    }

    #[test]
    fn a_fence_without_highlighting_is_escaped_text() {
        let html = render("```\n<b>x</b>\n```\n", &[None]);
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
    }
}

//! Browser-side reading aids: marking lines from the location hash, the
//! lines a new revision changed, and copying a file. They work on the DOM
//! directly: a snippet may have a hundred thousand lines, and a reactive
//! class on each would cost more than it is worth.

#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

/// Lines a hash names: in the file of `anchor` (`#file-main-rs-L10`,
/// `#file-main-rs-L10-L20`), or in the first file (`#L10`, the anchors of
/// one-file snippets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineHash {
    pub anchor: Option<String>,
    pub from: u32,
    pub to: u32,
}

/// Parses a line hash; ranges in either order. Anchors are lower case
/// (`files::anchors`), so the first `-L` starts the lines.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn parse_line_hash(hash: &str) -> Option<LineHash> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let (anchor, rest) = match hash.strip_prefix('L') {
        Some(rest) => (None, rest),
        None => {
            let at = hash.find("-L")?;
            (Some(hash[..at].to_owned()), &hash[at + 2..])
        }
    };
    let (a, b) = match rest.split_once("-L") {
        Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
        None => {
            let a: u32 = rest.parse().ok()?;
            (a, a)
        }
    };
    (a > 0 && b > 0).then(|| LineHash {
        anchor,
        from: a.min(b),
        to: a.max(b),
    })
}

/// The part of `range` within a file of `total` lines, if any.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn clamp_range((from, to): (u32, u32), total: u32) -> Option<(u32, u32)> {
    (from <= total).then(|| (from, to.min(total)))
}

#[cfg(feature = "hydrate")]
fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// The section of the file a hash names.
#[cfg(feature = "hydrate")]
fn section_of(doc: &web_sys::Document, anchor: Option<&str>) -> Option<web_sys::Element> {
    match anchor {
        Some(anchor) => doc
            .get_element_by_id(anchor)
            .filter(|el| el.class_list().contains("file")),
        None => doc.query_selector("#files > section.file").ok().flatten(),
    }
}

/// A file's line-number links, in order.
#[cfg(feature = "hydrate")]
fn line_links(section: &web_sys::Element) -> Option<web_sys::HtmlCollection> {
    Some(section.query_selector(".gutter").ok()??.children())
}

#[cfg(feature = "hydrate")]
/// Marks the lines the hash names (and unmarks the others), and brings the
/// first into view.
pub fn mark_from_hash() {
    let Some(doc) = document() else { return };
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    if let Ok(marked) = doc.query_selector_all(".gutter .line-number.marked") {
        for i in 0..marked.length() {
            if let Some(el) = marked
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                let _ = el.class_list().remove_1("marked");
            }
        }
    }
    if let Ok(overlays) = doc.query_selector_all(".code-view .line-mark") {
        for i in 0..overlays.length() {
            if let Some(el) = overlays
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            {
                el.set_hidden(true);
            }
        }
    }
    let Some(named) = parse_line_hash(&hash) else {
        return;
    };
    let Some(section) = section_of(&doc, named.anchor.as_deref()) else {
        return;
    };
    let Some(links) = line_links(&section) else {
        return;
    };
    // A hash may name lines far past the end (`#L1-L4294967295`): only
    // the file's own lines are marked, so the loop below stays short.
    let Some((from, to)) = clamp_range((named.from, named.to), links.length()) else {
        return;
    };
    for n in from..=to {
        if let Some(el) = links.item(n - 1) {
            let _ = el.class_list().add_1("marked");
        }
    }
    if let Some(overlay) = section
        .query_selector(".line-mark")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        place(&overlay, from, to);
        overlay.set_hidden(false);
    }
    if let Some(first) = links.item(from - 1) {
        first.scroll_into_view();
    }
}

/// Sets an overlay over lines `from..=to` (through CSS variables: the
/// page's policy allows no inline style).
#[cfg(feature = "hydrate")]
fn place(overlay: &web_sys::HtmlElement, from: u32, to: u32) {
    let _ = overlay.style().set_property("--from", &from.to_string());
    let _ = overlay
        .style()
        .set_property("--count", &(to - from + 1).to_string());
}

/// Marks the lines a new revision changed, in each file it changed.
#[cfg(feature = "hydrate")]
pub fn mark_changed(container: &web_sys::Element, changed: &[crate::domain::ChangedLines]) {
    let Some(doc) = document() else { return };
    let Ok(sections) = container.query_selector_all(":scope > section.file") else {
        return;
    };
    for n in 0..sections.length() {
        let Some(section) = sections
            .item(n)
            .and_then(|s| s.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        let name = section.get_attribute("data-name").unwrap_or_default();
        let Some(file) = changed.iter().find(|c| c.file == name) else {
            continue;
        };
        let (Some(links), Ok(Some(scroll))) =
            (line_links(&section), section.query_selector(".code-scroll"))
        else {
            continue;
        };
        let _ = section.class_list().add_1("changed");
        for &(from, to) in &file.lines {
            let Some((from, to)) = clamp_range((from.max(1), to.max(1)), links.length()) else {
                continue;
            };
            for line in from..=to {
                if let Some(el) = links.item(line - 1) {
                    let _ = el.class_list().add_1("changed");
                }
            }
            if let Some(mark) = doc
                .create_element("div")
                .ok()
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
            {
                mark.set_class_name("changed-mark");
                place(&mark, from, to);
                let _ = scroll.append_child(&mark);
            }
        }
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static LAST_CLICKED: std::cell::RefCell<Option<(String, u32)>> = const { std::cell::RefCell::new(None) };
}

/// A click on line `line` of the file `anchor`: that line (shift: the
/// range from the line clicked before, in the same file).
#[cfg(feature = "hydrate")]
pub fn set_hash_for_click(anchor: &str, line: u32, extend: bool) {
    let before = LAST_CLICKED.with(|c| c.borrow().clone());
    let hash = match before {
        Some((file, start)) if extend && file == anchor && start != line => {
            format!("#{anchor}-L{}-L{}", start.min(line), start.max(line))
        }
        _ => {
            LAST_CLICKED.with(|c| *c.borrow_mut() = Some((anchor.to_owned(), line)));
            format!("#{anchor}-L{line}")
        }
    };
    if let Some(window) = web_sys::window() {
        // replaceState keeps the back button for pages, not clicks; the
        // hashchange it does not fire is fired by marking directly.
        let _ = window
            .history()
            .and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash)));
        mark_from_hash();
    }
}

/// Clicks inside the files: a line number marks its line, a Copy button
/// copies its file's code. One listener for every file, here or pushed
/// later. Line clicks are handled before the islands router sees them, so
/// they never fetch the page again.
pub fn on_files_click(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        let Some(target) = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Ok(Some(link)) = target.closest("a.line-number") {
            let id = link.id();
            if let Some(line) = parse_line_hash(&id) {
                ev.prevent_default();
                set_hash_for_click(
                    line.anchor.as_deref().unwrap_or_default(),
                    line.from,
                    ev.shift_key(),
                );
            }
            return;
        }
        if let Ok(Some(button)) = target.closest("button.copy") {
            let code = button
                .closest("section.file")
                .ok()
                .flatten()
                .and_then(|section| section.query_selector(".highlighted").ok().flatten())
                .and_then(|code| code.text_content());
            if let Some(code) = code {
                copy_to_clipboard(code, button);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: String, button: web_sys::Element) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
            button.set_text_content(Some("Copied"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(anchor: Option<&str>, from: u32, to: u32) -> Option<LineHash> {
        Some(LineHash {
            anchor: anchor.map(str::to_owned),
            from,
            to,
        })
    }

    #[test]
    fn hashes_name_lines_and_ranges_in_a_file() {
        assert_eq!(parse_line_hash("#L10"), lines(None, 10, 10));
        assert_eq!(parse_line_hash("#L20-L10"), lines(None, 10, 20));
        assert_eq!(
            parse_line_hash("#file-main-rs-L10-L20"),
            lines(Some("file-main-rs"), 10, 20)
        );
        assert_eq!(
            parse_line_hash("file-a-b-2-L3"),
            lines(Some("file-a-b-2"), 3, 3)
        );
        assert_eq!(parse_line_hash("#L0"), None);
        assert_eq!(parse_line_hash("#file-main-rs"), None);
        assert_eq!(parse_line_hash("#top"), None);
        assert_eq!(parse_line_hash(""), None);
    }

    #[test]
    fn ranges_are_clamped_to_the_files_lines() {
        let huge = parse_line_hash("#L1-L4294967295").unwrap();
        assert_eq!(clamp_range((huge.from, huge.to), 12), Some((1, 12)));
        assert_eq!(clamp_range((20, 30), 12), None);
        assert_eq!(clamp_range((3, 5), 12), Some((3, 5)));
    }
}

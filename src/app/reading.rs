//! Browser-side reading aids: marking lines from the location hash, and
//! copying. They work on the DOM directly: a snippet may have a hundred
//! thousand lines, and a reactive class on each would cost more than it
//! is worth.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

/// Parses `#L10` or `#L10-L20` (either order) into an inclusive range.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn parse_line_hash(hash: &str) -> Option<(u32, u32)> {
    let rest = hash.strip_prefix('#').unwrap_or(hash).strip_prefix('L')?;
    let (a, b) = match rest.split_once("-L") {
        Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
        None => {
            let a: u32 = rest.parse().ok()?;
            (a, a)
        }
    };
    (a > 0 && b > 0).then(|| (a.min(b), a.max(b)))
}

/// The part of `range` within a snippet of `total` lines, if any.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn clamp_range((from, to): (u32, u32), total: u32) -> Option<(u32, u32)> {
    (from <= total).then(|| (from, to.min(total)))
}

#[cfg(feature = "hydrate")]
fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
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
    let overlay = doc
        .query_selector(".code-view .line-mark")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    // A hash may name lines far past the end (`#L1-L4294967295`): only
    // the snippet's own lines are marked, so the loop below stays short.
    let total = doc
        .query_selector_all(".gutter .line-number")
        .map(|l| l.length())
        .unwrap_or(0);
    let Some((from, to)) = parse_line_hash(&hash).and_then(|range| clamp_range(range, total))
    else {
        if let Some(overlay) = overlay {
            overlay.set_hidden(true);
        }
        return;
    };
    let mut first = None;
    for n in from..=to {
        if let Some(el) = doc.get_element_by_id(&format!("L{n}")) {
            let _ = el.class_list().add_1("marked");
            first.get_or_insert(el);
        }
    }
    if let Some(overlay) = overlay {
        let _ = overlay.style().set_property("--from", &from.to_string());
        let _ = overlay
            .style()
            .set_property("--count", &(to - from + 1).to_string());
        overlay.set_hidden(false);
    }
    if let Some(first) = first {
        first.scroll_into_view();
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static LAST_CLICKED: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

#[cfg(feature = "hydrate")]
pub fn set_hash_for_click(line: u32, extend: bool) {
    let anchor = LAST_CLICKED.with(|c| c.get());
    let hash = match anchor {
        Some(start) if extend && start != line => {
            format!("#L{}-L{}", start.min(line), start.max(line))
        }
        _ => {
            LAST_CLICKED.with(|c| c.set(Some(line)));
            format!("#L{line}")
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

#[cfg(feature = "hydrate")]
pub fn copy_to_clipboard(text: String, copied: RwSignal<bool>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
            copied.set(true);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_name_lines_and_ranges() {
        assert_eq!(parse_line_hash("#L10"), Some((10, 10)));
        assert_eq!(parse_line_hash("#L10-L20"), Some((10, 20)));
        assert_eq!(parse_line_hash("#L20-L10"), Some((10, 20)));
        assert_eq!(parse_line_hash("#L0"), None);
        assert_eq!(parse_line_hash("#top"), None);
        assert_eq!(parse_line_hash(""), None);
    }

    #[test]
    fn ranges_are_clamped_to_the_snippets_lines() {
        let huge = parse_line_hash("#L1-L4294967295").unwrap();
        assert_eq!(clamp_range(huge, 12), Some((1, 12)));
        assert_eq!(clamp_range((20, 30), 12), None);
        assert_eq!(clamp_range((3, 5), 12), Some((3, 5)));
    }
}

//! The stylesheet for highlighted code, generated from syntect themes at
//! start-up: a light theme, and a dark one for readers whose system asks
//! for it or who chose it with the page's toggle.

use super::syntect::CLASS_STYLE;
use two_face::theme::{EmbeddedThemeName, extra};

/// CSS for `.hl-*` classes: light by default, dark under
/// `prefers-color-scheme: dark` unless the page says `data-theme="light"`,
/// and dark whenever the page says `data-theme="dark"`.
pub fn stylesheet() -> String {
    let themes = extra();
    let light = syntect::html::css_for_theme_with_class_style(
        themes.get(EmbeddedThemeName::InspiredGithub),
        CLASS_STYLE,
    )
    .unwrap_or_default();
    let dark = syntect::html::css_for_theme_with_class_style(
        themes.get(EmbeddedThemeName::OneHalfDark),
        CLASS_STYLE,
    )
    .unwrap_or_default();
    format!(
        "{light}\n@media (prefers-color-scheme: dark) {{\n:root:not([data-theme=\"light\"]) {{\n{dark}\n}}\n}}\n:root[data-theme=\"dark\"] {{\n{dark}\n}}\n"
    )
}

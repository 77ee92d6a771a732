//! The stylesheet for highlighted code (`/theme.css`): one palette for the
//! shared class vocabulary, light by default, dark under
//! `prefers-color-scheme: dark` unless the page says `data-theme="light"`,
//! and dark whenever the page says `data-theme="dark"`.
//!
//! Snippets highlighted before the shared vocabulary carry syntect's
//! scope classes (`hl-keyword hl-control`…); the stylesheet those need is
//! generated from the same syntect themes as before and appended, so old
//! snippets keep rendering as they did.

use two_face::theme::{EmbeddedThemeName, extra};

use super::classes::Class;

/// The colours of one theme, by class. `None` leaves the text's colour.
struct Palette {
    text: &'static str,
    background: &'static str,
    colors: fn(Class) -> Option<(&'static str, Style)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Normal,
    Italic,
    Bold,
}

/// A light palette in the spirit of GitHub's.
fn light(class: Class) -> Option<(&'static str, Style)> {
    use Class::*;
    use Style::*;
    Some(match class {
        Keyword => ("#cf222e", Normal),
        String => ("#0a3069", Normal),
        Escape => ("#0550ae", Bold),
        Regex => ("#116329", Normal),
        Comment => ("#6e7781", Italic),
        Number => ("#0550ae", Normal),
        Constant => ("#0550ae", Normal),
        Function => ("#8250df", Normal),
        Builtin => ("#8250df", Normal),
        Macro => ("#8250df", Bold),
        Type => ("#953800", Normal),
        Variable => ("#cf222e", Italic),
        Parameter => ("#24292f", Italic),
        Property => ("#0550ae", Normal),
        Punctuation => ("#57606a", Normal),
        Attribute => ("#116329", Normal),
        Tag => ("#116329", Normal),
        TagAttribute => ("#0550ae", Normal),
        Module => ("#953800", Normal),
        Label => ("#953800", Italic),
        Heading => ("#0550ae", Bold),
        Emphasis => ("#24292f", Italic),
        Strong => ("#24292f", Bold),
        Link => ("#0a3069", Normal),
        Inserted => ("#116329", Normal),
        Deleted => ("#82071e", Normal),
    })
}

/// A dark palette in the spirit of One Dark.
fn dark(class: Class) -> Option<(&'static str, Style)> {
    use Class::*;
    use Style::*;
    Some(match class {
        Keyword => ("#c678dd", Normal),
        String => ("#98c379", Normal),
        Escape => ("#56b6c2", Bold),
        Regex => ("#56b6c2", Normal),
        Comment => ("#7f848e", Italic),
        Number => ("#d19a66", Normal),
        Constant => ("#d19a66", Normal),
        Function => ("#61afef", Normal),
        Builtin => ("#56b6c2", Normal),
        Macro => ("#61afef", Bold),
        Type => ("#e5c07b", Normal),
        Variable => ("#e06c75", Italic),
        Parameter => ("#d7dae0", Italic),
        Property => ("#e06c75", Normal),
        Punctuation => ("#abb2bf", Normal),
        Attribute => ("#d19a66", Normal),
        Tag => ("#e06c75", Normal),
        TagAttribute => ("#d19a66", Normal),
        Module => ("#e5c07b", Normal),
        Label => ("#e5c07b", Italic),
        Heading => ("#e06c75", Bold),
        Emphasis => ("#c678dd", Italic),
        Strong => ("#d19a66", Bold),
        Link => ("#61afef", Normal),
        Inserted => ("#98c379", Normal),
        Deleted => ("#e06c75", Normal),
    })
}

const LIGHT: Palette = Palette {
    text: "#24292f",
    background: "#ffffff",
    colors: light,
};
const DARK: Palette = Palette {
    text: "#abb2bf",
    background: "#282c34",
    colors: dark,
};

/// The rules of one palette, each under `scope` (`""` or a theme guard).
fn rules(palette: &Palette, scope: &str) -> String {
    let mut css = format!(
        "{scope}.hl {{ color: {}; background-color: {}; }}\n",
        palette.text, palette.background
    );
    for class in Class::ALL {
        if let Some((color, style)) = (palette.colors)(class) {
            let style = match style {
                Style::Normal => "",
                Style::Italic => " font-style: italic;",
                Style::Bold => " font-weight: 600;",
            };
            // The element the writer uses, and the class fragments stored
            // before it carry (`<span class=k>`).
            css.push_str(&format!(
                "{scope}.hl {}, {scope}.hl .{} {{ color: {color};{style} }}\n",
                class.element(),
                class.css()
            ));
        }
    }
    css
}

/// The whole stylesheet.
pub fn stylesheet() -> String {
    let light_rules = rules(&LIGHT, "");
    let dark_media = rules(&DARK, ":root:not([data-theme=\"light\"]) ");
    let dark_chosen = rules(&DARK, ":root[data-theme=\"dark\"] ");
    format!(
        "{light_rules}@media (prefers-color-scheme: dark) {{\n{dark_media}}}\n{dark_chosen}\n/* Snippets highlighted before the shared classes. */\n{}",
        legacy_stylesheet()
    )
}

/// syntect's scope classes, as the engine wrote them before.
fn legacy_stylesheet() -> String {
    let style = syntect::html::ClassStyle::SpacedPrefixed { prefix: "hl-" };
    let themes = extra();
    let light = syntect::html::css_for_theme_with_class_style(
        themes.get(EmbeddedThemeName::InspiredGithub),
        style,
    )
    .unwrap_or_default();
    let dark = syntect::html::css_for_theme_with_class_style(
        themes.get(EmbeddedThemeName::OneHalfDark),
        style,
    )
    .unwrap_or_default();
    format!(
        "{light}\n@media (prefers-color-scheme: dark) {{\n:root:not([data-theme=\"light\"]) {{\n{dark}\n}}\n}}\n:root[data-theme=\"dark\"] {{\n{dark}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_coloured_in_both_themes_and_old_classes_still_are() {
        let css = stylesheet();
        for class in Class::ALL {
            let element = format!(".hl {}, ", class.element());
            let rule = format!(".hl .{} {{", class.css());
            assert_eq!(css.matches(&element).count(), 3, "{element}");
            assert_eq!(css.matches(&rule).count(), 3, "{rule}");
        }
        assert!(css.contains(".hl-keyword"), "the legacy classes are kept");
    }
}

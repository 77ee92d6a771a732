//! A snippet's files: what one is (a name, a language, code), what lists
//! and events say of one without its code, and the anchors a page gives
//! each.

use serde::{Deserialize, Serialize};

/// Default for the `max_files` setting: files one snippet may hold.
pub const DEFAULT_MAX_FILES: usize = 20;

/// Default for the `max_revisions` setting: revisions a snippet keeps.
pub const DEFAULT_MAX_REVISIONS: u32 = 100;

/// One file of one revision, as its page and the API read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileView {
    /// Unique in its revision.
    pub name: String,
    /// Whether a person gave the name (the server names the others
    /// `file1`, `file2`...).
    #[serde(default = "named_by_default")]
    pub named: bool,
    /// The engine's name for the grammar, e.g. `Rust`.
    pub language: String,
    pub code: String,
    pub bytes: u64,
    pub lines: u32,
    /// The SHA-256 of the code, in hex: the same content has the same hash
    /// in every revision and every snippet.
    pub hash: String,
    /// The highlighted fragment, once the revision is highlighted.
    pub html: Option<String>,
    /// A Markdown file's rendered HTML (sanitised), once highlighted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
}

fn named_by_default() -> bool {
    true
}

impl FileView {
    pub fn meta(&self) -> FileMeta {
        FileMeta {
            name: self.name.clone(),
            named: self.named,
            language: self.language.clone(),
            bytes: self.bytes,
            lines: self.lines,
            hash: self.hash.clone(),
        }
    }
}

/// A file as lists, revisions and events name it: never its code or HTML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileMeta {
    pub name: String,
    #[serde(default = "named_by_default")]
    pub named: bool,
    pub language: String,
    pub bytes: u64,
    pub lines: u32,
    pub hash: String,
}

/// `&`, `<`, `>`, `"` and `'` escaped, for HTML text and attribute
/// values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A name in a path: everything but unreserved characters
/// percent-encoded.
pub fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where one file's raw code is.
pub fn raw_path(id: &super::SnippetId, name: &str) -> String {
    format!("/s/{id}/raw/{}", percent_encode(name))
}

/// Whether a file is shown rendered (Markdown) beside its source.
pub fn is_markdown(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}

/// Each file's anchor on its page, in order: `file-` and the name in
/// lower case with every run of other characters as one `-`
/// (`main.rs` is `file-main-rs`), then `-2`, `-3`... where two names would
/// give the same anchor (`a.b` and `a-b`). Its lines are `{anchor}-L{n}`.
pub fn anchors<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    // A revision has at most a few dozen files: a list is enough, and
    // keeps hashing out of the browser's bundle.
    let mut taken: Vec<String> = Vec::new();
    names
        .into_iter()
        .map(|name| {
            let mut slug = String::from("file-");
            let mut dash = false;
            for c in name.chars().flat_map(char::to_lowercase) {
                if c.is_alphanumeric() {
                    slug.push(c);
                    dash = false;
                } else if !dash {
                    slug.push('-');
                    dash = true;
                }
            }
            let slug = slug.trim_end_matches('-').to_owned();
            let mut anchor = slug.clone();
            let mut n = 2;
            while taken.contains(&anchor) {
                anchor = format!("{slug}-{n}");
                n += 1;
            }
            taken.push(anchor.clone());
            anchor
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_readable_and_unique() {
        assert_eq!(
            anchors(["main.rs", "Cargo.toml", "a.b", "a-b", "a_b", "README.md"]),
            vec![
                "file-main-rs",
                "file-cargo-toml",
                "file-a-b",
                "file-a-b-2",
                "file-a-b-3",
                "file-readme-md"
            ]
        );
        assert_eq!(anchors(["résumé.txt"]), vec!["file-résumé-txt"]);
        assert_eq!(anchors(["...", "!!!"]), vec!["file", "file-2"]);
    }

    #[test]
    fn markdown_is_known_by_its_extension() {
        assert!(is_markdown("README.md"));
        assert!(is_markdown("notes.MARKDOWN"));
        assert!(!is_markdown("md"));
        assert!(!is_markdown("main.rs"));
    }
}

//! The catalogue of languages: every grammar the engine knows, the names
//! and aliases people type for them, and detection when they type none.

use std::{collections::HashMap, sync::Arc};

use syntect::parsing::SyntaxSet;

use crate::domain::{Filename, LanguageInfo};

/// Names people use that are neither a grammar's name nor one of its file
/// extensions. Pairs whose grammar is missing are skipped.
const EXTRA_ALIASES: &[(&str, &str)] = &[
    ("c#", "C#"),
    ("csharp", "C#"),
    ("cpp", "C++"),
    ("cplusplus", "C++"),
    ("objc", "Objective-C"),
    ("objective-c", "Objective-C"),
    ("shell", "Bourne Again Shell (bash)"),
    ("bash", "Bourne Again Shell (bash)"),
    ("sh", "Bourne Again Shell (bash)"),
    ("zsh", "Bourne Again Shell (bash)"),
    ("golang", "Go"),
    ("js", "JavaScript"),
    ("javascript", "JavaScript"),
    ("node", "JavaScript"),
    ("ts", "TypeScript"),
    ("py", "Python"),
    ("python3", "Python"),
    ("rb", "Ruby"),
    ("rs", "Rust"),
    ("yml", "YAML"),
    ("md", "Markdown"),
    ("docker", "Dockerfile"),
    ("make", "Makefile"),
    ("text", "Plain Text"),
    ("plain", "Plain Text"),
    ("txt", "Plain Text"),
    ("tex", "LaTeX"),
    ("ps1", "PowerShell"),
    ("powershell", "PowerShell"),
    ("elisp", "Lisp"),
    ("emacs-lisp", "Lisp"),
    ("viml", "VimL"),
    ("vim", "VimL"),
];

/// The grammar names of the engine, with lookup by any alias.
#[derive(Clone)]
pub struct Languages {
    syntaxes: Arc<SyntaxSet>,
    list: Arc<Vec<LanguageInfo>>,
    by_alias: Arc<HashMap<String, String>>,
    /// Every name as `<option>`s, written once for every page's datalist.
    options_html: Arc<str>,
}

impl Languages {
    pub fn new(syntaxes: Arc<SyntaxSet>) -> Self {
        let mut list: Vec<LanguageInfo> = syntaxes
            .syntaxes()
            .iter()
            .filter(|s| !s.hidden)
            .map(|s| LanguageInfo {
                name: s.name.clone(),
                aliases: s.file_extensions.clone(),
            })
            .collect();
        for (alias, name) in EXTRA_ALIASES {
            if let Some(info) = list.iter_mut().find(|l| l.name == *name)
                && !info.aliases.iter().any(|a| a.eq_ignore_ascii_case(alias))
            {
                info.aliases.push((*alias).to_owned());
            }
        }
        list.sort_by_key(|l| l.name.to_lowercase());
        list.dedup_by(|a, b| a.name == b.name);
        // Names win over aliases: insert aliases first, then names on top.
        let mut by_alias = HashMap::new();
        for info in &list {
            for alias in &info.aliases {
                by_alias
                    .entry(alias.to_lowercase())
                    .or_insert_with(|| info.name.clone());
            }
        }
        for info in &list {
            by_alias.insert(info.name.to_lowercase(), info.name.clone());
        }
        let options_html = language_options_html(list.iter().map(|l| l.name.as_str())).into();
        Languages {
            syntaxes,
            list: Arc::new(list),
            by_alias: Arc::new(by_alias),
            options_html,
        }
    }

    /// Loads the grammars bat ships (syntect's defaults among them).
    pub fn load() -> Self {
        Languages::new(Arc::new(two_face::syntax::extra_newlines()))
    }

    /// Every language name as the `<option>`s of a `<datalist>`.
    pub fn options_html(&self) -> Arc<str> {
        Arc::clone(&self.options_html)
    }

    pub fn syntaxes(&self) -> &Arc<SyntaxSet> {
        &self.syntaxes
    }

    pub fn list(&self) -> &[LanguageInfo] {
        &self.list
    }

    /// The grammar a name or alias stands for, case-insensitively.
    pub fn resolve(&self, name: &str) -> Option<&str> {
        self.by_alias
            .get(&name.trim().to_lowercase())
            .map(String::as_str)
    }

    /// Guesses the language: from the file name, then the first line
    /// (shebang, `<?php`, `<?xml`…), then an editor modeline (Vim's
    /// `ft=`, Emacs' `-*- mode -*-`), then telltale content; else plain
    /// text.
    pub fn detect(&self, filename: Option<&Filename>, code: &str) -> String {
        if let Some(filename) = filename
            && let Some(s) = self
                .syntaxes
                .find_syntax_by_extension(filename.extension())
                .or_else(|| {
                    self.syntaxes
                        .find_syntax_by_extension(&filename.extension().to_lowercase())
                })
        {
            return s.name.clone();
        }
        let first_line = code.lines().next().unwrap_or("");
        if let Some(s) = self.syntaxes.find_syntax_by_first_line(first_line) {
            return s.name.clone();
        }
        if let Some(name) = modeline(code).and_then(|mode| self.resolve(&mode)) {
            return name.to_owned();
        }
        if let Some(name) = content_guess(code).and_then(|guess| self.resolve(guess)) {
            return name.to_owned();
        }
        self.syntaxes.find_syntax_plain_text().name.clone()
    }
}

/// The language an editor modeline in the first or last five lines names.
fn modeline(code: &str) -> Option<String> {
    let lines: Vec<&str> = code.lines().collect();
    let edges = lines.iter().take(5).chain(lines.iter().rev().take(5));
    for line in edges {
        // Vim: `vim: set ft=python :` or `vi: filetype=python`.
        if line.contains("vim:") || line.contains("vi:") || line.contains("ex:") {
            for key in ["filetype=", "ft=", "syntax=", "syn="] {
                if let Some(at) = line.find(key) {
                    let value: String = line[at + key.len()..]
                        .chars()
                        .take_while(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_')
                        })
                        .collect();
                    if !value.is_empty() {
                        return Some(value);
                    }
                }
            }
        }
        // Emacs: `-*- mode: python -*-` or `-*- python -*-`.
        if let Some(start) = line.find("-*-") {
            let rest = &line[start + 3..];
            if let Some(end) = rest.find("-*-") {
                let inner = rest[..end].trim();
                let mode = inner
                    .split(';')
                    .find_map(|part| part.trim().strip_prefix("mode:").map(str::trim))
                    .unwrap_or(if inner.contains(':') { "" } else { inner });
                if !mode.is_empty() {
                    return Some(mode.to_owned());
                }
            }
        }
    }
    None
}

/// Telltale lines of common languages, scored: a guess only when one
/// language clearly leads. Cheap substring checks on the first 200 lines.
fn content_guess(code: &str) -> Option<&'static str> {
    const MARKERS: &[(&str, &[&str])] = &[
        (
            "Rust",
            &[
                "fn main(",
                "let mut ",
                "impl ",
                "pub fn ",
                "use std::",
                "#[derive(",
            ],
        ),
        (
            "Python",
            &[
                "def ",
                "import ",
                "from __future__",
                "elif ",
                "self.",
                "print(",
            ],
        ),
        ("Go", &["package main", "func ", ":= ", "import (", "fmt."]),
        (
            "C",
            &[
                "#include <stdio.h>",
                "#include <stdlib.h>",
                "int main(",
                "printf(",
                "malloc(",
            ],
        ),
        (
            "C++",
            &[
                "#include <iostream>",
                "std::",
                "template<",
                "namespace ",
                "cout <<",
            ],
        ),
        (
            "Java",
            &[
                "public class ",
                "public static void main",
                "System.out.",
                "import java.",
            ],
        ),
        (
            "JavaScript",
            &[
                "function ",
                "const ",
                "=> {",
                "console.log(",
                "require(",
                "document.",
            ],
        ),
        (
            "Ruby",
            &[
                "require '",
                "def ",
                "end
",
                "puts ",
                "attr_accessor",
            ],
        ),
        ("PHP", &["<?php", "$this->", "echo "]),
        ("HTML", &["<!DOCTYPE html", "<html", "<div", "</body>"]),
        ("SQL", &["SELECT ", "INSERT INTO", "CREATE TABLE", "WHERE "]),
        (
            "Bourne Again Shell (bash)",
            &[
                "#!/bin/sh",
                "echo $",
                "fi
",
                "then
",
                "export ",
            ],
        ),
    ];
    let sample: String = code.lines().take(200).collect::<Vec<_>>().join("\n");
    let mut scores: Vec<(usize, &str)> = MARKERS
        .iter()
        .map(|(name, markers)| {
            (
                markers.iter().filter(|m| sample.contains(*m)).count(),
                *name,
            )
        })
        .collect();
    scores.sort_by_key(|score| std::cmp::Reverse(score.0));
    match scores.as_slice() {
        [(best, name), (second, _), ..] if *best >= 2 && best > second => Some(name),
        _ => None,
    }
}

/// The `<option>`s of a `<datalist>` offering every language name.
fn language_options_html<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut html = String::new();
    for name in names {
        html.push_str("<option value=\"");
        for c in name.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '"' => html.push_str("&quot;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                c => html.push(c),
            }
        }
        html.push_str("\"></option>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn languages() -> &'static Languages {
        static LANGUAGES: OnceLock<Languages> = OnceLock::new();
        LANGUAGES.get_or_init(Languages::load)
    }

    #[test]
    fn names_and_aliases_resolve_case_insensitively() {
        let l = languages();
        assert_eq!(l.resolve("rust"), Some("Rust"));
        assert_eq!(l.resolve("RS"), Some("Rust"));
        assert_eq!(l.resolve("c++"), Some("C++"));
        assert_eq!(l.resolve("cpp"), Some("C++"));
        assert_eq!(l.resolve("c#"), Some("C#"));
        assert_eq!(l.resolve("csharp"), Some("C#"));
        assert_eq!(l.resolve("Python"), Some("Python"));
        assert_eq!(l.resolve("klingon"), None);
    }

    #[test]
    fn detection_uses_filename_then_first_line() {
        let l = languages();
        let main_rs = Filename::parse(Some("main.rs")).unwrap();
        assert_eq!(l.detect(main_rs.as_ref(), "x"), "Rust");
        let makefile = Filename::parse(Some("Makefile")).unwrap();
        assert_eq!(l.detect(makefile.as_ref(), "all:\n"), "Makefile");
        assert_eq!(
            l.detect(None, "#!/usr/bin/env python3\nprint(1)\n"),
            "Python"
        );
        assert_eq!(l.detect(None, "hello"), "Plain Text");
        assert_eq!(l.detect(None, "x = 1\n# vim: set ft=python :\n"), "Python");
        assert_eq!(l.detect(None, "; -*- mode: lisp -*-\n(a b)\n"), "Lisp");
        assert_eq!(
            l.detect(None, "use std::io;\n\nfn main() {\n    let mut x = 1;\n}\n"),
            "Rust"
        );
        assert_eq!(
            l.detect(None, "import os\n\ndef main():\n    print(os.getcwd())\n"),
            "Python"
        );
    }

    #[test]
    fn every_language_tree_sitter_serves_is_in_the_catalogue() {
        let l = languages();
        for name in crate::server::highlight::TreeSitter::languages() {
            assert_eq!(l.resolve(name), Some(name), "{name}");
        }
    }

    #[test]
    fn the_catalogue_is_large_and_sorted() {
        let list = languages().list();
        assert!(list.len() > 100, "only {} languages", list.len());
        assert!(
            list.windows(2)
                .all(|w| w[0].name.to_lowercase() <= w[1].name.to_lowercase())
        );
    }
}

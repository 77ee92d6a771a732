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
            if let Some(info) = list.iter_mut().find(|l| l.name == *name) {
                if !info.aliases.iter().any(|a| a.eq_ignore_ascii_case(alias)) {
                    info.aliases.push((*alias).to_owned());
                }
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
        Languages {
            syntaxes,
            list: Arc::new(list),
            by_alias: Arc::new(by_alias),
        }
    }

    /// Loads the grammars bat ships (syntect's defaults among them).
    pub fn load() -> Self {
        Languages::new(Arc::new(two_face::syntax::extra_newlines()))
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
    /// (shebang, modeline, `<?php`…), else plain text.
    pub fn detect(&self, filename: Option<&Filename>, code: &str) -> String {
        if let Some(filename) = filename {
            if let Some(s) = self
                .syntaxes
                .find_syntax_by_extension(filename.extension())
                .or_else(|| {
                    self.syntaxes
                        .find_syntax_by_extension(&filename.extension().to_lowercase())
                })
            {
                return s.name.clone();
            }
        }
        let first_line = code.lines().next().unwrap_or("");
        if let Some(s) = self.syntaxes.find_syntax_by_first_line(first_line) {
            return s.name.clone();
        }
        self.syntaxes.find_syntax_plain_text().name.clone()
    }
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

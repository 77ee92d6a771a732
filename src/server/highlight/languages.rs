//! The catalogue of languages: every grammar the engine knows, the names
//! and aliases people type for them, and detection when they type none.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
};

use syntect::parsing::{SyntaxReference, SyntaxSet};

use super::pygments::{self, PygmentsSyntax};
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
    /// Pygments' lexers for the languages `syntaxes` lacks, each parsed on
    /// first use.
    pygments: Arc<Vec<PygmentsSyntax>>,
    /// File extensions (and whole file names) that Pygments' file
    /// patterns give a language and the base set does not detect by, to
    /// that language: a converted lexer's, or one of ours that known.txt
    /// pairs with a Pygments lexer (`.fun` is Standard ML).
    pygments_by_extension: Arc<HashMap<String, String>>,
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
        // Hidden syntaxes count too: bat detects by their extensions.
        let mut base_names: HashSet<String> = syntaxes
            .syntaxes()
            .iter()
            .map(|s| s.name.to_lowercase())
            .collect();
        base_names.extend(EXTRA_ALIASES.iter().map(|(alias, _)| alias.to_lowercase()));
        let base_extensions: HashSet<String> = syntaxes
            .syntaxes()
            .iter()
            .flat_map(|s| &s.file_extensions)
            .map(|e| e.to_lowercase())
            .collect();
        let pygments = pygments::syntaxes_beside(&base_names, &base_extensions);
        let mut pygments_by_extension = HashMap::new();
        for (name, extensions) in pygments::KNOWN_EXTENSIONS {
            for extension in *extensions {
                let extension = extension.to_lowercase();
                if !base_extensions.contains(&extension) {
                    pygments_by_extension
                        .entry(extension)
                        .or_insert_with(|| (*name).to_owned());
                }
            }
        }
        for syntax in &pygments {
            for extension in &syntax.extensions {
                pygments_by_extension
                    .entry(extension.to_lowercase())
                    .or_insert_with(|| syntax.name.to_owned());
            }
            let aliases = syntax.extensions.iter().chain(&syntax.aliases);
            list.push(LanguageInfo {
                name: syntax.name.to_owned(),
                aliases: aliases.map(|a| (*a).to_owned()).collect(),
            });
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
            pygments: Arc::new(pygments),
            pygments_by_extension: Arc::new(pygments_by_extension),
            list: Arc::new(list),
            by_alias: Arc::new(by_alias),
            options_html,
        }
    }

    /// Loads the grammars bat ships (syntect's defaults among them), and
    /// indexes Pygments' converted lexers beside them. Once per process:
    /// every clone shares the syntaxes parsed so far.
    pub fn load() -> Self {
        static LOADED: OnceLock<Languages> = OnceLock::new();
        LOADED
            .get_or_init(|| Languages::new(Arc::new(two_face::syntax::extra_newlines())))
            .clone()
    }

    /// The languages served by a converted Pygments lexer.
    pub fn converted(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.pygments.iter().map(|s| s.name)
    }

    /// The syntax that highlights `name`, with the set it lives in.
    pub fn syntax(&self, name: &str) -> Option<(&SyntaxSet, &SyntaxReference)> {
        if let Some(syntax) = self.syntaxes.find_syntax_by_name(name) {
            return Some((&self.syntaxes, syntax));
        }
        let converted = self.pygments.iter().find(|s| s.name == name)?;
        let set = converted.syntax_set()?;
        Some((set, &set.syntaxes()[0]))
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
        if let Some(name) = filename.and_then(|f| self.by_file_name(f, code)) {
            return name;
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

    /// The language a file name says: the whole name first (`meson.build`
    /// is Meson, not the NAnt of `.build`), then an extension several
    /// languages share, settled by the code, then the extension.
    fn by_file_name(&self, filename: &Filename, code: &str) -> Option<String> {
        let whole = filename.as_str();
        let extension = filename.extension();
        let by_key = |key: &str| -> Option<String> {
            let lower = key.to_lowercase();
            if let Some(s) = self
                .syntaxes
                .find_syntax_by_extension(key)
                .or_else(|| self.syntaxes.find_syntax_by_extension(&lower))
            {
                return Some(s.name.clone());
            }
            self.pygments_by_extension.get(&lower).cloned()
        };
        // `.htaccess` is also listed as the extension `htaccess`.
        let undotted = whole.strip_prefix('.').unwrap_or(whole);
        for name in [whole, undotted] {
            if name != extension
                && let Some(found) = by_key(name)
            {
                return Some(found);
            }
        }
        if let Some(name) = shared_extension(extension, code).and_then(|n| self.resolve(n)) {
            return Some(name.to_owned());
        }
        by_key(extension)
    }
}

/// A language an extension may stand for, and the line starts that say so.
type Candidate = (&'static str, &'static [&'static str]);

/// Extensions several languages use, and how to tell them apart by the
/// code: for each candidate, telltale line starts (after indentation);
/// the candidate with the most lines that start so wins, and a tie or no
/// line at all leaves the extension to its usual language. The first
/// candidate of a row with no markers wins whenever no other scores.
const SHARED_EXTENSIONS: &[(&str, &[Candidate])] = &[
    (
        "m",
        &[
            ("MATLAB", &["function ", "%", "end", "disp(", "fprintf("]),
            (
                "Objective-C",
                &[
                    "#import",
                    "#include",
                    "@interface",
                    "@implementation",
                    "@end",
                    "- (",
                    "+ (",
                ],
            ),
        ],
    ),
    (
        "fs",
        &[
            (
                "F#",
                &[
                    "let ",
                    "open ",
                    "module ",
                    "type ",
                    "namespace ",
                    "member ",
                    "//",
                    "|",
                ],
            ),
            (
                "GLSL",
                &[
                    "#version",
                    "uniform ",
                    "varying ",
                    "precision ",
                    "void main",
                    "layout(",
                ],
            ),
        ],
    ),
    (
        "v",
        &[
            (
                "Rocq Prover",
                &[
                    "Require ",
                    "Theorem ",
                    "Lemma ",
                    "Proof.",
                    "Qed.",
                    "Definition ",
                    "Inductive ",
                    "Fixpoint ",
                    "Module ",
                ],
            ),
            (
                "Verilog",
                &[
                    "module ",
                    "endmodule",
                    "always ",
                    "assign ",
                    "input ",
                    "output ",
                    "wire ",
                    "reg ",
                    "`",
                ],
            ),
        ],
    ),
    (
        "pl",
        &[
            ("Prolog", &[":-", "%"]),
            (
                "Perl",
                &["use ", "my ", "sub ", "package ", "print ", "#", "}"],
            ),
        ],
    ),
    (
        "bas",
        &[
            (
                "VB.net",
                &[
                    "Imports ",
                    "Module ",
                    "End Module",
                    "Public ",
                    "Private ",
                    "Dim ",
                    "End Sub",
                    "End Function",
                    "Namespace ",
                ],
            ),
            (
                "QBasic",
                &[
                    "DECLARE ", "DIM ", "PRINT ", "GOSUB ", "GOTO ", "END SUB", "CLS",
                ],
            ),
        ],
    ),
    // bat reads these as generic Lisp; Scheme has a lexer of its own.
    ("scm", &[("Scheme", &[])]),
    ("ss", &[("Scheme", &[])]),
    ("sld", &[("Scheme", &[])]),
    // bat's `.re` is its regular-expression helper syntax.
    ("re", &[("ReasonML", &[])]),
    // Wikipedia's own name for its markup; neither bat nor Pygments lists it.
    ("wikitext", &[("MediaWiki", &[])]),
];

/// The language the code picks among those sharing `extension`, if any.
fn shared_extension(extension: &str, code: &str) -> Option<&'static str> {
    let (_, candidates) = SHARED_EXTENSIONS
        .iter()
        .find(|(ext, _)| *ext == extension)?;
    if let [(only, [])] = candidates {
        return Some(only);
    }
    let mut scores: Vec<(usize, &str)> = candidates
        .iter()
        .map(|(name, starts)| {
            let lines = code
                .lines()
                .take(500)
                .filter(|line| {
                    let line = line.trim_start();
                    starts.iter().any(|start| line.starts_with(start))
                })
                .count();
            (lines, *name)
        })
        .collect();
    scores.sort_by_key(|score| std::cmp::Reverse(score.0));
    match scores.as_slice() {
        [(best, name), (second, _), ..] if *best > *second => Some(name),
        _ => None,
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

    /// convert.py skips the lexers `known.txt` lists; a lexer it wrote
    /// that the catalogue then leaves out (bat's grammar has its name or an
    /// alias) is dead weight in the binary.
    #[test]
    fn every_vendored_pygments_syntax_is_taken_in() {
        let l = languages();
        let left_out: Vec<&str> = super::pygments::CONVERTED
            .iter()
            .map(|c| c.0)
            .filter(|name| !l.list().iter().any(|info| info.name == *name))
            .collect();
        assert!(
            left_out.is_empty(),
            "add these to syntaxes/pygments/known.txt and run convert.py again:\n{}",
            left_out.join("\n")
        );
    }

    #[test]
    fn pygments_syntaxes_are_detected_by_extension_and_highlight() {
        let l = languages();
        let file = Filename::parse(Some("family.prolog")).unwrap();
        assert_eq!(l.detect(file.as_ref(), "x"), "Prolog");
        assert_eq!(l.resolve("prolog"), Some("Prolog"));
        // bat's Perl keeps `.pl`, which Pygments gives Prolog too.
        let perl = Filename::parse(Some("x.pl")).unwrap();
        assert_eq!(l.detect(perl.as_ref(), "x"), "Perl");
        let (set, syntax) = l.syntax("Prolog").expect("Prolog loads");
        let mut state = syntect::parsing::ParseState::new(syntax);
        let ops = state.parse_line("% a comment\n", set).unwrap();
        // The first line always opens the syntax's own scope; the comment
        // must open one of its own.
        let comment = ops.iter().any(|(_, op)| {
            matches!(op, syntect::parsing::ScopeStackOp::Push(scope)
                if scope.build_string().starts_with("comment"))
        });
        assert!(comment, "no comment scope in a Prolog comment: {ops:?}");
    }

    /// known.txt pairs each lexer convert.py skips with the language the
    /// catalogue has for it; the example-files benchmark checks by them.
    #[test]
    fn known_pygments_lexers_name_catalogue_languages() {
        let l = languages();
        let known = include_str!("../../../syntaxes/pygments/known.txt");
        let mut pairs = 0;
        for line in known
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (_, ours) = line.split_once(" = ").expect("`Pygments' name = ours`");
            assert_eq!(l.resolve(ours), Some(ours.trim()), "{line}");
            pairs += 1;
        }
        assert!(pairs > 100, "only {pairs} pairs");
    }

    #[test]
    fn shared_extensions_are_settled_by_the_code() {
        let l = languages();
        let detect =
            |name: &str, code: &str| l.detect(Filename::parse(Some(name)).unwrap().as_ref(), code);
        assert_eq!(
            detect("a.m", "function y = f(x)\n  y = x;\nend\n"),
            "MATLAB"
        );
        assert_eq!(
            detect(
                "a.m",
                "#import <Foundation/Foundation.h>\n@implementation A\n@end\n"
            ),
            "Objective-C"
        );
        assert_eq!(detect("a.fs", "module A\nlet f x = x + 1\n"), "F#");
        assert_eq!(
            detect("a.fs", "#version 330\nuniform float t;\nvoid main() {}\n"),
            "GLSL"
        );
        assert_eq!(
            detect("a.v", "Theorem t : True.\nProof.\nQed.\n"),
            "Rocq Prover"
        );
        assert_eq!(detect("a.v", "module m(input a);\nendmodule\n"), "Verilog");
        assert_eq!(
            detect("a.pl", ":- module(a, []).\nf(X) :- g(X).\n"),
            "Prolog"
        );
        assert_eq!(detect("a.pl", "use strict;\nmy $x = 1;\n"), "Perl");
        assert_eq!(detect("boot.scm", "(define x 1)\n"), "Scheme");
        assert_eq!(
            detect("a.bas", "Imports System\nModule M\nEnd Module\n"),
            "VB.net"
        );
        assert_eq!(detect("a.bas", "CLS\nPRINT \"HI\"\n"), "QBasic");
        // A whole file name beats its extension.
        assert_eq!(detect("meson.build", "project('a')\n"), "Meson");
        assert_eq!(detect("x.SRCINFO", "pkgbase = x\n"), "Srcinfo");
        // Pygments' file patterns for a language bat's grammar serves.
        assert_eq!(detect("intsyn.fun", "structure A = B\n"), "SML");
        assert_eq!(detect(".htaccess", "Deny from all\n"), "Apache Conf");
    }

    #[test]
    fn the_catalogue_is_large_and_sorted() {
        let list = languages().list();
        assert!(list.len() > 400, "only {} languages", list.len());
        assert!(
            list.windows(2)
                .all(|w| w[0].name.to_lowercase() <= w[1].name.to_lowercase())
        );
    }
}

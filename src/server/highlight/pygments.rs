//! The long tail past bat's grammars: Pygments' regex lexers, converted to
//! Sublime syntaxes by `syntaxes/pygments/convert.py` and run by syntect.
//!
//! bat's grammars and ours know about 190 languages; Pygments knows some
//! 600, most of them as state machines of regexes, the model of a Sublime
//! syntax too. The converted files are vendored (Pygments is BSD-licensed;
//! its licence sits beside them) and compiled into the binary as text.
//!
//! Each is parsed the first time a snippet asks for it and kept: parsing
//! all of them (several MB of YAML) would add a second to every start,
//! while a paste in Zeek or Prolog is rare and pays a few milliseconds
//! once. Their names, aliases and file extensions are in the index, so
//! the catalogue lists and detects them without parsing any.

use std::{collections::HashSet, sync::OnceLock};

use super::lexer::Lexer;

/// (name, Pygments' aliases, file extensions and whole file names, the
/// `.sublime-syntax` text), as convert.py wrote them.
type Converted = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

pub(super) const CONVERTED: &[Converted] = include!("../../../syntaxes/pygments/index.rs");

/// For the languages `known.txt` pairs with a Pygments lexer: the file
/// extensions and names Pygments gives them, as (our name, extensions).
pub(super) const KNOWN_EXTENSIONS: &[(&str, &[&str])] =
    include!("../../../syntaxes/pygments/known-extensions.rs");

/// The languages `served.txt` gives to Pygments' lexer in place of the
/// base grammar, as (our name, the `.sublime-syntax` text).
const SERVED: &[(&str, &str)] = include!("../../../syntaxes/pygments/served.rs");

/// One converted lexer the catalogue takes in.
pub struct PygmentsSyntax {
    pub name: &'static str,
    /// Pygments' aliases that no other language already claims.
    pub aliases: Vec<&'static str>,
    /// File extensions (and whole file names) no other language claims.
    pub extensions: Vec<&'static str>,
    source: &'static str,
    /// The lexer, built on first use; `None` if it failed to (logged).
    lexer: OnceLock<Option<Lexer>>,
}

impl PygmentsSyntax {
    fn new(
        name: &'static str,
        aliases: Vec<&'static str>,
        extensions: Vec<&'static str>,
        source: &'static str,
    ) -> Self {
        PygmentsSyntax {
            name,
            aliases,
            extensions,
            source,
            lexer: OnceLock::new(),
        }
    }

    /// The lexer, built on first use.
    pub fn lexer(&self) -> Option<&Lexer> {
        self.lexer
            .get_or_init(|| match Lexer::from_source(self.source) {
                Ok(lexer) => Some(lexer),
                Err(error) => {
                    tracing::error!(language = self.name, %error, "a converted syntax failed to load");
                    None
                }
            })
            .as_ref()
    }
}

/// The languages whose base grammar a converted lexer replaces (bat's
/// grammar, or tree-sitter's), because it was measured faster and colours
/// what Pygments colours (`served.txt` says which, and why).
pub fn served() -> Vec<PygmentsSyntax> {
    SERVED
        .iter()
        .map(|&(name, source)| PygmentsSyntax::new(name, Vec::new(), Vec::new(), source))
        .collect()
}

/// The converted lexers for languages the base set does not know.
/// `names` holds the base set's names and aliases, `extensions` the file
/// extensions (and whole file names) it detects by, all in lower case.
/// A lexer whose name or an alias is a base name or alias is left out
/// (`known.txt` keeps such lexers out of the vendored set; the base
/// grammar is the better one). An alias that is only a base extension
/// (Scheme's `scm`, which bat's Lisp reads) is dropped, and so is an
/// extension the base set or an earlier lexer detects by: detection
/// stays as it was for every language the base set knows.
pub fn syntaxes_beside(
    names: &HashSet<String>,
    extensions: &HashSet<String>,
) -> Vec<PygmentsSyntax> {
    let mut names = names.clone();
    let mut extensions = extensions.clone();
    let mut out = Vec::new();
    for &(name, aliases, own_extensions, source) in CONVERTED {
        if names.contains(&name.to_lowercase())
            || aliases.iter().any(|a| names.contains(&a.to_lowercase()))
        {
            continue;
        }
        names.insert(name.to_lowercase());
        let aliases = aliases
            .iter()
            .copied()
            .filter(|a| !extensions.contains(&a.to_lowercase()) && names.insert(a.to_lowercase()))
            .collect();
        let own_extensions = own_extensions
            .iter()
            .copied()
            .filter(|e| extensions.insert(e.to_lowercase()))
            .collect();
        out.push(PygmentsSyntax::new(name, aliases, own_extensions, source));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::highlight::{Budget, CancelFlag, Languages, SyntectEngine};
    use std::{sync::mpsc, thread, time::Duration};
    use syntect::parsing::{SyntaxDefinition, SyntaxSetBuilder};

    /// Every converted lexer, and every served one.
    fn all() -> Vec<PygmentsSyntax> {
        let mut all = syntaxes_beside(&HashSet::new(), &HashSet::new());
        all.extend(served());
        all
    }

    const MIXED: &str = concat!(
        "#!/bin/sh\n# comment\n/* block\n comment */ // line\n",
        "(define (f x) (* x 2)) ; lisp\n{ \"key\": [1, 2.5e3, -0x1F] }\n",
        "<tag attr='v'>text &amp; more</tag>\nlet s = \"esc \\\" q\" + 'c';\n",
        "if (a <= b && c != d) { return x->y[0]; } else end\n",
        "@decorator\nclass A(B): pass\n$var = `cmd` . @array; %hash\n",
        "\"unterminated\n'also\n\\\n\t  \u{e9}\u{4e2d}\u{1f600}\n\n",
    );

    fn lexed(lexer: &Lexer, code: &str) -> String {
        lexer
            .highlight(
                code,
                &|_| {},
                &CancelFlag::default(),
                Budget::new(Duration::from_secs(60)),
            )
            .unwrap()
    }

    /// Every converted syntax builds, every regex of it compiling.
    #[test]
    fn every_converted_syntax_builds() {
        let mut failures = Vec::new();
        let syntaxes = all();
        for syntax in &syntaxes {
            if let Err(e) = Lexer::from_source(syntax.source).and_then(|l| l.compile_all()) {
                failures.push(format!("{}: {e}", syntax.name));
            }
        }
        assert!(syntaxes.len() > 400, "only {} syntaxes", syntaxes.len());
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// The runner reads a syntax as syntect does: the same HTML from
    /// both, for every converted syntax on a mix of code, and for the
    /// served ones on their corpus files too.
    #[test]
    fn the_lexer_reads_every_syntax_as_syntect_does() {
        let syntect = SyntectEngine::new(Languages::load());
        // Where the tests find the shared corpus (`scripts/env.sh`).
        let corpus = std::env::var_os("HIGHLIGHTER_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
            })
            .join("files");
        // Every corpus file of a served language.
        let corpus_files = |language: &str| -> Vec<String> {
            let folder = match language {
                "Batch File" => "batch",
                "D" => "d",
                "Dart" => "dart",
                "F#" => "fsharp",
                "Haskell" => "haskell",
                "Kotlin" => "kotlin",
                "Objective-C" => "objective-c",
                "Scala" => "scala",
                "SQL" => "sql",
                _ => return Vec::new(),
            };
            let entries = std::fs::read_dir(corpus.join(folder)).expect("the corpus folder");
            entries
                .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
                .collect()
        };
        let mut differ = Vec::new();
        let mut compared = 0;
        for syntax in all() {
            // syntect reads `pop: 2` as `pop: true`: both read it so here
            // (the runner's own count has its tests in lexer.rs).
            let source = syntax
                .source
                .lines()
                .map(|line| match line.trim_start().strip_prefix("pop: ") {
                    Some(count) if count.parse::<u32>().is_ok() => {
                        line.replace(&format!("pop: {count}"), "pop: true")
                    }
                    _ => line.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            let definition = SyntaxDefinition::load_from_str(&source, true, None).unwrap();
            let mut builder = SyntaxSetBuilder::new();
            builder.add(definition);
            let set = builder.build();
            let lexer = &Lexer::from_source(&source).expect("it builds");
            let mut samples = vec![MIXED.to_owned()];
            samples.extend(corpus_files(syntax.name));
            for sample in samples {
                let theirs = syntect
                    .highlight_with(
                        &set,
                        &set.syntaxes()[0],
                        &sample,
                        &|_| {},
                        &CancelFlag::default(),
                        Budget::new(Duration::from_secs(60)),
                    )
                    .unwrap();
                compared += 1;
                let ours = lexed(lexer, &sample);
                if ours != theirs {
                    let at = ours
                        .bytes()
                        .zip(theirs.bytes())
                        .position(|(a, b)| a != b)
                        .unwrap_or(ours.len().min(theirs.len()));
                    let around = |html: &str| {
                        let from = html.floor_char_boundary(at.saturating_sub(60));
                        let to = html.ceil_char_boundary((at + 60).min(html.len()));
                        html[from..to].to_owned()
                    };
                    differ.push(format!(
                        "{}: ours {:?}\n  syntect {:?}",
                        syntax.name,
                        around(&ours),
                        around(&theirs)
                    ));
                }
            }
        }
        // Every converted syntax on the mix, and every served one's corpus
        // files (nine languages, 13 files).
        assert!(compared >= 441 + 9 + 13, "only {compared} compared");
        assert!(
            differ.is_empty(),
            "{} differ from syntect:\n{}",
            differ.len(),
            differ.join("\n")
        );
    }

    /// A converted syntax can loop where Pygments did not (a cycle of
    /// `set`s, or a push that matches nothing on every line): every
    /// syntax reads a mix of code here, each under a watchdog.
    #[test]
    fn no_converted_syntax_loops_on_mixed_code() {
        let syntaxes = all();
        let (done, finished) = mpsc::channel();
        let names: Vec<&'static str> = syntaxes.iter().map(|s| s.name).collect();
        let worker = thread::spawn(move || {
            for syntax in syntaxes {
                if let Some(lexer) = syntax.lexer() {
                    lexed(lexer, &MIXED.repeat(20));
                }
                done.send(()).unwrap();
            }
        });
        for name in &names {
            finished
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("{name} (or the one after it) did not finish"));
        }
        worker.join().unwrap();
    }
}

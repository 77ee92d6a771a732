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

use syntect::parsing::{SyntaxDefinition, SyntaxSet, SyntaxSetBuilder};

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

/// One converted lexer the catalogue takes in.
pub struct PygmentsSyntax {
    pub name: &'static str,
    /// Pygments' aliases that no other language already claims.
    pub aliases: Vec<&'static str>,
    /// File extensions (and whole file names) no other language claims.
    pub extensions: Vec<&'static str>,
    source: &'static str,
    /// The syntax, parsed on first use; `None` if it failed to (logged).
    parsed: OnceLock<Option<SyntaxSet>>,
}

impl PygmentsSyntax {
    /// The syntax set holding just this language, parsed on first use.
    pub fn syntax_set(&self) -> Option<&SyntaxSet> {
        self.parsed
            .get_or_init(|| match parse(self.source) {
                Ok(set) => Some(set),
                Err(error) => {
                    tracing::error!(language = self.name, %error, "a converted syntax failed to load");
                    None
                }
            })
            .as_ref()
    }
}

fn parse(source: &str) -> Result<SyntaxSet, String> {
    let definition =
        SyntaxDefinition::load_from_str(source, true, None).map_err(|e| e.to_string())?;
    let mut builder = SyntaxSetBuilder::new();
    builder.add(definition);
    Ok(builder.build())
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
        out.push(PygmentsSyntax {
            name,
            aliases,
            extensions: own_extensions,
            source,
            parsed: OnceLock::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::mpsc, thread, time::Duration};
    use syntect::parsing::{ParseState, Regex};

    fn all() -> Vec<PygmentsSyntax> {
        syntaxes_beside(&HashSet::new(), &HashSet::new())
    }

    /// syntect compiles a regex the first time it tries it and panics if
    /// it does not compile: every regex of every converted syntax must.
    #[test]
    fn every_converted_syntax_loads_and_every_regex_compiles() {
        let mut failures = Vec::new();
        let mut regexes = 0;
        for syntax in all() {
            let definition = match SyntaxDefinition::load_from_str(syntax.source, true, None) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{}: {e}", syntax.name));
                    continue;
                }
            };
            for context in definition.contexts.values() {
                for pattern in &context.patterns {
                    if let syntect::parsing::syntax_definition::Pattern::Match(m) = pattern {
                        regexes += 1;
                        if let Some(e) = Regex::try_compile(m.regex.regex_str()) {
                            failures.push(format!(
                                "{}: {:?}: {e}",
                                syntax.name,
                                m.regex.regex_str()
                            ));
                        }
                    }
                }
            }
        }
        assert!(regexes > 10_000, "only {regexes} regexes");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// A converted syntax can loop where Pygments did not (syntect cannot
    /// pop more than one context at once, nor pop its last); syntect's
    /// guard stops push-then-pop loops but not a cycle of `set`s. Every
    /// syntax reads a mix of code here, each line under a watchdog.
    #[test]
    fn no_converted_syntax_loops_on_mixed_code() {
        let sample = concat!(
            "#!/bin/sh\n# comment\n/* block\n comment */ // line\n",
            "(define (f x) (* x 2)) ; lisp\n{ \"key\": [1, 2.5e3, -0x1F] }\n",
            "<tag attr='v'>text &amp; more</tag>\nlet s = \"esc \\\" q\" + 'c';\n",
            "if (a <= b && c != d) { return x->y[0]; } else end\n",
            "@decorator\nclass A(B): pass\n$var = `cmd` . @array; %hash\n",
            "\"unterminated\n'also\n\\\n\t  \u{e9}\u{4e2d}\u{1f600}\n\n",
        );
        let syntaxes = all();
        let (done, finished) = mpsc::channel();
        let names: Vec<&'static str> = syntaxes.iter().map(|s| s.name).collect();
        let count = syntaxes.len();
        let worker = thread::spawn(move || {
            for syntax in syntaxes {
                let Some(set) = syntax.syntax_set() else {
                    done.send(()).unwrap();
                    continue;
                };
                let reference = &set.syntaxes()[0];
                let mut state = ParseState::new(reference);
                for line in syntect::util::LinesWithEndings::from(sample) {
                    let _ = state.parse_line(line, set);
                }
                done.send(()).unwrap();
            }
        });
        for name in names.iter().take(count) {
            finished
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("{name} (or the one after it) did not finish"));
        }
        worker.join().unwrap();
    }
}

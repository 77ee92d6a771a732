//! The tree-sitter engine: the languages people paste most, parsed into a
//! syntax tree and coloured by each grammar's highlight query.
//!
//! - `grammars.rs`: which grammars, for which catalogue names.
//! - here: compiling their queries (once, on first use or when warmed),
//!   and our query loop: parse, collect the query's captures, paint each
//!   capture's bytes with its [`Class`] (inner captures over outer ones,
//!   the first pattern for a node winning, as tree-sitter-highlight does),
//!   follow injections (HTML's scripts and styles), then write the painted
//!   runs with the shared [`HtmlWriter`].
//!
//! Parsing and querying both report progress to a callback every few
//! hundred steps. That callback is where the time budget is enforced:
//! past it, tree-sitter stops and the caller falls back to another engine
//! (a deeply nested expression can make a query take minutes).
//!
//! The grammars are C code. This module runs them where it is called; the
//! server calls it only in a child process (`isolate.rs`), so that a
//! grammar that crashes takes no one down with it. The languages a
//! scanner of ours took over from tree-sitter (`scan::IN_CHILDREN`) are
//! still this engine's, and still highlighted in the children: it hands
//! them to their scanner.

mod grammars;

use std::{ops::ControlFlow, sync::OnceLock, time::Instant};

use tree_sitter::{
    Language, Node, ParseOptions, Parser, Query, QueryCursor, QueryCursorOptions, Range,
    StreamingIterator, Tree,
};

use super::{
    classes::Class,
    render::{self, Runs},
    scan,
};
use crate::domain::Progress;

pub use grammars::{GRAMMARS, GrammarDef};

/// How deep injections nest (HTML's script holding JavaScript is one).
const MAX_INJECTION_DEPTH: usize = 2;

/// Why the tree-sitter engine produced no HTML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeSitterError {
    #[error("no tree-sitter grammar for {0}")]
    Unsupported(String),
    /// Past the budget: another engine should take it.
    #[error("too costly for tree-sitter ({0})")]
    TooCostly(&'static str),
    #[error("cancelled")]
    Cancelled,
    #[error("the grammar failed: {0}")]
    Grammar(String),
}

/// A grammar with its queries compiled.
struct Compiled {
    language: Language,
    later_wins: bool,
    highlights: Query,
    /// The class of each capture of `highlights`, by capture index.
    classes: Vec<Option<Class>>,
    injections: Option<Injections>,
}

struct Injections {
    query: Query,
    content: u32,
    /// The language named by `#set! injection.language`, per pattern.
    fixed: Vec<Option<String>>,
}

struct Loaded {
    def: &'static GrammarDef,
    compiled: OnceLock<Result<Compiled, String>>,
}

/// Every grammar, each compiled the first time it is needed.
pub struct TreeSitter {
    grammars: Vec<Loaded>,
}

impl Default for TreeSitter {
    fn default() -> Self {
        TreeSitter {
            grammars: GRAMMARS
                .iter()
                .map(|def| Loaded {
                    def,
                    compiled: OnceLock::new(),
                })
                .collect(),
        }
    }
}

/// What one highlighting run may spend, and where it reports.
pub struct Run<'a> {
    pub deadline: Instant,
    pub cancelled: &'a dyn Fn() -> bool,
    pub progress: &'a mut dyn FnMut(Progress),
}

impl Run<'_> {
    fn should_stop(&self) -> Option<TreeSitterError> {
        if (self.cancelled)() {
            Some(TreeSitterError::Cancelled)
        } else if Instant::now() >= self.deadline {
            Some(TreeSitterError::TooCostly("over its time budget"))
        } else {
            None
        }
    }
}

impl TreeSitter {
    /// The catalogue names this engine serves: its grammars', and those
    /// it hands to a scanner.
    pub fn languages() -> impl Iterator<Item = &'static str> {
        GRAMMARS
            .iter()
            .flat_map(|def| def.names.iter().copied())
            .chain(scan::IN_CHILDREN)
    }

    pub fn serves(&self, language: &str) -> bool {
        self.find(language).is_some() || scan::IN_CHILDREN.contains(&language)
    }

    fn find(&self, language: &str) -> Option<&Loaded> {
        self.grammars
            .iter()
            .find(|g| g.def.names.contains(&language))
    }

    fn find_injected(&self, name: &str) -> Option<&Loaded> {
        let name = name.to_ascii_lowercase();
        self.grammars.iter().find(|g| {
            g.def.injection_name == name || (name == "js" && g.def.injection_name == "javascript")
        })
    }

    /// Compiles every grammar's queries ahead of need, so that no snippet
    /// waits for one later.
    ///
    /// It never makes a job wait: each grammar is compiled outside its
    /// cell and only then offered to it. A job that needs a grammar
    /// meanwhile compiles it itself instead of waiting for this thread
    /// (whose copy is then dropped), so warming may run at the lowest
    /// priority, on CPU no job wants, without ever stalling one.
    /// `before_each` runs before each grammar still to compile: the child
    /// waits there for a quiet moment (`quiet.rs`).
    pub fn warm(&self, before_each: impl Fn()) {
        for grammar in &self.grammars {
            if grammar.compiled.get().is_some() {
                continue;
            }
            before_each();
            if grammar.compiled.get().is_some() {
                continue;
            }
            let result = compile(grammar.def);
            if let Err(e) = &result {
                tracing::error!(grammar = grammar.def.injection_name, error = %e, "a grammar's queries do not compile");
            }
            let _ = grammar.compiled.set(result);
        }
    }

    /// Highlights `code` as `language`, within the run's budget.
    pub fn highlight(
        &self,
        code: &str,
        language: &str,
        run: &mut Run<'_>,
    ) -> Result<String, TreeSitterError> {
        if let Some(scanned) = scan::highlight_in_child(language, code, run) {
            return scanned;
        }
        let grammar = self
            .find(language)
            .ok_or_else(|| TreeSitterError::Unsupported(language.to_owned()))?;
        let lines = LineIndex::new(code);
        let mut paint = vec![0u8; code.len()];
        let mut parser = Parser::new();
        self.paint(grammar, code, None, &mut parser, &mut paint, &lines, run, 0)?;
        Ok(Runs::from_paint(code, &paint).render(code))
    }

    /// Parses `code` (or only `ranges` of it) with `grammar` and paints
    /// what its query captures, then what its injections capture.
    #[allow(clippy::too_many_arguments)]
    fn paint(
        &self,
        grammar: &Loaded,
        code: &str,
        ranges: Option<&[Range]>,
        parser: &mut Parser,
        paint: &mut [u8],
        lines: &LineIndex,
        run: &mut Run<'_>,
        depth: usize,
    ) -> Result<(), TreeSitterError> {
        let compiled = compiled(grammar).map_err(TreeSitterError::Grammar)?;
        let tree = parse(parser, compiled, code, ranges, lines, run, depth == 0)?;
        let root = tree.root_node();
        paint_captures(compiled, code, root, paint, lines, run, depth == 0)?;
        if depth >= MAX_INJECTION_DEPTH {
            return Ok(());
        }
        let (Some(injections), Some(def)) = (&compiled.injections, &grammar.def.injections) else {
            return Ok(());
        };
        if !(def.may_find)(code) {
            return Ok(());
        }
        for (name, injected_ranges) in injection_ranges(injections, code, root) {
            if let Some(inner) = self.find_injected(&name) {
                self.paint(
                    inner,
                    code,
                    Some(&injected_ranges),
                    parser,
                    paint,
                    lines,
                    run,
                    depth + 1,
                )?;
            }
        }
        Ok(())
    }
}

fn compiled(grammar: &Loaded) -> Result<&Compiled, String> {
    grammar
        .compiled
        .get_or_init(|| compile(grammar.def))
        .as_ref()
        .map_err(Clone::clone)
}

fn compile(def: &GrammarDef) -> Result<Compiled, String> {
    let language = (def.language)();
    let upstream = def.highlights.join("\n");
    // Our own patterns go where they win.
    let source = if def.later_wins {
        format!("{upstream}\n{}", def.extra)
    } else {
        format!("{}\n{upstream}", def.extra)
    };
    let mut highlights = Query::new(&language, &source).map_err(|e| e.to_string())?;
    // `(#is? local.parameter)` asks what a locals query knows (which names
    // a scope binds), and we run none: tree-sitter leaves such predicates
    // to the caller, so unchecked they would hold for every node (Groovy's
    // query made every identifier a parameter). A pattern that needs one
    // is off; `#is-not?` holds, as it does for a name no scope binds.
    for pattern in 0..highlights.pattern_count() {
        if highlights
            .property_predicates(pattern)
            .iter()
            .any(|(_, positive)| *positive)
        {
            highlights.disable_pattern(pattern);
        }
    }
    let classes = highlights
        .capture_names()
        .iter()
        .map(|name| Class::from_capture(name))
        .collect();
    let injections = match &def.injections {
        None => None,
        Some(injections) => {
            let query = Query::new(&language, injections.query).map_err(|e| e.to_string())?;
            let content = query
                .capture_index_for_name("injection.content")
                .ok_or("an injections query without @injection.content")?;
            let fixed = (0..query.pattern_count())
                .map(|pattern| {
                    query
                        .property_settings(pattern)
                        .iter()
                        .find(|p| &*p.key == "injection.language")
                        .and_then(|p| p.value.as_deref().map(str::to_owned))
                })
                .collect();
            Some(Injections {
                query,
                content,
                fixed,
            })
        }
    };
    Ok(Compiled {
        language,
        later_wins: def.later_wins,
        highlights,
        classes,
        injections,
    })
}

/// Byte offsets to line numbers, for progress.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(code: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            code.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1)
                .filter(|&start| start < code.len()),
        );
        LineIndex { starts }
    }

    fn total(&self) -> u32 {
        u32::try_from(self.starts.len()).unwrap_or(u32::MAX)
    }

    /// Lines wholly before `offset`.
    fn lines_before(&self, offset: usize) -> u32 {
        u32::try_from(
            self.starts
                .partition_point(|&s| s < offset)
                .saturating_sub(1),
        )
        .unwrap_or(u32::MAX)
    }

    /// Progress through the work: parsing is the first half of it, the
    /// query the second (they take about as long).
    fn progress(&self, offset: usize, second_half: bool) -> Progress {
        let total = self.total();
        let done = self.lines_before(offset) / 2 + if second_half { total / 2 } else { 0 };
        Progress {
            done: done.min(total),
            total,
        }
    }
}

fn parse(
    parser: &mut Parser,
    compiled: &Compiled,
    code: &str,
    ranges: Option<&[Range]>,
    lines: &LineIndex,
    run: &mut Run<'_>,
    report: bool,
) -> Result<Tree, TreeSitterError> {
    parser.reset();
    parser
        .set_language(&compiled.language)
        .map_err(|e| TreeSitterError::Grammar(e.to_string()))?;
    parser
        .set_included_ranges(ranges.unwrap_or(&[]))
        .map_err(|e| TreeSitterError::Grammar(e.to_string()))?;
    let bytes = code.as_bytes();
    let mut stopped = None;
    let mut last_reported = 0usize;
    let mut on_progress = |state: &tree_sitter::ParseState| {
        if let Some(why) = run.should_stop() {
            stopped = Some(why);
            return ControlFlow::Break(());
        }
        let offset = state.current_byte_offset();
        if report && offset >= last_reported + 4096 {
            last_reported = offset;
            (run.progress)(lines.progress(offset, false));
        }
        ControlFlow::Continue(())
    };
    let tree = parser.parse_with_options(
        &mut |offset, _| bytes.get(offset..).unwrap_or(&[]),
        None,
        Some(ParseOptions::new().progress_callback(&mut on_progress)),
    );
    match (tree, stopped) {
        (Some(tree), _) => Ok(tree),
        (None, Some(why)) => Err(why),
        (None, None) => Err(TreeSitterError::Grammar("the parser gave up".into())),
    }
}

/// One capture to paint: its bytes, its class, and its pattern (the first
/// pattern to capture a node wins).
struct Stroke {
    start: usize,
    end: usize,
    pattern: usize,
    class: u8,
}

fn paint_captures(
    compiled: &Compiled,
    code: &str,
    root: Node<'_>,
    paint: &mut [u8],
    lines: &LineIndex,
    run: &mut Run<'_>,
    report: bool,
) -> Result<(), TreeSitterError> {
    let mut strokes = Vec::new();
    let mut stopped = None;
    {
        let mut last_reported = 0usize;
        let mut on_progress = |state: &tree_sitter::QueryCursorState| {
            if let Some(why) = run.should_stop() {
                stopped = Some(why);
                return ControlFlow::Break(());
            }
            let offset = state.current_byte_offset();
            if report && offset >= last_reported + 4096 {
                last_reported = offset;
                (run.progress)(lines.progress(offset, true));
            }
            ControlFlow::Continue(())
        };
        // Matches, not captures: we order the strokes ourselves, so the
        // cursor need not keep every capture in document order (which
        // costs it a buffer of pending matches).
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches_with_options(
            &compiled.highlights,
            root,
            code.as_bytes(),
            QueryCursorOptions::new().progress_callback(&mut on_progress),
        );
        while let Some(found) = matches.next() {
            for capture in found.captures() {
                let Some(class) = compiled.classes[capture.index as usize] else {
                    continue;
                };
                let range = capture.node.byte_range();
                if range.is_empty() {
                    continue;
                }
                strokes.push(Stroke {
                    start: range.start,
                    end: range.end,
                    pattern: found.pattern_index,
                    class: render::paint_code(Some(class)),
                });
            }
        }
    }
    if let Some(why) = stopped {
        return Err(why);
    }
    // Outer before inner, so that an inner capture (an escape in a string)
    // paints over its outer one; for one node, the winning pattern last.
    let later_wins = compiled.later_wins;
    strokes.sort_unstable_by(|a, b| {
        let by_pattern = if later_wins {
            a.pattern.cmp(&b.pattern)
        } else {
            b.pattern.cmp(&a.pattern)
        };
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(by_pattern)
    });
    for stroke in strokes {
        if let Some(bytes) = paint.get_mut(stroke.start..stroke.end) {
            bytes.fill(stroke.class);
        }
    }
    Ok(())
}

/// The ranges each injected language covers, grouped by language.
fn injection_ranges(
    injections: &Injections,
    code: &str,
    root: Node<'_>,
) -> Vec<(String, Vec<Range>)> {
    let mut found: Vec<(String, Vec<Range>)> = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&injections.query, root, code.as_bytes());
    while let Some(m) = matches.next() {
        let Some(name) = injections.fixed.get(m.pattern_index).cloned().flatten() else {
            continue;
        };
        for capture in m
            .captures()
            .iter()
            .filter(|c| c.index == injections.content)
        {
            let range = capture.node.range();
            match found.iter_mut().find(|(n, _)| *n == name) {
                Some((_, ranges)) => ranges.push(range),
                None => found.push((name.clone(), vec![range])),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn warming_compiles_every_grammar_and_keeps_what_a_job_compiled_first() {
        let engine = TreeSitter::default();
        let rust = engine.find("Rust").expect("Rust is served");
        let by_a_job: *const Compiled = compiled(rust).expect("Rust compiles");
        let waits = std::cell::Cell::new(0);
        engine.warm(|| waits.set(waits.get() + 1));
        assert_eq!(
            waits.get(),
            engine.grammars.len() - 1,
            "each grammar not compiled yet waits its turn"
        );
        assert!(
            engine.grammars.iter().all(|g| g.compiled.get().is_some()),
            "every grammar is compiled after warming"
        );
        let after: *const Compiled = compiled(rust).unwrap();
        assert_eq!(by_a_job, after, "warming never replaces a compiled grammar");
    }

    fn highlight(code: &str, language: &str) -> Result<String, TreeSitterError> {
        let engine = TreeSitter::default();
        let mut progress = |_| {};
        let mut run = Run {
            deadline: Instant::now() + Duration::from_secs(30),
            cancelled: &|| false,
            progress: &mut progress,
        };
        engine.highlight(code, language, &mut run)
    }

    #[test]
    fn every_grammar_and_query_compiles() {
        let engine = TreeSitter::default();
        for grammar in &engine.grammars {
            compiled(grammar).unwrap_or_else(|e| panic!("{}: {e}", grammar.def.injection_name));
        }
    }

    #[test]
    fn rust_gets_keyword_string_comment_number_and_function() {
        let html = highlight(
            "fn main() { let s = \"hi\"; // done\n let n = 42; }\n",
            "Rust",
        )
        .unwrap();
        for class in ["k", "s", "c", "n", "f"] {
            assert!(html.contains(&format!("<x-{class}>")), "{class}: {html}");
        }
    }

    /// Our patterns (`GrammarDef::extra`) colour what Pygments colours and
    /// the grammars' own queries leave plain; each expected run is the
    /// whole token, so a pattern that lost to the grammar's would fail.
    #[test]
    fn our_patterns_colour_modules_decorators_variables_and_punctuation() {
        let cases = [
            (
                "Java",
                "package org.example;\nimport java.util.List;\n\
                 class A { int x = 1 + 2; void f() { this.x = other.count + Math.MAX_VALUE; } }\n",
                &[
                    "<x-m>org</x-m><x-p>.</x-p><x-m>example</x-m>",
                    "<x-m>util</x-m><x-p>.</x-p><x-m>List</x-m>",
                    "<x-p>=</x-p>",
                    "<x-p>.</x-p><x-pr>x</x-pr>",
                    "<x-p>.</x-p><x-pr>count</x-pr>",
                    "<x-p>.</x-p><x-co>MAX_VALUE</x-co>",
                ][..],
            ),
            (
                "Python",
                "import os.path as p\nfrom collections import deque\n@functools.cache\ndef f(): pass\n",
                &[
                    "<x-m>os</x-m><x-p>.</x-p><x-m>path</x-m>",
                    "<x-m>collections</x-m>",
                    "<x-at>@functools</x-at><x-p>.</x-p><x-at>cache</x-at>",
                ][..],
            ),
            (
                "CSS",
                "a:hover::before { font-weight: bold; color: var(--x); }\n",
                &[
                    "<x-at>hover</x-at>",
                    "<x-at>before</x-at>",
                    "<x-co>bold</x-co>",
                ][..],
            ),
            (
                "Lua",
                "function M.f(x) end\nfunction M:g() end\n",
                &[
                    "<x-t>M</x-t><x-p>.</x-p><x-f>f</x-f>",
                    "<x-t>M</x-t><x-p>:</x-p>",
                ][..],
            ),
            (
                "Groovy",
                "switch (x) {\n  case String: y = 1; break\n}\ndef m = [workflow: w]\n\
                 wf.delegate = this\nshell.evaluate(f)\nx = Closure.DELEGATE_FIRST\n",
                &[
                    "<x-l>String</x-l>",
                    "<x-l>workflow</x-l>",
                    "<x-p>.</x-p><x-pr>delegate</x-pr>",
                    "<x-p>.</x-p><x-f>evaluate</x-f>",
                    "<x-p>.</x-p><x-co>DELEGATE_FIRST</x-co>",
                    // A name no locals query saw bind is not a parameter.
                    "<x-k>switch</x-k> <x-p>(</x-p>x<x-p>)",
                ][..],
            ),
            (
                "Ruby",
                "module CodeRay\n  class Ruby; end\nend\n",
                &["<x-m>CodeRay</x-m>"][..],
            ),
        ];
        for (language, code, expected) in cases {
            let html = highlight(code, language).unwrap();
            for run in expected {
                assert!(html.contains(run), "{language}: {run} in {html}");
            }
        }
    }

    #[test]
    fn html_scripts_and_styles_are_highlighted_as_their_languages() {
        let html = highlight(
            "<style>p { color: red; }</style><script>let x = 'y';</script>\n",
            "HTML",
        )
        .unwrap();
        assert!(html.contains("<x-s>'y'</x-s>"), "{html}");
        assert!(html.contains("<x-tg>"), "{html}");
    }

    #[test]
    fn a_php_files_html_is_highlighted_as_html_with_its_scripts() {
        let html = highlight(
            "<p class=\"a\">Hi <?php echo $x; ?></p>\n<script>let y = 'z';</script>\n",
            "PHP",
        )
        .unwrap();
        for run in [
            "<x-tg>p</x-tg>",
            "<x-at>class</x-at>",
            "<x-k>echo</x-k>",
            "<x-s>'z'</x-s>",
        ] {
            assert!(html.contains(run), "{run} in {html}");
        }
    }

    #[test]
    fn a_spent_budget_is_too_costly_and_a_cancel_is_a_cancel() {
        let engine = TreeSitter::default();
        let code = "x = 1\n".repeat(10_000);
        let mut progress = |_| {};
        let mut run = Run {
            deadline: Instant::now(),
            cancelled: &|| false,
            progress: &mut progress,
        };
        assert_eq!(
            engine.highlight(&code, "Python", &mut run),
            Err(TreeSitterError::TooCostly("over its time budget"))
        );
        let mut progress = |_| {};
        let mut run = Run {
            deadline: Instant::now() + Duration::from_secs(10),
            cancelled: &|| true,
            progress: &mut progress,
        };
        assert_eq!(
            engine.highlight(&code, "Python", &mut run),
            Err(TreeSitterError::Cancelled)
        );
    }

    #[test]
    fn text_round_trips_with_crlf_and_no_final_newline() {
        let code = "a = 1\r\nb = 'é'\r\n# end";
        let html = highlight(code, "Python").unwrap();
        let text = html
            .replace("<pre class=\"hl\"><code>", "")
            .replace("</code></pre>", "");
        let mut stripped = String::new();
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => stripped.push(c),
                _ => {}
            }
        }
        assert_eq!(
            stripped
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
            code
        );
    }
}

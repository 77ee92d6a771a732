//! The runner for Pygments' converted lexers (`pygments.rs`): syntect's
//! reading of a Sublime syntax, without syntect's costs per token.
//!
//! A converted lexer uses a small part of the Sublime syntax format:
//! contexts of `match` rules, each with a scope, captures, and one of
//! push, set or pop (convert.py writes nothing else; anything else is
//! refused when the lexer is built). syntect runs the whole format, and
//! pays for it on every token: it clones scope stacks and regions, keeps
//! its search cache in a hash map, and allocates as it goes. On these
//! syntaxes that is much of its time: this runner reads the same syntax
//! up to 1.8 times as fast (1.5 times on most of the thirteen measured),
//! and the languages it serves in place of their grammar (`served.txt`)
//! faster than their grammar did (`bench/PROFILE.md`, rounds 17 and 18).
//!
//! It reads them as syntect does, and a test holds it to that on every
//! converted syntax and every served language's corpus files
//! (`pygments.rs`): line by line, the leftmost match of the current
//! context's rules wins, the first rule in order among those matching at
//! the same place; text no rule matches takes the context's content
//! class. One thing it reads as Sublime Text 4 does and syntect cannot:
//! `pop: 2` (Pygments' `#pop:2`) pops two contexts, where syntect pops
//! one. What makes it cheap is what it remembers: each rule's next match
//! in the line, found by one unanchored search (Oniguruma skips ahead by
//! the pattern's first characters), is reused until the reading passes
//! it, in whichever context tries that rule next, so most rules are
//! searched once per line, not once per token.
//!
//! The limits are the syntect engine's: lines over
//! [`super::MAX_HIGHLIGHTED_LINE_BYTES`] are plain, past the budget the rest is
//! plain, a cancel stops it between lines.

use std::{collections::HashMap, sync::OnceLock};

use onig::{MatchParam, RegexOptions, Region, SearchOptions, Syntax};
use syntect::parsing::{
    Scope, SyntaxDefinition,
    syntax_definition::{ContextReference, MatchOperation, Pattern},
};

use super::{
    Budget, CancelFlag, EngineError,
    classes::{Class, ScopeClass},
    read_by_lines,
    render::{Runs, paint_class, paint_code},
};
use crate::domain::Progress;

/// How many rules that match nothing may follow one another at one
/// place. A converted lexer can cycle that way (a `set` into a context
/// that sets back), where Pygments would have moved on and syntect spins
/// forever; past this many, the reading steps over a character.
const MAX_EMPTY_MOVES: u32 = 1000;

/// How many matches a line may take between two looks at the cancel flag
/// and the budget (each look reads the clock).
const GIVE_UP_EVERY: u32 = 64;

/// How deep the context stack may grow (syntect's limit): a lexer that
/// pushes on every token of a long file would otherwise grow it without
/// bound. Past it, pushes do not match.
const MAX_DEPTH: usize = 100;

/// What a scope (or a list of them) does to the class of its text.
#[derive(Clone, Copy, Debug)]
enum Effect {
    Keep,
    Set(Option<Class>),
}

impl Effect {
    fn of(scopes: &[Scope]) -> Effect {
        scopes.iter().fold(Effect::Keep, |effect, scope| {
            match Class::from_scope(&scope.build_string()) {
                ScopeClass::Is(class) => Effect::Set(Some(class)),
                ScopeClass::Plain => Effect::Set(None),
                ScopeClass::Inherit => effect,
            }
        })
    }

    fn on(self, outer: Option<Class>) -> Option<Class> {
        match self {
            Effect::Keep => outer,
            Effect::Set(class) => class,
        }
    }
}

enum Move {
    Stay,
    Push(Vec<usize>),
    /// Pop one, then push (the text keeps the popped context's class).
    Set(Vec<usize>),
    /// Pop this many (`pop: 2`, Pygments' `#pop:2`).
    Pop(usize),
    /// Pop this many, then push (Pygments' `('#pop', '#pop', 'state')`).
    PopPush(usize, Vec<usize>),
}

/// A regex as written in the syntax, once however many contexts include
/// it.
struct Written {
    /// Compiled the first time a rule is tried: a lexer has hundreds, and a
    /// paste in its language tries only some of them.
    regex: OnceLock<Option<onig::Regex>>,
    pattern: String,
}

struct Rule {
    /// Its regex in [`Lexer::written`]: a context's rules include those of
    /// the contexts it includes, and each such rule stays one regex with
    /// one remembered match per line, wherever it is tried from.
    written: usize,
    effect: Effect,
    /// (group, its effect over the match's class), in group order.
    captures: Vec<(usize, Effect)>,
    then: Move,
}

struct Context {
    /// The class of text inside it that no rule matches.
    content: Effect,
    rules: Vec<Rule>,
}

impl Written {
    fn regex(&self) -> Option<&onig::Regex> {
        self.regex
            .get_or_init(|| match compile(&self.pattern) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    // The build's test compiles every one; a rule that
                    // still fails here never matches.
                    tracing::error!(pattern = self.pattern, %error, "a converted rule does not compile");
                    None
                }
            })
            .as_ref()
    }
}

fn compile(pattern: &str) -> Result<onig::Regex, onig::Error> {
    onig::Regex::with_options(
        pattern,
        RegexOptions::REGEX_OPTION_CAPTURE_GROUP,
        Syntax::default(),
    )
}

/// A converted lexer.
pub struct Lexer {
    contexts: Vec<Context>,
    written: Vec<Written>,
    main: usize,
}

/// Where a written regex next matches in the current line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Not searched on this line yet, or its last match did nothing.
    Unknown,
    /// No match in the rest of the line.
    Nowhere,
    At(usize, usize),
}

impl Lexer {
    /// Builds the lexer of a converted `.sublime-syntax` file.
    pub fn from_source(source: &str) -> Result<Lexer, String> {
        let definition =
            SyntaxDefinition::load_from_str(source, true, None).map_err(|e| e.to_string())?;
        let pops = counted_pops(source)?;
        Lexer::from_definition(&definition, &pops)
    }

    fn from_definition(definition: &SyntaxDefinition, pops: &CountedPops) -> Result<Lexer, String> {
        let mut names: Vec<&str> = definition.contexts.keys().map(String::as_str).collect();
        names.sort_unstable();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut contexts = Vec::with_capacity(names.len());
        let mut written = WrittenTable::default();
        for name in &names {
            let mut rules = Vec::new();
            let mut collector = Collector {
                definition,
                index: &index,
                pops,
                written: &mut written,
            };
            collector.collect(name, &mut rules, 0)?;
            contexts.push(Context {
                content: Effect::of(&definition.contexts[*name].meta_content_scope),
                rules,
            });
        }
        let main = *index.get("main").ok_or("the syntax has no main context")?;
        Ok(Lexer {
            contexts,
            written: written.regexes,
            main,
        })
    }

    /// Compiles every regex now: the first error, if any.
    pub fn compile_all(&self) -> Result<(), String> {
        for written in &self.written {
            compile(&written.pattern).map_err(|e| format!("{:?}: {e}", written.pattern))?;
        }
        Ok(())
    }

    /// Highlights `code`. Past `budget` the rest is written plain.
    pub fn highlight(
        &self,
        code: &str,
        progress: &dyn Fn(Progress),
        cancel: &CancelFlag,
        budget: Budget,
    ) -> Result<String, EngineError> {
        let mut paint = vec![0u8; code.len()];
        // Each open context with the class of its content.
        let mut stack = vec![(self.main, self.contexts[self.main].content.on(None))];
        let mut region = Region::with_capacity(8);
        let mut next: Vec<Next> = Vec::new();
        let give_up = || cancel.is_cancelled() || budget.is_spent();
        read_by_lines(
            code,
            "lexer",
            progress,
            cancel,
            budget,
            |line_start, line, highlight| {
                if highlight {
                    let painted = &mut paint[line_start..line_start + line.len()];
                    self.read_line(line, painted, &mut stack, &mut next, &mut region, &give_up);
                }
                Ok(())
            },
        )?;
        Ok(Runs::from_paint(code, &paint).render(code))
    }

    /// Reads one line (with its newline), painting it and moving `stack`
    /// from context to context as its rules say. The guards against
    /// rules that match nothing are syntect's (`ParseState::parse_line`),
    /// so that both read every syntax alike. Every [`GIVE_UP_EVERY`]
    /// matches it asks `give_up` (a cancel, a spent budget), and if so
    /// leaves the rest of the line plain: one long line of many tokens
    /// must not outlast the budget, which syntect checks only between
    /// lines.
    fn read_line(
        &self,
        line: &str,
        paint: &mut [u8],
        stack: &mut Vec<(usize, Option<Class>)>,
        next: &mut Vec<Next>,
        region: &mut Region,
        give_up: &dyn Fn() -> bool,
    ) {
        let mut at = 0;
        let mut steps = 0u32;
        // Where an empty match last pushed, and the depth it pushed to: an
        // empty pop right there would undo it and loop.
        let mut empty_push_at = (usize::MAX, 0);
        let mut empty_moves = 0;
        // What each regex was found to match stays true for the rest of
        // the line, whichever context tries it next (syntect keeps it so
        // too, and a test holds the two alike: a push it remembered from
        // below the depth limit still matches above it).
        next.clear();
        next.resize(self.written.len(), Next::Unknown);
        loop {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(GIVE_UP_EVERY) && give_up() {
                return;
            }
            let (context, content) = *stack.last().expect("the stack keeps main");
            let rules = &self.contexts[context].rules;
            let pop_could_loop = empty_push_at == (at, stack.len());
            let mut best: Option<(usize, usize, usize)> = None;
            let mut best_loops = false;
            for (i, rule) in rules.iter().enumerate() {
                let found = match next[rule.written] {
                    Next::At(start, end) if start >= at => Some((start, end)),
                    Next::Nowhere => None,
                    _ => {
                        let written = &self.written[rule.written];
                        let found = search(written, rule, line, at, stack.len(), region);
                        next[rule.written] = found;
                        match found {
                            Next::At(start, end) => Some((start, end)),
                            _ => None,
                        }
                    }
                };
                let Some((start, end)) = found else { continue };
                let better = match best {
                    None => true,
                    Some((_, best_start, _)) => {
                        start < best_start || (start == best_start && best_loops)
                    }
                };
                if better {
                    best_loops = pop_could_loop
                        && end == at
                        && matches!(rule.then, Move::Pop(_) | Move::PopPush(..));
                    best = Some((i, start, end));
                    if start == at && !best_loops {
                        // Nothing can match further left.
                        break;
                    }
                }
            }
            let Some((i, start, end)) = best else {
                paint[at..].fill(paint_code(content));
                return;
            };
            if best_loops || (empty_moves >= MAX_EMPTY_MOVES && end == at) {
                // Step over one character, as Sublime Text does.
                let Some(step) = line[at..].chars().next().map(char::len_utf8) else {
                    return;
                };
                paint[at..at + step].fill(paint_code(content));
                at += step;
                empty_moves = 0;
                continue;
            }
            paint[at..start].fill(paint_code(content));
            let rule = &rules[i];
            // The text that pops a context is not its content (but the
            // text that sets one is, as in Sublime Text).
            let outer = match rule.then {
                Move::Pop(n) | Move::PopPush(n, _) => stack[stack.len().saturating_sub(n + 1)].1,
                _ => content,
            };
            let class = rule.effect.on(outer);
            paint[start..end].fill(paint_code(class));
            if !rule.captures.is_empty() {
                self.paint_captures(rule, line, start, paint, region);
            }
            if end == at && matches!(rule.then, Move::Push(_)) {
                empty_push_at = (end, stack.len() + 1);
            }
            let (pops, to): (usize, &[usize]) = match &rule.then {
                Move::Stay => (0, &[]),
                Move::Push(to) => (0, to),
                Move::Set(to) => (1, to),
                Move::Pop(n) => (*n, &[]),
                Move::PopPush(n, to) => (*n, to),
            };
            if !matches!(rule.then, Move::Stay) {
                // `main` stays however many a rule pops (syntect cannot pop
                // it, and Pygments ignores such a pop); only a `set` takes
                // its place, as in syntect.
                let floor = usize::from(!matches!(rule.then, Move::Set(_)));
                stack.truncate(stack.len().saturating_sub(pops).max(floor));
                for &target in to {
                    let below = stack.last().and_then(|(_, content)| *content);
                    stack.push((target, self.contexts[target].content.on(below)));
                }
                if stack.is_empty() {
                    stack.push((self.main, self.contexts[self.main].content.on(None)));
                }
            }
            empty_moves = if end == at { empty_moves + 1 } else { 0 };
            at = end;
        }
    }

    /// Paints a match's captures, outer groups before the groups inside
    /// them, each over the class of what encloses it.
    fn paint_captures(
        &self,
        rule: &Rule,
        line: &str,
        start: usize,
        paint: &mut [u8],
        region: &mut Region,
    ) {
        region.clear();
        let Some(regex) = self.written[rule.written].regex() else {
            return;
        };
        let matched = regex.match_with_param(
            line,
            start,
            SearchOptions::SEARCH_OPTION_NONE,
            Some(region),
            MatchParam::default(),
        );
        if !matches!(matched, Ok(Some(_))) {
            return;
        }
        let mut groups: Vec<(usize, usize, Effect)> = rule
            .captures
            .iter()
            .filter_map(|&(group, effect)| {
                let (from, to) = region.pos(group)?;
                (from < to).then_some((from, to, effect))
            })
            .collect();
        groups.sort_by_key(|&(from, to, _)| (from, std::cmp::Reverse(to)));
        for (from, to, effect) in groups {
            let enclosing = paint_class(paint[from]);
            paint[from..to].fill(paint_code(effect.on(enclosing)));
        }
    }
}

/// The rule's leftmost match in `line` from `at`. A match that would do
/// nothing (empty, moving nowhere; or a push past [`MAX_DEPTH`]) counts
/// as none for this step only, as in syntect.
fn search(
    written: &Written,
    rule: &Rule,
    line: &str,
    at: usize,
    depth: usize,
    region: &mut Region,
) -> Next {
    let Some(regex) = written.regex() else {
        return Next::Nowhere;
    };
    let found = regex.search_with_param(
        line,
        at,
        line.len(),
        SearchOptions::SEARCH_OPTION_NONE,
        Some(region),
        MatchParam::default(),
    );
    // An error is Oniguruma giving up on a regex that backtracks too
    // long: a miss, as syntect takes it.
    let (Ok(Some(_)), Some((start, end))) = (found, region.pos(0)) else {
        return Next::Nowhere;
    };
    let does_something = match rule.then {
        Move::Stay => start != end,
        // syntect's stack holds one more level than ours: its `__start`,
        // under `main`.
        Move::Push(_) => depth + 1 < MAX_DEPTH,
        _ => true,
    };
    if does_something {
        Next::At(start, end)
    } else {
        Next::Unknown
    }
}

/// Every regex of a syntax, each once, by where it is written.
#[derive(Default)]
struct WrittenTable<'a> {
    regexes: Vec<Written>,
    /// (context, rule number in it) -> its place in `regexes`.
    at: HashMap<(&'a str, usize), usize>,
}

/// The rules that pop more than one context, by (context, rule number),
/// with how many they pop and what they push then (by context name).
/// syntect's loader reads any `pop` as one.
type CountedPops = HashMap<(String, usize), (usize, Vec<String>)>;

/// Reads the `pop: N` (N of 2 or more) of a converted syntax's rules,
/// numbering each context's rules as syntect's loader does (the entries
/// that set a context's meta scopes are not rules).
fn counted_pops(source: &str) -> Result<CountedPops, String> {
    use yaml_rust::{Yaml, YamlLoader};
    let documents = YamlLoader::load_from_str(source).map_err(|e| e.to_string())?;
    let mut pops = CountedPops::new();
    let Some(contexts) = documents.first().and_then(|d| d["contexts"].as_hash()) else {
        return Ok(pops);
    };
    for (name, entries) in contexts {
        let (Some(name), Some(entries)) = (name.as_str(), entries.as_vec()) else {
            continue;
        };
        let rules = entries.iter().filter(|entry| {
            [
                "meta_scope",
                "meta_content_scope",
                "meta_include_prototype",
                "clear_scopes",
            ]
            .iter()
            .all(|key| entry[*key].is_badvalue())
        });
        for (number, rule) in rules.enumerate() {
            let Some(count) = rule["pop"].as_i64().filter(|n| *n > 1) else {
                continue;
            };
            let then = match &rule["push"] {
                Yaml::String(one) => vec![one.clone()],
                Yaml::Array(many) => many
                    .iter()
                    .map(|c| {
                        c.as_str()
                            .map(str::to_owned)
                            .ok_or("an inline push after a pop")
                    })
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            };
            pops.insert((name.to_owned(), number), (count as usize, then));
        }
    }
    Ok(pops)
}

/// Gathers each context's rules, with those of the contexts it includes
/// in their place.
struct Collector<'a, 'w> {
    definition: &'a SyntaxDefinition,
    index: &'w HashMap<&'a str, usize>,
    pops: &'w CountedPops,
    written: &'w mut WrittenTable<'a>,
}

impl<'a> Collector<'a, '_> {
    fn context_of(&self, name: &str) -> Result<usize, String> {
        self.index
            .get(name)
            .copied()
            .ok_or_else(|| format!("no context {name}"))
    }

    fn contexts_of(&self, references: &[ContextReference]) -> Result<Vec<usize>, String> {
        references
            .iter()
            .map(|reference| match reference {
                ContextReference::Named { 0: name, .. }
                | ContextReference::Inline { 0: name, .. } => self.context_of(name),
                other => Err(format!(
                    "a reference this runner does not follow: {other:?}"
                )),
            })
            .collect()
    }

    fn collect(
        &mut self,
        name: &'a str,
        rules: &mut Vec<Rule>,
        depth: usize,
    ) -> Result<(), String> {
        let definition = self.definition;
        for (number, pattern) in definition.contexts[name].patterns.iter().enumerate() {
            match pattern {
                Pattern::Match(pattern) => {
                    let written = &mut *self.written;
                    let place = *written.at.entry((name, number)).or_insert_with(|| {
                        written.regexes.push(Written {
                            regex: OnceLock::new(),
                            pattern: pattern.regex.regex_str().to_owned(),
                        });
                        written.regexes.len() - 1
                    });
                    let then = match &pattern.operation {
                        MatchOperation::None => Move::Stay,
                        MatchOperation::Push(to) => Move::Push(self.contexts_of(to)?),
                        MatchOperation::Set(to) => Move::Set(self.contexts_of(to)?),
                        // Only a pop may carry a count: look it up then.
                        MatchOperation::Pop => match self.pops.get(&(name.to_owned(), number)) {
                            None => Move::Pop(1),
                            Some((count, then)) if then.is_empty() => Move::Pop(*count),
                            Some((count, then)) => Move::PopPush(
                                *count,
                                then.iter()
                                    .map(|c| self.context_of(c))
                                    .collect::<Result<_, _>>()?,
                            ),
                        },
                    };
                    rules.push(Rule {
                        written: place,
                        effect: Effect::of(&pattern.scope),
                        captures: pattern
                            .captures
                            .iter()
                            .flatten()
                            .map(|(group, scopes)| (*group, Effect::of(scopes)))
                            .collect(),
                        then,
                    });
                }
                Pattern::Include(
                    ContextReference::Named { 0: included, .. }
                    | ContextReference::Inline { 0: included, .. },
                ) => {
                    if depth > 16 || !definition.contexts.contains_key(included) {
                        return Err(format!(
                            "{name} includes {included}, which cannot be followed"
                        ));
                    }
                    self.collect(included, rules, depth + 1)?;
                }
                Pattern::Include(other) => {
                    return Err(format!("an include this runner does not follow: {other:?}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::mpsc, thread, time::Duration};

    const KEYWORDS: &str = r#"%YAML 1.2
---
name: Tiny
scope: source.tiny
contexts:
  main:
    - match: '\b(let|in)\b'
      scope: keyword.other
    - match: '"'
      scope: string.quoted
      push:
        - meta_content_scope: string.quoted
        - match: '"'
          scope: string.quoted
          pop: true
"#;

    fn run(
        lexer: &Lexer,
        code: &str,
        cancel: &CancelFlag,
        budget: Duration,
    ) -> Result<String, EngineError> {
        lexer.highlight(code, &|_| {}, cancel, Budget::new(budget))
    }

    #[test]
    fn keywords_and_a_string_across_lines_are_coloured_and_the_text_kept() {
        let lexer = Lexer::from_source(KEYWORDS).unwrap();
        let html = run(
            &lexer,
            "let x = \"a\r\nb\" in\tx",
            &CancelFlag::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            html,
            "<pre class=\"hl\"><code><x-k>let</x-k> x = <x-s>\"a\r\nb\"</x-s> <x-k>in</x-k>\tx</code></pre>"
        );
    }

    #[test]
    fn a_spent_budget_leaves_the_rest_plain_and_a_cancel_stops() {
        let lexer = Lexer::from_source(KEYWORDS).unwrap();
        let html = run(&lexer, "let\nin\n", &CancelFlag::default(), Duration::ZERO).unwrap();
        assert_eq!(html, "<pre class=\"hl\"><code>let\nin\n</code></pre>");
        let cancel = CancelFlag::default();
        cancel.cancel();
        assert!(matches!(
            run(&lexer, "let\n", &cancel, Duration::from_secs(5)),
            Err(EngineError::Cancelled)
        ));
    }

    /// Pygments' `#pop:2`, written `pop: 2`: a list that pushes two of
    /// itself at each `(` and pops both at each `)` (Haskell's import
    /// lists) ends where its parentheses do, so what follows is read as
    /// code again. Read as one pop (syntect's reading), `let` would still
    /// be inside the list.
    #[test]
    fn a_pop_of_two_leaves_two_contexts() {
        let lexer = Lexer::from_source(
            r#"%YAML 1.2
---
name: Lists
scope: source.lists
contexts:
  main:
    - match: '\blet\b'
      scope: keyword.other
    - match: '\('
      push: [list, list]
  list:
    - match: '\('
      push: [list, list]
    - match: '\)'
      pop: 2
    - match: '\w+'
      scope: entity.name.function
"#,
        )
        .unwrap();
        let html = run(
            &lexer,
            "(a (b) c)\nlet",
            &CancelFlag::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            html,
            "<pre class=\"hl\"><code>(<x-f>a</x-f> (<x-f>b</x-f>) <x-f>c</x-f>)\n<x-k>let</x-k></code></pre>"
        );
    }

    /// Pygments' `('#pop', '#pop', 'state')`: two contexts popped, then
    /// one pushed.
    #[test]
    fn a_pop_of_two_then_a_push_lands_in_the_pushed_context() {
        let lexer = Lexer::from_source(
            r#"%YAML 1.2
---
name: Angles
scope: source.angles
contexts:
  main:
    - match: '\blet\b'
      scope: keyword.other
    - match: '<'
      push: [outer, inner]
  outer:
    - match: '\w+'
      scope: entity.name.function
  inner:
    - match: '>'
      pop: 2
      push: after
  after:
    - match: '\w+'
      scope: string.quoted
    - match: ';'
      pop: true
"#,
        )
        .unwrap();
        let html = run(
            &lexer,
            "<>word;let",
            &CancelFlag::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            html,
            "<pre class=\"hl\"><code>&lt;&gt;<x-s>word</x-s>;<x-k>let</x-k></code></pre>"
        );
    }

    /// Two contexts that set each other without reading a character:
    /// syntect spins on them forever; the runner steps over a character.
    #[test]
    fn a_cycle_of_empty_sets_ends() {
        let cycle = r#"%YAML 1.2
---
name: Cycle
scope: source.cycle
contexts:
  main:
    - match: '(?=x)'
      set: other
  other:
    - match: ''
      set: main
    - match: 'y'
      scope: keyword.other
"#;
        let lexer = Lexer::from_source(cycle).unwrap();
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            let html = run(
                &lexer,
                "xxy\n",
                &CancelFlag::default(),
                Duration::from_secs(60),
            )
            .unwrap();
            done.send(html).unwrap();
        });
        let html = finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the cycle ended");
        assert!(html.contains("xxy"), "{html}");
    }

    /// The budget and a cancel are heeded within a line, not only
    /// between lines: the rest of the line is left plain.
    #[test]
    fn a_long_line_stops_where_it_is_asked_to() {
        let lexer = Lexer::from_source(KEYWORDS).unwrap();
        let line = "let ".repeat(1000);
        let mut paint = vec![0u8; line.len()];
        let mut stack = vec![(lexer.main, None)];
        let asked = std::cell::Cell::new(0);
        let give_up = || {
            asked.set(asked.get() + 1);
            true
        };
        lexer.read_line(
            &line,
            &mut paint,
            &mut stack,
            &mut Vec::new(),
            &mut Region::with_capacity(8),
            &give_up,
        );
        assert_eq!(asked.get(), 1);
        let keyword = paint_code(Some(Class::Keyword));
        let coloured = paint.iter().filter(|&&c| c == keyword).count();
        assert!(coloured > 0, "nothing was read before it stopped");
        assert!(
            coloured <= 3 * GIVE_UP_EVERY as usize,
            "{coloured} bytes coloured after being told to stop"
        );
        // Without being asked to stop, the whole line is read.
        let mut whole = vec![0u8; line.len()];
        lexer.read_line(
            &line,
            &mut whole,
            &mut vec![(lexer.main, None)],
            &mut Vec::new(),
            &mut Region::with_capacity(8),
            &|| false,
        );
        assert_eq!(whole.iter().filter(|&&c| c == keyword).count(), 3 * 1000);
    }

    #[test]
    fn what_it_cannot_follow_is_refused_when_built() {
        let embed = r#"%YAML 1.2
---
name: Embeds
scope: source.embeds
contexts:
  main:
    - match: 'a'
      push: scope:source.other
"#;
        assert!(Lexer::from_source(embed).is_err());
    }
}

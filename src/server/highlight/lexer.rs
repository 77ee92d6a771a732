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
//! and the seven languages it serves in place of their grammar
//! (`served.txt`) 1.6 to 3.2 times as fast as syntect did with bat's
//! (`bench/PROFILE.md`, round 17).
//!
//! It reads them as syntect does, and a test holds it to that on every
//! converted syntax (`pygments.rs`; one line of Haskell's corpus file
//! still reads differently, which is why Haskell is not served):
//! line by line, the leftmost match of the current context's rules wins,
//! the first rule in order among those matching at the same place; text
//! no rule matches takes the context's content class. What makes it
//! cheap is what it remembers: each rule's next match in the line, found
//! by one unanchored search (Oniguruma skips ahead by the pattern's first
//! characters), is reused until the reading passes it or the context
//! changes, so most rules are searched once per line, not once per token.
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
    Set(Vec<usize>),
    Pop,
}

struct Rule {
    /// The regex, compiled the first time the rule is tried: a lexer has
    /// hundreds, and a paste in its language tries only some of them.
    regex: OnceLock<Option<onig::Regex>>,
    pattern: String,
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

impl Rule {
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
    main: usize,
}

/// Where a rule next matches in the current line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Not searched since the context or the line changed.
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
        Lexer::from_definition(&definition)
    }

    fn from_definition(definition: &SyntaxDefinition) -> Result<Lexer, String> {
        let mut names: Vec<&str> = definition.contexts.keys().map(String::as_str).collect();
        names.sort_unstable();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut contexts = Vec::with_capacity(names.len());
        for name in &names {
            let mut rules = Vec::new();
            collect_rules(definition, name, &index, &mut rules, 0)?;
            contexts.push(Context {
                content: Effect::of(&definition.contexts[*name].meta_content_scope),
                rules,
            });
        }
        let main = *index.get("main").ok_or("the syntax has no main context")?;
        Ok(Lexer { contexts, main })
    }

    /// Compiles every rule's regex now: the first error, if any.
    pub fn compile_all(&self) -> Result<(), String> {
        for rule in self.contexts.iter().flat_map(|c| &c.rules) {
            compile(&rule.pattern).map_err(|e| format!("{:?}: {e}", rule.pattern))?;
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
        // The context `next` was found for; none yet on this line.
        let mut searched_in = None;
        loop {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(GIVE_UP_EVERY) && give_up() {
                return;
            }
            let (context, content) = *stack.last().expect("the stack keeps main");
            let rules = &self.contexts[context].rules;
            if searched_in != Some(context) {
                next.clear();
                next.resize(rules.len(), Next::Unknown);
                searched_in = Some(context);
            }
            let pop_could_loop = empty_push_at == (at, stack.len());
            let mut best: Option<(usize, usize, usize)> = None;
            let mut best_loops = false;
            for (i, rule) in rules.iter().enumerate() {
                let found = match next[i] {
                    Next::At(start, end) if start >= at => Some((start, end)),
                    Next::Nowhere => None,
                    _ => {
                        let found = search(rule, line, at, stack.len(), region);
                        next[i] = found;
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
                    best_loops = pop_could_loop && end == at && matches!(rule.then, Move::Pop);
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
                Move::Pop => stack.len().checked_sub(2).and_then(|below| stack[below].1),
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
            match &rule.then {
                Move::Stay => {}
                Move::Pop => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
                Move::Push(to) | Move::Set(to) => {
                    if matches!(rule.then, Move::Set(_)) {
                        stack.pop();
                    }
                    for &target in to {
                        let below = stack.last().and_then(|(_, content)| *content);
                        stack.push((target, self.contexts[target].content.on(below)));
                    }
                    if stack.is_empty() {
                        stack.push((self.main, self.contexts[self.main].content.on(None)));
                    }
                }
            }
            if !matches!(rule.then, Move::Stay) {
                searched_in = None;
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
        let Some(regex) = rule.regex() else { return };
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
fn search(rule: &Rule, line: &str, at: usize, depth: usize, region: &mut Region) -> Next {
    let Some(regex) = rule.regex() else {
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
        Move::Push(_) => depth < MAX_DEPTH,
        _ => true,
    };
    if does_something {
        Next::At(start, end)
    } else {
        Next::Unknown
    }
}

/// The rules of context `name`, with those of the contexts it includes
/// in their place.
fn collect_rules(
    definition: &SyntaxDefinition,
    name: &str,
    index: &HashMap<&str, usize>,
    rules: &mut Vec<Rule>,
    depth: usize,
) -> Result<(), String> {
    let context_of = |reference: &ContextReference| match reference {
        ContextReference::Named { 0: name, .. } | ContextReference::Inline { 0: name, .. } => index
            .get(name.as_str())
            .copied()
            .ok_or_else(|| format!("no context {name}")),
        other => Err(format!(
            "a reference this runner does not follow: {other:?}"
        )),
    };
    let contexts_of = |references: &[ContextReference]| -> Result<Vec<usize>, String> {
        references.iter().map(context_of).collect()
    };
    for pattern in &definition.contexts[name].patterns {
        match pattern {
            Pattern::Match(pattern) => {
                rules.push(Rule {
                    regex: OnceLock::new(),
                    pattern: pattern.regex.regex_str().to_owned(),
                    effect: Effect::of(&pattern.scope),
                    captures: pattern
                        .captures
                        .iter()
                        .flatten()
                        .map(|(group, scopes)| (*group, Effect::of(scopes)))
                        .collect(),
                    then: match &pattern.operation {
                        MatchOperation::None => Move::Stay,
                        MatchOperation::Pop => Move::Pop,
                        MatchOperation::Push(to) => Move::Push(contexts_of(to)?),
                        MatchOperation::Set(to) => Move::Set(contexts_of(to)?),
                    },
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
                collect_rules(definition, included, index, rules, depth + 1)?;
            }
            Pattern::Include(other) => {
                return Err(format!("an include this runner does not follow: {other:?}"));
            }
        }
    }
    Ok(())
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

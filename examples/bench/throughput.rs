//! Highlight throughput: the default engine (tree-sitter where it serves
//! the language, syntect elsewhere), syntect alone, and Pygments, on the
//! same corpus files, in the same run; and the size of the HTML each
//! engine of ours writes per byte of code.
//!
//! Every side is measured the same way: every file read into memory first,
//! one warm-up pass, then `passes` timed passes of only the highlighting
//! call, keeping each file's median. The default engine is measured as the
//! server runs it: tree-sitter in its child processes (started from the
//! release server binary), with the pipe to them in the time. Pygments runs
//! in `bench/pygments_throughput.py` (HtmlFormatter with CSS classes, the
//! same kind of output as ours) and reports per group and language as JSON
//! lines.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use highlighter::{
    domain::Filename,
    server::highlight::{
        CancelFlag, Engine, HighlightRequest, IsolatedTreeSitter, Languages, NativeEngine,
        ProgressSink, SyntectEngine, classes::Class, render::Detail,
    },
};
use tokio_util::sync::CancellationToken;

use crate::{
    corpus::Corpus,
    report::{Row, Section, median_duration},
};

/// Bytes and seconds per (group, language), for one engine.
type Rates = BTreeMap<(String, String), (u64, f64)>;

/// The manifest's languages our grammars do not cover: we show those files
/// as plain text, which is fast because it is no work, so they are left out
/// of the totals.
type Uncovered = std::collections::BTreeSet<String>;

const GOAL_RATIO: f64 = 5.0;
/// Every language of the corpus at least this many times Pygments' speed.
const GOAL_SLOWEST: f64 = 1.5;
const GOAL_HTML_WORST: f64 = 6.0;
const GOAL_HTML_MEDIAN: f64 = 3.0;

/// One of our engines measured on the corpus.
#[derive(Default)]
struct Measured {
    rates: Rates,
    uncovered: Uncovered,
    /// HTML bytes per code byte, per file.
    html_ratios: Vec<(f64, String)>,
    /// How much colour each file was stored with (the fragment says).
    details: Vec<(Detail, String)>,
    /// The kinds of token each file has coloured (`kind_of_class`).
    kinds: BTreeMap<String, BTreeSet<&'static str>>,
    /// Which engine served each language first.
    served_by: BTreeMap<String, &'static str>,
}

pub async fn run(corpus: &Corpus, passes: usize, server_bin: &Path) -> Section {
    let languages = Languages::load();
    let syntect = SyntectEngine::new(languages.clone());
    let shutdown = CancellationToken::new();
    let pool = Arc::new(IsolatedTreeSitter::start(
        server_bin.to_owned(),
        1,
        shutdown.clone(),
    ));
    let ready = pool.wait_ready(1, Duration::from_secs(60)).await;
    assert!(ready, "the tree-sitter child did not get ready");
    let native = NativeEngine::new(syntect.clone(), Some(Arc::clone(&pool)));
    let mut pygments_server = PygmentsServer::start(corpus);
    // Nothing else may start up while a file is measured: the child
    // compiles every grammar in a thread of its own after it is ready, and
    // Python imports Pygments before its first answer. Both used to run
    // beside the first file: on two cores, bash (the first) measured 3.56
    // and 5.83 MB/s that way, 6.47 and 6.54 after waiting for both.
    if let Some(first) = corpus.files.first() {
        pygments_server.measure(first, 1);
    }
    assert!(
        pool.wait_warm(Duration::from_secs(120)).await,
        "the tree-sitter child did not finish compiling its grammars"
    );
    let mut default = Measured::default();
    let mut alone = Measured::default();
    let mut pygments = Rates::new();
    let mut pygments_kinds = BTreeMap::<String, BTreeSet<String>>::new();
    // File by file, each engine in turn: a machine whose speed drifts over
    // the run slows every side alike.
    for file in &corpus.files {
        let grammar = grammar_for(&languages, file);
        // A small file takes a fraction of a millisecond: more passes, so
        // that its median is not one scheduler hiccup.
        let passes = match file.code.len() {
            0..4096 => passes.max(31),
            4096..32768 => passes.max(11),
            _ => passes,
        };
        measure(file, &grammar, passes, &native, Some(&native), &mut default).await;
        measure(file, &grammar, passes, &syntect, None, &mut alone).await;
        let (seconds, kinds) = pygments_server.measure(file, passes);
        pygments_kinds.insert(file.path.clone(), kinds);
        let entry = pygments
            .entry((file.group().to_owned(), file.language.clone()))
            .or_default();
        entry.0 += file.code.len() as u64;
        entry.1 += seconds;
    }
    shutdown.cancel();

    let mut rows = Vec::new();
    let mut detail = String::from(
        "| group | language | bytes | engine | default (MB/s) | syntect alone (MB/s) | Pygments (MB/s) | default vs Pygments | syntect vs Pygments |\n|---|---|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let mut totals: BTreeMap<String, [f64; 4]> = BTreeMap::new();
    let mut slowest: Option<(f64, String)> = None;
    for ((group, language), (bytes, ours_s)) in &default.rates {
        let key = (group.clone(), language.clone());
        let (Some((_, theirs_s)), Some((_, alone_s))) = (pygments.get(&key), alone.rates.get(&key))
        else {
            continue;
        };
        if default.uncovered.contains(language) {
            detail.push_str(&format!(
                "| {group} | {language} | {bytes} | none: plain text | | | {:.2} | not counted | |\n",
                mb_per_s(*bytes, *theirs_s),
            ));
            continue;
        }
        let ratio = theirs_s / ours_s;
        detail.push_str(&format!(
            "| {group} | {language} | {bytes} | {} | {:.2} | {:.2} | {:.2} | {ratio:.2}x | {:.2}x |\n",
            default.served_by.get(language).copied().unwrap_or("?"),
            mb_per_s(*bytes, *ours_s),
            mb_per_s(*bytes, *alone_s),
            mb_per_s(*bytes, *theirs_s),
            theirs_s / alone_s,
        ));
        if slowest.as_ref().is_none_or(|(r, _)| ratio < *r) {
            slowest = Some((ratio, format!("{group}/{language}")));
        }
        for key in [group.as_str(), "all"] {
            let total = totals.entry(key.to_owned()).or_default();
            total[0] += *bytes as f64;
            total[1] += ours_s;
            total[2] += theirs_s;
            total[3] += alone_s;
        }
    }
    for (group, [bytes, ours_s, theirs_s, alone_s]) in &totals {
        let ratio = theirs_s / ours_s;
        rows.push(Row {
            measure: format!("highlight throughput, {group}"),
            result: format!(
                "{:.2} MB/s vs Pygments {:.2} MB/s = {ratio:.2}x (syntect alone {:.2} MB/s = {:.2}x)",
                bytes / ours_s / 1e6,
                bytes / theirs_s / 1e6,
                bytes / alone_s / 1e6,
                theirs_s / alone_s,
            ),
            goal: format!(">= {GOAL_RATIO}x Pygments"),
            score: ratio / GOAL_RATIO,
        });
    }
    if let Some((ratio, which)) = slowest {
        rows.push(Row {
            measure: "highlight throughput, slowest language".into(),
            result: format!("{which}: {ratio:.2}x Pygments"),
            goal: format!(">= {GOAL_SLOWEST}x Pygments"),
            score: ratio / GOAL_SLOWEST,
        });
    }
    for (name, measured) in [("default", &default), ("syntect alone", &alone)] {
        let mut ratios = measured.html_ratios.clone();
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        if ratios.is_empty() {
            continue;
        }
        let median = ratios[ratios.len() / 2].0;
        let (worst, worst_file) = ratios.last().cloned().unwrap_or_default();
        rows.push(Row {
            measure: format!("HTML bytes per code byte, {name}"),
            result: format!("median {median:.2}, worst {worst:.2} ({worst_file})"),
            goal: format!("median <= {GOAL_HTML_MEDIAN}, worst <= {GOAL_HTML_WORST}"),
            score: (GOAL_HTML_MEDIAN / median).min(GOAL_HTML_WORST / worst),
        });
    }
    // Colour dropped to keep a file's HTML within the cap: every file
    // should keep at least everything but punctuation.
    let mut kept = BTreeMap::<&str, usize>::new();
    let mut poorer = Vec::new();
    for (detail, path) in &default.details {
        *kept.entry(detail.name()).or_default() += 1;
        if !matches!(detail, Detail::Full) {
            poorer.push(format!("{path} ({})", detail.name()));
        }
    }
    let below_goal = default
        .details
        .iter()
        .filter(|(d, _)| matches!(d, Detail::Essential | Detail::Plain))
        .count();
    rows.push(Row {
        measure: "colour kept under the size cap, default".into(),
        result: format!(
            "{} of {} files at full detail{}",
            kept.get("full").copied().unwrap_or(0),
            default.details.len(),
            kept.iter()
                .filter(|(name, _)| **name != "full")
                .map(|(name, n)| format!(", {n} {name}"))
                .collect::<String>()
        ),
        goal: "every file full or without punctuation".into(),
        score: if below_goal == 0 { 1.0 } else { 0.0 },
    });
    let (kinds_row, kinds_table) =
        compare_kinds(corpus, &default.kinds, &pygments_kinds, &default.uncovered);
    rows.push(kinds_row);
    detail.push_str(&kinds_table);
    if !poorer.is_empty() {
        detail.push_str(&format!(
            "\nStored with less than full colour (default engine): {}.\n",
            poorer.join(", ")
        ));
    }
    Section {
        title: "Highlight throughput".into(),
        how: format!(
            "The default engine (tree-sitter in one child process where it serves the \
             language, syntect elsewhere, as the server runs it), syntect alone (the same \
             class vocabulary and writer), and Pygments (`HtmlFormatter`, classes) on every \
             file of `{}`; per file the median of {passes} timed passes after one warm-up \
             (31 for files under 4 KiB, 11 under 32 KiB), each file through the three in \
             turn; bytes/s = bytes / summed medians. HTML bytes per code byte: per file, the \
             stored fragment's length over the code's. Colour kept: per file, the detail its \
             fragment was written at within the 6x cap (`data-detail`: full, no-punctuation, \
             essential, plain). Token kinds: per file, the kinds of token our classes colour \
             (keyword, string, comment, number, constant, function, type, variable, operator, \
             attribute, tag, module, label, markup, diff) against the kinds of the token types \
             Pygments' lexer gives the same file, grouped alike (`KINDS` in \
             `bench/pygments_throughput.py`).{}",
            corpus.dir.display(),
            if default.uncovered.is_empty() {
                String::new()
            } else {
                format!(
                    " Languages our grammars do not cover are shown as plain text and left \
                     out of the totals: {}.",
                    default
                        .uncovered
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        rows,
        detail,
    }
}

/// Our classes grouped in the kinds Pygments' token types are grouped in
/// (`KINDS` in bench/pygments_throughput.py), so that the two can be
/// compared. Every class has a colour in both of our themes.
fn kind_of_class(class: Class) -> &'static str {
    match class {
        Class::Keyword => "keyword",
        Class::String | Class::Escape | Class::Regex => "string",
        Class::Comment => "comment",
        Class::Number => "number",
        Class::Constant => "constant",
        Class::Function | Class::Builtin | Class::Macro => "function",
        Class::Type => "type",
        Class::Variable | Class::Parameter | Class::Property => "variable",
        Class::Punctuation => "operator",
        Class::Attribute | Class::TagAttribute => "attribute",
        Class::Tag => "tag",
        Class::Module => "module",
        Class::Label => "label",
        Class::Heading | Class::Emphasis | Class::Strong | Class::Link => "markup",
        Class::Inserted | Class::Deleted => "diff",
    }
}

/// The kinds of token a fragment colours, from its run elements.
fn kinds_in(html: &str) -> BTreeSet<&'static str> {
    let mut kinds = BTreeSet::new();
    for piece in html.split('<').skip(1) {
        let element = piece.split('>').next().unwrap_or_default();
        if let Some(class) = Class::ALL.iter().find(|c| c.element() == element) {
            kinds.insert(kind_of_class(*class));
        }
    }
    kinds
}

/// Per language: the kinds we colour, the kinds Pygments colours, and the
/// files where we colour fewer.
type KindsByLanguage<'a> = BTreeMap<String, (BTreeSet<&'a str>, BTreeSet<&'a str>, Vec<String>)>;

/// Per language of the corpus: the kinds each engine colours, and the
/// files where ours colours fewer than Pygments.
fn compare_kinds(
    corpus: &Corpus,
    ours: &BTreeMap<String, BTreeSet<&'static str>>,
    theirs: &BTreeMap<String, BTreeSet<String>>,
    uncovered: &Uncovered,
) -> (Row, String) {
    let mut by_language = KindsByLanguage::new();
    let (mut compared, mut fewer) = (0, 0);
    for file in &corpus.files {
        let (Some(ours), Some(theirs)) = (ours.get(&file.path), theirs.get(&file.path)) else {
            continue;
        };
        if uncovered.contains(&file.language) {
            continue;
        }
        compared += 1;
        let entry = by_language.entry(file.language.clone()).or_default();
        entry.0.extend(ours.iter().copied());
        entry.1.extend(theirs.iter().map(String::as_str));
        if ours.len() < theirs.len() {
            fewer += 1;
            let missing: Vec<&str> = theirs
                .iter()
                .map(String::as_str)
                .filter(|kind| !ours.contains(kind))
                .collect();
            entry.2.push(format!(
                "{} ({} vs {}; not: {})",
                file.path,
                ours.len(),
                theirs.len(),
                missing.join(" ")
            ));
        }
    }
    let mut table = String::from(
        "\n| language | kinds we colour | kinds Pygments colours | files where we colour fewer |\n|---|---|---|---|\n",
    );
    for (language, (ours, theirs, files)) in &by_language {
        table.push_str(&format!(
            "| {language} | {} | {} | {} |\n",
            ours.iter().copied().collect::<Vec<_>>().join(" "),
            theirs.iter().copied().collect::<Vec<_>>().join(" "),
            if files.is_empty() {
                "none".to_owned()
            } else {
                files.join(", ")
            }
        ));
    }
    let row = Row {
        measure: "token kinds coloured vs Pygments, default".into(),
        result: format!(
            "{} of {compared} files colour as many kinds as Pygments or more ({fewer} fewer)",
            compared - fewer
        ),
        goal: "every file".into(),
        score: if compared > 0 && fewer == 0 { 1.0 } else { 0.0 },
    };
    (row, table)
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds / 1e6
}

fn grammar_for(languages: &Languages, file: &crate::corpus::CorpusFile) -> String {
    languages
        .resolve(&file.language)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            // As a paste with its file name: detection starts there.
            let filename = Filename::parse(Some(file.file_name())).ok().flatten();
            languages.detect(filename.as_ref(), &file.code)
        })
}

/// One file through one of our engines: one warm-up pass (whose HTML is
/// measured for size), then `passes` timed ones.
async fn measure(
    file: &crate::corpus::CorpusFile,
    grammar: &str,
    passes: usize,
    engine: &dyn Engine,
    native: Option<&NativeEngine>,
    measured: &mut Measured,
) {
    if grammar == "Plain Text" {
        measured.uncovered.insert(file.language.clone());
    }
    if let Some(native) = native {
        measured
            .served_by
            .insert(file.language.clone(), native.engine_for(grammar));
    }
    let mut times = Vec::with_capacity(passes);
    for pass in 0..=passes {
        let request = HighlightRequest {
            code: file.code.clone(),
            language: grammar.to_owned(),
            budget: Duration::from_secs(3600),
        };
        let (sink, _) = ProgressSink::new();
        let started = Instant::now();
        let html = engine
            .highlight(request, sink, CancelFlag::default())
            .await
            .expect("highlighting succeeds");
        let took = started.elapsed();
        if pass == 0 {
            measured.html_ratios.push((
                html.len() as f64 / file.code.len().max(1) as f64,
                file.path.clone(),
            ));
            measured
                .details
                .push((Detail::of_fragment(&html), file.path.clone()));
            measured.kinds.insert(file.path.clone(), kinds_in(&html));
        } else {
            times.push(took);
        }
    }
    let entry = measured
        .rates
        .entry((file.group().to_owned(), file.language.clone()))
        .or_default();
    entry.0 += file.code.len() as u64;
    entry.1 += median_duration(&mut times).as_secs_f64();
}

/// Pygments, timing one file per request (`bench/pygments_throughput.py
/// --serve`), so that it can run between our engines' passes.
struct PygmentsServer {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl PygmentsServer {
    fn start(corpus: &Corpus) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/pygments_throughput.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--serve")
            .arg("--corpus")
            .arg(&corpus.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (is Pygments installed? scripts/setup.sh --with-bench)");
        let input = child.stdin.take().expect("piped stdin");
        let output = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        PygmentsServer {
            child,
            input,
            output,
        }
    }

    /// The file's median time, and the kinds of token Pygments colours in
    /// it.
    fn measure(
        &mut self,
        file: &crate::corpus::CorpusFile,
        passes: usize,
    ) -> (f64, BTreeSet<String>) {
        use std::io::{BufRead, Write};
        writeln!(self.input, "{}\t{}\t{passes}", file.path, file.language)
            .expect("Pygments listens");
        self.input.flush().expect("Pygments listens");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("Pygments answers");
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("Pygments answered {line:?} for {} ({e})", file.path));
        let kinds = answer["kinds"]
            .as_array()
            .expect("kinds")
            .iter()
            .map(|kind| kind.as_str().expect("a kind").to_owned())
            .collect();
        (answer["seconds"].as_f64().expect("seconds"), kinds)
    }
}

impl Drop for PygmentsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    collections::BTreeMap,
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use highlighter::{
    domain::Filename,
    server::highlight::{
        CancelFlag, Engine, HighlightRequest, IsolatedTreeSitter, Languages, NativeEngine,
        ProgressSink, SyntectEngine,
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
const GOAL_HTML_WORST: f64 = 6.0;
const GOAL_HTML_MEDIAN: f64 = 3.0;

/// One of our engines measured on the corpus.
#[derive(Default)]
struct Measured {
    rates: Rates,
    uncovered: Uncovered,
    /// HTML bytes per code byte, per file.
    html_ratios: Vec<(f64, String)>,
    /// Which engine served each language first.
    served_by: BTreeMap<String, &'static str>,
}

pub async fn run(corpus: &Corpus, passes: usize, server_bin: &Path) -> Section {
    let languages = Languages::load();
    let syntect = SyntectEngine::new(Arc::clone(languages.syntaxes()));
    let shutdown = CancellationToken::new();
    let pool = Arc::new(IsolatedTreeSitter::start(
        server_bin.to_owned(),
        1,
        shutdown.clone(),
    ));
    let ready = pool.wait_ready(1, Duration::from_secs(60)).await;
    assert!(ready, "the tree-sitter child did not get ready");
    let native = NativeEngine::new(syntect.clone(), Some(pool));
    let mut pygments_server = PygmentsServer::start(corpus);
    let mut default = Measured::default();
    let mut alone = Measured::default();
    let mut pygments = Rates::new();
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
        let seconds = pygments_server.median_seconds(file, passes);
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
            goal: ">= 1x Pygments".into(),
            score: ratio,
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
    Section {
        title: "Highlight throughput".into(),
        how: format!(
            "The default engine (tree-sitter in one child process where it serves the \
             language, syntect elsewhere, as the server runs it), syntect alone (the same \
             class vocabulary and writer), and Pygments (`HtmlFormatter`, classes) on every \
             file of `{}`; per file the median of {passes} timed passes after one warm-up \
             (31 for files under 4 KiB, 11 under 32 KiB), each file through the three in \
             turn; bytes/s = bytes / summed medians. HTML bytes per code byte: per file, the \
             stored fragment's length over the code's.{}",
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

    fn median_seconds(&mut self, file: &crate::corpus::CorpusFile, passes: usize) -> f64 {
        use std::io::{BufRead, Write};
        writeln!(self.input, "{}\t{}\t{passes}", file.path, file.language)
            .expect("Pygments listens");
        self.input.flush().expect("Pygments listens");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("Pygments answers");
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("Pygments answered {line:?} for {} ({e})", file.path));
        answer["seconds"].as_f64().expect("seconds")
    }
}

impl Drop for PygmentsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Highlight throughput: the embedded engine alone against Pygments, on
//! the same corpus files, in the same run.
//!
//! Both sides are measured the same way: every file read into memory
//! first, one warm-up pass, then `passes` timed passes of only the
//! highlighting call, keeping each file's median. Pygments runs in
//! `bench/pygments_throughput.py` (HtmlFormatter with CSS classes, the same
//! kind of output as ours) and reports per group and language as JSON lines.

use std::{collections::BTreeMap, process::Command, sync::Arc, time::Instant};

use highlighter::{
    domain::Filename,
    server::highlight::{CancelFlag, Languages, SyntectEngine},
};

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

pub fn run(corpus: &Corpus, passes: usize) -> Section {
    let (ours, uncovered) = engine_rates(corpus, passes);
    let pygments = pygments_rates(corpus, passes);

    let mut rows = Vec::new();
    let mut detail = String::from(
        "| group | language | bytes | ours (MB/s) | Pygments (MB/s) | ratio |\n|---|---|---:|---:|---:|---:|\n",
    );
    let mut totals: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for ((group, language), (bytes, ours_s)) in &ours {
        let Some((_, theirs_s)) = pygments.get(&(group.clone(), language.clone())) else {
            continue;
        };
        let ratio = theirs_s / ours_s;
        if uncovered.contains(language) {
            detail.push_str(&format!(
                "| {group} | {language} | {bytes} | no grammar: plain text | {:.2} | not counted |\n",
                mb_per_s(*bytes, *theirs_s),
            ));
            continue;
        }
        detail.push_str(&format!(
            "| {group} | {language} | {bytes} | {:.2} | {:.2} | {ratio:.2}x |\n",
            mb_per_s(*bytes, *ours_s),
            mb_per_s(*bytes, *theirs_s),
        ));
        for key in [group.as_str(), "all"] {
            let total = totals.entry(key.to_owned()).or_default();
            total[0] += *bytes as f64;
            total[1] += ours_s;
            total[2] += theirs_s;
        }
    }
    for (group, [bytes, ours_s, theirs_s]) in &totals {
        let ratio = theirs_s / ours_s;
        rows.push(Row {
            measure: format!("highlight throughput, {group}"),
            result: format!(
                "{:.2} MB/s vs Pygments {:.2} MB/s = {ratio:.2}x",
                bytes / ours_s / 1e6,
                bytes / theirs_s / 1e6
            ),
            goal: format!(">= {GOAL_RATIO}x Pygments"),
            score: ratio / GOAL_RATIO,
        });
    }
    Section {
        title: "Highlight throughput".into(),
        how: format!(
            "The engine alone (syntect + two-face grammars, class-based HTML) and Pygments \
             (`HtmlFormatter`, classes) on every file of `{}`; per file the median of {passes} \
             timed passes after one warm-up; bytes/s = bytes / summed medians.{}",
            corpus.dir.display(),
            if uncovered.is_empty() {
                String::new()
            } else {
                format!(
                    " Languages our grammars do not cover are shown as plain text and left \
                     out of the totals: {}.",
                    uncovered.iter().cloned().collect::<Vec<_>>().join(", ")
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

fn engine_rates(corpus: &Corpus, passes: usize) -> (Rates, Uncovered) {
    let languages = Languages::load();
    let engine = SyntectEngine::new(Arc::clone(languages.syntaxes()));
    let cancel = CancelFlag::default();
    let mut rates = Rates::new();
    let mut uncovered = Uncovered::new();
    for file in &corpus.files {
        let grammar = languages
            .resolve(&file.language)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                // As a paste with its file name: detection starts there.
                let filename = Filename::parse(Some(file.file_name())).ok().flatten();
                languages.detect(filename.as_ref(), &file.code)
            });
        if grammar == "Plain Text" {
            uncovered.insert(file.language.clone());
        }
        let mut times = Vec::with_capacity(passes);
        for pass in 0..=passes {
            let started = Instant::now();
            let html = engine
                .highlight_blocking(&file.code, &grammar, &|_| {}, &cancel)
                .expect("highlighting succeeds");
            let took = started.elapsed();
            std::hint::black_box(html);
            if pass > 0 {
                times.push(took);
            }
        }
        let entry = rates
            .entry((file.group().to_owned(), file.language.clone()))
            .or_default();
        entry.0 += file.code.len() as u64;
        entry.1 += median_duration(&mut times).as_secs_f64();
    }
    (rates, uncovered)
}

fn pygments_rates(corpus: &Corpus, passes: usize) -> Rates {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/pygments_throughput.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--repeats", &passes.to_string()])
        .arg("--corpus")
        .arg(&corpus.dir)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the Pygments run failed (is Pygments installed? scripts/setup.sh --with-bench): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut rates = Rates::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON lines");
        let language = row["language"].as_str().unwrap_or("*");
        if language == "*" {
            continue;
        }
        rates.insert(
            (
                row["group"].as_str().unwrap_or("").to_owned(),
                language.to_owned(),
            ),
            (
                row["bytes"].as_u64().unwrap_or(0),
                row["seconds"].as_f64().unwrap_or(f64::NAN),
            ),
        );
    }
    rates
}

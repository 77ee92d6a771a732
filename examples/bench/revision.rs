//! Editing one line of a big gist while pages show it: a snippet of 20
//! files, about 400 KiB, open on `pages` pages (each on its own page
//! stream, `?since=N&highlighted=true`, as a browser holds it); the owner
//! saves `edits` revisions, each changing one line of one file. One sample
//! is the time from sending the save (`PUT`) to one page receiving the
//! new revision's `highlighted`, and the bytes that page received for it.
//!
//! The goal for bytes is what the issue asks: only what changed, not the
//! 20 files again. A page is sent the revision (every file's name, size
//! and hash: about 170 bytes a file), the one changed file's HTML, and the
//! job's states and progress: at most the changed file's HTML and 8 KiB of
//! events.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::{
    corpus::Corpus,
    report::{Row, Section, median, percentile},
    server::{Server, ServerFiles, snippet_json, wait_highlighted},
    sse,
};

/// Files in the snippet, and the bytes of each.
const FILES: usize = 20;
const FILE_BYTES: usize = 20 * 1024;
/// Events besides the changed file's HTML that a page may receive.
const EVENT_ALLOWANCE: usize = 8 * 1024;
/// A page that has not received a revision by then lost it.
const LOST_AFTER: Duration = Duration::from_secs(30);

/// The 20 files: each a corpus file's lines, repeated up to 20 KiB, under
/// the corpus file's own name (so each gets its language).
pub fn gist(corpus: &Corpus) -> Vec<(String, String)> {
    let mut names = std::collections::HashSet::new();
    let mut files = Vec::new();
    for file in corpus.files.iter().filter(|f| f.group() == "files") {
        if files.len() == FILES {
            break;
        }
        if file.code.trim().is_empty() || !names.insert(file.file_name().to_lowercase()) {
            continue;
        }
        let mut code = String::with_capacity(FILE_BYTES + 256);
        while code.len() < FILE_BYTES {
            for line in file.code.split_inclusive('\n') {
                if code.len() >= FILE_BYTES {
                    break;
                }
                code.push_str(line);
            }
            if !code.ends_with('\n') {
                code.push('\n');
            }
        }
        files.push((file.file_name().to_owned(), code));
    }
    assert_eq!(
        files.len(),
        FILES,
        "the corpus has {FILES} files of distinct names"
    );
    files
}

/// One line of one file changed: its `line`th line gets a comment-free
/// suffix every language keeps as text.
fn edit(files: &mut [(String, String)], edit: usize) -> usize {
    let at = edit % files.len();
    let code = &files[at].1;
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    let line = (edit * 7) % lines.len();
    let mut changed = String::with_capacity(code.len() + 16);
    for (n, text) in lines.iter().enumerate() {
        if n == line {
            changed.push_str(text.trim_end_matches('\n'));
            changed.push_str(&format!(" x{edit}\n"));
        } else {
            changed.push_str(text);
        }
    }
    files[at].1 = changed;
    at
}

struct RunFigures {
    latencies_ms: Vec<f64>,
    bytes: Vec<f64>,
    allowed: Vec<f64>,
    all_html: usize,
    lost: usize,
}

async fn one_run(files: &ServerFiles, corpus: &Corpus, pages: usize, edits: usize) -> RunFigures {
    let server = Server::start(files, &[]).await;
    let client = reqwest::Client::new();
    let mut gist = gist(corpus);
    let body: Vec<Value> = gist
        .iter()
        .map(|(name, code)| json!({ "name": name, "code": code }))
        .collect();
    let created: Value = client
        .post(format!("{}/api/snippets", server.base))
        .json(&json!({ "files": body }))
        .send()
        .await
        .expect("submitted")
        .json()
        .await
        .expect("the answer is JSON");
    let id = created["id"].as_str().expect("an id").to_owned();
    let token = created["owner_token"].as_str().expect("a token").to_owned();
    wait_highlighted(&client, &server.base, &id).await;
    let snippet = snippet_json(&client, &server.base, &id).await;
    let html_of = |snippet: &Value, name: &str| -> usize {
        snippet["files"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == name)
            .and_then(|f| f["html"].as_str())
            .map_or(0, str::len)
    };
    let all_html: usize = gist.iter().map(|(name, _)| html_of(&snippet, name)).sum();

    // The pages, each past its snapshot.
    let mut streams = Vec::with_capacity(pages);
    for _ in 0..pages {
        let mut stream = sse::open(
            &client,
            &format!(
                "{}/api/snippets/{id}/events?since=1&highlighted=true",
                server.base
            ),
        )
        .await
        .expect("a page stream");
        while let Some(event) = stream.next().await {
            if event.name == "highlighted" {
                break;
            }
        }
        streams.push(stream);
    }

    let mut figures = RunFigures {
        latencies_ms: Vec::new(),
        bytes: Vec::new(),
        allowed: Vec::new(),
        all_html,
        lost: 0,
    };
    for n in 1..=edits {
        let changed = edit(&mut gist, n);
        let revision = n as u64 + 1;
        let body: Vec<Value> = gist
            .iter()
            .map(|(name, code)| json!({ "name": name, "code": code }))
            .collect();
        let before: Vec<usize> = streams.iter().map(|s| s.received).collect();
        let sent = Instant::now();
        let save = client
            .put(format!("{}/api/snippets/{id}", server.base))
            .bearer_auth(&token)
            .json(&json!({ "base_revision": n, "files": body }));
        let (saved, arrivals) = tokio::join!(
            save.send(),
            join_all(streams.iter_mut().map(|stream| async move {
                let wait = async {
                    while let Some(event) = stream.next().await {
                        if event.name == "highlighted"
                            && serde_json::from_str::<Value>(&event.data)
                                .is_ok_and(|v| v["revision"] == revision)
                        {
                            return Some(sent.elapsed());
                        }
                    }
                    None
                };
                tokio::time::timeout(LOST_AFTER, wait).await.ok().flatten()
            }))
        );
        let saved = saved.expect("the save answers");
        assert_eq!(saved.status(), reqwest::StatusCode::CREATED, "save {n}");
        let snippet = snippet_json(&client, &server.base, &id).await;
        let changed_html = html_of(&snippet, &gist[changed].0);
        for (page, arrival) in arrivals.into_iter().enumerate() {
            match arrival {
                Some(took) => {
                    figures.latencies_ms.push(took.as_secs_f64() * 1000.0);
                    figures
                        .bytes
                        .push((streams[page].received - before[page]) as f64);
                    figures
                        .allowed
                        .push((changed_html + EVENT_ALLOWANCE) as f64);
                }
                None => figures.lost += 1,
            }
        }
    }
    figures
}

pub async fn run(
    files: &ServerFiles,
    corpus: &Corpus,
    pages: usize,
    edits: usize,
    runs: usize,
) -> Section {
    let mut detail = String::from(
        "| run | p50 (ms) | p99 (ms) | bytes a page received per save (median / max) | all 20 files' HTML | lost |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    let (mut p50s, mut p99s, mut bytes, mut over_allowance) = (vec![], vec![], vec![], vec![]);
    let mut all_html = 0;
    let mut lost = 0;
    for run in 1..=runs {
        let mut figures = one_run(files, corpus, pages, edits).await;
        assert!(
            !figures.latencies_ms.is_empty(),
            "no page received any revision"
        );
        let p50 = percentile(&mut figures.latencies_ms.clone(), 50.0);
        let p99 = percentile(&mut figures.latencies_ms, 99.0);
        let median_bytes = median(&mut figures.bytes.clone());
        let max_bytes = figures.bytes.iter().copied().fold(0.0, f64::max);
        // The worst page-and-save against what it was allowed.
        let worst = figures
            .bytes
            .iter()
            .zip(&figures.allowed)
            .map(|(got, allowed)| got / allowed)
            .fold(0.0, f64::max);
        eprintln!(
            "revision run {run}: p50 {p50:.1} ms, p99 {p99:.1} ms, {median_bytes:.0} bytes a page (max {max_bytes:.0}), lost {}",
            figures.lost
        );
        detail.push_str(&format!(
            "| {run} | {p50:.1} | {p99:.1} | {median_bytes:.0} / {max_bytes:.0} | {} | {} |\n",
            figures.all_html, figures.lost
        ));
        p50s.push(p50);
        p99s.push(p99);
        bytes.push(median_bytes);
        over_allowance.push(worst);
        all_html = figures.all_html;
        lost += figures.lost;
    }
    let (p50, p99) = (median(&mut p50s), median(&mut p99s));
    let page_bytes = median(&mut bytes);
    let worst = over_allowance.iter().copied().fold(0.0, f64::max);
    Section {
        title: "A revision pushed to open pages".into(),
        how: format!(
            "A snippet of {FILES} files of {} KiB each ({} KiB) from the corpus, open on {pages} \
             page streams (`/api/snippets/{{id}}/events?since=N&highlighted=true`); the owner saves \
             {edits} revisions one after another, each changing one line of one file (`PUT` with \
             `base_revision`). A sample: `PUT` sent -> that revision's `highlighted` received by \
             one page; and the bytes that page received for the revision. {runs} runs; the \
             medians of their p50, p99 and bytes.",
            FILE_BYTES / 1024,
            FILES * FILE_BYTES / 1024
        ),
        rows: vec![
            Row {
                measure: "Save -> pushed to every open page (p50 / p99)".into(),
                result: format!(
                    "{p50:.1} ms / {p99:.1} ms over {pages} pages x {edits} saves; {lost} lost"
                ),
                goal: "nothing lost".into(),
                score: if lost == 0 { 1.0 } else { 0.0 },
            },
            Row {
                measure: "Bytes a page receives for a one-line save".into(),
                result: format!(
                    "{page_bytes:.0} bytes (median; all {FILES} files' HTML is {all_html}); worst page {:.0}% of its allowance",
                    worst * 100.0
                ),
                goal: format!(
                    "<= the changed file's HTML + {} KiB",
                    EVENT_ALLOWANCE / 1024
                ),
                score: if worst > 0.0 { 1.0 / worst } else { 1.0 },
            },
        ],
        detail,
    }
}

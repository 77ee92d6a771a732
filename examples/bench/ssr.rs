//! Server-side rendering: `wrk` on a highlighted snippet's page against a
//! bare axum handler that returns the same bytes, run back to back.
//!
//! The bare handler lives in this process on its own port; it does what
//! any axum app must (accept, parse, route, write) and nothing else, so
//! the ratio is what the page's database read and rendering cost.

use std::process::Command;

use axum::{Router, response::Html, routing::get};

use crate::{
    corpus::Corpus,
    report::{Row, Section, median},
    server::{Server, ServerFiles, submit, wait_highlighted},
};

const GOAL_RATIO: f64 = 0.5;
/// Connections wrk keeps open: a busy page, not a flood.
const CONNECTIONS: u32 = 16;

pub async fn run(files: &ServerFiles, corpus: &Corpus, seconds: u64, runs: usize) -> Section {
    let server = Server::start(files, &[]).await;
    let client = reqwest::Client::new();
    let (code, filename) = corpus
        .snippets(100)
        .into_iter()
        .find(|(_, name)| name.ends_with(".rs"))
        .expect("a Rust file of 100 lines or more in the corpus");
    let id = submit(&client, &server.base, &code, Some(&filename))
        .await
        .expect("submitted");
    wait_highlighted(&client, &server.base, &id).await;
    let page_url = format!("{}/s/{id}", server.base);
    let page = client
        .get(&page_url)
        .send()
        .await
        .expect("the page answers");
    assert!(
        page.status().is_success(),
        "the page answered {}",
        page.status()
    );
    let page = page.text().await.expect("the page's HTML");
    assert!(
        page.contains("class=\"code-view\""),
        "the page shows the highlighted code"
    );

    let body = page.clone();
    let bare = Router::new().route("/", get(move || std::future::ready(Html(body.clone()))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the bare handler");
    let bare_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bare).await });

    let mut detail =
        String::from("| run | page (req/s) | bare axum (req/s) | ratio |\n|---:|---:|---:|---:|\n");
    let (mut pages, mut bares, mut ratios) = (vec![], vec![], vec![]);
    for run in 1..=runs {
        let page_rps = wrk(&page_url, seconds);
        let bare_rps = wrk(&bare_url, seconds);
        eprintln!("ssr run {run}: page {page_rps:.0} req/s, bare {bare_rps:.0} req/s");
        detail.push_str(&format!(
            "| {run} | {page_rps:.0} | {bare_rps:.0} | {:.0}% |\n",
            100.0 * page_rps / bare_rps
        ));
        pages.push(page_rps);
        bares.push(bare_rps);
        ratios.push(page_rps / bare_rps);
    }
    let (page_rps, bare_rps) = (median(&mut pages), median(&mut bares));
    // The figure is the median of each run's own ratio: the two halves of
    // a run are measured seconds apart, on a machine whose speed drifts
    // between runs; a ratio of medians would divide runs made minutes
    // apart.
    let ratio = median(&mut ratios);
    Section {
        title: "Server-side rendering".into(),
        how: format!(
            "`wrk -t1 -c{CONNECTIONS} -d{seconds}s` on `/s/{{id}}` of a highlighted 100-line \
             Rust snippet ({} bytes of HTML), then on a bare axum handler in the bench process \
             returning the same bytes; {runs} alternating runs; the medians of each, and the \
             median of the runs' ratios.",
            page.len()
        ),
        rows: vec![Row {
            measure: "SSR of a snippet page".into(),
            result: format!(
                "{page_rps:.0} req/s vs bare axum {bare_rps:.0} req/s; median ratio {:.0}%",
                ratio * 100.0
            ),
            goal: format!(">= {:.0}% of bare axum", GOAL_RATIO * 100.0),
            score: ratio / GOAL_RATIO,
        }],
        detail,
    }
}

/// Requests per second as `wrk` reports them; every answer must be a 2xx.
fn wrk(url: &str, seconds: u64) -> f64 {
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            url,
        ])
        .output()
        .expect("wrk runs (scripts/setup.sh --with-bench installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "{url} answered errors under load:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}

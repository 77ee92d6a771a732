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

/// One page measured: its address, and the bare handler's that returns
/// the same bytes.
struct Page {
    what: String,
    url: String,
    bare_url: String,
    bytes: usize,
}

/// Fetches a highlighted snippet's page and serves the same bytes from a
/// bare axum handler.
async fn page(client: &reqwest::Client, base: &str, id: &str, what: String) -> Page {
    wait_highlighted(client, base, id).await;
    let url = format!("{base}/s/{id}");
    let answer = client.get(&url).send().await.expect("the page answers");
    assert!(
        answer.status().is_success(),
        "the page answered {}",
        answer.status()
    );
    let body = answer.text().await.expect("the page's HTML");
    assert!(
        body.contains("class=\"code-view\"") && !body.contains("pre class=\"source\""),
        "the page shows highlighted code"
    );
    let bytes = body.len();
    let bare = Router::new().route("/", get(move || std::future::ready(Html(body.clone()))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the bare handler");
    let bare_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bare).await });
    Page {
        what,
        url,
        bare_url,
        bytes,
    }
}

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
    let one = page(
        &client,
        &server.base,
        &id,
        "a highlighted 100-line Rust snippet".into(),
    )
    .await;
    // A gist of 20 files (400 KiB), as the revision measure makes it.
    let gist = crate::revision::gist(corpus);
    let body: Vec<serde_json::Value> = gist
        .iter()
        .map(|(name, code)| serde_json::json!({ "name": name, "code": code }))
        .collect();
    let created: serde_json::Value = client
        .post(format!("{}/api/snippets", server.base))
        .json(&serde_json::json!({ "files": body }))
        .send()
        .await
        .expect("submitted")
        .json()
        .await
        .expect("JSON");
    let gist_id = created["id"].as_str().expect("an id");
    let many = page(
        &client,
        &server.base,
        gist_id,
        format!("a highlighted snippet of {} files", gist.len()),
    )
    .await;

    let mut detail = String::from(
        "| run | page | page (req/s) | bare axum (req/s) | ratio |\n|---:|---|---:|---:|---:|\n",
    );
    let mut rows = Vec::new();
    let mut how = Vec::new();
    for page in [&one, &many] {
        let (mut pages, mut bares, mut ratios) = (vec![], vec![], vec![]);
        for run in 1..=runs {
            let page_rps = wrk(&page.url, seconds);
            let bare_rps = wrk(&page.bare_url, seconds);
            eprintln!(
                "ssr run {run} ({}): page {page_rps:.0} req/s, bare {bare_rps:.0} req/s",
                page.what
            );
            detail.push_str(&format!(
                "| {run} | {} | {page_rps:.0} | {bare_rps:.0} | {:.0}% |\n",
                page.what,
                100.0 * page_rps / bare_rps
            ));
            pages.push(page_rps);
            bares.push(bare_rps);
            ratios.push(page_rps / bare_rps);
        }
        let (page_rps, bare_rps) = (median(&mut pages), median(&mut bares));
        // The figure is the median of each run's own ratio: the two halves
        // of a run are measured seconds apart, on a machine whose speed
        // drifts between runs; a ratio of medians would divide runs made
        // minutes apart.
        let ratio = median(&mut ratios);
        how.push(format!("{} ({} bytes of HTML)", page.what, page.bytes));
        rows.push(Row {
            measure: format!("SSR of {}", page.what),
            result: format!(
                "{page_rps:.0} req/s vs bare axum {bare_rps:.0} req/s; median ratio {:.0}%",
                ratio * 100.0
            ),
            goal: format!(">= {:.0}% of bare axum", GOAL_RATIO * 100.0),
            score: ratio / GOAL_RATIO,
        });
    }
    Section {
        title: "Server-side rendering".into(),
        how: format!(
            "`wrk -t1 -c{CONNECTIONS} -d{seconds}s` on `/s/{{id}}` of {}, each then on a bare \
             axum handler in the bench process returning the same bytes; {runs} alternating runs \
             each; the medians of each, and the median of the runs' ratios.",
            how.join(" and of ")
        ),
        rows,
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

//! Every file of the shared corpus goes through the whole path, and the
//! highlighted HTML, with tags stripped and entities decoded, equals the
//! input byte for byte (CRLF, missing final newline and non-ASCII text
//! included); and the HTML stays compact: within 6 times the code for
//! every file, 3 times at the median.

mod common;

use std::{path::PathBuf, time::Duration};

use common::{TestApp, html_text};
use serde_json::json;

fn corpus_dir() -> PathBuf {
    std::env::var_os("HIGHLIGHTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

#[tokio::test]
async fn every_corpus_file_round_trips_through_the_highlighter() {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_else(|e| {
        panic!(
            "the corpus is missing at {} ({e}); set HIGHLIGHTER_CORPUS",
            dir.display()
        )
    });
    let app = TestApp::spawn_with(|s| s.job_timeout_secs = Some(120.0), None).await;
    let mut checked = 0;
    let mut submitted = Vec::new();
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        let (path, language) = (columns[0], columns[1]);
        let code = std::fs::read_to_string(dir.join(path)).expect("corpus files are UTF-8");
        let filename = path.rsplit('/').next().unwrap();
        // The manifest's language when we know it, else detection by name.
        let language = app.languages.resolve(language).map(str::to_owned);
        let response = app
            .post_json(&json!({ "code": code, "language": language, "filename": filename }))
            .await;
        assert_eq!(
            response.status(),
            201,
            "{path}: {:?}",
            response.text().await
        );
        let id = response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        submitted.push((path.to_owned(), code, id));
    }
    assert!(
        submitted.len() >= 65,
        "expected the whole corpus, got {}",
        submitted.len()
    );
    let mut ratios = Vec::new();
    for (path, code, id) in submitted {
        let event = tokio::time::timeout(Duration::from_secs(300), app.wait_final(&id))
            .await
            .unwrap_or_else(|_| panic!("{path} did not finish"));
        assert_eq!(event.event, "highlighted", "{path}: {}", event.data);
        let html = event.json()["html"].as_str().unwrap().to_owned();
        let ratio = html.len() as f64 / code.len() as f64;
        assert!(ratio <= 6.0, "{path}: HTML is {ratio:.2} times the code");
        ratios.push(ratio);
        let text = html_text(&html);
        if text != code {
            let at = text
                .bytes()
                .zip(code.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(text.len().min(code.len()));
            panic!(
                "{path}: text differs at byte {at}: got {:?}, want {:?}",
                &text[at.saturating_sub(20)..(at + 20).min(text.len())],
                &code[at.saturating_sub(20)..(at + 20).min(code.len())]
            );
        }
        checked += 1;
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    eprintln!(
        "{checked} corpus files round-tripped; HTML per code byte: median {median:.2}, worst {:.2}",
        ratios[ratios.len() - 1]
    );
    assert!(median <= 3.0, "median HTML ratio {median:.2}");
    app.stop().await;
}

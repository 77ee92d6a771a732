//! Highlight throughput of the embedded engine on the shared corpus.
//!
//! Reads every file of `../shared/corpus` (or `$HIGHLIGHTER_CORPUS`) into
//! memory, then times only the highlighting call: one warm-up pass, then
//! `--repeats` passes, keeping each file's fastest. Prints bytes/s for
//! `files/` and `large/` separately and per language, as JSON lines that
//! `bench/pygments_throughput.py` mirrors for Pygments.
//!
//! ```sh
//! cargo run --release --features ssr --example throughput -- --repeats 5
//! ```

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use highlighter::server::highlight::{CancelFlag, Languages, SyntectEngine};

fn main() {
    let repeats: usize = std::env::args()
        .skip_while(|a| a != "--repeats")
        .nth(1)
        .map_or(5, |n| n.parse().expect("--repeats N"));
    let dir = std::env::var_os("HIGHLIGHTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("the corpus manifest");
    let languages = Languages::load();
    let engine = SyntectEngine::new(Arc::clone(languages.syntaxes()));
    let cancel = CancelFlag::default();

    // (group, language) -> (bytes, best time summed over files)
    let mut totals: BTreeMap<(String, String), (usize, Duration)> = BTreeMap::new();
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        let (path, language) = (columns[0], columns[1]);
        let code = std::fs::read_to_string(dir.join(path)).expect("corpus files are UTF-8");
        let grammar = languages
            .resolve(language)
            .map(str::to_owned)
            .unwrap_or_else(|| languages.detect(None, &code));
        let mut best = Duration::MAX;
        for pass in 0..=repeats {
            let started = Instant::now();
            let html = engine
                .highlight_blocking(&code, &grammar, &|_| {}, &cancel)
                .expect("highlighting succeeds");
            let took = started.elapsed();
            std::hint::black_box(html);
            if pass > 0 {
                best = best.min(took);
            }
        }
        let group = if path.starts_with("large/") {
            "large"
        } else {
            "files"
        };
        let entry = totals
            .entry((group.to_owned(), language.to_owned()))
            .or_insert((0, Duration::ZERO));
        entry.0 += code.len();
        entry.1 += best;
    }
    let mut groups: BTreeMap<String, (usize, Duration)> = BTreeMap::new();
    for ((group, language), (bytes, time)) in &totals {
        println!(
            "{{\"engine\":\"syntect\",\"group\":\"{group}\",\"language\":\"{language}\",\"bytes\":{bytes},\"seconds\":{:.6},\"bytes_per_second\":{:.0}}}",
            time.as_secs_f64(),
            *bytes as f64 / time.as_secs_f64()
        );
        let g = groups.entry(group.clone()).or_insert((0, Duration::ZERO));
        g.0 += bytes;
        g.1 += *time;
    }
    for (group, (bytes, time)) in groups {
        println!(
            "{{\"engine\":\"syntect\",\"group\":\"{group}\",\"language\":\"*\",\"bytes\":{bytes},\"seconds\":{:.6},\"bytes_per_second\":{:.0}}}",
            time.as_secs_f64(),
            bytes as f64 / time.as_secs_f64()
        );
    }
}

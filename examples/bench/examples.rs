//! The languages people paste: Pygments' own example files (one folder per
//! lexer in `tests/examplefiles` of its source distribution), each submitted
//! through the API with its file name only, as a person would paste it.
//!
//! For every file: did it succeed, does the HTML's text give back the code
//! byte for byte, is any of it coloured, and is the language the page names
//! the one the folder names (where our catalogue knows that language: by
//! the folder's lexer's name, or by the name `syntaxes/pygments/known.txt`
//! pairs it with), or the one Pygments itself names for that file from its
//! name and content (`guess_lexer_for_filename`): a folder groups the
//! files a lexer's tests read, and some of them are there to show that it
//! does not claim them (`pawn/pawn_example.p` is OpenEdge ABL, and Pygments
//! reads it as such). The distribution is
//! fetched with pip into a cache beside the build, not kept in the
//! repository.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use highlighter::server::highlight::{Languages, render::fragment_text};

use crate::{
    report::{Row, Section, median},
    server::{Server, ServerFiles, get_json, snippet_json, submit, wait_highlighted},
};

const PYGMENTS: &str = "2.20.0";
/// At most this share of the files may come back without colour.
const GOAL_UNCOLOURED: f64 = 0.10;
/// The server's largest paste.
const MAX_BYTES: u64 = 512 * 1024;

/// Files whose folder is not their language and which Pygments misreads
/// too, read by hand: (folder, file, the language it is written in by our
/// name, what shows it). A folder groups the files its lexer's tests read,
/// and `verilog/example_coq.v` is there to check that Verilog's lexer
/// survives another language's `.v`.
const READ_BY_HAND: &[(&str, &str, &str, &str)] = &[(
    "verilog",
    "example_coq.v",
    "Rocq Prover",
    "Coq (`Lemma FalseLemma : False <-> False.`, `tauto.`, `Qed.`), which Pygments reads as Verilog",
)];

struct Example {
    /// The folder: a Pygments lexer alias.
    lexer: String,
    name: String,
    code: String,
}

pub async fn run(files: &ServerFiles) -> Section {
    let parse_times = first_use();
    let root = fetch();
    let examples = read(&root.join("tests/examplefiles"));
    let lexers = lexer_names(examples.iter().map(|e| e.lexer.as_str()));
    let readings = pygments_readings(&root.join("tests/examplefiles"), &examples);
    let server = Server::start(files, &[]).await;
    let client = reqwest::Client::new();
    let catalogue = catalogue(&client, &server.base).await;
    let known = known_pairs();

    let mut failed = Vec::new();
    let mut not_round_trip = Vec::new();
    let mut uncoloured: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mislabelled = Vec::new();
    let mut checked_labels = 0;
    let mut as_pygments_reads_it = Vec::new();
    let mut read_by_hand = Vec::new();
    for example in &examples {
        let id = match submit(&client, &server.base, &example.code, Some(&example.name)).await {
            Ok(id) => id,
            Err(e) => {
                failed.push(format!("{}/{}: {e}", example.lexer, example.name));
                continue;
            }
        };
        wait_highlighted(&client, &server.base, &id).await;
        let snippet = snippet_json(&client, &server.base, &id).await;
        let file = &snippet["files"][0];
        let Some(html) = file["html"].as_str() else {
            failed.push(format!("{}/{}: no HTML", example.lexer, example.name));
            continue;
        };
        if fragment_text(html).as_deref() != Some(example.code.as_str()) {
            not_round_trip.push(format!("{}/{}", example.lexer, example.name));
        }
        if !html.contains("<x-") {
            *uncoloured.entry(&example.lexer).or_default() += 1;
        }
        let shown = file["language"].as_str().unwrap_or_default();
        // The folder's lexer is ours by the same name (converted), or
        // paired with one of ours in known.txt; else we do not know it.
        let ours = |pygments: &String| {
            known
                .get(pygments.as_str())
                .or_else(|| catalogue.get(pygments.as_str()))
        };
        let expected = lexers.get(&example.lexer).and_then(ours);
        if let Some(expected) = expected {
            checked_labels += 1;
            let read = readings
                .get(&(example.lexer.clone(), example.name.clone()))
                .and_then(ours);
            if expected == shown {
                continue;
            }
            let by_hand = READ_BY_HAND
                .iter()
                .find(|(folder, name, ..)| *folder == example.lexer && *name == example.name);
            if read.is_some_and(|read| read == shown) {
                as_pygments_reads_it.push(format!(
                    "{}/{}: shown as {shown}, as Pygments reads it",
                    example.lexer, example.name
                ));
            } else if let Some((.., language, why)) = by_hand
                && *language == shown
            {
                read_by_hand.push(format!(
                    "{}/{}: shown as {shown}: {why}",
                    example.lexer, example.name
                ));
            } else {
                mislabelled.push(format!(
                    "{}/{}: shown as {shown}, not {expected}",
                    example.lexer, example.name
                ));
            }
        }
    }
    drop(server);

    let total = examples.len();
    let plain: usize = uncoloured.values().sum();
    let share = plain as f64 / total as f64;
    let rows = vec![
        Row {
            measure: "Pygments' example files without colour".to_owned(),
            result: format!("{plain} of {total} ({:.1}%)", share * 100.0),
            goal: format!("<= {:.0}%", GOAL_UNCOLOURED * 100.0),
            score: if share == 0.0 {
                f64::INFINITY
            } else {
                GOAL_UNCOLOURED / share
            },
        },
        Row {
            measure: "Pygments' example files failed or not byte for byte".to_owned(),
            result: format!("{} failed, {} differ", failed.len(), not_round_trip.len()),
            goal: "0".to_owned(),
            score: if failed.is_empty() && not_round_trip.is_empty() {
                1.0
            } else {
                0.0
            },
        },
        Row {
            measure: "Pygments' example files shown as another language".to_owned(),
            result: format!("{} of {checked_labels} checked", mislabelled.len()),
            goal: "0".to_owned(),
            score: 1.0 / (1.0 + mislabelled.len() as f64),
        },
    ];
    let mut detail = format!(
        "{total} files ({} folders) from Pygments {PYGMENTS}'s `tests/examplefiles`: UTF-8, \
         at most 512 KiB, the `.output` golden files left out.\n\n",
        examples
            .iter()
            .map(|e| &e.lexer)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    detail.push_str(&parse_times);
    detail.push_str("Folders with files shown without colour (files):\n\n");
    for (lexer, count) in &uncoloured {
        detail.push_str(&format!("`{lexer}` {count}, "));
    }
    detail.push_str("\n\nShown as another language than the folder's:\n\n");
    for line in mislabelled.iter().chain(&failed).chain(&not_round_trip) {
        detail.push_str(&format!("- {line}\n"));
    }
    detail.push_str(
        "\nShown as another language than the folder's, but as Pygments itself reads the \
         file from its name and content, or by the lexer its extension names where none \
         claims the name (not counted as mislabelled):\n\n",
    );
    for line in &as_pygments_reads_it {
        detail.push_str(&format!("- {line}\n"));
    }
    detail.push_str(
        "\nShown as another language than the folder's and than Pygments reads it, \
         but as the file is written, read by hand (not counted as mislabelled):\n\n",
    );
    for line in &read_by_hand {
        detail.push_str(&format!("- {line}\n"));
    }
    Section {
        title: "The languages people paste (Pygments' example files)".to_owned(),
        how: "`bash scripts/bench.sh --only examples`: every example file of the Pygments \
              source distribution (fetched with pip) submitted through the JSON API with its \
              file name and no language, as a paste; one server, SQLite, default settings \
              but the per-client limits."
            .to_owned(),
        rows,
        detail,
    }
}

/// What the first paste in each converted Pygments lexer's language pays
/// to parse its syntax (in this process, as the server would), as a
/// sentence for the report.
fn first_use() -> String {
    let languages = Languages::load();
    let mut times: Vec<(f64, &str)> = languages
        .converted()
        .map(|name| {
            let started = Instant::now();
            assert!(languages.lexer(name).is_some(), "{name} did not load");
            (started.elapsed().as_secs_f64() * 1000.0, name)
        })
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = times.iter().map(|t| t.0).sum();
    let (max, slowest) = times.last().copied().unwrap_or((0.0, "none"));
    let mut millis: Vec<f64> = times.iter().map(|t| t.0).collect();
    format!(
        "Parsing a converted lexer's syntax, paid by the first paste in its language: \
         {} syntaxes, median {:.1} ms, slowest {max:.1} ms ({slowest}), all of them {total:.0} ms.\n\n",
        times.len(),
        median(&mut millis),
    )
}

/// Downloads and unpacks Pygments' source distribution once.
fn fetch() -> PathBuf {
    let cache = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("bench-cache");
    let root = cache.join(format!("pygments-{PYGMENTS}"));
    if root.join("tests/examplefiles").is_dir() {
        return root;
    }
    std::fs::create_dir_all(&cache).expect("the cache directory");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
        ])
        .arg(format!("pygments=={PYGMENTS}"))
        .arg("-d")
        .arg(&cache)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "pip could not fetch Pygments' source");
    let status = Command::new("tar")
        .arg("xzf")
        .arg(cache.join(format!("pygments-{PYGMENTS}.tar.gz")))
        .arg("-C")
        .arg(&cache)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar could not unpack Pygments' source");
    root
}

fn read(dir: &Path) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .expect("the example folders")
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    folders.sort_by_key(|e| e.file_name());
    for folder in folders {
        let lexer = folder.file_name().to_string_lossy().into_owned();
        let mut entries: Vec<_> = std::fs::read_dir(folder.path())
            .expect("a folder")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || name.ends_with(".output") || meta.len() > MAX_BYTES {
                continue;
            }
            let Ok(code) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            if code.is_empty() || code.contains('\0') {
                continue;
            }
            examples.push(Example {
                lexer: lexer.clone(),
                name,
                code,
            });
        }
    }
    assert!(
        examples.len() > 500,
        "only {} example files",
        examples.len()
    );
    examples
}

/// Each folder's lexer name, as Pygments resolves the folder's alias.
fn lexer_names<'a>(folders: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    let mut unique: Vec<&str> = folders.collect();
    unique.dedup();
    let script = "import json, sys\n\
                  from pygments.lexers import find_lexer_class_by_name\n\
                  out = {}\n\
                  for alias in sys.argv[1:]:\n\
                  \x20   try:\n\
                  \x20       c = find_lexer_class_by_name(alias)\n\
                  \x20       out[alias] = c.name\n\
                  \x20   except Exception:\n\
                  \x20       pass\n\
                  print(json.dumps(out))\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&unique)
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "Pygments did not name its lexers");
    serde_json::from_slice(&output.stdout).expect("JSON from the lexer names")
}

/// For each example (folder, file name), the name of the lexer Pygments
/// itself picks for it from its file name and content
/// (`guess_lexer_for_filename`), where it picks one; else the lexer whose
/// alias the name's extension is (`page.html+django`, as `pygmentize -l
/// html+django` would read it), where there is one.
fn pygments_readings(dir: &Path, examples: &[Example]) -> HashMap<(String, String), String> {
    let script = "import json, sys\n\
                  from pygments.lexers import get_lexer_by_name, guess_lexer_for_filename\n\
                  out = []\n\
                  for folder, name in json.load(sys.stdin):\n\
                  \x20   path = sys.argv[1] + '/' + folder + '/' + name\n\
                  \x20   code = open(path, encoding='utf-8').read()\n\
                  \x20   try:\n\
                  \x20       out.append([folder, name, guess_lexer_for_filename(name, code).name])\n\
                  \x20   except Exception:\n\
                  \x20       try:\n\
                  \x20           if '.' in name:\n\
                  \x20               out.append([folder, name, get_lexer_by_name(name.rsplit('.', 1)[1]).name])\n\
                  \x20       except Exception:\n\
                  \x20           pass\n\
                  print(json.dumps(out))\n";
    let files: Vec<(&str, &str)> = examples
        .iter()
        .map(|e| (e.lexer.as_str(), e.name.as_str()))
        .collect();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_vec(&files).expect("JSON of the file names");
    std::io::Write::write_all(&mut child.stdin.take().expect("its stdin"), &input)
        .expect("the file names written");
    let output = child.wait_with_output().expect("python3 ends");
    assert!(output.status.success(), "Pygments did not read the files");
    let readings: Vec<(String, String, String)> =
        serde_json::from_slice(&output.stdout).expect("JSON from the readings");
    assert!(
        readings.len() > examples.len() / 2,
        "Pygments read only {} of {} files",
        readings.len(),
        examples.len()
    );
    readings
        .into_iter()
        .map(|(folder, name, lexer)| ((folder, name), lexer))
        .collect()
}

/// `syntaxes/pygments/known.txt`: Pygments' lexer name to the name of our
/// language for it.
fn known_pairs() -> HashMap<String, String> {
    include_str!("../../syntaxes/pygments/known.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = "))
        .map(|(theirs, ours)| (theirs.trim().to_owned(), ours.trim().to_owned()))
        .collect()
}

/// Every language name of our catalogue.
async fn catalogue(client: &reqwest::Client, base: &str) -> HashSet<String> {
    let list = get_json(client, &format!("{base}/api/languages")).await;
    list.as_array()
        .expect("a list")
        .iter()
        .filter_map(|language| language["name"].as_str())
        .map(str::to_owned)
        .collect()
}

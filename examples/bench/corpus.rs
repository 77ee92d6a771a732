//! The shared corpus (`../shared/corpus`): real files in many languages,
//! read into memory once for every measure that needs code.

use std::path::{Path, PathBuf};

pub struct CorpusFile {
    /// Relative to the corpus, e.g. `files/rust/main.rs`.
    pub path: String,
    /// The manifest's language name (Pygments' lexer name).
    pub language: String,
    pub code: String,
}

impl CorpusFile {
    /// `files` or `large`: the two groups the corpus README describes.
    pub fn group(&self) -> &str {
        self.path.split('/').next().unwrap_or("files")
    }

    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

pub struct Corpus {
    pub dir: PathBuf,
    pub files: Vec<CorpusFile>,
}

impl Corpus {
    pub fn load(dir: &Path) -> Corpus {
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_else(|e| {
            panic!(
                "the corpus manifest {} cannot be read ({e}); pass --corpus",
                dir.join("MANIFEST.tsv").display()
            )
        });
        let files = manifest
            .lines()
            .skip(1)
            .map(|row| {
                let columns: Vec<&str> = row.split('\t').collect();
                let code =
                    std::fs::read_to_string(dir.join(columns[0])).expect("corpus files are UTF-8");
                CorpusFile {
                    path: columns[0].to_owned(),
                    language: columns[1].to_owned(),
                    code,
                }
            })
            .collect();
        Corpus {
            dir: dir.to_owned(),
            files,
        }
    }

    /// Snippets of exactly `lines` lines, cut from the `files/` group, with
    /// the file name each came from (so the server detects its language).
    pub fn snippets(&self, lines: usize) -> Vec<(String, String)> {
        let mut snippets = Vec::new();
        for file in self.files.iter().filter(|f| f.group() == "files") {
            let all: Vec<&str> = file.code.split_inclusive('\n').collect();
            for chunk in all.chunks_exact(lines) {
                snippets.push((chunk.concat(), file.file_name().to_owned()));
            }
        }
        assert!(!snippets.is_empty(), "the corpus has no {lines}-line files");
        snippets
    }
}

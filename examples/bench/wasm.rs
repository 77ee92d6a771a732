//! The size of what a browser downloads to hydrate: the release `.wasm`,
//! gzipped at level 9 as a static-file server would send it.

use std::{io::Write, path::Path};

use flate2::{Compression, write::GzEncoder};

use crate::report::{Row, Section};

const GOAL_GZIP_BYTES: f64 = 200.0 * 1024.0;

/// The client's file: `highlighter.{hash}.wasm` when the build names files
/// by their content (its `hash.txt`, beside the server binary, says the
/// hash), else `highlighter.wasm`.
fn wasm_path(site_root: &Path, server_bin: &Path) -> std::path::PathBuf {
    let hashes = server_bin
        .parent()
        .map(|dir| dir.join("hash.txt"))
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let hash = hashes
        .lines()
        .find_map(|line| line.trim().strip_prefix("wasm:"))
        .map(str::trim);
    match hash {
        Some(hash) => site_root.join(format!("pkg/highlighter.{hash}.wasm")),
        None => site_root.join("pkg/highlighter.wasm"),
    }
}

pub fn run(site_root: &Path, server_bin: &Path) -> Section {
    let path = wasm_path(site_root, server_bin);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{} cannot be read ({e}): build it first with `bash scripts/bench.sh` (or `xtask site --release`)",
            path.display()
        )
    });
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(&wasm).expect("gzip in memory");
    let gzipped = gzip.finish().expect("gzip in memory").len();
    let wasm_opt = std::process::Command::new("wasm-opt")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    Section {
        title: "WASM size".into(),
        how: format!(
            "`{}` as built by `xtask site --release` (profile `wasm-release`; \
             wasm-opt on PATH: {}), gzipped at level 9.",
            path.display(),
            wasm_opt.as_deref().unwrap_or("none")
        ),
        rows: vec![Row {
            measure: "WASM client, gzipped".into(),
            result: format!(
                "{:.1} KiB ({} bytes; {:.1} KiB before gzip)",
                gzipped as f64 / 1024.0,
                gzipped,
                wasm.len() as f64 / 1024.0
            ),
            goal: "<= 200 KiB".into(),
            score: GOAL_GZIP_BYTES / gzipped as f64,
        }],
        detail: String::new(),
    }
}

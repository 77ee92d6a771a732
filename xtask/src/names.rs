//! Content names: `highlighter.js` becomes `highlighter.{hash}.js`, so a
//! browser may keep it for good (the server sends `immutable` for such
//! names) and a new build is fetched at once.
//!
//! The client's files name each other in a cycle: the glue imports the
//! splitter's loader, the loader imports the glue and fetches the chunks,
//! and each chunk imports the loader. No file's name can hold a hash of
//! content that holds the others' names. So the client's files share one
//! hash, taken over all of them before any is renamed: whatever changes in
//! any of them renames them all, and every name still changes with the
//! content behind it. The stylesheet names no other file and has its own.
//!
//! `pkg/snippets/` (JavaScript the crates inline) keeps its names: the glue
//! imports those by path, and the server has them checked before each use.

use anyhow::{Context, Result, ensure};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use std::{
    collections::{BTreeMap, HashMap},
    fs,
    path::Path,
};

use crate::{LOADER_PLACEHOLDER, MANIFEST};

/// The hashes Leptos reads from `hash.txt`.
pub struct Names {
    client: String,
    stylesheet: String,
}

impl Names {
    /// `hash.txt`: Leptos's `HydrationScripts` and `HashedStylesheet` build
    /// the names from these lines.
    pub fn hash_file(&self) -> String {
        let Names { client, stylesheet } = self;
        format!(
            "js: {client}\nwasm: {client}\ncss: {stylesheet}\nmanifest: {client}\nsplit: {client}\n"
        )
    }
}

/// 128 bits of SHA-256, URL-safe base64: 22 characters, the length of the
/// splitter's placeholder, which it replaces inside WASM as well.
fn content_hash(parts: &[(&str, &[u8])]) -> String {
    let mut sha = Sha256::new();
    for (name, content) in parts {
        // Lengths first, so no two different sets of files hash alike.
        sha.update((name.len() as u64).to_le_bytes());
        sha.update(name.as_bytes());
        sha.update((content.len() as u64).to_le_bytes());
        sha.update(content);
    }
    URL_SAFE_NO_PAD.encode(&sha.finalize()[..16])
}

/// Renames every file directly in `pkg` to its content name, rewrites the
/// names the client's files give each other, and returns the hashes.
pub fn name_by_content(pkg: &Path, output_name: &str) -> Result<Names> {
    let stylesheet_name = format!("{output_name}.css");
    let mut client: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in fs::read_dir(pkg)? {
        let entry = entry?;
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .context("a file name not in UTF-8")?;
        if entry.file_type()?.is_file() && name != stylesheet_name {
            client.insert(name, fs::read(entry.path())?);
        }
    }
    for needed in [
        format!("{output_name}.js"),
        format!("{output_name}.wasm"),
        LOADER_PLACEHOLDER.to_owned(),
        MANIFEST.to_owned(),
    ] {
        ensure!(client.contains_key(&needed), "the build made no {needed}");
    }

    let stylesheet_path = pkg.join(&stylesheet_name);
    let stylesheet = content_hash(&[("css", &fs::read(&stylesheet_path)?)]);
    fs::rename(
        &stylesheet_path,
        pkg.join(format!("{output_name}.{stylesheet}.css")),
    )?;

    let parts: Vec<(&str, &[u8])> = client
        .iter()
        .map(|(name, content)| (name.as_str(), content.as_slice()))
        .collect();
    let hash = content_hash(&parts);
    let renamed: HashMap<String, String> = client
        .keys()
        .map(|name| (name.clone(), content_name(name, &hash)))
        .collect();

    for (name, content) in client {
        let content = if name == MANIFEST {
            manifest_with_names(&content, &renamed)?
        } else if name.ends_with(".wasm") {
            // Only the loader's name, which is as long as the placeholder.
            replace_bytes(content, LOADER_PLACEHOLDER, &renamed[LOADER_PLACEHOLDER])
        } else {
            let mut text =
                String::from_utf8(content).with_context(|| format!("{name} is not UTF-8"))?;
            for (old, new) in &renamed {
                text = text.replace(&format!("./{old}"), &format!("./{new}"));
            }
            text.into_bytes()
        };
        fs::write(pkg.join(&renamed[&name]), content)?;
        fs::remove_file(pkg.join(&name))?;
    }
    Ok(Names {
        client: hash,
        stylesheet,
    })
}

/// `stem.{hash}.ext`; the loader's placeholder becomes the hash.
fn content_name(name: &str, hash: &str) -> String {
    if name == LOADER_PLACEHOLDER {
        return LOADER_PLACEHOLDER.replace("______________________", hash);
    }
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

/// The manifest maps each lazy split to the chunks it needs, by file stem
/// (`{"dashboard": ["chunk_0", "split_dashboard"]}`); Leptos fetches
/// `{stem}.wasm`, so each stem becomes its file's new stem.
fn manifest_with_names(manifest: &[u8], renamed: &HashMap<String, String>) -> Result<Vec<u8>> {
    let splits: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(manifest).context("reading the split manifest")?;
    let splits: BTreeMap<String, Vec<String>> = splits
        .into_iter()
        .map(|(split, stems)| {
            let stems = stems
                .into_iter()
                .map(|stem| match renamed.get(&format!("{stem}.wasm")) {
                    Some(new) => new.trim_end_matches(".wasm").to_owned(),
                    None => stem,
                })
                .collect();
            (split, stems)
        })
        .collect();
    Ok(serde_json::to_vec_pretty(&splits)?)
}

fn replace_bytes(mut content: Vec<u8>, old: &str, new: &str) -> Vec<u8> {
    assert_eq!(
        old.len(),
        new.len(),
        "an in-place replacement keeps the length"
    );
    let (old, new) = (old.as_bytes(), new.as_bytes());
    let mut at = 0;
    while let Some(found) = content[at..].windows(old.len()).position(|w| w == old) {
        let start = at + found;
        content[start..start + old.len()].copy_from_slice(new);
        at = start + old.len();
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaders_name_is_as_long_as_its_placeholder() {
        let hash = content_hash(&[("a", b"b")]);
        assert_eq!(hash.len(), 22);
        assert_eq!(
            content_name(LOADER_PLACEHOLDER, &hash).len(),
            LOADER_PLACEHOLDER.len()
        );
        assert_eq!(content_name("highlighter.wasm", "H"), "highlighter.H.wasm");
    }

    #[test]
    fn any_change_to_any_file_changes_the_hash() {
        let base = content_hash(&[("a.js", b"x"), ("b.wasm", b"y")]);
        assert_ne!(base, content_hash(&[("a.js", b"x"), ("b.wasm", b"z")]));
        assert_ne!(base, content_hash(&[("a.js", b"xy"), ("b.wasm", b"")]));
        assert_ne!(base, content_hash(&[("a.jsx", b""), ("b.wasm", b"y")]));
    }

    #[test]
    fn the_whole_client_is_renamed_and_names_the_new_names() {
        let pkg = std::env::temp_dir().join(format!("xtask-names-{}", std::process::id()));
        let _ = fs::remove_dir_all(&pkg);
        fs::create_dir_all(pkg.join("snippets")).unwrap();
        fs::write(pkg.join("snippets/inline0.js"), "kept").unwrap();
        fs::write(
            pkg.join("app.js"),
            format!("import './{LOADER_PLACEHOLDER}';"),
        )
        .unwrap();
        fs::write(pkg.join("app.wasm"), b"\0asm").unwrap();
        fs::write(pkg.join("app.css"), "a{}").unwrap();
        fs::write(
            pkg.join(LOADER_PLACEHOLDER),
            "import './app.js'; fetch('./split_x.wasm');",
        )
        .unwrap();
        let mut chunk = b"\0asm".to_vec();
        chunk.extend(LOADER_PLACEHOLDER.as_bytes());
        fs::write(pkg.join("split_x.wasm"), &chunk).unwrap();
        fs::write(pkg.join(MANIFEST), r#"{"x": ["split_x"]}"#).unwrap();

        let names = name_by_content(&pkg, "app").unwrap();
        let h = &names.client;
        let loader = fs::read_to_string(pkg.join(format!("__wasm_split.{h}.js"))).unwrap();
        assert_eq!(
            loader,
            format!("import './app.{h}.js'; fetch('./split_x.{h}.wasm');")
        );
        let glue = fs::read_to_string(pkg.join(format!("app.{h}.js"))).unwrap();
        assert_eq!(glue, format!("import './__wasm_split.{h}.js';"));
        let chunk = fs::read(pkg.join(format!("split_x.{h}.wasm"))).unwrap();
        assert!(chunk.ends_with(format!("__wasm_split.{h}.js").as_bytes()));
        let manifest =
            fs::read_to_string(pkg.join(format!("__wasm_split_manifest.{h}.json"))).unwrap();
        assert!(manifest.contains(&format!("\"split_x.{h}\"")), "{manifest}");
        assert!(pkg.join(format!("app.{}.css", names.stylesheet)).is_file());
        assert!(pkg.join("snippets/inline0.js").is_file());
        let left: Vec<_> = fs::read_dir(&pkg)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| {
                name != "snippets"
                    && !name.contains(h.as_str())
                    && !name.contains(&names.stylesheet)
            })
            .collect();
        assert!(left.is_empty(), "files left with their old names: {left:?}");
        assert!(names.hash_file().contains(&format!("js: {h}\n")));
        fs::remove_dir_all(&pkg).unwrap();
    }
}

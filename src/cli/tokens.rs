//! The owner tokens of the snippets this user pasted from the command
//! line, by server: `tokens.json` in the user's config directory
//! (`~/.config/highlighter` on Linux), readable by its owner only. A token
//! is what deletes or edits a snippet; the server shows it once.

use std::{collections::BTreeMap, path::PathBuf};

type Tokens = BTreeMap<String, BTreeMap<String, String>>;

fn path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "highlighter")
        .map(|dirs| dirs.config_dir().join("tokens.json"))
}

fn load() -> Tokens {
    path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn store(tokens: &Tokens) -> Result<(), String> {
    let path = path().ok_or("this system has no config directory for the owner token")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(tokens).expect("tokens serialise");
    let temporary = path.with_extension("json.new");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .map_err(|e| format!("{}: {e}", temporary.display()))?;
        file.write_all(&json)
            .map_err(|e| format!("{}: {e}", temporary.display()))?;
    }
    std::fs::rename(&temporary, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Keeps the token of `id` on `server`.
pub fn remember(server: &str, id: &str, token: &str) -> Result<(), String> {
    let mut tokens = load();
    tokens
        .entry(server.to_owned())
        .or_default()
        .insert(id.to_owned(), token.to_owned());
    store(&tokens)
}

/// The token of `id` on `server`, if this user pasted it.
pub fn token(server: &str, id: &str) -> Option<String> {
    load().get(server)?.get(id).cloned()
}

pub fn forget(server: &str, id: &str) -> Result<(), String> {
    let mut tokens = load();
    if let Some(ids) = tokens.get_mut(server) {
        ids.remove(id);
    }
    store(&tokens)
}

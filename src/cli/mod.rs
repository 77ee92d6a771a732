//! The command line: one binary serves, pastes, and looks after its data.
//!
//! - `highlighter [serve]`: the server (the default: nothing that starts it
//!   changes), its settings as flags, `HIGHLIGHTER_*` or `Leptos.toml`.
//! - `highlighter paste|edit|delete`: a client of a server's REST API
//!   (`paste.rs`), with a live progress bar fed by the snippet's event
//!   stream; owner tokens are kept in the user's config directory
//!   (`tokens.rs`).
//! - `highlighter check`: the settings, read as the server would, and what
//!   is wrong with them; `highlighter backup PATH`: a consistent copy of
//!   the SQLite database while the server runs (`admin.rs`).

mod admin;
mod paste;
mod tokens;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::server::settings::SettingsLayer;

#[derive(Debug, Parser)]
#[command(
    name = "highlighter",
    version,
    about = "Highlighter: paste code, get it highlighted, pushed live to every page.",
    after_help = "With no command, `serve`. Settings are read from defaults, then the settings \
                  file, then HIGHLIGHTER_* environment variables, then flags.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The server's settings, when no command is given.
    #[command(flatten)]
    pub serve: SettingsLayer,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(SettingsLayer),
    #[command(flatten)]
    Tool(Tool),
}

/// Every command but the server.
#[derive(Debug, Subcommand)]
pub enum Tool {
    /// Paste files (or stdin) to a server and print the link.
    Paste(paste::PasteArgs),
    /// Save new contents of your snippet's files as its next revision.
    Edit(paste::EditArgs),
    /// Delete one of your snippets.
    Delete(paste::DeleteArgs),
    /// Read the settings as the server would and say what is wrong.
    Check(SettingsLayer),
    /// Copy the SQLite database, consistently, while the server runs.
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes (a new file).
    pub path: PathBuf,
    #[command(flatten)]
    pub settings: SettingsLayer,
}

/// Where a client command sends its requests.
#[derive(Debug, Args, Clone)]
pub struct ServerArg {
    /// The server's address.
    #[arg(
        long,
        env = "HIGHLIGHTER_SERVER",
        default_value = "http://127.0.0.1:3000",
        value_name = "URL"
    )]
    pub server: String,
}

/// Runs a command other than the server.
pub fn run(tool: Tool) -> ExitCode {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the command")
    };
    match tool {
        Tool::Paste(args) => runtime().block_on(paste::paste(args)),
        Tool::Edit(args) => runtime().block_on(paste::edit(args)),
        Tool::Delete(args) => runtime().block_on(paste::delete(args)),
        Tool::Check(settings) => admin::check(settings),
        Tool::Backup(args) => runtime().block_on(admin::backup(args)),
    }
}

/// Says `message` on stderr as the command's one line; a write to a
/// closed stderr is dropped.
pub fn say(message: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "highlighter: {message}");
}

/// "outer: inner: innermost", so the cause is never hidden.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

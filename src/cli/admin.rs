//! `highlighter check` and `highlighter backup`: looking after a server's
//! settings and data without starting it.

use std::process::ExitCode;

use super::{BackupArgs, error_chain, say};
use crate::server::settings::{EngineSettings, Settings, SettingsLayer};

/// Reads the settings as the server would; says what they come to, or
/// what is wrong (exit 2, as the server does).
pub fn check(layer: SettingsLayer) -> ExitCode {
    match Settings::from_layer(layer) {
        Ok(settings) => {
            println!("settings are valid");
            println!("  listens on     {}", settings.addr);
            println!(
                "  database       {}",
                without_password(&settings.database_url)
            );
            println!("  role           {:?}", settings.role);
            println!("  workers        {}", settings.workers);
            let engine = match &settings.engine {
                EngineSettings::Auto { program } => {
                    format!("auto (tree-sitter children run {})", program.display())
                }
                EngineSettings::Syntect => "syntect".to_owned(),
                EngineSettings::Remote { url, .. } => format!("remote ({url})"),
            };
            println!("  engine         {engine}");
            println!(
                "  public url     {}",
                settings
                    .public_origin
                    .as_deref()
                    .unwrap_or("(none: links use the request's host)")
            );
            println!(
                "  limits         {} bytes, {} files, {} revisions kept",
                settings.max_snippet_bytes, settings.max_files, settings.max_revisions
            );
            if !settings.site_root.join("pkg").is_dir() {
                println!(
                    "  note: {} has no pkg/: build the site (bash scripts/run.sh) or set LEPTOS_SITE_ROOT",
                    settings.site_root.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// `postgres://user:secret@host/db` without `secret`.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A consistent copy of the SQLite database while the server runs:
/// `VACUUM INTO` reads it in one transaction (WAL lets the server write
/// meanwhile) and writes a compact new file. PostgreSQL has `pg_dump`.
pub async fn backup(args: BackupArgs) -> ExitCode {
    let settings = match Settings::from_layer(args.settings) {
        Ok(settings) => settings,
        Err(e) => {
            say(error_chain(&e));
            return ExitCode::from(2);
        }
    };
    let url = &settings.database_url;
    if url.starts_with("postgres") {
        say(format!(
            "this server keeps its data in PostgreSQL: back it up with `pg_dump --format=custom --file={} '{}'`",
            args.path.display(),
            without_password(url)
        ));
        return ExitCode::FAILURE;
    }
    if args.path.exists() {
        say(format!(
            "{} exists already: choose a new file",
            args.path.display()
        ));
        return ExitCode::FAILURE;
    }
    let Some(target) = args.path.to_str() else {
        say("the backup's path is not UTF-8");
        return ExitCode::FAILURE;
    };
    use sqlx::ConnectOptions;
    let options = match url.parse::<sqlx::sqlite::SqliteConnectOptions>() {
        Ok(options) => options.read_only(true),
        Err(e) => {
            say(format!("{url}: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let mut connection = match options.connect().await {
        Ok(connection) => connection,
        Err(e) => {
            say(format!("cannot open {url}: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut connection)
        .await
    {
        Ok(_) => {
            println!("backed up {url} to {}", args.path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(format!("the backup failed: {e}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_stay_out_of_what_check_prints() {
        assert_eq!(
            without_password("postgres://app:s3cret@db:5432/paste"),
            "postgres://app:***@db:5432/paste"
        );
        assert_eq!(
            without_password("sqlite://data/highlighter.db"),
            "sqlite://data/highlighter.db"
        );
        assert_eq!(
            without_password("postgres://app@db/paste"),
            "postgres://app@db/paste"
        );
    }
}

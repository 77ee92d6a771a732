//! `highlighter paste`, `edit` and `delete`: the REST API from a terminal.
//!
//! `--follow` shows the job's progress as it happens, fed by the
//! snippet's event stream (the same push the pages get): a progress bar on
//! a terminal, one line per step otherwise (a pipe, a CI log). The exit
//! status says how it ended: 0 only once it is highlighted.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, time::Duration};

use clap::Args;

use super::{ServerArg, say, tokens};
use crate::{
    client::{Client, PasteOptions},
    domain::{FileText, JobState, SnippetEvent},
};

#[derive(Debug, Args)]
pub struct PasteArgs {
    /// Files to paste, together as one snippet [default: stdin].
    pub files: Vec<PathBuf>,
    /// The name of what is read from stdin (its language is detected from it).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The language of every file [default: detected from names and contents].
    #[arg(long, short)]
    pub language: Option<String>,
    /// List it on the front page (it is reachable by its link only otherwise).
    #[arg(long)]
    pub public: bool,
    /// Delete it after 30m, 1h, 1d, 1w, a number of seconds, or never.
    #[arg(long, value_name = "WHEN", default_value = "never")]
    pub expires: String,
    /// Delete it at its first reading by someone else.
    #[arg(long)]
    pub burn: bool,
    /// Show the highlighting's progress until it ends; exit 0 only when highlighted.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The snippet's id.
    pub id: String,
    /// Its files as they are to be: every file of the new revision.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The owner token [default: the one kept when it was pasted from here].
    #[arg(long, env = "HIGHLIGHTER_TOKEN", value_name = "TOKEN")]
    pub token: Option<String>,
    /// Show the highlighting's progress until it ends.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The snippet's id.
    pub id: String,
    /// The owner token [default: the one kept when it was pasted from here].
    #[arg(long, env = "HIGHLIGHTER_TOKEN", value_name = "TOKEN")]
    pub token: Option<String>,
    #[command(flatten)]
    pub server: ServerArg,
}

/// `30m`, `1h`, `1d`, `1w`, seconds, or `never` (`None`).
fn expiry(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "--expires {text:?}: use 30m, 1h, 1d, 1w, seconds, or never"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Some)
        .ok_or_else(|| format!("--expires {text:?}: use 30m, 1h, 1d, 1w, seconds, or never"))
}

/// The files as the API takes them: each named after its path's last part.
fn read_files(paths: &[PathBuf], language: Option<&str>) -> Result<Vec<FileText>, String> {
    paths
        .iter()
        .map(|path| {
            let code = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let code = String::from_utf8(code)
                .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
            Ok(FileText {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                language: language.map(str::to_owned),
                code,
            })
        })
        .collect()
}

fn read_stdin(name: Option<String>, language: Option<&str>) -> Result<Vec<FileText>, String> {
    use std::io::Read;
    let mut code = String::new();
    std::io::stdin()
        .read_to_string(&mut code)
        .map_err(|e| format!("stdin: {e}"))?;
    Ok(vec![FileText {
        name,
        language: language.map(str::to_owned),
        code,
    }])
}

pub async fn paste(args: PasteArgs) -> ExitCode {
    let expires_in = match expiry(&args.expires) {
        Ok(expires) => expires,
        Err(e) => return fail(e),
    };
    let files = if args.files.is_empty() {
        read_stdin(args.name, args.language.as_deref())
    } else {
        read_files(&args.files, args.language.as_deref())
    };
    let files = match files {
        Ok(files) => files,
        Err(e) => return fail(e),
    };
    let client = Client::new(&args.server.server);
    let options = PasteOptions {
        public: args.public,
        burn_after_reading: args.burn,
        expires_in,
    };
    let created = match client.paste(&files, &options).await {
        Ok(created) => created,
        Err(e) => return fail(e),
    };
    println!("{}", created.url);
    if let Err(e) = tokens::remember(client.base(), &created.id, &created.owner_token) {
        say(format!(
            "the owner token could not be kept ({e}); it is {}",
            created.owner_token
        ));
    }
    if args.follow {
        follow(&client, &created.id).await
    } else {
        ExitCode::SUCCESS
    }
}

fn token_for(client: &Client, id: &str, given: Option<String>) -> Result<String, String> {
    given
        .or_else(|| tokens::token(client.base(), id))
        .ok_or_else(|| {
            format!(
                "no owner token for {id} on {}: it was not pasted from this account; pass --token",
                client.base()
            )
        })
}

pub async fn edit(args: EditArgs) -> ExitCode {
    let client = Client::new(&args.server.server);
    let token = match token_for(&client, &args.id, args.token) {
        Ok(token) => token,
        Err(e) => return fail(e),
    };
    let files = match read_files(&args.files, None) {
        Ok(files) => files,
        Err(e) => return fail(e),
    };
    let current = match client.snippet(&args.id, Some(&token)).await {
        Ok(current) => current,
        Err(e) => return fail(e),
    };
    let base = current["revision"].as_u64().unwrap_or(1) as u32;
    let saved = match client.save(&args.id, &token, base, &files).await {
        Ok(saved) => saved,
        Err(e) => return fail(e),
    };
    println!("{} (revision {})", saved.url, saved.revision);
    if args.follow {
        follow(&client, &saved.id).await
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn delete(args: DeleteArgs) -> ExitCode {
    let client = Client::new(&args.server.server);
    let token = match token_for(&client, &args.id, args.token) {
        Ok(token) => token,
        Err(e) => return fail(e),
    };
    if let Err(e) = client.delete(&args.id, &token).await {
        return fail(e);
    }
    let _ = tokens::forget(client.base(), &args.id);
    println!("deleted {}", args.id);
    ExitCode::SUCCESS
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    say(message);
    ExitCode::FAILURE
}

/// Follows the snippet's stream until its latest revision is highlighted
/// (0) or failed, or the snippet goes (1). A stream that breaks is opened
/// again (the server starts it from a fresh snapshot).
async fn follow(client: &Client, id: &str) -> ExitCode {
    let mut shown = Progress::new();
    let mut broken = 0;
    loop {
        let mut stream = match client.follow(id).await {
            Ok(stream) => stream,
            Err(e) => return fail(e),
        };
        while let Some(event) = stream.next().await {
            let Some(Ok(event)) = SnippetEvent::parse(&event.name, &event.data) else {
                continue;
            };
            match event {
                SnippetEvent::State(s) => shown.state(s.state),
                SnippetEvent::Progress(p) => shown.progress(p.done, p.total, p.file.as_deref()),
                SnippetEvent::Retrying(r) => {
                    shown.note(&format!(
                        "attempt {} failed ({}); trying again",
                        r.attempt, r.error
                    ));
                }
                SnippetEvent::Highlighted(h) => {
                    shown.done(&format!("highlighted in {} ms", h.highlighted_in_ms));
                    return ExitCode::SUCCESS;
                }
                SnippetEvent::Failed(f) => {
                    shown.done("failed");
                    return fail(format!("highlighting failed: {}", f.error));
                }
                SnippetEvent::Deleted(d) => {
                    shown.done("gone");
                    return fail(d.reason.message());
                }
                _ => {}
            }
        }
        broken += 1;
        if broken > 5 {
            shown.done("lost");
            return fail("the event stream kept breaking; the snippet may still be highlighted");
        }
        tokio::time::sleep(Duration::from_millis(500 * broken)).await;
    }
}

/// How progress is shown: a bar on a terminal, lines elsewhere.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: String,
}

impl Progress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(100);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg:30} [{bar:30}] {percent:>3}%",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            last_line: String::new(),
        }
    }

    fn line(&mut self, line: String) {
        if line != self.last_line {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
            self.last_line = line;
        }
    }

    fn state(&mut self, state: JobState) {
        let words = match state {
            JobState::Queued => "queued",
            JobState::Processing => "highlighting",
            JobState::Retrying => "waiting to try again",
            JobState::Succeeded | JobState::Failed => return,
        };
        match &self.bar {
            Some(bar) => bar.set_message(words),
            None => self.line(words.to_owned()),
        }
    }

    fn progress(&mut self, done: u32, total: u32, file: Option<&str>) {
        let percent = if total == 0 {
            0
        } else {
            (u64::from(done) * 100 / u64::from(total)).min(100)
        };
        let what = match file {
            Some(file) => format!("highlighting {file}"),
            None => "highlighting".to_owned(),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_message(what);
                bar.set_position(percent);
            }
            None => self.line(format!("{what} {percent}%")),
        }
    }

    fn note(&mut self, note: &str) {
        match &self.bar {
            Some(bar) => bar.println(note),
            None => self.line(note.to_owned()),
        }
    }

    fn done(&mut self, words: &str) {
        match self.bar.take() {
            Some(bar) => bar.finish_with_message(words.to_owned()),
            None => self.line(words.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::expiry;

    #[test]
    fn expiries_are_spelled_as_people_do() {
        assert_eq!(expiry("never"), Ok(None));
        assert_eq!(expiry("90"), Ok(Some(90)));
        assert_eq!(expiry("30m"), Ok(Some(1800)));
        assert_eq!(expiry("1h"), Ok(Some(3600)));
        assert_eq!(expiry("1d"), Ok(Some(86_400)));
        assert_eq!(expiry("2w"), Ok(Some(1_209_600)));
        assert!(expiry("soon").is_err());
        assert!(expiry("1y").is_err());
        assert!(expiry("99999999999999999999d").is_err());
    }
}

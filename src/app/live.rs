//! Keeping a snippet page live: what the page's island is given
//! ([`PageSnippet`]), its model of the snippet's job and revisions
//! ([`LiveSnippet`]), and (in the browser) the EventSource that feeds it
//! and the swap of a new revision's files into the page.
//!
//! A page's stream (`?since=N`) stays open while the page is. A new
//! revision comes as `revision` (its files, the lines it changed), then
//! its job's `state` and `progress`, a `file` for each file the page does
//! not show already, and `highlighted`: then, and only then, the page
//! switches to it in one go, keeping every file it already had.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    FileHighlighted, FileMeta, GoneReason, JobState, Progress, RevisionInfo, SnippetEvent,
    SnippetId, SnippetView, Visibility,
};

/// What a snippet page's island is given: the revision shown, without
/// its code or HTML (those are the island's children, written once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageSnippet {
    pub id: SnippetId,
    pub title: String,
    pub revision: u32,
    pub latest_revision: u32,
    pub files: Vec<FileMeta>,
    pub state: JobState,
    pub progress: Option<Progress>,
    pub attempts: u32,
    pub max_attempts: u32,
    #[cfg_attr(
        feature = "hydrate",
        serde(deserialize_with = "crate::domain::clock::wire::maybe_utc")
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub highlighted_in_ms: Option<u64>,
    pub is_owner: bool,
    pub visibility: Visibility,
    pub burn_after_reading: bool,
    /// "expires 2026-12-07 10:00 UTC".
    pub expires: Option<String>,
}

impl PageSnippet {
    pub fn of(view: &SnippetView) -> Self {
        PageSnippet {
            id: view.id.clone(),
            title: view.title(),
            revision: view.revision,
            latest_revision: view.latest_revision,
            files: view.files.iter().map(|f| f.meta()).collect(),
            state: view.state,
            progress: view.progress,
            attempts: view.attempts,
            max_attempts: view.max_attempts,
            next_attempt_at: view.next_attempt_at,
            error: view.error.clone(),
            highlighted_in_ms: view.highlighted_in_ms,
            is_owner: view.is_owner,
            visibility: view.visibility,
            burn_after_reading: view.burn_after_reading,
            expires: view
                .expires_at
                .map(|at| format!("expires {} UTC", crate::domain::clock::date_and_minute(&at))),
        }
    }

    /// Whether the page shows an old revision on purpose (`/s/{id}/r/{n}`).
    pub fn pinned(&self) -> bool {
        self.revision < self.latest_revision
    }
}

/// The page's model of the snippet, moved along by pushed events.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSnippet {
    /// The revision whose files the page shows.
    pub shown: u32,
    /// The newest revision the page has heard of.
    pub newest: u32,
    /// An old revision's page: it is told of newer ones, not switched.
    pub pinned: bool,
    /// The job of the newest revision.
    pub state: JobState,
    pub progress: Option<Progress>,
    /// The file being highlighted.
    pub file: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub highlighted_in_ms: Option<u64>,
    /// Set when the snippet is deleted (or expires, or is burned) while
    /// the page shows it.
    pub gone: Option<GoneReason>,
    /// A newer revision on its way: its files, and the lines it changed.
    pub incoming: Option<RevisionInfo>,
    /// The files of the newest revision highlighted so far.
    pub arrived: Vec<FileHighlighted>,
    /// The last switch to a newer revision, for "Updated just now".
    pub updated: Option<Updated>,
}

/// A switch the page made to a newer revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Updated {
    pub from: u32,
    pub to: u32,
    pub lines: u32,
}

/// What the page is to show now: a revision's results (and its files,
/// when it is a newer revision).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct Switch {
    pub revision: u32,
    pub info: Option<RevisionInfo>,
    pub files: Vec<FileHighlighted>,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl LiveSnippet {
    pub fn from_page(page: &PageSnippet) -> Self {
        LiveSnippet {
            shown: page.revision,
            newest: page.latest_revision.max(page.revision),
            pinned: page.pinned(),
            state: page.state,
            progress: page.progress,
            file: None,
            attempts: page.attempts,
            max_attempts: page.max_attempts,
            next_attempt_at: page.next_attempt_at,
            error: page.error.clone(),
            highlighted_in_ms: page.highlighted_in_ms,
            gone: None,
            incoming: None,
            arrived: Vec::new(),
            updated: None,
        }
    }

    /// The page's stream: from the revision it shows.
    pub fn stream_url(&self, id: &SnippetId) -> String {
        if self.pinned {
            format!("/api/snippets/{id}/events?since={}&pinned=true", self.shown)
        } else {
            format!(
                "/api/snippets/{id}/events?since={}&highlighted={}",
                self.shown,
                self.state == JobState::Succeeded
            )
        }
    }

    /// Queued anew ("Try again", another language): back to the start.
    pub fn requeued(&mut self) {
        self.state = JobState::Queued;
        self.progress = None;
        self.file = None;
        self.attempts = 0;
        self.next_attempt_at = None;
        self.error = None;
    }

    /// Folds one event in; `Some` when the page is to show new results.
    pub fn apply(&mut self, event: SnippetEvent) -> Option<Switch> {
        let revision = event.revision();
        // A job of an older revision, still finishing: not news here.
        let stale = revision != 0 && revision < self.newest;
        match event {
            SnippetEvent::Revision(info) => {
                if info.number <= self.newest {
                    return None;
                }
                self.newest = info.number;
                if !self.pinned {
                    self.requeued();
                    self.arrived.clear();
                    self.incoming = Some(info);
                }
            }
            _ if stale || self.pinned && !matches!(event, SnippetEvent::Deleted(_)) => {}
            SnippetEvent::State(s) => {
                self.newest = self.newest.max(s.revision);
                self.state = s.state;
                self.progress = s.progress;
                self.next_attempt_at = s.next_attempt_at;
                if s.attempts > 0 {
                    self.attempts = s.attempts;
                }
                if !s.state.is_final() && s.state != JobState::Retrying {
                    self.error = None;
                }
                if s.state != JobState::Processing {
                    self.file = None;
                }
            }
            SnippetEvent::Progress(p) => {
                self.state = JobState::Processing;
                self.progress = Some(p.progress());
                self.file = p.file;
            }
            SnippetEvent::File(f) => self.arrived.push(f),
            SnippetEvent::Highlighted(h) => {
                self.state = JobState::Succeeded;
                self.progress = None;
                self.file = None;
                self.error = None;
                self.highlighted_in_ms = Some(h.highlighted_in_ms);
                let info = self.incoming.take();
                if let Some(info) = &info {
                    self.updated = Some(Updated {
                        from: self.shown,
                        to: h.revision,
                        lines: info.lines_added.max(info.lines_removed),
                    });
                }
                self.shown = h.revision.max(self.shown);
                return Some(Switch {
                    revision: h.revision,
                    info,
                    files: std::mem::take(&mut self.arrived),
                });
            }
            SnippetEvent::Retrying(r) => {
                self.state = JobState::Retrying;
                self.progress = None;
                self.file = None;
                self.attempts = r.attempt;
                self.error = Some(r.error);
                self.next_attempt_at = Some(r.next_attempt_at);
            }
            SnippetEvent::Failed(f) => {
                self.state = JobState::Failed;
                self.progress = None;
                self.file = None;
                self.attempts = f.attempts;
                self.error = Some(f.error);
            }
            SnippetEvent::Deleted(d) => {
                self.gone = Some(d.reason);
                self.progress = None;
            }
            SnippetEvent::Created(_) => {}
        }
        None
    }

    /// The state in words, as the page shows it.
    pub fn label(&self) -> String {
        let label = match self.state {
            JobState::Queued => "Queued".to_owned(),
            JobState::Processing => {
                let file = self
                    .file
                    .as_deref()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default();
                match self.progress {
                    Some(p) => format!("Highlighting{file}… {}%", p.percent()),
                    None => format!("Highlighting{file}…"),
                }
            }
            JobState::Retrying => match self.next_attempt_at {
                Some(at) => format!(
                    "Attempt {} failed; trying again at {} UTC",
                    self.attempts,
                    crate::domain::clock::time_of_day(&at)
                ),
                None => format!("Attempt {} failed; trying again soon", self.attempts),
            },
            JobState::Succeeded => match self.highlighted_in_ms {
                Some(ms) => format!("Highlighted in {ms} ms"),
                None => "Highlighted".to_owned(),
            },
            JobState::Failed => "Failed".to_owned(),
        };
        match &self.incoming {
            Some(info) => format!("Revision {}: {label}", info.number),
            None => label,
        }
    }
}

/// "Updated just now: revision 4, 3 lines changed".
pub fn updated_label(updated: &Updated) -> String {
    let lines = match updated.lines {
        1 => "1 line changed".to_owned(),
        n => format!("{n} lines changed"),
    };
    format!("revision {}, {lines}", updated.to)
}

/// Opens one EventSource on `url` for the named events and hands every
/// event to `on_event` (name, data) until it returns `false` or the calling
/// component goes away. Dropped connections are the browser's to mend: it
/// reconnects by itself and the server starts the new stream from a
/// snapshot, so nothing is lost. A stream the browser gave up on (the
/// snippet is gone: 404, 410) ends the listening.
///
/// gloo-net's `EventSource` gives each event name a stream; they are read
/// as one.
#[cfg(feature = "hydrate")]
pub fn listen(url: String, names: &[&str], mut on_event: impl FnMut(&str, &str) -> bool + 'static) {
    use std::{cell::RefCell, rc::Rc};

    use futures_util::StreamExt;
    use gloo_net::eventsource::futures::EventSource;
    use leptos::prelude::*;

    let Ok(mut source) = EventSource::new(&url) else {
        return;
    };
    let subscriptions: Vec<_> = names
        .iter()
        .filter_map(|name| source.subscribe(*name).ok())
        .collect();
    let mut events = futures_util::stream::select_all(subscriptions);
    // Dropping the one `EventSource` closes the connection: when the
    // events say so, or when the component goes.
    let open = Rc::new(RefCell::new(Some(source)));
    let closer = Rc::clone(&open);
    leptos::task::spawn_local(async move {
        while let Some(Ok((name, message))) = events.next().await {
            let Some(data) = message.data().as_string() else {
                continue;
            };
            if !on_event(&name, &data) {
                break;
            }
        }
        closer.borrow_mut().take();
    });
    let open = StoredValue::new_local(open);
    on_cleanup(move || open.with_value(|open| drop(open.borrow_mut().take())));
}

/// The event names of one snippet's stream.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const SNIPPET_EVENTS: [&str; 8] = [
    "state",
    "progress",
    "revision",
    "file",
    "highlighted",
    "retrying",
    "failed",
    "deleted",
];

/// Puts a revision's files into the page (`#files`), in one write:
/// each file the page already shows highlighted is kept (its HTML moved,
/// not sent again), each other one is drawn from `switch`. The reader's
/// place is kept: the file at the top of the window stays where it was.
/// Then the lines the revision changed are marked. `files` becomes the
/// new revision's list. `false`: the page lacks a file's HTML and must be
/// loaded again.
#[cfg(feature = "hydrate")]
pub fn show_revision(id: &SnippetId, switch: &Switch, files: &mut Vec<FileMeta>) -> bool {
    use wasm_bindgen::JsCast;

    use super::sections::{Body, SectionFile, sections_html};

    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return true;
    };
    let Some(container) = document.get_element_by_id("files") else {
        return true;
    };
    if switch.info.is_none() && switch.files.is_empty() {
        return true;
    }
    let metas: Vec<FileMeta> = switch
        .info
        .as_ref()
        .map(|info| info.files.clone())
        .unwrap_or_else(|| files.clone());
    // What the page shows highlighted already, by content and language.
    let mut kept: Vec<(String, String, String, Option<String>)> = Vec::new();
    let mut top: Option<(String, f64)> = None;
    if let Ok(sections) = container.query_selector_all(":scope > section.file") {
        for n in 0..sections.length() {
            let Some(section) = sections
                .item(n)
                .and_then(|s| s.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            let attribute = |name: &str| section.get_attribute(name).unwrap_or_default();
            let rect = section.get_bounding_client_rect();
            if top.is_none() && rect.bottom() > 0.0 {
                top = Some((attribute("data-name"), rect.top()));
            }
            if attribute("data-highlighted") != "true" {
                continue;
            }
            let inner = |selector: &str| {
                section
                    .query_selector(selector)
                    .ok()
                    .flatten()
                    .map(|el| el.inner_html())
            };
            kept.push((
                attribute("data-hash"),
                attribute("data-language"),
                inner(".highlighted").unwrap_or_default(),
                inner(".rendered"),
            ));
        }
    }
    let mut drawn = Vec::with_capacity(metas.len());
    for meta in &metas {
        let pushed = switch.files.iter().find(|f| f.name == meta.name);
        let body = match pushed {
            Some(f) => Body::Highlighted {
                html: &f.html,
                rendered: f.rendered.as_deref(),
            },
            None => match kept
                .iter()
                .find(|(hash, language, _, _)| *hash == meta.hash && *language == meta.language)
            {
                Some((_, _, html, rendered)) => Body::Highlighted {
                    html,
                    rendered: rendered.as_deref(),
                },
                None => return false,
            },
        };
        drawn.push(SectionFile {
            name: &meta.name,
            language: pushed.map_or(meta.language.as_str(), |f| f.language.as_str()),
            lines: meta.lines,
            hash: &meta.hash,
            body,
        });
    }
    container.set_inner_html(&sections_html(id, &drawn));
    // Keep the reader's place: the file that was at the top stays there.
    if let Some((name, was)) = top
        && let Some(window) = web_sys::window()
        && let Ok(Some(section)) = container.query_selector(&format!(
            "section.file[data-name=\"{}\"]",
            css_escape(&name)
        ))
    {
        let now = section.get_bounding_client_rect().top();
        if (now - was).abs() > 0.5 {
            window.scroll_by_with_x_and_y(0.0, now - was);
        }
    }
    if let Some(info) = &switch.info {
        super::reading::mark_changed(&container, &info.changed);
    }
    let languages: Vec<(String, String)> = switch
        .files
        .iter()
        .map(|f| (f.name.clone(), f.language.clone()))
        .collect();
    *files = metas;
    for file in files.iter_mut() {
        if let Some((_, language)) = languages.iter().find(|(name, _)| *name == file.name) {
            file.language = language.clone();
        }
    }
    true
}

/// A value inside a quoted CSS attribute selector.
#[cfg(feature = "hydrate")]
fn css_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failed, Highlighted, Progressed, Retrying, StateChanged};

    fn page(revision: u32, latest: u32, state: JobState) -> PageSnippet {
        PageSnippet {
            id: SnippetId::parse("abcdefabcdef").unwrap(),
            title: "main.rs".into(),
            revision,
            latest_revision: latest,
            files: vec![],
            state,
            progress: None,
            attempts: 0,
            max_attempts: 5,
            next_attempt_at: None,
            error: None,
            highlighted_in_ms: None,
            is_owner: true,
            visibility: Visibility::Unlisted,
            burn_after_reading: false,
            expires: None,
        }
    }

    fn revision(number: u32, added: u32, removed: u32) -> RevisionInfo {
        RevisionInfo {
            number,
            created_at: Utc::now(),
            lines_added: added,
            lines_removed: removed,
            files: vec![],
            changed: vec![],
        }
    }

    fn highlighted(revision: u32) -> SnippetEvent {
        SnippetEvent::Highlighted(Highlighted {
            revision,
            html: String::new(),
            language: "Rust".into(),
            highlighted_in_ms: 7,
        })
    }

    fn file(revision: u32, name: &str) -> SnippetEvent {
        SnippetEvent::File(FileHighlighted {
            revision,
            name: name.into(),
            hash: "h".into(),
            language: "Rust".into(),
            html: "<pre>x</pre>".into(),
            rendered: None,
        })
    }

    #[test]
    fn events_move_the_page_along() {
        let mut live = LiveSnippet::from_page(&page(1, 1, JobState::Queued));
        assert_eq!(live.label(), "Queued");
        live.apply(SnippetEvent::State(StateChanged {
            state: JobState::Processing,
            progress: None,
            attempts: 1,
            next_attempt_at: None,
            revision: 1,
        }));
        live.apply(SnippetEvent::Progress(Progressed {
            revision: 1,
            done: 2,
            total: 5,
            file: Some("main.rs".into()),
        }));
        assert_eq!(live.label(), "Highlighting main.rs… 40%");
        live.apply(SnippetEvent::Retrying(Retrying {
            error: "down".into(),
            attempt: 1,
            next_attempt_at: Utc::now(),
            revision: 1,
        }));
        assert_eq!(live.state, JobState::Retrying);
        assert_eq!(live.error.as_deref(), Some("down"));
        assert_eq!(live.apply(file(1, "main.rs")), None);
        let switch = live.apply(highlighted(1)).expect("results to show");
        assert_eq!(switch.files.len(), 1);
        assert_eq!(switch.info, None, "the same revision: no update line");
        assert_eq!(live.state, JobState::Succeeded);
        assert_eq!(live.error, None);
        assert_eq!(live.label(), "Highlighted in 7 ms");
        assert_eq!(live.updated, None);
    }

    #[test]
    fn a_new_revision_is_shown_once_highlighted_and_old_jobs_are_ignored() {
        let mut live = LiveSnippet::from_page(&page(1, 1, JobState::Succeeded));
        live.apply(SnippetEvent::Revision(revision(2, 3, 1)));
        assert_eq!(live.state, JobState::Queued);
        assert_eq!(live.label(), "Revision 2: Queued");
        // Revision 1's job finishing late changes nothing.
        assert_eq!(live.apply(highlighted(1)), None);
        assert_eq!(live.shown, 1);
        live.apply(file(2, "main.rs"));
        let switch = live.apply(highlighted(2)).expect("revision 2 to show");
        assert_eq!(switch.revision, 2);
        assert_eq!(switch.info.map(|i| i.number), Some(2));
        assert_eq!(live.shown, 2);
        let updated = live.updated.expect("an update line");
        assert_eq!(updated_label(&updated), "revision 2, 3 lines changed");
        assert_eq!((updated.from, updated.to), (1, 2));
    }

    #[test]
    fn an_old_revision_page_hears_of_newer_ones_without_switching() {
        let mut live = LiveSnippet::from_page(&page(1, 2, JobState::Succeeded));
        assert!(live.pinned);
        assert!(
            live.stream_url(&SnippetId::parse("abcdefabcdef").unwrap())
                .ends_with("pinned=true")
        );
        live.apply(SnippetEvent::Revision(revision(3, 1, 1)));
        assert_eq!(live.newest, 3);
        assert_eq!(live.apply(highlighted(3)), None);
        assert_eq!(live.shown, 1);
    }

    #[test]
    fn failure_keeps_the_reason_and_deletion_marks_the_page_gone() {
        let mut live = LiveSnippet::from_page(&page(1, 1, JobState::Queued));
        live.apply(SnippetEvent::Failed(Failed {
            error: "timed out".into(),
            attempts: 1,
            revision: 1,
        }));
        assert_eq!(live.state, JobState::Failed);
        assert_eq!(live.error.as_deref(), Some("timed out"));
        live.apply(SnippetEvent::Deleted(crate::domain::Deleted {
            reason: GoneReason::Deleted,
        }));
        assert_eq!(live.gone, Some(GoneReason::Deleted));
    }
}

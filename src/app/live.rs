//! Keeping a snippet page live: the page's model of a snippet's progress,
//! and (in the browser) the EventSource that feeds it.

use chrono::{DateTime, Utc};

use crate::domain::{GoneReason, JobState, Progress, SnippetEvent, SnippetView};

/// What a page shows of a snippet's job, updated by pushed events.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSnippet {
    pub language: String,
    pub state: JobState,
    pub progress: Option<Progress>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub html: Option<String>,
    pub error: Option<String>,
    pub highlighted_in_ms: Option<u64>,
    /// Set when the snippet is deleted (or expires, or is burned) while
    /// the page shows it.
    pub gone: Option<GoneReason>,
}

impl LiveSnippet {
    pub fn from_view(view: &SnippetView) -> Self {
        LiveSnippet {
            language: view.language.clone(),
            state: view.state,
            progress: view.progress,
            attempts: view.attempts,
            max_attempts: view.max_attempts,
            next_attempt_at: view.next_attempt_at,
            html: view.html.clone(),
            error: view.error.clone(),
            highlighted_in_ms: view.highlighted_in_ms,
            gone: None,
        }
    }

    /// Queued anew ("Try again"): back to the start.
    pub fn requeued(&mut self) {
        self.state = JobState::Queued;
        self.progress = None;
        self.attempts = 0;
        self.next_attempt_at = None;
        self.html = None;
        self.error = None;
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn apply(&mut self, event: SnippetEvent) {
        match event {
            SnippetEvent::State(s) => {
                self.state = s.state;
                self.progress = s.progress;
                self.next_attempt_at = s.next_attempt_at;
                if s.attempts > 0 {
                    self.attempts = s.attempts;
                }
                if !s.state.is_final() {
                    self.html = None;
                    if s.state != JobState::Retrying {
                        self.error = None;
                    }
                }
            }
            SnippetEvent::Progress(p) => {
                self.state = JobState::Processing;
                self.progress = Some(p);
            }
            SnippetEvent::Highlighted(h) => {
                self.state = JobState::Succeeded;
                self.progress = None;
                self.html = Some(h.html);
                self.language = h.language;
                self.error = None;
                self.highlighted_in_ms = Some(h.highlighted_in_ms);
            }
            SnippetEvent::Retrying(r) => {
                self.state = JobState::Retrying;
                self.progress = None;
                self.attempts = r.attempt;
                self.error = Some(r.error);
                self.next_attempt_at = Some(r.next_attempt_at);
            }
            SnippetEvent::Failed(f) => {
                self.state = JobState::Failed;
                self.progress = None;
                self.attempts = f.attempts;
                self.error = Some(f.error);
            }
            SnippetEvent::Deleted(d) => {
                self.gone = Some(d.reason);
                self.progress = None;
            }
            SnippetEvent::Created(_) => {}
        }
    }

    /// The state in words, as the page shows it.
    pub fn label(&self) -> String {
        match self.state {
            JobState::Queued => "Queued".to_owned(),
            JobState::Processing => match self.progress {
                Some(p) => format!("Highlighting… {}%", p.percent()),
                None => "Highlighting…".to_owned(),
            },
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
        }
    }
}

/// Opens one EventSource on `url` for the named events and hands every
/// event to `on_event` (name, data) until it returns `false` or the calling
/// component goes away. Errors are dropped connections: the browser
/// reconnects by itself and the server starts the new stream from a
/// snapshot, so nothing is lost.
///
/// The browser's `EventSource` directly, one listener per name: a stream
/// adapter around it cost the bundle its channels and combinators.
#[cfg(feature = "hydrate")]
pub fn listen(url: String, names: &[&str], on_event: impl FnMut(&str, &str) -> bool + 'static) {
    use std::{cell::RefCell, rc::Rc};

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};

    let Ok(source) = web_sys::EventSource::new(&url) else {
        return;
    };
    let on_event = Rc::new(RefCell::new(on_event));
    let listeners: Vec<_> = names
        .iter()
        .map(|&name| {
            let event_name = name.to_owned();
            let on_event = Rc::clone(&on_event);
            let this_source = source.clone();
            let listener = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |message: web_sys::MessageEvent| {
                    let Some(data) = message.data().as_string() else {
                        return;
                    };
                    if !(on_event.borrow_mut())(&event_name, &data) {
                        // Closing matters: a stream the server ended would
                        // otherwise be reopened by the browser.
                        this_source.close();
                    }
                },
            );
            let _ =
                source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            listener
        })
        .collect();
    // Kept with the component: closed and dropped when it goes away.
    let open = StoredValue::new_local((source, listeners));
    on_cleanup(move || open.with_value(|(source, _)| source.close()));
}

/// The event names of one snippet's stream.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const SNIPPET_EVENTS: [&str; 6] = [
    "state",
    "progress",
    "highlighted",
    "retrying",
    "failed",
    "deleted",
];

/// Follows one snippet until its result arrives.
#[cfg(feature = "hydrate")]
pub fn follow(id: crate::domain::SnippetId, live: leptos::prelude::RwSignal<LiveSnippet>) {
    use leptos::prelude::*;
    listen(
        format!("/api/snippets/{id}/events"),
        &SNIPPET_EVENTS,
        move |name, data| match SnippetEvent::parse(name, data) {
            Some(Ok(event)) => {
                let is_final = event.is_final();
                live.update(|l| l.apply(event));
                !is_final
            }
            _ => true,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Failed, Highlighted, Retrying, SnippetId, StateChanged};

    fn pending() -> LiveSnippet {
        LiveSnippet::from_view(&SnippetView {
            id: SnippetId::parse("abcdefabcdef").unwrap(),
            language: "Rust".into(),
            filename: None,
            code: "fn main() {}".into(),
            state: JobState::Queued,
            progress: None,
            attempts: 0,
            max_attempts: 5,
            next_attempt_at: None,
            created_at: Utc::now(),
            highlighted_at: None,
            highlighted_in_ms: None,
            html: None,
            error: None,
            expires_at: None,
            visibility: crate::domain::Visibility::Unlisted,
            burn_after_reading: false,
            is_owner: true,
        })
    }

    #[test]
    fn events_move_the_page_along() {
        let mut live = pending();
        assert_eq!(live.label(), "Queued");
        live.apply(SnippetEvent::State(StateChanged {
            state: JobState::Processing,
            progress: None,
            attempts: 1,
            next_attempt_at: None,
        }));
        live.apply(SnippetEvent::Progress(Progress { done: 2, total: 5 }));
        assert_eq!(live.label(), "Highlighting… 40%");
        live.apply(SnippetEvent::Retrying(Retrying {
            error: "down".into(),
            attempt: 1,
            next_attempt_at: Utc::now(),
        }));
        assert_eq!(live.state, JobState::Retrying);
        assert_eq!(live.error.as_deref(), Some("down"));
        live.apply(SnippetEvent::Highlighted(Highlighted {
            html: "<pre>x</pre>".into(),
            language: "Rust".into(),
            highlighted_in_ms: 7,
        }));
        assert_eq!(live.state, JobState::Succeeded);
        assert_eq!(live.error, None);
        assert_eq!(live.label(), "Highlighted in 7 ms");
    }

    #[test]
    fn failure_keeps_the_reason() {
        let mut live = pending();
        live.apply(SnippetEvent::Failed(Failed {
            error: "timed out".into(),
            attempts: 1,
        }));
        assert_eq!(live.state, JobState::Failed);
        assert_eq!(live.error.as_deref(), Some("timed out"));
    }

    #[test]
    fn deletion_marks_the_page_gone() {
        let mut live = pending();
        live.apply(SnippetEvent::Deleted(crate::domain::Deleted {
            reason: GoneReason::Deleted,
        }));
        assert_eq!(live.gone, Some(GoneReason::Deleted));
    }
}

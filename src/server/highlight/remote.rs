//! The remote engine: a hilite.me-compatible service (the external engine
//! Hangfire.Highlighter called), reached with reqwest.
//!
//! What comes back is HTML from outside, so it is sanitised with an
//! allow-list (ammonia) before it is stored: no scripts, no event-handler
//! attributes, no `javascript:` URLs. Network trouble and 5xx answers are
//! transient (the job is retried with backoff); 4xx answers are permanent.

use std::time::Duration;

use async_trait::async_trait;

use super::{CancelFlag, Engine, EngineError, HighlightRequest, ProgressSink};
use crate::domain::Progress;

pub struct RemoteEngine {
    client: reqwest::Client,
    url: String,
    sanitizer: ammonia::Builder<'static>,
}

impl RemoteEngine {
    /// `read_timeout` bounds the whole exchange; connecting gets 2 s.
    pub fn new(url: String, read_timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(read_timeout)
            .build()?;
        let mut sanitizer = ammonia::Builder::default();
        // hilite.me answers with inline styles; classes are harmless.
        sanitizer.add_generic_attributes(["style", "class"]);
        Ok(RemoteEngine {
            client,
            url,
            sanitizer,
        })
    }

    pub fn sanitize(&self, html: &str) -> String {
        self.sanitizer.clean(html).to_string()
    }
}

/// Pygments' lexer name for one of our language names.
fn lexer_for(language: &str) -> String {
    match language {
        "C++" => "cpp".into(),
        "C#" => "csharp".into(),
        "Bourne Again Shell (bash)" => "bash".into(),
        "Plain Text" => "text".into(),
        "JavaScript (Babel)" => "javascript".into(),
        other => other.to_lowercase().replace(' ', ""),
    }
}

#[async_trait]
impl Engine for RemoteEngine {
    async fn highlight(
        &self,
        request: HighlightRequest,
        progress: ProgressSink,
        _cancel: CancelFlag,
    ) -> Result<String, EngineError> {
        // The service answers all at once; cancellation is dropping this
        // future, which aborts the request.
        progress.report(Progress { done: 0, total: 1 });
        let lexer = lexer_for(&request.language);
        let response = self
            .client
            .post(&self.url)
            .form(&[
                ("code", request.code.as_str()),
                ("lexer", &lexer),
                ("style", "colorful"),
            ])
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not be reached"
                } else {
                    "failed"
                };
                EngineError::Transient(format!("The highlighting service {what}."))
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|_| {
            EngineError::Transient("The highlighting service's answer broke off.".into())
        })?;
        if status.is_server_error() {
            return Err(EngineError::Transient(format!(
                "The highlighting service had a problem ({status})."
            )));
        }
        if !status.is_success() {
            let reason: String = body.chars().take(200).collect();
            return Err(EngineError::Permanent(format!(
                "The highlighting service refused this snippet ({status}): {}",
                reason.trim()
            )));
        }
        progress.report(Progress { done: 1, total: 1 });
        Ok(format!(
            "<div class=\"remote-highlight\">{}</div>",
            self.sanitize(&body)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sanitiser_keeps_styling_and_drops_anything_active() {
        let engine =
            RemoteEngine::new("http://127.0.0.1:1/".into(), Duration::from_secs(1)).unwrap();
        let clean = engine.sanitize(
            r#"<div onclick="x()" style="color: red"><pre><span class="k">fn</span><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a></pre></div>"#,
        );
        assert!(clean.contains(r#"style="color: red""#), "{clean}");
        assert!(clean.contains(r#"<span class="k">fn</span>"#), "{clean}");
        for bad in ["<script", "onclick", "onerror", "javascript:"] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
    }

    #[test]
    fn lexer_names_follow_pygments() {
        assert_eq!(lexer_for("Rust"), "rust");
        assert_eq!(lexer_for("C++"), "cpp");
        assert_eq!(lexer_for("C#"), "csharp");
        assert_eq!(lexer_for("Plain Text"), "text");
    }
}

//! The remote engine: a hilite.me-compatible service (the external engine
//! Hangfire.Highlighter called), reached with reqwest.
//!
//! What comes back is HTML from outside, so it is cleaned with an
//! allow-list (ammonia) of only what highlighted code needs before it is
//! stored: `pre`, `code`, `span`, `div`, `br`, and the `class` attribute.
//! No scripts, links, images, styles or event handlers survive. Its body is
//! read up to a cap, so a service that answers without end cannot fill the
//! server's memory. Network trouble and 5xx answers are transient (the job
//! is retried with backoff); 4xx answers and oversized ones are permanent.

use std::time::Duration;

use async_trait::async_trait;

use super::{CancelFlag, Engine, EngineError, HighlightRequest, ProgressSink};
use crate::domain::Progress;

pub struct RemoteEngine {
    client: reqwest::Client,
    url: String,
    sanitizer: ammonia::Builder<'static>,
    max_response_bytes: usize,
}

impl RemoteEngine {
    /// `read_timeout` bounds the whole exchange; connecting gets 2 s.
    /// Answers over `max_response_bytes` fail the job.
    pub fn new(
        url: String,
        read_timeout: Duration,
        max_response_bytes: usize,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(read_timeout)
            .build()?;
        let mut sanitizer = ammonia::Builder::empty();
        sanitizer
            .tags(["pre", "code", "span", "div", "br"].into_iter().collect())
            .generic_attributes(["class"].into_iter().collect())
            .strip_comments(true);
        Ok(RemoteEngine {
            client,
            url,
            sanitizer,
            max_response_bytes,
        })
    }

    /// Reads the body up to the cap.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, EngineError> {
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|_| {
                EngineError::Transient("The highlighting service's answer broke off.".into())
            })?;
            let Some(chunk) = chunk else { return Ok(body) };
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(EngineError::Permanent(format!(
                    "The highlighting service's answer is over the limit of {} bytes.",
                    self.max_response_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
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
    /// Another service's HTML, and it may change with it: one version per
    /// service address.
    fn version(&self) -> String {
        format!("remote/{}", self.url)
    }

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
        let body = String::from_utf8_lossy(&self.read_capped(response).await?).into_owned();
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
    fn the_sanitiser_keeps_only_what_highlighted_code_needs() {
        let engine = RemoteEngine::new(
            "http://127.0.0.1:1/".into(),
            Duration::from_secs(1),
            1 << 20,
        )
        .unwrap();
        let clean = engine.sanitize(
            r#"<div onclick="x()" style="color: red"><pre><span class="k">fn</span><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a><style>*{}</style><!-- c --></pre></div>"#,
        );
        assert!(clean.contains(r#"<span class="k">fn</span>"#), "{clean}");
        for bad in [
            "<script",
            "onclick",
            "onerror",
            "javascript:",
            "<img",
            "<a",
            "<style",
            "style=",
            "<!--",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(
            clean.contains("x"),
            "text inside dropped elements stays text"
        );
    }

    #[test]
    fn lexer_names_follow_pygments() {
        assert_eq!(lexer_for("Rust"), "rust");
        assert_eq!(lexer_for("C++"), "cpp");
        assert_eq!(lexer_for("C#"), "csharp");
        assert_eq!(lexer_for("Plain Text"), "text");
    }
}

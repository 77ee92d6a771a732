//! A client of Highlighter's REST API: what the command line (`cli`) and
//! the benchmark suite use to paste, save, delete and follow snippets.
//!
//! Every failure is one sentence a person can act on ([`ClientError`]):
//! the server's own refusal where it gave one (`{"error"}`), with when to
//! try again after a 429.

pub mod sse;

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::FileText;

/// Why a call failed, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("{message}{}", retry_after.map(|s| format!(" (try again in {s} s)")).unwrap_or_default())]
    Refused {
        status: StatusCode,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("the server's answer could not be read: {0}")]
    Unreadable(String),
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A new snippet, as the server answered it.
#[derive(Clone, Debug, Deserialize)]
pub struct Created {
    pub id: String,
    pub url: String,
    pub owner_token: String,
    #[serde(default)]
    pub revision: u32,
}

/// A saved revision, as the server answered it.
#[derive(Clone, Debug, Deserialize)]
pub struct Saved {
    pub id: String,
    pub url: String,
    pub revision: u32,
}

/// What a paste asks for besides its files.
#[derive(Clone, Debug, Default)]
pub struct PasteOptions {
    pub public: bool,
    pub burn_after_reading: bool,
    /// Seconds; `None` is never.
    pub expires_in: Option<u64>,
}

/// One server.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:3000`).
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .user_agent(concat!("highlighter-cli/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .build()
                .expect("a client with these settings always builds"),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let response = request.send().await.map_err(|e| ClientError::Unreachable {
            server: self.base.clone(),
            reason: reason_of(&e),
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let message = match response.json::<Value>().await {
            Ok(body) => body["error"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("the server answered {status}")),
            Err(_) => format!("the server answered {status}"),
        };
        Err(ClientError::Refused {
            status,
            message,
            retry_after,
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        response
            .json()
            .await
            .map_err(|e| ClientError::Unreadable(e.to_string()))
    }

    /// Pastes `files` as a new snippet.
    pub async fn paste(
        &self,
        files: &[FileText],
        options: &PasteOptions,
    ) -> Result<Created, ClientError> {
        let body = json!({
            "files": files,
            "visibility": if options.public { "public" } else { "unlisted" },
            "burn_after_reading": options.burn_after_reading,
            "expires_in": options.expires_in,
        });
        let response = self
            .send(self.http.post(self.url("/api/snippets")).json(&body))
            .await?;
        Self::json(response).await
    }

    /// A snippet's latest revision, as JSON.
    pub async fn snippet(&self, id: &str, token: Option<&str>) -> Result<Value, ClientError> {
        let mut request = self.http.get(self.url(&format!("/api/snippets/{id}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::json(self.send(request).await?).await
    }

    /// Saves `files` as the revision after `base`.
    pub async fn save(
        &self,
        id: &str,
        token: &str,
        base: u32,
        files: &[FileText],
    ) -> Result<Saved, ClientError> {
        let request = self
            .http
            .put(self.url(&format!("/api/snippets/{id}")))
            .bearer_auth(token)
            .json(&json!({ "base_revision": base, "files": files }));
        Self::json(self.send(request).await?).await
    }

    pub async fn delete(&self, id: &str, token: &str) -> Result<(), ClientError> {
        let request = self
            .http
            .delete(self.url(&format!("/api/snippets/{id}")))
            .bearer_auth(token);
        self.send(request).await.map(|_| ())
    }

    /// Opens the snippet's event stream.
    pub async fn follow(&self, id: &str) -> Result<sse::EventStream, ClientError> {
        let request = self
            .http
            .get(self.url(&format!("/api/snippets/{id}/events")))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        Ok(sse::EventStream::new(self.send(request).await?))
    }
}

/// The innermost cause of a connection failure: "connection refused", not
/// "error sending request for url (...)".
fn reason_of(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut reason = error.to_string();
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    if error.is_timeout() {
        "it did not answer in time".to_owned()
    } else {
        reason
    }
}

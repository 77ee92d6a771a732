//! Logging: lines on stderr, filtered by `RUST_LOG` (default `info`, with
//! sqlx's per-query lines kept at warn). Human-readable, in colour only
//! when stderr is a terminal (a log file or a journal gets no escape
//! codes); with `HIGHLIGHTER_LOG_FORMAT=json`, one JSON object a line,
//! span fields included, for log shippers.
//!
//! Logging must never take a task down. When stderr is a pipe whose
//! reader has gone (a supervisor or a piping shell killed), a write
//! fails with EPIPE; tracing-subscriber would report that with
//! `eprintln!`, which panics on the same broken pipe, inside whatever task
//! was logging (the one that handles SIGTERM, say). So internal errors are
//! not reported, and failed writes are dropped.
//!
//! Requests are traced by tower-http, which logs a server error as a
//! failure; [`ProbesAnswerOnPurpose`] leaves the probes' 503s out of that.

use axum::http::{Request, Response, StatusCode};
use tower_http::classify::{
    ClassifiedResponse, ClassifyResponse, MakeClassifier, NeverClassifyEos, ServerErrorsAsFailures,
    ServerErrorsFailureClass,
};
use tracing_subscriber::{EnvFilter, fmt};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: colours on a terminal only.
    Text,
    /// One JSON object a line.
    Json,
}

impl LogFormat {
    /// `HIGHLIGHTER_LOG_FORMAT`: `json`, or `text` (the default). An
    /// unknown value is said once, on stderr, and text is used: logging
    /// must start whatever the environment says.
    pub fn from_env() -> LogFormat {
        match std::env::var("HIGHLIGHTER_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            Ok("" | "text") | Err(_) => LogFormat::Text,
            Ok(other) => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "highlighter: HIGHLIGHTER_LOG_FORMAT={other:?} is not `text` or `json`; writing text"
                );
                LogFormat::Text
            }
        }
    }
}

pub fn init() {
    init_as(LogFormat::from_env());
}

pub fn init_as(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    // A second init (tests start several apps) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}

/// The request trace's classifier: server errors are failures, logged at
/// error level, except a probe's 503. A node that is still warming up says
/// so to every readiness poll on purpose, and a health probe that cannot
/// reach the database logs that itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbesAnswerOnPurpose;

/// [`ServerErrorsAsFailures`], told whether the request was a probe.
#[derive(Clone, Copy, Debug)]
pub struct ServerErrors {
    probe: bool,
}

impl MakeClassifier for ProbesAnswerOnPurpose {
    type Classifier = ServerErrors;
    type FailureClass = ServerErrorsFailureClass;
    type ClassifyEos = NeverClassifyEos<ServerErrorsFailureClass>;

    fn make_classifier<B>(&self, request: &Request<B>) -> ServerErrors {
        ServerErrors {
            probe: matches!(request.uri().path(), "/api/health" | "/api/ready"),
        }
    }
}

impl ClassifyResponse for ServerErrors {
    type FailureClass = ServerErrorsFailureClass;
    type ClassifyEos = NeverClassifyEos<ServerErrorsFailureClass>;

    fn classify_response<B>(
        self,
        response: &Response<B>,
    ) -> ClassifiedResponse<Self::FailureClass, Self::ClassifyEos> {
        if self.probe && response.status() == StatusCode::SERVICE_UNAVAILABLE {
            return ClassifiedResponse::Ready(Ok(()));
        }
        ServerErrorsAsFailures::new().classify_response(response)
    }

    fn classify_error<E: std::fmt::Display + 'static>(self, error: &E) -> Self::FailureClass {
        ServerErrorsAsFailures::new().classify_error(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_failure(path: &str, status: StatusCode) -> bool {
        let request = Request::get(path).body(()).unwrap();
        let response = Response::builder().status(status).body(()).unwrap();
        let classifier = ProbesAnswerOnPurpose.make_classifier(&request);
        matches!(
            classifier.classify_response(&response),
            ClassifiedResponse::Ready(Err(_))
        )
    }

    #[test]
    fn a_probes_503_is_an_answer_and_every_other_server_error_a_failure() {
        assert!(!is_failure("/api/ready", StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_failure("/api/health", StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_failure("/api/ready", StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_failure("/api/events", StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_failure("/s/abc", StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!is_failure("/api/ready", StatusCode::OK));
    }
}

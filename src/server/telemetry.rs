//! Logging: human-readable lines on stderr, filtered by `RUST_LOG`
//! (default `info`, with sqlx's per-query lines kept at warn).
//!
//! Logging must never take a task down. When stderr is a pipe whose
//! reader has gone (a supervisor or `cargo leptos serve` killed), a write
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

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // A second init (tests start several apps) is harmless: keep the first.
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .try_init();
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

//! The server binary: read settings, start the application, stop cleanly
//! on SIGTERM or Ctrl-C.

use highlighter::server::{highlight, settings::Settings, startup::Application, telemetry};
use tokio_util::sync::CancellationToken;

fn main() -> std::process::ExitCode {
    // The same binary is the tree-sitter engine's child process.
    if std::env::args().nth(1).as_deref() == Some(highlight::isolate::CHILD_FLAG) {
        return highlight::isolate::child_main();
    }
    serve()
}

#[tokio::main]
async fn serve() -> std::process::ExitCode {
    telemetry::init();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            report(&e);
            return std::process::ExitCode::from(2);
        }
    };
    let shutdown = CancellationToken::new();
    let app = match Application::build(settings, shutdown.clone()).await {
        Ok(app) => app,
        Err(e) => {
            report(&e);
            return std::process::ExitCode::FAILURE;
        }
    };
    tokio::spawn(cancel_on_signal(shutdown));
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            std::process::ExitCode::FAILURE
        }
    }
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}

/// Says why the server stops, on stderr. A write to a closed stderr is
/// dropped: `eprintln!` would panic on it.
fn report(error: &dyn std::error::Error) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "highlighter: {}", error_chain(error));
}

/// "outer: inner: innermost", so the cause is never hidden.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

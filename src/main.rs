//! The binary: the server (read settings, start the application, stop
//! cleanly on SIGTERM or Ctrl-C), the command line's other commands
//! (`cli`), and the tree-sitter engine's child process.

use clap::Parser;
use highlighter::{
    cli::{self, Cli, Command, error_chain},
    server::{
        highlight,
        settings::{Settings, SettingsLayer},
        startup::Application,
        telemetry,
    },
};
use tokio_util::sync::CancellationToken;

fn main() -> std::process::ExitCode {
    // The same binary is the tree-sitter engine's child process.
    if std::env::args().nth(1).as_deref() == Some(highlight::isolate::CHILD_FLAG) {
        return highlight::isolate::child_main();
    }
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(settings)) => serve(settings),
        Some(Command::Tool(tool)) => cli::run(tool),
    }
}

#[tokio::main]
async fn serve(layer: SettingsLayer) -> std::process::ExitCode {
    telemetry::init();
    let settings = match Settings::from_layer(layer) {
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

//! The Pygments-based hilite.me-compatible service in `tools/`, run as a
//! real process, and the settings that point the remote engine at it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

/// The service, killed when dropped.
pub struct HiliteService(Child);

impl HiliteService {
    pub fn start(port: u16, spike: bool) -> HiliteService {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/hilite_service.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if spike {
            command.arg("--spike");
        }
        let mut child = command.spawn().expect("python3 runs the service");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(line.contains("listening"), "service said {line:?}");
        HiliteService(child)
    }
}

impl Drop for HiliteService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn remote(port: u16) -> impl FnOnce(&mut highlighter::server::settings::SettingsLayer) {
    move |s| {
        s.engine = Some(highlighter::server::settings::EngineKind::Remote);
        s.remote_url = Some(format!("http://127.0.0.1:{port}/api"));
        s.retry_base_secs = Some(0.2);
        s.retry_cap_secs = Some(0.5);
        s.max_attempts = Some(50);
        s.poll_secs = Some(0.1);
    }
}

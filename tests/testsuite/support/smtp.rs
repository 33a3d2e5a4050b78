//! A real SMTP server process (aiosmtpd) on 127.0.0.1 for the end-to-end tests,
//! stopped by its PID when the test ends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Fixture, Run, python, repo};

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: String,
    pub raw: String,
    pub path: PathBuf,
}

impl SmtpServer {
    /// Starts the server with extra flags (see tests/tools/smtp_server.py).
    pub fn start(flags: &[&str]) -> SmtpServer {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(repo().join("tests/tools/smtp_server.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP server did not start");
        SmtpServer { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let raw = std::fs::read_to_string(&path).unwrap();
                let rcpt = raw.lines().next().unwrap().trim_start_matches("X-Test-Rcpt: ").to_lowercase();
                Received { rcpt, raw, path }
            })
            .collect()
    }

    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|e| e == "eml"))
            .count()
    }

    /// "address code" lines: every RCPT the server answered.
    pub fn attempts(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("attempts.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits (bounded) until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl SmtpServer {
    /// Stops the server at once (SIGKILL to its PID), as a relay that dies mid-send.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A CSV of `n` made-up subscribers: reader000@example.com, …
pub fn subscribers_csv(dir: &Path, n: usize) -> PathBuf {
    let mut csv = String::from("email,name,company\n");
    for i in 0..n {
        csv.push_str(&format!("reader{i:03}@example.com,Reader {i},Company {i}\n"));
    }
    let path = dir.join("subscribers.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// The reference publication with `n` made-up subscribers imported.
pub fn with_subscribers(n: usize) -> Fixture {
    let fixture = Fixture::reference();
    let csv = subscribers_csv(fixture.path(), n);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    fixture
}

pub fn send(fixture: &Fixture, server: &SmtpServer, extra: &[&str]) -> Run {
    let mut args = vec!["issue", "9", "--yes"];
    args.extend_from_slice(extra);
    fixture.command(&args).env("PUBLISH_SMTP_URL", &server.url()).run()
}

/// How many messages each recipient got.
pub fn per_recipient(server: &SmtpServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in server.received() {
        *counts.entry(m.rcpt).or_default() += 1;
    }
    counts
}

//! HTTP against the servers the tests start: `publish serve` and `publish
//! preview` as child processes (stopped when dropped), and requests to them.

use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::Cmd;

/// A `publish serve` or `publish preview` process, listening on `port`.
pub struct Running {
    child: Child,
    pub port: u16,
}

impl Running {
    /// Starts `cmd` and waits (at most 30 s) until it listens on `port`.
    pub fn start(cmd: Cmd, port: u16) -> Running {
        let child = cmd.spawn();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "the server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Running { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it at once and returns what it wrote on stderr.
    pub fn stop_and_read_stderr(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    }

    /// Stops it at once, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns every status as an answer, not an error.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// (status, headers as "name: value" lines, body). A connection the loaded
/// test machine dropped before the request was read is tried again (twice).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let agent = agent();
    let mut tries = 0;
    let mut response = loop {
        let result = match method {
            "GET" | "OPTIONS" => {
                let mut r = if method == "GET" { agent.get(url) } else { agent.options(url) };
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call()
            }
            _ => {
                let mut r = agent.post(url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.send(body)
            }
        };
        match result {
            Ok(response) => break response,
            Err(ureq::Error::Io(e)) if tries < 2 => {
                tries += 1;
                eprintln!("{method} {url}: {e}; trying again");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{method} {url}: {e}"),
        }
    };
    let head: Vec<String> =
        response.headers().iter().map(|(k, v)| format!("{}: {}", k, v.to_str().unwrap_or("?"))).collect();
    (
        response.status().as_u16(),
        head.join("\n").to_lowercase(),
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A form-encoded POST.
pub fn form(url: &str, body: &str) -> (u16, String, String) {
    request("POST", url, &[("Content-Type", "application/x-www-form-urlencoded")], body)
}

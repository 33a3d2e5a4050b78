//! The one place "now" comes from, so that tests and `--now` can pin it.
//! `PUBLISH_NOW` (RFC 3339) pins it for a whole process.

use anyhow::{Context, Result};
use jiff::Timestamp;

/// The current time, or the time pinned by `PUBLISH_NOW`.
pub fn now() -> Result<Timestamp> {
    if let Some(t) = PINNED.get() {
        return Ok(*t);
    }
    match std::env::var("PUBLISH_NOW") {
        Ok(text) if !text.trim().is_empty() => parse(&text).context("PUBLISH_NOW"),
        _ => Ok(Timestamp::now()),
    }
}

/// `--now` if given, else [`now`].
pub fn now_or(flag: Option<&str>) -> Result<Timestamp> {
    match flag {
        Some(text) => parse(text).context("--now"),
        None => now(),
    }
}

/// Pins "now" for the rest of this process (cron's `--now` reaches the send path).
pub fn pin(t: Timestamp) {
    let _ = PINNED.set(t);
}

static PINNED: std::sync::OnceLock<Timestamp> = std::sync::OnceLock::new();

fn parse(text: &str) -> Result<Timestamp> {
    text.trim()
        .parse::<Timestamp>()
        .with_context(|| format!("\"{text}\" is not an RFC 3339 time such as 2024-03-01T09:00:00+08:00"))
}

/// As a `SystemTime`, for mail headers.
pub fn system(t: Timestamp) -> std::time::SystemTime {
    std::time::SystemTime::from(t)
}

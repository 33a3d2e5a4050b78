//! The one place "now" comes from, so that tests and `--now` can pin it.
//! `PUBLISH_NOW` (RFC 3339) pins it for a whole process.

use anyhow::{Context, Result};
use jiff::Timestamp;

/// The current time, or the time pinned by `PUBLISH_NOW`.
pub fn now() -> Result<Timestamp> {
    match std::env::var("PUBLISH_NOW") {
        Ok(text) if !text.trim().is_empty() => parse(&text).context("PUBLISH_NOW"),
        _ => Ok(Timestamp::now()),
    }
}

fn parse(text: &str) -> Result<Timestamp> {
    text.trim()
        .parse::<Timestamp>()
        .with_context(|| format!("\"{text}\" is not an RFC 3339 time such as 2024-03-01T09:00:00+08:00"))
}

/// As a `SystemTime`, for mail headers.
pub fn system(t: Timestamp) -> std::time::SystemTime {
    std::time::SystemTime::from(t)
}

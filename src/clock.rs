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

/// Where the time of one run goes, stage by stage (`publish build N --timings`):
/// off unless switched on, then each [`timings::stage`] adds its wall time to
/// its stage's total (summed over threads when stages run in parallel).
pub mod timings {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    static ON: AtomicBool = AtomicBool::new(false);
    static TOTALS: Mutex<Vec<(&'static str, Duration, u32)>> = Mutex::new(Vec::new());

    /// Starts recording.
    pub fn enable() {
        ON.store(true, Ordering::Relaxed);
    }

    /// Runs `f`, counting its time under `name` when recording.
    pub fn stage<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
        if !ON.load(Ordering::Relaxed) {
            return f();
        }
        let started = Instant::now();
        let out = f();
        add(name, started.elapsed());
        out
    }

    /// Counts `spent` under `name` when recording.
    pub fn add(name: &'static str, spent: Duration) {
        if !ON.load(Ordering::Relaxed) {
            return;
        }
        let mut totals = TOTALS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match totals.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, total, count)) => {
                *total += spent;
                *count += 1;
            }
            None => totals.push((name, spent, 1)),
        }
    }

    /// Every stage recorded, in the order first seen: (name, total time, times run).
    pub fn report() -> Vec<(&'static str, Duration, u32)> {
        TOTALS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
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

/// `--now` as typed when it is a time (for the command line's parser, so that a
/// malformed one is a usage error, exit 2).
pub fn valid_now(text: &str) -> Result<String, String> {
    parse(text).map(|_| text.to_string()).map_err(|e| format!("{e:#}"))
}

/// As a `SystemTime`, for mail headers.
pub fn system(t: Timestamp) -> std::time::SystemTime {
    std::time::SystemTime::from(t)
}

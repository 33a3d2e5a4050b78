//! `publish cron`: send every due issue, resume interrupted ones, then exit.
//! Safe to run every minute: a second run while one is busy exits at once,
//! and nothing is printed when there is nothing to do (cron mails output).

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::cmd::issue::{self, Mode, Sent};
use crate::deliver::lock::{Lock, TryLock};
use crate::deliver::store::Store;
use crate::schedule::{self, State};
use crate::workspace::Workspace;

pub fn run(root: &Path, now: Option<&str>) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let state_dir = ws.state_dir();
    let _lock = match Lock::try_acquire(&state_dir, "cron", "publish cron")? {
        TryLock::Acquired(lock) => lock,
        TryLock::Held(_) => return Ok(Outcome::Done),
    };
    let now = crate::clock::now_or(now)?;
    let config = ws.checked_config()?;
    let max_late = config.schedule.max_late.get();
    let mut outcome = Outcome::Done;
    // A scheduled issue with errors in its file is due and cannot go: say so.
    for entry in ws.issues.values().filter(|e| e.issue.is_none()) {
        if std::fs::read_to_string(ws.root.join(&entry.file)).is_ok_and(|t| t.contains("send_at")) {
            eprintln!("{} has errors and cannot be sent when due: run `publish check`", entry.file);
            outcome = Outcome::Failed;
        }
    }
    let mut store = Store::open(&state_dir)?;
    for issue in ws.valid_issues().collect::<Vec<_>>().into_iter().rev() {
        let Some(send_at) = issue.send_at else { continue };
        let counts = store.counts(issue.number)?;
        match schedule::state(send_at, now, max_late, &counts) {
            state if state.cron_sends() => {
                crate::clock::pin(now);
                match issue::send(&ws, issue.number, Mode::Cron)? {
                    Sent::Done(Outcome::Done) => {}
                    Sent::Done(other) => outcome = worse(outcome, other),
                    Sent::Busy(_) => {}
                }
            }
            State::Stale if store.note_once(issue.number, "stale", &now.to_string())? => {
                let late = now.duration_since(send_at);
                eprintln!(
                    "issue {} was due at {} ({} ago, more than max_late = {}): not sent by cron; send it with `publish issue {}`",
                    issue.number,
                    send_at.to_zoned(config.tz()).strftime("%Y-%m-%d %H:%M %Z"),
                    human(late),
                    config.schedule.max_late,
                    issue.number
                );
            }
            _ => {}
        }
    }
    Ok(outcome)
}

fn worse(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Failed, _) | (_, Outcome::Failed) => Outcome::Failed,
        (Outcome::PartlyFailed, _) | (_, Outcome::PartlyFailed) => Outcome::PartlyFailed,
        _ => Outcome::Done,
    }
}

/// "3h 20m", "2d 4h".
pub fn human(d: jiff::SignedDuration) -> String {
    let mins = d.as_secs().max(0) / 60;
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

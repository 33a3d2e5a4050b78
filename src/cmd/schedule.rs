//! `publish schedule`: the scheduled issues, their send time in the
//! publication's time zone, and their state.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::deliver::store::Store;
use crate::schedule;
use crate::workspace::Workspace;

pub fn run(root: &Path, now: Option<&str>) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let config = ws.checked_config()?;
    let now = crate::clock::now_or(now)?;
    let max_late = config.schedule.max_late.get();
    let store = Store::open(&ws.state_dir())?;
    let tz = config.tz();
    let mut rows = Vec::new();
    for issue in ws.valid_issues().collect::<Vec<_>>().into_iter().rev() {
        let Some(send_at) = issue.send_at else { continue };
        let counts = store.counts(issue.number)?;
        let state = schedule::state(send_at, now, max_late, &counts);
        let when = send_at.to_zoned(tz.clone()).strftime("%a %Y-%m-%d %H:%M %Z").to_string();
        let detail = match state {
            schedule::State::Sending => {
                format!(" ({} of {} sent)", counts.sent, counts.sent + counts.pending + counts.failed)
            }
            schedule::State::Failed => format!(" ({} failed: `publish status {}`)", counts.failed, issue.number),
            schedule::State::Stale => format!(" (send it by hand: `publish issue {}`)", issue.number),
            _ => String::new(),
        };
        rows.push(format!("#{:<4} {when:<28} {}{detail}  {}", issue.number, state.as_str(), issue.title));
    }
    if rows.is_empty() {
        println!("no issue has a send_at (add send_at = 2024-03-01T09:00:00+08:00 to an issue file)");
    }
    for row in rows {
        println!("{row}");
    }
    Ok(Outcome::Done)
}

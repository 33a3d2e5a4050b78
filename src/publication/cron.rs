//! Scheduled sending: which issues are due (`publish schedule`), and sending
//! them (`publish cron`), resuming interrupted sends.

use anyhow::Result;
use jiff::Timestamp;

use crate::deliver::lock::{Lock, TryLock};
use crate::deliver::store::IssueCounts;
use crate::publication::Publication;
use crate::publication::send::{Mode, SendReport, Sent};
use crate::schedule::{self, Progress, State};
use crate::workspace::content::issue::declared_send_at;

/// What one `publish cron` run did.
#[derive(Default)]
pub struct CronReport {
    /// The sends it made, in order.
    pub sends: Vec<SendReport>,
    /// What a person should hear of (cron mails what a job prints).
    pub notes: Vec<String>,
    /// A scheduled issue's file has errors, so it cannot go when due.
    pub unsendable: bool,
    /// Another `publish cron` was at work (what its lock file says), so this one did nothing.
    pub busy: Option<String>,
}

/// One scheduled issue (`schedule --json` prints these keys).
#[derive(serde::Serialize)]
pub struct Scheduled {
    pub issue: u32,
    pub title: String,
    /// The send time in the publication's time zone, for people.
    pub when: String,
    /// The send time, RFC 3339 with the publication's offset, for programs.
    pub send_at: String,
    #[serde(serialize_with = "state_name")]
    pub state: State,
    pub counts: IssueCounts,
}

/// An issue file with errors that declares a `send_at`: number, file, and
/// the time (or why it is not one).
pub type Broken = (u32, String, Result<Timestamp, String>);

fn state_name<S: serde::Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

impl std::fmt::Display for Scheduled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        let detail = match self.state {
            State::Sending => format!(" ({} of {} sent)", c.sent, c.sent + c.pending + c.failed),
            State::Failed => format!(" ({} failed: `publish status {}`)", c.failed, self.issue),
            State::Stale => format!(" (send it by hand: `publish issue {}`)", self.issue),
            _ => String::new(),
        };
        write!(f, "#{:<4} {:<32} {}{detail}  {}", self.issue, self.when, self.state.as_str(), self.title)
    }
}

fn progress(counts: &IssueCounts) -> Progress {
    Progress { started: counts.started_at.is_some(), pending: counts.pending, failed: counts.failed }
}

impl Publication {
    /// Every issue with a `send_at`, newest first, and its state at `now`.
    pub fn schedule(&self, now: Timestamp) -> Result<Vec<Scheduled>> {
        let config = self.ws.checked_config()?;
        let max_late = config.schedule.max_late.get();
        let store = self.store()?;
        let mut rows = Vec::new();
        for issue in self.ws.valid_issues() {
            let Some(send_at) = issue.send_at else { continue };
            let counts = store.counts(issue.number)?;
            rows.push(Scheduled {
                issue: issue.number,
                title: issue.title.clone(),
                when: schedule::shown(send_at, &config.tz()),
                send_at: schedule::rfc3339(send_at, &config.tz()),
                state: schedule::state(send_at, now, max_late, progress(&counts)),
                counts,
            });
        }
        Ok(rows)
    }

    /// The issue files with errors that declare a `send_at` (a commented-out
    /// one is not declared): number, file, and the time or why it is not one.
    pub fn scheduled_with_errors(&self) -> Result<Vec<Broken>> {
        let tz = self.ws.checked_config()?.tz();
        let mut found = Vec::new();
        for (&number, entry) in self.ws.issues.iter().filter(|(_, e)| e.issue.is_none()) {
            let text = std::fs::read_to_string(self.ws.root.join(&entry.file)).unwrap_or_default();
            if let Some(send_at) = declared_send_at(&text, &tz) {
                found.push((number, entry.file.clone(), send_at));
            }
        }
        Ok(found)
    }

    /// Interrupted sends whose issue file is gone (deleted or renumbered):
    /// cron cannot finish them. Number and what is pending.
    pub fn orphaned_sends(&self) -> Result<Vec<(u32, u64)>> {
        let store = self.store()?;
        let mut found = Vec::new();
        for number in store.unfinished_issues()? {
            let pending = store.counts(number)?.pending;
            if pending > 0 && !self.ws.issues.contains_key(&number) {
                found.push((number, pending));
            }
        }
        Ok(found)
    }

    /// Why each scheduled issue that is another number's send renumbered
    /// will not go (see [`Publication::renumbered`]).
    pub fn renumbered_scheduled(&self) -> Result<Vec<String>> {
        let store = self.store()?;
        let mut found = Vec::new();
        for issue in self.ws.valid_issues().filter(|i| i.send_at.is_some()) {
            found.extend(self.renumbered(issue.number, &store)?);
        }
        Ok(found)
    }

    /// Sends every issue due at `now` and resumes interrupted ones. A second
    /// run while one is busy does nothing. A send that stops ends the run with
    /// its error, after the sends before it are reported.
    pub fn cron(&self, now: Timestamp) -> Result<(CronReport, Option<anyhow::Error>)> {
        let mut report = CronReport::default();
        let _lock = match Lock::try_acquire(&self.ws.state_dir(), "cron", "publish cron")? {
            TryLock::Acquired(lock) => lock,
            // Another `publish cron` is at work: this one has nothing to do.
            TryLock::Held(holder) => {
                report.busy = Some(holder);
                return Ok((report, None));
            }
        };
        // `--now` is the time of everything this run does (what is due, the
        // mails' dates, which queued mail is tried again), except that no
        // signup is deleted as expired before it is by the real clock.
        let real = crate::clock::now()?;
        crate::clock::pin(now);
        let config = self.ws.checked_config()?;
        let max_late = config.schedule.max_late.get();
        let mut store = self.store()?;
        // A scheduled issue with errors in its file is due and cannot go: say
        // so, once for each version of the file (cron mails what it prints).
        for (number, file, send_at) in self.scheduled_with_errors()? {
            let due = match send_at {
                Ok(t) => schedule::state(t, now, max_late, progress(&store.counts(number)?)).cron_sends(),
                Err(_) => true,
            };
            let text = std::fs::read(self.ws.root.join(&file)).unwrap_or_default();
            let version = format!("errors {:x}", <sha2::Sha256 as sha2::Digest>::digest(&text));
            if due && store.note_once(number, &version, &now.to_string())? {
                report.notes.push(format!("{file} has errors and cannot be sent when due: run `publish check`"));
                report.unsendable = true;
            }
        }
        for issue in self.ws.valid_issues().collect::<Vec<_>>().into_iter().rev() {
            let Some(send_at) = issue.send_at else { continue };
            let counts = store.counts(issue.number)?;
            match schedule::state(send_at, now, max_late, progress(&counts)) {
                state if state.cron_sends() => {
                    // A renumbered issue is not new: said once, not sent to everyone again.
                    if let Some(refusal) = self.renumbered(issue.number, &store)? {
                        if store.note_once(issue.number, &format!("renumbered {}", issue.file), &now.to_string())? {
                            report.notes.push(refusal);
                            report.unsendable = true;
                        }
                        continue;
                    }
                    match self.send(issue.number, Mode::Cron, &mut |_| Ok(true)) {
                        Ok(Sent::Done(sent)) => {
                            let stopped = sent.stopped();
                            report.sends.push(sent);
                            if stopped.is_some() {
                                return Ok((report, stopped));
                            }
                        }
                        Ok(Sent::Busy(_) | Sent::Declined) => {}
                        Err(e) => return Ok((report, Some(e))),
                    }
                }
                // Once for each send time: an issue moved to a new time and missed again is said again.
                State::Stale if store.note_once(issue.number, &format!("stale {send_at}"), &now.to_string())? => {
                    report.notes.push(format!(
                        "issue {} was due at {} ({} ago, more than max_late = {}): not sent by cron; send it with `publish issue {}`",
                        issue.number,
                        schedule::shown(send_at, &config.tz()),
                        human(now.duration_since(send_at)),
                        config.schedule.max_late,
                        issue.number
                    ));
                }
                _ => {}
            }
        }
        for (number, pending) in self.orphaned_sends()? {
            if store.note_once(number, "orphaned", &now.to_string())? {
                report.notes.push(orphaned(number, pending));
            }
        }
        // Confirmation and welcome mails a crash of `publish serve` left queued.
        if let Err(e) = self.send_queued_mail_purging_at(real) {
            report.notes.push(format!("queued confirmation and welcome mails not sent: {e:#}"));
        }
        Ok((report, None))
    }
}

/// What to say of an interrupted send whose issue file is gone.
pub fn orphaned(number: u32, pending: u64) -> String {
    format!(
        "issue {number}'s send stopped with {pending} pending and its file is gone from issues/: \
         cron cannot finish it; put the file back as issue {number} to finish it (under another \
         number, the same date and title are refused)"
    )
}

/// "3h 20m", "2d 4h".
fn human(d: jiff::SignedDuration) -> String {
    let mins = d.as_secs().max(0) / 60;
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

//! Sending an issue: build it, record its audience, send to everyone not yet
//! sent to (the ledger makes a re-run resume), report; the dry run, the test
//! copy and the status of a send.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::deliver::address::check_address;
use crate::deliver::dkim::Signer;
use crate::deliver::lock::{Lock, TryLock};
use crate::deliver::send::{self, MessageFactory, RelayStats, group_replies, send_one};
use crate::deliver::store::{IssueCounts, Status, Store, Subscriber};
use crate::deliver::token::Secret;
use crate::deliver::transport::Transport;
use crate::publication::{Artifacts, Publication};
use crate::text::plural;

/// Who asked for the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `publish issue N`: asks first on a real transport unless `yes`; new
    /// subscribers since the first run are added to the audience.
    Manual { yes: bool, json: bool, retry_failed: bool },
    /// `publish cron`: no questions, the audience stays the one it started with.
    Cron,
}

/// What a send is about to do, for the caller to confirm.
pub struct Plan<'a> {
    pub issue: u32,
    pub pending: u64,
    pub transport: &'a Transport,
}

/// How a send went.
pub enum Sent {
    Done(SendReport),
    /// Nothing was sent: the confirmation was declined.
    Declined,
    /// Another process is sending this issue (its lock holder).
    Busy(String),
}

/// The outcome of one `publish issue N` run (`--json` prints it as it is).
#[derive(Serialize)]
pub struct SendReport {
    pub issue: u32,
    pub transport: String,
    pub sent: u64,
    pub failed: u64,
    /// Recipients sent to by an earlier run.
    pub skipped: u64,
    pub pending: u64,
    pub duration_secs: f64,
    pub rate_per_sec: f64,
    pub failures: Vec<FailureGroup>,
    /// Why the run stopped before everyone was tried.
    pub aborted: Option<String>,
    /// Each relay's part of this run, when the send has several.
    pub relays: Vec<RelayStats>,
}

#[derive(Serialize)]
pub struct FailureGroup {
    pub reply: String,
    pub recipients: usize,
}

impl SendReport {
    /// The error for a run that stopped: what to do next.
    pub fn stopped(&self) -> Option<anyhow::Error> {
        let why = self.aborted.as_ref()?;
        let retry = if self.failed > 0 {
            format!(" (add --retry-failed to try the {} failed ones too)", self.failed)
        } else {
            String::new()
        };
        Some(anyhow::anyhow!(
            "sending stopped: {why}\n{} recipients are still pending: run `publish issue {}` again to resume{retry}",
            self.pending,
            self.issue
        ))
    }
}

impl std::fmt::Display for SendReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "issue {}: {} sent, {} failed, {} pending, {} sent before ({:.1}s, {:.0} messages/s) via {}",
            self.issue,
            self.sent,
            self.failed,
            self.pending,
            self.skipped,
            self.duration_secs,
            self.rate_per_sec,
            self.transport
        )?;
        for relay in &self.relays {
            write!(f, "\n  relay {}: {} sent", relay.name, relay.sent)?;
            match (relay.cool_downs, &relay.last_failure) {
                (0, Some(why)) => write!(f, " (last failure: {why})")?,
                (0, None) => {}
                (n, why) => {
                    write!(f, ", left out {n} time{} ({})", plural(n as usize), why.as_deref().unwrap_or("it failed"))?
                }
            }
        }
        for group in &self.failures {
            write!(f, "\n  {} recipient{}: {}", group.recipients, plural(group.recipients), group.reply)?;
        }
        Ok(())
    }
}

/// What `--dry-run` shows (and prints as JSON with `--json`).
#[derive(Serialize)]
pub struct DryRun {
    pub issue: u32,
    pub subject: String,
    pub transport: String,
    pub recipients: u64,
    pub already_sent: u64,
    pub failed_earlier: u64,
    pub would_write: Vec<PlannedFile>,
}

#[derive(Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub bytes: Option<usize>,
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "dry run of issue {}: nothing is written or sent", self.issue)?;
        writeln!(f, "  subject:    {}", self.subject)?;
        writeln!(f, "  transport:  {}", self.transport)?;
        writeln!(
            f,
            "  recipients: {} (already sent: {}, failed earlier: {})",
            self.recipients, self.already_sent, self.failed_earlier
        )?;
        write!(f, "  would write:")?;
        for file in &self.would_write {
            match file.bytes {
                Some(bytes) => write!(f, "\n    {} ({bytes} bytes)", file.path)?,
                None => write!(f, "\n    {}", file.path)?,
            }
        }
        Ok(())
    }
}

/// Where a send of one issue stands (`publish status N`).
pub struct IssueStatus {
    pub issue: u32,
    pub counts: IssueCounts,
    pub failures: Vec<(String, usize)>,
    /// Messages each relay accepted, by name (sends through several relays).
    pub relays: Vec<(String, u64)>,
    /// When cron will send it, in the publication's time zone.
    pub scheduled: Option<String>,
    /// The same, RFC 3339 with the publication's offset.
    pub send_at: Option<String>,
    /// When the send started and finished, in the publication's time zone.
    pub started: Option<String>,
    pub finished: Option<String>,
}

impl IssueStatus {
    /// "sent", "sent, with failures", "sending (…)" or "not sent (…)".
    pub fn state(&self) -> String {
        let n = self.issue;
        match (&self.counts.started_at, &self.counts.finished_at) {
            (None, _) => match &self.scheduled {
                Some(when) => {
                    format!("not sent; scheduled for {when} (`publish schedule` shows whether cron will send it)")
                }
                None => "not sent".to_string(),
            },
            (Some(_), Some(_)) if self.counts.failed > 0 => "sent, with failures".to_string(),
            (Some(_), Some(_)) => "sent".to_string(),
            (Some(_), None) => format!("sending (or interrupted: run `publish issue {n}` to resume)"),
        }
    }
}

impl Publication {
    /// Builds issue `n`, writes it, and sends it to every recipient not yet
    /// sent to. `confirm` is asked before anything is sent, when there is
    /// anything to send; it says no by returning `false`.
    pub fn send(&self, n: u32, mode: Mode, confirm: &mut dyn FnMut(&Plan) -> Result<bool>) -> Result<Sent> {
        let config = self.ws.checked_config()?;
        let transport = Transport::choose(config, &self.ws.out_dir(), n)?;
        let location = self.state_location()?;
        // On one machine's SQLite, one sender per issue; on a shared database,
        // any number, each claiming its own batches.
        let _lock = if location.shared() {
            None
        } else {
            match Lock::try_acquire(&self.ws.state_dir(), &format!("send-{n}"), &format!("publish issue {n}"))? {
                TryLock::Acquired(lock) => Some(lock),
                TryLock::Held(holder) => return Ok(Sent::Busy(holder)),
            }
        };
        let built = self.build(n)?;
        let mut store = Store::open(&location)?;
        // Before anything is written: a renumbered issue is not a new one.
        if let Some(refusal) = self.renumbered(n, &store)? {
            anyhow::bail!(refusal);
        }
        built.write()?;
        if !location.shared() {
            // The lock is held: rows claimed by an earlier run that died are free now.
            store.release(n, None)?;
        }
        let now = crate::clock::now()?;
        store.enrol(n, matches!(mode, Mode::Manual { .. }), &now.to_string())?;
        store.set_identity(n, &self.identity(n)?)?;
        if let Mode::Manual { retry_failed: true, .. } = mode {
            let requeued = store.retry_failed(n, &now.to_string())?;
            eprintln!("{requeued} recipients who failed before are queued again");
        }
        let before = store.counts(n)?;
        if before.pending > 0 && !confirm(&Plan { issue: n, pending: before.pending, transport: &transport })? {
            return Ok(Sent::Declined);
        }
        let json = matches!(mode, Mode::Manual { json: true, .. });
        let factory = self.factory(built.artifacts, false)?;
        let options = send::options(config, n, std::io::stderr().is_terminal() && !json && mode != Mode::Cron)?;
        let stats = if before.pending > 0 {
            send::run(&location, factory, transport.clone(), options, before.pending)?
        } else {
            send::RunStats::default()
        };
        let after = store.counts(n)?;
        store.finish_if_done(n, &crate::clock::now()?.to_string())?;
        let failures = group_replies(&store.failures(n)?);
        let secs = stats.duration.as_secs_f64();
        Ok(Sent::Done(SendReport {
            issue: n,
            transport: transport.describe(),
            sent: stats.sent,
            failed: after.failed,
            skipped: before.sent,
            pending: after.pending,
            duration_secs: secs,
            rate_per_sec: if secs > 0.0 { stats.sent as f64 / secs } else { 0.0 },
            failures: failures.into_iter().map(|(reply, recipients)| FailureGroup { reply, recipients }).collect(),
            aborted: stats.aborted,
            relays: stats.relays,
        }))
    }

    /// Which issue `n` is, apart from its number: its date and title. A file
    /// renumbered keeps them; the next issue (`publish new`) has its own.
    fn identity(&self, n: u32) -> Result<String> {
        use sha2::Digest;
        let issue = self.ws.entry(n)?.issue.as_ref().with_context(|| format!("issue {n} has errors"))?;
        let digest = sha2::Sha256::digest(format!("{}\0{}", issue.date, issue.title.trim()).as_bytes());
        Ok(crate::text::hex(&digest[..16]))
    }

    /// Why issue `n` must not be sent, when its send has not started and the
    /// same issue (date and title) was sent, or began to be, under another
    /// number: sending it would mail everyone that issue again.
    pub(crate) fn renumbered(&self, n: u32, store: &Store) -> Result<Option<String>> {
        if store.started(n)? {
            return Ok(None);
        }
        let Some((earlier, counts)) = store.same_issue_under(&self.identity(n)?, n)? else { return Ok(None) };
        if counts.sent == 0 && counts.pending == 0 {
            // It reached nobody and nobody waits for it: nothing would go twice.
            return Ok(None);
        }
        let entry = self.ws.entry(n)?;
        let (file, issue) = (&entry.file, entry.issue.as_ref().context("an issue with errors has no identity")?);
        let progress = if counts.finished_at.is_some() {
            format!("was sent as issue {earlier} ({} sent)", counts.sent)
        } else {
            format!("began to be sent as issue {earlier} ({} sent, {} pending)", counts.sent, counts.pending)
        };
        let what_to_do = match self.ws.issues.get(&earlier) {
            None => format!(
                "if {file} is issue {earlier} renumbered, name it back issues/{earlier:03}.toml{}",
                if counts.finished_at.is_some() {
                    String::new()
                } else {
                    format!(" and run `publish issue {earlier}` to finish that send")
                }
            ),
            Some(entry) => format!("{} has the same date and title", entry.file),
        };
        Ok(Some(format!(
            "{file} is not sent: \"{}\" of {} {progress}, and sending it as issue {n} would mail it again to \
             everyone; {what_to_do}; if it is a new issue, give it its own title or date",
            issue.title.trim(),
            issue.date
        )))
    }

    /// What `send` would do, computed without writing anything: no secret is
    /// made (a stand-in signs the sample's links) and no database created.
    pub fn dry_run(&self, n: u32) -> Result<DryRun> {
        let transport = Transport::choose(self.ws.checked_config()?, &self.ws.out_dir(), n)?;
        self.checked(n)?;
        let secret = Secret::load_existing(&self.ws.state_dir())?
            .unwrap_or_else(|| Secret::from_bytes(b"dry-run: no secret yet"));
        let built = self.build_with(n, &secret)?;
        let counts = match Store::open_read_only(&self.state_location()?)? {
            Some(store) => {
                if let Some(refusal) = self.renumbered(n, &store)? {
                    anyhow::bail!(refusal);
                }
                store.counts(n)?
            }
            None => Default::default(),
        };
        let recipients = counts.pending + counts.not_started;
        let mut would_write: Vec<PlannedFile> = built
            .artifacts
            .files
            .iter()
            .map(|(path, bytes)| PlannedFile {
                path: format!("out/{}", path.display()).replace('\\', "/"),
                bytes: Some(bytes.len()),
            })
            .collect();
        if let Transport::Outbox { dir } = &transport {
            would_write
                .push(PlannedFile { path: format!("{}/*.eml ({recipients} messages)", dir.display()), bytes: None });
        }
        Ok(DryRun {
            issue: n,
            subject: built.artifacts.headers.subject.clone(),
            transport: transport.describe(),
            recipients,
            already_sent: counts.sent,
            failed_earlier: counts.failed,
            would_write,
        })
    }

    /// Sends one `[TEST]` copy of issue `n` (to `to`, else `[email] test_to`);
    /// says where it went and what the server answered. No send records change.
    pub fn send_test(&self, n: u32, to: Option<&str>) -> Result<String> {
        let config = self.ws.checked_config()?;
        let to = to
            .or(config.email.test_to.as_deref())
            .context("no address: pass --to you@example.com, or set [email] test_to in publish.toml")?
            .trim()
            .to_string();
        check_address(&to).map_err(|e| anyhow::anyhow!(e))?;
        let transport = Transport::choose(config, &self.ws.out_dir(), n)?;
        let built = self.build(n)?;
        built.write()?;
        let factory = self.factory(built.artifacts, true)?;
        // Row 0 is nobody: the test copy's unsubscribe link unsubscribes no one.
        let subscriber = Subscriber {
            id: 0,
            email: to.clone(),
            name: String::new(),
            fields: Default::default(),
            status: Status::Active,
            status_at: None,
            status_by: None,
        };
        let reply = send_one(&factory, &transport, &subscriber)?;
        Ok(format!("test of issue {n} sent to {to} via {}: {reply}", transport.describe()))
    }

    /// Where the send of issue `n` stands. An issue that is in neither
    /// `issues/` nor the ledger is an error.
    pub fn status(&self, n: u32) -> Result<IssueStatus> {
        let store = self.store()?;
        let counts = store.counts(n)?;
        if counts.started_at.is_none() {
            // Nothing in the ledger: a number that names no issue is a mistake,
            // not "not sent" (an issue whose file is gone but was sent still shows).
            self.ws.entry(n)?;
        }
        let failures = group_replies(&store.failures(n)?);
        let tz = self.ws.config().map(|c| c.tz()).unwrap_or(jiff::tz::TimeZone::UTC);
        let send_at = self.ws.issue(n).ok().and_then(|i| i.send_at);
        let scheduled = send_at.map(|t| crate::schedule::shown(t, &tz));
        let send_at = send_at.map(|t| crate::schedule::rfc3339(t, &tz));
        let shown = |at: &Option<String>| {
            at.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| crate::schedule::shown(t, &tz))
        };
        let (started, finished) = (shown(&counts.started_at), shown(&counts.finished_at));
        let relays = store.relay_counts(n)?;
        Ok(IssueStatus { issue: n, counts, failures, relays, scheduled, send_at, started, finished })
    }

    /// The message maker of an issue; `test` marks the subject "[TEST]".
    fn factory(&self, artifacts: Artifacts, test: bool) -> Result<MessageFactory> {
        let config = self.ws.checked_config()?;
        let signer = Signer::load(&config.email.dkim, &self.ws.root)?;
        let mut headers = artifacts.headers;
        headers.test = test;
        Ok(MessageFactory::new(
            headers,
            artifacts.email,
            Secret::load_or_create(&self.ws.state_dir())?,
            signer,
            crate::clock::system(crate::clock::now()?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_run_says_how_to_resume() {
        let report = SendReport {
            issue: 9,
            transport: "SMTP".into(),
            sent: 1,
            failed: 2,
            skipped: 0,
            pending: 3,
            duration_secs: 1.0,
            rate_per_sec: 1.0,
            failures: vec![],
            aborted: Some("the server refused the sender".into()),
            relays: vec![],
        };
        let message = report.stopped().unwrap().to_string();
        assert!(message.contains("3 recipients are still pending: run `publish issue 9` again"), "{message}");
        assert!(message.contains("--retry-failed to try the 2 failed ones"), "{message}");
    }
}

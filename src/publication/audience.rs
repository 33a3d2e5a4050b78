//! The subscriber list: imports (honouring the services' status columns),
//! bounce reports, removal.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::deliver::address::check_address;
use crate::deliver::bounces;
use crate::deliver::import::{KeptOutWhy, Parsed, read_csv};
use crate::deliver::store::{Status, Store, Suppressed, Suppression, UpsertCounts};
use crate::deliver::token::Secret;
use crate::publication::Publication;
use crate::text::plural;

/// What an import did. Its `Display` is the summary; [`ImportReport::notes`]
/// are the rows left out, by line.
pub struct ImportReport {
    name: String,
    parsed: Parsed,
    done: Vec<Suppressed>,
    counts: UpsertCounts,
    /// Rows whose address was forgotten (`subscribers forget`): left out.
    forgotten: usize,
    active: u64,
}

impl ImportReport {
    /// Every row skipped or kept out, as `file:line: …`.
    pub fn notes(&self) -> Vec<String> {
        let (name, p) = (&self.name, &self.parsed);
        let mut notes: Vec<String> = p.warnings.iter().map(|w| format!("{name}: {w}")).collect();
        notes.extend(p.bad.iter().map(|b| format!("{name}:{}: skipped: {}", b.line, b.reason)));
        notes.extend(p.duplicates.iter().map(|(l, k)| format!("{name}:{l}: skipped: the same address as line {k}")));
        notes.extend(p.kept_out.iter().map(|r| format!("{name}:{}: kept out: {}: {}", r.line, r.email, r.reason)));
        notes
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, parsed, done) = (&self.name, &self.parsed, &self.done);
        for (row, what) in parsed.suppressed.iter().zip(done) {
            if *what == Suppressed::WasActive {
                writeln!(
                    f,
                    "{name}:{}: {} was subscribed, now {} ({})",
                    row.line,
                    row.email,
                    row.status.as_str(),
                    row.reason
                )?;
            }
        }
        let export = parsed.service.map_or_else(String::new, |s| format!(" (a {} export)", s.name()));
        writeln!(
            f,
            "imported {name}{export}: {} added, {} updated, {} kept unsubscribed, removed, bounced or complained, {} bad row{}",
            self.counts.added,
            self.counts.updated,
            self.counts.suppressed,
            parsed.bad.len(),
            plural(parsed.bad.len())
        )?;
        if !parsed.suppressed.is_empty() {
            let kind = |status| parsed.suppressed.iter().filter(|r| r.status == status).count();
            let was = |what: fn(&Suppressed) -> bool| done.iter().filter(|d| what(d)).count();
            writeln!(
                f,
                "not to be mailed: {} unsubscribed, {} bounced, {} complained, {} removed \
                 ({} recorded, {} subscribed until now, {} not mailed already)",
                kind(Status::Unsubscribed),
                kind(Status::Bounced),
                kind(Status::Complained),
                kind(Status::Removed),
                was(|d| *d == Suppressed::Added),
                was(|d| *d == Suppressed::WasActive),
                was(|d| matches!(d, Suppressed::Already(_))),
            )?;
        }
        if !parsed.kept_out.is_empty() {
            let why = |why| parsed.kept_out.iter().filter(|r| r.why == why).count();
            writeln!(
                f,
                "kept out, neither imported nor recorded: {} with a status not known, {} not confirmed or on hold",
                why(KeptOutWhy::UnknownStatus),
                why(KeptOutWhy::NotConfirmed),
            )?;
        }
        if self.forgotten > 0 {
            writeln!(
                f,
                "left out: {} forgotten address{} (erased on request; never imported again)",
                self.forgotten,
                if self.forgotten == 1 { "" } else { "es" }
            )?;
        }
        write!(f, "{} active subscribers", self.active)
    }
}

/// What reading bounce reports did: `lines` for stdout, `notes` for stderr.
#[derive(Default)]
pub struct BounceReport {
    pub lines: Vec<String>,
    pub notes: Vec<String>,
}

/// What `subscribers remove` did.
pub enum Removed {
    Subscriber,
    /// Not on the list: recorded, so an import will not add it.
    Recorded,
}

impl Publication {
    pub(super) fn store(&self) -> Result<Store> {
        Store::open(&self.ws.state_dir())
    }

    /// Adds the people to mail from `file`, records the ones it says not to
    /// mail, and reports every row left out by its line.
    pub fn import_subscribers(&self, file: &Path) -> Result<ImportReport> {
        let mut store = self.store()?;
        let now = crate::clock::now()?.to_string();
        let parsed = read_csv(file)?;
        let base = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let suppressions: Vec<Suppression> = parsed
            .suppressed
            .iter()
            .map(|row| Suppression {
                email: row.email.clone(),
                status: row.status,
                at: row.at.map_or_else(|| now.clone(), |at| at.to_string()),
                by: format!("import:{base}:{}", row.line),
                reason: row.reason.clone(),
            })
            .collect();
        let done = store.record_suppressions(&suppressions, &now)?;
        // A forgotten address is never imported again.
        let secret = Secret::load_or_create(&self.ws.state_dir())?;
        let mut parsed = parsed;
        let mut forgotten = 0;
        parsed.rows.retain(|row| {
            let gone = store.is_forgotten(&secret.forget_hash(&row.email)).unwrap_or(false);
            forgotten += usize::from(gone);
            !gone
        });
        let counts = store.upsert_subscribers(&parsed.rows, &format!("import:{base}"), &now)?;
        Ok(ImportReport {
            name: file.display().to_string(),
            parsed,
            done,
            counts,
            forgotten,
            active: store.count_active()?,
        })
    }

    pub fn count_subscribers(&self) -> Result<u64> {
        self.store()?.count_active()
    }

    /// Never mails `address` again, subscriber or not.
    pub fn remove_subscriber(&self, address: &str) -> Result<Removed> {
        let mut store = self.store()?;
        let now = crate::clock::now()?.to_string();
        if store.set_status(address.trim(), Status::Removed, "cli", &now)? {
            return Ok(Removed::Subscriber);
        }
        store.suppress(address.trim(), Status::Removed, "cli", &now)?;
        Ok(Removed::Recorded)
    }

    /// Marks the addresses that the bounce reports under `paths` call bad, and
    /// says what it did with each report.
    pub fn record_bounces(&self, paths: &[PathBuf]) -> Result<BounceReport> {
        let mut store = self.store()?;
        let now = crate::clock::now()?.to_string();
        let mut messages = Vec::new();
        for path in paths {
            messages.extend(bounces::read_messages(path)?);
        }
        let mut report = BounceReport::default();
        let (mut marked, mut already, mut unknown, mut kept, mut not_reports, mut complained) = (0, 0, 0, 0, 0, 0);
        for message in &messages {
            if let Some(complaint) = bounces::complaint(&message.raw) {
                complained += 1;
                let why = format!("{} report from a feedback loop", complaint.kind);
                if store.status_of(&complaint.recipient)?.is_some() {
                    store.set_status_with_reason(&complaint.recipient, Status::Complained, "arf", &why, &now)?;
                } else {
                    store.suppress(&complaint.recipient, Status::Complained, "arf", &now)?;
                }
                report.lines.push(format!("complained: {} ({why})", complaint.recipient));
                continue;
            }
            let reports = bounces::reports(&message.raw);
            if reports.is_empty() {
                not_reports += 1;
            }
            for bounce in reports {
                if let Err(reason) = check_address(&bounce.recipient) {
                    report.notes.push(format!("{}: skipped {:?}: {reason}", message.origin, bounce.recipient));
                    continue;
                }
                let why = bounce.diagnostic.as_deref().unwrap_or(&bounce.status);
                if !bounce.is_hard_bounce() {
                    kept += 1;
                    // Three issues in a row that could not be delivered: as good as bad.
                    if bounce.action == "failed"
                        && let Some(issue) = bounces::issue_of(&message.raw)
                        && store.record_soft_bounce(&bounce.recipient, issue, &now)?
                    {
                        report.lines.push(format!(
                            "bounced: {} (soft bounces in three issues in a row, the last {why})",
                            bounce.recipient
                        ));
                        continue;
                    }
                    report.notes.push(format!(
                        "{}: kept {} ({} {why}): not a bad address",
                        message.origin, bounce.recipient, bounce.action
                    ));
                    continue;
                }
                match store.status_of(&bounce.recipient)? {
                    Some(Status::Active) => {
                        store.set_status(&bounce.recipient, Status::Bounced, "dsn", &now)?;
                        marked += 1;
                        report.lines.push(format!("bounced: {} ({why})", bounce.recipient));
                    }
                    // Bounced, unsubscribed or removed before: not mailed anyway.
                    Some(_) => already += 1,
                    None => {
                        store.suppress(&bounce.recipient, Status::Bounced, "dsn", &now)?;
                        unknown += 1;
                        report.lines.push(format!(
                            "bounced: {} ({why}); not a subscriber, recorded so an import will not add it",
                            bounce.recipient
                        ));
                    }
                }
            }
        }
        report.lines.push(format!(
            "read {} message{}: {marked} marked bounced, {complained} complaints, {already} not mailed already, \
             {unknown} not subscribers, {kept} failures kept (a full mailbox, a delay, a policy refusal), \
             {not_reports} not bounce reports",
            messages.len(),
            plural(messages.len()),
        ));
        report.lines.push(format!("{} active subscribers", store.count_active()?));
        Ok(report)
    }
}

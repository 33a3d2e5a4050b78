//! The subscriber list: imports (honouring the services' status columns),
//! bounce reports, removal.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::deliver::address::check_address;
use crate::deliver::bounces;
use crate::deliver::import::{BadRow, Header, KeptOut, KeptOutWhy, Row, Service, SuppressedRow, stream_csv};
use crate::deliver::store::audience::Restored;
use crate::deliver::store::{Gathered, ImportDone, ImportRow, Location, Status, Store, Suppressed, Suppression};
use crate::deliver::token::Secret;
use crate::publication::Publication;
use crate::text::{counted, plural};

/// How many rows the reading thread hands over at a time, and how many
/// such batches may wait for the writing.
const BATCH: usize = 512;
const IN_FLIGHT: usize = 4;

/// A row as the reading thread hands it over to the writing: a person to
/// mail with their fields already as JSON (so that few allocations made on
/// one thread are freed on the other).
enum Handed {
    Bad(BadRow),
    Active { line: u64, email: String, name: String, fields: String, record: Option<Restored> },
    Suppressed(SuppressedRow),
    KeptOut(KeptOut),
}

impl Handed {
    fn new(line: u64, row: Result<Row, String>) -> Result<Handed> {
        Ok(match row {
            Err(reason) => Handed::Bad(BadRow { line, reason }),
            Ok(Row::Active(row)) => Handed::Active {
                line: row.line,
                fields: row.fields,
                email: row.email,
                name: row.name,
                record: row.record,
            },
            Ok(Row::Suppressed(row)) => Handed::Suppressed(row),
            Ok(Row::KeptOut(row)) => Handed::KeptOut(row),
        })
    }
}

/// What an import did. Its `Display` is the summary; [`ImportReport::notes`]
/// are the rows left out, by line.
pub struct ImportReport {
    name: String,
    header: Header,
    bad: Vec<BadRow>,
    /// Rows left out because another row has their address: (line, line kept).
    duplicates: Vec<(u64, u64)>,
    kept_out: Vec<KeptOut>,
    /// Active subscribers the file stopped: (line, email, status, reason), in the file's order.
    stopped: Vec<(u64, String, Status, String)>,
    done: ImportDone,
    active: u64,
}

impl ImportReport {
    /// Every row skipped or kept out, as `file:line: …`.
    pub fn notes(&self) -> Vec<String> {
        let name = &self.name;
        let mut notes: Vec<String> = self.header.warnings.iter().map(|w| format!("{name}: {w}")).collect();
        notes.extend(self.bad.iter().map(|b| format!("{name}:{}: skipped: {}", b.line, b.reason)));
        notes.extend(self.duplicates.iter().map(|(l, k)| format!("{name}:{l}: skipped: the same address as line {k}")));
        notes.extend(self.kept_out.iter().map(|r| format!("{name}:{}: kept out: {}: {}", r.line, r.email, r.reason)));
        notes
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, done) = (&self.name, &self.done);
        for (line, email, status, reason) in &self.stopped {
            writeln!(f, "{name}:{line}: {email} was subscribed, now {} ({reason})", status.as_str())?;
        }
        let export = match self.header.service {
            None => String::new(),
            Some(Service::Other) => " (read by its status column)".to_string(),
            Some(service) => format!(" (a {} export)", service.name()),
        };
        writeln!(
            f,
            "imported {name}{export}: {} added, {} updated, {} kept unsubscribed, removed, bounced or complained, {} bad row{}",
            done.counts.added,
            done.counts.updated,
            done.counts.suppressed,
            self.bad.len(),
            plural(self.bad.len())
        )?;
        if !done.suppressed.is_empty() {
            let count = |keep: &dyn Fn(Status, Suppressed) -> bool| -> u64 {
                done.suppressed.iter().filter(|(s, d, _)| keep(*s, *d)).map(|(_, _, n)| n).sum()
            };
            let kind = |status| count(&|s, _| s == status);
            writeln!(
                f,
                "not to be mailed: {} unsubscribed, {} bounced, {} complained, {} removed \
                 ({} recorded, {} subscribed until now, {} not mailed already)",
                kind(Status::Unsubscribed),
                kind(Status::Bounced),
                kind(Status::Complained),
                kind(Status::Removed),
                count(&|_, d| d == Suppressed::Added),
                count(&|_, d| d == Suppressed::WasActive),
                count(&|_, d| matches!(d, Suppressed::Already(_))),
            )?;
        }
        if !self.kept_out.is_empty() {
            let why = |why| self.kept_out.iter().filter(|r| r.why == why).count();
            writeln!(
                f,
                "kept out, neither imported nor recorded: {} with a status not known, {} not confirmed or on hold",
                why(KeptOutWhy::UnknownStatus),
                why(KeptOutWhy::NotConfirmed),
            )?;
        }
        if done.forgotten > 0 {
            writeln!(
                f,
                "left out: {} forgotten address{} (erased on request; never imported again)",
                done.forgotten,
                if done.forgotten == 1 { "" } else { "es" }
            )?;
        }
        write!(f, "{}", counted(self.active, "active subscriber", "active subscribers"))
    }
}

/// What reading bounce reports did: `lines` for stdout, `notes` for stderr.
#[derive(Default)]
pub struct BounceReport {
    pub lines: Vec<String>,
    pub notes: Vec<String>,
}

/// What `publish state migrate` did.
pub struct MigratedState {
    pub from: String,
    pub to: String,
    pub copied: Vec<crate::deliver::store::copy::Copied>,
}

/// What `subscribers remove` did.
pub enum Removed {
    Subscriber,
    /// Not on the list: recorded, so an import will not add it.
    Recorded,
}

impl Publication {
    /// Opens (creating or upgrading) the state, where `[state]` says.
    pub(crate) fn store(&self) -> Result<Store> {
        Store::open(&self.state_location()?)
    }

    /// Where the state is: PostgreSQL when `PUBLISH_DATABASE_URL` or
    /// `[state] database_url` names a database, else `.publish/state.db`.
    /// Machines sharing a database must sign links alike: then
    /// `PUBLISH_SECRET` must be set (the same on each).
    pub(crate) fn state_location(&self) -> Result<Location> {
        let location = self.configured_location()?;
        if location.shared() && std::env::var("PUBLISH_SECRET").map_or(true, |s| s.trim().is_empty()) {
            anyhow::bail!(
                "the state is in {}, shared by every machine that sends or serves: set PUBLISH_SECRET, the same on each, so that the unsubscribe links one signs the others accept (make one with `openssl rand -hex 32`)",
                location.describe()
            );
        }
        Ok(location)
    }

    /// Where `[state]` (or `PUBLISH_DATABASE_URL`) puts the state.
    fn configured_location(&self) -> Result<Location> {
        match self.ws.config()?.state.database_url() {
            Some(url) => Location::parse(&url),
            None => Ok(Location::sqlite_in(&self.ws.state_dir())),
        }
    }

    /// Copies the whole state from where it is now to `to` (`postgres://…`
    /// or `sqlite:PATH`), in one transaction on the target, every table's
    /// count checked before it commits. A target with rows is refused
    /// unless `replace`.
    pub fn migrate_state(&self, to: &str, replace: bool) -> Result<MigratedState> {
        let from = self.configured_location()?;
        let target = Location::parse(to)?;
        anyhow::ensure!(from != target, "the state is already in {}: name another database", from.describe());
        if let Location::Sqlite(path) = &from {
            anyhow::ensure!(path.exists(), "there is no state to copy: {} does not exist", path.display());
        }
        let source = Store::open(&from)?;
        let mut destination = Store::open(&target)?;
        let copied = crate::deliver::store::copy::copy_state(&source, &mut destination, replace)?;
        Ok(MigratedState { from: from.describe(), to: target.describe(), copied })
    }

    /// Adds the people to mail from `file`, records the ones it says not to
    /// mail, and reports every row left out by its line. The file is read
    /// row by row into one transaction, in constant memory (but for the rows
    /// left out, kept for the report).
    pub fn import_subscribers(&self, file: &Path) -> Result<ImportReport> {
        let mut store = self.store()?;
        let now = crate::clock::now()?.to_string();
        let base = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        // A forgotten address is never imported again.
        let secret = Secret::load_or_create(&self.ws.state_dir())?;
        let mut import = store.begin_import(&format!("import:{base}"), &now)?;
        let (mut bad, mut duplicates, mut kept_out) = (Vec::new(), Vec::new(), Vec::<KeptOut>::new());
        let mut write = |handed: &mut Handed| -> Result<()> {
            let (line, gathered, kept) = match handed {
                Handed::Bad(row) => {
                    bad.push(row.clone());
                    return Ok(());
                }
                Handed::Active { line, email, name, fields, record } => {
                    let forgotten = import.any_forgotten() && {
                        let mut found = false;
                        for hash in secret.forget_hashes(email) {
                            found = found || import.is_forgotten(&hash)?;
                        }
                        found
                    };
                    let row = ImportRow::Active { line: *line, email, name, fields, forgotten };
                    let gathered = import.add(row)?;
                    if let (Some(record), false) = (record, matches!(gathered, Gathered::Duplicate { .. })) {
                        import.restore(email, record)?;
                    }
                    (*line, gathered, None)
                }
                Handed::Suppressed(row) => {
                    let suppression = Suppression {
                        email: row.email.clone(),
                        status: row.status,
                        at: row.at.map_or_else(|| now.clone(), |at| at.to_string()),
                        by: format!("import:{base}:{}", row.line),
                        reason: row.reason.clone(),
                    };
                    let gathered = import.add(ImportRow::Suppressed { line: row.line, row: &suppression })?;
                    if let (Some(record), false) = (&row.record, matches!(gathered, Gathered::Duplicate { .. })) {
                        import.restore(&row.email, record)?;
                    }
                    (row.line, gathered, None)
                }
                Handed::KeptOut(row) => {
                    (row.line, import.add(ImportRow::KeptOut { line: row.line, email: &row.email })?, Some(row))
                }
            };
            match gathered {
                Gathered::First => kept_out.extend(kept.cloned()),
                Gathered::Duplicate { kept } => duplicates.push((line, kept)),
                Gathered::Replaced { earlier, kept_out: was_kept_out } => {
                    duplicates.push((earlier, line));
                    if was_kept_out {
                        kept_out.retain(|r| r.line != earlier);
                    }
                }
            }
            Ok(())
        };
        // The file is read and checked on a thread of its own while this one
        // writes the rows: a batch at a time, a few batches in flight at most.
        // Written, a batch goes back to the reader, which empties it and
        // fills it again: what one thread allocates, it frees.
        let header = std::thread::scope(|scope| -> Result<Header> {
            let (batches, received) = std::sync::mpsc::sync_channel::<Vec<Handed>>(IN_FLIGHT);
            let (written, returned) = std::sync::mpsc::channel::<Vec<Handed>>();
            let reader = scope.spawn(move || -> Result<Header> {
                let empty = || {
                    let mut batch = returned.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    batch.clear();
                    batch
                };
                let mut batch = empty();
                let header = stream_csv(file, &mut |line, row| {
                    batch.push(Handed::new(line, row)?);
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, empty());
                        // Refused when the writer stopped: its error is the one told.
                        batches.send(full).map_err(|_| anyhow::anyhow!("the import stopped"))?;
                    }
                    Ok(())
                })?;
                batches.send(batch).map_err(|_| anyhow::anyhow!("the import stopped"))?;
                Ok(header)
            });
            // The receiver goes with the writing, so that a reader still
            // sending when the writing fails stops too.
            let wrote = received.into_iter().try_for_each(|mut batch| {
                batch.iter_mut().try_for_each(&mut write)?;
                // Gone when the reader is done: then the batch is freed here.
                let _ = written.send(batch);
                Ok::<_, anyhow::Error>(())
            });
            let read = reader.join().map_err(|_| anyhow::anyhow!("reading {} failed", file.display()))?;
            wrote.with_context(|| format!("cannot read {}", file.display()))?;
            read
        })?;
        duplicates.sort_unstable();
        let mut stopped = Vec::new();
        let done = import.finish(&mut |line, email, status, reason| {
            stopped.push((line, email.to_string(), status, reason.to_string()))
        })?;
        Ok(ImportReport {
            name: file.display().to_string(),
            header,
            bad,
            duplicates,
            kept_out,
            stopped,
            done,
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
            "read {} message{}: {marked} marked bounced, {}, {already} not mailed already, {}, {} \
             (a full mailbox, a delay, a policy refusal), {}",
            messages.len(),
            plural(messages.len()),
            counted(complained, "complaint", "complaints"),
            counted(unknown, "not a subscriber", "not subscribers"),
            counted(kept, "failure kept", "failures kept"),
            counted(not_reports, "not a bounce report", "not bounce reports"),
        ));
        report.lines.push(counted(store.count_active()?, "active subscriber", "active subscribers"));
        Ok(report)
    }
}

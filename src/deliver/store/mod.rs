//! Local state in SQLite (`.publish/state.db`): subscribers, their status, and
//! the send ledger, one row per (issue, subscriber).
//!
//! WAL mode with a busy timeout, so that `publish serve` can record an
//! unsubscribe while a send is running, and a reader never blocks the writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

use crate::deliver::token::{Claim, Purpose, Secret};

pub mod audience;

/// The schema; `user_version` says which of these steps a database has had.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE subscribers (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name        TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'unsubscribed', 'removed', 'bounced')),
    created_at  TEXT NOT NULL,
    status_at   TEXT,
    status_by   TEXT
);
CREATE TABLE sends (
    issue          INTEGER NOT NULL,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    reply          TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (issue, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX sends_by_state ON sends (issue, state, subscriber_id);
CREATE TABLE issue_runs (
    issue        INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT
);
"#,
    r#"
CREATE TABLE notes (
    issue  INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    at     TEXT NOT NULL,
    PRIMARY KEY (issue, kind)
);
"#,
    // A complaint is a status of its own, and a status change can say why
    // (an import records the reason the service gave). SQLite cannot alter a
    // CHECK, so the table is rebuilt, keeping every id the ledger points to.
    r#"
CREATE TABLE subscribers_new (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name           TEXT NOT NULL DEFAULT '',
    fields         TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'unsubscribed', 'removed', 'bounced', 'complained')),
    created_at     TEXT NOT NULL,
    status_at      TEXT,
    status_by      TEXT,
    status_reason  TEXT
);
INSERT INTO subscribers_new (id, email, name, fields, status, created_at, status_at, status_by)
    SELECT id, email, name, fields, status, created_at, status_at, status_by FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;
"#,
    // The audience: how each person joined and every change after (the
    // consent record, written by triggers so that no path can skip it),
    // signups waiting for confirmation, the confirmation and welcome mails
    // queued for sending, and the keyed hashes of forgotten addresses.
    r#"
ALTER TABLE subscribers ADD COLUMN joined_by TEXT;
CREATE TABLE consent (
    id      INTEGER PRIMARY KEY,
    email   TEXT NOT NULL COLLATE NOCASE,
    at      TEXT NOT NULL,
    event   TEXT NOT NULL,
    how     TEXT NOT NULL,
    detail  TEXT
);
CREATE INDEX consent_by_email ON consent (email, id);
INSERT INTO consent (email, at, event, how)
    SELECT email, created_at, 'joined', 'before consent records were kept' FROM subscribers;
INSERT INTO consent (email, at, event, how, detail)
    SELECT email, COALESCE(status_at, created_at), status, COALESCE(status_by, 'unknown'), status_reason
    FROM subscribers WHERE status <> 'active';
CREATE TRIGGER consent_on_insert AFTER INSERT ON subscribers BEGIN
    INSERT INTO consent (email, at, event, how, detail) VALUES (
        NEW.email,
        COALESCE(NEW.status_at, NEW.created_at),
        CASE NEW.status WHEN 'active' THEN 'joined' ELSE NEW.status END,
        COALESCE(CASE NEW.status WHEN 'active' THEN NEW.joined_by ELSE NEW.status_by END, 'unknown'),
        NEW.status_reason
    );
END;
CREATE TRIGGER consent_on_status AFTER UPDATE OF status ON subscribers WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO consent (email, at, event, how, detail) VALUES (
        NEW.email,
        COALESCE(NEW.status_at, NEW.created_at),
        CASE NEW.status WHEN 'active' THEN 'confirmed again' ELSE NEW.status END,
        COALESCE(NEW.status_by, 'unknown'),
        NEW.status_reason
    );
END;
CREATE TABLE signups (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name        TEXT NOT NULL DEFAULT '',
    source      TEXT,
    ip          TEXT,
    user_agent  TEXT,
    created_at  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    mailed_at   INTEGER,
    -- Kept until it expires, so that its link says "used", not "broken".
    confirmed_at TEXT
);
CREATE TABLE mail_queue (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('confirm', 'welcome')),
    email      TEXT NOT NULL COLLATE NOCASE,
    ref_id     INTEGER NOT NULL,
    queued_at  TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    reply      TEXT,
    sent_at    TEXT
);
CREATE UNIQUE INDEX one_welcome_each ON mail_queue (email) WHERE kind = 'welcome';
CREATE TABLE forgotten (
    hash  TEXT PRIMARY KEY,
    at    TEXT NOT NULL
);
CREATE TABLE soft_bounces (
    email  TEXT NOT NULL COLLATE NOCASE,
    issue  INTEGER NOT NULL,
    at     TEXT NOT NULL,
    PRIMARY KEY (email, issue)
);
"#,
    // Which of several relays (`[[email.relays]]`) accepted the message; NULL
    // for a send through one server, and for every row before.
    r#"
ALTER TABLE sends ADD COLUMN relay TEXT;
"#,
];

/// A subscriber's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Unsubscribed,
    Removed,
    Bounced,
    /// Reported the newsletter as spam (a complaint from their mail provider).
    Complained,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Removed => "removed",
            Status::Bounced => "bounced",
            Status::Complained => "complained",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "unsubscribed" => Status::Unsubscribed,
            "removed" => Status::Removed,
            "bounced" => Status::Bounced,
            "complained" => Status::Complained,
            _ => Status::Active,
        }
    }
}

/// One row of the subscriber list.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub fields: BTreeMap<String, String>,
    pub status: Status,
    pub status_at: Option<String>,
    pub status_by: Option<String>,
}

/// What happened to one message, as the ledger records it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        reply: String,
        /// The relay that accepted it, when the send has several.
        relay: Option<String>,
    },
    Failed {
        reply: String,
    },
    /// Failed because the address is bad: the subscriber is marked bounced
    /// and never mailed again.
    Bounced {
        reply: String,
    },
}

/// Counts of one issue's ledger.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IssueCounts {
    pub sent: u64,
    pub failed: u64,
    /// Not yet sent, to subscribers still active.
    pub pending: u64,
    /// Not sent because the subscriber left before their turn.
    pub skipped: u64,
    /// Active subscribers not yet in this issue's audience (joined after it started).
    pub not_started: u64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// An open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// The database file inside the state folder.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.db")
}

impl Store {
    /// Opens (creating and migrating) `<state_dir>/state.db`.
    pub fn open(state_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(state_dir).with_context(|| format!("cannot create {}", state_dir.display()))?;
        let path = db_path(state_dir);
        let conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .with_context(|| format!("{}: cannot use WAL mode", path.display()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    /// Opens `<state_dir>/state.db` for reading only, if it exists: for what
    /// must write nothing (`publish issue N --dry-run`).
    pub fn open_read_only(state_dir: &Path) -> Result<Option<Store>> {
        let path = db_path(state_dir);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("cannot open {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let version = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        anyhow::ensure!(
            version == MIGRATIONS.len(),
            "{} has schema {version}, this publish uses {}: run a command that writes (`publish status 1`) to upgrade it, or upgrade publish",
            path.display(),
            MIGRATIONS.len()
        );
        Ok(Some(Store { conn, path }))
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        anyhow::ensure!(
            version <= MIGRATIONS.len(),
            "{} was written by a newer Masthead (schema {version}): upgrade publish",
            self.path.display()
        );
        if version == MIGRATIONS.len() {
            return Ok(());
        }
        // A step may rebuild a table the ledger refers to; the references are
        // checked before each step commits instead (SQLite's own procedure).
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(step).with_context(|| format!("{}: migration {} failed", self.path.display(), i + 1))?;
            let broken: Option<String> = tx.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional()?;
            anyhow::ensure!(
                broken.is_none(),
                "{}: migration {} left rows in {} pointing nowhere",
                self.path.display(),
                i + 1,
                broken.unwrap_or_default()
            );
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts an import: one transaction, in which rows are gathered
    /// (de-duplicated on disk, in constant memory) and then applied at once
    /// by [`Import::finish`].
    pub fn begin_import(&mut self) -> Result<Import<'_>> {
        // A bigger page cache for the gathered rows and the list: the import
        // writes both in one go.
        self.conn.pragma_update(Some("temp"), "cache_size", -16_000)?;
        self.conn.pragma_update(None, "cache_size", -16_000)?;
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DROP TABLE IF EXISTS temp.import_rows;
             CREATE TEMP TABLE import_rows (
                 key        TEXT PRIMARY KEY,
                 line       INTEGER NOT NULL,
                 kind       TEXT NOT NULL,
                 email      TEXT NOT NULL,
                 name       TEXT NOT NULL DEFAULT '',
                 fields     TEXT NOT NULL DEFAULT '{}',
                 status     TEXT,
                 at         TEXT,
                 by         TEXT,
                 reason     TEXT,
                 forgotten  INTEGER NOT NULL DEFAULT 0
             );",
        )?;
        let forgotten = tx.query_row("SELECT EXISTS (SELECT 1 FROM forgotten)", [], |r| r.get(0))?;
        Ok(Import { tx, any_forgotten: forgotten })
    }

    /// Sets a subscriber's status (unsubscribe, remove, bounce, complaint); `by` says how.
    /// Returns false when the address is unknown.
    pub fn set_status(&mut self, email: &str, status: Status, by: &str, now: &str) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE subscribers SET status = ?2, status_at = ?3, status_by = ?4 WHERE email = ?1 AND status <> ?2",
            params![email.trim(), status.as_str(), now, by],
        )?;
        if changed > 0 {
            return Ok(true);
        }
        Ok(self
            .conn
            .query_row("SELECT 1 FROM subscribers WHERE email = ?1", [email.trim()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Like [`Store::set_status`], with the reason the change came with.
    pub fn set_status_with_reason(
        &mut self,
        email: &str,
        status: Status,
        by: &str,
        reason: &str,
        now: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE subscribers SET status = ?2, status_at = ?3, status_by = ?4, status_reason = ?5
             WHERE email = ?1 AND status <> ?2",
            params![email.trim(), status.as_str(), now, by, reason],
        )?;
        Ok(())
    }

    /// A subscriber's status; `None` when the address is unknown.
    pub fn status_of(&self, email: &str) -> Result<Option<Status>> {
        let status: Option<String> = self
            .conn
            .query_row("SELECT status FROM subscribers WHERE email = ?1", [email.trim()], |r| r.get(0))
            .optional()?;
        Ok(status.as_deref().map(Status::parse))
    }

    /// The address of subscriber row `id` (what a link's token names).
    pub fn email_of(&self, id: i64) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT email FROM subscribers WHERE id = ?1", [id], |r| r.get(0)).optional()?)
    }

    /// The address an unsubscribe (or preferences) link's token names, if it
    /// verifies: an old-form token names it itself; an opaque one names a row,
    /// whose address must be the one its MAC was made over.
    pub fn unsubscribe_holder(&self, secret: &Secret, token: &str) -> Result<Option<String>> {
        Ok(match secret.claim(Purpose::Unsubscribe, token) {
            None => None,
            Some(Claim::Address(email)) => Some(email),
            Some(Claim::Subscriber(id)) => {
                self.email_of(id)?.filter(|email| secret.verify_subscriber(Purpose::Unsubscribe, token, id, email))
            }
        })
    }

    /// Makes sure a suppressed address is known, so it stays suppressed if imported later.
    pub fn suppress(&mut self, email: &str, status: Status, by: &str, now: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO subscribers (email, created_at, status, status_at, status_by) VALUES (?1, ?2, ?3, ?2, ?4)
             ON CONFLICT (email) DO UPDATE SET status = excluded.status, status_at = excluded.status_at, status_by = excluded.status_by
             WHERE subscribers.status <> excluded.status",
            params![email.trim(), now, status.as_str(), by],
        )?;
        Ok(())
    }

    pub fn count_active(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM subscribers WHERE status = 'active'", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Starts (or extends) the audience of `issue`: every active subscriber not
    /// yet in its ledger gets a pending row. `extend` false only starts: a
    /// resumed scheduled send keeps the audience it started with.
    pub fn enrol(&mut self, issue: u32, extend: bool, now: &str) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let started: bool =
            tx.query_row("SELECT 1 FROM issue_runs WHERE issue = ?1", [issue], |_| Ok(())).optional()?.is_some();
        let added = if started && !extend {
            0
        } else {
            tx.execute(
                "INSERT OR IGNORE INTO sends (issue, subscriber_id, state, updated_at)
                 SELECT ?1, id, 'pending', ?2 FROM subscribers WHERE status = 'active'",
                params![issue, now],
            )? as u64
        };
        tx.execute("INSERT OR IGNORE INTO issue_runs (issue, started_at) VALUES (?1, ?2)", params![issue, now])?;
        tx.execute(
            "UPDATE issue_runs SET finished_at = NULL WHERE issue = ?1 AND ?2 > 0",
            params![issue, added as i64],
        )?;
        tx.commit()?;
        Ok(added)
    }

    /// Up to `limit` recipients of `issue` still pending and still active, after `after_id`.
    pub fn pending_page(&self, issue: u32, after_id: i64, limit: usize) -> Result<Vec<Subscriber>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, s.email, s.name, s.fields, s.status, s.status_at, s.status_by
             FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = ?1 AND d.state = 'pending' AND s.status = 'active' AND s.id > ?2
             ORDER BY s.id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![issue, after_id, limit as i64], row_to_subscriber)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Puts `issue`'s failed recipients who are still active back in the
    /// queue (after the cause was fixed); bounced addresses stay out. Returns
    /// how many were re-queued.
    pub fn retry_failed(&mut self, issue: u32, now: &str) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let requeued = tx.execute(
            "UPDATE sends SET state = 'pending', updated_at = ?2
             WHERE issue = ?1 AND state = 'failed'
             AND subscriber_id IN (SELECT id FROM subscribers WHERE status = 'active')",
            params![issue, now],
        )?;
        if requeued > 0 {
            tx.execute("UPDATE issue_runs SET finished_at = NULL WHERE issue = ?1", [issue])?;
        }
        tx.commit()?;
        Ok(requeued as u64)
    }

    /// Records outcomes in one transaction (group commit of the send workers).
    pub fn record(&mut self, issue: u32, outcomes: &[(i64, u32, Outcome)], now: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE sends SET state = ?3, reply = ?4, attempts = attempts + ?5, updated_at = ?6, relay = ?7
                 WHERE issue = ?1 AND subscriber_id = ?2 AND state <> 'sent'",
            )?;
            let mut bounce = tx.prepare_cached(
                "UPDATE subscribers SET status = 'bounced', status_at = ?2, status_by = 'smtp'
                 WHERE id = ?1 AND status = 'active'",
            )?;
            for (id, attempts, outcome) in outcomes {
                let (state, reply, relay) = match outcome {
                    Outcome::Sent { reply, relay } => ("sent", reply, relay.as_deref()),
                    Outcome::Failed { reply } => ("failed", reply, None),
                    Outcome::Bounced { reply } => {
                        bounce.execute(params![id, now])?;
                        ("failed", reply, None)
                    }
                };
                stmt.execute(params![issue, id, state, reply, attempts, now, relay])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks `issue` finished when nothing is left pending for active subscribers.
    pub fn finish_if_done(&mut self, issue: u32, now: &str) -> Result<bool> {
        let counts = self.counts(issue)?;
        if counts.pending == 0 {
            self.conn.execute(
                "UPDATE issue_runs SET finished_at = ?2 WHERE issue = ?1 AND finished_at IS NULL",
                params![issue, now],
            )?;
        }
        Ok(counts.pending == 0)
    }

    /// The state of `issue`'s ledger.
    pub fn counts(&self, issue: u32) -> Result<IssueCounts> {
        let mut counts = IssueCounts::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.state, s.status = 'active', count(*) FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = ?1 GROUP BY 1, 2",
        )?;
        let rows = stmt
            .query_map([issue], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)? as u64)))?;
        for row in rows {
            match row? {
                (state, _, n) if state == "sent" => counts.sent += n,
                (state, _, n) if state == "failed" => counts.failed += n,
                (_, true, n) => counts.pending += n,
                (_, false, n) => counts.skipped += n,
            }
        }
        counts.not_started = self.conn.query_row(
            "SELECT count(*) FROM subscribers s WHERE s.status = 'active'
             AND NOT EXISTS (SELECT 1 FROM sends d WHERE d.issue = ?1 AND d.subscriber_id = s.id)",
            [issue],
            |r| r.get::<_, i64>(0),
        )? as u64;
        if let Some((start, finish)) = self
            .conn
            .query_row("SELECT started_at, finished_at FROM issue_runs WHERE issue = ?1", [issue], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
        {
            counts.started_at = Some(start);
            counts.finished_at = finish;
        }
        Ok(counts)
    }

    /// How many of `issue`'s messages each relay accepted (sends through
    /// several relays only), by name.
    pub fn relay_counts(&self, issue: u32) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT relay, count(*) FROM sends WHERE issue = ?1 AND state = 'sent' AND relay IS NOT NULL
             GROUP BY relay ORDER BY relay",
        )?;
        let rows = stmt.query_map([issue], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Records that `kind` was said about `issue`; true the first time only
    /// (so cron warns about a stale issue once, not every minute).
    pub fn note_once(&mut self, issue: u32, kind: &str, now: &str) -> Result<bool> {
        let added = self
            .conn
            .execute("INSERT OR IGNORE INTO notes (issue, kind, at) VALUES (?1, ?2, ?3)", params![issue, kind, now])?;
        Ok(added > 0)
    }

    /// The failed recipients of `issue` with the server's reply.
    pub fn failures(&self, issue: u32) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.email, coalesce(d.reply, '') FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = ?1 AND d.state = 'failed' ORDER BY s.id",
        )?;
        let rows = stmt.query_map([issue], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }
}

/// A row to import.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: String,
    pub name: String,
    pub fields: BTreeMap<String, String>,
    /// The line of the file it came from (0: not from a file).
    pub line: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpsertCounts {
    pub added: u64,
    pub updated: u64,
    /// Known addresses that stay unsubscribed, removed, bounced or complained.
    pub suppressed: u64,
}

/// A person an import says must not be mailed, and on whose word.
#[derive(Debug, Clone)]
pub struct Suppression {
    pub email: String,
    /// Not [`Status::Active`].
    pub status: Status,
    /// When they left or bounced, as the file says, else the time of the import.
    pub at: String,
    /// Where it comes from: `import:FILE:LINE`.
    pub by: String,
    /// The reason the service gave.
    pub reason: String,
}

/// What [`Store::record_suppressions`] did with one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// Not known before: recorded, so that no list adds them.
    Added,
    /// An active subscriber, now no longer mailed.
    WasActive,
    /// Already not mailed, with this status (kept as it was).
    Already(Status),
}

/// An import under way (see [`Store::begin_import`]).
pub struct Import<'a> {
    tx: rusqlite::Transaction<'a>,
    any_forgotten: bool,
}

/// One row of an imported file.
pub enum ImportRow<'r> {
    /// Someone to mail; `forgotten`: their address was forgotten (never imported again).
    Active { row: &'r NewSubscriber, forgotten: bool },
    /// Someone the file says must not be mailed.
    Suppressed { line: u64, row: &'r Suppression },
    /// Someone neither imported nor recorded, who still takes their address.
    KeptOut { line: u64, email: &'r str },
}

/// What [`Import::add`] did with a row, beside the rows before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gathered {
    /// The first row with its address.
    First,
    /// Left out: the row on line `kept` has the address.
    Duplicate { kept: u64 },
    /// It says not to mail someone an earlier row (on line `earlier`) did
    /// not: it takes that row's place. `kept_out`: that row was kept out.
    Replaced { earlier: u64, kept_out: bool },
}

/// What [`Import::finish`] did.
#[derive(Debug, Default)]
pub struct ImportDone {
    pub counts: UpsertCounts,
    /// Active rows left out because their address was forgotten.
    pub forgotten: u64,
    /// The suppressed rows: (their status, what happened, how many).
    pub suppressed: Vec<(Status, Suppressed, u64)>,
}

impl ImportRow<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ImportRow::Active { .. } => "a",
            ImportRow::Suppressed { .. } => "s",
            ImportRow::KeptOut { .. } => "k",
        }
    }
}

impl Import<'_> {
    /// Whether any address was ever forgotten (else no row need be checked).
    pub fn any_forgotten(&self) -> bool {
        self.any_forgotten
    }

    /// Whether `hash` (see `Secret::forget_hash`) names a forgotten address.
    pub fn is_forgotten(&self, hash: &str) -> Result<bool> {
        let mut find = self.tx.prepare_cached("SELECT 1 FROM forgotten WHERE hash = ?1")?;
        Ok(find.query_row([hash], |_| Ok(())).optional()?.is_some())
    }

    /// Gathers one row: the first with an address stays, unless a later one
    /// says not to mail them and it does not.
    pub fn add(&mut self, row: ImportRow) -> Result<Gathered> {
        let kind = row.kind();
        let (line, email, name, fields, status, at, by, reason, forgotten) = match row {
            ImportRow::Active { row, forgotten } => {
                let fields = serde_json::to_string(&row.fields)?;
                (row.line, row.email.as_str(), row.name.as_str(), fields, None, None, None, None, forgotten)
            }
            ImportRow::Suppressed { line, row } => (
                line,
                row.email.as_str(),
                "",
                "{}".to_string(),
                Some(row.status.as_str()),
                Some(row.at.as_str()),
                Some(row.by.as_str()),
                Some(row.reason.as_str()),
                false,
            ),
            ImportRow::KeptOut { line, email } => (line, email, "", "{}".to_string(), None, None, None, None, false),
        };
        let key = email.trim().to_lowercase();
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO import_rows (key, line, kind, email, name, fields, status, at, by, reason, forgotten)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (key) DO NOTHING",
        )?;
        let params = params![key, line as i64, kind, email.trim(), name, fields, status, at, by, reason, forgotten];
        if insert.execute(params)? == 1 {
            return Ok(Gathered::First);
        }
        let mut find = self.tx.prepare_cached("SELECT line, kind FROM import_rows WHERE key = ?1")?;
        let (earlier, earlier_kind): (i64, String) = find.query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if kind != "s" || earlier_kind == "s" {
            return Ok(Gathered::Duplicate { kept: earlier as u64 });
        }
        let mut replace = self.tx.prepare_cached(
            "UPDATE import_rows SET line = ?2, kind = ?3, email = ?4, name = ?5, fields = ?6, status = ?7, at = ?8,
             by = ?9, reason = ?10, forgotten = ?11 WHERE key = ?1",
        )?;
        replace.execute(params)?;
        Ok(Gathered::Replaced { earlier: earlier as u64, kept_out: earlier_kind == "k" })
    }

    /// Applies the gathered rows and commits. The suppressed ones first: an
    /// unknown address is added with its status, so that a later list cannot
    /// add it; an active subscriber takes the status (`was_active` is told,
    /// in the file's order); one already not mailed keeps the status, time and
    /// source it has. Then the active ones: new addresses are added
    /// (`joined_by` and their line say how), known ones get their name and
    /// fields, and an unsubscribed, removed, bounced or complained address
    /// stays so: a re-import never revives it.
    pub fn finish(
        self,
        joined_by: &str,
        now: &str,
        was_active: &mut dyn FnMut(u64, &str, Status, &str),
    ) -> Result<ImportDone> {
        let tx = self.tx;
        let mut done = ImportDone::default();
        {
            let mut tally = tx.prepare(
                "SELECT t.status, s.status, count(*) FROM import_rows t
                 LEFT JOIN subscribers s ON s.email = t.email WHERE t.kind = 's' GROUP BY 1, 2",
            )?;
            let mut rows = tally.query([])?;
            while let Some(row) = rows.next()? {
                let status = Status::parse(&row.get::<_, String>(0)?);
                let what = match row.get::<_, Option<String>>(1)?.as_deref().map(Status::parse) {
                    None => Suppressed::Added,
                    Some(Status::Active) => Suppressed::WasActive,
                    Some(before) => Suppressed::Already(before),
                };
                done.suppressed.push((status, what, row.get::<_, i64>(2)? as u64));
            }
            let mut stopped = tx.prepare(
                "SELECT t.line, t.email, t.status, t.reason FROM import_rows t
                 JOIN subscribers s ON s.email = t.email WHERE t.kind = 's' AND s.status = 'active' ORDER BY t.rowid",
            )?;
            let mut rows = stopped.query([])?;
            while let Some(row) = rows.next()? {
                let status = Status::parse(&row.get::<_, String>(2)?);
                was_active(row.get::<_, i64>(0)? as u64, &row.get::<_, String>(1)?, status, &row.get::<_, String>(3)?);
            }
            let mut tally = tx.prepare(
                "SELECT t.forgotten, s.status, count(*) FROM import_rows t
                 LEFT JOIN subscribers s ON s.email = t.email WHERE t.kind = 'a' GROUP BY 1, 2",
            )?;
            let mut rows = tally.query([])?;
            while let Some(row) = rows.next()? {
                let n = row.get::<_, i64>(2)? as u64;
                match (row.get::<_, bool>(0)?, row.get::<_, Option<String>>(1)?.as_deref().map(Status::parse)) {
                    (true, _) => done.forgotten += n,
                    (false, None) => done.counts.added += n,
                    (false, Some(Status::Active)) => done.counts.updated += n,
                    (false, Some(_)) => done.counts.suppressed += n,
                }
            }
        }
        tx.execute_batch(
            "UPDATE subscribers SET status = t.status, status_at = t.at, status_by = t.by, status_reason = t.reason
             FROM import_rows t WHERE t.kind = 's' AND subscribers.email = t.email AND subscribers.status = 'active';
             UPDATE subscribers SET name = t.name, fields = t.fields
             FROM import_rows t WHERE t.kind = 'a' AND NOT t.forgotten AND subscribers.email = t.email
                 AND (subscribers.name IS NOT t.name OR subscribers.fields IS NOT t.fields);",
        )?;
        tx.execute(
            "INSERT INTO subscribers (email, created_at, status, status_at, status_by, status_reason)
             SELECT email, ?1, status, at, by, reason FROM import_rows t
             WHERE t.kind = 's' AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = t.email) ORDER BY t.rowid",
            [now],
        )?;
        tx.execute(
            "INSERT INTO subscribers (email, name, fields, created_at, joined_by)
             SELECT email, name, fields, ?1, CASE WHEN line > 0 THEN ?2 || ':' || line ELSE ?2 END FROM import_rows t
             WHERE t.kind = 'a' AND NOT t.forgotten AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = t.email)
             ORDER BY t.rowid",
            params![now, joined_by],
        )?;
        tx.execute_batch("DROP TABLE temp.import_rows")?;
        tx.commit()?;
        Ok(done)
    }
}

pub(crate) fn row_to_subscriber(r: &rusqlite::Row) -> rusqlite::Result<Subscriber> {
    let fields: String = r.get(3)?;
    Ok(Subscriber {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        status: Status::parse(&r.get::<_, String>(4)?),
        status_at: r.get(5)?,
        status_by: r.get(6)?,
    })
}

#[cfg(test)]
impl Store {
    /// Adds or refreshes subscribers, as an import of them does.
    pub fn upsert_subscribers(&mut self, rows: &[NewSubscriber], joined_by: &str, now: &str) -> Result<UpsertCounts> {
        let mut import = self.begin_import()?;
        for row in rows {
            import.add(ImportRow::Active { row, forgotten: false })?;
        }
        Ok(import.finish(joined_by, now, &mut |_, _, _, _| ())?.counts)
    }

    /// Records the people an import says must not be mailed; what happened to each, in order.
    pub fn record_suppressions(&mut self, rows: &[Suppression], now: &str) -> Result<Vec<Suppressed>> {
        let before: Vec<Option<Status>> = rows.iter().map(|r| self.status_of(&r.email)).collect::<Result<_>>()?;
        let mut import = self.begin_import()?;
        for (line, row) in rows.iter().enumerate() {
            import.add(ImportRow::Suppressed { line: line as u64 + 1, row })?;
        }
        import.finish("test", now, &mut |_, _, _, _| ())?;
        Ok(before
            .into_iter()
            .map(|status| match status {
                None => Suppressed::Added,
                Some(Status::Active) => Suppressed::WasActive,
                Some(status) => Suppressed::Already(status),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(email: &str) -> NewSubscriber {
        NewSubscriber { email: email.into(), name: String::new(), fields: BTreeMap::new(), line: 0 }
    }

    #[test]
    fn ledger_sends_each_subscriber_once_and_keeps_suppressed_ones_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let counts = store
            .upsert_subscribers(&[sub("a@example.com"), sub("b@example.com"), sub("c@example.com")], "test", "t0")
            .unwrap();
        assert_eq!(counts.added, 3);
        assert_eq!(store.enrol(9, false, "t1").unwrap(), 3);
        let page = store.pending_page(9, 0, 10).unwrap();
        assert_eq!(page.len(), 3);
        store.record(9, &[(page[0].id, 1, Outcome::Sent { reply: "250 ok".into(), relay: None })], "t2").unwrap();
        store.set_status("B@example.com", Status::Unsubscribed, "cli", "t3").unwrap();
        let page = store.pending_page(9, 0, 10).unwrap();
        assert_eq!(page.iter().map(|s| s.email.as_str()).collect::<Vec<_>>(), ["c@example.com"]);
        let counts = store.counts(9).unwrap();
        assert_eq!((counts.sent, counts.pending, counts.skipped), (1, 1, 1));
        // A re-import does not revive the unsubscribed address.
        let again = store.upsert_subscribers(&[sub("b@EXAMPLE.com")], "test", "t4").unwrap();
        assert_eq!(again.suppressed, 1);
        assert_eq!(store.count_active().unwrap(), 2);
        // A sent row is never overwritten.
        store.record(9, &[(page[0].id, 1, Outcome::Failed { reply: "550".into() })], "t5").unwrap();
        let first = store.list_all().unwrap().into_iter().find(|s| s.status == Status::Active).unwrap().id;
        store.record(9, &[(first, 1, Outcome::Failed { reply: "550".into() })], "t5").unwrap();
        assert_eq!(store.counts(9).unwrap().sent, 1);
    }

    fn suppression(email: &str, status: Status, line: u32) -> Suppression {
        Suppression {
            email: email.into(),
            status,
            at: "2024-02-20T07:31:15Z".into(),
            by: format!("import:list.csv:{line}"),
            reason: format!("reason {line}"),
        }
    }

    /// (status, status_at, status_by, status_reason) of `email`.
    fn record_of(store: &Store, email: &str) -> (String, Option<String>, Option<String>, Option<String>) {
        store
            .conn
            .query_row(
                "SELECT status, status_at, status_by, status_reason FROM subscribers WHERE email = ?1",
                [email],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    }

    #[test]
    fn imported_suppressions_add_strangers_stop_subscribers_and_keep_earlier_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.upsert_subscribers(&[sub("ada@example.com"), sub("bob@example.com")], "test", "t0").unwrap();
        store.set_status("bob@example.com", Status::Removed, "cli", "t1").unwrap();
        let done = store
            .record_suppressions(
                &[
                    suppression("ADA@example.com", Status::Complained, 2),
                    suppression("bob@example.com", Status::Unsubscribed, 3),
                    suppression("new@example.com", Status::Bounced, 4),
                ],
                "t2",
            )
            .unwrap();
        assert_eq!(done, [Suppressed::WasActive, Suppressed::Already(Status::Removed), Suppressed::Added]);
        let at = Some("2024-02-20T07:31:15Z".to_string());
        assert_eq!(
            record_of(&store, "ada@example.com"),
            ("complained".into(), at.clone(), Some("import:list.csv:2".into()), Some("reason 2".into()))
        );
        assert_eq!(
            record_of(&store, "bob@example.com"),
            ("removed".into(), Some("t1".into()), Some("cli".into()), None)
        );
        assert_eq!(
            record_of(&store, "new@example.com"),
            ("bounced".into(), at, Some("import:list.csv:4".into()), Some("reason 4".into()))
        );
        assert_eq!(store.count_active().unwrap(), 0);
        // A later plain list brings none of them back.
        let again = store.upsert_subscribers(&[sub("ada@example.com"), sub("new@example.com")], "test", "t3").unwrap();
        assert_eq!((again.added, again.updated, again.suppressed), (0, 0, 2));
        assert_eq!(store.list_all().unwrap().iter().filter(|s| s.status != Status::Active).count(), 3);
    }

    #[test]
    fn a_schema_2_database_gains_complaints_and_keeps_its_ledger() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(db_path(dir.path())).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(MIGRATIONS[1]).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO subscribers (id, email, name, status, created_at) VALUES (7, 'a@example.com', 'A', 'active', 't0');
                 INSERT INTO subscribers (id, email, status, created_at, status_by) VALUES (9, 'b@example.com', 'bounced', 't0', 'smtp');
                 INSERT INTO sends (issue, subscriber_id, state, updated_at) VALUES (9, 7, 'sent', 't1'), (9, 9, 'failed', 't1');",
            )
            .unwrap();
        }
        let mut store = Store::open(dir.path()).unwrap();
        let version: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let counts = store.counts(9).unwrap();
        assert_eq!((counts.sent, counts.failed), (1, 1));
        assert_eq!(store.failures(9).unwrap(), [("b@example.com".to_string(), String::new())]);
        assert!(store.set_status("a@example.com", Status::Complained, "fbl", "t2").unwrap());
        assert_eq!(store.status_of("A@example.com").unwrap(), Some(Status::Complained));
        // The ledger's references are enforced again after the rebuild.
        let on: i64 = store.conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(on, 1);
        assert!(
            store
                .conn
                .execute(
                    "INSERT INTO sends (issue, subscriber_id, state, updated_at) VALUES (10, 999, 'sent', 't')",
                    []
                )
                .is_err()
        );
    }

    #[test]
    fn the_ledger_counts_what_each_relay_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .upsert_subscribers(&[sub("a@example.com"), sub("b@example.com"), sub("c@example.com")], "t", "t0")
            .unwrap();
        store.enrol(9, false, "t1").unwrap();
        let ids: Vec<i64> = store.pending_page(9, 0, 10).unwrap().iter().map(|s| s.id).collect();
        let sent = |relay: &str| Outcome::Sent { reply: "250 ok".into(), relay: Some(relay.into()) };
        store
            .record(9, &[(ids[0], 1, sent("ses-eu")), (ids[1], 1, sent("ses-eu")), (ids[2], 2, sent("postmark"))], "t2")
            .unwrap();
        assert_eq!(store.relay_counts(9).unwrap(), [("postmark".to_string(), 1), ("ses-eu".to_string(), 2)]);
        assert!(store.relay_counts(10).unwrap().is_empty());
    }

    #[test]
    fn a_resumed_send_keeps_its_audience_unless_extended() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.upsert_subscribers(&[sub("a@example.com")], "test", "t0").unwrap();
        store.enrol(9, false, "t1").unwrap();
        store.upsert_subscribers(&[sub("late@example.com")], "test", "t2").unwrap();
        assert_eq!(store.enrol(9, false, "t3").unwrap(), 0);
        assert_eq!(store.counts(9).unwrap().not_started, 1);
        assert_eq!(store.enrol(9, true, "t4").unwrap(), 1);
    }
}

//! The state: subscribers, their status, the send ledger (one row per
//! (issue, subscriber)) and the audience records, in SQLite
//! (`.publish/state.db`, the default) or in PostgreSQL
//! (`PUBLISH_DATABASE_URL` or `[state] database_url`), behind one interface.
//!
//! SQLite runs in WAL mode with a busy timeout, so that `publish serve` can
//! record an unsubscribe while a send is running, and a reader never blocks
//! the writer. PostgreSQL lets several senders on several machines share one
//! send: each claims batches of the ledger under a lease (see [`Store::claim`]).

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::deliver::address::canonical;
use crate::deliver::token::{Claim, Purpose, Secret};
use db::{Conn, Dialect, Row, Value, args};

pub mod audience;
pub mod clicks;
pub mod copy;
pub mod db;
mod direct;
mod pg;

/// The schema in SQLite; `user_version` says which of these steps a database
/// has had. [`pg::MIGRATIONS`] has the same steps for PostgreSQL.
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
    // Several senders share one send: each claims batches of the ledger
    // (`claimed_by`, `claim_batch`) until `lease_until` (milliseconds since
    // 1970), and the sender that handled a row is kept (`sent_by`). The rows
    // claimed and not yet recorded (a few hundred per sender) are indexed, for
    // renewing a lease without scanning the issue; so are the pending rows,
    // so that each claim starts at the first pending row instead of reading
    // past every row sent before it (PostgreSQL's planner took the primary key).
    r#"
ALTER TABLE sends ADD COLUMN claimed_by TEXT;
ALTER TABLE sends ADD COLUMN claim_batch INTEGER;
ALTER TABLE sends ADD COLUMN lease_until INTEGER;
ALTER TABLE sends ADD COLUMN sent_by TEXT;
CREATE INDEX sends_claimed ON sends (claimed_by, claim_batch) WHERE claimed_by IS NOT NULL;
CREATE INDEX sends_pending ON sends (issue, subscriber_id) WHERE state = 'pending';
"#,
    // Click counts of counted links ([insight] clicks): per link, day and
    // keyed client hash; never an address, a cookie or a subscriber.
    clicks::MIGRATION, // A message's outcome is one small write: the index of every row by
    // state made each outcome move an entry (two more pages to the log per
    // commit, most of the send's writes); the pending rows have their own
    // index (above), and the few failed ones get theirs. Counts by state
    // read the issue's rows once, at the end of a run.
    r#"
DROP INDEX sends_by_state;
CREATE INDEX sends_failed ON sends (issue, subscriber_id) WHERE state = 'failed';
"#,
    // Every address in the form it is now stored and compared in.
    audience::CANONICAL_ADDRESSES,
    // When a queued confirmation or welcome mail was last tried and failed
    // (Unix seconds): it waits before the next try (see `queued_mail`).
    r#"
ALTER TABLE mail_queue ADD COLUMN tried_at INTEGER;
"#,
    // Which issue a send is, apart from its number (its date and title):
    // an issue file renumbered after its send started is the same send, not
    // a new issue for everyone. NULL for the runs before.
    r#"
ALTER TABLE issue_runs ADD COLUMN identity TEXT;
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
    /// Who sent how many, most first (several senders share a send on PostgreSQL).
    pub senders: Vec<SenderShare>,
}

/// How many of an issue's messages one sender handed over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SenderShare {
    /// The sender's id (`PUBLISH_SENDER`, else host:pid); empty for sends recorded before senders were.
    pub sender: String,
    pub sent: u64,
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (`<state>/state.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user:password@host:port/name?sslmode=require`).
    Postgres(String),
}

impl Location {
    /// `state.db` in the state folder.
    pub fn sqlite_in(state_dir: &Path) -> Location {
        Location::Sqlite(db_path(state_dir))
    }

    /// A URL (`postgres://…`, `postgresql://…`, `sqlite:PATH`), as `publish state migrate --to` takes.
    pub fn parse(text: &str) -> Result<Location> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Location::Postgres(text.to_string()))
        } else if let Some(path) = text.strip_prefix("sqlite:") {
            anyhow::ensure!(!path.is_empty(), "sqlite: needs a file: sqlite:PATH/state.db");
            Ok(Location::Sqlite(PathBuf::from(path)))
        } else {
            anyhow::bail!("\"{text}\" is not a database URL: write postgres://user@host/name or sqlite:PATH")
        }
    }

    /// Whether several machines may share it (then senders claim rows under leases).
    pub fn shared(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// For messages: the path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => pg::without_password(url),
        }
    }
}

/// The PostgreSQL advisory lock that serialises changes to the audience.
const AUDIENCE_LOCK: i64 = 0x6d61_7374_6175_6469; // "mastaudi"

/// An open state database.
pub struct Store {
    conn: RefCell<Conn>,
    location: Location,
}

/// The database file inside the state folder.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.db")
}

/// Milliseconds since 1970 on this machine's clock: real time passing (not
/// `PUBLISH_NOW`). Leases are read by [`Store::lease_clock_ms`].
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Opens (creating and migrating) the database at `location`.
    pub fn open(location: &Location) -> Result<Store> {
        let conn = match location {
            Location::Sqlite(path) => Conn::Sqlite(open_sqlite(path)?),
            Location::Postgres(url) => pg::connect(url)?,
        };
        let mut store = Store { conn: RefCell::new(conn), location: location.clone() };
        store.migrate()?;
        Ok(store)
    }

    /// Opens the database for reading only, if it exists: for what must write
    /// nothing (`publish issue N --dry-run`). Its schema must be this publish's.
    pub fn open_read_only(location: &Location) -> Result<Option<Store>> {
        let (conn, version) = match location {
            Location::Sqlite(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                conn.busy_timeout(Duration::from_secs(30))?;
                let version = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
                (Conn::Sqlite(conn), version)
            }
            Location::Postgres(url) => {
                let mut conn = pg::connect(url)?;
                let Some(version) = pg::version(&mut conn)? else { return Ok(None) };
                (conn, version)
            }
        };
        anyhow::ensure!(
            version == MIGRATIONS.len(),
            "{} has schema {version}, this publish uses {}: run a command that writes (`publish status 1`) to upgrade it, or upgrade publish",
            location.describe(),
            MIGRATIONS.len()
        );
        Ok(Some(Store { conn: RefCell::new(conn), location: location.clone() }))
    }

    fn migrate(&mut self) -> Result<()> {
        let name = self.location.describe();
        match self.conn.get_mut() {
            Conn::Sqlite(conn) => migrate_sqlite(conn, &name),
            conn @ Conn::Postgres { .. } => pg::migrate(conn, &name, MIGRATIONS.len()),
        }
    }

    /// Where it is, for messages (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        self.location.describe()
    }

    fn db(&self) -> RefMut<'_, Conn> {
        self.conn.borrow_mut()
    }

    /// Runs `f` in one transaction that writes: committed if it succeeds, rolled back if not.
    fn tx<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.db();
        conn.begin()?;
        match f(&mut conn) {
            Ok(value) => {
                conn.commit()?;
                Ok(value)
            }
            Err(e) => {
                let _ = conn.rollback();
                Err(e)
            }
        }
    }

    /// Like [`Store::tx`], one change to the audience at a time, as SQLite's
    /// single writer does it: on PostgreSQL the transaction first takes a lock
    /// that every other audience change takes too (so two simultaneous signups
    /// of one address queue up instead of colliding on its unique key).
    fn audience_tx<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        self.tx(|tx| {
            if tx.dialect() == Dialect::Postgres {
                tx.execute("SELECT pg_advisory_xact_lock($1)", args![AUDIENCE_LOCK])?;
            }
            f(tx)
        })
    }

    /// Starts an import: one transaction, in which rows are gathered
    /// (de-duplicated in the database, in constant memory) and then applied
    /// at once by [`Import::finish`]. New people join by `joined_by` (and
    /// their line), at `now`. Into a SQLite list with no one in it and no
    /// consent record (the move from another service), rows are written
    /// straight into the list instead, as they come (see [`direct`]).
    pub fn begin_import(&mut self, joined_by: &str, now: &str) -> Result<Import<'_>> {
        let conn = self.conn.get_mut();
        if let Conn::Sqlite(c) = conn {
            // A bigger page cache for the gathered rows and the list: the import
            // writes both in one go.
            c.pragma_update(Some("temp"), "cache_size", -16_000)?;
            c.pragma_update(None, "cache_size", -16_000)?;
        }
        let journal_alone = match conn {
            Conn::Sqlite(c) => direct::journal_alone(c)?,
            Conn::Postgres { .. } => false,
        };
        // Addresses compare without case, as in the list. In SQLite the order
        // of gathering is the rowid, so that reading the rows in that order
        // needs no sort.
        let (email_type, seq_type) = match conn.dialect() {
            Dialect::Sqlite => ("TEXT COLLATE NOCASE", "INTEGER PRIMARY KEY"),
            Dialect::Postgres => ("CITEXT", "BIGINT NOT NULL"),
        };
        conn.begin()?;
        let started = (|| -> Result<(bool, bool, Option<direct::Direct>)> {
            let found = conn.query_one(
                "SELECT EXISTS (SELECT 1 FROM forgotten), NOT EXISTS (SELECT 1 FROM subscribers),
                     NOT EXISTS (SELECT 1 FROM consent)",
                &[],
            )?;
            let (any_forgotten, list_was_empty) = (found.bool(0), found.bool(1));
            if let Conn::Sqlite(c) = conn
                && list_was_empty
                && found.bool(2)
            {
                return Ok((any_forgotten, true, Some(direct::Direct::begin(c, joined_by, now)?)));
            }
            conn.batch(&format!(
                "DROP TABLE IF EXISTS import_rows;
                 CREATE TEMP TABLE import_rows (
                     seq        {seq_type},
                     key        TEXT NOT NULL UNIQUE,
                     line       BIGINT NOT NULL,
                     kind       TEXT NOT NULL,
                     email      {email_type} NOT NULL,
                     name       TEXT NOT NULL DEFAULT '',
                     fields     TEXT NOT NULL DEFAULT '{{}}',
                     status     TEXT,
                     at         TEXT,
                     by         TEXT,
                     reason     TEXT,
                     forgotten  BOOLEAN NOT NULL DEFAULT FALSE,
                     joined     TEXT,
                     created    TEXT,
                     consent    TEXT,
                     fresh      BOOLEAN NOT NULL DEFAULT FALSE
                 );
                 CREATE INDEX import_rows_suppressed ON import_rows (seq) WHERE kind = 's';"
            ))?;
            Ok((any_forgotten, list_was_empty, None))
        })();
        match started {
            Ok((any_forgotten, list_was_empty, direct)) => Ok(Import {
                conn,
                seq: 0,
                any_forgotten,
                list_was_empty,
                active: 0,
                forgotten: 0,
                open: true,
                joined_by: joined_by.to_string(),
                now: now.to_string(),
                direct,
                journal_alone,
                restoring: false,
            }),
            Err(e) => {
                let _ = conn.rollback();
                if let (true, Conn::Sqlite(c)) = (journal_alone, conn) {
                    direct::journal_back(c);
                }
                Err(e)
            }
        }
    }

    /// Sets a subscriber's status (unsubscribe, remove, bounce, complaint); `by` says how.
    /// Returns false when the address is unknown.
    pub fn set_status(&mut self, email: &str, status: Status, by: &str, now: &str) -> Result<bool> {
        let email = &canonical(email);
        let mut db = self.db();
        let changed = db.execute(
            "UPDATE subscribers SET status = $2, status_at = $3, status_by = $4 WHERE email = $1 AND status <> $2",
            args![email, status.as_str(), now, by],
        )?;
        if changed > 0 {
            return Ok(true);
        }
        Ok(db.query_opt("SELECT 1 FROM subscribers WHERE email = $1", args![email])?.is_some())
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
        self.db().execute(
            "UPDATE subscribers SET status = $2, status_at = $3, status_by = $4, status_reason = $5
             WHERE email = $1 AND status <> $2",
            args![canonical(email), status.as_str(), now, by, reason],
        )?;
        Ok(())
    }

    /// A subscriber's status; `None` when the address is unknown.
    pub fn status_of(&self, email: &str) -> Result<Option<Status>> {
        let row = self.db().query_opt("SELECT status FROM subscribers WHERE email = $1", args![canonical(email)])?;
        Ok(row.map(|r| Status::parse(&r.text(0))))
    }

    /// The address of subscriber row `id` (what a link's token names).
    pub fn email_of(&self, id: i64) -> Result<Option<String>> {
        Ok(self.db().query_opt("SELECT email FROM subscribers WHERE id = $1", args![id])?.map(|r| r.text(0)))
    }

    /// The address an unsubscribe (or preferences) link's token names, if it
    /// verifies: an old-form token names it itself; an opaque one names a row,
    /// whose address must be the one its MAC was made over.
    pub fn unsubscribe_holder(&self, secret: &Secret, token: &str) -> Result<Option<String>> {
        Ok(match secret.claim(Purpose::Unsubscribe, token) {
            None => None,
            // An address forgotten on request is not stored again by its old link.
            Some(Claim::Address(email)) => (!self.address_forgotten(secret, &email)?).then_some(email),
            Some(Claim::Subscriber(id)) => {
                self.email_of(id)?.filter(|email| secret.verify_subscriber(Purpose::Unsubscribe, token, id, email))
            }
        })
    }

    fn address_forgotten(&self, secret: &Secret, email: &str) -> Result<bool> {
        for hash in secret.forget_hashes(email) {
            if self.is_forgotten(&hash)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether an unsubscribe (or preferences) link that no longer verifies
    /// names a row whose address was forgotten (`subscribers forget`): its
    /// MAC cannot be checked (the address is gone), and the answer says no
    /// more than that the row's address is no longer on the list.
    pub fn names_forgotten(&self, secret: &Secret, token: &str) -> Result<bool> {
        Ok(match secret.claim(Purpose::Unsubscribe, token) {
            Some(Claim::Subscriber(id)) => self.email_of(id)?.is_some_and(|email| email.starts_with("forgotten:")),
            Some(Claim::Address(email)) => self.address_forgotten(secret, &email)?,
            None => false,
        })
    }

    /// Makes sure a suppressed address is known, so it stays suppressed if imported later.
    pub fn suppress(&mut self, email: &str, status: Status, by: &str, now: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO subscribers (email, created_at, status, status_at, status_by) VALUES ($1, $2, $3, $2, $4)
             ON CONFLICT (email) DO UPDATE SET status = excluded.status, status_at = excluded.status_at, status_by = excluded.status_by
             WHERE subscribers.status <> excluded.status",
            args![canonical(email), now, status.as_str(), by],
        )?;
        Ok(())
    }

    pub fn count_active(&self) -> Result<u64> {
        Ok(self.db().query_one("SELECT count(*) FROM subscribers WHERE status = 'active'", &[])?.int(0) as u64)
    }

    /// Starts (or extends) the audience of `issue`: every active subscriber not
    /// yet in its ledger gets a pending row. `extend` false only starts: a
    /// resumed scheduled send keeps the audience it started with. Several
    /// senders may do this at once: a row or a run already there is kept.
    pub fn enrol(&mut self, issue: u32, extend: bool, now: &str) -> Result<u64> {
        self.tx(|tx| {
            let started = tx.query_opt("SELECT 1 FROM issue_runs WHERE issue = $1", args![issue])?.is_some();
            let added = if started && !extend {
                0
            } else {
                tx.execute(
                    "INSERT INTO sends (issue, subscriber_id, state, updated_at)
                     SELECT $1, id, 'pending', $2 FROM subscribers WHERE status = 'active'
                     ON CONFLICT (issue, subscriber_id) DO NOTHING",
                    args![issue, now],
                )?
            };
            tx.execute(
                "INSERT INTO issue_runs (issue, started_at) VALUES ($1, $2) ON CONFLICT (issue) DO NOTHING",
                args![issue, now],
            )?;
            if added > 0 {
                tx.execute("UPDATE issue_runs SET finished_at = NULL WHERE issue = $1", args![issue])?;
            }
            Ok(added)
        })
    }

    /// Records which issue the send of `issue` is, apart from its number
    /// (`identity`, see [`Store::same_issue_under`]), as its file says now:
    /// a title corrected since the send began is the one a renumbered copy has.
    pub fn set_identity(&mut self, issue: u32, identity: &str) -> Result<()> {
        self.db().execute(
            "UPDATE issue_runs SET identity = $2 WHERE issue = $1 AND identity IS DISTINCT FROM $2",
            args![issue, identity],
        )?;
        Ok(())
    }

    /// The send, under another number than `issue`, of the issue known by
    /// `identity`: its number and counts, the earliest if there are several.
    /// An issue file renumbered after its send started is that send.
    pub fn same_issue_under(&self, identity: &str, issue: u32) -> Result<Option<(u32, IssueCounts)>> {
        let found = self
            .db()
            .query_opt(
                "SELECT issue FROM issue_runs WHERE identity = $1 AND issue <> $2 ORDER BY started_at, issue LIMIT 1",
                args![identity, issue],
            )?
            .map(|r| r.int(0) as u32);
        match found {
            Some(other) => Ok(Some((other, self.counts(other)?))),
            None => Ok(None),
        }
    }

    /// Whether the send of `issue` has started.
    pub fn started(&self, issue: u32) -> Result<bool> {
        Ok(self.db().query_opt("SELECT 1 FROM issue_runs WHERE issue = $1", args![issue])?.is_some())
    }

    /// Now, in milliseconds since 1970, on the clock that leases are read
    /// by: the database server's for PostgreSQL (one clock for every machine
    /// sharing the send, however far theirs drift), this machine's for SQLite.
    pub fn lease_clock_ms(&self) -> Result<i64> {
        let mut db = self.db();
        match db.dialect() {
            Dialect::Sqlite => Ok(wall_ms()),
            Dialect::Postgres => Ok(db
                .query_one("SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)", &[])?
                .int(0)),
        }
    }

    /// Claims up to `limit` recipients of `issue` for `sender` until
    /// `lease_until` (ms, see [`Store::lease_clock_ms`]): pending, still active, and not
    /// under another sender's live lease. Rows another sender holds are
    /// skipped, not waited for (PostgreSQL: `FOR UPDATE SKIP LOCKED`); rows
    /// whose lease ran out (their sender died) are claimed again.
    pub fn claim(
        &mut self,
        issue: u32,
        sender: &str,
        batch: i64,
        limit: usize,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<Vec<Subscriber>> {
        let claim = claim_sql(self.db().dialect());
        self.tx(|tx| {
            let ids: Vec<Value> = tx
                .query(&claim, args![issue, sender, batch, lease_until, now_ms, limit])?
                .iter()
                .map(|r| Value::Int(r.int(0)))
                .collect();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let rows = tx.query(
                &format!(
                    "SELECT id, email, name, fields, status, status_at, status_by FROM subscribers
                     WHERE id IN ({}) ORDER BY id",
                    list.join(", ")
                ),
                &ids,
            )?;
            Ok(rows.iter().map(row_to_subscriber).collect())
        })
    }

    /// Extends `sender`'s lease on the rows of `issue` it still holds.
    pub fn renew(&mut self, issue: u32, sender: &str, lease_until: i64) -> Result<u64> {
        self.db().execute(
            "UPDATE sends SET lease_until = $3 WHERE issue = $1 AND claimed_by = $2 AND state = 'pending'",
            args![issue, sender, lease_until],
        )
    }

    /// Gives back the rows of `issue` that `sender` claimed and did not send
    /// (`None`: every sender's; only when no other sender can be running).
    pub fn release(&mut self, issue: u32, sender: Option<&str>) -> Result<u64> {
        self.db().execute(
            "UPDATE sends SET claimed_by = NULL, claim_batch = NULL, lease_until = NULL
             WHERE issue = $1 AND state = 'pending' AND lease_until IS NOT NULL
             AND (CAST($2 AS TEXT) IS NULL OR claimed_by = $2)",
            args![issue, sender],
        )
    }

    /// When the first live lease of another sender on a pending row of
    /// `issue` runs out (ms), if any such row is left.
    pub fn next_expiry(&self, issue: u32, sender: &str, now_ms: i64) -> Result<Option<i64>> {
        let row = self.db().query_one(
            "SELECT min(d.lease_until) FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = $1 AND d.state = 'pending' AND s.status = 'active'
             AND d.lease_until >= $3 AND d.claimed_by <> $2",
            args![issue, sender, now_ms],
        )?;
        Ok(row.opt_int(0))
    }

    /// Puts `issue`'s failed recipients who are still active back in the
    /// queue (after the cause was fixed); bounced addresses stay out. Returns
    /// how many were re-queued.
    pub fn retry_failed(&mut self, issue: u32, now: &str) -> Result<u64> {
        self.tx(|tx| {
            let requeued = tx.execute(
                "UPDATE sends SET state = 'pending', updated_at = $2, claimed_by = NULL, claim_batch = NULL,
                 lease_until = NULL
                 WHERE issue = $1 AND state = 'failed'
                 AND subscriber_id IN (SELECT id FROM subscribers WHERE status = 'active')",
                args![issue, now],
            )?;
            if requeued > 0 {
                tx.execute("UPDATE issue_runs SET finished_at = NULL WHERE issue = $1", args![issue])?;
            }
            Ok(requeued)
        })
    }

    /// Records outcomes at once (group commit of the send workers): one
    /// statement for the ledger rows, so one round trip to PostgreSQL when no
    /// address bounced; `sender` handled them. A row already sent stays sent.
    pub fn record(&mut self, issue: u32, outcomes: &[(i64, u32, Outcome)], sender: &str, now: &str) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let bounced: Vec<i64> =
            outcomes.iter().filter(|(_, _, o)| matches!(o, Outcome::Bounced { .. })).map(|(id, _, _)| *id).collect();
        fn fields(outcome: &Outcome) -> (&'static str, &str, Option<&str>) {
            match outcome {
                Outcome::Sent { reply, relay } => ("sent", reply, relay.as_deref()),
                Outcome::Failed { reply } | Outcome::Bounced { reply } => ("failed", reply, None),
            }
        }
        let postgres = self.db().dialect() == Dialect::Postgres;
        self.tx(|tx| {
            for id in &bounced {
                tx.execute(
                    "UPDATE subscribers SET status = 'bounced', status_at = $2, status_by = 'smtp'
                     WHERE id = $1 AND status = 'active'",
                    args![*id, now],
                )?;
            }
            if !postgres {
                // SQLite: one short statement, prepared once for the run, per
                // outcome; a statement naming a group of a varying size would
                // be parsed again for almost every group.
                for (id, attempts, outcome) in outcomes {
                    let (state, reply, relay) = fields(outcome);
                    tx.execute(
                        "UPDATE sends SET state = $3, reply = $4, attempts = attempts + $5, relay = $6,
                         updated_at = $7, sent_by = $8, claimed_by = NULL, claim_batch = NULL, lease_until = NULL
                         WHERE issue = $1 AND subscriber_id = $2 AND state <> 'sent'",
                        args![issue, *id, state, reply, *attempts, relay, now, sender],
                    )?;
                }
                return Ok(());
            }
            // PostgreSQL: the whole group in one statement (one round trip).
            let mut rows = Vec::with_capacity(outcomes.len());
            let mut values: Vec<Value> = vec![issue.into(), now.into(), sender.into()];
            for (id, attempts, outcome) in outcomes {
                let (state, reply, relay) = fields(outcome);
                let at = values.len();
                rows.push(format!(
                    "(CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS TEXT))",
                    at + 1,
                    at + 2,
                    at + 3,
                    at + 4,
                    at + 5
                ));
                values.extend([Value::from(*id), state.into(), reply.into(), (*attempts).into(), relay.into()]);
            }
            let ledger = format!(
                "UPDATE sends SET state = v.column2, reply = v.column3, attempts = sends.attempts + v.column4,
                 relay = v.column5,
                 updated_at = $2, sent_by = $3, claimed_by = NULL, claim_batch = NULL, lease_until = NULL
                 FROM (VALUES {}) AS v WHERE sends.issue = $1 AND sends.subscriber_id = v.column1 AND sends.state <> 'sent'",
                rows.join(", ")
            );
            tx.execute(&ledger, &values)?;
            Ok(())
        })
    }

    /// Makes this connection the send ledger's. Its commits are as durable as
    /// SQLite's WAL with `synchronous=NORMAL`, for the acknowledgements: safe
    /// against the sender dying; a crash of the database server (or a power
    /// cut) could forget the last fraction of a second of acceptances, which
    /// then go twice. In PostgreSQL `synchronous_commit = off` for this
    /// session only; the list, imports and unsubscribes stay fully durable.
    ///
    /// On SQLite the connection also leaves out the CHECK on a send's state:
    /// [`Store::record`] writes only the states it names, and SQLite would
    /// build the set of allowed states as a table of its own for every
    /// outcome recorded.
    pub fn as_send_ledger(&mut self) -> Result<()> {
        let mut db = self.db();
        match db.dialect() {
            Dialect::Postgres => db.batch("SET synchronous_commit = off")?,
            Dialect::Sqlite => db.batch("PRAGMA ignore_check_constraints = ON")?,
        }
        Ok(())
    }

    /// Marks `issue` finished when nothing is left pending for active subscribers.
    pub fn finish_if_done(&mut self, issue: u32, now: &str) -> Result<bool> {
        let counts = self.counts(issue)?;
        if counts.pending == 0 {
            self.db().execute(
                "UPDATE issue_runs SET finished_at = $2 WHERE issue = $1 AND finished_at IS NULL",
                args![issue, now],
            )?;
        }
        Ok(counts.pending == 0)
    }

    /// The state of `issue`'s ledger.
    pub fn counts(&self, issue: u32) -> Result<IssueCounts> {
        let mut counts = IssueCounts::default();
        let mut db = self.db();
        let rows = db.query(
            "SELECT d.state, s.status = 'active', count(*) FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = $1 GROUP BY 1, 2",
            args![issue],
        )?;
        for row in rows {
            let n = row.int(2) as u64;
            match (row.text(0).as_str(), row.bool(1)) {
                ("sent", _) => counts.sent += n,
                ("failed", _) => counts.failed += n,
                (_, true) => counts.pending += n,
                (_, false) => counts.skipped += n,
            }
        }
        counts.not_started = db
            .query_one(
                "SELECT count(*) FROM subscribers s WHERE s.status = 'active'
                 AND NOT EXISTS (SELECT 1 FROM sends d WHERE d.issue = $1 AND d.subscriber_id = s.id)",
                args![issue],
            )?
            .int(0) as u64;
        if let Some(row) =
            db.query_opt("SELECT started_at, finished_at FROM issue_runs WHERE issue = $1", args![issue])?
        {
            counts.started_at = row.opt_text(0);
            counts.finished_at = row.opt_text(1);
        }
        counts.senders = db
            .query(
                "SELECT COALESCE(sent_by, ''), count(*) FROM sends WHERE issue = $1 AND state = 'sent'
                 GROUP BY 1 ORDER BY 2 DESC, 1",
                args![issue],
            )?
            .iter()
            .map(|r| SenderShare { sender: r.text(0), sent: r.int(1) as u64 })
            .collect();
        Ok(counts)
    }

    /// How many of `issue`'s messages each relay accepted (sends through
    /// several relays only), by name.
    pub fn relay_counts(&self, issue: u32) -> Result<Vec<(String, u64)>> {
        let rows = self.db().query(
            "SELECT relay, count(*) FROM sends WHERE issue = $1 AND state = 'sent' AND relay IS NOT NULL
             GROUP BY relay ORDER BY relay",
            args![issue],
        )?;
        Ok(rows.iter().map(|r| (r.text(0), r.int(1) as u64)).collect())
    }

    /// Records that `kind` was said about `issue`; true the first time only
    /// (so cron warns about a stale issue once, not every minute).
    pub fn note_once(&mut self, issue: u32, kind: &str, now: &str) -> Result<bool> {
        let added = self.db().execute(
            "INSERT INTO notes (issue, kind, at) VALUES ($1, $2, $3) ON CONFLICT (issue, kind) DO NOTHING",
            args![issue, kind, now],
        )?;
        Ok(added > 0)
    }

    /// The issues whose send started and has not finished, in order.
    pub fn unfinished_issues(&self) -> Result<Vec<u32>> {
        let rows = self.db().query("SELECT issue FROM issue_runs WHERE finished_at IS NULL ORDER BY issue", &[])?;
        Ok(rows.iter().map(|r| r.int(0) as u32).collect())
    }

    /// The failed recipients of `issue` with the server's reply.
    pub fn failures(&self, issue: u32) -> Result<Vec<(String, String)>> {
        let rows = self.db().query(
            "SELECT s.email, COALESCE(d.reply, '') FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = $1 AND d.state = 'failed' ORDER BY s.id",
            args![issue],
        )?;
        Ok(rows.iter().map(|r| (r.text(0), r.text(1))).collect())
    }
}

/// The statement that claims a batch (see [`Store::claim`]).
fn claim_sql(dialect: Dialect) -> String {
    // SQLite's planner would walk the primary key from the first
    // recipient and skip every row already sent: each claim would cost
    // as much as the send's progress (110 ms at 700,000 sent). The
    // partial index of pending rows starts at the next one.
    let (skip_locked, pending_rows) = match dialect {
        Dialect::Postgres => ("FOR UPDATE OF d SKIP LOCKED", ""),
        Dialect::Sqlite => ("", "INDEXED BY sends_pending"),
    };
    format!(
        "UPDATE sends SET claimed_by = $2, claim_batch = $3, lease_until = $4
         WHERE issue = $1 AND subscriber_id IN (
             SELECT d.subscriber_id FROM sends d {pending_rows} JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = $1 AND d.state = 'pending' AND s.status = 'active'
             AND (d.lease_until IS NULL OR d.lease_until < $5)
             ORDER BY d.subscriber_id LIMIT $6 {skip_locked})
         RETURNING subscriber_id"
    )
}

/// How long a process waits for another one holding the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Puts the database in WAL mode. SQLite answers "locked" at once, without
/// waiting, while another process has it out of WAL mode (an import into an
/// empty list, see [`direct::journal_alone`]): this waits for it as the busy
/// timeout would, then says which file and what to do.
fn wal_mode(conn: &rusqlite::Connection, path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => anyhow::bail!("{}: cannot use WAL mode (it stays in {mode} mode)", path.display()),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) if is_busy(&e) => {
                return Err(e).with_context(|| {
                    format!(
                        "{}: another publish process (an import?) has held it for {}s: run this again when it ends",
                        path.display(),
                        BUSY_TIMEOUT.as_secs()
                    )
                });
            }
            Err(e) => return Err(e).with_context(|| format!("{}: cannot use WAL mode", path.display())),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn open_sqlite(path: &Path) -> Result<rusqlite::Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let conn = rusqlite::Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    wal_mode(&conn, path)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Brings the schema up to date in one transaction that takes the write lock
/// first: a process killed during it leaves the schema it found (never a
/// half-migrated one), and processes opening one database at once migrate it
/// once, the others waiting (busy timeout) and finding it done.
fn migrate_sqlite(conn: &mut rusqlite::Connection, name: &str) -> Result<()> {
    let version = schema_version(conn)?;
    anyhow::ensure!(
        version <= MIGRATIONS.len(),
        "{name} was written by a newer Masthead (schema {version}, this publish knows {}): upgrade publish",
        MIGRATIONS.len()
    );
    if version == MIGRATIONS.len() {
        return Ok(());
    }
    // A step may rebuild a table the ledger refers to; the references are
    // checked before the steps commit instead (SQLite's own procedure).
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = migrate_locked(conn, name);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated
}

fn schema_version(conn: &rusqlite::Connection) -> Result<usize> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize)
}

fn migrate_locked(conn: &mut rusqlite::Connection, name: &str) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .with_context(|| format!("{name}: cannot lock it to bring its schema up to date"))?;
    // Another process may have migrated it while this one waited for the lock.
    let version = schema_version(&tx)?;
    if version >= MIGRATIONS.len() {
        return Ok(());
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(step).with_context(|| format!("{name}: migration {} failed", i + 1))?;
        if *step == audience::CANONICAL_ADDRESSES {
            audience::canonical_addresses(&tx).with_context(|| format!("{name}: migration {} failed", i + 1))?;
        }
        let broken: Option<String> = {
            let mut stmt = tx.prepare("PRAGMA foreign_key_check")?;
            let mut rows = stmt.query([])?;
            rows.next()?.map(|r| r.get(0)).transpose()?
        };
        anyhow::ensure!(
            broken.is_none(),
            "{name}: migration {} left rows in {} pointing nowhere",
            i + 1,
            broken.unwrap_or_default()
        );
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// A row to import.
#[cfg(test)]
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
    conn: &'a mut Conn,
    /// The order rows were gathered in.
    seq: i64,
    any_forgotten: bool,
    /// The list had no one when the import began (so every row is new to it).
    list_was_empty: bool,
    /// How many of the gathered rows are people to mail, and how many of
    /// those were forgotten.
    active: u64,
    forgotten: u64,
    /// Not yet committed: dropped, it rolls back.
    open: bool,
    /// How new people joined (with their line) and when.
    joined_by: String,
    now: String,
    /// Rows go straight into the list (see [`direct`]).
    direct: Option<direct::Direct>,
    /// The database is out of WAL mode for the import (see [`direct::journal_alone`]).
    journal_alone: bool,
    /// Some rows carry a record to restore (see [`Import::restore`]).
    restoring: bool,
}

impl Drop for Import<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.rollback();
        }
        if let Conn::Sqlite(c) = &mut *self.conn {
            direct::checks_back(c);
            if self.journal_alone {
                direct::journal_back(c);
            }
        }
    }
}

/// One row of an imported file.
pub enum ImportRow<'r> {
    /// Someone to mail, from `line` (0: not from a file), with their fields
    /// as JSON; `forgotten`: their address was forgotten (never imported again).
    Active { line: u64, email: &'r str, name: &'r str, fields: &'r str, forgotten: bool },
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
    pub fn is_forgotten(&mut self, hash: &str) -> Result<bool> {
        Ok(self.conn.query_opt("SELECT 1 FROM forgotten WHERE hash = $1", args![hash])?.is_some())
    }

    /// Gathers one row: the first with an address stays, unless a later one
    /// says not to mail them and it does not.
    pub fn add(&mut self, row: ImportRow) -> Result<Gathered> {
        let kind = row.kind();
        let (line, email, name, fields, status, at, by, reason, forgotten) = match row {
            ImportRow::Active { line, email, name, fields, forgotten } => {
                (line, email, name, fields, None, None, None, None, forgotten)
            }
            ImportRow::Suppressed { line, row } => (
                line,
                row.email.as_str(),
                "",
                "{}",
                Some(row.status.as_str()),
                Some(row.at.as_str()),
                Some(row.by.as_str()),
                Some(row.reason.as_str()),
                false,
            ),
            ImportRow::KeptOut { line, email } => (line, email, "", "{}", None, None, None, None, false),
        };
        // In the form the list compares (the file's reader gives it so already).
        let email = match email.is_ascii() {
            true => std::borrow::Cow::Borrowed(email.trim()),
            false => std::borrow::Cow::Owned(canonical(email)),
        };
        if let (Some(direct), Conn::Sqlite(conn)) = (self.direct.as_mut(), &mut *self.conn) {
            let row = direct::Gather { kind, line, email: &email, name, fields, status, at, by, reason, forgotten };
            return direct.add(conn, row, &mut self.active, &mut self.forgotten);
        }
        let key = email.to_lowercase();
        self.seq += 1;
        let params =
            args![key.as_str(), self.seq, line, kind, email.as_ref(), name, fields, status, at, by, reason, forgotten];
        let inserted = self.conn.execute(
            "INSERT INTO import_rows (key, seq, line, kind, email, name, fields, status, at, by, reason, forgotten)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (key) DO NOTHING",
            params,
        )?;
        if inserted == 1 {
            if kind == "a" {
                self.active += 1;
                self.forgotten += u64::from(forgotten);
            }
            return Ok(Gathered::First);
        }
        let found =
            self.conn.query_one("SELECT line, kind, forgotten FROM import_rows WHERE key = $1", args![key.as_str()])?;
        let (earlier, earlier_kind) = (found.int(0), found.text(1));
        if kind != "s" || earlier_kind == "s" {
            return Ok(Gathered::Duplicate { kept: earlier as u64 });
        }
        // It takes the earlier row's place, and its turn.
        self.conn.execute(
            "UPDATE import_rows SET line = $3, kind = $4, email = $5, name = $6, fields = $7, status = $8, at = $9,
             by = $10, reason = $11, forgotten = $12, joined = NULL, created = NULL, consent = NULL
             WHERE key = $1 AND $2 > 0",
            params,
        )?;
        if earlier_kind == "a" {
            self.active -= 1;
            self.forgotten -= u64::from(found.bool(2));
        }
        Ok(Gathered::Replaced { earlier: earlier as u64, kept_out: earlier_kind == "k" })
    }

    /// Keeps how the person of the row just added (the first with
    /// `email`, or one that took an earlier row's place) joined and their
    /// consent record, from our own export: if the import adds them, they
    /// join when and as the record says, with its events, instead of now.
    pub fn restore(&mut self, email: &str, record: &audience::Restored) -> Result<()> {
        let email = canonical(email);
        if let (Some(_), Conn::Sqlite(conn)) = (self.direct.as_ref(), &mut *self.conn) {
            return direct::restore(conn, &email, record);
        }
        self.conn.execute(
            "UPDATE import_rows SET joined = $2, created = $3, consent = $4, name = $5, fields = $6
             WHERE key = $1 AND kind <> 'k'",
            args![
                email.to_lowercase(),
                &record.joined_by,
                record.created_at.as_str(),
                record.consent.as_str(),
                record.name.as_str(),
                record.fields.as_str()
            ],
        )?;
        self.restoring = true;
        Ok(())
    }

    /// Applies the gathered rows and commits. The suppressed ones first: an
    /// unknown address is added with its status, so that a later list cannot
    /// add it; an active subscriber takes the status (`was_active` is told,
    /// in the file's order); one already not mailed keeps the status, time and
    /// source it has. Then the active ones: new addresses are added
    /// (`joined_by` and their line say how), known ones get their name and
    /// fields, and an unsubscribed, removed, bounced or complained address
    /// stays so: a re-import never revives it.
    pub fn finish(mut self, was_active: &mut dyn FnMut(u64, &str, Status, &str)) -> Result<ImportDone> {
        let tx = &mut *self.conn;
        let (joined_by, now) = (self.joined_by.as_str(), self.now.as_str());
        if let (Some(direct), Conn::Sqlite(conn)) = (self.direct.take(), &mut *tx) {
            // Everyone is written already, and no one was on the list to stop.
            let done = direct.finish(conn, self.active, self.forgotten)?;
            tx.commit()?;
            self.open = false;
            return Ok(done);
        }
        let mut done = ImportDone::default();
        let tally = tx.query(
            "SELECT t.status, s.status, count(*) FROM import_rows t
             LEFT JOIN subscribers s ON s.email = t.email WHERE t.kind = 's' GROUP BY 1, 2",
            &[],
        )?;
        for row in tally {
            let status = Status::parse(&row.text(0));
            let what = match row.opt_text(1).as_deref().map(Status::parse) {
                None => Suppressed::Added,
                Some(Status::Active) => Suppressed::WasActive,
                Some(before) => Suppressed::Already(before),
            };
            done.suppressed.push((status, what, row.int(2) as u64));
        }
        let stopped = tx.query(
            "SELECT t.line, t.email, t.status, t.reason FROM import_rows t
             JOIN subscribers s ON s.email = t.email WHERE t.kind = 's' AND s.status = 'active' ORDER BY t.seq",
            &[],
        )?;
        for row in stopped {
            was_active(row.int(0) as u64, &row.text(1), Status::parse(&row.text(2)), &row.text(3));
        }
        // The people to mail: new, known and mailed, or known and not mailed
        // (counted before anything changes; no address is both a row to
        // mail and a row not to). Into a list that was empty, all are new.
        done.forgotten = self.forgotten;
        // Known people whose name or fields the file changes are counted
        // too: a file imported again unchanged rewrites no one.
        let (mut changed, mut added) = (0, self.active - self.forgotten);
        if !self.list_was_empty {
            let tally = tx.query_one(
                "SELECT count(CASE WHEN s.status = 'active' THEN 1 END), count(s.status),
                     count(CASE WHEN s.status IS NOT NULL
                         AND (s.name IS DISTINCT FROM t.name OR s.fields IS DISTINCT FROM t.fields) THEN 1 END)
                 FROM import_rows t LEFT JOIN subscribers s ON s.email = t.email
                 WHERE t.kind = 'a' AND NOT t.forgotten",
                &[],
            )?;
            let known = tally.int(1) as u64;
            done.counts.updated = tally.int(0) as u64;
            done.counts.suppressed = known - done.counts.updated;
            changed = tally.int(2);
            added -= known;
        }
        // The people new to the list whose record the file has: their
        // record replaces the one their row starts (written after `since`).
        let since = match self.restoring {
            true => {
                tx.batch(
                    "UPDATE import_rows SET fresh = TRUE WHERE consent IS NOT NULL AND kind <> 'k' AND NOT forgotten
                         AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = import_rows.email)",
                )?;
                Some(tx.query_one("SELECT COALESCE(max(id), 0) FROM consent", &[])?.int(0))
            }
            false => None,
        };
        let stops = done.suppressed.iter().any(|(_, what, _)| *what == Suppressed::WasActive);
        let records = done.suppressed.iter().any(|(_, what, _)| *what == Suppressed::Added);
        if stops {
            tx.batch(
                "UPDATE subscribers SET status = t.status, status_at = t.at, status_by = t.by, status_reason = t.reason
                 FROM import_rows t WHERE t.kind = 's' AND subscribers.email = t.email AND subscribers.status = 'active'",
            )?;
        }
        if changed > 0 {
            tx.batch(
                "UPDATE subscribers SET name = t.name, fields = t.fields
                 FROM import_rows t WHERE t.kind = 'a' AND NOT t.forgotten AND subscribers.email = t.email
                     AND (subscribers.name IS DISTINCT FROM t.name OR subscribers.fields IS DISTINCT FROM t.fields)",
            )?;
        }
        if records {
            tx.execute(
                "INSERT INTO subscribers (email, name, fields, created_at, status, status_at, status_by, status_reason,
                     joined_by)
                 SELECT email, name, fields, COALESCE(created, $1), status, at, by, reason, joined FROM import_rows t
                 WHERE t.kind = 's' AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = t.email)
                 ORDER BY t.seq",
                args![now],
            )?;
        }
        if added > 0 {
            done.counts.added = tx.execute(
                "INSERT INTO subscribers (email, name, fields, created_at, joined_by)
                 SELECT email, name, fields, COALESCE(created, $1),
                     COALESCE(joined, CASE WHEN line > 0 THEN CAST($2 AS TEXT) || ':' || line ELSE $2 END)
                 FROM import_rows t
                 WHERE t.kind = 'a' AND NOT t.forgotten
                     AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = t.email)
                 ORDER BY t.seq",
                args![now, joined_by],
            )?;
        }
        if let Some(since) = since {
            tx.execute(
                "DELETE FROM consent WHERE id > $1 AND email IN (SELECT email FROM import_rows WHERE fresh)",
                args![since],
            )?;
            tx.batch(match tx.dialect() {
                Dialect::Sqlite => {
                    "INSERT INTO consent (email, at, event, how, detail)
                     SELECT t.email, json_extract(j.value, '$.at'), json_extract(j.value, '$.event'),
                         json_extract(j.value, '$.how'), json_extract(j.value, '$.detail')
                     FROM import_rows t, json_each(t.consent) j WHERE t.fresh ORDER BY t.seq, j.key"
                }
                Dialect::Postgres => {
                    "INSERT INTO consent (email, at, event, how, detail)
                     SELECT t.email, j.value->>'at', j.value->>'event', j.value->>'how', j.value->>'detail'
                     FROM import_rows t, jsonb_array_elements(t.consent::jsonb) WITH ORDINALITY AS j(value, n)
                     WHERE t.fresh ORDER BY t.seq, j.n"
                }
            })?;
        }
        tx.batch("DROP TABLE import_rows")?;
        tx.commit()?;
        self.open = false;
        Ok(done)
    }
}

pub(crate) fn row_to_subscriber(r: &Row) -> Subscriber {
    Subscriber {
        id: r.int(0),
        email: r.text(1),
        name: r.text(2),
        fields: serde_json::from_str(&r.text(3)).unwrap_or_default(),
        status: Status::parse(&r.text(4)),
        status_at: r.opt_text(5),
        status_by: r.opt_text(6),
    }
}

#[cfg(test)]
impl Store {
    /// Up to `limit` recipients of `issue` still pending and still active, after `after_id`.
    pub fn pending_page(&self, issue: u32, after_id: i64, limit: usize) -> Result<Vec<Subscriber>> {
        let rows = self.db().query(
            "SELECT s.id, s.email, s.name, s.fields, s.status, s.status_at, s.status_by
             FROM sends d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = $1 AND d.state = 'pending' AND s.status = 'active' AND s.id > $2
             ORDER BY s.id LIMIT $3",
            args![issue, after_id, limit],
        )?;
        Ok(rows.iter().map(row_to_subscriber).collect())
    }

    /// Adds or refreshes subscribers, as an import of them does.
    pub fn upsert_subscribers(&mut self, rows: &[NewSubscriber], joined_by: &str, now: &str) -> Result<UpsertCounts> {
        let mut import = self.begin_import(joined_by, now)?;
        for row in rows {
            let fields = serde_json::to_string(&row.fields)?;
            let (email, name) = (&row.email, &row.name);
            import.add(ImportRow::Active { line: row.line, email, name, fields: &fields, forgotten: false })?;
        }
        Ok(import.finish(&mut |_, _, _, _| ())?.counts)
    }

    /// Records the people an import says must not be mailed; what happened to each, in order.
    pub fn record_suppressions(&mut self, rows: &[Suppression], now: &str) -> Result<Vec<Suppressed>> {
        let before: Vec<Option<Status>> = rows.iter().map(|r| self.status_of(&r.email)).collect::<Result<_>>()?;
        let mut import = self.begin_import("test", now)?;
        for (line, row) in rows.iter().enumerate() {
            import.add(ImportRow::Suppressed { line: line as u64 + 1, row })?;
        }
        import.finish(&mut |_, _, _, _| ())?;
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
        testdb::each_store(ledger_sends_each_subscriber_once);
    }

    fn ledger_sends_each_subscriber_once(mut store: Store) {
        let counts = store
            .upsert_subscribers(&[sub("a@example.com"), sub("b@example.com"), sub("c@example.com")], "test", "t0")
            .unwrap();
        assert_eq!(counts.added, 3);
        assert_eq!(store.enrol(9, false, "t1").unwrap(), 3);
        let page = store.pending_page(9, 0, 10).unwrap();
        assert_eq!(page.len(), 3);
        store.record(9, &[(page[0].id, 1, Outcome::Sent { reply: "250 ok".into(), relay: None })], "a", "t2").unwrap();
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
        store.record(9, &[(page[0].id, 1, Outcome::Failed { reply: "550".into() })], "a", "t5").unwrap();
        let first = store.list_all().unwrap().into_iter().find(|s| s.status == Status::Active).unwrap().id;
        store.record(9, &[(first, 1, Outcome::Failed { reply: "550".into() })], "a", "t5").unwrap();
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
        let r = store
            .db()
            .query_one(
                "SELECT status, status_at, status_by, status_reason FROM subscribers WHERE email = $1",
                args![email],
            )
            .unwrap();
        (r.text(0), r.opt_text(1), r.opt_text(2), r.opt_text(3))
    }

    #[test]
    fn imported_suppressions_add_strangers_stop_subscribers_and_keep_earlier_records() {
        testdb::each_store(imported_suppressions);
    }

    fn imported_suppressions(mut store: Store) {
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
    fn import_counts_hold_when_a_refusal_replaces_a_forgotten_or_kept_out_row() {
        testdb::each_store(import_counts_with_replacements);
    }

    fn import_counts_with_replacements(mut store: Store) {
        let active = |line, email, forgotten| ImportRow::Active { line, email, name: "", fields: "{}", forgotten };
        let refusal = |email: &str| suppression(email, Status::Unsubscribed, 9);
        let (gone_no, kept_no) = (refusal("GONE@example.com"), refusal("kept@example.com"));
        // Into an empty list: a forgotten row and a kept-out one, each replaced by a refusal.
        let mut import = store.begin_import("import:list.csv", "t0").unwrap();
        assert_eq!(import.add(active(2, "gone@example.com", true)).unwrap(), Gathered::First);
        assert_eq!(import.add(ImportRow::KeptOut { line: 3, email: "kept@example.com" }).unwrap(), Gathered::First);
        assert_eq!(import.add(active(4, "new@example.com", false)).unwrap(), Gathered::First);
        let replaced = import.add(ImportRow::Suppressed { line: 5, row: &gone_no }).unwrap();
        assert_eq!(replaced, Gathered::Replaced { earlier: 2, kept_out: false });
        let replaced = import.add(ImportRow::Suppressed { line: 6, row: &kept_no }).unwrap();
        assert_eq!(replaced, Gathered::Replaced { earlier: 3, kept_out: true });
        let done = import.finish(&mut |_, _, _, _| ()).unwrap();
        assert_eq!((done.counts.added, done.counts.updated, done.counts.suppressed, done.forgotten), (1, 0, 0, 0));
        assert_eq!(done.suppressed, [(Status::Unsubscribed, Suppressed::Added, 2)]);
        assert_eq!(store.count_active().unwrap(), 1);
        // Into a list with people: known, known and not mailed, forgotten, new.
        let mut import = store.begin_import("import:list.csv", "t1").unwrap();
        let rows = [
            ("NEW@example.com", false),
            ("kept@example.com", false),
            ("x@example.com", true),
            ("y@example.com", false),
        ];
        for (line, (email, forgotten)) in rows.into_iter().enumerate() {
            assert_eq!(import.add(active(line as u64 + 2, email, forgotten)).unwrap(), Gathered::First);
        }
        let done = import.finish(&mut |_, _, _, _| ()).unwrap();
        assert_eq!((done.counts.added, done.counts.updated, done.counts.suppressed, done.forgotten), (1, 1, 1, 1));
        assert!(done.suppressed.is_empty());
        assert_eq!(store.status_of("y@example.com").unwrap(), Some(Status::Active));
        assert_eq!(store.status_of("x@example.com").unwrap(), None);
        assert_eq!(store.status_of("kept@example.com").unwrap(), Some(Status::Unsubscribed));
        assert_eq!(store.count_active().unwrap(), 2);
        // Again, with one name changed: only that one is written.
        let mut import = store.begin_import("import:list.csv", "t2").unwrap();
        let renamed = ImportRow::Active { line: 2, email: "y@example.com", name: "Y", fields: "{}", forgotten: false };
        assert_eq!(import.add(renamed).unwrap(), Gathered::First);
        assert_eq!(import.add(active(3, "new@example.com", false)).unwrap(), Gathered::First);
        let done = import.finish(&mut |_, _, _, _| ()).unwrap();
        assert_eq!((done.counts.added, done.counts.updated, done.counts.suppressed), (0, 2, 0));
        let names: Vec<(String, String)> = store.list_all().unwrap().into_iter().map(|s| (s.email, s.name)).collect();
        assert!(names.contains(&("y@example.com".into(), "Y".into())), "{names:?}");
        assert!(names.contains(&("new@example.com".into(), String::new())), "{names:?}");
    }

    #[test]
    fn a_schema_2_database_gains_complaints_and_keeps_its_ledger() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
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
        let mut store = Store::open(&Location::sqlite_in(dir.path())).unwrap();
        let version = store.db().query_one("PRAGMA user_version", &[]).unwrap().int(0);
        assert_eq!(version as usize, MIGRATIONS.len());
        let counts = store.counts(9).unwrap();
        assert_eq!((counts.sent, counts.failed), (1, 1));
        assert_eq!(store.failures(9).unwrap(), [("b@example.com".to_string(), String::new())]);
        assert!(store.set_status("a@example.com", Status::Complained, "fbl", "t2").unwrap());
        assert_eq!(store.status_of("A@example.com").unwrap(), Some(Status::Complained));
        // The ledger's references are enforced again after the rebuild.
        assert_eq!(store.db().query_one("PRAGMA foreign_keys", &[]).unwrap().int(0), 1);
        assert!(
            store
                .db()
                .execute(
                    "INSERT INTO sends (issue, subscriber_id, state, updated_at) VALUES (10, 999, 'sent', 't')",
                    &[]
                )
                .is_err()
        );
    }

    #[test]
    fn the_ledger_counts_what_each_relay_accepted() {
        testdb::each_store(the_ledger_counts_relays);
    }

    fn the_ledger_counts_relays(mut store: Store) {
        store
            .upsert_subscribers(&[sub("a@example.com"), sub("b@example.com"), sub("c@example.com")], "t", "t0")
            .unwrap();
        store.enrol(9, false, "t1").unwrap();
        let ids: Vec<i64> = store.pending_page(9, 0, 10).unwrap().iter().map(|s| s.id).collect();
        let sent = |relay: &str| Outcome::Sent { reply: "250 ok".into(), relay: Some(relay.into()) };
        store
            .record(
                9,
                &[(ids[0], 1, sent("ses-eu")), (ids[1], 1, sent("ses-eu")), (ids[2], 2, sent("postmark"))],
                "a",
                "t2",
            )
            .unwrap();
        assert_eq!(store.relay_counts(9).unwrap(), [("postmark".to_string(), 1), ("ses-eu".to_string(), 2)]);
        assert!(store.relay_counts(10).unwrap().is_empty());
    }

    #[test]
    fn a_resumed_send_keeps_its_audience_unless_extended() {
        testdb::each_store(a_resumed_send_keeps_its_audience);
    }

    fn a_resumed_send_keeps_its_audience(mut store: Store) {
        store.upsert_subscribers(&[sub("a@example.com")], "test", "t0").unwrap();
        store.enrol(9, false, "t1").unwrap();
        store.upsert_subscribers(&[sub("late@example.com")], "test", "t2").unwrap();
        assert_eq!(store.enrol(9, false, "t3").unwrap(), 0);
        assert_eq!(store.counts(9).unwrap().not_started, 1);
        assert_eq!(store.enrol(9, true, "t4").unwrap(), 1);
    }
}

/// Stores for tests: SQLite in a temporary folder, and a fresh database on
/// the PostgreSQL server that scripts/test starts.
#[cfg(test)]
pub(crate) mod testdb {
    use super::{Location, Store, pg};

    /// A new, empty database on the test server (`MASTHEAD_TEST_DATABASE_URL`).
    /// Missing, the test fails: scripts/test starts the server and sets it.
    pub fn fresh_postgres() -> Location {
        let url = std::env::var("MASTHEAD_TEST_DATABASE_URL").expect(
            "MASTHEAD_TEST_DATABASE_URL is not set: run the tests through scripts/test, which starts a PostgreSQL server",
        );
        let mut admin = pg::connect(&url).expect("the test PostgreSQL server answers");
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).unwrap();
        let name = format!("t_{}", crate::text::hex(&bytes));
        admin.batch(&format!("CREATE DATABASE {name}")).unwrap();
        let mut parsed = url::Url::parse(&url).unwrap();
        parsed.set_path(&format!("/{name}"));
        Location::Postgres(parsed.to_string())
    }

    /// Runs `scenario` on a new SQLite store, then on a new PostgreSQL one.
    pub fn each_store(scenario: impl Fn(Store)) {
        let dir = tempfile::tempdir().unwrap();
        scenario(Store::open(&Location::sqlite_in(dir.path())).unwrap());
        scenario(Store::open(&fresh_postgres()).unwrap());
    }
}

#[cfg(test)]
mod lease_tests {
    use super::*;

    fn people(store: &mut Store, n: usize) {
        let rows: Vec<NewSubscriber> = (0..n)
            .map(|i| NewSubscriber {
                email: format!("p{i}@example.com"),
                name: String::new(),
                fields: BTreeMap::new(),
                line: 0,
            })
            .collect();
        store.upsert_subscribers(&rows, "test", "t0").unwrap();
    }

    fn sent(reply: &str) -> Outcome {
        Outcome::Sent { reply: reply.into(), relay: None }
    }

    #[test]
    fn two_senders_claim_disjoint_batches_and_a_dead_senders_rows_come_back_after_its_lease() {
        let location = testdb::fresh_postgres();
        let mut a = Store::open(&location).unwrap();
        let mut b = Store::open(&location).unwrap();
        people(&mut a, 10);
        a.enrol(9, false, "t1").unwrap();
        b.enrol(9, false, "t1").unwrap();
        let now = 1_000_000;
        let mine = a.claim(9, "a", 1, 4, now, now + 60_000).unwrap();
        let theirs = b.claim(9, "b", 1, 4, now, now + 60_000).unwrap();
        assert_eq!((mine.len(), theirs.len()), (4, 4));
        assert!(mine.iter().all(|m| theirs.iter().all(|t| t.id != m.id)), "no row is claimed twice");
        // a sends two and dies; its other two stay leased to it.
        a.record(9, &[(mine[0].id, 1, sent("250 a")), (mine[1].id, 1, sent("250 a"))], "a", "t2").unwrap();
        let rest = b.claim(9, "b", 2, 10, now + 1, now + 60_000).unwrap();
        assert_eq!(rest.len(), 2, "only the unclaimed rows: {rest:?}");
        assert_eq!(b.next_expiry(9, "b", now + 1).unwrap(), Some(now + 60_000));
        // After a's lease (b renewed its own), a's two unsent rows are b's to send.
        b.renew(9, "b", now + 120_000).unwrap();
        let back = b.claim(9, "b", 3, 10, now + 60_001, now + 120_000).unwrap();
        assert_eq!(back.iter().map(|s| s.id).collect::<Vec<_>>(), [mine[2].id, mine[3].id]);
        let all: Vec<(i64, u32, Outcome)> =
            theirs.iter().chain(&rest).chain(&back).map(|s| (s.id, 1, sent("250 b"))).collect();
        b.record(9, &all, "b", "t3").unwrap();
        let counts = b.counts(9).unwrap();
        assert_eq!((counts.sent, counts.pending), (10, 0));
        let shares: Vec<(String, u64)> = counts.senders.into_iter().map(|s| (s.sender, s.sent)).collect();
        assert_eq!(shares, [("b".to_string(), 8), ("a".to_string(), 2)]);
        assert_eq!(b.next_expiry(9, "b", now + 60_001).unwrap(), None);
    }

    /// A claim's work must not grow with the rows already sent: at a million
    /// subscribers a claim that read past them cost 110 ms and capped the
    /// send. Counted in SQLite's own virtual-machine steps of the statement,
    /// not timed: a claim of 100 late in a send does about what the first does.
    #[test]
    fn a_claim_late_in_a_send_reads_the_next_pending_rows_not_every_row_sent_before_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&Location::sqlite_in(dir.path())).unwrap();
        people(&mut store, 6000);
        store.enrol(9, false, "t1").unwrap();
        store.enrol(10, false, "t1").unwrap();
        let done = store.claim(9, "a", 1, 5900, 0, 1_000).unwrap();
        let outcomes: Vec<(i64, u32, Outcome)> = done.iter().map(|s| (s.id, 1, sent("250 ok"))).collect();
        store.record(9, &outcomes, "a", "t2").unwrap();
        fn vm_steps(store: &Store, reset: bool) -> i32 {
            let sql = db::sqlite_text(&claim_sql(Dialect::Sqlite));
            match &*store.db() {
                db::Conn::Sqlite(conn) => {
                    let stmt = conn.prepare_cached(&sql).unwrap();
                    if reset {
                        stmt.reset_status(rusqlite::StatementStatus::VmStep)
                    } else {
                        stmt.get_status(rusqlite::StatementStatus::VmStep)
                    }
                }
                db::Conn::Postgres { .. } => unreachable!("a SQLite store"),
            }
        }
        let steps = |store: &mut Store, issue: u32| {
            vm_steps(store, true);
            assert_eq!(store.claim(issue, "a", 2, 100, 0, 1_000).unwrap().len(), 100);
            vm_steps(store, false)
        };
        let first = steps(&mut store, 10);
        let late = steps(&mut store, 9);
        assert!(first > 0);
        assert!(late < first * 2, "a claim after 5,900 sent took {late} steps, the first one {first}");
    }

    #[test]
    fn a_renewed_lease_keeps_rows_and_a_released_one_gives_them_back() {
        testdb::each_store(|mut store| {
            people(&mut store, 3);
            store.enrol(9, false, "t1").unwrap();
            let held = store.claim(9, "a", 1, 3, 0, 1_000).unwrap();
            assert_eq!(held.len(), 3);
            store.renew(9, "a", 5_000).unwrap();
            assert!(store.claim(9, "b", 1, 3, 2_000, 10_000).unwrap().is_empty(), "renewed: still a's");
            assert_eq!(store.release(9, Some("a")).unwrap(), 3);
            assert_eq!(store.claim(9, "b", 2, 3, 2_000, 10_000).unwrap().len(), 3);
        });
    }

    #[test]
    fn a_database_newer_than_this_publish_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Location::sqlite_in(dir.path());
        drop(Store::open(&sqlite).unwrap());
        rusqlite::Connection::open(db_path(dir.path()))
            .unwrap()
            .pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        let postgres = testdb::fresh_postgres();
        Store::open(&postgres).unwrap().db().execute("UPDATE schema_version SET version = version + 1", &[]).unwrap();
        for location in [sqlite, postgres] {
            for error in [Store::open(&location).err(), Store::open_read_only(&location).err()] {
                let error = format!("{:#}", error.expect("refused"));
                assert!(error.contains(&format!("schema {}", MIGRATIONS.len() + 1)), "{error}");
                assert!(error.contains("upgrade publish"), "{error}");
            }
        }
    }

    #[test]
    fn every_sqlite_migration_has_its_postgres_port() {
        assert_eq!(MIGRATIONS.len(), pg::MIGRATIONS.len());
    }

    #[test]
    fn the_state_copies_from_sqlite_to_postgres_and_back_with_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Store::open(&Location::sqlite_in(dir.path())).unwrap();
        people(&mut first, 5);
        first.set_status("p1@example.com", Status::Unsubscribed, "cli", "t1").unwrap();
        first.enrol(9, false, "t2").unwrap();
        let page = first.claim(9, "a", 1, 2, 0, 10).unwrap();
        first
            .record(9, &[(page[0].id, 1, Outcome::Sent { reply: "250".into(), relay: Some("ses".into()) })], "a", "t3")
            .unwrap();
        first.note_once(9, "late", "t3").unwrap();
        let audience::SignupOutcome::ConfirmationQueued(_) = first
            .signup(
                &audience::SignupRequest { email: "new@example.com".into(), ..Default::default() },
                false,
                true,
                "t4",
                1,
                99,
            )
            .unwrap()
        else {
            panic!()
        };
        first.forget("p2@example.com", "hash2", "t5").unwrap();
        let pg = Store::open(&testdb::fresh_postgres()).unwrap();
        let mut pg = pg;
        let copied = copy::copy_state(&first, &mut pg, false).unwrap();
        assert!(copied.iter().any(|c| c.table == "consent" && c.rows == 5), "{copied:?}");
        // A second copy into a database that holds rows is refused, and changes nothing.
        let refused = copy::copy_state(&first, &mut pg, false).unwrap_err();
        assert!(format!("{refused:#}").contains("--replace"), "{refused:#}");
        let back_dir = tempfile::tempdir().unwrap();
        let mut back = Store::open(&Location::sqlite_in(back_dir.path())).unwrap();
        copy::copy_state(&pg, &mut back, false).unwrap();
        for table in ["subscribers", "sends", "issue_runs", "notes", "consent", "signups", "mail_queue", "forgotten"] {
            let dump = |s: &Store| {
                s.db()
                    .query(&format!("SELECT * FROM {table} ORDER BY 1, 2"), &[])
                    .unwrap()
                    .into_iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
            };
            assert_eq!(dump(&first), dump(&back), "{table} round-trips");
            assert_eq!(dump(&first).len(), dump(&pg).len(), "{table} in PostgreSQL");
        }
        assert_eq!(first.counts(9).unwrap().sent, pg.counts(9).unwrap().sent);
        // New rows in PostgreSQL take ids after the copied ones.
        let id = pg.add_subscriber("later@example.com", "", "cli", "t6").unwrap().unwrap();
        assert!(id > first.list_all().unwrap().iter().map(|s| s.id).max().unwrap());
    }
}

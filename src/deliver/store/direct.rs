//! An import into a list that has no one in it and no consent record (the
//! move from another service), on SQLite: each row goes straight into
//! `subscribers` (and, by the trigger, its consent row) as it is read, in one
//! transaction, instead of being gathered first. What a user sees is what the
//! gathering gives (the same rows kept, the same reports and counts), but
//! ids follow the file's lines: a suppressed row no longer gets its id before
//! the people to mail.
//!
//! The list's unique index finds a repeated address. Addresses compare as
//! the gathering compares them (lowercased, Unicode and all), which SQLite's
//! NOCASE does only for ASCII: so a row with a non-ASCII address, and a row
//! that takes its address without being written (kept out, or forgotten),
//! is also noted in a small temporary table of keys, looked up by every later
//! row once it has any.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, params};

use super::audience::Restored;
use super::{Gathered, ImportDone, Status, Suppressed};

/// Writes an import straight into an empty list.
pub(super) struct Direct {
    joined_by: String,
    now: String,
    /// The line each written row came from, by id.
    lines: Lines,
    /// How many rows the table of keys holds.
    keys: u64,
    /// The suppressed rows written, by status.
    suppressed: BTreeMap<&'static str, u64>,
}

/// One row, as [`super::Import::add`] has it.
pub(super) struct Gather<'r> {
    pub kind: &'static str,
    pub line: u64,
    pub email: &'r str,
    pub name: &'r str,
    pub fields: &'r str,
    pub status: Option<&'r str>,
    pub at: Option<&'r str>,
    pub by: Option<&'r str>,
    pub reason: Option<&'r str>,
    pub forgotten: bool,
}

/// The earlier row with an address.
struct Earlier {
    line: u64,
    kind: String,
    /// Its row in the list, when it was written.
    id: Option<i64>,
    forgotten: bool,
    /// Found in the table of keys.
    noted: bool,
}

/// Takes a SQLite database whose list is empty out of WAL mode for an
/// import, when no other connection has it open (else it stays in WAL mode):
/// then the rows, written once into the database file instead of into the
/// WAL and again by the checkpoint, take half the writing. The rollback
/// journal keeps the import all or nothing (a crash leaves a hot journal,
/// rolled back when the database is next opened, which puts it in WAL mode
/// again); `synchronous=FULL` keeps it so across a power cut. Meanwhile
/// another process opening the database waits (its busy timeout) until the
/// import ends, instead of reading the list as it was.
pub(super) fn journal_alone(conn: &rusqlite::Connection) -> Result<bool> {
    let empty: bool = conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM subscribers) AND NOT EXISTS (SELECT 1 FROM consent)",
        [],
        |r| r.get(0),
    )?;
    if !empty {
        return Ok(false);
    }
    // Refused (locked) while any other connection has the database open.
    let mode = conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0));
    if !mode.is_ok_and(|mode| mode.eq_ignore_ascii_case("delete")) {
        return Ok(false);
    }
    if let Err(e) = conn.pragma_update(None, "synchronous", "FULL") {
        journal_back(conn);
        return Err(e.into());
    }
    Ok(true)
}

/// Puts the database back in WAL mode after [`journal_alone`]. Should that
/// fail, the next connection to open it does it.
pub(super) fn journal_back(conn: &rusqlite::Connection) {
    let _ = conn.pragma_update(None, "journal_mode", "WAL");
    let _ = conn.pragma_update(None, "synchronous", "NORMAL");
}

/// The CHECK constraints again after [`Direct::begin`] (also when the import fails).
pub(super) fn checks_back(conn: &rusqlite::Connection) {
    let _ = conn.pragma_update(None, "ignore_check_constraints", false);
}

impl Direct {
    /// Starts writing rows straight into the list. The list's CHECK on a
    /// status is left out while it runs (every status written here is one
    /// of [`crate::deliver::store::Status`]'s): SQLite builds the set of
    /// allowed statuses anew for each row checked, a table of its own, which
    /// was a tenth of the import's writing. [`checks_back`] puts it back.
    pub(super) fn begin(conn: &rusqlite::Connection, joined_by: &str, now: &str) -> Result<Direct> {
        conn.execute_batch(
            "DROP TABLE IF EXISTS import_keys;
             CREATE TEMP TABLE import_keys (
                 key        TEXT PRIMARY KEY,
                 line       INTEGER NOT NULL,
                 kind       TEXT NOT NULL,
                 id         INTEGER,
                 forgotten  INTEGER NOT NULL
             ) WITHOUT ROWID;
             PRAGMA ignore_check_constraints = ON;",
        )?;
        Ok(Direct {
            joined_by: joined_by.to_string(),
            now: now.to_string(),
            lines: Lines::default(),
            keys: 0,
            suppressed: BTreeMap::new(),
        })
    }

    /// Writes one row, or says which earlier row has its address. `active`
    /// and `forgotten` count the rows to mail gathered so far.
    pub(super) fn add(
        &mut self,
        conn: &rusqlite::Connection,
        row: Gather,
        active: &mut u64,
        forgotten: &mut u64,
    ) -> Result<Gathered> {
        let ascii = row.email.is_ascii();
        let key = (self.keys > 0 || !ascii).then(|| row.email.to_lowercase());
        let mut earlier = None;
        if let Some(key) = &key {
            if self.keys > 0 {
                earlier = self.noted(conn, key)?;
            }
            // An ASCII address may have the same lowercase (K, KELVIN SIGN).
            if earlier.is_none() && !ascii && key.is_ascii() {
                earlier = self.in_list(conn, key)?;
            }
        }
        let writes = row.kind == "s" || (row.kind == "a" && !row.forgotten);
        let earlier = match earlier {
            Some(earlier) => earlier,
            None => {
                if writes && let Some(id) = self.write(conn, &row)? {
                    if !ascii {
                        self.note(conn, key.as_deref().unwrap_or_default(), &row, Some(id))?;
                    }
                    self.count(&row, active, forgotten);
                    return Ok(Gathered::First);
                }
                match self.in_list(conn, row.email)? {
                    Some(earlier) => earlier,
                    None if writes => bail!("{} was neither written nor found in the list", row.email),
                    None => {
                        self.note(conn, &key.unwrap_or_else(|| row.email.to_lowercase()), &row, None)?;
                        self.count(&row, active, forgotten);
                        return Ok(Gathered::First);
                    }
                }
            }
        };
        if row.kind != "s" || earlier.kind == "s" {
            return Ok(Gathered::Duplicate { kept: earlier.line });
        }
        // A refusal takes the place of the earlier row, which is unwritten.
        if let Some(id) = earlier.id {
            conn.prepare_cached("DELETE FROM consent WHERE email = (SELECT email FROM subscribers WHERE id = ?1)")?
                .execute([id])?;
            conn.prepare_cached("DELETE FROM subscribers WHERE id = ?1")?.execute([id])?;
        }
        if earlier.kind == "a" {
            *active -= 1;
            *forgotten -= u64::from(earlier.forgotten);
        }
        let Some(id) = self.write(conn, &row)? else { bail!("{} could not be written", row.email) };
        if earlier.noted || !ascii {
            self.note(conn, &key.unwrap_or_else(|| row.email.to_lowercase()), &row, Some(id))?;
        }
        self.count(&row, active, forgotten);
        Ok(Gathered::Replaced { earlier: earlier.line, kept_out: earlier.kind == "k" })
    }

    /// What the import did: every row is written already.
    pub(super) fn finish(self, conn: &rusqlite::Connection, active: u64, forgotten: u64) -> Result<ImportDone> {
        conn.execute_batch("DROP TABLE import_keys")?;
        let mut done = ImportDone::default();
        done.counts.added = active - forgotten;
        done.forgotten = forgotten;
        done.suppressed =
            self.suppressed.into_iter().map(|(status, n)| (Status::parse(status), Suppressed::Added, n)).collect();
        Ok(done)
    }

    fn count(&mut self, row: &Gather, active: &mut u64, forgotten: &mut u64) {
        match row.kind {
            "a" => {
                *active += 1;
                *forgotten += u64::from(row.forgotten);
            }
            "s" => *self.suppressed.entry(Status::parse(row.status.unwrap_or_default()).as_str()).or_default() += 1,
            _ => {}
        }
    }

    /// Inserts the row into the list; its id, or `None` when an address
    /// the same but for ASCII case is there.
    fn write(&mut self, conn: &rusqlite::Connection, row: &Gather) -> Result<Option<i64>> {
        let changed = if row.kind == "a" {
            let joined_by = match row.line {
                0 => self.joined_by.clone(),
                line => format!("{}:{line}", self.joined_by),
            };
            conn.prepare_cached(
                "INSERT OR IGNORE INTO subscribers (email, name, fields, created_at, joined_by)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![row.email, row.name, row.fields, self.now, joined_by])?
        } else {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO subscribers (email, created_at, status, status_at, status_by, status_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![row.email, self.now, row.status, row.at, row.by, row.reason])?
        };
        if changed == 0 {
            return Ok(None);
        }
        let id = conn.last_insert_rowid();
        self.lines.record(id, row.line);
        Ok(Some(id))
    }

    /// Notes `key` as taken by `row` (written as `id`, or not written).
    fn note(&mut self, conn: &rusqlite::Connection, key: &str, row: &Gather, id: Option<i64>) -> Result<()> {
        let changed = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO import_keys (key, line, kind, id, forgotten) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![key, row.line as i64, row.kind, id, row.forgotten])?;
        self.keys += changed as u64;
        Ok(())
    }

    /// The row noted with `key`.
    fn noted(&self, conn: &rusqlite::Connection, key: &str) -> Result<Option<Earlier>> {
        let found = conn
            .prepare_cached("SELECT line, kind, id, forgotten FROM import_keys WHERE key = ?1")?
            .query_row([key], |r| {
                Ok(Earlier {
                    line: r.get::<_, i64>(0)? as u64,
                    kind: r.get(1)?,
                    id: r.get(2)?,
                    forgotten: r.get(3)?,
                    noted: true,
                })
            })
            .optional()?;
        Ok(found)
    }

    /// The row of the list with `email` (compared as the list does).
    fn in_list(&self, conn: &rusqlite::Connection, email: &str) -> Result<Option<Earlier>> {
        let found = conn
            .prepare_cached("SELECT id, status FROM subscribers WHERE email = ?1")?
            .query_row([email], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()?;
        Ok(found.map(|(id, status)| Earlier {
            line: self.lines.get(id),
            kind: if status == "active" { "a" } else { "s" }.to_string(),
            id: Some(id),
            forgotten: false,
            noted: false,
        }))
    }
}

/// Puts the record of the row of `email` just written (if it was: not a
/// forgotten one) in place of the one its writing started.
pub(super) fn restore(conn: &rusqlite::Connection, email: &str, record: &Restored) -> Result<()> {
    let updated = conn
        .prepare_cached(
            "UPDATE subscribers SET created_at = ?2, joined_by = COALESCE(?3, joined_by), name = ?4, fields = ?5
             WHERE email = ?1",
        )?
        .execute(params![email, record.created_at, record.joined_by, record.name, record.fields])?;
    if updated == 0 {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM consent WHERE email = ?1")?.execute([email])?;
    conn.prepare_cached(
        "INSERT INTO consent (email, at, event, how, detail)
         SELECT ?1, json_extract(value, '$.at'), json_extract(value, '$.event'), json_extract(value, '$.how'),
             json_extract(value, '$.detail')
         FROM json_each(?2) ORDER BY key",
    )?
    .execute(params![email, record.consent])?;
    Ok(())
}

/// The line of each row written, by id, in little memory: ids and lines
/// both rise as the file is read, so only where a line is not the one
/// the id before predicts is a point kept (after a bad row, a duplicate, a
/// quoted line break), and a row written again in a place taken before.
#[derive(Default)]
struct Lines {
    /// (id, line), both rising.
    points: Vec<(i64, u64)>,
    last: Option<(i64, u64)>,
    again: HashMap<i64, u64>,
}

impl Lines {
    fn record(&mut self, id: i64, line: u64) {
        match self.last {
            Some((last_id, _)) if id <= last_id => {
                self.again.insert(id, line);
                return;
            }
            Some((last_id, last_line)) if line.checked_sub(last_line) == Some((id - last_id) as u64) => {}
            _ => self.points.push((id, line)),
        }
        self.last = Some((id, line));
    }

    fn get(&self, id: i64) -> u64 {
        if let Some(line) = self.again.get(&id) {
            return *line;
        }
        let at = self.points.partition_point(|(point, _)| *point <= id);
        match at.checked_sub(1).map(|i| self.points[i]) {
            Some((point, line)) => line + (id - point) as u64,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::store::{ImportRow, Location, Store, db_path};

    /// The journal mode of the database at `path`, as a new connection finds it.
    fn mode(path: &std::path::Path) -> String {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap()
    }

    #[test]
    fn an_import_into_an_empty_list_leaves_wal_only_when_alone_and_always_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&Location::sqlite_in(dir.path())).unwrap();
        let path = db_path(dir.path());
        let row = |email| ImportRow::Active { line: 2, email, name: "", fields: "{}", forgotten: false };
        // Another connection open: the import keeps WAL mode.
        let other = rusqlite::Connection::open(&path).unwrap();
        let _: i64 = other.query_row("SELECT count(*) FROM subscribers", [], |r| r.get(0)).unwrap();
        let mut import = store.begin_import("import:list.csv", "t0").unwrap();
        assert!(!import.journal_alone && import.direct.is_some());
        import.add(row("a@example.com")).unwrap();
        drop(import);
        drop(other);
        assert_eq!(mode(&path), "wal");
        // Alone: out of WAL mode while it runs; back in it when it commits or rolls back.
        for commit in [false, true] {
            let mut import = store.begin_import("import:list.csv", "t0").unwrap();
            assert!(import.journal_alone && import.direct.is_some());
            import.add(row("a@example.com")).unwrap();
            match commit {
                true => assert_eq!(import.finish(&mut |_, _, _, _| ()).unwrap().counts.added, 1),
                false => drop(import),
            }
            assert_eq!(mode(&path), "wal");
            assert_eq!(store.count_active().unwrap(), u64::from(commit));
        }
        // A list with someone: WAL mode throughout.
        let import = store.begin_import("import:list.csv", "t1").unwrap();
        assert!(!import.journal_alone && import.direct.is_none());
    }

    /// The list's CHECK on a status is off only while rows go straight in:
    /// after the import, committed or not, a status outside the set is refused.
    #[test]
    fn the_status_check_is_back_after_an_import_into_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&Location::sqlite_in(dir.path())).unwrap();
        let row = |email| ImportRow::Active { line: 2, email, name: "", fields: "{}", forgotten: false };
        let bad = |store: &Store| match &*store.db() {
            crate::deliver::store::db::Conn::Sqlite(c) => c.execute("UPDATE subscribers SET status = 'whatever'", []),
            _ => unreachable!("a SQLite store"),
        };
        for commit in [false, true] {
            let mut import = store.begin_import("import:list.csv", "t0").unwrap();
            assert!(import.direct.is_some());
            import.add(row("a@example.com")).unwrap();
            match commit {
                true => drop(import.finish(&mut |_, _, _, _| ()).unwrap()),
                false => drop(import),
            }
        }
        let refused = bad(&store).expect_err("a status outside the set");
        assert!(refused.to_string().contains("CHECK"), "{refused}");
    }

    #[test]
    fn lines_by_id_hold_past_gaps_and_rows_written_again() {
        let mut lines = Lines::default();
        for (id, line) in [(1, 2), (2, 3), (3, 4), (4, 9), (5, 10), (7, 11), (8, 40)] {
            lines.record(id, line);
        }
        lines.record(8, 41);
        assert_eq!(lines.points.len(), 4);
        let got: Vec<u64> = [1, 2, 3, 4, 5, 7, 8].iter().map(|id| lines.get(*id)).collect();
        assert_eq!(got, [2, 3, 4, 9, 10, 11, 41]);
    }
}

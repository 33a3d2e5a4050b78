//! `publish state migrate`: the whole state copied from one store to
//! another (SQLite to PostgreSQL or back), in one transaction on the target,
//! with every table's row count checked before it commits.

use anyhow::{Context, Result};

use super::Store;
use super::db::{Conn, Dialect, Value};

/// A table to copy: its name, its columns, and the columns of its key (in order).
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    key: &'static [&'static str],
}

/// Every table of the state, parents first. A migration that adds a table or
/// a column adds it here (a test compares this with the schema).
const TABLES: &[Table] = &[
    Table {
        name: "subscribers",
        columns: &[
            "id",
            "email",
            "name",
            "fields",
            "status",
            "created_at",
            "status_at",
            "status_by",
            "status_reason",
            "joined_by",
        ],
        key: &["id"],
    },
    Table {
        name: "sends",
        columns: &[
            "issue",
            "subscriber_id",
            "state",
            "attempts",
            "reply",
            "updated_at",
            "claimed_by",
            "claim_batch",
            "lease_until",
            "sent_by",
            "relay",
        ],
        key: &["issue", "subscriber_id"],
    },
    Table { name: "issue_runs", columns: &["issue", "started_at", "finished_at", "identity"], key: &["issue"] },
    Table { name: "notes", columns: &["issue", "kind", "at"], key: &["issue", "kind"] },
    // After the subscribers: their triggers write consent rows, replaced by the real record.
    Table { name: "consent", columns: &["id", "email", "at", "event", "how", "detail"], key: &["id"] },
    Table {
        name: "signups",
        columns: &[
            "id",
            "email",
            "name",
            "source",
            "ip",
            "user_agent",
            "created_at",
            "expires_at",
            "mailed_at",
            "confirmed_at",
        ],
        key: &["id"],
    },
    Table {
        name: "mail_queue",
        columns: &["id", "kind", "email", "ref_id", "queued_at", "state", "attempts", "reply", "sent_at", "tried_at"],
        key: &["id"],
    },
    Table { name: "forgotten", columns: &["hash", "at"], key: &["hash"] },
    Table { name: "soft_bounces", columns: &["email", "issue", "at"], key: &["email", "issue"] },
    Table {
        name: "clicks",
        columns: &["issue", "link", "day", "client", "counted", "discarded"],
        key: &["issue", "link", "day", "client"],
    },
    Table { name: "click_marks", columns: &["issue", "day", "client", "reason"], key: &["issue", "day", "client"] },
];

/// Tables with an identity column whose next value must follow the copied ids (PostgreSQL).
const IDENTITIES: &[&str] = &["subscribers", "consent", "signups", "mail_queue"];

/// Rows read at a time.
const PAGE: usize = 2000;

/// How many rows of one table were copied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Copied {
    pub table: &'static str,
    pub rows: u64,
}

/// Copies everything in `from` into `to`. A target that holds any row is
/// refused unless `replace`, which empties it first (in the same
/// transaction). Nothing is written unless every count matches.
pub fn copy_state(from: &Store, to: &mut Store, replace: bool) -> Result<Vec<Copied>> {
    let mut source = from.db();
    let snapshot = match source.dialect() {
        Dialect::Sqlite => "BEGIN",
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    source.batch(snapshot)?;
    let target_name = to.describe();
    let result = to.tx(|target| copy_tables(&mut source, target, replace, &target_name));
    let _ = source.rollback();
    result
}

fn copy_tables(source: &mut Conn, target: &mut Conn, replace: bool, target_name: &str) -> Result<Vec<Copied>> {
    let mut held = Vec::new();
    for table in TABLES {
        let n = count(target, table.name)?;
        if n > 0 {
            held.push(format!("{n} in {}", table.name));
        }
    }
    if !held.is_empty() {
        anyhow::ensure!(
            replace,
            "{target_name} already holds rows ({}): pass --replace to empty it first, or choose an empty database",
            held.join(", ")
        );
        for table in TABLES.iter().rev() {
            target.execute(&format!("DELETE FROM {}", table.name), &[])?;
        }
    }
    let mut copied = Vec::new();
    for table in TABLES {
        if table.name == "consent" {
            // The subscribers' insert triggers wrote a record of their own.
            target.execute("DELETE FROM consent", &[])?;
        }
        let rows = copy_table(source, target, table).with_context(|| format!("cannot copy {}", table.name))?;
        copied.push(Copied { table: table.name, rows });
    }
    if target.dialect() == Dialect::Postgres {
        for table in IDENTITIES {
            target.query(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(max(id), 0) + 1, false) FROM {table}"
                ),
                &[],
            )?;
        }
    }
    for c in &copied {
        let (expected, there) = (count(source, c.table)?, count(target, c.table)?);
        anyhow::ensure!(
            expected == c.rows && there == c.rows,
            "{}: {expected} rows in the source, {} copied, {there} in the target: nothing was written",
            c.table,
            c.rows
        );
    }
    Ok(copied)
}

fn count(conn: &mut Conn, table: &str) -> Result<u64> {
    Ok(conn.query_one(&format!("SELECT count(*) FROM {table}"), &[])?.int(0) as u64)
}

/// Copies one table page by page, in key order; how many rows.
fn copy_table(source: &mut Conn, target: &mut Conn, table: &Table) -> Result<u64> {
    let columns = table.columns.join(", ");
    let key = table.key.join(", ");
    let first = format!("SELECT {columns} FROM {} ORDER BY {key} LIMIT {PAGE}", table.name);
    let after: Vec<String> = (1..=table.key.len()).map(|i| format!("${i}")).collect();
    let next = format!(
        "SELECT {columns} FROM {} WHERE ({key}) > ({}) ORDER BY {key} LIMIT {PAGE}",
        table.name,
        after.join(", ")
    );
    let placeholders: Vec<String> = (1..=table.columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!("INSERT INTO {} ({columns}) VALUES ({})", table.name, placeholders.join(", "));
    let key_at: Vec<usize> =
        table.key.iter().map(|k| table.columns.iter().position(|c| c == k).expect("a key is a column")).collect();
    let mut rows = 0;
    let mut last: Option<Vec<Value>> = None;
    loop {
        let page = match &last {
            None => source.query(&first, &[])?,
            Some(key) => source.query(&next, key)?,
        };
        let Some(tail) = page.last() else { return Ok(rows) };
        last = Some(key_at.iter().map(|&i| tail.0[i].clone()).collect());
        for row in &page {
            target.execute(&insert, &row.0)?;
        }
        rows += page.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_names_every_column_of_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&super::super::Location::sqlite_in(dir.path())).unwrap();
        let mut db = store.db();
        let tables: Vec<String> = db
            .query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", &[])
            .unwrap()
            .iter()
            .map(|r| r.text(0))
            .collect();
        let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        listed.sort();
        assert_eq!(tables, listed, "a table the copy leaves out");
        for table in TABLES {
            let mut columns: Vec<String> = db
                .query(&format!("SELECT name FROM pragma_table_info('{}') ORDER BY name", table.name), &[])
                .unwrap()
                .iter()
                .map(|r| r.text(0))
                .collect();
            columns.sort();
            let mut listed: Vec<&str> = table.columns.to_vec();
            listed.sort();
            assert_eq!(columns, listed, "columns of {} the copy leaves out", table.name);
        }
    }
}

//! Click counts of counted links (`[insight] clicks`), and the map of each
//! issue's links in the state folder (`links/N.json`).
//!
//! A row counts one link's clicks by one client on one day: the client is a
//! keyed hash of its address, user agent and the day, cut to 16 hex digits,
//! so nothing here names a person or links their days together. A client is
//! marked (`click_marks`) when it opened the canary or clicked like a scanner:
//! its clicks of that day, before and after the mark, count as discarded.
//!
//! The SQL is plain enough for SQLite and PostgreSQL alike: `$n` parameters,
//! `ON CONFLICT … DO UPDATE` increments (atomic: no increment is lost however
//! many requests arrive at once).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Store;
use super::db::args;
use crate::assemble::links::LinkMap;
use crate::fsutil::write_atomic;

/// The schema step that adds the tables (migration 7), in SQLite.
pub const MIGRATION: &str = r#"
CREATE TABLE clicks (
    issue      INTEGER NOT NULL,
    link       TEXT NOT NULL,
    day        TEXT NOT NULL,
    client     TEXT NOT NULL,
    counted    INTEGER NOT NULL DEFAULT 0,
    discarded  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issue, link, day, client)
);
CREATE TABLE click_marks (
    issue   INTEGER NOT NULL,
    day     TEXT NOT NULL,
    client  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (issue, day, client)
);
"#;

/// The same step in PostgreSQL (counts as BIGINT).
pub const PG_MIGRATION: &str = r#"
CREATE TABLE clicks (
    issue      BIGINT NOT NULL,
    link       TEXT NOT NULL,
    day        TEXT NOT NULL,
    client     TEXT NOT NULL,
    counted    BIGINT NOT NULL DEFAULT 0,
    discarded  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (issue, link, day, client)
);
CREATE TABLE click_marks (
    issue   BIGINT NOT NULL,
    day     TEXT NOT NULL,
    client  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (issue, day, client)
);
"#;

/// One click as the server saw it.
#[derive(Debug, Clone)]
pub struct Click<'a> {
    pub issue: u32,
    pub link: &'a str,
    /// `2024-03-01` (UTC).
    pub day: &'a str,
    /// The keyed hash of the client for that day.
    pub client: &'a str,
    /// Counted (`false`: a scanner's user agent, kept apart as discarded).
    pub counted: bool,
}

/// One link's clicks by one client on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRow {
    pub link: String,
    /// `day/client hash`: the same person on another day is another client.
    pub client: String,
    pub counted: u64,
    pub discarded: u64,
}

/// Where the map of issue `issue`'s counted links is kept.
pub fn links_path(state_dir: &Path, issue: u32) -> PathBuf {
    state_dir.join("links").join(format!("{issue}.json"))
}

/// Writes `map` (atomically), keeping the links of an earlier map of the same
/// issue that it no longer has: messages already sent still point at them.
pub fn save_links(state_dir: &Path, map: &LinkMap) -> Result<()> {
    let path = links_path(state_dir, map.issue);
    let merged = match load_links(state_dir, map.issue)? {
        Some(older) => map.clone().keeping(older),
        None => map.clone(),
    };
    write_atomic(&path, serde_json::to_string_pretty(&merged)?.as_bytes())
}

/// The map of issue `issue`'s counted links, if it was ever built with them.
pub fn load_links(state_dir: &Path, issue: u32) -> Result<Option<LinkMap>> {
    let path = links_path(state_dir, issue);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!("{}: not a map of counted links; build the issue again to rewrite it", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Every issue with a map of counted links, in order.
pub fn issues_with_links(state_dir: &Path) -> Result<Vec<u32>> {
    let dir = state_dir.join("links");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut issues: Vec<u32> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse().ok())
        .collect();
    issues.sort_unstable();
    Ok(issues)
}

impl Store {
    /// Adds one click (counted or discarded).
    pub fn record_click(&mut self, click: &Click) -> Result<()> {
        let (counted, discarded) = if click.counted { (1i64, 0i64) } else { (0, 1) };
        self.db().execute(
            "INSERT INTO clicks (issue, link, day, client, counted, discarded) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (issue, link, day, client) DO UPDATE
             SET counted = clicks.counted + excluded.counted, discarded = clicks.discarded + excluded.discarded",
            args![click.issue, click.link, click.day, click.client, counted, discarded],
        )?;
        Ok(())
    }

    /// Marks a client of `day` as a scanner for issue `issue` (`reason`:
    /// "canary" or "burst"): its clicks of that day are discarded.
    pub fn mark_client(&mut self, issue: u32, day: &str, client: &str, reason: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO click_marks (issue, day, client, reason) VALUES ($1, $2, $3, $4)
             ON CONFLICT (issue, day, client) DO NOTHING",
            args![issue, day, client, reason],
        )?;
        Ok(())
    }

    /// Issue `issue`'s clicks, one row per link, day and client. A marked
    /// client's clicks (canary, burst) come as discarded.
    pub fn clicks(&self, issue: u32) -> Result<Vec<ClickRow>> {
        let rows = self.db().query(
            "SELECT c.link, c.day, c.client,
                    CASE WHEN m.client IS NULL THEN c.counted ELSE 0 END,
                    c.discarded + CASE WHEN m.client IS NULL THEN 0 ELSE c.counted END
             FROM clicks c
             LEFT JOIN click_marks m ON m.issue = c.issue AND m.day = c.day AND m.client = c.client
             WHERE c.issue = $1
             ORDER BY c.link, c.day, c.client",
            args![issue],
        )?;
        let rows = rows
            .iter()
            .map(|r| ClickRow {
                link: r.text(0),
                client: format!("{}/{}", r.text(1), r.text(2)),
                counted: r.int(3) as u64,
                discarded: r.int(4) as u64,
            })
            .collect();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_clients_clicks_that_day_are_discarded_and_issues_stay_apart() {
        super::super::testdb::each_store(|mut store| {
            let click = |link, client, counted| Click { issue: 9, link, day: "2024-03-01", client, counted };
            store.record_click(&click("a", "person", true)).unwrap();
            store.record_click(&click("a", "person", true)).unwrap();
            store.record_click(&click("b", "person", true)).unwrap();
            store.record_click(&click("a", "scanner", true)).unwrap();
            store.record_click(&click("a", "curl", false)).unwrap();
            store.mark_client(9, "2024-03-01", "scanner", "canary").unwrap();
            store
                .record_click(&Click { issue: 8, link: "a", day: "2024-03-01", client: "person", counted: true })
                .unwrap();
            let rows: Vec<(String, u64, u64)> =
                store.clicks(9).unwrap().into_iter().map(|r| (r.link, r.counted, r.discarded)).collect();
            let row = |l: &str, c, d| (l.to_string(), c, d);
            assert_eq!(rows, vec![row("a", 0, 1), row("a", 2, 0), row("a", 0, 1), row("b", 1, 0)]);
        });
    }
}

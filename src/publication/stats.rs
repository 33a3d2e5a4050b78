//! `publish stats`: what each issue did to the list, and how the list grows.
//! Events of the consent record count for the issue whose send started last
//! before them ("unsubscribed after it").

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;
use serde::Serialize;

use crate::publication::Publication;

/// One issue's figures.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct IssueStats {
    pub issue: u32,
    pub started_at: String,
    pub sent: u64,
    pub failed: u64,
    pub bounced: u64,
    pub complained: u64,
    pub unsubscribed: u64,
    /// Messages each relay accepted (a send through several relays).
    pub relays: BTreeMap<String, u64>,
}

/// One week of the list (ISO week, `2024-W09`).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WeekStats {
    pub week: String,
    pub joined: u64,
    pub confirmed: u64,
    pub left: u64,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    pub issues: Vec<IssueStats>,
    pub weeks: Vec<WeekStats>,
    pub active: u64,
}

impl Publication {
    /// The figures of every sent issue (or issue `only`) and of every week.
    pub fn stats(&self, only: Option<u32>) -> Result<Stats> {
        let store = self.store()?;
        let runs: Vec<(u32, Timestamp, String)> = store
            .issue_runs()?
            .into_iter()
            .filter_map(|(n, at)| at.parse::<Timestamp>().ok().map(|t| (n, t, at)))
            .collect();
        let mut by_start = runs.clone();
        by_start.sort_by_key(|(n, t, _)| (*t, *n));
        let events = store.all_consent()?;
        let mut issues: BTreeMap<u32, IssueStats> = BTreeMap::new();
        for (n, _, at) in &runs {
            let counts = store.counts(*n)?;
            let row = IssueStats {
                issue: *n,
                started_at: at.clone(),
                sent: counts.sent,
                failed: counts.failed,
                bounced: 0,
                complained: 0,
                unsubscribed: 0,
                relays: store.relay_counts(*n)?.into_iter().collect(),
            };
            issues.insert(*n, row);
        }
        let zone = self.ws.config().map(|c| c.tz()).unwrap_or(jiff::tz::TimeZone::UTC);
        let mut weeks: BTreeMap<String, WeekStats> = BTreeMap::new();
        for (_, e) in &events {
            let Ok(at) = e.at.parse::<Timestamp>() else { continue };
            // The issue whose send started last before the event.
            if let Some((n, _, _)) = by_start.iter().rev().find(|(_, t, _)| *t <= at)
                && let Some(row) = issues.get_mut(n)
            {
                match e.event.as_str() {
                    "bounced" => row.bounced += 1,
                    "complained" => row.complained += 1,
                    "unsubscribed" => row.unsubscribed += 1,
                    _ => {}
                }
            }
            let date = at.to_zoned(zone.clone()).date();
            let iso = date.iso_week_date();
            let week = format!("{}-W{:02}", iso.year(), iso.week());
            let row = weeks.entry(week.clone()).or_insert(WeekStats { week, joined: 0, confirmed: 0, left: 0 });
            match e.event.as_str() {
                "joined" | "confirmed again" => row.joined += 1,
                "confirmed" => row.confirmed += 1,
                "unsubscribed" | "bounced" | "complained" | "removed" => row.left += 1,
                _ => {}
            }
        }
        Ok(Stats {
            issues: issues.into_values().filter(|i| only.is_none_or(|n| i.issue == n)).collect(),
            weeks: weeks.into_values().collect(),
            active: store.count_active()?,
        })
    }
}

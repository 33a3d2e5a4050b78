//! `publish status N`: sent, failed (with the server's replies), pending.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::deliver::send::group_replies;
use crate::deliver::store::Store;
use crate::workspace::Workspace;

pub fn run(root: &Path, number: u32, json: bool) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let store = Store::open(&ws.state_dir())?;
    let counts = store.counts(number)?;
    if counts.started_at.is_none() {
        // Nothing in the ledger: a number that names no issue is a mistake,
        // not "not sent" (an issue whose file is gone but was sent still shows).
        ws.entry(number)?;
    }
    let failures = group_replies(&store.failures(number)?);
    let scheduled = ws.issue(number).ok().and_then(|i| i.send_at).map(|t| {
        let tz = ws.config().map(|c| c.tz()).unwrap_or(jiff::tz::TimeZone::UTC);
        t.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string()
    });
    let not_sent = match &scheduled {
        Some(when) => format!("not sent; scheduled for {when} (`publish schedule` shows whether cron will send it)"),
        None => "not sent".to_string(),
    };
    let state = match (&counts.started_at, &counts.finished_at) {
        (None, _) => not_sent.as_str(),
        (Some(_), Some(_)) if counts.failed > 0 => "sent, with failures",
        (Some(_), Some(_)) => "sent",
        (Some(_), None) => "sending (or interrupted: run `publish issue N` to resume)",
    };
    if json {
        let failures: Vec<_> =
            failures.iter().map(|(r, n)| serde_json::json!({ "reply": r, "recipients": n })).collect();
        let value = serde_json::json!({ "issue": number, "state": state, "counts": counts, "failures": failures });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(Outcome::Done);
    }
    println!("issue {number}: {}", state.replace(" N`", &format!(" {number}`")));
    println!("  sent:     {}", counts.sent);
    println!("  failed:   {}", counts.failed);
    println!("  pending:  {}", counts.pending);
    if counts.skipped > 0 {
        println!("  skipped:  {} (unsubscribed or removed before their turn)", counts.skipped);
    }
    if counts.not_started > 0 && counts.started_at.is_some() {
        println!(
            "  new:      {} subscribers joined since; `publish issue {number}` sends to them too",
            counts.not_started
        );
    }
    for (reply, n) in failures {
        println!("  {n} failed: {reply}");
    }
    Ok(Outcome::Done)
}

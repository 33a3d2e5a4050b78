//! `publish status N`: sent, failed (with the server's replies), pending.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: u32, json: bool) -> Result<Outcome> {
    let status = Publication::load(root)?.status(number)?;
    let (counts, state) = (&status.counts, status.state());
    if json {
        let failures: Vec<_> =
            status.failures.iter().map(|(r, n)| serde_json::json!({ "reply": r, "recipients": n })).collect();
        let relays: serde_json::Map<_, _> = status.relays.iter().map(|(r, n)| (r.clone(), (*n).into())).collect();
        let value = serde_json::json!({
            "issue": number, "state": state, "counts": counts, "failures": failures, "relays": relays,
            "send_at": status.send_at
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(Outcome::Done);
    }
    println!("issue {number}: {state}");
    println!("  sent:     {}\n  failed:   {}\n  pending:  {}", counts.sent, counts.failed, counts.pending);
    for (what, when) in [("started: ", &status.started), ("finished:", &status.finished)] {
        if let Some(when) = when {
            println!("  {what} {when}");
        }
    }
    if counts.skipped > 0 {
        println!("  skipped:  {} (unsubscribed or removed before their turn)", counts.skipped);
    }
    if counts.not_started > 0 && counts.started_at.is_some() {
        let joined = crate::text::counted(counts.not_started, "subscriber joined", "subscribers joined");
        println!("  new:      {joined} since; `publish issue {number}` sends to them too");
    }
    if counts.senders.len() > 1 {
        println!("  senders:");
        for share in &counts.senders {
            let name = if share.sender.is_empty() { "(before senders were recorded)" } else { &share.sender };
            let percent = share.sent as f64 * 100.0 / counts.sent.max(1) as f64;
            println!("    {name}: {} ({percent:.0}%)", share.sent);
        }
    }
    for (relay, n) in &status.relays {
        println!("  via {relay}: {n}");
    }
    for (reply, n) in &status.failures {
        println!("  {n} failed: {reply}");
    }
    Ok(Outcome::Done)
}

//! `publish schedule [--json]`: the scheduled issues, their send time in the
//! publication's time zone, and their state; on stderr, the scheduled issue
//! files that have errors (they are not sent until fixed) and the ones that
//! are an earlier send renumbered (they are not sent at all).

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, now: Option<&str>, json: bool) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    let rows = publication.schedule(crate::clock::now_or(now)?)?;
    let broken = publication.scheduled_with_errors()?;
    for (number, file, _) in &broken {
        crate::diag::note(format!(
            "{file} has a send_at but errors: issue {number} is not sent until `publish check {number}` passes"
        ));
    }
    for refusal in publication.renumbered_scheduled()? {
        crate::diag::note(refusal);
    }
    for (number, pending) in publication.orphaned_sends()? {
        crate::diag::note(crate::publication::cron::orphaned(number, pending));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(Outcome::Done);
    }
    if rows.is_empty() && broken.is_empty() {
        println!("no issue has a send_at (add send_at = 2024-03-01T09:00:00+08:00 to an issue file)");
    }
    for row in rows {
        println!("{row}");
    }
    Ok(Outcome::Done)
}

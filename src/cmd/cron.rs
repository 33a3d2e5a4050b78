//! `publish cron`: send every due issue, resume interrupted ones, then exit.
//! Safe to run every minute: a second run while one is busy exits at once,
//! and nothing is printed when there is nothing to do (cron mails output).

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, now: Option<&str>, json: bool) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    let (report, stopped) = publication.cron(crate::clock::now_or(now)?)?;
    report.notes.iter().for_each(crate::diag::note);
    // Said to a person at a terminal; a cron job stays quiet (cron mails what it prints).
    if let Some(holder) = report.busy.as_ref().filter(|_| std::io::stderr().is_terminal()) {
        crate::diag::note(format!("publish cron is already running ({holder}): it sends what is due; this one exits"));
    }
    for sent in &report.sends {
        if json {
            println!("{}", serde_json::to_string(sent)?);
        } else {
            println!("{sent}");
        }
    }
    if let Some(error) = stopped {
        return Err(error);
    }
    Ok(if report.unsendable {
        Outcome::Failed
    } else if report.sends.iter().any(|s| s.failed > 0) {
        Outcome::PartlyFailed
    } else {
        Outcome::Done
    })
}

//! `publish issue N`: build everything, then send the email to every
//! subscriber not yet sent to (asking first on a real transport).

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::IssueArgs;
use crate::cmd::Outcome;
use crate::publication::send::Plan;
use crate::publication::{Mode, Publication, Sent};

pub fn run(root: &Path, args: &IssueArgs) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    let n = args.number;
    if args.dry_run {
        let plan = publication.dry_run(n)?;
        println!("{}", if args.json { serde_json::to_string_pretty(&plan)? } else { plan.to_string() });
        return Ok(Outcome::Done);
    }
    let mode = Mode::Manual { yes: args.yes, json: args.json, retry_failed: args.retry_failed };
    let report = match publication.send(n, mode, &mut |plan| confirm(plan, args.yes))? {
        Sent::Done(report) => report,
        Sent::Declined => {
            eprintln!("nothing sent");
            return Ok(Outcome::Failed);
        }
        Sent::Busy(holder) => bail!(
            "issue {n} is being sent right now by {holder}: wait for it to finish (`publish status {n}` shows progress)"
        ),
    };
    println!("{}", if args.json { serde_json::to_string_pretty(&report)? } else { report.to_string() });
    match report.stopped() {
        Some(error) => Err(error),
        None if report.failed > 0 => Ok(Outcome::PartlyFailed),
        None => Ok(Outcome::Done),
    }
}

/// Asks on a terminal before a real transport sends; refuses without one unless `--yes`.
fn confirm(plan: &Plan, yes: bool) -> Result<bool> {
    if yes || !plan.transport.is_real() {
        return Ok(true);
    }
    let to = crate::text::counted(plan.pending, "subscriber", "subscribers");
    let what = format!("issue {} to {to} via {}", plan.issue, plan.transport.describe());
    if !std::io::stdin().is_terminal() {
        bail!("this would send {what}: add --yes to confirm");
    }
    eprint!("Send {what}? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).context("cannot read the answer")?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

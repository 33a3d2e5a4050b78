//! `publish subscribers import|list|count|remove|bounces`.

use std::path::Path;

use anyhow::Result;

use crate::cli::SubscribersCommand;
use crate::cmd::Outcome;
use crate::deliver::bounces;
use crate::deliver::import::{KeptOutWhy, check_address, read_csv};
use crate::deliver::store::{Status, Store, Suppressed, Suppression};
use crate::text::plural;
use crate::workspace::Workspace;

pub fn run(root: &Path, command: &SubscribersCommand) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let mut store = Store::open(&ws.state_dir())?;
    let now = crate::clock::now()?.to_string();
    match command {
        SubscribersCommand::Import { file } => {
            import(&mut store, file, &now)?;
            Ok(Outcome::Done)
        }
        SubscribersCommand::List { unsubscribed } => {
            let list = if *unsubscribed { store.list_inactive()? } else { store.list(Status::Active)? };
            for s in list {
                if *unsubscribed {
                    let when = s.status_at.as_deref().unwrap_or("");
                    let by = s.status_by.as_deref().unwrap_or("");
                    println!("{}\t{}\t{when}\t{by}", s.email, s.status.as_str());
                } else {
                    println!("{}\t{}", s.email, s.name);
                }
            }
            Ok(Outcome::Done)
        }
        SubscribersCommand::Count => {
            println!("{}", store.count_active()?);
            Ok(Outcome::Done)
        }
        SubscribersCommand::Remove { address } => {
            let address = address.trim();
            if store.set_status(address, Status::Removed, "cli", &now)? {
                println!("removed {address}: it will not be mailed again");
            } else {
                store.suppress(address, Status::Removed, "cli", &now)?;
                println!("{address} was not a subscriber; it is recorded as removed, so an import will not add it");
            }
            Ok(Outcome::Done)
        }
        SubscribersCommand::Bounces { paths } => {
            record_bounces(&mut store, paths, &now)?;
            Ok(Outcome::Done)
        }
    }
}

/// `publish subscribers import`: adds the people to mail, records the ones
/// the file says not to mail, and reports every row left out by its line.
fn import(store: &mut Store, file: &Path, now: &str) -> Result<()> {
    let parsed = read_csv(file)?;
    let name = file.display();
    let base = file.file_name().map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
    for warning in &parsed.warnings {
        eprintln!("{name}: {warning}");
    }
    for bad in &parsed.bad {
        eprintln!("{name}:{}: skipped: {}", bad.line, bad.reason);
    }
    for (line, kept) in &parsed.duplicates {
        eprintln!("{name}:{line}: skipped: the same address as line {kept}");
    }
    for row in &parsed.kept_out {
        eprintln!("{name}:{}: kept out: {}: {}", row.line, row.email, row.reason);
    }
    let suppressions: Vec<Suppression> = parsed
        .suppressed
        .iter()
        .map(|row| Suppression {
            email: row.email.clone(),
            status: row.status,
            at: row.at.map_or_else(|| now.to_string(), |at| at.to_string()),
            by: format!("import:{base}:{}", row.line),
            reason: row.reason.clone(),
        })
        .collect();
    let done = store.record_suppressions(&suppressions, now)?;
    for (row, what) in parsed.suppressed.iter().zip(&done) {
        if *what == Suppressed::WasActive {
            println!("{name}:{}: {} was subscribed, now {} ({})", row.line, row.email, row.status.as_str(), row.reason);
        }
    }
    let counts = store.upsert_subscribers(&parsed.rows, now)?;
    let export = parsed.service.map_or_else(String::new, |s| format!(" (a {} export)", s.name()));
    println!(
        "imported {name}{export}: {} added, {} updated, {} kept unsubscribed, removed, bounced or complained, {} bad row{}",
        counts.added,
        counts.updated,
        counts.suppressed,
        parsed.bad.len(),
        plural(parsed.bad.len())
    );
    if !parsed.suppressed.is_empty() {
        let kind = |status| parsed.suppressed.iter().filter(|r| r.status == status).count();
        let was = |what: fn(&Suppressed) -> bool| done.iter().filter(|d| what(d)).count();
        println!(
            "not to be mailed: {} unsubscribed, {} bounced, {} complained, {} removed \
             ({} recorded, {} subscribed until now, {} not mailed already)",
            kind(Status::Unsubscribed),
            kind(Status::Bounced),
            kind(Status::Complained),
            kind(Status::Removed),
            was(|d| *d == Suppressed::Added),
            was(|d| *d == Suppressed::WasActive),
            was(|d| matches!(d, Suppressed::Already(_))),
        );
    }
    if !parsed.kept_out.is_empty() {
        let why = |why| parsed.kept_out.iter().filter(|r| r.why == why).count();
        println!(
            "kept out, neither imported nor recorded: {} with a status not known, {} not confirmed or on hold",
            why(KeptOutWhy::UnknownStatus),
            why(KeptOutWhy::NotConfirmed),
        );
    }
    println!("{} active subscribers", store.count_active()?);
    Ok(())
}

/// `publish subscribers bounces`: marks the addresses that bounce reports
/// under `paths` call bad, and says what it did with each report.
fn record_bounces(store: &mut Store, paths: &[std::path::PathBuf], now: &str) -> Result<()> {
    let mut messages = Vec::new();
    for path in paths {
        messages.extend(bounces::read_messages(path)?);
    }
    let (mut marked, mut already, mut unknown, mut kept, mut not_reports) = (0, 0, 0, 0, 0);
    for message in &messages {
        let reports = bounces::reports(&message.raw);
        if reports.is_empty() {
            not_reports += 1;
        }
        for report in reports {
            if let Err(reason) = check_address(&report.recipient) {
                eprintln!("{}: skipped {:?}: {reason}", message.origin, report.recipient);
                continue;
            }
            let why = report.diagnostic.as_deref().unwrap_or(&report.status);
            if !report.is_hard_bounce() {
                kept += 1;
                eprintln!("{}: kept {} ({} {why}): not a bad address", message.origin, report.recipient, report.action);
                continue;
            }
            let status = store.status_of(&report.recipient)?;
            match status {
                Some(Status::Active) => {
                    store.set_status(&report.recipient, Status::Bounced, "dsn", now)?;
                    marked += 1;
                    println!("bounced: {} ({why})", report.recipient);
                }
                // Bounced, unsubscribed or removed before: not mailed anyway.
                Some(_) => already += 1,
                None => {
                    store.suppress(&report.recipient, Status::Bounced, "dsn", now)?;
                    unknown += 1;
                    println!(
                        "bounced: {} ({why}); not a subscriber, recorded so an import will not add it",
                        report.recipient
                    );
                }
            }
        }
    }
    println!(
        "read {} message{}: {marked} marked bounced, {already} not mailed already, {unknown} not subscribers, \
         {kept} failures kept (a full mailbox, a delay, a policy refusal), {not_reports} not bounce reports",
        messages.len(),
        plural(messages.len()),
    );
    println!("{} active subscribers", store.count_active()?);
    Ok(())
}

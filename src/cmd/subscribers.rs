//! `publish subscribers import|list|count|remove`.

use std::path::Path;

use anyhow::Result;

use crate::cli::SubscribersCommand;
use crate::cmd::Outcome;
use crate::deliver::import::read_csv;
use crate::deliver::store::{Status, Store};
use crate::workspace::Workspace;

pub fn run(root: &Path, command: &SubscribersCommand) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let mut store = Store::open(&ws.state_dir())?;
    let now = crate::clock::now()?.to_string();
    match command {
        SubscribersCommand::Import { file } => {
            let parsed = read_csv(file)?;
            let name = file.display();
            for warning in &parsed.warnings {
                eprintln!("{name}: {warning}");
            }
            for bad in &parsed.bad {
                eprintln!("{name}:{}: skipped: {}", bad.line, bad.reason);
            }
            for (line, first) in &parsed.duplicates {
                eprintln!("{name}:{line}: skipped: the same address as line {first}");
            }
            let counts = store.upsert_subscribers(&parsed.rows, &now)?;
            println!(
                "imported {name}: {} added, {} updated, {} kept unsubscribed, removed or bounced, {} bad row{}",
                counts.added,
                counts.updated,
                counts.suppressed,
                parsed.bad.len(),
                if parsed.bad.len() == 1 { "" } else { "s" }
            );
            println!("{} active subscribers", store.count_active()?);
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
    }
}

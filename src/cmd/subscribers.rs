//! `publish subscribers import|list|count|remove|bounces|add|show|export|forget`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::SubscribersCommand;
use crate::cmd::Outcome;
use crate::deliver::store::Status;
use crate::publication::Publication;
use crate::publication::audience::Removed;
use crate::publication::readers::{AddOutcome, Which};

pub fn run(root: &Path, command: &SubscribersCommand) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    match command {
        SubscribersCommand::Import { file } => {
            let report = publication.import_subscribers(file)?;
            report.notes().iter().for_each(|note| eprintln!("{note}"));
            println!("{report}");
        }
        SubscribersCommand::List { unsubscribed, status, json } => {
            let which = match (status.as_deref(), unsubscribed) {
                (Some(s), _) => which(s)?,
                (None, true) => Which::Inactive,
                (None, false) => Which::Active,
            };
            let people = publication.people(which)?;
            if *json {
                let list: Vec<_> = people.iter().map(|s| serde_json::json!({"email": s.email, "name": s.name,
                    "status": s.status.as_str(), "status_at": s.status_at, "status_by": s.status_by, "fields": s.fields})).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            }
            for s in people.iter().filter(|_| !*json) {
                match which {
                    Which::Active => println!("{}\t{}", s.email, s.name),
                    _ => println!(
                        "{}\t{}\t{}\t{}",
                        s.email,
                        s.status.as_str(),
                        s.status_at.as_deref().unwrap_or(""),
                        s.status_by.as_deref().unwrap_or("")
                    ),
                }
            }
        }
        SubscribersCommand::Count { json: false } => println!("{}", publication.count_subscribers()?),
        SubscribersCommand::Count { json: true } => {
            println!("{}", serde_json::json!({ "active": publication.count_subscribers()? }))
        }
        SubscribersCommand::Remove { address } => match publication.remove_subscriber(address)? {
            Removed::Subscriber => println!("removed {}: it will not be mailed again", address.trim()),
            Removed::Recorded => println!(
                "{} was not a subscriber; it is recorded as removed, so an import will not add it",
                address.trim()
            ),
        },
        SubscribersCommand::Bounces { paths } => {
            let report = publication.record_bounces(paths)?;
            report.notes.iter().for_each(|note| eprintln!("{note}"));
            report.lines.iter().for_each(|line| println!("{line}"));
        }
        SubscribersCommand::Add { address, name, confirmed } => {
            match publication.add_subscriber(address, name, *confirmed)? {
                AddOutcome::Subscribed => println!("added {}", address.trim()),
                AddOutcome::ConfirmationSent(said) => println!("{said}; they join when they press its button"),
                AddOutcome::Known => {
                    println!("{} is already on the list or waiting to confirm: nothing changed", address.trim())
                }
            }
        }
        SubscribersCommand::Show { address, json } => {
            let Some(person) = publication.person(address)? else { bail!("{} is not on the list", address.trim()) };
            if *json {
                println!("{}", serde_json::to_string_pretty(&person)?);
                return Ok(Outcome::Done);
            }
            println!("{}\t{}\t{}", person.email, person.status, person.name);
            person.fields.iter().for_each(|(k, v)| println!("  {k}: {v}"));
            for e in &person.consent {
                println!(
                    "  {}  {}  {}{}",
                    e.at,
                    e.event,
                    e.how,
                    e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                );
            }
        }
        SubscribersCommand::Export { format, status } => {
            let which = if status == "all" { Which::All } else { which(status)? };
            match format.as_str() {
                "csv" | "json" => print!("{}", publication.export(which, format == "json")?),
                other => bail!("--format {other}: use csv or json"),
            }
        }
        SubscribersCommand::Forget { address } => match publication.forget(address)? {
            true => {
                println!("forgot {}: only a keyed hash stays, so it is never imported or mailed again", address.trim())
            }
            false => println!("{} was not stored; it is recorded as forgotten all the same", address.trim()),
        },
    }
    Ok(Outcome::Done)
}

fn which(status: &str) -> Result<Which> {
    Ok(match status {
        "active" => Which::Active,
        "inactive" => Which::Inactive,
        "all" => Which::All,
        "unsubscribed" => Which::Only(Status::Unsubscribed),
        "bounced" => Which::Only(Status::Bounced),
        "complained" => Which::Only(Status::Complained),
        "removed" => Which::Only(Status::Removed),
        other => bail!("--status {other}: use active, unsubscribed, bounced, complained, removed, inactive or all"),
    })
}

//! `publish subscribers import|list|count|remove|bounces|add|show|export|forget`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::SubscribersCommand;
use crate::cmd::Outcome;
use crate::publication::Publication;
use crate::publication::audience::Removed;
use crate::publication::readers::{AddOutcome, Which, list_json, list_line};

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
                (Some(s), _) => s.parse()?,
                (None, true) => Which::Inactive,
                (None, false) => Which::Active,
            };
            let people = publication.people(which)?;
            match json {
                true => println!("{}", serde_json::to_string_pretty(&list_json(&people))?),
                false => people.iter().for_each(|s| println!("{}", list_line(s, which))),
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
                AddOutcome::ConfirmationQueued(why) => {
                    eprintln!(
                        "{} is waiting to confirm, but the confirmation mail was not sent: {why}\n\
                         It stays queued: a running `publish serve` or the next `publish cron` tries it again, a few times, further apart each time.",
                        address.trim()
                    );
                    return Ok(Outcome::PartlyFailed);
                }
                AddOutcome::ConfirmationFailed(why) => {
                    eprintln!(
                        "{} is waiting to confirm, but the relay refused the confirmation mail for good: {why}\n\
                         Check the address; `publish subscribers add` it again in an hour to send a new mail.",
                        address.trim()
                    );
                    return Ok(Outcome::PartlyFailed);
                }
                AddOutcome::WelcomeQueued(why) => {
                    eprintln!(
                        "added {}, but the welcome mail was not sent: {why}\n\
                         It stays queued: a running `publish serve` or the next `publish cron` tries it again, a few times, further apart each time.",
                        address.trim()
                    );
                    return Ok(Outcome::PartlyFailed);
                }
                AddOutcome::WelcomeFailed(why) => {
                    eprintln!(
                        "added {}, but the relay refused the welcome mail for good: {why}\n\
                         They are on the list and get the next issue; check the address with `publish subscribers show`.",
                        address.trim()
                    );
                    return Ok(Outcome::PartlyFailed);
                }
                AddOutcome::Known => {
                    println!("{} is already on the list or waiting to confirm: nothing changed", address.trim())
                }
            }
        }
        SubscribersCommand::Show { address, json } => {
            let Some(person) = publication.person(address)? else { bail!("{} is not on the list", address.trim()) };
            match json {
                true => println!("{}", serde_json::to_string_pretty(&person)?),
                false => println!("{person}"),
            }
        }
        SubscribersCommand::Export { format, status } => {
            let which: Which = status.parse()?;
            match format.as_str() {
                "csv" | "json" => print!("{}", publication.export(which, format == "json")?),
                other => bail!("--format {other}: use csv or json"),
            }
        }
        SubscribersCommand::Forget { address } => {
            let (found, erased) = publication.forget(address)?;
            match found {
                true => println!(
                    "forgot {}: only a keyed hash stays, so it is never imported or mailed again",
                    address.trim()
                ),
                false => println!("{} was not stored; it is recorded as forgotten all the same", address.trim()),
            }
            if erased > 0 {
                println!("deleted the {erased} message{} to them kept in out/outbox", crate::text::plural(erased));
            }
        }
    }
    Ok(Outcome::Done)
}

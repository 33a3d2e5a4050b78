//! `publish subscribers import|list|count|remove|bounces`.

use std::path::Path;

use anyhow::Result;

use crate::cli::SubscribersCommand;
use crate::cmd::Outcome;
use crate::publication::Publication;
use crate::publication::audience::Removed;

pub fn run(root: &Path, command: &SubscribersCommand) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    match command {
        SubscribersCommand::Import { file } => {
            let report = publication.import_subscribers(file)?;
            report.notes().iter().for_each(|note| eprintln!("{note}"));
            println!("{report}");
        }
        SubscribersCommand::List { unsubscribed } => {
            for s in publication.subscribers(*unsubscribed)? {
                if *unsubscribed {
                    let (when, by) = (s.status_at.unwrap_or_default(), s.status_by.unwrap_or_default());
                    println!("{}\t{}\t{when}\t{by}", s.email, s.status.as_str());
                } else {
                    println!("{}\t{}", s.email, s.name);
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
    }
    Ok(Outcome::Done)
}

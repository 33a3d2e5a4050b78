//! `publish state migrate --to URL`: the state copied to PostgreSQL or back to SQLite.

use std::path::Path;

use anyhow::Result;

use crate::cli::StateCommand;
use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, command: &StateCommand) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    match command {
        StateCommand::Migrate { to, replace } => {
            let done = publication.migrate_state(to, *replace)?;
            for table in &done.copied {
                println!("{:<14}{:>10} rows", table.table, table.rows);
            }
            crate::diag::note(format!(
                "copied {} to {} and checked every count. To use it, set PUBLISH_DATABASE_URL (or [state] database_url); \
                 on a shared database set PUBLISH_SECRET, the same on every machine, to the text of .publish/secret, \
                 so that the unsubscribe links already sent keep working",
                done.from, done.to
            ));
        }
    }
    Ok(Outcome::Done)
}

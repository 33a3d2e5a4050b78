//! `publish new`: start the next issue from the last one's skeleton.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::curate::next::next_issue;
use crate::workspace::Workspace;

pub fn run(root: &Path) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let today = crate::clock::now()?.to_zoned(ws.config()?.tz()).date();
    let next = next_issue(&ws, today)?;
    crate::fsutil::create_new(&ws.root.join(&next.file), next.text.as_bytes())
        .map_err(|e| e.context("publish new never overwrites an issue file"))?;
    println!("{}", next.file);
    eprintln!(
        "started issue {} ({}) in {}: add links with `publish add {} FILE... --section NAME`",
        next.number, next.date, next.file, next.number
    );
    Ok(Outcome::Done)
}

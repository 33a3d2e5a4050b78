//! `publish add N FILE... --section NAME`: link records become recommendations of issue N.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::curate::{AddOptions, add_records};
use crate::text::plural;
use crate::workspace::Workspace;

pub fn run(root: &Path, opts: &AddOptions) -> Result<Outcome> {
    let added = add_records(&Workspace::load(root)?, opts)?;
    added.diagnostics.print();
    let (n, file) = (added.count, &added.file);
    if n == 0 {
        eprintln!("nothing was added to {file}");
        return Ok(Outcome::Failed);
    }
    let section = opts.section.trim();
    eprintln!(
        "added {n} recommendation{} to section \"{section}\" of {file}: write the take{} there",
        plural(n),
        plural(n)
    );
    Ok(Outcome::Done)
}

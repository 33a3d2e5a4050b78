//! `publish check [N] [--json]`: every problem in the workspace at once.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: Option<u32>, json: bool) -> Result<Outcome> {
    let checked = Publication::load_reusing(root, number)?.check(number)?;
    for d in &checked.diagnostics {
        if json {
            println!("{}", d.to_json());
        } else {
            eprintln!("{d}\n");
        }
    }
    eprintln!("{}", checked.summary());
    Ok(if checked.errors() > 0 { Outcome::Failed } else { Outcome::Done })
}

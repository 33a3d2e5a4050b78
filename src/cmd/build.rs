//! `publish build N`: render every artifact of issue N into `out/`, send nothing.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: u32) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    let built = publication.build(number)?;
    built.write()?;
    eprintln!("built issue {number}: {} files in {}", built.file_count(), built.out_dir.display());
    Ok(Outcome::Done)
}

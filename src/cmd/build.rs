//! `publish build N`: render every artifact of issue N into `out/`, send nothing.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use crate::clock::timings;
use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: u32, show_timings: bool) -> Result<Outcome> {
    let started = Instant::now();
    if show_timings {
        timings::enable();
    }
    let publication = Publication::load_reusing(root, Some(number))?;
    let built = publication.build(number)?;
    built.write()?;
    eprintln!("built issue {number}: {} files in {}", built.file_count(), built.out_dir.display());
    if show_timings {
        eprintln!("timings: stage, milliseconds, times run");
        for (stage, spent, count) in timings::report() {
            eprintln!("timings: {stage:<42}{:>9.2} ms {count:>6}", spent.as_secs_f64() * 1000.0);
        }
        eprintln!("timings: {:<42}{:>9.2} ms", "whole command", started.elapsed().as_secs_f64() * 1000.0);
    }
    // The process ends here: it need not free every issue and feed item one by one.
    std::mem::forget((publication, built));
    Ok(Outcome::Done)
}

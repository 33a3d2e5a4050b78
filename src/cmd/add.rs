//! `publish add N FILE... --section NAME`: link records become recommendations of issue N.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd::Outcome;
use crate::curate::append::{Addition, add};
use crate::diag::{Diagnostics, SourceFile};
use crate::text::plural;
use crate::workspace::Workspace;
use crate::workspace::config::Config;
use crate::workspace::content::record::LinkRecord;

/// What `publish add` was asked to do.
pub struct Options<'a> {
    pub number: u32,
    pub files: &'a [PathBuf],
    pub section: &'a str,
    pub new_section: bool,
}

/// All records are added, or (when any is wrong) none: the issue file is written once.
pub fn run(root: &Path, opts: &Options) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let file = ws.entry(opts.number)?.file.clone();
    let issue = SourceFile::read(&ws.root, Path::new(&file))?;
    let tz = ws.config.as_ref().map_or(jiff::tz::TimeZone::UTC, Config::tz);

    let mut diags = Diagnostics::default();
    let records: Vec<LinkRecord> = opts.files.iter().filter_map(|f| LinkRecord::read(f, &mut diags)).collect();
    let addition = Addition { section: opts.section, new_section: opts.new_section, records: &records, tz: &tz };
    let edited = add(&issue, &addition, &mut diags);
    diags.print();
    match edited {
        Some(text) if diags.error_count() == 0 => {
            crate::fsutil::write_atomic(&ws.root.join(&file), text.as_bytes())?;
            let n = records.len();
            eprintln!(
                "added {n} recommendation{} to section \"{}\" of {file}: write the take{} there",
                plural(n),
                opts.section.trim(),
                plural(n)
            );
            Ok(Outcome::Done)
        }
        _ => {
            eprintln!("nothing was added to {file}");
            Ok(Outcome::Failed)
        }
    }
}

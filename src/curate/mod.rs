//! Curation: editing issue files for the publisher. [`next`] starts the next issue
//! from the last one's skeleton (`publish new`); [`append`] turns link records into
//! recommendations (`publish add`). Both go through toml_edit, so the comments,
//! spacing and quoting the publisher wrote stay as they were.

pub mod append;
pub mod link;
pub mod next;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::diag::{Diagnostics, SourceFile};
use crate::workspace::Workspace;
use crate::workspace::config::Config;
use crate::workspace::content::record::LinkRecord;

/// What `publish add` was asked to do.
pub struct AddOptions<'a> {
    pub number: u32,
    pub files: &'a [PathBuf],
    pub section: &'a str,
    pub new_section: bool,
}

/// What `publish add` did: the issue file, how many records went in (none
/// when anything was wrong), and what was wrong.
pub struct Added {
    pub file: String,
    pub count: usize,
    pub diagnostics: Diagnostics,
}

/// Turns the link records in `opts.files` into recommendations of issue
/// `opts.number`. All are added, or (when any is wrong) none: the issue file
/// is written once.
pub fn add_records(ws: &Workspace, opts: &AddOptions) -> Result<Added> {
    let file = ws.entry(opts.number)?.file.clone();
    let issue = match SourceFile::load(&ws.root, Path::new(&file)) {
        Ok(issue) => issue,
        Err(problem) => {
            return Ok(Added { file, count: 0, diagnostics: Diagnostics { items: vec![problem] } });
        }
    };
    let tz = ws.config.as_ref().map_or(jiff::tz::TimeZone::UTC, Config::tz);
    let mut diagnostics = Diagnostics::default();
    let records: Vec<LinkRecord> = opts.files.iter().filter_map(|f| LinkRecord::read(f, &mut diagnostics)).collect();
    let addition =
        append::Addition { section: opts.section, new_section: opts.new_section, records: &records, tz: &tz };
    let count = match append::add(&issue, &addition, &mut diagnostics) {
        Some(text) if diagnostics.error_count() == 0 => {
            crate::fsutil::replace_durably(&ws.root.join(&file), text.as_bytes())?;
            records.len()
        }
        _ => 0,
    };
    Ok(Added { file, count, diagnostics })
}

/// `text` as TOML comment lines (`# ...`), wrapped at 100 columns, each line after
/// `indent`. Control characters, which TOML comments may not hold, become spaces.
fn comment(text: &str, indent: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    let mut out = String::new();
    for paragraph in clean.lines() {
        let width = 98 - indent.len();
        for line in textwrap::wrap(paragraph.trim_end(), width) {
            out.push_str(format!("# {indent}{line}").trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_wrapped_and_cannot_break_out() {
        let text = comment("one\ntwo\u{7}three\r\nkey = 1", "  ");
        assert_eq!(text, "#   one\n#   two three\n#   key = 1\n");
        let long = comment(&"word ".repeat(40), "");
        assert!(long.lines().all(|l| l.len() <= 100 && l.starts_with("# ")), "{long}");
        assert_eq!(long.lines().count(), 3);
    }
}

//! `publish test N --to ADDR`: one copy now, subject marked [TEST], no ledger.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: u32, to: Option<&str>) -> Result<Outcome> {
    println!("{}", Publication::load(root)?.send_test(number, to)?);
    Ok(Outcome::Done)
}

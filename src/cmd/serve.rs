//! `publish serve`: one-click unsubscribe and the web archive in `out/`.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;
use crate::server::{self, ServeConfig};

pub fn run(root: &Path, bind: &str) -> Result<Outcome> {
    server::run(ServeConfig::of(Publication::load(root)?)?, bind)?;
    Ok(Outcome::Done)
}

//! `publish build N`: render every artifact of issue N into `out/`, send nothing.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::deliver::token::Secret;
use crate::publication::build::{Artifacts, check_issue};
use crate::workspace::Workspace;

pub fn run(root: &Path, number: u32) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let built = build(&ws, number)?;
    eprintln!("built issue {number}: {} files in {}", built.files.len() + built.media.len(), ws.out_dir().display());
    Ok(Outcome::Done)
}

/// Checks, renders and writes issue `number`; shared by `build` and `issue`.
pub fn build(ws: &Workspace, number: u32) -> Result<Artifacts> {
    check_issue(ws, number)?;
    let secret = Secret::load_or_create(&ws.state_dir())?;
    let now = crate::clock::now()?;
    let artifacts = match Artifacts::render(ws, number, &secret, crate::clock::system(now)) {
        Ok(a) => a,
        Err(diags) => {
            diags.print();
            anyhow::bail!("issue {number} did not render: nothing was written");
        }
    };
    for w in &artifacts.warnings {
        eprintln!("{w}\n");
    }
    artifacts.write(&ws.out_dir())?;
    Ok(artifacts)
}

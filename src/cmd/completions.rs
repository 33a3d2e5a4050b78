//! `publish completions SHELL`: completions generated from the clap definitions.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::cmd::Outcome;

pub fn run(shell: clap_complete::Shell) -> Result<Outcome> {
    clap_complete::generate(shell, &mut Cli::command(), "publish", &mut std::io::stdout());
    Ok(Outcome::Done)
}

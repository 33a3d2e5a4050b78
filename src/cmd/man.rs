//! `publish man`: the man page (roff), generated from the clap definitions:
//! synopsis, options, every subcommand and the environment variables.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::cmd::Outcome;

pub fn run() -> Result<Outcome> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Outcome::Done)
}

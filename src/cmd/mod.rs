//! One short function per subcommand; each only calls the pipeline stages.

pub mod add;
pub mod build;
pub mod check;
pub mod cron;
pub mod issue;
pub mod new;
pub mod preview;
pub mod schedule;
pub mod serve;
pub mod status;
pub mod subscribers;
pub mod test;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// How a command ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 1: the command found errors (already printed).
    Failed,
    /// Exit 3: finished, but some recipients failed.
    PartlyFailed,
}

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<Outcome> {
    let root = cli.workspace;
    match cli.command {
        Command::Build { number } => build::run(&root, number),
        Command::Check { number, json } => check::run(&root, number, json),
        Command::Issue(args) => issue::run(&root, &args),
        Command::Preview(args) => preview::run(&root, &args),
        Command::Test { number, to } => test::run(&root, number, to.as_deref()),
        Command::Cron { now } => cron::run(&root, now.as_deref()),
        Command::Schedule { now } => schedule::run(&root, now.as_deref()),
        Command::Status { number, json } => status::run(&root, number, json),
        Command::Subscribers(command) => subscribers::run(&root, &command),
        Command::New => new::run(&root),
        Command::Add { number, files, section, new_section } => {
            add::run(&root, &crate::curate::AddOptions { number, files: &files, section: &section, new_section })
        }
        Command::Serve { bind } => serve::run(&root, &bind),
    }
}

//! One short function per subcommand; each only calls the pipeline stages.

pub mod add;
pub mod build;
pub mod check;
pub mod completions;
pub mod cron;
pub mod dkim;
pub mod init;
pub mod issue;
pub mod man;
pub mod new;
pub mod preview;
pub mod schedule;
pub mod serve;
pub mod state;
pub mod stats;
pub mod status;
pub mod subscribers;
pub mod test;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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
    let root = match &cli.command {
        Command::Init(_) | Command::Completions { .. } | Command::Man => PathBuf::new(),
        _ => workspace_root(cli.workspace.as_deref())?,
    };
    match cli.command {
        Command::Build { number, timings } => build::run(&root, number, timings),
        Command::Check { number, json } => check::run(&root, number, json),
        Command::Issue(args) => issue::run(&root, &args),
        Command::Preview(args) => preview::run(&root, &args),
        Command::Test { number, to } => test::run(&root, number, to.as_deref()),
        Command::Cron { now, json } => cron::run(&root, now.as_deref(), json),
        Command::Schedule { now, json } => schedule::run(&root, now.as_deref(), json),
        Command::Status { number, json } => status::run(&root, number, json),
        Command::Subscribers(command) => subscribers::run(&root, &command),
        Command::New => new::run(&root),
        Command::Add { number, files, section, new_section } => {
            add::run(&root, &crate::curate::AddOptions { number, files: &files, section: &section, new_section })
        }
        Command::Serve { bind } => serve::run(&root, &bind),
        Command::Stats { number, json, links: false, .. } => stats::run(&root, number, json),
        Command::Stats { number, json, links: true, csv } => stats::links(&root, number, json, csv),
        Command::Init(args) => init::run(&args),
        Command::Completions { shell } => completions::run(shell),
        Command::Man => man::run(),
        Command::Dkim(command) => dkim::run(&root, &command),
        Command::State(command) => state::run(&root, &command),
    }
}

/// `--workspace` or `PUBLISH_WORKSPACE` as given, else the nearest folder
/// from here up with a `publish.toml` (else here, for the error to say so).
fn workspace_root(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    let here = std::env::current_dir().context("cannot tell the current folder")?;
    Ok(match crate::workspace::Workspace::discover(&here) {
        Some(dir) if dir != here => {
            tracing::debug!("workspace: {}", dir.display());
            dir
        }
        _ => PathBuf::from("."),
    })
}

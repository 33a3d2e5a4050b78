//! `publish`: parse the command line, run the command, print the error with
//! its causes, exit with a status scripts can rely on (0, 1, 2 usage, 3 partial).

mod assemble;
mod cli;
mod clock;
mod cmd;
mod curate;
mod deliver;
mod diag;
mod fsutil;
mod preview;
mod publication;
mod render;
mod schedule;
mod server;
mod text;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(cmd::Outcome::Done) => ExitCode::SUCCESS,
        Ok(cmd::Outcome::Failed) => ExitCode::from(1),
        Ok(cmd::Outcome::PartlyFailed) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

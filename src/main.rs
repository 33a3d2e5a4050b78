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

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a build allocates many small strings on several threads, and
/// glibc's per-thread arenas cost it page protections and faults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_on_a_closed_pipe();
    let cli = cli::Cli::parse();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    diag::set_output(cli.quiet, color);
    start_tracing(cli.verbose, cli.quiet, color);
    match cmd::run(cli) {
        Ok(cmd::Outcome::Done) => ExitCode::SUCCESS,
        Ok(cmd::Outcome::Failed) => ExitCode::from(1),
        Ok(cmd::Outcome::PartlyFailed) => ExitCode::from(3),
        Err(e) if closed_pipe(&e) => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

/// `publish schedule --json | head`, `publish check 2>&1 | head`: when the
/// reader of standard output or standard error goes away, the process ends
/// quietly with the status a shell gives a process ended by SIGPIPE (141),
/// instead of a panic and its backtrace. (The signal itself stays ignored: a
/// sendmail program that quits early must not end a send.)
fn quiet_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Whether `error` is a write to standard output that failed because its reader
/// went away (`publish man | head`): the same quiet end as [`quiet_on_a_closed_pipe`].
fn closed_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Sends `tracing` events to stderr: none by default (warnings the commands
/// print themselves), the SMTP conversation, files read and stage timings with
/// `-v`, everything of ours with `-vv`, errors only with `-q`. `PUBLISH_LOG`
/// (or `RUST_LOG`) is a filter of its own, e.g. `publish::deliver::smtp=debug`.
fn start_tracing(verbose: u8, quiet: bool, color: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "publish=debug",
        (false, _) => "publish=trace",
    };
    let from_env = ["PUBLISH_LOG", "RUST_LOG"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let filter = match from_env {
        Some(spec) if !quiet && verbose == 0 => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: PUBLISH_LOG/RUST_LOG {spec:?} is not a tracing filter ({e}); using {level}");
            EnvFilter::new(level)
        }),
        _ => EnvFilter::new(level),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_found_among_the_causes() {
        let closed = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(closed_pipe(&anyhow::Error::from(closed).context("cannot print the man page")));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!closed_pipe(&anyhow::Error::from(other)));
    }
}

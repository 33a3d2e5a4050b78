//! `publish issue N`: build everything, then send the email to every
//! subscriber not yet sent to.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::IssueArgs;
use crate::cmd::Outcome;
use crate::cmd::build;
use crate::deliver::dkim::Signer;
use crate::deliver::lock::{Lock, TryLock};
use crate::deliver::send::{self, MessageFactory, group_replies};
use crate::deliver::store::Store;
use crate::deliver::token::Secret;
use crate::deliver::transport::Transport;
use crate::publication::build::Artifacts;
use crate::workspace::Workspace;

/// The `--json` summary.
#[derive(Serialize)]
struct Summary {
    issue: u32,
    transport: String,
    sent: u64,
    failed: u64,
    /// Recipients sent to by an earlier run.
    skipped: u64,
    pending: u64,
    duration_secs: f64,
    rate_per_sec: f64,
    failures: Vec<FailureGroup>,
    aborted: Option<String>,
}

#[derive(Serialize)]
struct FailureGroup {
    reply: String,
    recipients: usize,
}

/// Who asked for the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `publish issue N`: asks first on a real transport unless `yes`; new
    /// subscribers since the first run are added to the audience.
    Manual { yes: bool, json: bool, retry_failed: bool },
    /// `publish cron`: no questions, the audience stays the one it started with.
    Cron,
}

/// How a send went, for the caller's exit status.
pub enum Sent {
    Done(Outcome),
    /// Another process is sending this issue (its lock holder).
    Busy(String),
}

pub fn run(root: &Path, args: &IssueArgs) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    if args.dry_run {
        let transport = Transport::choose(ws.config()?, &ws.out_dir(), args.number)?;
        return dry_run(&ws, args.number, &transport, args.json);
    }
    match send(&ws, args.number, Mode::Manual { yes: args.yes, json: args.json, retry_failed: args.retry_failed })? {
        Sent::Done(outcome) => Ok(outcome),
        Sent::Busy(holder) => bail!(
            "issue {n} is being sent right now by {holder}: wait for it to finish (`publish status {n}` shows progress)",
            n = args.number
        ),
    }
}

/// Builds issue `n` and sends it to every recipient not yet sent to.
pub fn send(ws: &Workspace, n: u32, mode: Mode) -> Result<Sent> {
    let config = ws.config()?;
    let transport = Transport::choose(config, &ws.out_dir(), n)?;
    let state = ws.state_dir();
    let _lock = match Lock::try_acquire(&state, &format!("send-{n}"), &format!("publish issue {n}"))? {
        TryLock::Acquired(lock) => lock,
        TryLock::Held(holder) => return Ok(Sent::Busy(holder)),
    };
    let artifacts = build::build(ws, n)?;
    let mut store = Store::open(&state)?;
    let now = crate::clock::now()?;
    store.enrol(n, matches!(mode, Mode::Manual { .. }), &now.to_string())?;
    if let Mode::Manual { retry_failed: true, .. } = mode {
        let requeued = store.retry_failed(n, &now.to_string())?;
        eprintln!("{requeued} recipients who failed before are queued again");
    }
    let before = store.counts(n)?;
    let json = matches!(mode, Mode::Manual { json: true, .. });
    if let Mode::Manual { yes, .. } = mode
        && before.pending > 0
        && !confirm(&transport, n, before.pending, yes)?
    {
        eprintln!("nothing sent");
        return Ok(Sent::Done(Outcome::Failed));
    }
    let factory = factory(ws, artifacts, false)?;
    let options = send::options(config, n, std::io::stderr().is_terminal() && !json && mode != Mode::Cron)?;
    let stats = if before.pending > 0 {
        send::run(&state, factory, transport.clone(), options, before.pending)?
    } else {
        send::RunStats::default()
    };
    let after = store.counts(n)?;
    store.finish_if_done(n, &crate::clock::now()?.to_string())?;
    let failures = group_replies(&store.failures(n)?);
    let secs = stats.duration.as_secs_f64();
    let summary = Summary {
        issue: n,
        transport: transport.describe(),
        sent: stats.sent,
        failed: after.failed,
        skipped: before.sent,
        pending: after.pending,
        duration_secs: secs,
        rate_per_sec: if secs > 0.0 { stats.sent as f64 / secs } else { 0.0 },
        failures: failures.iter().map(|(reply, n)| FailureGroup { reply: reply.clone(), recipients: *n }).collect(),
        aborted: stats.aborted.clone(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    if let Some(why) = stats.aborted {
        bail!(
            "sending stopped: {why}\n{} recipients are still pending: run `publish issue {n}` again to resume{}",
            after.pending,
            if after.failed > 0 {
                format!(" (add --retry-failed to try the {} failed ones too)", after.failed)
            } else {
                String::new()
            }
        );
    }
    Ok(Sent::Done(if after.failed > 0 { Outcome::PartlyFailed } else { Outcome::Done }))
}

/// The message maker of issue `artifacts`; `test` marks the subject "[TEST]".
pub fn factory(ws: &Workspace, artifacts: Artifacts, test: bool) -> Result<MessageFactory> {
    let config = ws.config()?;
    let signer = config.email.dkim.as_ref().map(|d| Signer::load(d, &ws.root)).transpose()?;
    let mut letter = artifacts.envelope;
    letter.test = test;
    Ok(MessageFactory {
        letter,
        body: artifacts.email,
        secret: Secret::load_or_create(&ws.state_dir())?,
        signer,
        date: crate::clock::system(crate::clock::now()?),
    })
}

fn confirm(transport: &Transport, n: u32, pending: u64, yes: bool) -> Result<bool> {
    if yes || !transport.is_real() {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("this would send issue {n} to {pending} subscribers via {}: add --yes to confirm", transport.describe());
    }
    eprint!("Send issue {n} to {pending} subscribers via {}? [y/N] ", transport.describe());
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).context("cannot read the answer")?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// What `--dry-run` shows (and prints as JSON with `--json`).
#[derive(Serialize)]
struct DryRun {
    issue: u32,
    subject: String,
    transport: String,
    recipients: u64,
    already_sent: u64,
    failed_earlier: u64,
    would_write: Vec<PlannedFile>,
}

#[derive(Serialize)]
struct PlannedFile {
    path: String,
    bytes: Option<usize>,
}

/// Renders in memory and reads the ledger without writing anything: no
/// secret is made (a stand-in signs the sample's links) and no database created.
fn dry_run(ws: &Workspace, n: u32, transport: &Transport, json: bool) -> Result<Outcome> {
    crate::publication::build::check_issue(ws, n)?;
    let secret =
        Secret::load_existing(&ws.state_dir())?.unwrap_or_else(|| Secret::from_bytes(b"dry-run: no secret yet"));
    let artifacts = match Artifacts::render(ws, n, &secret, crate::clock::system(crate::clock::now()?)) {
        Ok(a) => a,
        Err(diags) => {
            diags.print();
            bail!("issue {n} did not render");
        }
    };
    let counts = match Store::open_read_only(&ws.state_dir())? {
        Some(store) => store.counts(n)?,
        None => Default::default(),
    };
    let recipients = counts.pending + counts.not_started;
    let mut would_write: Vec<PlannedFile> = artifacts
        .files
        .iter()
        .map(|(path, bytes)| PlannedFile {
            path: format!("out/{}", path.display()).replace('\\', "/"),
            bytes: Some(bytes.len()),
        })
        .collect();
    if let Transport::Outbox { dir } = transport {
        would_write.push(PlannedFile { path: format!("{}/*.eml ({recipients} messages)", dir.display()), bytes: None });
    }
    let plan = DryRun {
        issue: n,
        subject: artifacts.envelope.subject.clone(),
        transport: transport.describe(),
        recipients,
        already_sent: counts.sent,
        failed_earlier: counts.failed,
        would_write,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(Outcome::Done);
    }
    println!("dry run of issue {n}: nothing is written or sent");
    println!("  subject:    {}", plan.subject);
    println!("  transport:  {}", plan.transport);
    println!(
        "  recipients: {recipients} (already sent: {}, failed earlier: {})",
        plan.already_sent, plan.failed_earlier
    );
    println!("  would write:");
    for file in &plan.would_write {
        match file.bytes {
            Some(bytes) => println!("    {} ({bytes} bytes)", file.path),
            None => println!("    {}", file.path),
        }
    }
    Ok(Outcome::Done)
}

fn print_summary(s: &Summary) {
    println!(
        "issue {}: {} sent, {} failed, {} pending, {} sent before ({:.1}s, {:.0} messages/s) via {}",
        s.issue, s.sent, s.failed, s.pending, s.skipped, s.duration_secs, s.rate_per_sec, s.transport
    );
    for group in &s.failures {
        println!("  {} recipient{}: {}", group.recipients, crate::text::plural(group.recipients), group.reply);
    }
}

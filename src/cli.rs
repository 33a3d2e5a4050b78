//! The command line: clap derive types whose doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Publish a weekly newsletter and its podcast from plain files.
#[derive(Debug, Parser)]
#[command(name = "publish", version, about, propagate_version = true)]
pub struct Cli {
    /// The publication's folder (where publish.toml is).
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub workspace: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish issue N: check, render, write the web page, feeds and social posts, then email every subscriber not yet sent to.
    Issue(IssueArgs),
    /// Render every artifact of issue N into out/, send nothing.
    Build {
        /// The issue number.
        number: u32,
    },
    /// Check the workspace (or one issue); report every error with file:line:column.
    Check {
        /// Only this issue (and the publication's files).
        number: Option<u32>,
        /// One JSON object per diagnostic on stdout (file, line, column, severity, message, help).
        #[arg(long)]
        json: bool,
    },
    /// Serve a live preview of an issue on 127.0.0.1 that reloads when files change.
    Preview(PreviewArgs),
    /// Send issue N to one address now, subject marked [TEST]; no send records are touched.
    Test {
        number: u32,
        /// The address to send to (default: [email] test_to).
        #[arg(long)]
        to: Option<String>,
    },
    /// Send every issue whose send_at has passed and is not fully sent, then exit.
    Cron {
        /// Pretend it is this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// List scheduled issues with their send time and state.
    Schedule {
        /// Pretend it is this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// How many subscribers issue N was sent to, failed for, and still has pending.
    Status {
        number: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Look after the subscriber list.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Start the next issue from the last one's skeleton.
    New,
    /// Turn link records into recommendations of issue N.
    Add {
        number: u32,
        /// Link records (Markdown with YAML front matter).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The section to add to.
        #[arg(long)]
        section: String,
        /// Create the section if it does not exist.
        #[arg(long)]
        new_section: bool,
    },
    /// Serve one-click unsubscribe and the web archive in out/.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issue number.
    pub number: u32,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    /// Show what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable summary.
    #[arg(long)]
    pub json: bool,
    /// Try the recipients that failed in an earlier run again (bounced addresses stay out).
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The issue (default: the newest).
    pub number: Option<u32>,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// Listen on another address than 127.0.0.1.
    #[arg(long)]
    pub bind: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add subscribers from a CSV or TSV file (an `email` column; Substack, Mailchimp and Excel exports work as they are).
    Import { file: PathBuf },
    /// List subscribers.
    List {
        /// Only the unsubscribed ones (every status but active).
        #[arg(long)]
        unsubscribed: bool,
        /// Only these: active, unsubscribed, bounced, complained, removed, inactive or all.
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// One JSON array of people, each with email, name, status and fields.
        #[arg(long)]
        json: bool,
    },
    /// How many active subscribers there are.
    Count,
    /// Remove an address; it is never mailed again.
    Remove { address: String },
    /// Mark bad addresses bounced, from the bounce reports (DSNs) a relay mailed back: `.eml` files, mbox files or Maildir folders.
    Bounces {
        /// Files or folders holding the bounce messages.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Add one person; without --confirmed they get the confirmation mail first.
    Add {
        /// Their email address.
        address: String,
        /// Their name.
        #[arg(long, default_value = "")]
        name: String,
        /// They asked already (in person, by mail): subscribe them at once.
        #[arg(long)]
        confirmed: bool,
    },
    /// Every field of one person and their consent record: how and when they joined, confirmed, left.
    Show {
        /// Their email address.
        address: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The list with every field and consent record; `subscribers import` reads the CSV back.
    Export {
        /// csv (default) or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// active (default) or all.
        #[arg(long, default_value = "active")]
        status: String,
    },
    /// Erase a person's data (GDPR); only a keyed hash stays, so the address is never imported or mailed again.
    Forget {
        /// Their email address.
        address: String,
    },
}

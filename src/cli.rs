//! The command line: clap derive types whose doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The environment variables, for `--help` and the man page.
const ENVIRONMENT: &str = "\
Environment:
  PUBLISH_WORKSPACE      the publication's folder (as --workspace)
  PUBLISH_SMTP_URL       send over SMTP: smtp://user@host:587, smtps://host:465, ?tls=none for a local relay
  PUBLISH_SMTP_PASSWORD  the SMTP password (never put it in publish.toml)
  PUBLISH_STATE_DIR      where the subscriber list and send records live (default .publish/)
  PUBLISH_SECRET         the key that signs unsubscribe links (default a key kept in .publish/)
  PUBLISH_NOW            pretend it is this time (RFC 3339), for rehearsals
  PUBLISH_DATABASE_URL   keep the state in PostgreSQL (postgres://user:password@host/name[?sslmode=require]),
                         shared by every machine that sends (then set PUBLISH_SECRET alike on each)
  PUBLISH_SENDER         this sender's name in a shared send (default host:pid)
  PUBLISH_LEASE          how long a claimed batch stays a sender's without renewal (default 60s)
  PUBLISH_LOG, RUST_LOG  what -v traces, as a tracing filter (\"publish=debug\", \"publish::deliver::smtp=debug\")
  NO_COLOR               no colour on a terminal";

/// Publish a weekly newsletter and its podcast from plain files.
#[derive(Debug, Parser)]
#[command(name = "publish", version, about, propagate_version = true, after_help = ENVIRONMENT)]
pub struct Cli {
    /// The publication's folder (default: the nearest folder up from here with a publish.toml).
    #[arg(long, global = true, value_name = "DIR", env = "PUBLISH_WORKSPACE")]
    pub workspace: Option<PathBuf>,

    /// Say more on stderr: -v the SMTP conversation, files read and stage timings; -vv more.
    #[arg(long, short, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print only errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,

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
        /// Print where the time went, stage by stage, on stderr (for benchmarks).
        #[arg(long, hide = true)]
        timings: bool,
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
        /// The issue number.
        number: u32,
        /// The address to send to (default: [email] test_to).
        #[arg(long)]
        to: Option<String>,
    },
    /// Send every issue whose send_at has passed and is not fully sent, then exit.
    Cron {
        /// Pretend it is this time (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = crate::clock::valid_now)]
        now: Option<String>,
        /// One JSON object per line for each send (the `issue --json` report).
        #[arg(long)]
        json: bool,
    },
    /// List scheduled issues with their send time and state.
    Schedule {
        /// Pretend it is this time (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = crate::clock::valid_now)]
        now: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// How many subscribers issue N was sent to, failed for, and still has pending.
    Status {
        /// The issue number.
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
        /// The issue to add to.
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
    /// Per issue: sent, failed, bounced, complained and unsubscribed after it; the list's growth per week.
    Stats {
        /// Only this issue.
        number: Option<u32>,
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// Clicks of counted links ([insight] clicks): per link, section and sponsor, and the clicks kept out as bots.
        #[arg(long)]
        links: bool,
        /// With --links: as CSV (one row per link and per section, with a header).
        #[arg(long, requires = "links", conflicts_with = "json")]
        csv: bool,
    },
    /// Serve one-click unsubscribe, signup, confirmation and preferences, and the web archive in out/.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Start a new publication in DIR: publish.toml, a first issue, sponsors.toml, templates/, media/.
    Init(InitArgs),
    /// Print shell completions (e.g. `publish completions bash > ~/.local/share/bash-completion/completions/publish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `publish man > ~/.local/share/man/man1/publish.1`.
    Man,
    /// DKIM keys: make one, and print the DNS record to publish.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// The state (subscribers, send records, consent): copy it to PostgreSQL or back.
    #[command(subcommand)]
    State(StateCommand),
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the whole state from where it is now (.publish/state.db, or PUBLISH_DATABASE_URL)
    /// to another database, in one transaction, checking every table's count.
    Migrate {
        /// The target: postgres://user:password@host/name[?sslmode=require] or sqlite:PATH/state.db.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Empty a target that already holds rows first (else it is refused).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to create the publication in (it may exist, but none of the files may).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The publication's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Where out/ will be published, e.g. https://example.com/letter.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The sender's address, e.g. "Letter <letter@example.com>" or letter@example.com.
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// The time zone, an IANA name such as Europe/Paris (default UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Make a key in .publish/ and print the TXT record for SELECTOR._domainkey.DOMAIN.
    Keygen {
        /// The selector: the record's name starts with it (e.g. "mh2024").
        #[arg(long)]
        selector: String,
        /// The key type: rsa (2048 bits, every receiver checks it) or ed25519 (RFC 8463; few check it alone).
        #[arg(long, value_enum, default_value_t = DkimAlgorithm::Rsa)]
        algorithm: DkimAlgorithm,
        /// The signing domain (default: the domain of [sender] email).
        #[arg(long)]
        domain: Option<String>,
    },
    /// Print the TXT record of the key [email.dkim] names (or of --selector's key in .publish/,
    /// or of the one key in .publish/ when [email.dkim] names none).
    Show {
        /// A key made by `dkim keygen` that publish.toml does not name yet.
        #[arg(long)]
        selector: Option<String>,
        /// The signing domain given to `dkim keygen --domain` (default: [email.dkim]'s, else
        /// the domain of [sender] email).
        #[arg(long)]
        domain: Option<String>,
    },
    /// Benchmark: sign a small message with each [email.dkim] key alone on one core; signatures per second.
    #[command(hide = true)]
    Speed {
        /// How long to sign with each key.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DkimAlgorithm {
    Rsa,
    Ed25519,
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
    Import {
        /// The CSV or TSV file.
        file: PathBuf,
    },
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
    Count {
        /// Print {"active": N}.
        #[arg(long)]
        json: bool,
    },
    /// Remove an address; it is never mailed again.
    Remove {
        /// The email address.
        address: String,
    },
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `--help`, the man page and completions describe every argument.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "publish", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

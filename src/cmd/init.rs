//! `publish init [DIR]`: start a new publication. On a terminal it asks for
//! what the flags leave out; without one it takes placeholders and says so.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};

use crate::cli::InitArgs;
use crate::cmd::Outcome;
use crate::publication::init::{Starter, init};

pub fn run(args: &InitArgs) -> Result<Outcome> {
    let ask = std::io::stdin().is_terminal();
    let name = value(&args.name, ask, "Publication name", "My Newsletter")?;
    let base_url = value(&args.base_url, ask, "Where out/ will be published", "https://example.com/newsletter")?;
    let from = value(&args.from, ask, "Send from (Name <address>)", "newsletter@example.com")?;
    let timezone = value(&args.timezone, ask, "Time zone", "UTC")?;
    let (sender_name, sender_email) = match from.split_once('<') {
        Some((n, rest)) => (n.trim().trim_matches('"').to_string(), rest.trim_end().trim_end_matches('>').to_string()),
        None => (name.clone(), from.trim().to_string()),
    };
    let sender_name = if sender_name.is_empty() { name.clone() } else { sender_name };
    let starter = Starter { name, base_url, sender_name, sender_email, timezone };
    let written = init(&args.dir, &starter)?;
    println!("created a publication in {}: {}", args.dir.display(), written.join(", "));
    if !ask && (args.base_url.is_none() || args.from.is_none()) {
        crate::diag::note("base_url and [sender] email are placeholders: set them in publish.toml before sending");
    }
    println!("next: `publish check`, then `publish issue 1` (it writes the emails to out/outbox/1/)");
    Ok(Outcome::Done)
}

/// The flag's value; else, on a terminal, the answer (Enter takes `default`); else `default`.
fn value(given: &Option<String>, ask: bool, question: &str, default: &str) -> Result<String> {
    if let Some(v) = given {
        return Ok(v.clone());
    }
    if !ask {
        return Ok(default.to_string());
    }
    eprint!("{question} [{default}]: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
    Ok(if answer.trim().is_empty() { default.to_string() } else { answer.trim().to_string() })
}

//! `publish init [DIR]`: start a new publication. On a terminal it asks for
//! what the flags leave out; without one it takes placeholders and says so.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};

use crate::cli::InitArgs;
use crate::cmd::Outcome;
use crate::publication::init::{Starter, check_base_url, check_dir, check_from, check_name, check_timezone, init};

pub fn run(args: &InitArgs) -> Result<Outcome> {
    let ask = std::io::stdin().is_terminal();
    check_dir(&args.dir)?;
    let name = value(&args.name, ask, "Publication name", "My Newsletter", check_name)?;
    let base_url =
        value(&args.base_url, ask, "Where out/ will be published", "https://example.com/newsletter", check_base_url)?;
    let from = value(&args.from, ask, "Send from (Name <address>)", "newsletter@example.com", check_from)?;
    let timezone = value(&args.timezone, ask, "Time zone", "UTC", check_timezone)?;
    let starter = Starter::new(name, base_url, &from, timezone);
    let made = init(&args.dir, &starter)?;
    println!("created a publication in {}: {}", args.dir.display(), made.written.join(", "));
    if !made.kept.is_empty() {
        println!("kept what was there: {}", made.kept.join(", "));
    }
    if !ask {
        let placeholders = match (args.base_url.is_none(), args.from.is_none()) {
            (true, true) => "base_url and [sender] email are placeholders: set them",
            (true, false) => "base_url is a placeholder: set it",
            (false, true) => "[sender] email is a placeholder: set it",
            (false, false) => "",
        };
        if !placeholders.is_empty() {
            crate::diag::note(format!("{placeholders} in publish.toml before sending"));
        }
    }
    println!("next: `publish check`, then `publish issue 1` (it writes the emails to out/outbox/1/)");
    Ok(Outcome::Done)
}

/// How many answers to one question are refused before init gives up.
const TRIES: usize = 3;

/// The flag's value; else, on a terminal, the answer (Enter takes `default`;
/// an answer `check` refuses is asked again, saying why); else `default`.
/// A flag's value is checked later, with the others, by [`Starter::check`].
fn value(
    given: &Option<String>,
    ask: bool,
    question: &str,
    default: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<String> {
    if let Some(v) = given {
        return Ok(v.clone());
    }
    if !ask {
        return Ok(default.to_string());
    }
    for _ in 0..TRIES {
        eprint!("{question} [{default}]: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
        let answer = if answer.trim().is_empty() { default.to_string() } else { answer.trim().to_string() };
        match check(&answer) {
            Ok(()) => return Ok(answer),
            Err(why) => eprintln!("{why}"),
        }
    }
    bail!("{question}: no answer was accepted in {TRIES} tries; nothing was written")
}

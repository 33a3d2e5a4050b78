//! `publish init`: a new publication a person can check, build and send at
//! once: a commented `publish.toml`, a first issue, `sponsors.toml`,
//! `templates/`, `media/` and a `.gitignore`. Nothing that exists is replaced.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

/// What a new publication starts from.
pub struct Starter {
    pub name: String,
    pub base_url: String,
    pub sender_name: String,
    pub sender_email: String,
    /// An IANA time zone.
    pub timezone: String,
}

impl Starter {
    /// The starter for these answers: `from` is "Name <address>" or an address
    /// (then the publication's name is the sender's).
    pub fn new(name: String, base_url: String, from: &str, timezone: String) -> Starter {
        let (sender_name, sender_email) = split_from(from);
        let sender_name = if sender_name.is_empty() { name.clone() } else { sender_name };
        Starter { name, base_url, sender_name, sender_email, timezone }
    }

    /// Checks the values as `publish check` will, before anything is written.
    pub fn check(&self) -> Result<()> {
        check_name(&self.name).map_err(|why| anyhow!("--name: {why}"))?;
        check_base_url(&self.base_url).map_err(|why| anyhow!("--base-url {why}"))?;
        if self.sender_email.parse::<lettre::Address>().is_err() || self.sender_name.contains(['\r', '\n', '<']) {
            bail!("--from: {FROM_HINT}");
        }
        if let Some(c) = self.sender_name.chars().find(|&c| crate::text::is_not_text(c)) {
            bail!("--from: the sender's name has {}: type it again without it", crate::text::not_text_name(c));
        }
        check_timezone(&self.timezone).map_err(|why| anyhow!("--timezone {why}"))
    }
}

/// Why `name` cannot be a publication's name, if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.contains(['\r', '\n']) {
        return Err("give the publication's name on one line".into());
    }
    if let Some(c) = name.chars().find(|&c| crate::text::is_not_text(c)) {
        return Err(format!("the name has {}: type it again without it", crate::text::not_text_name(c)));
    }
    Ok(())
}

/// Why `url` cannot be the base URL, if it cannot.
/// The same check as `publish check` makes of publish.toml's base_url.
pub fn check_base_url(url: &str) -> Result<(), String> {
    match crate::workspace::config::base_url_problem(url) {
        None => Ok(()),
        Some(problem) => Err(format!("{url:?} {}; {}", problem.why, problem.help)),
    }
}

/// Why `from` cannot be the sender, if it cannot.
pub fn check_from(from: &str) -> Result<(), String> {
    let (name, email) = split_from(from);
    if email.parse::<lettre::Address>().is_err() || name.contains(['\r', '\n', '<']) {
        return Err(FROM_HINT.into());
    }
    if let Some(c) = name.chars().find(|&c| crate::text::is_not_text(c)) {
        return Err(format!("the sender's name has {}: type it again without it", crate::text::not_text_name(c)));
    }
    Ok(())
}

/// Why `timezone` is not a time zone, if it is not.
pub fn check_timezone(timezone: &str) -> Result<(), String> {
    match jiff::tz::TimeZone::get(timezone) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("{timezone:?} is not a time zone: use an IANA name such as Europe/Paris")),
    }
}

const FROM_HINT: &str = "write it as \"Name <letter@example.com>\" or letter@example.com";

/// "Name <address>" as (name, address); a bare address has no name.
fn split_from(from: &str) -> (String, String) {
    match from.split_once('<') {
        Some((n, rest)) => (n.trim().trim_matches('"').to_string(), rest.trim_end().trim_end_matches('>').to_string()),
        None => (String::new(), from.trim().to_string()),
    }
}

/// Refuses a `dir` that is there but is not a folder (a file of that name).
pub fn check_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{} is a file, not a folder: give publish init the name of a new or empty folder; nothing was written",
            dir.display()
        );
    }
    Ok(())
}

/// What [`init`] did: the files it wrote (or, for `.gitignore`, added lines
/// to) and the files that were there already and were kept as they are.
pub struct Made {
    pub written: Vec<&'static str>,
    pub kept: Vec<&'static str>,
}

/// The files that make a folder a publication: when one is there with other
/// contents, init is refused.
const PUBLICATION: [&str; 2] = ["publish.toml", "issues/001.toml"];

/// Writes the new publication into `dir` (created if missing), which may be a
/// fresh clone with a README, a licence and a `.gitignore`. A file that exists
/// is never replaced: it is kept, and an existing `.gitignore` gets only the
/// lines Masthead needs that it lacks. Refuses, writing nothing, when `dir` is a
/// publication already (`publish.toml` or an issue file). `publish.toml` is
/// written last; a run killed half-way is finished by the same command run
/// again (a file it wrote already, as this run would write it, is kept).
pub fn init(dir: &Path, starter: &Starter) -> Result<Made> {
    starter.check()?;
    check_dir(dir)?;
    let tz = jiff::tz::TimeZone::get(&starter.timezone)?;
    let today = crate::clock::now()?.to_zoned(tz).date();
    let files: [(&str, String); 5] = [
        (".gitignore", ignored().join("\n") + "\n"),
        ("issues/001.toml", first_issue(starter, today)),
        ("sponsors.toml", SPONSORS.to_string()),
        ("templates/README.md", TEMPLATES_README.to_string()),
        ("publish.toml", publish_toml(starter)),
    ];
    let exists = |file: &str| dir.join(file).symlink_metadata().is_ok();
    let already = |file: &str, text: &str| std::fs::read(dir.join(file)).is_ok_and(|b| b == text.as_bytes());
    let mut taken: Vec<String> = files
        .iter()
        .filter(|(f, text)| PUBLICATION.contains(f) && exists(f) && !already(f, text))
        .map(|(f, _)| f.to_string())
        .collect();
    taken.extend(other_issue_files(&dir.join("issues")));
    if !taken.is_empty() {
        bail!(
            "{} already has {}: it is a publication already, and nothing was written (publish init never \
             replaces a file; run `publish check` there, or give publish init a new folder)",
            dir.display(),
            taken.join(", ")
        );
    }
    let media = dir.join("media");
    if media.symlink_metadata().is_ok() && !media.is_dir() {
        bail!(
            "{} is a file, not a folder: Masthead keeps episodes and pictures in media/; rename that file \
             and run publish init again (nothing was written)",
            media.display()
        );
    }
    let gitignore = dir.join(".gitignore");
    let gitignore_lines = match std::fs::read(&gitignore) {
        Ok(bytes) => Some(with_ignored(&bytes)),
        Err(_) if exists(".gitignore") => bail!("cannot read {}; nothing was written", gitignore.display()),
        Err(_) => None,
    };
    let mut made = Made { written: Vec::new(), kept: Vec::new() };
    for (file, text) in &files {
        match (*file, &gitignore_lines) {
            (".gitignore", Some(None)) => made.kept.push(*file),
            (".gitignore", Some(Some(bytes))) => {
                crate::fsutil::replace_durably(&gitignore, bytes)?;
                made.written.push(*file);
            }
            _ if already(file, text) => made.written.push(*file),
            _ if exists(file) => made.kept.push(*file),
            _ => {
                crate::fsutil::create_new(&dir.join(file), text.as_bytes())?;
                made.written.push(*file);
            }
        }
    }
    std::fs::create_dir_all(&media).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", media.display()))?;
    made.written.push("media/");
    Ok(made)
}

/// The lines of the `.gitignore` init writes: what Masthead makes that is not
/// to be committed (its state, its output, the temporary files of a killed run).
fn ignored() -> [String; 3] {
    [".publish/".into(), "out/".into(), format!("{}*", crate::fsutil::TEMP_PREFIX)]
}

/// An existing `.gitignore` with the [`ignored`] lines it lacks added at its
/// end, in its own line ends; `None` when it has them all. Its bytes are kept.
fn with_ignored(existing: &[u8]) -> Option<Vec<u8>> {
    let bare = |line: &[u8]| {
        let line = line.trim_ascii();
        let line = line.strip_prefix(b"/").unwrap_or(line);
        line.strip_suffix(b"/").unwrap_or(line).to_vec()
    };
    let have: Vec<Vec<u8>> = existing.split(|&b| b == b'\n').map(bare).collect();
    let missing: Vec<String> = ignored().into_iter().filter(|l| !have.contains(&bare(l.as_bytes()))).collect();
    if missing.is_empty() {
        return None;
    }
    let eol: &[u8] = if existing.windows(2).any(|w| w == b"\r\n") { b"\r\n" } else { b"\n" };
    let mut bytes = existing.to_vec();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.extend_from_slice(eol);
    }
    for line in missing {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(eol);
    }
    Some(bytes)
}

/// The issue files in `issues` other than the first one init writes.
fn other_issue_files(issues: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(issues) else { return Vec::new() };
    let mut found: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml") && n != "001.toml")
        .map(|n| format!("issues/{n}"))
        .collect();
    found.sort();
    found
}

/// A TOML string, quoted and escaped.
fn quoted(text: &str) -> String {
    toml_edit::Value::from(text).to_string().trim().to_string()
}

fn publish_toml(s: &Starter) -> String {
    format!(
        r#"# {name_comment}: the publication's settings. Every key is described in the README
# ("The workspace"); `publish check` reports a typo with the nearest key.

name = {name}
description = ""          # one sentence, for the feeds and the archive page
base_url = {base_url}     # where out/ is published: issue 1's page is {{base_url}}/1/
language = "en"           # BCP 47
timezone = {timezone}

# Who the email comes from.
[sender]
name = {sender_name}
email = {sender_email}
# reply_to = "you@example.com"

[email]
# "outbox" writes every message to out/outbox/N/*.eml, to read before anything
# leaves. Set PUBLISH_SMTP_URL (and PUBLISH_SMTP_PASSWORD) to send over SMTP.
transport = "outbox"
# test_to = "you@example.com"   # where `publish test N` sends

# DKIM signing: `publish dkim keygen --selector S` makes a key in .publish/ and
# prints the DNS record to publish and the [email.dkim] table to add here.

[schedule]
max_late = "6h"   # `publish cron` sends an issue at most this long after its send_at

# The standing "Our Ask" at the end of every issue:
# [ask]
# text = "If you like this newsletter, forward it to a friend."
"#,
        name_comment = s.name.replace(['\r', '\n'], " "),
        name = quoted(&s.name),
        base_url = quoted(&s.base_url),
        timezone = quoted(&s.timezone),
        sender_name = quoted(&s.sender_name),
        sender_email = quoted(&s.sender_email),
    )
}

fn first_issue(s: &Starter, today: jiff::civil::Date) -> String {
    format!(
        r#"# {name} #1. Sections and recommendations appear in the order written here.
# Text fields are Markdown; links must be full https:// URLs.
# `publish issue 1` builds it into out/ and writes each email to out/outbox/1/.

title = "Hello, readers"
date = {today}
# send_at = {today}T09:00:00   # uncomment for `publish cron` to send it ({tz})
preheader = "What this newsletter is, and the first link worth your time."

intro = """
Welcome to the first issue. Every week: a few links worth reading, with our take.
"""

[[sections]]
name = "Worth reading"

[[sections.recommendations]]
title = "The Rust Programming Language"
url = "https://doc.rust-lang.org/book/"
authors = ["Steve Klabnik", "Carol Nichols"]
source = "rust-lang.org"
take = """
Why we recommend it, in a few sentences. Replace this with your own take.
"""
"#,
        name = s.name.replace(['\r', '\n'], " "),
        tz = s.timezone,
    )
}

const SPONSORS: &str = r#"# Sponsors. An issue names one with `sponsor = "id"`, says `sponsor = "none"`,
# or leaves the key out: then the sponsors whose flight (start..end) covers the
# issue's date take turns. Copy this block and remove the # to add one.

# [[sponsor]]
# id = "acme"
# name = "Acme"
# url = "https://acme.example/"
# copy = """
# A few sentences about Acme, in Markdown.
# """
# cta = "Try Acme"
# start = 2025-01-01
# end = 2025-12-31
"#;

const TEMPLATES_README: &str = "Put a file here named like a built-in template (email.html, email.txt, web.html, \
archive.html, social/x.txt, ...) to use it instead of the built-in one; see the README, \"Output\".\n";

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_escapes_what_toml_needs() {
        for text in ["A \"B\" \\ C", "it's", "x'\"y\\z\n", "# not a comment", "🦀"] {
            let parsed: toml::Table = toml::from_str(&format!("k = {}", super::quoted(text))).unwrap();
            assert_eq!(parsed["k"].as_str(), Some(text));
        }
    }
}

//! `publish man`: the man page (roff), generated from the clap definitions:
//! synopsis, options, every command with its own synopsis and options, and the
//! environment variables (ENVIRONMENT). One page holds it all, so that what
//! `publish man > ~/.local/share/man/man1/publish.1` installs names no other
//! page (clap_mangen's list of subcommands points at `publish-issue(1)` and the
//! like, which nothing installs).

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::Cli;
use crate::cmd::Outcome;

pub fn run() -> Result<Outcome> {
    let mut out = Vec::new();
    page(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(Outcome::Done)
}

/// The whole page.
fn page(w: &mut Vec<u8>) -> std::io::Result<()> {
    let mut cli = Cli::command();
    cli.build();
    let man = Man::new(cli.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    writeln!(w, ".SH COMMANDS")?;
    for sub in visible(&cli) {
        command(w, sub, &[])?;
    }
    // The text after --help lists the environment variables.
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    w.extend(String::from_utf8_lossy(&extra).replacen(".SH EXTRA", ".SH ENVIRONMENT", 1).bytes());
    man.render_version_section(w)
}

/// The subcommands shown in `--help`.
fn visible(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// `cmd`'s part of the page (`parents` are the commands above it), then its own commands'.
fn command(w: &mut Vec<u8>, cmd: &clap::Command, parents: &[&str]) -> std::io::Result<()> {
    let names: Vec<&str> = parents.iter().copied().chain([cmd.get_name()]).collect();
    writeln!(w, ".SS \"publish {}\"", names.join(" "))?;
    // The global options (and --help, --version) are described once, at the top.
    let own = cmd.clone().mut_args(|a| {
        let shared = a.is_global_set() || matches!(a.get_id().as_str(), "help" | "version");
        if shared { a.hide(true) } else { a }
    });
    let man = Man::new(own.clone());
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    man.render_description_section(&mut part)?;
    if own.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut part)?;
    }
    // Within a command, its synopsis, description and options are paragraphs
    // headed in bold, not sections of the page.
    let part = String::from_utf8_lossy(&part).into_owned();
    for line in part.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => writeln!(w, ".PP\n.B {}\n.br", heading.trim_matches('"'))?,
            None => writeln!(w, "{line}")?,
        }
    }
    for sub in visible(cmd) {
        command(w, sub, &names)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_its_part_and_no_other_page_is_named() {
        let mut out = Vec::new();
        page(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for heading in [".SS \"publish issue\"", ".SS \"publish subscribers import\"", ".SS \"publish dkim keygen\""] {
            assert!(page.contains(heading), "{heading} missing");
        }
        assert!(!page.contains("publish\\-issue(1)") && !page.contains("publish-issue(1)"), "{page}");
        assert!(page.contains(".SH ENVIRONMENT") && !page.contains(".SH EXTRA"), "{page}");
    }
}

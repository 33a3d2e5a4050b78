//! The publication as one value, and every workflow a command, the preview or
//! the server runs on it: load → check → build (in memory) → write → send.
//!
//! ```text
//! let publication = Publication::load(root)?;
//! let built = publication.build(9)?;   // checked and rendered, nothing written yet
//! built.write()?;
//! publication.send(9, Mode::Cron, &mut |_| Ok(true))?;
//! ```
//!
//! The rooms below it do one stage each (workspace, assemble, render, deliver,
//! schedule); this is the only place that knows their order.

pub mod audience;
pub mod build;
pub mod cron;
pub mod dkim;
pub mod init;
pub mod insight;
pub mod readers;
pub mod send;
pub mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::deliver::token::Secret;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::render::Renderer;
use crate::text::plural;
use crate::workspace::Workspace;

pub use build::{Artifacts, FeedItems};
pub use send::{Mode, Sent};

/// A publication on disk, loaded and checked once.
pub struct Publication {
    ws: Workspace,
    /// Feed items written by earlier renders, for the next.
    feed_items: FeedItems,
    /// The templates, compiled on first use and kept for every later render
    /// (a changed template means a new publication).
    renderer: std::sync::OnceLock<Renderer>,
    /// The signing secret, read (or made) on first use.
    secret: std::sync::OnceLock<Secret>,
}

/// What `check` found, for the caller to print.
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// "the workspace" or "issue 9".
    pub scope: String,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// "issue 9: 2 errors, 1 warning" or "the workspace: no errors, 2 warnings".
    pub fn summary(&self) -> String {
        let (errors, warnings) = (self.errors(), self.warnings());
        match errors {
            0 => format!("{}: no errors, {warnings} warning{}", self.scope, plural(warnings)),
            _ => format!("{}: {errors} error{}, {warnings} warning{}", self.scope, plural(errors), plural(warnings)),
        }
    }
}

/// Issue `number`, rendered in memory: [`Built::write`] puts it in `out/`.
pub struct Built {
    pub artifacts: Artifacts,
    pub out_dir: PathBuf,
    /// Where the map of counted links goes.
    pub state_dir: PathBuf,
}

impl Built {
    /// Writes every file, each atomically (an error leaves the others as they were).
    pub fn write(&self) -> Result<()> {
        crate::clock::timings::stage("write out/", || self.artifacts.write(&self.out_dir))?;
        match &self.artifacts.links {
            Some(map) => crate::deliver::store::clicks::save_links(&self.state_dir, map),
            None => Ok(()),
        }
    }

    /// How many files [`Built::write`] writes or copies.
    pub fn file_count(&self) -> usize {
        self.artifacts.files.len() + self.artifacts.media.len()
    }
}

impl Publication {
    /// Reads and checks the publication at `root` (see [`Workspace::load`]).
    pub fn load(root: &Path) -> Result<Publication> {
        let ws = Workspace::load(root)?;
        let feed_items = crate::clock::timings::stage("read the kept feed items", || FeedItems::load(&ws.state_dir()));
        Publication::of(ws, feed_items)
    }

    /// [`Publication::load`] for a build or a check: the issue files that did
    /// not change since the last `publish build` are taken as it checked them,
    /// all but issue `fresh`'s, which is read and checked in full (see
    /// [`Workspace::load_reusing`]).
    pub fn load_reusing(root: &Path, fresh: Option<u32>) -> Result<Publication> {
        // The kept feed items (one large file) are read while the issues load.
        let (ws, feed_items) = std::thread::scope(|scope| {
            let items = scope.spawn(|| {
                let state_dir = crate::workspace::state_dir(root);
                crate::clock::timings::stage("read the kept feed items (own thread)", || FeedItems::load(&state_dir))
            });
            let ws = Workspace::load_reusing(root, fresh);
            (ws, items.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        Publication::of(ws?, feed_items)
    }

    fn of(ws: Workspace, feed_items: FeedItems) -> Result<Publication> {
        tracing::debug!("loaded and checked {} issue files", ws.issues.len());
        let publication =
            Publication { ws, feed_items, renderer: std::sync::OnceLock::new(), secret: std::sync::OnceLock::new() };
        // A command that only reads (a dry run, a check) leaves a fresh publication without state.
        if publication.ws.state_dir().is_dir() {
            publication.keep_audio_facts();
        }
        Ok(publication)
    }

    /// Writes what was learnt of the audio files for the next run; only a
    /// shortcut, so a cache that cannot be written is no error.
    fn keep_audio_facts(&self) {
        if let Err(e) = self.ws.media.save(&self.ws.state_dir()) {
            tracing::debug!("the audio facts were not kept for the next run: {e:#}");
        }
    }

    /// Reads the issue files `changed` (relative paths) again and nothing else,
    /// keeping what was rendered from the others (the preview, after an edit).
    /// `false` when that is not enough and the publication must be loaded again
    /// (see [`Workspace::reload_issues`]).
    pub fn reload_issues(&mut self, changed: &[String]) -> Result<bool> {
        self.ws.reload_issues(changed)
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The diagnostics that matter for issue `number` (every one when `None`):
    /// the publication's own files and that issue's files (its own, and any
    /// other file with its number, which is an error), not other issues'.
    pub fn diagnostics(&self, number: Option<u32>) -> impl Iterator<Item = &Diagnostic> {
        let file = number.and_then(|n| self.ws.issues.get(&n)).map(|e| e.file.as_str());
        self.ws.diags.items.iter().filter(move |d| {
            number.is_none()
                || !d.file.starts_with("issues/")
                || Some(d.file.as_str()) == file
                || number == crate::workspace::issue_number(&d.file)
        })
    }

    /// Every problem in the workspace (or with issue `number`), templates included.
    pub fn check(&self, number: Option<u32>) -> Result<Checked> {
        if let Some(n) = number {
            self.ws.entry(n)?;
        }
        let mut diagnostics: Vec<Diagnostic> = self.diagnostics(number).cloned().collect();
        diagnostics.extend(self.renderer().check());
        let scope = number.map_or("the workspace".to_string(), |n| format!("issue {n}"));
        Ok(Checked { diagnostics, scope })
    }

    /// Renders issue `number` in memory, links signed with `secret`: the one
    /// rendering `build`, `send`, the dry run and the preview share.
    pub fn render(&self, number: u32, secret: &Secret) -> Result<Artifacts, Diagnostics> {
        let now = crate::clock::now().map_err(|e| Diagnostics {
            items: vec![Diagnostic::file(Severity::Error, "PUBLISH_NOW", format!("{e:#}"))],
        })?;
        Artifacts::render(&self.ws, self.renderer(), number, secret, crate::clock::system(now), &self.feed_items)
    }

    /// Checks issue `number` (printing what `check N` would), then renders it
    /// in memory. Fails, with everything printed, when anything is wrong:
    /// then nothing is written.
    pub fn build(&self, number: u32) -> Result<Built> {
        self.checked(number)?;
        let secret = Secret::load_or_create(&self.ws.state_dir())?;
        self.keep_audio_facts();
        let state_dir = self.ws.state_dir();
        crate::clock::timings::stage("read the kept social posts", || crate::render::social::kept::open(&state_dir));
        let built = self.build_with(number, &secret)?;
        // Only a shortcut for the next build: items that cannot be kept are no error.
        // (`build` alone keeps them: a dry run writes nothing.)
        let kept = crate::clock::timings::stage("keep the feed items", || self.feed_items.save(&self.ws.state_dir()));
        if let Err(e) = kept {
            tracing::debug!("the feed items were not kept for the next build: {e:#}");
        }
        if let Err(e) = crate::clock::timings::stage("keep the checked issues", || self.ws.keep_issues()) {
            tracing::debug!("the checked issues were not kept for the next build: {e:#}");
        }
        if let Err(e) =
            crate::clock::timings::stage("keep the social posts", || crate::render::social::kept::save(&state_dir))
        {
            tracing::debug!("the social posts were not kept for the next build: {e:#}");
        }
        Ok(built)
    }

    fn build_with(&self, number: u32, secret: &Secret) -> Result<Built> {
        let started = std::time::Instant::now();
        let artifacts = match self.render(number, secret) {
            Ok(a) => a,
            Err(diags) => {
                diags.print();
                bail!("issue {number} did not render: nothing was written");
            }
        };
        tracing::debug!("rendered issue {number} ({} files) in {:.1?}", artifacts.files.len(), started.elapsed());
        for w in &artifacts.warnings {
            w.eprint();
        }
        Ok(Built { artifacts, out_dir: self.ws.out_dir(), state_dir: self.ws.state_dir() })
    }

    /// Prints the diagnostics that matter for issue `number`; fails on errors.
    fn checked(&self, number: u32) -> Result<()> {
        self.ws.entry(number)?;
        let shown: Vec<&Diagnostic> = self.diagnostics(Some(number)).collect();
        for d in &shown {
            d.eprint();
        }
        let errors = shown.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            bail!(
                "{errors} error{} found: nothing was written (run `publish check {number}` after fixing)",
                plural(errors)
            );
        }
        for (other, entry) in self.ws.issues.iter().filter(|(n, e)| **n != number && e.issue.is_none()) {
            let left_out = format!("issue {other} has errors, so it is left out of the feeds and the archive");
            let d = Diagnostic::file(Severity::Warning, &entry.file, left_out)
                .with_hint(format!("run `publish check {other}`"));
            d.eprint();
        }
        self.ws.issue(number).map(|_| ())
    }
}

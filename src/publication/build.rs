//! Everything `publish build N` writes, rendered in memory first and written
//! only when all of it rendered: an error leaves `out/` as it was.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::assemble::{self, Edition};
use crate::clock::timings;
use crate::deliver::message::IssueHeaders;
use crate::deliver::token::Secret;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::fsutil::write_atomic;
use crate::render::email::{self, EmailBody, GMAIL_CLIP_BYTES};
use crate::render::personal::Recipient;
use crate::render::social::{self, SocialPosts};
use crate::render::{Renderer, feed, web};
use crate::workspace::content::issue::Issue;
use crate::workspace::media::Source;
use crate::workspace::{Workspace, par_map};

/// Above this, a warning: Gmail clips at 102 KB and tracking and links add up.
const EMAIL_WARN_BYTES: usize = 80 * 1024;

/// The rendered issue: files by path relative to `out/`.
pub struct Artifacts {
    pub edition: Edition,
    pub email: EmailBody,
    pub headers: IssueHeaders,
    /// Every platform's posts (also in `files`, as `N/social/*.txt` and `N/social.json`).
    pub social: SocialPosts,
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Media files to copy: (from, to relative to `out/`).
    pub media: Vec<(PathBuf, PathBuf)>,
    pub warnings: Vec<Diagnostic>,
}

/// Which feed an item is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Newsletter,
    Podcast,
}

/// Feed items already written, by the reading of the issue file they come from
/// ([`IssueEntry::generation`](crate::workspace::IssueEntry)): kept by the
/// [`Publication`](crate::publication::Publication) between renders, so that
/// after an edit the preview writes only the edited issue's items again. A new
/// `publish.toml`, `sponsors.toml`, template or media file means a new
/// publication, so the items never outlive what they were written from.
#[derive(Default)]
pub struct FeedItems {
    written: Mutex<HashMap<(u64, Kind), Arc<str>>>,
}

impl FeedItems {
    /// The item of each issue of `issues`, in order: those written before are
    /// taken as they are, the others written with `write` (on a few threads).
    /// Items of issues no longer listed are forgotten.
    fn get(&self, issues: &[(&Issue, u64)], kind: Kind, write: impl Fn(&Issue) -> String + Sync) -> Vec<Arc<str>> {
        let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let missing: Vec<(&Issue, u64)> =
            issues.iter().filter(|(_, generation)| !written.contains_key(&(*generation, kind))).copied().collect();
        let fresh = par_map(&missing, |(issue, _)| Arc::from(write(issue)));
        for ((_, generation), item) in missing.iter().zip(fresh) {
            written.insert((*generation, kind), item);
        }
        let listed: HashSet<u64> = issues.iter().map(|(_, generation)| *generation).collect();
        written.retain(|(generation, k), _| *k != kind || listed.contains(generation));
        issues.iter().map(|(_, generation)| Arc::clone(&written[&(*generation, kind)])).collect()
    }
}

/// One line of the archive page.
#[derive(Serialize)]
struct ArchiveEntry {
    number: u32,
    title: String,
    subject: String,
    date: String,
    date_display: String,
    url: String,
    summary: String,
    /// Whether the issue has a podcast episode.
    episode: bool,
}

impl Artifacts {
    /// Renders issue `number` of `ws`; the workspace must have been checked.
    pub fn render(
        ws: &Workspace,
        number: u32,
        secret: &Secret,
        now: SystemTime,
        items: &FeedItems,
    ) -> Result<Artifacts, Diagnostics> {
        let fail = |d: Diagnostic| Diagnostics { items: vec![d] };
        let config = ws.config().map_err(|e| fail(Diagnostic::file(Severity::Error, "publish.toml", e.to_string())))?;
        let issue = ws.issue(number).map_err(|e| fail(Diagnostic::file(Severity::Error, "issues", e.to_string())))?;
        let started = std::time::Instant::now();
        let renderer = Renderer::new(&ws.templates);
        let edition = assemble::edition(issue, config, &ws.sponsors);
        let email = email::render(&renderer, &edition).map_err(fail)?;
        let episode_page = assemble::feed::episode_page(config, issue);
        let page = web::page(&renderer, &edition, episode_page.as_ref()).map_err(fail)?;
        timings::add("render the issue (email, page, social)", started.elapsed());
        let archive = timings::stage("render the archive page", || archive_page(ws, &renderer)).map_err(fail)?;
        let started = std::time::Instant::now();
        let social = social::render(&renderer, &edition, &config.social).map_err(fail)?;
        let now_ts = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        timings::add("render the issue (email, page, social)", started.elapsed());
        // Both feeds list every valid issue, newest first; each item is written
        // once and kept in `items` for the next render.
        let mut ordered: Vec<(&Issue, u64)> =
            ws.issues.values().rev().filter_map(|e| e.issue.as_ref().map(|i| (i, e.generation))).collect();
        ordered.sort_by_key(|(i, _)| std::cmp::Reverse((assemble::feed::published(i, config), i.number)));
        let first_date = |list: &[(&Issue, u64)]| {
            list.first().map(|(i, _)| assemble::feed::rfc2822(assemble::feed::published(i, config), config))
        };
        let newsletter = timings::stage("render newsletter.xml", || {
            let rendered = items.get(&ordered, Kind::Newsletter, |i| {
                feed::newsletter_item(&assemble::feed::newsletter_item(
                    config,
                    i,
                    assemble::edition(i, config, &ws.sponsors),
                ))
            });
            let channel = assemble::feed::newsletter(config, now_ts);
            feed::newsletter_around(&channel, first_date(&ordered).as_deref(), &rendered)
        });
        let podcast_feed = timings::stage("render feed.xml", || {
            config.podcast.as_ref().map(|podcast| {
                let episodes: Vec<(&Issue, u64)> =
                    ordered.iter().filter(|(i, _)| i.episode.is_some()).copied().collect();
                let rendered = items.get(&episodes, Kind::Podcast, |i| {
                    assemble::feed::podcast_episode(config, podcast, i)
                        .map(|e| feed::podcast_item(&e))
                        .unwrap_or_default()
                });
                let channel = assemble::feed::podcast(config, podcast, now_ts);
                feed::podcast_around(&channel, first_date(&episodes).as_deref(), &rendered)
            })
        });
        let started = std::time::Instant::now();
        let headers = IssueHeaders::new(config, number, &edition.subject)
            .map_err(|e| fail(Diagnostic::file(Severity::Error, "publish.toml", e.to_string())))?;

        let mut warnings = Vec::new();
        if email.html_bytes > EMAIL_WARN_BYTES {
            let clip = if email.html_bytes > GMAIL_CLIP_BYTES {
                "Gmail will clip it"
            } else {
                "close to Gmail's 102 KB clipping limit"
            };
            warnings.push(
                Diagnostic::file(
                    Severity::Warning,
                    &issue.file,
                    format!("the email's HTML is {} KB: {clip}", email.html_bytes / 1024),
                )
                .with_hint("shorten the takes, or move some recommendations to the next issue"),
            );
        }
        let mut sample = Recipient::sample();
        // The sample is no subscriber: row 0 never exists, so its link unsubscribes nobody.
        (sample.unsubscribe_url, sample.preferences_url) = headers.reader_urls(secret, 0, &sample.email);
        let (html, text) = email.fill(&sample);
        let eml = headers
            .message(&email, &sample, now)
            .map_err(|e| fail(Diagnostic::file(Severity::Error, &issue.file, format!("{e:#}"))))?
            .formatted();
        let dir = PathBuf::from(number.to_string());
        let mut files = vec![
            (dir.join("email.html"), html.into_bytes()),
            (dir.join("email.txt"), text.into_bytes()),
            (dir.join("email.eml"), eml),
            (dir.join("index.html"), page.into_bytes()),
            (PathBuf::from("index.html"), archive.into_bytes()),
            (PathBuf::from("newsletter.xml"), newsletter.into_bytes()),
        ];
        files.extend(social.files());
        // Published under the same path as in the workspace, by the name its URL encodes.
        let mut local: Vec<String> = issue
            .image
            .iter()
            .filter_map(|img| match img.file()? {
                Ok(Source::Local(rel)) => Some(rel),
                _ => None,
            })
            .collect();
        if let Some(xml) = podcast_feed {
            files.push((PathBuf::from("feed.xml"), xml.into_bytes()));
        }
        if let Some(podcast) = &config.podcast {
            // Every episode in the feed needs its files published, not only this issue's.
            local.extend(podcast.artwork().into_iter().filter_map(|s| match s {
                Source::Local(rel) => Some(rel),
                Source::Remote(_) => None,
            }));
            for i in ws.valid_issues() {
                local.extend(i.episode.iter().flat_map(|e| e.local_files().map(str::to_string)));
                // Chapters written in the issue file are published beside its page.
                if let Some(json) = assemble::feed::written_chapters(i) {
                    files.push((PathBuf::from(i.number.to_string()).join("chapters.json"), json.into_bytes()));
                }
            }
        }
        local.sort();
        local.dedup();
        let media = local.into_iter().map(|rel| (ws.root.join(&rel), PathBuf::from(rel))).collect();
        timings::add("render the issue (email, page, social)", started.elapsed());
        Ok(Artifacts { edition, email, headers, social, files, media, warnings })
    }

    /// Writes every file under `out`, each atomically.
    pub fn write(&self, out: &Path) -> Result<()> {
        for (from, _) in &self.media {
            anyhow::ensure!(
                from.is_file(),
                "{} does not exist: media must name files in the workspace",
                from.display()
            );
        }
        for (rel, bytes) in &self.files {
            write_atomic(&out.join(rel), bytes)?;
        }
        for (from, to) in &self.media {
            let to = out.join(to);
            if is_copy_of(&to, from) {
                continue;
            }
            let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
            write_atomic(&to, &bytes)?;
        }
        Ok(())
    }
}

/// Whether `copy` was written from `original` already: as large and not older.
/// Audio files are large, and the feed needs every episode's: copy them once.
fn is_copy_of(copy: &Path, original: &Path) -> bool {
    let (Ok(c), Ok(o)) = (std::fs::metadata(copy), std::fs::metadata(original)) else { return false };
    let newer = match (c.modified(), o.modified()) {
        (Ok(c), Ok(o)) => c >= o,
        _ => false,
    };
    c.len() == o.len() && newer
}

/// `out/index.html`: every valid issue, newest first.
fn archive_page(ws: &Workspace, renderer: &Renderer) -> Result<String, Diagnostic> {
    let config = ws.config().map_err(|e| Diagnostic::file(Severity::Error, "publish.toml", e.to_string()))?;
    let entries: Vec<ArchiveEntry> = ws
        .valid_issues()
        .map(|i| ArchiveEntry {
            number: i.number,
            title: i.title.clone(),
            subject: assemble::subject(&config.name, i.number, &i.title),
            date: i.date.to_string(),
            date_display: i.date.strftime("%-d %B %Y").to_string(),
            url: config.issue_url(i.number),
            summary: i
                .preheader
                .clone()
                .unwrap_or_else(|| assemble::shorten(&crate::text::markdown::to_plain(&i.intro), 200)),
            episode: config.podcast.is_some() && i.episode.is_some(),
        })
        .collect();
    let publication = context! { name => &config.name, description => &config.description, base_url => config.base(), language => &config.language };
    renderer.render("archive.html", context! { publication => publication, issues => Value::from(Serde(&entries)) })
}

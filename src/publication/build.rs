//! Everything `publish build N` writes, rendered in memory first and written
//! only when all of it rendered: an error leaves `out/` as it was.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use crate::assemble::links::LinkMap;
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
use crate::workspace::content::kept::{Key, binary_stamp};
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
    /// The counted links, when `[insight] clicks` is on: written to the
    /// state folder by [`Built::write`](crate::publication::Built::write).
    pub links: Option<LinkMap>,
}

/// Which feed an item is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
///
/// Between runs, the items are kept on disk too ([`FeedItems::load`],
/// [`FeedItems::save`]), each under its issue's key
/// ([`IssueEntry::key`](crate::workspace::IssueEntry)): a hash of all the issue
/// is checked from (its file, its media files' stamps, `publish.toml`,
/// `sponsors.toml`, the binary itself). A cold build writes them all; a warm
/// one only those of issues that changed.
#[derive(Default)]
pub struct FeedItems {
    written: Mutex<HashMap<(u64, Kind), KeptItem>>,
    /// Items read from `.publish/feed-items.bin`, by key.
    stored: HashMap<ItemKey, ItemText>,
    /// Whether an item was written that the file does not hold.
    fresh: AtomicBool,
}

/// What an item is kept under: its issue's key, and the feed.
type ItemKey = (Key, Kind);

/// An item written (or read from disk) and its key there.
type KeptItem = (ItemKey, ItemText);

/// The text of one feed item: written in this process, or a part of the
/// items read from disk (all in one string, not copied item by item).
#[derive(Clone)]
pub enum ItemText {
    Written(Arc<str>),
    Read(Arc<String>, Range<usize>),
}

impl AsRef<str> for ItemText {
    fn as_ref(&self) -> &str {
        match self {
            ItemText::Written(text) => text,
            ItemText::Read(all, range) => &all[range.clone()],
        }
    }
}

/// `.publish/feed-items.bin`: every item's text one after the other (UTF-8),
/// then this index (postcard), then the length of the texts (8 bytes, little
/// endian). Reading it costs one read and one UTF-8 check, whatever the count.
#[derive(Serialize, Deserialize)]
struct StoredIndex {
    format: u32,
    /// The binary that wrote the items: another one's are not used.
    binary: String,
    /// Each item's key and where its text is.
    items: Vec<(Key, Kind, u64, u64)>,
}

const STORED_FORMAT: u32 = 3;
const STORED_FILE: &str = "feed-items.bin";

/// The items of a `feed-items.bin`'s bytes; `None` when it is damaged, of
/// another format or of another binary.
fn read_stored(mut bytes: Vec<u8>) -> Option<HashMap<ItemKey, ItemText>> {
    let trailer = bytes.len().checked_sub(8)?;
    let texts = usize::try_from(u64::from_le_bytes(bytes[trailer..].try_into().ok()?)).ok()?;
    let index: StoredIndex = postcard::from_bytes(bytes.get(texts..trailer)?).ok()?;
    if index.format != STORED_FORMAT || index.binary != binary_stamp() {
        return None;
    }
    bytes.truncate(texts);
    let all = Arc::new(String::from_utf8(bytes).ok()?);
    let mut items = HashMap::with_capacity(index.items.len());
    for (key, kind, start, len) in index.items {
        let start = usize::try_from(start).ok()?;
        let range = start..start.checked_add(usize::try_from(len).ok()?)?;
        all.get(range.clone())?;
        items.insert((key, kind), ItemText::Read(Arc::clone(&all), range));
    }
    Some(items)
}

impl FeedItems {
    /// The items kept in `state_dir` by an earlier run of this binary; none when
    /// the file is missing, damaged, of another format or of another binary.
    pub fn load(state_dir: &Path) -> FeedItems {
        let stored = std::fs::read(state_dir.join(STORED_FILE)).ok().and_then(read_stored).unwrap_or_default();
        FeedItems { stored, ..FeedItems::default() }
    }

    /// Keeps the items of the last render in `state_dir` (atomically), when
    /// any was written that the file does not hold.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        let written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let same = written.len() == self.stored.len() && written.values().all(|(k, _)| self.stored.contains_key(k));
        if !self.fresh.load(Ordering::Relaxed) && same {
            return Ok(());
        }
        let mut items: Vec<&KeptItem> = written.values().collect();
        items.sort_by_key(|((key, kind), _)| (*key, *kind == Kind::Podcast));
        let mut bytes = Vec::with_capacity(items.iter().map(|(_, text)| text.as_ref().len()).sum::<usize>() + 1024);
        let mut index = StoredIndex { format: STORED_FORMAT, binary: binary_stamp(), items: Vec::new() };
        for ((key, kind), text) in items {
            let text = text.as_ref().as_bytes();
            index.items.push((*key, *kind, bytes.len() as u64, text.len() as u64));
            bytes.extend_from_slice(text);
        }
        let texts = bytes.len() as u64;
        bytes.extend(postcard::to_allocvec(&index)?);
        bytes.extend(texts.to_le_bytes());
        write_atomic(&state_dir.join(STORED_FILE), &bytes)
    }

    /// The item of each issue of `issues` (with its reading and its key), in
    /// order: those written before (in this process, or kept on disk under the
    /// same key) are taken as they are, the others written with `write` (on a
    /// few threads). Items of issues no longer listed are forgotten.
    fn get(&self, issues: &[Listed], kind: Kind, write: impl Fn(&Issue) -> String + Sync) -> Vec<ItemText> {
        let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let missing: Vec<Listed> =
            issues.iter().filter(|(_, generation, _)| !written.contains_key(&(*generation, kind))).copied().collect();
        let found = par_map(&missing, |(issue, _, key)| {
            let key = (**key, kind);
            match self.stored.get(&key) {
                Some(item) => (key, item.clone()),
                None => {
                    self.fresh.store(true, Ordering::Relaxed);
                    (key, ItemText::Written(Arc::from(write(issue))))
                }
            }
        });
        for ((_, generation, _), item) in missing.iter().zip(found) {
            written.insert((*generation, kind), item);
        }
        let listed: HashSet<u64> = issues.iter().map(|(_, generation, _)| *generation).collect();
        written.retain(|(generation, k), _| *k != kind || listed.contains(generation));
        issues.iter().map(|(_, generation, _)| written[&(*generation, kind)].1.clone()).collect()
    }
}

/// An issue in a feed: the issue, the reading of its file and its key.
type Listed<'a> = (&'a Issue, u64, &'a Key);

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
        renderer: &Renderer,
        number: u32,
        secret: &Secret,
        now: SystemTime,
        items: &FeedItems,
    ) -> Result<Artifacts, Diagnostics> {
        let fail = |d: Diagnostic| Diagnostics { items: vec![d] };
        let config = ws.config().map_err(|e| fail(Diagnostic::file(Severity::Error, "publish.toml", e.to_string())))?;
        let issue = ws.issue(number).map_err(|e| fail(Diagnostic::file(Severity::Error, "issues", e.to_string())))?;
        let started = std::time::Instant::now();
        let edition = assemble::edition(issue, config, &ws.sponsors);
        std::thread::scope(|scope| {
            // Fitting the social posts to every platform costs about as much as
            // all the rest together: they are written on a thread of their own.
            let social_edition = edition.clone();
            let social = scope.spawn(move || {
                timings::stage("render the social posts (own thread)", || {
                    social::render(renderer, &social_edition, &config.social)
                })
            });
            // Counted links ([insight]): the email's, and the page's with `web = true`.
            let counted = config.insight.clicks.then(|| assemble::counted_edition(issue, config, &ws.sponsors));
            let email_edition = counted.as_ref().map_or(&edition, |(e, _)| e);
            let page_edition = if config.insight.web { email_edition } else { &edition };
            let email = email::render(renderer, email_edition).map_err(fail)?;
            let episode_page = assemble::feed::episode_page(config, issue);
            let page = web::page(renderer, page_edition, episode_page.as_ref()).map_err(fail)?;
            timings::add("render the issue (email, page)", started.elapsed());
            let archive = timings::stage("render the archive page", || archive_page(ws, renderer)).map_err(fail)?;
            let now_ts = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            // Both feeds list every valid issue, newest first; each item is written
            // once and kept in `items` for the next render.
            let mut ordered: Vec<Listed> =
                ws.issues.values().rev().filter_map(|e| e.issue.as_ref().map(|i| (i, e.generation, &e.key))).collect();
            ordered.sort_by_key(|(i, _, _)| std::cmp::Reverse((assemble::feed::published(i, config), i.number)));
            let first_date = |list: &[Listed]| {
                list.first().map(|(i, _, _)| assemble::feed::rfc2822(assemble::feed::published(i, config), config))
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
                    let episodes: Vec<Listed> =
                        ordered.iter().filter(|(i, _, _)| i.episode.is_some()).copied().collect();
                    let rendered = items.get(&episodes, Kind::Podcast, |i| {
                        assemble::feed::podcast_episode(config, podcast, i)
                            .map(|e| feed::podcast_item(&e))
                            .unwrap_or_default()
                    });
                    let channel = assemble::feed::podcast(config, podcast, now_ts);
                    feed::podcast_around(&channel, first_date(&episodes).as_deref(), &rendered)
                })
            });
            let social = social.join().unwrap_or_else(|e| std::panic::resume_unwind(e)).map_err(fail)?;
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
            timings::add("render the issue (email, page)", started.elapsed());
            let links = counted.map(|(_, map)| map);
            Ok(Artifacts { edition, email, headers, social, files, media, warnings, links })
        })
    }

    /// Writes every file under `out`, each atomically, in an order a reader
    /// of `out/` can rely on at every moment, even when the process is killed
    /// half-way: media first, then the issue's pages, then the archive page,
    /// the feeds last, so that nothing links to a file not yet written.
    /// Temporary files a killed build left in those folders are removed.
    pub fn write(&self, out: &Path) -> Result<()> {
        for (from, _) in &self.media {
            anyhow::ensure!(
                from.is_file(),
                "{} does not exist: media must name files in the workspace",
                from.display()
            );
        }
        let mut folders: Vec<PathBuf> = std::iter::once(out.to_path_buf())
            .chain(
                self.files
                    .iter()
                    .map(|(rel, _)| rel)
                    .chain(self.media.iter().map(|(_, to)| to))
                    .filter_map(|rel| out.join(rel).parent().map(Path::to_path_buf)),
            )
            .collect();
        folders.sort();
        folders.dedup();
        for folder in &folders {
            crate::fsutil::sweep_temps(folder);
        }
        for (from, to) in &self.media {
            let to = out.join(to);
            if is_copy_of(&to, from) {
                continue;
            }
            let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
            write_atomic(&to, &bytes)?;
        }
        let mut files: Vec<&(PathBuf, Vec<u8>)> = self.files.iter().collect();
        files.sort_by_key(|(rel, _)| link_rank(rel));
        for (rel, bytes) in files {
            let path = out.join(rel);
            if !holds(&path, bytes) {
                write_atomic(&path, bytes)?;
            }
        }
        Ok(())
    }
}

/// Where a file of `out/` comes in the writing order: those that link to
/// others after them (the archive page to the issues' pages; the feeds to
/// the pages, the chapters and the media).
fn link_rank(rel: &Path) -> u8 {
    match rel.to_str() {
        Some("index.html") => 1,
        Some("newsletter.xml" | "feed.xml") => 2,
        _ => 0,
    }
}

/// Whether the file at `path` holds `bytes` already (then it is not written
/// again): compared piece by piece, without reading it whole into memory.
fn holds(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read;
    let same_size = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    let Some(mut file) = same_size.then(|| std::fs::File::open(path).ok()).flatten() else { return false };
    let mut buffer = vec![0; 64 * 1024];
    let mut rest = bytes;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return rest.is_empty(),
            Ok(n) if n <= rest.len() && buffer[..n] == rest[..n] => rest = &rest[n..],
            _ => return false,
        }
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

//! Issues + settings → the render-ready podcast feed and newsletter feed.
//! Pure: reads no files (the episodes' audio was measured when loading).

use jiff::Timestamp;
use serde::Serialize;

use crate::assemble::{Edition, join_names};
use crate::workspace::config::Config;
use crate::workspace::config::podcast::{Person, Podcast, update_frequency};
use crate::workspace::content::episode::{Chapters, Episode, Social, Soundbite};
use crate::workspace::content::issue::{Issue, Recommendation};
use crate::workspace::media::Source;
use crate::workspace::media::chapters::{self, timestamp};

/// The podcast channel and its episodes, newest first.
#[derive(Debug, Clone)]
pub struct PodcastFeed {
    pub title: String,
    pub description: String,
    /// The show's web page.
    pub link: String,
    pub language: String,
    /// Where this feed is published (`atom:link rel="self"`).
    pub feed_url: String,
    pub author: String,
    pub owner_name: String,
    pub owner_email: String,
    pub image_url: String,
    /// Apple categories: (category, subcategory).
    pub categories: Vec<(String, Option<String>)>,
    pub explicit: bool,
    /// "episodic" or "serial".
    pub kind: String,
    pub copyright: Option<String>,
    /// `podcast:guid`.
    pub guid: String,
    pub locked: bool,
    /// (url, label).
    pub funding: Vec<(String, String)>,
    pub persons: Vec<Person>,
    /// `podcast:txt`: (value, purpose).
    pub txt: Vec<(String, Option<String>)>,
    pub medium: Option<String>,
    /// `podcast:updateFrequency`: (rrule, label).
    pub update_frequency: Option<(String, String)>,
    /// `podcast:license`: (name, url).
    pub license: Option<(String, Option<String>)>,
    /// `podcast:podroll`'s remote items: (feed guid, feed url, title).
    pub podroll: Vec<(String, Option<String>, Option<String>)>,
    /// `podcast:image`s.
    pub images: Vec<ImageTagOut>,
    pub new_feed_url: Option<String>,
    pub block: bool,
    pub complete: bool,
    /// RFC 2822.
    pub last_build_date: String,
}

/// One `podcast:image`.
#[derive(Debug, Clone)]
pub struct ImageTagOut {
    pub href: String,
    pub purpose: Option<String>,
    pub alt: Option<String>,
    pub width: Option<u32>,
}

/// One `podcast:alternateEnclosure`.
#[derive(Debug, Clone)]
pub struct AlternateOut {
    pub url: String,
    pub mime: String,
    pub length: u64,
    pub bitrate: u64,
    pub title: Option<String>,
}

/// One `<item>` of the podcast feed.
#[derive(Debug, Clone)]
pub struct EpisodeOut {
    pub title: String,
    /// The issue's web page.
    pub link: String,
    pub guid: String,
    /// RFC 2822.
    pub pub_date: String,
    /// What the show notes say; render makes them HTML under 4,000 bytes.
    pub notes: ShowNotes,
    pub enclosure_url: String,
    pub length: u64,
    pub mime: String,
    /// Whole seconds, at least 1.
    pub duration: u64,
    pub explicit: bool,
    pub image_url: Option<String>,
    pub season: Option<u32>,
    pub number: u32,
    pub episode_type: String,
    pub chapters_url: Option<String>,
    /// (url, MIME type).
    pub transcript: Option<(String, String)>,
    pub persons: Vec<Person>,
    pub soundbites: Vec<Soundbite>,
    pub alternates: Vec<AlternateOut>,
    pub social: Vec<Social>,
    /// `podcast:location`: (name, geo, osm).
    pub location: Option<(String, Option<String>, Option<String>)>,
}

/// The newsletter's RSS feed: every issue's web page, newest first.
#[derive(Debug, Clone)]
pub struct NewsletterFeed {
    pub title: String,
    pub description: String,
    pub link: String,
    pub language: String,
    pub feed_url: String,
    pub last_build_date: String,
}

/// One issue in the newsletter feed.
#[derive(Debug, Clone)]
pub struct NewsletterItem {
    pub title: String,
    /// The web page, also the item's permalink GUID.
    pub link: String,
    pub pub_date: String,
    /// A sentence or two, plain text.
    pub summary: String,
    /// The issue as HTML, for RSS readers and RSS-to-email tools.
    pub edition: Edition,
}

/// What an episode's show notes say, before they become HTML (render's
/// `feed::show_notes`): the summary, the issue's links by section, the web page.
#[derive(Debug, Clone)]
pub struct ShowNotes {
    /// Markdown: the episode's summary, else the issue's intro.
    pub summary: String,
    pub sections: Vec<(String, Vec<NoteItem>)>,
    pub web_url: String,
}

/// One recommendation in the show notes.
#[derive(Debug, Clone)]
pub struct NoteItem {
    pub url: String,
    pub title: String,
    /// The authors, joined ("A, B and C"); empty when none.
    pub by: String,
    pub source: Option<String>,
    /// Markdown; `None` when the take is empty.
    pub take: Option<String>,
    /// (url, title) of each related link.
    pub related: Vec<(String, String)>,
}

fn show_notes(issue: &Issue, episode: &Episode, web_url: &str) -> ShowNotes {
    let item = |r: &Recommendation| NoteItem {
        url: r.url.clone(),
        title: r.title.clone(),
        by: join_names(&r.authors),
        source: r.source.clone(),
        take: r.take.clone().filter(|t| !t.trim().is_empty()),
        related: r.related.iter().map(|rel| (rel.url.clone(), rel.title.clone())).collect(),
    };
    ShowNotes {
        summary: episode.summary.clone().unwrap_or_else(|| issue.intro.clone()),
        sections: issue
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.recommendations.iter().map(item).collect()))
            .collect(),
        web_url: web_url.to_string(),
    }
}

/// When an issue is published: its `send_at`, or the start of its date in the publication's zone.
pub fn published(issue: &Issue, config: &Config) -> Timestamp {
    issue
        .send_at
        .unwrap_or_else(|| issue.date.to_zoned(config.tz()).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// A time as RFC 2822, in the publication's zone ("Fri, 1 Mar 2024 09:00:00 +0800").
pub fn rfc2822(t: Timestamp, config: &Config) -> String {
    jiff::fmt::rfc2822::to_string(&t.to_zoned(config.tz()))
        .unwrap_or_else(|_| jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_string(&t).unwrap_or_default())
}

/// The podcast feed of every valid issue with an episode (`issues` newest first or in any order).
pub fn podcast(config: &Config, podcast: &Podcast, now: Timestamp) -> PodcastFeed {
    PodcastFeed {
        title: podcast.title(config).to_string(),
        description: podcast.description(config).trim().to_string(),
        link: podcast.link(config),
        language: podcast.language(config).to_string(),
        feed_url: config.feed_url(),
        author: podcast.author.clone(),
        owner_name: podcast.owner.name.clone(),
        owner_email: podcast.owner.email.clone(),
        image_url: podcast.artwork().map(|s| s.url(&config.base_url())).unwrap_or_default(),
        categories: podcast
            .apple_categories()
            .into_iter()
            .map(|(c, sub)| (c.to_string(), sub.map(str::to_string)))
            .collect(),
        explicit: podcast.explicit,
        kind: podcast.kind.clone(),
        copyright: podcast.copyright.clone(),
        guid: podcast.guid(config).to_string(),
        locked: podcast.locked,
        funding: podcast.funding.iter().map(|f| (f.url.clone(), f.label.clone())).collect(),
        persons: podcast.persons.clone(),
        txt: podcast.txt.iter().map(|t| (t.value.clone(), t.purpose.clone())).collect(),
        medium: podcast.medium.clone(),
        update_frequency: podcast.rhythm.as_deref().and_then(|r| update_frequency(r).ok()),
        license: podcast.license.as_ref().map(|l| (l.trim().to_string(), podcast.license_url.clone())),
        podroll: podcast
            .podroll
            .iter()
            .map(|p| (p.feed_guid.trim().to_string(), p.feed_url.clone(), p.title.clone()))
            .collect(),
        images: podcast
            .images
            .iter()
            .filter_map(|i| {
                let source = Source::parse("href", &i.href).ok()?;
                Some(ImageTagOut {
                    href: source.url(&config.base_url()),
                    purpose: i.purpose.clone(),
                    alt: i.alt.clone(),
                    width: i.width,
                })
            })
            .collect(),
        new_feed_url: podcast.new_feed_url.clone(),
        block: podcast.block,
        complete: podcast.complete,
        last_build_date: rfc2822(now, config),
    }
}

/// Issue `issue`'s item of the podcast feed, when it has an episode.
pub fn podcast_episode(config: &Config, podcast: &Podcast, issue: &Issue) -> Option<EpisodeOut> {
    issue.episode.as_ref().map(|e| episode(config, podcast, issue, e))
}

fn episode(config: &Config, podcast: &Podcast, issue: &Issue, e: &Episode) -> EpisodeOut {
    let base = &config.base_url();
    let link = config.issue_url(issue.number);
    let published = published(issue, config);
    EpisodeOut {
        title: e.title.clone().unwrap_or_else(|| issue.title.clone()),
        guid: podcast.item_guid(config, issue.number, e.guid.as_deref()),
        pub_date: rfc2822(published, config),
        notes: show_notes(issue, e, &link),
        link,
        enclosure_url: enclosure(podcast, e.audio.url(base)),
        length: e.bytes,
        mime: e.mime.clone(),
        duration: (e.seconds.round() as u64).max(1),
        explicit: e.explicit.unwrap_or(podcast.explicit),
        image_url: e.image.as_ref().map(|s| s.url(base)),
        season: e.season,
        number: e.number.unwrap_or(issue.number),
        episode_type: e.episode_type.clone(),
        chapters_url: e.chapters.as_ref().map(|c| match c {
            Chapters::File(s) => s.url(base),
            Chapters::Written => chapters_url(config, issue.number),
        }),
        transcript: e.transcript.as_ref().map(|(s, kind)| (s.url(base), kind.mime().to_string())),
        persons: e.persons.clone(),
        soundbites: e.soundbites.clone(),
        alternates: e
            .alternates
            .iter()
            .map(|a| AlternateOut {
                url: enclosure(podcast, a.source.url(base)),
                mime: a.mime.clone(),
                length: a.bytes,
                bitrate: a.bitrate,
                title: a.title.clone(),
            })
            .collect(),
        social: e.social.clone(),
        location: e.location.as_ref().map(|l| (l.name.trim().to_string(), l.geo.clone(), l.osm.clone())),
    }
}

/// An enclosure's URL behind `[podcast] enclosure_prefix` (a download counter such as OP3), when set.
fn enclosure(podcast: &Podcast, url: String) -> String {
    match &podcast.enclosure_prefix {
        Some(prefix) => format!("{prefix}{url}"),
        None => url,
    }
}

/// Where the chapters written in issue `number` are published: `N/chapters.json`.
pub fn chapters_url(config: &Config, number: u32) -> String {
    format!("{}chapters.json", config.issue_url(number))
}

/// The chapters file to publish as `N/chapters.json`, when the issue writes its chapters.
pub fn written_chapters(issue: &Issue) -> Option<String> {
    let episode = issue.episode.as_ref()?;
    matches!(episode.chapters, Some(Chapters::Written)).then(|| chapters::to_json(&episode.chapter_list))
}

/// The episode block of the issue's web page.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodePage {
    pub title: String,
    /// The audio, relative to the page when it is published beside it (so a copy of `out/` plays).
    pub audio_src: String,
    /// The audio's public URL.
    pub audio_url: String,
    pub mime: String,
    pub seconds: f64,
    /// "6:05".
    pub duration: String,
    /// ISO 8601: "PT6M5S".
    pub duration_iso: String,
    /// "95 KB", "48.2 MB".
    pub size: String,
    pub chapters: Vec<ChapterLine>,
    pub transcript: Vec<ChapterLine>,
    pub transcript_url: Option<String>,
    /// The episode's artwork, else the show's.
    pub image_url: String,
    pub show: String,
    pub feed_url: String,
    pub number: u32,
    pub season: Option<u32>,
    pub date: String,
}

/// A chapter or a cue on the page.
#[derive(Debug, Clone, Serialize)]
pub struct ChapterLine {
    pub start: f64,
    /// "12:34".
    pub at: String,
    pub text: String,
    pub url: Option<String>,
}

/// The episode of `issue` for its web page, when it has one and the publication a podcast.
pub fn episode_page(config: &Config, issue: &Issue) -> Option<EpisodePage> {
    let (podcast, e) = (config.podcast.as_ref()?, issue.episode.as_ref()?);
    let base = config.base_url();
    let audio_url = e.audio.url(&base);
    let page_relative = |url: &str| match url.strip_prefix(config.base()) {
        Some(rest) if matches!(e.audio, Source::Local(_)) => format!("..{rest}"),
        _ => url.to_string(),
    };
    let s = e.seconds.round() as u64;
    let mb = e.bytes as f64 / 1_000_000.0;
    Some(EpisodePage {
        title: e.title.clone().unwrap_or_else(|| issue.title.clone()),
        audio_src: page_relative(&audio_url),
        audio_url,
        mime: e.mime.clone(),
        seconds: e.seconds,
        duration: timestamp(e.seconds),
        duration_iso: format!("PT{}H{}M{}S", s / 3600, s / 60 % 60, s % 60).replace("PT0H", "PT"),
        size: if mb >= 1.0 { format!("{mb:.1} MB") } else { format!("{} KB", (e.bytes as f64 / 1000.0).ceil()) },
        chapters: e
            .chapter_list
            .iter()
            .map(|c| ChapterLine {
                start: c.start,
                at: timestamp(c.start),
                text: c.title.clone().unwrap_or_else(|| format!("Chapter at {}", timestamp(c.start))),
                url: c.url.clone(),
            })
            .collect(),
        transcript: e
            .cues
            .iter()
            .map(|c| ChapterLine { start: c.start, at: timestamp(c.start), text: c.text.clone(), url: None })
            .collect(),
        transcript_url: e.transcript.as_ref().map(|(s, _)| s.url(&base)),
        image_url: e.image.as_ref().or(podcast.artwork().as_ref()).map(|s| s.url(&base)).unwrap_or_default(),
        show: podcast.title(config).to_string(),
        feed_url: config.feed_url(),
        number: e.number.unwrap_or(issue.number),
        season: e.season,
        date: issue.date.to_string(),
    })
}

/// The newsletter feed of every valid issue, from their editions (newest first or in any order).
/// Issue `issue`'s item of the newsletter feed, `edition` being its edition.
pub fn newsletter_item(config: &Config, issue: &Issue, edition: Edition) -> NewsletterItem {
    NewsletterItem {
        title: edition.subject.clone(),
        link: edition.web_url.clone(),
        pub_date: rfc2822(published(issue, config), config),
        summary: edition.preheader.clone(),
        edition,
    }
}

pub fn newsletter(config: &Config, now: Timestamp) -> NewsletterFeed {
    NewsletterFeed {
        title: config.name.clone(),
        description: config.description.clone(),
        link: format!("{}/", config.base()),
        language: config.language.clone(),
        feed_url: config.newsletter_feed_url(),
        last_build_date: rfc2822(now, config),
    }
}

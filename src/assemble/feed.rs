//! Issues + settings → the render-ready podcast feed and newsletter feed.
//! Pure: reads no files (the episodes' audio was measured when loading).

use jiff::Timestamp;

use crate::assemble::{Edition, join_names};
use crate::workspace::config::Config;
use crate::workspace::config::podcast::{Person, Podcast};
use crate::workspace::content::episode::Episode;
use crate::workspace::content::issue::{Issue, Recommendation};

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
    /// RFC 2822.
    pub last_build_date: String,
    pub episodes: Vec<EpisodeOut>,
}

/// One `<item>` of the podcast feed.
#[derive(Debug, Clone)]
pub struct EpisodeOut {
    pub issue: u32,
    pub title: String,
    /// The issue's web page.
    pub link: String,
    pub guid: String,
    /// RFC 2822.
    pub pub_date: String,
    pub published: Timestamp,
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
    pub items: Vec<NewsletterItem>,
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
pub fn podcast<'a>(
    config: &Config,
    podcast: &Podcast,
    issues: impl IntoIterator<Item = &'a Issue>,
    now: Timestamp,
) -> PodcastFeed {
    let mut episodes: Vec<EpisodeOut> = issues
        .into_iter()
        .filter_map(|issue| issue.episode.as_ref().map(|e| episode(config, podcast, issue, e)))
        .collect();
    episodes.sort_by_key(|e| std::cmp::Reverse((e.published, e.issue)));
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
        last_build_date: rfc2822(now, config),
        episodes,
    }
}

fn episode(config: &Config, podcast: &Podcast, issue: &Issue, e: &Episode) -> EpisodeOut {
    let base = &config.base_url();
    let link = config.issue_url(issue.number);
    let published = published(issue, config);
    EpisodeOut {
        issue: issue.number,
        title: e.title.clone().unwrap_or_else(|| issue.title.clone()),
        guid: podcast.item_guid(config, issue.number, e.guid.as_deref()),
        pub_date: rfc2822(published, config),
        published,
        notes: show_notes(issue, e, &link),
        link,
        enclosure_url: e.audio.url(base),
        length: e.bytes,
        mime: e.mime.clone(),
        duration: (e.seconds.round() as u64).max(1),
        explicit: e.explicit.unwrap_or(podcast.explicit),
        image_url: e.image.as_ref().map(|s| s.url(base)),
        season: e.season,
        number: e.number.unwrap_or(issue.number),
        episode_type: e.episode_type.clone(),
        chapters_url: e.chapters.as_ref().map(|s| s.url(base)),
        transcript: e.transcript.as_ref().map(|(s, kind)| (s.url(base), kind.mime().to_string())),
        persons: e.persons.clone(),
    }
}

/// The newsletter feed of every valid issue, from their editions (newest first or in any order).
pub fn newsletter<'a>(
    config: &Config,
    editions: impl IntoIterator<Item = (&'a Issue, Edition)>,
    now: Timestamp,
) -> NewsletterFeed {
    let mut items: Vec<(Timestamp, u32, NewsletterItem)> = editions
        .into_iter()
        .map(|(issue, edition)| {
            let t = published(issue, config);
            (
                t,
                issue.number,
                NewsletterItem {
                    title: edition.subject.clone(),
                    link: edition.web_url.clone(),
                    pub_date: rfc2822(t, config),
                    summary: edition.preheader.clone(),
                    edition,
                },
            )
        })
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse((i.0, i.1)));
    NewsletterFeed {
        title: config.name.clone(),
        description: config.description.clone(),
        link: format!("{}/", config.base()),
        language: config.language.clone(),
        feed_url: config.newsletter_feed_url(),
        last_build_date: rfc2822(now, config),
        items: items.into_iter().map(|(_, _, item)| item).collect(),
    }
}

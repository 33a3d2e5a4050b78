//! Issues + settings → the render-ready podcast feed and newsletter feed.
//! Pure: reads no files (the episodes' audio was measured when loading).

use jiff::Timestamp;

use crate::assemble::{Edition, join_names, shorten};
use crate::text::markdown;
use crate::workspace::config::Config;
use crate::workspace::config::podcast::{Person, Podcast};
use crate::workspace::content::episode::Episode;
use crate::workspace::content::issue::{Issue, Recommendation, Section};

/// Apple Podcasts shows at most this much of an episode's show notes.
pub const SHOW_NOTES_MAX_BYTES: usize = 4000;

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
    /// HTML, under [`SHOW_NOTES_MAX_BYTES`].
    pub notes_html: String,
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
    pub content_html: String,
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
        notes_html: show_notes(issue, e, &link),
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

/// The episode's show notes: its summary, then the issue's recommendations with
/// links, then a link to the issue's web page. Under 4,000 bytes: when the whole
/// does not fit, the takes are left out, then the last links, never cutting a tag.
pub fn show_notes(issue: &Issue, episode: &Episode, web_url: &str) -> String {
    let summary_md = episode.summary.as_deref().unwrap_or(&issue.intro);
    let mut summary = markdown::to_html(summary_md);
    if summary.len() > SHOW_NOTES_MAX_BYTES / 3 {
        summary = format!("<p>{}</p>", crate::text::escape_html(&shorten(&markdown::to_plain(summary_md), 600)));
    }
    let trailer = format!(
        "<p>Read the full issue with our take on every link: <a href=\"{0}\">{0}</a></p>",
        crate::text::escape_html(web_url)
    );
    let sections = |takes: bool| -> Vec<(&str, Vec<String>)> {
        let items = |s: &Section| s.recommendations.iter().map(|r| note_item(r, takes)).collect();
        issue.sections.iter().map(|s| (s.name.as_str(), items(s))).collect()
    };
    let with_takes = notes(&summary, &sections(true), usize::MAX, &trailer);
    if with_takes.len() < SHOW_NOTES_MAX_BYTES {
        return with_takes;
    }
    let links = sections(false);
    let total: usize = links.iter().map(|(_, items)| items.len()).sum();
    (0..=total)
        .rev()
        .map(|n| notes(&summary, &links, n, &trailer))
        .find(|notes| notes.len() < SHOW_NOTES_MAX_BYTES)
        .unwrap_or(trailer)
}

/// One recommendation as a list item: its link, byline, maybe its take, its related links.
fn note_item(r: &Recommendation, take: bool) -> String {
    let mut li =
        format!("<li><a href=\"{}\">{}</a>", crate::text::escape_html(&r.url), crate::text::escape_html(&r.title));
    let by = join_names(&r.authors);
    match (by.is_empty(), &r.source) {
        (false, Some(src)) => {
            li.push_str(&format!(", by {} ({})", crate::text::escape_html(&by), crate::text::escape_html(src)))
        }
        (false, None) => li.push_str(&format!(", by {}", crate::text::escape_html(&by))),
        (true, Some(src)) => li.push_str(&format!(" ({})", crate::text::escape_html(src))),
        (true, None) => {}
    }
    if take && let Some(text) = r.take.as_deref().filter(|t| !t.trim().is_empty()) {
        li.push_str(&markdown::to_html(text));
    }
    for rel in &r.related {
        li.push_str(&format!(
            " Also: <a href=\"{}\">{}</a>",
            crate::text::escape_html(&rel.url),
            crate::text::escape_html(&rel.title)
        ));
    }
    li.push_str("</li>");
    li
}

/// The summary, the first `limit` items under their section names, how many were left out, the trailer.
fn notes(summary: &str, sections: &[(&str, Vec<String>)], limit: usize, trailer: &str) -> String {
    let mut out = summary.to_string();
    let mut shown = 0;
    let mut left_out = 0;
    for (name, items) in sections {
        let fits = items.len().min(limit - shown);
        left_out += items.len() - fits;
        if fits == 0 {
            continue;
        }
        shown += fits;
        out.push_str(&format!("<p><strong>{}</strong></p><ul>", crate::text::escape_html(name)));
        items[..fits].iter().for_each(|li| out.push_str(li));
        out.push_str("</ul>");
    }
    if left_out > 0 {
        let s = crate::text::plural(left_out);
        out.push_str(&format!("<p>…and {left_out} more link{s} in the full issue.</p>"));
    }
    out.push_str(trailer);
    out
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
                    content_html: issue_html(&edition),
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

/// The issue's content as HTML for a feed reader: intro, image, every section
/// with its recommendations and takes, and the link to the web page.
fn issue_html(e: &Edition) -> String {
    let mut out = e.intro.html.clone();
    if let Some(img) = &e.image
        && let Some(url) = &img.url
    {
        out.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\"></p>",
            crate::text::escape_html(url),
            crate::text::escape_html(&img.alt)
        ));
    }
    for s in &e.sections {
        out.push_str(&format!("<h2>{}</h2>", crate::text::escape_html(&s.name)));
        for r in &s.recommendations {
            out.push_str(&format!(
                "<h3><a href=\"{}\">{}</a></h3>",
                crate::text::escape_html(&r.url),
                crate::text::escape_html(&r.title)
            ));
            if !r.byline.is_empty() {
                out.push_str(&format!("<p><em>{}</em></p>", crate::text::escape_html(&r.byline)));
            }
            if let Some(take) = &r.take {
                out.push_str(&take.html);
            }
            for rel in &r.related {
                out.push_str(&format!(
                    "<p>Also: <a href=\"{}\">{}</a></p>",
                    crate::text::escape_html(&rel.url),
                    crate::text::escape_html(&rel.title)
                ));
            }
        }
    }
    out.push_str(&format!(
        "<p><a href=\"{0}\">Read this issue on the web</a></p>",
        crate::text::escape_html(&e.web_url)
    ));
    out
}

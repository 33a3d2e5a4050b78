//! `out/feed.xml` (the podcast: RSS 2.0 with the itunes and Podcasting 2.0
//! namespaces) and `out/newsletter.xml` (the issues' web pages), written with the
//! `rss` crate. Podcasting 2.0 and `atom:link` tags go through its extension maps,
//! with their namespaces declared on the channel.

use std::collections::BTreeMap;

use rss::extension::itunes::{ITunesCategory, ITunesChannelExtension, ITunesItemExtension, ITunesOwner};
use rss::extension::{Extension, ExtensionMap};
use rss::{Channel, Enclosure, Guid, Image, Item};

use crate::assemble::feed::{EpisodeOut, NewsletterFeed, NewsletterItem, NoteItem, PodcastFeed, ShowNotes};
use crate::assemble::{Edition, shorten};
use crate::text::markdown;
use crate::workspace::config::podcast::Person;
use crate::workspace::media::chapters;

/// The Podcasting 2.0 namespace.
pub const PODCAST_NS: &str = "https://podcastindex.org/namespace/1.0";
/// The Atom namespace, for `atom:link rel="self"`.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// One episode's `<item>` of `out/feed.xml`: [`podcast_around`] puts items
/// written once (and kept) in the feed.
pub fn podcast_item(e: &EpisodeOut) -> String {
    item_xml(episode(e))
}

/// `out/feed.xml`: the channel `feed` with `items` from [`podcast_item`], newest
/// first; `pub_date` is the newest episode's.
pub fn podcast_around(feed: &PodcastFeed, pub_date: Option<&str>, items: &[impl AsRef<str>]) -> String {
    let mut ext = Extensions::default();
    ext.atom_self(&feed.feed_url);
    ext.add("podcast", "podcast:guid", Some(&feed.guid), &[]);
    ext.add("podcast", "podcast:locked", Some(if feed.locked { "yes" } else { "no" }), &[("owner", &feed.owner_email)]);
    for (url, label) in &feed.funding {
        ext.add("podcast", "podcast:funding", Some(label), &[("url", url)]);
    }
    ext.persons(&feed.persons);
    for (value, purpose) in &feed.txt {
        let attrs: Vec<(&str, &str)> = purpose.iter().map(|p| ("purpose", p.as_str())).collect();
        ext.add("podcast", "podcast:txt", Some(value), &attrs);
    }
    if let Some(medium) = &feed.medium {
        ext.add("podcast", "podcast:medium", Some(medium), &[]);
    }
    if let Some((rrule, label)) = &feed.update_frequency {
        ext.add("podcast", "podcast:updateFrequency", Some(label), &[("rrule", rrule)]);
    }
    if let Some((name, url)) = &feed.license {
        let attrs: Vec<(&str, &str)> = url.iter().map(|u| ("url", u.as_str())).collect();
        ext.add("podcast", "podcast:license", Some(name), &attrs);
    }
    if !feed.podroll.is_empty() {
        let items = feed
            .podroll
            .iter()
            .map(|(guid, url, title)| {
                let mut attrs = vec![("feedGuid", guid.as_str())];
                if let Some(url) = url {
                    attrs.push(("feedUrl", url));
                }
                element("podcast:remoteItem", title.as_deref(), &attrs)
            })
            .collect();
        let mut podroll = element("podcast:podroll", None, &[]);
        podroll.children.insert("podcast:remoteItem".into(), items);
        ext.push("podcast", podroll);
    }
    for image in &feed.images {
        let width = image.width.map(|w| w.to_string());
        let mut attrs = vec![("href", image.href.as_str())];
        for (key, value) in [("alt", &image.alt), ("purpose", &image.purpose), ("width", &width)] {
            if let Some(v) = value {
                attrs.push((key, v));
            }
        }
        ext.add("podcast", "podcast:image", None, &attrs);
    }
    let yes = |on: bool| on.then(|| "Yes".to_string());
    let channel = Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(feed.language.clone()),
        copyright: feed.copyright.clone(),
        generator: Some("Masthead".into()),
        pub_date: pub_date.map(str::to_string),
        last_build_date: Some(feed.last_build_date.clone()),
        image: Some(Image {
            url: feed.image_url.clone(),
            title: feed.title.clone(),
            link: feed.link.clone(),
            ..Default::default()
        }),
        itunes_ext: Some(ITunesChannelExtension {
            author: Some(feed.author.clone()),
            categories: feed
                .categories
                .iter()
                .map(|(c, sub)| ITunesCategory {
                    text: c.clone(),
                    subcategory: sub.as_ref().map(|s| Box::new(ITunesCategory { text: s.clone(), subcategory: None })),
                })
                .collect(),
            image: Some(feed.image_url.clone()),
            explicit: Some(feed.explicit.to_string()),
            owner: Some(ITunesOwner { name: Some(feed.owner_name.clone()), email: Some(feed.owner_email.clone()) }),
            r#type: Some(feed.kind.clone()),
            new_feed_url: feed.new_feed_url.clone(),
            block: yes(feed.block),
            complete: yes(feed.complete),
            ..Default::default()
        }),
        extensions: ext.map,
        namespaces: namespaces(true),
        ..Default::default()
    };
    around(channel, items)
}

fn episode(e: &EpisodeOut) -> Item {
    let mut ext = Extensions::default();
    if let Some(season) = e.season {
        ext.add("podcast", "podcast:season", Some(&season.to_string()), &[]);
    }
    ext.add("podcast", "podcast:episode", Some(&e.number.to_string()), &[]);
    if let Some(url) = &e.chapters_url {
        ext.add("podcast", "podcast:chapters", None, &[("url", url), ("type", chapters::MIME)]);
    }
    if let Some((url, mime)) = &e.transcript {
        ext.add("podcast", "podcast:transcript", None, &[("url", url), ("type", mime), ("rel", "captions")]);
    }
    ext.persons(&e.persons);
    for bite in &e.soundbites {
        let (start, duration) = (bite.start.to_string(), bite.duration.to_string());
        ext.add(
            "podcast",
            "podcast:soundbite",
            bite.title.as_deref(),
            &[("startTime", &start), ("duration", &duration)],
        );
    }
    for alt in &e.alternates {
        let (length, bitrate) = (alt.length.to_string(), alt.bitrate.to_string());
        let mut attrs = vec![("type", alt.mime.as_str()), ("length", &length), ("bitrate", &bitrate)];
        if let Some(title) = &alt.title {
            attrs.push(("title", title));
        }
        let mut tag = element("podcast:alternateEnclosure", None, &attrs);
        tag.children.insert("podcast:source".into(), vec![element("podcast:source", None, &[("uri", &alt.url)])]);
        ext.push("podcast", tag);
    }
    for post in &e.social {
        let mut attrs = vec![("uri", post.uri.as_str()), ("protocol", post.protocol.as_str())];
        if let Some(account) = &post.account_id {
            attrs.push(("accountId", account));
        }
        ext.add("podcast", "podcast:socialInteract", None, &attrs);
    }
    if let Some((name, geo, osm)) = &e.location {
        let mut attrs = Vec::new();
        for (key, value) in [("geo", geo), ("osm", osm)] {
            if let Some(v) = value {
                attrs.push((key, v.as_str()));
            }
        }
        ext.add("podcast", "podcast:location", Some(name), &attrs);
    }
    Item {
        title: Some(e.title.clone()),
        link: Some(e.link.clone()),
        description: Some(show_notes(&e.notes)),
        content: Some(show_notes(&e.notes)),
        enclosure: Some(Enclosure {
            url: e.enclosure_url.clone(),
            length: e.length.to_string(),
            mime_type: e.mime.clone(),
        }),
        guid: Some(Guid { value: e.guid.clone(), permalink: false }),
        pub_date: Some(e.pub_date.clone()),
        itunes_ext: Some(ITunesItemExtension {
            image: e.image_url.clone(),
            duration: Some(e.duration.to_string()),
            explicit: Some(e.explicit.to_string()),
            episode: Some(e.number.to_string()),
            season: e.season.map(|s| s.to_string()),
            episode_type: Some(e.episode_type.clone()),
            ..Default::default()
        }),
        extensions: ext.map,
        ..Default::default()
    }
}

/// One issue's `<item>` of `out/newsletter.xml`.
pub fn newsletter_item(i: &NewsletterItem) -> String {
    item_xml(Item {
        title: Some(i.title.clone()),
        link: Some(i.link.clone()),
        // The summary is plain text; an item's description is HTML to feed readers.
        description: Some(crate::text::escape_html(&i.summary)),
        content: Some(issue_html(&i.edition)),
        guid: Some(Guid { value: i.link.clone(), permalink: true }),
        pub_date: Some(i.pub_date.clone()),
        ..Default::default()
    })
}

/// `out/newsletter.xml`: the channel `feed` with `items` from [`newsletter_item`],
/// newest first; `pub_date` is the newest item's.
pub fn newsletter_around(feed: &NewsletterFeed, pub_date: Option<&str>, items: &[impl AsRef<str>]) -> String {
    let mut ext = Extensions::default();
    ext.atom_self(&feed.feed_url);
    let channel = Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(feed.language.clone()),
        generator: Some("Masthead".into()),
        pub_date: pub_date.map(str::to_string),
        last_build_date: Some(feed.last_build_date.clone()),
        extensions: ext.map,
        namespaces: namespaces(false),
        ..Default::default()
    };
    around(channel, items)
}

/// Stands in for the items while the channel is written; never in a feed.
const ITEMS_GO_HERE: &str = "masthead: the items go here (9c1f5e0a)";

/// `channel` written with `items` (each a whole `<item>` as [`item_xml`] writes
/// it) where its items go: a placeholder item is written, then replaced.
fn around(mut channel: Channel, items: &[impl AsRef<str>]) -> String {
    // Every item has content (`content:encoded`): its namespace is declared when there are any.
    let content = (!items.is_empty()).then(String::new);
    channel.items = vec![Item { title: Some(ITEMS_GO_HERE.to_string()), content, ..Default::default() }];
    let xml = write(&channel);
    let mark = xml.find(ITEMS_GO_HERE).expect("the placeholder item is written");
    let start = xml[..mark].rfind("<item>").and_then(|at| xml[..at].rfind('\n')).map_or(0, |nl| nl + 1);
    let end = xml[mark..].find("</item>\n").map_or(xml.len(), |at| mark + at + "</item>\n".len());
    let mut out = String::with_capacity(xml.len() + items.iter().map(|i| i.as_ref().len()).sum::<usize>());
    out.push_str(&xml[..start]);
    items.iter().for_each(|item| out.push_str(item.as_ref()));
    out.push_str(&xml[end..]);
    out
}

/// One `<item>`, indented and closed as in a channel, with its line break.
fn item_xml(item: Item) -> String {
    let xml = write(&Channel { items: vec![item], ..Default::default() });
    let start = xml.find("<item>").and_then(|at| xml[..at].rfind('\n')).map_or(0, |nl| nl + 1);
    let end = xml.rfind("</item>\n").map_or(xml.len(), |at| at + "</item>\n".len());
    xml[start..end].to_string()
}

fn namespaces(podcast: bool) -> BTreeMap<String, String> {
    let mut ns = BTreeMap::from([("atom".to_string(), ATOM_NS.to_string())]);
    if podcast {
        ns.insert("podcast".into(), PODCAST_NS.into());
    }
    ns
}

fn write(channel: &Channel) -> String {
    let bytes = channel.pretty_write_to(Vec::new(), b' ', 2).expect("writing to memory cannot fail");
    let xml = String::from_utf8(bytes).expect("the rss crate writes UTF-8");
    close_empty_elements(&xml)
}

/// The indenting writer puts a line break inside elements that only have
/// attributes (`<atom:link …>⏎</atom:link>`); write those as `<atom:link …/>`.
fn close_empty_elements(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut lines = xml.lines().peekable();
    while let Some(line) = lines.next() {
        let start = line.trim_start();
        let name = start.strip_prefix('<').and_then(|s| s.split([' ', '>']).next()).unwrap_or("");
        let empty = !name.is_empty()
            && !name.starts_with(['/', '?', '!'])
            && line.ends_with('>')
            && !line.ends_with("/>")
            && lines.peek().is_some_and(|next| next.trim() == format!("</{name}>"));
        if empty {
            lines.next();
            out.push_str(&line[..line.len() - 1]);
            out.push_str("/>\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// An extension map being filled, element by element, in order.
#[derive(Default)]
struct Extensions {
    map: ExtensionMap,
}

/// One extension element, without children.
fn element(name: &str, value: Option<&str>, attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.to_string(),
        value: value.map(str::to_string),
        attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        children: BTreeMap::new(),
    }
}

impl Extensions {
    fn add(&mut self, prefix: &str, name: &str, value: Option<&str>, attrs: &[(&str, &str)]) {
        self.push(prefix, element(name, value, attrs));
    }

    fn push(&mut self, prefix: &str, ext: Extension) {
        self.map.entry(prefix.to_string()).or_default().entry(ext.name.clone()).or_default().push(ext);
    }

    fn atom_self(&mut self, url: &str) {
        self.add("atom", "atom:link", None, &[("href", url), ("rel", "self"), ("type", "application/rss+xml")]);
    }

    fn persons(&mut self, persons: &[Person]) {
        for p in persons {
            let mut attrs = vec![("role", p.role.as_deref().unwrap_or("host"))];
            if let Some(group) = &p.group {
                attrs.push(("group", group));
            }
            if let Some(href) = &p.href {
                attrs.push(("href", href));
            }
            if let Some(img) = &p.img {
                attrs.push(("img", img));
            }
            self.add("podcast", "podcast:person", Some(p.name.trim()), &attrs);
        }
    }
}

/// Apple Podcasts shows at most this much of an episode's show notes.
pub const SHOW_NOTES_MAX_BYTES: usize = 4000;

/// The episode's show notes: its summary, then the issue's recommendations with
/// links, then a link to the issue's web page. Under 4,000 bytes: when the whole
/// does not fit, the takes are left out, then the last links, never cutting a tag.
pub fn show_notes(data: &ShowNotes) -> String {
    let (summary_md, web_url) = (data.summary.as_str(), data.web_url.as_str());
    let mut summary = markdown::to_html(summary_md);
    if summary.len() > SHOW_NOTES_MAX_BYTES / 3 {
        summary = format!("<p>{}</p>", crate::text::escape_html(&shorten(&markdown::to_plain(summary_md), 600)));
    }
    let trailer = format!(
        "<p>Read the full issue with our take on every link: <a href=\"{0}\">{0}</a></p>",
        crate::text::escape_html(web_url)
    );
    let sections = |takes: bool| -> Vec<(&str, Vec<String>)> {
        data.sections
            .iter()
            .map(|(name, items)| (name.as_str(), items.iter().map(|r| note_item(r, takes)).collect()))
            .collect()
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
fn note_item(r: &NoteItem, take: bool) -> String {
    let mut li =
        format!("<li><a href=\"{}\">{}</a>", crate::text::escape_html(&r.url), crate::text::escape_html(&r.title));
    let by = &r.by;
    match (by.is_empty(), &r.source) {
        (false, Some(src)) => {
            li.push_str(&format!(", by {} ({})", crate::text::escape_html(by), crate::text::escape_html(src)))
        }
        (false, None) => li.push_str(&format!(", by {}", crate::text::escape_html(by))),
        (true, Some(src)) => li.push_str(&format!(" ({})", crate::text::escape_html(src))),
        (true, None) => {}
    }
    if take && let Some(text) = r.take.as_deref() {
        li.push_str(&markdown::to_html(text));
    }
    for (url, title) in &r.related {
        li.push_str(&format!(
            " Also: <a href=\"{}\">{}</a>",
            crate::text::escape_html(url),
            crate::text::escape_html(title)
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

/// The issue's content as HTML for a feed reader: intro, image, every section
/// with its recommendations and takes, and the link to the web page.
pub fn issue_html(e: &Edition) -> String {
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

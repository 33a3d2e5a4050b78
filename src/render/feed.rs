//! `out/feed.xml` (the podcast: RSS 2.0 with the itunes and Podcasting 2.0
//! namespaces) and `out/newsletter.xml` (the issues' web pages), written with the
//! `rss` crate. Podcasting 2.0 and `atom:link` tags go through its extension maps,
//! with their namespaces declared on the channel.

use std::collections::BTreeMap;

use rss::extension::itunes::{ITunesCategory, ITunesChannelExtension, ITunesItemExtension, ITunesOwner};
use rss::extension::{Extension, ExtensionMap};
use rss::{Channel, Enclosure, Guid, Image, Item};

use crate::assemble::feed::{EpisodeOut, NewsletterFeed, PodcastFeed};
use crate::workspace::config::podcast::Person;
use crate::workspace::media::chapters;

/// The Podcasting 2.0 namespace.
pub const PODCAST_NS: &str = "https://podcastindex.org/namespace/1.0";
/// The Atom namespace, for `atom:link rel="self"`.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// `out/feed.xml`.
pub fn podcast(feed: &PodcastFeed) -> String {
    let mut ext = Extensions::default();
    ext.atom_self(&feed.feed_url);
    ext.add("podcast", "podcast:guid", Some(&feed.guid), &[]);
    ext.add("podcast", "podcast:locked", Some(if feed.locked { "yes" } else { "no" }), &[("owner", &feed.owner_email)]);
    for (url, label) in &feed.funding {
        ext.add("podcast", "podcast:funding", Some(label), &[("url", url)]);
    }
    ext.persons(&feed.persons);
    let channel = Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(feed.language.clone()),
        copyright: feed.copyright.clone(),
        generator: Some("Masthead".into()),
        pub_date: feed.episodes.first().map(|e| e.pub_date.clone()),
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
            ..Default::default()
        }),
        items: feed.episodes.iter().map(episode).collect(),
        extensions: ext.map,
        namespaces: namespaces(true),
        ..Default::default()
    };
    write(&channel)
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
    Item {
        title: Some(e.title.clone()),
        link: Some(e.link.clone()),
        description: Some(e.notes_html.clone()),
        content: Some(e.notes_html.clone()),
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

/// `out/newsletter.xml`.
pub fn newsletter(feed: &NewsletterFeed) -> String {
    let mut ext = Extensions::default();
    ext.atom_self(&feed.feed_url);
    let channel = Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(feed.language.clone()),
        generator: Some("Masthead".into()),
        pub_date: feed.items.first().map(|i| i.pub_date.clone()),
        last_build_date: Some(feed.last_build_date.clone()),
        items: feed
            .items
            .iter()
            .map(|i| Item {
                title: Some(i.title.clone()),
                link: Some(i.link.clone()),
                description: Some(i.summary.clone()),
                content: Some(i.content_html.clone()),
                guid: Some(Guid { value: i.link.clone(), permalink: true }),
                pub_date: Some(i.pub_date.clone()),
                ..Default::default()
            })
            .collect(),
        extensions: ext.map,
        namespaces: namespaces(false),
        ..Default::default()
    };
    write(&channel)
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

impl Extensions {
    fn add(&mut self, prefix: &str, name: &str, value: Option<&str>, attrs: &[(&str, &str)]) {
        let ext = Extension {
            name: name.to_string(),
            value: value.map(str::to_string),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            children: BTreeMap::new(),
        };
        self.map.entry(prefix.to_string()).or_default().entry(name.to_string()).or_default().push(ext);
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

//! `[podcast]` in `publish.toml`: the podcast channel, checked against what
//! Apple Podcasts and the Podcasting 2.0 namespace require before anything is
//! published (required tags, Apple's categories, artwork, https URLs).

use std::path::Path;

use serde::Deserialize;
use uuid::Uuid;

use crate::diag::{Diagnostics, Severity, nearest};
use crate::text::url::check_web_url;
use crate::workspace::config::Config;
use crate::workspace::content::toml_file::{Seg, TomlFile};
use crate::workspace::media::{self, Source};

/// `[podcast]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Podcast {
    /// The show's name in podcast apps; default the publication's `name`.
    pub title: Option<String>,
    /// What the show is about, plain text up to 4,000 bytes; default the publication's `description`.
    pub description: Option<String>,
    /// Who makes the show, shown under its title (`itunes:author`).
    pub author: String,
    /// Who directories contact about the show (`itunes:owner`); its email also locks the feed.
    pub owner: Owner,
    /// The show's artwork: a file in the workspace or an https URL; a square JPEG or PNG of 1400 to 3000 px.
    pub image: String,
    /// The show's language, when not the publication's `language`.
    pub language: Option<String>,
    /// Apple Podcasts categories, such as "Technology" or "Business > Investing"; the first counts most.
    pub categories: Vec<String>,
    /// Whether the show has explicit content (an episode may say otherwise).
    #[serde(default)]
    pub explicit: bool,
    /// "episodic" (listened to newest first, the default) or "serial" (in order).
    #[serde(rename = "type", default = "default_kind")]
    pub kind: String,
    /// The show's web page; default the publication's base URL.
    pub link: Option<String>,
    /// The copyright line, e.g. "© 2024 Analyse Asia".
    pub copyright: Option<String>,
    /// Ways to support the show (`podcast:funding`), in order.
    #[serde(default)]
    pub funding: Vec<Funding>,
    /// The show's regular people (`podcast:person`): hosts first.
    #[serde(default)]
    pub persons: Vec<Person>,
    /// Asks podcast platforms not to import the feed without the owner's consent (`podcast:locked`).
    #[serde(default)]
    pub locked: bool,
    /// The show's `podcast:guid`. Leave it out to derive it from the feed's URL; once the feed is
    /// public, write that value here before moving `base_url`, so that apps keep the show.
    pub guid: Option<String>,
}

fn default_kind() -> String {
    "episodic".into()
}

/// `[podcast.owner]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub name: String,
    /// Where Apple Podcasts and other directories write to verify ownership.
    pub email: String,
}

/// `[[podcast.funding]]`: a donation or membership page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funding {
    /// The page (https).
    pub url: String,
    /// What the link says, up to 128 characters: "Support the show".
    pub label: String,
}

/// `[[podcast.persons]]` or `[[episode.persons]]`: someone on the show.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Their full name or alias (up to 128 characters).
    pub name: String,
    /// Their role from the Podcast Taxonomy ("host", "guest", "producer"); default "host".
    pub role: Option<String>,
    /// Their group from the Podcast Taxonomy ("cast", "writing"); default "cast".
    pub group: Option<String>,
    /// A page about them (https).
    pub href: Option<String>,
    /// Their picture (https).
    pub img: Option<String>,
}

/// The namespace of `podcast:guid` values, from the Podcasting 2.0 spec.
const PODCAST_NAMESPACE: Uuid = Uuid::from_u128(0xead4c236_bf58_58c6_a2c6_a6b28d128cb6);

/// The Podcasting 2.0 `podcast:guid` of a feed URL: UUIDv5 of the URL without
/// its scheme and trailing slashes.
pub fn feed_guid(feed_url: &str) -> Uuid {
    let bare = feed_url.split_once("://").map_or(feed_url, |(_, rest)| rest).trim_end_matches('/');
    Uuid::new_v5(&PODCAST_NAMESPACE, bare.as_bytes())
}

/// Apple Podcasts' categories and their subcategories.
pub const APPLE_CATEGORIES: &[(&str, &[&str])] = &[
    ("Arts", &["Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"]),
    ("Business", &["Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"]),
    ("Comedy", &["Comedy Interviews", "Improv", "Stand-Up"]),
    ("Education", &["Courses", "How To", "Language Learning", "Self-Improvement"]),
    ("Fiction", &["Comedy Fiction", "Drama", "Science Fiction"]),
    ("Government", &[]),
    ("History", &[]),
    ("Health & Fitness", &["Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"]),
    ("Kids & Family", &["Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"]),
    (
        "Leisure",
        &["Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden", "Video Games"],
    ),
    ("Music", &["Music Commentary", "Music History", "Music Interviews"]),
    (
        "News",
        &[
            "Business News",
            "Daily News",
            "Entertainment News",
            "News Commentary",
            "Politics",
            "Sports News",
            "Tech News",
        ],
    ),
    (
        "Religion & Spirituality",
        &["Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality"],
    ),
    (
        "Science",
        &[
            "Astronomy",
            "Chemistry",
            "Earth Sciences",
            "Life Sciences",
            "Mathematics",
            "Natural Sciences",
            "Nature",
            "Physics",
            "Social Sciences",
        ],
    ),
    ("Society & Culture", &["Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"]),
    (
        "Sports",
        &[
            "Baseball",
            "Basketball",
            "Cricket",
            "Fantasy Sports",
            "Football",
            "Golf",
            "Hockey",
            "Rugby",
            "Running",
            "Soccer",
            "Swimming",
            "Tennis",
            "Volleyball",
            "Wilderness",
            "Wrestling",
        ],
    ),
    ("Technology", &[]),
    ("True Crime", &[]),
    ("TV & Film", &["After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"]),
];

/// A category as Apple spells it: the category and maybe a subcategory.
pub type Category = (&'static str, Option<&'static str>);

/// Looks `text` ("Business > Investing", "technology") up in Apple's list; the
/// error is the closest valid category, written the way the file should say it.
pub fn apple_category(text: &str) -> Result<Category, String> {
    let parts: Vec<&str> = text.split(['>', '/']).map(str::trim).collect();
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let found = match parts.as_slice() {
        [top] => APPLE_CATEGORIES.iter().find(|(c, _)| same(c, top)).map(|(c, _)| (*c, None)),
        [top, sub] => APPLE_CATEGORIES
            .iter()
            .find(|(c, _)| same(c, top))
            .and_then(|(c, subs)| subs.iter().find(|s| same(s, sub)).map(|s| (*c, Some(*s)))),
        _ => None,
    };
    found.ok_or_else(|| closest_category(text))
}

/// Every valid way to write a category: "Arts", "Arts > Books", ….
fn category_names() -> Vec<String> {
    APPLE_CATEGORIES
        .iter()
        .flat_map(|(c, subs)| std::iter::once(c.to_string()).chain(subs.iter().map(move |s| format!("{c} > {s}"))))
        .collect()
}

fn closest_category(text: &str) -> String {
    let names = category_names();
    let wanted = text.trim().to_lowercase();
    // A subcategory written alone ("Investing") belongs under its category.
    if let Some(full) = names.iter().find(|n| n.rsplit(" > ").next().is_some_and(|s| s.to_lowercase() == wanted)) {
        return full.clone();
    }
    let score = |name: &str| {
        let leaf = name.rsplit(" > ").next().unwrap_or(name).to_lowercase();
        strsim::jaro_winkler(&wanted, &name.to_lowercase()).max(strsim::jaro_winkler(&wanted, &leaf))
    };
    names.iter().max_by(|a, b| score(a).total_cmp(&score(b))).cloned().unwrap_or_else(|| "Technology".into())
}

/// Podcast types Apple knows.
pub const SHOW_TYPES: &[&str] = &["episodic", "serial"];

impl Podcast {
    /// The show's title.
    pub fn title<'a>(&'a self, config: &'a Config) -> &'a str {
        self.title.as_deref().unwrap_or(&config.name)
    }

    /// The show's description.
    pub fn description<'a>(&'a self, config: &'a Config) -> &'a str {
        self.description.as_deref().unwrap_or(&config.description)
    }

    /// The show's language.
    pub fn language<'a>(&'a self, config: &'a Config) -> &'a str {
        self.language.as_deref().unwrap_or(&config.language)
    }

    /// The show's web page.
    pub fn link(&self, config: &Config) -> String {
        self.link.clone().unwrap_or_else(|| format!("{}/", config.base()))
    }

    /// The show's `podcast:guid`: the one written in `guid`, or the one of the feed's URL.
    pub fn guid(&self, config: &Config) -> Uuid {
        self.guid
            .as_deref()
            .and_then(|g| Uuid::parse_str(g.trim()).ok())
            .unwrap_or_else(|| feed_guid(&config.feed_url()))
    }

    /// The GUID of issue `number`'s episode: the one it gives, or UUIDv5 of "issue/N" in the
    /// namespace of the show's guid. Titles, file names and build times play no part,
    /// so the GUID never changes once published.
    pub fn item_guid(&self, config: &Config, number: u32, explicit: Option<&str>) -> String {
        match explicit {
            Some(guid) => guid.to_string(),
            None => Uuid::new_v5(&self.guid(config), format!("issue/{number}").as_bytes()).to_string(),
        }
    }

    /// The categories, as Apple spells them (only valid ones: `validate` reports the others).
    pub fn apple_categories(&self) -> Vec<Category> {
        self.categories.iter().filter_map(|c| apple_category(c).ok()).collect()
    }

    /// The artwork (checked by `validate`).
    pub fn artwork(&self) -> Option<Source> {
        Source::parse(&self.image).ok()
    }

    /// Checks the channel against Apple's and the Podcasting 2.0 rules; reads the artwork file.
    pub fn validate(&self, config: &Config, file: &TomlFile, root: &Path, diags: &mut Diagnostics) {
        let at = |k| [Seg::Key("podcast"), Seg::Key(k)];
        let err = |diags: &mut Diagnostics, path: &[Seg], msg: String, hint: String| {
            diags.push(file.diag_at(Severity::Error, path, msg).with_hint(hint));
        };
        if !config.base_url.starts_with("https://") {
            err(
                diags,
                &[Seg::Key("base_url")],
                "the podcast's feed and audio are published under base_url, which must be https".into(),
                "Apple Podcasts and the Podcasting 2.0 spec require https: write https://…".into(),
            );
        }
        let title = self.title(config);
        if title.trim().is_empty() || crate::workspace::content::has_line_break(title) {
            let title_at = at("title");
            let path: &[Seg] = if self.title.is_some() { &title_at } else { &[Seg::Key("name")] };
            err(diags, path, "the podcast needs a one-line title".into(), "write title = \"…\" under [podcast]".into());
        }
        let description = self.description(config);
        if description.trim().is_empty() {
            err(
                diags,
                &[Seg::Key("podcast")],
                "the podcast has no description: Apple Podcasts requires one".into(),
                "write description = \"…\" under [podcast] (or a description for the publication)".into(),
            );
        } else if description.len() > 4000 {
            let description_at = at("description");
            let path: &[Seg] = if self.description.is_some() { &description_at } else { &[Seg::Key("description")] };
            err(
                diags,
                path,
                format!("the description is {} bytes: Apple Podcasts takes at most 4,000", description.len()),
                "shorten it".into(),
            );
        }
        if self.author.trim().is_empty() {
            err(diags, &at("author"), "the author is empty".into(), "write who makes the show".into());
        }
        if self.owner.name.trim().is_empty() {
            let path = [Seg::Key("podcast"), Seg::Key("owner"), Seg::Key("name")];
            err(diags, &path, "the owner's name is empty".into(), "write the name of who runs the show".into());
        }
        if self.owner.email.parse::<lettre::Address>().is_err() {
            let path = [Seg::Key("podcast"), Seg::Key("owner"), Seg::Key("email")];
            err(
                diags,
                &path,
                format!("\"{}\" is not an email address", self.owner.email),
                "directories write here to verify that the show is yours: name@example.com".into(),
            );
        }
        if let Err(why) = media::artwork(&self.image, root) {
            err(diags, &at("image"), why, "use a square JPEG or PNG of 1400 to 3000 px, in RGB".into());
        }
        if let Some(lang) = &self.language
            && !is_language_tag(lang)
        {
            err(
                diags,
                &at("language"),
                format!("\"{lang}\" is not a language code"),
                "write it as \"en\" or \"en-SG\"".into(),
            );
        }
        if self.categories.is_empty() {
            err(
                diags,
                &at("categories"),
                "the podcast needs at least one category".into(),
                "Apple Podcasts files shows by category: categories = [\"Technology\"]".into(),
            );
        }
        for (i, text) in self.categories.iter().enumerate() {
            if let Err(closest) = apple_category(text) {
                err(
                    diags,
                    &[Seg::Key("podcast"), Seg::Key("categories"), Seg::Index(i)],
                    format!("\"{text}\" is not an Apple Podcasts category"),
                    format!("did you mean \"{closest}\"?"),
                );
            }
        }
        if !SHOW_TYPES.contains(&self.kind.as_str()) {
            let hint = match nearest(&self.kind, SHOW_TYPES.iter().copied()) {
                Some(near) => format!("did you mean \"{near}\"?"),
                None => "write \"episodic\" (newest first) or \"serial\" (in order)".into(),
            };
            err(diags, &at("type"), format!("unknown podcast type \"{}\"", self.kind), hint);
        }
        if let Some(link) = &self.link
            && let Err(why) = https_url(link)
        {
            err(diags, &at("link"), format!("the link is not an https address: {why}"), "write https://…".into());
        }
        for (i, f) in self.funding.iter().enumerate() {
            let p = |k| [Seg::Key("podcast"), Seg::Key("funding"), Seg::Index(i), Seg::Key(k)];
            if let Err(why) = https_url(&f.url) {
                err(diags, &p("url"), format!("not an https address: {why}"), "write https://…".into());
            }
            if f.label.trim().is_empty() || f.label.chars().count() > 128 {
                err(
                    diags,
                    &p("label"),
                    "the label must have 1 to 128 characters".into(),
                    "\"Support the show\"".into(),
                );
            }
        }
        check_persons(&self.persons, &[Seg::Key("podcast")], file, diags);
        if let Some(guid) = &self.guid
            && Uuid::parse_str(guid.trim()).is_err()
        {
            err(
                diags,
                &at("guid"),
                format!("\"{guid}\" is not a UUID"),
                format!(
                    "podcast:guid is a UUID such as \"{}\" (the one of this feed's URL)",
                    feed_guid(&config.feed_url())
                ),
            );
        }
    }
}

/// Checks `[[persons]]` under `parent` (names, https links).
pub fn check_persons(persons: &[Person], parent: &[Seg], file: &TomlFile, diags: &mut Diagnostics) {
    for (i, person) in persons.iter().enumerate() {
        let path = |k| {
            let mut p = parent.to_vec();
            p.extend([Seg::Key("persons"), Seg::Index(i), Seg::Key(k)]);
            p
        };
        let name = person.name.trim();
        if name.is_empty() || name.chars().count() > 128 || crate::workspace::content::has_line_break(name) {
            diags.push(
                file.diag_at(Severity::Error, &path("name"), "a person's name must be one line of 1 to 128 characters")
                    .with_hint("write their full name or alias"),
            );
        }
        for (key, value) in [("href", &person.href), ("img", &person.img)] {
            if let Some(url) = value
                && let Err(why) = https_url(url)
            {
                diags.push(
                    file.diag_at(Severity::Error, &path(key), format!("not an https address: {why}"))
                        .with_hint("write https://…"),
                );
            }
        }
    }
}

/// An absolute https URL.
pub fn https_url(text: &str) -> Result<(), String> {
    check_web_url(text)?;
    if !text.starts_with("https://") {
        return Err("podcast apps require https".into());
    }
    Ok(())
}

/// "en", "en-SG", "zh-Hant-TW".
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podcast_guid_matches_the_spec_examples() {
        assert_eq!(feed_guid("podnews.net/rss").to_string(), "9b024349-ccf0-5f69-a609-6b82873eab3c");
        assert_eq!(feed_guid("https://podnews.net/rss/").to_string(), "9b024349-ccf0-5f69-a609-6b82873eab3c");
        assert_eq!(
            feed_guid("http://mp3s.nashownotes.com/pc20rss.xml").to_string(),
            "917393e3-1b1e-5cef-ace4-edaa54e1f810"
        );
    }

    #[test]
    fn categories_are_apples_and_the_closest_is_suggested() {
        assert_eq!(apple_category("Technology"), Ok(("Technology", None)));
        assert_eq!(apple_category("business > investing"), Ok(("Business", Some("Investing"))));
        assert_eq!(apple_category("News/Tech News"), Ok(("News", Some("Tech News"))));
        assert_eq!(apple_category("Technolgy"), Err("Technology".into()));
        assert_eq!(apple_category("Investing"), Err("Business > Investing".into()));
        assert_eq!(apple_category("News > Technology News"), Err("News > Tech News".into()));
    }

    #[test]
    fn language_tags() {
        assert!(is_language_tag("en"));
        assert!(is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("english"));
        assert!(!is_language_tag("en_SG"));
    }
}

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
    /// Free text for directories (`podcast:txt`), e.g. a verification token: up to 4,000 characters each.
    #[serde(default)]
    pub txt: Vec<Txt>,
    /// What the feed is (`podcast:medium`): "podcast" (the default of apps), "music", "audiobook", ….
    pub medium: Option<String>,
    /// How often episodes come (`podcast:updateFrequency`): "daily", "weekly", "fortnightly",
    /// "monthly", or an RFC 5545 rule such as "FREQ=WEEKLY;BYDAY=FR".
    pub rhythm: Option<String>,
    /// The show's licence (`podcast:license`): an SPDX identifier such as "CC-BY-4.0", or any name with `license_url`.
    pub license: Option<String>,
    /// Where the licence is written (https); needed when `license` is not an SPDX identifier.
    pub license_url: Option<String>,
    /// Other shows this one recommends (`podcast:podroll`), by their `podcast:guid`.
    #[serde(default)]
    pub podroll: Vec<Podroll>,
    /// More artwork (`podcast:image`), each for a purpose: "artwork", "social", "banner", ….
    #[serde(default)]
    pub images: Vec<ImageTag>,
    /// Where the feed moved to (`itunes:new-feed-url`): set it on the old host's feed when moving hosts.
    pub new_feed_url: Option<String>,
    /// Asks Apple Podcasts to hide the show (`itunes:block`).
    #[serde(default)]
    pub block: bool,
    /// The show has ended: no more episodes will come (`itunes:complete`).
    #[serde(default)]
    pub complete: bool,
    /// A prefix for enclosure URLs only, to count downloads through a service such as OP3:
    /// "https://op3.dev/e,pg=<podcast guid>/". Must be https and end in "/".
    pub enclosure_prefix: Option<String>,
}

/// `[[podcast.txt]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Txt {
    /// The text, up to 4,000 characters.
    pub value: String,
    /// What it is for, up to 128 characters: "verify", "applepodcastsverify".
    pub purpose: Option<String>,
}

/// `[[podcast.podroll]]`: a show this one recommends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Podroll {
    /// That show's `podcast:guid`.
    pub feed_guid: String,
    /// That show's feed (https), optional.
    pub feed_url: Option<String>,
    /// Its title, for people reading the feed.
    pub title: Option<String>,
}

/// `[[podcast.images]]`: a `podcast:image`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageTag {
    /// The picture: a PNG or JPEG in the workspace (its size is read) or an https URL.
    pub href: String,
    /// What apps use it for, space-separated: "artwork", "social", "banner", "canvas", ….
    pub purpose: Option<String>,
    /// A description of the picture for people who cannot see it.
    pub alt: Option<String>,
    /// Its width in pixels.
    pub width: Option<u32>,
}

/// The values of `podcast:medium` (Podcasting 2.0), the list feeds' ones ending in "L".
pub const MEDIUMS: &[&str] = &[
    "podcast",
    "music",
    "video",
    "film",
    "audiobook",
    "newsletter",
    "blog",
    "publisher",
    "course",
    "podcastL",
    "musicL",
    "videoL",
    "filmL",
    "audiobookL",
    "newsletterL",
    "blogL",
    "publisherL",
    "courseL",
    "mixed",
];

/// `podcast:txt` and `podcast:license` limits.
pub const TXT_MAX_CHARS: usize = 4000;

/// The rhythms written as words, and their rule.
const RHYTHMS: &[(&str, &str, &str)] = &[
    ("daily", "FREQ=DAILY", "Daily"),
    ("weekly", "FREQ=WEEKLY", "Weekly"),
    ("fortnightly", "FREQ=WEEKLY;INTERVAL=2", "Fortnightly"),
    ("biweekly", "FREQ=WEEKLY;INTERVAL=2", "Every two weeks"),
    ("monthly", "FREQ=MONTHLY", "Monthly"),
    ("yearly", "FREQ=YEARLY", "Yearly"),
];

/// `[podcast] rhythm` as `podcast:updateFrequency`: (rrule, label). The error says what is wrong.
pub fn update_frequency(rhythm: &str) -> Result<(String, String), String> {
    let text = rhythm.trim();
    if let Some((_, rule, label)) = RHYTHMS.iter().find(|(w, _, _)| w.eq_ignore_ascii_case(text)) {
        return Ok((rule.to_string(), label.to_string()));
    }
    let rule = text.strip_prefix("RRULE:").unwrap_or(text);
    check_rrule(rule)?;
    let freq = rule.split(';').find_map(|p| p.strip_prefix("FREQ=")).unwrap_or("");
    let label = match freq {
        "DAILY" => "Daily",
        "WEEKLY" => "Weekly",
        "MONTHLY" => "Monthly",
        "YEARLY" => "Yearly",
        "HOURLY" => "Hourly",
        "MINUTELY" => "Every minute",
        _ => "Secondly",
    };
    Ok((rule.to_string(), label.to_string()))
}

/// An RFC 5545 RRULE value: `NAME=VALUE` parts, FREQ once, each value of the right form.
fn check_rrule(rule: &str) -> Result<(), String> {
    let words = RHYTHMS.iter().map(|(w, _, _)| *w).collect::<Vec<_>>().join("\", \"");
    let general = format!("write \"{words}\", or an RFC 5545 rule such as \"FREQ=WEEKLY;BYDAY=FR\"");
    if rule.is_empty() {
        return Err(format!("the rhythm is empty: {general}"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for part in rule.split(';') {
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("\"{part}\" is not NAME=VALUE: {general}"));
        };
        if seen.contains(&name) {
            return Err(format!("{name} is given twice"));
        }
        seen.push(name);
        let list = |ok: &dyn Fn(&str) -> bool| !value.is_empty() && value.split(',').all(ok);
        let int_in = |lo: i64, hi: i64| move |v: &str| v.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n.abs()));
        let valid = match name {
            "FREQ" => ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(&value),
            "INTERVAL" | "COUNT" => value.parse::<u32>().is_ok_and(|n| n >= 1),
            "UNTIL" => {
                let digits = value.trim_end_matches('Z').replace('T', "");
                (digits.len() == 8 || digits.len() == 14) && digits.bytes().all(|b| b.is_ascii_digit())
            }
            "BYSECOND" => list(&|v| v.parse::<u8>().is_ok_and(|n| n <= 60)),
            "BYMINUTE" => list(&|v| v.parse::<u8>().is_ok_and(|n| n <= 59)),
            "BYHOUR" => list(&|v| v.parse::<u8>().is_ok_and(|n| n <= 23)),
            "BYDAY" => list(&|v| {
                let day = &v[v.len().saturating_sub(2)..];
                let n = &v[..v.len().saturating_sub(2)];
                ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].contains(&day)
                    && (n.is_empty() || int_in(1, 53)(n.trim_start_matches('+')))
            }),
            "BYMONTHDAY" => list(&|v| int_in(1, 31)(v.trim_start_matches('+'))),
            "BYYEARDAY" => list(&|v| int_in(1, 366)(v.trim_start_matches('+'))),
            "BYWEEKNO" => list(&|v| int_in(1, 53)(v.trim_start_matches('+'))),
            "BYMONTH" => list(&|v| v.parse::<u8>().is_ok_and(|n| (1..=12).contains(&n))),
            "BYSETPOS" => list(&|v| int_in(1, 366)(v.trim_start_matches('+'))),
            "WKST" => ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].contains(&value),
            _ => return Err(format!("{name} is not a part of an RFC 5545 rule: {general}")),
        };
        if !valid {
            return Err(format!("{name}={value} is not a valid value for {name}"));
        }
    }
    if !seen.contains(&"FREQ") {
        return Err(format!("the rule has no FREQ: {general}"));
    }
    if seen.contains(&"COUNT") && seen.contains(&"UNTIL") {
        return Err("a rule has COUNT or UNTIL, not both".into());
    }
    Ok(())
}

/// A few SPDX licence identifiers podcasts use; others need `license_url`.
const SPDX_LICENSES: &[&str] = &[
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
    "CC-BY-NC-3.0",
    "CC-BY-NC-SA-3.0",
    "CC-BY-ND-3.0",
    "CC-BY-NC-ND-3.0",
    "CC-PDDC",
    "MIT",
    "Apache-2.0",
    "GPL-3.0-or-later",
];

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
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
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
        Source::parse("image", &self.image).ok()
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
        if let Err(why) = media::artwork("image", &self.image, root) {
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
        self.validate_namespace(config, file, root, diags);
    }

    /// The Podcasting 2.0 and Apple tags beyond the required ones: txt, medium, updateFrequency,
    /// license, podroll, image, new-feed-url, the enclosure prefix.
    fn validate_namespace(&self, config: &Config, file: &TomlFile, root: &Path, diags: &mut Diagnostics) {
        let at = |k| [Seg::Key("podcast"), Seg::Key(k)];
        let err = |diags: &mut Diagnostics, path: &[Seg], msg: String, hint: String| {
            diags.push(file.diag_at(Severity::Error, path, msg).with_hint(hint));
        };
        for (i, txt) in self.txt.iter().enumerate() {
            let p = |k| [Seg::Key("podcast"), Seg::Key("txt"), Seg::Index(i), Seg::Key(k)];
            let n = txt.value.chars().count();
            if txt.value.trim().is_empty() || n > TXT_MAX_CHARS {
                err(
                    diags,
                    &p("value"),
                    format!("podcast:txt holds 1 to 4,000 characters; this one has {n}"),
                    "shorten it, or split it into two [[podcast.txt]]".into(),
                );
            }
            if let Some(purpose) = &txt.purpose
                && (purpose.trim().is_empty() || purpose.chars().count() > 128 || purpose.contains(char::is_whitespace))
            {
                err(
                    diags,
                    &p("purpose"),
                    "the purpose is one word of up to 128 characters".into(),
                    "write purpose = \"verify\"".into(),
                );
            }
        }
        if let Some(medium) = &self.medium
            && !MEDIUMS.contains(&medium.as_str())
        {
            let hint = match nearest(medium, MEDIUMS.iter().copied()) {
                Some(near) => format!("did you mean \"{near}\"?"),
                None => format!("the Podcasting 2.0 mediums are: {}", MEDIUMS.join(", ")),
            };
            err(diags, &at("medium"), format!("\"{medium}\" is not a podcast:medium"), hint);
        }
        if let Some(rhythm) = &self.rhythm
            && let Err(why) = update_frequency(rhythm)
        {
            err(
                diags,
                &at("rhythm"),
                format!("the rhythm \"{rhythm}\" is not a schedule: {why}"),
                "rhythm = \"weekly\" or \"FREQ=WEEKLY;BYDAY=FR\"".into(),
            );
        }
        match (&self.license, &self.license_url) {
            (Some(name), url) => {
                if name.trim().is_empty() || name.chars().count() > 128 {
                    err(
                        diags,
                        &at("license"),
                        "the licence name has 1 to 128 characters".into(),
                        "\"CC-BY-4.0\"".into(),
                    );
                } else if url.is_none() && !SPDX_LICENSES.iter().any(|l| l.eq_ignore_ascii_case(name.trim())) {
                    err(
                        diags,
                        &at("license"),
                        format!(
                            "\"{name}\" is not an SPDX licence identifier podcast apps know, so it needs its text's URL"
                        ),
                        format!("add license_url = \"https://…\", or use one of: {}", SPDX_LICENSES.join(", ")),
                    );
                }
                if let Some(url) = url
                    && let Err(why) = https_url(url)
                {
                    err(diags, &at("license_url"), format!("not an https address: {why}"), "write https://…".into());
                }
            }
            (None, Some(_)) => err(
                diags,
                &at("license_url"),
                "license_url is given without license".into(),
                "add license = \"<its name>\"".into(),
            ),
            (None, None) => {}
        }
        let own = self.guid(config);
        for (i, show) in self.podroll.iter().enumerate() {
            let p = |k| [Seg::Key("podcast"), Seg::Key("podroll"), Seg::Index(i), Seg::Key(k)];
            match Uuid::parse_str(show.feed_guid.trim()) {
                Err(_) => err(
                    diags,
                    &p("feed_guid"),
                    format!("\"{}\" is not a podcast:guid (a UUID)", show.feed_guid),
                    "copy the show's guid from its feed or podcastindex.org".into(),
                ),
                Ok(guid) if guid == own => err(
                    diags,
                    &p("feed_guid"),
                    "this is this show's own guid: a podroll recommends other shows".into(),
                    "remove it".into(),
                ),
                Ok(_) => {}
            }
            if let Some(url) = &show.feed_url
                && let Err(why) = https_url(url)
            {
                err(diags, &p("feed_url"), format!("not an https address: {why}"), "write https://…".into());
            }
        }
        for (i, image) in self.images.iter().enumerate() {
            let p = |k| [Seg::Key("podcast"), Seg::Key("images"), Seg::Index(i), Seg::Key(k)];
            if let Err(why) = image_tag_source(image, root) {
                err(diags, &p("href"), why, "a PNG or JPEG under media/, or an https:// URL".into());
            }
            if let Some(purpose) = &image.purpose
                && (purpose.trim().is_empty() || purpose.len() > 128)
            {
                err(
                    diags,
                    &p("purpose"),
                    "the purpose is 1 to 128 characters of space-separated words".into(),
                    "purpose = \"artwork social\"".into(),
                );
            }
        }
        if let Some(url) = &self.new_feed_url
            && let Err(why) = https_url(url)
        {
            err(
                diags,
                &at("new_feed_url"),
                format!("not an https address: {why}"),
                "the new host's feed URL: https://…".into(),
            );
        }
        if let Some(prefix) = &self.enclosure_prefix {
            let why =
                https_url(prefix).err().or_else(|| (!prefix.ends_with('/')).then(|| "it must end in \"/\"".into()));
            if let Some(why) = why {
                err(
                    diags,
                    &at("enclosure_prefix"),
                    format!("the enclosure prefix is not an https prefix: {why}"),
                    format!("for OP3 write \"https://op3.dev/e,pg={own}/\""),
                );
            }
        }
    }
}

/// A `podcast:image`'s picture: a local file must be a PNG or JPEG; a URL must name a picture.
fn image_tag_source(image: &ImageTag, root: &Path) -> Result<Source, String> {
    let source = Source::parse("href", &image.href)?;
    match source.local_path(root) {
        Some(path) => {
            let rel = source.as_str();
            if !path.is_file() {
                return Err(format!("{rel} does not exist"));
            }
            media::image::read(&path).map_err(|_| format!("{rel} is not a PNG or JPEG picture"))?;
            Ok(source)
        }
        None => {
            if !matches!(source.extension().as_deref(), Some("jpg" | "jpeg" | "png" | "webp" | "gif")) {
                return Err("a podcast:image URL ends in .jpg, .jpeg, .png, .webp or .gif".into());
            }
            Ok(source)
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
    fn rhythms_become_rrules_and_bad_rules_say_which_part() {
        assert_eq!(update_frequency("Weekly"), Ok(("FREQ=WEEKLY".into(), "Weekly".into())));
        assert_eq!(update_frequency("fortnightly").unwrap().0, "FREQ=WEEKLY;INTERVAL=2");
        assert_eq!(
            update_frequency("FREQ=MONTHLY;BYDAY=-1FR").unwrap(),
            ("FREQ=MONTHLY;BYDAY=-1FR".into(), "Monthly".into())
        );
        assert_eq!(update_frequency("RRULE:FREQ=DAILY;COUNT=10").unwrap().0, "FREQ=DAILY;COUNT=10");
        assert!(update_frequency("FREQ=WEEKLY;BYDAY=XX").unwrap_err().starts_with("BYDAY=XX is not a valid value"));
        assert!(update_frequency("BYDAY=FR").unwrap_err().contains("has no FREQ"));
        assert!(update_frequency("FREQ=WEEKLY;FREQ=DAILY").unwrap_err().contains("given twice"));
        assert!(update_frequency("FREQ=DAILY;COUNT=2;UNTIL=20250101").unwrap_err().contains("not both"));
        assert!(update_frequency("FREQ=SOMETIMES").is_err());
        assert!(update_frequency("every friday").is_err());
        assert!(update_frequency("FREQ=WEEKLY;BYHOUR=24").is_err());
    }

    #[test]
    fn language_tags() {
        assert!(is_language_tag("en"));
        assert!(is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("english"));
        assert!(!is_language_tag("en_SG"));
    }
}

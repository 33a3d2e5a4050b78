//! Social post snippets: for every platform, an announcement of the issue and a
//! thread with one post per recommendation, each within the platform's limit
//! under every plausible way the platform may count it (see [`count`]).
//!
//! The templates `social/announcement.txt` and `social/recommendation.txt`
//! decide what a post says. They render markers where the flexible parts go
//! (the hook or take, and the title); [`fit`] fills those in and shortens them,
//! take first, until [`count`] says the post fits. On Bluesky, whose server
//! counts a URL in full, a link shows as a short text and the full URL travels
//! in a link facet (`app.bsky.richtext.facet`, byte offsets into the UTF-8 text).

pub mod count;
mod entities;
pub mod fit;
pub mod kept;

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::assemble::Edition;
use crate::diag::{Diagnostic, Severity};
use crate::render::Renderer;
use crate::text::url::linkable;
use crate::workspace::config;
use count::Count;
use fit::Slot;

/// The platforms posts are written for, in the order files list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    X,
    Bluesky,
    Mastodon,
    Threads,
    LinkedIn,
}

impl Platform {
    pub const ALL: [Platform; 5] =
        [Platform::X, Platform::Bluesky, Platform::Mastodon, Platform::Threads, Platform::LinkedIn];

    /// The name of its file, its key in `social.json` and in `[social.handles]`.
    pub fn id(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Bluesky => "bluesky",
            Platform::Mastodon => "mastodon",
            Platform::Threads => "threads",
            Platform::LinkedIn => "linkedin",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Bluesky => "Bluesky",
            Platform::Mastodon => "Mastodon",
            Platform::Threads => "Threads",
            Platform::LinkedIn => "LinkedIn",
        }
    }

    /// The longest post, in the platform's own unit (see [`count`]).
    pub fn limit(self) -> usize {
        match self {
            Platform::X => 280,
            Platform::Bluesky => 300,
            Platform::Mastodon | Platform::Threads => 500,
            Platform::LinkedIn => 3000,
        }
    }

    /// The most UTF-8 bytes a post may have, where that is limited too.
    pub fn byte_limit(self) -> Option<usize> {
        (self == Platform::Bluesky).then_some(3000)
    }

    /// The most distinct links a post may hold, where that is limited.
    pub fn max_links(self) -> Option<usize> {
        (self == Platform::Threads).then_some(5)
    }

    /// How many hashtags are worth writing: Threads makes only a post's first
    /// tag a topic, the others stay plain text.
    pub fn max_hashtags(self) -> Option<usize> {
        (self == Platform::Threads).then_some(1)
    }

    /// What `length` counts, as `social.json` says it.
    pub fn unit(self) -> &'static str {
        match self {
            Platform::X => {
                "twitter-text v3 weighted characters (URLs 23, emoji 2, CJK 2), the larger of twitter-text 3.1.0's count \
                 and the count with current emoji data"
            }
            Platform::Bluesky => {
                "grapheme clusters, Indic conjuncts split as before Unicode 15.1 (and at most 3000 UTF-8 bytes)"
            }
            Platform::Mastodon => {
                "UTF-16 code units, never fewer than grapheme clusters (URLs 23, @user@domain as @user)"
            }
            Platform::Threads => {
                "characters, emoji as their UTF-8 bytes, or UTF-16 code units when more (and at most 5 links)"
            }
            Platform::LinkedIn => "UTF-16 code units",
        }
    }
}

/// What a post is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    Announcement,
    Recommendation,
}

/// One post, ready to publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Post {
    pub kind: PostKind,
    pub text: String,
    /// The length as the platform counts it.
    pub length: usize,
    /// UTF-8 bytes.
    pub bytes: usize,
    /// Distinct links.
    pub links: usize,
    /// Whether the take, the hook or the title was shortened to fit.
    pub shortened: bool,
    /// Bluesky's rich-text facets: links (with their full URL) and hashtags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Vec<Facet>>,
}

/// An `app.bsky.richtext.facet`: a byte range of the text and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    pub index: ByteSlice,
    pub features: Vec<Feature>,
}

/// `app.bsky.richtext.facet#byteSlice`: `byteStart` inclusive, `byteEnd` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByteSlice {
    pub byte_start: usize,
    pub byte_end: usize,
}

/// What a facet marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "$type")]
pub enum Feature {
    #[serde(rename = "app.bsky.richtext.facet#link")]
    Link { uri: String },
    #[serde(rename = "app.bsky.richtext.facet#tag")]
    Tag { tag: String },
}

/// One platform's posts: the announcement, then the thread.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformPosts {
    #[serde(skip)]
    pub platform: Platform,
    pub name: &'static str,
    pub limit: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_links: Option<usize>,
    /// How `length` is counted.
    pub counted_in: &'static str,
    pub posts: Vec<Post>,
}

/// Every platform's posts for one issue.
#[derive(Debug, Clone, Serialize)]
pub struct SocialPosts {
    pub issue: u32,
    pub web_url: String,
    pub platforms: BTreeMap<&'static str, PlatformPosts>,
}

impl SocialPosts {
    /// `N/social/<platform>.txt` (posts separated by a line `---`) and `N/social.json`.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(self.issue.to_string());
        let mut files: Vec<(PathBuf, Vec<u8>)> = Platform::ALL
            .iter()
            .filter_map(|p| self.platforms.get(p.id()))
            .map(|pp| {
                let texts: Vec<&str> = pp.posts.iter().map(|p| p.text.as_str()).collect();
                let body = format!("{}\n", texts.join("\n---\n"));
                (dir.join("social").join(format!("{}.txt", pp.platform.id())), body.into_bytes())
            })
            .collect();
        let mut json = serde_json::to_vec_pretty(self).expect("posts serialize");
        json.push(b'\n');
        files.push((dir.join("social.json"), json));
        files
    }
}

const ANNOUNCEMENT: &str = "social/announcement.txt";
const RECOMMENDATION: &str = "social/recommendation.txt";

/// What templates render in place of the parts [`fit`] may shorten: characters
/// of Unicode's private use area, which no issue text holds.
const TITLE: &str = "\u{E000}title\u{E001}";
const HOOK: &str = "\u{E000}hook\u{E001}";
const TAKE: &str = "\u{E000}take\u{E001}";

/// Renders and fits every platform's posts for `edition`.
pub fn render(renderer: &Renderer, edition: &Edition, settings: &config::Social) -> Result<SocialPosts, Diagnostic> {
    let recommendations: Vec<_> =
        edition.sections.iter().flat_map(|s| s.recommendations.iter().map(move |r| (s, r))).collect();
    let total = recommendations.len() + 1;
    let hook = edition.intro.plain.clone();
    let mut platforms = BTreeMap::new();
    for platform in Platform::ALL {
        let max_tags = platform.max_hashtags().unwrap_or(usize::MAX);
        let hashtags: Vec<String> = settings.hashtags.iter().take(max_tags).map(|t| format!("#{t}")).collect();
        let common = context! {
            issue => Value::from(Serde(edition)),
            publication => Value::from(Serde(&edition.publication)),
            platform => context! { id => platform.id(), name => platform.name(), limit => platform.limit() },
            handle => settings.handles.get(platform.id()).cloned().unwrap_or_default(),
            hashtags => hashtags,
            total => total,
        };
        let mut posts = Vec::with_capacity(total);
        let text = renderer.render(
            ANNOUNCEMENT,
            context! {
                title => TITLE,
                hook => marker_for(&hook, HOOK),
                link => utm_link(&edition.web_url, platform, edition.number),
                position => 1,
                ..common.clone()
            },
        )?;
        let slots = [Slot { marker: HOOK, text: hook.clone() }, Slot { marker: TITLE, text: edition.title.clone() }];
        posts.push(fit_post(renderer, platform, PostKind::Announcement, &text, &slots)?);
        for (i, (section, rec)) in recommendations.iter().enumerate() {
            let take = rec.take.as_ref().map(|t| t.plain.clone()).unwrap_or_default();
            let text = renderer.render(
                RECOMMENDATION,
                context! {
                    rec => Value::from(Serde(rec)),
                    section => &section.name,
                    title => TITLE,
                    take => marker_for(&take, TAKE),
                    // Bluesky links by facet, with the URL as written; elsewhere the text is the link.
                    link => if platform == Platform::Bluesky { rec.url.clone() } else { linkable(&rec.url) },
                    position => i + 2,
                    ..common.clone()
                },
            )?;
            let slots = [Slot { marker: TAKE, text: take }, Slot { marker: TITLE, text: rec.title.clone() }];
            posts.push(fit_post(renderer, platform, PostKind::Recommendation, &text, &slots)?);
        }
        platforms.insert(
            platform.id(),
            PlatformPosts {
                platform,
                name: platform.name(),
                limit: platform.limit(),
                byte_limit: platform.byte_limit(),
                max_links: platform.max_links(),
                counted_in: platform.unit(),
                posts,
            },
        );
    }
    Ok(SocialPosts { issue: edition.number, web_url: edition.web_url.clone(), platforms })
}

/// The marker, or nothing when there is no text (so `{% if take %}` works).
fn marker_for(text: &str, marker: &'static str) -> &'static str {
    if text.trim().is_empty() { "" } else { marker }
}

/// The issue's page with `utm_source=<platform>&utm_medium=social&utm_campaign=issue-N`.
pub fn utm_link(web_url: &str, platform: Platform, number: u32) -> String {
    match url::Url::parse(web_url) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("utm_source", platform.id())
                .append_pair("utm_medium", "social")
                .append_pair("utm_campaign", &format!("issue-{number}"));
            url.to_string()
        }
        Err(_) => web_url.to_string(),
    }
}

/// What a post was fitted from: the platform, the rendered text and the slots' texts.
type FitKey = (Platform, String, Vec<String>);

/// Posts fitted before in this process, by what they were fitted from: the
/// preview renders an issue again after each edit, and an edit changes few of
/// its posts (fitting one is costly: every cut tried is counted in full).
/// `publish build` also keeps them between processes ([`kept`]).
static FITTED: std::sync::Mutex<Vec<(FitKey, Post)>> = std::sync::Mutex::new(Vec::new());

/// Whether a post was fitted in this process (so [`kept::save`] has news).
static FITTED_NEW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How many fitted posts [`FITTED`] keeps (the oldest go first).
const FITTED_KEPT: usize = 512;

/// Fits one rendered post into `platform`'s limit (or takes it as fitted before).
fn fit_post(
    renderer: &Renderer,
    platform: Platform,
    kind: PostKind,
    rendered: &str,
    slots: &[Slot],
) -> Result<Post, Diagnostic> {
    let key: FitKey = (platform, rendered.to_string(), slots.iter().map(|s| s.text.clone()).collect());
    let known =
        |fitted: &Vec<(FitKey, Post)>| fitted.iter().find(|(k, p)| *k == key && p.kind == kind).map(|(_, p)| p.clone());
    if let Some(post) = known(&FITTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
        return Ok(post);
    }
    let post =
        crate::clock::timings::stage("fit a social post", || fit_new_post(renderer, platform, kind, rendered, slots))?;
    let mut fitted = FITTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if fitted.len() >= FITTED_KEPT {
        fitted.remove(0);
    }
    fitted.push((key, post.clone()));
    FITTED_NEW.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(post)
}

fn fit_new_post(
    renderer: &Renderer,
    platform: Platform,
    kind: PostKind,
    rendered: &str,
    slots: &[Slot],
) -> Result<Post, Diagnostic> {
    let fitted = fit::fit(rendered, slots, |text| count::count(platform, &finish(platform, text).0).fits(platform));
    let Some((text, shortened)) = fitted else {
        let template = match kind {
            PostKind::Announcement => ANNOUNCEMENT,
            PostKind::Recommendation => RECOMMENDATION,
        };
        let empty: Vec<Slot> = slots.iter().map(|s| Slot { marker: s.marker, text: String::new() }).collect();
        let (bare, _) = fit::fit(rendered, &empty, |_| true).expect("accepting anything fits");
        let Count { length, .. } = count::count(platform, &finish(platform, &bare).0);
        return Err(Diagnostic::file(
            Severity::Error,
            &renderer.source_name(template),
            format!(
                "the {} {} is {length} long as {} counts it, over its limit of {}, even with the title and text left out",
                platform.name(),
                if kind == PostKind::Announcement { "announcement" } else { "recommendation post" },
                platform.name(),
                platform.limit()
            ),
        )
        .with_hint("shorten the template's fixed text, the [social] hashtags or the handle in publish.toml"));
    };
    let (text, facets) = finish(platform, &text);
    let Count { length, bytes, links } = count::count(platform, &text);
    Ok(Post { kind, text, length, bytes, links, shortened, facets: (platform == Platform::Bluesky).then_some(facets) })
}

/// The text as published: NFC-normalised; on Bluesky every URL shown short with
/// a link facet holding it whole, and every hashtag given a tag facet.
fn finish(platform: Platform, text: &str) -> (String, Vec<Facet>) {
    let text: String = text.nfc().collect();
    if platform != Platform::Bluesky {
        return (text, Vec::new());
    }
    let mut out = String::with_capacity(text.len());
    let mut facets = Vec::new();
    let mut at = 0;
    for url in entities::bluesky_links(&text) {
        out.push_str(&text[at..url.start]);
        let shown = short_url(&text[url.clone()]);
        facets.push(Facet {
            index: ByteSlice { byte_start: out.len(), byte_end: out.len() + shown.len() },
            features: vec![Feature::Link { uri: text[url.clone()].to_string() }],
        });
        out.push_str(&shown);
        at = url.end;
    }
    out.push_str(&text[at..]);
    for tag in entities::hashtags(&out) {
        let name = out[tag.clone()].trim_start_matches(['#', '＃']).to_string();
        if count::graphemes(&name) <= 64
            && !facets.iter().any(|f| f.index.byte_start < tag.end && tag.start < f.index.byte_end)
        {
            facets.push(Facet {
                index: ByteSlice { byte_start: tag.start, byte_end: tag.end },
                features: vec![Feature::Tag { tag: name }],
            });
        }
    }
    facets.sort_by_key(|f| f.index.byte_start);
    (out, facets)
}

/// A URL as Bluesky's app shows one: host and path without the scheme, the
/// path cut to 13 characters and "…" when longer than 15.
pub fn short_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path) = rest.find(['/', '?', '#']).map_or((rest, ""), |i| rest.split_at(i));
    let path = if path == "/" { "" } else { path };
    if path.chars().count() > 15 {
        format!("{host}{}{}", path.chars().take(13).collect::<String>(), fit::ELLIPSIS)
    } else {
        format!("{host}{path}")
    }
}

#[cfg(test)]
mod tests;

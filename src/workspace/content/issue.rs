//! One newsletter issue: `issues/<number>[-slug].toml`.

use std::path::Path;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostics, Severity, nearest};
use crate::text::url::check_web_url;
use crate::workspace::content::episode::{Episode, EpisodeFile};
use crate::workspace::content::has_line_break;
use crate::workspace::content::markdown_check::{first_footnote, report_bad_links};
use crate::workspace::content::sponsor::{SponsorChoice, Sponsors, date_of};
use crate::workspace::content::toml_file::{Seg, TomlFile};
use crate::workspace::media::Source;
use crate::workspace::media::facts::MediaFacts;

/// The title `publish new` writes, for the publisher to replace (`check` warns while it is there).
pub const TITLE_PLACEHOLDER: &str = "TODO: this issue's title";

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueFile {
    /// The issue's own title; the subject line is "{publication} #{number}: {title}".
    pub title: String,
    /// The issue's date, e.g. `2024-03-01`.
    pub date: toml::Value,
    /// When `publish cron` sends it: RFC 3339 with an offset, or a date-time in the
    /// publication's time zone, or `2024-03-01T09:00:00[Asia/Singapore]`.
    pub send_at: Option<toml::Value>,
    /// The line inbox previews show after the subject.
    pub preheader: Option<String>,
    /// The opening paragraphs, in Markdown.
    #[serde(default)]
    pub intro: String,
    /// A sponsor id from `sponsors.toml`, or "none"; absent means automatic rotation.
    pub sponsor: Option<String>,
    /// This issue's "Our Ask", in Markdown, instead of the standing one.
    pub ask: Option<String>,
    /// The issue's image and its credits.
    pub image: Option<Image>,
    /// Recommendations, grouped in sections, in order.
    #[serde(default)]
    pub sections: Vec<SectionFile>,
    /// The podcast episode that goes with the issue.
    pub episode: Option<EpisodeFile>,
}

/// A group of recommendations ("AI", "India").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Section {
    pub name: String,
    /// Where `name`'s value is written in the file, for the warnings about it
    /// (without parsing the file a second time for its places).
    pub name_span: std::ops::Range<usize>,
    pub recommendations: Vec<Recommendation>,
}

/// A section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFile {
    name: toml::Spanned<String>,
    #[serde(default)]
    recommendations: Vec<Recommendation>,
}

impl From<SectionFile> for Section {
    fn from(file: SectionFile) -> Section {
        let name_span = file.name.span();
        Section { name: file.name.into_inner(), name_span, recommendations: file.recommendations }
    }
}

/// One recommended link with the editor's take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    pub title: String,
    pub url: String,
    /// The writers, in byline order.
    #[serde(default)]
    pub authors: Vec<String>,
    /// The publication it appeared in ("Nikkei Asia").
    pub source: Option<String>,
    /// "Our Take", in Markdown.
    pub take: Option<String>,
    /// Follow-up reads shown after the main link ("followed by …").
    #[serde(default)]
    pub related: Vec<Related>,
}

/// A follow-up link of a recommendation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Related {
    pub title: String,
    pub url: String,
    pub source: Option<String>,
}

/// The issue's image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// A file under `media/` or an https URL.
    pub src: Option<String>,
    /// What the image shows, for screen readers and blocked images.
    pub alt: Option<String>,
    /// The credit line, in Markdown; written from the fields below when absent.
    pub credit: Option<String>,
    /// For generated images: the generator ("DALL·E 3 from OpenAI").
    pub generator: Option<String>,
    /// The prompt it was given.
    pub prompt: Option<String>,
    /// The generation id.
    pub generation_id: Option<String>,
    /// A longer description of the picture.
    pub description: Option<String>,
    /// Width and height in pixels, read from the file when it is a PNG or JPEG of the
    /// workspace (the email gives them to the `<img>`, so nothing jumps when it loads).
    /// Never written in the file; kept with the checked issue ([`Issue`]'s `image`).
    #[serde(skip)]
    pub size: Option<(u32, u32)>,
}

impl Image {
    /// The picture as a file of the workspace, when `src` names one (a leading `/` is
    /// the workspace's root); `None` without `src` or for a web address.
    pub fn file(&self) -> Option<Result<Source, String>> {
        let src = self.src.as_deref()?;
        let web = src.starts_with("http://") || src.starts_with("https://");
        (!web).then(|| Source::parse("src", src.trim_start().trim_start_matches('/')))
    }
}

/// A checked issue. It serializes (for the issues a build keeps between runs,
/// [`crate::workspace::content::kept`]) with everything checking found, the
/// image's size included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issue {
    pub number: u32,
    /// The file, relative to the workspace ("issues/009.toml").
    pub file: String,
    pub title: String,
    pub date: Date,
    pub send_at: Option<Timestamp>,
    pub preheader: Option<String>,
    pub intro: String,
    pub sponsor: SponsorChoice,
    pub ask: Option<String>,
    #[serde(with = "image_and_size")]
    pub image: Option<Image>,
    /// Sections with at least one recommendation (empty ones are dropped with a warning).
    pub sections: Vec<Section>,
    /// The podcast episode, its audio read and its files checked.
    pub episode: Option<Episode>,
}

/// What checking an issue file needs from the rest of the publication.
#[derive(Clone, Copy)]
pub struct IssueContext<'a> {
    pub sponsors: &'a Sponsors,
    pub tz: &'a jiff::tz::TimeZone,
    /// The workspace's folder, for the media files the issue names.
    pub root: &'a Path,
    pub facts: &'a MediaFacts,
}

impl Issue {
    /// Checks a parsed issue file, reading the media files it names under `root`;
    /// `None` when it has errors (all reported to `diags`).
    pub fn new(
        number: u32,
        raw: IssueFile,
        toml: &TomlFile,
        context: &IssueContext,
        diags: &mut Diagnostics,
    ) -> Option<Issue> {
        let IssueContext { sponsors, tz, root, facts } = *context;
        let before = diags.error_count();
        let raw_sections: Vec<Section> = raw.sections.into_iter().map(Section::from).collect();
        let error = |diags: &mut Diagnostics, path: &[Seg], msg: String, hint: String| {
            diags.push(toml.diag_at(Severity::Error, path, msg).with_hint(hint))
        };
        let warn = |diags: &mut Diagnostics, path: &[Seg], msg: String, hint: String| {
            diags.push(toml.diag_at(Severity::Warning, path, msg).with_hint(hint))
        };

        check_line(&raw.title, "title", &[Seg::Key("title")], toml, diags);
        if raw.title.trim() == TITLE_PLACEHOLDER {
            warn(
                diags,
                &[Seg::Key("title")],
                "the title is still the placeholder `publish new` wrote".into(),
                "write this issue's own title".into(),
            );
        }
        if let Some(p) = &raw.preheader {
            check_line(p, "preheader", &[Seg::Key("preheader")], toml, diags);
        }
        let date = match &raw.date {
            toml::Value::Datetime(d) => date_of(Some(d)),
            toml::Value::String(s) => s.parse::<Date>().ok(),
            _ => None,
        };
        if date.is_none() {
            error(
                diags,
                &[Seg::Key("date")],
                "the date must be a calendar date".into(),
                "write it as date = 2024-03-01".into(),
            );
        }
        let send_at = raw.send_at.as_ref().and_then(|v| match parse_send_at(v, tz) {
            Ok(t) => {
                if let Some((what, hint)) = local_time_change(v, tz) {
                    warn(diags, &[Seg::Key("send_at")], what, hint);
                }
                Some(t)
            }
            Err(why) => {
                error(
                    diags,
                    &[Seg::Key("send_at")],
                    format!("send_at is not a time: {why}"),
                    "write it as send_at = 2024-03-01T09:00:00+08:00".into(),
                );
                None
            }
        });
        let sponsor = match raw.sponsor.as_deref() {
            None => SponsorChoice::Auto,
            Some("none") => SponsorChoice::None,
            Some(id) => {
                if sponsors.get(id).is_none() {
                    let ids = sponsors.ids();
                    let hint = match nearest(id, ids.iter().copied()) {
                        Some(near) => {
                            format!("did you mean \"{near}\"? (or \"none\", or leave `sponsor` out to rotate)")
                        }
                        None if ids.is_empty() => {
                            "sponsors.toml has no sponsors: add one there, or write sponsor = \"none\"".into()
                        }
                        None => format!("the sponsors in sponsors.toml are: {} (or \"none\")", ids.join(", ")),
                    };
                    error(diags, &[Seg::Key("sponsor")], format!("unknown sponsor \"{id}\""), hint);
                }
                SponsorChoice::Named(id.to_string())
            }
        };
        check_markdown(&raw.intro, &[Seg::Key("intro")], toml, diags);
        if let Some(ask) = &raw.ask {
            check_markdown(ask, &[Seg::Key("ask")], toml, diags);
        }
        let mut image_size = None;
        if let Some(image) = &raw.image {
            let at = |k| [Seg::Key("image"), Seg::Key(k)];
            if image.alt.as_deref().is_none_or(|a| a.trim().is_empty()) {
                warn(
                    diags,
                    &[Seg::Key("image")],
                    "the image has no alt text".into(),
                    "add alt = \"what the image shows\" for readers who cannot see it".into(),
                );
            }
            let problem = match (image.file(), &image.src) {
                (Some(file), _) => file.err(),
                (None, Some(url)) => {
                    check_web_url(url).err().map(|why| format!("src: \"{url}\" is not a web address: {why}"))
                }
                (None, None) => None,
            };
            if let Some(why) = problem {
                error(diags, &at("src"), why, "write a file under media/ or an https:// URL".into());
            }
            if let Some(credit) = &image.credit {
                check_markdown(credit, &at("credit"), toml, diags);
            }
            if let Some(Ok(source)) = image.file()
                && let Some(path) = source.local_path(root)
            {
                match path.is_file().then(|| facts.image(&path)) {
                    None => error(
                        diags,
                        &at("src"),
                        format!("{} does not exist", source.as_str()),
                        "put the picture there, or write its https:// URL".into(),
                    ),
                    Some(Ok(info)) => image_size = Some((info.width, info.height)),
                    Some(Err(_)) => warn(
                        diags,
                        &at("src"),
                        format!("cannot read the size of {}: it is not a PNG or JPEG picture", source.as_str()),
                        "convert it to PNG or JPEG, so the email can reserve its place before it loads".into(),
                    ),
                }
            }
        }
        if raw_sections.is_empty() {
            warn(
                diags,
                &[],
                "this issue has no sections".into(),
                "add [[sections]] with name = \"...\" and [[sections.recommendations]]".into(),
            );
        }
        let mut seen_urls: Vec<(&str, usize, usize)> = Vec::new();
        for (si, section) in raw_sections.iter().enumerate() {
            let sec = |k| [Seg::Key("sections"), Seg::Index(si), Seg::Key(k)];
            if section.name.trim().is_empty() {
                error(diags, &sec("name"), "a section needs a name".into(), "write name = \"AI\"".into());
            }
            // Both warnings point at the name by its own span: no second parse for them.
            let warn_at_name = |diags: &mut Diagnostics, msg: String, hint: &str| {
                diags.push(toml.source.diag(Severity::Warning, Some(section.name_span.clone()), msg).with_hint(hint));
            };
            if raw_sections[..si].iter().any(|s| s.name == section.name) {
                warn_at_name(
                    diags,
                    format!("section \"{}\" appears twice", section.name),
                    "merge the two, or rename one",
                );
            }
            if section.recommendations.is_empty() {
                warn_at_name(
                    diags,
                    format!("section \"{}\" has no recommendations and is left out", section.name),
                    "add [[sections.recommendations]] under it, or remove it",
                );
            }
            for (ri, rec) in section.recommendations.iter().enumerate() {
                let at = |k| {
                    [Seg::Key("sections"), Seg::Index(si), Seg::Key("recommendations"), Seg::Index(ri), Seg::Key(k)]
                };
                if rec.title.trim().is_empty() {
                    error(
                        diags,
                        &at("title"),
                        "a recommendation needs a title".into(),
                        "write the article's headline".into(),
                    );
                }
                for (ai, author) in rec.authors.iter().enumerate() {
                    if author.trim().is_empty() {
                        let path = [
                            Seg::Key("sections"),
                            Seg::Index(si),
                            Seg::Key("recommendations"),
                            Seg::Index(ri),
                            Seg::Key("authors"),
                            Seg::Index(ai),
                        ];
                        error(diags, &path, "an author's name is empty".into(), "write the name, or remove it".into());
                    }
                }
                if rec.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    error(
                        diags,
                        &at("source"),
                        "the source is empty".into(),
                        "name the publication (source = \"Nikkei Asia\"), or remove the line".into(),
                    );
                }
                if let Err(why) = check_web_url(&rec.url) {
                    error(
                        diags,
                        &at("url"),
                        format!("not a web address: {why}"),
                        "write the article's full https:// URL".into(),
                    );
                } else if let Some(&(_, psi, pri)) = seen_urls.iter().find(|(u, _, _)| *u == rec.url) {
                    warn(
                        diags,
                        &at("url"),
                        format!(
                            "this link is also recommendation {} of section \"{}\"",
                            pri + 1,
                            raw_sections[psi].name
                        ),
                        "remove one of the two".into(),
                    );
                } else {
                    seen_urls.push((&rec.url, si, ri));
                }
                match &rec.take {
                    Some(take) if !take.trim().is_empty() => check_markdown(take, &at("take"), toml, diags),
                    _ => warn(
                        diags,
                        &at("title"),
                        format!("\"{}\" has no take", rec.title),
                        "add take = \"\"\"...\"\"\" with your commentary".into(),
                    ),
                }
                for (xi, rel) in rec.related.iter().enumerate() {
                    let path = |k| {
                        [
                            Seg::Key("sections"),
                            Seg::Index(si),
                            Seg::Key("recommendations"),
                            Seg::Index(ri),
                            Seg::Key("related"),
                            Seg::Index(xi),
                            Seg::Key(k),
                        ]
                    };
                    if let Err(why) = check_web_url(&rel.url) {
                        let hint = "write the full https:// URL".into();
                        error(diags, &path("url"), format!("not a web address: {why}"), hint);
                    }
                    if rel.title.trim().is_empty() {
                        error(
                            diags,
                            &path("title"),
                            "a related link needs a title".into(),
                            "write its headline".into(),
                        );
                    }
                    if rel.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
                        let hint = "name the publication, or remove the line".into();
                        error(diags, &path("source"), "the source is empty".into(), hint);
                    }
                }
            }
        }
        let episode = raw.episode.and_then(|e| Episode::new(e, &raw_sections, toml, root, facts, diags));
        if diags.error_count() > before {
            return None;
        }
        let sections = raw_sections.into_iter().filter(|s| !s.recommendations.is_empty()).collect();
        Some(Issue {
            number,
            file: toml.source.name.clone(),
            title: raw.title,
            date: date?,
            send_at,
            preheader: raw.preheader,
            intro: raw.intro,
            sponsor,
            ask: raw.ask,
            image: raw.image.map(|image| Image { size: image_size, ..image }),
            sections,
            episode,
        })
    }

    /// Every recommendation, in section order.
    pub fn recommendations(&self) -> impl Iterator<Item = &Recommendation> {
        self.sections.iter().flat_map(|s| &s.recommendations)
    }

    /// The workspace files the issue names (its picture, its episode's files),
    /// relative to the workspace, whether they exist or not.
    pub fn local_files(&self) -> Vec<String> {
        let picture = self.image.iter().filter_map(|i| match i.file()? {
            Ok(Source::Local(rel)) => Some(rel),
            _ => None,
        });
        let episode = self.episode.iter().flat_map(|e| e.local_files().map(str::to_string));
        picture.chain(episode).collect()
    }
}

/// The image with its size, which the file never gives (`Image::size` is not
/// read from TOML) but a kept issue must keep.
mod image_and_size {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Image;

    pub fn serialize<S: Serializer>(image: &Option<Image>, to: S) -> Result<S::Ok, S::Error> {
        image.as_ref().map(|i| (i, i.size)).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Image>, D::Error> {
        let read: Option<(Image, Option<(u32, u32)>)> = Deserialize::deserialize(from)?;
        Ok(read.map(|(image, size)| Image { size, ..image }))
    }
}

fn check_line(text: &str, what: &str, path: &[Seg], toml: &TomlFile, diags: &mut Diagnostics) {
    if has_line_break(text) {
        diags.push(
            toml.diag_at(
                Severity::Error,
                path,
                format!("the {what} has a line break, which would break the email's headers"),
            )
            .with_hint("keep it on one line"),
        );
    } else if text.trim().is_empty() {
        diags.push(
            toml.diag_at(Severity::Error, path, format!("the {what} is empty")).with_hint(format!("write a {what}")),
        );
    }
}

fn check_markdown(text: &str, path: &[Seg], toml: &TomlFile, diags: &mut Diagnostics) {
    report_bad_links(text, toml, path, "links must be full https:// URLs or mailto: addresses", diags);
    if let Some(footnote) = first_footnote(text) {
        diags.push(
            toml.diag_at(
                Severity::Warning,
                path,
                format!("footnote {footnote} is shown as typed: emails have no footnotes"),
            )
            .with_hint("write the note into the text, in brackets or as a link"),
        );
    }
}

/// Reads `send_at`: a TOML offset date-time, or a string in RFC 3339 or RFC 9557
/// (`...[Asia/Singapore]`); a date-time without offset is in the publication's zone.
/// A local time that a clock change skips is read as the time as long after the
/// change as it was meant after its start (02:30 in a gap from 02:00 to 03:00 is
/// 03:30); one that happens twice is read as its first occurrence. Either way it
/// is one instant, so the issue goes once ([`local_time_change`] warns).
pub fn parse_send_at(value: &toml::Value, tz: &jiff::tz::TimeZone) -> Result<Timestamp, String> {
    let text = send_at_text(value)?;
    if let Some((civil, zone)) = local_reading(&text, tz)? {
        return civil.to_zoned(zone).map(|z| z.timestamp()).map_err(|e| e.to_string());
    }
    if let Some((clock, name)) = text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        let zone = zone_named(name)?;
        return match text.parse::<jiff::Zoned>() {
            Ok(z) => Ok(z.timestamp()),
            Err(_) => match clock.parse::<Timestamp>() {
                Ok(t) => Err(format!(
                    "the offset of {clock} is not {name}'s at that time ({}): keep the offset or the [zone], not both",
                    zone.to_offset(t)
                )),
                Err(e) => Err(e.to_string()),
            },
        };
    }
    text.parse::<Timestamp>().map_err(|e| e.to_string())
}

fn send_at_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::Datetime(d) => Ok(d.to_string()),
        toml::Value::String(s) => Ok(s.trim().to_string()),
        other => Err(format!("expected a date-time, found {} {}", article(other.type_str()), other.type_str())),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// A `send_at` with no offset (`2024-03-01T09:00:00`, in `tz`, or
/// `2024-03-01T09:00:00[Asia/Singapore]`): its wall-clock time and zone.
/// `None` when it carries an offset.
fn local_reading(
    text: &str,
    tz: &jiff::tz::TimeZone,
) -> Result<Option<(jiff::civil::DateTime, jiff::tz::TimeZone)>, String> {
    let (clock, zone) = match text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((clock, name)) => (clock, Some(name)),
        None => (text, None),
    };
    if clock.parse::<Timestamp>().is_ok() {
        return Ok(None);
    }
    let Ok(civil) = clock.parse::<jiff::civil::DateTime>() else {
        // An offset with a zone, or not a time at all: the parsers say what is wrong.
        return match zone {
            Some(name) => zone_named(name).map(|_| None),
            None => clock.parse::<jiff::civil::DateTime>().map(|_| None).map_err(|e| e.to_string()),
        };
    };
    if !clock.contains(['T', 't', ' ']) {
        return Err("it has no time of day".into());
    }
    let zone = match zone {
        Some(name) => zone_named(name)?,
        None => tz.clone(),
    };
    Ok(Some((civil, zone)))
}

/// The time zone `name` (IANA), or why not, with the nearest known name.
pub fn zone_named(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        let names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
        match nearest(name, names.iter().map(String::as_str)) {
            Some(near) => format!("unknown time zone \"{name}\" (did you mean \"{near}\"?)"),
            None => format!("unknown time zone \"{name}\": use an IANA name such as \"Europe/London\""),
        }
    })
}

/// When `send_at` is a local time that a clock change skips or repeats: what
/// it is read as, and how to say otherwise.
pub fn local_time_change(value: &toml::Value, tz: &jiff::tz::TimeZone) -> Option<(String, String)> {
    use jiff::tz::AmbiguousOffset;
    let text = send_at_text(value).ok()?;
    let (civil, zone) = local_reading(&text, tz).ok()??;
    let ambiguous = zone.to_ambiguous_zoned(civil);
    let chosen = ambiguous.clone().compatible().ok()?;
    let name = zone.iana_name().unwrap_or("the publication's time zone");
    let shown = |z: &jiff::Zoned| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => None,
        AmbiguousOffset::Gap { before, after } => Some((
            format!(
                "{civil} does not exist in {name}: the clocks jump over it (offset {before} to {after}); \
                 it is read as {}, and sent once",
                shown(&chosen)
            ),
            "write the time with its offset to choose another, e.g. send_at = ".to_string() + &shown(&chosen),
        )),
        AmbiguousOffset::Fold { before, after } => {
            let second = ambiguous.later().ok()?;
            Some((
                format!(
                    "{civil} happens twice in {name} (offset {before}, then {after}): \
                     it is read as the first, {}, and sent once",
                    shown(&chosen)
                ),
                format!("for the second, write send_at = {}", shown(&second)),
            ))
        }
    }
}

/// The `send_at` a file declares even when the rest of it has errors: `None`
/// when it has none (a commented-out line is none), `Some(Err)` when it is
/// there but cannot be read as a time.
pub fn declared_send_at(text: &str, tz: &jiff::tz::TimeZone) -> Option<Result<Timestamp, String>> {
    let value = match toml::from_str::<toml::Table>(text) {
        Ok(mut table) => table.remove("send_at")?,
        Err(_) => {
            // The top-level keys come before the first [table].
            let line = text
                .lines()
                .map(str::trim_start)
                .take_while(|l| !l.starts_with('['))
                .find(|l| l.strip_prefix("send_at").is_some_and(|rest| rest.trim_start().starts_with('=')))?;
            match toml::from_str::<toml::Table>(line) {
                Ok(mut table) => table.remove("send_at")?,
                Err(e) => return Some(Err(e.message().to_string())),
            }
        }
    };
    Some(parse_send_at(&value, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_a_workspace_file_or_a_web_address() {
        let file = |src: &str| toml::from_str::<Image>(&format!("src = {src:?}")).unwrap().file();
        assert_eq!(file("./media/封面 图.png"), Some(Ok(Source::Local("media/封面 图.png".into()))));
        assert_eq!(file("/media/9.png"), Some(Ok(Source::Local("media/9.png".into()))), "as it always was");
        assert!(file("media/../../9.png").unwrap().unwrap_err().contains("inside the workspace"));
        assert_eq!(file("http://example.com/9.png"), None);
        assert_eq!(toml::from_str::<Image>("alt = \"x\"").unwrap().file(), None);
    }

    #[test]
    fn send_at_forms() {
        let sg = jiff::tz::TimeZone::get("Asia/Singapore").unwrap();
        let want: Timestamp = "2024-03-01T01:00:00Z".parse().unwrap();
        let dt: toml::Table = toml::from_str("a = 2024-03-01T09:00:00+08:00").unwrap();
        assert_eq!(parse_send_at(&dt["a"], &sg), Ok(want));
        assert_eq!(parse_send_at(&toml::Value::String("2024-03-01T09:00:00[Asia/Singapore]".into()), &sg), Ok(want));
        assert_eq!(parse_send_at(&toml::Value::String("2024-03-01T09:00:00".into()), &sg), Ok(want));
        assert!(parse_send_at(&toml::Value::String("2024-03-01".into()), &sg).is_err());
        assert!(parse_send_at(&toml::Value::String("tomorrow".into()), &sg).is_err());
        let local: toml::Table = toml::from_str("a = 2024-03-01T09:00:00").unwrap();
        assert_eq!(parse_send_at(&local["a"], &sg), Ok(want), "a TOML local date-time is in the publication's zone");
        let date: toml::Table = toml::from_str("a = 2024-03-01").unwrap();
        assert_eq!(parse_send_at(&date["a"], &sg), Err("it has no time of day".into()));
        let n: toml::Table = toml::from_str("a = 1709254800").unwrap();
        assert_eq!(parse_send_at(&n["a"], &sg), Err("expected a date-time, found an integer".into()));
    }

    fn text(s: &str) -> toml::Value {
        toml::Value::String(s.into())
    }

    #[test]
    fn a_misspelt_time_zone_names_the_nearest_one() {
        let sg = jiff::tz::TimeZone::get("Asia/Singapore").unwrap();
        let why = parse_send_at(&text("2024-03-01T09:00:00[Asia/Singapur]"), &sg).unwrap_err();
        assert!(why.contains("did you mean \"Asia/Singapore\""), "{why}");
        assert!(zone_named("America/New_Yrok").unwrap_err().contains("did you mean \"America/New_York\""));
        assert!(zone_named("Mars/Olympus").unwrap_err().contains("IANA name"));
        let why = parse_send_at(&text("2024-03-01T09:00:00+05:00[Asia/Singapore]"), &sg).unwrap_err();
        assert!(why.contains("is not Asia/Singapore's at that time (+08)"), "{why}");
        let both = parse_send_at(&text("2024-03-01T09:00:00+08:00[Asia/Singapore]"), &sg);
        assert_eq!(both, Ok("2024-03-01T01:00:00Z".parse().unwrap()));
    }

    #[test]
    fn a_local_send_at_in_a_clock_change_is_one_instant_and_warned_of() {
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let utc = jiff::tz::TimeZone::UTC;
        // Spring forward: 02:30 does not exist; read as 03:30 EDT.
        let gap = text("2024-03-10T02:30:00");
        assert_eq!(parse_send_at(&gap, &ny), Ok("2024-03-10T07:30:00Z".parse().unwrap()));
        let (what, hint) = local_time_change(&gap, &ny).unwrap();
        assert!(what.contains("does not exist in America/New_York") && what.contains("03:30:00-04:00"), "{what}");
        assert!(hint.contains("send_at = 2024-03-10T03:30:00-04:00"), "{hint}");
        let zoned_gap = text("2024-03-10T02:30:00[America/New_York]");
        assert_eq!(parse_send_at(&zoned_gap, &utc), Ok("2024-03-10T07:30:00Z".parse().unwrap()));
        assert!(local_time_change(&zoned_gap, &utc).is_some());
        // Fall back: 01:30 happens twice; read as the first (EDT).
        let fold = text("2024-11-03T01:30:00");
        assert_eq!(parse_send_at(&fold, &ny), Ok("2024-11-03T05:30:00Z".parse().unwrap()));
        let (what, hint) = local_time_change(&fold, &ny).unwrap();
        assert!(what.contains("happens twice") && what.contains("01:30:00-04:00"), "{what}");
        assert!(hint.contains("send_at = 2024-11-03T01:30:00-05:00"), "{hint}");
        // An offset says which: no warning.
        assert!(local_time_change(&text("2024-11-03T01:30:00-05:00"), &ny).is_none());
        assert!(local_time_change(&text("2024-07-01T09:00:00"), &ny).is_none());
    }

    #[test]
    fn a_commented_out_send_at_is_not_declared_in_a_file_with_errors() {
        let sg = jiff::tz::TimeZone::get("Asia/Singapore").unwrap();
        let want: Timestamp = "2024-03-01T01:00:00Z".parse().unwrap();
        let broken = "title = \"x\"\n# send_at = 2024-03-01T09:00:00+08:00\noops =\n";
        assert_eq!(declared_send_at(broken, &sg), None);
        let broken = "title = \"x\"\n  send_at = 2024-03-01T09:00:00+08:00\noops =\n[[sections]]\n";
        assert_eq!(declared_send_at(broken, &sg), Some(Ok(want)));
        let nested = "oops =\n[episode]\nsend_at = 2024-03-01T09:00:00+08:00\n";
        assert_eq!(declared_send_at(nested, &sg), None, "a key of a table is not the issue's");
        let parses = "title = 3\nsend_at = \"soon\"\n";
        assert!(matches!(declared_send_at(parses, &sg), Some(Err(_))));
        assert_eq!(declared_send_at("title = 3\n", &sg), None);
    }
}

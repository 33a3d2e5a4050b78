//! `[episode]` in an issue file: the podcast episode that goes with the issue.
//!
//! A local audio file is read here (size, exact duration, MIME type) so the
//! publisher never types them; chapters and transcripts are checked line by line.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostics, Severity, SourceFile, nearest};
use crate::workspace::config::podcast::https_url;
use crate::workspace::config::podcast::{Person, check_persons};
use crate::workspace::content::has_line_break;
use crate::workspace::content::issue::Section;
use crate::workspace::content::markdown_check::report_bad_links;
use crate::workspace::content::toml_file::{Seg, TomlFile};
use crate::workspace::media::chapters::{self, Chapter, Problem};
use crate::workspace::media::facts::MediaFacts;
use crate::workspace::media::transcript::{self, Cue, Kind};
use crate::workspace::media::{self, Source};

/// `[episode]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeFile {
    /// The audio: a file in the workspace ("media/009.mp3") or an https URL.
    pub audio: String,
    /// For an audio URL only: the file's size in bytes (read from the file when it is local).
    pub length: Option<u64>,
    /// For an audio URL only: its duration, "1:02:03", "62:03" or a number of seconds.
    pub duration: Option<toml::Value>,
    /// For an audio URL only: its MIME type, when the URL's extension does not tell it.
    #[serde(rename = "type")]
    pub mime: Option<String>,
    /// The episode's title; default the issue's title.
    pub title: Option<String>,
    /// A few sentences about the episode, in Markdown, heading the show notes; default the issue's intro.
    pub summary: Option<String>,
    /// The season number.
    pub season: Option<u32>,
    /// The episode number; default the issue's number.
    pub number: Option<u32>,
    /// "full" (the default), "trailer" or "bonus".
    pub episode_type: Option<String>,
    /// Whether this episode has explicit content; default the podcast's `explicit`.
    pub explicit: Option<bool>,
    /// The episode's own artwork, like the podcast's: a square JPEG or PNG of 1400 to 3000 px.
    pub image: Option<String>,
    /// The chapters: a Podcasting 2.0 JSON chapters file (or its https URL), or written
    /// here as `[[episode.chapters]]` (`start`, and `title` or `recommendation = "AI/1"`).
    pub chapters: Option<toml::Value>,
    /// A transcript or captions file, SubRip (.srt) or WebVTT (.vtt) (or its https URL).
    pub transcript: Option<String>,
    /// The people of this episode; when given, they replace the podcast's `persons`.
    #[serde(default)]
    pub persons: Vec<Person>,
    /// The item's GUID, only to keep one an earlier feed gave this episode; default derived
    /// from the podcast's guid and the issue number, so it never changes.
    pub guid: Option<String>,
    /// Moments to share (`podcast:soundbite`): `start`, `duration` (seconds), `title`.
    #[serde(default)]
    pub soundbites: Vec<SoundbiteFile>,
    /// Other files of this episode (`podcast:alternateEnclosure`): an Opus or low-bitrate copy.
    #[serde(default)]
    pub alternate: Vec<AlternateFile>,
    /// Where people comment on the episode (`podcast:socialInteract`): the post's URL, recorded after posting.
    #[serde(default)]
    pub social: Vec<SocialFile>,
    /// Where the episode is about or was made (`podcast:location`).
    pub location: Option<LocationFile>,
}

/// `[[episode.chapters]]`: one chapter written in the issue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapterFile {
    /// When it starts: "12:34", "1:02:03" or seconds.
    pub start: toml::Value,
    /// Its title; default the recommendation's.
    pub title: Option<String>,
    /// "Section/N": the Nth recommendation of that section gives the title and the URL.
    pub recommendation: Option<String>,
    /// A page about it (https); default the recommendation's URL.
    pub url: Option<String>,
}

/// `[[episode.soundbites]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoundbiteFile {
    pub start: toml::Value,
    pub duration: toml::Value,
    pub title: Option<String>,
}

/// `[[episode.alternate]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlternateFile {
    /// A file in the workspace: its type, length and bitrate are read from it.
    pub audio: String,
    /// What apps show for it: "Low bandwidth".
    pub title: Option<String>,
}

/// `[[episode.social]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialFile {
    /// The post's URL (https).
    pub uri: String,
    /// "activitypub", "atproto", "twitter" or "lightning"; default from the URL's host.
    pub protocol: Option<String>,
    /// The account that posted: "@analyseasia@mastodon.social".
    pub account_id: Option<String>,
}

/// `[episode.location]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    /// A name people read: "Singapore" (up to 128 characters).
    pub name: String,
    /// "geo:1.29,103.85" (RFC 5870).
    pub geo: Option<String>,
    /// An OpenStreetMap object: "R536780".
    pub osm: Option<String>,
}

/// Where the chapters come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Chapters {
    /// A chapters file (it wins over chapters written in the issue).
    File(Source),
    /// Written in the issue; published as `N/chapters.json`.
    Written,
}

/// A checked soundbite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Soundbite {
    pub start: f64,
    pub duration: f64,
    pub title: Option<String>,
}

/// A checked alternate file of the episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alternate {
    pub source: Source,
    pub bytes: u64,
    pub mime: String,
    /// Bits per second: the file's size over its duration.
    pub bitrate: u64,
    pub title: Option<String>,
}

/// A checked `podcast:socialInteract`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Social {
    pub uri: String,
    pub protocol: String,
    pub account_id: Option<String>,
}

/// The protocols of `podcast:socialInteract`.
pub const SOCIAL_PROTOCOLS: &[&str] = &["activitypub", "atproto", "twitter", "lightning", "nostr", "matrix", "hive"];

/// A checked episode: its audio was read, its files are good.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Episode {
    pub audio: Source,
    /// The audio's size in bytes.
    pub bytes: u64,
    /// The audio's duration in seconds.
    pub seconds: f64,
    /// The enclosure's MIME type.
    pub mime: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub season: Option<u32>,
    pub number: Option<u32>,
    /// "full", "trailer" or "bonus".
    pub episode_type: String,
    pub explicit: Option<bool>,
    pub image: Option<Source>,
    pub chapters: Option<Chapters>,
    /// The chapters as the web page lists them (none for a chapters URL).
    pub chapter_list: Vec<Chapter>,
    pub transcript: Option<(Source, Kind)>,
    /// The transcript's cues, for the web page (none for a transcript URL).
    pub cues: Vec<Cue>,
    pub persons: Vec<Person>,
    pub guid: Option<String>,
    pub soundbites: Vec<Soundbite>,
    pub alternates: Vec<Alternate>,
    pub social: Vec<Social>,
    pub location: Option<LocationFile>,
}

/// The MIME types of enclosures Apple Podcasts accepts (PDF aside).
pub const ENCLOSURE_TYPES: &[&str] = &["audio/mpeg", "audio/x-m4a", "video/mp4", "video/x-m4v", "video/quicktime"];

/// Apple's episode types.
pub const EPISODE_TYPES: &[&str] = &["full", "trailer", "bonus"];

/// The enclosure type a URL's extension implies.
fn mime_of_extension(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "mp3" => "audio/mpeg",
        "m4a" => "audio/x-m4a",
        "mp4" => "video/mp4",
        "m4v" => "video/x-m4v",
        "mov" => "video/quicktime",
        _ => return None,
    })
}

impl Episode {
    /// Checks `[episode]`, reading its local files under `root`; `None` when it has errors.
    pub fn new(
        raw: EpisodeFile,
        sections: &[Section],
        toml: &TomlFile,
        root: &Path,
        facts: &MediaFacts,
        diags: &mut Diagnostics,
    ) -> Option<Episode> {
        let before = diags.error_count();
        let error = |diags: &mut Diagnostics, key: &str, msg: String, hint: &str| {
            let at = [Seg::Key("episode"), Seg::Key(key)];
            diags.push(toml.diag_at(Severity::Error, &at, msg).with_hint(hint.to_string()));
        };
        let warn = |diags: &mut Diagnostics, key: &str, msg: String, hint: &str| {
            let at = [Seg::Key("episode"), Seg::Key(key)];
            diags.push(toml.diag_at(Severity::Warning, &at, msg).with_hint(hint.to_string()));
        };

        let audio = Source::parse("audio", &raw.audio)
            .map_err(|why| error(diags, "audio", why, "write a file under media/ or an https:// URL"))
            .ok();
        let mut measured: Option<(u64, f64, String)> = None;
        match &audio {
            Some(Source::Local(rel)) => {
                for (key, given) in [
                    ("length", raw.length.is_some()),
                    ("duration", raw.duration.is_some()),
                    ("type", raw.mime.is_some()),
                ] {
                    if given {
                        warn(
                            diags,
                            key,
                            format!("`{key}` is ignored: it is read from {rel}"),
                            "remove it; it is only for audio given as a URL",
                        );
                    }
                }
                let path = root.join(rel);
                if !path.is_file() {
                    error(diags, "audio", format!("{rel} does not exist"), "put the episode's MP3 or M4A file there");
                } else {
                    match crate::clock::timings::stage("  of which: probe audio", || facts.audio(&path)) {
                        Ok(info) => {
                            if !ENCLOSURE_TYPES.contains(&info.mime) {
                                warn(
                                    diags,
                                    "audio",
                                    format!("{rel} is {}, which Apple Podcasts does not accept", info.mime),
                                    "export it as MP3 or M4A",
                                );
                            }
                            measured = Some((info.bytes, info.seconds, info.mime.to_string()));
                        }
                        Err(why) => error(
                            diags,
                            "audio",
                            why.replace(&path.display().to_string(), rel),
                            "export the episode as MP3 or M4A",
                        ),
                    }
                }
            }
            Some(remote @ Source::Remote(_)) => {
                let length = match raw.length {
                    Some(0) => {
                        error(diags, "length", "the length is 0 bytes".into(), "write the file's size in bytes");
                        None
                    }
                    Some(n) => Some(n),
                    None => {
                        error(
                            diags,
                            "audio",
                            "the audio is a URL, so its size must be given".into(),
                            "add length = <size in bytes> (or put the file under media/ to have it read)",
                        );
                        None
                    }
                };
                let seconds = match raw.duration.as_ref().map(parse_duration) {
                    Some(Ok(s)) => Some(s),
                    Some(Err(why)) => {
                        error(diags, "duration", why, "write duration = \"1:02:03\" or a number of seconds");
                        None
                    }
                    None => {
                        error(
                            diags,
                            "audio",
                            "the audio is a URL, so its duration must be given".into(),
                            "add duration = \"1:02:03\" (or put the file under media/ to have it read)",
                        );
                        None
                    }
                };
                let mime = match (&raw.mime, remote.extension().as_deref().and_then(mime_of_extension)) {
                    (Some(m), _) if ENCLOSURE_TYPES.contains(&m.as_str()) => Some(m.clone()),
                    (Some(m), _) => {
                        let hint = match nearest(m, ENCLOSURE_TYPES.iter().copied()) {
                            Some(near) => format!("did you mean \"{near}\"?"),
                            None => format!("Apple Podcasts accepts: {}", ENCLOSURE_TYPES.join(", ")),
                        };
                        error(diags, "type", format!("\"{m}\" is not an enclosure type podcast apps accept"), &hint);
                        None
                    }
                    (None, Some(m)) => Some(m.to_string()),
                    (None, None) => {
                        error(
                            diags,
                            "audio",
                            "the URL does not end in .mp3 or .m4a, so its type is unknown".into(),
                            "add type = \"audio/mpeg\" (MP3) or type = \"audio/x-m4a\" (M4A)",
                        );
                        None
                    }
                };
                if let (Some(l), Some(s), Some(m)) = (length, seconds, mime) {
                    measured = Some((l, s, m));
                }
            }
            None => {}
        }
        let seconds = measured.as_ref().map(|m| m.1);

        if let Some(title) = &raw.title
            && (title.trim().is_empty() || has_line_break(title))
        {
            error(
                diags,
                "title",
                "the episode title must be one line of text".into(),
                "or leave it out to use the issue's title",
            );
        }
        if let Some(summary) = &raw.summary {
            let at = [Seg::Key("episode"), Seg::Key("summary")];
            report_bad_links(summary, toml, &at, "links must be full https:// URLs or mailto: addresses", diags);
        }
        for (key, value) in [("season", raw.season), ("number", raw.number)] {
            if value == Some(0) {
                error(diags, key, format!("the {key} must be 1 or more"), "Apple Podcasts numbers from 1");
            }
        }
        let episode_type = raw.episode_type.clone().unwrap_or_else(|| "full".into());
        if !EPISODE_TYPES.contains(&episode_type.as_str()) {
            let hint = match nearest(&episode_type, EPISODE_TYPES.iter().copied()) {
                Some(near) => format!("did you mean \"{near}\"?"),
                None => "write \"full\", \"trailer\" or \"bonus\"".into(),
            };
            error(diags, "episode_type", format!("unknown episode type \"{episode_type}\""), &hint);
        }
        let image = raw.image.as_deref().and_then(|text| {
            media::artwork("image", text, root)
                .map_err(|why| error(diags, "image", why, "use a square JPEG or PNG of 1400 to 3000 px, in RGB"))
                .ok()
        });
        let (chapters, chapter_list) = match &raw.chapters {
            None => (None, Vec::new()),
            Some(toml::Value::String(text)) => match check_chapters(text, seconds, toml, root, diags) {
                Some((source, list)) => (Some(Chapters::File(source)), list),
                None => (None, Vec::new()),
            },
            Some(toml::Value::Array(items)) => {
                let list = written_chapters(items, sections, seconds, toml, diags);
                (Some(Chapters::Written), list)
            }
            Some(_) => {
                error(
                    diags,
                    "chapters",
                    "chapters is a file name or a list of [[episode.chapters]]".into(),
                    "write chapters = \"media/9-chapters.json\", or [[episode.chapters]] with start and title",
                );
                (None, Vec::new())
            }
        };
        let (transcript, cues) =
            match raw.transcript.as_deref().and_then(|text| check_transcript(text, seconds, toml, root, diags)) {
                Some((source, kind, cues)) => (Some((source, kind)), cues),
                None => (None, Vec::new()),
            };
        let soundbites = check_soundbites(&raw.soundbites, seconds, toml, diags);
        let alternates = check_alternates(&raw.alternate, toml, root, facts, diags);
        let social = check_social(&raw.social, toml, diags);
        if let Some(location) = &raw.location {
            check_location(location, toml, diags);
        }
        check_persons(&raw.persons, &[Seg::Key("episode")], toml, diags);
        if let Some(guid) = &raw.guid
            && (guid.trim().is_empty() || has_line_break(guid))
        {
            error(diags, "guid", "the guid must be one line of text".into(), "leave it out to have one made");
        }

        if diags.error_count() > before {
            return None;
        }
        let (bytes, seconds, mime) = measured?;
        Some(Episode {
            audio: audio?,
            bytes,
            seconds,
            mime,
            title: raw.title,
            summary: raw.summary,
            season: raw.season,
            number: raw.number,
            episode_type,
            explicit: raw.explicit,
            image,
            chapters,
            chapter_list,
            transcript,
            cues,
            persons: raw.persons,
            guid: raw.guid.map(|g| g.trim().to_string()),
            soundbites,
            alternates,
            social,
            location: raw.location,
        })
    }

    /// Every local file the episode needs published beside the feed.
    pub fn local_files(&self) -> impl Iterator<Item = &str> {
        let chapters = match &self.chapters {
            Some(Chapters::File(source)) => Some(source),
            _ => None,
        };
        [Some(&self.audio), self.image.as_ref(), chapters, self.transcript.as_ref().map(|t| &t.0)]
            .into_iter()
            .flatten()
            .chain(self.alternates.iter().map(|a| &a.source))
            .filter_map(|s| match s {
                Source::Local(rel) => Some(rel.as_str()),
                Source::Remote(_) => None,
            })
    }
}

fn check_chapters(
    text: &str,
    seconds: Option<f64>,
    toml: &TomlFile,
    root: &Path,
    diags: &mut Diagnostics,
) -> Option<(Source, Vec<Chapter>)> {
    let at = [Seg::Key("episode"), Seg::Key("chapters")];
    let source = match Source::parse("chapters", text) {
        Ok(s) => s,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("write a .json file under media/"));
            return None;
        }
    };
    let Source::Local(rel) = &source else { return Some((source, Vec::new())) };
    let file = match read_text(root, rel) {
        Ok(file) => file,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("write the chapters as Podcasting 2.0 JSON"));
            return None;
        }
    };
    match chapters::check(&file.text, seconds) {
        Ok(list) => Some((source, list)),
        Err(Problem::Syntax { line, col, message }) => {
            let offset = offset_of(&file.text, line, col);
            diags.push(
                file.diag(Severity::Error, Some(offset..offset + 1), format!("invalid JSON: {message}"))
                    .with_hint("check the commas, quotes and brackets here"),
            );
            None
        }
        Err(Problem::Content(message)) => {
            diags.push(toml.diag_at(Severity::Error, &at, format!("{rel}: {message}")).with_hint(
                "chapters are {\"version\": \"1.2.0\", \"chapters\": [{\"startTime\": 0, \"title\": \"…\"}]}",
            ));
            None
        }
    }
}

fn check_transcript(
    text: &str,
    seconds: Option<f64>,
    toml: &TomlFile,
    root: &Path,
    diags: &mut Diagnostics,
) -> Option<(Source, Kind, Vec<Cue>)> {
    let at = [Seg::Key("episode"), Seg::Key("transcript")];
    let source = match Source::parse("transcript", text) {
        Ok(s) => s,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("write an .srt or .vtt file under media/"));
            return None;
        }
    };
    let Some(kind) = Kind::of(&source) else {
        diags.push(
            toml.diag_at(Severity::Error, &at, "a transcript must be a SubRip (.srt) or WebVTT (.vtt) file")
                .with_hint("podcast apps show these as captions; export the transcript in one of them"),
        );
        return None;
    };
    let Source::Local(rel) = &source else { return Some((source, kind, Vec::new())) };
    let file = match read_text(root, rel) {
        Ok(file) => file,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("export the transcript as .srt or .vtt"));
            return None;
        }
    };
    match transcript::check(&file.text, kind, seconds) {
        Ok(cues) => Some((source, kind, cues)),
        Err(p) => {
            diags.push(file.diag(Severity::Error, Some(p.span), p.message).with_hint(p.hint));
            None
        }
    }
}

/// `[[episode.chapters]]`: each start read, each recommendation looked up; starts must
/// increase and fall inside the audio. Errors point at the chapter's key.
fn written_chapters(
    items: &[toml::Value],
    sections: &[Section],
    seconds: Option<f64>,
    toml: &TomlFile,
    diags: &mut Diagnostics,
) -> Vec<Chapter> {
    let mut out: Vec<Chapter> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |k: &'static str| [Seg::Key("episode"), Seg::Key("chapters"), Seg::Index(i), Seg::Key(k)];
        let mut error = |key: &'static str, msg: String, hint: &str| {
            diags.push(toml.diag_at(Severity::Error, &at(key), msg).with_hint(hint.to_string()));
        };
        let entry: ChapterFile = match item.clone().try_into() {
            Ok(entry) => entry,
            Err(why) => {
                let message = why.to_string();
                diags.push(
                    toml.diag_at(
                        Severity::Error,
                        &[Seg::Key("episode"), Seg::Key("chapters"), Seg::Index(i)],
                        format!("chapter {}: {}", i + 1, message.trim()),
                    )
                    .with_hint("a chapter has start, and title or recommendation = \"Section/N\" (url optional)"),
                );
                continue;
            }
        };
        let start = match parse_seconds(&entry.start) {
            Ok(s) => s,
            Err(why) => {
                error("start", why, "write start = \"12:34\" (minutes:seconds), \"1:02:03\" or seconds");
                continue;
            }
        };
        let mut title = entry.title.clone();
        let mut url = entry.url.clone();
        if let Some(reference) = &entry.recommendation {
            match find_recommendation(reference, sections) {
                Ok((rec_title, rec_url)) => {
                    title.get_or_insert(rec_title);
                    url.get_or_insert(rec_url);
                }
                Err(why) => {
                    error(
                        "recommendation",
                        why,
                        "write \"<section name>/<N>\", N counting the section's recommendations from 1",
                    );
                    continue;
                }
            }
        }
        let Some(title) = title.filter(|t| !t.trim().is_empty() && !has_line_break(t)) else {
            error(
                if entry.title.is_some() { "title" } else { "start" },
                format!("chapter {} needs a one-line title", i + 1),
                "add title = \"…\" or recommendation = \"Section/N\"",
            );
            continue;
        };
        if let Some(u) = &url
            && let Err(why) = https_url(u)
        {
            let key = if entry.url.is_some() { "url" } else { "recommendation" };
            error(key, format!("the chapter's link is not an https address: {why}"), "chapter links must be https://");
            continue;
        }
        if let Some(prev) = out.last()
            && start <= prev.start
        {
            error(
                "start",
                format!(
                    "chapter {} starts at {}, not after the chapter above it ({})",
                    i + 1,
                    chapters::timestamp(start),
                    chapters::timestamp(prev.start)
                ),
                "chapters are listed in the order they play, each starting later",
            );
            continue;
        }
        if let Some(total) = seconds
            && start >= total
        {
            error(
                "start",
                format!(
                    "chapter {} starts at {}, after the audio ends ({})",
                    i + 1,
                    chapters::timestamp(start),
                    chapters::timestamp(total)
                ),
                "is this the right time, or the right audio file?",
            );
            continue;
        }
        out.push(Chapter { start, title: Some(title.trim().to_string()), url });
    }
    if items.is_empty() {
        diags.push(
            toml.diag_at(Severity::Error, &[Seg::Key("episode"), Seg::Key("chapters")], "the chapters list is empty")
                .with_hint("add [[episode.chapters]] with start and title, or remove chapters"),
        );
    }
    out
}

/// "AI/1": the first recommendation of section "AI" → (title, url).
fn find_recommendation(reference: &str, sections: &[Section]) -> Result<(String, String), String> {
    let Some((name, n)) = reference.rsplit_once('/') else {
        return Err(format!("\"{reference}\" is not Section/N"));
    };
    let section = sections.iter().find(|s| s.name.trim() == name.trim()).ok_or_else(|| {
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        match nearest(name, names.iter().copied()) {
            Some(near) => format!("this issue has no section \"{name}\": did you mean \"{near}\"?"),
            None => format!("this issue has no section \"{name}\" (it has: {})", names.join(", ")),
        }
    })?;
    let count = section.recommendations.len();
    let index = n
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|i| (1..=count).contains(i))
        .ok_or_else(|| format!("section \"{}\" has recommendations 1 to {count}, not \"{n}\"", section.name))?;
    let rec = &section.recommendations[index - 1];
    Ok((rec.title.clone(), rec.url.clone()))
}

fn check_soundbites(
    list: &[SoundbiteFile],
    seconds: Option<f64>,
    toml: &TomlFile,
    diags: &mut Diagnostics,
) -> Vec<Soundbite> {
    let mut out = Vec::new();
    for (i, bite) in list.iter().enumerate() {
        let at = |k: &'static str| [Seg::Key("episode"), Seg::Key("soundbites"), Seg::Index(i), Seg::Key(k)];
        let mut error = |key: &'static str, msg: String, hint: &str| {
            diags.push(toml.diag_at(Severity::Error, &at(key), msg).with_hint(hint.to_string()));
        };
        let start = parse_seconds(&bite.start).map_err(|why| error("start", why, "write start = \"1:02\" or seconds"));
        let duration =
            parse_duration(&bite.duration).map_err(|why| error("duration", why, "write duration = 30 (seconds)"));
        let (Ok(start), Ok(duration)) = (start, duration) else { continue };
        if let Some(total) = seconds
            && start + duration > total + 0.5
        {
            error(
                "duration",
                format!(
                    "the soundbite runs to {}, after the audio ends ({})",
                    chapters::timestamp(start + duration),
                    chapters::timestamp(total)
                ),
                "shorten it or start it earlier",
            );
            continue;
        }
        if let Some(title) = &bite.title
            && (title.trim().is_empty() || title.chars().count() > 128 || has_line_break(title))
        {
            error("title", "a soundbite's title is one line of up to 128 characters".into(), "or leave it out");
            continue;
        }
        out.push(Soundbite { start, duration, title: bite.title.clone() });
    }
    out
}

fn check_alternates(
    list: &[AlternateFile],
    toml: &TomlFile,
    root: &Path,
    facts: &MediaFacts,
    diags: &mut Diagnostics,
) -> Vec<Alternate> {
    let mut out = Vec::new();
    for (i, alt) in list.iter().enumerate() {
        let at = |k: &'static str| [Seg::Key("episode"), Seg::Key("alternate"), Seg::Index(i), Seg::Key(k)];
        let mut error = |key: &'static str, msg: String, hint: &str| {
            diags.push(toml.diag_at(Severity::Error, &at(key), msg).with_hint(hint.to_string()));
        };
        let hint = "an alternate is a file under media/ (MP3, M4A or AAC), so its length and bitrate are read from it";
        let rel = match Source::parse("audio", &alt.audio) {
            Ok(Source::Local(rel)) => rel,
            Ok(Source::Remote(_)) => {
                error("audio", "an alternate enclosure must be a file in the workspace".into(), hint);
                continue;
            }
            Err(why) => {
                error("audio", why, hint);
                continue;
            }
        };
        let path = root.join(&rel);
        if !path.is_file() {
            error("audio", format!("{rel} does not exist"), hint);
            continue;
        }
        match crate::clock::timings::stage("  of which: probe audio", || facts.audio(&path)) {
            Ok(info) => out.push(Alternate {
                bitrate: (info.bytes as f64 * 8.0 / info.seconds).round() as u64,
                source: Source::Local(rel),
                bytes: info.bytes,
                mime: info.mime.to_string(),
                title: alt.title.clone(),
            }),
            Err(why) => error("audio", why.replace(&path.display().to_string(), &rel), hint),
        }
        if let Some(title) = &alt.title
            && (title.trim().is_empty() || title.chars().count() > 32 || has_line_break(title))
        {
            error("title", "an alternate's title is one line of up to 32 characters".into(), "\"Low bandwidth\"");
        }
    }
    out
}

fn check_social(list: &[SocialFile], toml: &TomlFile, diags: &mut Diagnostics) -> Vec<Social> {
    let mut out = Vec::new();
    for (i, post) in list.iter().enumerate() {
        let at = |k: &'static str| [Seg::Key("episode"), Seg::Key("social"), Seg::Index(i), Seg::Key(k)];
        let mut error = |key: &'static str, msg: String, hint: String| {
            diags.push(toml.diag_at(Severity::Error, &at(key), msg).with_hint(hint));
        };
        if let Err(why) = https_url(&post.uri) {
            error("uri", format!("the post's address is not https: {why}"), "copy the post's URL after posting".into());
            continue;
        }
        let host = url::Url::parse(&post.uri).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let protocol = match &post.protocol {
            Some(p) if SOCIAL_PROTOCOLS.contains(&p.as_str()) => p.clone(),
            Some(p) => {
                let hint = match nearest(p, SOCIAL_PROTOCOLS.iter().copied()) {
                    Some(near) => format!("did you mean \"{near}\"?"),
                    None => format!("write one of: {}", SOCIAL_PROTOCOLS.join(", ")),
                };
                error("protocol", format!("\"{p}\" is not a podcast:socialInteract protocol"), hint);
                continue;
            }
            None if host == "bsky.app" || host.ends_with(".bsky.app") => "atproto".into(),
            None if ["x.com", "twitter.com", "www.x.com", "www.twitter.com"].contains(&host.as_str()) => {
                "twitter".into()
            }
            None => "activitypub".into(),
        };
        out.push(Social { uri: post.uri.clone(), protocol, account_id: post.account_id.clone() });
    }
    out
}

fn check_location(location: &LocationFile, toml: &TomlFile, diags: &mut Diagnostics) {
    let at = |k| [Seg::Key("episode"), Seg::Key("location"), Seg::Key(k)];
    let name = location.name.trim();
    if name.is_empty() || name.chars().count() > 128 || has_line_break(name) {
        diags.push(
            toml.diag_at(Severity::Error, &at("name"), "the location's name is one line of 1 to 128 characters")
                .with_hint("name = \"Singapore\""),
        );
    }
    if let Some(geo) = &location.geo
        && !is_geo_uri(geo)
    {
        diags.push(
            toml.diag_at(Severity::Error, &at("geo"), format!("\"{geo}\" is not a geo: URI"))
                .with_hint("geo = \"geo:1.29,103.85\" (latitude, longitude)"),
        );
    }
    if let Some(osm) = &location.osm {
        let ok = osm.len() > 1
            && matches!(osm.as_bytes()[0], b'N' | b'W' | b'R')
            && osm[1..].split('#').next().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            diags.push(
                toml.diag_at(Severity::Error, &at("osm"), format!("\"{osm}\" is not an OpenStreetMap object"))
                    .with_hint("a type (N node, W way, R relation) and its id: \"R536780\""),
            );
        }
    }
}

/// "geo:lat,lon" or "geo:lat,lon,alt" (RFC 5870), latitude and longitude in range.
fn is_geo_uri(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("geo:") else { return false };
    let coords = rest.split(';').next().unwrap_or("");
    let parts: Vec<f64> = coords.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    let given = coords.split(',').count();
    (given == 2 || given == 3)
        && parts.len() == given
        && (-90.0..=90.0).contains(&parts[0])
        && (-180.0..=180.0).contains(&parts[1])
}

/// A time into the audio: "12:34", "1:02:03", or seconds; 0 or more.
pub fn parse_seconds(value: &toml::Value) -> Result<f64, String> {
    match value {
        toml::Value::Integer(0) => Ok(0.0),
        toml::Value::Float(f) if *f == 0.0 => Ok(0.0),
        toml::Value::String(s) if s.trim().split(':').all(|p| p.parse::<f64>().is_ok_and(|n| n == 0.0)) => Ok(0.0),
        other => parse_duration(other)
            .map_err(|why| why.replace("the duration must be more than 0", "a time must be 0 or more")),
    }
}

/// A text file of the workspace, for diagnostics inside it.
fn read_text(root: &Path, rel: &str) -> Result<SourceFile, String> {
    let path = root.join(rel);
    if !path.is_file() {
        return Err(format!("{rel} does not exist"));
    }
    SourceFile::read(root, Path::new(rel)).map_err(|_| format!("{rel} is not a UTF-8 text file"))
}

/// The byte offset of 1-based `line` and `col` (columns counted in bytes, as serde_json does).
fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (line_start + col.saturating_sub(1)).min(text.len().saturating_sub(1))
}

/// "1:02:03", "62:03", "3723", 3723 or 3723.5, in seconds.
pub fn parse_duration(value: &toml::Value) -> Result<f64, String> {
    let seconds = match value {
        toml::Value::Integer(n) => *n as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => {
            let parts: Vec<&str> = s.trim().split(':').collect();
            if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!("\"{s}\" is not a duration"));
            }
            let mut total = 0.0;
            for (i, part) in parts.iter().enumerate() {
                let n: f64 = part.parse().map_err(|_| format!("\"{s}\" is not a duration"))?;
                if i > 0 && n >= 60.0 {
                    return Err(format!("\"{s}\" has {n} in the minutes or seconds"));
                }
                total = total * 60.0 + n;
            }
            total
        }
        other => return Err(format!("a duration is text or a number, not a {}", other.type_str())),
    };
    if seconds.is_finite() && seconds > 0.0 { Ok(seconds) } else { Err("the duration must be more than 0".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = |t: &str| parse_duration(&toml::Value::String(t.into()));
        assert_eq!(s("1:02:03"), Ok(3723.0));
        assert_eq!(s("62:03"), Ok(3723.0));
        assert_eq!(s("3723"), Ok(3723.0));
        assert!(s("1:60:00").is_err());
        assert!(s("soon").is_err());
        assert_eq!(parse_duration(&toml::Value::Integer(95)), Ok(95.0));
        assert!(parse_duration(&toml::Value::Integer(0)).is_err());
    }

    #[test]
    fn json_positions_become_offsets() {
        assert_eq!(offset_of("ab\ncd\n", 2, 2), 4);
        assert_eq!(offset_of("ab", 1, 1), 0);
    }
}

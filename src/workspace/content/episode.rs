//! `[episode]` in an issue file: the podcast episode that goes with the issue.
//!
//! A local audio file is read here (size, exact duration, MIME type) so the
//! publisher never types them; chapters and transcripts are checked line by line.

use std::path::Path;

use serde::Deserialize;

use crate::diag::{Diagnostics, Severity, SourceFile, nearest};
use crate::workspace::config::podcast::{Person, check_persons};
use crate::workspace::content::has_line_break;
use crate::workspace::content::markdown_check::bad_links;
use crate::workspace::content::toml_file::{Seg, TomlFile};
use crate::workspace::media::chapters::{self, Problem};
use crate::workspace::media::transcript::{self, Kind};
use crate::workspace::media::{self, Source, audio};

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
    /// The episode's title; default the title.
    pub title: Option<String>,
    /// A few sentences about the episode, in Markdown, heading the show notes; default the intro.
    pub summary: Option<String>,
    /// The season number.
    pub season: Option<u32>,
    /// The episode number; default the number.
    pub number: Option<u32>,
    /// "full" (the default), "trailer" or "bonus".
    pub episode_type: Option<String>,
    /// Whether this episode has explicit content; default the podcast's `explicit`.
    pub explicit: Option<bool>,
    /// The episode's own artwork, like the podcast's: a square JPEG or PNG of 1400 to 3000 px.
    pub image: Option<String>,
    /// A Podcasting 2.0 JSON chapters file (or its https URL).
    pub chapters: Option<String>,
    /// A transcript or captions file, SubRip (.srt) or WebVTT (.vtt) (or its https URL).
    pub transcript: Option<String>,
    /// The people of this episode; when given, they replace the podcast's `persons`.
    #[serde(default)]
    pub persons: Vec<Person>,
    /// The item's GUID, only to keep one an earlier feed gave this episode; default derived
    /// from the podcast's guid and the issue number, so it never changes.
    pub guid: Option<String>,
}

/// A checked episode: its audio was read, its files are good.
#[derive(Debug, Clone)]
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
    pub chapters: Option<Source>,
    pub transcript: Option<(Source, Kind)>,
    pub persons: Vec<Person>,
    pub guid: Option<String>,
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
    pub fn new(raw: EpisodeFile, toml: &TomlFile, root: &Path, diags: &mut Diagnostics) -> Option<Episode> {
        let before = diags.error_count();
        let error = |diags: &mut Diagnostics, key: &str, msg: String, hint: &str| {
            let at = [Seg::Key("episode"), Seg::Key(key)];
            diags.push(toml.diag_at(Severity::Error, &at, msg).with_hint(hint.to_string()));
        };
        let warn = |diags: &mut Diagnostics, key: &str, msg: String, hint: &str| {
            let at = [Seg::Key("episode"), Seg::Key(key)];
            diags.push(toml.diag_at(Severity::Warning, &at, msg).with_hint(hint.to_string()));
        };

        let audio = Source::parse(&raw.audio)
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
                    match audio::read(&path) {
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
            for bad in bad_links(summary) {
                error(
                    diags,
                    "summary",
                    format!("link \"{bad}\" is not a web address"),
                    "links must be full https:// URLs or mailto: addresses",
                );
            }
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
            media::artwork(text, root)
                .map_err(|why| error(diags, "image", why, "use a square JPEG or PNG of 1400 to 3000 px, in RGB"))
                .ok()
        });
        let chapters = raw.chapters.as_deref().and_then(|text| check_chapters(text, seconds, toml, root, diags));
        let transcript = raw.transcript.as_deref().and_then(|text| check_transcript(text, seconds, toml, root, diags));
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
            transcript,
            persons: raw.persons,
            guid: raw.guid.map(|g| g.trim().to_string()),
        })
    }

    /// Every local file the episode needs published beside the feed.
    pub fn local_files(&self) -> impl Iterator<Item = &str> {
        [Some(&self.audio), self.image.as_ref(), self.chapters.as_ref(), self.transcript.as_ref().map(|t| &t.0)]
            .into_iter()
            .flatten()
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
) -> Option<Source> {
    let at = [Seg::Key("episode"), Seg::Key("chapters")];
    let source = match Source::parse(text) {
        Ok(s) => s,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("write a .json file under media/"));
            return None;
        }
    };
    let Source::Local(rel) = &source else { return Some(source) };
    let file = match read_text(root, rel) {
        Ok(file) => file,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("write the chapters as Podcasting 2.0 JSON"));
            return None;
        }
    };
    match chapters::check(&file.text, seconds) {
        Ok(_) => Some(source),
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
) -> Option<(Source, Kind)> {
    let at = [Seg::Key("episode"), Seg::Key("transcript")];
    let source = match Source::parse(text) {
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
    let Source::Local(rel) = &source else { return Some((source, kind)) };
    let file = match read_text(root, rel) {
        Ok(file) => file,
        Err(why) => {
            diags.push(toml.diag_at(Severity::Error, &at, why).with_hint("export the transcript as .srt or .vtt"));
            return None;
        }
    };
    match transcript::check(&file.text, kind, seconds) {
        Ok(_) => Some((source, kind)),
        Err(p) => {
            diags.push(file.diag(Severity::Error, Some(p.span), p.message).with_hint(p.hint));
            None
        }
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

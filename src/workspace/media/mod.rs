//! Media files the podcast points at (audio, artwork, chapters, transcripts),
//! read from the workspace and checked when it is loaded, so that later stages
//! only ever see files known to be good. Nothing here writes but the cache of
//! audio facts ([`facts`]), and only when asked to.

pub mod audio;
pub mod chapters;
pub mod facts;
pub mod image;
pub mod transcript;

use std::path::{Component, Path, PathBuf};

use crate::text::url::{check_web_url, file_url};

/// Where a media reference in a TOML file points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Source {
    /// A file inside the workspace, by its path relative to the root ("media/009.mp3"),
    /// its segments separated by single `/`, none of them `.` or `..`.
    Local(String),
    /// Somewhere on the web (always https).
    Remote(String),
}

impl Source {
    /// Reads a reference given as setting `key` ("audio", "image"): an https URL, or a
    /// relative path that stays inside the workspace. A URL that is not a web address
    /// is refused naming `key` and the URL.
    /// Any file name is fine ("media/Episode 9 – Sora #1 (50%).mp3"): [`Source::url`] encodes it.
    pub fn parse(key: &str, text: &str) -> Result<Source, String> {
        let text = text.trim();
        if text.starts_with("http://") {
            return Err("podcast apps require https:// URLs (Apple Podcasts and the Podcasting 2.0 spec)".into());
        }
        if text.starts_with("https://") {
            return check_web_url(text)
                .map(|_| Source::Remote(text.to_string()))
                .map_err(|why| format!("{key}: \"{text}\" is not a web address: {why}"));
        }
        if text.contains("://") {
            return Err("only https:// URLs or files in the workspace can be used".into());
        }
        let rel = text.trim_start_matches("./");
        let path = Path::new(rel);
        if rel.is_empty() {
            return Err("this is empty".into());
        }
        let mut segments = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(segment) => segments.push(segment.to_string_lossy()),
                _ => {
                    return Err(
                        "a media file must be inside the workspace, written as a relative path like media/009.mp3"
                            .into(),
                    );
                }
            }
        }
        Ok(Source::Local(segments.join("/")))
    }

    /// The file on disk, for a local source.
    pub fn local_path(&self, root: &Path) -> Option<PathBuf> {
        match self {
            Source::Local(rel) => Some(root.join(rel)),
            Source::Remote(_) => None,
        }
    }

    /// The public URL: local files are published under `base` at the same path, their
    /// names percent-encoded ([`file_url`]); a URL stays as it was written.
    pub fn url(&self, base: &url::Url) -> String {
        match self {
            Source::Local(rel) => file_url(base, rel).into(),
            Source::Remote(url) => url.clone(),
        }
    }

    /// The path or URL, as written (a path without its leading `./`).
    pub fn as_str(&self) -> &str {
        match self {
            Source::Local(rel) => rel,
            Source::Remote(url) => url,
        }
    }

    /// The file name or URL path's extension, lowercased.
    pub fn extension(&self) -> Option<String> {
        let text = match self {
            Source::Local(rel) => rel.as_str(),
            Source::Remote(url) => url.split(['?', '#']).next().unwrap_or(url),
        };
        let name = text.rsplit('/').next().unwrap_or(text);
        name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase())
    }
}

/// Checks podcast artwork: a local file is read and held to Apple's rules
/// (square JPEG or PNG, 1400–3000 px, RGB); a URL must be https and end in .jpg, .jpeg or .png.
pub fn artwork(key: &str, text: &str, root: &Path) -> Result<Source, String> {
    let source = Source::parse(key, text)?;
    match (&source, source.local_path(root)) {
        (Source::Local(rel), Some(path)) => {
            if !path.is_file() {
                return Err(format!("{rel} does not exist"));
            }
            let info = image::read(&path).map_err(|_| format!("{rel} is not a PNG or JPEG picture"))?;
            image::check_artwork(&info)?;
        }
        _ => {
            if !matches!(source.extension().as_deref(), Some("jpg" | "jpeg" | "png")) {
                return Err("Apple Podcasts needs an artwork URL ending in .jpg, .jpeg or .png".into());
            }
        }
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(Source::parse("audio", "./media/9.mp3"), Ok(Source::Local("media/9.mp3".into())));
        assert_eq!(
            Source::parse("audio", "https://cdn.example.com/9.mp3"),
            Ok(Source::Remote("https://cdn.example.com/9.mp3".into()))
        );
        assert!(Source::parse("audio", "http://cdn.example.com/9.mp3").unwrap_err().contains("https://"));
        assert!(Source::parse("audio", "../secret.mp3").unwrap_err().contains("inside the workspace"));
        assert!(Source::parse("audio", "/etc/passwd").is_err());
        assert!(Source::parse("audio", "ftp://x/9.mp3").is_err());
        let local = Source::parse("audio", "media/9.MP3").unwrap();
        let base = url::Url::parse("https://example.com/n/").unwrap();
        assert_eq!(local.url(&base), "https://example.com/n/media/9.MP3");
        assert_eq!(local.extension().as_deref(), Some("mp3"));
        assert_eq!(
            Source::parse("audio", "media//./9.mp3"),
            Ok(Source::Local("media/9.mp3".into())),
            "one path, one URL"
        );
        assert!(Source::parse("audio", "media/../../9.mp3").is_err());
        let hostile = Source::parse("audio", "./media/Episode 9 – Sora #1 (50%).mp3").unwrap();
        assert_eq!(hostile, Source::Local("media/Episode 9 – Sora #1 (50%).mp3".into()), "a legitimate name");
        assert_eq!(
            hostile.url(&base),
            "https://example.com/n/media/Episode%209%20%E2%80%93%20Sora%20%231%20%2850%25%29.mp3"
        );
        assert_eq!(hostile.extension().as_deref(), Some("mp3"), "a # in a file name is part of the name");
        let remote = Source::parse("audio", "https://cdn.example.com/9.mp3?x=1").unwrap();
        assert_eq!(remote.url(&base), "https://cdn.example.com/9.mp3?x=1", "a URL is published as written");
        assert_eq!(Source::parse("audio", "https://x.com/a.b/feed?x=1.m4a").unwrap().extension(), None);
    }
}

//! A link record: a file whose YAML front matter, between two `---` lines,
//! describes an article the publisher collected during the week (title, excerpt,
//! `originalUrl`/`webUrl`, `publishedDateTime`, `provider.name`, `topics`; other
//! keys are ignored). What follows the front matter is ignored too.

use std::ops::Range;
use std::path::Path;

use jiff::Timestamp;
use serde_yaml_ng::Value;

use crate::diag::{Diagnostic, Diagnostics, Severity, SourceFile};
use crate::text::url::check_web_url;
use crate::text::{is_not_text, not_text_name};

/// A checked link record: it has a title and a web address.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    /// The file as read, to point later diagnostics (a duplicate link) at it.
    pub source: SourceFile,
    /// The headline, on one line.
    pub title: String,
    /// `originalUrl`, else `webUrl`.
    pub url: String,
    /// Where the URL is written in the file.
    pub url_span: Range<usize>,
    /// The publication (`provider.name`).
    pub source_name: Option<String>,
    pub published: Option<Timestamp>,
    pub excerpt: Option<String>,
    pub topics: Vec<String>,
}

impl LinkRecord {
    /// Reads and checks the record at `path` (named in messages as given);
    /// `None` when it has errors, all of them reported to `diags`.
    pub fn read(path: &Path, diags: &mut Diagnostics) -> Option<LinkRecord> {
        let name = path.to_string_lossy().replace('\\', "/");
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text),
                Err(_) => {
                    diags.push(Diagnostic::file(Severity::Error, &name, "not a text file (UTF-8)"));
                    return None;
                }
            },
            Err(e) => {
                diags.push(Diagnostic::file(Severity::Error, &name, format!("cannot read it: {e}")));
                return None;
            }
        };
        LinkRecord::parse(SourceFile { name, text }, diags)
    }

    /// Checks a record already in memory.
    pub fn parse(source: SourceFile, diags: &mut Diagnostics) -> Option<LinkRecord> {
        let before = diags.error_count();
        let error = |diags: &mut Diagnostics, span: Range<usize>, msg: &str, hint: &str| {
            diags.push(source.diag(Severity::Error, Some(span), msg).with_hint(hint));
        };
        let Some(yaml) = front_matter(&source.text) else {
            error(
                diags,
                0..source.text.lines().next().map_or(0, str::len),
                "no front matter: a link record starts with a line `---`",
                "did you forget the `---` lines above and below the YAML (title:, originalUrl:, ...)?",
            );
            return None;
        };
        let yaml = match yaml {
            Ok(range) => range,
            Err(()) => {
                error(
                    diags,
                    0..3,
                    "the front matter is not closed",
                    "add a line `---` after the last line of the YAML",
                );
                return None;
            }
        };
        let front = Frontmatter { text: &source.text, yaml };
        let value: Value = match serde_yaml_ng::from_str(&source.text[front.yaml.clone()]) {
            Ok(v) => v,
            Err(e) => {
                let at = e.location().map_or(0, |l| front.offset(l.line(), l.column()));
                error(
                    diags,
                    at..at + 1,
                    &format!("invalid YAML: {}", without_marks(&e.to_string())),
                    "check the indentation, the `key: value` colons and the quotes on this line",
                );
                return None;
            }
        };
        let opening = 0..3;
        if !matches!(value, Value::Mapping(_) | Value::Null) {
            error(
                diags,
                opening,
                "the front matter is not a list of `key: value` lines",
                "write title: ..., originalUrl: ...",
            );
            return None;
        }

        let title = match value.get("title").and_then(scalar) {
            Some(t) if !t.trim().is_empty() => Some(t.split_whitespace().collect::<Vec<_>>().join(" ")),
            Some(_) => {
                error(diags, front.key_span("title"), "the title is empty", "write the article's headline");
                None
            }
            None if value.get("title").is_some_and(|t| !t.is_null()) => {
                error(
                    diags,
                    front.value_span("title"),
                    "the title is not text (a list or a table)",
                    "write the headline on the line: title: \"The article's headline\"",
                );
                None
            }
            None => {
                let span = if value.get("title").is_some() { front.key_span("title") } else { opening.clone() };
                error(diags, span, "the record has no title", "add a line title: \"The article's headline\"");
                None
            }
        };

        let url_key = ["originalUrl", "webUrl"]
            .into_iter()
            .find(|k| value.get(k).and_then(Value::as_str).is_some_and(|u| !u.trim().is_empty()));
        let url = match url_key {
            None => {
                error(
                    diags,
                    opening.clone(),
                    "the record has no URL",
                    "add a line originalUrl: https://... (or webUrl:) with the article's address",
                );
                None
            }
            Some(key) => {
                let url = value[key].as_str().unwrap_or_default().trim().to_string();
                let span = front.value_span(key);
                match check_web_url(&url) {
                    Ok(_) => Some((url, span)),
                    Err(why) => {
                        error(
                            diags,
                            span,
                            &format!("{key} is not a web address: {why}"),
                            "write the full https:// URL",
                        );
                        None
                    }
                }
            }
        };

        let published = value.get("publishedDateTime").and_then(scalar).and_then(|text| {
            let parsed = text.parse::<Timestamp>().ok().or_else(|| {
                text.parse::<jiff::civil::Date>()
                    .ok()
                    .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|z| z.timestamp())
            });
            if parsed.is_none() {
                diags.push(
                    source
                        .diag(
                            Severity::Warning,
                            Some(front.value_span("publishedDateTime")),
                            "publishedDateTime is not a date-time; it is left out",
                        )
                        .with_hint("write it as 2023-06-14T16:00:00Z"),
                );
            }
            parsed
        });
        let excerpt = value.get("excerpt").and_then(scalar).filter(|e| !e.trim().is_empty());
        // `provider: {name, domain}` as in the collected records, or written by hand `provider: The Guardian`.
        let source_name = value
            .get("provider")
            .and_then(|p| p.get("name").or_else(|| p.get("domain")).or(Some(p)))
            .and_then(scalar)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let topics = match value.get("topics") {
            Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
            Some(other) => scalar(other).into_iter().collect(),
            None => Vec::new(),
        };

        // The issue file would hold them, and `publish check` refuses them there.
        for (key, text) in [("title", title.as_deref()), ("provider", source_name.as_deref())] {
            if let Some(c) = text.and_then(|t| t.chars().find(|&c| is_not_text(c))) {
                error(
                    diags,
                    front.value_span(key),
                    &format!("the {key} has {}", not_text_name(c)),
                    "delete it (it often comes in with text pasted from a terminal or a PDF)",
                );
            }
        }

        if diags.error_count() > before {
            return None;
        }
        let (title, (url, url_span)) = (title?, url?);
        Some(LinkRecord { source, title, url, url_span, source_name, published, excerpt, topics })
    }

    /// A diagnostic pointing at the record's URL.
    pub fn diag_at_url(&self, severity: Severity, message: impl Into<String>) -> Diagnostic {
        self.source.diag(severity, Some(self.url_span.clone()), message)
    }
}

/// The byte range of the YAML between the opening and closing `---` lines;
/// `None` when the file does not start with `---`, `Some(Err)` when it is never closed.
fn front_matter(text: &str) -> Option<Result<Range<usize>, ()>> {
    let first = text.lines().next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut at = start;
    for line in text[start..].split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare == "..." {
            return Some(Ok(start..at));
        }
        at += line.len();
    }
    Some(Err(()))
}

/// The front matter within its file, to turn YAML places into file places.
struct Frontmatter<'a> {
    text: &'a str,
    yaml: Range<usize>,
}

impl Frontmatter<'_> {
    /// The byte offset in the file of the YAML's `line` and `column` (1-based, in characters).
    fn offset(&self, line: usize, column: usize) -> usize {
        let yaml = &self.text[self.yaml.clone()];
        let line_start = yaml.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>();
        let rest = &yaml[line_start.min(yaml.len())..];
        let col = rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i);
        self.yaml.start + line_start + col
    }

    /// Where the top-level `key:` is written (the opening `---` if it is not found).
    fn key_span(&self, key: &str) -> Range<usize> {
        self.line_of(key).map_or(0..3, |(start, _)| start..start + key.len())
    }

    /// Where the value of the top-level `key:` is written (or the key, or the opening `---`).
    fn value_span(&self, key: &str) -> Range<usize> {
        let Some((start, line)) = self.line_of(key) else { return 0..3 };
        let value = line[key.len() + 1..].trim();
        match line.find(value) {
            Some(i) if !value.is_empty() => start + i..start + i + value.len(),
            _ => start..start + key.len(),
        }
    }

    /// The file offset and text of the line where the top-level `key:` starts.
    fn line_of(&self, key: &str) -> Option<(usize, &str)> {
        let mut at = self.yaml.start;
        for line in self.text[self.yaml.clone()].split_inclusive('\n') {
            if line.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')) {
                return Some((at, line.trim_end()));
            }
            at += line.len();
        }
        None
    }
}

/// A YAML scalar as text: strings as they are, numbers and booleans written out.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The YAML parser's message without its " at line L column C" (which count from
/// the front matter, not the file; the diagnostic gives the file's own place).
fn without_marks(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut tail = &after[digits(after)..];
        if let Some(col) = tail.strip_prefix(" column ") {
            tail = &col[digits(col)..];
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<LinkRecord>, Vec<String>) {
        let mut diags = Diagnostics::default();
        let record = LinkRecord::parse(SourceFile { name: "links/a.md".into(), text: text.into() }, &mut diags);
        (record, diags.items.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn maps_the_fields_of_a_record() {
        let (record, diags) = parse(
            "---\ntitle: \"Asia’s opportunity\"\nexcerpt: Generative AI\npublishedDateTime: 2023-06-14T16:00:00Z\n\
             webUrl: \"https://example.com/web\"\noriginalUrl: \"https://example.com/a\"\nprovider:\n  name: MIT Technology Review\n  \
             domain: technologyreview.com\ntopics:\n  - AI\n  - Robotics\n---\nBody\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let r = record.unwrap();
        assert_eq!(r.title, "Asia’s opportunity");
        assert_eq!(r.url, "https://example.com/a", "originalUrl wins over webUrl");
        assert_eq!(&r.source.text[r.url_span.clone()], "\"https://example.com/a\"");
        assert_eq!(r.source_name.as_deref(), Some("MIT Technology Review"));
        assert_eq!(r.published, Some("2023-06-14T16:00:00Z".parse().unwrap()));
        assert_eq!(r.excerpt.as_deref(), Some("Generative AI"));
        assert_eq!(r.topics, ["AI", "Robotics"]);
    }

    #[test]
    fn web_url_is_used_without_original_url() {
        let (record, _) = parse("---\ntitle: T\nwebUrl: https://example.com/w\n---\n");
        assert_eq!(record.unwrap().url, "https://example.com/w");
    }

    #[test]
    fn problems_point_at_their_line() {
        let (_, diags) = parse("title: T\n");
        assert!(diags[0].starts_with("links/a.md:1:1: error: no front matter"), "{diags:?}");
        let (_, diags) = parse("---\ntitle: T\noriginalUrl: https://example.com/\n");
        assert!(diags[0].starts_with("links/a.md:1:1: error: the front matter is not closed"), "{diags:?}");
        let (_, diags) = parse("---\nexcerpt: x\noriginalUrl: https://example.com/\n---\n");
        assert!(diags[0].starts_with("links/a.md:1:1: error: the record has no title"), "{diags:?}");
        let (_, diags) = parse("---\ntitle: T\noriginalUrl: ftp://example.com/\n---\n");
        assert!(diags[0].starts_with("links/a.md:3:14: error: originalUrl is not a web address"), "{diags:?}");
        let (_, diags) = parse("---\ntitle: T\nexcerpt: \"unclosed\noriginalUrl: https://example.com/\n---\n");
        assert!(diags[0].starts_with("links/a.md:"), "{diags:?}");
        assert!(diags[0].contains("error: invalid YAML"), "{diags:?}");
        assert!(!diags[0].contains(" at line "), "the YAML's own line numbers are left out: {diags:?}");
    }

    #[test]
    fn a_provider_written_as_one_name_is_the_source() {
        let (record, diags) = parse("---\ntitle: T\nprovider: The Guardian\noriginalUrl: https://example.com/g\n---\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(record.unwrap().source_name.as_deref(), Some("The Guardian"));
    }

    #[test]
    fn a_title_that_is_a_list_is_not_text_at_its_place() {
        let (record, diags) = parse("---\ntitle: [One, Two]\noriginalUrl: https://example.com/l\n---\n");
        assert!(record.is_none());
        assert!(diags[0].starts_with("links/a.md:2:8: error: the title is not text"), "{diags:?}");
    }

    #[test]
    fn yaml_marks_are_removed_from_messages() {
        assert_eq!(
            without_marks(
                "did not find expected key at line 3 column 1, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
    }
}

//! Loading a TOML file into typed values while keeping every problem's place.
//!
//! serde stops at the first error; a publisher wants to see all of them at once.
//! So unknown keys are collected one by one: each is reported, then blanked out
//! of the text (replaced by spaces, so that every byte offset stays true) and
//! the file is read again. What is left after that is reported once.
//!
//! A file without problems is parsed once, by serde. The spanned document
//! (toml_edit) that diagnostics point into is parsed only when one needs it:
//! a file with an error, a check that reports a place, or text that may hold
//! a control character.

use std::ops::Range;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use toml_edit::{Document, Item, Table, Value};

use crate::diag::{Diagnostics, Severity, SourceFile, nearest};

/// How many unknown keys one file may have before we stop looking for more.
const MAX_UNKNOWN_KEYS: usize = 50;

/// A parsed TOML file: its source and a spanned document to find values in,
/// parsed the first time a place is asked for.
#[derive(Debug)]
pub struct TomlFile {
    pub source: SourceFile,
    doc: OnceLock<Option<Document<String>>>,
}

/// One step of a path into a TOML document: a key or an array index.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl TomlFile {
    /// Parses `source` and deserializes it into `T`, reporting every problem to `diags`.
    /// Returns `None` when the file has errors that stop it from being read.
    pub fn load<T: DeserializeOwned>(source: SourceFile, diags: &mut Diagnostics) -> Option<(T, TomlFile)> {
        let first = diags.items.len();
        let loaded = TomlFile::load_unsorted(source, diags);
        diags.items[first..].sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.col)));
        loaded
    }

    fn load_unsorted<T: DeserializeOwned>(source: SourceFile, diags: &mut Diagnostics) -> Option<(T, TomlFile)> {
        // The usual case: valid TOML of the right shape, parsed once.
        if let Ok(value) = toml::from_str::<T>(&source.text) {
            let file = TomlFile { source, doc: OnceLock::new() };
            let controls = may_hold_control_characters(&file.source.text) && file.report_control_characters(diags);
            return if controls { None } else { Some((value, file)) };
        }
        let doc = match Document::parse(source.text.clone()) {
            Ok(doc) => doc,
            Err(e) => {
                let message = first_line(e.message());
                diags.push(
                    source
                        .diag(Severity::Error, e.span(), format!("invalid TOML: {message}"))
                        .with_hint("check the quotes, brackets and `=` on this line (TOML syntax: https://toml.io)"),
                );
                return None;
            }
        };
        let file = TomlFile { source, doc: OnceLock::from(Some(doc)) };
        let controls = file.report_control_characters(diags);
        let mut text = file.source.text.clone();
        let mut unknown = 0;
        loop {
            match toml::from_str::<T>(&text) {
                Ok(value) => {
                    return if unknown == 0 && !controls { Some((value, file)) } else { None };
                }
                Err(e) => {
                    let span = e.span();
                    if let Some((key, expected)) = parse_unknown_field(e.message()) {
                        unknown += 1;
                        let mut d = file.source.diag(Severity::Error, span.clone(), format!("unknown key \"{key}\""));
                        d = match nearest(&key, expected.iter().map(String::as_str)) {
                            Some(near) => d.with_hint(format!("did you mean \"{near}\"?")),
                            None if expected.is_empty() => d.with_hint("this table takes no keys"),
                            None => d.with_hint(format!("the known keys here are: {}", expected.join(", "))),
                        };
                        diags.push(d);
                        let blanked = span.and_then(|s| file.entry_span(s.start)).map(|entry| blank(&mut text, entry));
                        if blanked.is_none() || unknown >= MAX_UNKNOWN_KEYS {
                            return None;
                        }
                    } else {
                        let (message, hint) = explain(e.message());
                        let mut d = file.source.diag(Severity::Error, span, message);
                        if let Some(hint) = hint {
                            d = d.with_hint(hint);
                        }
                        diags.push(d);
                        return None;
                    }
                }
            }
        }
    }

    /// A file read but not parsed, known to be valid TOML (a kept issue's):
    /// its places are found, when asked for, by parsing it then.
    pub fn unparsed(source: SourceFile) -> TomlFile {
        TomlFile { source, doc: OnceLock::new() }
    }

    /// The spanned document, parsed on first use; `None` if it is not TOML
    /// (which serde, having read it, rules out).
    fn doc(&self) -> Option<&Document<String>> {
        self.doc.get_or_init(|| Document::parse(self.source.text.clone()).ok()).as_ref()
    }

    /// The span of the value at `path`, for pointing a later check at it.
    pub fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        enum Node<'a> {
            Item(&'a Item),
            Table(&'a Table),
            Value(&'a Value),
        }
        let mut node = Node::Table(self.doc()?.as_table());
        for seg in path {
            node = match (seg, node) {
                (Seg::Key(k), Node::Table(t)) | (Seg::Key(k), Node::Item(Item::Table(t))) => Node::Item(t.get(k)?),
                (Seg::Key(k), Node::Item(Item::Value(Value::InlineTable(t))))
                | (Seg::Key(k), Node::Value(Value::InlineTable(t))) => Node::Value(t.get(k)?),
                (Seg::Index(i), Node::Item(Item::ArrayOfTables(a))) => Node::Table(a.get(*i)?),
                (Seg::Index(i), Node::Item(Item::Value(Value::Array(a))))
                | (Seg::Index(i), Node::Value(Value::Array(a))) => Node::Value(a.get(*i)?),
                _ => return None,
            };
        }
        match node {
            Node::Item(Item::Table(t)) | Node::Table(t) => t.span(),
            Node::Item(item) => item.span(),
            Node::Value(v) => v.span(),
        }
    }

    /// A diagnostic pointing at the value at `path` (or the file, when not found).
    pub fn diag_at(&self, severity: Severity, path: &[Seg], message: impl Into<String>) -> crate::diag::Diagnostic {
        self.source.diag(severity, self.span(path), message)
    }

    /// A diagnostic pointing at `text` as written inside the string at `path`, its
    /// `nth` (from 0) occurrence there: a bad link in a Markdown field that spans
    /// many lines is shown on its own line and column. At the whole value when
    /// `text` is not written there as it is (an escape in it).
    pub fn diag_at_text(
        &self,
        severity: Severity,
        path: &[Seg],
        text: &str,
        nth: usize,
        message: impl Into<String>,
    ) -> crate::diag::Diagnostic {
        let span = self.span(path);
        let within = span.clone().filter(|_| !text.is_empty()).and_then(|span| {
            let (at, _) = self.source.text.get(span.clone())?.match_indices(text).nth(nth)?;
            Some(span.start + at..span.start + at + text.len())
        });
        self.source.diag(severity, within.or(span), message)
    }

    /// Reports every string holding a control character (a tab or a line break
    /// excepted): mail clients show them as boxes or not at all, and in a header
    /// they are not allowed. Most come in pasted from a terminal or a PDF.
    fn report_control_characters(&self, diags: &mut Diagnostics) -> bool {
        fn walk(item: &Item, found: &mut Vec<(Option<Range<usize>>, char)>) {
            match item {
                Item::Table(t) => t.iter().for_each(|(_, i)| walk(i, found)),
                Item::ArrayOfTables(a) => a.iter().flat_map(Table::iter).for_each(|(_, i)| walk(i, found)),
                Item::Value(v) => walk_value(v, found),
                Item::None => {}
            }
        }
        fn walk_value(value: &Value, found: &mut Vec<(Option<Range<usize>>, char)>) {
            match value {
                Value::String(s) => {
                    if let Some(c) = s.value().chars().find(|&c| crate::text::is_not_text(c)) {
                        found.push((s.span(), c));
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk_value(v, found)),
                Value::InlineTable(t) => t.iter().for_each(|(_, v)| walk_value(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        if let Some(doc) = self.doc() {
            walk(doc.as_item(), &mut found);
        }
        let any = !found.is_empty();
        for (span, c) in found {
            let span = span.map(|span| self.narrow_to(span, c));
            let code = c as u32;
            let message = if c.is_control() {
                format!("this text has an invisible control character (U+{code:04X})")
            } else {
                format!("this text has a Unicode noncharacter (U+{code:04X}), which feed readers refuse")
            };
            diags.push(
                self.source
                    .diag(Severity::Error, span, message)
                    .with_hint("delete it (it often comes in with text pasted from a terminal or a PDF)"),
            );
        }
        any
    }

    /// Within a string's `span`, where control character `c` is written:
    /// itself, or as a TOML escape (`\u0007`, `\b`, ...). The whole span when
    /// neither is found.
    fn narrow_to(&self, span: Range<usize>, c: char) -> Range<usize> {
        let raw = &self.source.text[span.clone()];
        let code = c as u32;
        let mut forms =
            vec![c.to_string(), format!("\\u{code:04X}"), format!("\\u{code:04x}"), format!("\\U{code:08X}")];
        forms.extend(match c {
            '\u{8}' => Some("\\b".to_string()),
            '\u{c}' => Some("\\f".to_string()),
            '\u{1b}' => Some("\\e".to_string()),
            _ => None,
        });
        forms
            .iter()
            .filter_map(|form| raw.find(form.as_str()).map(|at| (at, form.len())))
            .min()
            .map_or(span.clone(), |(at, len)| span.start + at..span.start + at + len)
    }

    /// The byte range of the `key = value` entry whose key starts at `key_start`.
    fn entry_span(&self, key_start: usize) -> Option<Range<usize>> {
        find_entry(self.doc()?.as_table(), key_start)
    }
}

/// Whether `text` may hold a string with a character that is [`crate::text::is_not_text`],
/// written raw or as an escape (`\u0007`, `\b`, `\f`, `\e`, `\U...`). A
/// quick scan of the bytes; when it says yes, the document is walked.
fn may_hold_control_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    let raw = bytes.iter().any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        // U+0080..U+009F are C2 80..C2 9F in UTF-8; every noncharacter ends in
        // BF BE or BF BF (U+FFFE, U+1FFFE, ...) or starts EF B7 (U+FDD0..U+FDEF).
        || bytes.windows(2).any(|w| {
            (w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1])) || (w[0] == 0xbf && w[1] >= 0xbe) || w == [0xef, 0xb7]
        });
    raw || memchr::memchr_iter(b'\\', bytes)
        .any(|at| matches!(bytes.get(at + 1), Some(b'u' | b'U' | b'b' | b'f' | b'e')))
}

fn find_entry(table: &Table, key_start: usize) -> Option<Range<usize>> {
    for (name, item) in table.iter() {
        let key = table.key(name)?;
        if key.span().is_some_and(|s| s.start == key_start) {
            let end = match item {
                Item::Value(v) => v.span()?.end,
                Item::Table(t) => table_end(t)?,
                Item::ArrayOfTables(a) => a.iter().filter_map(table_end).max()?,
                Item::None => return None,
            };
            let start = match item {
                Item::Table(t) => t.span().map_or(key_start, |s| s.start.min(key_start)),
                Item::ArrayOfTables(a) => a.iter().filter_map(Table::span).map(|s| s.start).min().unwrap_or(key_start),
                _ => key_start,
            };
            return Some(start..end);
        }
        let found = match item {
            Item::Table(t) => find_entry(t, key_start),
            Item::ArrayOfTables(a) => a.iter().find_map(|t| find_entry(t, key_start)),
            Item::Value(v) => find_in_value(v, key_start),
            Item::None => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn find_in_value(value: &Value, key_start: usize) -> Option<Range<usize>> {
    match value {
        Value::InlineTable(t) => {
            for (name, v) in t.iter() {
                if t.key(name).and_then(|k| k.span()).is_some_and(|s| s.start == key_start) {
                    return Some(key_start..v.span()?.end);
                }
                if let Some(found) = find_in_value(v, key_start) {
                    return Some(found);
                }
            }
            None
        }
        Value::Array(a) => a.iter().find_map(|v| find_in_value(v, key_start)),
        _ => None,
    }
}

/// The end of a standard table: the end of its last entry (or of its header).
fn table_end(table: &Table) -> Option<usize> {
    let own = table.iter().filter_map(|(_, item)| match item {
        Item::Value(v) => v.span().map(|s| s.end),
        Item::Table(t) if t.is_dotted() => table_end(t),
        _ => None,
    });
    own.chain(table.span().map(|s| s.end)).max()
}

/// Replaces `range` of `text` with spaces, keeping line breaks, so offsets stay valid.
fn blank(text: &mut String, range: Range<usize>) {
    let replaced: String = text[range.clone()].chars().map(|c| if c == '\n' || c == '\r' { c } else { ' ' }).collect();
    // Multi-byte characters become one space each: pad to keep the byte length.
    let pad = range.len() - replaced.len();
    text.replace_range(range, &(replaced + &" ".repeat(pad)));
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" into the key and the known keys.
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((key.to_string(), expected))
}

/// Turns serde's wording into a message and a hint a publisher can act on.
fn explain(message: &str) -> (String, Option<String>) {
    let message = first_line(message);
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return (format!("missing key \"{key}\""), Some(format!("add `{key} = ...` to this table")));
    }
    if let Some((found, expected)) = message.strip_prefix("invalid type: ").and_then(|m| m.split_once(", expected ")) {
        return wrong_type(found, expected);
    }
    (message.to_string(), None)
}

/// serde's "invalid type: string \"Ann\", expected a sequence" in a publisher's
/// words: what the value should be, what was written, and how to write it.
fn wrong_type(found: &str, expected: &str) -> (String, Option<String>) {
    let quoted = found.split_once(['"', '`']).map(|(_, v)| v.trim_end_matches(['"', '`']));
    let found_words = match found.split([' ', ',']).next().unwrap_or(found) {
        "string" => format!("text {}", quoted.map(|v| format!("\"{v}\"")).unwrap_or_default()).trim_end().to_string(),
        "integer" | "floating" => format!("the number {}", quoted.unwrap_or_default()).trim_end().to_string(),
        "boolean" => quoted.unwrap_or("true or false").to_string(),
        "sequence" => "a list [...]".into(),
        "map" => "a table".into(),
        other => other.to_string(),
    };
    let (expected_words, hint) = match expected {
        "a sequence" => (
            "a list",
            match quoted {
                Some(v) if found.starts_with("string") => format!("write it as a list: [\"{v}\"]"),
                _ => "write a list: [\"...\", \"...\"]".into(),
            },
        ),
        e if e.contains("string") => (
            "text",
            match quoted {
                Some(v) if !found.starts_with("string") => format!("put it in quotes: \"{v}\""),
                _ => "write the text in quotes: \"...\"".into(),
            },
        ),
        "a boolean" => ("true or false", "write true or false, without quotes".into()),
        e if e.starts_with('u') || e.starts_with('i') || e.starts_with('f') || e.contains("number") => {
            ("a number", "write the number without quotes".into())
        }
        e if e.starts_with("struct") || e.contains("map") => {
            ("a table", "write it as a [table] of `key = value` lines".into())
        }
        _ => return (format!("invalid type: {found}, expected {expected}"), None),
    };
    (format!("this must be {expected_words}, not {found_words}"), Some(hint))
}

fn first_line(message: &str) -> &str {
    message.trim().lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Rec {
        #[allow(dead_code)]
        title: String,
        #[allow(dead_code)]
        take: Option<String>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        title: String,
        #[serde(default)]
        recs: Vec<Rec>,
    }

    fn load(text: &str) -> (Option<Doc>, Diagnostics) {
        let source = SourceFile { name: "t.toml".into(), text: text.into() };
        let mut diags = Diagnostics::default();
        let doc = TomlFile::load::<Doc>(source, &mut diags).map(|(d, _)| d);
        (doc, diags)
    }

    #[test]
    fn a_value_of_the_wrong_type_is_explained_with_how_to_write_it() {
        let (message, hint) = explain("invalid type: string \"Ann Lee\", expected a sequence");
        assert_eq!(message, "this must be a list, not text \"Ann Lee\"");
        assert_eq!(hint.as_deref(), Some("write it as a list: [\"Ann Lee\"]"));
        let (message, hint) = explain("invalid type: floating point `2.5`, expected a string");
        assert_eq!(message, "this must be text, not the number 2.5");
        assert_eq!(hint.as_deref(), Some("put it in quotes: \"2.5\""));
        let (message, _) = explain("invalid type: string \"yes\", expected a boolean");
        assert_eq!(message, "this must be true or false, not text \"yes\"");
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_place() {
        let (doc, diags) =
            load("title = \"a\"\ntitel = \"b\"\n\n[[recs]]\ntitle = \"x\"\ntkae = \"\"\"\nlong\n\"\"\"\n");
        assert!(doc.is_none());
        let shown: Vec<String> = diags.items.iter().map(|d| d.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("t.toml:2:1: error: unknown key \"titel\""), "{}", shown[0]);
        assert!(shown[0].contains("did you mean \"title\"?"), "{}", shown[0]);
        assert!(shown[1].starts_with("t.toml:6:1: error: unknown key \"tkae\""), "{}", shown[1]);
        assert!(shown[1].contains("did you mean \"take\"?"), "{}", shown[1]);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let (_, diags) = load("title = \"a\nx = 1\n");
        let d = diags.items[0].to_string();
        assert!(d.starts_with("t.toml:1:"), "{d}");
        assert!(d.contains("invalid TOML"), "{d}");
    }

    #[test]
    fn missing_key_is_named() {
        let (_, diags) = load("[[recs]]\ntitle = \"x\"\n");
        let d = diags.items[0].to_string();
        assert!(d.contains("missing key \"title\""), "{d}");
    }

    #[test]
    fn span_finds_values_in_arrays_of_tables() {
        let source = SourceFile {
            name: "t".into(),
            text: "title = \"a\"\n[[recs]]\ntitle = \"x\"\n[[recs]]\ntitle = \"y\"\n".into(),
        };
        let mut diags = Diagnostics::default();
        let (_, file) = TomlFile::load::<Doc>(source, &mut diags).unwrap();
        let span = file.span(&[Seg::Key("recs"), Seg::Index(1), Seg::Key("title")]).unwrap();
        assert_eq!(&file.source.text[span], "\"y\"");
    }

    #[test]
    fn a_control_character_written_any_way_sends_the_file_to_the_full_walk() {
        for text in [
            "t = \"a\u{7}b\"",
            "t = \"a\\u0007\"",
            "t = \"\\e[0m\"",
            "t = \"\\b\"",
            "t = \"x\u{85}\"",
            "t = 'a\u{7f}'",
            "t = 'a\u{fffe}'",
            "t = 'a\u{fdd0}'",
            "t = 'a\u{10ffff}'",
        ] {
            assert!(may_hold_control_characters(text), "{text:?}");
        }
        for text in ["t = \"\"\"\nline \\\nnext\"\"\"\n", "t = \"tab\\there\\n\"", "t = \"本周亚洲 é\""] {
            assert!(!may_hold_control_characters(text), "{text:?}");
        }
        // And the fast path still reports one: parsed by serde alone, then walked.
        let (doc, diags) = load("title = \"a\\u0007\"\n");
        assert!(doc.is_none());
        assert!(
            diags.items[0].to_string().starts_with("t.toml:1:11: error: this text has an invisible control"),
            "{}",
            diags.items[0]
        );
    }
}

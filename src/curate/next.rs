//! `publish new`: the next issue's file, made from the last issue's skeleton.
//!
//! What is carried over: the section names (without their recommendations), the
//! sponsor choice (a named sponsor only as a comment, since each issue picks its
//! own: left out, the sponsors in flight take turns; `"none"` stays `"none"`) and
//! an "Our Ask" override. What is new: the number, today's date in the publication's
//! time zone and a title placeholder that `publish check` warns about. No `send_at`:
//! an example is left as a comment.

use anyhow::{Context, Result};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value, value};

use super::comment;
use crate::workspace::Workspace;
use crate::workspace::content::issue::TITLE_PLACEHOLDER;

/// The file `publish new` writes.
#[derive(Debug)]
pub struct NextIssue {
    pub number: u32,
    /// Relative to the workspace: `issues/010.toml`.
    pub file: String,
    pub date: Date,
    pub text: String,
}

/// The issue after the highest-numbered one in `ws`, dated `today`.
pub fn next_issue(ws: &Workspace, today: Date) -> Result<NextIssue> {
    let config = ws.config()?;
    let tz = config.tz();
    let (number, width, previous) = match ws.issues.last_key_value() {
        None => (1, 3, None),
        Some((&last, entry)) => {
            let path = ws.root.join(&entry.file);
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not UTF-8 text, and the next issue is made from it: run `publish check {last}`",
                    entry.file
                )
            })?;
            let doc: DocumentMut = text.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{} is not valid TOML, and the next issue is made from it: run `publish check {last}`",
                    entry.file
                )
            })?;
            let stem = entry.file.trim_start_matches("issues/");
            let width = stem.chars().take_while(char::is_ascii_digit).count();
            let send_time = entry.issue.as_ref().and_then(|i| i.send_at).map(|t| t.to_zoned(tz.clone()).time());
            (last + 1, width, Some(Previous { number: last, doc, send_time }))
        }
    };
    let text = skeleton(&config.name, number, today, &tz, previous.as_ref())?;
    Ok(NextIssue { number, file: format!("issues/{number:0width$}.toml"), date: today, text })
}

/// The last issue, as far as the next one needs it.
struct Previous {
    number: u32,
    doc: DocumentMut,
    /// Its `send_at`'s time of day, for the example in the new file.
    send_time: Option<Time>,
}

fn skeleton(publication: &str, number: u32, date: Date, tz: &TimeZone, prev: Option<&Previous>) -> Result<String> {
    let mut file = Writer::default();
    file.comment(&format!("{publication} #{number}. Sections and recommendations appear in the order written here."));
    file.comment("Text fields are Markdown; links must be full https:// URLs.");
    file.comment(&format!(
        "Add links with `publish add {number} FILE... --section NAME`, then write each take and this title."
    ));
    file.blank();
    file.key("title", value(TITLE_PLACEHOLDER));
    file.key("date", date.to_string().parse::<Value>()?);

    let at = prev.and_then(|p| p.send_time).unwrap_or(Time::constant(9, 0, 0, 0));
    let send_at = date.to_datetime(at).to_zoned(tz.clone())?;
    file.raw(&format!(
        "# send_at = {}   # uncomment for `publish cron` to send it\n",
        send_at.strftime("%Y-%m-%dT%H:%M:%S%:z")
    ));
    file.raw("# preheader = \"\"   # the line inbox previews show after the subject\n");

    let old = |key| prev.and_then(|p| p.doc.get(key)).and_then(Item::as_value).map(bare);
    match old("sponsor") {
        Some(v) if v.as_str() == Some("none") => file.key("sponsor", v),
        Some(v) => file.raw(&format!(
            "# sponsor = {v}   # issue {}'s sponsor: uncomment to keep it; left out, the sponsors in flight take turns\n",
            prev.map_or(0, |p| p.number)
        )),
        None => file.raw("# sponsor = \"none\"   # or an id from sponsors.toml; left out, the sponsors in flight take turns\n"),
    }
    if let Some(ask) = old("ask") {
        file.blank();
        file.comment(&format!(
            "Issue {}'s \"Our Ask\", instead of the standing one in publish.toml.",
            prev.map_or(0, |p| p.number)
        ));
        file.key("ask", ask);
    }
    file.blank();
    file.key("intro", "\"\"\"\n\"\"\"".parse::<Value>()?);

    let names = prev.map(|p| section_names(&p.doc)).unwrap_or_default();
    if names.is_empty() {
        file.blank();
        file.comment(&format!("No sections yet: `publish add {number} FILE --section NAME --new-section` starts one."));
    } else {
        let mut sections = ArrayOfTables::new();
        for name in names {
            let mut table = Table::new();
            table.decor_mut().set_prefix("\n");
            table.insert("name", value(name));
            sections.push(table);
        }
        file.doc.insert("sections", Item::ArrayOfTables(sections));
    }
    Ok(file.finish())
}

/// The names of the last issue's sections, in order.
fn section_names(doc: &DocumentMut) -> Vec<String> {
    let name = |t: &dyn toml_edit::TableLike| t.get("name").and_then(Item::as_str).map(str::to_string);
    match doc.get("sections") {
        Some(Item::ArrayOfTables(a)) => a.iter().filter_map(|t| name(t)).collect(),
        Some(Item::Value(Value::Array(a))) => {
            a.iter().filter_map(Value::as_inline_table).filter_map(|t| name(t)).collect()
        }
        _ => Vec::new(),
    }
}

/// A value as written (quotes and all), without the spacing around it.
fn bare(v: &Value) -> Value {
    let mut v = v.clone();
    v.decor_mut().clear();
    v
}

/// Builds a document top to bottom: comments wait for the key they precede.
#[derive(Default)]
struct Writer {
    doc: DocumentMut,
    pending: String,
}

impl Writer {
    fn comment(&mut self, text: &str) {
        self.pending.push_str(&comment(text, ""));
    }

    fn raw(&mut self, line: &str) {
        self.pending.push_str(line);
    }

    fn blank(&mut self) {
        self.pending.push('\n');
    }

    fn key(&mut self, key: &str, value: impl Into<Item>) {
        self.doc.insert(key, value.into());
        let prefix = std::mem::take(&mut self.pending);
        if let Some(mut k) = self.doc.key_mut(key) {
            k.leaf_decor_mut().set_prefix(prefix);
        }
    }

    fn finish(mut self) -> String {
        let trailing = std::mem::take(&mut self.pending);
        self.doc.set_trailing(trailing);
        self.doc.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous(text: &str) -> Previous {
        Previous { number: 9, doc: text.parse().unwrap(), send_time: None }
    }

    fn make(prev: Option<&Previous>) -> String {
        let sg = TimeZone::get("Asia/Singapore").unwrap();
        skeleton("This Week in Asia", 10, jiff::civil::date(2024, 3, 8), &sg, prev).unwrap()
    }

    #[test]
    fn carries_sections_and_comments_out_a_named_sponsor() {
        let prev = previous(
            "title = \"Old\"\ndate = 2024-03-01\nsponsor = \"esevel\"\nintro = \"x\"\n\n\
             [[sections]]\nname = \"AI\"\n\n[[sections.recommendations]]\ntitle = \"t\"\nurl = \"https://a.b/\"\n\n\
             [[sections]]\nname = \"China\"\n",
        );
        let text = make(Some(&prev));
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["title"].as_str(), Some(TITLE_PLACEHOLDER));
        assert_eq!(doc["date"].to_string(), "2024-03-08");
        assert_eq!(doc["intro"].as_str(), Some(""));
        assert!(!doc.contains_key("sponsor") && !doc.contains_key("send_at"), "{text}");
        assert!(text.contains("\n# sponsor = \"esevel\"   # issue 9's sponsor: uncomment"), "{text}");
        assert!(text.contains("\n# send_at = 2024-03-08T09:00:00+08:00   # uncomment"), "{text}");
        let sections = doc["sections"].as_array().unwrap();
        let names: Vec<_> = sections.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["AI", "China"]);
        assert!(sections.iter().all(|s| s.get("recommendations").is_none()), "{text}");
        assert!(
            text.contains("intro = \"\"\"\n\"\"\"\n\n[[sections]]\nname = \"AI\"\n\n[[sections]]\nname = \"China\"\n"),
            "{text}"
        );
    }

    #[test]
    fn keeps_no_sponsor_and_the_ask_as_written() {
        let prev = previous("title = \"Old\"\nsponsor = \"none\"\nask = '''\nPlease *share*.\n'''\n");
        let text = make(Some(&prev));
        assert!(text.contains("\nsponsor = \"none\"\n"), "{text}");
        assert!(text.contains("\nask = '''\nPlease *share*.\n'''\n"), "{text}");
        assert!(text.contains("No sections yet"), "{text}");
    }

    #[test]
    fn rotation_stays_rotation() {
        let text = make(Some(&previous("title = \"Old\"\n")));
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert!(!doc.contains_key("sponsor"));
        assert!(text.contains("# sponsor = \"none\"   # or an id from sponsors.toml"), "{text}");
    }
}

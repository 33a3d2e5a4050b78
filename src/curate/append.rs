//! `publish add`: link records become recommendations at the end of one section
//! of an issue file. The file is edited in place: only the new tables are added,
//! every other byte stays as the publisher wrote it.
//!
//! A recommendation made from a record has its title, URL and source; its published
//! date and topics are a comment, and the record's excerpt is a commented draft above
//! an empty `take`, so that `publish check` reminds the publisher to write it.

use std::ops::Range;

use jiff::tz::TimeZone;
use toml_edit::{ArrayOfTables, Document, DocumentMut, Item, Table, TableLike, Value, value};

use super::comment;
use super::link::link_key;
use crate::diag::{Diagnostic, Diagnostics, Severity, SourceFile, nearest};
use crate::workspace::content::record::LinkRecord;

/// What to add where.
pub struct Addition<'a> {
    /// The section's name, as in `name = "..."`.
    pub section: &'a str,
    /// Create the section (at the end) when the issue has none of that name.
    pub new_section: bool,
    pub records: &'a [LinkRecord],
    /// The publication's time zone, for the records' dates.
    pub tz: &'a TimeZone,
}

/// The issue file's text with the records added; `None` when anything is wrong
/// (each problem reported to `diags`): then nothing is to be written.
pub fn add(issue: &SourceFile, what: &Addition, diags: &mut Diagnostics) -> Option<String> {
    let before = diags.error_count();
    let parsed = match Document::parse(issue.text.clone()) {
        Ok(doc) => doc,
        Err(e) => {
            diags.push(
                issue
                    .diag(Severity::Error, e.span(), "invalid TOML: records can only be added to a valid file")
                    .with_hint("run `publish check` and fix this first"),
            );
            return None;
        }
    };
    let existing = links_in(&parsed, issue);
    let mut doc = parsed.into_mut();

    let names = section_names(&doc);
    let wanted = what.section.trim();
    let index = names.iter().position(|n| n.trim() == wanted);
    if wanted.is_empty() {
        // `publish check` refuses a section without a name.
        diags.push(
            Diagnostic::file(Severity::Error, &issue.name, "--section is empty: a section needs a name")
                .with_hint("give the section's name, e.g. --section \"AI\""),
        );
    } else if let Some(c) = wanted.chars().find(|&c| c.is_control()) {
        // A heading is one line of text; a pasted line break or control character is a slip.
        let what = if matches!(c, '\n' | '\r') { "a line break".to_string() } else { crate::text::not_text_name(c) };
        diags.push(
            Diagnostic::file(Severity::Error, &issue.name, format!("--section has {what}"))
                .with_hint("give the section's name on one line"),
        );
    } else if index.is_none() && !what.new_section {
        let hint = match nearest(wanted, names.iter().map(String::as_str)) {
            Some(near) => format!("did you mean \"{near}\"? (or pass --new-section to start a section \"{wanted}\")"),
            None if names.is_empty() => "it has no sections: pass --new-section to start one".to_string(),
            None => format!(
                "its sections are: {}; pass --new-section to start a new one",
                names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
            ),
        };
        diags.push(Diagnostic::file(Severity::Error, &issue.name, format!("no section \"{wanted}\"")).with_hint(hint));
    }

    let mut adding: Vec<(String, &LinkRecord)> = Vec::new();
    for record in what.records {
        let key = link_key(&record.url);
        if let Some(old) = existing.iter().find(|l| l.key == key) {
            diags.push(
                record.diag_at_url(Severity::Error, "this link is already in the issue").with_hint(format!(
                    "{}:{}: \"{}\", in section \"{}\"",
                    issue.name, old.line, old.title, old.section
                )),
            );
        } else if let Some((_, first)) = adding.iter().find(|(k, _)| *k == key) {
            diags.push(
                record
                    .diag_at_url(Severity::Error, "this link is also in another record given")
                    .with_hint(format!("{} has it too: add only one of them", first.source.name)),
            );
        } else {
            adding.push((key, record));
        }
    }
    if diags.error_count() > before {
        return None;
    }

    if sections_mut(&mut doc).is_none() {
        diags.push(
            issue
                .diag(Severity::Error, None, "`sections` is not written as [[sections]] tables")
                .with_hint("write each section as [[sections]] with name = \"...\", then add again"),
        );
        return None;
    }
    let section = match index {
        Some(i) => sections_mut(&mut doc).and_then(|s| s.get_mut(i)).expect("the index of a section found"),
        None => {
            // Comments at the end of the file belong to the last section: the new one goes after them.
            let trailing = doc.trailing().as_str().unwrap_or_default().trim_end().to_string();
            doc.set_trailing("");
            let prefix = if trailing.is_empty() { "\n".to_string() } else { format!("{trailing}\n\n") };
            let sections = sections_mut(&mut doc).expect("checked above");
            let mut table = Table::new();
            table.decor_mut().set_prefix(prefix);
            table.insert("name", value(wanted));
            sections.push(table);
            sections.get_mut(sections.len() - 1).expect("just pushed")
        }
    };
    let recommendations = section.entry("recommendations").or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    let Some(recommendations) = recommendations.as_array_of_tables_mut() else {
        diags.push(
            issue
                .diag(Severity::Error, None, format!("the recommendations of section \"{wanted}\" are an inline list"))
                .with_hint("write each as [[sections.recommendations]], then add again"),
        );
        return None;
    };
    for (_, record) in adding {
        recommendations.push(recommendation(record, what.tz));
    }
    let text = in_the_file_s_style(&issue.text, doc.to_string());
    debug_assert!(text.parse::<DocumentMut>().is_ok(), "the edited file is TOML:\n{text}");
    Some(text)
}

/// `edited` with the line ends and byte-order mark of `original`. toml_edit writes
/// every line break outside strings as `\n` and drops a leading BOM, so a file
/// saved on Windows (CRLF, often with a BOM) would otherwise change on every line.
/// The file's style is that of most of its lines.
fn in_the_file_s_style(original: &str, edited: String) -> String {
    let bom = original.starts_with('\u{feff}') && !edited.starts_with('\u{feff}');
    let crlf = original.matches("\r\n").count() * 2 > original.matches('\n').count();
    if !bom && !crlf {
        return edited;
    }
    let mut out = String::with_capacity(edited.len() + edited.len() / 16 + 3);
    if bom {
        out.push('\u{feff}');
    }
    if !crlf {
        out.push_str(&edited);
        return out;
    }
    let mut after_cr = false;
    for c in edited.chars() {
        if c == '\n' && !after_cr {
            out.push('\r');
        }
        out.push(c);
        after_cr = c == '\r';
    }
    out
}

/// The recommendation a record becomes.
fn recommendation(record: &LinkRecord, tz: &TimeZone) -> Table {
    let mut table = Table::new();
    table.decor_mut().set_prefix("\n");
    table.insert("title", value(record.title.as_str()));
    table.insert("url", value(record.url.as_str()));
    if let Some(source) = &record.source_name {
        table.insert("source", value(source.as_str()));
    }
    table.insert("take", Item::Value("\"\"\"\n\"\"\"".parse().expect("an empty multi-line string")));

    let mut about = Vec::new();
    if let Some(published) = record.published {
        about.push(format!("Published {}.", published.to_zoned(tz.clone()).date()));
    }
    if !record.topics.is_empty() {
        about.push(format!("Topics: {}.", record.topics.join(", ")));
    }
    if !about.is_empty() {
        set_comment(&mut table, "title", comment(&about.join(" "), ""));
    }
    let mut draft = comment("Our Take, in Markdown, goes between the quotes below.", "");
    if let Some(excerpt) = &record.excerpt {
        draft =
            comment("Our Take, in Markdown, goes between the quotes below. The record's excerpt, to start from:", "");
        draft.push_str(&comment(excerpt, "  "));
    }
    set_comment(&mut table, "take", draft);
    table
}

fn set_comment(table: &mut Table, key: &str, comment: String) {
    if let Some(mut k) = table.key_mut(key) {
        k.leaf_decor_mut().set_prefix(comment);
    }
}

fn sections_mut(doc: &mut DocumentMut) -> Option<&mut ArrayOfTables> {
    doc.entry("sections").or_insert(Item::ArrayOfTables(ArrayOfTables::new())).as_array_of_tables_mut()
}

fn section_names(doc: &DocumentMut) -> Vec<String> {
    tables(doc.get("sections")).map(|t| t.get("name").and_then(Item::as_str).unwrap_or_default().to_string()).collect()
}

/// The tables of an array of tables or of an inline array of tables.
fn tables<'a>(item: Option<&'a Item>) -> Box<dyn Iterator<Item = &'a dyn TableLike> + 'a> {
    match item {
        Some(Item::ArrayOfTables(a)) => Box::new(a.iter().map(|t| t as &dyn TableLike)),
        Some(Item::Value(Value::Array(a))) => {
            Box::new(a.iter().filter_map(Value::as_inline_table).map(|t| t as &dyn TableLike))
        }
        _ => Box::new(std::iter::empty()),
    }
}

/// A link already in the issue.
struct Link {
    key: String,
    line: usize,
    title: String,
    section: String,
}

/// Every recommendation's link and every related link in the issue.
fn links_in(doc: &Document<String>, issue: &SourceFile) -> Vec<Link> {
    let line = |span: Option<Range<usize>>| span.map_or(0, |s| issue.text[..s.start].matches('\n').count() + 1);
    let mut links = Vec::new();
    for section in tables(doc.get("sections")) {
        let section_name = section.get("name").and_then(Item::as_str).unwrap_or_default();
        for rec in tables(section.get("recommendations")) {
            let title = rec.get("title").and_then(Item::as_str).unwrap_or_default();
            let related = tables(rec.get("related")).map(|r| r.get("url"));
            for url in std::iter::once(rec.get("url")).chain(related).flatten() {
                if let Some(text) = url.as_str() {
                    links.push(Link {
                        key: link_key(text),
                        line: line(url.span()),
                        title: title.to_string(),
                        section: section_name.to_string(),
                    });
                }
            }
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = "# The issue.\ntitle = \"T\"   # keep this comment\ndate = 2024-03-08\n\n\
        [[sections]]\nname = \"AI\"\n\n[[sections.recommendations]]\ntitle = \"Old\"\nurl = \"https://example.com/old/\"\n\
        take = '''\nMine.\n'''\n\n# ---- a rule\n[[sections]]\nname = \"China\"\n# Nothing this week.\n";

    fn record(name: &str, url: &str) -> LinkRecord {
        let text = format!(
            "---\ntitle: \"New {name}\"\noriginalUrl: {url}\npublishedDateTime: 2023-06-14T16:00:00Z\n\
             excerpt: A draft.\nprovider:\n  name: Source\ntopics: [AI, Asia]\n---\n"
        );
        let mut diags = Diagnostics::default();
        LinkRecord::parse(SourceFile { name: format!("{name}.md"), text }, &mut diags).expect("a valid record")
    }

    fn run(section: &str, new_section: bool, records: &[LinkRecord]) -> (Option<String>, Vec<String>) {
        let issue = SourceFile { name: "issues/010.toml".into(), text: ISSUE.into() };
        let tz = TimeZone::get("Asia/Singapore").unwrap();
        let mut diags = Diagnostics::default();
        let text = add(&issue, &Addition { section, new_section, records, tz: &tz }, &mut diags);
        (text, diags.items.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn appends_to_the_section_and_keeps_everything_else() {
        let (text, diags) =
            run("AI", false, &[record("a", "https://example.com/a"), record("b", "https://example.com/b")]);
        assert!(diags.is_empty(), "{diags:?}");
        let text = text.unwrap();
        let at = ISSUE.find("\n# ---- a rule").unwrap();
        assert!(text.starts_with(&ISSUE[..at]), "{text}");
        assert!(text.ends_with(&ISSUE[at..]), "{text}");
        let added = &text[at..text.len() - (ISSUE.len() - at)];
        assert_eq!(
            added,
            "\n[[sections.recommendations]]\n# Published 2023-06-15. Topics: AI, Asia.\ntitle = \"New a\"\n\
             url = \"https://example.com/a\"\nsource = \"Source\"\n\
             # Our Take, in Markdown, goes between the quotes below. The record's excerpt, to start from:\n\
             #   A draft.\ntake = \"\"\"\n\"\"\"\n\n[[sections.recommendations]]\n\
             # Published 2023-06-15. Topics: AI, Asia.\ntitle = \"New b\"\nurl = \"https://example.com/b\"\n\
             source = \"Source\"\n# Our Take, in Markdown, goes between the quotes below. The record's excerpt, to start from:\n\
             #   A draft.\ntake = \"\"\"\n\"\"\"\n"
        );
    }

    #[test]
    fn an_empty_section_gets_its_first_recommendation() {
        let (text, _) = run("China", false, &[record("a", "https://example.com/a")]);
        let text = text.unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let china = &doc["sections"].as_array().unwrap()[1];
        assert_eq!(china["recommendations"].as_array().unwrap()[0]["title"].as_str(), Some("New a"));
        assert!(text.starts_with(ISSUE.trim_end_matches("# Nothing this week.\n")), "{text}");
    }

    #[test]
    fn new_section_goes_last() {
        let (text, diags) = run("Japan", true, &[record("a", "https://example.com/a")]);
        assert!(diags.is_empty(), "{diags:?}");
        let text = text.unwrap();
        assert!(text.starts_with(ISSUE), "the comment at the end stays with China: {text}");
        assert!(text[ISSUE.len()..].starts_with("\n[[sections]]\nname = \"Japan\"\n\n[[sections.recommendations]]\n"));
    }

    #[test]
    fn refuses_a_link_already_there_or_given_twice() {
        let (text, diags) = run("AI", false, &[record("a", "http://EXAMPLE.com/old?utm_source=x")]);
        assert!(text.is_none());
        assert!(diags[0].starts_with("a.md:3:14: error: this link is already in the issue"), "{diags:?}");
        assert!(diags[0].contains("issues/010.toml:10: \"Old\", in section \"AI\""), "{diags:?}");
        let (text, diags) =
            run("AI", false, &[record("a", "https://example.com/a"), record("b", "https://example.com/a/")]);
        assert!(text.is_none());
        assert!(diags[0].starts_with("b.md:3:14: error: this link is also in another record"), "{diags:?}");
    }

    #[test]
    fn a_windows_file_keeps_its_crlf_line_ends_and_byte_order_mark() {
        let windows = format!("\u{feff}{}", ISSUE.replace('\n', "\r\n"));
        let issue = SourceFile { name: "issues/010.toml".into(), text: windows.clone() };
        let records = [record("a", "https://example.com/a")];
        let tz = TimeZone::UTC;
        let mut diags = Diagnostics::default();
        let text = add(&issue, &Addition { section: "AI", new_section: false, records: &records, tz: &tz }, &mut diags)
            .expect("added");
        let at = windows.find("\r\n# ---- a rule").unwrap();
        assert!(text.starts_with(&windows[..at]), "{text:?}");
        assert!(text.ends_with(&windows[at..]), "{text:?}");
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "every line ends in CRLF: {text:?}");
    }

    #[test]
    fn a_blank_section_name_is_refused_even_as_a_new_section() {
        for name in ["", "   "] {
            let (text, diags) = run(name, true, &[record("a", "https://example.com/a")]);
            assert!(text.is_none(), "{name:?}");
            assert!(diags[0].contains("error: --section is empty: a section needs a name"), "{diags:?}");
        }
    }

    #[test]
    fn a_section_name_on_two_lines_is_refused() {
        let (text, diags) = run("Two\nlines", true, &[record("a", "https://example.com/a")]);
        assert!(text.is_none());
        assert!(diags[0].contains("error: --section has a line break"), "{diags:?}");
    }

    #[test]
    fn unknown_section_suggests_the_nearest() {
        let (text, diags) = run("Chnia", false, &[record("a", "https://example.com/a")]);
        assert!(text.is_none());
        assert!(diags[0].contains("no section \"Chnia\""), "{diags:?}");
        assert!(diags[0].contains("did you mean \"China\"?"), "{diags:?}");
    }
}

//! `publish stats --links`: what readers opened of each issue built with
//! counted links (`[insight] clicks`), per link (recommendation, section,
//! source), per section and for the sponsor; and what was kept out as bots.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;

use crate::assemble::links::{LinkKind, LinkMap};
use crate::deliver::store::clicks::{ClickRow, issues_with_links, load_links};
use crate::publication::Publication;

/// One link's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkFigures {
    pub issue: u32,
    pub id: String,
    pub kind: LinkKind,
    pub url: String,
    pub title: Option<String>,
    pub section: Option<String>,
    pub source: Option<String>,
    pub clicks: u64,
    /// Distinct clients (a client is a keyed hash per day) among `clicks`.
    pub unique: u64,
    /// Clicks kept out: scanners' user agents, HEAD, the canary's client, bursts.
    pub discarded: u64,
    /// Of the issue's counted clicks (0 to 1).
    pub share: f64,
}

/// One section's figures (its recommendations' links and the links in their takes).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SectionFigures {
    pub section: String,
    pub clicks: u64,
    pub unique: u64,
    /// Of the counted clicks of the issue (or, across issues, of all issues).
    pub share: f64,
}

/// One issue's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IssueLinks {
    pub issue: u32,
    pub clicks: u64,
    pub unique: u64,
    pub discarded: u64,
    pub links: Vec<LinkFigures>,
    pub sections: Vec<SectionFigures>,
}

/// `stats --links`: every issue asked for, and (across issues) the sections of all.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkStats {
    pub issues: Vec<IssueLinks>,
    /// Across the issues listed.
    pub sections: Vec<SectionFigures>,
}

impl Publication {
    /// The click figures of issue `only`, or of every issue built with counted links.
    pub fn link_stats(&self, only: Option<u32>) -> Result<LinkStats> {
        let state = self.ws.state_dir();
        let numbers = match only {
            Some(n) => vec![n],
            None => issues_with_links(&state)?,
        };
        let store = self.store()?;
        let mut issues = Vec::new();
        for n in numbers {
            let Some(map) = load_links(&state, n)? else {
                anyhow::bail!(
                    "issue {n} has no counted links: set `clicks = true` under [insight] in publish.toml \
                     and build or send it again"
                );
            };
            issues.push(issue_figures(&map, &store.clicks(n)?));
        }
        let total: u64 = issues.iter().map(|i| i.clicks).sum();
        let sections = section_totals(issues.iter().flat_map(|i| i.links.iter()), total, None);
        Ok(LinkStats { issues, sections })
    }
}

impl Publication {
    /// Issue `n`'s click figures for the preview: only once it has been sent
    /// with counted links (`None` before, and when there is no state yet).
    /// Reads the state without writing or migrating it.
    pub fn sent_link_figures(&self, n: u32) -> Result<Option<IssueLinks>> {
        let state = self.ws.state_dir();
        let Some(store) = crate::deliver::store::Store::open_read_only(&self.state_location()?)? else {
            return Ok(None);
        };
        if !store.issue_runs()?.iter().any(|(issue, _)| *issue == n) {
            return Ok(None);
        }
        let Some(map) = load_links(&state, n)? else { return Ok(None) };
        Ok(Some(issue_figures(&map, &store.clicks(n)?)))
    }
}

/// The figures beside each recommendation, as an HTML table (the preview's).
pub fn to_html(figures: &IssueLinks) -> String {
    use crate::text::escape_html;
    let mut html = format!(
        "<section id=\"clicks\"><h2>Clicks since it was sent</h2><p>{} counted ({} unique), {} discarded as bots</p>\
         <table><tr><th>link</th><th>clicks</th><th>unique</th><th>share</th></tr>",
        figures.clicks, figures.unique, figures.discarded
    );
    for l in figures.links.iter().filter(|l| matches!(l.kind, LinkKind::Recommendation | LinkKind::Sponsor)) {
        let label = match l.kind {
            LinkKind::Sponsor => format!("Sponsor: {}", l.title.as_deref().unwrap_or(&l.url)),
            _ => l.title.clone().unwrap_or_else(|| l.url.clone()),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape_html(&label),
            l.clicks,
            l.unique,
            l.share * 100.0
        ));
    }
    for s in &figures.sections {
        html.push_str(&format!(
            "<tr><td><b>Section: {}</b></td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape_html(&s.section),
            s.clicks,
            s.unique,
            s.share * 100.0
        ));
    }
    html.push_str("</table></section>");
    html
}

fn share(part: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { part as f64 / total as f64 }
}

fn issue_figures(map: &LinkMap, rows: &[ClickRow]) -> IssueLinks {
    let counted: u64 = rows.iter().map(|r| r.counted).sum();
    let discarded: u64 = rows.iter().map(|r| r.discarded).sum();
    let unique = rows.iter().filter(|r| r.counted > 0).map(|r| r.client.as_str()).collect::<BTreeSet<_>>().len();
    let links: Vec<LinkFigures> = map
        .links
        .iter()
        .filter(|l| l.kind != LinkKind::Canary)
        .map(|l| {
            let mine = rows.iter().filter(|r| r.link == l.id);
            let clicks: u64 = mine.clone().map(|r| r.counted).sum();
            LinkFigures {
                issue: map.issue,
                id: l.id.clone(),
                kind: l.kind,
                url: l.url.clone(),
                title: l.title.clone(),
                section: l.section.clone(),
                source: l.source.clone(),
                clicks,
                unique: mine.clone().filter(|r| r.counted > 0).count() as u64,
                discarded: mine.map(|r| r.discarded).sum(),
                share: share(clicks, counted),
            }
        })
        .collect();
    let sections = section_totals(links.iter(), counted, Some(rows));
    IssueLinks { issue: map.issue, clicks: counted, unique: unique as u64, discarded, links, sections }
}

/// Per section: clicks summed, unique clients counted once across the
/// section's links when the rows are at hand (one issue), else summed.
fn section_totals<'a>(
    links: impl Iterator<Item = &'a LinkFigures>,
    total: u64,
    rows: Option<&[ClickRow]>,
) -> Vec<SectionFigures> {
    let mut by: BTreeMap<String, (u64, u64, BTreeSet<&str>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for l in links {
        let Some(section) = &l.section else { continue };
        if !by.contains_key(section) {
            order.push(section.clone());
        }
        let entry = by.entry(section.clone()).or_default();
        entry.0 += l.clicks;
        entry.1 += l.unique;
        if let Some(rows) = rows {
            entry.2.extend(rows.iter().filter(|r| r.link == l.id && r.counted > 0).map(|r| r.client.as_str()));
        }
    }
    order
        .into_iter()
        .map(|section| {
            let (clicks, summed, clients) = &by[&section];
            let unique = if rows.is_some() { clients.len() as u64 } else { *summed };
            SectionFigures { share: share(*clicks, total), section, clicks: *clicks, unique }
        })
        .collect()
}

/// The figures as a table for the terminal.
pub fn to_table(stats: &LinkStats) -> String {
    let mut out = String::new();
    let percent = |share: f64| format!("{:.0}%", share * 100.0);
    for issue in &stats.issues {
        out.push_str(&format!(
            "issue {}: {} clicks counted ({} unique), {} discarded (scanners, canary, bursts, HEAD)\n",
            issue.issue, issue.clicks, issue.unique, issue.discarded
        ));
        out.push_str("  clicks  unique  share  discarded  link\n");
        for l in &issue.links {
            let what = match l.kind {
                LinkKind::Sponsor => format!("sponsor: {}", l.title.as_deref().unwrap_or(&l.url)),
                LinkKind::Recommendation => {
                    let source = l.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
                    let section = l.section.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
                    format!("{}{source}{section}", l.title.as_deref().unwrap_or(&l.url))
                }
                _ => format!("  {}", l.url),
            };
            out.push_str(&format!(
                "  {:>6}  {:>6}  {:>5}  {:>9}  {what}\n",
                l.clicks,
                l.unique,
                percent(l.share),
                l.discarded
            ));
        }
        for s in &issue.sections {
            out.push_str(&format!(
                "  {:>6}  {:>6}  {:>5}  {:>9}  section: {}\n",
                s.clicks,
                s.unique,
                percent(s.share),
                "",
                s.section
            ));
        }
        out.push('\n');
    }
    if stats.issues.len() > 1 {
        out.push_str("all issues, per section\n");
        for s in &stats.sections {
            out.push_str(&format!("  {:>6}  {:>6}  {:>5}  {}\n", s.clicks, s.unique, percent(s.share), s.section));
        }
    }
    out
}

/// The figures as CSV: one row per link, per section of an issue, per issue,
/// and (across issues) per section of all, told apart by the `row` column.
pub fn to_csv(stats: &LinkStats) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "row",
        "issue",
        "kind",
        "section",
        "title",
        "source",
        "url",
        "clicks",
        "unique",
        "discarded",
        "share",
    ])?;
    let n = |v: u64| v.to_string();
    let share = |v: f64| format!("{v:.4}");
    let none = String::new();
    for issue in &stats.issues {
        let number = issue.issue.to_string();
        for l in &issue.links {
            let kind = serde_json::to_value(l.kind)?.as_str().unwrap_or_default().to_string();
            w.write_record([
                "link",
                &number,
                &kind,
                l.section.as_ref().unwrap_or(&none),
                l.title.as_ref().unwrap_or(&none),
                l.source.as_ref().unwrap_or(&none),
                &l.url,
                &n(l.clicks),
                &n(l.unique),
                &n(l.discarded),
                &share(l.share),
            ])?;
        }
        for s in &issue.sections {
            section_row(&mut w, &number, s)?;
        }
        w.write_record([
            "issue",
            &number,
            "",
            "",
            "",
            "",
            "",
            &n(issue.clicks),
            &n(issue.unique),
            &n(issue.discarded),
            &share(1.0),
        ])?;
    }
    if stats.issues.len() > 1 {
        for s in &stats.sections {
            section_row(&mut w, "", s)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// One section's CSV row: of one issue (`number`), or across issues (`""`).
fn section_row(w: &mut csv::Writer<Vec<u8>>, number: &str, s: &SectionFigures) -> csv::Result<()> {
    w.write_record([
        "section",
        number,
        "",
        &s.section,
        "",
        "",
        "",
        &s.clicks.to_string(),
        &s.unique.to_string(),
        "",
        &format!("{:.4}", s.share),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::links::LinkEntry;

    fn entry(id: &str, kind: LinkKind, section: Option<&str>) -> LinkEntry {
        LinkEntry {
            id: id.into(),
            url: format!("https://x.example/{id}"),
            kind,
            title: Some(id.to_uppercase()),
            section: section.map(str::to_string),
            source: None,
        }
    }

    fn row(link: &str, client: &str, counted: u64, discarded: u64) -> ClickRow {
        ClickRow { link: link.into(), client: client.into(), counted, discarded }
    }

    #[test]
    fn figures_per_link_and_section_count_a_client_once_and_share_the_issues_clicks() {
        let map = LinkMap {
            issue: 9,
            links: vec![
                entry("a", LinkKind::Recommendation, Some("Asia")),
                entry("b", LinkKind::Link, Some("Asia")),
                entry("s", LinkKind::Sponsor, None),
                entry("c", LinkKind::Canary, None),
            ],
        };
        let rows = [row("a", "d/p1", 2, 0), row("b", "d/p1", 1, 0), row("s", "d/p2", 1, 3), row("a", "d/bot", 0, 5)];
        let figures = issue_figures(&map, &rows);
        assert_eq!((figures.clicks, figures.unique, figures.discarded), (4, 2, 8));
        assert_eq!(figures.links.len(), 3, "the canary is no link of the figures");
        let a = &figures.links[0];
        assert_eq!((a.clicks, a.unique, a.discarded, a.share), (2, 1, 5, 0.5));
        assert_eq!(figures.sections.len(), 1);
        let asia = &figures.sections[0];
        assert_eq!((asia.section.as_str(), asia.clicks, asia.unique, asia.share), ("Asia", 3, 1, 0.75));
    }

    #[test]
    fn csv_has_a_header_and_quotes_commas_and_quotes() {
        let mut e = entry("a", LinkKind::Recommendation, Some("Japan, Korea"));
        e.title = Some("Say \"hi\", then go".into());
        let stats = LinkStats {
            issues: vec![issue_figures(&LinkMap { issue: 9, links: vec![e] }, &[row("a", "d/p", 1, 0)])],
            sections: Vec::new(),
        };
        let csv = to_csv(&stats).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("row,issue,kind,section,title,source,url,clicks,unique,discarded,share"));
        assert_eq!(
            lines.next(),
            Some(
                "link,9,recommendation,\"Japan, Korea\",\"Say \"\"hi\"\", then go\",,https://x.example/a,1,1,0,1.0000"
            )
        );
        let parsed: Vec<csv::StringRecord> =
            csv::Reader::from_reader(csv.as_bytes()).records().collect::<Result<_, _>>().unwrap();
        assert_eq!(&parsed[0][4], "Say \"hi\", then go");
    }
}

//! Issue + sponsors + settings → the render-ready edition. Pure: reads no files,
//! sends nothing; every template sees exactly this.

pub mod feed;
pub mod links;

use serde::Serialize;

use crate::assemble::links::{LinkKind, LinkMap, Linker, Place};
use crate::text::markdown::{self, LinkRefs};
use crate::text::url::linkable;
use crate::workspace::config::Config;
use crate::workspace::content::issue::{Issue, Recommendation};
use crate::workspace::content::sponsor::Sponsors;

/// Markdown rendered three ways.
#[derive(Debug, Clone, Serialize)]
pub struct Rich {
    pub html: String,
    /// Plain text with numbered link references ("this article [3]").
    pub text: String,
    /// One line of plain text without link references, for social posts.
    pub plain: String,
}

impl Rich {
    fn new(markdown: &str, refs: &mut LinkRefs, linker: &mut Linker) -> Rich {
        let mut map = |url: &str| linker.url(url, LinkKind::Link);
        Rich {
            html: markdown::to_html_with(markdown, &mut map),
            text: markdown::to_text_with(markdown, refs, &mut map),
            plain: markdown::to_plain(markdown),
        }
    }
}

/// Everything a template needs about one issue.
#[derive(Debug, Clone, Serialize)]
pub struct Edition {
    pub publication: Publication,
    pub number: u32,
    pub title: String,
    /// "This Week in Asia #9: China AI dreams of Sora".
    pub subject: String,
    /// "2024-03-01".
    pub date: String,
    /// "1 March 2024".
    pub date_display: String,
    pub preheader: String,
    pub intro: Rich,
    pub sections: Vec<SectionOut>,
    pub sponsor: Option<SponsorOut>,
    pub ask: Option<AskOut>,
    pub image: Option<ImageOut>,
    /// The issue's web page ("view in browser").
    pub web_url: String,
    /// The archive of every issue.
    pub archive_url: String,
    /// Every link of the plain-text part, numbered from 1.
    pub links: Vec<LinkRef>,
    pub recommendation_count: usize,
    /// The invisible link only scanners follow, when links are counted.
    #[serde(skip)]
    pub canary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub language: String,
    pub sender_name: String,
    pub sender_email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionOut {
    pub name: String,
    /// An id for in-page links ("japan-korea-taiwan-hong-kong").
    pub anchor: String,
    pub recommendations: Vec<RecOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecOut {
    pub title: String,
    pub url: String,
    /// Its number among the plain-text links.
    pub ref_n: usize,
    pub authors: Vec<String>,
    /// "Coco Feng and Ben Jiang".
    pub authors_display: String,
    pub source: Option<String>,
    /// "by Coco Feng and Ben Jiang from South China Morning Post".
    pub byline: String,
    pub take: Option<Rich>,
    pub related: Vec<RelatedOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedOut {
    pub title: String,
    pub url: String,
    pub ref_n: usize,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SponsorOut {
    pub id: String,
    pub name: String,
    pub url: String,
    pub ref_n: usize,
    pub copy: Rich,
    pub referral_code: Option<String>,
    pub offer: Option<String>,
    pub terms: Option<String>,
    pub cta: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AskOut {
    pub body: Rich,
    pub links: Vec<LinkOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkOut {
    pub label: String,
    pub url: String,
    pub ref_n: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageOut {
    /// Absolute URL of the picture, when there is one.
    pub url: Option<String>,
    pub alt: String,
    /// The picture's size in pixels, when read from its file.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub credit: Option<Rich>,
    pub generator: Option<String>,
    pub prompt: Option<String>,
    pub generation_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkRef {
    pub n: usize,
    pub url: String,
}

/// Builds the edition of `issue`, every link as written.
pub fn edition(issue: &Issue, config: &Config, sponsors: &Sponsors) -> Edition {
    edition_with(issue, config, sponsors, &mut Linker::plain())
}

/// Builds the edition of `issue` with counted links (`[insight] clicks`), and
/// the map of its links.
pub fn counted_edition(issue: &Issue, config: &Config, sponsors: &Sponsors) -> (Edition, LinkMap) {
    let mut linker = Linker::counted(config.base(), issue.number);
    let mut edition = edition_with(issue, config, sponsors, &mut linker);
    edition.canary = linker.canary();
    let map = linker.into_map(&edition.web_url).unwrap_or_default();
    (edition, map)
}

fn edition_with(issue: &Issue, config: &Config, sponsors: &Sponsors, linker: &mut Linker) -> Edition {
    let mut refs = LinkRefs::default();
    let rich = Rich::new;
    let intro = rich(&issue.intro, &mut refs, linker);
    let sections = issue
        .sections
        .iter()
        .map(|s| SectionOut {
            name: s.name.clone(),
            anchor: anchor(&s.name),
            recommendations: s.recommendations.iter().map(|r| recommendation(r, &s.name, &mut refs, linker)).collect(),
        })
        .collect();
    let sponsor = sponsors.choose(&issue.sponsor, issue.number, issue.date).map(|s| {
        linker.place = Place { title: Some(s.name.clone()), ..Place::default() };
        let url = linker.url(&s.url, LinkKind::Sponsor);
        SponsorOut {
            id: s.id.clone(),
            name: s.name.clone(),
            ref_n: refs.number(&url),
            url,
            copy: rich(&s.copy, &mut refs, linker),
            referral_code: s.referral_code.clone(),
            offer: s.offer.clone(),
            terms: s.terms.clone(),
            cta: s.cta.clone().unwrap_or_else(|| format!("Check out {}", s.name)),
        }
    });
    linker.place = Place::default();
    let ask = match (&issue.ask, &config.ask) {
        (Some(text), _) => Some(AskOut { body: rich(text, &mut refs, linker), links: Vec::new() }),
        (None, Some(ask)) => Some(AskOut {
            body: rich(&ask.text, &mut refs, linker),
            links: ask
                .links
                .iter()
                .map(|l| {
                    let url = linker.url(&l.url, LinkKind::Link);
                    LinkOut { label: l.label.clone(), ref_n: refs.number(&url), url }
                })
                .collect(),
        }),
        (None, None) => None,
    };
    let image = issue.image.as_ref().map(|img| {
        let credit = img.credit.clone().or_else(|| {
            generated_credit(
                img.generator.as_deref(),
                img.prompt.as_deref(),
                img.generation_id.as_deref(),
                img.description.as_deref(),
            )
        });
        ImageOut {
            url: match img.file() {
                Some(Ok(file)) => Some(file.url(&config.base_url())),
                _ => img.src.clone(),
            },
            alt: img.alt.clone().unwrap_or_default(),
            width: img.size.map(|(w, _)| w),
            height: img.size.map(|(_, h)| h),
            credit: credit.map(|c| rich(&c, &mut refs, linker)),
            generator: img.generator.clone(),
            prompt: img.prompt.clone(),
            generation_id: img.generation_id.clone(),
        }
    });
    let preheader = issue.preheader.clone().unwrap_or_else(|| shorten(&markdown::to_plain(&issue.intro), 140));
    let web_url = config.issue_url(issue.number);
    Edition {
        publication: Publication {
            name: config.name.clone(),
            description: config.description.clone(),
            base_url: config.base().to_string(),
            language: config.language.clone(),
            sender_name: config.sender.name.clone(),
            sender_email: config.sender.email.clone(),
        },
        number: issue.number,
        title: issue.title.clone(),
        subject: subject(&config.name, issue.number, &issue.title),
        date: issue.date.to_string(),
        date_display: issue.date.strftime("%-d %B %Y").to_string(),
        preheader,
        intro,
        sections,
        sponsor,
        ask,
        image,
        web_url,
        archive_url: format!("{}/", config.base()),
        // The text part's list of links: mail clients link each whole.
        links: refs.urls.iter().enumerate().map(|(i, url)| LinkRef { n: i + 1, url: linkable(url) }).collect(),
        recommendation_count: issue.recommendations().count(),
        canary: None,
    }
}

/// The subject line; never holds a line break (titles are checked, this makes sure).
pub fn subject(name: &str, number: u32, title: &str) -> String {
    let s = format!("{name} #{number}: {title}");
    s.split(['\r', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

fn recommendation(r: &Recommendation, section: &str, refs: &mut LinkRefs, linker: &mut Linker) -> RecOut {
    linker.place = Place { title: Some(r.title.clone()), section: Some(section.to_string()), source: r.source.clone() };
    let url = linker.url(&r.url, LinkKind::Recommendation);
    let ref_n = refs.number(&url);
    let related = r
        .related
        .iter()
        .map(|x| {
            let url = linker.url(&x.url, LinkKind::Related);
            RelatedOut { title: x.title.clone(), ref_n: refs.number(&url), url, source: x.source.clone() }
        })
        .collect();
    let authors_display = join_names(&r.authors);
    let byline = match (authors_display.is_empty(), &r.source) {
        (false, Some(src)) => format!("by {authors_display} from {src}"),
        (false, None) => format!("by {authors_display}"),
        (true, Some(src)) => format!("from {src}"),
        (true, None) => String::new(),
    };
    RecOut {
        title: r.title.clone(),
        url,
        ref_n,
        authors: r.authors.clone(),
        authors_display,
        source: r.source.clone(),
        byline,
        take: r.take.as_deref().filter(|t| !t.trim().is_empty()).map(|t| Rich::new(t, refs, linker)),
        related,
    }
}

/// "A", "A and B", "A, B and C".
pub fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn generated_credit(
    generator: Option<&str>,
    prompt: Option<&str>,
    id: Option<&str>,
    description: Option<&str>,
) -> Option<String> {
    let generator = generator?;
    let mut credit = format!("The image is generated with {generator}");
    if let Some(prompt) = prompt {
        credit.push_str(&format!(" by the following prompt: “{prompt}”"));
    }
    if let Some(id) = id {
        credit.push_str(&format!(" and the Gen ID is “{id}”"));
    }
    credit.push('.');
    if let Some(d) = description {
        credit.push(' ');
        credit.push_str(d);
    }
    Some(escape_markdown(&credit))
}

/// Makes text from a plain field safe to embed in Markdown.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '|' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// "Japan, Korea, Taiwan & Hong Kong" → "japan-korea-taiwan-hong-kong".
pub fn anchor(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// At most `max` characters, cut at a word, with "…" when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = cut.rfind(char::is_whitespace).filter(|&i| i > max / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_like_a_byline() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_names(&names(&["Krystal Hu"])), "Krystal Hu");
        assert_eq!(join_names(&names(&["Coco Feng", "Ben Jiang"])), "Coco Feng and Ben Jiang");
        assert_eq!(join_names(&names(&["A", "B", "C"])), "A, B and C");
    }

    #[test]
    fn anchors_and_subjects() {
        assert_eq!(anchor("Japan, Korea, Taiwan & Hong Kong"), "japan-korea-taiwan-hong-kong");
        assert_eq!(subject("TWiA", 9, "a\r\nBcc: x"), "TWiA #9: a Bcc: x");
    }

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("one two three four", 12), "one two…");
        assert_eq!(shorten("short", 12), "short");
    }
}

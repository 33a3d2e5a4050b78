//! Counted links (`[insight] clicks = true`): every followable web link of an
//! issue written as `{base_url}/r/{issue}/{id}`, the same for every reader.
//!
//! The id is the first 12 hex digits of SHA-256 over the issue number and the
//! URL: the same URL gets the same id in every rebuild, twice in one issue it
//! gets one id, and the same URL in another issue gets another id (so `/r/9/`
//! only ever reaches issue 9's links). The map id → URL, with what each link
//! is (a recommendation, its section and source, the sponsor…), is what
//! `publish serve` redirects by and what `publish stats --links` reports on.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::text::url::is_followable;

/// What a counted link is in the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A recommendation's own link.
    Recommendation,
    /// A "followed by" link of a recommendation.
    Related,
    /// The sponsor's link (its text link and its button).
    Sponsor,
    /// A link inside Markdown: the intro, a take, the sponsor's copy, the ask.
    Link,
    /// The invisible link only scanners follow: it is never counted, and the
    /// client that follows it has its clicks of the day discarded.
    Canary,
}

impl LinkKind {
    /// Whether a link of kind `self` says more about a URL than one of kind `other`.
    fn outranks(self, other: LinkKind) -> bool {
        let rank = |k: LinkKind| match k {
            LinkKind::Recommendation => 0,
            LinkKind::Sponsor => 1,
            LinkKind::Related => 2,
            LinkKind::Link => 3,
            LinkKind::Canary => 4,
        };
        rank(self) < rank(other)
    }
}

/// One counted link of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    pub id: String,
    pub url: String,
    pub kind: LinkKind,
    /// The recommendation's title (or the sponsor's name) the link belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The section of that recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The recommendation's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The counted links of one issue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkMap {
    pub issue: u32,
    pub links: Vec<LinkEntry>,
}

impl LinkMap {
    /// The link with id `id`.
    pub fn get(&self, id: &str) -> Option<&LinkEntry> {
        self.links.iter().find(|l| l.id == id)
    }

    /// `self` with the links of `older` it no longer has kept (after them):
    /// a link in a message already sent keeps working after the issue is
    /// edited and built again.
    pub fn keeping(mut self, older: LinkMap) -> LinkMap {
        for old in older.links {
            if self.get(&old.id).is_none() {
                self.links.push(old);
            }
        }
        self
    }
}

/// The id of `url` in issue `issue` (12 hex digits; `long` gives 24, for the
/// second of two URLs whose short ids collide).
pub fn link_id(issue: u32, url: &str, long: bool) -> String {
    let digest =
        Sha256::new().chain_update(b"masthead-link\0").chain_update(issue.to_be_bytes()).chain_update(url).finalize();
    let hex = crate::text::hex(&digest);
    hex[..if long { 24 } else { 12 }].to_string()
}

/// Where a link sits, for the map.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub title: Option<String>,
    pub section: Option<String>,
    pub source: Option<String>,
}

/// Rewrites an issue's links while the edition is assembled; [`Linker::plain`]
/// leaves every link as written.
pub struct Linker {
    counted: Option<Counted>,
    /// Where the links being rewritten sit.
    pub place: Place,
}

struct Counted {
    base: String,
    map: LinkMap,
}

impl Linker {
    /// Links as written.
    pub fn plain() -> Linker {
        Linker { counted: None, place: Place::default() }
    }

    /// Links counted under `{base}/r/{issue}/`.
    pub fn counted(base: &str, issue: u32) -> Linker {
        let map = LinkMap { issue, links: Vec::new() };
        let mut linker = Linker {
            counted: Some(Counted { base: base.trim_end_matches('/').to_string(), map }),
            place: Place::default(),
        };
        // The canary's URL is the issue's own web page: a scanner sees a page like any other.
        linker.record("\0canary", LinkKind::Canary);
        linker
    }

    /// The address to write for `url`, a link of kind `kind` at [`Linker::place`].
    pub fn url(&mut self, url: &str, kind: LinkKind) -> String {
        let counts = url.starts_with("http://") || url.starts_with("https://");
        if self.counted.is_none() || !counts || !is_followable(url) {
            return url.to_string();
        }
        self.record(url, kind)
    }

    fn record(&mut self, url: &str, kind: LinkKind) -> String {
        let place = self.place.clone();
        let Some(counted) = self.counted.as_mut() else { return url.to_string() };
        let map = &mut counted.map;
        let mut id = link_id(map.issue, url, false);
        if map.links.iter().any(|l| l.id == id && l.url != url) {
            id = link_id(map.issue, url, true);
        }
        match map.links.iter_mut().find(|l| l.id == id) {
            Some(entry) if kind.outranks(entry.kind) => {
                entry.kind = kind;
                (entry.title, entry.section, entry.source) = (place.title, place.section, place.source);
            }
            Some(_) => {}
            None => map.links.push(LinkEntry {
                id: id.clone(),
                url: url.to_string(),
                kind,
                title: place.title,
                section: place.section,
                source: place.source,
            }),
        }
        format!("{}/r/{}/{id}", counted.base, map.issue)
    }

    /// The canary's counted address, when links are counted.
    pub fn canary(&self) -> Option<String> {
        let counted = self.counted.as_ref()?;
        let canary = counted.map.links.iter().find(|l| l.kind == LinkKind::Canary)?;
        Some(format!("{}/r/{}/{}", counted.base, counted.map.issue, canary.id))
    }

    /// The map of what was rewritten (`None` for [`Linker::plain`]).
    pub fn into_map(self, web_url: &str) -> Option<LinkMap> {
        let mut map = self.counted?.map;
        for l in map.links.iter_mut().filter(|l| l.kind == LinkKind::Canary) {
            l.url = web_url.to_string();
        }
        Some(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_are_stable_per_issue_and_url_and_differ_between_issues() {
        assert_eq!(link_id(9, "https://a.example/x", false), link_id(9, "https://a.example/x", false));
        assert_ne!(link_id(9, "https://a.example/x", false), link_id(8, "https://a.example/x", false));
        assert_ne!(link_id(9, "https://a.example/x", false), link_id(9, "https://a.example/y", false));
        assert_eq!(link_id(9, "https://a.example/x", false).len(), 12);
    }

    #[test]
    fn the_same_url_twice_gets_one_id_and_the_best_place() {
        let mut linker = Linker::counted("https://n.example/news/", 9);
        linker.place = Place { title: Some("Take".into()), ..Place::default() };
        let first = linker.url("https://a.example/x", LinkKind::Link);
        linker.place = Place { title: Some("Rec".into()), section: Some("S".into()), source: None };
        let second = linker.url("https://a.example/x", LinkKind::Recommendation);
        assert_eq!(first, second);
        assert!(first.starts_with("https://n.example/news/r/9/"), "{first}");
        assert_eq!(linker.url("mailto:a@b.example", LinkKind::Link), "mailto:a@b.example");
        let map = linker.into_map("https://n.example/news/9/").unwrap();
        let entry = map.links.iter().find(|l| l.url == "https://a.example/x").unwrap();
        assert_eq!((entry.kind, entry.title.as_deref()), (LinkKind::Recommendation, Some("Rec")));
        assert_eq!(map.links.len(), 2, "the link and the canary: {map:?}");
    }

    #[test]
    fn a_rebuilt_map_keeps_the_links_of_messages_already_sent() {
        let mut old = Linker::counted("https://n.example", 9);
        old.url("https://gone.example/", LinkKind::Recommendation);
        let old = old.into_map("https://n.example/9/").unwrap();
        let mut new = Linker::counted("https://n.example", 9);
        new.url("https://new.example/", LinkKind::Recommendation);
        let merged = new.into_map("https://n.example/9/").unwrap().keeping(old);
        assert!(merged.links.iter().any(|l| l.url == "https://gone.example/"));
        assert!(merged.links.iter().any(|l| l.url == "https://new.example/"));
        assert_eq!(merged.links.iter().filter(|l| l.kind == LinkKind::Canary).count(), 1);
    }
}

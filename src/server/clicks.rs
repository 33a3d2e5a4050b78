//! `GET /r/{issue}/{id}`: a counted link (`[insight] clicks`). Answers 302 to
//! the link's own address after adding one to its count; an id that is not
//! in that issue's map answers 404 with a page, so nothing outside the issue
//! can be reached through here. A GET changes a counter and nothing else: no
//! subscriber, no cookie, no address is stored (see [`Secret::client_hash`]).
//!
//! Kept out of the figures (recorded apart, as discarded):
//! - `HEAD` requests (they still get the 302, uncounted);
//! - user agents of known scanners and tools ([`SCANNER_AGENTS`]);
//! - a client that opened the issue's canary (an invisible link only a
//!   program follows), and one that opened [`BURST_LINKS`] distinct links
//!   within [`BURST_WINDOW`]: every click of theirs that day is discarded,
//!   before and after.
//!
//! [`Secret::client_hash`]: crate::deliver::token::Secret::client_hash

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::assemble::links::{LinkKind, LinkMap};
use crate::deliver::store::clicks::{Click, links_path, load_links};
use crate::server::AppState;

/// Lower-case pieces of user agents that are programs, not people: link
/// scanners of mail gateways, previewers, crawlers and HTTP libraries. Drawn
/// from the patterns of monperrus/crawler-user-agents and the agents mail
/// security gateways document; a match anywhere in the agent discards the click.
pub const SCANNER_AGENTS: &[&str] = include!("scanner_agents.in");

/// Distinct links one client may open within [`BURST_WINDOW`] before it is
/// taken for a scanner (a person reads between clicks; a scanner opens every
/// link of the message at once).
pub const BURST_LINKS: usize = 5;

/// See [`BURST_LINKS`].
pub const BURST_WINDOW: Duration = Duration::from_secs(3);

/// Clients remembered for burst detection; beyond it the oldest are forgotten.
const BURST_CLIENTS: usize = 50_000;

/// An issue's map of counted links, with the modification time of its file.
type Loaded = (Option<SystemTime>, Arc<LinkMap>);

/// The maps of counted links by issue, read again when their file changes,
/// and the recent clicks of each client, for burst detection.
#[derive(Default)]
pub(crate) struct Clicks {
    maps: Mutex<HashMap<u32, Loaded>>,
    recent: Mutex<HashMap<String, Vec<(Instant, String)>>>,
}

impl Clicks {
    /// Issue `issue`'s map, if it has one.
    fn map(&self, state_dir: &Path, issue: u32) -> Result<Option<Arc<LinkMap>>> {
        let modified = std::fs::metadata(links_path(state_dir, issue)).and_then(|m| m.modified()).ok();
        let mut maps = self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, map)) = maps.get(&issue)
            && *at == modified
            && modified.is_some()
        {
            return Ok(Some(Arc::clone(map)));
        }
        let Some(map) = load_links(state_dir, issue)? else {
            maps.remove(&issue);
            return Ok(None);
        };
        let map = Arc::new(map);
        maps.insert(issue, (modified, Arc::clone(&map)));
        Ok(Some(map))
    }

    /// Notes that `client` opened `link` now; whether that makes a burst.
    fn burst(&self, client: &str, link: &str) -> bool {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() >= BURST_CLIENTS {
            recent.retain(|_, opened| opened.last().is_some_and(|(at, _)| now.duration_since(*at) < BURST_WINDOW));
            if recent.len() >= BURST_CLIENTS {
                recent.clear();
            }
        }
        let opened = recent.entry(client.to_string()).or_default();
        opened.retain(|(at, _)| now.duration_since(*at) < BURST_WINDOW);
        if !opened.iter().any(|(_, l)| l == link) {
            opened.push((now, link.to_string()));
        }
        opened.len() >= BURST_LINKS
    }
}

/// Whether `agent` is a program's user agent (an empty one is).
pub fn is_scanner(agent: &str) -> bool {
    let agent = agent.to_ascii_lowercase();
    agent.trim().is_empty() || SCANNER_AGENTS.iter().any(|s| agent.contains(s))
}

/// `GET` and `HEAD /r/{issue}/{id}`.
pub(super) async fn redirect(
    State(state): State<Arc<AppState>>,
    UrlPath((issue, id)): UrlPath<(String, String)>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Ok(issue) = issue.parse::<u32>() else { return not_found(&state) };
    let map = match state.clicks.map(&state.state_dir, issue) {
        Ok(map) => map,
        Err(e) => return unavailable(e),
    };
    let Some(link) = map.as_deref().and_then(|m| m.get(&id)).cloned() else { return not_found(&state) };
    let Ok(location) = HeaderValue::from_str(&link.url) else { return not_found(&state) };
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let ip = super::audience::client(peer, &headers).to_string();
    let day = match crate::clock::now() {
        Ok(now) => now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        Err(e) => return unavailable(e),
    };
    let client = state.secret.client_hash(&ip, &agent, &day);
    let canary = link.kind == LinkKind::Canary;
    let burst = !canary && method == Method::GET && state.clicks.burst(&client, &link.id);
    let counted = method == Method::GET && !is_scanner(&agent);
    let recorded = tokio::task::spawn_blocking({
        let state = Arc::clone(&state);
        move || {
            let mut store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
            if canary || burst {
                store.mark_client(issue, &day, &client, if canary { "canary" } else { "burst" })?;
            }
            if !canary {
                store.record_click(&Click { issue, link: &link.id, day: &day, client: &client, counted })?;
            }
            anyhow::Ok(())
        }
    })
    .await;
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return unavailable(e),
        Err(e) => return unavailable(e.into()),
    }
    let mut response = StatusCode::FOUND.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

fn not_found(state: &AppState) -> Response {
    let body = "<h1>Link not found</h1><p>This link is not part of the issue it names. \
                Open the issue from the archive and follow the link from there.</p>";
    let page = super::page(&format!("Link not found · {}", state.publication), body);
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

fn unavailable(e: anyhow::Error) -> Response {
    tracing::error!("a counted link failed: {e:#}");
    let page = super::page("Try again", "<h1>Try again in a moment</h1><p>The server could not answer this link.</p>");
    (StatusCode::SERVICE_UNAVAILABLE, Html(page)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_agents_are_recognised_and_browsers_are_not() {
        assert!(is_scanner(""));
        assert!(is_scanner("curl/8.5.0"));
        assert!(is_scanner("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
        assert!(is_scanner(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"
        ));
        let firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0";
        assert!(!is_scanner(firefox));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert!(!is_scanner(safari));
    }

    #[test]
    fn a_burst_is_several_distinct_links_in_seconds_and_one_link_again_is_not() {
        let clicks = Clicks::default();
        for _ in 0..20 {
            assert!(!clicks.burst("person", "a"), "the same link again and again is no burst");
        }
        let links = ["a", "b", "c", "d", "e", "f"];
        let bursts: Vec<bool> = links.iter().map(|l| clicks.burst("scanner", l)).collect();
        assert_eq!(bursts, [false, false, false, false, true, true]);
    }
}

//! `publish serve`: one-click unsubscribe (RFC 8058) and the web archive in `out/`.
//!
//! - `POST /unsubscribe?t=TOKEN` (what mail providers send, body
//!   `List-Unsubscribe=One-Click`): unsubscribes at once, answers 200.
//! - `GET /unsubscribe?t=TOKEN` (a person's click): a page with a button;
//!   a GET alone never unsubscribes, since link scanners prefetch GETs.
//! - A token that does not verify changes nothing and answers 400 with a page
//!   saying the link is broken.
//! - Everything else is served from `out/`.
//!
//! Every route answers both at the bare path and under the public URLs' path
//! (`/this-week-in-asia/unsubscribe`), so a reverse proxy may keep the prefix
//! or strip it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::deliver::store::{Status, Store};
use crate::deliver::token::{Claim, Purpose, Secret};

/// The largest request body accepted (a one-click body is 26 bytes).
const MAX_BODY: usize = 4 * 1024;

/// What the server needs.
pub struct ServeConfig {
    pub out_dir: PathBuf,
    pub state_dir: PathBuf,
    pub secret: Secret,
    pub publication: String,
    /// Paths the public URLs live under (`/this-week-in-asia` of the base
    /// URL, say): each route answers both under them and at the bare path.
    pub prefixes: Vec<String>,
    /// Origins whose pages may post here (the base URL's); a page of any
    /// other site is refused.
    pub origins: Vec<String>,
}

struct AppState {
    store: Mutex<Store>,
    secret: Secret,
    publication: String,
    origins: Vec<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    t: Option<String>,
}

/// The router, for the server and for tests.
pub fn router(config: ServeConfig) -> Result<Router> {
    let store = Store::open(&config.state_dir)?;
    let state = Arc::new(AppState {
        store: Mutex::new(store),
        secret: config.secret,
        publication: config.publication,
        origins: config.origins,
    });
    let files = ServeDir::new(&config.out_dir).append_index_html_on_directories(true);
    let routes = Router::new()
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .fallback_service(files)
        .with_state(state);
    // A proxy may keep the public path or strip it: the prefix comes off
    // before routing (a layer on the outer router runs before the inner one routes).
    let prefixes = Arc::new(config.prefixes);
    Ok(Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request_with_state(prefixes, strip_prefix))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10))))
}

/// The origins (`https://host[:port]`) of public URLs.
pub fn origins_of(urls: &[&str]) -> Vec<String> {
    let mut origins: Vec<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .collect();
    origins.dedup();
    origins
}

/// The paths of public URLs that are not the server's root: the base URL's,
/// and the unsubscribe URL's folder (its path without `/unsubscribe`).
pub fn prefixes_of(urls: &[&str]) -> Vec<String> {
    let mut prefixes: Vec<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| {
            let path = u.path().trim_end_matches('/');
            path.strip_suffix("/unsubscribe").unwrap_or(path).to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    // Longest first, so `/a/b` comes off before `/a`.
    prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
    prefixes.dedup();
    prefixes
}

async fn strip_prefix(State(prefixes): State<Arc<Vec<String>>>, mut request: Request) -> Request {
    let path = request.uri().path();
    let Some(rest) = prefixes
        .iter()
        .find_map(|p| path.strip_prefix(p.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/')))
    else {
        return request;
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Serves until the process is stopped.
pub fn run(config: ServeConfig, bind: &str) -> Result<()> {
    let addr: SocketAddr =
        bind.parse().with_context(|| format!("--bind {bind}: expected an address such as 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let under = config.prefixes.iter().map(|p| format!(" and under {p}/")).collect::<String>();
        eprintln!("serving {} and one-click unsubscribe on http://{addr}/{under}", config.out_dir.display());
        let app = router(config)?;
        // Small responses go out at once (Nagle would hold a split header/body ~40 ms).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await.context("the server stopped")
    })
}

/// The address a token names, if it verifies; `Err` when the database failed.
async fn holder(state: &Arc<AppState>, token: Option<&str>) -> Result<Option<String>> {
    let Some(token) = token else { return Ok(None) };
    match state.secret.claim(Purpose::Unsubscribe, token) {
        None => Ok(None),
        Some(Claim::Address(email)) => Ok(Some(email)),
        Some(Claim::Subscriber(id)) => {
            let (state, token) = (state.clone(), token.to_string());
            tokio::task::spawn_blocking(move || {
                let store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
                Ok(store
                    .email_of(id)?
                    .filter(|email| state.secret.verify_subscriber(Purpose::Unsubscribe, &token, id, email)))
            })
            .await?
        }
    }
}

/// `GET /unsubscribe?t=…`: a confirmation page; changes nothing.
async fn unsubscribe_page(State(state): State<Arc<AppState>>, Query(q): Query<TokenQuery>) -> Response {
    let email = match holder(&state, q.t.as_deref()).await {
        Ok(Some(email)) => email,
        Ok(None) => return bad_token(&state.publication),
        Err(e) => return unavailable(e),
    };
    let token = q.t.unwrap_or_default();
    let name = crate::text::escape_html(&state.publication);
    // The form posts to a relative URL: the same path, behind a proxy that
    // keeps the prefix or strips it.
    let token = url::form_urlencoded::byte_serialize(token.trim().as_bytes()).collect::<String>();
    let body = format!(
        r#"<h1>Unsubscribe from {name}?</h1>
<p>{email} will get no more issues of {name}.</p>
<form method="post" action="?t={token}">
<input type="hidden" name="confirm" value="page">
<button type="submit">Unsubscribe</button>
</form>"#,
        email = crate::text::escape_html(&email),
        token = crate::text::escape_html(&token),
    );
    let page = page(&format!("Unsubscribe from {}", state.publication), &body);
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// Whether a browser's POST comes from a page of this publication. Mail
/// providers' one-click POSTs carry no `Origin`; a browser's always does. The
/// page may be reached through the proxy (the base URL's origin) or directly
/// (the `Host` it asked for).
fn same_site(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    state.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
        || (!host.is_empty()
            && [format!("http://{host}"), format!("https://{host}")].iter().any(|o| o.eq_ignore_ascii_case(origin)))
}

/// `POST /unsubscribe?t=…`: unsubscribes at once (idempotent).
async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !same_site(&state, &headers) {
        let body = "<h1>Not from this site</h1><p>This request came from another site's page, so nothing was \
                    changed. Use the unsubscribe link in the newsletter itself.</p>";
        return (StatusCode::FORBIDDEN, Html(page("Refused", body))).into_response();
    }
    let email = match holder(&state, q.t.as_deref()).await {
        Ok(Some(email)) => email,
        Ok(None) => return bad_token(&state.publication),
        Err(e) => return unavailable(e),
    };
    let source = if body.contains("List-Unsubscribe=One-Click") { "one-click" } else { "page" };
    let recorded = tokio::task::spawn_blocking({
        let (state, email) = (state.clone(), email.clone());
        move || {
            let now = crate::clock::now()?.to_string();
            let mut store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
            if !store.set_status(&email, Status::Unsubscribed, source, &now)? {
                // Unknown here (a restored database, say): remember it so it is never mailed.
                store.suppress(&email, Status::Unsubscribed, source, &now)?;
            }
            anyhow::Ok(())
        }
    })
    .await;
    match recorded.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(()) if source == "page" => {
            let name = crate::text::escape_html(&state.publication);
            let body = format!(
                "<h1>You are unsubscribed</h1><p>{} will get no more issues of {name}.</p>",
                crate::text::escape_html(&email)
            );
            Html(page("Unsubscribed", &body)).into_response()
        }
        Ok(()) => (StatusCode::OK, "unsubscribed\n").into_response(),
        Err(e) => unavailable(e),
    }
}

/// A forged, truncated or missing token: the route exists, the link is broken.
fn bad_token(publication: &str) -> Response {
    let body = format!(
        "<h1>This unsubscribe link is broken</h1>\
         <p>It may have been cut short when it was copied. Use the unsubscribe link at the end of \
         an issue of {} (copy it whole), or reply to any issue and ask to be taken off the list.</p>",
        crate::text::escape_html(publication)
    );
    (StatusCode::BAD_REQUEST, [(header::CACHE_CONTROL, "no-store")], Html(page("Broken unsubscribe link", &body)))
        .into_response()
}

fn unavailable(e: anyhow::Error) -> Response {
    eprintln!("unsubscribe failed: {e:#}");
    (StatusCode::SERVICE_UNAVAILABLE, "could not record the unsubscribe, please try again\n").into_response()
}

/// A small page in the archive's type.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font:17px/1.5 Georgia,serif;max-width:32em;margin:4em auto;padding:0 1em;color:#1d2229}}button{{font:bold 16px Helvetica,Arial,sans-serif;background:#b3261e;color:#fff;border:0;border-radius:4px;padding:10px 20px;cursor:pointer}}</style>
</head><body>
{body}
</body></html>
"#,
        title = crate::text::escape_html(title)
    )
}

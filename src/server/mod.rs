//! `publish serve`: one-click unsubscribe (RFC 8058) and the web archive in `out/`.
//!
//! - `POST /unsubscribe?t=TOKEN` (what mail providers send, body
//!   `List-Unsubscribe=One-Click`): unsubscribes at once, answers 200.
//! - `GET /unsubscribe?t=TOKEN` (a person's click): a page with a button;
//!   a GET alone never unsubscribes, since link scanners prefetch GETs.
//! - A token that does not verify changes nothing and answers 400 with a page
//!   saying the link is broken.
//! - `GET /r/{issue}/{id}`: a counted link (`[insight] clicks`), see [`clicks`].
//! - Everything else is served from `out/`.
//!
//! Every route answers both at the bare path and under the public URLs' path
//! (`/this-week-in-asia/unsubscribe`), so a reverse proxy may keep the prefix
//! or strip it.

mod audience;
mod clicks;
mod unsubscribe;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::deliver::store::{Location, Store};
use crate::deliver::token::Secret;
use crate::publication::Publication;

/// The largest request body accepted (a one-click body is 26 bytes).
const MAX_BODY: usize = 4 * 1024;

/// What the server needs.
pub struct ServeConfig {
    pub out_dir: PathBuf,
    pub state: Location,
    pub secret: Secret,
    pub publication: String,
    /// Paths the public URLs live under (`/this-week-in-asia` of the base
    /// URL, say): each route answers both under them and at the bare path.
    pub prefixes: Vec<String>,
    /// Origins whose pages may post here (the base URL's); a page of any
    /// other site is refused.
    pub origins: Vec<String>,
    /// Origins whose pages may post the signup form (`[serve] allowed_origins`,
    /// default the base URL's): CORS answers them.
    pub signup_origins: Vec<String>,
    /// The publication, for the reader's pages and mails.
    pub app: Arc<Publication>,
    /// `[serve] signups_per_sec`.
    pub signups_per_sec: f64,
}

pub(crate) struct AppState {
    pub(crate) store: Mutex<Store>,
    pub(crate) secret: Secret,
    pub(crate) publication: String,
    pub(crate) origins: Vec<String>,
    pub(crate) signup_origins: Vec<String>,
    pub(crate) app: Arc<Publication>,
    pub(crate) limits: audience::Limits,
    /// Wakes the mailer after a signup or confirmation queued a mail.
    pub(crate) mailer: Arc<tokio::sync::Notify>,
    /// The state folder (the maps of counted links).
    pub(crate) state_dir: PathBuf,
    /// Counted links: their maps, and recent clicks for burst detection.
    pub(crate) clicks: clicks::Clicks,
}

impl AppState {
    /// Where a browser request comes from, when it may change something: its
    /// `Origin`, or, without one, the origin of its `Referer` (as browsers
    /// that leave `Origin` out still name the page). `Ok(None)` when it names
    /// neither (mail providers' one-click POSTs, curl); `Ok(Some(origin))`
    /// from this site (the base URL's origin, or the one the request was sent
    /// to: its `Host`, or the `X-Forwarded-Host` of a proxy on this machine)
    /// or, with `signup_form`, from a site in `[serve] allowed_origins`
    /// (`Ok(None)` too from a page of this site that hides where it is); `Err`
    /// from any other site, or from a page that hides where it is (`null`)
    /// and is not one of this site's.
    pub(crate) fn origin(&self, headers: &axum::http::HeaderMap, signup_form: bool) -> Result<Option<String>, ()> {
        use axum::http::header;
        let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().map_err(|_| ()));
        let origin = match (text(header::ORIGIN), text(header::REFERER)) {
            (Some(origin), _) => origin?.to_string(),
            (None, Some(referer)) => {
                let url = url::Url::parse(referer?).map_err(|_| ())?;
                url.origin().ascii_serialization()
            }
            (None, None) => return Ok(None),
        };
        let header_text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok()).unwrap_or("");
        let mut own = Vec::new();
        for host in [header_text("host"), header_text("x-forwarded-host")] {
            // A proxy may list hosts as it passed the request on: the first is the browser's.
            let host = host.split(',').next().unwrap_or("").trim();
            if !host.is_empty() {
                own.extend([format!("http://{host}"), format!("https://{host}")]);
            }
        }
        if origin == "null" {
            // A page whose referrer policy is `no-referrer` (a template's
            // `<meta name="referrer">`, a proxy's `Referrer-Policy`) posts
            // with `Origin: null` even to its own site; the browser's own
            // `Sec-Fetch-Site`, which no page can set, says whether it is.
            let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
            return if site == Some("same-origin") { Ok(None) } else { Err(()) };
        }
        let allowed = own.iter().chain(&self.origins).chain(self.signup_origins.iter().filter(|_| signup_form));
        if allowed.into_iter().any(|o| o.eq_ignore_ascii_case(&origin)) { Ok(Some(origin)) } else { Err(()) }
    }
}

impl ServeConfig {
    /// What `publish serve` needs of `publication`: its files, its state, its
    /// secret (made on first use) and the public URLs it answers under.
    pub fn of(publication: Publication) -> Result<ServeConfig> {
        let ws = publication.workspace();
        let config = ws.config()?;
        let public = [config.base(), config.email.unsubscribe_url.as_deref().unwrap_or("")];
        let signup_origins = if config.serve.allowed_origins.is_empty() {
            origins_of(&[config.base()])
        } else {
            config.serve.allowed_origins.iter().map(|o| o.trim_end_matches('/').to_string()).collect()
        };
        Ok(ServeConfig {
            signups_per_sec: config.serve.signups_per_sec,
            signup_origins,
            out_dir: ws.out_dir(),
            secret: Secret::load_or_create(&ws.state_dir())?,
            state: publication.state_location()?,
            publication: config.name.clone(),
            origins: origins_of(&public),
            prefixes: prefixes_of(&public),
            app: Arc::new(publication),
        })
    }
}

/// The router, for the server and for tests.
pub fn router(config: ServeConfig) -> Result<Router> {
    let store = Store::open(&config.state)?;
    // The maps of counted links are files of the state folder, beside the secret.
    let state_dir = config.app.workspace().state_dir();
    let state = Arc::new(AppState {
        store: Mutex::new(store),
        secret: config.secret,
        publication: config.publication,
        origins: config.origins,
        signup_origins: config.signup_origins,
        app: config.app,
        limits: audience::Limits::new(config.signups_per_sec),
        mailer: Arc::new(tokio::sync::Notify::new()),
        state_dir,
        clicks: clicks::Clicks::default(),
    });
    audience::spawn_mailer(Arc::clone(&state));
    let files = ServeDir::new(&config.out_dir).append_index_html_on_directories(true);
    let routes = Router::new()
        .route("/unsubscribe", get(unsubscribe::page).post(unsubscribe::unsubscribe))
        .route("/subscribe", get(audience::subscribe_page).post(audience::subscribe).options(audience::preflight))
        .route("/confirm", get(audience::confirm_page).post(audience::confirm))
        .route("/preferences", get(audience::preferences_page).post(audience::preferences))
        .route("/r/{issue}/{id}", get(clicks::redirect))
        .fallback_service(files)
        .with_state(Arc::clone(&state));
    // A proxy may keep the public path, strip it or put another in front: the
    // prefix comes off before routing (a layer on the outer router runs
    // before the inner one routes).
    let prefixes = Arc::new(config.prefixes);
    Ok(Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn_with_state(prefixes, public_path))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state, too_large))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10))))
}

/// A body over [`MAX_BODY`] gets a page saying so (or, to a request that
/// spoke JSON, JSON), not the body limit's bare `length limit exceeded`; to
/// the signup form of an allowed site, with the CORS headers its other
/// answers carry, so that the site's script can read it.
async fn too_large(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let signup_form = request.uri().path().trim_end_matches('/').ends_with("/subscribe");
    let origin = state.origin(request.headers(), true).ok().flatten().filter(|_| signup_form);
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let text = format!(
        "The form was longer than any form of this site can be ({} KB): shorten what you typed (a name, say) and send it again.",
        MAX_BODY / 1024
    );
    let mut answer = if json {
        let body = serde_json::json!({ "ok": false, "message": text });
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
    } else {
        let body = format!("<h1>Too long</h1><p>{}</p>", crate::text::escape_html(&text));
        axum::response::Html(page("Too long", &body)).into_response()
    };
    *answer.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    answer.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    audience::cors(answer, origin.as_deref())
}

/// The origins (`https://host[:port]`) of public URLs.
fn origins_of(urls: &[&str]) -> Vec<String> {
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
fn prefixes_of(urls: &[&str]) -> Vec<String> {
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

/// The reader's pages: each also answers with a slash after it, by a redirect
/// to the page without it.
const READER_ROUTES: [&str; 4] = ["/subscribe", "/confirm", "/preferences", "/unsubscribe"];

/// Headers a reverse proxy sets about the request it passes on. They are
/// believed only from a proxy on this machine (the peer is a loopback
/// address); from anyone else they are dropped before any route sees them.
const FORWARDED: [&str; 4] = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix"];

/// The public path in front of the routes: drops forwarded headers a proxy
/// on this machine did not set, hides `out/outbox/` (see [`private`]), takes the base URL's path (or the proxy's
/// `X-Forwarded-Prefix`) off the request before routing, sends the bare
/// prefix to its folder (`/this-week-in-asia` → `/this-week-in-asia/`), and
/// makes every redirect to a path of this server relative, so that its
/// `Location` keeps whatever prefix the browser sees.
async fn public_path(
    State(prefixes): State<Arc<Vec<String>>>,
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let from_proxy = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        // `::ffff:127.0.0.1` too: the proxy's IPv4 address as a server bound to `[::]` sees it.
        .is_some_and(|peer| peer.0.ip().to_canonical().is_loopback());
    if !from_proxy {
        for name in FORWARDED {
            request.headers_mut().remove(name);
        }
    }
    let forwarded = request
        .headers()
        .get("x-forwarded-prefix")
        .and_then(|v| v.to_str().ok())
        .map(|p| format!("/{}", p.trim_matches('/')))
        .filter(|p| p.len() > 1);
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let rest = forwarded
        .iter()
        .chain(prefixes.iter())
        .find_map(|p| path.strip_prefix(p.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/')));
    let routed = match rest {
        // The folder's own URL without its slash: its pages' relative links need the slash.
        Some("") if matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD) => {
            let folder = path.rsplit('/').next().unwrap_or_default();
            return axum::response::Redirect::permanent(&format!("./{folder}/{query}")).into_response();
        }
        Some(rest) => {
            let rest = if rest.is_empty() { "/" } else { rest };
            match format!("{rest}{query}").parse::<axum::http::Uri>() {
                Ok(uri) => {
                    *request.uri_mut() = uri;
                    rest.to_string()
                }
                Err(_) => path,
            }
        }
        None => path,
    };
    if private(&routed) {
        return (axum::http::StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    if let Some(route) = routed.strip_suffix('/').filter(|r| READER_ROUTES.contains(r)) {
        // `/subscribe/` as typed or pasted: the page itself, one folder up (so
        // that whatever prefix the browser sees stays), same method and body.
        let name = route.trim_start_matches('/');
        return axum::response::Redirect::permanent(&format!("../{name}{query}")).into_response();
    }
    let mut response = next.run(request).await;
    relative_location(&mut response, &routed);
    response
}

/// Whether `path` (after the prefix came off, before its `%XX` are decoded,
/// as the file server will) names what `out/` holds but the public must not
/// read: `out/outbox/`, every message the outbox transport "sent", each with
/// its recipient's address and their confirmation or unsubscribe link; and
/// hidden files.
fn private(path: &str) -> bool {
    let mut segments = path
        .split('/')
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != ".");
    let first_is_outbox = segments.next().is_some_and(|s| s.eq_ignore_ascii_case("outbox") || s.starts_with('.'));
    first_is_outbox || segments.any(|s| s.starts_with('.'))
}

/// A `Location` that is a path of this server (the archive's `/9` → `/9/`,
/// made from the path after the prefix came off) becomes relative to the
/// request's own folder (`./9/`): the browser resolves it under the prefix it
/// asked with, whether the proxy kept, stripped or changed it, and `//9/`
/// can never be read as another host.
fn relative_location(response: &mut axum::response::Response, routed: &str) {
    use axum::http::{HeaderValue, header};
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else { return };
    if !location.starts_with('/') {
        return;
    }
    let folder = &routed[..routed.rfind('/').map_or(0, |i| i + 1)];
    let relative = match location.strip_prefix(folder) {
        Some(rest) if !folder.is_empty() => format!("./{rest}"),
        _ => return,
    };
    if let Ok(value) = HeaderValue::from_str(&relative) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}

/// Connections served at once; one more is closed as soon as it is accepted
/// (a flood of connections cannot take every file descriptor).
const MAX_CONNECTIONS: usize = 1024;

/// How long a client may take to send a request's headers, and how long a
/// kept-alive connection may sit idle (a slow or silent client is cut off).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request line and headers read (hyper's default is 400 KB a
/// connection, times [`MAX_CONNECTIONS`]).
const MAX_HEAD: usize = 32 * 1024;

/// Serves until the process is stopped.
pub fn run(config: ServeConfig, bind: &str) -> Result<()> {
    let addr: SocketAddr =
        bind.parse().with_context(|| format!("--bind {bind}: expected an address such as 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let under = config.prefixes.iter().map(|p| format!(" and under {p}/")).collect::<String>();
        eprintln!("serving {} and one-click unsubscribe on http://{addr}/{under}", config.out_dir.display());
        serve(listener, router(config)?).await
    })
}

/// Accepts connections until the listener fails: at most [`MAX_CONNECTIONS`]
/// at once, each cut off when its headers take longer than [`HEADER_TIMEOUT`]
/// or it idles that long between requests (a slow body meets the router's
/// own timeout).
async fn serve(listener: tokio::net::TcpListener, app: Router) -> Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait for some to come back.
                eprintln!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else { continue };
        // Small responses go out at once (Nagle would hold a split header/body ~40 ms).
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, request.map(axum::body::Body::new)).await }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// The `t` of a reader's link (`?t=TOKEN`), taken from the query whatever
/// else it holds: a query that cannot be read, or that names two different
/// tokens, gives none, so the route answers with its page about a broken
/// link instead of a bare "Failed to deserialize query string".
pub(crate) struct TokenQuery {
    pub(crate) t: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TokenQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<TokenQuery, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let mut tokens = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "t").map(|(_, v)| v);
        let first = tokens.next().map(|t| t.into_owned());
        let t = first.filter(|first| tokens.all(|other| other == first.as_str()));
        Ok(TokenQuery { t })
    }
}

/// A small page in the archive's type.
pub(crate) fn page(title: &str, body: &str) -> String {
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

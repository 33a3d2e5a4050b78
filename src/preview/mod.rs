//! `publish preview`: a local server showing one issue as every reader sees it,
//! re-rendered (through [`Publication::render`], the same code `publish build` uses)
//! whenever a file of the publication changes, with the page told over SSE.
//!
//! - `/?view=desktop|mobile|dark|text|web|social|feed[&issue=N]`: the preview page,
//!   with an index of every issue (`issue=N` switches the preview to issue N).
//! - `/content?view=…`: the page's changing part, fetched again on each change.
//! - `/raw/<path>`: the rendered files, from memory (and media from the workspace).
//!   In HTML, links to the publication's own media (`{base_url}/media/…`, which
//!   may not be online yet) point here instead; what is sent keeps them.
//! - `POST /test`: sends a test copy; refused (403) when the request comes from
//!   another site's page (its `Origin`, its `Referer` or `Sec-Fetch-Site` says so).
//! - Every route answers only a `Host` that names this machine (`localhost`,
//!   `127.0.0.1`, the address bound): 403 for a name pointed here by DNS.
//! - `?issue=N` switches the issue only from the preview's own pages (or an
//!   address typed in), never from another site's link.
//! - `/dark/<path>`: an HTML file with `color-scheme: dark` injected.
//! - `/events`: server-sent events, one per re-render, carrying the version.
//!
//! Dark mode: `color-scheme: dark` makes the browser's own colours dark; the
//! email's `@media (prefers-color-scheme: dark)` rules apply only when the
//! browser itself prefers dark (OS setting, or DevTools > Rendering > Emulate).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::Stream;
use notify::{EventKind, RecursiveMode, Watcher};
use serde::Deserialize;
use tokio::sync::watch;

use crate::deliver::token::Secret;
use crate::diag::Diagnostic;
use crate::publication::Publication;
use crate::render::social::SocialPosts;
use crate::text::escape_html;

/// How long the watcher waits for a burst of changes to end.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// One rendering of the issue, or why there is none.
#[derive(Default)]
struct Snapshot {
    version: u64,
    number: Option<u32>,
    /// Every issue in `issues/`, for the index.
    issues: Vec<u32>,
    title: String,
    files: BTreeMap<String, Vec<u8>>,
    /// Media files the rendered pages link to: path relative to `out/` → file.
    media: BTreeMap<String, PathBuf>,
    social: Option<SocialPosts>,
    /// The click figures of counted links, once the issue has been sent (HTML).
    clicks: Option<String>,
    web_url: String,
    /// `{base_url}/media/`, as the rendered pages write it.
    media_url: String,
    /// The diagnostics, one after another, when the issue does not render.
    errors: Option<String>,
    /// Warnings `check` would print for this issue, when it renders.
    warnings: String,
}

struct AppState {
    root: PathBuf,
    /// Where the preview listens (the `Host` a page of its own sends).
    addr: SocketAddr,
    /// The issue asked for (`None`: the newest).
    wanted: Mutex<Option<u32>>,
    /// The publication as last loaded, held while rendering (so that versions
    /// follow each other): an edit to an issue file reloads only that file, and
    /// the feeds keep the other issues' items.
    rendering: Mutex<Option<Publication>>,
    snapshot: RwLock<Snapshot>,
    versions: watch::Sender<u64>,
}

/// Renders issue `number` (default: the newest) of the publication at `root`:
/// held in `held` when it was loaded before and `changed` names the only files
/// that changed since (issue files, relative paths), else loaded again.
fn render(
    root: &Path,
    held: &mut Option<Publication>,
    changed: Option<&[String]>,
    number: Option<u32>,
    version: u64,
) -> Snapshot {
    let mut snapshot = Snapshot { version, number, ..Snapshot::default() };
    let kept = match (held.as_mut(), changed) {
        (Some(publication), Some(changed)) => publication.reload_issues(changed).unwrap_or(false),
        _ => false,
    };
    if !kept {
        *held = match Publication::load(root) {
            Ok(p) => Some(p),
            Err(e) => {
                snapshot.errors = Some(format!("{e:#}"));
                return snapshot;
            }
        };
    }
    let Some(publication) = held.as_ref() else { return snapshot };
    let ws = publication.workspace();
    let Some(number) = number.or_else(|| ws.issues.keys().next_back().copied()) else {
        snapshot.errors = Some("there are no issues in issues/ yet: run `publish new`".into());
        return snapshot;
    };
    snapshot.number = Some(number);
    snapshot.issues = ws.issues.keys().copied().collect();
    let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        publication.diagnostics(Some(number)).partition(|d| d.is_error());
    snapshot.warnings = warnings.iter().map(|d| format!("{d}\n")).collect::<Vec<_>>().join("\n");
    if !errors.is_empty() {
        snapshot.errors = Some(errors.iter().map(|d| format!("{d}\n")).collect::<Vec<_>>().join("\n"));
        return snapshot;
    }
    if let Err(e) = ws.issue(number) {
        snapshot.errors = Some(format!("{e:#}"));
        return snapshot;
    }
    // A fixed key: preview must not create the publication's secret, and its
    // unsubscribe links are never followed.
    let secret = Secret::from_bytes(b"masthead preview: not a real secret");
    match publication.render(number, &secret) {
        Ok(artifacts) => {
            snapshot.title = artifacts.edition.subject.clone();
            snapshot.web_url = artifacts.social.web_url.clone();
            snapshot.media_url = ws.config().map(|c| format!("{}/media/", c.base())).unwrap_or_default();
            snapshot.files = artifacts
                .files
                .into_iter()
                .map(|(path, bytes)| (path.to_string_lossy().replace('\\', "/"), bytes))
                .collect();
            snapshot.media =
                artifacts.media.into_iter().map(|(from, to)| (to.to_string_lossy().replace('\\', "/"), from)).collect();
            snapshot.social = Some(artifacts.social);
            // A state that cannot be read only means no figures beside the preview.
            snapshot.clicks =
                publication.sent_link_figures(number).ok().flatten().map(|f| crate::publication::insight::to_html(&f));
            for d in &artifacts.warnings {
                snapshot.warnings.push_str(&format!("{d}\n\n"));
            }
        }
        Err(diags) => {
            snapshot.errors = Some(diags.items.iter().map(|d| format!("{d}\n")).collect::<Vec<_>>().join("\n"));
        }
    }
    snapshot
}

/// Serves the preview until the process is stopped.
pub fn run(root: &Path, number: Option<u32>, addr: SocketAddr) -> Result<()> {
    // Each re-render's log line says where its time went.
    crate::clock::timings::enable();
    let root = root.to_path_buf();
    let mut held = None;
    let first = render(&root, &mut held, None, number, 1);
    if let Some(errors) = &first.errors {
        eprintln!("{errors}");
    }
    let (versions, _) = watch::channel(1u64);
    let state = Arc::new(AppState {
        root: root.clone(),
        addr,
        wanted: Mutex::new(number),
        rendering: Mutex::new(held),
        snapshot: RwLock::new(first),
        versions,
    });
    watch_files(&root, Arc::clone(&state))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!("previewing on http://{addr}/ (reloads when files change; Ctrl-C to stop)");
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, router(state)).await.context("the server stopped")
    })
}

/// Watches the publication's files; re-renders and tells the pages on every change.
fn watch_files(root: &Path, state: Arc<AppState>) -> Result<()> {
    let root = &root.canonicalize().with_context(|| format!("cannot read {}", root.display()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reading a file is an event too (rendering reads media): only changes count.
        if let Ok(event) = event
            && !matches!(event.kind, EventKind::Access(_))
        {
            let _ = tx.send(event.paths);
        }
    })
    .context("cannot watch the publication's files")?;
    watcher.watch(root, RecursiveMode::NonRecursive).with_context(|| format!("cannot watch {}", root.display()))?;
    for dir in ["issues", "templates", "media"] {
        let dir = root.join(dir);
        if dir.is_dir() {
            watcher.watch(&dir, RecursiveMode::Recursive).with_context(|| format!("cannot watch {}", dir.display()))?;
        }
    }
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let _watcher = watcher;
        let watched = |path: &Path| {
            let Ok(rel) = path.strip_prefix(&root) else { return true };
            let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
            matches!(first.as_deref(), Some("publish.toml" | "sponsors.toml" | "issues" | "templates" | "media"))
        };
        // An issue file, by its path relative to the root ("issues/010.toml").
        let issue_file = |path: &Path| {
            let rel = path.strip_prefix(&root).ok()?;
            let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
            match (parts.next().as_deref(), parts.next(), parts.next()) {
                (Some("issues"), Some(name), None) if name.ends_with(".toml") => Some(format!("issues/{name}")),
                _ => None,
            }
        };
        while let Ok(first) = rx.recv() {
            let mut paths = first;
            // Debounce: an editor's save is several events; render once they stop.
            while let Ok(more) = rx.recv_timeout(DEBOUNCE) {
                paths.extend(more);
            }
            if !paths.iter().any(|p| watched(p)) {
                continue;
            }
            // Only issue files changed: those are read again, the rest is kept.
            let mut issues: Option<Vec<String>> = Some(Vec::new());
            for path in paths.iter().filter(|p| watched(p)) {
                match (issue_file(path), issues.as_mut()) {
                    (Some(rel), Some(list)) if !list.contains(&rel) => list.push(rel),
                    (Some(_), _) => {}
                    (None, _) => issues = None,
                }
            }
            rerender(&state, issues.as_deref());
        }
    });
    Ok(())
}

/// Renders the wanted issue again, stores it and tells the pages. `changed`:
/// the issue files that changed, when nothing else did (see [`render`]).
fn rerender(state: &AppState, changed: Option<&[String]>) {
    let started = std::time::Instant::now();
    let before = crate::clock::timings::report();
    let mut held = state.rendering.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let number = *state.wanted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let version = state.snapshot.read().map_or(0, |s| s.version) + 1;
    let snapshot = render(&state.root, &mut held, changed, number, version);
    let what = match changed {
        Some(files) if !files.is_empty() => files.join(", "),
        Some(_) => "nothing reloaded".to_string(),
        None => "the whole publication reloaded".to_string(),
    };
    let took = format!("{:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    let stages = stages_since(&before);
    match &snapshot.errors {
        Some(errors) => eprintln!("re-rendered (version {version}; {what}; {took}), with errors:\n{errors}"),
        None => eprintln!("re-rendered (version {version}; {what}; {took}): {stages}"),
    }
    if let Ok(mut current) = state.snapshot.write() {
        *current = snapshot;
    }
    state.versions.send_replace(version);
}

/// Where a re-render's time went: the stages timed since `before`, longest
/// first ("render the social posts 9.1 ms, render the archive page 2.0 ms").
fn stages_since(before: &[(&'static str, Duration, u32)]) -> String {
    let mut spent: Vec<(&str, Duration)> = crate::clock::timings::report()
        .into_iter()
        .map(|(name, total, _)| {
            let earlier = before.iter().find(|(n, _, _)| *n == name).map_or(Duration::ZERO, |(_, t, _)| *t);
            (name, total.saturating_sub(earlier))
        })
        .filter(|(_, d)| !d.is_zero())
        .collect();
    spent.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    let shown: Vec<String> =
        spent.iter().take(6).map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1000.0)).collect();
    shown.join(", ")
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/content", get(content))
        .route("/events", get(events))
        .route("/test", axum::routing::post(send_test))
        .route("/raw/{*path}", get(raw))
        .route("/dark/{*path}", get(dark))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), this_machine_only))
        .with_state(state)
}

/// Every route answers only requests that name this machine in `Host`
/// (`localhost`, `127.0.0.1`, the address bound): a site whose name was
/// pointed at this machine (DNS rebinding) cannot read an unpublished issue.
async fn this_machine_only(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !is_local(host, state.addr) {
        return (StatusCode::FORBIDDEN, format!("this preview answers at http://{}/ only\n", state.addr))
            .into_response();
    }
    next.run(request).await
}

/// Whether `authority` (a `Host`) names this machine: `localhost`, or an
/// address, not a name (a name could be pointed here by anyone's DNS): this
/// machine's, the one bound, or any when bound to all interfaces.
fn is_local(authority: &str, addr: SocketAddr) -> bool {
    let name = authority.rsplit_once(':').map_or(authority, |(h, _)| h).trim_matches(['[', ']']);
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == addr.ip() || addr.ip().is_unspecified())
}

#[derive(Deserialize)]
struct ViewQuery {
    view: Option<String>,
    /// Switches the preview to this issue.
    issue: Option<u32>,
}

const VIEWS: [(&str, &str); 7] = [
    ("desktop", "Desktop"),
    ("mobile", "Mobile"),
    ("dark", "Dark"),
    ("text", "Plain text"),
    ("web", "Web page"),
    ("social", "Social posts"),
    ("feed", "Feed entry"),
];

fn view_of(q: &ViewQuery) -> &'static str {
    let asked = q.view.as_deref().unwrap_or("desktop");
    VIEWS.iter().map(|(id, _)| *id).find(|id| *id == asked).unwrap_or("desktop")
}

async fn page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ViewQuery>,
    headers: axum::http::HeaderMap,
) -> Html<String> {
    let view = view_of(&q);
    let current = state.snapshot.read().ok().and_then(|s| s.number);
    // Switching the issue changes what every open preview shows: only this
    // preview's own index (or an address typed in) may, not another site's page.
    if let Some(n) = q.issue
        && Some(n) != current
        && from_this_preview(&headers, state.addr).is_ok()
    {
        if let Ok(mut wanted) = state.wanted.lock() {
            *wanted = Some(n);
        }
        let renderer = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || rerender(&renderer, Some(&[]))).await;
    }
    let Ok(snapshot) = state.snapshot.read() else { return Html("the preview failed".into()) };
    let index: String = snapshot
        .issues
        .iter()
        .map(|n| {
            let current = if Some(*n) == snapshot.number { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"/?issue={n}&amp;view={view}\" class=\"issue\"{current}>#{n}</a>")
        })
        .collect();
    let tabs: String = VIEWS
        .iter()
        .map(|(id, name)| {
            let current = if *id == view { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"/?view={id}\" data-view=\"{id}\"{current}>{name}</a>")
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Preview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:15px system-ui,sans-serif;margin:0;background:#f3f3f3;color:#222}}
nav{{display:flex;gap:.25rem;padding:.5rem 1rem;background:#222;flex-wrap:wrap}}
nav a{{color:#ddd;text-decoration:none;padding:.3rem .7rem;border-radius:4px}}
nav a[aria-current]{{background:#fff;color:#222}}
#send-test{{margin-left:auto;font:inherit;padding:.3rem .7rem;border-radius:4px;border:0;cursor:pointer}}
#test-result{{color:#ddd;padding:.3rem .5rem;font-size:13px}}
nav.issues{{background:#444;color:#ccc;align-items:center;font-size:13px}}
main{{padding:1rem}}
iframe{{border:1px solid #ccc;background:#fff;display:block;margin:0 auto;height:80vh}}
iframe.desktop,iframe.dark,iframe.web{{width:max(600px,80%)}}
iframe.mobile{{width:375px}}
pre{{white-space:pre-wrap;background:#fff;padding:1rem;border:1px solid #ccc;max-width:80ch}}
.errors{{background:#fff0f0;border-color:#d33;color:#900}}
.warnings{{background:#fffbe6;border-color:#c90;color:#640}}
.post .count.over{{color:#c00;font-weight:bold}}
.note{{color:#666;font-size:13px}}
</style></head>
<body><nav>{tabs}<button id="send-test" type="button">Send me a test</button><output id="test-result"></output></nav><nav class="issues">Issues: {index}</nav><main id="content" data-view="{view}">{content}</main>
<script>
const main = document.getElementById('content');
let version = Number(main.querySelector('[data-version]')?.dataset.version || 0);
async function refresh() {{
  const r = await fetch('/content?view=' + main.dataset.view, {{cache: 'no-store'}});
  main.innerHTML = await r.text();
  version = Number(main.querySelector('[data-version]')?.dataset.version || 0);
}}
document.getElementById('send-test').onclick = async () => {{
  const out = document.getElementById('test-result');
  out.textContent = 'sending…';
  const r = await fetch('/test', {{method: 'POST'}});
  out.textContent = await r.text();
}};
const events = new EventSource('/events');
events.onmessage = (e) => {{ if (Number(e.data) !== version) refresh(); }};
</script>
</body></html>"#,
        content = content_html(&snapshot, view),
    ))
}

/// `POST /test`: sends the previewed issue as `publish test` would, to `[email] test_to`.
async fn send_test(State(state): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    if let Err(why) = from_this_preview(&headers, state.addr) {
        return (StatusCode::FORBIDDEN, format!("not sent: {why}")).into_response();
    }
    let number = state.snapshot.read().ok().and_then(|s| s.number);
    let root = state.root.clone();
    let result = tokio::task::spawn_blocking(move || {
        let number = number.ok_or_else(|| anyhow::anyhow!("no issue renders: fix the errors first"))?;
        Publication::load(&root)?.send_test(number, None)
    })
    .await;
    match result {
        Ok(Ok(message)) => (axum::http::StatusCode::OK, message).into_response(),
        Ok(Err(e)) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, format!("not sent: {e:#}")).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, format!("not sent: {e}")).into_response(),
    }
}

/// Whether a state-changing request comes from the preview's own page: a page
/// of another site open in the same browser must not send mail (CSRF), nor a
/// site whose name was pointed at this machine (DNS rebinding).
fn from_this_preview(headers: &axum::http::HeaderMap, addr: SocketAddr) -> Result<(), String> {
    let header = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("?").to_string());
    let host = header(header::HOST).unwrap_or_default();
    if !is_local(&host, addr) {
        return Err(format!("the request names host \"{host}\", not this preview"));
    }
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site.as_str(), "same-origin" | "none")
    {
        return Err(format!("the request comes from another site's page (Sec-Fetch-Site: {site})"));
    }
    // The page it comes from: its Origin, or, without one, its Referer's.
    let page = header(header::ORIGIN).or_else(|| {
        header(header::REFERER).map(|r| url::Url::parse(&r).map_or("?".into(), |u| u.origin().ascii_serialization()))
    });
    if let Some(origin) = page {
        let authority = origin.strip_prefix("http://").unwrap_or("");
        if !authority.eq_ignore_ascii_case(&host) {
            return Err(format!("the request comes from {origin}, not from this preview"));
        }
    }
    Ok(())
}

async fn content(State(state): State<Arc<AppState>>, Query(q): Query<ViewQuery>) -> Html<String> {
    let Ok(snapshot) = state.snapshot.read() else { return Html("the preview failed".into()) };
    Html(content_html(&snapshot, view_of(&q)))
}

/// The page's changing part: a heading, then the view or the errors.
fn content_html(s: &Snapshot, view: &str) -> String {
    let v = s.version;
    let number = s.number.map_or_else(String::new, |n| n.to_string());
    let mut html = format!("<div data-version=\"{v}\" hidden></div>");
    if let Some(errors) = &s.errors {
        html.push_str(&format!(
            "<h1 id=\"title\">Issue {number}: cannot render</h1>\
             <p>Fix these and save: the preview comes back by itself.</p>\
             <pre class=\"errors\" id=\"errors\">{}</pre>",
            escape_html(errors)
        ));
        return html;
    }
    html.push_str(&format!("<h1 id=\"title\">{}</h1>", escape_html(&s.title)));
    if !s.warnings.is_empty() {
        html.push_str(&format!("<pre class=\"warnings\" id=\"warnings\">{}</pre>", escape_html(s.warnings.trim_end())));
    }
    let iframe =
        |class: &str, src: String| format!("<iframe class=\"{class}\" title=\"{class}\" src=\"{src}?v={v}\"></iframe>");
    let text = |path: &str| s.files.get(path).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    match view {
        "mobile" => html.push_str(&iframe("mobile", format!("/raw/{number}/email.html"))),
        "dark" => {
            html.push_str(&iframe("dark", format!("/dark/{number}/email.html")));
            html.push_str(
                "<p class=\"note\">Shown with <code>color-scheme: dark</code>. The email's \
                 <code>prefers-color-scheme: dark</code> rules apply when your browser prefers dark \
                 (system setting, or DevTools › Rendering › Emulate CSS prefers-color-scheme).</p>",
            );
        }
        "text" => {
            html.push_str(&format!("<pre id=\"text\">{}</pre>", escape_html(&text(&format!("{number}/email.txt")))))
        }
        "web" => html.push_str(&iframe("web", format!("/raw/{number}/index.html"))),
        "social" => html.push_str(&social_html(s)),
        "feed" => {
            let feed = text("newsletter.xml");
            let entry = feed_entry(&feed, &s.web_url).unwrap_or(&feed);
            html.push_str(&format!("<pre id=\"feed\">{}</pre>", escape_html(entry)));
        }
        _ => {
            html.push_str(&iframe("desktop", format!("/raw/{number}/email.html")));
            html.push_str(s.clicks.as_deref().unwrap_or_default());
        }
    }
    html
}

/// Every platform's posts, each with its length against the platform's limit.
fn social_html(s: &Snapshot) -> String {
    let Some(social) = &s.social else { return String::new() };
    let mut html = String::new();
    for pp in social.platforms.values() {
        html.push_str(&format!("<section class=\"platform\"><h2>{}</h2>", escape_html(pp.name)));
        for (i, post) in pp.posts.iter().enumerate() {
            let over = post.length > pp.limit || pp.byte_limit.is_some_and(|max| post.bytes > max);
            let bytes = pp.byte_limit.map_or_else(String::new, |max| format!(", {} / {max} bytes", post.bytes));
            html.push_str(&format!(
                "<div class=\"post\"><p class=\"count{}\">Post {}: {} / {} ({}){bytes}</p><pre>{}</pre></div>",
                if over { " over" } else { "" },
                i + 1,
                post.length,
                pp.limit,
                escape_html(pp.counted_in),
                escape_html(&post.text),
            ));
        }
        html.push_str("</section>");
    }
    html
}

/// The feed's `<item>` or `<entry>` for the issue at `url`.
fn feed_entry<'a>(feed: &'a str, url: &str) -> Option<&'a str> {
    for (open, close) in [("<item>", "</item>"), ("<entry>", "</entry>"), ("<entry ", "</entry>")] {
        let mut rest = 0;
        while let Some(start) = feed[rest..].find(open).map(|i| i + rest) {
            let end = feed[start..].find(close).map(|i| start + i + close.len())?;
            if url.is_empty() || feed[start..end].contains(url) {
                return Some(&feed[start..end]);
            }
            rest = end;
        }
    }
    None
}

async fn events(State(state): State<Arc<AppState>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.versions.subscribe();
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let version = *rx.borrow_and_update();
        Some((Ok(Event::default().data(version.to_string())), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn file(state: &AppState, path: &str) -> Option<(Vec<u8>, &'static str)> {
    let snapshot = state.snapshot.read().ok()?;
    let kind = content_type(path);
    let bytes = match snapshot.files.get(path) {
        // The production site may not exist yet: its media come from here.
        Some(bytes) if kind.starts_with("text/html") && !snapshot.media_url.is_empty() => {
            String::from_utf8_lossy(bytes).replace(&snapshot.media_url, "/raw/media/").into_bytes()
        }
        Some(bytes) => bytes.clone(),
        None => std::fs::read(snapshot.media.get(path)?).ok()?,
    };
    Some((bytes, kind))
}

async fn raw(State(state): State<Arc<AppState>>, UrlPath(path): UrlPath<String>) -> Response {
    match file(&state, &path) {
        Some((bytes, kind)) => {
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("{path} is not among the rendered files")).into_response(),
    }
}

async fn dark(State(state): State<Arc<AppState>>, UrlPath(path): UrlPath<String>) -> Response {
    let Some((bytes, kind)) = file(&state, &path).filter(|(_, kind)| kind.starts_with("text/html")) else {
        return (StatusCode::NOT_FOUND, format!("{path} is not a rendered HTML file")).into_response();
    };
    let mut html = String::from_utf8_lossy(&bytes).into_owned();
    // The email's own `color-scheme` ("light dark") would leave the choice to the browser.
    while let Some(at) = html.find("<meta name=\"color-scheme\"") {
        let end = html[at..].find('>').map_or(html.len(), |i| at + i + 1);
        html.replace_range(at..end, "");
    }
    let inject = "<meta name=\"color-scheme\" content=\"dark\"><style>:root{color-scheme:dark}</style>";
    let html = match html.find("<head>").or_else(|| html.find("<head ")) {
        Some(at) => {
            let end = at + html[at..].find('>').map_or(0, |i| i + 1);
            format!("{}{inject}{}", &html[..end], &html[end..])
        }
        None => format!("{inject}{html}"),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store")], html).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "txt" | "eml" | "vtt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        _ => "application/octet-stream",
    }
}

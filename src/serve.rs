//! `publish serve`: one-click unsubscribe (RFC 8058) and the web archive in `out/`.
//!
//! - `POST /unsubscribe?t=TOKEN` (what mail providers send, body
//!   `List-Unsubscribe=One-Click`): unsubscribes at once, answers 200.
//! - `GET /unsubscribe?t=TOKEN` (a person's click): a page with a button;
//!   a GET alone never unsubscribes, since link scanners prefetch GETs.
//! - A token that does not verify changes nothing and answers 400.
//! - Everything else is served from `out/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::deliver::store::{Status, Store};
use crate::deliver::token::Secret;

/// The largest request body accepted (a one-click body is 26 bytes).
const MAX_BODY: usize = 4 * 1024;

/// What the server needs.
pub struct ServeConfig {
    pub out_dir: PathBuf,
    pub state_dir: PathBuf,
    pub secret: Secret,
    pub publication: String,
}

struct AppState {
    store: Mutex<Store>,
    secret: Secret,
    publication: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    t: Option<String>,
}

/// The router, for the server and for tests.
pub fn router(config: ServeConfig) -> Result<Router> {
    let store = Store::open(&config.state_dir)?;
    let state = Arc::new(AppState { store: Mutex::new(store), secret: config.secret, publication: config.publication });
    let files = ServeDir::new(&config.out_dir).append_index_html_on_directories(true);
    Ok(Router::new()
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .fallback_service(files)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10))))
}

/// Serves until the process is stopped.
pub fn run(config: ServeConfig, bind: &str) -> Result<()> {
    let addr: SocketAddr =
        bind.parse().with_context(|| format!("--bind {bind}: expected an address such as 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!("serving {} and one-click unsubscribe on http://{addr}/", config.out_dir.display());
        let app = router(config)?;
        // Small responses go out at once (Nagle would hold a split header/body ~40 ms).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await.context("the server stopped")
    })
}

/// `GET /unsubscribe?t=…`: a confirmation page; changes nothing.
async fn unsubscribe_page(State(state): State<Arc<AppState>>, Query(q): Query<TokenQuery>) -> Response {
    let Some(email) = q.t.as_deref().and_then(|t| state.secret.verify(t)) else {
        return bad_token();
    };
    let token = q.t.unwrap_or_default();
    let name = crate::markdown::escape_html(&state.publication);
    let page = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Unsubscribe from {name}</title>
<style>body{{font:17px/1.5 Georgia,serif;max-width:32em;margin:4em auto;padding:0 1em;color:#1d2229}}button{{font:bold 16px Helvetica,Arial,sans-serif;background:#b3261e;color:#fff;border:0;border-radius:4px;padding:10px 20px;cursor:pointer}}</style>
</head><body>
<h1>Unsubscribe from {name}?</h1>
<p>{email} will get no more issues of {name}.</p>
<form method="post" action="/unsubscribe?t={token}">
<input type="hidden" name="confirm" value="page">
<button type="submit">Unsubscribe</button>
</form>
</body></html>
"#,
        email = crate::markdown::escape_html(&email),
        token = crate::markdown::escape_html(&token),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// `POST /unsubscribe?t=…`: unsubscribes at once (idempotent).
async fn unsubscribe(State(state): State<Arc<AppState>>, Query(q): Query<TokenQuery>, body: String) -> Response {
    let Some(email) = q.t.as_deref().and_then(|t| state.secret.verify(t)) else {
        return bad_token();
    };
    let source = if body.contains("List-Unsubscribe=One-Click") { "one-click" } else { "page" };
    let now = jiff::Timestamp::now().to_string();
    let recorded = tokio::task::spawn_blocking(move || {
        let mut store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
        if !store.set_status(&email, Status::Unsubscribed, source, &now)? {
            // Unknown here (a restored database, say): remember it so it is never mailed.
            store.suppress(&email, Status::Unsubscribed, source, &now)?;
        }
        anyhow::Ok((email, state.publication.clone()))
    })
    .await;
    match recorded {
        Ok(Ok((email, publication))) if source == "page" => Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head><body style=\"font:17px/1.5 Georgia,serif;max-width:32em;margin:4em auto;padding:0 1em\"><h1>You are unsubscribed</h1><p>{} will get no more issues of {}.</p></body></html>",
            crate::markdown::escape_html(&email),
            crate::markdown::escape_html(&publication)
        ))
        .into_response(),
        Ok(Ok(_)) => (StatusCode::OK, "unsubscribed\n").into_response(),
        Ok(Err(e)) => {
            eprintln!("unsubscribe failed: {e:#}");
            (StatusCode::SERVICE_UNAVAILABLE, "could not record the unsubscribe, please try again\n").into_response()
        }
        Err(e) => {
            eprintln!("unsubscribe failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not record the unsubscribe, please try again\n").into_response()
        }
    }
}

fn bad_token() -> Response {
    (StatusCode::BAD_REQUEST, "this unsubscribe link is not valid: use the link from the newsletter itself\n")
        .into_response()
}

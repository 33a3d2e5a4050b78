//! `/unsubscribe`: the page a reader's click opens (GET, changes nothing) and
//! the one-click POST (RFC 8058) that mail providers and the page's button send.

use std::sync::Arc;

use anyhow::Result;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::deliver::store::Status;
use crate::server::{AppState, TokenQuery};

/// The address a token names, if it verifies; `Err` when the database failed.
async fn holder(state: &Arc<AppState>, token: Option<&str>) -> Result<Option<String>> {
    let Some(token) = token else { return Ok(None) };
    let (state, token) = (state.clone(), token.to_string());
    tokio::task::spawn_blocking(move || {
        let store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
        store.unsubscribe_holder(&state.secret, &token)
    })
    .await?
}

/// `GET /unsubscribe?t=…`: a confirmation page; changes nothing.
pub(super) async fn page(State(state): State<Arc<AppState>>, q: TokenQuery) -> Response {
    let email = match holder(&state, q.t.as_deref()).await {
        Ok(Some(email)) => email,
        Ok(None) => return not_a_reader(&state, q.t.as_deref(), None).await,
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
    let page = super::page(&format!("Unsubscribe from {}", state.publication), &body);
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// `POST /unsubscribe?t=…`: unsubscribes at once (idempotent).
pub(super) async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    q: TokenQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    if state.origin(&headers, false).is_err() {
        let body = "<h1>Not from this site</h1><p>This request came from another site's page, so nothing was \
                    changed. Use the unsubscribe link in the newsletter itself.</p>";
        return (StatusCode::FORBIDDEN, Html(super::page("Refused", body))).into_response();
    }
    let email = match holder(&state, q.t.as_deref()).await {
        Ok(Some(email)) => email,
        Ok(None) => return not_a_reader(&state, q.t.as_deref(), Some(&body)).await,
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
            Html(super::page("Unsubscribed", &body)).into_response()
        }
        Ok(()) => (StatusCode::OK, "unsubscribed\n").into_response(),
        Err(e) => unavailable(e),
    }
}

/// A token that names no reader: one whose address was forgotten on request
/// (`subscribers forget`) is told so, without the address (to a one-click
/// POST of a mail provider, the address gets no mail: done); any other is
/// broken.
async fn not_a_reader(state: &Arc<AppState>, token: Option<&str>, posted: Option<&str>) -> Response {
    let forgotten = match token {
        Some(token) => {
            let (state, token) = (state.clone(), token.to_string());
            tokio::task::spawn_blocking(move || {
                let store = state.store.lock().map_err(|_| anyhow::anyhow!("the database lock was poisoned"))?;
                store.names_forgotten(&state.secret, &token)
            })
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
        }
        None => Ok(false),
    };
    match forgotten {
        Ok(true) if posted.is_some_and(|body| body.contains("List-Unsubscribe=One-Click")) => {
            (StatusCode::OK, "not on the list\n").into_response()
        }
        Ok(true) => {
            let body = format!("<h1>{}</h1><p>{}</p>", super::audience::GONE_TITLE, super::audience::GONE_TEXT);
            ([(header::CACHE_CONTROL, "no-store")], Html(super::page(super::audience::GONE_TITLE, &body)))
                .into_response()
        }
        Ok(false) => bad_token(&state.publication),
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
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        Html(super::page("Broken unsubscribe link", &body)),
    )
        .into_response()
}

fn unavailable(e: anyhow::Error) -> Response {
    eprintln!("unsubscribe failed: {e:#}");
    (StatusCode::SERVICE_UNAVAILABLE, "could not record the unsubscribe, please try again\n").into_response()
}

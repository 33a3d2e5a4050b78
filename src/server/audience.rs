//! The reader's routes: `/subscribe` (the form, and its POST from this site
//! or an allowed one, with CORS), `/confirm` (a GET shows a button, the POST
//! confirms), `/preferences` (the name, and a way to leave). Signups are
//! rate-limited per client and overall; the answer to a signup is the same
//! whether or not the address is known.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::deliver::store::audience::SignupRequest;
use crate::publication::readers::ConfirmLink;
use crate::render::audience::{self, ExtraForm, Field, Form, Page};
use crate::server::{AppState, TokenQuery};

/// Signups one client may make in a burst, and how fast the allowance comes back.
const PER_CLIENT_BURST: f64 = 5.0;
const PER_CLIENT_PER_SEC: f64 = 1.0 / 60.0;
/// The overall burst, in seconds of `[serve] signups_per_sec`.
const OVERALL_BURST_SECS: f64 = 12.0;
/// Clients remembered at once; the memory a flood can take is bounded by it.
const MAX_CLIENTS: usize = 10_000;
/// How often the mailer looks for queued mail when nothing wakes it.
const MAILER_TICK: Duration = Duration::from_secs(5);

/// Token buckets: one per client address (bounded) and one overall.
pub(crate) struct Limits {
    inner: Mutex<Buckets>,
    /// Signups per second the whole server takes (`[serve] signups_per_sec`).
    overall_per_sec: f64,
}

#[derive(Default)]
struct Buckets {
    clients: HashMap<IpAddr, (f64, Instant)>,
    overall: Option<(f64, Instant)>,
}

impl Limits {
    pub(crate) fn new(overall_per_sec: f64) -> Limits {
        Limits { inner: Mutex::default(), overall_per_sec }
    }

    /// `Ok` to go ahead, or `Err(seconds)` to wait before trying again.
    fn take(&self, client: IpAddr) -> Result<(), u64> {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refill = |(tokens, at): (f64, Instant), burst: f64, rate: f64| {
            ((tokens + now.duration_since(at).as_secs_f64() * rate).min(burst), now)
        };
        let (rate, burst) = (self.overall_per_sec, self.overall_per_sec * OVERALL_BURST_SECS);
        let overall = refill(b.overall.unwrap_or((burst, now)), burst, rate);
        if b.clients.len() >= MAX_CLIENTS && !b.clients.contains_key(&client) {
            // Forget the clients whose allowance is whole again; if none, wait.
            b.clients.retain(|_, v| refill(*v, PER_CLIENT_BURST, PER_CLIENT_PER_SEC).0 < PER_CLIENT_BURST);
            if b.clients.len() >= MAX_CLIENTS {
                return Err(60);
            }
        }
        let mine = refill(
            b.clients.get(&client).copied().unwrap_or((PER_CLIENT_BURST, now)),
            PER_CLIENT_BURST,
            PER_CLIENT_PER_SEC,
        );
        if mine.0 < 1.0 {
            b.clients.insert(client, mine);
            return Err(((1.0 - mine.0) / PER_CLIENT_PER_SEC).ceil() as u64);
        }
        if overall.0 < 1.0 {
            b.overall = Some(overall);
            return Err(((1.0 - overall.0) / rate).ceil().max(1.0) as u64);
        }
        b.clients.insert(client, (mine.0 - 1.0, now));
        b.overall = Some((overall.0 - 1.0, now));
        Ok(())
    }
}

/// Sends queued confirmation and welcome mails: woken after each signup or
/// confirmation, and every few seconds (for what a crash left queued).
pub(crate) fn spawn_mailer(state: Arc<AppState>) {
    tokio::spawn(async move {
        loop {
            let app = Arc::clone(&state.app);
            match tokio::task::spawn_blocking(move || app.send_queued_mail()).await {
                Ok(Err(e)) => eprintln!("queued mail not sent: {e:#}"),
                Err(e) => eprintln!("queued mail not sent: {e}"),
                Ok(Ok(_)) => {}
            }
            let _ = tokio::time::timeout(MAILER_TICK, state.mailer.notified()).await;
        }
    });
}

/// The client's address: the peer, or, when the peer is a proxy on this
/// machine, the last address it put in `X-Forwarded-For`.
pub(super) fn client(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    // Bound to `[::]`, an IPv4 peer comes as `::ffff:a.b.c.d`: the same client as `a.b.c.d`.
    let peer = peer.ip().to_canonical();
    if peer.is_loopback()
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_canonical();
    }
    peer
}

/// `response` with the CORS headers that let `origin` (an allowed one) read it.
pub(super) fn cors(mut response: Response, origin: Option<&str>) -> Response {
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn html_page(state: &AppState, status: StatusCode, page: &Page) -> Response {
    let rendered = state
        .app
        .info()
        .map_err(|e| e.to_string())
        .and_then(|info| audience::page(state.app.renderer(), &info, page).map_err(|d| d.to_string()));
    match rendered {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            eprintln!("cannot render a page: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown\n").into_response()
        }
    }
}

fn message(title: &str, paragraphs: &[&str]) -> Page {
    Page { title: title.into(), paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(), ..Page::default() }
}

/// An answer as a page, or as JSON when the request spoke JSON.
fn answer(state: &AppState, json: bool, status: StatusCode, title: &str, text: &str) -> Response {
    if json {
        let body = serde_json::json!({ "ok": status.is_success(), "message": text });
        let headers = [(header::CACHE_CONTROL, "no-store"), (header::CONTENT_TYPE, "application/json")];
        return (status, headers, body.to_string()).into_response();
    }
    html_page(state, status, &message(title, &[text]))
}

/// `GET /subscribe`.
pub(super) async fn subscribe_page(State(state): State<Arc<AppState>>) -> Response {
    let double = state.app.workspace().config().map(|c| c.audience.double_opt_in).unwrap_or(true);
    let rendered = state
        .app
        .info()
        .map_err(|e| e.to_string())
        .and_then(|info| audience::subscribe_page(state.app.renderer(), &info, double).map_err(|d| d.to_string()));
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            eprintln!("cannot render the signup page: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown\n").into_response()
        }
    }
}

/// `OPTIONS /subscribe`: the CORS preflight of a form on an allowed site.
pub(super) async fn preflight(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match state.origin(&headers, true) {
        Ok(origin) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            cors(response, origin.as_deref())
        }
        Err(()) => (StatusCode::FORBIDDEN, "this site may not post the signup form\n").into_response(),
    }
}

/// The signup's fields; in JSON each may be left out or `null`.
#[derive(Deserialize, Default)]
struct SignupForm {
    email: Option<String>,
    name: Option<String>,
    source: Option<String>,
    /// The honeypot: people leave it empty, form-filling bots do not.
    website: Option<String>,
}

impl SignupForm {
    /// The fields of a form, as (name, value) pairs.
    fn of_fields<K: AsRef<str>>(fields: impl Iterator<Item = (K, String)>) -> SignupForm {
        let mut f = SignupForm::default();
        for (key, value) in fields {
            match key.as_ref() {
                "email" => f.email = Some(value),
                "name" => f.name = Some(value),
                "source" => f.source = Some(value),
                "website" => f.website = Some(value),
                _ => {}
            }
        }
        f
    }
}

/// The text fields of a `multipart/form-data` body (what a page's script
/// sends with `fetch(url, {body: new FormData(form)})`), or `None` when it is
/// not one. Files are left out.
fn multipart_fields(content_type: &str, body: &str) -> Option<Vec<(String, String)>> {
    let boundary = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    })?;
    let delimiter = format!("--{boundary}");
    let mut parts = body.split(delimiter.as_str());
    parts.next()?; // the preamble
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Some(fields);
        }
        let (head, value) = part.strip_prefix("\r\n")?.split_once("\r\n\r\n")?;
        let disposition = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-disposition").then_some(value)
        })?;
        let param = |wanted: &str| {
            disposition.split(';').skip(1).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim().eq_ignore_ascii_case(wanted).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if param("filename").is_none()
            && let Some(name) = param("name")
        {
            fields.push((name, value.strip_suffix("\r\n").unwrap_or(value).to_string()));
        }
    }
    // No closing delimiter: cut short.
    None
}

/// `POST /subscribe`: form-encoded or JSON.
pub(super) async fn subscribe(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    // Media types are case-insensitive (`Application/JSON`).
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = media == "application/json";
    let Ok(origin) = state.origin(&headers, true) else {
        return answer(
            &state,
            json,
            StatusCode::FORBIDDEN,
            "Not from this site",
            "This form may not be posted from another site.",
        );
    };
    let done = |response: Response| cors(response, origin.as_deref());
    if let Err(wait) = state.limits.take(client(peer, &headers)) {
        let mut response = answer(
            &state,
            json,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many signups",
            "Too many signups from here just now: please try again in a few minutes.",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return done(response);
    }
    let form: SignupForm = if json {
        match serde_json::from_str(&body) {
            Ok(f) => f,
            Err(_) => {
                return done(answer(
                    &state,
                    json,
                    StatusCode::BAD_REQUEST,
                    "Not understood",
                    "The request is not the JSON of a signup: send {\"email\": \"…\"}.",
                ));
            }
        }
    } else if media == "multipart/form-data" {
        match multipart_fields(&content_type, &body) {
            Some(fields) => SignupForm::of_fields(fields.into_iter()),
            None => {
                return done(answer(
                    &state,
                    json,
                    StatusCode::BAD_REQUEST,
                    "Not understood",
                    "The form arrived cut short or garbled: please send it again.",
                ));
            }
        }
    } else {
        SignupForm::of_fields(url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k, v.into_owned())))
    };
    let email = form.email.unwrap_or_default();
    let double = state.app.workspace().config().map(|c| c.audience.double_opt_in).unwrap_or(true);
    // Said whatever became of the signup (known, new, a bot's): with double
    // opt-in a mail to confirm follows; without, the person is in at once.
    let thanks = |state: &AppState| match double {
        true => answer(
            state,
            json,
            StatusCode::OK,
            "Check your inbox",
            "If the address can get our mail, a message is on its way: open it and press the button to confirm.",
        ),
        false => answer(
            state,
            json,
            StatusCode::OK,
            "Thank you for subscribing",
            "If the address can get our mail, the next issue will reach it; every issue has a link to leave.",
        ),
    };
    if form.website.is_some_and(|w| !w.is_empty()) {
        return done(thanks(&state));
    }
    if let Err(why) = crate::deliver::address::check_address(email.trim()) {
        return done(answer(
            &state,
            json,
            StatusCode::BAD_REQUEST,
            "Check the address",
            &format!("{why}: check it and try again."),
        ));
    }
    let req = SignupRequest {
        email,
        name: form.name.unwrap_or_default(),
        source: form.source,
        ip: Some(client(peer, &headers).to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
    };
    let app = Arc::clone(&state.app);
    match tokio::task::spawn_blocking(move || app.signup(req, double)).await {
        Ok(Ok(_)) => {
            state.mailer.notify_one();
            done(thanks(&state))
        }
        Ok(Err(e)) => {
            eprintln!("signup not recorded: {e:#}");
            done(answer(
                &state,
                json,
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "The signup could not be recorded just now: please try again.",
            ))
        }
        Err(e) => {
            eprintln!("signup not recorded: {e}");
            done(answer(
                &state,
                json,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again",
                "The signup could not be recorded: please try again.",
            ))
        }
    }
}

/// The page of a confirmation link that cannot confirm.
fn link_problem(state: &AppState, link: &ConfirmLink) -> Option<Response> {
    match link {
        ConfirmLink::Valid { .. } => None,
        ConfirmLink::Used { subscribed: true } => Some(html_page(
            state,
            StatusCode::OK,
            &message("You are subscribed", &["This link was used already: your subscription is confirmed."]),
        )),
        // Used, and the person left since: the link does not bring them back.
        ConfirmLink::Used { subscribed: false } => Some(html_page(
            state,
            StatusCode::GONE,
            &message(
                "This link was used already",
                &[
                    "This address gets no issues now. To come back, sign up again on the subscribe page and use the new link.",
                ],
            ),
        )),
        ConfirmLink::Expired => Some(html_page(
            state,
            StatusCode::GONE,
            &message(
                "This link has expired",
                &[
                    "Confirmation links work for a limited time. Sign up again on the subscribe page and use the new link.",
                ],
            ),
        )),
        ConfirmLink::Broken => Some(html_page(
            state,
            StatusCode::BAD_REQUEST,
            &message(
                "This confirmation link is broken",
                &[
                    "It may have been cut short when it was copied. Open the link from the confirmation mail itself, or sign up again.",
                ],
            ),
        )),
    }
}

async fn check_link(state: &Arc<AppState>, token: Option<String>) -> Result<ConfirmLink, Response> {
    let Some(token) = token else { return Ok(ConfirmLink::Broken) };
    let app = Arc::clone(&state.app);
    match tokio::task::spawn_blocking(move || app.check_confirm_link(&token)).await {
        Ok(Ok(link)) => Ok(link),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Err(e) => Err(unavailable(e.to_string())),
    }
}

fn unavailable(e: String) -> Response {
    eprintln!("request failed: {e}");
    (StatusCode::SERVICE_UNAVAILABLE, "please try again in a moment\n").into_response()
}

fn token_action(path: &str, token: &str) -> String {
    format!("{path}?t={}", url::form_urlencoded::byte_serialize(token.trim().as_bytes()).collect::<String>())
}

/// `GET /confirm?t=…`: a page with a button; confirms nothing by itself.
pub(super) async fn confirm_page(State(state): State<Arc<AppState>>, q: TokenQuery) -> Response {
    let link = match check_link(&state, q.t.clone()).await {
        Ok(link) => link,
        Err(response) => return response,
    };
    if let Some(problem) = link_problem(&state, &link) {
        return problem;
    }
    let ConfirmLink::Valid { email } = link else { return unavailable("unreachable".into()) };
    let name = state.app.info().map(|i| i.name).unwrap_or_default();
    let page = Page {
        title: "Confirm your subscription".into(),
        paragraphs: vec![format!("{email} will get {name}.")],
        extra_forms: vec![ExtraForm {
            action: token_action("confirm", q.t.as_deref().unwrap_or("")),
            button: "Confirm my subscription".into(),
        }],
        ..Page::default()
    };
    html_page(&state, StatusCode::OK, &page)
}

/// `POST /confirm?t=…`: confirms; the welcome mail follows.
pub(super) async fn confirm(State(state): State<Arc<AppState>>, q: TokenQuery, headers: HeaderMap) -> Response {
    if state.origin(&headers, false).is_err() {
        return html_page(
            &state,
            StatusCode::FORBIDDEN,
            &message("Not from this site", &["Use the button on the confirmation page itself."]),
        );
    }
    let Some(token) = q.t else {
        return link_problem(&state, &ConfirmLink::Broken).unwrap_or_else(|| unavailable("no token".into()));
    };
    let app = Arc::clone(&state.app);
    let (link, done) = match tokio::task::spawn_blocking(move || app.confirm(&token)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => return unavailable(format!("{e:#}")),
        Err(e) => return unavailable(e.to_string()),
    };
    if let Some(problem) = link_problem(&state, &link) {
        return problem;
    }
    state.mailer.notify_one();
    use crate::deliver::store::audience::Confirmed;
    match done {
        Some(Confirmed::Suppressed) => html_page(
            &state,
            StatusCode::OK,
            &message(
                "Not subscribed",
                &[
                    "Mail to this address bounced or was reported, so we cannot send the newsletter to it. Write to us if that was a mistake.",
                ],
            ),
        ),
        _ => html_page(
            &state,
            StatusCode::OK,
            &message("You are subscribed", &["Thank you: the next issue will reach you."]),
        ),
    }
}

/// What the link of a reader whose address was forgotten (`subscribers
/// forget`) opens: it names no address, the list no longer holds it.
pub(super) const GONE_TITLE: &str = "This address is no longer on the list";
pub(super) const GONE_TEXT: &str =
    "It was erased from the list on request: it gets no more issues and nothing about it is kept here.";

/// `GET /preferences?t=…` (the token of the unsubscribe link): the address,
/// the name to change, a button to leave.
pub(super) async fn preferences_page(State(state): State<Arc<AppState>>, q: TokenQuery) -> Response {
    let token = q.t.unwrap_or_default();
    let app = Arc::clone(&state.app);
    let t = token.clone();
    let reader = match tokio::task::spawn_blocking(move || app.reader(&t)).await {
        Ok(Ok(reader)) => reader,
        Ok(Err(e)) => return unavailable(format!("{e:#}")),
        Err(e) => return unavailable(e.to_string()),
    };
    let Some(reader) = reader else { return broken_preferences(&state, &token).await };
    html_page(&state, StatusCode::OK, &preferences_of(&reader, &token, None))
}

/// The page of a link that names no reader: one whose address was forgotten
/// on request says so; any other is broken.
async fn broken_preferences(state: &AppState, token: &str) -> Response {
    let (app, t) = (Arc::clone(&state.app), token.to_string());
    if let Ok(Ok(true)) = tokio::task::spawn_blocking(move || app.names_forgotten(&t)).await {
        return html_page(state, StatusCode::OK, &message(GONE_TITLE, &[GONE_TEXT]));
    }
    html_page(
        state,
        StatusCode::BAD_REQUEST,
        &message(
            "This link is broken",
            &["It may have been cut short when it was copied. Use the preferences link at the end of an issue."],
        ),
    )
}

fn preferences_of(reader: &crate::publication::readers::Reader, token: &str, saved: Option<&str>) -> Page {
    let mut paragraphs = vec![format!("Address: {}", reader.email)];
    if let Some(saved) = saved {
        paragraphs.push(saved.to_string());
    }
    if !reader.subscribed {
        paragraphs.push("This address gets no issues.".into());
    }
    Page {
        title: "Your preferences".into(),
        paragraphs,
        form: Some(Form {
            action: token_action("preferences", token),
            fields: vec![Field {
                name: "name".into(),
                label: "Your name".into(),
                kind: "text".into(),
                value: reader.name.clone(),
                required: false,
            }],
            hidden: vec![],
            button: "Save".into(),
        }),
        extra_forms: if reader.subscribed {
            vec![ExtraForm { action: token_action("unsubscribe", token), button: "Unsubscribe".into() }]
        } else {
            vec![]
        },
    }
}

/// `POST /preferences?t=…`: changes the name.
pub(super) async fn preferences(
    State(state): State<Arc<AppState>>,
    q: TokenQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    if state.origin(&headers, false).is_err() {
        return html_page(
            &state,
            StatusCode::FORBIDDEN,
            &message("Not from this site", &["Use the form on your preferences page itself."]),
        );
    }
    let token = q.t.unwrap_or_default();
    let name = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let app = Arc::clone(&state.app);
    let t = token.clone();
    let reader = match tokio::task::spawn_blocking(move || app.rename(&t, &name)).await {
        Ok(Ok(reader)) => reader,
        Ok(Err(e)) => return unavailable(format!("{e:#}")),
        Err(e) => return unavailable(e.to_string()),
    };
    let Some(reader) = reader else { return broken_preferences(&state, &token).await };
    html_page(&state, StatusCode::OK, &preferences_of(&reader, &token, Some("Saved.")))
}

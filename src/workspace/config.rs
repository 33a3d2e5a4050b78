//! The publication's settings, read from `publish.toml`.
//!
//! Parsing is strict (`deny_unknown_fields`, so a typo is an error with the
//! nearest key suggested); meaning is checked after parsing, in [`Config::validate`].

pub mod podcast;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use podcast::Podcast;

use crate::diag::{Diagnostics, Severity};
use crate::text::duration::Duration;
use crate::text::smtp_url::{SmtpUrl, password_variable};
use crate::text::url::{check_web_url, unfit_for_headers};
use crate::workspace::content::toml_file::{Seg, TomlFile};

/// `publish.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The publication's name, as it heads every email and page ("This Week in Asia").
    pub name: String,
    /// One sentence about the publication, for feeds and the archive page.
    #[serde(default)]
    pub description: String,
    /// Where `out/` is published: issue 9's page is `{base_url}/9/`.
    pub base_url: String,
    /// The language of the issues, as a BCP 47 tag.
    #[serde(default = "default_language")]
    pub language: String,
    /// The publication's time zone, an IANA name such as "Asia/Singapore".
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Who the email comes from.
    pub sender: Sender,
    /// How email is sent.
    #[serde(default)]
    pub email: EmailConfig,
    /// The standing "Our Ask" block at the end of every issue.
    pub ask: Option<Ask>,
    /// Social handles and hashtags for the post snippets.
    #[serde(default)]
    pub social: Social,
    /// The podcast channel: `out/feed.xml` is written when it is set.
    pub podcast: Option<Podcast>,
    /// Scheduled sending.
    #[serde(default)]
    pub schedule: Schedule,
    /// Signup, confirmation and welcome.
    #[serde(default)]
    pub audience: Audience,
    /// `publish serve`.
    #[serde(default)]
    pub serve: Serve,
    /// Counted links (off unless turned on).
    #[serde(default)]
    pub insight: Insight,
    /// Where the state (subscribers, ledger, consent) is kept, and how senders share it.
    #[serde(default)]
    pub state: State,
}

fn default_language() -> String {
    "en".into()
}

fn default_timezone() -> String {
    "UTC".into()
}

/// The `From:` of every message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    pub name: String,
    pub email: String,
    /// Where replies go, if not to `email`.
    pub reply_to: Option<String>,
}

/// Which way messages leave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Write every message as a `.eml` file under `out/outbox/N/`.
    #[default]
    Outbox,
    /// Send over SMTP (`smtp_url` or `PUBLISH_SMTP_URL`).
    Smtp,
    /// Pipe each message to a local `sendmail`.
    Sendmail,
}

/// `[email]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// "outbox" (default; "smtp" when `[[email.relays]]` are listed), "smtp" or "sendmail".
    pub transport: Option<TransportKind>,
    /// The SMTP server, e.g. "smtp://127.0.0.1:2525"; `PUBLISH_SMTP_URL` overrides it.
    pub smtp_url: Option<String>,
    /// The sendmail program (default "sendmail").
    pub sendmail_command: Option<String>,
    /// Parallel SMTP connections.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// An optional ceiling on messages per second.
    pub rate_per_sec: Option<f64>,
    /// Where `publish test` and the preview's test button send.
    pub test_to: Option<String>,
    /// The one-click unsubscribe endpoint; default `{base_url}/unsubscribe`.
    pub unsubscribe_url: Option<String>,
    /// The mailto address in `List-Unsubscribe`; default the sender's address.
    pub unsubscribe_mailto: Option<String>,
    /// The `List-Id` header's id; default derived from the sender's domain.
    pub list_id: Option<String>,
    /// How many times a message is tried on 4xx replies or dropped connections.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The wait before the first retry, doubled each time ("1s", "500ms").
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: Duration,
    /// DKIM signing keys: `[email.dkim]` (one) or `[[email.dkim]]` (several,
    /// e.g. RSA and Ed25519, each message then signed once per key).
    #[serde(default, deserialize_with = "one_or_many")]
    pub dkim: Vec<Dkim>,
    /// Several SMTP relays the send is spread over, by weight (`[[email.relays]]`),
    /// instead of the one `smtp_url`.
    #[serde(default)]
    pub relays: Vec<Relay>,
    /// How long a relay that keeps failing is left out before it is tried again ("60s").
    #[serde(default = "default_relay_cooldown")]
    pub relay_cooldown: Duration,
}

/// `[[email.relays]]`: one SMTP relay of several.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    /// How reports name it; its password is in `PUBLISH_SMTP_PASSWORD_<NAME>`.
    pub name: String,
    /// "smtp://user@host:587" or "smtps://…", as `smtp_url`, without a password.
    pub url: String,
    /// Parallel connections to this relay (default: `[email] concurrency`).
    pub concurrency: Option<usize>,
    /// An optional ceiling on messages per second through this relay.
    pub rate_per_sec: Option<f64>,
    /// Its share of the messages beside the others' (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

fn default_relay_cooldown() -> Duration {
    Duration::new("60s")
}

/// One table or an array of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Dkim>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<Dkim>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a table [email.dkim] or tables [[email.dkim]]")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Vec<Dkim>, A::Error> {
            Dkim::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|d| vec![d])
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Vec<Dkim>, A::Error> {
            Vec::<Dkim>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(Visitor)
}

fn default_max_attempts() -> u32 {
    5
}

fn default_retry_backoff() -> Duration {
    Duration::new("1s")
}

impl Default for EmailConfig {
    fn default() -> Self {
        toml::from_str("").expect("every [email] key has a default")
    }
}

fn default_concurrency() -> usize {
    8
}

impl EmailConfig {
    /// The transport `publish.toml` asks for: `transport` as written, else
    /// SMTP when relays are listed, else the outbox.
    pub fn transport_kind(&self) -> TransportKind {
        match self.transport {
            Some(kind) => kind,
            None if !self.relays.is_empty() => TransportKind::Smtp,
            None => TransportKind::Outbox,
        }
    }
}

impl Config {
    /// DMARC passes on DKIM only when the signing domain (`d=`) and the From
    /// domain share their organisational domain (relaxed alignment, RFC 7489
    /// §3.1.1): a signature for another domain counts for nothing there.
    fn validate_dkim_alignment(&self, file: &TomlFile, diags: &mut Diagnostics) {
        let Some((_, from)) = self.sender.email.rsplit_once('@') else { return };
        let from = from.to_ascii_lowercase();
        let organisation = |d: &str| psl::domain_str(d).unwrap_or(d).to_string();
        for (i, dkim) in self.email.dkim.iter().enumerate() {
            let signer = dkim.domain.trim_end_matches('.').to_ascii_lowercase();
            if organisation(&from) == organisation(&signer) {
                continue;
            }
            let message = format!(
                "the DKIM domain \"{signer}\" does not align with the From domain \"{from}\": \
                 receivers that check DMARC will treat the mail as unsigned"
            );
            let hint = format!("sign as {from} (or a domain under it): `publish dkim keygen --selector S` does");
            diags.push(file.diag_at(Severity::Warning, &dkim_path(file, i, "domain"), message).with_hint(hint));
        }
        for (i, dkim) in self.email.dkim.iter().enumerate() {
            let same = |d: &&Dkim| d.selector == dkim.selector && d.domain.eq_ignore_ascii_case(&dkim.domain);
            if self.email.dkim[..i].iter().any(|d| same(&d)) {
                let message = format!(
                    "a second DKIM key with the selector \"{}\" on {}: receivers find one public key per selector, \
                     so one of the signatures would fail",
                    dkim.selector, dkim.domain
                );
                let d = file.diag_at(Severity::Error, &dkim_path(file, i, "selector"), message);
                diags.push(d.with_hint("give each key its own selector (e.g. \"mh-rsa\" and \"mh-ed\")"));
            }
        }
    }
}

impl Config {
    /// The SMTP settings: the one `smtp_url`, or the relays, not both; each
    /// relay's URL, name and numbers; no password in the file.
    fn validate_smtp(&self, file: &TomlFile, diags: &mut Diagnostics) {
        let email = &self.email;
        let at = |path: &[Seg], severity, message: String, hint: &str| {
            file.diag_at(severity, path, message).with_hint(hint.to_string())
        };
        if let Some(url) = &email.smtp_url
            && let Ok(parsed) = SmtpUrl::parse(url)
            && parsed.password.is_some()
        {
            diags.push(at(
                &[Seg::Key("email"), Seg::Key("smtp_url")],
                Severity::Warning,
                "smtp_url holds a password: whoever reads publish.toml (or its history) can send as you".into(),
                "take it out of the URL and set PUBLISH_SMTP_PASSWORD in the environment",
            ));
        }
        if !email.relay_cooldown.is_valid() || email.relay_cooldown.get().is_zero() {
            diags.push(at(
                &[Seg::Key("email"), Seg::Key("relay_cooldown")],
                Severity::Error,
                format!("\"{}\" is not a duration", email.relay_cooldown),
                "write it as \"60s\" or \"5m\"",
            ));
        }
        if email.relays.is_empty() {
            return;
        }
        if email.smtp_url.is_some() {
            diags.push(at(
                &[Seg::Key("email"), Seg::Key("smtp_url")],
                Severity::Error,
                "both smtp_url and [[email.relays]] are set: which one to send through is not clear".into(),
                "keep one: move smtp_url into a [[email.relays]] table, or delete the relays",
            ));
        }
        match email.transport {
            Some(TransportKind::Sendmail) => diags.push(at(
                &[Seg::Key("email"), Seg::Key("transport")],
                Severity::Error,
                "transport = \"sendmail\" with [[email.relays]]: the relays would never be used".into(),
                "write transport = \"smtp\" (or remove the line) to send through the relays, or delete them",
            )),
            Some(TransportKind::Outbox) => diags.push(at(
                &[Seg::Key("email"), Seg::Key("transport")],
                Severity::Warning,
                "transport = \"outbox\" wins over [[email.relays]]: messages are written to out/outbox/, \
                 none goes to a relay"
                    .into(),
                "write transport = \"smtp\" (or remove the line) to send through the relays",
            )),
            _ => {}
        }
        for (i, relay) in email.relays.iter().enumerate() {
            let path = |key| [Seg::Key("email"), Seg::Key("relays"), Seg::Index(i), Seg::Key(key)];
            let name = relay.name.as_str();
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                diags.push(at(
                    &path("name"),
                    Severity::Error,
                    format!("\"{name}\" is not a relay name"),
                    "use letters, digits, - _ and . only (at most 64), e.g. \"ses-eu\"",
                ));
            } else if let Some(earlier) =
                email.relays[..i].iter().find(|r| password_variable(&r.name) == password_variable(name))
            {
                let message = if earlier.name == relay.name {
                    format!("a second relay named \"{name}\"")
                } else {
                    format!(
                        "the relays \"{}\" and \"{name}\" would share the password variable {}",
                        earlier.name,
                        password_variable(name)
                    )
                };
                diags.push(at(&path("name"), Severity::Error, message, "give each relay a name of its own"));
            }
            match SmtpUrl::parse(&relay.url) {
                Err(why) => diags.push(at(
                    &path("url"),
                    Severity::Error,
                    format!("the relay's url is not an SMTP URL: {why:#}"),
                    "write it as smtp://user@host:587 or smtps://user@host:465",
                )),
                Ok(url) if url.password.is_some() => diags.push(at(
                    &path("url"),
                    Severity::Error,
                    "the relay's url holds a password: whoever reads publish.toml (or its history) can send as you"
                        .into(),
                    &format!("take it out of the URL and set {} in the environment", password_variable(name)),
                )),
                Ok(_) => {}
            }
            if relay.weight == 0 {
                diags.push(at(
                    &path("weight"),
                    Severity::Error,
                    "a weight of 0 would send nothing through this relay".into(),
                    "give it a weight of 1 or more, or delete the relay",
                ));
            }
            if let Some(c) = relay.concurrency
                && !(1..=256).contains(&c)
            {
                diags.push(at(
                    &path("concurrency"),
                    Severity::Error,
                    "concurrency must be between 1 and 256".into(),
                    "leave it out to use [email] concurrency",
                ));
            }
            if let Some(rate) = relay.rate_per_sec
                && !(rate > 0.0 && rate.is_finite())
            {
                diags.push(at(
                    &path("rate_per_sec"),
                    Severity::Error,
                    "rate_per_sec must be a positive number".into(),
                    "leave it out for no limit",
                ));
            }
        }
    }
}

/// Where key `i`'s `key` is: `[[email.dkim]]` number i, or the one `[email.dkim]`.
fn dkim_path<'a>(file: &TomlFile, i: usize, key: &'a str) -> Vec<Seg<'a>> {
    let indexed = vec![Seg::Key("email"), Seg::Key("dkim"), Seg::Index(i), Seg::Key(key)];
    if file.span(&indexed).is_some() { indexed } else { vec![Seg::Key("email"), Seg::Key("dkim"), Seg::Key(key)] }
}

/// `[email.dkim]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    pub domain: String,
    pub selector: String,
    /// A PEM file: an RSA key (PKCS#1 or PKCS#8) or an Ed25519 key (PKCS#8, or a base64 seed).
    pub key_file: String,
}

/// `[ask]`: the standing "Our Ask" block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// The ask itself, in Markdown.
    pub text: String,
    /// "Follow and subscribe on …" links, in order.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A labelled link.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// The platforms social posts are written for, as `[social.handles]` names them.
pub const SOCIAL_PLATFORMS: [&str; 5] = ["x", "bluesky", "mastodon", "threads", "linkedin"];

/// `[social]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Social {
    /// The publication's handle per platform (x, bluesky, mastodon, threads, linkedin).
    #[serde(default)]
    pub handles: BTreeMap<String, String>,
    /// Hashtags added to announcements, without the `#`.
    #[serde(default)]
    pub hashtags: Vec<String>,
}

/// `[audience]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// A signup becomes a subscriber only when the person confirms by mail (default true).
    #[serde(default = "yes")]
    pub double_opt_in: bool,
    /// How long a confirmation link works ("7d").
    #[serde(default = "default_confirm_within")]
    pub confirm_within: Duration,
    /// Send the welcome mail (default: when `templates/welcome.html` and `welcome.txt` exist).
    pub welcome: Option<bool>,
}

impl Default for Audience {
    fn default() -> Self {
        Audience { double_opt_in: true, confirm_within: default_confirm_within(), welcome: None }
    }
}

fn yes() -> bool {
    true
}

fn default_confirm_within() -> Duration {
    Duration::new("7d")
}

/// `[serve]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// Origins whose pages may post the signup form (default: the base URL's origin).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Signups the whole server takes per second, after a burst of 12 times as many (default 5).
    #[serde(default = "default_signups_per_sec")]
    pub signups_per_sec: f64,
}

fn default_signups_per_sec() -> f64 {
    5.0
}

impl Default for Serve {
    fn default() -> Self {
        Serve { allowed_origins: Vec::new(), signups_per_sec: default_signups_per_sec() }
    }
}

/// `[insight]`: click counts per link, never per person.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insight {
    /// Write each link of the email as `{base_url}/r/{issue}/{id}`, counted by
    /// `publish serve` (default false: every link exactly as written).
    #[serde(default)]
    pub clicks: bool,
    /// The issue's web page uses the counted links too (default false; needs `clicks`).
    #[serde(default)]
    pub web: bool,
}

/// `[state]`: SQLite in `.publish/` unless a PostgreSQL database is named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// A PostgreSQL database, `postgres://user@host:port/name` (add `?sslmode=require` for TLS);
    /// `PUBLISH_DATABASE_URL` overrides it. Keep the password in the variable, not here.
    pub database_url: Option<String>,
    /// This machine's name in the ledger when several share one send (`PUBLISH_SENDER`
    /// overrides it; default host:pid). Each running sender needs its own.
    pub sender: Option<String>,
    /// How long a claimed batch of recipients stays a sender's without renewal, e.g. "60s"
    /// (`PUBLISH_LEASE` overrides it): a dead sender's batch goes to the others after it.
    #[serde(default = "default_lease")]
    pub lease: Duration,
}

fn default_lease() -> Duration {
    Duration::new("60s")
}

impl Default for State {
    fn default() -> Self {
        State { database_url: None, sender: None, lease: default_lease() }
    }
}

impl State {
    /// `PUBLISH_DATABASE_URL`, else `database_url`; `None`: SQLite in the state folder.
    pub fn database_url(&self) -> Option<String> {
        match std::env::var("PUBLISH_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
            _ => self.database_url.clone().filter(|u| !u.trim().is_empty()),
        }
    }

    /// `PUBLISH_SENDER`, else `sender`, else host:pid.
    pub fn sender_id(&self) -> String {
        if let Ok(name) = std::env::var("PUBLISH_SENDER")
            && !name.trim().is_empty()
        {
            return name.trim().to_string();
        }
        if let Some(name) = self.sender.as_deref().filter(|n| !n.trim().is_empty()) {
            return name.trim().to_string();
        }
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        format!("{}:{}", if host.is_empty() { "localhost" } else { &host }, std::process::id())
    }

    /// `PUBLISH_LEASE`, else `lease`: between 1 second and 1 hour.
    pub fn lease(&self) -> anyhow::Result<std::time::Duration> {
        let (text, from) = match std::env::var("PUBLISH_LEASE") {
            Ok(text) if !text.trim().is_empty() => (Duration::new(text.trim()), "PUBLISH_LEASE"),
            _ => (self.lease.clone(), "[state] lease in publish.toml"),
        };
        let secs = text.get().as_secs_f64();
        anyhow::ensure!(
            text.is_valid() && (1.0..=3600.0).contains(&secs),
            "{from} is \"{text}\": write a duration from \"1s\" to \"1h\", e.g. \"60s\""
        );
        Ok(std::time::Duration::from_secs_f64(secs))
    }
}

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// How late a scheduled issue may still go out by itself, e.g. "6h" or "90m".
    #[serde(default = "default_max_late")]
    pub max_late: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { max_late: default_max_late() }
    }
}

fn default_max_late() -> Duration {
    Duration::new("6h")
}

/// How to write `address` in ASCII: its domain in punycode when only the domain
/// is not ASCII, else an ASCII address.
fn ascii_address_hint(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if local.is_ascii() => match url::Host::parse(domain) {
            Ok(url::Host::Domain(ascii)) => format!("write its domain in ASCII: {local}@{ascii}"),
            _ => "use an address written in ASCII letters".to_string(),
        },
        _ => "use an address written in ASCII letters".to_string(),
    }
}

/// An error at `path` when `text` (the URL `url`, as written for `key`) holds what
/// the List-Unsubscribe header cannot carry; the help gives it percent-encoded.
fn unfit_for_headers_at(diags: &mut Diagnostics, file: &TomlFile, key: &str, text: &str, url: &url::Url, path: &[Seg]) {
    if let Some(problem) = unfit_for_headers_problem(key, text, url) {
        diags.push(file.diag_at(Severity::Error, path, format!("{key} {}", problem.why)).with_hint(problem.help));
    }
}

/// What is wrong with a URL setting, and what to write instead.
pub struct UrlProblem {
    /// Follows the setting's name: "is not a web address: …".
    pub why: String,
    pub help: String,
}

fn unfit_for_headers_problem(key: &str, text: &str, url: &url::Url) -> Option<UrlProblem> {
    let c = unfit_for_headers(text)?;
    let ascii = url.as_str().trim_end_matches('/');
    Some(UrlProblem {
        why: format!("has \"{c}\", which the List-Unsubscribe header and plain-text links cannot carry"),
        help: format!("write it percent-encoded: {key} = \"{ascii}\""),
    })
}

/// Why `text` cannot be `base_url`, if it cannot: the one check `publish check`
/// makes of publish.toml and `publish init --base-url` makes before writing it.
pub fn base_url_problem(text: &str) -> Option<UrlProblem> {
    match check_web_url(text) {
        Err(why) => Some(UrlProblem {
            why: format!("is not a web address: {why}"),
            help: "write it as https://example.com/newsletter".into(),
        }),
        Ok(url) => unfit_for_headers_problem("base_url", text, &url),
    }
}

impl Config {
    /// Checks what parsing cannot: URLs, addresses, the time zone, durations.
    pub fn validate(&self, file: &TomlFile, diags: &mut Diagnostics) {
        let err = |diags: &mut Diagnostics, path: &[Seg], msg: String, hint: &str| {
            diags.push(file.diag_at(Severity::Error, path, msg).with_hint(hint.to_string()));
        };
        if let Some(problem) = base_url_problem(&self.base_url) {
            err(diags, &[Seg::Key("base_url")], format!("base_url {}", problem.why), &problem.help);
        }
        if self.insight.web && !self.insight.clicks {
            err(
                diags,
                &[Seg::Key("insight"), Seg::Key("web")],
                "web = true counts the web page's links, but clicks is off".into(),
                "add `clicks = true` to [insight], or remove `web = true`",
            );
        }
        if let Err(why) = crate::workspace::content::issue::zone_named(&self.timezone) {
            err(
                diags,
                &[Seg::Key("timezone")],
                why,
                "use an IANA name such as \"Asia/Singapore\" or \"Europe/London\" (`timedatectl list-timezones` lists them)",
            );
        }
        for (path, value) in
            [(&[Seg::Key("name")][..], &self.name), (&[Seg::Key("sender"), Seg::Key("name")][..], &self.sender.name)]
        {
            if value.contains(['\r', '\n']) {
                err(diags, path, "a line break here would break the email headers".into(), "keep it on one line");
            } else if value.trim().is_empty() {
                err(diags, path, "this must not be empty".into(), "write the name readers know you by");
            }
        }
        let addresses = [
            (vec![Seg::Key("sender"), Seg::Key("email")], Some(&self.sender.email)),
            (vec![Seg::Key("sender"), Seg::Key("reply_to")], self.sender.reply_to.as_ref()),
            (vec![Seg::Key("email"), Seg::Key("test_to")], self.email.test_to.as_ref()),
            (vec![Seg::Key("email"), Seg::Key("unsubscribe_mailto")], self.email.unsubscribe_mailto.as_ref()),
        ];
        for (path, value) in addresses {
            let Some(value) = value else { continue };
            if value.parse::<lettre::Address>().is_err() {
                err(diags, &path, format!("\"{value}\" is not an email address"), "write it as name@example.com");
            } else if let Some(c) = value.chars().find(|c| !c.is_ascii())
                && !matches!(path[1], Seg::Key("test_to"))
            {
                // It would go into From, Reply-To or List-Unsubscribe of every message as it is
                // (or as encoded words). test_to is a recipient, sent to as subscribers are.
                err(
                    diags,
                    &path,
                    format!(
                        "\"{value}\" has \"{c}\": mail headers cannot carry it (servers without SMTPUTF8 refuse it)"
                    ),
                    &ascii_address_hint(value),
                );
            }
        }
        if let Some(text) = &self.email.unsubscribe_url {
            let path = [Seg::Key("email"), Seg::Key("unsubscribe_url")];
            match check_web_url(text) {
                Err(why) => err(
                    diags,
                    &path,
                    format!("unsubscribe_url is not a web address: {why}"),
                    "write it as https://example.com/unsubscribe",
                ),
                Ok(url) => unfit_for_headers_at(diags, file, "unsubscribe_url", text, &url, &path),
            }
        }
        if self.email.concurrency == 0 || self.email.concurrency > 256 {
            err(
                diags,
                &[Seg::Key("email"), Seg::Key("concurrency")],
                "concurrency must be between 1 and 256".into(),
                "8 suits most SMTP servers",
            );
        }
        if let Some(rate) = self.email.rate_per_sec
            && !(rate > 0.0 && rate.is_finite())
        {
            err(
                diags,
                &[Seg::Key("email"), Seg::Key("rate_per_sec")],
                "rate_per_sec must be a positive number".into(),
                "leave it out for no limit",
            );
        }
        if self.email.max_attempts == 0 || self.email.max_attempts > 20 {
            err(
                diags,
                &[Seg::Key("email"), Seg::Key("max_attempts")],
                "max_attempts must be between 1 and 20".into(),
                "5 is the default",
            );
        }
        if !self.email.retry_backoff.is_valid() {
            err(
                diags,
                &[Seg::Key("email"), Seg::Key("retry_backoff")],
                format!("\"{}\" is not a duration", self.email.retry_backoff),
                "write it as \"1s\" or \"500ms\"",
            );
        }
        if !self.audience.confirm_within.is_valid() || self.audience.confirm_within.get().is_zero() {
            err(
                diags,
                &[Seg::Key("audience"), Seg::Key("confirm_within")],
                format!("\"{}\" is not a duration", self.audience.confirm_within),
                "write it as \"7d\" or \"48h\"",
            );
        }
        if !(self.serve.signups_per_sec > 0.0 && self.serve.signups_per_sec <= 100_000.0) {
            err(
                diags,
                &[Seg::Key("serve"), Seg::Key("signups_per_sec")],
                "signups_per_sec must be above 0 and at most 100000".into(),
                "5 is the default",
            );
        }
        for (i, origin) in self.serve.allowed_origins.iter().enumerate() {
            let ok = url::Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.path() == "/")
                .is_some_and(|u| u.origin().ascii_serialization() == origin.trim_end_matches('/'));
            if !ok {
                err(
                    diags,
                    &[Seg::Key("serve"), Seg::Key("allowed_origins"), Seg::Index(i)],
                    format!("\"{origin}\" is not an origin"),
                    "write it as https://example.com (scheme, host and port only, no path)",
                );
            }
        }
        if !self.schedule.max_late.is_valid() {
            err(
                diags,
                &[Seg::Key("schedule"), Seg::Key("max_late")],
                format!("\"{}\" is not a duration", self.schedule.max_late),
                "write it as \"6h\", \"90m\" or \"2d\"",
            );
        } else if self.schedule.max_late.get() < jiff::SignedDuration::from_mins(2) {
            // Cron starts `publish cron` once a minute and a systemd timer may fire a
            // little late: a shorter window can close before any run sees the issue due.
            diags.push(
                file.diag_at(
                    Severity::Warning,
                    &[Seg::Key("schedule"), Seg::Key("max_late")],
                    format!(
                        "max_late = \"{}\" is shorter than two runs of a once-a-minute cron: \
                         a scheduled issue can miss it and wait for `publish issue N`",
                        self.schedule.max_late
                    ),
                )
                .with_hint("give cron a few minutes, e.g. max_late = \"15m\""),
            );
        }
        self.validate_state(file, diags);
        self.validate_social(file, diags);
        self.validate_dkim_alignment(file, diags);
        self.validate_smtp(file, diags);
        if let Some(ask) = &self.ask {
            let hint = "links must be full https:// URLs or mailto: addresses";
            crate::workspace::content::markdown_check::report_bad_links(
                &ask.text,
                file,
                &[Seg::Key("ask"), Seg::Key("text")],
                hint,
                diags,
            );
            for (i, link) in ask.links.iter().enumerate() {
                if let Err(why) = check_web_url(&link.url) {
                    err(
                        diags,
                        &[Seg::Key("ask"), Seg::Key("links"), Seg::Index(i), Seg::Key("url")],
                        format!("not a web address: {why}"),
                        "write it as https://...",
                    );
                }
            }
        }
    }

    /// `[state]`: a database URL that is one, without its password; a lease that is a duration.
    fn validate_state(&self, file: &TomlFile, diags: &mut Diagnostics) {
        if let Some(text) = &self.state.database_url {
            let path = [Seg::Key("state"), Seg::Key("database_url")];
            match url::Url::parse(text.trim()) {
                Ok(url) if matches!(url.scheme(), "postgres" | "postgresql") => {
                    if url.password().is_some() {
                        diags.push(
                            file.diag_at(Severity::Warning, &path, "the database password is written in publish.toml".to_string())
                                .with_hint("leave it out here and set PUBLISH_DATABASE_URL (with the password) in the environment of each sender".to_string()),
                        );
                    }
                }
                _ => diags.push(
                    file.diag_at(Severity::Error, &path, format!("\"{text}\" is not a PostgreSQL URL"))
                        .with_hint("write it as postgres://user@host:5432/newsletter (add ?sslmode=require for TLS), or leave it out to keep the state in .publish/".to_string()),
                ),
            }
        }
        let secs = self.state.lease.get().as_secs_f64();
        if !self.state.lease.is_valid() || !(1.0..=3600.0).contains(&secs) {
            diags.push(
                file.diag_at(
                    Severity::Error,
                    &[Seg::Key("state"), Seg::Key("lease")],
                    format!("\"{}\" is not a lease length", self.state.lease),
                )
                .with_hint("write a duration from \"1s\" to \"1h\"; \"60s\" is the default".to_string()),
            );
        }
    }

    /// Hashtags every platform recognises, handles for known platforms.
    fn validate_social(&self, file: &TomlFile, diags: &mut Diagnostics) {
        for (i, tag) in self.social.hashtags.iter().enumerate() {
            let path = [Seg::Key("social"), Seg::Key("hashtags"), Seg::Index(i)];
            let (message, hint) = if let Some(bare) = tag.strip_prefix('#') {
                (format!("write the hashtag \"{tag}\" without its #"), format!("\"{bare}\": posts add the #"))
            } else if tag.is_empty()
                || !tag.chars().all(|c| c.is_alphanumeric() || c == '_')
                || tag.chars().all(|c| c.is_numeric())
            {
                (
                    format!("\"{tag}\" is not a hashtag every platform recognises"),
                    "use letters, digits and _ only, not digits alone, e.g. \"AsiaTech\"".to_string(),
                )
            } else {
                continue;
            };
            diags.push(file.diag_at(Severity::Error, &path, message).with_hint(hint));
        }
        for name in self.social.handles.keys() {
            if !SOCIAL_PLATFORMS.contains(&name.as_str()) {
                let suggestion = crate::diag::nearest(name, SOCIAL_PLATFORMS)
                    .map(|n| format!(", did you mean \"{n}\"?"))
                    .unwrap_or_default();
                diags.push(
                    file.diag_at(
                        Severity::Error,
                        &[Seg::Key("social"), Seg::Key("handles"), Seg::Key(name)],
                        format!("unknown platform \"{name}\"{suggestion}"),
                    )
                    .with_hint(format!("handles are for {}", SOCIAL_PLATFORMS.join(", "))),
                );
            }
        }
    }

    /// The publication's base URL without a trailing slash.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// `base_url` as a URL, to build the URLs of published files on ([`file_url`]).
    /// Only for a checked publish.toml: `validate` reports a base_url that is not an
    /// http(s) address, and nothing is rendered while publish.toml has errors.
    pub fn base_url(&self) -> url::Url {
        check_web_url(&self.base_url).expect("publish.toml is checked before anything is rendered")
    }

    /// The web page of issue `number`.
    pub fn issue_url(&self, number: u32) -> String {
        format!("{}/{number}/", self.base())
    }

    /// Where the podcast feed is published: `{base_url}/feed.xml`.
    pub fn feed_url(&self) -> String {
        format!("{}/feed.xml", self.base())
    }

    /// Where the newsletter's RSS feed is published: `{base_url}/newsletter.xml`.
    pub fn newsletter_feed_url(&self) -> String {
        format!("{}/newsletter.xml", self.base())
    }

    /// The publication's time zone (checked by `validate`; UTC if it was wrong).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

//! The reader's journey: sign up, confirm, be welcomed, change the name,
//! leave; and what the publisher asks of it: add, show, export, forget.
//! Confirmation and welcome mails are queued with the change that causes
//! them and sent by [`Publication::send_queued_mail`] (`publish serve` every
//! few seconds, `publish cron` for what a crash left behind).

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::deliver::address::check_address;
use crate::deliver::dkim::Signer;
use crate::deliver::import::{EXPORT_COLUMNS, EXPORT_FIELD};
use crate::deliver::lock::{Lock, TryLock};
use crate::deliver::message::IssueHeaders;
use crate::deliver::send::send_message;
use crate::deliver::store::audience::{Confirmed, ConsentEvent, MailKind, MailState, SignupOutcome, SignupRequest};
use crate::deliver::store::{Status, Subscriber};
use crate::deliver::token::{Purpose, Secret};
use crate::deliver::transport::Transport;
use crate::publication::Publication;
use crate::render::Renderer;
use crate::render::audience::{self, Person, PublicationInfo};

/// How many times a confirmation or welcome mail is tried.
const MAIL_ATTEMPTS: u32 = 5;
/// What a welcome mail's queue row says when the publication has none.
const NO_WELCOME: &str = "not sent: the publication has no welcome mail";

/// How long a process waits for another one sending the queued mails.
const MAIL_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// What a confirmation link is worth.
pub enum ConfirmLink {
    /// Valid: the address it confirms.
    Valid { email: String },
    /// Made by us, but too old: sign up again.
    Expired,
    /// Used already; whether the person is subscribed now (they may have left since).
    Used { subscribed: bool },
    /// Not made by us, or cut short.
    Broken,
}

/// The reader a preferences link opens.
pub struct Reader {
    pub email: String,
    pub name: String,
    pub subscribed: bool,
}

/// Everything stored about one person (`subscribers show`).
#[derive(Serialize)]
pub struct PersonRecord {
    pub email: String,
    pub name: String,
    pub status: String,
    pub fields: std::collections::BTreeMap<String, String>,
    pub joined_by: Option<String>,
    pub consent: Vec<ConsentEvent>,
}

/// Which people `list` and `export` include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Active,
    Inactive,
    All,
    Only(Status),
}

impl std::str::FromStr for Which {
    type Err = anyhow::Error;

    /// `--status`: active, inactive, all, or one status.
    fn from_str(status: &str) -> Result<Which> {
        Ok(match status {
            "active" => Which::Active,
            "inactive" => Which::Inactive,
            "all" => Which::All,
            "unsubscribed" => Which::Only(Status::Unsubscribed),
            "bounced" => Which::Only(Status::Bounced),
            "complained" => Which::Only(Status::Complained),
            "removed" => Which::Only(Status::Removed),
            other => bail!("--status {other}: use active, unsubscribed, bounced, complained, removed, inactive or all"),
        })
    }
}

impl std::fmt::Display for PersonRecord {
    /// The address, status and name, every field, then the consent record.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\t{}\t{}", self.email, self.status, self.name)?;
        for (k, v) in &self.fields {
            write!(f, "\n  {k}: {v}")?;
        }
        for e in &self.consent {
            let detail = e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            write!(f, "\n  {}  {}  {}{detail}", e.at, e.event, e.how)?;
        }
        Ok(())
    }
}

/// One line of `subscribers list`: address and name, or (for people not
/// mailed) address, status, when and how.
pub fn list_line(s: &Subscriber, which: Which) -> String {
    match which {
        Which::Active => format!("{}\t{}", s.email, s.name),
        _ => format!(
            "{}\t{}\t{}\t{}",
            s.email,
            s.status.as_str(),
            s.status_at.as_deref().unwrap_or(""),
            s.status_by.as_deref().unwrap_or("")
        ),
    }
}

/// `subscribers list --json`.
pub fn list_json(people: &[Subscriber]) -> serde_json::Value {
    people
        .iter()
        .map(|s| {
            serde_json::json!({"email": s.email, "name": s.name, "status": s.status.as_str(),
                "status_at": s.status_at, "status_by": s.status_by, "fields": s.fields})
        })
        .collect()
}

/// What `subscribers add` did.
pub enum AddOutcome {
    /// Subscribed (with `--confirmed`).
    Subscribed,
    /// A confirmation mail went out (the server's reply).
    ConfirmationSent(String),
    /// Waiting to confirm, but the confirmation mail did not go (the relay's
    /// reply, or why it was not tried): it stays queued, to be tried again.
    ConfirmationQueued(String),
    /// Waiting to confirm, but the relay refused the confirmation mail too
    /// many times: it is not tried again (the last reply).
    ConfirmationFailed(String),
    /// Subscribed (with `--confirmed`), but the welcome mail did not go (the
    /// relay's reply, or why it was not tried): it stays queued.
    WelcomeQueued(String),
    /// Subscribed (with `--confirmed`), but the relay refused the welcome
    /// mail too many times: it is not tried again (the last reply).
    WelcomeFailed(String),
    /// Already on the list or waiting: nothing changed.
    Known,
}

impl Publication {
    fn secret(&self) -> Result<Secret> {
        if let Some(secret) = self.secret.get() {
            return Ok(secret.clone());
        }
        let secret = Secret::load_or_create(&self.ws.state_dir())?;
        Ok(self.secret.get_or_init(|| secret).clone())
    }

    /// What the reader pages and mails see of the publication.
    pub fn info(&self) -> Result<PublicationInfo> {
        let config = self.ws.config()?;
        Ok(PublicationInfo {
            name: config.name.clone(),
            description: config.description.clone(),
            base_url: config.base().to_string(),
            language: config.language.clone(),
        })
    }

    /// The template environment (built-in templates and the workspace's own),
    /// made once: each template is compiled on first use and kept.
    pub fn renderer(&self) -> &Renderer {
        self.renderer.get_or_init(|| Renderer::new(&self.ws.templates))
    }

    /// Records a signup from the form (or `subscribers add`): with double
    /// opt-in a pending signup and its confirmation mail, else a subscriber.
    /// The caller answers the same whatever happened.
    pub fn signup(&self, mut req: SignupRequest, double_opt_in: bool) -> Result<SignupOutcome> {
        req.email = req.email.trim().to_string();
        req.name = one_line(&req.name, 200);
        req.source = req.source.map(|s| one_line(&s, 200)).filter(|s| !s.is_empty());
        req.user_agent = req.user_agent.map(|s| one_line(&s, 300));
        check_address(&req.email).map_err(|e| anyhow::anyhow!(e))?;
        let config = self.ws.config()?;
        let now = crate::clock::now()?;
        let expires = now.as_second() + config.audience.confirm_within.get().as_secs();
        let mut store = self.store()?;
        let forgotten = self.is_forgotten(&store, &req.email)?;
        store.signup(&req, forgotten, double_opt_in, &now.to_string(), now.as_second(), expires)
    }

    /// What confirmation link `token` is worth, changing nothing.
    pub fn check_confirm_link(&self, token: &str) -> Result<ConfirmLink> {
        let secret = self.secret()?;
        let Some((id, expires)) = secret.claim_until(token) else { return Ok(ConfirmLink::Broken) };
        let now = crate::clock::now()?.as_second();
        let Some(signup) = self.store()?.signup_of(id)? else {
            // Signups stay until they expire, confirmed or not: a link whose
            // row is gone expired (and was purged), or never was ours.
            return Ok(if expires < now { ConfirmLink::Expired } else { ConfirmLink::Broken });
        };
        if !secret.verify_until(Purpose::Confirm, token, id, &signup.email) {
            return Ok(ConfirmLink::Broken);
        }
        if signup.confirmed {
            let subscribed = self.store()?.subscriber(&signup.email)?.is_some_and(|p| p.status == Status::Active);
            return Ok(ConfirmLink::Used { subscribed });
        }
        if expires < now
            || signup.expires_at < now
            || expires != signup.expires_at
            || self.left_since(&signup.email, expires)?
        {
            // Too old; or a later signup mailed a newer link (each carries its
            // own expiry): only the newest one confirms; or the person left
            // after this link was mailed: only a new signup brings them back.
            return Ok(ConfirmLink::Expired);
        }
        Ok(ConfirmLink::Valid { email: signup.email })
    }

    /// Whether `email` left (unsubscribed, bounced, complained, was removed)
    /// after the confirmation link expiring at `expires` was mailed.
    fn left_since(&self, email: &str, expires: i64) -> Result<bool> {
        let Some(person) = self.store()?.subscriber(email)? else { return Ok(false) };
        if person.status == Status::Active {
            return Ok(false);
        }
        let mailed = expires - self.ws.config()?.audience.confirm_within.get().as_secs();
        let left = person.status_at.as_deref().and_then(|at| at.parse::<jiff::Timestamp>().ok());
        // A departure with no time is taken as recent: refusing is the safe side.
        Ok(left.is_none_or(|at| at.as_second() >= mailed))
    }

    /// Confirms the signup of `token`: the person becomes a subscriber and
    /// their welcome mail is queued.
    pub fn confirm(&self, token: &str) -> Result<(ConfirmLink, Option<Confirmed>)> {
        let link = self.check_confirm_link(token)?;
        let ConfirmLink::Valid { email } = &link else { return Ok((link, None)) };
        let (id, _) = self.secret()?.claim_until(token).context("a valid link has a claim")?;
        let done = self.store()?.confirm(id, email, &crate::clock::now()?.to_string())?;
        Ok((link, Some(done)))
    }

    /// The reader an unsubscribe (preferences) token names, if it verifies.
    pub fn reader(&self, token: &str) -> Result<Option<Reader>> {
        let store = self.store()?;
        let Some(email) = store.unsubscribe_holder(&self.secret()?, token)? else { return Ok(None) };
        Ok(store.subscriber(&email)?.map(|s| Reader {
            email: s.email,
            name: s.name,
            subscribed: s.status == Status::Active,
        }))
    }

    /// Whether `token`, which names no reader, names one whose address was
    /// forgotten on request (see [`Store::names_forgotten`]).
    pub fn names_forgotten(&self, token: &str) -> Result<bool> {
        self.store()?.names_forgotten(&self.secret()?, token)
    }

    /// Changes the name of the reader `token` names.
    pub fn rename(&self, token: &str, name: &str) -> Result<Option<Reader>> {
        let Some(reader) = self.reader(token)? else { return Ok(None) };
        let name = one_line(name, 200);
        self.store()?.set_name(&reader.email, &name, "preferences page", &crate::clock::now()?.to_string())?;
        Ok(Some(Reader { name, ..reader }))
    }

    /// Sends every queued confirmation and welcome mail (and purges expired
    /// signups). Returns how many went out.
    ///
    /// One process at a time sends them (`publish serve`, `publish cron`,
    /// `subscribers add` may all try at once): the others wait for it, then
    /// find those it sent marked sent, so no mail goes twice.
    pub fn send_queued_mail(&self) -> Result<usize> {
        self.send_queued_mail_purging_at(crate::clock::now()?)
    }

    /// [`Publication::send_queued_mail`], counting signups expired only if
    /// they are at `purge_at` as well as now: cron's `--now` ahead of the real
    /// clock never deletes a signup whose link still works.
    pub fn send_queued_mail_purging_at(&self, purge_at: jiff::Timestamp) -> Result<usize> {
        let config = self.ws.checked_config()?;
        let what = "sending confirmation and welcome mails";
        let _one_sender = match Lock::acquire_within(&self.ws.state_dir(), "mail", what, MAIL_LOCK_PATIENCE)? {
            TryLock::Acquired(lock) => lock,
            TryLock::Held(holder) => {
                bail!("queued confirmation and welcome mails not sent: {holder} is sending them; try again later")
            }
        };
        let mut store = self.store()?;
        let now = crate::clock::now()?;
        store.purge_expired_signups(now.min(purge_at).as_second())?;
        let queued = store.queued_mail(100, now.as_second())?;
        if queued.is_empty() {
            return Ok(0);
        }
        let secret = self.secret()?;
        let renderer = self.renderer();
        let info = self.info()?;
        let transport = Transport::choose_for(config, &self.ws.out_dir(), "audience")?;
        let signer = Signer::load(&config.email.dkim, &self.ws.root)?;
        let welcome_on = config.audience.welcome.unwrap_or(true);
        let base = config.base().to_string();
        let mut sent = 0;
        for mail in queued {
            let name = store.subscriber(&mail.email)?.map(|s| s.name).unwrap_or_default();
            let person = Person { email: mail.email.clone(), first_name: first_name(&name), name };
            let composed = match mail.kind {
                MailKind::Confirm => {
                    let Some(signup) = store.signup_of(mail.ref_id)? else {
                        store.mail_done(mail.id, Err("the signup is gone"), 1, &now.to_string())?;
                        continue;
                    };
                    let person = Person { first_name: first_name(&signup.name), name: signup.name.clone(), ..person };
                    let token = secret.token_until(Purpose::Confirm, signup.id, &signup.email, signup.expires_at);
                    let expires = jiff::Timestamp::from_second(signup.expires_at)
                        .map(|t| t.to_zoned(config.tz()).strftime("%-d %B %Y, %H:%M %Z").to_string())
                        .unwrap_or_default();
                    let url = format!("{base}/confirm?t={token}");
                    audience::confirm_mail(renderer, &info, &person, &url, &expires)
                        .map(|(subject, html, text)| Some((subject, html, text, None)))
                }
                MailKind::Welcome if welcome_on => {
                    let token = secret.token(Purpose::Unsubscribe, mail.ref_id, &mail.email);
                    let unsubscribe = format!("{base}/unsubscribe?t={token}");
                    let preferences = format!("{base}/preferences?t={token}");
                    audience::welcome_mail(renderer, &info, &person, &unsubscribe, &preferences)
                        .map(|m| m.map(|(subject, html, text)| (subject, html, text, Some(unsubscribe))))
                }
                MailKind::Welcome => Ok(None),
            };
            let (subject, html, text, unsubscribe) = match composed {
                Ok(Some(parts)) => parts,
                Ok(None) => {
                    store.mail_done(mail.id, Err(NO_WELCOME), 1, &now.to_string())?;
                    continue;
                }
                Err(d) => bail!("{d}"),
            };
            let headers = IssueHeaders::new(config, 0, &subject)?;
            let kind = if mail.kind == MailKind::Welcome { "welcome" } else { "confirm" };
            let message = headers.single(
                kind,
                &mail.email,
                &person.name,
                (&html, &text),
                unsubscribe.as_deref(),
                crate::clock::system(now),
            )?;
            let mut bytes = message.formatted();
            if let Some(signer) = &signer {
                bytes = signer.sign(&bytes, crate::clock::system(now))?;
            }
            let label = format!("{kind}-{:06}-{}", mail.id, mail.email);
            let result = send_message(&transport, &headers.domain, &label, &bytes, message.envelope());
            match &result {
                Ok(reply) => {
                    store.mail_done(mail.id, Ok(reply), MAIL_ATTEMPTS, &now.to_string())?;
                    sent += 1;
                }
                Err(reply) => {
                    eprintln!("{kind} mail to {} not sent: {reply}", mail.email);
                    store.mail_done(mail.id, Err(reply), MAIL_ATTEMPTS, &now.to_string())?;
                }
            }
        }
        Ok(sent)
    }

    /// `subscribers add`: one person, subscribed at once (`confirmed`) or sent
    /// the confirmation mail.
    pub fn add_subscriber(&self, email: &str, name: &str, confirmed: bool) -> Result<AddOutcome> {
        let email = email.trim();
        check_address(email).map_err(|e| anyhow::anyhow!(e))?;
        if self.is_forgotten(&self.store()?, email)? {
            bail!("{email} was forgotten on request (`subscribers forget`): it cannot be added again");
        }
        if confirmed {
            let added =
                self.store()?.add_subscriber(email, &one_line(name, 200), "cli", &crate::clock::now()?.to_string())?;
            let Some(id) = added else { return Ok(AddOutcome::Known) };
            // Subscribed whatever the relay says: the welcome stays queued.
            if let Err(e) = self.send_queued_mail() {
                return Ok(AddOutcome::WelcomeQueued(format!("{e:#}")));
            }
            return Ok(match self.store()?.welcome_mail_state(id)? {
                MailState::Sent(_) => AddOutcome::Subscribed,
                MailState::GivenUp(reply) if reply == NO_WELCOME => AddOutcome::Subscribed,
                MailState::Queued(reply) => AddOutcome::WelcomeQueued(reply),
                MailState::GivenUp(reply) => AddOutcome::WelcomeFailed(reply),
            });
        }
        let req = SignupRequest {
            email: email.to_string(),
            name: name.to_string(),
            source: Some("cli".into()),
            ..Default::default()
        };
        match self.signup(req, true)? {
            SignupOutcome::ConfirmationQueued(signup) => {
                // The signup is stored whatever the relay says: its mail stays
                // queued for `publish serve` and `publish cron` to try again.
                if let Err(e) = self.send_queued_mail() {
                    return Ok(AddOutcome::ConfirmationQueued(format!("{e:#}")));
                }
                Ok(match self.store()?.confirm_mail_state(signup)? {
                    MailState::Sent(_) => AddOutcome::ConfirmationSent(format!("a confirmation mail went to {email}")),
                    MailState::Queued(reply) => AddOutcome::ConfirmationQueued(reply),
                    MailState::GivenUp(reply) => AddOutcome::ConfirmationFailed(reply),
                })
            }
            SignupOutcome::Suppressed => {
                bail!("{email} is bounced, complained or removed: it is never mailed again")
            }
            _ => Ok(AddOutcome::Known),
        }
    }

    /// Everything stored about `email`.
    pub fn person(&self, email: &str) -> Result<Option<PersonRecord>> {
        let store = self.store()?;
        let Some(s) = store.subscriber(email)? else {
            let consent = store.consent_of(email)?;
            return Ok((!consent.is_empty()).then(|| PersonRecord {
                email: email.trim().to_string(),
                name: String::new(),
                status: "not subscribed".into(),
                fields: Default::default(),
                joined_by: None,
                consent,
            }));
        };
        Ok(Some(PersonRecord {
            joined_by: store.joined_by(&s.email)?,
            consent: store.consent_of(&s.email)?,
            email: s.email,
            name: s.name,
            status: s.status.as_str().to_string(),
            fields: s.fields,
        }))
    }

    /// The people `which` names, in order of joining.
    pub fn people(&self, which: Which) -> Result<Vec<Subscriber>> {
        let store = self.store()?;
        let all = store.list_all()?;
        Ok(all
            .into_iter()
            .filter(|s| !s.email.starts_with("forgotten:"))
            .filter(|s| match which {
                Which::Active => s.status == Status::Active,
                Which::Inactive => s.status != Status::Active,
                Which::All => true,
                Which::Only(status) => s.status == status,
            })
            .collect())
    }

    /// The list with every field and consent record, as CSV (which `import`
    /// reads back) or JSON.
    pub fn export(&self, which: Which, json: bool) -> Result<String> {
        let people = self.people(which)?;
        let store = self.store()?;
        let mut records = Vec::with_capacity(people.len());
        for s in people {
            records.push(PersonRecord {
                joined_by: store.joined_by(&s.email)?,
                consent: store.consent_of(&s.email)?,
                status: s.status.as_str().to_string(),
                email: s.email,
                name: s.name,
                fields: s.fields,
            });
        }
        if json {
            return Ok(serde_json::to_string_pretty(&records)?);
        }
        let keys: std::collections::BTreeSet<&String> = records.iter().flat_map(|r| r.fields.keys()).collect();
        let mut csv = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = EXPORT_COLUMNS.iter().map(|c| c.to_string()).collect();
        // A field named as a column of the export's own (a list's "status" or
        // "consent") gets a column of its own too, which `import` reads back.
        header.extend(keys.iter().map(|k| match EXPORT_COLUMNS.contains(&k.as_str()) {
            true => format!("{EXPORT_FIELD}{k}"),
            false => k.to_string(),
        }));
        csv.write_record(&header)?;
        for r in &records {
            let mut row = vec![
                r.email.clone(),
                r.name.clone(),
                r.status.clone(),
                r.joined_by.clone().unwrap_or_default(),
                serde_json::to_string(&r.consent)?,
            ];
            row.extend(keys.iter().map(|k| r.fields.get(*k).cloned().unwrap_or_default()));
            csv.write_record(&row)?;
        }
        Ok(String::from_utf8(csv.into_inner()?)?)
    }

    /// Whether `email` was forgotten, in any form.
    fn is_forgotten(&self, store: &crate::deliver::store::Store, email: &str) -> Result<bool> {
        for hash in self.secret()?.forget_hashes(email) {
            if store.is_forgotten(&hash)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Erases `email` (GDPR): only a keyed hash remains, so the address is
    /// never imported or mailed again. Returns whether anything was stored.
    /// The copies of mail to them that the outbox kept are deleted too; how
    /// many is the second value.
    pub fn forget(&self, email: &str) -> Result<(bool, usize)> {
        let hash = self.secret()?.forget_hash(email);
        let found = self.store()?.forget(email.trim(), &hash, &crate::clock::now()?.to_string())?;
        Ok((found, erase_outbox(&self.ws.out_dir().join("outbox"), email)?))
    }
}

/// Deletes the messages to `email` in the outbox's folders (`out/outbox/*/`),
/// named `…-ADDRESS.eml` with the characters the send writes as `_` so
/// written (`deliver::send`'s `write_outbox`). Returns how many.
fn erase_outbox(outbox: &std::path::Path, email: &str) -> Result<usize> {
    let safe: String = crate::deliver::address::canonical(email)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+') { c } else { '_' })
        .collect();
    let (ending, whole) = (format!("-{safe}.eml"), format!("{safe}.eml"));
    let Ok(folders) = std::fs::read_dir(outbox) else { return Ok(0) };
    let mut erased = 0;
    for folder in folders.flatten().filter(|f| f.path().is_dir()) {
        for file in std::fs::read_dir(folder.path())?.flatten() {
            let name = file.file_name().to_string_lossy().to_lowercase();
            if name.ends_with(&ending) || name == whole {
                std::fs::remove_file(file.path())
                    .with_context(|| format!("cannot delete {}", file.path().display()))?;
                erased += 1;
            }
        }
    }
    Ok(erased)
}

/// `text` on one line (no control characters), at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max).collect()
}

fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or("").to_string()
}

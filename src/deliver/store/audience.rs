//! The audience in the store: signups waiting for confirmation, the consent
//! record, the queue of confirmation and welcome mails, forgotten addresses.
//! Each change is one transaction: a signup and its mail, a confirmation and
//! its welcome, an erasure and everything it erases.

use anyhow::Result;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::db::{Conn, args};
use super::{Status, Store, Subscriber, row_to_subscriber};
use crate::deliver::address::canonical;

/// How long a pending signup waits before the same address may be mailed
/// another confirmation.
pub const RESEND_AFTER_SECS: i64 = 3600;

/// A signup as the form sent it.
#[derive(Debug, Clone, Default)]
pub struct SignupRequest {
    pub email: String,
    pub name: String,
    pub source: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a signup did (the reader is told the same in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    /// A confirmation mail is queued for this signup row.
    ConfirmationQueued(i64),
    /// Still pending, and mailed less than an hour ago: nothing new queued.
    RecentlyMailed,
    /// Already a subscriber: nothing to do.
    AlreadySubscribed,
    /// The address must not be mailed (bounced, complained, removed or
    /// forgotten): nothing is stored and nothing sent.
    Suppressed,
    /// Subscribed at once (double opt-in off); a welcome is queued if any.
    Subscribed(i64),
}

/// Where a queued mail is: sent (the server's reply), still queued (the last
/// reply, empty when not tried yet) or given up (the last reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
    Sent(String),
    Queued(String),
    GivenUp(String),
}

/// A pending signup.
#[derive(Debug, Clone)]
pub struct Signup {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub expires_at: i64,
    /// Its link was used: the person confirmed.
    pub confirmed: bool,
}

/// What confirming did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// Now a subscriber (row id).
    Subscribed(i64),
    /// Was confirmed before (the link was used twice).
    Already,
    /// The address may not be mailed any more (bounced, complained, removed).
    Suppressed,
}

/// One mail waiting to be sent.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub kind: MailKind,
    pub email: String,
    /// The signup row (confirmation) or the subscriber row (welcome).
    pub ref_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Confirm,
    Welcome,
}

/// How someone joined and their consent record, as our own export wrote
/// them: an import that adds them keeps these instead of starting a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Their name and fields (a JSON object), kept also when they left.
    pub name: String,
    pub fields: String,
    pub joined_by: Option<String>,
    /// When they joined (their `joined` event).
    pub created_at: String,
    /// The events, as a JSON array of [`ConsentEvent`]s, oldest first.
    pub consent: String,
}

/// One event of a person's consent record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentEvent {
    pub at: String,
    /// joined, confirmed, unsubscribed, bounced, complained, removed, name changed, …
    pub event: String,
    /// import:FILE:LINE, signup, confirm link, cli, one-click, page, dsn, arf, …
    pub how: String,
    pub detail: Option<String>,
}

impl Store {
    /// Whether `hash` (see `Secret::forget_hash`) names a forgotten address.
    pub fn is_forgotten(&self, hash: &str) -> Result<bool> {
        Ok(self.db().query_opt("SELECT 1 FROM forgotten WHERE hash = $1", args![hash])?.is_some())
    }

    /// Records a signup and queues its confirmation mail in one transaction.
    /// `forgotten`: the address's keyed hash is in the forgotten list.
    pub fn signup(
        &mut self,
        req: &SignupRequest,
        forgotten: bool,
        double_opt_in: bool,
        now: &str,
        now_secs: i64,
        expires_at: i64,
    ) -> Result<SignupOutcome> {
        let req = &SignupRequest { email: canonical(&req.email), ..req.clone() };
        self.audience_tx(|tx| {
            let status = tx
                .query_opt("SELECT status FROM subscribers WHERE email = $1", args![req.email.as_str()])?
                .map(|r| r.text(0));
            Ok(match status.as_deref().map(Status::parse) {
                _ if forgotten => SignupOutcome::Suppressed,
                Some(Status::Active) => SignupOutcome::AlreadySubscribed,
                // Only the person, confirming by mail, may come back after leaving.
                Some(Status::Unsubscribed) if double_opt_in => pending(tx, req, now, now_secs, expires_at)?,
                Some(_) => SignupOutcome::Suppressed,
                None if double_opt_in => pending(tx, req, now, now_secs, expires_at)?,
                None => {
                    let how = joined_by(req);
                    let id = tx
                        .query_one(
                            "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES ($1, $2, $3, $4)
                             RETURNING id",
                            args![req.email.as_str(), req.name.as_str(), now, how],
                        )?
                        .int(0);
                    queue(tx, MailKind::Welcome, &req.email, id, now)?;
                    SignupOutcome::Subscribed(id)
                }
            })
        })
    }

    /// The pending signup `id`, if it is still there.
    pub fn signup_of(&self, id: i64) -> Result<Option<Signup>> {
        let row = self.db().query_opt(
            "SELECT id, email, name, expires_at, confirmed_at IS NOT NULL FROM signups WHERE id = $1",
            args![id],
        )?;
        Ok(row.map(|r| Signup {
            id: r.int(0),
            email: r.text(1),
            name: r.text(2),
            expires_at: r.int(3),
            confirmed: r.bool(4),
        }))
    }

    /// Turns pending signup `id` (address `email`) into a subscriber, records
    /// the confirmation and queues the welcome mail, in one transaction.
    pub fn confirm(&mut self, id: i64, email: &str, now: &str) -> Result<Confirmed> {
        let email = &canonical(email);
        self.audience_tx(|tx| {
            let signup = tx.query_opt(
                "SELECT name, source, ip, user_agent, created_at FROM signups
                 WHERE id = $1 AND email = $2 AND confirmed_at IS NULL",
                args![id, email],
            )?;
            let Some(signup) = signup else {
                let active =
                    tx.query_opt("SELECT 1 FROM subscribers WHERE email = $1 AND status = 'active'", args![email])?;
                return Ok(if active.is_some() { Confirmed::Already } else { Confirmed::Suppressed });
            };
            let name = signup.text(0);
            let req = SignupRequest {
                email: email.to_string(),
                name: name.clone(),
                source: signup.opt_text(1),
                ip: signup.opt_text(2),
                user_agent: signup.opt_text(3),
            };
            let signed_up = signup.text(4);
            let how = joined_by(&req);
            let status = tx.query_opt("SELECT status FROM subscribers WHERE email = $1", args![email])?.map(|r| r.text(0));
            let outcome = match status.as_deref().map(Status::parse) {
                None => {
                    // Joined when they signed up (the consent record says so), confirmed now.
                    let id = tx
                        .query_one(
                            "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES ($1, $2, $3, $4)
                             RETURNING id",
                            args![email, name.as_str(), signed_up, how],
                        )?
                        .int(0);
                    Confirmed::Subscribed(id)
                }
                Some(Status::Unsubscribed) => {
                    let id = tx
                        .query_one(
                            "UPDATE subscribers SET status = 'active', status_at = $2, status_by = $3, status_reason = NULL,
                             name = CASE WHEN $4 <> '' THEN $4 ELSE name END WHERE email = $1 RETURNING id",
                            args![email, now, how, name.as_str()],
                        )?
                        .int(0);
                    Confirmed::Subscribed(id)
                }
                Some(Status::Active) => Confirmed::Already,
                Some(_) => Confirmed::Suppressed,
            };
            if let Confirmed::Subscribed(subscriber) = outcome {
                tx.execute(
                    "INSERT INTO consent (email, at, event, how, detail) VALUES ($1, $2, 'confirmed', 'confirm link', NULL)",
                    args![email, now],
                )?;
                queue(tx, MailKind::Welcome, email, subscriber, now)?;
            }
            // Kept (confirmed) until it expires: its link then says it was used.
            tx.execute("UPDATE signups SET confirmed_at = $2 WHERE id = $1", args![id, now])?;
            tx.execute("DELETE FROM mail_queue WHERE kind = 'confirm' AND ref_id = $1 AND state = 'pending'", args![id])?;
            Ok(outcome)
        })
    }

    /// Deletes the signups whose confirmation expired (they were never
    /// subscribers) and their unsent mails. Returns how many.
    pub fn purge_expired_signups(&mut self, now_secs: i64) -> Result<usize> {
        self.audience_tx(|tx| {
            tx.execute(
                "DELETE FROM mail_queue WHERE kind = 'confirm' AND state = 'pending'
                 AND ref_id IN (SELECT id FROM signups WHERE expires_at < $1)",
                args![now_secs],
            )?;
            Ok(tx.execute("DELETE FROM signups WHERE expires_at < $1", args![now_secs])? as usize)
        })
    }

    /// Mails waiting to be sent, oldest first, at `now` (Unix seconds): one
    /// that failed once is tried again at once, then after a wait growing with
    /// its attempts (1, 8, 27 minutes), so that a relay down for a while does
    /// not use up its tries in a few runs of the mailer.
    pub fn queued_mail(&self, limit: usize, now: i64) -> Result<Vec<QueuedMail>> {
        let rows = self.db().query(
            "SELECT id, kind, email, ref_id FROM mail_queue WHERE state = 'pending'
             AND (tried_at IS NULL OR tried_at <= CAST($2 AS BIGINT) - 60 * (attempts - 1) * (attempts - 1) * (attempts - 1))
             ORDER BY id LIMIT $1",
            args![limit, now],
        )?;
        Ok(rows
            .iter()
            .map(|r| QueuedMail {
                id: r.int(0),
                kind: if r.text(1) == "welcome" { MailKind::Welcome } else { MailKind::Confirm },
                email: r.text(2),
                ref_id: r.int(3),
            })
            .collect())
    }

    /// Records how a queued mail went: sent (`Ok(reply)`), or failed for good.
    /// A mail that failed `max_attempts` times is given up.
    pub fn mail_done(&mut self, id: i64, result: Result<&str, &str>, max_attempts: u32, now: &str) -> Result<()> {
        match result {
            Ok(reply) => self.db().execute(
                "UPDATE mail_queue SET state = 'sent', reply = $2, sent_at = $3, attempts = attempts + 1 WHERE id = $1",
                args![id, reply, now],
            )?,
            Err(reply) => self.db().execute(
                "UPDATE mail_queue SET attempts = attempts + 1, reply = $2, tried_at = $4,
                 state = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END WHERE id = $1",
                args![id, reply, max_attempts, now.parse::<jiff::Timestamp>().map_or(0, |t| t.as_second())],
            )?,
        };
        Ok(())
    }

    /// What became of the (newest) confirmation mail of signup `signup`.
    pub fn confirm_mail_state(&self, signup: i64) -> Result<MailState> {
        self.mail_state("confirm", signup)
    }

    /// What became of the welcome mail of subscriber `subscriber`.
    pub fn welcome_mail_state(&self, subscriber: i64) -> Result<MailState> {
        self.mail_state("welcome", subscriber)
    }

    fn mail_state(&self, kind: &str, ref_id: i64) -> Result<MailState> {
        let row = self.db().query_opt(
            "SELECT state, reply FROM mail_queue WHERE kind = $1 AND ref_id = $2 ORDER BY id DESC LIMIT 1",
            args![kind, ref_id],
        )?;
        Ok(match row.map(|r| (r.text(0), r.opt_text(1).unwrap_or_default())) {
            Some((state, reply)) if state == "sent" => MailState::Sent(reply),
            Some((state, reply)) if state == "failed" => MailState::GivenUp(reply),
            Some((_, reply)) => MailState::Queued(reply),
            None => MailState::GivenUp("the mail is no longer queued".into()),
        })
    }

    /// A subscriber by address, whatever their status.
    pub fn subscriber(&self, email: &str) -> Result<Option<Subscriber>> {
        let row = self.db().query_opt(
            "SELECT id, email, name, fields, status, status_at, status_by FROM subscribers WHERE email = $1",
            args![canonical(email)],
        )?;
        Ok(row.as_ref().map(row_to_subscriber))
    }

    /// How `email` joined (`joined_by`), if it is on the list.
    pub fn joined_by(&self, email: &str) -> Result<Option<String>> {
        let row = self.db().query_opt("SELECT joined_by FROM subscribers WHERE email = $1", args![canonical(email)])?;
        Ok(row.and_then(|r| r.opt_text(0)))
    }

    /// Changes a subscriber's name, with a consent event saying how.
    pub fn set_name(&mut self, email: &str, name: &str, how: &str, now: &str) -> Result<bool> {
        let email = &canonical(email);
        self.audience_tx(|tx| {
            let changed =
                tx.execute("UPDATE subscribers SET name = $2 WHERE email = $1 AND name <> $2", args![email, name])?;
            if changed > 0 {
                tx.execute(
                    "INSERT INTO consent (email, at, event, how, detail) VALUES ($1, $2, 'name changed', $3, NULL)",
                    args![email, now, how],
                )?;
            }
            Ok(changed > 0)
        })
    }

    /// Adds one person as an active subscriber (`subscribers add --confirmed`).
    /// Returns the row id, or `None` when the address is already on the list.
    pub fn add_subscriber(&mut self, email: &str, name: &str, how: &str, now: &str) -> Result<Option<i64>> {
        let email = &canonical(email);
        self.audience_tx(|tx| {
            if tx.query_opt("SELECT 1 FROM subscribers WHERE email = $1", args![email])?.is_some() {
                return Ok(None);
            }
            let id = tx
                .query_one(
                    "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES ($1, $2, $3, $4) RETURNING id",
                    args![email, name, now, how],
                )?
                .int(0);
            queue(tx, MailKind::Welcome, email, id, now)?;
            Ok(Some(id))
        })
    }

    /// Every event of `email`'s consent record, oldest first.
    pub fn consent_of(&self, email: &str) -> Result<Vec<ConsentEvent>> {
        let rows = self.db().query(
            "SELECT at, event, how, detail FROM consent WHERE email = $1 ORDER BY id",
            args![canonical(email)],
        )?;
        Ok(rows
            .iter()
            .map(|r| ConsentEvent { at: r.text(0), event: r.text(1), how: r.text(2), detail: r.opt_text(3) })
            .collect())
    }

    /// Every consent event, oldest first: (address, event).
    pub fn all_consent(&self) -> Result<Vec<(String, ConsentEvent)>> {
        let rows = self.db().query("SELECT email, at, event, how, detail FROM consent ORDER BY id", &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                (r.text(0), ConsentEvent { at: r.text(1), event: r.text(2), how: r.text(3), detail: r.opt_text(4) })
            })
            .collect())
    }

    /// Every issue a send was started for, with when: (issue, started_at).
    pub fn issue_runs(&self) -> Result<Vec<(u32, String)>> {
        let rows = self.db().query("SELECT issue, started_at FROM issue_runs ORDER BY issue", &[])?;
        Ok(rows.iter().map(|r| (r.int(0) as u32, r.text(1))).collect())
    }

    /// Every subscriber, whatever their status, in order of joining.
    pub fn list_all(&self) -> Result<Vec<Subscriber>> {
        let rows = self
            .db()
            .query("SELECT id, email, name, fields, status, status_at, status_by FROM subscribers ORDER BY id", &[])?;
        Ok(rows.iter().map(row_to_subscriber).collect())
    }

    /// Records that issue `issue` soft-bounced for `email` (a full mailbox, a
    /// delay that gave up). When the last three issues sent to them all did,
    /// the address is marked bounced. Returns whether it was.
    pub fn record_soft_bounce(&mut self, email: &str, issue: u32, now: &str) -> Result<bool> {
        let email = &canonical(email);
        self.audience_tx(|tx| {
            tx.execute(
                "INSERT INTO soft_bounces (email, issue, at) VALUES ($1, $2, $3) ON CONFLICT (email, issue) DO NOTHING",
                args![email, issue, now],
            )?;
            let last_three: Vec<i64> = tx
                .query(
                    "SELECT s.issue FROM sends s JOIN subscribers p ON p.id = s.subscriber_id
                     WHERE p.email = $1 AND s.state = 'sent' ORDER BY s.issue DESC LIMIT 3",
                    args![email],
                )?
                .iter()
                .map(|r| r.int(0))
                .collect();
            let mut bounced = false;
            if let [a, b, c] = last_three[..] {
                let soft = tx
                    .query_one(
                        "SELECT COUNT(*) FROM soft_bounces WHERE email = $1 AND issue IN ($2, $3, $4)",
                        args![email, a, b, c],
                    )?
                    .int(0);
                if soft == 3 {
                    bounced = tx.execute(
                        "UPDATE subscribers SET status = 'bounced', status_at = $2, status_by = 'dsn',
                         status_reason = 'soft bounces in three issues in a row' WHERE email = $1 AND status = 'active'",
                        args![email, now],
                    )? > 0;
                }
            }
            Ok(bounced)
        })
    }

    /// Erases `email`: its name, fields, consent record, pending signup and
    /// queued mail are deleted; its row in the ledger keeps only a keyed hash
    /// for an address, so counts stay right and the address is never imported
    /// or mailed again. Returns whether anything of it was stored.
    pub fn forget(&mut self, email: &str, hash: &str, now: &str) -> Result<bool> {
        let email = &canonical(email);
        self.audience_tx(|tx| {
            let mut found = tx.execute("DELETE FROM signups WHERE email = $1", args![email])? > 0;
            tx.execute("DELETE FROM mail_queue WHERE email = $1", args![email])?;
            let placeholder = format!("forgotten:{hash}");
            found |= tx.execute(
                "UPDATE subscribers SET email = $2, name = '', fields = '{}', joined_by = NULL, status_reason = NULL
                 WHERE email = $1",
                args![email, placeholder.as_str()],
            )? > 0;
            tx.execute(
                "UPDATE subscribers SET status = 'removed', status_at = $2, status_by = 'forget' WHERE email = $1",
                args![placeholder.as_str(), now],
            )?;
            tx.execute("DELETE FROM consent WHERE email = $1 OR email = $2", args![email, placeholder.as_str()])?;
            tx.execute("DELETE FROM soft_bounces WHERE email = $1", args![email])?;
            // The servers' replies name the address ("<ada@example.com> ok"), as
            // does the outbox's ("written to …-ada@example.com.eml").
            tx.execute(
                "UPDATE sends SET reply = NULL
                 WHERE subscriber_id IN (SELECT id FROM subscribers WHERE email = $1) AND reply IS NOT NULL",
                args![placeholder.as_str()],
            )?;
            tx.execute(
                "INSERT INTO forgotten (hash, at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
                args![hash, now],
            )?;
            Ok(found)
        })
    }
}

/// The migration step after which every address is in the form
/// [`canonical`] gives (see [`canonical_addresses`], run with it).
pub(super) const CANONICAL_ADDRESSES: &str =
    "-- every address in its canonical form: audience::canonical_addresses\nSELECT 1;\n";

/// Puts each address stored in another case or Unicode form than
/// [`canonical`]'s in that form, with its consent record, signup and queued
/// mail. Where two rows turn out to hold one address, the first keeps it (or
/// the one already in that form) and the other keeps its own; if either may
/// not be mailed, neither is (the one still active takes the other's status),
/// and if both were mailed, the other is removed: no one gets two copies,
/// and no one who left comes back under another spelling.
pub(super) fn canonical_addresses(tx: &rusqlite::Connection) -> Result<()> {
    use std::collections::BTreeMap;
    let now = crate::clock::now()?.to_string();
    // (id, address, status) by the canonical form; only addresses outside ASCII change.
    let mut groups: BTreeMap<String, Vec<(i64, String, String)>> = BTreeMap::new();
    {
        let mut stmt = tx.prepare("SELECT id, email, status FROM subscribers ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let email: String = row.get(1)?;
            let canonical = canonical(&email);
            if !email.is_ascii() && canonical != email {
                groups.entry(canonical).or_default().push((row.get(0)?, email, row.get(2)?));
            }
        }
    }
    for (canonical, mut members) in groups {
        let holder: Option<(i64, String, String)> = tx
            .query_row("SELECT id, email, status FROM subscribers WHERE email = ?1", [&canonical], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let keeper = match holder {
            Some(holder) => {
                members.retain(|m| m.0 != holder.0);
                holder.0
            }
            None => {
                let (id, old, _) = &members[0];
                tx.execute("UPDATE subscribers SET email = ?2 WHERE id = ?1", rusqlite::params![id, canonical])?;
                for table in ["consent", "signups", "mail_queue", "soft_bounces"] {
                    let sql = format!("UPDATE OR IGNORE {table} SET email = ?2 WHERE email = ?1");
                    tx.execute(&sql, [old, &canonical])?;
                }
                members[0].0
            }
        };
        let everyone: Vec<(i64, String)> = {
            let mut ids: Vec<i64> = members.iter().map(|m| m.0).collect();
            ids.push(keeper);
            ids.sort_unstable();
            let mut found = Vec::new();
            for id in ids {
                found.push((id, tx.query_row("SELECT status FROM subscribers WHERE id = ?1", [id], |r| r.get(0))?));
            }
            found
        };
        let left = everyone.iter().find(|(_, status)| status != "active").map(|(_, s)| s.clone());
        for (id, status) in &everyone {
            let (to, why) = match &left {
                Some(left) if status == "active" => (left.as_str(), format!("the same address as {canonical}, {left}")),
                None if *id != keeper => {
                    ("removed", format!("the same address as {canonical}, mailed on its first row"))
                }
                _ => continue,
            };
            tx.execute(
                "UPDATE subscribers SET status = ?2, status_at = ?3, status_by = 'same address', status_reason = ?4
                 WHERE id = ?1",
                rusqlite::params![id, to, now, why],
            )?;
        }
    }
    Ok(())
}

/// How a signup joined, as the consent record says it.
fn joined_by(req: &SignupRequest) -> String {
    let mut how = "signup".to_string();
    for (key, value) in [("source", &req.source), ("ip", &req.ip), ("user agent", &req.user_agent)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            how.push_str(&format!("; {key}: {v}"));
        }
    }
    how
}

fn pending(tx: &mut Conn, req: &SignupRequest, now: &str, now_secs: i64, expires: i64) -> Result<SignupOutcome> {
    // A confirmed signup (the person left since) starts again as a new one.
    let existing = tx.query_opt(
        "SELECT id, CASE WHEN confirmed_at IS NULL THEN mailed_at END FROM signups WHERE email = $1",
        args![req.email.as_str()],
    )?;
    let id = match existing.map(|r| (r.int(0), r.opt_int(1))) {
        Some((_, Some(mailed))) if now_secs - mailed < RESEND_AFTER_SECS => return Ok(SignupOutcome::RecentlyMailed),
        Some((id, _)) => {
            tx.execute(
                "UPDATE signups SET name = $2, source = $3, ip = $4, user_agent = $5, expires_at = $6, mailed_at = $7,
                 confirmed_at = NULL WHERE id = $1",
                args![id, req.name.as_str(), &req.source, &req.ip, &req.user_agent, expires, now_secs],
            )?;
            id
        }
        None => tx
            .query_one(
                "INSERT INTO signups (email, name, source, ip, user_agent, created_at, expires_at, mailed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                args![
                    req.email.as_str(),
                    req.name.as_str(),
                    &req.source,
                    &req.ip,
                    &req.user_agent,
                    now,
                    expires,
                    now_secs
                ],
            )?
            .int(0),
    };
    queue(tx, MailKind::Confirm, &req.email, id, now)?;
    Ok(SignupOutcome::ConfirmationQueued(id))
}

/// Queues a mail; a second welcome for one address is ignored (one each, ever).
fn queue(tx: &mut Conn, kind: MailKind, email: &str, ref_id: i64, now: &str) -> Result<()> {
    let kind = if kind == MailKind::Welcome { "welcome" } else { "confirm" };
    tx.execute(
        "INSERT INTO mail_queue (kind, email, ref_id, queued_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        args![kind, email, ref_id, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(email: &str) -> SignupRequest {
        SignupRequest { email: email.into(), name: "Ada".into(), ..Default::default() }
    }

    #[test]
    fn a_signup_is_pending_until_confirmed_then_welcomed_once() {
        super::super::testdb::each_store(|mut store| {
            let out = store.signup(&req("ada@example.com"), false, true, "t0", 1000, 2000).unwrap();
            let SignupOutcome::ConfirmationQueued(id) = out else { panic!("{out:?}") };
            assert_eq!(store.count_active().unwrap(), 0, "pending people are not subscribers");
            assert_eq!(
                store.signup(&req("ada@example.com"), false, true, "t1", 1100, 2100).unwrap(),
                SignupOutcome::RecentlyMailed,
                "a second signup within the hour queues nothing"
            );
            assert_eq!(store.queued_mail(10, 0).unwrap().len(), 1);
            let Confirmed::Subscribed(sub) = store.confirm(id, "ada@example.com", "t2").unwrap() else { panic!() };
            assert_eq!(store.count_active().unwrap(), 1);
            assert_eq!(store.confirm(id, "ada@example.com", "t3").unwrap(), Confirmed::Already);
            let queued = store.queued_mail(10, 0).unwrap();
            assert!(queued.iter().any(|m| m.kind == MailKind::Welcome && m.ref_id == sub));
            let events: Vec<String> =
                store.consent_of("ada@example.com").unwrap().into_iter().map(|e| e.event).collect();
            assert_eq!(events, ["joined", "confirmed"]);
        });
    }

    #[test]
    fn people_who_must_not_be_mailed_cannot_sign_up_without_confirming() {
        super::super::testdb::each_store(|mut store| {
            for (email, status) in [("b@example.com", Status::Bounced), ("c@example.com", Status::Complained)] {
                store.suppress(email, status, "test", "t0").unwrap();
                assert_eq!(store.signup(&req(email), false, true, "t1", 1, 2).unwrap(), SignupOutcome::Suppressed);
                assert_eq!(store.signup(&req(email), false, false, "t1", 1, 2).unwrap(), SignupOutcome::Suppressed);
            }
            store.suppress("u@example.com", Status::Unsubscribed, "test", "t0").unwrap();
            assert_eq!(
                store.signup(&req("u@example.com"), false, false, "t1", 1, 2).unwrap(),
                SignupOutcome::Suppressed,
                "without double opt-in, a form never brings back someone who left"
            );
            assert!(matches!(
                store.signup(&req("u@example.com"), false, true, "t1", 1, 2).unwrap(),
                SignupOutcome::ConfirmationQueued(_)
            ));
            assert_eq!(
                store.signup(&req("new@example.com"), true, true, "t1", 1, 2).unwrap(),
                SignupOutcome::Suppressed
            );
        });
    }

    #[test]
    fn forgetting_keeps_only_a_hash_and_the_ledger_counts() {
        super::super::testdb::each_store(|mut store| {
            store.add_subscriber("ada@example.com", "Ada", "cli", "t0").unwrap();
            store.enrol(9, false, "t1").unwrap();
            assert!(store.forget("ada@example.com", "abc123", "t2").unwrap());
            assert!(store.subscriber("ada@example.com").unwrap().is_none());
            assert!(store.consent_of("ada@example.com").unwrap().is_empty());
            assert!(store.is_forgotten("abc123").unwrap());
            assert_eq!(store.counts(9).unwrap().skipped + store.counts(9).unwrap().pending, 1);
            let all = store.list_all().unwrap();
            assert!(all.iter().all(|s| !s.email.contains("ada") && s.name.is_empty()), "{all:?}");
        });
    }

    /// Whoever left under one spelling of their address stays out under any
    /// other case or Unicode form of it: through a signup, an import into
    /// a list with people, or one into a list of only them.
    #[test]
    fn no_case_or_unicode_form_of_an_address_that_left_brings_it_back() {
        use crate::deliver::store::ImportRow;
        super::super::testdb::each_store(|mut store| {
            store.suppress("ÄDA@BÜCHER.example", Status::Unsubscribed, "test", "t0").unwrap();
            store.suppress("kim@example.com", Status::Complained, "test", "t0").unwrap();
            for email in ["äda@bücher.example", "Äda@Bücher.EXAMPLE", "a\u{308}da@bu\u{308}cher.example"] {
                let signup = store.signup(&req(email), false, false, "t1", 1, 2).unwrap();
                assert_eq!(signup, SignupOutcome::Suppressed, "{email}");
                assert_eq!(store.status_of(email).unwrap(), Some(Status::Unsubscribed), "{email}");
            }
            assert_eq!(store.add_subscriber("ÄdA@bücher.example", "Ada", "cli", "t1").unwrap(), None);
            let mut import = store.begin_import("import:list.csv", "t2").unwrap();
            for (line, email) in [(2, "äda@BÜCHER.example"), (3, "\u{212A}im@example.com"), (4, "new@example.com")] {
                import.add(ImportRow::Active { line, email, name: "", fields: "{}", forgotten: false }).unwrap();
            }
            import.finish(&mut |_, _, _, _| ()).unwrap();
            assert_eq!(store.count_active().unwrap(), 1, "only new@example.com");
            assert_eq!(store.list_all().unwrap().len(), 3, "no second row for anyone");
        });
        // Into a list of only those who left (rows go straight in).
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&super::super::Location::sqlite_in(dir.path())).unwrap();
        let mut import = store.begin_import("import:list.csv", "t2").unwrap();
        let gone = super::super::Suppression {
            email: "ÄDA@BÜCHER.example".into(),
            status: Status::Unsubscribed,
            at: "t0".into(),
            by: "import:list.csv:2".into(),
            reason: "Mailchimp".into(),
        };
        import.add(ImportRow::Suppressed { line: 2, row: &gone }).unwrap();
        let again =
            ImportRow::Active { line: 3, email: "äda@bücher.example", name: "", fields: "{}", forgotten: false };
        assert_eq!(import.add(again).unwrap(), super::super::Gathered::Duplicate { kept: 2 });
        import.finish(&mut |_, _, _, _| ()).unwrap();
        assert_eq!(store.count_active().unwrap(), 0);
    }

    /// A list written before addresses had one form: each address outside
    /// ASCII takes it, and two rows that turn out to be one person are
    /// mailed at most once, never when either left.
    #[test]
    fn the_migration_gives_stored_addresses_one_form_and_stops_their_doubles() {
        let dir = tempfile::tempdir().unwrap();
        let location = super::super::Location::sqlite_in(dir.path());
        drop(Store::open(&location).unwrap());
        let conn = rusqlite::Connection::open(super::super::db_path(dir.path())).unwrap();
        // The database as it was before that step (and the two after it,
        // mail_queue.tried_at and issue_runs.identity).
        let steps = super::super::MIGRATIONS.iter().position(|m| *m == CANONICAL_ADDRESSES).unwrap() as i64 + 1;
        assert_eq!(steps + 2, super::super::MIGRATIONS.len() as i64, "undo the steps after it here");
        conn.execute_batch(&format!(
            "INSERT INTO subscribers (id, email, status, created_at) VALUES
                 (1, 'ÄDA@BÜCHER.example', 'unsubscribed', 't0'), (2, 'äda@bücher.example', 'active', 't0'),
                 (3, 'JÖRG@example.com', 'active', 't0'), (4, 'BÖB@example.com', 'active', 't0'),
                 (5, 'Böb@example.com', 'active', 't0'), (6, 'plain@example.com', 'active', 't0');
             ALTER TABLE mail_queue DROP COLUMN tried_at;
             ALTER TABLE issue_runs DROP COLUMN identity;
             PRAGMA user_version = {};",
            steps - 1
        ))
        .unwrap();
        drop(conn);
        let store = Store::open(&location).unwrap();
        let rows: Vec<(i64, String, Status)> =
            store.list_all().unwrap().into_iter().map(|s| (s.id, s.email, s.status)).collect();
        assert_eq!(
            rows,
            [
                (1, "ÄDA@BÜCHER.example".into(), Status::Unsubscribed),
                (2, "äda@bücher.example".into(), Status::Unsubscribed),
                (3, "jörg@example.com".into(), Status::Active),
                // Already in that form, but for ASCII case: the row that keeps it.
                (4, "BÖB@example.com".into(), Status::Removed),
                (5, "Böb@example.com".into(), Status::Active),
                (6, "plain@example.com".into(), Status::Active),
            ]
        );
        assert_eq!(store.status_of("JÖRG@EXAMPLE.COM").unwrap(), Some(Status::Active));
        let events: Vec<String> = store.consent_of("jörg@example.com").unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(events, ["joined"], "the consent record moves with the address");
    }

    /// An import of our own export gives each person new to the list the
    /// record it has (how and when they joined, every event, name and fields
    /// also of those who left), on PostgreSQL, into a SQLite list with
    /// people, and into an empty one (rows go straight in); someone already
    /// on the list keeps their own.
    #[test]
    fn an_import_restores_the_consent_record_of_people_new_to_the_list() {
        use crate::deliver::store::{ImportRow, Location, Suppression};
        let record = |name: &str, events: &str| Restored {
            name: name.into(),
            fields: r#"{"city":"Paris"}"#.into(),
            joined_by: Some("signup; source: home".into()),
            created_at: "2024-01-02T03:04:05Z".into(),
            consent: format!(
                r#"[{{"at":"2024-01-02T03:04:05Z","event":"joined","how":"signup","detail":null}}{events}]"#
            ),
        };
        let left = r#",{"at":"2024-03-04T00:00:00Z","event":"unsubscribed","how":"one-click","detail":"said so"}"#;
        let scenario = |mut store: Store, someone: bool| {
            if someone {
                store.add_subscriber("known@example.com", "Known", "cli", "t0").unwrap();
            }
            let mut import = store.begin_import("import:export.csv", "t9").unwrap();
            let ada = ImportRow::Active {
                line: 2,
                email: "ada@example.com",
                name: "Ada",
                fields: r#"{"city":"Paris"}"#,
                forgotten: false,
            };
            import.add(ada).unwrap();
            import.restore("ada@example.com", &record("Ada", "")).unwrap();
            let bob = Suppression {
                email: "bob@example.com".into(),
                status: Status::Unsubscribed,
                at: "2024-03-04T00:00:00Z".into(),
                by: "import:export.csv:3".into(),
                reason: "Masthead status".into(),
            };
            import.add(ImportRow::Suppressed { line: 3, row: &bob }).unwrap();
            import.restore("bob@example.com", &record("Bob", left)).unwrap();
            let known = ImportRow::Active {
                line: 4,
                email: "known@example.com",
                name: "Known",
                fields: "{}",
                forgotten: false,
            };
            import.add(known).unwrap();
            import.restore("known@example.com", &record("Known", "")).unwrap();
            import.finish(&mut |_, _, _, _| ()).unwrap();
            let events = |email| -> Vec<(String, String, String)> {
                store.consent_of(email).unwrap().into_iter().map(|e| (e.at, e.event, e.how)).collect()
            };
            let joined = ("2024-01-02T03:04:05Z".to_string(), "joined".to_string(), "signup".to_string());
            assert_eq!(events("ada@example.com"), std::slice::from_ref(&joined));
            assert_eq!(store.joined_by("ada@example.com").unwrap().as_deref(), Some("signup; source: home"));
            let left = ("2024-03-04T00:00:00Z".to_string(), "unsubscribed".to_string(), "one-click".to_string());
            assert_eq!(events("bob@example.com"), [joined, left]);
            let bob = store.subscriber("bob@example.com").unwrap().unwrap();
            assert_eq!(
                (bob.status, bob.name.as_str(), bob.fields["city"].as_str()),
                (Status::Unsubscribed, "Bob", "Paris")
            );
            if someone {
                assert_eq!(events("known@example.com").len(), 1);
                assert_eq!(
                    store.joined_by("known@example.com").unwrap().as_deref(),
                    Some("cli"),
                    "their own record stays"
                );
            }
        };
        super::super::testdb::each_store(|store| scenario(store, true));
        let dir = tempfile::tempdir().unwrap();
        scenario(Store::open(&Location::sqlite_in(dir.path())).unwrap(), false);
    }
}

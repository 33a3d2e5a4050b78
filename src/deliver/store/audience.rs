//! The audience in the store: signups waiting for confirmation, the consent
//! record, the queue of confirmation and welcome mails, forgotten addresses.
//! Each change is one transaction: a signup and its mail, a confirmation and
//! its welcome, an erasure and everything it erases.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Status, Store, Subscriber, row_to_subscriber};

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

/// One event of a person's consent record.
#[derive(Debug, Clone, Serialize)]
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
        Ok(self.conn.query_row("SELECT 1 FROM forgotten WHERE hash = ?1", [hash], |_| Ok(())).optional()?.is_some())
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
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let status: Option<String> =
            tx.query_row("SELECT status FROM subscribers WHERE email = ?1", [&req.email], |r| r.get(0)).optional()?;
        let outcome = match status.as_deref().map(Status::parse) {
            _ if forgotten => SignupOutcome::Suppressed,
            Some(Status::Active) => SignupOutcome::AlreadySubscribed,
            // Only the person, confirming by mail, may come back after leaving.
            Some(Status::Unsubscribed) if double_opt_in => pending(&tx, req, now, now_secs, expires_at)?,
            Some(_) => SignupOutcome::Suppressed,
            None if double_opt_in => pending(&tx, req, now, now_secs, expires_at)?,
            None => {
                let how = joined_by(req);
                tx.execute(
                    "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES (?1, ?2, ?3, ?4)",
                    params![req.email, req.name, now, how],
                )?;
                let id = tx.last_insert_rowid();
                queue(&tx, MailKind::Welcome, &req.email, id, now)?;
                SignupOutcome::Subscribed(id)
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// The pending signup `id`, if it is still there.
    pub fn signup_of(&self, id: i64) -> Result<Option<Signup>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, name, expires_at, confirmed_at IS NOT NULL FROM signups WHERE id = ?1",
                [id],
                |r| {
                    Ok(Signup {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        name: r.get(2)?,
                        expires_at: r.get(3)?,
                        confirmed: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Turns pending signup `id` (address `email`) into a subscriber, records
    /// the confirmation and queues the welcome mail, in one transaction.
    pub fn confirm(&mut self, id: i64, email: &str, now: &str) -> Result<Confirmed> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        type Row = (String, Option<String>, Option<String>, Option<String>, String);
        let signup: Option<Row> = tx
            .query_row(
                "SELECT name, source, ip, user_agent, created_at FROM signups
                 WHERE id = ?1 AND email = ?2 AND confirmed_at IS NULL",
                params![id, email],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((name, source, ip, agent, signed_up)) = signup else {
            let active = tx
                .query_row("SELECT 1 FROM subscribers WHERE email = ?1 AND status = 'active'", [email], |_| Ok(()))
                .optional()?
                .is_some();
            return Ok(if active { Confirmed::Already } else { Confirmed::Suppressed });
        };
        let req = SignupRequest { email: email.to_string(), name: name.clone(), source, ip, user_agent: agent };
        let how = joined_by(&req);
        let status: Option<String> =
            tx.query_row("SELECT status FROM subscribers WHERE email = ?1", [email], |r| r.get(0)).optional()?;
        let outcome = match status.as_deref().map(Status::parse) {
            None => {
                // Joined when they signed up (the consent record says so), confirmed now.
                tx.execute(
                    "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES (?1, ?2, ?3, ?4)",
                    params![email, name, signed_up, how],
                )?;
                Confirmed::Subscribed(tx.last_insert_rowid())
            }
            Some(Status::Unsubscribed) => {
                tx.execute(
                    "UPDATE subscribers SET status = 'active', status_at = ?2, status_by = ?3, status_reason = NULL,
                     name = CASE WHEN ?4 <> '' THEN ?4 ELSE name END WHERE email = ?1",
                    params![email, now, how, name],
                )?;
                let id: i64 = tx.query_row("SELECT id FROM subscribers WHERE email = ?1", [email], |r| r.get(0))?;
                Confirmed::Subscribed(id)
            }
            Some(Status::Active) => Confirmed::Already,
            Some(_) => Confirmed::Suppressed,
        };
        if let Confirmed::Subscribed(subscriber) = outcome {
            tx.execute(
                "INSERT INTO consent (email, at, event, how, detail) VALUES (?1, ?2, 'confirmed', 'confirm link', NULL)",
                params![email, now],
            )?;
            queue(&tx, MailKind::Welcome, email, subscriber, now)?;
        }
        // Kept (confirmed) until it expires: its link then says it was used.
        tx.execute("UPDATE signups SET confirmed_at = ?2 WHERE id = ?1", params![id, now])?;
        tx.execute("DELETE FROM mail_queue WHERE kind = 'confirm' AND ref_id = ?1 AND state = 'pending'", [id])?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Deletes the signups whose confirmation expired (they were never
    /// subscribers) and their unsent mails. Returns how many.
    pub fn purge_expired_signups(&mut self, now_secs: i64) -> Result<usize> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM mail_queue WHERE kind = 'confirm' AND state = 'pending'
             AND ref_id IN (SELECT id FROM signups WHERE expires_at < ?1)",
            [now_secs],
        )?;
        let purged = tx.execute("DELETE FROM signups WHERE expires_at < ?1", [now_secs])?;
        tx.commit()?;
        Ok(purged)
    }

    /// Mails waiting to be sent, oldest first.
    pub fn queued_mail(&self, limit: usize) -> Result<Vec<QueuedMail>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind, email, ref_id FROM mail_queue WHERE state = 'pending' ORDER BY id LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            let kind: String = r.get(1)?;
            Ok(QueuedMail {
                id: r.get(0)?,
                kind: if kind == "welcome" { MailKind::Welcome } else { MailKind::Confirm },
                email: r.get(2)?,
                ref_id: r.get(3)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Records how a queued mail went: sent (`Ok(reply)`), or failed for good.
    /// A mail that failed `max_attempts` times is given up.
    pub fn mail_done(&mut self, id: i64, result: Result<&str, &str>, max_attempts: u32, now: &str) -> Result<()> {
        match result {
            Ok(reply) => self.conn.execute(
                "UPDATE mail_queue SET state = 'sent', reply = ?2, sent_at = ?3, attempts = attempts + 1 WHERE id = ?1",
                params![id, reply, now],
            )?,
            Err(reply) => self.conn.execute(
                "UPDATE mail_queue SET attempts = attempts + 1, reply = ?2,
                 state = CASE WHEN attempts + 1 >= ?3 THEN 'failed' ELSE 'pending' END WHERE id = ?1",
                params![id, reply, max_attempts],
            )?,
        };
        Ok(())
    }

    /// A subscriber by address, whatever their status.
    pub fn subscriber(&self, email: &str) -> Result<Option<Subscriber>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, name, fields, status, status_at, status_by FROM subscribers WHERE email = ?1",
                [email.trim()],
                row_to_subscriber,
            )
            .optional()?)
    }

    /// How `email` joined (`joined_by`), if it is on the list.
    pub fn joined_by(&self, email: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT joined_by FROM subscribers WHERE email = ?1", [email.trim()], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Changes a subscriber's name, with a consent event saying how.
    pub fn set_name(&mut self, email: &str, name: &str, how: &str, now: &str) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let changed =
            tx.execute("UPDATE subscribers SET name = ?2 WHERE email = ?1 AND name <> ?2", params![email, name])?;
        if changed > 0 {
            tx.execute(
                "INSERT INTO consent (email, at, event, how, detail) VALUES (?1, ?2, 'name changed', ?3, NULL)",
                params![email, now, how],
            )?;
        }
        tx.commit()?;
        Ok(changed > 0)
    }

    /// Adds one person as an active subscriber (`subscribers add --confirmed`).
    /// Returns the row id, or `None` when the address is already on the list.
    pub fn add_subscriber(&mut self, email: &str, name: &str, how: &str, now: &str) -> Result<Option<i64>> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let exists =
            tx.query_row("SELECT 1 FROM subscribers WHERE email = ?1", [email], |_| Ok(())).optional()?.is_some();
        let id = if exists {
            None
        } else {
            tx.execute(
                "INSERT INTO subscribers (email, name, created_at, joined_by) VALUES (?1, ?2, ?3, ?4)",
                params![email, name, now, how],
            )?;
            let id = tx.last_insert_rowid();
            queue(&tx, MailKind::Welcome, email, id, now)?;
            Some(id)
        };
        tx.commit()?;
        Ok(id)
    }

    /// Every event of `email`'s consent record, oldest first.
    pub fn consent_of(&self, email: &str) -> Result<Vec<ConsentEvent>> {
        let mut stmt = self.conn.prepare("SELECT at, event, how, detail FROM consent WHERE email = ?1 ORDER BY id")?;
        let rows = stmt.query_map([email.trim()], |r| {
            Ok(ConsentEvent { at: r.get(0)?, event: r.get(1)?, how: r.get(2)?, detail: r.get(3)? })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Every consent event, oldest first: (address, event).
    pub fn all_consent(&self) -> Result<Vec<(String, ConsentEvent)>> {
        let mut stmt = self.conn.prepare("SELECT email, at, event, how, detail FROM consent ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, ConsentEvent { at: r.get(1)?, event: r.get(2)?, how: r.get(3)?, detail: r.get(4)? }))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Every issue a send was started for, with when: (issue, started_at).
    pub fn issue_runs(&self) -> Result<Vec<(u32, String)>> {
        let mut stmt = self.conn.prepare("SELECT issue, started_at FROM issue_runs ORDER BY issue")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Every subscriber, whatever their status, in order of joining.
    pub fn list_all(&self) -> Result<Vec<Subscriber>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, email, name, fields, status, status_at, status_by FROM subscribers ORDER BY id")?;
        let rows = stmt.query_map([], row_to_subscriber)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
    }

    /// Records that issue `issue` soft-bounced for `email` (a full mailbox, a
    /// delay that gave up). When the last three issues sent to them all did,
    /// the address is marked bounced. Returns whether it was.
    pub fn record_soft_bounce(&mut self, email: &str, issue: u32, now: &str) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO soft_bounces (email, issue, at) VALUES (?1, ?2, ?3)",
            params![email, issue, now],
        )?;
        let last_three: Vec<u32> = {
            let mut stmt = tx.prepare(
                "SELECT s.issue FROM sends s JOIN subscribers p ON p.id = s.subscriber_id
                 WHERE p.email = ?1 AND s.state = 'sent' ORDER BY s.issue DESC LIMIT 3",
            )?;
            stmt.query_map([email], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        let mut bounced = false;
        if last_three.len() == 3 {
            let soft: i64 = tx.query_row(
                "SELECT COUNT(*) FROM soft_bounces WHERE email = ?1 AND issue IN (?2, ?3, ?4)",
                params![email, last_three[0], last_three[1], last_three[2]],
                |r| r.get(0),
            )?;
            if soft == 3 {
                bounced = tx.execute(
                    "UPDATE subscribers SET status = 'bounced', status_at = ?2, status_by = 'dsn',
                     status_reason = 'soft bounces in three issues in a row' WHERE email = ?1 AND status = 'active'",
                    params![email, now],
                )? > 0;
            }
        }
        tx.commit()?;
        Ok(bounced)
    }

    /// Erases `email`: its name, fields, consent record, pending signup and
    /// queued mail are deleted; its row in the ledger keeps only a keyed hash
    /// for an address, so counts stay right and the address is never imported
    /// or mailed again. Returns whether anything of it was stored.
    pub fn forget(&mut self, email: &str, hash: &str, now: &str) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut found = tx.execute("DELETE FROM signups WHERE email = ?1", [email])? > 0;
        tx.execute("DELETE FROM mail_queue WHERE email = ?1", [email])?;
        let placeholder = format!("forgotten:{hash}");
        found |= tx.execute(
            "UPDATE subscribers SET email = ?2, name = '', fields = '{}', joined_by = NULL, status_reason = NULL
             WHERE email = ?1",
            params![email, placeholder],
        )? > 0;
        tx.execute(
            "UPDATE subscribers SET status = 'removed', status_at = ?2, status_by = 'forget' WHERE email = ?1",
            params![placeholder, now],
        )?;
        tx.execute("DELETE FROM consent WHERE email = ?1 OR email = ?2", params![email, placeholder])?;
        tx.execute("INSERT OR IGNORE INTO forgotten (hash, at) VALUES (?1, ?2)", params![hash, now])?;
        tx.commit()?;
        Ok(found)
    }
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

fn pending(
    tx: &rusqlite::Transaction,
    req: &SignupRequest,
    now: &str,
    now_secs: i64,
    expires: i64,
) -> Result<SignupOutcome> {
    // A confirmed signup (the person left since) starts again as a new one.
    let existing: Option<(i64, Option<i64>)> = tx
        .query_row(
            "SELECT id, CASE WHEN confirmed_at IS NULL THEN mailed_at END FROM signups WHERE email = ?1",
            [&req.email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let id = match existing {
        Some((_, Some(mailed))) if now_secs - mailed < RESEND_AFTER_SECS => return Ok(SignupOutcome::RecentlyMailed),
        Some((id, _)) => {
            tx.execute(
                "UPDATE signups SET name = ?2, source = ?3, ip = ?4, user_agent = ?5, expires_at = ?6, mailed_at = ?7,
                 confirmed_at = NULL WHERE id = ?1",
                params![id, req.name, req.source, req.ip, req.user_agent, expires, now_secs],
            )?;
            id
        }
        None => {
            tx.execute(
                "INSERT INTO signups (email, name, source, ip, user_agent, created_at, expires_at, mailed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![req.email, req.name, req.source, req.ip, req.user_agent, now, expires, now_secs],
            )?;
            tx.last_insert_rowid()
        }
    };
    queue(tx, MailKind::Confirm, &req.email, id, now)?;
    Ok(SignupOutcome::ConfirmationQueued(id))
}

/// Queues a mail; a second welcome for one address is ignored (one each, ever).
fn queue(tx: &rusqlite::Transaction, kind: MailKind, email: &str, ref_id: i64, now: &str) -> Result<()> {
    let kind = if kind == MailKind::Welcome { "welcome" } else { "confirm" };
    tx.execute(
        "INSERT OR IGNORE INTO mail_queue (kind, email, ref_id, queued_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind, email, ref_id, now],
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
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let out = store.signup(&req("ada@example.com"), false, true, "t0", 1000, 2000).unwrap();
        let SignupOutcome::ConfirmationQueued(id) = out else { panic!("{out:?}") };
        assert_eq!(store.count_active().unwrap(), 0, "pending people are not subscribers");
        assert_eq!(
            store.signup(&req("ada@example.com"), false, true, "t1", 1100, 2100).unwrap(),
            SignupOutcome::RecentlyMailed,
            "a second signup within the hour queues nothing"
        );
        assert_eq!(store.queued_mail(10).unwrap().len(), 1);
        let Confirmed::Subscribed(sub) = store.confirm(id, "ada@example.com", "t2").unwrap() else { panic!() };
        assert_eq!(store.count_active().unwrap(), 1);
        assert_eq!(store.confirm(id, "ada@example.com", "t3").unwrap(), Confirmed::Already);
        let queued = store.queued_mail(10).unwrap();
        assert!(queued.iter().any(|m| m.kind == MailKind::Welcome && m.ref_id == sub));
        let events: Vec<String> = store.consent_of("ada@example.com").unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(events, ["joined", "confirmed"]);
    }

    #[test]
    fn people_who_must_not_be_mailed_cannot_sign_up_without_confirming() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
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
        assert_eq!(store.signup(&req("new@example.com"), true, true, "t1", 1, 2).unwrap(), SignupOutcome::Suppressed);
    }

    #[test]
    fn forgetting_keeps_only_a_hash_and_the_ledger_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.add_subscriber("ada@example.com", "Ada", "cli", "t0").unwrap();
        store.enrol(9, false, "t1").unwrap();
        assert!(store.forget("ada@example.com", "abc123", "t2").unwrap());
        assert!(store.subscriber("ada@example.com").unwrap().is_none());
        assert!(store.consent_of("ada@example.com").unwrap().is_empty());
        assert!(store.is_forgotten("abc123").unwrap());
        assert_eq!(store.counts(9).unwrap().skipped + store.counts(9).unwrap().pending, 1);
        let all = store.list_all().unwrap();
        assert!(all.iter().all(|s| !s.email.contains("ada") && s.name.is_empty()), "{all:?}");
    }
}

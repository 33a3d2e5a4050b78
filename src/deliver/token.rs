//! Tokens in links (unsubscribe today): opaque, so a URL says nothing about the
//! person. A token is the subscriber's row id and an HMAC-SHA256, keyed with
//! this publication's secret, over the token's purpose, the id and the address
//! the row holds, in one base64url word. Checking one takes the address of the
//! row: a token made before the list was rebuilt (the id now someone else's)
//! does not verify.
//!
//! Messages sent before tokens were opaque carry `base64url(address).mac`;
//! [`Secret::verify`] still accepts those for unsubscribing.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::deliver::address::{canonical, other_idn_form};

/// Bytes of the MAC kept in a token (128 bits).
const MAC_LEN: usize = 16;

/// What a token lets its holder do; part of the MAC, so a token for one
/// purpose is worth nothing for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Unsubscribe links, and the preferences page they open.
    Unsubscribe,
    /// A signup's confirmation link (made with an expiry).
    Confirm,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Unsubscribe => b"unsubscribe",
            Purpose::Confirm => b"confirm",
        }
    }
}

/// Who a token names, before its MAC is checked against the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The subscriber with this row id.
    Subscriber(i64),
    /// An address, from a token of the old form (already verified).
    Address(String),
}

/// The publication's signing secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// `PUBLISH_SECRET` if set, else `<state>/secret`, made on first use.
    pub fn load_or_create(state_dir: &Path) -> Result<Secret> {
        if let Some(secret) = Secret::from_env() {
            return Ok(secret);
        }
        let path = state_dir.join("secret");
        if let Some(secret) = Secret::read(&path)? {
            return Ok(secret);
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).context("the system has no random numbers to make a secret")?;
        let text = crate::text::hex(&bytes);
        std::fs::create_dir_all(state_dir).with_context(|| format!("cannot create {}", state_dir.display()))?;
        crate::fsutil::write_new(&path, text.as_bytes())?;
        // Another process may have made it first: whatever is on disk wins.
        Secret::load_or_create(state_dir)
    }

    /// The secret if one exists (`PUBLISH_SECRET` or `<state>/secret`); never
    /// writes. `None` when there is none yet (a dry run makes up a stand-in).
    pub fn load_existing(state_dir: &Path) -> Result<Option<Secret>> {
        match Secret::from_env() {
            Some(secret) => Ok(Some(secret)),
            None => Secret::read(&state_dir.join("secret")),
        }
    }

    fn from_env() -> Option<Secret> {
        std::env::var("PUBLISH_SECRET").ok().filter(|s| !s.is_empty()).map(|s| Secret(s.into_bytes()))
    }

    fn read(path: &Path) -> Result<Option<Secret>> {
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().len() >= 32 => Ok(Some(Secret(text.trim().as_bytes().to_vec()))),
            Ok(_) => anyhow::bail!(
                "{} is too short to be a secret: delete it to make a new one (old unsubscribe links stop working)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// A secret from known bytes (tests, and `publish preview`, whose links are never followed).
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    fn mac(&self, purpose: Purpose, id: i64, email: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"masthead-token\0");
        mac.update(purpose.label());
        mac.update(b"\0");
        mac.update(&id.to_be_bytes());
        mac.update(email.trim().to_lowercase().as_bytes());
        mac
    }

    /// Whether `check` holds for the MAC of `email` or, for a domain of
    /// another IDN form (an address stored in one before addresses had one
    /// form, its links made over it), of that form.
    fn any_form(&self, purpose: Purpose, id: i64, email: &str, check: impl Fn(Hmac<Sha256>) -> bool) -> bool {
        check(self.mac(purpose, id, email))
            || other_idn_form(email).is_some_and(|other| check(self.mac(purpose, id, &other)))
    }

    /// The token of subscriber `id`, whose address is `email`.
    pub fn token(&self, purpose: Purpose, id: i64, email: &str) -> String {
        let tag = self.mac(purpose, id, email).finalize().into_bytes();
        let id = id.to_be_bytes();
        let first = id.iter().position(|&b| b != 0).unwrap_or(id.len() - 1);
        let mut bytes = id[first..].to_vec();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Who `token` names, if it is well formed. An old-form token is verified
    /// here; a [`Claim::Subscriber`] must still pass [`Secret::verify_subscriber`]
    /// with the address of that row.
    pub fn claim(&self, purpose: Purpose, token: &str) -> Option<Claim> {
        let token = token.trim();
        if token.contains('.') {
            return (purpose == Purpose::Unsubscribe).then(|| self.verify_old(token)).flatten().map(Claim::Address);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if !(MAC_LEN + 1..=MAC_LEN + 8).contains(&bytes.len()) {
            return None;
        }
        let (id, _) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut be = [0u8; 8];
        be[8 - id.len()..].copy_from_slice(id);
        Some(Claim::Subscriber(i64::from_be_bytes(be)))
    }

    /// Whether `token` was made for subscriber `id` whose address is `email`.
    pub fn verify_subscriber(&self, purpose: Purpose, token: &str, id: i64, email: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        if bytes.len() <= MAC_LEN {
            return false;
        }
        let tag = &bytes[bytes.len() - MAC_LEN..];
        self.claim(purpose, token) == Some(Claim::Subscriber(id))
            && self.any_form(purpose, id, email, |mac| mac.verify_truncated_left(tag).is_ok())
    }

    /// A token for row `id` (address `email`) that stops working at `expires`
    /// (Unix seconds): the id, the expiry and the MAC over purpose, id, expiry
    /// and address, in one base64url word of 43 characters.
    pub fn token_until(&self, purpose: Purpose, id: i64, email: &str, expires: i64) -> String {
        let mut mac = self.mac(purpose, id, email);
        mac.update(&expires.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        let mut bytes = Vec::with_capacity(16 + MAC_LEN);
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The (row id, expiry) a [`Secret::token_until`] token names, MAC not yet checked.
    pub fn claim_until(&self, token: &str) -> Option<(i64, i64)> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != 16 + MAC_LEN {
            return None;
        }
        let id = i64::from_be_bytes(bytes[..8].try_into().ok()?);
        let expires = i64::from_be_bytes(bytes[8..16].try_into().ok()?);
        Some((id, expires))
    }

    /// Whether `token` was made by [`Secret::token_until`] for `purpose`, row
    /// `id` and `email` (expiry not judged here: the caller compares it with now).
    pub fn verify_until(&self, purpose: Purpose, token: &str, id: i64, email: &str) -> bool {
        let Some((claimed, expires)) = self.claim_until(token) else { return false };
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else { return false };
        claimed == id
            && self.any_form(purpose, id, email, |mut mac| {
                mac.update(&expires.to_be_bytes());
                mac.verify_truncated_left(&bytes[16..]).is_ok()
            })
    }

    /// A keyed hash of an address: what stays of a forgotten person, so that
    /// the address is never imported or mailed again, and nothing else is kept.
    /// Every case, Unicode and IDN form of an address hashes alike.
    pub fn forget_hash(&self, email: &str) -> String {
        self.keyed_hash(&canonical(email))
    }

    /// The hashes an address may have been forgotten under: [`Secret::forget_hash`]'s
    /// and, before addresses had one form, the one of its domain's other IDN form.
    pub fn forget_hashes(&self, email: &str) -> Vec<String> {
        let canonical = canonical(email);
        let other = other_idn_form(&canonical).map(|other| self.keyed_hash(&other));
        std::iter::once(self.keyed_hash(&canonical)).chain(other).collect()
    }

    fn keyed_hash(&self, email: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"masthead-forgotten\0");
        mac.update(email.trim().to_lowercase().as_bytes());
        crate::text::hex(&mac.finalize().into_bytes())
    }

    /// Who clicked a counted link, as far as counting needs: a keyed hash of
    /// the client's address, user agent and the day, cut to 16 hex digits.
    /// It cannot be turned back into an address, and it changes every day.
    pub fn client_hash(&self, ip: &str, user_agent: &str, day: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in [b"masthead-click".as_slice(), ip.as_bytes(), user_agent.as_bytes(), day.as_bytes()] {
            mac.update(part);
            mac.update(b"\0");
        }
        crate::text::hex(&mac.finalize().into_bytes()[..8])
    }

    /// The address in an old-form token (`base64url(address).mac`), if this secret made it.
    fn verify_old(&self, token: &str) -> Option<String> {
        let (addr, tag) = token.split_once('.')?;
        let email = String::from_utf8(URL_SAFE_NO_PAD.decode(addr).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != MAC_LEN {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"masthead-unsubscribe\0");
        mac.update(email.trim().to_lowercase().as_bytes());
        mac.verify_truncated_left(&tag).ok()?;
        Some(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_says_nothing_about_the_person() {
        let secret = Secret::from_bytes(KEY);
        let token = secret.token(Purpose::Unsubscribe, 42, "Ada.Lovelace@Example.com");
        let decoded = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert_eq!(decoded.len(), 1 + MAC_LEN, "the id and the MAC, nothing else");
        assert!(!token.to_lowercase().contains("ada") && !token.contains('@'), "{token}");
        // Same person, same token (links in every issue agree); another person, another token.
        assert_eq!(token, secret.token(Purpose::Unsubscribe, 42, "ada.lovelace@example.com"));
        assert_ne!(token, secret.token(Purpose::Unsubscribe, 43, "ada.lovelace@example.com"));
    }

    #[test]
    fn tokens_verify_only_for_their_row_secret_and_purpose() {
        let secret = Secret::from_bytes(KEY);
        let token = secret.token(Purpose::Unsubscribe, 7, "Ada@Example.com");
        assert_eq!(secret.claim(Purpose::Unsubscribe, &token), Some(Claim::Subscriber(7)));
        assert!(secret.verify_subscriber(Purpose::Unsubscribe, &token, 7, "ada@example.com"));
        // Row 7 now holds someone else (a rebuilt list): the old link is dead.
        assert!(!secret.verify_subscriber(Purpose::Unsubscribe, &token, 7, "bob@example.com"));
        assert!(!secret.verify_subscriber(Purpose::Unsubscribe, &token, 8, "ada@example.com"));
        let other = Secret::from_bytes(b"another-publication-secret-000000");
        assert!(!other.verify_subscriber(Purpose::Unsubscribe, &token, 7, "ada@example.com"));
        let truncated = &token[..token.len() - 2];
        assert!(!secret.verify_subscriber(Purpose::Unsubscribe, truncated, 7, "ada@example.com"));
        for junk in ["", "...", "%00", "AAAA", &"A".repeat(200)] {
            assert!(!secret.verify_subscriber(Purpose::Unsubscribe, junk, 7, "ada@example.com"), "{junk}");
        }
        let big = secret.token(Purpose::Unsubscribe, i64::MAX, "ada@example.com");
        assert_eq!(secret.claim(Purpose::Unsubscribe, &big), Some(Claim::Subscriber(i64::MAX)));
    }

    #[test]
    fn a_token_of_one_kind_is_useless_for_another() {
        let secret = Secret::from_bytes(KEY);
        let confirm = secret.token_until(Purpose::Confirm, 7, "ada@example.com", 1_700_000_000);
        assert_eq!(secret.claim_until(&confirm), Some((7, 1_700_000_000)));
        assert!(secret.verify_until(Purpose::Confirm, &confirm, 7, "ada@example.com"));
        assert!(!secret.verify_until(Purpose::Unsubscribe, &confirm, 7, "ada@example.com"));
        assert!(!secret.verify_until(Purpose::Confirm, &confirm, 7, "bob@example.com"));
        assert!(!secret.verify_until(Purpose::Confirm, &confirm, 8, "ada@example.com"));
        assert!(!secret.verify_subscriber(Purpose::Unsubscribe, &confirm, 7, "ada@example.com"));
        // A later expiry written into the token breaks its MAC.
        let mut bytes = URL_SAFE_NO_PAD.decode(&confirm).unwrap();
        bytes[15] ^= 1;
        assert!(!secret.verify_until(Purpose::Confirm, &URL_SAFE_NO_PAD.encode(bytes), 7, "ada@example.com"));
        let unsubscribe = secret.token(Purpose::Unsubscribe, 7, "ada@example.com");
        assert!(!secret.verify_until(Purpose::Confirm, &unsubscribe, 7, "ada@example.com"));
        assert_ne!(secret.forget_hash("Ada@Example.com "), Secret::from_bytes(b"x").forget_hash("ada@example.com"));
        assert_eq!(secret.forget_hash("Ada@Example.com "), secret.forget_hash("ada@example.com"));
        // Every case, Unicode and IDN form of one address: one hash.
        let one = secret.forget_hash("jörg@bücher.example");
        for other in ["JÖRG@BÜCHER.example", "jo\u{308}rg@xn--bcher-kva.example"] {
            assert_eq!(secret.forget_hash(other), one, "{other}");
        }
        assert_eq!(secret.forget_hash("Ada@Bücher.example"), secret.forget_hash("ada@XN--BCHER-KVA.example"));
        // Forgotten before addresses had one form, under its domain's other form.
        let before = secret.keyed_hash("ada@bücher.example");
        assert!(secret.forget_hashes("ADA@xn--bcher-kva.example").contains(&before));
        assert_eq!(secret.forget_hashes("ada@example.com"), [secret.forget_hash("ada@example.com")]);
    }

    /// A link made over an address stored in one IDN form still works once
    /// the address is stored in the other, and only for it.
    #[test]
    fn links_hold_across_the_idn_forms_of_their_address() {
        let secret = Secret::from_bytes(KEY);
        let token = secret.token(Purpose::Unsubscribe, 7, "ada@bücher.example");
        assert!(secret.verify_subscriber(Purpose::Unsubscribe, &token, 7, "ada@xn--bcher-kva.example"));
        assert!(!secret.verify_subscriber(Purpose::Unsubscribe, &token, 7, "bob@xn--bcher-kva.example"));
        let until = secret.token_until(Purpose::Confirm, 7, "jörg@xn--bcher-kva.example", 99);
        assert!(secret.verify_until(Purpose::Confirm, &until, 7, "jörg@bücher.example"));
        assert!(!secret.verify_until(Purpose::Unsubscribe, &until, 7, "jörg@bücher.example"));
    }

    #[test]
    fn links_in_messages_sent_before_tokens_were_opaque_still_unsubscribe() {
        let secret = Secret::from_bytes(KEY);
        let old = |key: &[u8], email: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(b"masthead-unsubscribe\0");
            mac.update(email.as_bytes());
            let tag = mac.finalize().into_bytes();
            format!("{}.{}", URL_SAFE_NO_PAD.encode(email), URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN]))
        };
        let token = old(KEY, "ada@example.com");
        assert_eq!(secret.claim(Purpose::Unsubscribe, &token), Some(Claim::Address("ada@example.com".into())));
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("eve@example.com"));
        assert_eq!(secret.claim(Purpose::Unsubscribe, &forged), None);
        assert_eq!(
            secret.claim(Purpose::Unsubscribe, &old(b"another-publication-secret-000000", "ada@example.com")),
            None
        );
    }
}

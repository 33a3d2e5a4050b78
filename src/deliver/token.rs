//! Unsubscribe tokens: the address and an HMAC-SHA256 over it, keyed with this
//! publication's secret. Only the holder of the secret can make one; anyone
//! holding the secret can check one without a database lookup.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept in a token (128 bits).
const MAC_LEN: usize = 16;

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
        if let Ok(s) = std::env::var("PUBLISH_SECRET")
            && !s.is_empty()
        {
            return Ok(Secret(s.into_bytes()));
        }
        let path = state_dir.join("secret");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => {
                return Ok(Secret(text.trim().as_bytes().to_vec()));
            }
            Ok(_) => anyhow::bail!(
                "{} is too short to be a secret: delete it to make a new one (old unsubscribe links stop working)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).context("the system has no random numbers to make a secret")?;
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::create_dir_all(state_dir).with_context(|| format!("cannot create {}", state_dir.display()))?;
        crate::fsutil::write_new(&path, text.as_bytes())?;
        // Another process may have made it first: whatever is on disk wins.
        Secret::load_or_create(state_dir)
    }

    /// A secret from known bytes (tests, and `publish preview`, whose links are never followed).
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    fn mac(&self, email: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"masthead-unsubscribe\0");
        mac.update(email.trim().to_lowercase().as_bytes());
        mac
    }

    /// The token for `email`.
    pub fn token(&self, email: &str) -> String {
        let tag = self.mac(email).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(email.trim().to_lowercase()), URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN]))
    }

    /// The address a token was made for, if it was made with this secret.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (addr, tag) = token.trim().split_once('.')?;
        let email = String::from_utf8(URL_SAFE_NO_PAD.decode(addr).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != MAC_LEN {
            return None;
        }
        self.mac(&email).verify_truncated_left(&tag).ok()?;
        Some(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_and_intact() {
        let secret = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let token = secret.token("Ada@Example.com");
        assert_eq!(secret.verify(&token).as_deref(), Some("ada@example.com"));
        let other = Secret::from_bytes(b"another-publication-secret-000000");
        assert_eq!(other.verify(&token), None);
        assert_eq!(secret.verify(&token[..token.len() - 2]), None);
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("eve@example.com"));
        assert_eq!(secret.verify(&forged), None);
        assert_eq!(secret.verify(""), None);
        assert_eq!(secret.verify("..."), None);
    }
}

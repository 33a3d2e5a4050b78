//! DKIM signing with `[email.dkim]`: RSA (PKCS#1 or PKCS#8 PEM) or Ed25519
//! (PKCS#8 PEM as `openssl genpkey -algorithm ed25519` writes it, or the raw
//! 32-byte seed in base64). Canonicalization relaxed/relaxed; the signed
//! headers are the ones every message carries.

use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey, dkim_sign,
};
use lettre::message::header::HeaderName;

use crate::workspace::config::Dkim;

/// The headers `h=` covers: every header a message carries, then once more
/// the ones a replayed copy could gain a second of (RFC 6376 §8.15,
/// "over-signing"): a name listed beyond the headers present signs their
/// absence, so an added `Subject:` or `Reply-To:` breaks the signature.
/// Reply-To is signed even when a message has none, for the same reason.
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    // Over-signed.
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The ASN.1 prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// A ready signer.
pub struct Signer {
    config: DkimConfig,
}

impl Signer {
    /// Loads the key named by `[email.dkim] key_file` (relative to the workspace).
    pub fn load(dkim: &Dkim, root: &Path) -> Result<Signer> {
        let path = root.join(&dkim.key_file);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the DKIM key {} ([email.dkim] key_file)", path.display()))?;
        let key = signing_key(&pem).with_context(|| format!("{}: not a usable DKIM key", path.display()))?;
        let headers = SIGNED_HEADERS.iter().map(|h| HeaderName::new_from_ascii_str(h)).collect();
        let canonicalization =
            DkimCanonicalization { header: DkimCanonicalizationType::Relaxed, body: DkimCanonicalizationType::Relaxed };
        Ok(Signer {
            config: DkimConfig::new(dkim.selector.clone(), dkim.domain.clone(), key, headers, canonicalization),
        })
    }

    pub fn sign(&self, message: &mut Message) {
        dkim_sign(message, &self.config);
    }
}

fn signing_key(pem: &str) -> Result<DkimSigningKey> {
    let text = pem.trim();
    if text.contains("BEGIN RSA PRIVATE KEY") {
        return DkimSigningKey::new(text, DkimSigningAlgorithm::Rsa).map_err(|e| anyhow::anyhow!("RSA key: {e}"));
    }
    if text.contains("BEGIN PRIVATE KEY") {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body.trim()).context("the PEM body is not base64")?;
        if der.len() == 48 && der[..16] == PKCS8_ED25519_PREFIX {
            let seed = STANDARD.encode(&der[16..]);
            return DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519)
                .map_err(|e| anyhow::anyhow!("Ed25519 key: {e}"));
        }
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(text).context("a PKCS#8 key that is neither Ed25519 nor RSA")?;
        let pkcs1 = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).context("cannot convert the RSA key")?;
        return DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa).map_err(|e| anyhow::anyhow!("RSA key: {e}"));
    }
    if let Ok(seed) = STANDARD.decode(text)
        && seed.len() == 32
    {
        return DkimSigningKey::new(text, DkimSigningAlgorithm::Ed25519)
            .map_err(|e| anyhow::anyhow!("Ed25519 key: {e}"));
    }
    bail!("expected a PEM private key (RSA or Ed25519) or a base64 Ed25519 seed")
}

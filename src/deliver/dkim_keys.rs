//! DKIM keys made here, and the DNS TXT record that publishes a key's public
//! half (RFC 6376 §3.6.1; Ed25519 per RFC 8463). The private key is written as
//! PKCS#8 PEM, which [`crate::deliver::dkim::Signer`] reads.

use anyhow::{Context, Result, bail};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::KeyPair;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The ASN.1 prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows (RFC 8410).
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// RSA keys of 2048 bits: what RFC 8301 asks for and every DNS host takes.
const RSA_BITS: KeySize = KeySize::Rsa2048;

/// Which kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rsa,
    Ed25519,
}

/// A new private key as PKCS#8 PEM.
pub fn generate(algorithm: Algorithm) -> Result<String> {
    match algorithm {
        Algorithm::Rsa => {
            let key = RsaKeyPair::generate(RSA_BITS).map_err(|_| anyhow::anyhow!("cannot make an RSA key"))?;
            let der = key.as_der().map_err(|_| anyhow::anyhow!("cannot encode the RSA key"))?;
            Ok(pem("PRIVATE KEY", der.as_ref()))
        }
        Algorithm::Ed25519 => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed).context("the system has no random numbers to make a key with")?;
            Ok(pem("PRIVATE KEY", &[&PKCS8_ED25519_PREFIX[..], &seed].concat()))
        }
    }
}

/// The TXT record's value for the private key `pem` (any form the signer
/// reads): `v=DKIM1; k=rsa; p=…`.
pub fn record(pem: &str) -> Result<String> {
    let text = pem.trim();
    let (kind, public) = if let Some(seed) = ed25519_seed(text)? {
        ("ed25519", crate::deliver::dkim::ed25519_public(&seed)?.to_vec())
    } else {
        let key = if text.contains("BEGIN RSA PRIVATE KEY") {
            RsaKeyPair::from_der(&pem_body(text)?).map_err(|e| anyhow::anyhow!("not a PKCS#1 RSA key: {e}"))?
        } else if text.contains("BEGIN PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&pem_body(text)?)
                .map_err(|e| anyhow::anyhow!("a PKCS#8 key that is neither Ed25519 nor a usable RSA key: {e}"))?
        } else {
            bail!("expected a PEM private key (RSA or Ed25519) or a base64 Ed25519 seed")
        };
        // SubjectPublicKeyInfo, as DKIM records carry it (RFC 6376 §3.6.1).
        let der = key.public_key().as_der().map_err(|_| anyhow::anyhow!("cannot encode the public key"))?;
        ("rsa", der.as_ref().to_vec())
    };
    Ok(format!("v=DKIM1; k={kind}; p={}", STANDARD.encode(public)))
}

/// The record as a zone file writes it: strings of at most 255 characters (RFC 1035 §3.3.14).
pub fn zone_strings(record: &str) -> String {
    let bytes = record.as_bytes();
    bytes.chunks(255).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

/// `der` as PEM with `label`, in lines of 64 characters (RFC 7468).
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside a PEM text.
fn pem_body(text: &str) -> Result<Vec<u8>> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    STANDARD.decode(body).context("the PEM body is not base64")
}

/// The Ed25519 seed of a PKCS#8 PEM or a bare base64 seed; `None` for other keys.
fn ed25519_seed(text: &str) -> Result<Option<[u8; 32]>> {
    let der = if text.contains("BEGIN PRIVATE KEY") {
        pem_body(text)?
    } else if text.starts_with("-----") {
        return Ok(None);
    } else {
        let seed = STANDARD.decode(text).context("expected a PEM private key or a base64 Ed25519 seed")?;
        [&PKCS8_ED25519_PREFIX[..], &seed].concat()
    };
    Ok(match der.strip_prefix(&PKCS8_ED25519_PREFIX[..]) {
        Some(seed) => Some(seed.try_into().context("an Ed25519 seed has 32 bytes")?),
        None => None,
    })
}

/// Whether `selector` can stand before `._domainkey.`: DNS labels of letters,
/// digits and hyphens, joined by dots.
pub fn check_selector(selector: &str) -> Result<()> {
    let good = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if selector.split('.').all(good) {
        Ok(())
    } else {
        bail!("\"{selector}\" is not a DKIM selector: use letters, digits and hyphens, e.g. \"mh2024\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_key_publishes_its_32_byte_public_half() {
        let pem = generate(Algorithm::Ed25519).unwrap();
        let record = record(&pem).unwrap();
        let p = record.strip_prefix("v=DKIM1; k=ed25519; p=").unwrap();
        assert_eq!(STANDARD.decode(p).unwrap().len(), 32);
        assert_ne!(record, super::record(&generate(Algorithm::Ed25519).unwrap()).unwrap(), "keys differ");
    }

    #[test]
    fn an_rsa_key_is_2048_bits_in_pkcs8_and_publishes_its_spki() {
        let pem = generate(Algorithm::Rsa).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.lines().all(|l| l.len() <= 64));
        let key = RsaKeyPair::from_pkcs8(&pem_body(&pem).unwrap()).unwrap();
        assert_eq!(key.public_modulus_len(), 256);
        let record = record(&pem).unwrap();
        let p = STANDARD.decode(record.strip_prefix("v=DKIM1; k=rsa; p=").unwrap()).unwrap();
        // SubjectPublicKeyInfo of rsaEncryption (OID 1.2.840.113549.1.1.1) with a 2048-bit modulus.
        assert_eq!(p.len(), 294);
        assert!(p.windows(9).any(|w| w == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]));
    }

    #[test]
    fn zone_strings_are_at_most_255_characters() {
        let long = "p".repeat(600);
        let zone = zone_strings(&long);
        assert_eq!(zone.matches('"').count(), 6);
        assert_eq!(zone.replace(['"', ' '], ""), long);
    }

    #[test]
    fn selectors_are_dns_labels() {
        assert!(check_selector("mh2024").is_ok() && check_selector("a.b-c").is_ok());
        for bad in ["", "a b", "-a", "a..b", "é", "a/b"] {
            assert!(check_selector(bad).is_err(), "{bad}");
        }
    }
}

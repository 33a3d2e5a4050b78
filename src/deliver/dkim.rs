//! DKIM signing with `[email.dkim]` (RFC 6376): one DKIM-Signature per
//! configured key, RSA-SHA256 (PKCS#1 or PKCS#8 PEM, 2048 to 8192 bits) or
//! Ed25519-SHA256 (RFC 8463: PKCS#8 PEM as `openssl genpkey -algorithm
//! ed25519` writes it, or the raw 32-byte seed in base64), through `aws-lc-rs`
//! (AWS-LC's assembly RSA, on a par with OpenSSL's).
//!
//! Canonicalization is relaxed/relaxed, done here over the finished message
//! bytes: the body is canonicalized straight into its SHA-256 (no copy of it
//! is made), once per message whatever the number of keys; each key then
//! hashes the signed headers and signs.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

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

/// Ready signing keys, in the order `[email.dkim]` lists them.
pub struct Signer {
    keys: Vec<Key>,
    rng: SystemRandom,
}

struct Key {
    domain: String,
    selector: String,
    private: Private,
}

enum Private {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Signer {
    /// Loads every key `[email.dkim]` names (files relative to the workspace);
    /// `None` when it names none.
    pub fn load(dkim: &[Dkim], root: &Path) -> Result<Option<Signer>> {
        if dkim.is_empty() {
            return Ok(None);
        }
        let mut keys = Vec::with_capacity(dkim.len());
        for d in dkim {
            let path = root.join(&d.key_file);
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the DKIM key {} ([email.dkim] key_file)", path.display()))?;
            let private = private_key(&pem).with_context(|| format!("{}: not a usable DKIM key", path.display()))?;
            keys.push(Key {
                domain: d.domain.trim_end_matches('.').to_string(),
                selector: d.selector.clone(),
                private,
            });
        }
        Ok(Some(Signer { keys, rng: SystemRandom::new() }))
    }

    /// The `a=` of each key, in order.
    pub fn algorithms(&self) -> Vec<&'static str> {
        self.keys.iter().map(|k| k.algorithm()).collect()
    }

    /// `message` (the finished bytes, CRLF line ends) with one DKIM-Signature
    /// header per key put before its headers; `t=` is `date`.
    pub fn sign(&self, message: &[u8], date: SystemTime) -> Result<Vec<u8>> {
        let fields = self.fields(message, date)?;
        let mut out = Vec::with_capacity(fields.len() + message.len());
        out.extend_from_slice(fields.as_bytes());
        out.extend_from_slice(message);
        Ok(out)
    }

    /// The DKIM-Signature fields, one per key, that go before `message`'s
    /// headers (the message is not copied); `t=` is `date`.
    pub fn fields(&self, message: &[u8], date: SystemTime) -> Result<String> {
        let split = memchr::memmem::find(message, b"\r\n\r\n").map(|i| i + 2).unwrap_or(message.len());
        let (head, body) = message.split_at(split);
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        let headers = parse_headers(head);
        let body_hash = STANDARD.encode(body_hash(body));
        let time = date.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let signed = signed_headers(&headers);
        let mut out = String::with_capacity(self.keys.len() * 600);
        for key in &self.keys {
            out.push_str(&key.sign(&self.rng, &signed, &body_hash, time)?);
        }
        Ok(out)
    }
}

impl Key {
    /// The whole `DKIM-Signature: …\r\n` field over `signed` (the relaxed
    /// headers `h=` picks) and the body hash.
    fn algorithm(&self) -> &'static str {
        match self.private {
            Private::Rsa(_) => "rsa-sha256",
            Private::Ed25519(_) => "ed25519-sha256",
        }
    }

    fn sign(&self, rng: &SystemRandom, signed: &[u8], body_hash: &str, time: u64) -> Result<String> {
        let algorithm = self.algorithm();
        let mut value = format!(
            " v=1; a={algorithm}; c=relaxed/relaxed; d={}; s={};\r\n\tt={time}; h=",
            self.domain, self.selector
        );
        let mut line = 4;
        for (i, name) in SIGNED_HEADERS.iter().enumerate() {
            let sep = if i == 0 { "" } else { ":" };
            if line + name.len() + 1 > 76 {
                value.push_str(sep);
                value.push_str("\r\n\t");
                line = 1;
            } else {
                value.push_str(sep);
            }
            value.push_str(name);
            line += name.len() + 1;
        }
        value.push_str(";\r\n\tbh=");
        value.push_str(body_hash);
        value.push_str(";\r\n\tb=");
        let mut data = Vec::with_capacity(signed.len() + value.len() + 16);
        data.extend_from_slice(signed);
        relaxed_header(&mut data, b"DKIM-Signature", value.as_bytes());
        // The signature's own field is hashed without its final CRLF (RFC 6376 §3.7).
        data.truncate(data.len() - 2);
        let signature = match &self.private {
            Private::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, rng, &data, &mut sig).map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                sig
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data.
            Private::Ed25519(key) => key.sign(digest::digest(&digest::SHA256, &data).as_ref()).as_ref().to_vec(),
        };
        let b = STANDARD.encode(signature);
        let mut field = String::with_capacity(value.len() + b.len() + 64);
        field.push_str("DKIM-Signature:");
        field.push_str(&value);
        for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
            if i > 0 {
                field.push_str("\r\n\t");
            }
            field.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        }
        field.push_str("\r\n");
        Ok(field)
    }
}

/// The header fields of `head`, each as (name, value with its folding), in order.
fn parse_headers(head: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut fields: Vec<(&[u8], &[u8])> = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let crlf = memchr::memmem::Finder::new(b"\r\n");
    // A field ends at a CRLF that no space or tab follows.
    while pos < head.len() {
        let end = crlf.find(&head[pos..]).map_or(head.len(), |i| pos + i);
        let next = (end + 2).min(head.len());
        if next < head.len() && matches!(head[next], b' ' | b'\t') {
            pos = next;
            continue;
        }
        let field = &head[start..end];
        if let Some(colon) = memchr::memchr(b':', field) {
            fields.push((&field[..colon], &field[colon + 1..]));
        }
        start = next;
        pos = next;
    }
    fields
}

/// The relaxed form of every field `h=` names, picked bottom-up (RFC 6376
/// §5.4.2); a name with no field left contributes nothing.
fn signed_headers(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut used = vec![false; fields.len()];
    let mut out = Vec::with_capacity(2048);
    for name in SIGNED_HEADERS {
        let found = (0..fields.len())
            .rev()
            .find(|&i| !used[i] && trim_wsp_end(fields[i].0).eq_ignore_ascii_case(name.as_bytes()));
        if let Some(i) = found {
            used[i] = true;
            relaxed_header(&mut out, fields[i].0, fields[i].1);
        }
    }
    out
}

/// Appends `name:value\r\n` in the relaxed header form (RFC 6376 §3.4.2):
/// the name lowercased, the value unfolded, runs of spaces and tabs made one
/// space, none at its start or end.
fn relaxed_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend(trim_wsp_end(name).iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let mut space = false;
    let mut any = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            _ => {
                if space && any {
                    out.push(b' ');
                }
                space = false;
                any = true;
                out.push(b);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The SHA-256 of the body in the relaxed form (RFC 6376 §3.4.4). The
/// unchanged stretches of the body go to the hash straight from `body`.
fn body_hash(body: &[u8]) -> digest::Digest {
    let mut context = digest::Context::new(&digest::SHA256);
    relaxed_body(body, &mut |bytes: &[u8]| context.update(bytes));
    context.finish()
}

/// Writes the body in the relaxed form (RFC 6376 §3.4.4) to `out`, in
/// stretches: at each line's end no spaces or tabs, inside it runs of them
/// made one space, no empty lines at the end, and a final CRLF unless the
/// body is empty. Only where a tab, two spaces, or a space before a line
/// break stand is anything changed; the stretches between are passed on as
/// they are.
fn relaxed_body(body: &[u8], out: &mut impl FnMut(&[u8])) {
    // Trailing spaces, tabs and line breaks go: the last line's own end
    // spaces, then every empty (or blank) line after it.
    let mut end = body.len();
    loop {
        end = trim_wsp_end(&body[..end]).len();
        if body[..end].ends_with(b"\r\n") {
            end -= 2;
        } else {
            break;
        }
    }
    let text = &body[..end];
    let double = memchr::memmem::Finder::new(b"  ");
    let before_break = memchr::memmem::Finder::new(b" \r\n");
    // The next tab, double space, and space before a line break at or after
    // `from` (the text's length when there is none), each kept until passed,
    // so the text is searched once for each.
    let tab_at = |t: &[u8]| memchr::memchr(b'\t', t);
    let two_at = |t: &[u8]| double.find(t);
    let trailing_at = |t: &[u8]| before_break.find(t);
    let next = |found: Option<usize>, from: usize, find: &dyn Fn(&[u8]) -> Option<usize>| match found {
        Some(at) if at >= from => at,
        _ => find(&text[from..]).map_or(text.len(), |i| from + i),
    };
    let (mut tab, mut two, mut trailing) = (None, None, None);
    let mut done = 0;
    loop {
        let at = [
            *tab.insert(next(tab, done, &tab_at)),
            *two.insert(next(two, done, &two_at)),
            *trailing.insert(next(trailing, done, &trailing_at)),
        ]
        .into_iter()
        .min()
        .unwrap_or(text.len());
        if at == text.len() {
            break;
        }
        // The whole run of spaces and tabs around `at`.
        let start = done + trim_wsp_end(&text[done..at]).len();
        let run_end = text[at..].iter().position(|b| !matches!(b, b' ' | b'\t')).map_or(text.len(), |i| at + i);
        out(&text[done..start]);
        if !text[run_end..].starts_with(b"\r\n") && run_end < text.len() {
            out(b" ");
        }
        done = run_end;
    }
    out(&text[done..]);
    if !text.is_empty() {
        out(b"\r\n");
    }
}

fn trim_wsp_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The private key in `pem`: RSA as PKCS#1 or PKCS#8 PEM, Ed25519 as PKCS#8
/// PEM or a base64 seed.
fn private_key(pem: &str) -> Result<Private> {
    let text = pem.trim();
    let pem_body = || -> Result<Vec<u8>> {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
        STANDARD.decode(body).context("the PEM body is not base64")
    };
    if text.contains("BEGIN RSA PRIVATE KEY") {
        return RsaKeyPair::from_der(&pem_body()?).map(Private::Rsa).map_err(rsa_error);
    }
    if text.contains("BEGIN PRIVATE KEY") {
        let der = pem_body()?;
        if let Some(seed) = der.strip_prefix(&PKCS8_ED25519_PREFIX[..]) {
            return ed25519(seed);
        }
        if let Ok(key) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
            return Ok(Private::Ed25519(key));
        }
        return RsaKeyPair::from_pkcs8(&der).map(Private::Rsa).map_err(rsa_error);
    }
    if text.starts_with("-----") {
        bail!(
            "expected an RSA or Ed25519 private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY); is this an encrypted or public key?"
        )
    }
    if let Ok(seed) = STANDARD.decode(text)
        && seed.len() == 32
    {
        return ed25519(&seed);
    }
    bail!("expected a PEM private key (RSA or Ed25519) or a base64 Ed25519 seed")
}

fn ed25519(seed: &[u8]) -> Result<Private> {
    let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| anyhow::anyhow!("not an Ed25519 key: {e}"))?;
    Ok(Private::Ed25519(key))
}

fn rsa_error(e: aws_lc_rs::error::KeyRejected) -> anyhow::Error {
    anyhow::anyhow!(
        "the RSA key is rejected ({e}): it must be a 2048- to 8192-bit key; \
         `publish dkim keygen --selector S` makes one"
    )
}

/// The public half of an Ed25519 seed (for the DNS record).
pub fn ed25519_public(seed: &[u8; 32]) -> Result<[u8; 32]> {
    let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| anyhow::anyhow!("not an Ed25519 key: {e}"))?;
    key.public_key().as_ref().try_into().context("an Ed25519 public key has 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        relaxed_body(body, &mut |bytes: &[u8]| out.extend_from_slice(bytes));
        out
    }

    /// RFC 6376 §3.4.4 line by line, as plainly as it reads: what the
    /// stretch-wise [`relaxed_body`] must always agree with.
    fn relaxed_by_lines(body: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (line, next) = match rest.windows(2).position(|w| w == b"\r\n") {
                Some(i) => (&rest[..i], &rest[i + 2..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let mut out = Vec::new();
            let mut space = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        out.push(b' ');
                    }
                    space = false;
                    out.push(b);
                }
            }
            lines.push(out);
        }
        while lines.last().is_some_and(Vec::is_empty) {
            lines.pop();
        }
        lines.into_iter().flat_map(|l| [l, b"\r\n".to_vec()]).flatten().collect()
    }

    #[test]
    fn relaxed_body_collapses_spaces_and_drops_trailing_empty_lines() {
        assert_eq!(relaxed(b" C \r\nD \t E\r\n\r\n\r\n"), b" C\r\nD E\r\n");
        assert_eq!(relaxed(b"a\r\n\r\nb"), b"a\r\n\r\nb\r\n");
        assert_eq!(relaxed(b"\r\n\r\n"), b"");
        assert_eq!(relaxed(b" \t\r\n \r\n"), b"");
        assert_eq!(relaxed(b""), b"");
        assert_eq!(relaxed(b"a  \r\n\t\r\nb \r"), b"a\r\n\r\nb \r\r\n");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        #[test]
        fn relaxed_body_agrees_with_the_line_by_line_rule(
            body in proptest::collection::vec(proptest::sample::select(b" \t\r\nab=".to_vec()), 0..80)
        ) {
            proptest::prop_assert_eq!(relaxed(&body), relaxed_by_lines(&body));
        }
    }

    #[test]
    fn the_body_hash_is_the_hash_of_the_relaxed_body() {
        let mut body = Vec::new();
        for i in 0..3000 {
            body.extend_from_slice(format!("line {i}\t  with  spaces \r\n").as_bytes());
            if i % 7 == 0 {
                body.extend_from_slice(&[b'x'; 9000]);
                body.extend_from_slice(b"\r\n\r\n");
            }
        }
        body.extend_from_slice(b"\r\n \r\n");
        let relaxed = relaxed_by_lines(&body);
        assert_eq!(body_hash(&body).as_ref(), digest::digest(&digest::SHA256, &relaxed).as_ref());
        assert!(relaxed.ends_with(b"line 2999 with spaces\r\n"));
    }

    #[test]
    fn relaxed_headers_unfold_and_lowercase_the_name() {
        // RFC 6376 §3.4.6's example.
        let mut out = Vec::new();
        relaxed_header(&mut out, b"A", b" X\r\n");
        relaxed_header(&mut out, b"B ", b" Y\t\r\n\tZ  ");
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
    }

    #[test]
    fn over_signed_names_pick_fields_bottom_up_and_skip_absent_ones() {
        let head = b"Subject: one\r\nTo: a@x\r\nSubject: two\r\n  folded\r\n";
        let fields = parse_headers(head);
        assert_eq!(fields.len(), 3);
        let signed = signed_headers(&fields);
        assert_eq!(signed, b"to:a@x\r\nsubject:two folded\r\nsubject:one\r\n");
    }
}

//! The MIME message of one recipient: the headers every message carries
//! (From, To, Subject, Date, Message-ID, List-Id, List-Unsubscribe,
//! List-Unsubscribe-Post) and a multipart/alternative body, text then HTML.

use std::time::SystemTime;

use anyhow::{Context, Result};
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::deliver::token::{Purpose, Secret};
use crate::render::email::EmailBody;
use crate::render::personal::Recipient;
use crate::workspace::config::Config;

/// What is the same in every message of one issue.
#[derive(Debug, Clone)]
pub struct IssueHeaders {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    /// `<issue-9.thisweekinasia.example.com>`.
    pub list_id: String,
    /// The domain Message-IDs are made on.
    pub domain: String,
    pub unsubscribe_base: String,
    pub unsubscribe_mailto: String,
    /// `{base_url}/preferences`.
    pub preferences_base: String,
    pub issue: u32,
    /// Marks test sends: "[TEST] " before the subject.
    pub test: bool,
}

impl IssueHeaders {
    /// The envelope of issue `number`, from the publication's settings.
    pub fn new(config: &Config, number: u32, subject: &str) -> Result<IssueHeaders> {
        let address: lettre::Address = config.sender.email.parse().with_context(|| {
            format!("publish.toml: sender.email \"{}\" is not an email address", config.sender.email)
        })?;
        let domain = address.domain().to_string();
        let reply_to = match &config.sender.reply_to {
            Some(r) => Some(Mailbox::new(
                None,
                r.parse().with_context(|| format!("publish.toml: sender.reply_to \"{r}\" is not an email address"))?,
            )),
            None => None,
        };
        let list_name: String = config
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase();
        let list_id = match &config.email.list_id {
            Some(id) => id.trim_matches(['<', '>']).to_string(),
            None => format!("{}.{domain}", if list_name.is_empty() { "newsletter" } else { &list_name }),
        };
        Ok(IssueHeaders {
            from: Mailbox::new(Some(config.sender.name.clone()), address),
            reply_to,
            subject: subject.to_string(),
            list_id: format!("{} <{list_id}>", quote_phrase(&config.name)).trim_start().to_string(),
            domain,
            unsubscribe_base: config
                .email
                .unsubscribe_url
                .clone()
                .unwrap_or_else(|| format!("{}/unsubscribe", config.base())),
            unsubscribe_mailto: config.email.unsubscribe_mailto.clone().unwrap_or_else(|| config.sender.email.clone()),
            preferences_base: format!("{}/preferences", config.base()),
            issue: number,
            test: false,
        })
    }

    /// The one-click unsubscribe URL and the preferences page of subscriber
    /// `id`, whose address is `email`: both carry one token (made once: this
    /// runs for every recipient), which names neither (see [`crate::deliver::token`]).
    pub fn reader_urls(&self, secret: &Secret, id: i64, email: &str) -> (String, String) {
        let token = secret.token(Purpose::Unsubscribe, id, email);
        let sep = if self.unsubscribe_base.contains('?') { '&' } else { '?' };
        (format!("{}{sep}t={token}", self.unsubscribe_base), format!("{}?t={token}", self.preferences_base))
    }

    /// The whole message for `recipient` (whose `unsubscribe_url` is filled in).
    pub fn message(&self, body: &EmailBody, recipient: &Recipient, date: SystemTime) -> Result<Message> {
        let to: lettre::Address =
            recipient.email.parse().with_context(|| format!("\"{}\" is not an email address", recipient.email))?;
        let name = (!recipient.name.trim().is_empty()).then(|| one_line(&recipient.name));
        let (html, text) = body.fill_encoded(recipient);
        let subject = if self.test { format!("[TEST] {}", self.subject) } else { self.subject.clone() };
        let message_id = self.message_id(&recipient.email);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, to))
            .subject(one_line(&subject))
            .date(date)
            .message_id(Some(message_id.clone()))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), self.list_id.clone()))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>, <mailto:{}?subject=unsubscribe>", recipient.unsubscribe_url, self.unsubscribe_mailto),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        with_alternative_body(builder, &message_id, text, html)
    }

    /// A mail that is not an issue (a confirmation, a welcome) to `to`, from
    /// the publication's sender: text and HTML, an unsubscribe header when
    /// `unsubscribe_url` is given. `kind` goes into its Message-ID.
    pub fn single(
        &self,
        kind: &str,
        to: &str,
        name: &str,
        (html, text): (&str, &str),
        unsubscribe_url: Option<&str>,
        date: SystemTime,
    ) -> Result<Message> {
        use sha2::Digest;
        let address: lettre::Address = to.parse().with_context(|| format!("\"{to}\" is not an email address"))?;
        let name = (!name.trim().is_empty()).then(|| one_line(name));
        let stamp = date.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let digest = sha2::Sha256::digest(format!("{kind}\0{}\0{stamp}", to.to_lowercase()).as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let message_id = format!("<{kind}-{hex}@{}>", self.domain);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(one_line(&self.subject))
            .date(date)
            .message_id(Some(message_id.clone()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if let Some(url) = unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), self.list_id.clone()))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>, <mailto:{}?subject=unsubscribe>", self.unsubscribe_mailto),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let qp = |s: &str| quoted_printable::encode_to_str(s.replace("\r\n", "\n").replace('\n', "\r\n")).into_bytes();
        with_alternative_body(builder, &message_id, qp(text), qp(html))
    }

    /// A Message-ID unique per issue and recipient, on the publication's domain.
    fn message_id(&self, email: &str) -> String {
        use sha2::Digest;
        let digest =
            sha2::Sha256::digest(format!("{}\0{}\0{}", self.issue, self.test, email.to_lowercase()).as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let kind = if self.test { "test" } else { "issue" };
        format!("<{kind}-{}.{hex}@{}>", self.issue, self.domain)
    }
}

/// A `multipart/alternative` body, text then HTML, both already
/// quoted-printable. Its Content-Type goes among the message's own headers
/// (lettre keeps it with the body, where DKIM cannot sign it).
fn with_alternative_body(
    builder: lettre::message::MessageBuilder,
    message_id: &str,
    text: Vec<u8>,
    html: Vec<u8>,
) -> Result<Message> {
    let part = |content_type: ContentType, bytes: Vec<u8>| {
        SinglePart::builder()
            .header(content_type)
            .body(Body::dangerous_pre_encoded(bytes, ContentTransferEncoding::QuotedPrintable))
    };
    let alternative = MultiPart::alternative()
        .boundary(boundary(message_id))
        .singlepart(part(ContentType::TEXT_PLAIN, text))
        .singlepart(part(ContentType::TEXT_HTML, html));
    let content_type = alternative.headers().get::<ContentType>().context("the multipart has no Content-Type")?;
    let formatted = alternative.formatted();
    let start = memchr::memmem::find(&formatted, b"\r\n\r\n").context("the multipart has no body")? + 4;
    builder
        .header(MIME_VERSION_1_0)
        .header(content_type)
        .body(Body::dangerous_pre_encoded(formatted[start..].to_vec(), ContentTransferEncoding::SevenBit))
        .context("cannot build the message")
}

/// The multipart boundary: made from the message's own Message-ID (already
/// one per issue and recipient), so the same message is the same bytes on
/// every build (`out/N/email.eml` diffs cleanly) without hashing the body
/// again per recipient. It starts with `=_`, which quoted-printable text
/// never holds (it writes `=` as `=3D`), so no part can contain it.
fn boundary(message_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message_id.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("=_{hex}")
}

/// Line breaks never reach a header.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A display name as an RFC 5322 phrase (quoted when it has specials).
fn quote_phrase(name: &str) -> String {
    let name = one_line(name);
    if !name.is_ascii() {
        // A header phrase must be ASCII unless encoded; the id alone is enough.
        String::new()
    } else if name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        name
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

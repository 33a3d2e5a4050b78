//! The MIME message of one recipient: the headers every message carries
//! (From, To, Subject, Date, Message-ID, List-Id, List-Unsubscribe,
//! List-Unsubscribe-Post) and a multipart/alternative body, text then HTML.

use std::time::SystemTime;

use anyhow::{Context, Result};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{
    self, ContentTransferEncoding, ContentType, HeaderName, HeaderValue, Headers, MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox, Mailboxes, MultiPart, SinglePart};

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
        let hex = crate::text::hex(&digest[..12]);
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
        self.message_id_with(&message_id_hex(self.issue, self.test, email))
    }

    fn message_id_with(&self, hex: &str) -> String {
        let kind = if self.test { "test" } else { "issue" };
        format!("<{kind}-{}.{hex}@{}>", self.issue, self.domain)
    }

    /// What every message of a send dated `date` shares, formatted once
    /// (see [`Frame`]); `None` when lettre would format this publication's
    /// headers in a way the frame cannot repeat (then [`IssueHeaders::message`] does).
    pub fn frame(&self, date: SystemTime) -> Option<Frame> {
        let lines = |set: &dyn Fn(&mut Headers)| {
            let mut headers = Headers::new();
            set(&mut headers);
            headers.to_string()
        };
        let subject = if self.test { format!("[TEST] {}", self.subject) } else { self.subject.clone() };
        let zeros = "0".repeat(MESSAGE_ID_HEX);
        let id = self.message_id_with(&zeros);
        let message_id = lines(&|h| h.set(header::MessageId::from(id.clone())));
        let id_at = message_id.find(&id)? + id.find(&zeros)?;
        let zero_boundary = format!("=_{}", "0".repeat(BOUNDARY_HEX));
        let alternative = MultiPart::alternative().boundary(zero_boundary.clone()).singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(Body::dangerous_pre_encoded(Vec::new(), ContentTransferEncoding::QuotedPrintable)),
        );
        let content_type = alternative.headers().get::<ContentType>()?;
        let content_type =
            lines(&|h| h.set(content_type.clone())) + &lines(&|h| h.set(ContentTransferEncoding::SevenBit)) + "\r\n";
        let boundary_at = content_type.find(&format!("\"{zero_boundary}\""))? + 3;
        let part_head = |content_type: ContentType| {
            let part = SinglePart::builder()
                .header(content_type)
                .body(Body::dangerous_pre_encoded(Vec::new(), ContentTransferEncoding::QuotedPrintable));
            let formatted = String::from_utf8(part.formatted()).ok()?;
            // The headers, the blank line, then the (empty) body's own CRLF.
            formatted.strip_suffix("\r\n").map(str::to_string)
        };
        Some(Frame {
            sender: self.from.email.clone(),
            from: lines(&|h| h.set(header::From::from(Mailboxes::from(self.from.clone())))),
            subject_date: lines(&|h| {
                h.set(header::Subject::from(one_line(&subject)));
                h.set(header::Date::new(date));
            }),
            message_id: (message_id, id_at),
            list_id: lines(&|h| {
                h.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), self.list_id.clone()))
            }),
            after_unsubscribe: lines(&|h| {
                h.insert_raw(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
                if let Some(reply_to) = &self.reply_to {
                    h.set(header::ReplyTo::from(Mailboxes::from(reply_to.clone())));
                }
                h.set(MIME_VERSION_1_0);
            }),
            content_type: (content_type, boundary_at),
            text_head: part_head(ContentType::TEXT_PLAIN)?,
            html_head: part_head(ContentType::TEXT_HTML)?,
            headers: self.clone(),
        })
    }
}

/// Hex digits of a Message-ID's per-recipient part.
const MESSAGE_ID_HEX: usize = 24;
/// Hex digits of a multipart boundary.
const BOUNDARY_HEX: usize = 32;

fn message_id_hex(issue: u32, test: bool, email: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{issue}\0{test}\0{}", email.to_lowercase()).as_bytes());
    crate::text::hex(&digest[..MESSAGE_ID_HEX / 2])
}

/// The message of every recipient of one send, less what is theirs,
/// formatted once with lettre: [`Frame::write`] puts in one recipient's To,
/// Message-ID, List-Unsubscribe and boundary (the latter two of fixed
/// length, so lettre's folding is the same) and their two parts, straight
/// into one buffer. Its bytes are the bytes of [`IssueHeaders::message`]
/// (a test holds them equal), without a lettre message built, formatted and
/// parsed again per recipient.
#[derive(Debug, Clone)]
pub struct Frame {
    sender: lettre::Address,
    from: String,
    subject_date: String,
    /// The `Message-ID:` field with zeros for its hex part, and where they start.
    message_id: (String, usize),
    list_id: String,
    after_unsubscribe: String,
    /// `Content-Type:` with a boundary of zeros and where they start, then
    /// `Content-Transfer-Encoding:` and the blank line.
    content_type: (String, usize),
    text_head: String,
    html_head: String,
    headers: IssueHeaders,
}

impl Frame {
    /// Appends `recipient`'s whole message (whose `unsubscribe_url` is filled
    /// in) to `out`; its SMTP envelope.
    pub fn write(&self, body: &EmailBody, recipient: &Recipient, out: &mut String) -> Result<Envelope> {
        use std::fmt::Write;
        let to: lettre::Address =
            recipient.email.parse().with_context(|| format!("\"{}\" is not an email address", recipient.email))?;
        let name = (!recipient.name.trim().is_empty()).then(|| one_line(&recipient.name));
        let h = &self.headers;
        let id_hex = message_id_hex(h.issue, h.test, &recipient.email);
        let boundary = boundary(&h.message_id_with(&id_hex));
        out.reserve(body.html_bytes * 11 / 10 + body.text.literal_len() * 11 / 10 + 4096);
        out.push_str(&self.from);
        let mut to_field = Headers::new();
        to_field.set(header::To::from(Mailboxes::from(Mailbox::new(name, to.clone()))));
        let _ = write!(out, "{to_field}");
        out.push_str(&self.subject_date);
        let (id_field, at) = &self.message_id;
        out.push_str(&id_field[..*at]);
        out.push_str(&id_hex);
        out.push_str(&id_field[at + MESSAGE_ID_HEX..]);
        out.push_str(&self.list_id);
        let mut unsubscribe = Headers::new();
        unsubscribe.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>, <mailto:{}?subject=unsubscribe>", recipient.unsubscribe_url, h.unsubscribe_mailto),
        ));
        let _ = write!(out, "{unsubscribe}");
        out.push_str(&self.after_unsubscribe);
        let (type_field, at) = &self.content_type;
        out.push_str(&type_field[..*at]);
        out.push_str(&boundary[2..]);
        out.push_str(&type_field[at + BOUNDARY_HEX..]);
        out.push_str("--");
        out.push_str(&boundary);
        out.push_str("\r\n");
        out.push_str(&self.text_head);
        body.text.push_quoted_printable(recipient, out);
        out.push_str("\r\n--");
        out.push_str(&boundary);
        out.push_str("\r\n");
        out.push_str(&self.html_head);
        body.html.push_quoted_printable(recipient, out);
        out.push_str("\r\n--");
        out.push_str(&boundary);
        out.push_str("--\r\n");
        Envelope::new(Some(self.sender.clone()), vec![to]).context("cannot make the envelope")
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
    format!("=_{}", crate::text::hex(&digest[..BOUNDARY_HEX / 2]))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::personal::{Escape, Personal, Var};

    fn headers(name: &str, subject: &str, reply_to: bool, test: bool, domain: &str) -> IssueHeaders {
        IssueHeaders {
            from: Mailbox::new(Some(name.into()), format!("newsletter@{domain}").parse().unwrap()),
            reply_to: reply_to.then(|| Mailbox::new(None, format!("hello@{domain}").parse().unwrap())),
            subject: subject.into(),
            list_id: format!("{} <{}.{domain}>", quote_phrase(name), "list"),
            domain: domain.into(),
            unsubscribe_base: format!("https://{domain}/u"),
            unsubscribe_mailto: format!("newsletter@{domain}"),
            preferences_base: format!("https://{domain}/preferences"),
            issue: 12,
            test,
        }
    }

    fn body() -> EmailBody {
        let mark = |i: usize| format!("zqxRCPT{i}zqxRCPT");
        let text = format!(
            "Hello {},\n.a line that starts with a dot\n{}\ncaf\u{e9} = {}\n\nUnsubscribe: {}\n",
            mark(0),
            "long words ".repeat(30),
            mark(1),
            mark(2)
        );
        let html = format!(
            "<p>Hi {}</p>\n<p>.dot</p>\n<p>{}</p><a href=\"{}\">leave</a>\n",
            mark(0),
            "\u{201c}quoted\u{201d} ".repeat(40),
            mark(2)
        );
        let vars = [Var::Name, Var::Email, Var::UnsubscribeUrl];
        let html = Personal::new(&html, &vars, Escape::Html);
        EmailBody { html_bytes: 4000, text: Personal::new(&text, &vars, Escape::None), html }
    }

    /// The frame must give exactly lettre's bytes and envelope, for any
    /// recipient and publication: it replaces lettre on the send's hot path,
    /// and `out/N/email.eml`, the preview and the tests see lettre's.
    #[test]
    fn a_frame_writes_the_bytes_and_envelope_lettre_makes() {
        let date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000);
        let body = body();
        let long = "A very long publication name that goes on and on \u{e9}".repeat(3);
        let publications = [
            headers("This Week in Asia", "This Week in Asia #12: China AI dreams", true, false, "analyse.asia"),
            headers("Zo\u{eb}'s \"Letter\", weekly", "Caf\u{e9} \u{2014} \u{1f600} news", false, true, "example.com"),
            headers(&long, &"Subject words ".repeat(12), true, true, "a-rather-long-subdomain.example.org"),
        ];
        let names = [
            "",
            "Ada Lovelace",
            "Zo\u{eb} \u{dc}nic\u{f6}de",
            "O'Brien, \"Quoted\" <x@y>",
            "Name\r\nWith Break",
            &"Very Long Name \u{e9}\u{e8} ".repeat(8),
        ];
        let emails = ["reader@example.com", "First.Last+tag@Example.COM", "j\u{f6}rg@ex\u{e4}mple.de", "x@y.co"];
        let mut checked = 0;
        for publication in &publications {
            let frame = publication.frame(date).expect("a frame for an ordinary publication");
            for name in names {
                for email in emails {
                    let recipient = Recipient {
                        email: email.into(),
                        name: name.into(),
                        unsubscribe_url: format!("https://example.com/u?t=tok{}", email.len()),
                        preferences_url: "https://example.com/p?t=tok".into(),
                        ..Default::default()
                    };
                    let lettre = publication.message(&body, &recipient, date).unwrap();
                    let mut ours = String::from("kept ");
                    let envelope = frame.write(&body, &recipient, &mut ours).unwrap();
                    assert_eq!(
                        ours.strip_prefix("kept ").unwrap(),
                        String::from_utf8(lettre.formatted()).unwrap(),
                        "{name:?} <{email}>"
                    );
                    assert_eq!(&envelope, lettre.envelope());
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 72);
    }
}

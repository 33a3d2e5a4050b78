//! Bounces that come back by mail: the delivery status notifications (DSN,
//! RFC 3464) a relay sends after it accepted a message it then could not
//! deliver. Most publishers send through a relay, so most bad addresses show
//! up here rather than as a refusal during the send.
//!
//! Reads `.eml` files, mbox files and Maildir folders; MIME is mail-parser's
//! work, the `message/delivery-status` fields are read here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// What a report says of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The address from `Final-Recipient` (or `Original-Recipient`).
    pub recipient: String,
    /// `failed`, `delayed`, `delivered`, `relayed` or `expanded`.
    pub action: String,
    /// The enhanced status code, "5.1.1".
    pub status: String,
    /// `Diagnostic-Code` without its type: "550 5.1.1 <a@b>: User unknown".
    pub diagnostic: Option<String>,
}

impl Report {
    /// A permanent failure that says the address itself is bad: the same
    /// rule as a refusal during the send ([`crate::deliver::smtp::is_bad_address`]).
    pub fn is_hard_bounce(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed") && crate::deliver::smtp::is_bad_address(&self.status)
    }
}

/// One message read from a file, and where it came from ("bounces.mbox #3").
pub struct MailFile {
    pub origin: String,
    pub raw: Vec<u8>,
}

/// The messages under `path`: a folder (a Maildir or a folder of `.eml`
/// files, walked through, dot files skipped), an mbox file (it starts with a
/// `From ` line), or a file holding one message.
pub fn read_messages(path: &Path) -> Result<Vec<MailFile>> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    let mut messages = Vec::new();
    for file in files {
        let raw = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        if raw.starts_with(b"From ") {
            let reader = std::io::BufReader::new(raw.as_slice());
            for (i, message) in mail_parser::mailbox::mbox::MessageIterator::new(reader).enumerate() {
                let message = message.with_context(|| format!("cannot read {}", file.display()))?;
                messages.push(MailFile {
                    origin: format!("{} (message {})", file.display(), i + 1),
                    raw: message.unwrap_contents(),
                });
            }
        } else {
            messages.push(MailFile { origin: file.display().to_string(), raw });
        }
    }
    Ok(messages)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read {}", path.display()))?;
    entries.sort();
    for entry in entries {
        if !entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            collect_files(&entry, out)?;
        }
    }
    Ok(())
}

/// The per-recipient reports of a message; empty when it is not a delivery
/// status notification.
pub fn reports(raw: &[u8]) -> Vec<Report> {
    let Some(message) = MessageParser::default().parse(raw) else { return Vec::new() };
    message
        .parts
        .iter()
        .filter(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| {
                        s.eq_ignore_ascii_case("delivery-status") || s.eq_ignore_ascii_case("global-delivery-status")
                    })
            })
        })
        .flat_map(|part| match &part.body {
            PartType::Text(text) => parse_status(text),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => parse_status(&String::from_utf8_lossy(bytes)),
            _ => Vec::new(),
        })
        .collect()
}

/// A spam complaint, from a feedback loop's report (ARF, RFC 5965: what
/// Yahoo's and Microsoft's loops send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    /// Who complained: `Original-Rcpt-To`, else the `To` of the returned message.
    pub recipient: String,
    /// `Feedback-Type`: abuse, fraud, virus, other, …
    pub kind: String,
}

/// The complaint in a message, if it is an ARF report (`multipart/report;
/// report-type=feedback-report` with a `message/feedback-report` part).
pub fn complaint(raw: &[u8]) -> Option<Complaint> {
    let message = MessageParser::default().parse(raw)?;
    let is = |part: &mail_parser::MessagePart, ctype: &str, sub: &str| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case(ctype) && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
    };
    let report = message.parts.iter().find(|p| is(p, "message", "feedback-report"))?;
    let text = match &report.body {
        PartType::Text(text) => text.to_string(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => return None,
    };
    let field = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    };
    let kind = field("feedback-type").unwrap_or_else(|| "abuse".into()).to_ascii_lowercase();
    let returned_to = || {
        message.parts.iter().find_map(|p| match &p.body {
            PartType::Message(m) => m.to().and_then(|to| to.first()).and_then(|a| a.address()).map(str::to_string),
            PartType::Text(t) if is(p, "text", "rfc822-headers") => {
                t.lines().find_map(|l| l.strip_prefix("To:").or_else(|| l.strip_prefix("to:"))).map(|v| {
                    let v = v.trim();
                    v.rsplit_once('<').map_or(v, |(_, a)| a.trim_end_matches('>')).to_string()
                })
            }
            _ => None,
        })
    };
    let recipient = field("original-rcpt-to").or_else(returned_to)?;
    Some(Complaint { recipient, kind })
}

/// The issue a bounce report is about, from the returned message's
/// `Message-ID` (`<issue-9.…@domain>`), when the relay included it.
pub fn issue_of(raw: &[u8]) -> Option<u32> {
    let text = String::from_utf8_lossy(raw);
    let at = text.find("<issue-")? + "<issue-".len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The fields of a `message/delivery-status` body: a block for the message,
/// then one block per recipient, blocks split by empty lines, long fields
/// folded onto lines that start with white space.
fn parse_status(body: &str) -> Vec<Report> {
    let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in body.lines() {
        let block = blocks.last_mut().expect("one block at least");
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(Vec::new());
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let field = |block: &[(String, String)], name: &str| block.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    // "rfc822; a@b" (or "utf-8; …") → "a@b"
    let typed = |value: String| value.split_once(';').map_or(value.clone(), |(_, v)| v.trim().to_string());
    blocks
        .iter()
        .skip(1)
        .filter_map(|block| {
            let recipient =
                field(block, "final-recipient").or_else(|| field(block, "original-recipient")).map(typed)?;
            let recipient = recipient.trim_start_matches('<').trim_end_matches('>').trim().to_string();
            Some(Report {
                recipient,
                action: field(block, "action")?.to_ascii_lowercase(),
                status: field(block, "status")?.split_whitespace().next().unwrap_or_default().to_string(),
                diagnostic: field(block, "diagnostic-code").map(typed),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARF: &str = "From: feedback@arf.mail.yahoo.com\r
To: newsletter@analyse.asia\r
Subject: FW: This Week in Asia #9\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report; boundary=\"F1\"\r
\r
--F1\r
Content-Type: text/plain\r
\r
This is an email abuse report.\r
--F1\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: Yahoo!-Mail-Feedback/2.0\r
Version: 1\r
Original-Mail-From: <newsletter@analyse.asia>\r
Arrival-Date: Fri, 01 Mar 2024 09:05:00 +0000\r
--F1\r
Content-Type: text/rfc822-headers\r
\r
From: This Week in Asia <newsletter@analyse.asia>\r
To: \"Reader\" <angry@example.com>\r
Message-ID: <issue-9.abc@analyse.asia>\r
--F1--\r
";

    #[test]
    fn a_feedback_loop_report_names_who_complained_and_the_issue() {
        let c = complaint(ARF.as_bytes()).expect("an ARF report");
        assert_eq!((c.recipient.as_str(), c.kind.as_str()), ("angry@example.com", "abuse"));
        assert_eq!(issue_of(ARF.as_bytes()), Some(9));
        let with_rcpt = ARF.replace("Version: 1\r\n", "Version: 1\r\nOriginal-Rcpt-To: <exact@example.com>\r\n");
        assert_eq!(complaint(with_rcpt.as_bytes()).unwrap().recipient, "exact@example.com");
        assert_eq!(complaint(POSTFIX_DSN.as_bytes()), None, "a DSN is not a complaint");
    }

    const POSTFIX_DSN: &str = "From: MAILER-DAEMON@relay.example (Mail Delivery System)\r
To: newsletter@analyse.asia\r
Subject: Undelivered Mail Returned to Sender\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status;\r
\tboundary=\"B1\"\r
\r
--B1\r
Content-Type: text/plain\r
\r
I'm sorry to have to inform you that your message could not be delivered.\r
\r
--B1\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; relay.example\r
Arrival-Date: Fri,  8 Mar 2024 09:00:01 +0800 (+08)\r
\r
Final-Recipient: rfc822; gone@example.com\r
Original-Recipient: rfc822;gone@example.com\r
Action: failed\r
Status: 5.1.1\r
Remote-MTA: dns; mx.example.com\r
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address\r
    rejected: User unknown in virtual mailbox table\r
\r
Final-Recipient: rfc822; full@example.com\r
Action: failed\r
Status: 5.2.2\r
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r
\r
Final-Recipient: rfc822; <slow@example.com>\r
Action: delayed\r
Status: 4.4.1\r
\r
--B1\r
Content-Type: message/rfc822\r
\r
Subject: This Week in Asia #9\r
\r
Hello\r
--B1--\r
";

    #[test]
    fn a_postfix_report_gives_every_recipient_with_folded_fields_unfolded() {
        let reports = reports(POSTFIX_DSN.as_bytes());
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert_eq!(reports[0].recipient, "gone@example.com");
        assert_eq!(reports[0].status, "5.1.1");
        assert_eq!(
            reports[0].diagnostic.as_deref(),
            Some("550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in virtual mailbox table")
        );
        assert!(reports[0].is_hard_bounce());
        assert_eq!(reports[1].recipient, "full@example.com");
        assert!(!reports[1].is_hard_bounce(), "a full mailbox is not a bad address");
        assert_eq!((reports[2].recipient.as_str(), reports[2].action.as_str()), ("slow@example.com", "delayed"));
        assert!(!reports[2].is_hard_bounce());
    }

    #[test]
    fn a_message_that_is_not_a_report_gives_none() {
        assert!(
            reports(b"Subject: Re: This Week in Asia #9\r\n\r\nUnsubscribe: Final-Recipient: rfc822; x@y\r\n")
                .is_empty()
        );
        assert!(reports(b"").is_empty());
        assert!(reports(&[0xff, 0xfe, 0x00, 0x01]).is_empty());
    }

    #[test]
    fn a_base64_report_is_decoded() {
        use base64::Engine;
        let status = "Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; b64@example.com\r\nAction: failed\r\nStatus: 5.1.10\r\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(status);
        let raw = format!(
            "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n\
             Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--x--\r\n"
        );
        let reports = reports(raw.as_bytes());
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].recipient, "b64@example.com");
        assert!(reports[0].is_hard_bounce());
    }
}

//! One SMTP connection, opened the way a bulk sender needs it: our own TCP
//! stream with TCP_NODELAY (lettre leaves Nagle on, which costs ~40 ms a
//! message), STARTTLS or implicit TLS as the URL asks, AUTH when a user is given.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, CertificateStore, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use crate::deliver::transport::{SmtpTarget, Tls};

/// How much longer than a command the end of a message may take (the server
/// may scan it before it answers).
const DATA_END_FACTOR: u32 = 4;

/// Why a message did not go.
#[derive(Debug, Clone)]
pub enum SendError {
    /// 5xx to a recipient: never retried; the recipient is recorded as failed.
    Permanent(String),
    /// 5xx to the message itself (after DATA): recorded as failed; a run of
    /// them with nothing accepted stops the send (see the send loop).
    Content(String),
    /// 4xx: retried later; `slow_down` for the replies that mean "you send too
    /// fast"; `to_sender` when the sender was deferred, so that giving up stops
    /// the run instead of failing a recipient who had nothing to do with it.
    Transient { reply: String, slow_down: bool, to_sender: bool },
    /// The connection failed, dropped or was turned away for now: reconnect and retry.
    Connection(String),
    /// The server will not take mail from us at all (greeting, EHLO, TLS, AUTH
    /// or the sender refused with 5xx): the send stops and every recipient stays pending.
    Refused(String),
}

/// Where in an SMTP transaction a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Sender,
    Recipient,
    Content,
}

/// A connection and how many messages it carried.
pub struct Connection {
    inner: AsyncSmtpConnection,
    /// Set when a transaction could not be reset: the connection is not reused.
    broken: bool,
    /// The server offers PIPELINING (RFC 2920): MAIL, RCPT and DATA go in one write.
    pipelining: bool,
    /// The server offers SIZE (RFC 1870), with its limit (0: none named):
    /// each MAIL declares the message's size, and a message above the limit
    /// is not sent at all.
    size: Option<usize>,
    /// How long connecting, or one command, may take (`?timeout=` in the URL).
    timeout: Duration,
}

impl Connection {
    /// Opens a connection to `target`, greeting it as `hello`.
    pub async fn open(target: &SmtpTarget, hello: &ClientId) -> Result<Connection, SendError> {
        Connection::handshake(target, hello).await.map_err(|e| match e {
            SendError::Permanent(reply) | SendError::Content(reply) => {
                SendError::Refused(format!("{}:{} refused the session: {reply}", target.host, target.port))
            }
            SendError::Refused(why) => SendError::Refused(format!("{}:{}: {why}", target.host, target.port)),
            SendError::Connection(reply) if reply.contains("invalid peer certificate") => {
                SendError::Refused(untrusted(target, &reply))
            }
            SendError::Transient { reply, .. } | SendError::Connection(reply) => {
                SendError::Connection(format!("{}:{}: {reply}", target.host, target.port))
            }
        })
    }

    async fn handshake(target: &SmtpTarget, hello: &ClientId) -> Result<Connection, SendError> {
        tracing::debug!("connecting to {}:{} ({:?})", target.host, target.port, target.tls);
        let tls = || {
            let mut parameters = TlsParameters::builder(target.host.clone());
            if let Some(pem) = &target.ca {
                let ca = Certificate::from_pem(pem).map_err(|e| {
                    SendError::Refused(format!("the certificate authority named by ca= is unusable: {e}"))
                })?;
                parameters = parameters.certificate_store(CertificateStore::None).add_root_certificate(ca);
            }
            parameters.build().map_err(|e| SendError::Connection(format!("TLS setup: {e}")))
        };
        let mut inner = if target.tls == Tls::Implicit {
            AsyncSmtpConnection::connect_tokio1(
                (target.host.as_str(), target.port),
                Some(target.timeout),
                hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(classify)?
        } else {
            let stream = tokio::time::timeout(
                target.timeout,
                tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
            )
            .await
            .map_err(|_| SendError::Connection(format!("connecting to {}:{} timed out", target.host, target.port)))?
            .map_err(|e| SendError::Connection(format!("cannot connect to {}:{}: {e}", target.host, target.port)))?;
            stream.set_nodelay(true).map_err(|e| SendError::Connection(e.to_string()))?;
            let mut conn =
                timed(target.timeout, AsyncSmtpConnection::connect_with_transport(Box::new(stream), hello)).await?;
            match target.tls {
                Tls::Required if !conn.can_starttls() => {
                    return Err(SendError::Refused("no STARTTLS offered, and the URL says tls=required".to_string()));
                }
                Tls::Required | Tls::Opportunistic if conn.can_starttls() => {
                    tracing::debug!(">> STARTTLS (then EHLO again)");
                    timed(target.timeout, conn.starttls(tls()?, hello)).await?;
                    tracing::debug!("TLS is on");
                }
                _ => {}
            }
            if let Some(user) = &target.user
                && !conn.is_encrypted()
                && target.tls != Tls::None
            {
                // No STARTTLS (or someone on the path stripped it): the login
                // would cross the network readable by anyone on the way.
                return Err(SendError::Refused(format!(
                    "the server offers no STARTTLS, so the password of {user} would be sent unencrypted: \
                     use smtps:// or a server that offers STARTTLS, or add ?tls=none to the URL to send it \
                     in clear on purpose (a relay on this machine)"
                )));
            }
            conn
        };
        // lettre keeps no note of PIPELINING: greet again (RFC 5321 allows it
        // before a transaction) and read the keywords ourselves.
        let ehlo = Ehlo::new(hello.clone());
        trace_out(&ehlo);
        let keywords = timed(target.timeout, inner.command(ehlo)).await.inspect_err(trace_err)?;
        trace_in(&keywords);
        let pipelining = keywords
            .message()
            .any(|line| line.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING")));
        let size = keywords.message().find_map(|line| {
            let mut words = line.split_whitespace();
            words.next().filter(|k| k.eq_ignore_ascii_case("SIZE"))?;
            Some(words.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0))
        });
        let mut conn = Connection { inner, broken: false, pipelining, size, timeout: target.timeout };
        if let Some(user) = &target.user {
            let credentials = Credentials::new(user.clone(), target.password.clone().unwrap_or_default());
            // The user name and password never reach the trace.
            tracing::debug!(">> AUTH PLAIN or LOGIN (credentials not shown)");
            timed(target.timeout, conn.inner.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)).await.map_err(
                |e| match e {
                    SendError::Permanent(reply) => SendError::Refused(match target.password_variable.as_str() {
                        "PUBLISH_SMTP_PASSWORD" => format!(
                            "login as {user} failed: {reply}; check the user in PUBLISH_SMTP_URL and PUBLISH_SMTP_PASSWORD"
                        ),
                        variable => {
                            format!("login as {user} failed: {reply}; check the user in the relay's url and {variable}")
                        }
                    }),
                    other => other,
                },
            )?;
        }
        tracing::debug!("session open{}", if conn.inner.is_encrypted() { ", encrypted" } else { "" });
        Ok(conn)
    }

    /// Sends one message; the reply on success ("250 2.0.0 Ok: queued as …").
    ///
    /// The transaction is driven command by command (not with lettre's
    /// `send`) so that a refusal is told by where it came: a refused sender
    /// stops the run, a refused recipient fails that recipient alone. After a
    /// refusal the transaction is reset and the connection kept. The message
    /// is given as the pieces it is made of (the DKIM-Signature fields, then
    /// the message), joined as they go.
    pub async fn send(&mut self, envelope: &Envelope, parts: &[&str]) -> Result<String, SendError> {
        let info = self.inner.server_info();
        let mut options = Vec::new();
        if envelope.to().iter().chain(envelope.from()).any(|a| !AsRef::<str>::as_ref(a).is_ascii()) {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::Permanent(
                    "not sent: the server does not take internationalised addresses (no SMTPUTF8)".into(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !parts.iter().all(|p| p.is_ascii()) {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(SendError::Refused("the message is not 7-bit and the server lacks 8BITMIME".into()));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if let Some(limit) = self.size {
            if limit > 0 && len > limit {
                // Every message of the issue is about this size: none would go.
                return Err(SendError::Refused(format!(
                    "the message is {len} bytes and the server takes at most {limit} (its SIZE): shorten the \
                     issue or raise the server's message size limit"
                )));
            }
            options.push(MailParameter::Size(len));
        }
        let mail = Mail::new(envelope.from().cloned(), options);
        if self.pipelining {
            self.envelope_pipelined(mail, envelope).await?;
        } else {
            self.step(Stage::Sender, mail).await?;
            for to in envelope.to() {
                self.step(Stage::Recipient, Rcpt::new(to.clone(), vec![])).await?;
            }
            self.step(Stage::Content, Data).await?;
        }
        // lettre's `message` escapes the body a byte at a time (a quarter of the
        // send's CPU) and writes the end marker as a packet of its own; the
        // payload escaped here goes out in one write, with the same bytes.
        tracing::debug!(">> (the message, {len} bytes, not shown) .");
        let sent = timed(self.timeout * DATA_END_FACTOR, self.inner.command(DataPayload(parts))).await;
        let response = match sent {
            Ok(response) => response,
            // The transaction is over either way: nothing to reset.
            Err(e) => {
                trace_err(&e);
                return Err(at_stage(Stage::Content, e));
            }
        };
        trace_in(&response);
        let code = response.code().to_string();
        Ok(match response.first_line() {
            Some(line) if !line.is_empty() => format!("{code} {line}"),
            _ => code,
        })
    }

    /// MAIL, every RCPT and DATA in one write, then their replies in order
    /// (RFC 2920): two round trips a message instead of four. Every reply is
    /// read whatever came before, so the connection stays in step; the first
    /// refusal is the one reported, and the transaction is reset after it.
    async fn envelope_pipelined(&mut self, mail: Mail, envelope: &Envelope) -> Result<(), SendError> {
        let mut batch = mail.to_string();
        let mut stages = vec![Stage::Sender];
        for to in envelope.to() {
            batch.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
            stages.push(Stage::Recipient);
        }
        batch.push_str(&Data.to_string());
        stages.push(Stage::Content);
        trace_out(&Verbatim(&batch));
        let mut refused = None;
        let mut data_accepted = false;
        for (i, stage) in stages.into_iter().enumerate() {
            let reply = if i == 0 {
                timed(self.timeout, self.inner.command(Verbatim(&batch))).await
            } else {
                timed(self.timeout, self.inner.read_response()).await
            };
            match &reply {
                Ok(response) => trace_in(response),
                Err(e) => trace_err(e),
            }
            match reply {
                Ok(_) => data_accepted = stage == Stage::Content,
                Err(SendError::Connection(why)) => {
                    self.broken = true;
                    return Err(refused.unwrap_or(SendError::Connection(why)));
                }
                Err(e) => {
                    refused.get_or_insert(at_stage(stage, e));
                }
            }
        }
        match refused {
            None => Ok(()),
            Some(e) => {
                // A server that said 354 after refusing the envelope waits for
                // a message we will not send: that connection is done.
                if data_accepted {
                    self.broken = true;
                } else {
                    self.reset().await;
                }
                Err(e)
            }
        }
    }

    /// One command of a transaction; on a refusal, the transaction is reset.
    async fn step(&mut self, stage: Stage, command: impl std::fmt::Display) -> Result<(), SendError> {
        trace_out(&command);
        match timed(self.timeout, self.inner.command(command)).await {
            Ok(response) => {
                trace_in(&response);
                Ok(())
            }
            Err(e) => {
                trace_err(&e);
                let e = at_stage(stage, e);
                if matches!(e, SendError::Connection(_)) {
                    self.broken = true;
                } else {
                    self.reset().await;
                }
                Err(e)
            }
        }
    }

    /// Ends a refused transaction with RSET; a connection that cannot is not reused.
    async fn reset(&mut self) {
        trace_out(&Rset);
        if timed(self.timeout, self.inner.command(Rset)).await.inspect_err(trace_err).is_err() {
            self.broken = true;
        }
    }

    /// Whether the connection can carry another message.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.inner.has_broken()
    }

    /// Says goodbye politely.
    pub async fn quit(mut self) {
        tracing::debug!(">> QUIT");
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.quit()).await;
    }
}

async fn timed<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, SendError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(SendError::Connection(format!(
            "the server did not answer within {} s (raise ?timeout= in the SMTP URL if it is slow)",
            limit.as_secs_f64()
        ))),
    }
}

/// Traces commands we send (`-v`), a line each. Only the envelope and
/// greeting pass here: AUTH and the message are traced by a summary instead.
fn trace_out(command: &impl std::fmt::Display) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        for line in command.to_string().lines() {
            tracing::debug!(">> {line}");
        }
    }
}

/// Traces a server reply, every line of it.
fn trace_in(response: &Response) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let code = response.code();
        for line in response.message() {
            tracing::debug!("<< {code} {line}");
        }
    }
}

fn trace_err(e: &SendError) {
    tracing::debug!("<< {e:?}");
}

/// Sorts lettre's errors into what the send loop does next.
pub fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let reply = reply_text(&e);
    if e.is_permanent() {
        SendError::Permanent(reply)
    } else if e.is_transient() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        SendError::Transient {
            slow_down: matches!(code.as_str(), "421" | "450" | "451" | "454"),
            reply,
            to_sender: false,
        }
    } else if e.is_response() {
        // lettre could not read a reply: the peer hung up, or is not an SMTP server.
        SendError::Connection(match reply.rsplit_once("error Tag at: ") {
            Some((_, said)) => format!(
                "the answer is not SMTP (\"{}\"): check the host and port in the SMTP URL",
                said.lines().next().unwrap_or_default().chars().take(80).collect::<String>()
            ),
            None if reply.contains("incomplete response") => "the server closed the connection".into(),
            None => reply,
        })
    } else {
        SendError::Connection(reply)
    }
}

/// Why a server's TLS certificate was not trusted, and what to do: nothing
/// went out on that connection, the password least of all.
fn untrusted(target: &SmtpTarget, reply: &str) -> String {
    let detail = reply.rsplit_once("invalid peer certificate: ").map_or(reply, |(_, d)| d);
    let what = if detail.contains("UnknownIssuer") || detail.contains("CaUsedAsEndEntity") {
        "is self-signed or comes from an authority this machine does not trust"
    } else if detail.contains("NotValidForName") {
        "is not made out to this host name"
    } else if detail.contains("Expired") {
        "has expired"
    } else if detail.contains("NotValidYet") {
        "is not valid yet"
    } else if detail.contains("Revoked") {
        "was revoked"
    } else {
        "could not be verified"
    };
    let ca = if target.ca.is_some() { "the authority named by ca=" } else { "the public authorities" };
    format!(
        "{}:{}: the server's TLS certificate {what} ({detail}; checked against {ca}), so nothing was sent and no \
         password went out: use the server's real host name, or add ?ca=/path/to/authority.pem to the URL when the \
         relay's certificate comes from a private authority",
        target.host, target.port
    )
}

/// A refusal read by where it came: 5xx to the sender refuses the whole run,
/// to the message after DATA refuses the content.
fn at_stage(stage: Stage, e: SendError) -> SendError {
    match (stage, e) {
        (Stage::Sender, SendError::Permanent(reply)) => {
            SendError::Refused(format!("the server refuses the sender: {reply}; check [email] from in publish.toml"))
        }
        (Stage::Sender, SendError::Transient { reply, slow_down, .. }) => {
            SendError::Transient { reply, slow_down, to_sender: true }
        }
        (Stage::Content, SendError::Permanent(reply)) => SendError::Content(reply),
        (_, e) => e,
    }
}

/// "550 5.1.1 <a@b>: User unknown" from an error that carries a reply.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    match e.status() {
        Some(code) => {
            let detail = text.split_once(": ").map_or("", |(_, rest)| rest).trim();
            if detail.is_empty() { code.to_string() } else { format!("{code} {detail}") }
        }
        None => text,
    }
}

/// Whether a recipient's refusal says the address itself is bad (a hard
/// bounce): the enhanced status codes of RFC 3463 for a bad mailbox or
/// domain (5.1.x) or a disabled mailbox (5.2.1).
pub fn is_hard_bounce(reply: &str) -> bool {
    let mut words = reply.split_whitespace();
    let (Some(code), Some(enhanced)) = (words.next(), words.next()) else { return false };
    code.starts_with('5') && is_bad_address(enhanced)
}

/// Whether an enhanced status code (RFC 3463) says the address is bad: a bad
/// mailbox or domain (5.1.x) or a disabled mailbox (5.2.1). A full mailbox
/// (5.2.2), a policy or spam refusal (5.7.x) say nothing about the address.
pub fn is_bad_address(enhanced: &str) -> bool {
    enhanced.starts_with("5.1.") || enhanced == "5.2.1"
}

/// Text written to the server as it is (it carries its own line ends).
struct Verbatim<'a>(&'a str);

impl std::fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A message as it goes after DATA: every line that starts with "." gets
/// another in front (RFC 5321, 4.5.2), then the end-of-data marker. Written as
/// lettre's own `message` writes it, line ends untouched. The message is the
/// concatenation of its parts.
struct DataPayload<'a>(&'a [&'a str]);

impl std::fmt::Display for DataPayload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The last two bytes written, across parts: a line starts after CRLF
        // (and at the very start).
        let mut before: [u8; 2] = *b"\r\n";
        for text in self.0.iter().filter(|t| !t.is_empty()) {
            let bytes = text.as_bytes();
            let starts_line = match bytes {
                [b'.', ..] => before == *b"\r\n",
                [b'\n', b'.', ..] => before[1] == b'\r',
                _ => false,
            };
            let mut start = 0;
            if starts_line && bytes[0] == b'.' {
                f.write_str(".")?;
            } else if starts_line {
                f.write_str("\n.")?;
                start = 1;
            }
            let from = start;
            for at in memchr::memmem::find_iter(&bytes[from..], b"\r\n.").map(|i| i + from) {
                f.write_str(&text[start..at + 2])?;
                f.write_str(".")?;
                start = at + 2;
            }
            // A "\r" at the end, then "\n." at the next part's start.
            if bytes.len() >= 2 && bytes[bytes.len() - 2..] == *b"\r\n" {
                before = *b"\r\n";
            } else if bytes.len() >= 2 {
                before = [bytes[bytes.len() - 2], bytes[bytes.len() - 1]];
            } else {
                before = [before[1], bytes[0]];
            }
            f.write_str(&text[start..])?;
        }
        f.write_str("\r\n.\r\n")
    }
}

#[cfg(test)]
mod payload_tests {
    #[test]
    fn a_payload_doubles_leading_dots_as_lettre_does() {
        let text = ".start\r\n..two\r\nmid.dle\r\n.\r\nlone\n.lf\r\n";
        assert_eq!(
            super::DataPayload(&[text]).to_string(),
            "..start\r\n...two\r\nmid.dle\r\n..\r\nlone\n.lf\r\n\r\n.\r\n"
        );
    }

    /// The parts are escaped as the message they make together, whatever
    /// their cuts, exactly as lettre's own codec escapes that message.
    #[test]
    fn parts_are_escaped_as_one_message_wherever_they_are_cut() {
        let text = ".a\r\n.b\r\nc.\r\n\r\n..d\n.e\r.f\r\n.";
        let whole = super::DataPayload(&[text]).to_string();
        let mut expected = Vec::new();
        lettre_escape(text.as_bytes(), &mut expected);
        expected.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(whole.as_bytes(), expected, "one part");
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let parts = [&text[..i], &text[i..j], &text[j..]];
                assert_eq!(super::DataPayload(&parts).to_string(), whole, "cut at {i} and {j}");
            }
        }
    }

    /// lettre's ClientCodec rule: a "." right after CRLF (or at the start) is doubled.
    fn lettre_escape(bytes: &[u8], out: &mut Vec<u8>) {
        let mut line_start = true;
        let mut cr = false;
        for &b in bytes {
            if b == b'.' && line_start {
                out.push(b'.');
            }
            out.push(b);
            line_start = cr && b == b'\n';
            cr = b == b'\r';
        }
    }
}

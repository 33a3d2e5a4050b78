//! One SMTP connection, opened the way a bulk sender needs it: our own TCP
//! stream with TCP_NODELAY (lettre leaves Nagle on, which costs ~40 ms a
//! message), STARTTLS or implicit TLS as the URL asks, AUTH when a user is given.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::deliver::transport::{SmtpTarget, Tls};

/// How long connecting, or one command, may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a message did not go.
#[derive(Debug, Clone)]
pub enum SendError {
    /// 5xx: never retried; the recipient is recorded as failed.
    Permanent(String),
    /// 4xx: retried later; `slow_down` for the replies that mean "you send too fast".
    Transient { reply: String, slow_down: bool },
    /// The connection failed or dropped: reconnect and retry.
    Connection(String),
}

/// A connection and how many messages it carried.
pub struct Connection {
    inner: AsyncSmtpConnection,
}

impl Connection {
    /// Opens a connection to `target`, greeting it as `hello`.
    pub async fn open(target: &SmtpTarget, hello: &ClientId) -> Result<Connection, SendError> {
        let tls =
            || TlsParameters::new(target.host.clone()).map_err(|e| SendError::Connection(format!("TLS setup: {e}")));
        let inner = if target.tls == Tls::Implicit {
            AsyncSmtpConnection::connect_tokio1(
                (target.host.as_str(), target.port),
                Some(TIMEOUT),
                hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(classify)?
        } else {
            let stream =
                tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect((target.host.as_str(), target.port)))
                    .await
                    .map_err(|_| {
                        SendError::Connection(format!("connecting to {}:{} timed out", target.host, target.port))
                    })?
                    .map_err(|e| {
                        SendError::Connection(format!("cannot connect to {}:{}: {e}", target.host, target.port))
                    })?;
            stream.set_nodelay(true).map_err(|e| SendError::Connection(e.to_string()))?;
            let mut conn = timed(AsyncSmtpConnection::connect_with_transport(Box::new(stream), hello)).await?;
            match target.tls {
                Tls::Required if !conn.can_starttls() => {
                    return Err(SendError::Permanent(format!(
                        "{} does not offer STARTTLS, and the URL says tls=required",
                        target.host
                    )));
                }
                Tls::Required | Tls::Opportunistic if conn.can_starttls() => {
                    timed(conn.starttls(tls()?, hello)).await?;
                }
                _ => {}
            }
            conn
        };
        let mut conn = Connection { inner };
        if let Some(user) = &target.user {
            let credentials = Credentials::new(user.clone(), target.password.clone().unwrap_or_default());
            timed(conn.inner.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)).await?;
        }
        Ok(conn)
    }

    /// Sends one message; the reply on success ("250 2.0.0 Ok: queued as …").
    pub async fn send(&mut self, envelope: &Envelope, bytes: &[u8]) -> Result<String, SendError> {
        let response = timed(self.inner.send(envelope, bytes)).await?;
        let code = response.code().to_string();
        Ok(match response.first_line() {
            Some(line) if !line.is_empty() => format!("{code} {line}"),
            _ => code,
        })
    }

    /// Whether the connection can carry another message.
    pub fn is_usable(&self) -> bool {
        !self.inner.has_broken()
    }

    /// Says goodbye politely.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.quit()).await;
    }
}

async fn timed<T>(fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>) -> Result<T, SendError> {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(SendError::Connection("the server did not answer in time".into())),
    }
}

/// Sorts lettre's errors into what the send loop does next.
pub fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    let reply = match e.status() {
        Some(code) => {
            let detail = text.split_once(": ").map_or("", |(_, rest)| rest).trim();
            if detail.is_empty() { code.to_string() } else { format!("{code} {detail}") }
        }
        None => text.clone(),
    };
    if e.is_permanent() {
        SendError::Permanent(reply)
    } else if e.is_transient() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        SendError::Transient { slow_down: matches!(code.as_str(), "421" | "450" | "451" | "454"), reply }
    } else {
        SendError::Connection(reply)
    }
}

//! Which way messages leave: the outbox folder (default), SMTP, or sendmail.
//! `PUBLISH_SMTP_URL` overrides `publish.toml`; the password comes from
//! `PUBLISH_SMTP_PASSWORD` (or the URL), never from a committed file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::workspace::config::{Config, TransportKind};

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `?tls=required`: STARTTLS or fail.
    Required,
    /// The default for `smtp://`: STARTTLS when the server offers it.
    Opportunistic,
    /// `?tls=none`: plain text (local relays, tests).
    None,
}

/// An SMTP server to send through.
#[derive(Debug, Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: Option<String>,
    pub password: Option<String>,
    /// How long connecting, the greeting or one command may take; the end of a
    /// message gets four times as long.
    pub timeout: std::time::Duration,
}

/// The default of `?timeout=`: as long as Postfix waits to connect.
pub const DEFAULT_SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The chosen transport.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Every message written as a `.eml` file in this folder.
    Outbox {
        dir: PathBuf,
    },
    Smtp(SmtpTarget),
    Sendmail {
        command: String,
    },
}

impl Transport {
    /// The transport for issue `number`, from the environment or `publish.toml`.
    pub fn choose(config: &Config, out_dir: &Path, number: u32) -> Result<Transport> {
        Transport::choose_for(config, out_dir, &number.to_string())
    }

    /// The transport for mail that is not an issue (`folder` of the outbox:
    /// `audience` for confirmations and welcomes).
    pub fn choose_for(config: &Config, out_dir: &Path, folder: &str) -> Result<Transport> {
        if let Ok(url) = std::env::var("PUBLISH_SMTP_URL")
            && !url.trim().is_empty()
        {
            return Ok(Transport::Smtp(SmtpTarget::parse(url.trim()).context("PUBLISH_SMTP_URL")?));
        }
        Ok(match config.email.transport {
            TransportKind::Outbox => Transport::Outbox { dir: out_dir.join("outbox").join(folder) },
            TransportKind::Smtp => {
                let url = config.email.smtp_url.as_deref().context(
                    "publish.toml: [email] transport = \"smtp\" needs smtp_url = \"smtp://host:587\" (or set PUBLISH_SMTP_URL)",
                )?;
                Transport::Smtp(SmtpTarget::parse(url).context("publish.toml: [email] smtp_url")?)
            }
            TransportKind::Sendmail => Transport::Sendmail {
                command: config.email.sendmail_command.clone().unwrap_or_else(|| "sendmail".into()),
            },
        })
    }

    /// Whether messages reach real people (and so deserve a confirmation).
    pub fn is_real(&self) -> bool {
        !matches!(self, Transport::Outbox { .. })
    }

    /// One line for the plan and the summary.
    pub fn describe(&self) -> String {
        match self {
            Transport::Outbox { dir } => format!("outbox ({})", dir.display()),
            Transport::Smtp(t) => {
                let tls = match t.tls {
                    Tls::Implicit => "TLS",
                    Tls::Required => "STARTTLS required",
                    Tls::Opportunistic => "STARTTLS if offered",
                    Tls::None => "no TLS",
                };
                let user = t.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
                format!("SMTP {user}{}:{} ({tls})", t.host, t.port)
            }
            Transport::Sendmail { command } => format!("sendmail ({command})"),
        }
    }
}

impl SmtpTarget {
    /// Parses `smtp://[user[:password]@]host[:port][?tls=required|none][&timeout=10s]` or `smtps://…`.
    pub fn parse(text: &str) -> Result<SmtpTarget> {
        let url =
            url::Url::parse(text).with_context(|| format!("\"{text}\" is not a URL such as smtp://127.0.0.1:2525"))?;
        let (default_port, mut tls) = match url.scheme() {
            "smtp" => (587, Tls::Opportunistic),
            "smtps" => (465, Tls::Implicit),
            other => bail!("the scheme \"{other}\" is not smtp:// or smtps://"),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).context("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let mut timeout = DEFAULT_SMTP_TIMEOUT;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") if tls != Tls::Implicit => tls = Tls::Required,
                ("tls", "opportunistic") if tls != Tls::Implicit => tls = Tls::Opportunistic,
                ("tls", "none") if tls != Tls::Implicit => tls = Tls::None,
                ("tls", other) => {
                    bail!("tls={other} is not one of required, opportunistic, none (smtps:// is always TLS)")
                }
                ("timeout", text) => {
                    timeout = crate::text::duration::parse_duration(text)
                        .and_then(|d| std::time::Duration::try_from(d).ok())
                        .filter(|d| !d.is_zero())
                        .with_context(|| format!("timeout={text} is not a duration such as 10s or 2m"))?;
                }
                (other, _) => {
                    bail!("unknown URL parameter \"{other}\" (only tls=required|opportunistic|none and timeout=30s)")
                }
            }
        }
        let user = (!url.username().is_empty()).then(|| percent_decode(url.username()));
        let password = match std::env::var("PUBLISH_SMTP_PASSWORD") {
            Ok(p) if !p.is_empty() => Some(p),
            _ => url.password().map(percent_decode),
        };
        Ok(SmtpTarget { host, port: url.port().unwrap_or(default_port), tls, user, password, timeout })
    }
}

/// A URL's user or password as written: `%40` is `@`, and `+` stays `+` (it
/// means a space only in form data).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("127.0.0.1", 2525, Tls::Opportunistic));
        let t = SmtpTarget::parse("smtps://user@mail.example.com").unwrap();
        assert_eq!((t.port, t.tls, t.user.as_deref()), (465, Tls::Implicit, Some("user")));
        let t = SmtpTarget::parse("smtp://host:587?tls=required").unwrap();
        assert_eq!(t.tls, Tls::Required);
        assert!(SmtpTarget::parse("http://host").is_err());
        assert!(SmtpTarget::parse("smtp://host?tls=maybe").is_err());
        assert!(SmtpTarget::parse("smtp://host?x=1").is_err());
    }

    #[test]
    fn user_and_password_keep_a_plus_and_decode_percent_escapes() {
        let t = SmtpTarget::parse("smtp://news+letter%40example.com:p+ss%2Fw@host").unwrap();
        assert_eq!(t.user.as_deref(), Some("news+letter@example.com"));
        if std::env::var_os("PUBLISH_SMTP_PASSWORD").is_none() {
            assert_eq!(t.password.as_deref(), Some("p+ss/w"));
        }
    }

    #[test]
    fn the_timeout_comes_from_the_url() {
        assert_eq!(SmtpTarget::parse("smtp://host").unwrap().timeout, DEFAULT_SMTP_TIMEOUT);
        let t = SmtpTarget::parse("smtp://host:25?tls=none&timeout=1m30s").unwrap();
        assert_eq!((t.tls, t.timeout.as_secs()), (Tls::None, 90));
        assert_eq!(SmtpTarget::parse("smtp://host?timeout=500ms").unwrap().timeout.as_millis(), 500);
        for bad in ["smtp://host?timeout=0s", "smtp://host?timeout=soon", "smtp://host?timeout=-5s"] {
            let e = SmtpTarget::parse(bad).unwrap_err().to_string();
            assert!(e.contains("is not a duration such as 10s"), "{bad}: {e}");
        }
    }
}

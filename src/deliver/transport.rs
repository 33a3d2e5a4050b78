//! Which way messages leave: the outbox folder (default), SMTP (one server or
//! several relays), or sendmail. `PUBLISH_SMTP_URL` overrides `publish.toml`;
//! passwords come from the environment (`PUBLISH_SMTP_PASSWORD`, or
//! `PUBLISH_SMTP_PASSWORD_<NAME>` for a relay), never from a committed file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use crate::text::smtp_url::Tls;
use crate::text::smtp_url::{SmtpUrl, password_variable};
use crate::workspace::config::{Config, TransportKind};

/// An SMTP server to send through.
#[derive(Debug, Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Where the password comes from, for the message when a login fails.
    pub password_variable: String,
    /// How long connecting, the greeting or one command may take; the end of a
    /// message gets four times as long.
    pub timeout: std::time::Duration,
    /// The PEM certificates of the authority the server's certificate must
    /// come from (`?ca=`), instead of the public ones.
    pub ca: Option<Vec<u8>>,
}

/// One of several relays (`[[email.relays]]`).
#[derive(Debug, Clone)]
pub struct Relay {
    pub name: String,
    pub target: SmtpTarget,
    pub concurrency: usize,
    pub rate_per_sec: Option<f64>,
    pub weight: u32,
}

/// The chosen transport.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Every message written as a `.eml` file in this folder.
    Outbox {
        dir: PathBuf,
    },
    Smtp(SmtpTarget),
    /// Several SMTP relays, the send spread over them by weight.
    Relays(Vec<Relay>),
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
            if !config.email.relays.is_empty() {
                tracing::warn!(
                    "PUBLISH_SMTP_URL is set: sending through it alone, not through the {} relays of publish.toml",
                    config.email.relays.len()
                );
            }
            return Ok(Transport::Smtp(SmtpTarget::parse(url.trim()).context("PUBLISH_SMTP_URL")?));
        }
        Ok(match config.email.transport_kind() {
            TransportKind::Outbox => Transport::Outbox { dir: out_dir.join("outbox").join(folder) },
            TransportKind::Smtp if !config.email.relays.is_empty() => {
                let relays = config.email.relays.iter().map(|r| Relay::from_config(r, &config.email));
                Transport::Relays(relays.collect::<Result<_>>()?)
            }
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
            Transport::Smtp(t) => format!("SMTP {}", t.describe()),
            Transport::Relays(relays) => {
                let each: Vec<String> =
                    relays.iter().map(|r| format!("{} {} weight {}", r.name, r.target.describe(), r.weight)).collect();
                format!("{} SMTP relays: {}", relays.len(), each.join("; "))
            }
            Transport::Sendmail { command } => format!("sendmail ({command})"),
        }
    }
}

impl Relay {
    /// A relay of `publish.toml` (checked: name, URL and numbers are valid),
    /// with its password from `PUBLISH_SMTP_PASSWORD_<NAME>`.
    fn from_config(
        relay: &crate::workspace::config::Relay,
        email: &crate::workspace::config::EmailConfig,
    ) -> Result<Relay> {
        let variable = password_variable(&relay.name);
        let url = SmtpUrl::parse(&relay.url).with_context(|| format!("publish.toml: relay \"{}\"", relay.name))?;
        if url.password.is_some() {
            bail!("publish.toml: relay \"{}\": take the password out of its url and set {variable}", relay.name);
        }
        let password = std::env::var(&variable).ok().filter(|p| !p.is_empty());
        if let Some(user) = &url.user
            && password.is_none()
        {
            bail!("relay \"{}\" logs in as {user}: set its password in {variable}", relay.name);
        }
        Ok(Relay {
            name: relay.name.clone(),
            target: SmtpTarget::from_url(url, password, variable)?,
            concurrency: relay.concurrency.unwrap_or(email.concurrency),
            rate_per_sec: relay.rate_per_sec,
            weight: relay.weight,
        })
    }
}

impl SmtpTarget {
    /// Parses `smtp://[user[:password]@]host[:port][?tls=required|none][&timeout=10s]` or `smtps://…`;
    /// `PUBLISH_SMTP_PASSWORD`, when set, is the password.
    pub fn parse(text: &str) -> Result<SmtpTarget> {
        let url = SmtpUrl::parse(text)?;
        let password = match std::env::var("PUBLISH_SMTP_PASSWORD") {
            Ok(p) if !p.is_empty() => Some(p),
            _ => url.password.clone(),
        };
        SmtpTarget::from_url(url, password, "PUBLISH_SMTP_PASSWORD".into())
    }

    fn from_url(url: SmtpUrl, password: Option<String>, password_variable: String) -> Result<SmtpTarget> {
        let ca = match &url.ca {
            Some(path) => {
                let pem = std::fs::read(path).with_context(|| {
                    format!("cannot read the certificate authority {} (ca= in the SMTP URL)", path.display())
                })?;
                if memchr::memmem::find(&pem, b"-----BEGIN CERTIFICATE-----").is_none() {
                    bail!(
                        "{} (ca= in the SMTP URL) holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    );
                }
                Some(pem)
            }
            None => None,
        };
        Ok(SmtpTarget {
            host: url.host,
            port: url.port,
            tls: url.tls,
            user: url.user,
            password,
            password_variable,
            timeout: url.timeout,
            ca,
        })
    }

    /// "user@host:port (TLS)".
    pub fn describe(&self) -> String {
        let tls = match self.tls {
            Tls::Implicit => "TLS",
            Tls::Required => "STARTTLS required",
            Tls::Opportunistic => "STARTTLS if offered",
            Tls::None => "no TLS",
        };
        let user = self.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        format!("{user}{}:{} ({tls})", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_of_the_single_url_is_the_environments_or_the_urls() {
        let t = SmtpTarget::parse("smtp://user:in-url@host").unwrap();
        let expected = std::env::var("PUBLISH_SMTP_PASSWORD").ok().filter(|p| !p.is_empty());
        assert_eq!(t.password, expected.or(Some("in-url".into())));
        assert_eq!(t.password_variable, "PUBLISH_SMTP_PASSWORD");
    }
}
